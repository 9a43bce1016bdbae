"""NN405 load-state-dict-unchecked."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Semantic, argument, constant_value, dotted
from nnlint.training import training
from nnlint.message import t
from nnlint.calls import call_index


@register
class LoadStateDictUnchecked(Rule):
    """
    ## What it does
    Flags `module.load_state_dict(state, strict=False)` whose result, the missing
    and unexpected keys, is thrown away (a bare statement, or names that are
    never read).

    ## Why is this bad?
    With `strict=False`, `load_state_dict` copies only the entries whose names
    match and silently skips the rest. A checkpoint saved from `DataParallel`
    (every key starts with `module.`), from a model whose layers were renamed, or
    from a different architecture loads *nothing*: the model keeps its random
    initialisation and trains or evaluates from scratch, and no error is raised.
    The returned `missing_keys` and `unexpected_keys` are the only sign.

    Not reported when the returned keys are inspected, logged or asserted, when
    the state dict was matched against the model's own keys first
    (`intersect_dicts(ckpt, model.state_dict())`, `{k: v for k, v in ckpt.items()
    if k in model.state_dict()}`), and unless the object is proven to be an
    `nn.Module`.

    Shown at information severity: `strict=False` is most often a deliberate
    partial load (a new head, filtered keys), and on the reviewed public
    repositories none of the dropped results hid a mismatch that was shown to
    happen. Raise it with `severity = { NN405 = "warning" }`.

    ## Example
    ```python
    model.load_state_dict(torch.load("backbone.pt"), strict=False)
    ```

    ## Use instead
    ```python
    missing, unexpected = model.load_state_dict(torch.load("backbone.pt"), strict=False)
    assert not unexpected, f"checkpoint keys not in the model: {unexpected[:5]}"
    print(f"not in the checkpoint (kept at init): {missing}")
    ```

    ## Fix
    None: which keys may be missing is for the author to decide.
    """

    code = "NN405"
    name = "load-state-dict-unchecked"
    severity = Severity.INFORMATION
    summary = "load_state_dict(..., strict=False) whose missing/unexpected keys are dropped: a mismatch loads nothing"
    # Module-wide fact (see `nnlint.reanalysis`): the text test `"strict" in ctx.source.text`
    # (`load_state_dict(sd, False)` is reported only when the word is anywhere in the file);
    # "strict" inside a longer name or a comment is not covered by the word. Not declared: a
    # module-only method called anywhere on a name proves that every receiver spelled the same
    # is a module (`Training.is_proven_model` through `module_only_use`); as words, the
    # module-only methods would send most edits of training code to a full analysis.
    module_wide_words = frozenset({"strict"})

    def check(self, ctx: Context) -> Iterator[Finding]:
        if "strict" not in ctx.source.text:
            return
        sem = ctx.semantic
        train = training(sem)
        for site in call_index(sem).methods(("load_state_dict",)):
            if site.receiver is None:
                continue
            strict = argument(site.node, 1, "strict")
            if strict is None or constant_value(strict) is not False or type(strict) is not ast.Constant:
                continue
            if not _result_dropped(sem, site) or _matched_against_the_model(sem, site):
                continue
            receiver = site.receiver
            wrapped = receiver.value if type(receiver) is ast.Attribute and receiver.attr == "module" else None
            if not train.is_proven_model(receiver, site.scope, site.line) and not (
                    wrapped is not None and train.is_proven_model(wrapped, site.scope, site.line)):
                continue  # `model.module` of a proven DataParallel/DDP-wrapped module counts too
            name = ctx.text(receiver)
            message = (
                t(
                    "`{name}.load_state_dict(..., strict=False)` returns the missing and unexpected keys, and "
                    "they are dropped: if the checkpoint's names do not match `{name}`'s (a `module.` prefix "
                    "from DataParallel, a renamed layer), nothing is loaded and nothing says so; keep the "
                    "result and check it (`missing, unexpected = {name}.load_state_dict(...)`)",
                    name=name,
                )
            )
            related = []
            made = train.constructor_name(receiver, site.scope, site.line)
            origin = sem.origin(receiver, site.scope, site.line, through_shape_ops=False)
            if made is not None and type(origin.expr) is ast.Call and origin.hops:
                related.append(ctx.related(origin.expr, t("`{name}` is made here (line {expr_lineno})", name=name, expr_lineno=origin.expr.lineno)))
            yield ctx.finding(self, site.node, message, related)


def _result_dropped(sem: Semantic, site: CallSite) -> bool:
    """A bare statement, or an assignment to names the function never reads."""
    stmt = site.stmt
    if type(stmt) is ast.Expr:
        return stmt.value is site.node
    if type(stmt) is not ast.Assign or stmt.value is not site.node:
        return False
    names: list[str] = []
    for target in stmt.targets:
        for node in ast.walk(target):
            if type(node) is ast.Name:
                names.append(node.id)
            elif type(node) in (ast.Attribute, ast.Subscript):
                return False  # kept on an object: read elsewhere, maybe
    if not names:
        return False
    reads = sem.name_reads(site.scope)
    return all(reads.get(name, 0) == 0 for name in names) and not any(
        dotted(node) in names for node in ast.walk(site.scope.node) if type(node) is ast.Global
    )


def _matched_against_the_model(sem: Semantic, site: CallSite) -> bool:
    """Whether the state dict passed was built from the receiver's own `state_dict()`
    (or its keys), following the names that carry it in the same function."""
    receiver = dotted(site.receiver) if site.receiver is not None else None
    state = argument(site.node, 0, "state_dict")
    if receiver is None or state is None:
        return False
    todo: list[tuple[ast.expr, int]] = [(state, site.line)]
    seen = 0
    while todo and seen < 8:
        expr, line = todo.pop()
        seen += 1
        for node in ast.walk(expr):
            if type(node) is ast.Call and type(node.func) is ast.Attribute and node.func.attr == "state_dict" \
                    and dotted(node.func.value) == receiver:
                return True
            if type(node) is ast.Name:
                binding = sem.lookup(node.id, site.scope, line)
                if binding is not None and binding.value is not None and binding.scope is site.scope \
                        and binding.line < line:
                    todo.append((binding.value, binding.line))
    return False
