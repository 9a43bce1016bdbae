"""Which files a folder holds for nnlint: Python files and notebooks, minus the usual
non-source folders and whatever .gitignore files exclude (the folder's own, those of
its sub-folders, and those of its parent folders up to the repository root)."""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

ALWAYS_SKIPPED = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".env", "env", "node_modules", "build", "dist",
        "__pycache__", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
        "site-packages", ".ipynb_checkpoints", ".eggs", ".direnv", "__pypackages__",
    }
)
SUFFIXES = (".py", ".pyi", ".ipynb")
IGNORE_FILES = (".gitignore", ".nnlintignore")


class IgnoreRules:
    """One ignore file's patterns, read by pathspec's gitignore pattern class (globs, `**`,
    `dir/`, anchored patterns, `!` negation, `\\#`/`\\!` escapes, trailing-space trimming).

    The last pattern that matches a path decides, as in git. Only a match of the path itself
    counts: the walk never enters an ignored folder, so a pattern that matches one of the
    path's folders (pathspec answers for the files inside ignored folders too) has already had
    its say, or was overruled by a deeper ignore file; and the folder a walk starts from is
    walked whatever a parent's ignore file says of it.
    """

    def __init__(self, root: Path, lines: list[str], source: str | None = None) -> None:
        self.root = root
        self.patterns: list[tuple[GitIgnoreSpecPattern, bool]] = []  # (pattern, folders only)
        self.problems: list[str] = []  # patterns that cannot be read (each a warning)
        if not lines:
            return
        # Imported with the first ignore file: pathspec brings asyncio along (~60 ms), which a
        # tree without ignore files, or a re-run the result cache answers, should not pay for.
        from pathspec.patterns.gitignore import GitIgnorePatternError
        from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

        for number, raw in enumerate(lines, 1):
            line = raw.rstrip("\n\r")
            if not line.strip() or line.startswith("#"):
                continue
            # A trailing `/` (before trailing spaces, which do not count unless escaped)
            # limits a pattern to folders. It is applied here, on the pattern without it:
            # pathspec reads `a/**/`, `**/` and `*/` as other patterns than git does.
            body = line.rstrip(" \t")
            if body.endswith("\\") and len(body) < len(line):
                body += " "
            only_dirs = body.endswith("/")
            body = body.rstrip("/")
            if body.lstrip("!").strip("/") == "":  # `!`, `/`, `!/`: git reads nothing into them
                continue
            try:
                pattern = GitIgnoreSpecPattern(body)
            except (GitIgnorePatternError, re.error, RecursionError) as exc:
                # git matches nothing with a pattern it cannot read (`[z-a]`): neither do we
                where = f"{source}:{number}" if source else f"line {number}"
                self.problems.append(f"{where}: ignore pattern {raw.strip()!r} cannot be read ({exc}); it matches nothing")
                continue
            if pattern.include is not None:
                self.patterns.append((pattern, only_dirs))

    @classmethod
    def load(cls, root: Path) -> "IgnoreRules":
        rules = cls(root, [])
        for name in IGNORE_FILES:
            path = root / name
            try:
                if not path.is_file():
                    continue  # absent, or a FIFO/device named like an ignore file: never read it
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
            read = cls(root, lines, str(path))
            rules.patterns += read.patterns
            rules.problems += read.problems
        return rules

    def verdict(self, path: Path, is_dir: bool) -> bool | None:
        """True (ignored), False (re-included by `!`) or None (no pattern matched)."""
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            return None
        # pathspec's convention: a folder is asked about with a trailing slash.
        target = relative + "/" if is_dir else relative
        result: bool | None = None
        for pattern, only_dirs in self.patterns:
            if only_dirs and not is_dir:
                continue
            found = pattern.match_file(target)
            if found is not None and _matches_itself(found.match, target, is_dir):
                result = pattern.include
        return result

    def ignored(self, path: Path, is_dir: bool) -> bool:
        return bool(self.verdict(path, is_dir))


def _matches_itself(match: re.Match[str], target: str, is_dir: bool) -> bool:
    """Whether a pattern's match is of `target` itself rather than of one of its folders.

    pathspec's gitignore regexes end a match at a folder boundary in a named group (the
    directory mark): ending before the end of `target`, it matched a folder above it.
    Without the mark, the match is a `dir/**` or `*` kind (everything inside a folder), which
    git does not apply to the folder itself (`a/**` leaves `a` to be walked, so `!a/keep.py`
    can re-include)."""
    from pathspec.patterns.gitignore.spec import _DIR_MARK

    if match.groupdict().get(_DIR_MARK) is not None:
        return match.end(_DIR_MARK) == len(target)
    return not is_dir or match.end() < len(target)


def _parent_rules(root: Path, problems: list[str] | None = None) -> list[IgnoreRules]:
    """Ignore files of the folders above `root`, up to the repository root (a folder
    with `.git`), outermost first. Without a repository, none."""
    try:
        resolved = root.resolve()
    except OSError:
        return []
    parents = []
    for folder in resolved.parents:
        parents.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return []
    stack = []
    for folder in reversed(parents):
        if any((folder / name).is_file() for name in IGNORE_FILES):
            loaded = IgnoreRules.load(folder)
            stack.append(loaded)
            if problems is not None:
                problems.extend(loaded.problems)
    return stack


