"""NN202 missing-train."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, Semantic, dotted
from nnlint.training import Training, mode_events
from nnlint.message import t, t_docs


@register
class MissingTrain(Rule):
    """
    ## What it does
    Flags a training loop whose model is switched to evaluation mode (by
    `model.eval()` or by a helper such as `evaluate(model)`) and then runs the next
    training forward pass without `model.train()` being called again.

    ## Why is this bad?
    `eval()` turns dropout off and makes batch norm use (and stop updating) its
    running statistics. After the first evaluation, every later epoch trains with
    regularisation off and frozen normalisation statistics. No error is raised; the
    model just overfits or converges to something worse, and only the first epoch
    behaves as intended.

    A helper that restores `model.train()` before returning, a `model.train()`
    at the top of the epoch loop, and `train()` at the end of a method chain
    (`model.to(device).train()`) are recognised. A model whose definition is visible
    and has no dropout or batch norm is not reported; one known as a model from its
    name alone is reported as a hint.

    ## Example
    ```python
    for epoch in range(epochs):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        validate(model)  # calls model.eval()
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            ...
        validate(model)
    ```

    ## Fix
    Inserts `model.train()` at the top of the loop body that switches the model to
    evaluation mode.
    """

    code = "NN202"
    name = "missing-train"
    severity = Severity.WARNING
    summary = "Model stays in eval mode for the next training iterations (model.train() not restored)"
    fix_title = "Insert {model}.train() at the top of the loop"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        train = ctx.training
        seen: set[int] = set()
        switching: dict[int, bool] = {}  # per function: whether any of its calls switches something to eval
        for loop in train.training_loops():
            scope = loop.scope
            if not _memo_switches(sem, scope, switching) and not any(
                    _memo_switches(sem, site.scope, switching) for site in (sem.callers(scope) if scope.is_function else [])):
                # The forward pass found below is a call of this function, and `_switch_before`
                # reports only an eval switch among its calls, `_switch_in_callers` one among
                # its callers' calls: none, so nothing to find (and the forward pass, the
                # expensive question, is not looked for).
                continue
            backward = next((s for s in loop.calls if train.is_backward(s) and s.scope is loop.scope), None)
            if backward is None:
                continue
            # loop.calls is in the order calls complete: `net(x)` in `net(x).sum().backward()`
            # comes before the backward
            candidates = [s for s in loop.calls[:loop.calls.index(backward)] if s.scope is loop.scope]
            forward = train.first_model_call(candidates)
            model_expr: ast.expr | None = train.model_of(forward) if forward is not None else None
            if forward is None:
                # a module that trains itself: `loss = self.get_total_loss(batch)` runs
                # `self.forward(...)` inside a method of the class
                forward = _self_forward_through_method(sem, candidates, loop.scope)
                model_expr = ast.Name(id="self", ctx=ast.Load()) if forward is not None else None
            if forward is None or model_expr is None or id(forward) in seen:
                continue
            seen.add(id(forward))
            key = sem.param_key(model_expr, forward.scope)
            if key is None or key == "self" and not _trains_itself(sem, forward.scope):
                continue
            # Whether an eval switch is in force first: most training loops have none, and
            # that question is far cheaper than whether the model has mode layers (the two
            # are independent, so asking them in this order gives the same findings).
            verdict = _switch_before(sem, forward, key)
            fix_model: str | None = None
            if verdict is None:
                found = _switch_in_callers(sem, forward, key)
                if found is None:
                    continue
                verdict, fix_model = found
            if key == "self":
                # the class's own layers prove it; without them a subclass may still add some
                cls = sem.enclosing_class(forward.scope)
                has_mode_layers = True if cls is not None and train._class_has_mode_layers(cls.name, set()) else None
            else:
                has_mode_layers = train.model_has_mode_layers(model_expr, forward.scope, forward.line)
            if has_mode_layers is False:
                continue  # no dropout or batch norm: its mode changes nothing
            deciding_loop, eval_site = verdict
            yield self._finding(ctx, train, forward, deciding_loop, eval_site, has_mode_layers, model_expr,
                                fix_model if deciding_loop.scope is not forward.scope else None)

    def _finding(self, ctx: Context, train: Training, forward: CallSite, loop: Loop, eval_site: CallSite,
                 has_mode_layers: bool | None, model_expr: ast.expr, caller_model: str | None = None) -> Finding:
        model = "self" if dotted(model_expr) == "self" else ctx.text(model_expr)
        # the loop of a caller names the model its own way (`train_epoch(net, ...)`)
        restored = caller_model if loop.scope is not forward.scope else model
        how = "" if eval_site.method == "eval" else t(" (through `{eval_site}()`)", eval_site=ctx.text(eval_site.node.func))
        if eval_site.line < loop.line:
            returns = t(
                "the training loop at line {loop_line} starts without `{model}.train()`",
                loop_line=loop.line,
                model=model,
            )
        else:
            returns = (t(
                "the loop at line {loop_line} comes back to this training forward pass without "
                "`{model}.train()`",
                loop_line=loop.line,
                model=model,
            ))
        message = (
            t(
                "`{model}` is switched to eval mode at line {eval_site_line}{how} and {returns}: dropout and "
                "batch norm stay in evaluation mode while training",
                model=model,
                eval_site_line=eval_site.line,
                how=how,
                returns=returns,
            )
        )
        related = [
            ctx.related(eval_site.node, t("`{model}` is put in eval mode here", model=model)),
            ctx.related(loop.node, t("the loop that returns to training without train()")),
        ]
        edit = ctx.insert_at_block_start(loop.node.body, f"{restored}.train()") if restored is not None else None
        fix = Fix(t_docs(self.fix_title, model=restored), (edit,)) if edit is not None else None
        severity, note = train.mode_claim(model_expr, forward.scope, forward.line, has_mode_layers, model)
        message += note
        return ctx.finding(self, forward.node, message, related, fix, severity)


def _memo_switches(sem: Semantic, scope: Scope, switching: dict[int, bool]) -> bool:
    """`_switches_to_eval`, asked once per function of a check."""
    if id(scope) not in switching:
        switching[id(scope)] = _switches_to_eval(sem, scope)
    return switching[id(scope)]


def _switches_to_eval(sem: Semantic, scope: Scope) -> bool:
    """Whether a call of `scope` switches anything to eval mode (itself or through a helper):
    what `_switch_before` needs to find among the calls of the forward pass's function."""
    return any(kind == "eval" for site in scope.calls for kind, _, _ in sem.site_effects(site))


