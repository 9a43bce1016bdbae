"""Writing fixed files safely, shared by `--fix` for Python files and notebooks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

CHANGED = "file changed while it was being checked; fixes not written"


def replace_file(path: Path, data: bytes, unchanged: Callable[[], bool]) -> str | None:
    """Write `data` over `path` through a temporary file and a rename, keeping the file's
    permissions (and a symlink a symlink). `unchanged()` is asked just before the rename:
    a file saved by someone else since it was read is never overwritten. Returns an error
    message, or None on success."""
    try:
        mode = path.stat().st_mode
        target = path.resolve()  # replace what a symlink points to, not the link
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".nnlint", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode & 0o7777)
            if not unchanged():
                os.unlink(tmp)
                return CHANGED
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        return f"cannot write fixes: {exc.strerror or exc}"
    return None
