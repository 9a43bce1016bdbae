"""NN403 optimizer-misses-new-module."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, ClassInfo, Scope, Semantic, dotted, keyword, module_itself, subtree
from nnlint.torchnames import is_optimizer_constructor
from nnlint.training import Training, training
from nnlint.message import t
from nnlint.project import reads_other_modules
from nnlint.calls import call_index

_PARAMETER_METHODS = ("parameters", "named_parameters")


@dataclass
class _Optimizer:
    """An optimizer that took the parameters of the modules `covers` (keys as the
    scope `scope` names them) at `site`, kept in `name`."""

    site: CallSite  # the construction, or the call of the helper that makes it
    scope: Scope
    name: str  # "opt", "self.optimizer"
    covers: list[str]
    sources: list[str]  # the same modules as written (`new_head` in {"params": new_head.parameters()})


@register
class OptimizerMissesNewModule(Rule):
    """
    ## What it does
    Flags a sub-module replaced (`model.fc = nn.Linear(512, 10)`), or a model
    rebuilt (`model = Net()`), after an optimizer took the model's parameters, when
    that optimizer keeps training afterwards and no new optimizer is built and no
    `add_param_group` adds the new parameters.

    ## Why is this bad?
    `torch.optim` optimizers hold the parameter *tensors* they were given, not
    the module. Replacing a layer creates new parameter tensors the optimizer has
    never seen: `optimizer.step()` keeps updating the old, detached layer, and the
    new head keeps its random initialisation for the whole run. The loss may still
    go down a little through the other layers, so nothing looks broken. This is
    the usual fine-tuning story: load a pretrained network, build the optimizer,
    then swap in a new classifier.

    Not reported: replacements without parameters (`nn.Identity()`,
    `nn.Dropout()`), `model = model.to(device)`, `DDP(model)`,
    `torch.compile(model)`, `accelerator.prepare(model)` (the same parameters), a
    new head whose parameters were already given to the optimizer, and an
    optimizer built (or `add_param_group` called) after the replacement.

    ## Example
    ```python
    model = torchvision.models.resnet18(weights="DEFAULT")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.fc = nn.Linear(model.fc.in_features, 10)
    train(model, optimizer)
    ```

    ## Use instead
    ```python
    model = torchvision.models.resnet18(weights="DEFAULT")
    model.fc = nn.Linear(model.fc.in_features, 10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train(model, optimizer)
    ```

    ## Fix
    None: whether to rebuild the optimizer (losing its state) or add a parameter
    group (with which learning rate?) is a choice only the author can make.
    """

    code = "NN403"
    name = "optimizer-misses-new-module"
    severity = Severity.WARNING
    summary = "A sub-module replaced after the optimizer took the parameters: the new layer is never trained"
    # `check` opens on "param" anywhere in the text (`params`, a comment): an edited line
    # holding it may change findings elsewhere (with a project, where the optimizer's
    # `.parameters()` can be in another module).
    module_wide_text = re.compile("param")

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        if "param" not in ctx.source.text:
            return
        train = training(sem)
        facts = _FileFacts(sem)
        for optimizer in _optimizers(sem, facts):
            for target, value, stmt, node, anchor in _replacements(sem, optimizer, facts):
                if not _replaced_module_has_parameters(sem, train, optimizer, value, stmt):
                    continue
                use = _later_use(sem, optimizer, anchor)
                if use is None:
                    continue
                finding = self._finding(ctx, optimizer, target, ctx.text(node), value, stmt, use)
                if anchor is not stmt:
                    finding.related.insert(1, ctx.related(anchor, t("this call runs the replacement (line {anchor_lineno})", anchor_lineno=anchor.lineno)))
                yield finding

    def _finding(self, ctx: Context, optimizer: _Optimizer, target: str, written: str, value: ast.expr,
                 stmt: ast.stmt, use: ast.AST) -> Finding:
        key = next(k for k in optimizer.covers if _related_keys(k, target))
        covered = optimizer.sources[optimizer.covers.index(key)]
        what = t("rebuilt") if target == key else t("replaced")
        made = ctx.text(value.func) if type(value) is ast.Call else ctx.text(value)
        message = (
            t(
                "`{written}` is {what} (a new `{made}`) after the optimizer `{optimizer_name}` took "
                "`{covered}`'s parameters on line {site_line}: the optimizer still holds the old parameter "
                "tensors, so the new ones are never updated; build the optimizer after this line or call "
                "`{optimizer_name}.add_param_group(...)` with the new parameters",
                written=written,
                what=what,
                made=_short(made),
                optimizer_name=optimizer.name,
                covered=covered,
                site_line=optimizer.site.line,
            )
        )
        related = [
            ctx.related(optimizer.site.node, t(
                "`{optimizer_name}` takes `{covered}`'s parameters here",
                optimizer_name=optimizer.name,
                covered=covered,
            )),
            ctx.related(use, t(
                "`{optimizer_name}` is still used after the replacement (line {use_lineno})",
                optimizer_name=optimizer.name,
                use_lineno=use.lineno,
            )),  # type: ignore[attr-defined]
        ]
        return ctx.finding(self, stmt, message, related)


class _FileFacts:
    """What the rule asks of the file's functions again and again (every optimizer,
    every call after it), worked out once per check."""

    def __init__(self, sem: Semantic) -> None:
        self.sem = sem
        self._assigned: dict[int, list[ast.Assign]] = {}
        self._param_targets: dict[int, list[tuple[ast.Assign, list[tuple[ast.expr, str]]]]] = {}
        self._replacing_helpers: set[str] | None = None
        # Whether a call may run a function of another module (see `_may_run`): never
        # without a project, nor in a module that can read no other one.
        self.cross = reads_other_modules(sem)

    def assignments(self, scope: Scope) -> list[ast.Assign]:
        known = self._assigned.get(id(scope))
        if known is None:
            known = self._assigned[id(scope)] = _assignments(scope)
        return known

    def param_targets(self, function: Scope) -> list[tuple[ast.Assign, list[tuple[ast.expr, str]]]]:
        """The assignments of `function` to (a part of) one of its parameters, each with
        its targets keyed as `Semantic.param_key` names them ("#0.fc"), in source order."""
        known = self._param_targets.get(id(function))
        if known is None:
            known = []
            for stmt in self.assignments(function):
                keyed = [(target, key) for target in stmt.targets
                         if (key := _target_key(self.sem, target, function)) is not None and key.startswith("#")]
                if keyed:
                    known.append((stmt, keyed))
            self._param_targets[id(function)] = known
        return known

    def optimizer_helper_calls(self, built: list[CallSite]) -> list[CallSite]:
        """The calls that may run a function returning a new optimizer (`_covered_by_helper`
        reads its returns). A function of this file is found under its own name (the called
        name, or the method name); one of another module only through an import or an object
        of an imported class, so without a project only calls of this file's helpers count.
        `built`: the optimizer constructions of the file."""
        sem = self.sem
        # the functions with a `return torch.optim.X(...)`
        helpers = {site.scope.name for site in built
                   if type(site.stmt) is ast.Return and site.stmt.value is site.node and site.scope.is_function}
        if not helpers and not self.cross:
            return []
        return [site for site in sem.calls
                if _kept_whole(site) and _may_run(sem, site, helpers, foreign=True, cross=self.cross)]

    def may_run_replacing_helper(self, site: CallSite) -> bool:
        """Whether `site` may call a function of this file that can assign to its
        parameters (the only helpers `_helper_replacements` follows): one with a parameter
        besides `self` (`param_key` keys only those with "#")."""
        if self._replacing_helpers is None:
            self._replacing_helpers = {
                scope.name for scope in self.sem.scopes
                if scope.is_function and any(p != "self" for p in scope.params)}
        if not self._replacing_helpers:
            return False
        if not self.cross:  # `_may_run` without other modules: the called name decides (no call per site)
            func = site.node.func
            kind = type(func)
            return (kind is ast.Name and func.id in self._replacing_helpers  # type: ignore[attr-defined]
                    or kind is ast.Attribute and func.attr in self._replacing_helpers)  # type: ignore[attr-defined]
        return _may_run(self.sem, site, self._replacing_helpers, foreign=False, cross=self.cross)


def _may_run(sem: Semantic, site: CallSite, names: set[str], foreign: bool, cross: bool) -> bool:
    """Whether `sem.resolve_function(site.node, ...)` may find a function named in `names`
    (this file's functions and methods are found under the name called), or, with
    `foreign`, a function of another module. A call through an imported name may reach
    any function (an import alias, a re-export), this file's own included, when the file
    can reach other modules at all (`cross`, see `reads_other_modules`): otherwise it
    resolves as without a project (an imported name to nothing, a method only by name)."""
    func = site.node.func
    if type(func) is ast.Name:
        return func.id in names or func.id in sem.imports and cross
    if type(func) is not ast.Attribute:
        return False
    if func.attr in names:
        return True
    if not cross or type(func.value) is ast.Name and func.value.id == "self":
        return False
    head = dotted(func.value)
    if head is not None and head.split(".")[0] in sem.imports:
        return True
    return foreign  # a method of a class of another module (found through the object's class)


# ------------------------------------------------------------------ optimizers
def _kept_whole(site: CallSite) -> bool:
    """`holder = <the call>`: one target, the call is the whole value."""
    stmt = site.stmt
    return type(stmt) is ast.Assign and stmt.value is site.node and len(stmt.targets) == 1


def _optimizers(sem: Semantic, facts: _FileFacts) -> Iterator[_Optimizer]:
    index = call_index(sem)
    built = index.matching(is_optimizer_constructor)
    for site in index.either(built, facts.optimizer_helper_calls(built)):
        if not _kept_whole(site):
            continue
        holder = dotted(site.stmt.targets[0])  # type: ignore[attr-defined]
        if holder is None:
            continue
        if is_optimizer_constructor(sem.call_name(site.node)):
            covers, sources = _covered(sem, site.node, site.scope, site.line)
        else:  # one of `helper_calls`
            covers, sources = _covered_by_helper(sem, site)
        if covers:
            yield _Optimizer(site, site.scope, holder, covers, sources)


def _covered(sem: Semantic, call: ast.Call, scope: Scope, line: int) -> tuple[list[str], list[str]]:
    """The modules whose parameters an optimizer construction takes, as keys of `scope`."""
    params = call.args[0] if call.args else keyword(call, "params")
    if params is None:
        return [], []
    if type(params) is ast.Name:  # `params = model.parameters()` (or a list of groups) first
        binding = sem.lookup(params.id, scope, line)
        if binding is None or binding.value is None:
            return [], []
        params = binding.value
    covers: list[str] = []
    sources: list[str] = []
    for node in subtree(params):
        if type(node) is ast.Call and type(node.func) is ast.Attribute and node.func.attr in _PARAMETER_METHODS:
            key = sem.param_key(node.func.value, scope)
            if key is not None:
                covers.append(key)
                sources.append(dotted(node.func.value) or key)
    return covers, sources


def _covered_by_helper(sem: Semantic, site: CallSite) -> tuple[list[str], list[str]]:
    """`opt = make_optimizer(model, lr)`: the helper returns an optimizer built from the
    parameters of one of its parameters; that argument, as the caller names it."""
    covers: list[str] = []
    sources: list[str] = []
    for function in sem.resolve_function(site.node, site.scope):
        owner = function.owner or sem
        for ret in function.returns:
            if type(ret.value) is not ast.Call or not is_optimizer_constructor(owner.call_name(ret.value)):
                continue
            inner, _ = _covered(owner, ret.value, function, ret.lineno)
            for key in inner:
                mapped = sem.caller_key(function, key, site) if key.startswith("#") else None
                if mapped is not None:
                    covers.append(mapped)
                    sources.append(_written(mapped, site.scope))
    return covers, sources


def _written(key: str, scope: Scope) -> str:
    """A key as the code spells it: "#0.fc" in `def f(model)` is `model.fc`."""
    if not key.startswith("#"):
        return key
    index, _, rest = key[1:].partition(".")
    name = scope.params[int(index)] if int(index) < len(scope.params) else key
    return f"{name}.{rest}" if rest else name


# ---------------------------------------------------------------- replacements
def _replacements(sem: Semantic, optimizer: _Optimizer, facts: _FileFacts,
                  ) -> Iterator[tuple[str, ast.expr, ast.Assign, ast.expr, ast.stmt]]:
    """Assignments to a covered module (or a part of it) after the optimizer was built:
    (target key, new value, statement, target node, the statement of the optimizer's
    function that runs it: the assignment itself, or the call of a helper that makes it)."""
    for scope, after in _scopes_after(sem, optimizer):
        for stmt in facts.assignments(scope):
            if after is not None and (stmt.lineno, stmt.col_offset) <= after:
                continue
            if _loop_repeats_both(scope, optimizer, stmt):
                continue
            for target in stmt.targets:
                name = _target_key(sem, target, scope)
                if name is not None and any(_related_keys(key, name) for key in optimizer.covers):
                    yield name, stmt.value, stmt, target, stmt
                    break
        yield from _helper_replacements(sem, optimizer, scope, after, facts)


def _helper_replacements(sem: Semantic, optimizer: _Optimizer, scope: Scope, after: tuple[int, int] | None,
                         facts: _FileFacts) -> Iterator[tuple[str, ast.expr, ast.Assign, ast.expr, ast.stmt]]:
    """`replace_head(model, 10)` after the optimizer, where the helper (of this file) does
    `net.fc = nn.Linear(...)` on its parameter."""
    for site in scope.calls:
        if not facts.may_run_replacing_helper(site):
            continue
        if after is not None and site.pos <= after or _loop_repeats_both(scope, optimizer, site.stmt):
            continue
        for function in sem.resolve_function(site.node, scope):
            if function.owner not in (None, sem) or function is scope:
                continue
            for stmt, keyed in facts.param_targets(function):
                for target, key in keyed:
                    mapped = sem.caller_key(function, key, site)
                    if mapped is not None and any(_related_keys(k, mapped) for k in optimizer.covers):
                        yield mapped, stmt.value, stmt, target, site.stmt
                        break


def _scopes_after(sem: Semantic, optimizer: _Optimizer) -> Iterator[tuple[Scope, tuple[int, int] | None]]:
    """The optimizer's own scope (statements after it), and for an optimizer kept on `self`
    by `__init__`, the class's other methods (which all run after the constructor)."""
    site = optimizer.site
    yield optimizer.scope, (site.stmt.end_lineno or site.line, site.stmt.end_col_offset or 0)
    cls = sem.enclosing_class(optimizer.scope)
    if cls is not None and optimizer.scope.name == "__init__" and optimizer.name.startswith("self."):
        for name, method in cls.methods.items():
            if name != "__init__":
                yield method, None


def _assignments(scope: Scope) -> list[ast.Assign]:
    """The assignments of a function (or the module), without nested functions and
    classes, in source order. Only the statement lists of compound statements are
    entered (`body`, `orelse`, `finalbody`): not `except` handlers nor `match` cases."""
    found: list[ast.Assign] = []
    body = scope.node.body if isinstance(scope.node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef)) else []
    stack: list[ast.stmt] = list(reversed(body))
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Assign:
            found.append(node)  # type: ignore[arg-type]
            continue
        if kind in _NOT_ENTERED or kind in _SIMPLE_STATEMENTS:
            continue
        for field in ("finalbody", "orelse", "body"):  # pushed last to first: popped in source order
            children = getattr(node, field, None)
            if children:
                stack.extend(reversed(children))
    return found


