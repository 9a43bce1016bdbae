"""`python -m nnlint.server [options]` is `nnlint server [options]`."""

import os
import sys

# As in nnlint/__main__.py: `python -m` puts the working directory first on the import path,
# where a project file named like a module nnlint imports would be run.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from nnlint.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["server", *sys.argv[1:]]))
