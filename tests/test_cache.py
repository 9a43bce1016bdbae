"""The result cache (issue 15): a re-run serves each unchanged file's findings from
`.nnlint_cache/` without analysing it; any edit of the file, of a project module its
analysis read (or that module's imports), a module appearing where an import found
none, or other settings, analyses it again. Safe under parallel runs; off with
--no-cache, NNLINT_NO_CACHE, and for --fix/--diff."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nnlint.cli as cli
from nnlint.cache import GITIGNORE

from test_cli import FLAGGED

# main.py's NN202 (line 11) exists because helpers.validate() calls base.prepare(), which
# puts the model in eval mode; `extras` is imported but exists nowhere yet.
MAIN = """\
import torch
from helpers import validate
from extras import unused
from models import Net

model = Net()
opt = torch.optim.Adam(model.parameters())
for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    validate(model, val_loader)
"""
HELPERS = """\
import torch
from base import prepare


def validate(model, loader):
    prepare(model)
    with torch.no_grad():
        return [model(x) for x, _ in loader]
"""
BASE = """\
def prepare(model):
    model.eval()
"""
MODELS = """\
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 2))

    def forward(self, x):
        return self.body(x)
"""
FINDING = ("NN202", 11)


@pytest.fixture(autouse=True)
def cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NNLINT_NO_CACHE", raising=False)
    monkeypatch.delenv("NNLINT_CACHE_DIR", raising=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (root / "main.py").write_text(MAIN)
    (root / "helpers.py").write_text(HELPERS)
    (root / "base.py").write_text(BASE)
    (root / "models.py").write_text(MODELS)
    for path in root.iterdir():
        settled(path)
    return root


def settled(path: Path) -> None:
    """Date a file a minute back: the cache does not store results that depend on a module
    saved just before or during the run (it may have been analysed in another version)."""
    past = time.time() - 60
    os.utime(path, (past, past))


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files the CLI analysed (rather than read from the cache)."""
    seen: list[str] = []
    real = cli._check_text
    monkeypatch.setattr(cli, "_check_text", lambda text, display, *a, **k: seen.append(Path(display).name) or real(text, display, *a, **k))
    return seen


