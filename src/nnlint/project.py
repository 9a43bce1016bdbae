"""Cross-file reasoning: follow imported names into the user's other modules.

`ProjectIndex` finds the module an import refers to (the project's own files first,
by the same rules Python uses; jedi, in the user's environment, for what the file
system alone cannot place), analyses it with the same one-walk `Semantic` index, and
caches that per module version. A helper `evaluate()` imported from `engine.py`
then feeds the train/eval and gradient rules exactly as a helper in the same file.

Nothing here imports or runs the user's code: other modules are read and parsed.
"""

from __future__ import annotations

import ast
import os
import re
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG
from types import SimpleNamespace
from typing import Callable, Iterable, Iterator

from nnlint.libraries import THIRD_PARTY_ROOTS, libraries_only
from nnlint.semantic import CallSite, ClassInfo, Scope, Semantic
from nnlint.source import IDENTIFIER, SourceDecodeError, decode_source
from nnlint.parsing import parse_python
from nnlint.walk import MAX_PROJECT_FILES, find_project_root, listing_stamp, project_listing  # noqa: F401 - find_project_root: the index's root, and importers of it here

MAX_MODULE_BYTES = 2 * 1024 * 1024
MAX_REEXPORT_DEPTH = 4
# Bounds of the reverse look-up (who calls a function from another module): a project's
# files are listed once (at most walk.MAX_PROJECT_FILES); at most this many modules that
# name the function are analysed, and at most this many call sites are kept.
MAX_CALLER_MODULES = 12
MAX_FOREIGN_CALLERS = 16
# Jedi's background work waits until no analysis has run for QUIET_SECONDS (at most
# MAX_QUIET_WAIT): a thread that computes holds the GIL half the time, so it would double
# the latency of every keystroke typed meanwhile (loading jedi's view of torch takes
# seconds of CPU, right after the server starts).
QUIET_SECONDS = 0.3
MAX_QUIET_WAIT = 3.0
# Folders that hold no module of the user's project (environments, builds, caches).
_WORD = IDENTIFIER
# Every ASCII character that cannot be part of an identifier, as a space.
_NOT_WORD = {code: " " for code in range(128) if not (chr(code).isalnum() or chr(code) == "_")}
_DIGITS = "0123456789"

_TOP_LEVEL: frozenset[str] | None = None


def _installed_top_level_names() -> frozenset[str]:
    """Top-level names importable from installed packages (site-packages and the like),
    read from the folders' listings: nothing is imported, and no metadata is parsed.
    Such modules are libraries, not the user's project."""
    global _TOP_LEVEL
    if _TOP_LEVEL is None:
        import site
        import sys

        folders = {p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)}
        try:
            folders.update(site.getsitepackages())
            folders.add(site.getusersitepackages())
        except (AttributeError, OSError):
            pass
        names: set[str] = set(sys.builtin_module_names) | set(getattr(sys, "stdlib_module_names", ()))
        for folder in folders:
            try:
                entries = os.listdir(folder)
            except OSError:
                continue
            for entry in entries:
                stem = entry.split(".", 1)[0].split("-", 1)[0]
                if stem and not entry.endswith((".dist-info", ".egg-info", ".pth")):
                    names.add(stem)
        _TOP_LEVEL = frozenset(names)
    return _TOP_LEVEL




_SHARED: dict[Path, "ProjectIndex"] = {}
_SHARED_OPTIONS: dict[str, object] = {"background": False, "environment_path": None, "on_create": None}


def configure_shared_indexes(
    background: bool, environment_path: str | None = None, on_create: "Callable[[ProjectIndex], None] | None" = None
) -> None:
    """How indexes made by `shared_index` behave in this process (the server calls this)."""
    _SHARED_OPTIONS.update(background=background, environment_path=environment_path, on_create=on_create)
    _SHARED.clear()


def shared_index(path: Path) -> "ProjectIndex":
    """One index per project root per process: the CLI's files share summaries."""
    return shared_index_at(find_project_root(path))


def shared_index_at(root: Path) -> "ProjectIndex":
    """`shared_index` of the files whose project root (`find_project_root`) is `root`."""
    index = _SHARED.get(root)
    if index is None:
        index = _SHARED[root] = ProjectIndex(
            root,
            environment_path=_SHARED_OPTIONS["environment_path"],  # type: ignore[arg-type]
            background=bool(_SHARED_OPTIONS["background"]),
        )
        on_create = _SHARED_OPTIONS["on_create"]
        if callable(on_create):
            on_create(index)
    return index


