"""NN204 eval-without-no-grad."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity, Span
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, Semantic, argument, constant_value, dotted
from nnlint.training import Training, is_framework_class
from nnlint.message import t, t_docs
from nnlint.calls import call_index

_GRAD_FUNCTIONS = frozenset(
    {
        "torch.autograd.grad", "torch.autograd.backward", "torch.autograd.functional.jacobian",
        "torch.autograd.functional.hessian", "torch.autograd.functional.vjp", "torch.autograd.functional.jvp",
        "torch.func.grad", "torch.func.vjp", "torch.func.jacrev", "torch.func.jacfwd",
    }
)
_GRAD_CONTEXTS = frozenset(
    {"torch.set_grad_enabled", "torch.enable_grad", "torch.autograd.set_grad_enabled", "torch.autograd.enable_grad",
     "torch.autograd.grad_mode.set_grad_enabled", "torch.autograd.grad_mode.enable_grad"}
)
# Calls whose result carries no autograd graph.
_NO_GRAPH_METHODS = frozenset(
    {"item", "tolist", "numpy", "argmax", "argmin", "detach", "long", "int", "bool", "eq", "ne", "gt", "lt",
     "ge", "le", "size", "dim", "numel", "argsort", "sign", "round"}
)
_NO_GRAPH_BUILTINS = frozenset({"float", "int", "bool", "len", "round", "str", "print", "repr", "format"})
_NO_GRAPH_FUNCTIONS = frozenset({"torch.argmax", "torch.argmin", "torch.argsort", "torch.eq", "torch.sign"})
_STORING_METHODS = frozenset({"append", "extend", "insert", "add", "appendleft", "put", "push", "setdefault"})


@register
class EvalWithoutNoGrad(Rule):
    """
    ## What it does
    Flags an evaluation pass (a loop over batches, or a single forward call) that
    runs after `model.eval()` without `torch.no_grad()` or `torch.inference_mode()`
    — no `with` block, no decorator on the function, no `torch.set_grad_enabled(False)`
    and no caller wrapping it.

    ## Why is this bad?
    `model.eval()` only switches dropout and batch-norm to inference behaviour; it
    does not stop autograd. Every forward pass still records the graph and keeps
    every intermediate activation alive until the outputs are released. Evaluation
    then needs several times the memory it should (often the cause of an
    out-of-memory error "only during validation") and runs slower.

    ## Example
    ```python
    def validate(model, loader):
        model.eval()
        correct = 0
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
        return correct
    ```

    ## Use instead
    ```python
    @torch.no_grad()
    def validate(model, loader):
        model.eval()
        correct = 0
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
        return correct
    ```
    or wrap the loop in `with torch.no_grad():` (or `torch.inference_mode()`).

    Not reported when the outputs are used for gradients (a backward pass,
    `torch.autograd.grad`, adversarial examples), when `model.eval()` is used on
    purpose during training (frozen batch-norm statistics), or when a caller in the
    same file already disables gradients.

    ## Fix
    Decorates a pure evaluation function with `@torch.no_grad()`; otherwise wraps
    the evaluation loop (or statement) in `with torch.no_grad():`, indenting it by
    the file's indentation unit.
    """

    code = "NN204"
    name = "eval-without-no-grad"
    severity = Severity.INFORMATION
    summary = "Evaluation after model.eval() without torch.no_grad() builds graphs nobody uses"
    fix_title = "Disable gradients with torch.no_grad()"
    # `_eligible_scope`: a module-level `torch.set_grad_enabled(False)` anywhere silences
    # the rule in every function of the module.
    module_wide_words = frozenset({"set_grad_enabled"})

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        tr = ctx.training
        done: set[int] = set()
        for site in call_index(sem).methods(("eval", "train")):
            if not _is_eval_call(site):
                continue
            receiver = site.receiver
            key = dotted(receiver) if receiver is not None else None
            if key is None or key == "self":
                continue
            scope = site.scope
            if not _eligible_scope(sem, scope):
                continue
            made = sem.constructed_class(receiver, scope, site.line)  # type: ignore[arg-type]
            if made is not None and made in sem.classes and not sem.is_module_class(made):
                continue
            candidates = _candidates(sem, tr, site, key)
            if not candidates:
                continue
            grad_events = _grad_events(sem, tr, scope)
            if not _trained_in_train_mode(sem, site, key, grad_events):
                continue
            targets: list[tuple[ast.stmt, CallSite]] = []
            for candidate in candidates:
                target, loop = _target(candidate, site)
                if id(target) in done or any(t is target for t, _ in targets):
                    continue
                if loop is not None and any(event in loop.calls for event in grad_events):
                    continue
                targets.append((target, candidate))
            if not targets:
                continue
            if _is_unit_test(scope, sem.enclosing_class(scope)) and not any(
                    type(target) in (ast.For, ast.AsyncFor, ast.While) for target, _ in targets):
                continue  # eval() for determinism on a few made-up inputs: no evaluation pass to speed up
            if scope.is_function and not _output_unused_for_grads(sem, tr, scope, key):
                continue
            if scope.is_function and _wrapped_by_callers(sem, scope):
                continue
            prefix = _no_grad_name(sem)
            related = [ctx.related(site.node, t("`{key}` switched to eval mode here (does not disable autograd)", key=key))]
            decorate = (
                scope.is_function
                and not grad_events
                and type(scope.node) is ast.FunctionDef
                and scope.name not in ("forward", "__call__")
                and not scope.is_generator
                and prefix is not None
            )
            if decorate:
                target, candidate = targets[0]
                for other, _ in targets:
                    done.add(id(other))
                where = _location(ctx, target)
                what = t("the loop on line {target_lineno}", target_lineno=target.lineno) if target is not candidate.stmt else t("this forward pass")
                message = (
                    t(
                        "`{scope_name}` runs `{key}` in eval mode without `torch.no_grad()`: {what} builds "
                        "autograd graphs nobody uses (memory and time wasted); decorate `{scope_name}` with "
                        "`@torch.no_grad()`",
                        scope_name=scope.name,
                        key=key,
                        what=what,
                    )
                )
                fix = _decorator_fix(ctx, scope, prefix)  # type: ignore[arg-type]
                yield ctx.finding(self, where, message, related, fix)
                continue
            for target, candidate in targets:
                done.add(id(target))
                is_loop = type(target) in (ast.For, ast.AsyncFor, ast.While)
                what = t("the loop on line {target_lineno}", target_lineno=target.lineno) if is_loop else f"`{ctx.text(candidate.node)}`"
                message = (
                    t(
                        "{what} runs `{key}` after `{key}.eval()` without `torch.no_grad()`: autograd still "
                        "records every operation (memory and time wasted); wrap it in `with torch.no_grad():`",
                        what=what,
                        key=key,
                    )
                )
                fix = _wrap_fix(ctx, target, scope, prefix) if prefix is not None else None
                yield ctx.finding(self, _location(ctx, target, candidate), message, related, fix)


# --------------------------------------------------------------------------- detection
def _is_eval_call(site: CallSite) -> bool:
    if site.method == "eval":
        return not site.node.args and not site.node.keywords
    if site.method == "train":
        mode = argument(site.node, 0, "mode")
        return mode is not None and constant_value(mode) is False
    return False


def _eligible_scope(sem: Semantic, scope: Scope) -> bool:
    if scope.grad_disabled:
        return False
    node = scope.node
    if scope.is_function:
        for decorator in node.decorator_list:  # type: ignore[attr-defined]
            target = decorator.func if type(decorator) is ast.Call else decorator
            if sem.qualname(target) in _GRAD_CONTEXTS or sem.decorator_disables_grad(decorator, scope):
                return False
        cls = sem.enclosing_class(scope)
        if is_framework_class(cls):
            return False  # the framework runs these hooks under no_grad itself
    # `torch.set_grad_enabled(False)` as a plain statement, here or at module level
    for holder in (scope, sem.module):
        for other in holder.calls:
            if (
                type(other.stmt) is ast.Expr
                and other.stmt.value is other.node
                and sem.call_name(other.node) in ("torch.set_grad_enabled", "torch.autograd.set_grad_enabled")
                and other.node.args
                and constant_value(other.node.args[0]) is False
            ):
                return False
    return True


def _is_unit_test(scope: Scope, cls: object) -> bool:
    """A unit test as pytest and unittest collect it: `test_*` at module level, or a `test*`
    method of a `Test*` class or a `TestCase`. Its single forward passes check a model on a
    few made-up inputs: the graph is freed with them, and no_grad there could hide what the
    test checks. (`def test(model, loader)` is the classic test-set evaluation: not one.)"""
    if not scope.is_function or not scope.name.startswith("test"):
        return False
    if cls is None:
        return scope.name.startswith("test_") and scope.parent is not None and not scope.parent.is_function
    return cls.name.startswith("Test") or any(base.endswith("TestCase") for base in cls.bases)  # type: ignore[attr-defined]


def _candidates(sem: Semantic, tr: Training, eval_site: CallSite, key: str) -> list[CallSite]:
    """Forward calls `key(...)` after the eval call, in its mode, with gradients enabled:
    written here, or run by a method of the class (`self.infer(x)` calling `self.module_(x)`)."""
    scope = eval_site.scope
    mode_events = [
        s for s in scope.calls
        if s.method in ("eval", "train") and s.receiver is not None and dotted(s.receiver) == key
    ]
    grad_withs = [
        s.stmt for s in scope.calls
        if type(s.stmt) in (ast.With, ast.AsyncWith)
        and sem.call_name(s.node) in _GRAD_CONTEXTS
        and any(item.context_expr is s.node for item in s.stmt.items)  # type: ignore[attr-defined]
    ]
    found = []
    for site in scope.calls:
        if site.grad_block is not None:
            continue
        if dotted(site.node.func) != key and tr.forward_through_self(site, key) is None:
            continue
        if site.pos <= eval_site.pos or site.exclusive_with(eval_site):
            continue
        before = [m for m in mode_events if m.pos < site.pos]
        if not before or before[-1] is not eval_site:
            continue
        if any(w.lineno <= site.line <= (w.end_lineno or w.lineno) for w in grad_withs):
            continue
        found.append(site)
    return found


class _GradEvents:
    """Per module: the calls of each function that may compute or apply gradients (kept
    with the semantic index through `Semantic.analysis`, like every shared analysis)."""

    def __init__(self, sem: Semantic) -> None:
        self.by_scope: dict[int, list[CallSite]] = {}


def _grad_events(sem: Semantic, tr: Training, scope: Scope) -> list[CallSite]:
    cache = sem.analysis(_GradEvents).by_scope
    if id(scope) not in cache:
        cache[id(scope)] = _compute_grad_events(sem, tr, scope)
    return cache[id(scope)]


def _compute_grad_events(sem: Semantic, tr: Training, scope: Scope) -> list[CallSite]:
    events = []
    for site in scope.calls:
        if tr.is_backward(site) or site.method == "requires_grad_" or sem.call_name(site.node) in _GRAD_FUNCTIONS:
            events.append(site)
        elif site.method == "step" and tr.optimizer_of_step(site) is not None:
            events.append(site)
        elif site.method not in ("eval", "train", "zero_grad", "step") and any(
            # a direct `.step()` counts only on an optimizer (above), not on a metric
            # accumulator (votenet's `ap_calculator.step(...)`); helpers count by their effects
            kind in ("backward", "step") for kind, _, _ in sem.site_effects(site)
        ):
            events.append(site)
    return events


def _trained_in_train_mode(sem: Semantic, eval_site: CallSite, key: str, events: list[CallSite]) -> bool:
    """False when a gradient event may run while `key` is in eval mode (eval on purpose)."""
    scope = eval_site.scope
    modes = [
        s for s in scope.calls
        if s.receiver is not None and dotted(s.receiver) == key and (s.method == "train" or _is_eval_call(s))
    ]
    for event in events:
        before = [m for m in modes if m.pos < event.pos]
        if before:
            if _is_eval_call(before[-1]):
                return False
            continue
        shared = [loop for loop in event.loops if loop in eval_site.loops]
        if shared:
            in_loop = [m for m in modes if shared[0] in m.loops]
            if in_loop and _is_eval_call(in_loop[-1]):
                return False
    return True


def _target(candidate: CallSite, eval_site: CallSite) -> tuple[ast.stmt, Loop | None]:
    """The outermost loop around the forward call that does not also contain the eval call."""
    for loop in candidate.loops:
        if loop not in eval_site.loops:
            return loop.node, loop
    return candidate.stmt, None


def _output_unused_for_grads(sem: Semantic, tr: Training, scope: Scope, key: str) -> bool:
    """False when the function may hand a graph-carrying model output to its caller, and a
    caller could use it for gradients (or no caller is visible)."""
    if scope.is_generator:
        return False
    # `y_pred = self.infer(x)`: a method of the class that runs `key` returns its output
    through = frozenset(id(site.node) for site in scope.calls if tr.forward_through_self(site, key) is not None)
    carrying: set[str] = set()
    for _ in range(3):
        for name, bindings in scope.bindings.items():
            if name in carrying:
                continue
            for binding in bindings:
                value = binding.value
                if value is None and binding.kind == "unpack" and type(binding.stmt) is ast.Assign:
                    value = binding.stmt.value
                if value is not None and _carries(sem, value, carrying, key, through):
                    carrying.add(name)
                    break
        for aug in scope.augassigns:
            if aug.target not in carrying and _carries(sem, aug.value, carrying, key, through):
                carrying.add(aug.target)
        for site in scope.calls:
            if site.method not in _STORING_METHODS or site.receiver is None:
                continue
            if not any(_carries(sem, arg, carrying, key, through) for arg in site.node.args):
                continue
            holder = site.receiver
            if type(holder) is ast.Name and holder.id in scope.bindings and holder.id not in scope.params:
                carrying.add(holder.id)
            else:
                return False  # stored in an attribute, a parameter or a global: may be backpropagated later
    if any("." in name for name in carrying):
        return False  # `self.saved = output`
    if not any(ret.value is not None and _carries(sem, ret.value, carrying, key, through) for ret in scope.returns):
        return True
    callers = sem.callers(scope)
    if not callers:
        return False
    return not any(_result_may_feed_gradients(sem, tr, caller) for caller in callers)


def _result_may_feed_gradients(sem: Semantic, tr: Training, caller: CallSite) -> bool:
    """Whether the function calling at `caller` may compute gradients from what the call
    returns. Not when it computes none at all, nor when the result is discarded or bound to
    a local name that no gradient event (a backward pass, an optimizer step, a helper that
    runs one) reads, directly or through names made from it, and that is not kept where
    later code could reach it (an attribute, a container, a closure, a `return`): a
    trainer's `fit` that trains with `train_step` and logs `valid_step(...)["loss"]`."""
    events = _grad_events(sem, tr, caller.scope)
    if not events:
        return False
    stmt = caller.stmt
    if type(stmt) is ast.Expr and stmt.value is caller.node:
        return False  # the result is dropped at once
    if not (type(stmt) is ast.Assign and stmt.value is caller.node and len(stmt.targets) == 1
            and type(stmt.targets[0]) is ast.Name):
        return True
    scope = caller.scope
    carrying = {stmt.targets[0].id}
    for _ in range(3):  # `loss = step["loss"]`: names made from the result carry it too
        for name, bindings in scope.bindings.items():
            if name in carrying:
                continue
            for binding in bindings:
                value = binding.value
                if value is None and type(binding.stmt) in (ast.Assign, ast.For, ast.AsyncFor):
                    value = binding.stmt.value if type(binding.stmt) is ast.Assign else binding.stmt.iter  # type: ignore[union-attr]
                if value is not None and _holds(sem, value, carrying):
                    carrying.add(name)
                    break
    if any(_holds(sem, event.node, carrying) for event in events):
        return True
    for node in ast.walk(scope.node):
        if node is scope.node:
            continue
        kind = type(node)
        if kind in (ast.Global, ast.Nonlocal) and carrying & set(node.names):  # type: ignore[attr-defined]
            return True
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda) and _reads_any(node, carrying):
            return True  # a closure may run later, anywhere
        if kind in (ast.Return, ast.Yield, ast.YieldFrom) and node.value is not None and _holds(sem, node.value, carrying):  # type: ignore[attr-defined]
            return True
        if kind in (ast.Assign, ast.AugAssign, ast.AnnAssign) and node.value is not None and _holds(sem, node.value, carrying):  # type: ignore[attr-defined]
            targets = node.targets if kind is ast.Assign else [node.target]  # type: ignore[attr-defined]
            if any(type(target) is not ast.Name for target in targets):
                return True  # `self.last = step`, `history[i] = step`
    return any(site.method in _STORING_METHODS and site.receiver is not None
               and any(_holds(sem, arg, carrying) for arg in site.node.args) for site in scope.calls)


