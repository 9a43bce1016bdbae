"""Every rule's fixtures, checked by one parametrised test (as in ruff and TorchFix).

Layout (tests/rules/fixtures/):
- `NN102.py` (or `NN101_trainer_class.py`: the code, then `_` and anything): cases of one
  rule. A `# expect: NN102` trailing comment marks the exact line a finding must land on
  (several codes: `# expect: NN203, NN503`), the grammar of the shared corpus. A line
  without a marker must have no finding of a checked code.
- A fixture file is a series of cases, each starting with a `# case: <name>` line. Each case
  is analysed on its own (the other cases are blanked, so line numbers are the file's):
  the analysis is whole-module, so one case's imports or models must not prove a kind in
  another. A file without a `# case:` line is one case.
- Checked codes: the fixture's code, every code named by a marker in the case, and what
  the case header adds: `# case: name  (checks NN30)` checks every code with that prefix,
  `(checks all)` every code.
- A rule that is off by default (opt-in) is selected for its own fixtures; every other rule
  runs with the default settings.
- `NN206_some_name/` (a folder): one multi-file case. Every `.py` file in it is analysed
  with the project index rooted at the folder; markers go in any of its files.
- `NN102.fixed.py`: the fixture after applying every fix of the fixture's code, case by
  case, until none is left. It exists exactly when some case has a fix. Regenerate with
  `NNLINT_UPDATE_FIXTURES=1 python -m pytest tests/rules/test_fixtures.py` and review
  the diff. Each offered fix is also proven safe on its own (helpers.check_fix).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from helpers import EXPECT, check_fix, expectations_in

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Finding
from nnlint.fixes import apply_fixes
from nnlint.project import ProjectIndex
from nnlint.registry import load_rules

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASE = re.compile(r"^# case: (?P<name>\w+)(?:\s+\(checks (?P<checks>all|NN\d*)\))?\s*$")
NAME = re.compile(r"^(?P<code>NN\d{3})(?:_\w+)?$")
UPDATE = os.environ.get("NNLINT_UPDATE_FIXTURES") == "1"
MAX_FIX_ROUNDS = 5


@dataclass(frozen=True)
class Case:
    fixture: Path
    name: str
    code: str  # the fixture's rule code
    checks: str  # "" (the code and the markers' codes), a code prefix, or "all"
    first: int  # 0-based index of the case's first line after its `# case:` header
    end: int  # 0-based index one past its last line
    lines: tuple[str, ...]  # the whole fixture, lines with their endings

    @property
    def id(self) -> str:
        return f"{self.fixture.stem}::{self.name}"

    def text(self) -> str:
        """The case alone, at its own line numbers: every line before it is blank."""
        return "\n" * self.first + "".join(self.lines[self.first : self.end])


def rule_code(path: Path) -> str:
    match = NAME.match(path.name.split(".", 1)[0])
    assert match, f"fixture {path.name} must be named NNxxx.py, NNxxx_<words>.py or NNxxx_<words>/"
    return match["code"]


def settings_for(code: str) -> Settings:
    """The default settings, plus the fixture's rule when it is opt-in."""
    return Settings() if load_rules()[code].enabled_by_default else Settings(extend_select=(code,))


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("NN*.py") if not p.name.endswith(".fixed.py"))


def fixture_folders() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("NN*") if p.is_dir())


def split_cases(path: Path) -> list[Case]:
    lines = tuple(path.read_text(encoding="utf-8").splitlines(keepends=True))
    heads = [(index, CASE.match(line)) for index, line in enumerate(lines) if line.startswith("# case:")]
    for index, match in heads:
        assert match, f"{path.name}:{index + 1}: a case header is `# case: <name>` [`(checks NN3|all)`]"
    code = rule_code(path)
    if not heads:
        return [Case(path, "all", code, "", 0, len(lines), lines)]
    names = [match["name"] for _, match in heads]  # type: ignore[index]
    assert len(set(names)) == len(names), f"{path.name}: case names repeat"
    cases = []
    for number, (index, match) in enumerate(heads):
        end = heads[number + 1][0] if number + 1 < len(heads) else len(lines)
        cases.append(Case(path, match["name"], code, match["checks"] or "", index + 1, end, lines))  # type: ignore[index]
    return cases


def checked(code: str, checks: str, expected: set[tuple[int, str]]) -> Callable[[str], bool]:
    """Which finding codes a case speaks for (see the module docstring)."""
    named = {code} | {c for _, c in expected}
    if checks == "all":
        return lambda c: True
    return lambda c: c in named or bool(checks) and c.startswith(checks)


