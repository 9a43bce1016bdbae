"""Fix safety as a property, and `nnlint check --fix` never corrupts a file.

For every fix of every example, corpus and fuzzed file: applied alone it gives code
that parses, keeps every line outside its edits byte-identical, removes its finding
without adding one, and is not offered again. With verify_fixes=True every offered fix
must hold; fixes the rules produce that verification drops are rule bugs, reported as
warnings (see `python -m nnlint.reliability` for the list).
"""

from __future__ import annotations

import ast
import os
import random
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nnlint.cli as cli
from nnlint.engine import check_source
from nnlint.fixes import apply_edits, apply_fixes
from nnlint.reliability import fix_safety, mutate, seed_files, with_line_ends
from nnlint.source import lines_with_breaks

LONG = int(os.environ.get("NNLINT_FUZZ_EXAMPLES", "0"))
SEEDS = seed_files()
SEED_TEXT = dict(SEEDS)
WITH_FIXES = [name for name, text in SEEDS if any(f.fix for f in check_source(text, name, verify_fixes=False).findings)]


def test_some_seed_files_have_fixes() -> None:
    assert len(WITH_FIXES) >= 3


@pytest.mark.parametrize("name", [n for n, _ in SEEDS], ids=lambda n: Path(n).name)
def test_every_offered_fix_is_safe(name: str) -> None:
    stats = fix_safety(SEED_TEXT[name], name)
    assert stats.unsafe_verified == 0, "\n".join(p.describe() for p in stats.unsafe)
    if stats.problems:  # rule bugs: verification hides them from users, the lead gets the list
        warnings.warn("fixes dropped by verification:\n" + "\n".join(p.describe() for p in stats.problems))


