"""NN104 clip-grad-misplaced."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Related, Severity, Span
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, argument, dotted
from nnlint.torchnames import CLIP_FUNCTIONS
from nnlint.training import GradientEvent, Training, training
from nnlint.message import t
from nnlint.calls import call_index


@register
class ClipGradMisplaced(Rule):
    """
    ## What it does
    Flags `torch.nn.utils.clip_grad_norm_` (and `clip_grad_value_`) called where
    the optimizer step cannot see its effect:

    - after `optimizer.step()` in the same iteration (and before the next
      `backward()`),
    - before the iteration's `backward()`, which then writes unclipped gradients
      for the step,
    - under mixed precision, between `scaler.scale(loss).backward()` and
      `scaler.step(optimizer)` without `scaler.unscale_(optimizer)` first.

    ## Why is this bad?
    Clipping only helps if the step uses the clipped gradients. Clipped after the
    step, the gradients are cleared before anyone reads them; clipped before
    `backward()`, it clips last iteration's (or zeroed) gradients. Training runs
    unclipped, and the spikes clipping was meant to stop come back, silently.

    Under AMP the gradients after `scaler.scale(loss).backward()` are multiplied by
    the loss scale (65536 at the start). Clipping them to `max_norm` and letting
    `scaler.step` divide by the scale afterwards makes every update about 65,000
    times too small: the model barely moves.

    Clipping between `backward()` and `step()`, `scaler.unscale_` before the clip,
    gradient accumulation (a clip before the step that ends the accumulation),
    `accelerator.clip_grad_norm_`, Lightning's `gradient_clip_val` and a clip with
    `max_norm=inf` (a gradient-norm measurement) are not reported. The finding is
    a warning when the step belongs to a proven optimizer and is written in the
    loop; information when it happens inside a helper or on an object of unknown
    kind.

    ## Example
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        scaler.scale(criterion(model(x), y)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        scaler.scale(criterion(model(x), y)).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(optimizer)
        scaler.update()
    ```

    ## Fix
    Under AMP, inserts `scaler.unscale_(optimizer)` before the clip (when one
    optimizer is stepped through the scaler and nothing unscales yet). A clip after
    the step moves to just before the step; a clip before `backward()` moves to
    just after it, when they are statements of the same block and nothing between
    them uses what the clip reads or returns.
    """

    code = "NN104"
    name = "clip-grad-misplaced"
    severity = Severity.WARNING
    summary = "Gradient clipping the optimizer step never sees (after step, before backward, or scaled under AMP)"
    fix_title = "Clip between backward() and step()"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        train = training(sem)
        for site in call_index(sem).named(CLIP_FUNCTIONS):
            if _measures_only(ctx, site):
                continue
            for events, index, via in train.iterations_around(site, "clip"):
                anchor = via or site  # the call that clips, in the iteration's own function
                before = [e for e in events[:index] if not e.site.exclusive_with(anchor)]
                after = [e for e in events[index + 1:] if not e.site.exclusive_with(anchor)]
                finding = (
                    self._unscaled(ctx, train, site, before, after, events, via)
                    or self._after_step(ctx, train, site, before, after, via)
                    or self._before_backward(ctx, train, site, before, after, via)
                )
                if finding is not None:
                    yield finding
                    break

    # ------------------------------------------------------------------ AMP
    def _unscaled(self, ctx: Context, train: Training, clip: CallSite, before: list[GradientEvent],
                  after: list[GradientEvent], events: list[GradientEvent], via: CallSite | None) -> Finding | None:
        last = _last(before, ("scaled_backward", "unscale", "step", "zero_grad", "clear_grad"))
        if last is None or last.kind != "scaled_backward":
            return None
        step = _first(after, ("backward", "step", "zero_grad", "unscale"))
        if step is None or step.kind != "step" or not step.through_scaler:
            return None
        scaler_step = step.site
        scaler = scaler_step.receiver
        optimizer = step.argument
        assert scaler is not None and optimizer is not None
        message = (
            t(
                "`{clip}`{through} clips the gradients of `{params}` (line {site_line}), which are still "
                "multiplied by the loss scale: call `{scaler}.unscale_({optimizer})` first, or `{scaler_step}` "
                "(line {scaler_step_line}) divides the clipped gradients by the scale and every update is "
                "about 65,000 times too small",
                clip=_name(ctx, clip),
                through=_through(ctx, via),
                params=_short(ctx, last.site),
                site_line=last.site.line,
                scaler=ctx.text(scaler),
                optimizer=ctx.text(optimizer),
                scaler_step=ctx.text(scaler_step.node),
                scaler_step_line=scaler_step.line,
            )
        )
        related = [
            ctx.related(last.site.node, t("gradients scaled by the GradScaler here")),
            ctx.related(scaler_step.node, t("the scaler unscales them only here, after the clip")),
        ] + _via_related(ctx, via)
        fix = None
        if via is not None:
            return ctx.finding(self, clip.node, message, related, None, _severity(train, step))
        steps_through_scaler = [e for e in events if e.kind == "step" and e.through_scaler]
        # the step in a loop the clip is not in (`for opt in self.optimizers: scaler.step(opt)`):
        # its optimizer is not bound at the clip, and each one needs unscaling; no fix
        step_in_own_loop = not set(scaler_step.loops) <= set(clip.loops)
        if (not any(e.kind == "unscale" for e in events) and len(steps_through_scaler) == 1 and not step.helper
                and not step_in_own_loop and dotted(scaler) is not None and dotted(optimizer) is not None):
            edit = ctx.insert_line_before(clip.stmt, f"{ctx.text(scaler)}.unscale_({ctx.text(optimizer)})")
            if edit is not None:
                fix = Fix(t(
                    "Insert {scaler}.unscale_({optimizer}) before clipping",
                    scaler=ctx.text(scaler),
                    optimizer=ctx.text(optimizer),
                ), (edit,))
        return ctx.finding(self, clip.node, message, related, fix, _severity(train, step))

    # ----------------------------------------------------------- after step
    def _after_step(self, ctx: Context, train: Training, clip: CallSite, before: list[GradientEvent],
                    after: list[GradientEvent], via: CallSite | None) -> Finding | None:
        step = _last(before, ("step",))
        if step is None or not any(e.kind == "backward" for e in before[: before.index(step)]):
            return None
        if any(e.kind in ("backward", "step") for e in after):
            return None
        message = (
            t(
                "`{clip}`{through} runs after `{step}` (line {site_line}): the step already used the "
                "unclipped gradients, and these are cleared before the next one; clip between `backward()` and "
                "the step",
                clip=_name(ctx, clip),
                through=_through(ctx, via),
                step=_step_text(ctx, step),
                site_line=step.site.line,
            )
        )
        related = [ctx.related(step.site.node, t("the optimizer step, with unclipped gradients"))] + _via_related(ctx, via)
        fix = None
        if not step.helper and not step.through_scaler and via is None:
            fix = self._move(ctx, clip, step.site.stmt, above=True)
        return ctx.finding(self, clip.node, message, related, fix, _severity(train, step))

    # ------------------------------------------------------- before backward
    def _before_backward(self, ctx: Context, train: Training, clip: CallSite, before: list[GradientEvent],
                         after: list[GradientEvent], via: CallSite | None) -> Finding | None:
        if any(e.kind == "backward" for e in before):
            return None
        backward = _first(after, ("backward",))
        if backward is None:
            return None
        rest = after[after.index(backward) + 1:]
        step = _first(rest, ("step",))
        if step is None or any(e.kind == "backward" for e in rest[: rest.index(step)]):
            return None
        message = (
            t(
                "`{clip}`{through} runs before `backward()` (line {site_line}), which then writes fresh, "
                "unclipped gradients for `{step}` (line {site_line2}): the clip only touches the "
                "previous (or cleared) gradients; clip between `backward()` and the step",
                clip=_name(ctx, clip),
                through=_through(ctx, via),
                site_line=backward.site.line,
                step=_step_text(ctx, step),
                site_line2=step.site.line,
            )
        )
        related: list[Related] = [
            ctx.related(backward.site.node, t("the gradients the step uses are computed here, after the clip")),
            ctx.related(step.site.node, t("the step uses them unclipped")),
        ] + _via_related(ctx, via)
        fix = None
        if not backward.helper and not step.through_scaler and type(clip.stmt) is ast.Expr and via is None:
            fix = self._move(ctx, clip, backward.site.stmt, above=False)
        return ctx.finding(self, clip.node, message, related, fix, _severity(train, step))

    # ------------------------------------------------------------------ fix
    def _move(self, ctx: Context, clip: CallSite, anchor: ast.stmt, above: bool) -> Fix | None:
        """Move the clip statement, lines and comment as they are, above `anchor` (the step)
        or below it (the backward). Only within one block, so the indentation is the same,
        and only when no statement in between binds what the clip reads or reads what
        it binds."""
        stmt = clip.stmt
        block = clip.block
        if anchor not in block or stmt not in block or type(stmt) not in (ast.Expr, ast.Assign):
            return None
        if getattr(stmt, "value", None) is not clip.node:
            return None
        start, end = block.index(stmt), block.index(anchor)
        between = block[end:start] if above else block[start + 1:end + 1]
        if not above and end < start or above and start < end:
            return None
        reads = _names_read(stmt)
        binds = _names_bound(stmt)
        for other in between:
            if _names_bound(other) & reads or _names_read(other) & binds:
                return None
        removal = ctx.delete_statement(stmt)
        if removal is None:
            return None
        source = ctx.source
        last_line = stmt.end_lineno or stmt.lineno
        lines = "".join(source.line_text(n) + source.newline() for n in range(stmt.lineno, last_line + 1))
        if above:
            if not ctx.statement_starts_line(anchor):
                return None
            insertion = Edit(Span(anchor.lineno, 0, anchor.lineno, 0), lines)
        else:
            anchor_end = anchor.end_lineno or anchor.lineno
            if not source.ends_line(anchor) or anchor_end >= len(source.lines):
                return None  # something else on the backward's line, or no line after it
            insertion = Edit(Span(anchor_end + 1, 0, anchor_end + 1, 0), lines)
        title = t("Move the clip before the step") if above else t("Move the clip after backward()")
        return Fix(title, (insertion, removal) if above else (removal, insertion))


def _severity(train: Training, step: GradientEvent) -> Severity:
    """A warning when the step is written here and steps a proven optimizer."""
    if step.helper or step.argument is None:
        return Severity.INFORMATION
    proven = train.proven_kind(step.argument, step.site.scope, step.site.line)
    return Severity.WARNING if proven is not None and proven[0] == "optimizer" else Severity.INFORMATION


def _last(events: list[GradientEvent], kinds: tuple[str, ...]) -> GradientEvent | None:
    return next((e for e in reversed(events) if e.kind in kinds), None)


def _first(events: list[GradientEvent], kinds: tuple[str, ...]) -> GradientEvent | None:
    return next((e for e in events if e.kind in kinds), None)


def _name(ctx: Context, clip: CallSite) -> str:
    func = clip.node.func
    return (func.attr if type(func) is ast.Attribute else ctx.text(func)) + "(...)"


def _through(ctx: Context, via: CallSite | None) -> str:
    return "" if via is None else t(" (run by `{via}()` on line {via_line})", via=ctx.text(via.node.func), via_line=via.line)


def _via_related(ctx: Context, via: CallSite | None) -> list[Related]:
    return [] if via is None else [ctx.related(via.node, t("the helper that clips is called here"))]


def _short(ctx: Context, site: CallSite) -> str:
    """`scaler.scale(loss).backward()`, or `helper(...)` for a helper's event."""
    text = " ".join(ctx.text(site.node).split())
    return text if len(text) <= 60 else ctx.text(site.node.func) + "(...)"


def _step_text(ctx: Context, step: GradientEvent) -> str:
    return ctx.text(step.site.node.func) + "(...)" if step.site.node.args else ctx.text(step.site.node)


_INFINITY = frozenset({"math.inf", "numpy.inf", "np.inf", "torch.inf", "float('inf')", 'float("inf")'})


def _measures_only(ctx: Context, site: CallSite) -> bool:
    """`clip_grad_norm_(params, float("inf"))`: the total gradient norm, for logging;
    nothing is clipped."""
    limit = argument(site.node, 1, "max_norm" if "norm" in (ctx.semantic.call_name(site.node) or "") else "clip_value")
    if limit is None:
        return False
    text = ctx.text(limit).replace(" ", "")
    return text in _INFINITY or (ctx.semantic.qualname(limit) or "") in ("math.inf", "numpy.inf", "torch.inf")


def _names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if type(n) is ast.Name and type(n.ctx) is ast.Load}


def _names_bound(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if type(n) is ast.Name and type(n.ctx) is not ast.Load}
