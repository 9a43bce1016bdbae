"""Odd trees (issue 18, item 4): each gets a warning naming its path, and the rest of the
run goes on: a flagged file beside it is still reported. The CLI runs in a subprocess
with a timeout, so a hang fails the test instead of the suite."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FLAGGED = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def forward(self, x):
            return F.dropout(x, p=0.5)
    """
)


def check(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "nnlint", "check", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "flagged.py").write_text(FLAGGED, encoding="utf-8")
    return tmp_path


def assert_rest_reported(done: subprocess.CompletedProcess) -> None:
    assert "flagged.py:7" in done.stdout and "NN203" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 1  # the findings decide; a skipped path is a warning


def test_symlink_loop(tree: Path) -> None:
    (tree / "a.py").symlink_to("b.py")
    (tree / "b.py").symlink_to("a.py")
    done = check(".", cwd=tree)
    assert "nnlint: warning: a.py: symlink loop; skipped" in done.stderr
    assert "nnlint: warning: b.py: symlink loop; skipped" in done.stderr
    assert_rest_reported(done)


def test_dangling_symlink(tree: Path) -> None:
    (tree / "gone.py").symlink_to("nowhere.py")
    done = check(".", cwd=tree)
    assert "nnlint: warning: gone.py: dangling symlink; skipped" in done.stderr
    assert_rest_reported(done)


def test_gitignore_pattern_with_a_reversed_range(tree: Path) -> None:
    (tree / ".gitignore").write_text("[z-a]\nignored.py\n", encoding="utf-8")
    (tree / "ignored.py").write_text(FLAGGED, encoding="utf-8")
    done = check(".", cwd=tree)
    assert "nnlint: warning: .gitignore:1: ignore pattern '[z-a]' cannot be read" in done.stderr
    assert "ignored.py" not in done.stdout  # the other patterns still apply
    assert_rest_reported(done)


def test_pyproject_nested_too_deeply(tree: Path) -> None:
    (tree / "pyproject.toml").write_text(
        "[tool.black]\nx = " + "[" * 600 + "]" * 600 + "\n[tool.nnlint]\nignore = ['NN203']\n", encoding="utf-8"
    )
    done = check(".", cwd=tree)
    assert f"nnlint: warning: {tree.resolve() / 'pyproject.toml'}: cannot read configuration: values nested too deeply" in (
        done.stderr
    )
    assert_rest_reported(done)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_named_like_a_source_file(tree: Path) -> None:
    os.mkfifo(tree / "f.py")
    done = check(".", cwd=tree)
    assert "nnlint: warning: f.py: not a regular file (a FIFO); skipped" in done.stderr
    assert_rest_reported(done)
    named = check("f.py", "flagged.py", cwd=tree)  # named on the command line too
    assert "nnlint: warning: f.py: not a regular file (a FIFO); skipped" in named.stderr
    assert_rest_reported(named)
