"""A real third-party editor: Debian's Neovim (0.7.2) headless, set up by the Neovim 0.7
snippet of docs/editors.md (extracted from the page, not a copy), talking to `nnlint server`
through its built-in LSP client (tests/e2e/nvim/init.lua drives it): diagnostics, hover, a
quick fix applied by Neovim itself and the server's re-check."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INIT = Path(__file__).resolve().parent / "nvim" / "init.lua"
EDITORS = Path(__file__).resolve().parents[2] / "docs" / "editors.md"
NVIM = shutil.which("nvim")
SECTION = "### Neovim 0.7"


def documented_snippet() -> str:
    """The ```lua block of docs/editors.md's Neovim 0.7 section."""
    text = EDITORS.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[: section.index("\n### ", len(SECTION))]
    block = re.search(r"^```lua\n(.*?)^```", section, re.S | re.M)
    assert block, f"no lua block under {SECTION!r} in {EDITORS}"
    return block.group(1)


def test_the_documented_snippet_runs_on_neovim_0_7() -> None:
    """It uses only what 0.7 has (`vim.fs` and `vim.lsp.start` came in 0.8)."""
    snippet = documented_snippet()
    assert "vim.lsp.start_client(" in snippet and 'cmd = { "nnlint", "server" }' in snippet
    assert "vim.fs" not in snippet and "vim.lsp.start(" not in snippet

TRAIN = """\
import torch.nn as nn
import torch.nn.functional as F


# 한국어 주석: 드롭아웃 😀
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = F.dropout(self.fc(x), p=0.5)
        return x
"""
CALL = "F.dropout(self.fc(x), p=0.5)"


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed (run .ci/setup-editors.sh as root)")
def test_neovim_shows_hovers_and_applies_the_quick_fix(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(TRAIN, encoding="utf-8")
    out = tmp_path / "out.json"
    home = tmp_path / "home"
    home.mkdir()
    snippet = tmp_path / "nnlint-setup.lua"
    snippet.write_text(documented_snippet(), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "nnlint"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nnlint "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NNLINT_SNIPPET": str(snippet),
        "NNLINT_OUT": str(out),
        # The snippet runs `nnlint server`: the nnlint on PATH is this interpreter's.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(
        [NVIM, "--headless", "-n", "-i", "NONE", "-u", str(INIT), "train.py"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    log = home / ".cache" / "nvim" / "lsp.log"
    details = f"exit {proc.returncode}\nstderr: {proc.stderr.decode(errors='replace')[-2000:]}"
    if log.exists():
        details += "\nlsp.log:\n" + log.read_text(errors="replace")[-4000:]
    assert out.exists(), details
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in result, f"{result.get('error')}\n{details}"
    assert proc.returncode == 0, details

    line = TRAIN.splitlines().index("        x = F.dropout(self.fc(x), p=0.5)")
    (diagnostic,) = result["diagnostics"]
    assert diagnostic["code"] == "NN203" and diagnostic["source"] == "nnlint"
    assert (diagnostic["lnum"], diagnostic["col"]) == (line, 12)
    assert (diagnostic["end_lnum"], diagnostic["end_col"]) == (line, 12 + len(CALL))
    assert diagnostic["severity"] == 2  # vim.diagnostic.severity.WARN
    assert diagnostic["href"].endswith("/NN203.md") and diagnostic["related"] == 1

    assert "### Related lines" in result["hover"] and "`Net` is an nn.Module" in result["hover"]
    assert "### Why is this bad?" in result["hover"] and "### Example" in result["hover"]
    assert result["actions"][:2] == [
        "nnlint (NN203): Add training=self.training",
        "nnlint (NN203): Disable for this line",
    ]
    assert result["applied"] == "nnlint (NN203): Add training=self.training"
    assert result["text_after"] + "\n" == TRAIN.replace(CALL, "F.dropout(self.fc(x), p=0.5, training=self.training)")
    assert result["cleared"] is True and result["diagnostics_after"] == []