@pytest.mark.parametrize("ending", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_fixes_are_safe_and_keep_line_endings(ending: str) -> None:
    for name in WITH_FIXES:
        text = with_line_ends(SEED_TEXT[name], ending)
        stats = fix_safety(text, name)
        assert stats.unsafe_verified == 0, "\n".join(p.describe() for p in stats.unsafe)
        for finding in check_source(text, name).findings:
            if finding.fix:
                fixed = apply_edits(text, finding.fix.edits)
                stray = fixed.replace("\r\n", "") if ending == "\r\n" else fixed
                assert "\n" not in stray, f"{finding.code} fix introduced a different line ending"


@settings(
    max_examples=LONG or 15,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(name=st.sampled_from(WITH_FIXES or ["<none>"]), seed=st.integers(0, 2**32 - 1), count=st.integers(1, 3))
def test_fixes_on_fuzzed_files_are_safe(name: str, seed: int, count: int) -> None:
    if name == "<none>":
        return
    rng = random.Random(seed)
    text = SEED_TEXT[name]
    for _ in range(count):
        _, text = mutate(text, rng)
    stats = fix_safety(text, f"{name} (fuzzed, seed {seed})")
    assert stats.unsafe_verified == 0, "\n".join(p.describe() for p in stats.unsafe)


def test_fix_problems_detects_a_bad_fix() -> None:
    """The property checker itself can fail: a fix that breaks the code or touches
    another line is caught."""
    from nnlint.findings import Edit, Fix, Span
    from nnlint.reliability import fix_problems

    text = SEED_TEXT[WITH_FIXES[0]]
    findings = check_source(text, "x.py", verify_fixes=False).findings
    target = next(f for f in findings if f.fix)
    target.fix = Fix("break it", (Edit(Span(1, 0, 1, 0), "(((\n"),))
    assert any("does not parse" in p for p in fix_problems(text, target, findings))
    target.fix = Fix("edit another line", (Edit(Span(target.span.line, 0, target.span.line, 0), "x = 1\n"),
                                           Edit(Span(1, 0, 1, 0), "# hi\n")))
    problems = fix_problems(text, target, findings)
    assert any("still reported" in p for p in problems)


def test_applying_all_fixes_at_once_parses_and_keeps_untouched_lines() -> None:
    """The `--fix` path applies every non-conflicting verified fix together."""
    for name in WITH_FIXES:
        text = SEED_TEXT[name]
        findings = check_source(text, name).findings
        fixed, applied = apply_fixes(text, findings)
        assert applied >= 1
        ast.parse(fixed)
        touched = {line for f in findings if f.fix for e in f.fix.edits for line in range(e.span.line, e.span.end_line + 1)}
        old_lines = lines_with_breaks(text)
        new_lines = lines_with_breaks(fixed)
        first = min(touched)
        assert old_lines[: first - 1] == new_lines[: first - 1]
        tail = len(old_lines) - max(touched)
        if tail > 0:
            assert old_lines[-tail:] == new_lines[-tail:]


# ------------------------------------------------------------------- nnlint check --fix
def fixable_folder(tmp_path: Path) -> tuple[Path, list[Path]]:
    folder = tmp_path / "project"
    folder.mkdir()
    fixable = []
    for name in WITH_FIXES:
        target = folder / Path(name).name
        if target.exists():
            continue
        shutil.copyfile(name, target)
        fixable.append(target)
    (folder / "clean.py").write_text("x = 1\n")
    (folder / "broken.py").write_text("def f(:\n")
    return folder, fixable


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlint", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_check_fix_on_a_folder_writes_in_place_and_leaves_no_temp_files(tmp_path: Path) -> None:
    folder, fixable = fixable_folder(tmp_path)
    crlf = folder / "crlf_copy.py"
    crlf.write_bytes(fixable[0].read_bytes().replace(b"\n", b"\r\n"))
    os.chmod(crlf, 0o640)
    before = {p: (p.stat().st_ino, p.read_bytes()) for p in folder.iterdir()}
    clean_stat = (folder / "clean.py").stat()
    result = run_cli("check", "--fix", "--isolated", str(folder), cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    changed = [p for p in folder.iterdir() if p.is_file() and p.read_bytes() != before.get(p, (0, b""))[1]]
    assert changed, "nothing was fixed"
    for path in changed:
        ast.parse(path.read_bytes())
        # Written through the file (issue 18: owner, xattrs and hard links kept): the same inode.
        assert path.stat().st_ino == before[path][0], f"{path.name} was replaced by a new file"
    assert set(folder.iterdir()) == set(before), "temporary files were left behind"
    assert (folder / "clean.py").stat().st_mtime_ns == clean_stat.st_mtime_ns
    assert (folder / "broken.py").read_text() == "def f(:\n"
    assert b"\n" not in crlf.read_bytes().replace(b"\r\n", b""), "CRLF file got LF line ends"
    assert crlf.stat().st_mode & 0o777 == 0o640


def test_check_fix_never_overwrites_a_file_changed_since_it_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, fixable = fixable_folder(tmp_path)
    victim = fixable[0]
    edited = "# the user saved this while nnlint was running\n" + victim.read_text()
    real_read = cli.read_source
    reads = []

    def read_then_someone_saves(path: Path):  # type: ignore[no-untyped-def]
        result = real_read(path)
        reads.append(path)
        if Path(path) == victim and reads.count(path) == 1:
            victim.write_text(edited)  # lands after nnlint read the file, before it writes
        return result

    monkeypatch.setattr(cli, "read_source", read_then_someone_saves)
    code = cli.main(["check", "--fix", "--isolated", "--jobs", "1", str(folder)])
    err = capsys.readouterr().err
    assert victim.read_text() == edited, "nnlint overwrote the user's newer content"
    assert "changed" in err and victim.name in err
    assert code == 2
    for other in fixable[1:]:
        ast.parse(other.read_text())


def test_check_fix_keeps_the_original_when_the_write_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, fixable = fixable_folder(tmp_path)
    originals = {p: p.read_bytes() for p in folder.iterdir()}

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli.os, "fsync", disk_full)
    code = cli.main(["check", "--fix", "--isolated", "--jobs", "1", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "No space left" in err
    assert {p: p.read_bytes() for p in folder.iterdir()} == originals, "a file was damaged or a temp file left"


def test_check_fix_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    folder, fixable = fixable_folder(tmp_path)
    real = tmp_path / "real.py"
    shutil.move(fixable[0], real)
    fixable[0].symlink_to(real)
    original = real.read_text()
    result = run_cli("check", "--fix", "--isolated", str(fixable[0]), cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert fixable[0].is_symlink()
    assert real.read_text() != original
    ast.parse(real.read_text())


def test_fix_output_is_a_fixed_point(tmp_path: Path) -> None:
    """Running `--fix` twice: the second run changes nothing."""
    folder, _ = fixable_folder(tmp_path)
    run_cli("check", "--fix", "--isolated", str(folder), cwd=tmp_path)
    after_first = {p: p.read_bytes() for p in folder.iterdir()}
    second = run_cli("check", "--fix", "--isolated", str(folder), cwd=tmp_path)
    assert "Traceback" not in second.stderr
    assert {p: p.read_bytes() for p in folder.iterdir()} == after_first
    assert "Fixed" not in second.stderr
