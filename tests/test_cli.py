"""The CLI contract: `nnlint check|rule|--version`, formats, exit codes, --fix/--diff,
--stdin-filename, parallel runs. Scorers depend on this exactly."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnlint import __version__, cli
from nnlint.config import Settings

FLAGGED = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return F.dropout(self.fc(x), p=0.5)
    """
)
FLAGGED_LINE = 11
CLEAN = "import torch\n\nx = torch.zeros(3)\n"
JSON_KEYS = {"path", "line", "column", "end_line", "end_column", "code", "message", "severity", "fix"}


def run(*args: str, cwd: Path | None = None, stdin: str | bytes | None = None) -> subprocess.CompletedProcess:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    completed = subprocess.run(
        [sys.executable, "-m", "nnlint", *args], cwd=cwd, input=data if data is not None else b"",
        capture_output=True, env=env, timeout=120,
    )
    completed.stdout = completed.stdout.decode("utf-8")  # type: ignore[assignment]
    completed.stderr = completed.stderr.decode("utf-8")  # type: ignore[assignment]
    assert "Traceback" not in completed.stderr, completed.stderr
    return completed


@pytest.fixture(autouse=True)
def _restore_gc():
    """run_check tunes the garbage collector for a short-lived process; undo it."""
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(FLAGGED, encoding="utf-8")
    (tmp_path / "clean.py").write_text(CLEAN, encoding="utf-8")
    return tmp_path


def only_nn203(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["code"] == "NN203"]


# ----------------------------------------------------------------- basics
def test_version() -> None:
    completed = run("--version")
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"nnlint {__version__}"


def test_rule_prints_documentation() -> None:
    completed = run("rule", "NN203")
    assert completed.returncode == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in completed.stdout
    assert "NN203" in completed.stdout


def test_rule_is_case_insensitive_and_unknown_rule_exits_2(capsys) -> None:
    assert cli.main(["rule", "nn203"]) == 0
    assert "functional-dropout-always-on" in capsys.readouterr().out
    assert cli.main(["rule", "NN999"]) == 2
    assert "unknown rule" in capsys.readouterr().err


def test_rule_all_lists_the_catalog(capsys) -> None:
    from nnlint.registry import load_rules

    assert cli.main(["rule", "--all"]) == 0
    out = capsys.readouterr().out
    for code, rule in load_rules().items():
        assert code in out and rule.name in out


def test_usage_errors_exit_2() -> None:
    assert run("check", "--format", "xml", ".").returncode == 2
    bad_select = run("check", "--select", "E501", ".")
    assert bad_select.returncode == 2 and "E501" in bad_select.stderr
    assert run("check", "--jobs", "-1", ".").returncode == 2
    assert run("frobnicate").returncode == 2


# -------------------------------------------------------------- json contract
def test_json_contract(project: Path) -> None:
    completed = run("check", "--format", "json", "model.py", "clean.py", cwd=project)
    assert completed.returncode == 1, completed.stderr
    data = json.loads(completed.stdout)
    assert isinstance(data, list)
    for item in data:
        assert JSON_KEYS <= set(item)
        assert item["severity"] in {"error", "warning", "information", "hint"}
        assert item["line"] >= 1 and item["column"] >= 1
        assert (item["end_line"], item["end_column"]) >= (item["line"], item["column"])
    (finding,) = only_nn203(data)
    assert finding["path"] == "model.py"
    assert finding["line"] == FLAGGED_LINE
    assert finding["column"] == FLAGGED.splitlines()[FLAGGED_LINE - 1].index("F.dropout") + 1
    fix = finding["fix"]
    assert set(fix) >= {"message", "edits"} and fix["message"]
    for edit in fix["edits"]:
        assert set(edit) >= {"line", "column", "end_line", "end_column", "new_text"}


def test_json_columns_count_code_points(tmp_path: Path) -> None:
    # Two-byte and astral characters before the call: columns are code points, not bytes/UTF-16.
    line = "        ñé = '😀'; return F.dropout(self.fc(x), p=0.5)"
    source = FLAGGED.replace("        return F.dropout(self.fc(x), p=0.5)", line)
    (tmp_path / "u.py").write_text(source, encoding="utf-8")
    data = json.loads(run("check", "--format", "json", "--select", "NN203", "u.py", cwd=tmp_path).stdout)
    (finding,) = data
    assert finding["column"] == line.index("F.dropout") + 1
    assert finding["end_column"] == line.index("p=0.5)") + len("p=0.5)") + 1
    (edit,) = finding["fix"]["edits"]
    assert edit["column"] == line.index(", p=0.5)") + len(", p=0.5") + 1 or edit["column"] > finding["column"]