_NOT_ENTERED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# statements without statement lists inside
_SIMPLE_STATEMENTS = frozenset({
    ast.Expr, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Import, ast.ImportFrom, ast.Pass, ast.Break,
    ast.Continue, ast.Delete, ast.Raise, ast.Assert, ast.Global, ast.Nonlocal})


def _target_key(sem: Semantic, target: ast.expr, scope: Scope) -> str | None:
    """The target as `Semantic.param_key` names objects ("#0.fc" for a parameter's `fc`)."""
    if type(target) is ast.Subscript:
        base = sem.param_key(target.value, scope)
        return f"{base}.[]" if base is not None else None
    return sem.param_key(target, scope)


def _target_name(target: ast.expr) -> str | None:
    """`model.fc` -> "model.fc"; `model.classifier[6]` -> "model.classifier.[]"."""
    if type(target) is ast.Subscript:
        base = dotted(target.value)
        return f"{base}.[]" if base is not None else None
    return dotted(target)


def _related_keys(covered: str, target: str) -> bool:
    """Whether assigning `target` changes parameters the optimizer of `covered` holds."""
    return target == covered or target.startswith(covered + ".") or covered.startswith(target + ".")


def _loop_repeats_both(scope: Scope, optimizer: _Optimizer, stmt: ast.stmt) -> bool:
    """A loop around both the construction and the replacement builds a new optimizer
    for the new layer on its next iteration."""
    if optimizer.scope is not scope:
        return False
    return any(loop.node.lineno <= stmt.lineno <= (loop.node.end_lineno or 0) for loop in optimizer.site.loops)


