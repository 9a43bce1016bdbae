"""The loss-input logic of NN301-NN304, beside its rules: findings for an activation
applied twice (a loss that applies it itself), and the fixes that feed a loss its logits.

The value kinds these read (logits, probabilities, log-probabilities; which loss a value
reaches) are the shared analysis in `nnlint.values`. The registry imports only rule modules:
the leading underscore keeps this helper out of the rule catalog.
"""

from __future__ import annotations

import ast

from nnlint.findings import Fix
from nnlint.message import t, t_docs
from nnlint.semantic import SHAPE_FUNCTIONS, SHAPE_METHODS, Scope, Semantic, dotted
from nnlint.values import SIGMOID, SOFTMAX, LossUse, Value, Values, short

_ATOMS = (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)


def _inside(inner: ast.AST, outer: ast.AST) -> bool:
    a = (inner.lineno, inner.col_offset, inner.end_lineno, inner.end_col_offset)  # type: ignore[attr-defined]
    b = (outer.lineno, outer.col_offset, outer.end_lineno, outer.end_col_offset)  # type: ignore[attr-defined]
    return (a[0], a[1]) >= (b[0], b[1]) and (a[2], a[3]) <= (b[2], b[3])


def traced_name(expr: ast.expr, name: str, sem: Semantic) -> ast.expr | None:
    """The node spelling `name` inside `expr`, looking through shape ops only."""
    for _ in range(12):
        if dotted(expr) == name:
            return expr
        kind = type(expr)
        if kind is ast.Subscript:
            expr = expr.value  # type: ignore[attr-defined]
        elif kind is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr in SHAPE_METHODS:  # type: ignore[attr-defined]
            expr = expr.func.value  # type: ignore[attr-defined]
        elif kind is ast.Call and sem.qualname(expr.func) in SHAPE_FUNCTIONS and expr.args:  # type: ignore[attr-defined]
            expr = expr.args[0]  # type: ignore[attr-defined]
        else:
            return None
    return None


def unchanged_between(sem: Semantic, expr: ast.expr, scope: Scope, made_line: int, use_line: int) -> bool:
    """True when the dotted name `expr` refers to the same binding at both lines."""
    name = dotted(expr)
    if name is None:
        return False
    heads = {name, name.split(".")[0]}
    for part in heads:
        before = sem.lookup(part, scope, made_line)
        after = sem.lookup(part, scope, use_line)
        if before is not after:
            return False
    # a rebinding inside a loop between the two lines would also change it
    for part in heads:
        for binding in scope.bindings.get(part, []):
            if made_line < binding.line < use_line:
                return False
    return True


def drop_activation_edits(ctx, vals: Values, use: LossUse) -> list | None:  # noqa: ANN001
    """Edits that feed the loss the activation's input instead of its output."""
    value = use.value
    if value is None or value.via_model or value.inner is None or type(value.made_at) is not ast.Call:
        return None
    act = value.made_at
    inner = value.inner
    inner_text = ctx.text(inner)
    site = use.site
    if not value.hops:
        if value.scope is site.scope and _inside(act, use.input):
            text = inner_text if (act is use.input or type(inner) in _ATOMS) else f"({inner_text})"
            return [ctx.replace(act, text)]
        return None
    if len(value.hops) != 1:
        return None
    hop = value.hops[0]
    if hop.value is not act or hop.scope is not site.scope or hop.kind != "assign":
        return None
    # (b) the logits are still there at the loss call under the same name
    target = traced_name(use.input, hop.name, vals.sem)
    if target is not None and dotted(inner) is not None and unchanged_between(
        vals.sem, inner, site.scope, hop.line, site.line
    ):
        return [ctx.replace(target, inner_text)]
    # (c) the activation's output is used only by this loss: drop it where it is made
    stmt = hop.stmt
    if (
        type(stmt) is ast.Assign
        and len(stmt.targets) == 1
        and type(stmt.targets[0]) is ast.Name
        and vals.loads(site.scope).get(hop.name, 0) == 1
        and all(b is hop for b in site.scope.bindings.get(hop.name, []))
    ):
        return [ctx.replace(act, inner_text)]
    return None


def log_softmax_spelling(sem: Semantic) -> str | None:
    """How to call log_softmax in this file, keeping its import style."""
    # The functional module first (`F.log_softmax`), then the function itself, then
    # torch's own `torch.log_softmax` before the longer `nn.functional.log_softmax`.
    functional = sem.imported_as("torch.nn.functional")
    if functional is not None:
        return f"{functional}.log_softmax"
    direct = sem.imported_as("torch.nn.functional.log_softmax", "torch.log_softmax")
    if direct is not None:
        return direct
    torch = sem.imported_as("torch")
    if torch is not None:
        return f"{torch}.log_softmax"
    nn = sem.imported_as("torch.nn")
    return f"{nn}.functional.log_softmax" if nn is not None else None


def model_label(ctx, value: Value) -> str:  # noqa: ANN001
    made = value.made_at
    if type(made) is ast.Call:
        return short(ctx.text(made.func))
    return short(ctx.text(made))


def local_origin(sem: Semantic, value: Value, use: LossUse) -> tuple[ast.AST, list]:
    """Where this file makes `value` and the bindings of this file that carry it. An
    activation applied in another module's helper (`return torch.softmax(...)` in heads.py)
    is named by the call of this file that runs the helper: its line is one of this file."""
    if value.scope.owner in (None, sem):
        return value.made_at, value.hops
    hops = [hop for hop in value.hops if hop.scope.owner in (None, sem)]
    if hops and hops[-1].value is not None:
        return hops[-1].value, hops
    return use.input, hops


def activation_into_loss(ctx, rule, loss_kind: str, activation: str, applies: str, created: str, advice: str):  # noqa: ANN001, ANN201
    """Findings for an activation applied twice: `activation` output (made by a call in
    this program, not by the model's own last layer) reaching a loss of `loss_kind` that
    `applies` the same squashing itself. Shared by NN301 and NN302."""
    vals = ctx.values
    name = {SOFTMAX: "softmax", SIGMOID: "sigmoid"}[activation]
    for use in vals.loss_uses:
        value = use.value
        if use.kind != loss_kind or value is None or value.kind != activation or value.via_model:
            continue
        site = use.site
        made_at, hops = local_origin(ctx.semantic, value, use)
        message = (
            t(
                "`{input}` holds {name} probabilities (made on line {value_line}) and is the input of "
                "`{loss}` on line {site_line}, which applies {applies} itself: {advice}",
                input=short(ctx.text(use.input)),
                name=name,
                value_line=made_at.lineno,  # type: ignore[attr-defined]
                loss=short(ctx.text(site.node.func)),
                site_line=site.line,
                applies=applies,
                advice=advice,
            )
        )
        related = [ctx.related(made_at, t("{name} applied here (line {value_line})", name=name,
                                          value_line=made_at.lineno))]  # type: ignore[attr-defined]
        for hop in hops[:-1] if len(hops) > 1 else []:
            related.append(ctx.related(hop.stmt, t("`{hop_name}` carries the probabilities (line {hop_line})", hop_name=hop.name, hop_line=hop.line)))
        if use.construction is not None:
            related.append(ctx.related(use.construction, created))
        edits = drop_activation_edits(ctx, vals, use)
        fix = Fix(t_docs(rule.fix_title), tuple(edits)) if edits else None
        yield ctx.finding(rule, site.node, message, related, fix)
