"""`python -m nnlint` is the `nnlint` command; run without arguments by an editor
(stdin not a terminal) it starts the language server, as jedi-language-server does."""

import os
import sys

# `python -m` puts the working directory first on the import path: a project file named
# `difflib.py` or `pygls.py` would then be run. nnlint reads the user's code, never runs it.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from nnlint.cli import main  # noqa: E402

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv and not sys.stdin.isatty():
        argv = ["server"]
    sys.exit(main(argv))
