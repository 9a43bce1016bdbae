"""NN304 nll-without-log-softmax."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import dotted
from nnlint.rules._loss_inputs import log_softmax_spelling, model_label, traced_name, unchanged_between
from nnlint.values import LOGITS, SOFTMAX, LossUse, Values, short
from nnlint.message import t, t_docs


@register
class NllWithoutLogSoftmax(Rule):
    """
    ## What it does
    Flags `nn.NLLLoss` / `F.nll_loss` fed softmax probabilities or raw model
    outputs (a model whose visible definition ends in a `Linear`/`Conv` layer,
    or Hugging Face `.logits`) instead of log-probabilities.

    ## Why is this bad?
    `NLLLoss` only picks `-input[target]`; it expects `log_softmax` outputs. With
    probabilities the loss is `-p` (bounded, tiny gradients); with raw logits it is
    unbounded below and the model learns to inflate one score rather than to
    classify. Training "works" and the loss falls, but accuracy lags or collapses.

    ## Example
    ```python
    nll = nn.NLLLoss()
    out = model(x)          # model.forward ends in nn.Linear
    loss = nll(out, y)
    ```

    ## Use instead
    ```python
    nll = nn.NLLLoss()
    out = model(x)
    loss = nll(F.log_softmax(out, dim=1), y)   # or nn.CrossEntropyLoss on `out`
    ```

    ## Fix
    Uses log-probabilities: a `softmax(...)` whose result feeds only this loss
    becomes `log_softmax(...)` with the same `dim`; otherwise the loss input is
    wrapped in `log_softmax(..., dim=1)` (the class dimension NLLLoss reads),
    spelled with the file's own import of `torch.nn.functional` or `torch`.
    """

    code = "NN304"
    name = "nll-without-log-softmax"
    severity = Severity.ERROR
    summary = "NLLLoss fed probabilities or raw logits instead of log-probabilities"
    fix_title = "Feed log_softmax to the loss"

    def check(self, ctx: Context) -> Iterator[Finding]:
        vals = ctx.values
        for use in vals.loss_uses:
            value = use.value
            if use.kind != "nll" or value is None or value.kind not in (SOFTMAX, LOGITS):
                continue
            site = use.site
            what = short(ctx.text(use.input))
            loss_text = short(ctx.text(site.node.func))
            if value.kind == SOFTMAX and value.via_model:
                activation_line = value.activation.lineno if value.activation is not None else value.line  # type: ignore[attr-defined]
                elsewhere = vals.foreign_location(value.activation)
                where = t("{elsewhere}, line {activation_line}", elsewhere=elsewhere, activation_line=activation_line) if elsewhere else t("line {activation_line}", activation_line=activation_line)
                origin = (
                    t(
                        "the output of `{model_label}` (line {value_line}), which ends in a softmax ({where}), "
                        "i.e. probabilities",
                        model_label=model_label(ctx, value),
                        value_line=value.line,
                        where=where,
                    )
                )
                related = [ctx.related(value.made_at if elsewhere else value.activation or value.made_at,
                                       t("the model's output") if elsewhere else t("the model's final softmax"))]
            elif value.kind == SOFTMAX:
                origin = t("softmax probabilities (made on line {value_line})", value_line=value.line)
                related = [ctx.related(value.made_at, t("softmax applied here (line {value_line})", value_line=value.line))]
            elif type(value.made_at) is ast.Attribute:
                origin = t("raw `.logits` (line {value_line})", value_line=value.line)
                related = [ctx.related(value.made_at, t("raw scores made here"))]
            else:
                origin = (
                    t(
                        "the raw output of `{model_label}` (line {value_line}), whose definition does not end "
                        "in log_softmax",
                        model_label=model_label(ctx, value),
                        value_line=value.line,
                    )
                )
                related = [ctx.related(value.made_at, t("raw scores made here (line {value_line})", value_line=value.line))]
                if value.model_def is not None:
                    related.append(ctx.related(value.model_def, t("the model is defined here, without log_softmax")))
            message = (
                t(
                    "`{what}` is {origin}, and it goes into `{loss_text}` on line {site_line}, an NLL loss "
                    "that expects log-probabilities: apply log_softmax (or use cross entropy on the logits)",
                    what=what,
                    origin=origin,
                    loss_text=loss_text,
                    site_line=site.line,
                )
            )
            if use.construction is not None:
                related.append(ctx.related(use.construction, t("the NLL loss is created here")))
            edits = self._fix(ctx, vals, use)
            yield ctx.finding(self, site.node, message, related, Fix(t_docs(self.fix_title), edits) if edits else None)

    def _fix(self, ctx: Context, vals: Values, use: LossUse) -> tuple[Edit, ...] | None:
        sem = ctx.semantic
        value = use.value
        assert value is not None
        spelling = log_softmax_spelling(sem)
        if value.kind == LOGITS:
            if spelling is None:
                return None
            return (ctx.replace(use.input, f"{spelling}({ctx.text(use.input)}, dim=1)"),)
        if value.via_model or type(value.made_at) is not ast.Call or value.form not in ("function", "method"):
            return None
        act = value.made_at
        site = use.site
        # softmax -> log_softmax where it is made, when it feeds only this loss
        only_here = False
        if not value.hops:
            only_here = value.scope is site.scope
        elif len(value.hops) == 1:
            hop = value.hops[0]
            stmt = hop.stmt
            only_here = (
                hop.value is act
                and hop.scope is site.scope
                and type(stmt) is ast.Assign
                and len(stmt.targets) == 1
                and type(stmt.targets[0]) is ast.Name
                and vals.loads(site.scope).get(hop.name, 0) == 1
                and all(b is hop for b in site.scope.bindings.get(hop.name, []))
            )
        func = act.func
        if only_here and type(func) is ast.Attribute and func.attr == "softmax":
            return (ctx.replace(func, f"{ctx.text(func.value)}.log_softmax"),)
        if only_here and type(func) is ast.Name:
            local = sem.imported_as("torch.nn.functional.log_softmax", "torch.log_softmax")
            if local is not None:
                return (ctx.replace(func, local),)
        # else: log_softmax of the logits, when they are still there unchanged
        if len(value.hops) == 1 and value.inner is not None and spelling is not None:
            hop = value.hops[0]
            target = traced_name(use.input, hop.name, sem)
            if (
                hop.value is act
                and hop.scope is site.scope
                and target is not None
                and dotted(value.inner) is not None
                and unchanged_between(sem, value.inner, site.scope, hop.line, site.line)
            ):
                dim = ctx.text(value.dim) if value.dim is not None else "1"
                return (ctx.replace(target, f"{spelling}({ctx.text(value.inner)}, dim={dim})"),)
        return None
