"""NN205 method-not-called."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Scope, dotted
from nnlint.training import training
from nnlint.values import values
from nnlint.message import Message, t, t_docs


@register
class MethodNotCalled(Rule):
    """
    ## What it does
    Flags `model.eval`, `model.train`, `optimizer.zero_grad`, `optimizer.step`,
    `scheduler.step` and `loss.backward` written as a statement of their own
    without `()`.

    ## Why is this bad?
    Without the parentheses the statement only reads the bound method and throws
    it away: nothing happens, and Python says nothing. `model.eval` leaves dropout
    and batch norm in training mode for the whole evaluation, `optimizer.zero_grad`
    lets the gradients pile up, `optimizer.step` never updates the weights,
    `scheduler.step` never changes the learning rate and `loss.backward` computes
    no gradient at all.

    The finding is a warning when the object is proven to be a module, an
    optimizer, a scheduler, a `GradScaler` or a loss (from where it was built or
    computed, through helpers and attributes of `self`); for an object of unknown
    kind it is information. `fn = model.eval` (the method kept as a value) and
    reads such as `model.training` are not reported. A bare `model.eval` also
    leaves the evaluation that follows without evaluation mode, so NN201 may
    rightly report it too.

    ## Example
    ```python
    def evaluate(model, loader):
        model.eval
        ...
    ```

    ## Use instead
    ```python
    def evaluate(model, loader):
        model.eval()
        ...
    ```

    ## Fix
    Adds `()`, for proven kinds only, and not where the call needs an argument
    (`LBFGS.step(closure)`, `ReduceLROnPlateau.step(metric)`,
    `scaler.step(optimizer)`).
    """

    code = "NN205"
    name = "method-not-called"
    severity = Severity.WARNING
    summary = "model.eval / optimizer.step / loss.backward without () does nothing"
    fix_title = "Call it: add ()"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        for stmt, scope, _loops in sem.bare_attributes:
            attribute = stmt.value
            assert type(attribute) is ast.Attribute
            effect = _EFFECTS.get(attribute.attr)
            if effect is None:
                continue
            receiver = attribute.value
            name = dotted(receiver) or ctx.text(receiver)
            if _is_property(ctx, receiver, attribute.attr, scope, stmt.lineno):
                continue
            kind, proof = _kind(ctx, receiver, attribute.attr, scope, stmt.lineno)
            text = ctx.text(attribute)
            what = _WHAT.get(kind or "", t("the object"))
            consequence = effect.get(kind or "", effect[""])
            message = t(
                "`{text}` is never called: without `()` the statement does nothing, so {consequence}",
                text=text,
                consequence=consequence,
            )
            related = []
            if proof is not None:
                related.append(ctx.related(proof, t("`{name}` is {what}", name=name, what=what)))
            if kind is None:
                message += t(" (the kind of `{name}` is not proven here)", name=name)
                yield ctx.finding(self, stmt, message, related, None, Severity.INFORMATION)
                continue
            fix = None
            if _call_without_arguments_is_right(kind, attribute.attr, _class_name(ctx, receiver, scope, stmt.lineno)):
                fix = Fix(t_docs(self.fix_title), (ctx.insert_after(attribute, "()"),))
            yield ctx.finding(self, stmt, message, related, fix)


# What running each method does; keyed by the proven kind of its receiver ("" for any).
_EFFECTS: dict[str, dict[str, Message]] = {
    "eval": {"": t("the module stays in training mode (dropout stays on, batch norm keeps updating its statistics)")},
    "train": {"": t("the module stays in evaluation mode (no dropout, frozen batch-norm statistics)")},
    "zero_grad": {"": t("the gradients are never cleared and add up over the iterations")},
    "step": {
        "": t("nothing is stepped"),
        "optimizer": t("the weights are never updated"),
        "scheduler": t("the learning rate never changes"),
        "scaler": t("the optimizer step it should run never happens"),
    },
    "backward": {"": t("no gradient is computed and the optimizer steps on stale or no gradients")},
}
_WHAT = {
    "model": t("an nn.Module"),
    "optimizer": t("an optimizer"),
    "scheduler": t("a learning-rate scheduler"),
    "scaler": t("a GradScaler"),
    "loss": t("a loss"),
}
# The receivers each method belongs to (a scheduler has no `eval`: some other object's).
_OWNERS = {
    "eval": ("model",),
    "train": ("model",),
    "zero_grad": ("model", "optimizer"),
    "step": ("optimizer", "scheduler", "scaler"),
    "backward": ("loss",),
}


def _kind(ctx: Context, receiver: ast.expr, method: str, scope: Scope, line: int) -> tuple[str | None, ast.AST | None]:
    """The proven kind of the receiver among those that own `method`, and its proof."""
    if method == "backward":
        loss = values(ctx.semantic).loss_value(receiver, scope, line)
        return ("loss", loss) if loss is not None else (None, None)
    if dotted(receiver) is None:
        return (None, None)
    proven = training(ctx.semantic).proven_kind(receiver, scope, line)
    if proven is None or proven[0] not in _OWNERS[method]:
        return (None, None)
    return proven


def _class_name(ctx: Context, receiver: ast.expr, scope: Scope, line: int) -> str:
    made = training(ctx.semantic).made_by(receiver, scope, line) if dotted(receiver) is not None else None
    return made[0] if made is not None else ""


def _call_without_arguments_is_right(kind: str, method: str, class_name: str) -> bool:
    """`()` is the whole call, except for steps that need an argument."""
    last = class_name.rsplit(".", 1)[-1]
    if kind == "scaler":
        return False  # scaler.step(optimizer)
    if method == "step" and last in ("LBFGS", "ReduceLROnPlateau"):
        return False  # step(closure) / step(metric)
    return True


def _is_property(ctx: Context, receiver: ast.expr, attr: str, scope: Scope, line: int) -> bool:
    """A class of this project that defines `attr` as a property or a plain attribute:
    reading it may be the point."""
    sem = ctx.semantic
    if dotted(receiver) == "self":
        info = sem.enclosing_class(scope)
        found = (sem, info) if info is not None else None
    else:
        found = sem.find_class(sem.constructed_class(receiver, scope, line)) if dotted(receiver) else None
    if found is None:
        return False
    _owner, info = found
    if attr in info.attrs or any(
        type(stmt) in (ast.Assign, ast.AnnAssign)
        and any(type(t) is ast.Name and t.id == attr for t in getattr(stmt, "targets", [getattr(stmt, "target", None)]))
        for stmt in info.node.body
    ):
        return True
    method = info.methods.get(attr)
    return method is not None and any(
        (dotted(d) or "").rsplit(".", 1)[-1] in ("property", "cached_property") for d in method.node.decorator_list
    )
