"""NN301 softmax-into-cross-entropy."""

from __future__ import annotations

from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.registry import Rule, register
from nnlint.rules._loss_inputs import activation_into_loss
from nnlint.values import SOFTMAX
from nnlint.message import t


@register
class SoftmaxIntoCrossEntropy(Rule):
    """
    ## What it does
    Flags softmax probabilities (`torch.softmax`, `F.softmax`, `x.softmax(dim)`, an
    `nn.Softmax` layer) passed as the *input* of `nn.CrossEntropyLoss` or
    `F.cross_entropy`, also when the value travels through variables, `self`
    attributes, reshapes or same-file helpers.

    ## Why is this bad?
    Cross entropy applies `log_softmax` to its input itself. Feeding it
    probabilities computes `log_softmax(softmax(logits))`: the loss is squashed into
    a narrow range, its gradients become tiny as the model grows confident, and
    training stalls at a mediocre accuracy. Nothing raises; the loss just goes down
    slowly and plateaus.

    ## Example
    ```python
    logits = model(x)
    probs = F.softmax(logits, dim=1)
    loss = F.cross_entropy(probs, y)
    ```

    ## Use instead
    ```python
    logits = model(x)
    probs = F.softmax(logits, dim=1)  # fine for metrics
    loss = F.cross_entropy(logits, y)
    ```

    `log_softmax` outputs are harmless here (log_softmax is idempotent) and are not
    flagged; neither is a softmax used only for accuracy, confidence or as a soft
    target (the second argument).

    ## Fix
    Passes the raw logits to the loss: the softmax's argument replaces the
    probabilities at the loss call when that name still holds the same value there,
    or the softmax is dropped where it is made when its result feeds only this loss.
    A softmax used elsewhere (metrics) stays.
    """

    code = "NN301"
    name = "softmax-into-cross-entropy"
    severity = Severity.ERROR
    summary = "Softmax probabilities passed to cross entropy, which applies log_softmax itself"
    fix_title = "Pass the logits to the loss"

    def check(self, ctx: Context) -> Iterator[Finding]:
        yield from activation_into_loss(
            ctx, self, "ce", SOFTMAX, applies="log_softmax", created=t("the cross-entropy loss is created here"), advice=t("pass the raw logits")
        )