def test_json_without_findings_is_an_empty_array_and_exit_0(project: Path) -> None:
    completed = run("check", "--format", "json", "clean.py", cwd=project)
    assert completed.returncode == 0
    assert json.loads(completed.stdout) == []


def test_exit_codes(project: Path, capsys) -> None:
    assert cli.main(["check", str(project / "clean.py")]) == 0
    assert cli.main(["check", str(project / "model.py")]) == 1
    assert cli.main(["check", "--exit-zero", str(project / "model.py")]) == 0
    assert cli.main(["check", str(project / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    # I/O errors win over findings: the run was incomplete.
    assert cli.main(["check", str(project / "model.py"), str(project / "missing.py")]) == 2


def test_text_format(project: Path, capsys) -> None:
    assert cli.main(["check", "--select", "NN203", str(project / "model.py")]) == 1
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    column = FLAGGED.splitlines()[FLAGGED_LINE - 1].index("F.dropout") + 1
    assert first.startswith(f"{project / 'model.py'}:{FLAGGED_LINE}:{column}: NN203 ")
    assert "[fix: Add training=self.training]" in first
    assert "Found 1 finding" in out


def test_select_and_ignore_flags(project: Path, capsys) -> None:
    assert cli.main(["check", "--format", "json", "--ignore", "NN203", str(project / "model.py")]) in (0, 1)
    assert not only_nn203(json.loads(capsys.readouterr().out))
    assert cli.main(["check", "--format", "json", "--select", "NN2", str(project / "model.py")]) == 1
    data = json.loads(capsys.readouterr().out)
    assert only_nn203(data) and all(f["code"].startswith("NN2") for f in data)


# ----------------------------------------------------------------- fix / diff
def test_diff_shows_and_writes_nothing(project: Path) -> None:
    completed = run("check", "--diff", "--select", "NN203", "model.py", cwd=project)
    assert completed.returncode == 1
    assert "--- a/model.py" in completed.stdout and "+++ b/model.py" in completed.stdout
    assert "+        return F.dropout(self.fc(x), p=0.5, training=self.training)" in completed.stdout
    assert (project / "model.py").read_text(encoding="utf-8") == FLAGGED


def test_fix_writes_in_place(project: Path) -> None:
    os.chmod(project / "model.py", 0o640)
    completed = run("check", "--fix", "--select", "NN203", "model.py", cwd=project)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    fixed = (project / "model.py").read_text(encoding="utf-8")
    assert fixed == FLAGGED.replace("p=0.5)", "p=0.5, training=self.training)")
    assert (os.stat(project / "model.py").st_mode & 0o777) == 0o640
    assert not [p for p in project.iterdir() if p.name.endswith(".nnlint")]  # no temp file left
    again = run("check", "--fix", "--select", "NN203", "model.py", cwd=project)
    assert again.returncode == 0 and (project / "model.py").read_text(encoding="utf-8") == fixed


def test_fix_keeps_crlf_bom_and_declared_encoding(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"\xef\xbb\xbf" + FLAGGED.replace("\n", "\r\n").encode("utf-8"))
    latin = tmp_path / "latin.py"
    latin.write_bytes(("# -*- coding: latin-1 -*-\n# caf\u00e9\n" + FLAGGED).encode("latin-1"))
    assert cli.main(["check", "--fix", "--select", "NN203", str(crlf), str(latin)]) == 0
    data = crlf.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"training=self.training)\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    text = latin.read_bytes().decode("latin-1")
    assert "# caf\u00e9" in text and "training=self.training" in text


def test_fix_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    path = tmp_path / "a.py"
    path.write_text("x = 1\n", encoding="utf-8")
    # The editor saved something else after nnlint read "x = 1\n".
    path.write_text("x = 2\n", encoding="utf-8")
    error = cli._write_atomically(path, "x = 1\n", "x = 3\n")
    assert error and "changed" in error
    assert path.read_text(encoding="utf-8") == "x = 2\n"
    assert cli._write_atomically(path, "x = 2\n", "x = 3\n") is None
    assert path.read_text(encoding="utf-8") == "x = 3\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


def test_fix_with_diff_only_shows(project: Path, capsys) -> None:
    assert cli.main(["check", "--fix", "--diff", "--select", "NN203", str(project / "model.py")]) == 1
    assert "training=self.training" in capsys.readouterr().out
    assert (project / "model.py").read_text(encoding="utf-8") == FLAGGED


# --------------------------------------------------------------------- stdin
def test_stdin_filename_reports_under_that_name(tmp_path: Path) -> None:
    completed = run("check", "--format", "json", "--stdin-filename", "src/net.py", cwd=tmp_path, stdin=FLAGGED)
    assert completed.returncode == 1
    (finding,) = only_nn203(json.loads(completed.stdout))
    assert finding["path"] == "src/net.py" and finding["line"] == FLAGGED_LINE
    clean = run("check", "--format", "json", "--stdin-filename", "x.py", cwd=tmp_path, stdin=CLEAN)
    assert clean.returncode == 0 and json.loads(clean.stdout) == []


def test_stdin_uses_the_configuration_of_that_path(tmp_path: Path) -> None:
    sub = tmp_path / "proj"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.nnlint]\nignore = ["NN203"]\n', encoding="utf-8")
    completed = run("check", "--format", "json", "--stdin-filename", "proj/net.py", cwd=tmp_path, stdin=FLAGGED)
    assert not only_nn203(json.loads(completed.stdout))


def test_stdin_fix_prints_the_fixed_source(tmp_path: Path) -> None:
    completed = run("check", "--fix", "--select", "NN203", "--stdin-filename", "net.py", cwd=tmp_path, stdin=FLAGGED)
    assert completed.returncode == 0
    assert completed.stdout == FLAGGED.replace("p=0.5)", "p=0.5, training=self.training)")
    diff = run("check", "--diff", "--select", "NN203", "--stdin-filename", "net.py", cwd=tmp_path, stdin=FLAGGED)
    assert diff.stdout.startswith("--- a/net.py")


def test_stdin_syntax_error_and_bad_bytes(tmp_path: Path) -> None:
    completed = run("check", "--format", "json", "--stdin-filename", "bad.py", cwd=tmp_path, stdin="x = (\n")
    assert completed.returncode == 1
    (finding,) = json.loads(completed.stdout)
    assert finding["code"] == "NN000" and finding["path"] == "bad.py"
    binary = run("check", "--format", "json", "--stdin-filename", "bin.py", cwd=tmp_path, stdin=b"x = '\xff\xfe'\n")
    (finding,) = json.loads(binary.stdout)
    assert finding["code"] == "NN000" and "utf-8" in finding["message"].lower()


# ------------------------------------------------------------------ parallel
def test_parallel_and_sequential_runs_agree(tmp_path: Path, monkeypatch) -> None:
    for number in range(12):
        (tmp_path / f"m{number}.py").write_text(FLAGGED if number % 2 else CLEAN, encoding="utf-8")
    (tmp_path / "broken.py").write_text("def f(:\n", encoding="utf-8")
    files, _ = cli.collect_files([tmp_path])
    jobs = [(path, Settings(), False, False) for path in files]
    sequential = cli._run_jobs(jobs, 1)
    monkeypatch.setattr(cli, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(cli, "PARALLEL_MIN_FILES", 2)
    parallel = cli._run_jobs(jobs, 2)
    key = lambda reports: [(r.path, [(f.code, f.span, f.message) for f in r.findings]) for r in reports]  # noqa: E731
    assert key(parallel) == key(sequential)
    assert sum(len(r.findings) for r in parallel) >= 7


def test_a_crashing_rule_is_reported_and_the_others_still_run(project: Path, monkeypatch, capsys) -> None:
    from nnlint.registry import load_rules

    rule = load_rules()["NN203"]

    def boom(self, ctx):  # noqa: ANN001
        raise AttributeError("boom")
        yield

    monkeypatch.setattr(rule, "check", boom)
    code = cli.main(["check", "--format", "json", "--jobs", "1", str(project / "model.py")])
    captured = capsys.readouterr()
    assert code == 2
    assert "internal error in NN203" in captured.err and "boom" in captured.err
    json.loads(captured.out)