def _holds(sem: Semantic, expr: ast.expr, names: set[str]) -> bool:
    """Whether `expr` may hold a tensor of `names` with its graph (not through `.item()`,
    `float()`, `.detach()`)."""
    return _carries(sem, expr, names, "", frozenset())


def _reads_any(node: ast.AST, names: set[str]) -> bool:
    return any(type(child) is ast.Name and child.id in names for child in ast.walk(node))


def _carries(sem: Semantic, expr: ast.expr, carrying: set[str], key: str, through: frozenset[int]) -> bool:
    kind = type(expr)
    if kind is ast.Name:
        return expr.id in carrying  # type: ignore[attr-defined]
    if kind is ast.Constant or kind is ast.Compare or kind is ast.Lambda:
        return False
    if kind is ast.Call:
        func = expr.func  # type: ignore[attr-defined]
        if dotted(func) == key or id(expr) in through:
            return True
        if type(func) is ast.Attribute and func.attr in _NO_GRAPH_METHODS:
            return False
        if type(func) is ast.Name and func.id in _NO_GRAPH_BUILTINS:
            return False
        if sem.call_name(expr) in _NO_GRAPH_FUNCTIONS:  # type: ignore[arg-type]
            return False
        parts = list(expr.args) + [k.value for k in expr.keywords]  # type: ignore[attr-defined]
        if type(func) is ast.Attribute:
            parts.append(func.value)
        return any(_carries(sem, part, carrying, key, through) for part in parts)
    if kind is ast.Attribute:
        if expr.attr in ("shape", "dtype", "device", "ndim", "grad_fn", "requires_grad"):  # type: ignore[attr-defined]
            return False
        return _carries(sem, expr.value, carrying, key, through)  # type: ignore[attr-defined]
    return any(_carries(sem, child, carrying, key, through) for child in ast.iter_child_nodes(expr) if isinstance(child, ast.expr))


