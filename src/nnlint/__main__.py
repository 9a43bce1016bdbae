"""`python -m nnlint` is the `nnlint` command; run without arguments by an editor
(stdin not a terminal) it starts the language server, as jedi-language-server does."""

import sys

from nnlint.cli import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not argv and not sys.stdin.isatty():
        argv = ["server"]
    sys.exit(main(argv))