def _replaced_module_has_parameters(sem: Semantic, train: Training, optimizer: _Optimizer, value: ast.expr,
                                    stmt: ast.Assign) -> bool:
    if dotted(value) in optimizer.sources:
        return False  # `{"params": head.parameters()}` given to the optimizer, then `model.fc = head`
    origin = module_itself(value)
    if type(origin) is ast.Call and _wraps(origin, stmt):
        return False  # `DDP(model)`, `torch.compile(model)`, `nn.Sequential(model.fc, nn.Dropout())`
    return train.builds_stateful_module(value, _innermost_scope(sem, stmt), stmt.lineno, parameters_only=True)


def _innermost_scope(sem: Semantic, stmt: ast.stmt) -> Scope:
    """The function (or the module) a statement is written in."""
    found = sem.module
    for scope in sem.scopes:
        node = scope.node
        if scope.is_function and node.lineno <= stmt.lineno <= (node.end_lineno or 0):  # type: ignore[attr-defined]
            if found is sem.module or node.lineno >= found.node.lineno:  # type: ignore[attr-defined]
                found = scope
    return found


def _wraps(call: ast.Call, stmt: ast.Assign) -> bool:
    """Whether the new value is built around the object it replaces (`DDP(model)`,
    `nn.Sequential(model.fc, nn.Dropout())`); `nn.Linear(model.fc.in_features, 10)` only
    reads a size from it."""
    targets = {_target_name(t) for t in stmt.targets}
    for node in ast.walk(call):
        if type(node) is not ast.Call:
            continue
        for argument in [*node.args, *(k.value for k in node.keywords)]:
            inner = argument.value if type(argument) is ast.Starred else argument
            if dotted(inner) in targets or type(inner) is ast.Subscript and _target_name(inner) in targets:
                return True
    return False


