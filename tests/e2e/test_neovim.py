"""A real third-party editor: Debian's Neovim (0.7.2) headless, talking to `nnlint server`
through its built-in LSP client (tests/e2e/nvim/init.lua): diagnostics, hover, a quick
fix applied by Neovim itself and the server's re-check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INIT = Path(__file__).resolve().parent / "nvim" / "init.lua"
NVIM = shutil.which("nvim")

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
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "NNLINT_PYTHON": sys.executable,
        "NNLINT_OUT": str(out),
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

    assert "### This finding" in result["hover"] and "`Net` is an nn.Module" in result["hover"]
    assert "### Rule documentation" in result["hover"]
    assert result["actions"][:2] == [
        "nnlint (NN203): Add training=self.training",
        "nnlint (NN203): Disable for this line",
    ]
    assert result["applied"] == "nnlint (NN203): Add training=self.training"
    assert result["text_after"] + "\n" == TRAIN.replace(CALL, "F.dropout(self.fc(x), p=0.5, training=self.training)")
    assert result["cleared"] is True and result["diagnostics_after"] == []
