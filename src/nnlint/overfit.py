"""The overfit-one-batch sanity check (NN501): find training loops, and build the
switchable snippet that trains on one fixed batch before the real training starts.

A correct model, loss and optimizer drive the loss on a single repeated batch towards
zero within a few hundred steps; when they do not, something is wrong before any
hyper-parameter search: the learning rate, a frozen or broken model, what goes into
the loss, or a missing zero_grad/backward/step.

The snippet reuses the user's own statements (the batch unpacking, the forward pass,
the loss and the backward call, exactly as written in their loop) and their names
(model, optimizer, loader), so it checks *their* code. It restores the model's and the
optimizer's state afterwards, and it is switched off with `NNLINT_OVERFIT=0`.

Used by rule NN501 (an information note, opt-in, no fix: `--fix` never inserts it) and
by the language server's code lens / code action:
- `training_loops_for_lens(text)` -> [(line, title, args)] (1-based line of the loop
  the lens goes above; `args["line"]` is what to pass back);
- `overfit_check_edit(text, path, loop_line)` -> an `Edit` inserting the snippet above
  that loop, or None.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from typing import TYPE_CHECKING

from nnlint.findings import Edit, Span
from nnlint.semantic import CallSite, Semantic, dotted
from nnlint.source import SourceFile
from nnlint.training import training
from nnlint.vocabulary import is_scaled_loss
from nnlint.parsing import parse_python

if TYPE_CHECKING:
    from nnlint.config import Settings

MARKER_START = "# --- nnlint: overfit one batch (set NNLINT_OVERFIT=0 to skip) ---"
MARKER_END = "# --- end nnlint overfit check ---"
MARKER_WORD = "nnlint: overfit one batch"
LENS_TITLE = "Overfit one batch first"
ENV_SWITCH = "NNLINT_OVERFIT"
DEFAULT_STEPS = 200

_WRAPPERS = frozenset({"enumerate", "tqdm", "iter", "progress_bar", "track"})
_CONTROL = (ast.Break, ast.Continue, ast.Return, ast.Yield, ast.YieldFrom, ast.Await)
_COPYABLE = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.With, ast.If)


@dataclass
class OverfitPlan:
    """What the snippet needs, as found in one training loop."""

    anchor: ast.stmt  # the outermost training loop: the snippet goes right above it
    loop: ast.For | ast.While  # the loop over the data (or over steps)
    model: str | None  # e.g. "model", "self.net" (None: only the optimizer's params are restored)
    optimizer: str
    loss: str  # the expression backward() is called on
    loader: str | None  # the loop's iterable as written (None: a `range`/`while` loop)
    target: str | None  # the loop's target as written, e.g. "i, (x, y)" (None likewise)
    statements: list[ast.stmt]  # the user's statements that compute the loss and call backward
    steps: list[ast.stmt] | None  # the user's step statements, or None: write `opt.step()`
    step_text: list[str]  # synthesized step lines when `steps` is None
    hoisted: list[ast.stmt]  # for range/while loops: the statements that draw the batch, run once

    @property
    def line(self) -> int:
        return self.anchor.lineno

    @property
    def loader_name(self) -> str:
        """The loader without `enumerate(...)`/`tqdm(...)` around it, for messages."""
        if self.loader is None or type(self.loop) is not ast.For:
            return ""
        expr = self.loop.iter
        while type(expr) is ast.Call and expr.args and (dotted(expr.func) or "").rsplit(".", 1)[-1] in _WRAPPERS:
            expr = expr.args[0]
        return dotted(expr) or self.loader


# ------------------------------------------------------------------- analysis
def _text(source: SourceFile, node: ast.AST) -> str:
    line, end_line = node.lineno, node.end_lineno or node.lineno  # type: ignore[attr-defined]
    start = source.offset(line, source.column(line, node.col_offset))  # type: ignore[attr-defined]
    end = source.offset(end_line, source.column(end_line, node.end_col_offset or 0))  # type: ignore[attr-defined]
    return source.text[start:end]


def marker_regions(source: SourceFile) -> list[tuple[int, int]]:
    """(first, last) lines of every inserted overfit check in the file."""
    if MARKER_WORD not in source.text:
        return []
    regions = []
    start = None
    for number, line in enumerate(source.lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#") and MARKER_WORD in stripped:
            start = number
        elif stripped == MARKER_END and start is not None:
            regions.append((start, number))
            start = None
    return regions


def has_overfit_check(source: SourceFile, line: int) -> bool:
    """Whether an overfit check ends just above `line` (blank lines and comments between)."""
    number = line - 1
    while number >= 1:
        stripped = source.line_text(number).strip()
        if stripped == MARKER_END:
            return True
        if stripped and not stripped.startswith("#"):
            return False
        number -= 1
    return False


def _is_range_like(sem: Semantic, expr: ast.expr) -> bool:
    if type(expr) is ast.Call:
        name = sem.call_name(expr) or ""
        if name in ("range", "itertools.count", "count"):
            return True
        if name in ("enumerate", "tqdm", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "trange") and expr.args:
            return name == "trange" or _is_range_like(sem, expr.args[0])
    return type(expr) is ast.Constant


def _names(node: ast.AST, ctx: type) -> set[str]:
    return {n.id for n in ast.walk(node) if type(n) is ast.Name and type(n.ctx) is ctx}


def _top_statement(body: list[ast.stmt], node: ast.AST) -> ast.stmt | None:
    line = node.lineno  # type: ignore[attr-defined]
    for stmt in body:
        if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
            return stmt
    return None


def _loss_expr(sem: Semantic, site: CallSite) -> ast.expr | None:
    call = site.node
    if site.method == "backward":
        if call.args:  # accelerator.backward(loss), fabric.backward(loss)
            return call.args[0]
        expr = site.receiver
        if is_scaled_loss(expr) and expr.args:  # type: ignore[union-attr]
            expr = expr.args[0]  # type: ignore[union-attr]  # scaler.scale(loss).backward()
        return expr
    if sem.call_name(call) == "torch.autograd.backward" and call.args:
        return call.args[0]
    return None


def overfit_plans(source: SourceFile, sem: Semantic) -> list[OverfitPlan]:
    """One plan per training loop the overfit check can be written for (loops already
    preceded by a check, or inside one, are included too: see `has_overfit_check`)."""
    train = training(sem)
    regions = marker_regions(source)
    plans: list[OverfitPlan] = []
    seen: set[int] = set()
    for site in train.backward_sites:
        if not site.loops or any(a <= site.line <= b for a, b in regions):
            continue
        loop = site.loops[-1]
        if id(loop) in seen:
            continue
        seen.add(id(loop))
        plan = _plan(source, sem, site)
        if plan is not None:
            plans.append(plan)
    return plans


def _plan(source: SourceFile, sem: Semantic, site: CallSite) -> OverfitPlan | None:
    train = training(sem)
    loop_info = site.loops[-1]
    node = loop_info.node
    if type(node) not in (ast.For, ast.While):
        return None
    range_like = type(node) is ast.While or _is_range_like(sem, node.iter)  # type: ignore[union-attr]
    outer = [lp for lp in site.loops if lp.scope is loop_info.scope]
    anchor = outer[0].node
    if not source.occupies_whole_lines(anchor):
        return None
    body = node.body
    bstmt = _top_statement(body, site.node)
    if bstmt is None or not (bstmt is site.stmt or type(bstmt) in (ast.With, ast.AsyncWith)):
        return None
    loss = _loss_expr(sem, site)
    if loss is None or any(type(n) is ast.Call for n in ast.walk(loss)):
        return None
    # the optimizer step of this loop, after the backward pass
    step_site = None
    optimizer = None
    for candidate, opt in train.step_sites:
        if loop_info in candidate.loops and candidate.pos > site.pos:
            step_site, optimizer = candidate, opt
            break
    if step_site is None or optimizer is None:
        return None
    optimizer_text = dotted(optimizer)
    if optimizer_text is None:
        return None
    # the statements that compute what backward() needs, in order
    index = body.index(bstmt)
    needed = _names(bstmt, ast.Load)
    chosen = [bstmt]
    for stmt in reversed(body[:index]):
        bound = _bound(stmt)
        if bound & needed:
            chosen.insert(0, stmt)
            needed |= _names(stmt, ast.Load)
    # gradient clipping between backward and step is part of the step
    steps: list[ast.stmt] | None = None
    step_text: list[str] = []
    step_top = _top_statement(body, step_site.node)
    scaler = None
    if step_site.receiver is not None and step_site.node.args and dotted(step_site.receiver):
        scaler = dotted(step_site.receiver)
    if step_top is step_site.stmt and type(step_top) is ast.Expr and body.index(step_top) > index:
        steps = [
            stmt for stmt in body[index + 1: body.index(step_top)]
            if type(stmt) is ast.Expr and type(stmt.value) is ast.Call and _is_step_helper(dotted(stmt.value.func) or "")
        ]
        steps.append(step_top)
        if scaler:
            steps.extend(
                stmt for stmt in body[body.index(step_top) + 1:]
                if type(stmt) is ast.Expr and type(stmt.value) is ast.Call
                and dotted(stmt.value.func) == f"{scaler}.update"
            )
    else:  # a step under a condition (gradient accumulation): step every time here
        if scaler:
            step_text = [f"{scaler}.step({optimizer_text})", f"{scaler}.update()"]
        else:
            step_text = [f"{optimizer_text}.step()"]
    copied = chosen + (steps or [])
    for stmt in copied:
        if not isinstance(stmt, _COPYABLE) or not source.occupies_whole_lines(stmt):
            return None
        if any(isinstance(n, _CONTROL) for n in ast.walk(stmt)):
            return None
        if _is_zero_grad(stmt):
            return None
    model_site = train.first_model_call([s for s in loop_info.calls if any(_inside(s.node, c) for c in chosen)])
    model = dotted(model_site.node.func) if model_site is not None else None
    hoisted: list[ast.stmt] = []
    if range_like:
        # no loader to take a batch from: what comes before the forward pass draws
        # (or just names) the batch; run it once, outside the check's loop
        if model_site is None:
            return None
        forward = next(c for c in chosen if _inside(model_site.node, c))
        hoisted = chosen[: chosen.index(forward)]
        chosen = chosen[chosen.index(forward):]
    # names the copied code reads must exist before the outermost loop
    targets = _names(node.target, ast.Store) if type(node) is ast.For else set()
    forbidden = _bound_between(anchor, node) | (targets if range_like else set())
    reads = set().union(*(_names(s, ast.Load) for s in copied))
    if forbidden & (reads - (set() if range_like else targets) - set().union(*(_bound(s) for s in copied))):
        return None
    return OverfitPlan(
        anchor=anchor,
        loop=node,
        model=model,
        optimizer=optimizer_text,
        loss=_text(source, loss),
        loader=None if range_like else _text(source, node.iter),  # type: ignore[union-attr]
        target=None if range_like else _text(source, node.target),  # type: ignore[union-attr]
        statements=chosen,
        steps=steps,
        step_text=step_text,
        hoisted=hoisted,
    )


def _is_step_helper(name: str) -> bool:
    """Calls between backward() and step() that belong to the step: clipping, unscaling."""
    last = name.rsplit(".", 1)[-1]
    return "clip_grad" in last or last == "unscale_"


def _is_zero_grad(stmt: ast.stmt) -> bool:
    return type(stmt) is ast.Expr and type(stmt.value) is ast.Call and type(stmt.value.func) is ast.Attribute and (
        stmt.value.func.attr == "zero_grad"
    )


def _inside(node: ast.AST, stmt: ast.stmt) -> bool:
    return stmt.lineno <= node.lineno <= (stmt.end_lineno or stmt.lineno)  # type: ignore[attr-defined]


def _bound(stmt: ast.stmt) -> set[str]:
    names = _names(stmt, ast.Store)
    if type(stmt) is ast.AugAssign and type(stmt.target) is ast.Name:
        names.add(stmt.target.id)
    return names


def _bound_between(anchor: ast.stmt, inner: ast.For) -> set[str]:
    """Names bound inside `anchor` but outside `inner` (epoch counters, per-epoch state)."""
    if anchor is inner:
        return set()
    first, last = inner.lineno, inner.end_lineno or inner.lineno
    return {
        n.id for n in ast.walk(anchor)
        if type(n) is ast.Name and type(n.ctx) is ast.Store and not first <= n.lineno <= last
    }


# --------------------------------------------------------------------- snippet
def _indent_unit(source: SourceFile, plan: OverfitPlan) -> str:
    body_indent = source.indent_of(plan.loop.body[0].lineno)
    loop_indent = source.indent_of(plan.loop.lineno)
    if body_indent.startswith(loop_indent) and len(body_indent) > len(loop_indent):
        return body_indent[len(loop_indent):]
    return "    "


def _quote(source: SourceFile) -> str:
    return "'" if source.text.count("'") > source.text.count('"') else '"'


def _statement_lines(source: SourceFile, stmt: ast.stmt, body_indent: str) -> list[str] | None:
    lines = []
    for number in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1):
        text = source.line_text(number)
        if not text.strip():
            lines.append("")
        elif text.startswith(body_indent):
            lines.append(text[len(body_indent):])
        else:
            return None
    return lines


def overfit_snippet(source: SourceFile, plan: OverfitPlan) -> str | None:
    """The check's text, ending with a line break, indented like the anchor loop."""
    base = source.indent_of(plan.anchor.lineno)
    unit = _indent_unit(source, plan)
    q = _quote(source)
    body_indent = source.indent_of(plan.loop.body[0].lineno)
    i1, i2, i3 = base + unit, base + unit * 2, base + unit * 3
    user_lines: list[str] = []
    batch_lines: list[str] = []
    for stmt in plan.hoisted:
        lines = _statement_lines(source, stmt, body_indent)
        if lines is None:
            return None
        batch_lines.extend((i1 + line) if line else "" for line in lines)
    if plan.loader is not None:
        batch_lines.append(f"{i1}_nnlint_batch = next(iter({plan.loader}))")
    for stmt in plan.statements:
        lines = _statement_lines(source, stmt, body_indent)
        if lines is None:
            return None
        user_lines.extend(lines)
    if plan.steps is not None:
        for stmt in plan.steps:
            lines = _statement_lines(source, stmt, body_indent)
            if lines is None:
                return None
            user_lines.extend(lines)
    else:
        user_lines.extend(plan.step_text)
    loss = plan.loss if type(_parse_expr(plan.loss)) in (ast.Name, ast.Attribute) else f"({plan.loss})"
    model, optimizer = plan.model, plan.optimizer
    if model is not None:
        save = [f"{i1}_nnlint_saved = copy.deepcopy(({model}.state_dict(), {optimizer}.state_dict()))"]
        restore = [f"{i1}{model}.load_state_dict(_nnlint_saved[0])", f"{i1}{optimizer}.load_state_dict(_nnlint_saved[1])"]
    else:
        save = [
            f"{i1}_nnlint_params = [p for g in {optimizer}.param_groups for p in g[{q}params{q}]]",
            f"{i1}_nnlint_saved = copy.deepcopy(([p.detach() for p in _nnlint_params], {optimizer}.state_dict()))",
        ]
        restore = [
            f"{i1}with torch.no_grad():",
            f"{i2}for _nnlint_p, _nnlint_v in zip(_nnlint_params, _nnlint_saved[0]):",
            f"{i3}_nnlint_p.copy_(_nnlint_v)",
            f"{i1}{optimizer}.load_state_dict(_nnlint_saved[1])",
        ]
    lines = [
        f"{base}{MARKER_START}",
        f"{base}import copy",
        f"{base}import os",
        *([f"{base}import torch"] if model is None else []),
        "",
        f"{base}if os.environ.get({q}{ENV_SWITCH}{q}, {q}1{q}) != {q}0{q}:",
        f"{i1}# Train on one fixed batch: a correct setup drives the loss towards zero.",
        *save,
        *batch_lines,
        f"{i1}_nnlint_losses = []",
        f"{i1}for _nnlint_step in range(int(os.environ.get({q}NNLINT_OVERFIT_STEPS{q}, {q}{DEFAULT_STEPS}{q}))):",
        *([f"{i2}{plan.target} = _nnlint_batch"] if plan.target is not None else []),
        f"{i2}{optimizer}.zero_grad()",
        *[(i2 + line) if line else "" for line in user_lines],
        f"{i2}_nnlint_losses.append({loss}.item())",
        f"{i1}# Put the model and optimizer back as they were before the check.",
        *restore,
        f"{i1}_nnlint_first = _nnlint_losses[0]",
        f"{i1}_nnlint_last = sum(_nnlint_losses[-5:]) / len(_nnlint_losses[-5:])",
        f"{i1}if not _nnlint_last <= 0.1 * abs(_nnlint_first) + 1e-3:",
        f"{i2}raise RuntimeError(",
        f"{i3}f{q}nnlint overfit check FAILED: on one fixed batch the loss went from {{_nnlint_first:.4g}} {q}",
        f"{i3}f{q}to {{_nnlint_last:.4g}} in {{len(_nnlint_losses)}} steps instead of towards 0. Check {q}",
        f"{i3}{q}the learning rate (too small or too large), the model (frozen layers, too little {q}",
        f"{i3}{q}capacity, a broken forward), the loss inputs (softmax/sigmoid before a loss that {q}",
        f"{i3}{q}expects logits, target shape or dtype) and that zero_grad(), backward() and step() {q}",
        f"{i3}{q}all run. Set {ENV_SWITCH}=0 to skip this check.{q}",
        f"{i2})",
        f"{i1}print(f{q}nnlint overfit check passed: loss {{_nnlint_first:.4g}} -> {{_nnlint_last:.4g}} {q}",
        f"{i1}      f{q}in {{len(_nnlint_losses)}} steps on one batch{q})",
        f"{base}{MARKER_END}",
    ]
    newline = source.newline()
    return newline.join(lines) + newline


