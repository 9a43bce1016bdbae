"""NN303 logits-into-bce."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.rules._loss_inputs import model_label
from nnlint.values import LOGITS, LossUse, Values, short
from nnlint.message import t, t_docs


@register
class LogitsIntoBce(Rule):
    """
    ## What it does
    Flags `nn.BCELoss` / `F.binary_cross_entropy` fed the raw output of a model
    whose definition is visible in this file and does not end in a sigmoid (its
    `forward` returns a `Linear`/`Conv` output, or it is an `nn.Sequential` whose
    last layer is not `nn.Sigmoid`), with no sigmoid applied on the way to the loss.
    Hugging Face `outputs.logits` count as raw scores too.

    ## Why is this bad?
    `BCELoss` expects probabilities in [0, 1]. Raw scores make it fail at run time
    on the first negative value, or, when they happen to lie in range early on,
    train a model whose outputs are not probabilities at all. Computing the sigmoid
    separately before `BCELoss` is also numerically worse than the fused loss.

    ## Example
    ```python
    criterion = nn.BCELoss()
    out = net(x)            # net.forward ends in nn.Linear
    loss = criterion(out, y)
    ```

    ## Use instead
    ```python
    criterion = nn.BCEWithLogitsLoss()
    out = net(x)
    loss = criterion(out, y)
    ```

    ## Fix
    Switches to the with-logits loss, keeping your import style and arguments:
    `nn.BCELoss(...)` becomes `nn.BCEWithLogitsLoss(...)` (same `weight` /
    `reduction`), `F.binary_cross_entropy(...)` becomes
    `F.binary_cross_entropy_with_logits(...)`. No fix is offered when the same
    criterion object is also given probabilities elsewhere.
    """

    code = "NN303"
    name = "logits-into-bce"
    severity = Severity.WARNING
    summary = "Raw model outputs (logits) passed to BCELoss, which expects probabilities"
    fix_title = "Use the with-logits loss"

    def check(self, ctx: Context) -> Iterator[Finding]:
        vals = ctx.values
        for use in vals.loss_uses:
            value = use.value
            if use.kind != "bce" or value is None or value.kind != LOGITS:
                continue
            site = use.site
            what = short(ctx.text(use.input))
            loss_text = short(ctx.text(site.node.func))
            if type(value.made_at) is ast.Attribute:
                origin = t("the raw `.logits` of a model output (line {value_line})", value_line=value.line)
            else:
                origin = (
                    t(
                        "the raw output of `{model_label}` (line {value_line}), whose definition does not end "
                        "in a sigmoid",
                        model_label=model_label(ctx, value),
                        value_line=value.line,
                    )
                )
            message = (
                t(
                    "`{what}` is {origin}, and it goes into `{loss_text}` on line {site_line}, a BCELoss that "
                    "expects probabilities in [0, 1]: use the with-logits loss",
                    what=what,
                    origin=origin,
                    loss_text=loss_text,
                    site_line=site.line,
                )
            )
            related = [ctx.related(value.made_at, t("raw scores made here (line {value_line})", value_line=value.line))]
            if value.model_def is not None:
                related.append(ctx.related(value.model_def, t("the model is defined here, without a final sigmoid")))
            if use.construction is not None:
                related.append(ctx.related(use.construction, t("the BCELoss is created here")))
            edits = self._fix(ctx, vals, use)
            yield ctx.finding(self, site.node, message, related, Fix(t_docs(self.fix_title), edits) if edits else None)

    def _fix(self, ctx: Context, vals: Values, use: LossUse) -> tuple[Edit, ...] | None:
        sem = ctx.semantic
        if use.functional:
            func = use.site.node.func
            if type(func) is ast.Attribute and func.attr == "binary_cross_entropy":
                return (ctx.insert_after(func, "_with_logits"),)
            local = sem.imported_as("torch.nn.functional.binary_cross_entropy_with_logits")
            if local is not None:
                return (ctx.replace(func, local),)
            return None
        ctor = use.construction
        if ctor is None:
            return None
        # every use of this criterion must be fed logits
        for other in vals.loss_uses:
            if other.construction is ctor and (other.value is None or other.value.kind != LOGITS):
                return None
        func = ctor.func
        if type(func) is ast.Attribute and func.attr == "BCELoss":
            return (ctx.replace(func, f"{ctx.text(func.value)}.BCEWithLogitsLoss"),)
        local = sem.imported_as("torch.nn.BCEWithLogitsLoss", "torch.nn.modules.loss.BCEWithLogitsLoss")
        if local is not None:
            return (ctx.replace(func, local),)
        nn_alias = sem.imported_as("torch.nn")
        if nn_alias is not None:
            return (ctx.replace(func, f"{nn_alias}.BCEWithLogitsLoss"),)
        return None
