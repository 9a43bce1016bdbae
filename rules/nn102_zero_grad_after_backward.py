"""NN102 zero-grad-after-backward."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Semantic
from nnlint.training import Training
from nnlint.message import t, t_docs
from nnlint.calls import call_index


@register
class ZeroGradAfterBackward(Rule):
    """
    ## What it does
    Flags `optimizer.zero_grad()` called between `backward()` and `optimizer.step()`
    in the same iteration.

    ## Why is this bad?
    `zero_grad()` wipes the gradients that `backward()` just computed, so the
    following `step()` updates with zeros (or, with `set_to_none=True`, skips every
    parameter). With momentum or weight decay the weights still drift, so the loss
    may wobble as if training, but the model never learns from the data.

    Clearing after `step()`, clearing before the next `backward()` (two losses, two
    optimizers) and gradient accumulation are not reported.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.zero_grad()
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
    Moves the `zero_grad()` statement before the forward pass that feeds
    `backward()`.
    """

    code = "NN102"
    name = "zero-grad-after-backward"
    severity = Severity.ERROR
    summary = "zero_grad() between backward() and step() wipes the gradients before they are used"
    fix_title = "Move {call} before the forward pass"

    def check(self, ctx: Context) -> Iterator[Finding]:
        train = ctx.training
        steps = train.step_sites
        for clear in call_index(ctx.semantic).methods(("zero_grad",)):
            if clear.loop is None and not clear.scope.is_function:
                continue
            # One iteration: the loop body, or a function run once per step by a framework
            # (Lightning's `training_step` under manual optimisation)
            backward = _backward_before(train, _iteration(clear), clear)
            if backward is None:
                continue
            step = _step_after(train, steps, clear)
            if step is None:
                continue
            yield self._finding(ctx, train, clear, backward, step)
        yield from self._clearing_helpers(ctx, train, steps)

    def _clearing_helpers(self, ctx: Context, train: Training, steps: list) -> Iterator[Finding]:  # type: ignore[type-arg]
        """A helper that only clears the gradients (`self._log_grad_norm_and_reset()`), called
        between backward() and the step of the optimizer it clears: the same mistake, with the
        zero_grad() one call away. Reported on that zero_grad() when it is in this file and
        runs on every call of the helper."""
        sem = ctx.semantic
        seen: set[int] = set()
        for backward in train.backward_sites:
            iteration = _iteration(backward)
            if id(iteration) in seen:
                continue
            seen.add(id(iteration))
            for helper in iteration:
                if helper.pos <= backward.pos or helper.scope is not backward.scope or helper.method == "zero_grad":
                    continue
                effects = sem.site_effects(helper)
                if not effects or any(kind not in ("zero_grad", "clear_grad") for kind, _, _ in effects):
                    continue
                for _kind, key, _site in effects:
                    clear = _inner_clear(sem, helper, key)
                    if clear is None:
                        continue
                    before = _backward_before(train, iteration, helper)
                    step = _step_after_helper(train, steps, iteration, helper, key)
                    if before is not None and step is not None:
                        yield self._helper_finding(ctx, clear, helper, before, step)
                        break

    def _helper_finding(self, ctx: Context, clear: CallSite, helper: CallSite, backward: CallSite,
                        step: CallSite) -> Finding:
        message = t(
            "`{call}` runs after `backward()` (line {backward_line}) and before `{step}()` (line "
            "{step_line}): the step sees wiped gradients",
            call=ctx.text(clear.node),
            backward_line=backward.line,
            step=ctx.text(step.node.func),
            step_line=step.line,
        )
        related = [
            ctx.related(backward.node, t("gradients computed here")),
            ctx.related(helper.node, t("`{scope_name}()` is called here, once per iteration", scope_name=clear.scope.name)),
            ctx.related(step.node, t("and used here, after they were cleared")),
        ]
        return ctx.finding(self, clear.node, message, related)

    def _finding(self, ctx: Context, train: Training, clear: CallSite, backward: CallSite, step: CallSite) -> Finding:
        call = ctx.text(clear.node)
        message = (
            t(
                "`{call}` runs after `backward()` (line {backward_line}) and before `{step}()` (line "
                "{step_line}): the step sees wiped gradients",
                call=call,
                backward_line=backward.line,
                step=ctx.text(step.node.func),
                step_line=step.line,
            )
        )
        related = [
            ctx.related(backward.node, t("gradients computed here")),
            ctx.related(step.node, t("and used here, after they were cleared")),
        ]
        fix = None
        target = train.forward_statement(backward)
        if getattr(clear.stmt, "value", None) is clear.node:  # `opt.zero_grad()` as its own statement
            removal = ctx.delete_statement(clear.stmt)
            insertion = ctx.insert_line_before(target, call)
            if removal is not None and insertion is not None and target.lineno < clear.stmt.lineno:
                fix = Fix(t_docs(self.fix_title, call=call), (insertion, removal))
        return ctx.finding(self, clear.node, message, related, fix)


def _iteration(clear: CallSite) -> list[CallSite]:
    """The calls of the iteration `clear` belongs to, in order."""
    if clear.loop is not None:
        return clear.loop.calls
    return [site for site in clear.scope.calls if not site.loops]


def _backward_before(train: Training, calls: list[CallSite], clear: CallSite) -> CallSite | None:
    found = None
    for site in calls:
        if site.pos >= clear.pos:
            break
        if site.scope is clear.scope and train.is_backward(site) and not site.exclusive_with(clear):
            found = site
    return found


def _steps_after(train: Training, steps: list, iteration: list[CallSite],  # type: ignore[type-arg]
                 after: CallSite) -> Iterator[tuple[CallSite, ast.expr]]:
    """The optimizer steps after `after` in its iteration (same scope, not in another arm
    of an `if`), with their optimizers, in order, until a backward() refills the gradients
    or another zero_grad() clears them."""
    for site in iteration:
        if site.pos <= after.pos or site.scope is not after.scope:
            continue
        if train.is_backward(site) or site.method == "zero_grad":
            return
        optimizer = next((opt for step, opt in steps if step is site), None)
        if optimizer is not None and not site.exclusive_with(after):
            yield site, optimizer


def _step_after(train: Training, steps: list, clear: CallSite) -> CallSite | None:  # type: ignore[type-arg]
    """The first step of the cleared optimizer after `clear` in the same iteration,
    provided no new backward() refills the gradients in between."""
    mine = train.identity(clear.receiver, clear) if clear.receiver is not None else None
    clears_optimizer = clear.receiver is not None and train.is_optimizer(clear.receiver, clear.scope, clear.line)
    for site, optimizer in _steps_after(train, steps, _iteration(clear), clear):
        if not clears_optimizer or mine is None or train.identity(optimizer, site).same_as(mine):
            return site
    return None


def _inner_clear(sem: Semantic, helper: CallSite, key: str) -> CallSite | None:
    """The `zero_grad()` of this file inside the function `helper` runs that clears the
    optimizer the caller knows as `key` (a `self.` attribute or a global, named alike on
    both sides) on every call."""
    for function in sem.resolve_function(helper.node, helper.scope):
        if function.owner not in (None, sem):
            continue
        for site in function.calls:
            if (site.method == "zero_grad" and _runs_on_every_call(site)
                    and sem.param_key(site.receiver, function) == key):
                return site
    return None


def _runs_on_every_call(clear: CallSite) -> bool:
    """Whether `clear` is a statement of its function's own body (under no `if`, loop or
    `try`), so that every call of the function runs it."""
    body = getattr(clear.scope.node, "body", None)
    return clear.scope.is_function and isinstance(body, list) and any(stmt is clear.stmt for stmt in body)


def _step_after_helper(train: Training, steps: list, iteration: list[CallSite], helper: CallSite,  # type: ignore[type-arg]
                       key: str) -> CallSite | None:
    """The first step after `helper` in its iteration when it steps the optimizer the
    helper cleared (`key`, in the caller's names), provided no backward() refills the
    gradients first."""
    first = next(_steps_after(train, steps, iteration, helper), None)
    return first[0] if first is not None and train.sem.param_key(first[1], first[0].scope) == key else None