def _parse_expr(text: str) -> ast.expr | None:
    try:
        return parse_python(text.strip(), mode="eval").body
    except SyntaxError:
        return None


# ------------------------------------------------------------------ front ends
def _analyse(text: str, path: str = "<string>") -> tuple[SourceFile, Semantic] | None:
    source = SourceFile(text, path)
    try:
        tree = parse_python(text)
        return source, Semantic.build(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def open_plans(source: SourceFile, sem: Semantic) -> list[OverfitPlan]:
    """Plans for the loops that do not have a check yet."""
    return [p for p in overfit_plans(source, sem) if not has_overfit_check(source, p.line)]


def training_loops_for_lens(text: str, path: str = "<string>") -> list[tuple[int, str, dict[str, object]]]:
    """Code lenses: (1-based line of the loop, title, arguments for the command).
    Pass `args["line"]` back to `overfit_check_edit`."""
    analysed = _analyse(text, path)
    if analysed is None:
        return []
    source, sem = analysed
    lenses = []
    for plan in open_plans(source, sem):
        args: dict[str, object] = {
            "line": plan.line,
            "loop_line": plan.loop.lineno,
            "model": plan.model,
            "optimizer": plan.optimizer,
            "loss": plan.loss,
            "loader": plan.loader,
        }
        lenses.append((plan.line, LENS_TITLE, args))
    return lenses


def overfit_check_edit(
    text: str, path: str, loop_line: int, settings: "Settings | None" = None
) -> Edit | None:
    """The edit that inserts the check above the training loop on `loop_line` (the
    outermost training loop's line, or the line of the loop over the data); None if
    there is no such loop, it has a check already, or the check cannot be written.

    The inserted code passes every nnlint rule: a statement copied from the loop that
    carries a finding there (say, softmax into a cross entropy) gets a `# noqa: CODE`
    in the copy, since the original line already reports it."""
    analysed = _analyse(text, path)
    if analysed is None:
        return None
    source, sem = analysed
    for plan in open_plans(source, sem):
        if loop_line in (plan.line, plan.loop.lineno):
            snippet = overfit_snippet(source, plan)
            if snippet is None:
                return None
            snippet = _quiet_duplicates(text, path, plan.line, snippet, settings)
            if snippet is None:
                return None
            return Edit(Span(plan.line, 0, plan.line, 0), snippet)
    return None


def _quiet_duplicates(text: str, path: str, line: int, snippet: str, settings: "Settings | None") -> str | None:
    from nnlint.engine import check_source
    from nnlint.fixes import apply_edits

    new_text = apply_edits(text, [Edit(Span(line, 0, line, 0), snippet)])
    result = check_source(new_text, path, settings, verify_fixes=False)
    if result.error is not None:
        return None
    count = len(SourceFile(snippet).lines) - 1
    first, last = line, line + count - 1
    outside = {f.code for f in result.findings if not first <= f.span.line <= last}
    lines = SourceFile(snippet).lines
    codes_by_line: dict[int, set[str]] = {}
    for finding in result.findings:
        if first <= finding.span.line <= last:
            if finding.code not in outside:
                return None  # the check itself would be flagged: do not offer it
            codes_by_line.setdefault(finding.span.line - first, set()).add(finding.code)
    if not codes_by_line:
        return snippet
    newline = SourceFile(snippet).newline()
    for index, found in codes_by_line.items():
        lines[index] = f"{lines[index]}  # noqa: {', '.join(sorted(found))} (as in the loop below: fix both)"
    return newline.join(lines)