def _switch_before(sem, forward: CallSite, key: str) -> tuple[Loop, CallSite] | None:  # type: ignore[no-untyped-def]
    """If the mode in force at `forward` (within its loops) was set by an eval switch,
    return the loop that decides it and the switching call."""
    for loop in reversed(forward.loops):
        events = mode_events(sem, loop.calls, key, forward.scope)
        if not events:
            continue
        before = [e for e in events if e[1].pos < forward.pos]
        kind, site, _ = before[-1] if before else events[-1]
        if kind != "eval":
            return None
        if before and site.method == "eval":
            # `model.eval()` written right before training in the same iteration is a
            # deliberate choice (frozen batch norm), not a forgotten restore.
            return None
        return loop, site
    return _evaluation_before_loops(sem, forward, key)


def _switch_in_callers(sem: Semantic, forward: CallSite, key: str) -> tuple[tuple[Loop, CallSite], str | None] | None:
    """For a training loop in a function that never sets the model's mode itself (a
    `train_epoch(model, loader, opt)` helper): the loop of a caller of this file that comes
    back to the call after an eval switch without `train()` (`for epoch: train_epoch(model,
    ...); validate(model)`), with that loop, the switching call and the caller's name for
    the model (None when it is no plain name or attribute there)."""
    scope = forward.scope
    if not scope.is_function or mode_events(sem, scope.calls, key, scope):
        return None
    for site in sem.callers(scope):
        if site.scope is scope:
            continue
        if key.startswith("self.") and not (type(site.receiver) is ast.Name and site.receiver.id == "self"):
            continue  # `other.fit()`: its `self.model` is another object's
        caller_key = sem.caller_key(scope, key, site)
        if caller_key is None or caller_key.startswith(("<", "?")):
            continue
        verdict = _switch_before(sem, site, caller_key)
        if verdict is not None and verdict[1] in verdict[0].calls:
            # only a switch inside the caller's loop, which the next iteration brings back
            # to the call: one before the loop may be of an object the name held earlier
            plain = None if caller_key.startswith("#") else caller_key
            return verdict, plain
    return None


