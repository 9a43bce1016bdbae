"""nnlint's one way to call the standard library's parser.

CPython before 3.11.9 / 3.12.4 keeps the AST converter's recursion depth in state shared by
all threads (python/cpython#106905): two `ast.parse` calls running at once on different
threads (the language server's two analysis workers, the project index's background
lookups) fail now and then with "SystemError: AST constructor recursion depth mismatch",
and a document never gets its diagnostics. Every parse in nnlint goes through `parse_python`,
which holds a lock for the duration of the parse. Uncontended (the CLI, one process per
worker) the lock costs well under a microsecond against milliseconds of parsing; in the
server only the parse itself is serialised, the rest of an analysis still runs in parallel.
The standard library is never patched: code outside nnlint parses as it always did.
"""

from __future__ import annotations

import ast
import threading
from typing import Any

_PARSE_LOCK = threading.Lock()


def parse_python(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """`ast.parse(source, filename, mode)`, one thread at a time in this process."""
    with _PARSE_LOCK:
        return ast.parse(source, filename=filename, mode=mode)