def _later_use(sem: Semantic, optimizer: _Optimizer, stmt: ast.stmt) -> ast.AST | None:
    """The first use of the optimizer after `stmt` in the same function (its step, or a
    call that is handed it), unless a new optimizer or a parameter group comes first."""
    scope = _scope_holding(sem, optimizer, stmt)
    if scope is None:
        return None
    end = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
    if any(b.line >= stmt.lineno for b in scope.bindings.get(optimizer.name, ())):
        return None  # the name is given another optimizer (`opt = set_head_and_optimizer(model)`)
    for site in scope.calls:
        if site.pos <= end:
            continue
        name = sem.call_name(site.node)
        if is_optimizer_constructor(name) or site.method == "add_param_group":
            return None
        if site.method is None and any(is_optimizer_constructor(sem.call_name(ret.value))
                                       for function in sem.resolve_function(site.node, site.scope)
                                       for ret in function.returns if type(ret.value) is ast.Call):
            return None  # a helper that builds a new optimizer
        mentions = [site.receiver] if site.receiver is not None else []
        mentions += [*site.node.args, *(k.value for k in site.node.keywords)]
        if any(dotted(m) == optimizer.name for m in mentions):
            return site.node
    for ret in scope.returns:
        if ret.lineno > end[0] and ret.value is not None and any(
                dotted(node) == optimizer.name for node in ast.walk(ret.value)):
            return ret  # handed to the caller, who trains with it
    if optimizer.name.startswith("self.") and scope is not optimizer.scope:
        return _used_in_other_methods(sem, optimizer, scope)
    return None


def _scope_holding(sem: Semantic, optimizer: _Optimizer, stmt: ast.stmt) -> Scope | None:
    innermost = _innermost_scope(sem, stmt)
    return next((scope for scope, _after in _scopes_after(sem, optimizer) if scope is innermost), None)


def _used_in_other_methods(sem: Semantic, optimizer: _Optimizer, replacing: Scope) -> ast.AST | None:
    """For `self.opt` built in `__init__` and a layer replaced in another method: the
    class steps `self.opt` somewhere, and no method but `__init__` rebuilds it or adds a
    parameter group."""
    cls: ClassInfo | None = sem.enclosing_class(optimizer.scope)
    if cls is None:
        return None
    use: ast.AST | None = None
    for name, method in cls.methods.items():
        if name == "__init__":
            continue
        for site in method.calls:
            if is_optimizer_constructor(sem.call_name(site.node)) or site.method == "add_param_group":
                return None
            if site.method == "step" and dotted(site.receiver) == optimizer.name and use is None:  # type: ignore[arg-type]
                use = site.node
    return use


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
