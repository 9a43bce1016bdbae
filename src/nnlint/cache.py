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
  still has none, so adding a module that an import would now find misses too;
- every question the reverse look-up asked ("which project files name `evaluate`,
  `engine` and `import`?": where the callers of a function may be) has the same answer, so
  a new or edited file that now calls a function of the checked file misses too. While no
  project file was added, removed or modified (same paths, sizes and modification times:
  `walk.listing_stamp`) the answers are the same; otherwise they are asked again.

The entries of the files of one folder live together in one index file (a re-run reads
a handful of files, not one per checked file). An index is written to a temporary file
and renamed into place, merged with what is on disk at that moment: two runs at once
never see half an index, and an entry lost to the other run's rename only costs speed.
An unreadable, corrupt or foreign index or entry is a miss. Only plain checks of `.py`
files use the cache (`--fix`, `--diff`, standard input and notebooks always analyse).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import sys
import time
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
FORMAT = 2
FILE_MODE = 0o644  # mkstemp's 0600 would keep a shared cache (and its .gitignore) private
GITIGNORE = "# Created by nnlint: its result cache, never committed.\n*\n"
CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by nnlint (https://bford.info/cachedir/).\n"
)


# ------------------------------------------------------------------ hashing
def text_hash(text: str) -> str:
    """The key of an analysed text: the hash of its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def source_hash(data: bytes) -> str | None:
    """`text_hash` of the text the source bytes `data` decode to (None if they do not).
    Bytes with no BOM and no coding cookie decode as UTF-8 and are that text's UTF-8
    bytes: they are hashed as they are, without decoding (stored hashes are only ever
    of texts that encode to valid UTF-8, so invalid bytes match none)."""
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    head = data[: second if second >= 0 else len(data)]
    if b"coding" not in head and not data.startswith(codecs.BOM_UTF8):
        return hashlib.blake2b(data, digest_size=16).hexdigest()
    from nnlint.source import SourceDecodeError, decode_source

    try:
        return text_hash(decode_source(data))
    except SourceDecodeError:
        return None


_ENGINE: str | None = None


def engine_fingerprint() -> str:
    """nnlint's version, the interpreter, and the size and mtime of every module of
    the engine and its rules (stat calls only; no rule module is imported or read)."""
    global _ENGINE
    if _ENGINE is None:
        import nnlint
        import nnlint.rules  # the package alone: its __init__ imports no rule

        parts = [__version__, sys.version, sys.executable]
        for package, folders in (("nnlint", nnlint.__path__), ("nnlint.rules", nnlint.rules.__path__)):
            for folder in folders:
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
    # the reverse look-up's questions ("evaluate engine import") -> the files answering
    namings: dict[str, list[str]] = field(default_factory=dict)
    listing: str | None = None  # `walk.listing_stamp` of the project when they were asked


# A module modified this close to (or after) the start of the run may have been analysed
# in one version and hashed in another (an editor saving during the run): results that
# depend on it are not stored (the same "racily clean" caution as git's index).
RACY_WINDOW_NS = 2_000_000_000


def project_dependencies(
    index: "ProjectIndex", checked: Path, read: Iterable[Path], absent: Iterable[Path], run_start_ns: int,
    namings: "dict[tuple[str, ...], frozenset[Path]] | None" = None,
) -> Dependencies:
    """The modules read while checking `checked`, closed over their own imports (a
    module's analysis may answer from what it learnt, earlier in the run, of the modules
    it imports: those count too) and over `checked`'s own imports, each with the hash of
    the text that was analysed; and the reverse look-up's questions with their answers
    (`namings`, see `ProjectIndex.files_naming`)."""
    deps = Dependencies(absent=sorted({str(p) for p in absent}))
    if namings:
        deps.namings = {" ".join(words): sorted(str(p) for p in found) for words, found in namings.items()}
        deps.listing = index.listing_stamp(run_start_ns, RACY_WINDOW_NS)
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
Entry = dict  # one file's findings with what they depend on (JSON data)


def _entry_name(path: str, key: str) -> str:
    """An entry's name in its index: the file and its configuration, so runs with other
    settings (a `--select` run between two plain ones) keep their own entries."""
    return f"{path}\0{hashlib.blake2b(key.encode('utf-8', 'surrogatepass'), digest_size=8).hexdigest()}"


class ResultCache:
    """The entries of one cache folder, read and written one folder's index at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._hashes: dict[str, str | None] = {}  # module path -> hash now, per run
        self._absent: dict[str, bool] = {}
        self._listings: dict[Path, str | None] = {}  # project root -> `listing_stamp` now, per run
        self._started = time.time_ns()
        self._stable: dict[Path, str | None] = {}  # ... the same, unless a file is too recent
        self._indexes: dict[str, dict[str, Entry]] = {}  # index file -> entries read
        self._pending: dict[str, dict[str, Entry]] = {}  # index file -> entries to write
        self._settings_keys: dict[int, tuple["Settings", str]] = {}
        self._ready = False

    def _index_path(self, path: str) -> str:
        """The index holding the entry of the file at (resolved) `path`: one per folder."""
        folder = os.path.dirname(path)
        name = hashlib.blake2b(folder.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
        return os.path.join(self.folder, f"{name}.json")

    def _key(self, settings: "Settings", root: Path) -> str:
        known = self._settings_keys.get(id(settings))
        if known is None or known[0] is not settings:  # the files of a run share one Settings
            known = self._settings_keys[id(settings)] = (settings, settings_key(settings))
        return f"{known[1]}\0{root}"

    def _read_index(self, index: str) -> dict[str, Entry]:
        """The entries of an index file as on disk now ({} if missing, corrupt, of
        another format or of another nnlint)."""
        try:
            with open(index, "rb") as handle:
                data = json.loads(handle.read())
            if data.get("format") != FORMAT or data.get("engine") != engine_fingerprint():
                return {}
            entries = data["entries"]
            return entries if isinstance(entries, dict) else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def _entries(self, index: str) -> dict[str, Entry]:
        entries = self._indexes.get(index)
        if entries is None:
            entries = self._indexes[index] = self._read_index(index)
        return entries

    def load(self, path: Path, data: bytes, settings: "Settings", root: Path, display: str) -> list[Finding] | None:
        """The cached findings of the file at (resolved) `path`, whose bytes are `data`,
        under these settings, if still valid."""
        name = str(path)
        key = self._key(settings, root)
        try:
            entry = self._entries(self._index_path(name)).get(_entry_name(name, key))
            if not isinstance(entry, dict) or entry.get("key") != key or entry.get("path") != name:
                return None
            own = source_hash(data)
            if own is None or entry.get("hash") != own:
                return None
            for module, seen in entry["modules"].items():
                if module != name and self._hash_now(module) != seen:
                    return None
            for place in entry["absent"]:
                if self._exists(place):
                    return None
            namings = entry.get("namings")
            if namings and not self._same_namings(root, namings, entry.get("listing")):
                return None
            if namings and entry.get("listing") != self._listings[root]:
                self._restamp(entry, root)
            return [finding_from_data(item, display) for item in entry["findings"]]
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            return None

    def entry(
        self, path: Path, text: str, settings: "Settings", root: Path, findings: list[Finding], deps: Dependencies
    ) -> Entry | None:
        """The entry for the file at (resolved) `path` analysed as `text`, or None when it
        must not be stored (it read something that cannot be hashed)."""
        if not deps.complete:
            return None
        try:
            text.encode("utf-8")  # lone surrogates: keys must be of valid UTF-8 (see source_hash)
        except UnicodeEncodeError:
            return None
        return {
            "path": str(path),
            "key": self._key(settings, root),
            "hash": text_hash(text),
            "modules": deps.modules,
            "absent": deps.absent,
            "namings": deps.namings,
            "listing": deps.listing,
            "findings": [finding_to_data(f) for f in findings],
        }

    def add(self, entry: Entry) -> None:
        """Keep `entry` to be written by `flush`."""
        name = entry["path"]
        self._pending.setdefault(self._index_path(name), {})[_entry_name(name, entry["key"])] = entry

    def store(
        self, path: Path, text: str, settings: "Settings", root: Path, findings: list[Finding], deps: Dependencies
    ) -> None:
        """Write one file's entry now (see `entry`, `add` and `flush`)."""
        entry = self.entry(path, text, settings, root, findings, deps)
        if entry is not None:
            self.add(entry)
            self.flush()

    def flush(self) -> None:
        """Write the index of every folder that has new entries: what is on disk now
        (another run may have written since this one read it), minus entries of files
        that no longer exist, plus this run's entries; atomically (temporary file, then
        rename). Failures are silent: a cache that cannot be written only costs speed."""
        pending, self._pending = self._pending, {}
        for index, added in pending.items():
            entries = {
                name: entry for name, entry in self._read_index(index).items()
                if name not in added and isinstance(entry, dict) and os.path.exists(str(entry.get("path")))
            }
            entries.update(added)
            self._indexes[index] = entries
            try:
                self._write(index, {"format": FORMAT, "engine": engine_fingerprint(), "entries": entries})
            except (OSError, ValueError, TypeError):
                pass

    def _write(self, index: str, data: dict[str, object]) -> None:
        self._prepare()
        import tempfile  # only a run that writes pays for the import

        fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle, separators=(",", ":"))
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, index)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

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
                import tempfile

                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=self.folder)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(content)
                os.chmod(tmp, FILE_MODE)
                os.replace(tmp, marker)
        self._ready = True

    def _hash_now(self, module: str) -> str | None:
        if module not in self._hashes:
            try:
                with open(module, "rb") as handle:
                    self._hashes[module] = source_hash(handle.read())
            except OSError:
                self._hashes[module] = None
        return self._hashes[module]

    def _same_namings(self, root: Path, namings: dict[str, list[str]], listing: object) -> bool:
        """Whether the reverse look-up's questions of an entry still get the answers stored:
        surely so when no project file changed since (same listing stamp); otherwise each is
        asked of the project's files as they are now (reading their identifiers once)."""
        if root not in self._listings:
            from nnlint.walk import listing_stamp

            self._listings[root] = listing_stamp(root)
        if listing is not None and listing == self._listings[root]:
            return True
        from nnlint.project import shared_index_at  # the analysis' index: the run reuses it

        index = shared_index_at(root)
        for question, answer in namings.items():
            if sorted(str(p) for p in index.files_naming(tuple(question.split(" ")))) != answer:
                return False
        return True

    def _restamp(self, entry: Entry, root: Path) -> None:
        """Give an entry whose questions were just asked again (and answered the same) the
        project's stamp of now, to be written with the run's entries: the next run trusts
        the stamp instead of reading every file's identifiers again. Not when a file was
        saved too recently to be sure which version the answers saw."""
        if root not in self._stable:
            from nnlint.walk import listing_stamp

            self._stable[root] = listing_stamp(root, self._started, RACY_WINDOW_NS)
        stamp = self._stable[root]
        if stamp is not None and stamp == self._listings[root]:
            entry["listing"] = stamp
            self.add(entry)

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
