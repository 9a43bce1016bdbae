"""NN601 forward-called-directly."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity, Span
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Semantic, dotted
from nnlint.torchnames import is_module_constructor
from nnlint.training import training
from nnlint.message import t, t_docs
from nnlint.calls import call_index


_HOOKS = frozenset({
    "register_forward_hook", "register_forward_pre_hook", "register_full_backward_hook",
    "register_full_backward_pre_hook", "register_backward_hook",
})
# Utilities that install forward (pre-)hooks on the module they are given. Wrappers such as
# DistributedDataParallel, DataParallel, FSDP's class or `torch.compile` are not here: their
# logic lives in their own `forward`, which `.forward(x)` on the wrapper still runs, and the
# inner module is bypassed by `inner(x)` just as much as by `inner.forward(x)`.
_HOOK_INSTALLERS = frozenset({
    "torch.distributed.fsdp.fully_shard", "torch.distributed._composable.fsdp.fully_shard",
    "torch.nn.utils.prune.l1_unstructured", "torch.nn.utils.prune.random_unstructured",
    "torch.nn.utils.prune.ln_structured", "torch.nn.utils.prune.random_structured",
    "torch.nn.utils.prune.global_unstructured", "torch.nn.utils.prune.identity",
    "torch.nn.utils.spectral_norm", "torch.nn.utils.weight_norm",
})


@register
class ForwardCalledDirectly(Rule):
    """
    ## What it does
    Flags `model.forward(x)` called on an `nn.Module` object from outside the
    module itself.

    ## Why is this bad?
    `nn.Module.__call__` does more than run `forward`: it runs the forward
    pre-hooks and hooks, and much of the ecosystem lives in them: pruning masks,
    the old `weight_norm` and `spectral_norm` (which recompute the weight in a
    pre-hook), FSDP2's `fully_shard` (which gathers the sharded parameters in a
    pre-hook), quantization observers, feature extractors and profilers. Calling
    `.forward` directly silently skips all of it: the pruned or normalised weight
    is not the one used, hooks never fire, and the results differ from `model(x)`
    without any error.

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
    module. Nothing is reported unless the object is proven to be a module (built
    by a module class or constructor, or used with `.parameters()`): a name such
    as `net` also fits an OpenCV network or an RPC `RemoteModule`, whose `.forward()`
    is their API. When nothing in the file registers hooks or installs them (pruning,
    `weight_norm`, `spectral_norm`, `fully_shard`), the call skips nothing today and
    the finding is shown at information severity. Wrappers such as
    `DistributedDataParallel` or `torch.compile` do not count: their logic is in
    their own `forward`.

    ## Fix
    Replaces `model.forward(...)` by `model(...)`, keeping the arguments.
    """

    code = "NN601"
    name = "forward-called-directly"
    severity = Severity.WARNING
    summary = "model.forward(x) skips the module's hooks and wrapper logic; call model(x)"
    fix_title = "Call the module instead of .forward"
    # Module-wide fact (see `nnlint.reanalysis`): the first hook registration or
    # hook-installing utility anywhere in the file sets every finding's severity, message and
    # related line (`_call_wrappers`). An installer imported under another name (`from
    # torch.nn.utils import weight_norm as wn`) is not covered by these words. Not declared: a
    # module-only method called on the same variable (`net.parameters()` in another function
    # of a global `net`) proves it a module (`Training.module_only_use`).
    module_wide_words = _HOOKS | frozenset(name.rsplit(".", 1)[-1] for name in _HOOK_INSTALLERS)

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        # The call that relies on module(x) is looked up once per file (on the first
        # candidate), not once per finding: a scan of every call each time is quadratic.
        relying: CallSite | None = None
        looked_up = False
        for site in call_index(sem).methods(("forward",)):
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
                t(
                    "`{name}.forward(...)` bypasses `{name}.__call__`: forward hooks and pre-hooks (pruning, "
                    "weight_norm, fully_shard, observers) are skipped; call `{name}(...)`",
                    name=name,
                )
            )
            related = []
            if reason[1] is not None:
                related.append(ctx.related(reason[1], t("`{name}` is {reason}", name=name, reason=reason[0])))
            severity = self.severity
            if not looked_up:
                relying, looked_up = _call_wrappers(sem), True
            if relying is None:
                # Nothing in this file registers or installs hooks: the call skips nothing today.
                severity = Severity.INFORMATION
                message += t("; nothing in this file registers or installs hooks yet")
            else:
                related.append(ctx.related(relying.node, t("this relies on the module being called")))
            yield ctx.finding(self, site.node, message, related, self._fix(ctx, site), severity)

    def _fix(self, ctx: Context, site: CallSite) -> Fix | None:
        func = site.node.func
        receiver = site.receiver
        assert isinstance(func, ast.Attribute) and receiver is not None
        start = ctx.span(receiver)
        end = ctx.span(func)
        between = Span(start.end_line, start.end_column, end.end_line, end.end_column)
        return Fix(t_docs(self.fix_title), (Edit(between, ""),))


def _call_wrappers(sem: Semantic) -> CallSite | None:
    """The first call in the file that makes `module(x)` differ from `module.forward(x)`:
    a hook registration or a utility that installs hooks (pruning, `weight_norm`,
    `spectral_norm`, FSDP2's `fully_shard`)."""
    index = call_index(sem)
    found = index.either(index.methods(_HOOKS), index.named(_HOOK_INSTALLERS))
    return found[0] if found else None


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
                return (t("an instance of the nn.Module subclass `{made}`", made=made), made_node)
            return None  # a same-file class that is not a module
        if is_module_constructor(made):
            return (t("built by `{made}`", made=made), made_node)
        return None  # an instance of some other library class
    # A name like `model` or `net` proves nothing (an OpenCV `cv2.dnn` net, an RPC
    # `RemoteModule`). What the value does elsewhere in the file can: only a module
    # hands out `.parameters()` or its sub-modules.
    train = training(sem)
    use = train.module_only_use(name, site.scope)
    if use is not None:
        return (t("used as an nn.Module (`.{use_method}()` on line {use_line})", use_method=use.method, use_line=use.line), use.node)
    handed = train.handed_to_a_module_parameter(name, site.scope)
    if handed is not None:
        return (t("handed to `{callee}()` on line {line}, which uses it as an nn.Module",
                  callee=dotted(handed.node.func) or "", line=handed.line), handed.node)
    callers = train.callers_pass_models(receiver, site.scope)
    if callers:
        return (t("an nn.Module in every call of `{function}()` in this file (line {line})",
                  function=site.scope.name, line=callers[0].line), callers[0].node)
    return None
