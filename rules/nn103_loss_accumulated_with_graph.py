"""NN103 loss-accumulated-with-graph."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import AugAssign, CallSite, Loop, Semantic, dotted, subtree
from nnlint.training import Training
from nnlint.message import t, t_docs

_DETACHING_METHODS = frozenset({"item", "detach", "tolist", "numpy", "cpu"})
_LOSS_FUNCTIONS = ("loss", "cross_entropy", "binary_cross_entropy", "kl_div", "nll_loss")


@register
class LossAccumulatedWithGraph(Rule):
    """
    ## What it does
    Flags a running total such as `total_loss += loss` across training iterations,
    where `loss` is a tensor that still carries its autograd graph.

    ## Why is this bad?
    Adding a graph-carrying tensor to a Python accumulator makes the total a tensor
    whose graph references every iteration's graph. Nothing is freed until the
    total is dropped: memory grows through the epoch, training slows down, and on a
    long epoch it ends in an out-of-memory error far from the cause. The logged
    number is right, so nothing looks wrong until then.

    Totals built under `torch.no_grad()` and totals of `loss.item()` are fine, and
    so is a sum bound afresh earlier in the same iteration (`loss = main_loss;
    loss += aux_weight * aux_loss`): it combines the terms of one step.

    ## Example
    ```python
    total_loss = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total_loss += loss
    ```

    ## Use instead
    ```python
        total_loss += loss.item()
    ```

    ## Fix
    Accumulates `loss.item()` (a Python float) instead of the tensor, or
    `loss.detach()` when the total is later used as a tensor (`total.item()`).
    """

    code = "NN103"
    name = "loss-accumulated-with-graph"
    severity = Severity.WARNING
    summary = "Accumulating a loss tensor across iterations keeps every iteration's graph alive"
    fix_title = "Accumulate {replacement}"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        train = ctx.training
        for aug in sem.augassigns:
            if aug.grad_block is not None or aug.scope.grad_disabled:
                continue
            if not aug.loops:
                yield from self._in_step_helper(ctx, train, aug)
                continue
            loop = aug.loops[-1]
            if not _trains(train, loop, aug):
                continue
            if _rebound_earlier_in_iteration(loop.node, aug):
                continue  # `loss = a; loss += b`: two terms of one step, not a running total
            carriers = [name for name in _names(aug.value) if _carries_graph(sem, train, loop.calls, aug, name)]
            if not carriers:
                continue
            yield self._finding(ctx, aug, carriers, loop, train)
        for aug in sem.item_augassigns:
            yield from self._item_total(ctx, train, aug)

    def _item_total(self, ctx: Context, train: Training, aug: AugAssign) -> Iterator[Finding]:
        """`totals[name] += part` where `part` is one of the parts a backpropagated loss is
        made of (`for name, part in parts.items()`, `parts` returned beside the loss by the
        criterion), in a loop that trains, itself or through a helper (`parts =
        self.train_step(batch)`): each total keeps every iteration's graph."""
        if aug.grad_block is not None or aug.scope.grad_disabled:
            return
        training = set(map(id, train.training_loops()))
        loop = next((candidate for candidate in reversed(aug.loops) if id(candidate) in training), None)
        if loop is None or _rebound_earlier_in_iteration(loop.node, aug):
            return
        for name in _names(aug.value):
            if type(name) is not ast.Name:
                continue
            proof = _part_of_backpropagated_loss(ctx.semantic, train, aug, name)
            if proof is not None:
                yield self._finding(ctx, aug, [name], loop, train, proof)
                return

    def _in_step_helper(self, ctx: Context, train: Training, aug: AugAssign) -> Iterator[Finding]:
        """`self.total += loss` in a training-step method with no loop of its own, which a
        caller's loop runs once per iteration: the attribute keeps every step's graph."""
        scope = aug.scope
        if not scope.is_function or not aug.target.startswith("self."):
            return
        if not any(train.is_backward(site) and site.scope is scope for site in scope.calls):
            return
        if _rebound_earlier_in_iteration(scope.node, aug):
            return
        callers = ctx.semantic.callers(scope)
        if not callers or not all(caller.loops for caller in callers):
            return
        carriers = [name for name in _names(aug.value) if _carries_graph(ctx.semantic, train, scope.calls, aug, name)]
        if carriers:
            yield self._finding(ctx, aug, carriers, callers[0].loops[-1], train)

    def _finding(self, ctx: Context, aug: AugAssign, carriers: list[ast.Name | ast.Attribute], loop: Loop,
                 train: Training, parts_of: CallSite | None = None) -> Finding:
        name = dotted(carriers[0]) or ctx.text(carriers[0])
        method = "detach" if _used_as_tensor_later(ctx, aug) else "item"
        replacement = f"{name}.{method}()"
        message = (
            t(
                "`{aug_target}` adds up `{name}`, a tensor that carries its autograd graph, on every iteration "
                "of the loop at line {loop_line}: every iteration's graph stays alive; use `{replacement}`",
                aug_target=ctx.text(aug.node.target) if aug.target.endswith("[...]") else aug.target,  # type: ignore[union-attr]
                name=name,
                loop_line=loop.line,
                replacement=replacement,
            )
        )
        origin = ctx.semantic.origin(carriers[0], aug.scope, aug.node.lineno, through_shape_ops=False)
        related = [ctx.related(loop.node, t("the loop whose graphs are kept"))]
        if parts_of is not None:
            related.insert(0, ctx.related(parts_of.node, t(
                "the loss made of these parts is backpropagated here: they carry its graph")))
        elif origin.hops and origin.hops[0].value is not None:
            related.insert(0, ctx.related(origin.hops[0].stmt, t("`{name}` is computed here, with a graph", name=name)))
        else:  # `outputs.loss`: the backward pass from it proves the graph
            backward = next((s for s in aug.scope.calls if train.is_backward(s) and name in train.backward_sources(s)), None)
            if backward is not None:
                related.insert(0, ctx.related(backward.node, t("gradients computed here")))
        edits = tuple(ctx.replace(node, f"{ctx.text(node)}.{method}()") for node in carriers)
        return ctx.finding(self, aug.node, message, related, Fix(t_docs(self.fix_title, replacement=replacement), edits))


