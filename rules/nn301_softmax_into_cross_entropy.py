"""NN301 softmax-into-cross-entropy."""

from __future__ import annotations

from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.values import SOFTMAX, drop_activation_edits, short, values


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
        vals = values(ctx.semantic, ctx.source.text)
        for use in vals.loss_uses:
            value = use.value
            if use.kind != "ce" or value is None or value.kind != SOFTMAX or value.via_model:
                continue
            site = use.site
            loss_text = short(ctx.text(site.node.func))
            what = short(ctx.text(use.input))
            message = (
                f"`{what}` holds softmax probabilities (made on line {value.line}) and is the input of "
                f"`{loss_text}` on line {site.line}, which applies log_softmax itself: pass the raw logits"
            )
            related = [ctx.related(value.made_at, f"softmax applied here (line {value.line})")]
            for hop in value.hops[:-1] if len(value.hops) > 1 else []:
                related.append(ctx.related(hop.stmt, f"`{hop.name}` carries the probabilities (line {hop.line})"))
            if use.construction is not None:
                related.append(ctx.related(use.construction, "the cross-entropy loss is created here"))
            edits = drop_activation_edits(ctx, vals, use)
            fix = Fix(self.fix_title, tuple(edits)) if edits else None
            yield ctx.finding(self, site.node, message, related, fix)
