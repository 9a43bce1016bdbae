"""The pre-commit hooks in .pre-commit-hooks.yaml, run for real with `pre-commit try-repo`.

try-repo installs a repository at a commit into an isolated environment, downloading
nnlint's dependencies from PyPI the first time. The test commits a snapshot of the
working tree's package files (so it tests what is on disk, uncommitted hooks file
included, and nothing else another change left half-done in tracked files outside the
package) into a folder named by their content, under NNLINT_PRE_COMMIT_HOME (default
~/.cache/nnlint-tests), with PRE_COMMIT_HOME beside it: unchanged sources reuse the
environment, a change costs one install (about a minute).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"

pre_commit = pytest.importorskip(
    "pre_commit", reason="pre-commit is not installed (pip install pre-commit; it belongs in the test extra)"
)
yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit")

BUGGY = '''import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(F.dropout(x, p=0.5))
'''
CLEAN = "x = 1\n"


def test_hooks_file_declares_check_and_fix_hooks():
    hooks = {hook["id"]: hook for hook in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    assert set(hooks) == {"nnlint", "nnlint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["entry"].split()[:2] == ["nnlint", "check"]
    assert "--fix" not in hooks["nnlint"]["entry"]
    assert hooks["nnlint-fix"]["entry"].endswith("--fix")


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **(env or {})})


CACHE = Path(os.environ.get("NNLINT_PRE_COMMIT_HOME") or Path.home() / ".cache" / "nnlint-tests")
# What `pip install .` needs, plus the hooks file: copied from the working tree.
SNAPSHOT = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "src", "rules", "server")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _snapshot() -> tuple[Path, str]:
    """A git repository holding the working tree's package files, committed with a fixed
    date and author, under a folder named by their content: unchanged sources give the
    same path and commit, so pre-commit reuses the environment it built last time."""
    digest = hashlib.sha256()
    for name in SNAPSHOT:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p))
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes() + b"\0")
    repo = CACHE / "snapshots" / digest.hexdigest()[:16]
    if not (repo / ".git" / "nnlint-ready").is_file():
        CACHE.mkdir(parents=True, exist_ok=True)  # a fresh machine has no cache yet
        staging = Path(tempfile.mkdtemp(prefix="snapshot-", dir=CACHE))
        for name in SNAPSHOT:
            source = ROOT / name
            if source.is_file():
                shutil.copy2(source, staging / name)
            else:
                shutil.copytree(source, staging / name, ignore=_IGNORED)
        fixed = {"GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z"}
        _git(staging, "init", "-q")
        _git(staging, "add", ".")
        _git(staging, "-c", "user.email=test@example.com", "-c", "user.name=test", "commit", "-qm", "snapshot", env=fixed)
        (staging / ".git" / "nnlint-ready").write_text("ok\n")
        repo.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(repo)
        except OSError:  # another run made it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    return repo, rev


@pytest.fixture(scope="module")
def snapshot() -> tuple[Path, str]:
    repo, rev = _snapshot()
    for old in (CACHE / "snapshots").iterdir():  # keep the cache small
        if old != repo and time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return repo, rev


def _env() -> dict[str, str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(CACHE / "pre-commit"), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for name in ("PRE_COMMIT", "SKIP"):
        env.pop(name, None)
    return env


def _try_repo(snapshot: tuple[Path, str], project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo` (its own throw-away store: one environment install per call)."""
    repo, rev = snapshot
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(repo), *args, "--ref", rev, "--verbose", "--all-files"],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=900,
    )


def _run(snapshot: tuple[Path, str], project: Path, hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` with a config naming the same repository and commit, as users
    write it; its environment is cached in PRE_COMMIT_HOME."""
    repo, rev = snapshot
    config = project / ".pre-commit-config.yaml"
    config.write_text(
        yaml.safe_dump({"repos": [{"repo": str(repo), "rev": rev, "hooks": [{"id": "nnlint"}, {"id": "nnlint-fix"}]}]}),
        encoding="utf-8",
    )
    args = ["--files", *files] if files else ["--all-files"]
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", hook, "--verbose", "--config", str(config), *args],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=900,
    )


@pytest.fixture()
def project(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "project"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "test@example.com")
    _git(repo, "config", "user.name", "test")
    (repo / "model.py").write_text(BUGGY, encoding="utf-8")
    (repo / "clean.py").write_text(CLEAN, encoding="utf-8")
    (repo / "notes.txt").write_text("F.dropout(x, p=0.5)\n", encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "init")
    return repo


def test_try_repo_runs_both_hooks(project, snapshot):
    # try-repo with no hook id runs every hook of the repository, in order: the check
    # hook fails and names the finding, then the fix hook rewrites the file.
    result = _try_repo(snapshot, project)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert re.search(r"^nnlint\.+Failed$", result.stdout, re.M), output
    assert re.search(r"^nnlint \(fix\)\.+Failed$", result.stdout, re.M), output
    assert "model.py:11:" in output and "NN203" in output, output
    assert "notes.txt" not in output  # types_or keeps other files away
    assert "files were modified by this hook" in output, output
    fixed = (project / "model.py").read_text(encoding="utf-8")
    assert "F.dropout(x, p=0.5, training=self.training)" in fixed
    assert fixed.replace(", training=self.training", "") == BUGGY  # nothing else touched


def test_hooks_pass_on_clean_code_and_report_on_buggy_code(project, snapshot):
    result = _run(snapshot, project, "nnlint", "clean.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^nnlint\.+Passed$", result.stdout, re.M), result.stdout
    result = _run(snapshot, project, "nnlint")
    assert result.returncode == 1 and "NN203" in result.stdout, result.stdout + result.stderr
    assert (project / "model.py").read_text(encoding="utf-8") == BUGGY  # the check hook writes nothing
    result = _run(snapshot, project, "nnlint-fix")
    assert result.returncode == 1 and "files were modified by this hook" in result.stdout, result.stdout
    for hook in ("nnlint-fix", "nnlint"):  # once fixed, both pass
        result = _run(snapshot, project, hook)
        assert result.returncode == 0, result.stdout + result.stderr
