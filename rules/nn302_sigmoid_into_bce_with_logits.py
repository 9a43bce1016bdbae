"""NN302 sigmoid-into-bce-with-logits."""

from __future__ import annotations

from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.registry import Rule, register
from nnlint.rules._loss_inputs import activation_into_loss
from nnlint.values import SIGMOID
from nnlint.message import t


@register
class SigmoidIntoBceWithLogits(Rule):
    """
    ## What it does
    Flags sigmoid outputs (`torch.sigmoid`, `F.sigmoid`, `x.sigmoid()`, an
    `nn.Sigmoid` layer) passed as the input of `nn.BCEWithLogitsLoss` or
    `F.binary_cross_entropy_with_logits`, also through variables, `self`
    attributes, reshapes, helpers and criteria passed as arguments.

    ## Why is this bad?
    The with-logits loss applies the sigmoid itself. Given probabilities it computes
    `sigmoid(sigmoid(z))`, which lives in (0.5, 0.73): the loss can never reach
    zero, gradients shrink, and the model learns slowly or not at all. Nothing
    raises.

    ## Example
    ```python
    criterion = nn.BCEWithLogitsLoss()
    scores = torch.sigmoid(model(x))
    loss = criterion(scores, y)
    ```

    ## Use instead
    ```python
    criterion = nn.BCEWithLogitsLoss()
    logits = model(x)
    loss = criterion(logits, y)
    preds = torch.sigmoid(logits) > 0.5  # sigmoid only for predictions
    ```

    ## Fix
    Passes the logits: the sigmoid's argument replaces the probabilities at the loss
    call when it is still available unchanged there, or the sigmoid is dropped where
    it is made when its result feeds only this loss.
    """

    code = "NN302"
    name = "sigmoid-into-bce-with-logits"
    severity = Severity.ERROR
    summary = "Sigmoid output passed to BCEWithLogitsLoss, which applies the sigmoid itself"
    fix_title = "Pass the logits to the loss"

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from activation_into_loss(
            ctx, self, "bce_logits", SIGMOID, applies=t("the sigmoid"), created=t("the with-logits loss is created here"), advice=t("pass the logits")
        )
