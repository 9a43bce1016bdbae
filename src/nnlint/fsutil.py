"""Writing fixed files safely, shared by `--fix` for Python files and notebooks.

The fixed text is written through the file itself, as ruff does, not into a new file
renamed over it: a rename makes a new inode, which loses the file's owner and group (root
fixing a bind-mounted tree), its extended attributes and ACLs, and severs its hard links.
Writing in place keeps all of them, and a symlink stays a symlink. What makes it safe:

- a read-only file is refused (no write permission bit, even for root, who could write
  it anyway: checkout-to-edit workflows mark files read-only on purpose);
- the file is compared with what was checked under the same open handle just before the
  write: a file saved by someone else meanwhile is left alone;
- when the new text is longer, the space is reserved first (posix_fallocate): a full
  disk fails before the first byte of the file changes; a write that fails later puts the
  original bytes back.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

CHANGED = "file changed while it was being checked; fixes not written"
READ_ONLY = "the file is read-only; fixes not written"
NOT_REGULAR = "not a regular file; fixes not written"


def replace_file(path: Path, data: bytes, original: bytes) -> str | None:
    """Write `data` over `path` in place if its content is still `original`. Returns an
    error message (nothing written), or None on success."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            return NOT_REGULAR
        if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
            return READ_ONLY
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    except PermissionError:
        return READ_ONLY
    except OSError as exc:
        return f"cannot write fixes: {exc.strerror or exc}"
    try:
        with os.fdopen(fd, "r+b") as handle:
            if handle.read() != original:
                return CHANGED
            if len(data) > len(original):
                _reserve(handle.fileno(), len(data))
            try:
                _overwrite(handle, data)
            except OSError as exc:
                # a failure after the first byte changed: put back what was there
                try:
                    _overwrite(handle, original, sync=False)
                except OSError as again:
                    return f"cannot write fixes: {exc.strerror or exc}; restoring the file failed too: {again.strerror or again}"
                return f"cannot write fixes: {exc.strerror or exc}; the file is as it was"
    except OSError as exc:
        return f"cannot write fixes: {exc.strerror or exc}"
    return None


def _overwrite(handle: BinaryIO, data: bytes, sync: bool = True) -> None:
    handle.seek(0)
    handle.write(data)
    handle.truncate()
    handle.flush()
    if sync:
        os.fsync(handle.fileno())


def _reserve(fd: int, size: int) -> None:
    """Allocate the file's new size before writing; a file system that cannot (or an OS
    without posix_fallocate) is written without the reservation."""
    allocate = getattr(os, "posix_fallocate", None)
    if allocate is None:
        return
    try:
        allocate(fd, 0, size)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)):
            return
        raise
