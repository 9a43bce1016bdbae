"""Applying fixes: minimal text edits, verified before anyone sees them."""

from __future__ import annotations

import ast
import difflib
from typing import Callable, Sequence

from nnlint.findings import Edit, Finding, Fix
from nnlint.source import SourceFile


class OverlappingEdits(ValueError):
    pass


def apply_edits(text: str, edits: list[Edit] | tuple[Edit, ...]) -> str:
    """Apply non-overlapping edits (positions in code points) to `text`."""
    source = SourceFile(text)
    located = []
    for edit in edits:
        start = source.offset(edit.span.line, edit.span.column)
        end = source.offset(edit.span.end_line, edit.span.end_column)
        located.append((start, end, edit.new_text))
    located.sort(key=lambda item: (item[0], item[1]))
    for (s1, e1, _), (s2, _, _) in zip(located, located[1:]):
        if s2 < e1:
            raise OverlappingEdits("edits overlap")
    out = text
    for start, end, new_text in reversed(located):
        out = out[:start] + new_text + out[end:]
    return out


def fix_parses(text: str, fix: Fix) -> bool:
    try:
        ast.parse(apply_edits(text, fix.edits))
    except (SyntaxError, ValueError, OverlappingEdits, RecursionError, MemoryError):
        return False
    return True


def compatible_edits(
    text: str, findings: Sequence[Finding], accept: "Callable[[int, Finding], bool] | None" = None
) -> tuple[list[Edit], int]:
    """The edits of every fix that can be applied together (in source order, skipping a
    fix that overlaps one already taken, and those `accept(index, finding)` refuses), and
    how many fixes they come from. The combination is checked to parse; if it does not,
    nothing is returned. Shared by `--fix`, the server's fix-all and notebooks."""
    chosen: list[Edit] = []
    taken: list[tuple[tuple[int, int], tuple[int, int]]] = []
    count = 0
    for index in sorted(range(len(findings)), key=lambda i: Finding.sort_key(findings[i])):
        finding = findings[index]
        if finding.fix is None or (accept is not None and not accept(index, finding)):
            continue
        ranges = [((e.span.line, e.span.column), (e.span.end_line, e.span.end_column)) for e in finding.fix.edits]
        if any(_overlaps(r, t) for r in ranges for t in taken):
            continue
        try:
            apply_edits(text, chosen + list(finding.fix.edits))
        except OverlappingEdits:
            continue
        chosen.extend(finding.fix.edits)
        taken.extend(ranges)
        count += 1
    if chosen and not fix_parses(text, Fix("all", tuple(chosen))):
        return [], 0
    return chosen, count


def apply_fixes(text: str, findings: list[Finding]) -> tuple[str, int]:
    """Apply every non-conflicting fix once. Returns the new text and how many applied."""
    chosen, applied = compatible_edits(text, findings)
    if not chosen:
        return text, 0
    return apply_edits(text, chosen), applied


def _overlaps(a: tuple[tuple[int, int], tuple[int, int]], b: tuple[tuple[int, int], tuple[int, int]]) -> bool:
    if a[0] == a[1] or b[0] == b[1]:
        # Two insertions at the same point would be ambiguous; an insertion inside a
        # replaced range is a conflict.
        return a[0] == b[0] or (b[0] < a[0] < b[1]) or (a[0] < b[0] < a[1])
    return a[0] < b[1] and b[0] < a[1]


def unified_diff(old: str, new: str, name: str) -> str:
    """`--diff` output for one file (empty when nothing changed)."""
    if old == new:
        return ""
    text = "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}")
    )
    if text and not text.endswith("\n"):
        text += "\n\\ No newline at end of file\n"
    return text
