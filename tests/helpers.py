"""Helpers shared by the tests (`from helpers import lint, ...`). conftest.py keeps only
pytest fixtures and hooks; tests/ is on sys.path because conftest.py lives there."""

from __future__ import annotations

import ast
import re
import textwrap
from collections import Counter
from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Finding
from nnlint.fixes import apply_edits

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "cases"

# The marker grammar of the shared corpus (/work/shared/corpus/README.md) and of the rule
# fixtures (tests/rules/fixtures): a trailing `# expect: NN101` (or `# expect: NN203, NN503`)
# on the exact line a finding must land on.
EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def expectations_in(text: str) -> set[tuple[int, str]]:
    """(line, code) of every `# expect:` marker in `text`."""
    found = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found |= {(number, code.strip()) for code in match.group(1).split(",") if code.strip()}
    return found


def expectations(path: Path) -> set[tuple[int, str]]:
    return expectations_in(path.read_text(encoding="utf-8"))


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
    """Apply the first fix of `rule_code` and prove it safe (see `check_fix`).
    Returns the fixed text."""
    text = textwrap.dedent(code)
    before = check_source(text, "train.py").findings
    target = next(f for f in before if f.code == rule_code)
    return check_fix(text, before, target, "train.py")


def check_fix(
    text: str, before: list[Finding], target: Finding, path: str, *, exact: bool = True, settings: Settings | None = None
) -> str:
    """Apply `target`'s fix to `text` (whose findings are `before`) and prove it safe: the
    result parses, that finding is gone and no other finding appeared (with `exact`, none
    vanished either: a fix that makes a missing `.eval` call also settles the missing-eval
    finding, so the fixtures allow that), every line outside the edits is byte-identical,
    and running the fixes again changes nothing more. Returns the fixed text."""
    assert target.fix is not None, f"{target.code} has no fix"
    fixed = apply_edits(text, target.fix.edits)
    ast.parse(fixed)
    after = check_source(fixed, path, settings).findings
    old_codes = sorted(f.code for f in before if f is not target)
    new_codes = sorted(f.code for f in after)
    if exact:
        assert new_codes == old_codes, f"fix changed the findings: {old_codes} -> {new_codes}\n{fixed}"
    else:
        assert not Counter(new_codes) - Counter(old_codes), f"fix added findings: {old_codes} -> {new_codes}\n{fixed}"
    _assert_outside_edits_identical(text, fixed, target)
    for finding in after:
        if finding.code == target.code and finding.fix is not None:
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


# Real Python files to edit at random (`test_incremental`, `test_reanalysis`): the ecosystem
# check's exported repositories when present, the shared corpus, the examples, the fixtures.
REAL_SOURCES = [
    Path("/work/eco/work/trees"),
    ROOT.parent / "shared" / "corpus",
    ROOT / "examples",
    ROOT / "tests" / "rules",
]


def real_files(limit: int, seed: int, max_bytes: int = 60_000) -> list[Path]:
    """`limit` real files under REAL_SOURCES, chosen by `seed`, each smaller than `max_bytes`."""
    import random

    found = sorted(
        path
        for source in REAL_SOURCES
        if source.is_dir()
        for path in source.rglob("*.py")
        if 0 < path.stat().st_size < max_bytes
    )
    random.Random(seed).shuffle(found)
    return found[:limit]