def _rebound_earlier_in_iteration(loop: ast.AST, aug: AugAssign) -> bool:
    """Whether every iteration binds the accumulator afresh before `aug` runs: a plain
    assignment to it earlier in the same block as `aug`, or in an enclosing block inside
    the loop. Then the sum combines terms of one iteration (a main and an auxiliary loss),
    and no graph outlives the iteration."""
    path = _block_path(loop, aug.node)
    if path is None:
        return False
    target = aug.target.removesuffix("[...]")  # `totals = {}` starts every item afresh
    for block, index in path:
        for stmt in block[:index]:
            if _binds(stmt, target):
                return True
    return False


def _block_path(root: ast.AST, target: ast.stmt) -> list[tuple[list[ast.stmt], int]] | None:
    """The (statement list, index) pairs from `root`'s body down to `target`."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        block = getattr(root, field, None)
        if not isinstance(block, list):
            continue
        for index, stmt in enumerate(block):
            if stmt is target:
                return [(block, index)]
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if stmt.lineno <= target.lineno <= (stmt.end_lineno or stmt.lineno):
                inner = _block_path(stmt, target)
                if inner is not None:
                    return [(block, index), *inner]
    return None


def _binds(stmt: ast.stmt, name: str) -> bool:
    if type(stmt) is ast.Assign:
        return any(dotted(t) == name for t in stmt.targets) and name not in _read_names(stmt.value)
    if type(stmt) is ast.AnnAssign and stmt.value is not None:
        return dotted(stmt.target) == name and name not in _read_names(stmt.value)
    return False


def _read_names(value: ast.expr) -> set[str]:
    """Dotted names read by `value` (`loss = loss * 0.5` does not start afresh)."""
    return {n for n in (dotted(node) for node in subtree(value) if type(node) in (ast.Name, ast.Attribute))
            if n is not None}


def _names(value: ast.expr) -> list[ast.Name | ast.Attribute]:
    """Names whose tensors flow into the sum unchanged (not through .item(), float(), ...),
    and attributes such as a Hugging Face output's `outputs.loss`."""
    kind = type(value)
    if kind is ast.Name:
        return [value]  # type: ignore[list-item]
    if kind is ast.Attribute and dotted(value) is not None:
        return [value]  # type: ignore[list-item]
    if kind is ast.BinOp:
        return _names(value.left) + _names(value.right)  # type: ignore[attr-defined]
    if kind is ast.UnaryOp:
        return _names(value.operand)  # type: ignore[attr-defined]
    return []


