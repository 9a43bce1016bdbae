"""What `nnlint check --fix` keeps of a file (issue 18): owner, group, mode, hard links,
extended attributes, a symlink, one BOM; and that it refuses a read-only file.

Runs the real CLI (`python -m nnlint check --fix`) in a subprocess on files in a temporary
folder, and reads the file system afterwards. Used by `python -m nnlint.reliability`.
"""

from __future__ import annotations

import codecs
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGGED = (
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "\n"
    "\n"
    "class Net(nn.Module):\n"
    "    def forward(self, x):\n"
    "        return F.dropout(x, p=0.5)\n"
)
FIXED = FLAGGED.replace("p=0.5)", "p=0.5, training=self.training)")


def _fix(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", "-m", "nnlint", "check", "--fix", "--select", "NN203", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def fix_metadata_check() -> dict[str, str]:
    """{check: "ok" | "FAILED: why" | "skipped: why"}."""
    results: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)

        def model(name: str, text: str = FLAGGED) -> Path:
            path = root / name
            path.write_text(text, encoding="utf-8")
            return path

        def fixed(path: Path) -> bool:
            done = _fix(path)
            return done.returncode == 0 and path.read_text(encoding="utf-8").endswith(FIXED)

        path = model("owner.py")
        if hasattr(os, "chown") and os.geteuid() == 0:
            os.chown(path, 4321, 8765)
            os.chmod(path, 0o640)
            ok = fixed(path)
            info = path.stat()
            kept = (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 8765, 0o640)
            results["owner and group"] = "ok" if ok and kept else f"FAILED: now {info.st_uid}:{info.st_gid}"
            results["mode"] = "ok" if ok and stat.S_IMODE(info.st_mode) == 0o640 else f"FAILED: {oct(info.st_mode)}"
        else:
            results["owner and group"] = "skipped: needs root to give a file to another user"
            os.chmod(path, 0o640)
            ok = fixed(path)
            results["mode"] = "ok" if ok and stat.S_IMODE(path.stat().st_mode) == 0o640 else "FAILED"

        path = model("linked.py")
        other = root / "other_name.py"
        os.link(path, other)
        ok = fixed(path)
        results["hard links"] = "ok" if ok and other.read_text(encoding="utf-8") == FIXED else "FAILED: the other name kept the old text"

        path = model("xattr.py")
        try:
            os.setxattr(path, "user.nnlint-check", b"kept")
        except (OSError, AttributeError):
            results["extended attributes"] = "skipped: not supported here"
        else:
            ok = fixed(path)
            try:
                kept = os.getxattr(path, "user.nnlint-check") == b"kept"
            except OSError:
                kept = False
            results["extended attributes"] = "ok" if ok and kept else "FAILED: dropped"

        target = model("target.py")
        link = root / "link.py"
        link.symlink_to(target.name)
        ok = _fix(link).returncode == 0
        results["symlink"] = "ok" if ok and link.is_symlink() and target.read_text(encoding="utf-8") == FIXED else "FAILED"

        path = root / "bom.py"
        head = "#!/usr/bin/env python\n# coding: utf-8-sig\n"
        path.write_bytes(codecs.BOM_UTF8 + (head + FLAGGED).encode("utf-8"))
        ok = _fix(path).returncode == 0
        data = path.read_bytes()
        one_bom = data == codecs.BOM_UTF8 + (head + FIXED).encode("utf-8")
        results["BOM (coding utf-8-sig)"] = "ok" if ok and one_bom else f"FAILED: starts {data[:8]!r}"

        path = model("readonly.py")
        os.chmod(path, 0o444)
        done = _fix(path)
        refused = done.returncode == 2 and "read-only" in done.stderr and "Fixed" not in done.stderr
        unchanged = path.read_text(encoding="utf-8") == FLAGGED
        results["read-only file refused"] = "ok" if refused and unchanged else f"FAILED: {done.stderr.strip()[:200]}"
    return results
