"""`--fix` and the file system (issue 18, item 3).

The fixed text is written through the file (as ruff does): owner, group, mode, extended
attributes and hard links stay; a read-only file is refused and said so, its findings
still reported and no "Fixed N" claimed; a `coding: utf-8-sig` file keeps one BOM.
These run the real CLI in a subprocess on real files (the suite runs as root here, which
is what makes the owner case testable: root fixing another user's file).
"""

from __future__ import annotations

import codecs
import json
import os
import stat
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
FIXED = FLAGGED.replace("p=0.5)", "p=0.5, training=self.training)")


def fix(*paths: Path, fmt: str = "text") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nnlint", "check", "--fix", "--format", fmt, "--select", "NN203", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(FLAGGED, encoding="utf-8")
    return path


def test_read_only_file_is_refused_said_so_and_its_finding_still_reported(model: Path) -> None:
    other = model.parent / "other.py"
    other.write_text(FLAGGED, encoding="utf-8")
    os.chmod(model, 0o444)
    done = fix(model, other, fmt="json")
    assert done.returncode == 2, done.stderr
    assert model.read_text(encoding="utf-8") == FLAGGED  # not replaced
    assert f"{model}: the file is read-only; fixes not written" in done.stderr
    reported = json.loads(done.stdout)
    assert [(Path(f["path"]).name, f["code"]) for f in reported] == [("model.py", "NN203")]  # not dropped
    assert other.read_text(encoding="utf-8") == FIXED  # the rest of the run goes on
    text = fix(model)
    assert "Fixed" not in text.stderr and "read-only" in text.stderr and "NN203" in text.stdout


def test_only_the_fixes_written_are_counted(model: Path) -> None:
    other = model.parent / "other.py"
    other.write_text(FLAGGED, encoding="utf-8")
    os.chmod(model, 0o444)
    done = fix(model, other)
    assert "Fixed 1 finding." in done.stderr, done.stderr


def test_writable_file_in_a_read_only_folder_is_fixed_in_place(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "model.py"
    path.write_text(FLAGGED, encoding="utf-8")
    inode = path.stat().st_ino
    os.chmod(folder, 0o555)
    try:
        done = fix(path)
    finally:
        os.chmod(folder, 0o755)
    assert done.returncode == 0, done.stderr
    assert "Fixed 1 finding." in done.stderr
    assert path.read_text(encoding="utf-8") == FIXED
    assert path.stat().st_ino == inode
    assert sorted(p.name for p in folder.iterdir()) == ["model.py"]  # no temporary file


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_owner_group_and_mode_are_kept(model: Path) -> None:
    os.chown(model, 4321, 8765)
    os.chmod(model, 0o640)
    done = fix(model)
    assert done.returncode == 0, done.stderr
    info = model.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 8765, 0o640)
    assert model.read_text(encoding="utf-8") == FIXED


def test_hard_links_see_the_fix(model: Path) -> None:
    link = model.parent / "same_file.py"
    os.link(model, link)
    done = fix(model)
    assert done.returncode == 0, done.stderr
    assert link.read_text(encoding="utf-8") == FIXED
    assert model.stat().st_nlink == 2 and model.stat().st_ino == link.stat().st_ino


def test_extended_attributes_are_kept(model: Path) -> None:
    try:
        os.setxattr(model, "user.nnlint-test", b"kept")
    except (OSError, AttributeError):
        pytest.skip("no user extended attributes on this file system")
    done = fix(model)
    assert done.returncode == 0, done.stderr
    assert os.getxattr(model, "user.nnlint-test") == b"kept"
    assert model.read_text(encoding="utf-8") == FIXED


def test_a_symlink_stays_a_symlink(model: Path) -> None:
    link = model.parent / "link.py"
    link.symlink_to(model.name)
    done = fix(link)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and model.read_text(encoding="utf-8") == FIXED


@pytest.mark.parametrize("head", ["# -*- coding: utf-8-sig -*-\n", "#!/usr/bin/env python\n# coding: utf-8-sig\n"])
def test_utf8_sig_cookie_with_a_bom_keeps_one_bom(tmp_path: Path, head: str) -> None:
    path = tmp_path / "sig.py"
    path.write_bytes(codecs.BOM_UTF8 + (head + FLAGGED).encode("utf-8"))
    done = fix(path)
    assert done.returncode == 0, done.stderr
    data = path.read_bytes()
    assert data == codecs.BOM_UTF8 + (head + FIXED).encode("utf-8")
    compile(data, str(path), "exec")  # a second BOM was a U+FEFF SyntaxError


def test_utf8_sig_cookie_without_a_bom_gets_none(tmp_path: Path) -> None:
    path = tmp_path / "sig.py"
    path.write_bytes(("# coding: utf-8-sig\n" + FLAGGED).encode("utf-8"))
    assert fix(path).returncode == 0
    assert path.read_bytes() == ("# coding: utf-8-sig\n" + FIXED).encode("utf-8")


def test_read_only_notebook_is_refused_and_its_finding_still_reported(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": FLAGGED, "outputs": [], "execution_count": None}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    before = path.read_bytes()
    os.chmod(path, 0o444)
    done = fix(path)
    assert done.returncode == 2 and "read-only" in done.stderr
    assert "Fixed" not in done.stderr and "NN203" in done.stdout
    assert path.read_bytes() == before