def collect_files(paths: list[Path], warnings: list[str] | None = None) -> tuple[list[Path], list[str]]:
    """Files to check, in a stable order, and the arguments that do not exist.

    A file named on the command line is always checked, whatever its suffix or the
    ignore files say; folders are walked for .py, .pyi and .ipynb files. What cannot be
    checked is skipped with a warning naming its path, appended to `warnings` (a symlink
    loop, a dangling symlink, a FIFO or device named like a source file, an ignore
    pattern that cannot be read): the rest of the run goes on."""
    files: list[Path] = []
    missing: list[str] = []
    seen: set[str] = set()
    folders: dict[str, str] = {}
    problems: list[str] = warnings if warnings is not None else []

    def add(found: Path) -> None:
        problem = unreadable_reason(found)
        if problem is not None:
            problems.append(f"{found}: {problem}; skipped")
            return
        key = real_path(str(found), folders)
        if key not in seen:
            seen.add(key)
            files.append(found)

    for path in paths:
        if path.is_dir():
            for found in _walk(path, problems):
                add(found)
        elif os.path.lexists(path):
            add(path)
        else:
            missing.append(str(path))
    return files, missing


def real_path(path: str, folders: dict[str, str]) -> str:
    """`os.path.realpath(path)`, resolving each folder once (`folders` keeps them for a
    run): the real path of a file that is not a symlink is its real folder's, plus its
    name. Thousands of files then cost a stat each, not one per path component."""
    folder, name = os.path.split(path)
    if name in ("", ".", "..") or os.path.islink(path):
        return os.path.realpath(path)
    real = folders.get(folder)
    if real is None:
        real = folders[folder] = os.path.realpath(folder or ".")
    return os.path.join(real, name)


def unreadable_reason(path: Path) -> str | None:
    """Why a path found as a file cannot be read as one (None: a regular file). Reading a
    FIFO would block for ever; resolving a symlink loop raises."""
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop"
        if os.path.islink(path):
            return "dangling symlink" if exc.errno == errno.ENOENT else f"symlink to an unreadable target ({exc.strerror})"
        return f"cannot read file: {exc.strerror or exc}"
    except (RuntimeError, ValueError) as exc:
        return f"cannot read file: {exc}"
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device"
        return f"not a regular file ({kind})" if not stat.S_ISDIR(info.st_mode) else "a folder"
    return None


def _walk(root: Path, problems: list[str] | None = None) -> list[Path]:
    base = _parent_rules(root, problems)
    resolved_root = root.resolve()
    stacks: dict[str, list[IgnoreRules]] = {}
    found: list[Path] = []
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        parent_stack = stacks.get(os.path.dirname(folder), base) if folder != str(root) else base
        stack = parent_stack
        if any(name in filenames for name in IGNORE_FILES):
            loaded = IgnoreRules.load(here)
            stack = [*parent_stack, loaded]
            if problems is not None:
                problems.extend(loaded.problems)
        stacks[folder] = stack
        # Patterns of parent folders' ignore files are matched against resolved paths.
        resolved_here = resolved_root / here.relative_to(root) if base else here
        kept = []
        for name in sorted(dirnames):
            if name in ALWAYS_SKIPPED or name.endswith(".egg-info"):
                continue
            if stack and _ignored_in(stack, base, here / name, resolved_here / name, True):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(SUFFIXES):
                continue
            if stack and _ignored_in(stack, base, here / name, resolved_here / name, False):
                continue
            found.append(here / name)
    return found


def _ignored_in(stack: list[IgnoreRules], base: list[IgnoreRules], path: Path, resolved: Path, is_dir: bool) -> bool:
    """Deeper ignore files override shallower ones, as in git."""
    verdict = False
    for rules in stack:
        answer = rules.verdict(resolved if rules in base else path, is_dir)
        if answer is not None:
            verdict = answer
    return verdict


# Folders that hold no module of the project itself (environments, build output, logs).
NOT_PROJECT_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "dist-packages", "build", "dist", "venv", "env",
     "htmlcov", "wandb", "mlruns", "outputs", "lightning_logs"}
)
MAX_PROJECT_FILES = 3000


def project_listing(root: Path) -> list[Path]:
    """The project's Python files under `root`, as `os.walk` names them, in a fixed order:
    hidden folders, environments (a folder with a `pyvenv.cfg`) and `NOT_PROJECT_DIRS` left
    out; at most MAX_PROJECT_FILES. What `ProjectIndex` searches for the callers of a
    function, and what the result cache stamps (see `listing_stamp`)."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in NOT_PROJECT_DIRS
                         and not (Path(folder) / d / "pyvenv.cfg").exists())
        found.extend(Path(folder) / f for f in sorted(files) if f.endswith(".py"))
        if len(found) >= MAX_PROJECT_FILES:
            break
    return found[:MAX_PROJECT_FILES]


def listing_stamp(root: Path, run_start_ns: int | None = None, racy_window_ns: int = 0) -> str | None:
    """A digest of the project's files as they are now: each one's path, size and
    modification time (see `project_listing`). Two equal stamps mean no project file was
    added, removed or rewritten in between, so every question about which files name a
    word has the same answer. None when a file was modified within `racy_window_ns` of
    `run_start_ns` or later (it may have been read in one version and stamped in another,
    git's "racily clean" caution) or cannot be read: no stamp, no shortcut. Without
    `run_start_ns`, the stamp of the files as they are (to compare with a stored one)."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for path in project_listing(root):
        try:
            info = os.stat(path)
        except OSError:
            return None
        if run_start_ns is not None and info.st_mtime_ns >= run_start_ns - racy_window_ns:
            return None
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


_ROOTS: dict[Path, Path] = {}


def find_project_root(path: Path) -> Path:
    """The nearest folder above `path` that looks like a project root (cached per folder)."""
    start = path.resolve()
    folder = start if start.is_dir() else start.parent
    cached = _ROOTS.get(folder)
    if cached is not None:
        return cached
    root = folder
    for candidate in [folder, *folder.parents]:
        if any((candidate / marker).exists() for marker in ("pyproject.toml", ".git", "setup.py", "setup.cfg")):
            root = candidate
            break
    _ROOTS[folder] = root
    return root
