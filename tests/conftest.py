"""Shared helpers for the test suite (imported by tests as `from conftest import ...`)."""

from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import pytest

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Finding
from nnlint.fixes import apply_edits

ROOT = Path(__file__).resolve().parent.parent

# No test reads a result another test (or an earlier run) left in a result cache, and
# none writes .nnlint_cache into the repository: the cache is off for the whole suite,
# subprocesses included. tests/test_cache.py turns it on for itself, in tmp folders.
os.environ["NNLINT_NO_CACHE"] = "1"
CORPUS = ROOT.parent / "shared" / "corpus" / "cases"


def lint(code: str, select: str | None = None, path: str = "train.py") -> list[Finding]:
    """Findings for a dedented snippet; `select` limits them to one code or prefix."""
    settings = Settings(select=(select,)) if select else Settings()
    return check_source(textwrap.dedent(code), path, settings).findings


def codes(code: str, select: str | None = None) -> list[tuple[str, int]]:
    return [(f.code, f.span.line) for f in lint(code, select)]


def line_of(code: str, marker: str) -> int:
    """1-based line of the first line of the dedented snippet containing `marker`."""
    for number, line in enumerate(textwrap.dedent(code).splitlines(), start=1):
        if marker in line:
            return number
    raise AssertionError(f"marker {marker!r} not in snippet")


def apply_fix_and_recheck(code: str, rule_code: str) -> str:
    """Apply the first fix of `rule_code` and prove it safe: the result parses, that
    finding is gone and no other finding appeared or vanished, every line outside the
    edits is byte-identical, and running the fixes again changes nothing more.
    Returns the fixed text."""
    text = textwrap.dedent(code)
    before = check_source(text, "train.py").findings
    target = next(f for f in before if f.code == rule_code)
    assert target.fix is not None, f"{rule_code} has no fix"
    fixed = apply_edits(text, target.fix.edits)
    ast.parse(fixed)
    after = check_source(fixed, "train.py").findings
    old_codes = sorted(f.code for f in before if f is not target)
    new_codes = sorted(f.code for f in after)
    assert new_codes == old_codes, f"fix changed the findings: {old_codes} -> {new_codes}\n{fixed}"
    _assert_outside_edits_identical(text, fixed, target)
    for finding in after:
        if finding.code == rule_code and finding.fix is not None:
            refixed = apply_edits(fixed, finding.fix.edits)
            assert refixed != fixed  # a remaining, different instance: not this one again
    return fixed


def _assert_outside_edits_identical(old: str, new: str, finding: Finding) -> None:
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    touched = set()
    for edit in finding.fix.edits:  # type: ignore[union-attr]
        touched.update(range(edit.span.line, edit.span.end_line + 1))
    first_touched = min(touched)
    assert old_lines[: first_touched - 1] == new_lines[: first_touched - 1]
    last_touched = max(touched)
    tail = len(old_lines) - last_touched
    if tail > 0:
        assert old_lines[-tail:] == new_lines[-tail:]


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS


def lint_package(root: Path, files: dict[str, str], name: str, select: str | None = None) -> list[Finding]:
    """Write a small package of dedented files under `root` and check `name` with the
    project index (helpers, models and optimizers imported from sibling modules)."""
    from nnlint.project import ProjectIndex

    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    settings = Settings(select=(select,)) if select else Settings()
    target = root / name
    return check_source(target.read_text(encoding="utf-8"), str(target), settings,
                        project=ProjectIndex(root, use_jedi=False)).findings