def _evaluation_before_loops(sem, forward: CallSite, key: str) -> tuple[Loop, CallSite] | None:  # type: ignore[no-untyped-def]
    """`model.eval()` for an evaluation (a no-grad pass, or a helper that evaluates) run in
    straight-line code before the training loops, with nothing switching back: the loops
    train in eval mode. An eval() with no evaluation after it may be deliberate (frozen
    batch norm) and is left alone."""
    if not forward.loops:
        return None
    outermost = forward.loops[0]
    start = (outermost.node.lineno, outermost.node.col_offset)
    events = [e for e in mode_events(sem, forward.scope.calls, key, forward.scope) if e[1].pos < start]
    if not events or events[-1][0] != "eval":
        return None
    switch = events[-1][1]
    if switch.method != "eval":
        return outermost, switch  # a helper that switched to eval (an evaluation function)
    evaluated = any(
        site.grad_block is not None and switch.pos < site.pos < start
        and sem.param_key(site.node.func, site.scope) == key
        for site in forward.scope.calls
    )
    return (outermost, switch) if evaluated else None


def _trains_itself(sem: Semantic, scope: Scope) -> bool:
    """Whether `self` in `scope` is an nn.Module that runs its own training loop (FuxiCTR's
    BaseModel.fit, skorch-like classes): a module class, and not a Lightning module, whose
    trainer switches modes itself around `training_step` and validation."""
    cls = sem.enclosing_class(scope)
    if cls is None or not sem.is_module_class(cls.name):
        return False
    seen: set[str] = set()
    pending = [cls.name]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        found = sem.find_class(name)
        if found is None:
            continue
        owner, info = found
        for base in info.bases:
            if "lightning" in base.lower() or base.split(".")[0] in ("pl", "L"):
                return False
            pending.append(base)
    return True


def _self_forward_through_method(sem: Semantic, candidates: list[CallSite], scope: Scope) -> CallSite | None:
    """The first `self.method(...)` among `candidates` whose method of this class runs the
    module's own forward pass (`self(x)`, `self.forward(x)`), directly or through another
    such method (at most three calls deep)."""
    if not scope.is_function or "self" not in scope.params[:1]:
        return None
    for site in candidates:
        func = site.node.func
        if type(func) is not ast.Attribute or dotted(func.value) != "self" or func.attr in ("forward", "__call__"):
            continue
        if any(_runs_own_forward(method) for method in sem.resolve_function(site.node, site.scope)):
            return site
    return None


def _runs_own_forward(method: Scope, depth: int = 0) -> bool:
    owner = method.owner
    if owner is None or method.cls is None or depth > 2:
        return False
    for call in method.calls:
        func = call.node.func
        if type(func) is ast.Name and func.id == "self" or dotted(func) in ("self.forward", "self.__call__"):
            return True
        if type(func) is ast.Attribute and dotted(func.value) == "self":
            if any(_runs_own_forward(inner, depth + 1) for inner in owner.resolve_function(call.node, call.scope)):
                return True
    return False
