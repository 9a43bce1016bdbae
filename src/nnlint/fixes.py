"""Applying fixes: minimal text edits, verified before anyone sees them."""

from __future__ import annotations

import bisect
import difflib
from typing import Callable, Sequence

from nnlint.findings import Edit, Finding, Fix
from nnlint.source import SourceFile
from nnlint.parsing import parse_python


class OverlappingEdits(ValueError):
    pass


Range = tuple[int, int]  # code-point offsets [start, end) in the text


def _locate(source: SourceFile, edits: Sequence[Edit]) -> list[tuple[int, int, str]]:
    return [
        (source.offset(e.span.line, e.span.column), source.offset(e.span.end_line, e.span.end_column), e.new_text)
        for e in edits
    ]


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """Apply non-overlapping edits (positions in code points) to `text`, in one pass:
    the untouched stretches and the new texts are joined once (linear in the text and
    the edits, however many edits there are)."""
    located = _locate(SourceFile(text), edits)
    located.sort(key=lambda item: (item[0], item[1]))
    for (_, e1, _), (s2, _, _) in zip(located, located[1:]):
        if s2 < e1:
            raise OverlappingEdits("edits overlap")
    pieces: list[str] = []
    done = 0
    for start, end, new_text in located:
        pieces.append(text[done:start])
        pieces.append(new_text)
        done = max(done, end)
    pieces.append(text[done:])
    return "".join(pieces)


def fix_parses(text: str, fix: Fix) -> bool:
    try:
        parse_python(apply_edits(text, fix.edits))
    except (SyntaxError, ValueError, OverlappingEdits, RecursionError, MemoryError):
        return False
    return True


class _TakenRanges:
    """The ranges already edited, sorted, for conflict tests in O(log n) each (a scan
    of every taken range per fix made choosing thousands of fixes quadratic)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ranges: list[Range] = []

    def conflicts(self, candidate: Range) -> bool:
        # Taken ranges never overlap one another, so their ends grow with their starts:
        # only the last few starting at or before the candidate's end can reach into it.
        index = bisect.bisect_right(self.starts, candidate[1]) - 1
        while index >= 0 and self.ranges[index][1] >= candidate[0]:
            if _overlaps(self.ranges[index], candidate):
                return True
            index -= 1
        return False

    def add(self, taken: Range) -> None:
        index = bisect.bisect_right(self.ranges, taken)  # by (start, end): ends stay sorted too
        self.starts.insert(index, taken[0])
        self.ranges.insert(index, taken)


def choose_compatible(
    text: str, findings: Sequence[Finding], accept: "Callable[[int, Finding], bool] | None" = None
) -> list[int]:
    """Indices of the findings whose fixes can be applied together: in source order,
    skipping a fix that overlaps one already taken (or whose own edits overlap), and
    those `accept(index, finding)` refuses. Linear in the fixes (one position table)."""
    source = SourceFile(text)
    taken = _TakenRanges()
    chosen: list[int] = []
    for index in sorted(range(len(findings)), key=lambda i: Finding.sort_key(findings[i])):
        finding = findings[index]
        if finding.fix is None or (accept is not None and not accept(index, finding)):
            continue
        ranges = sorted((start, end) for start, end, _ in _locate(source, finding.fix.edits))
        if any(b[0] < a[1] for a, b in zip(ranges, ranges[1:])):
            continue  # the fix's own edits overlap (apply_edits would refuse them)
        if any(taken.conflicts(r) for r in ranges):
            continue
        for r in ranges:
            taken.add(r)
        chosen.append(index)
    return chosen


def compatible_edits(
    text: str, findings: Sequence[Finding], accept: "Callable[[int, Finding], bool] | None" = None
) -> tuple[list[Edit], int]:
    """The edits of every fix that can be applied together (see `choose_compatible`),
    and how many fixes they come from. The combination is checked to parse; if it does
    not, nothing is returned. Shared by the server's fix-all and notebooks."""
    indices = choose_compatible(text, findings, accept)
    chosen = [edit for index in indices for edit in findings[index].fix.edits]  # type: ignore[union-attr]
    count = len(indices) if chosen else 0
    if chosen and not fix_parses(text, Fix("all", tuple(chosen))):
        return [], 0
    return chosen, count


def apply_fixes(text: str, findings: list[Finding]) -> tuple[str, int]:
    """Apply every non-conflicting fix once. Returns the new text and how many applied."""
    chosen, applied = compatible_edits(text, findings)
    if not chosen:
        return text, 0
    return apply_edits(text, chosen), applied


def _overlaps(a: Range, b: Range) -> bool:
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
