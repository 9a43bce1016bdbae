"""NN302 sigmoid-into-bce-with-logits."""

from __future__ import annotations

from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.values import SIGMOID, drop_activation_edits, short, values


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
        vals = values(ctx.semantic, ctx.source.text)
        for use in vals.loss_uses:
            value = use.value
            if use.kind != "bce_logits" or value is None or value.kind != SIGMOID or value.via_model:
                continue
            site = use.site
            loss_text = short(ctx.text(site.node.func))
            what = short(ctx.text(use.input))
            message = (
                f"`{what}` holds sigmoid probabilities (made on line {value.line}) and is the input of "
                f"`{loss_text}` on line {site.line}, which applies the sigmoid itself: pass the logits"
            )
            related = [ctx.related(value.made_at, f"sigmoid applied here (line {value.line})")]
            if use.construction is not None:
                related.append(ctx.related(use.construction, "the with-logits loss is created here"))
            edits = drop_activation_edits(ctx, vals, use)
            fix = Fix(self.fix_title, tuple(edits)) if edits else None
            yield ctx.finding(self, site.node, message, related, fix)