@dataclass
class DependencyRecord:
    """What a check read of its project (see `ProjectIndex.start_recording`)."""

    read: set[Path] = field(default_factory=set)
    absent: set[Path] = field(default_factory=set)
    # Each question "which project files name all these words?" (the reverse look-up's
    # candidates) and its answer: a file added or edited later may change it.
    namings: dict[tuple[str, ...], frozenset[Path]] = field(default_factory=dict)


@dataclass
class _Reads:
    """What a `foreign_callers` answer being computed read (one per answer, per thread)."""

    read: set[Path] = field(default_factory=set)
    namings: dict[tuple[str, ...], frozenset[Path]] = field(default_factory=dict)


@dataclass
class ModuleEntry:
    path: Path
    version: object  # (mtime_ns, size) on disk, or the editor's document version
    semantic: "Semantic | None"
    text: str | None = None  # what was analysed, so a check of the same text can reuse it


class ProjectIndex:
    """Analysed modules of one project, shared by every file checked against it."""

    def __init__(
        self,
        root: Path | None = None,
        environment_path: str | None = None,
        use_jedi: bool = True,
        background: bool = False,
    ) -> None:
        self.root = (root or Path.cwd()).resolve()
        self.environment_path = environment_path
        self.use_jedi = use_jedi
        # In the language server jedi must never block an analysis: lookups it has to
        # answer run on a worker thread, and `listeners` hear when one has landed.
        self.background = background
        # The CLI keeps each checked file's analysis for the files that import it (each
        # file parsed once per run); an editor session would keep every buffer's tree.
        self.keep_checked = not background
        self._pending: set[str] = set()
        self._executor = None
        self._modules: dict[Path, ModuleEntry] = {}
        self._overlays: dict[Path, tuple[object, str]] = {}
        self._resolved: dict[tuple[str, Path], Path | None] = {}
        self._lock = threading.RLock()
        self._jedi_project = None
        self.listeners: list[Callable[[Path], None]] = []
        # Where each on-disk resolution looked and found nothing (for the result cache:
        # a module created there later would change the answer).
        self._absent: dict[tuple[str, Path], tuple[Path, ...]] = {}
        self._recording: "DependencyRecord | None" = None
        self._edges: dict[Path, tuple["Semantic", tuple[Path, ...], frozenset[Path]]] = {}
        # the reverse direction: the project's files, and who calls a module's function
        self._files: list[Path] | None = None
        self._word_index: dict[str, set[Path]] | None = None
        self._file_words: dict[Path, frozenset[str]] = {}
        self._stale_words: set[Path] = set()
        # Real (symlink-free, absolute) paths already asked for: a folder run asks for the
        # same few thousand, each answer costing a system call per path component.
        self._real_paths: dict[object, Path] = {}
        self._callers: dict[tuple[Path, str], "list[tuple[CallSite, Semantic]]"] = {}
        # The modules each `_callers` answer read (its candidates, the modules its lookups
        # went through and everything their analyses read): an edit that keeps a buffer's
        # identifiers drops only the answers that read the buffer.
        self._callers_read: dict[tuple[Path, str], frozenset[Path]] = {}
        # ... and the `_files_naming` questions it asked, with their answers.
        self._callers_namings: dict[tuple[Path, str], dict[tuple[str, ...], frozenset[Path]]] = {}
        self._stamp: tuple[int, str | None] | None = None  # (run start, `listing_stamp`)
        # Per thread, the `semantic_of` reads of the `foreign_callers` answers being computed.
        self._reading = threading.local()
        # Counts the forgettings: an answer computed while one happened is not kept.
        self._callers_epoch = 0
        # Analyses running now, and when the last one ended (see `foreground`); a new index
        # is about to serve its first analyses (the editor opened a file).
        self._foreground = 0
        self._last_foreground = time.monotonic()
        # Every change the index hears of (an editor buffer, a file on disk, an import
        # resolution that landed), in all and per module: see `changes_elsewhere`.
        self._changes = 0
        self._changes_of: dict[Path, int] = {}

    # ----------------------------------------------------------- editor state
    def changes_elsewhere(self, path: Path | None) -> int:
        """How many changes the index has heard of outside the module at `path` (editor
        buffers, files on disk, import resolutions that landed). While it stays the same,
        what an analysis of `path` read from the rest of the project is unchanged, apart
        from files that changed on disk unannounced (their versions tell)."""
        with self._lock:
            own = self._changes_of.get(self.real_path(path), 0) if path is not None else 0
            return self._changes - own

    def _changed(self, path: Path | None) -> None:
        """Count a change (lock held); None: one that concerns every module."""
        self._changes += 1
        if path is not None:
            self._changes_of[path] = self._changes_of.get(path, 0) + 1

    def set_overlay(self, path: Path, version: object, text: str) -> None:
        """Use an open editor buffer instead of the file on disk for `path`."""
        path = self.real_path(path)
        with self._lock:
            self._changed(path)
            self._overlays[path] = (version, text)
            self._modules.pop(path, None)
            if self._same_words(path, text):
                self._forget_callers_reading(path)
            else:
                self._forget_callers()
                self._words_changed(path)

    def drop_overlay(self, path: Path) -> None:
        path = self.real_path(path)
        with self._lock:
            self._changed(path)
            self._overlays.pop(path, None)
            self._modules.pop(path, None)
            self._forget_callers()
            self._words_changed(path)

    def invalidate(self, path: Path) -> None:
        with self._lock:
            self._real_paths.clear()  # a file or link appeared or went: ask the disk again
            path = self.real_path(path)
            self._changed(None)  # every module's import resolutions are asked again
            self._modules.pop(path, None)
            self._resolved.clear()
            self._forget_callers()
            self._words_changed(path)

    def depends_on(self, semantic: "Semantic", path: Path) -> bool:
        """Whether `semantic`'s analysis read `path`, directly or through the modules it
        read: a module two imports away (a.py -> b.py -> c.py) is often found only after
        b.py's analysis was recorded as a dependency, so the edges are followed here."""
        target = self.real_path(path)
        return any(seen == target for seen, _version in self._dependency_closure(semantic))

    def still_reads_as_before(self, dependencies: "dict[Path, object]", path: Path) -> bool:
        """Whether an analysis of the module at `path` that read `dependencies` (module ->
        version seen) would read the same now: every module it read, and those they read,
        is at the version seen, and none of them read or imports the module at `path`
        itself (whose text is the one being edited)."""
        reader = SimpleNamespace(dependencies=dependencies)
        if not self._fresh(reader) or self.depends_on(reader, path):  # type: ignore[arg-type]
            return False
        # A module that imports this one (a caller of its functions) read it through its
        # own lookups, which its analysis does not record.
        return not dependencies or self.real_path(path) not in self.import_closure(dependencies)[0]

    def _dependency_closure(self, semantic: "Semantic") -> "list[tuple[Path, object]]":
        """Every (module, version seen) `semantic` depends on, following the dependencies of
        the modules the index holds for them."""
        found: list[tuple[Path, object]] = []
        seen: set[Path] = set()
        queue = list(getattr(semantic, "dependencies", {}).items())
        while queue:
            path, version = queue.pop()
            found.append((path, version))
            resolved = self.real_path(Path(path))
            if resolved in seen:
                continue
            seen.add(resolved)
            with self._lock:
                entry = self._modules.get(resolved)
            if entry is not None and entry.semantic is not None and entry.semantic is not semantic:
                queue.extend(entry.semantic.dependencies.items())
        return found

    # ---------------------------------------------------- what a check reads
    def start_recording(self) -> "DependencyRecord":
        """Record every module read and every empty place an import resolution looked at,
        until `stop_recording` (the CLI's result cache keys a file's findings on them)."""
        record = DependencyRecord()
        self._recording = record
        return record

    def stop_recording(self) -> None:
        self._recording = None

    def real_path(self, path: Path) -> Path:
        """`path.resolve()`, asked of the disk once per path (and working folder, for a
        relative one) until `invalidate` says the files changed."""
        key: object = path if path.is_absolute() else (os.getcwd(), path)
        found = self._real_paths.get(key)
        if found is None:
            found = self._real_paths[key] = path.resolve()
        return found

    def analysed_text(self, path: Path) -> str | None:
        """The text the index analysed (or failed to parse) for `path`, if it read it."""
        with self._lock:
            entry = self._modules.get(self.real_path(path))
        return entry.text if entry is not None else None

    def import_closure(self, read: "Iterable[Path]") -> tuple[set[Path], set[Path]]:
        """The modules in `read` and every project module their imports lead to (on disk,
        recursively), and the places those resolutions found empty. A module's analysis
        can answer from what it learnt earlier of the modules it imports: a cached result
        depends on all of them."""
        modules: set[Path] = set()
        absent: set[Path] = set()
        queue = [p.resolve() for p in read]
        while queue:
            path = queue.pop()
            if path in modules:
                continue
            modules.add(path)
            found, empty = self._import_edges(path)
            absent |= empty
            queue.extend(p for p in found if p not in modules)
        return modules, absent

    def _import_edges(self, path: Path) -> tuple[tuple[Path, ...], frozenset[Path]]:
        """The project modules `path`'s imports resolve to on disk, and the places they
        found empty; kept per module version (every file of a run shares them)."""
        semantic = self.semantic_of(path)
        if semantic is None:
            return (), frozenset()
        with self._lock:
            known = self._edges.get(path)
        if known is not None and known[0] is semantic:
            return known[1], known[2]
        found_paths: list[Path] = []
        empty: set[Path] = set()
        for target in sorted(set(semantic.imports.values())):
            leading = len(target) - len(target.lstrip("."))
            parts = target.lstrip(".").split(".") if target.strip(".") else []
            for cut in range(len(parts), -1, -1):
                name = "." * leading + ".".join(parts[:cut])
                if not name or name.split(".")[0] in THIRD_PARTY_ROOTS:
                    continue
                key = (name, path.parent)
                with self._lock:
                    known_found = self._resolved.get(key) if key in self._resolved else False
                if known_found is False or key not in self._absent and known_found is None:
                    found = self._find_on_disk(name, path)
                else:
                    found = known_found  # type: ignore[assignment]
                empty.update(self._absent.get(key, ()))
                if found is not None:
                    found_paths.append(found)
        edges = (tuple(dict.fromkeys(found_paths)), frozenset(empty))
        with self._lock:
            self._edges[path] = (semantic, *edges)
        return edges

    # ------------------------------------------------------------- resolution
    def module_path(self, module: str, importer: Path | None) -> Path | None:
        """The project file that `import module` (possibly relative) names, if any."""
        key = (module, importer.parent if importer else self.root)
        with self._lock:
            if key in self._resolved:
                found = self._resolved[key]
                self._note_resolution(key, found)
                return found
        found = self._find_on_disk(module, importer)
        root_name = module.split(".")[0]
        if (
            found is None
            and self.use_jedi
            and not module.startswith(".")
            and root_name not in THIRD_PARTY_ROOTS
            and root_name not in _installed_top_level_names()
        ):
            if self.background:
                self._resolve_later(module, key)
                return None
            found = self._find_with_jedi(module)
        with self._lock:
            self._resolved[key] = found
            self._note_resolution(key, found)
        return found

    def _note_resolution(self, key: tuple[str, Path], found: Path | None) -> None:
        record = self._recording
        if record is not None:
            record.absent.update(self._absent.get(key, ()))
            if found is not None:
                record.read.add(found)

    def _resolve_later(self, module: str, key: tuple[str, Path]) -> None:
        with self._lock:
            if module in self._pending:
                return
            self._pending.add(module)
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlint-jedi")
        self._executor.submit(self._resolve_in_background, module, key)

    @contextmanager
    def foreground(self) -> "Iterator[None]":
        """Mark an analysis someone waits for (the editor's): background work holds off."""
        with self._lock:
            self._foreground += 1
        try:
            yield
        finally:
            with self._lock:
                self._foreground -= 1
                self._last_foreground = time.monotonic()

    def _wait_for_quiet(self) -> None:
        """Wait (on the background thread) until no analysis ran for QUIET_SECONDS, or
        MAX_QUIET_WAIT passed: answers that arrive later are never waited for anyway."""
        deadline = time.monotonic() + MAX_QUIET_WAIT
        while True:
            now = time.monotonic()
            with self._lock:
                busy = self._foreground > 0
                quiet_at = self._last_foreground + QUIET_SECONDS
            if now >= deadline or (not busy and now >= quiet_at):
                return
            time.sleep(min(max(quiet_at - now, 0.02), deadline - now, 0.1))

    def _resolve_in_background(self, module: str, key: tuple[str, Path]) -> None:
        self._wait_for_quiet()
        found = self._find_with_jedi(module)
        with self._lock:
            self._resolved[key] = found
            self._pending.discard(module)
            self._changed(None)
        if found is not None:
            for listener in list(self.listeners):
                try:
                    listener(found)
                except Exception:  # a listener's failure is its own business
                    pass

    def warm_up(self) -> None:
        """Load jedi and its view of the environment before anyone waits for it."""
        if not self.use_jedi:
            return
        with self._lock:
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nnlint-jedi")
        self._executor.submit(self._warm_up_when_quiet)

    def _warm_up_when_quiet(self) -> None:
        self._wait_for_quiet()
        self._find_with_jedi("torch.nn")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _roots(self, importer: Path | None) -> list[Path]:
        roots = []
        if importer is not None:
            roots.append(importer.parent)
            package = importer.parent
            while (package / "__init__.py").is_file() and package.parent != package:
                package = package.parent
                roots.append(package)
        roots += [self.root, self.root / "src"]
        unique: list[Path] = []
        for root in roots:
            if root not in unique:
                unique.append(root)
        return unique

    def _find_on_disk(self, module: str, importer: Path | None) -> Path | None:
        if module.startswith("."):
            if importer is None:
                return None
            level = len(module) - len(module.lstrip("."))
            base = importer.parent
            for _ in range(level - 1):
                base = base.parent
            rest = module.lstrip(".")
            candidates = [base / rest.replace(".", os.sep)] if rest else [base]
        else:
            if module.split(".")[0] in THIRD_PARTY_ROOTS:
                return None
            candidates = [root / module.replace(".", os.sep) for root in self._roots(importer)]
        looked: list[Path] = []
        found: Path | None = None
        for candidate in candidates:
            as_file = candidate.with_name(candidate.name + ".py")
            if as_file.is_file():
                found = as_file.resolve()
                break
            init = candidate / "__init__.py"
            if init.is_file():
                found = init.resolve()
                break
            looked += [as_file, init]
        with self._lock:
            self._absent[(module, importer.parent if importer else self.root)] = tuple(looked)
        return found

    def _find_with_jedi(self, module: str) -> Path | None:
        """Ask jedi, in the user's environment, where a module lives; keep only files
        outside installed packages (we summarise the user's code, not libraries)."""
        try:
            import jedi
        except ImportError:  # pragma: no cover - jedi is a dependency
            return None
        try:
            if self._jedi_project is None:
                self._jedi_project = jedi.Project(
                    self.root, environment_path=self.environment_path, load_unsafe_extensions=False
                )
            code = f"import {module}"
            script = jedi.Script(code, project=self._jedi_project)
            names = script.goto(1, len(code), follow_imports=True)
        except Exception:  # jedi raises many kinds of errors on odd environments
            return None
        for name in names:
            path = name.module_path
            if path is None:
                continue
            path = Path(path)
            if "site-packages" in path.parts or "dist-packages" in path.parts:
                return None
            if path.suffix == ".py" and path.is_file():
                return path.resolve()
        return None

    # --------------------------------------------------------------- analysis
    def semantic_of(self, path: Path) -> "Semantic | None":
        path = self.real_path(path)
        record = self._recording
        if record is not None:
            record.read.add(path)
        for frame in getattr(self._reading, "stack", ()):
            frame.read.add(path)
        with self._lock:
            overlay = self._overlays.get(path)
            if overlay is not None:
                version, text = overlay
            else:
                try:
                    stat = path.stat()
                except OSError:
                    return None
                if not S_ISREG(stat.st_mode):  # a FIFO named like a module: reading it blocks
                    return None
                version = (stat.st_mtime_ns, stat.st_size)
                text = None
            entry = self._modules.get(path)
            if entry is not None and entry.version == version and self._fresh(entry.semantic):
                return entry.semantic
            # Mark as in progress so import cycles end here.
            self._modules[path] = ModuleEntry(path, version, None)
        semantic = None
        try:
            if text is None:
                if version[1] > MAX_MODULE_BYTES:  # type: ignore[index]
                    raise SourceDecodeError("too large")
                text = decode_source(path.read_bytes())
            tree = parse_python(text, filename=str(path))
            semantic = Semantic.build(tree, path=path, project=self)
            semantic.version = version
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            semantic = None  # read, but not analysable: the text still decides that
        except (OSError, SourceDecodeError):
            semantic, text = None, None
        with self._lock:
            self._modules[path] = ModuleEntry(path, version, semantic, text)
        return semantic

    # ------------------------------------------------ sharing with the checker
    def analysis_for(self, path: Path, text: str) -> "Semantic | None":
        """The index's analysis of `path` if it was made from exactly `text` (a file
        imported by one checked earlier is then not parsed a second time). Only where
        checked analyses are shared (the CLI): an editor releases each analysis it makes."""
        if not self.keep_checked:
            return None
        with self._lock:
            entry = self._modules.get(self.real_path(path))
        if entry is not None and entry.semantic is not None and entry.text == text and self._fresh(entry.semantic):
            return entry.semantic
        return None

    def _current_version(self, path: Path) -> object:
        overlay = self._overlays.get(path)
        if overlay is not None:
            return overlay[0]
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_mtime_ns, stat.st_size)

    def _fresh(self, semantic: "Semantic | None") -> bool:
        """Whether every module `semantic` read is still at the version it saw."""
        if semantic is None:
            return True
        return all(self._current_version(path) == seen for path, seen in self._dependency_closure(semantic))

    def remember(self, path: Path, text: str, semantic: "Semantic") -> None:
        """Keep the checker's analysis of `path` for the modules that import it, when
        `text` is what the index itself would read for that path now."""
        if not self.keep_checked:
            return
        path = self.real_path(path)
        with self._lock:
            overlay = self._overlays.get(path)
            if overlay is not None:
                if overlay[1] != text:
                    return
                version = overlay[0]
            else:
                try:
                    stat = path.stat()
                except OSError:
                    return
                version = (stat.st_mtime_ns, stat.st_size)
                if stat.st_size > MAX_MODULE_BYTES:
                    return
            current = self._modules.get(path)
            if current is not None and current.version == version and current.semantic is not None:
                return
            semantic.version = version
            self._modules[path] = ModuleEntry(path, version, semantic, text)

    def lookup(self, qualname: str, importer: Path | None, depth: int = 0) -> "tuple[Semantic, str] | None":
        """Find where `qualname` ("utils.evaluate", ".models.Net") is defined in the
        project: the defining module's index and the name inside it."""
        if depth > MAX_REEXPORT_DEPTH:
            return None
        parts = qualname.split(".")
        leading = len(qualname) - len(qualname.lstrip("."))
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if leading and not module.strip("."):
                module = "." * leading
            path = self.module_path(module, importer)
            if path is None:
                continue
            semantic = self.semantic_of(path)
            if semantic is None:
                return None
            name = ".".join(parts[cut:])
            head = name.split(".")[0]
            if head in semantic.functions or head in semantic.classes or head in semantic.module.bindings:
                return semantic, name
            target = semantic.imports.get(head)
            if target is not None:
                rest = name[len(head):]
                return self.lookup(target + rest, path, depth + 1)
            # `from .model import *` in a package's __init__.py: `d2l.linreg` is model's
            for star in semantic.star_imports:
                found = self.lookup(f"{star}.{name}" if not star.endswith(".") else f"{star}{name}", path, depth + 1)
                if found is not None:
                    return found
            return None
        return None

    def function(self, qualname: str, importer: Path | None) -> "Scope | None":
        found = self.lookup(qualname, importer)
        if found is None:
            return None
        semantic, name = found
        functions = semantic.functions.get(name)
        return functions[-1] if functions else None

    def class_info(self, qualname: str, importer: Path | None) -> "tuple[Semantic, ClassInfo] | None":
        found = self.lookup(qualname, importer)
        if found is None:
            return None
        semantic, name = found
        info = semantic.classes.get(name)
        return (semantic, info) if info is not None else None

    def torch_alias(self, qualname: str, importer: Path | None,
                    _seen: frozenset[tuple[str, Path | None]] = frozenset()) -> str | None:
        """A project name that is only a re-export of a torch name (`from .losses
        import CE` where losses.py does `from torch.nn import CrossEntropyLoss as CE`).
        Re-export cycles (a module importing a name from itself) end in None."""
        if qualname.split(".")[0] in THIRD_PARTY_ROOTS or (qualname, importer) in _seen:
            return None
        _seen = _seen | {(qualname, importer)}
        parts = qualname.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            path = self.module_path(".".join(parts[:cut]), importer)
            if path is None:
                continue
            semantic = self.semantic_of(path)
            if semantic is None or cut != len(parts) - 1:
                return None
            name = parts[-1]
            target = semantic.imports.get(name)
            if target is not None:
                if target.startswith("torch."):
                    return target
                return self.torch_alias(target, path, _seen) if target.count(".") < 12 else None
            bindings = semantic.module.bindings.get(name)
            if bindings and bindings[-1].value is not None:
                resolved = semantic.qualname(bindings[-1].value)
                if resolved and resolved.startswith("torch."):
                    return resolved
            return None
        return None

    # ------------------------------------------------- the reverse direction
    def project_files(self) -> list[Path]:
        """The project's Python files (listed once; hidden folders, environments and build
        output left out; at most MAX_PROJECT_FILES)."""
        with self._lock:
            if self._files is not None:
                return self._files
        found = [self._listed_real_path(p) for p in project_listing(self.root)]
        with self._lock:
            self._files = found
        return found

    def _listed_real_path(self, path: Path) -> Path:
        """`real_path` of a file `os.walk` listed: a file that is no symbolic link is its
        folder's real path and its name (one `lstat` for the file and one resolution per
        folder, instead of one system call per path component for each file)."""
        key: object = path if path.is_absolute() else (os.getcwd(), path)
        found = self._real_paths.get(key)
        if found is None:
            if os.path.islink(path):
                found = path.resolve()
            else:
                found = self.real_path(path.parent) / path.name
            self._real_paths[key] = found
        return found

    def listing_stamp(self, run_start_ns: int, racy_window_ns: int) -> str | None:
        """`walk.listing_stamp` of the project's files, for the result cache: while it stays
        the same, every `files_naming` answer does (worked out once per run start; None with
        editor buffers, which the disk does not show)."""
        with self._lock:
            if self._overlays:
                return None
            if self._stamp is None or self._stamp[0] != run_start_ns:
                self._stamp = (run_start_ns, listing_stamp(self.root, run_start_ns, racy_window_ns))
            return self._stamp[1]

    def files_naming(self, words: tuple[str, ...]) -> frozenset[Path]:
        """The project files whose text holds every one of `words` as an identifier (the
        question the reverse look-up asks; see `_files_naming`), as the files are now."""
        return frozenset(self._files_naming(*words))

    def prepare_reverse_lookup(self) -> None:
        """Index the project's identifiers now (see `_files_naming`): a process about to
        fork its workers does it once for all of them instead of each reading every file."""
        with self._lock:
            self._refresh_words()

    def _files_naming(self, *words: str) -> set[Path]:
        """The project files whose text holds every one of `words` as an identifier. Each
        file's identifiers are read once, on the first question, and kept up to date file by
        file as the editor or the disk changes them (`set_overlay`, `drop_overlay`,
        `invalidate`); the files naming a word are listed when the word is first asked about
        (a run asks about a few hundred of the project's thousands of identifiers: its
        function, class and module names) and kept."""
        with self._lock:
            self._refresh_words()
            lists = [self._naming(word) for word in words]
            if not lists or any(not files for files in lists):
                self._heard(dict.fromkeys([words], frozenset()))
                return set()
            lists.sort(key=len)  # from the rarest word (usually the module's name): small sets
            found = set(lists[0])
            for files in lists[1:]:
                found &= files
                if not found:
                    break
            self._heard(dict.fromkeys([words], frozenset(found)))
            return found

    def _heard(self, namings: "dict[tuple[str, ...], frozenset[Path]]", read: "Iterable[Path]" = ()) -> None:
        """Note `_files_naming` answers (and module reads) in the check being recorded and in
        the `foreign_callers` answers being computed on this thread: a result that depends on
        them is valid only while they hold."""
        record = self._recording
        if record is not None:
            record.namings.update(namings)
            record.read.update(read)
        for frame in getattr(self._reading, "stack", ()):
            frame.namings.update(namings)
            frame.read.update(read)

    def _naming(self, word: str) -> set[Path]:
        """The files whose identifiers hold `word` (lock held, words fresh)."""
        index = self._word_index
        assert index is not None
        files = index.get(word)
        if files is None:
            files = index[word] = {path for path, words in self._file_words.items() if word in words}
        return files

    def _refresh_words(self) -> None:
        """Read the identifiers of the files not read yet or changed since (lock held)."""
        if self._word_index is None:
            self._word_index = {}
            self._stale_words = set(self.project_files())
        if self._stale_words:
            stale, self._stale_words = self._stale_words, set()
            for path in stale:
                self._index_file(path)

    def _index_file(self, path: Path) -> None:
        """(Re)read one file's identifiers (called with the lock held). Of the words already
        asked about, only those the file gained or lost change their list of files."""
        index = self._word_index
        assert index is not None
        old = self._file_words.pop(path, frozenset())
        text = self._text_for_words(path)
        words = _identifiers(text) if text is not None and "import" in text else frozenset()
        if words:
            self._file_words[path] = words
        if index:
            for word in old - words:
                files = index.get(word)
                if files is not None:
                    files.discard(path)
            for word in words - old:
                files = index.get(word)
                if files is not None:
                    files.add(path)

    def _text_for_words(self, path: Path) -> str | None:
        overlay = self._overlays.get(path)
        if overlay is not None:
            return overlay[1]
        try:
            stat = path.stat()
            if not S_ISREG(stat.st_mode) or stat.st_size > MAX_MODULE_BYTES:
                return None
            return decode_source(path.read_bytes())
        except (OSError, SourceDecodeError):
            return None

    def _same_words(self, path: Path, text: str) -> bool:
        """Whether `text`, the new text of `path`, holds exactly the identifiers the index
        has for it (lock held): then every `_files_naming` answer stays as it is. Most
        keystrokes change a literal, an operator or a word already in the file."""
        if self._word_index is None or path in self._stale_words or path not in self._file_words:
            return False
        return "import" in text and _identifiers(text) == self._file_words[path]

    def _forget_callers(self) -> None:
        self._callers_epoch += 1
        self._callers.clear()
        self._callers_read.clear()
        self._callers_namings.clear()

    def _forget_callers_reading(self, path: Path) -> None:
        """Drop the `foreign_callers` answers that read `path` (lock held)."""
        self._callers_epoch += 1
        for key in [key for key, read in self._callers_read.items() if path in read]:
            del self._callers[key]
            del self._callers_read[key]
            del self._callers_namings[key]

    def _words_changed(self, path: Path) -> None:
        """A file's text changed (editor or disk): reindex it before the next question."""
        self._stamp = None
        if self._word_index is None:
            return
        if path.suffix == ".py" and self._files is not None and path not in self._files:
            try:
                path.relative_to(self.root)
            except ValueError:
                return
            self._files.append(path)
        self._stale_words.add(path)

    def foreign_callers(self, path: Path, name: str) -> "list[tuple[CallSite, Semantic]]":
        """Calls in the project's other modules of `name` (a module-level function or class)
        defined in the module at `path`: each call site with the index of its module.

        Only modules whose text names both the function and the defining module are
        analysed (at most MAX_CALLER_MODULES), and a call counts only when the importer's
        own imports resolve it to this very definition. The answer is kept until a module
        it read changes, or a file's identifiers change (the candidates may then differ)."""
        path = self.real_path(path)
        key = (path, name)
        with self._lock:
            known = self._callers.get(key)
            epoch = self._callers_epoch
            if known is not None:
                # What the answer rests on counts for this check too, as if asked again.
                self._heard(self._callers_namings[key], self._callers_read[key])
                return known
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        frame = _Reads()
        stack = self._reading.__dict__.setdefault("stack", [])
        stack.append(frame)
        try:
            found = self._find_foreign_callers(path, name, stem)
        finally:
            stack.pop()
        # What the analyses read went into the answer too (a candidate's analysis is stale
        # once a module it imports changes).
        read = set(frame.read)
        for module in frame.read:
            with self._lock:
                entry = self._modules.get(module)
            if entry is not None and entry.semantic is not None:
                read.update(self.real_path(Path(seen)) for seen, _version in self._dependency_closure(entry.semantic))
        with self._lock:
            if self._callers_epoch == epoch:
                self._callers[key] = found
                self._callers_read[key] = frozenset(read)
                self._callers_namings[key] = frame.namings
        return found

    def stands_alone(self, semantic: "Semantic") -> bool:
        """Whether an analysis of `semantic`'s module can read nothing of another module of
        the project, so that a rule may answer as it does without a project (no layer, helper
        or caller can come from elsewhere). Both ways across are closed:
        - forward: each of its imports names a library root (THIRD_PARTY_ROOTS), which
          `module_path` never looks for, on disk or with jedi, and `torch_alias` never
          follows; names it does not import are never looked up elsewhere;
        - backward: no other project file names both the module and `import`, and
          `foreign_callers` reads only such files.
        Asked per check, not kept: another file may start naming this one (the editor).
        Answered only once the identifiers are indexed (the first reverse look-up does it; a
        folder run's parent before its workers start): the question alone never reads the
        project; until then the answer is "not proven" (False), which is always safe."""
        if not libraries_only(semantic.imports.values()):
            return False
        if semantic.path is None:
            return True
        with self._lock:
            if self._word_index is None:
                return False
        path = self.real_path(semantic.path)
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        others = self._files_naming(stem, "import")
        others.discard(path)
        return not others

    def _find_foreign_callers(self, path: Path, name: str, stem: str) -> "list[tuple[CallSite, Semantic]]":
        found: "list[tuple[CallSite, Semantic]]" = []
        analysed = 0
        for candidate in sorted(self._files_naming(name, stem, "import")):
            if candidate == path:
                continue
            if analysed >= MAX_CALLER_MODULES:
                break
            analysed += 1
            semantic = self.semantic_of(candidate)
            if semantic is None:
                continue
            for site in semantic.calls:
                func = site.node.func
                last = func.id if type(func) is ast.Name else func.attr if type(func) is ast.Attribute else None
                if last != name:
                    continue
                qualname = semantic.call_name(site.node)
                if not qualname or "." not in qualname or not semantic._is_imported(qualname):
                    continue
                target = self.lookup(qualname, candidate)
                if target is None or target[0].path is None or self.real_path(target[0].path) != path or target[1] != name:
                    continue
                found.append((site, semantic))
                if len(found) >= MAX_FOREIGN_CALLERS:
                    break
            if len(found) >= MAX_FOREIGN_CALLERS:
                break
        return found


def reads_other_modules(semantic: "Semantic") -> bool:
    """Whether `semantic`'s analysis may read another module: it has a project that does not
    prove it `stands_alone` (an index other than `ProjectIndex` is taken at its word: it may)."""
    project = semantic.project
    if project is None:
        return False
    return not isinstance(project, ProjectIndex) or not project.stands_alone(semantic)


def _identifiers(text: str) -> frozenset[str]:
    """The words `_WORD` finds in `text`. For ASCII text (nearly all code) the same set comes
    from splitting at every other character and dropping the digits a run starts with
    (`1e5` -> `e5`, `123` -> nothing): about half the time of the regular expression."""
    if not text.isascii():
        return frozenset(_WORD.findall(text))
    words = set(text.translate(_NOT_WORD).split())
    for word in [word for word in words if word[0] in _DIGITS]:
        words.discard(word)
        rest = word.lstrip(_DIGITS)
        if rest:
            words.add(rest)
    return frozenset(words)
