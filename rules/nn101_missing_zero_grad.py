"""NN101 missing-zero-grad."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, dotted
from nnlint.training import Training, is_framework_class
from nnlint.message import t, t_docs


@register
class MissingZeroGrad(Rule):
    """
    ## What it does
    Flags a loop that runs `backward()` and an optimizer's `step()` on every
    iteration but never clears that optimizer's gradients inside the loop.

    ## Why is this bad?
    `backward()` *adds* to `.grad`; it does not overwrite it. Without
    `optimizer.zero_grad()` (or `model.zero_grad()`, or `p.grad = None`) in the
    loop, every step uses the sum of all gradients computed so far. Training does
    not crash: the loss usually still goes down for a while, then the updates grow,
    the effective learning rate explodes and the model ends up quietly worse.
    Clearing once *before* the loop is the classic form of this bug.

    Gradient accumulation (clearing every N micro-batches, inside the loop), AMP's
    `scaler.step(optimizer)`, `accelerate`, `zero_grad(set_to_none=True)`,
    `p.grad = None` and L-BFGS closures that clear inside the closure are all
    recognised and not reported, and so is distributed autograd
    (`dist_autograd.backward(context_id, ...)` writes into a per-iteration context,
    not into `.grad`).

    ## Example
    ```python
    optimizer.zero_grad()
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Fix
    Inserts `<optimizer>.zero_grad()` in the loop, just before the statement that
    starts the forward pass feeding `backward()`.
    """

    code = "NN101"
    name = "missing-zero-grad"
    severity = Severity.WARNING
    summary = "Loop calls backward() and step() but never clears the optimizer's gradients"
    fix_title = "Insert {optimizer}.zero_grad()"

    def check(self, ctx: Context) -> Iterator[Finding]:
        train = ctx.training
        reported: set[tuple[int, str]] = set()
        for step, optimizer in train.step_sites:
            loop = next((loop for loop in reversed(step.loops) if _has_backward(train, loop, step)), None)
            if loop is None:
                if not step.loops:
                    yield from self._step_helper(ctx, train, step, optimizer, reported)
                continue
            identity = train.identity(optimizer, step)
            key = (id(loop), identity.key)
            if key in reported:
                continue
            reported.add(key)
            if _optimizer_made_inside(loop, identity.made_at) or _clears(train, loop, optimizer, step):
                continue
            backward = _first_backward(train, loop, step)
            if backward is not None:
                yield self._finding(ctx, train, loop, step, optimizer, backward)

    def _step_helper(
        self, ctx: Context, train: Training, step: CallSite, optimizer: ast.expr, reported: set[tuple[int, str]]
    ) -> Iterator[Finding]:
        """A function with no loop of its own that runs backward() and step() (a trainer's
        `train_step`), called once per iteration of a caller's loop that never clears the
        gradients either: the same mistake, spread over two functions."""
        scope = step.scope
        if not scope.is_function or (id(scope), "helper") in reported:
            return
        reported.add((id(scope), "helper"))
        backward = next((s for s in scope.calls if s.pos < step.pos and not s.loops and (
            _accumulates(train, s) or _runs_backward(train, s))), None)
        if backward is None or train.clears_gradients_in_function(scope):
            return
        name = ctx.text(optimizer)
        step_note = ctx.related(step.node, t("`{step}(...)` applies the accumulated gradients",
                                             step=ctx.text(step.node.func)))
        if not ctx.semantic.callers(scope) and _lightning_manual_training_step(ctx, train, scope, backward):
            message = t(
                "`{name}.step()` (line {step_line}) runs on every call of `{scope_name}()`, which Lightning "
                "calls once per training batch, but `{scope_name}()` never clears `{name}`'s gradients: each "
                "manual_backward() adds to the previous gradients",
                name=name,
                step_line=step.line,
                scope_name=scope.name,
            )
            related = [step_note]
        else:
            loops = [caller.loops[-1] for caller in ctx.semantic.callers(scope) if caller.loops]
            if not loops or len(loops) != len(ctx.semantic.callers(scope)):
                return  # called outside a loop somewhere: one step per call may be all it does
            for loop in loops:
                if train.clears_gradients_in(loop) or _hands_optimizer_to_unknown_code(train, loop, optimizer, step):
                    return
            loop = loops[0]
            call = next(c for c in ctx.semantic.callers(scope) if c.loops and c.loops[-1] is loop)
            message = (
                t(
                    "`{name}.step()` (line {step_line}) runs on every call of `{scope_name}()`, which the loop at "
                    "line {loop_line} calls once per iteration, but neither clears `{name}`'s gradients: each "
                    "backward() adds to the previous gradients",
                    name=name,
                    step_line=step.line,
                    scope_name=scope.name,
                    loop_line=loop.line,
                )
            )
            related = [
                ctx.related(call.node, t("`{scope_name}()` is called here, once per iteration", scope_name=scope.name)),
                step_note,
            ]
        fix = None
        target = train.forward_statement(backward)
        if dotted(optimizer) is not None:
            edit = ctx.insert_line_before(target, f"{name}.zero_grad()")
            if edit is not None:
                fix = Fix(t_docs(self.fix_title, optimizer=name), (edit,))
        anchor = backward
        if not _accumulates(train, backward):
            # the backward() runs inside a helper: the finding lands on it, the helper call is named
            inner = _inner_backward(train, backward, 0)
            if inner is not None:
                related.insert(0, ctx.related(backward.node, t(
                    "`{backward}()` runs the backward() of line {inner_line}",
                    backward=ctx.text(backward.node.func),
                    inner_line=inner.line,
                )))
                anchor = inner
        yield ctx.finding(self, anchor.node, message, related, fix)

    def _finding(
        self, ctx: Context, train: Training, loop: Loop, step: CallSite, optimizer: ast.expr, backward: CallSite
    ) -> Finding:
        name = ctx.text(optimizer)
        related = [
            ctx.related(loop.node.target if isinstance(loop.node, (ast.For, ast.AsyncFor)) else loop.node.test,
                        t("this loop never clears the gradients")),
            ctx.related(step.node, t("`{step}(...)` applies the accumulated gradients", step=ctx.text(step.node.func))),
        ]
        before = _cleared_before(ctx, loop, name)
        if before is not None:
            related.append(ctx.related(before.node, t("gradients are cleared only here, once, before the loop")))
        origin = ctx.semantic.origin(optimizer, step.scope, step.line, through_shape_ops=False)
        if origin.hops and type(origin.expr) is ast.Call:
            related.append(ctx.related(origin.expr, t("`{name}` is created here", name=name)))
        where = (t("only once before the loop (line {line})", line=before.line) if before is not None
                 else t("nowhere in the loop"))
        message = (
            t(
                "`{name}.step()` (line {step_line}) runs every iteration of the loop at line {loop_line}, but "
                "`{name}`'s gradients are cleared {where}: each backward() adds to the previous gradients",
                name=name,
                step_line=step.line,
                loop_line=loop.line,
                where=where,
            )
        )
        fix = None
        target = train.forward_statement(backward)
        if dotted(optimizer) is not None and loop.node.lineno < target.lineno:
            edit = ctx.insert_line_before(target, f"{name}.zero_grad()")
            if edit is not None:
                fix = Fix(t_docs(self.fix_title, optimizer=name), (edit,))
        return ctx.finding(self, backward.node, message, related, fix)


def _lightning_manual_training_step(ctx: Context, train: Training, scope: Scope, backward: CallSite) -> bool:
    """A LightningModule's `training_step` under manual optimisation (it runs
    `self.manual_backward`, which only manual optimisation allows): Lightning calls it once
    per batch, and with automatic optimisation off it clears no gradients itself. A hook of
    the class that clears them (`on_train_batch_start`) settles it."""
    cls = ctx.semantic.enclosing_class(scope)
    return (
        scope.name == "training_step"
        and backward.method == "manual_backward"
        and is_framework_class(cls)
        and not any(train.clears_gradients_in_function(method) for method in cls.methods.values())  # type: ignore[union-attr]
    )


def _accumulates(train: Training, site: CallSite) -> bool:
    return train.is_backward(site) and train.writes_grad(site)


def _runs_backward(train: Training, site: CallSite) -> bool:
    """A call of a project helper that runs backward() (torchforge's `forward_backward`), and
    clears no gradients itself."""
    effects = train.sem.site_effects(site)
    return any(kind == "backward" for kind, _, _ in effects) and not any(
        kind == "zero_grad" for kind, _, _ in effects)


def _inner_backward(train: Training, site: CallSite, depth: int) -> CallSite | None:
    """The backward() call a same-file helper call runs, followed through nested helpers."""
    sem = train.sem
    for function in sem.resolve_function(site.node, site.scope) if depth < 4 else []:
        if sem.scope_of(function.node) is not function:
            continue  # another module: its lines are not this file's
        for kind, _, effect_site in sem.effects(function):
            if kind != "backward":
                continue
            if effect_site.scope is function and _accumulates(train, effect_site):
                return effect_site
            deeper = _inner_backward(train, effect_site, depth + 1)
            if deeper is not None:
                return deeper
    return None


def _has_backward(train: Training, loop: Loop, step: CallSite) -> bool:
    return any(s.scope is step.scope and _accumulates(train, s) for s in loop.calls)


def _first_backward(train: Training, loop: Loop, step: CallSite) -> CallSite | None:
    candidates = [s for s in loop.calls if _accumulates(train, s) and s.scope is step.scope]
    before_step = [s for s in candidates if s.pos <= step.pos]
    return (before_step or candidates or [None])[0]


def _optimizer_made_inside(loop: Loop, made_at: ast.AST | None) -> bool:
    if made_at is None:
        return False
    end = loop.node.end_lineno or loop.node.lineno
    return loop.node.lineno <= made_at.lineno <= end  # type: ignore[attr-defined]


def _clears(train: Training, loop: Loop, optimizer: ast.expr, step: CallSite) -> bool:
    """Whether anything in `loop` may clear the gradients `optimizer` steps with.

    Only a clear that certainly targets a *different* optimizer is discounted (two
    optimizers, one never cleared); anything else counts, to stay quiet when unsure.
    """
    mine = train.identity(optimizer, step)
    if _hands_optimizer_to_unknown_code(train, loop, optimizer, step):
        return True
    for clear in train.clears_gradients_in(loop):
        if not isinstance(clear, CallSite) or clear.method != "zero_grad" or clear.receiver is None:
            return True
        receiver = clear.receiver
        if not train.is_optimizer(receiver, clear.scope, clear.line):
            return True
        if train.identity(receiver, clear).same_as(mine):
            return True
        other = train.identity(receiver, clear)
        if mine.made_at is None or other.made_at is None:
            return True
    return False


def _hands_optimizer_to_unknown_code(train: Training, loop: Loop, optimizer: ast.expr, step: CallSite) -> bool:
    """A call we cannot see into that receives the optimizer may well clear it."""
    name = dotted(optimizer)
    sem = train.sem
    for site in loop.calls:
        if site is step or site.scope is not step.scope:
            continue
        arguments = [*site.node.args, *(k.value for k in site.node.keywords)]
        if not any(dotted(a) == name for a in arguments):
            continue
        qualname = sem.call_name(site.node) or ""
        if qualname.startswith("torch.") or site.method in ("step", "backward"):
            continue
        if not sem.resolve_function(site.node, site.scope):
            return True
    return False


def _cleared_before(ctx: Context, loop: Loop, name: str) -> CallSite | None:
    found = None
    for site in loop.scope.calls:
        if site.line >= loop.line:
            break
        if site.method == "zero_grad" and site.receiver is not None and ctx.text(site.receiver) == name:
            found = site
    return found
