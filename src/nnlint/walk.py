"""Which files a folder holds for nnlint: Python files and notebooks, minus the usual
non-source folders and whatever the folder's .gitignore excludes."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

ALWAYS_SKIPPED = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "node_modules", "build", "dist",
        "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        "site-packages", ".ipynb_checkpoints", ".eggs",
    }
)
SUFFIXES = (".py", ".pyi", ".ipynb")


class IgnoreRules:
    """A small .gitignore reader: glob patterns, `dir/`, leading `/`, and `!` negation."""

    def __init__(self, root: Path, lines: list[str]) -> None:
        self.root = root
        self.patterns: list[tuple[str, bool, bool, bool]] = []
        for raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            only_dirs = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self.patterns.append((line.lstrip("/"), negate, only_dirs, anchored))

    @classmethod
    def load(cls, root: Path) -> "IgnoreRules":
        try:
            lines = (root / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        return cls(root, lines)

    def ignored(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return False
        verdict = False
        for pattern, negate, only_dirs, anchored in self.patterns:
            if only_dirs and not is_dir:
                continue
            target = relative if anchored else path.name
            if fnmatch.fnmatchcase(target, pattern) or (anchored and fnmatch.fnmatchcase(relative, pattern + "/*")):
                verdict = not negate
        return verdict


def collect_files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Files to check, in a stable order, and the arguments that do not exist."""
    files: list[Path] = []
    missing: list[str] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                files.append(path)
        elif path.is_dir():
            for found in _walk(path):
                if found.resolve() not in seen:
                    seen.add(found.resolve())
                    files.append(found)
        else:
            missing.append(str(path))
    return files, missing


def _walk(root: Path) -> list[Path]:
    ignore_stack: list[IgnoreRules] = []
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        ignore_stack = [rules for rules in ignore_stack if here == rules.root or rules.root in here.parents]
        if (here / ".gitignore").is_file():
            ignore_stack.append(IgnoreRules.load(here))
        kept = []
        for name in sorted(dirnames):
            child = here / name
            if name in ALWAYS_SKIPPED or name.endswith(".egg-info"):
                continue
            if any(rules.ignored(child, True) for rules in ignore_stack):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(SUFFIXES):
                continue
            child = here / name
            if any(rules.ignored(child, False) for rules in ignore_stack):
                continue
            found.append(child)
    return found