def compare(where: str, text: str, findings: list[Finding], is_checked: Callable[[str], bool]) -> list[str]:
    """One line per difference between the markers in `text` and the findings."""
    expected = expectations_in(text)
    reported = {(f.span.line, f.code) for f in findings if is_checked(f.code)}
    source = text.splitlines()
    problems = [f"{where}:{line}: missing {code}: {source[line - 1].strip()}" for line, code in sorted(expected - reported)]
    problems += [f"{where}:{line}: unexpected {code}: {source[line - 1].strip()}" for line, code in sorted(reported - expected)]
    return problems


CASES = [case for path in fixture_files() for case in split_cases(path)]


def test_fixtures_are_found() -> None:
    assert len(CASES) >= 300 and fixture_folders()


def test_every_rule_has_a_fixture_that_expects_it() -> None:
    """Adding a rule means adding its fixture: at least one case where it must fire."""
    expected: set[str] = set()
    for path in [*fixture_files(), *(p for folder in fixture_folders() for p in folder.rglob("*.py"))]:
        expected |= {code for _, code in expectations_in(path.read_text(encoding="utf-8"))}
    missing = sorted(set(load_rules()) - expected)
    assert not missing, f"no fixture in {FIXTURES} expects {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_fixture_case(case: Case) -> None:
    text = case.text()
    expected = expectations_in(text)
    findings = check_source(text, str(case.fixture), settings_for(case.code)).findings
    problems = compare(case.fixture.name, text, findings, checked(case.code, case.checks, expected))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("folder", fixture_folders(), ids=lambda folder: folder.name)
def test_fixture_folder(folder: Path) -> None:
    code = rule_code(folder)
    files = sorted(folder.rglob("*.py"))
    assert files, f"{folder.name} has no .py file"
    texts = {path: path.read_text(encoding="utf-8") for path in files}
    expected = {(str(path), line, c) for path, text in texts.items() for line, c in expectations_in(text)}
    is_checked = checked(code, "", {(line, c) for _, line, c in expected})
    project = ProjectIndex(folder, use_jedi=False)
    problems = []
    for path, text in texts.items():
        findings = check_source(text, str(path), settings_for(code), project=project).findings
        problems += compare(str(path.relative_to(folder)), text, findings, is_checked)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda path: path.stem)
def test_a_deleted_marker_fails(fixture: Path) -> None:
    """The check can fail: a fixture's first marker deleted, its finding is unexpected."""
    case = next((c for c in split_cases(fixture) if expectations_in(c.text())), None)
    if case is None:
        pytest.skip(f"{fixture.name} has no marker")
    text = case.text()
    line, code = min(expectations_in(text))
    lines = text.splitlines(keepends=True)
    lines[line - 1] = EXPECT.sub("", lines[line - 1])
    mutated = "".join(lines)
    findings = check_source(mutated, str(case.fixture), settings_for(case.code)).findings
    problems = compare(fixture.name, mutated, findings, checked(case.code, case.checks, expectations_in(text)))
    assert any(problem.startswith(f"{fixture.name}:{line}: unexpected {code}") for problem in problems), problems


def fixed_case(case: Case) -> tuple[str, int]:
    """The case's lines after applying the fixture code's fixes until none is left, and
    how many fixes were applied. Each fix offered is first proven safe on its own."""
    text = case.text()
    applied = 0
    settings = settings_for(case.code)
    for _ in range(MAX_FIX_ROUNDS):
        findings = check_source(text, str(case.fixture), settings).findings
        fixable = [f for f in findings if f.code == case.code and f.fix is not None]
        if not fixable:
            break
        for finding in fixable:
            check_fix(text, findings, finding, str(case.fixture), exact=False, settings=settings)
        text, count = apply_fixes(text, fixable)
        if not count:
            break
        applied += count
    else:
        pytest.fail(f"{case.id}: fixes still offered after {MAX_FIX_ROUNDS} rounds")
    prefix = "\n" * case.first
    assert text.startswith(prefix), f"{case.id}: a fix edited above the case; give the case its own fixture file"
    return text[len(prefix):], applied


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda path: path.stem)
def test_fixes_match_the_fixed_snapshot(fixture: Path) -> None:
    cases = split_cases(fixture)
    lines = cases[0].lines
    parts = ["".join(lines[: cases[0].first])]
    total = 0
    for case in cases:
        fixed, applied = fixed_case(case)
        total += applied
        parts.append(fixed)
        if case.end < len(lines):  # the next case's header
            parts.append(lines[case.end])
    result = "".join(parts)
    snapshot = fixture.with_name(fixture.stem + ".fixed.py")
    if not total:
        assert not snapshot.exists(), f"{snapshot.name} exists but no case of {fixture.name} has a fix"
        return
    if UPDATE:
        snapshot.write_text(result, encoding="utf-8")
    assert snapshot.exists(), f"{fixture.name} has fixes: write {snapshot.name} (NNLINT_UPDATE_FIXTURES=1)"
    assert snapshot.read_text(encoding="utf-8") == result, f"{snapshot.name} differs from the fixes applied to {fixture.name}"
