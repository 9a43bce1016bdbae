"""`--fix` / `--diff` stay linear (issue 15): the fixes of a file are applied in one
pass and verified in batches, one re-analysis for all the fixes that check out, a few
more to isolate one that does not (never one per fix), and a fix that cannot be
verified is never applied."""

from __future__ import annotations

import ast
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnlint.engine as engine
from nnlint.bench import generate_buggy_script
from nnlint.engine import check_source, fix_text
from nnlint.findings import Edit, Finding, Fix, Severity, Span
from nnlint.fixes import OverlappingEdits, _overlaps, apply_edits, choose_compatible
from nnlint.registry import load_rules
from nnlint.source import SourceFile

TEXT = generate_buggy_script(1_500)


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every full analysis fix_text runs (the original and each re-check)."""
    calls: list[str] = []
    real = engine.check_source
    monkeypatch.setattr(engine, "check_source", lambda text, *a, **k: calls.append(text) or real(text, *a, **k))
    return calls


def test_every_good_fix_is_applied_with_one_re_analysis(analyses: list[str]) -> None:
    fixable = sum(1 for f in check_source(TEXT, "big.py", verify_fixes=False).findings if f.fix)
    analyses.clear()
    outcome = fix_text(TEXT, "big.py")
    assert fixable > 300
    assert outcome.applied == fixable
    # The original, and one re-analysis of the text with every fix applied, which is
    # also the report of what remains.
    assert len(analyses) == 2, len(analyses)
    assert analyses[-1] == outcome.text
    ast.parse(outcome.text)
    assert [f.code for f in outcome.findings] == [f.code for f in check_source(outcome.text, "big.py").findings]
    again = fix_text(outcome.text, "big.py")
    assert (again.applied, again.text) == (0, outcome.text)


def plant_bad_fixes(monkeypatch: pytest.MonkeyPatch, code: str, functions: set[str], kind: str) -> None:
    """Make rule `code` offer a broken fix for its findings in the named functions (found
    by name, since the fixes applied around them move their lines)."""
    rule = load_rules()[code]
    real = rule.check

    def check(self, ctx):  # type: ignore[no-untyped-def]
        for finding in real(self, ctx):
            span = finding.span
            if finding.fix is not None and ctx.source.line_text(span.line - 2).startswith(tuple(functions)):
                if kind == "syntax":
                    finding.fix = Fix("break it", (Edit(span, "((("),))
                else:  # a fix that leaves its finding in place
                    line = ctx.source.line_text(span.line)
                    finding.fix = Fix("no-op", (Edit(Span(span.line, 0, span.line, len(line)), line + "  "),))
            yield finding

    monkeypatch.setattr(rule, "check", check)


def typo_lines(findings: list[Finding]) -> list[int]:
    return [f.span.line for f in findings if f.code == "NN402"]


@pytest.mark.parametrize("kind", ["syntax", "keeps-its-finding"])
def test_bad_fixes_are_isolated_in_a_few_re_analyses_and_never_applied(
    monkeypatch: pytest.MonkeyPatch, analyses: list[str], kind: str
) -> None:
    plant_bad_fixes(monkeypatch, "NN402", {"def train_3(", "def train_30("}, kind)
    fixable = sum(1 for f in check_source(TEXT, "big.py", verify_fixes=False).findings if f.fix)
    analyses.clear()
    outcome = fix_text(TEXT, "big.py")
    assert outcome.applied == fixable - 2
    left = [line for line in typo_lines(outcome.findings)]
    assert len(left) == 2
    assert [SourceFile(outcome.text).line_text(line - 2) for line in left] == ["def train_3(loader):", "def train_30(loader):"]
    assert all(f.fix is None for f in outcome.findings)
    assert "(((" not in outcome.text
    ast.parse(outcome.text)
    budget = max(engine.VERIFY_MIN_CHARS, engine.FIX_VERIFY_SIZE_FACTOR * len(TEXT)) // len(TEXT)
    assert len(analyses) <= 2 + budget, f"{len(analyses)} analyses for {fixable} fixes"


def test_past_the_budget_fixes_are_left_unapplied_not_unverified(
    monkeypatch: pytest.MonkeyPatch, analyses: list[str]
) -> None:
    typos = len(typo_lines(check_source(TEXT, "big.py", verify_fixes=False).findings))
    plant_bad_fixes(monkeypatch, "NN402", {"def train_"}, "syntax")
    monkeypatch.setattr(engine, "VERIFY_MIN_CHARS", 0)
    monkeypatch.setattr(engine, "FIX_VERIFY_SIZE_FACTOR", 3)
    analyses.clear()
    outcome = fix_text(TEXT, "big.py")
    assert len(analyses) <= 1 + 3
    ast.parse(outcome.text)
    assert "(((" not in outcome.text
    # Whatever was applied was verified, and every planted typo is still there.
    assert len(typo_lines(outcome.findings)) == typos


# ------------------------------------------------- one-pass edits, linear choice
def naive_apply(text: str, edits: list[Edit]) -> str:
    source = SourceFile(text)
    located = sorted(
        ((source.offset(e.span.line, e.span.column), source.offset(e.span.end_line, e.span.end_column), e.new_text)
         for e in edits), key=lambda item: (item[0], item[1]))
    for (_, e1, _), (s2, _, _) in zip(located, located[1:]):
        if s2 < e1:
            raise OverlappingEdits("edits overlap")
    out = text
    for start, end, new_text in reversed(located):
        out = out[:start] + new_text + out[end:]
    return out


SAMPLE = "import torch\nx = torch.zeros(3)\n\ndef f(a, b):\n    return a + b\n"
POSITIONS = [(line, col) for line, text in enumerate(SAMPLE.split("\n"), start=1) for col in range(len(text) + 1)]


@st.composite
def edits(draw: st.DrawFn) -> Edit:
    a, b = sorted((draw(st.sampled_from(POSITIONS)), draw(st.sampled_from(POSITIONS))))
    return Edit(Span(a[0], a[1], b[0], b[1]), draw(st.sampled_from(["", "y", "zz\n", "(", "é"])))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(edits(), max_size=6))
def test_one_pass_apply_matches_edit_by_edit(chosen: list[Edit]) -> None:
    try:
        expected = naive_apply(SAMPLE, chosen)
    except OverlappingEdits:
        with pytest.raises(OverlappingEdits):
            apply_edits(SAMPLE, chosen)
        return
    assert apply_edits(SAMPLE, chosen) == expected


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(edits(), min_size=1, max_size=2), max_size=8))
def test_the_linear_choice_takes_exactly_the_fixes_that_do_not_conflict(fixes: list[list[Edit]]) -> None:
    findings = [Finding("NN101", "m", Severity.WARNING, e[0].span, fix=Fix("f", tuple(e))) for e in fixes]
    chosen = choose_compatible(SAMPLE, findings)
    # The reference: in source order, each fix against every range taken so far.
    source = SourceFile(SAMPLE)
    taken: list[tuple[int, int]] = []
    expected = []
    for index in sorted(range(len(findings)), key=lambda i: findings[i].sort_key()):
        ranges = sorted((source.offset(e.span.line, e.span.column), source.offset(e.span.end_line, e.span.end_column))
                        for e in fixes[index])
        if any(b[0] < a[1] for a, b in zip(ranges, ranges[1:])):
            continue
        if any(_overlaps(r, t) for r in ranges for t in taken):
            continue
        taken.extend(ranges)
        expected.append(index)
    assert chosen == expected
    apply_edits(SAMPLE, [e for i in chosen for e in fixes[i]])  # never overlapping
