"""NN105 unscaled-backward-with-grad-scaler."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, dotted
from nnlint.training import GradientEvent, Training, training
from nnlint.message import t
from nnlint.calls import call_index


@register
class UnscaledBackwardWithGradScaler(Rule):
    """
    ## What it does
    Flags a plain `loss.backward()` in an iteration whose other loss goes through
    `scaler.scale(...).backward()`, when the gradients of both reach the same
    `scaler.step(optimizer)`.

    ## Why is this bad?
    `scaler.step(optimizer)` divides every gradient by the loss scale (65536 at the
    start) before stepping, because it assumes they were all scaled. The gradients
    of the loss that skipped `scaler.scale` come out about 65,000 times too small:
    an auxiliary loss, a regulariser or a second task silently stops training
    while the main loss looks fine.

    A missing `scaler.update()` or a `scaler.step` with no scaled loss at all raise
    errors at run time, so they are not this rule. Losses that are all scaled, bf16
    autocast without a scaler, `accelerator.backward(loss)`, a plain backward in the
    other arm of `if use_amp:` and a plain backward followed by its own optimizer's
    plain `step()` are not reported. The finding is a warning when the scaler is
    proven to be a `GradScaler`, information otherwise.

    ## Example
    ```python
    scaler.scale(task_loss).backward(retain_graph=True)
    aux_loss.backward()
    scaler.step(optimizer)
    scaler.update()
    ```

    ## Use instead
    ```python
    scaler.scale(task_loss).backward(retain_graph=True)
    scaler.scale(aux_loss).backward()
    scaler.step(optimizer)
    scaler.update()
    ```
    (or scale their sum once: `scaler.scale(task_loss + aux_loss).backward()`).

    ## Fix
    Replaces `aux_loss.backward()` by `scaler.scale(aux_loss).backward()`, with the
    scaler the other backward uses, when that backward is written in the same
    function.
    """

    code = "NN105"
    name = "unscaled-backward-with-grad-scaler"
    severity = Severity.WARNING
    summary = "A plain backward() whose gradients scaler.step() divides by the loss scale"
    fix_title = "Scale this loss too"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        if sem.project is None and not call_index(sem).methods(("scale",)):
            # a scaled backward is `scaler.scale(loss).backward()`, here or in a helper of this
            # file when no other module is visible: without a `.scale(...)` call there is none
            return
        train = training(sem)
        for site in train.backward_sites:
            if not _plain(site):
                continue
            for events, index, via in train.iterations_around(site, "backward"):
                anchor = via or site  # the call that runs the backward, in the iteration's own function
                step = _next_step(events[index + 1:], anchor)
                if step is None or not step.through_scaler:
                    continue
                scaled = next((e for e in events if e.kind == "scaled_backward" and e.site is not anchor
                               and not e.site.exclusive_with(anchor) and not e.site.exclusive_with(step.site)
                               and e.site.pos < step.site.pos), None)
                if scaled is not None:
                    yield self._finding(ctx, train, site, scaled, step, via)
                    break

    def _finding(self, ctx: Context, train: Training, site: CallSite, scaled: GradientEvent,
                 step: GradientEvent, via: CallSite | None) -> Finding:
        receiver = site.receiver
        assert receiver is not None
        scaler = step.site.receiver
        assert scaler is not None
        loss = ctx.text(receiver)
        through = "" if via is None else t(" (run by `{via}()` on line {via_line})", via=ctx.text(via.node.func), via_line=via.line)
        message = (
            t(
                "`{loss}.backward()`{through} is not scaled, but `{step_site}` (line {site_line}) divides "
                "every gradient by the loss scale, as for the scaled backward on line {site_line2}: this "
                "loss's gradients come out about 65,000 times too small; use "
                "`{scaler}.scale({loss}).backward()`",
                loss=loss,
                through=through,
                step_site=ctx.text(step.site.node),
                site_line=step.site.line,
                site_line2=scaled.site.line,
                scaler=ctx.text(scaler),
            )
        )
        related = [
            ctx.related(scaled.site.node, t("this loss is scaled by the GradScaler")),
            ctx.related(step.site.node, t("the step unscales all gradients, these included")),
        ]
        if via is not None:
            related.append(ctx.related(via.node, t("the helper that runs this backward is called here")))
        fix = None
        scaled_scaler = _scaler_of(scaled.site)
        if (via is None and not scaled.helper and scaled_scaler is not None and dotted(scaled_scaler) is not None
                and scaled.site.scope is site.scope):
            edit = ctx.replace(receiver, f"{ctx.text(scaled_scaler)}.scale({loss})")
            fix = Fix(t("Use {scaled_scaler}.scale({loss}).backward()", scaled_scaler=ctx.text(scaled_scaler), loss=loss), (edit,))
        proven = train.proven_kind(scaler, step.site.scope, step.site.line) if dotted(scaler) is not None else None
        severity = Severity.WARNING if proven is not None and proven[0] == "scaler" else Severity.INFORMATION
        return ctx.finding(self, site.node, message, related, fix, severity)


def _plain(site: CallSite) -> bool:
    """`loss.backward()` on a tensor: not `scaler.scale(loss).backward()`, and not a
    framework's `accelerator.backward(loss)` / `engine.backward(loss)` (a positional
    argument is the loss there)."""
    receiver = site.receiver
    if site.method != "backward" or receiver is None or site.node.args:
        return False
    return not (type(receiver) is ast.Call and type(receiver.func) is ast.Attribute and receiver.func.attr == "scale")


def _next_step(events: list[GradientEvent], site: CallSite) -> GradientEvent | None:
    """The first optimizer step after the backward (not in another arm of an `if`), unless
    a clear comes first (then the gradients never reach a step)."""
    for event in events:
        if event.site.exclusive_with(site):
            continue
        if event.kind in ("zero_grad", "clear_grad"):
            return None
        if event.kind == "step":
            return event
    return None


def _scaler_of(site: CallSite) -> ast.expr | None:
    """`scaler` in `scaler.scale(loss).backward()`."""
    receiver = site.receiver
    if type(receiver) is ast.Call and type(receiver.func) is ast.Attribute:
        return receiver.func.value
    return None
