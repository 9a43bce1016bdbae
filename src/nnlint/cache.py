"""The result cache (`.nnlint_cache/`): a re-run on an unchanged tree reads each file's
findings back instead of analysing it again, as Ruff does.

An entry holds one file's findings under one configuration. It is used only when all
of these still hold, so it is never stale:

- the file's text hashes the same (any edit, of any byte that changes the text, misses);
- nnlint is the same: its version, the Python running it, and the size and modification
  time of every module of the `nnlint` and `nnlint.rules` packages (an editable install
  being worked on invalidates its own cache);
- the effective settings (selection, ignores, severities, rule options) are the same;
- the file resolves to the same project root;
- every project module the analysis read (through `ProjectIndex`: the modules its
  imports lead to, and theirs) hashes the same, and every place where the import
  resolution found no module (`utils.py`, `utils/__init__.py` next to the importer, ...)
  still has none, so adding a module that an import would now find misses too.

Entries are written to a temporary file and renamed into place: two runs at once never
see half an entry, and the last one to finish wins. An unreadable, corrupt or foreign
entry is a miss. Only plain checks of `.py` files use the cache (`--fix`, `--diff`,
standard input and notebooks always analyse).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from nnlint import __version__
from nnlint.findings import Edit, Finding, Fix, Related, Severity, Span
from nnlint.message import Message

if TYPE_CHECKING:
    from nnlint.config import Settings
    from nnlint.project import ProjectIndex

CACHE_DIR_NAME = ".nnlint_cache"
FORMAT = 1
FILE_MODE = 0o644  # mkstemp's 0600 would keep a shared cache (and its .gitignore) private
GITIGNORE = "# Created by nnlint: its result cache, never committed.\n*\n"
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by nnlint (https://bford.info/cachedir/).\n"
)


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_ENGINE: str | None = None


def engine_fingerprint() -> str:
    """nnlint's version, the interpreter, and the size and mtime of every module of
    the engine and its rules (stat calls only; nothing is imported or read)."""
    global _ENGINE
    if _ENGINE is None:
        import importlib.util

        parts = [__version__, sys.version, sys.executable]
        for package in ("nnlint", "nnlint.rules"):
            spec = importlib.util.find_spec(package)
            for folder in (spec.submodule_search_locations or []) if spec else []:
                try:
                    names = sorted(os.listdir(folder))
                except OSError:
                    continue
                for name in names:
                    if name.endswith(".py"):
                        try:
                            stat = os.stat(os.path.join(folder, name))
                        except OSError:
                            continue
                        parts.append(f"{package}/{name}:{stat.st_size}:{stat.st_mtime_ns}")
        _ENGINE = hashlib.blake2b("\n".join(parts).encode(), digest_size=16).hexdigest()
    return _ENGINE


def settings_key(settings: "Settings") -> str:
    """What of the settings decides the findings (not where they came from)."""
    data = [
        settings.select, settings.ignore, settings.extend_select,
        [(code, level.value) for code, level in settings.severity],
        settings.options,
    ]
    return json.dumps(data, default=repr, sort_keys=True)


# ------------------------------------------------------------------ findings
def _span(span: Span) -> list[int]:
    return [span.line, span.column, span.end_line, span.end_column]


def finding_to_data(finding: Finding) -> dict[str, object]:
    fix = finding.fix
    return {
        "code": finding.code,
        "message": finding.message,
        "severity": finding.severity.value,
        "span": _span(finding.span),
        "related": [[_span(r.span), r.message] for r in finding.related],
        "fix": None if fix is None else [fix.title, [[_span(e.span), e.new_text] for e in fix.edits]],
        # the templates and arguments, so a cached finding can still be shown in another language
        "text": _text(finding.text),
        "related_text": [_text(r.text) for r in finding.related],
        "fix_text": None if fix is None else _text(fix.text),
    }


def _text(message: Message | None) -> dict[str, object] | None:
    return None if message is None else message.to_data()


def _message(data: object) -> Message | None:
    return Message.from_data(data) if isinstance(data, dict) else None


def finding_from_data(data: dict, path: str) -> Finding:  # type: ignore[type-arg]
    fix = data["fix"]
    related_text = data.get("related_text") or [None] * len(data["related"])
    return Finding(
        data["code"],
        data["message"],
        Severity(data["severity"]),
        Span(*data["span"]),
        [Related(Span(*span), message, _message(text)) for (span, message), text in zip(data["related"], related_text)],
        None if fix is None else Fix(
            fix[0], tuple(Edit(Span(*span), text) for span, text in fix[1]), _message(data.get("fix_text"))),
        path,
        _message(data.get("text")),
    )


# ------------------------------------------------------------- dependencies
@dataclass
class Dependencies:
    """What one file's analysis read of its project: module texts by hash, and the
    places where an import found no module."""

    modules: dict[str, str] = field(default_factory=dict)  # resolved path -> text hash
    absent: list[str] = field(default_factory=list)
    complete: bool = True  # False: something was read that cannot be hashed; do not cache


# A module modified this close to (or after) the start of the run may have been analysed
# in one version and hashed in another (an editor saving during the run): results that
# depend on it are not stored (the same "racily clean" caution as git's index).
RACY_WINDOW_NS = 2_000_000_000


def project_dependencies(
    index: "ProjectIndex", checked: Path, read: Iterable[Path], absent: Iterable[Path], run_start_ns: int
) -> Dependencies:
    """The modules read while checking `checked`, closed over their own imports (a
    module's analysis may answer from what it learnt, earlier in the run, of the modules
    it imports: those count too) and over `checked`'s own imports, each with the hash of
    the text that was analysed."""
    deps = Dependencies(absent=sorted({str(p) for p in absent}))
    checked = checked.resolve()
    modules, missing = index.import_closure({checked, *read})
    deps.absent = sorted(set(deps.absent) | {str(p) for p in missing})
    for path in sorted(modules):
        text = index.analysed_text(path)
        if text is None or path != checked and _racy(path, run_start_ns):
            deps.complete = False
            return deps
        deps.modules[str(path)] = text_hash(text)
    return deps


def _racy(path: Path, run_start_ns: int) -> bool:
    try:
        return os.stat(path).st_mtime_ns >= run_start_ns - RACY_WINDOW_NS
    except OSError:
        return True


# --------------------------------------------------------------------- cache
class ResultCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._hashes: dict[str, str | None] = {}  # module path -> hash now, per run
        self._absent: dict[str, bool] = {}
        self._ready = False

    def _entry_path(self, path: Path, key: str) -> Path:
        name = hashlib.blake2b(f"{path}\0{key}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return self.folder / name[:2] / f"{name}.json"

    def _key(self, settings: "Settings", root: Path) -> str:
        return f"{engine_fingerprint()}\0{settings_key(settings)}\0{root}"

    def load(self, path: Path, text: str, settings: "Settings", root: Path, display: str) -> list[Finding] | None:
        """The cached findings of `path` with this text and these settings, if still valid."""
        key = self._key(settings, root)
        try:
            with open(self._entry_path(path, key), encoding="utf-8") as handle:
                entry = json.load(handle)
            if entry.get("format") != FORMAT or entry.get("key") != key or entry.get("hash") != text_hash(text):
                return None
            if entry.get("path") != str(path):
                return None
            for module, seen in entry["modules"].items():
                if self._hash_now(module) != seen:
                    return None
            for place in entry["absent"]:
                if self._exists(place):
                    return None
            return [finding_from_data(item, display) for item in entry["findings"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def store(self, path: Path, text: str, settings: "Settings", root: Path, findings: list[Finding], deps: Dependencies) -> None:
        """Write the entry atomically (temporary file, then rename); failures are silent:
        a cache that cannot be written only costs speed."""
        if not deps.complete:
            return
        key = self._key(settings, root)
        entry = {
            "format": FORMAT,
            "key": key,
            "path": str(path),
            "hash": text_hash(text),
            "modules": deps.modules,
            "absent": deps.absent,
            "findings": [finding_to_data(f) for f in findings],
        }
        target = self._entry_path(path, key)
        try:
            self._prepare()
            target.parent.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".entry.", suffix=".tmp", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(entry, handle, separators=(",", ":"))
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, target)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
        except (OSError, ValueError, TypeError):
            pass

    def _prepare(self) -> None:
        """Create the folder with its own .gitignore (and a CACHEDIR.TAG for backup tools).
        A folder that exists, is not empty and was not made by nnlint (no CACHEDIR.TAG)
        is never written into: its files are someone else's, and a `*` .gitignore would
        hide them from git."""
        if self._ready:
            return
        if self.folder.is_dir() and not (self.folder / "CACHEDIR.TAG").is_file() and any(self.folder.iterdir()):
            raise OSError(f"{self.folder} is not an nnlint cache folder")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, content in ((".gitignore", GITIGNORE), ("CACHEDIR.TAG", CACHEDIR_TAG)):
            marker = self.folder / name
            if not marker.exists():
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.folder)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, marker)
        self._ready = True

    def _hash_now(self, module: str) -> str | None:
        if module not in self._hashes:
            from nnlint.source import SourceDecodeError, decode_source

            try:
                with open(module, "rb") as handle:
                    self._hashes[module] = text_hash(decode_source(handle.read()))
            except (OSError, SourceDecodeError):
                self._hashes[module] = None
        return self._hashes[module]

    def _exists(self, place: str) -> bool:
        if place not in self._absent:
            self._absent[place] = os.path.exists(place)
        return self._absent[place]


def cache_folder(option: str | None, configured: "tuple[str, str | None] | None") -> Path:
    """--cache-dir, else NNLINT_CACHE_DIR, else `cache-dir` of the [tool.nnlint] that
    applies to the current folder (relative to its pyproject.toml), else
    `.nnlint_cache` in the current folder."""
    if option:
        return Path(option)
    env = os.environ.get("NNLINT_CACHE_DIR")
    if env:
        return Path(env)
    if configured is not None and configured[0]:
        value, source = configured
        base = Path(source).parent if source else Path.cwd()
        return base / value
    return Path(CACHE_DIR_NAME)