def _wrapped_by_callers(sem: Semantic, scope: Scope, depth: int = 0) -> bool:
    for caller in sem.callers(scope):
        if caller.grad_block is not None or caller.scope.grad_disabled:
            return True
        if depth < 3 and caller.scope.is_function and caller.scope is not scope and _wrapped_by_callers(
            sem, caller.scope, depth + 1
        ):
            return True
    return False


# --------------------------------------------------------------------------- fixes
def _no_grad_name(sem: Semantic) -> str | None:
    """How this file spells `torch.no_grad` (None when torch is bound to something else)."""
    spelled = sem.spelling("torch.no_grad")
    if spelled is not None:
        return spelled
    if "torch" not in sem.imports and sem.qualname(ast.Name(id="torch")) == "torch":
        return "torch.no_grad"
    return None


def _location(ctx: Context, target: ast.stmt, candidate: CallSite | None = None) -> Span | ast.AST:
    if type(target) in (ast.For, ast.AsyncFor, ast.While):
        return ctx.head_span(target)
    return candidate.node if candidate is not None else target


def _indent_unit(ctx: Context, stmt: ast.stmt, scope: Scope) -> str:
    body = getattr(stmt, "body", None)
    source = ctx.source
    if body and body[0].lineno != stmt.lineno:
        outer, inner = source.indent_of(stmt.lineno), source.indent_of(body[0].lineno)
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer):]
    node = scope.node
    if scope.is_function and node.body and node.body[0].lineno != node.lineno:  # type: ignore[attr-defined]
        outer, inner = source.indent_of(node.lineno), source.indent_of(node.body[0].lineno)  # type: ignore[attr-defined]
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer):]
    for line in source.lines:
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if indent and line.strip() and not line.strip().startswith("#"):
            return indent
    return "    "


