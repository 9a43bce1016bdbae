"""NN601 forward-called-directly."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity, Span
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Semantic, dotted, looks_like_model_name
from nnlint.torchnames import is_module_constructor
from nnlint.training import training


@register
class ForwardCalledDirectly(Rule):
    """
    ## What it does
    Flags `model.forward(x)` called on an `nn.Module` object from outside the
    module itself.

    ## Why is this bad?
    `nn.Module.__call__` does more than run `forward`: it runs the forward
    pre-hooks and hooks (used by pruning, quantization observers, feature
    extractors, `torch.utils.checkpoint` helpers, profilers, ...), and wrappers
    such as `DistributedDataParallel`, `torch.compile`d modules or FSDP put their
    synchronisation and autocast logic there. Calling `.forward` directly silently
    skips all of it: gradients stop being synchronised across processes, hooks
    never fire and the results differ from `model(x)` without any error.

    ## Example
    ```python
    logits = model.forward(x)
    ```

    ## Use instead
    ```python
    logits = model(x)
    ```

    `super().forward(x)`, `Base.forward(self, x)` and `self.forward(x)` inside a
    module's own methods are not reported: they are the usual way to extend a
    module.

    ## Fix
    Replaces `model.forward(...)` by `model(...)`, keeping the arguments.
    """

    code = "NN601"
    name = "forward-called-directly"
    severity = Severity.WARNING
    summary = "model.forward(x) skips the module's hooks and wrapper logic; call model(x)"
    fix_title = "Call the module instead of .forward"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        for site in sem.calls:
            if site.method != "forward":
                continue
            receiver = site.receiver
            assert receiver is not None
            name = dotted(receiver)
            if name is None:
                continue  # super().forward(...), f().forward(...), x[i].forward(...)
            if name == "self" or name == "cls" or name.startswith("cls."):
                continue
            reason = _module_reason(sem, receiver, name, site)
            if reason is None:
                continue
            message = (
                f"`{name}.forward(...)` bypasses `{name}.__call__`: forward hooks and wrapper logic "
                f"(DDP gradient sync, autocast, compile) are skipped; call `{name}(...)`"
            )
            related = []
            if reason[1] is not None:
                related.append(ctx.related(reason[1], f"`{name}` is {reason[0]}"))
            yield ctx.finding(self, site.node, message, related, self._fix(ctx, site))

    def _fix(self, ctx: Context, site: CallSite) -> Fix | None:
        func = site.node.func
        receiver = site.receiver
        assert isinstance(func, ast.Attribute) and receiver is not None
        start = ctx.span(receiver)
        end = ctx.span(func)
        between = Span(start.end_line, start.end_column, end.end_line, end.end_column)
        return Fix(self.fix_title, (Edit(between, ""),))


def _module_reason(sem: Semantic, receiver: ast.expr, name: str, site: CallSite) -> tuple[str, ast.AST | None] | None:
    """Why `receiver` holds an nn.Module (description, where it was made), or None."""
    last = name.rsplit(".", 1)[-1]
    made_at = sem.origin(receiver, site.scope, site.line, through_shape_ops=False)
    made_node = made_at.expr if made_at.hops and type(made_at.expr) is ast.Call else None
    if made_node is None:
        # No binding: a class used unbound (`Base.forward(self, x)`) or an unknown object.
        if name in sem.classes or last[:1].isupper() or sem.qualname(receiver) in sem.classes:
            return None
        qual = sem.qualname(receiver) or ""
        if qual.startswith("torch.") or "." in qual and qual.split(".")[0] in sem.imports:
            return None  # a module-level name of a library (`nn.Linear.forward`)
    made = sem.constructed_class(receiver, site.scope, site.line)
    if made is not None:
        if made in sem.classes:
            if sem.is_module_class(made):
                return (f"an instance of the nn.Module subclass `{made}`", made_node)
            return None  # a same-file class that is not a module
        if is_module_constructor(made):
            return (f"built by `{made}`", made_node)
        if made.rsplit(".", 1)[-1][:1].isupper() and not looks_like_model_name(name):
            return None  # instance of some other library class
    if made_node is None and training(sem).is_model(receiver, site.scope, site.line) and looks_like_model_name(name):
        return ("named like a model", None)
    if made_node is not None and looks_like_model_name(name):
        return ("named like a model", None)
    return None