def check(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    """One `nnlint check` run, as a fresh process would make it (no project index kept
    from an earlier run in this process)."""
    import nnlint.project

    nnlint.project._SHARED.clear()
    code = cli.main(["check", "--format", "json", "--jobs", "1", "--cache-dir", str(root.parent / "cache"), *args, str(root / "main.py")])
    out = capsys.readouterr().out
    return code, json.loads(out or "[]")


def codes(findings: list[dict]) -> list[tuple[str, int]]:
    return [(f["code"], f["line"]) for f in findings]


def test_a_second_run_reads_the_cache_and_reports_the_same(project: Path, analysed: list[str], capsys) -> None:
    first = check(project, capsys=capsys)
    assert first[0] == 1 and codes(first[1]) == [FINDING], first
    assert analysed == ["main.py"]
    second = check(project, capsys=capsys)
    assert second == first
    assert analysed == ["main.py"], "the second run analysed again"
    cache = project.parent / "cache"
    assert (cache / ".gitignore").read_text() == GITIGNORE
    assert (cache / "CACHEDIR.TAG").is_file()


def test_editing_any_byte_of_the_file_misses(project: Path, capsys) -> None:
    check(project, capsys=capsys)
    results = cli_cache(project)
    original = MAIN.encode()
    for position in range(len(original)):
        changed = bytearray(original)
        changed[position] = ord("#") if original[position] != ord("#") else ord("x")
        (project / "main.py").write_bytes(bytes(changed))
        assert cli._from_cache(results, project / "main.py", cli.Settings(), {}) is None, position
    (project / "main.py").write_bytes(original)
    assert cli._from_cache(results, project / "main.py", cli.Settings(), {}) is not None


def cli_cache(project: Path):  # type: ignore[no-untyped-def]
    from nnlint.cache import ResultCache

    return ResultCache(project.parent / "cache")


@pytest.mark.parametrize(
    "module, text",
    [("helpers.py", HELPERS), ("base.py", BASE), ("models.py", MODELS)],
    ids=["imported", "imported by the import", "model class"],
)
def test_editing_any_byte_of_an_imported_project_module_misses(project: Path, module: str, text: str, capsys) -> None:
    check(project, capsys=capsys)
    original = text.encode()
    for position in range(len(original)):
        changed = bytearray(original)
        changed[position] = ord("#") if original[position] != ord("#") else ord("x")
        (project / module).write_bytes(bytes(changed))
        assert cli._from_cache(cli_cache(project), project / "main.py", cli.Settings(), {}) is None, position
    (project / module).write_bytes(original)
    assert cli._from_cache(cli_cache(project), project / "main.py", cli.Settings(), {}) is not None


def test_a_changed_module_changes_the_result(project: Path, analysed: list[str], capsys) -> None:
    _, before = check(project, capsys=capsys)
    assert codes(before) == [FINDING]
    (project / "base.py").write_text(BASE.replace("model.eval()", "pass"))
    _, after = check(project, capsys=capsys)
    assert codes(after) == []
    (project / "base.py").write_text(BASE)
    _, restored = check(project, capsys=capsys)
    assert restored == before
    # base.py's text is the first run's again: that run's entry matches (keyed by content).
    assert analysed == ["main.py", "main.py"]


def test_a_module_appearing_where_an_import_found_none_misses(project: Path, analysed: list[str], capsys) -> None:
    check(project, capsys=capsys)
    (project / "extras.py").write_text("unused = 1\n")
    settled(project / "extras.py")
    check(project, capsys=capsys)
    assert analysed == ["main.py", "main.py"]
    check(project, capsys=capsys)
    assert analysed == ["main.py", "main.py"]


def test_a_result_depending_on_a_module_saved_during_the_run_is_not_stored(
    project: Path, analysed: list[str], capsys
) -> None:
    (project / "base.py").write_text(BASE)  # just saved: it may change again under the run
    first = check(project, capsys=capsys)
    assert check(project, capsys=capsys) == first
    assert analysed == ["main.py", "main.py"], "a result read from a module saved during the run was stored"
    settled(project / "base.py")
    check(project, capsys=capsys)
    check(project, capsys=capsys)
    assert analysed == ["main.py", "main.py", "main.py"]


def test_other_settings_miss_and_no_cache_neither_reads_nor_writes(project: Path, analysed: list[str], capsys) -> None:
    check(project, capsys=capsys)
    code, only = check(project, "--select", "NN1", capsys=capsys)
    assert analysed == ["main.py", "main.py"] and (code, only) == (0, [])
    check(project, "--no-cache", capsys=capsys)
    assert analysed == ["main.py", "main.py", "main.py"]
    fresh = project.parent / "fresh"
    cli.main(["check", "--no-cache", "--cache-dir", str(fresh), str(project / "main.py")])
    cli.main(["check", "--diff", "--cache-dir", str(fresh), str(project / "main.py")])
    capsys.readouterr()
    assert not fresh.exists()


def test_a_corrupt_entry_is_a_miss_and_is_rewritten(project: Path, analysed: list[str], capsys) -> None:
    first = check(project, capsys=capsys)
    entries = list((project.parent / "cache").rglob("*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"format": 1, "key": ')
    assert check(project, capsys=capsys) == first
    assert check(project, capsys=capsys) == first
    assert analysed == ["main.py", "main.py"]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("NNLINT_NO_CACHE", "NNLINT_CACHE_DIR")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-m", "nnlint", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=300)


def test_where_the_cache_lives(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(FLAGGED)
    assert run_cli("check", "m.py", cwd=tmp_path).returncode == 1
    assert (tmp_path / ".nnlint_cache" / ".gitignore").read_text() == GITIGNORE
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\ncache-dir = 'build/lint-cache'\n")
    assert run_cli("check", "m.py", cwd=tmp_path).returncode == 1
    assert list((tmp_path / "build" / "lint-cache").rglob("*.json"))
    assert run_cli("check", "m.py", cwd=tmp_path, env={"NNLINT_CACHE_DIR": str(tmp_path / "env")}).returncode == 1
    assert list((tmp_path / "env").rglob("*.json"))
    (tmp_path / "pyproject.toml").write_text("[tool.nnlint]\ncache-dir = 3\n")
    bad = run_cli("check", "m.py", cwd=tmp_path)
    assert bad.returncode == 2 and "'cache-dir' must be a folder path, got 3" in bad.stderr


def test_parallel_runs_share_one_cache_safely(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    for number in range(40):
        (folder / f"m{number}.py").write_text(FLAGGED if number % 2 else "x = 1\n")
    cache = tmp_path / "cache"
    command = [sys.executable, "-m", "nnlint", "check", "--format", "json", "--cache-dir", str(cache), "--jobs", "2", str(folder)]
    environment = {k: v for k, v in os.environ.items() if k != "NNLINT_NO_CACHE"}
    runs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
            for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    expected = run_cli("check", "--format", "json", "--no-cache", str(folder), cwd=tmp_path).stdout
    for out, err in outputs:
        assert err == "" and json.loads(out) == json.loads(expected)
    assert not [p for p in cache.rglob("*") if p.name.endswith(".tmp")], "temporary files left behind"
    again = run_cli("check", "--format", "json", "--cache-dir", str(cache), str(folder), cwd=tmp_path)
    assert json.loads(again.stdout) == json.loads(expected)