def _trains(train: Training, loop: Loop, aug: AugAssign) -> bool:
    return any(train.is_backward(site) and site.scope is aug.scope for site in loop.calls)


def _carries_graph(sem: Semantic, train: Training, calls: list[CallSite], aug: AugAssign,
                   name: ast.Name | ast.Attribute) -> bool:
    if type(name) is ast.Attribute:
        return _backwarded(train, calls, name)  # `accelerator.backward(outputs.loss)`
    line = aug.node.lineno
    binding = sem.lookup(name.id, aug.scope, line)
    if binding is not None and binding.kind == "unpack" and _backwarded(train, calls, name):
        return True  # `loss, parts = criterion(...)`; `loss.backward()`: a graph-carrying loss
    if binding is None or binding.value is None or binding.kind != "assign":
        return False
    value = binding.value
    if type(value) is ast.Call and type(value.func) is ast.Attribute and value.func.attr in _DETACHING_METHODS:
        return False
    if type(value) is ast.Call and type(value.func) is ast.Name and value.func.id in ("float", "int"):
        return False
    if type(value) is ast.Constant:
        return False
    if _backwarded(train, calls, name):
        return True
    return _is_loss_value(sem, value, aug)


def _backwarded(train: Training, calls: list[CallSite], name: ast.Name | ast.Attribute) -> bool:
    """Whether `calls` run a backward pass from `name` (`loss.backward()`,
    `accelerator.backward(loss)`, `self.manual_backward(loss)`, `scaler.scale(loss).backward()`):
    the name holds a loss with a graph."""
    text = dotted(name)
    return text is not None and any(
        train.is_backward(site) and text in train.backward_sources(site) for site in calls)


def _part_of_backpropagated_loss(sem: Semantic, train: Training, aug: AugAssign, name: ast.Name) -> CallSite | None:
    """For `part` bound by `for key, part in parts.items()` or `for part in parts.values()`:
    the backward pass proving that `parts` holds the graph-carrying parts of a loss (see
    `Training.loss_parts`)."""
    binding = sem.lookup(name.id, aug.scope, aug.node.lineno)
    if binding is None or type(binding.stmt) not in (ast.For, ast.AsyncFor):
        return None
    loop = binding.stmt
    iterable, target = loop.iter, loop.target  # type: ignore[attr-defined]
    if type(iterable) is not ast.Call or type(iterable.func) is not ast.Attribute or iterable.args:
        return None
    method = iterable.func.attr
    if method == "values":
        if type(target) is not ast.Name or target.id != name.id:
            return None
    elif method == "items":
        if type(target) is not ast.Tuple or len(target.elts) != 2 or type(target.elts[1]) is not ast.Name \
                or target.elts[1].id != name.id:
            return None
    else:
        return None
    return train.loss_parts(iterable.func.value, aug.scope, loop.lineno)


def _is_loss_value(sem: Semantic, value: ast.expr, aug: AugAssign) -> bool:
    while type(value) is ast.BinOp:
        value = value.left  # `criterion(...) / accum_steps`
    if type(value) is not ast.Call:
        return False
    name = sem.call_name(value) or ""
    last = name.rsplit(".", 1)[-1].lower()
    if name.startswith("torch.nn.functional.") and any(part in last for part in _LOSS_FUNCTIONS):
        return True
    made = sem.constructed_class(value.func, aug.scope, value.lineno) or ""
    return made.endswith("Loss") and made.startswith("torch.nn")


def _used_as_tensor_later(ctx: Context, aug: AugAssign) -> bool:
    """Whether the accumulator is later used with tensor-only methods (`total.item()`)."""
    for site in aug.scope.calls:
        if site.line > aug.node.lineno and site.method in ("item", "backward", "detach", "cpu") and (
            ctx.text(site.receiver) == aug.target if site.receiver is not None else False
        ):
            return True
    return False