def _wrap_fix(ctx: Context, stmt: ast.stmt, scope: Scope, no_grad: str) -> Fix | None:
    source = ctx.source
    if not source.occupies_whole_lines(stmt):
        return None
    first, last = stmt.lineno, stmt.end_lineno or stmt.lineno
    for node in ast.walk(stmt):  # a multi-line string would change if indented
        if type(node) in (ast.Constant, ast.JoinedStr) and (node.end_lineno or node.lineno) != node.lineno:  # type: ignore[attr-defined]
            return None
    indent = source.indent_of(first)
    unit = _indent_unit(ctx, stmt, scope)
    newline = source.newline()
    lines = [source.line_text(n) for n in range(first, last + 1)]
    body = newline.join(unit + line if line.strip() else line for line in lines)
    text = f"{indent}with {no_grad}():{newline}{body}"
    return Fix(t_docs(EvalWithoutNoGrad.fix_title), (Edit(Span(first, 0, last, len(lines[-1])), text),))


def _decorator_fix(ctx: Context, scope: Scope, no_grad: str) -> Fix | None:
    node = scope.node
    lines = [node.lineno] + [d.lineno for d in node.decorator_list]  # type: ignore[attr-defined]
    line = min(lines)
    indent = ctx.source.indent_of(node.lineno)  # type: ignore[attr-defined]
    text = ctx.source.line_text(line)
    if not text[len(indent):].startswith(("@", "def ", "async ")):
        return None
    edit = Edit(Span(line, 0, line, 0), f"{indent}@{no_grad}(){ctx.source.newline()}")
    return Fix(t_docs(EvalWithoutNoGrad.fix_title), (edit,))
