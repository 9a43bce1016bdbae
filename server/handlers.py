"""The LSP handlers: documents in, diagnostics/hovers/code actions out.

All knowledge of rules and Python lives in the engine; this module schedules analyses
(debounced, off the event loop), drops stale results, and translates through `convert`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import re
import statistics
import sys
import threading
import time
from collections import deque
from types import SimpleNamespace
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.workspace.position_codec import PositionCodec

from nnlint import __version__
from nnlint.config import Settings
from nnlint.engine import SYNTAX_ERROR, check_source, parse_suppressions, safe_fixes
from nnlint.findings import Finding, Span
from nnlint.fixes import compatible_edits
from nnlint.overfit import overfit_check_edit, training_loops_for_lens
from nnlint.project import ProjectIndex, configure_shared_indexes, shared_index
from nnlint.registry import load_rules
from nnlint.source import SourceFile

from . import convert, i18n, notebooks, pygls_adapter, transport
from .settings import PyprojectCache, ServerSettings, effective_settings, parse_settings

log = logging.getLogger("nnlint.server")

FIX_ALL_KIND = "source.fixAll.nnlint"
NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.nnlint"
OVERFIT_KIND = "refactor.insert"
OVERFIT_COMMAND = "nnlint.insertOverfitCheck"
COMMANDS = ("nnlint.applyFixAll", "nnlint.showRuleDocs", "nnlint.debugInfo", OVERFIT_COMMAND)
_DISABLE_COMMENT = re.compile(r"#\s*nnlint\s*:\s*disable\s*=\s*([A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)", re.I)
_CODE_WORD = re.compile(r"[A-Za-z]+[0-9]*")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
CONFIG_WAIT_S = 3.0
OUT_OF_STEP = "the server's copy of the document may differ from the editor's; reopen it"


@dataclass
class DocState:
    uri: str
    shown: list[t.Diagnostic] = field(default_factory=list)  # what the client sees, current coordinates
    good: list[t.Diagnostic] = field(default_factory=list)  # last results of a parsing version, shifted
    findings: list[Finding] = field(default_factory=list)
    findings_version: int | None = None
    analysed_version: int | None = None
    saved_version: int | None = None
    task: asyncio.Task | None = None
    semantic: Any = None  # the engine's index of the last parsing version (for dependencies)
    verified: dict[int, bool] = field(default_factory=dict)  # finding index -> fix verified
    verified_version: int | None = None
    text: str = ""  # the text `findings` were computed from
    notebook: str | None = None  # for a notebook cell: the notebook's URI (analysed there)
    # Every didChange counts here: a client may repeat or lower a version number, and a
    # result is only current when both the version and the revision match.
    revision: int = 0
    analysed_revision: int = -1
    findings_revision: int = -1
    running: Any = None  # the analysis of this document in the pool (one at a time)


class DocStates(dict):
    """Open documents by URI; keys unquoted as pygls' workspace keys them, so that
    `file:///a%20b.py` and `file:///a b.py` are one document. `DocState.uri` keeps the
    client's spelling for publishing."""

    def __getitem__(self, uri: str) -> DocState:
        return super().__getitem__(unquote(uri))

    def __setitem__(self, uri: str, state: DocState) -> None:
        super().__setitem__(unquote(uri), state)

    def __contains__(self, uri: object) -> bool:
        return isinstance(uri, str) and super().__contains__(unquote(uri))

    def get(self, uri: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(unquote(uri), default)

    def pop(self, uri: str, *default: Any) -> Any:  # type: ignore[override]
        return super().pop(unquote(uri), *default)


@dataclass
class NotebookState:
    uri: str
    task: asyncio.Task | None = None
    result: notebooks.NotebookResult | None = None  # the last stored (fresh when stored) analysis
    serial: int = 0  # increases with every stored result; carried in the cells' diagnostics
    generation: int = -1
    published: dict[str, str] = field(default_factory=dict)  # unquoted cell URI -> client spelling
    verified: dict[int, bool] = field(default_factory=dict)  # program finding index -> fix verified
    verified_serial: int | None = None


@dataclass(frozen=True)
class DocConfig:
    editor: ServerSettings
    engine: Settings
    lang: str


class NnlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "nnlint",
            __version__,
            text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebooks.SYNC_OPTIONS,
            protocol_cls=transport.Protocol,
        )
        self.docs = DocStates()
        self.notebooks = DocStates()  # NotebookState by notebook URI
        self.lens_cache: dict[str, tuple[Any, Any]] = {}
        self.overfit_cache: dict[str, tuple[Any, Any]] = {}
        self.global_settings = ServerSettings()
        self.folder_settings: dict[str, ServerSettings] = {}
        self.client_locale: str | None = None
        self.pull = False
        self.pyprojects = PyprojectCache()
        self.generation = 0
        self.config_ready = asyncio.Event()
        self.analysis_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nnlint-analysis")
        self.timings: deque[float] = deque(maxlen=500)
        self.reported: set[str] = set()
        self.docs_base: str | None = None
        self.projects: dict[str, ProjectIndex | None] = {}  # unquoted URI -> its project index
        self.trim_task: asyncio.Task | None = None
        self.workspace_trusted: bool | None = None  # initializationOptions.workspaceTrusted
        self.cross_file_interpreter: str | None = None  # what the project indexes run jedi with
        self.cross_file_started = False

    # ------------------------------------------------------------------ helpers
    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls pops up "Error in server" for every failed notification; log it instead
        (requests already carry their error in the response)."""
        log.warning("%s: %s", getattr(source, "__name__", source), error)

    def stop_serving(self, code: int | None = None) -> None:
        """Replaced by the transport once serving; ends the process's main loop."""

    def on_stop(self) -> None:
        """The transport stopped (exit, end of input, dead client): drop queued analyses."""
        self.analysis_pool.shutdown(wait=False, cancel_futures=True)

    def release_memory_later(self, delay_s: float = 1.0) -> None:
        """After documents close: collect the analyses' reference cycles and hand freed heap
        pages back to the OS (glibc), once the closing has settled."""
        if self.trim_task is not None and not self.trim_task.done():
            self.trim_task.cancel()

        async def later() -> None:
            await asyncio.sleep(delay_s)
            await asyncio.get_running_loop().run_in_executor(self.analysis_pool, _release_memory)

        try:
            self.trim_task = asyncio.ensure_future(later())
        except RuntimeError:  # no running loop (tests driving handlers directly)
            self.trim_task = None

    def report(self, message: str, kind: t.MessageType = t.MessageType.Warning) -> None:
        """Log a problem once (bad settings, unreadable pyproject) to the client and the log."""
        log.warning(message)
        if message in self.reported:
            return
        self.reported.add(message)
        try:
            self.window_log_message(t.LogMessageParams(type=kind, message=message))
        except Exception:  # noqa: BLE001 - no client yet
            pass

    def is_open(self, uri: str) -> bool:
        return unquote(uri) in self.workspace.text_documents

    def folder_for(self, uri: str) -> str | None:
        best = None
        for folder in self.folder_settings:
            prefix = folder.rstrip("/") + "/"
            if uri.startswith(prefix) and (best is None or len(folder) > len(best)):
                best = folder
        return best

    def notebook_of(self, uri: str) -> str | None:
        """The URI of the notebook a cell belongs to (None for other documents)."""
        state = self.docs.get(uri)
        if state is not None and state.notebook is not None:
            return state.notebook
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        if notebook is None:
            return None
        state = self.notebooks.get(notebook.uri)
        return state.uri if state is not None else notebook.uri

    def config_for(self, uri: str) -> DocConfig:
        home = self.notebook_of(uri) or uri  # a cell is configured as its notebook
        folder = self.folder_for(home)
        editor = self.folder_settings[folder] if folder else self.global_settings
        path = None
        if home in self.notebooks:
            notebook_path = _uri_path(home)
            path = str(notebook_path) if notebook_path is not None else None
        elif self.is_open(uri):
            path = self.workspace.get_text_document(uri).path
        engine = Settings()
        if editor.configuration_preference != "editorOnly":
            pyproject, table, error = self.pyprojects.table_for(path)
            if error:
                self.report(f"nnlint: {error}; ignoring that [tool.nnlint]")
            engine, problem = effective_settings(editor, table, str(pyproject) if pyproject else None)
        else:
            engine, problem = effective_settings(editor, None)
        if problem:
            self.report(problem)
        return DocConfig(editor, engine, i18n.choose(editor.language, editor.locale, self.client_locale))

    def out_of_step(self, uri: str) -> bool:
        """True when our copy of the document (or of a notebook's cell) may differ from the
        client's: a change did not fit it. No edit is computed on it then."""
        cells = [uri]
        notebook = self.workspace.get_notebook_document(notebook_uri=uri) or self.workspace.get_notebook_document(
            cell_uri=uri
        )
        if notebook is not None:
            cells = [cell.document for cell in notebook.cells]
        return any(self.is_open(cell) and pygls_adapter.is_suspect(self.workspace.get_text_document(cell)) for cell in cells)

    def codec(self) -> PositionCodec:
        return self.workspace.position_codec

    # ----------------------------------------------------------------- analysis
    def schedule(self, uri: str, delay_s: float = 0.0) -> None:
        state = self.docs.get(uri)
        if state is None:
            return
        if state.notebook is not None:
            self.schedule_notebook(state.notebook, delay_s)
            return
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.task = asyncio.ensure_future(self._analyse_later(uri, delay_s))

    async def _analyse_later(self, uri: str, delay_s: float) -> None:
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            diagnostics, version = await self.analyse(uri)
            if diagnostics is not None and not self.pull:
                self.text_document_publish_diagnostics(
                    t.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics)
                )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never take the server down
            log.exception("analysis of %s failed", uri)

    async def wait_config(self) -> None:
        if not self.config_ready.is_set():
            try:
                await asyncio.wait_for(self.config_ready.wait(), CONFIG_WAIT_S)
            except asyncio.TimeoutError:
                self.config_ready.set()

    async def analyse(self, uri: str) -> tuple[list[t.Diagnostic] | None, int | None]:
        """Analyse the current version off the loop. Returns (None, None) when the result is
        stale (the document changed, closed, or the settings changed meanwhile)."""
        await self.wait_config()
        if not self.is_open(uri) or uri not in self.docs or self.docs[uri].notebook is not None:
            return None, None
        state = self.docs[uri]
        while state.running is not None and not state.running.done():
            # One analysis per document at a time: an older version still running in the
            # pool finishes (its result is dropped) before the newest starts, so a burst of
            # edits never fills both workers with stale versions of one document.
            await asyncio.wait([asyncio.wrap_future(state.running)])
            if not self.is_open(uri) or self.docs.get(uri) is not state:
                return None, None
        doc = self.workspace.get_text_document(uri)
        version, text, generation, revision = doc.version, doc.source, self.generation, state.revision
        config = self.config_for(uri)
        if not config.editor.enable:
            self._store(uri, version, [], [], None, config)
            return [], version
        codec = self.codec()
        project = self.project_for(uri)
        state.running = self.analysis_pool.submit(
            _analyse,
            text,
            doc.path or uri,
            config.engine,
            codec,
            uri,
            version,
            self.docs_base,
            project,
            config.lang,
        )
        result = await asyncio.wrap_future(state.running)
        findings, diagnostics, error_diagnostic, elapsed, semantic = result
        if not self.is_open(uri) or self.docs.get(uri) is not state:
            return None, None
        if (
            self.workspace.get_text_document(uri).version != version
            or state.revision != revision
            or generation != self.generation
        ):
            log.debug("dropping stale results for %s version %s", uri, version)
            return None, None
        self.timings.append(elapsed)
        shown = self._store(uri, version, findings, diagnostics, error_diagnostic, config)
        if findings is not None:
            self.docs[uri].semantic = semantic
            self.docs[uri].text = text
        return shown, version

    def _store(
        self,
        uri: str,
        version: int | None,
        findings: list[Finding] | None,
        diagnostics: list[t.Diagnostic] | None,
        error: t.Diagnostic | None,
        config: DocConfig,
    ) -> list[t.Diagnostic]:
        state = self.docs[uri]
        state.analysed_version = version
        state.analysed_revision = state.revision
        if diagnostics is not None and findings is not None:  # it parsed
            state.good = diagnostics
            state.findings = findings
            state.findings_version = version
            state.findings_revision = state.revision
            state.verified = {}
            state.verified_version = None
            state.shown = list(diagnostics)
        else:  # keep the last good results (already shifted), without their stale fixes
            state.findings = []
            state.findings_version = None
            state.shown = [convert.without_fix(d) for d in state.good]
            if error is not None and config.editor.show_syntax_errors:
                state.shown.append(error)
        return state.shown

    def shift_for_changes(self, uri: str, changes: Sequence[Any]) -> None:
        state = self.docs.get(uri)
        if state is None:
            return
        for change in changes:
            change_range = getattr(change, "range", None)
            if change_range is None:  # full-text change: nothing to shift by
                continue
            added = len(_LINE_BREAKS.findall(change.text))
            removed = change_range.end.line - change_range.start.line
            delta = added - removed
            if delta == 0:
                continue
            first = change_range.end.line + 1
            state.good = [convert.shift(d, first, delta) for d in state.good]
            state.shown = [convert.shift(d, first, delta) for d in state.shown]

    async def current_findings(self, uri: str) -> list[Finding] | None:
        """Findings of the current version, analysing if needed (for fix-all)."""
        state = self.docs.get(uri)
        if state is None or not self.is_open(uri):
            return None
        for _ in range(3):
            version = self.workspace.get_text_document(uri).version
            if state.findings_version == version and state.findings_revision == state.revision:
                return state.findings
            if state.analysed_version == version and state.analysed_revision == state.revision:
                return None  # analysed but did not parse
            diagnostics, _ = await self.analyse(uri)
            if diagnostics is not None and not self.pull:
                self.text_document_publish_diagnostics(
                    t.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics)
                )
        return None

    # ------------------------------------------------------------ cross-file
    def project_for(self, uri: str) -> ProjectIndex | None:
        """The engine's index of the document's project (open buffers overlaid), if it is a
        file. Remembered per open document (finding the root costs a walk up the folders,
        on every keystroke otherwise); forgotten on close and when project files change."""
        key = unquote(uri)
        if key in self.projects:
            return self.projects[key]
        path = self.workspace.get_text_document(uri).path if self.is_open(uri) else None
        if not path or not uri.startswith("file:"):
            return None
        try:
            project = shared_index(Path(path))
        except (OSError, ValueError, RuntimeError):
            return None
        if key in self.docs:
            self.projects[key] = project
        return project

    def editor_settings(self, uri: str) -> ServerSettings:
        """The editor settings of a document's folder (no pyproject lookup: `run` and
        `debounceMs` are editor-only, and didChange must stay cheap)."""
        folder = self.folder_for(self.notebook_of(uri) or uri)
        return self.folder_settings[folder] if folder else self.global_settings

    def overlay(self, uri: str, drop: bool = False) -> None:
        """Tell the project index about an open buffer (or its closing), and re-analyse the
        open documents that import it."""
        project = self.project_for(uri) if not drop else self._closing_project(uri)
        if project is None:
            return
        path = Path(self.workspace.get_text_document(uri).path)
        try:
            if drop:
                project.drop_overlay(path)
            else:
                doc = self.workspace.get_text_document(uri)
                project.set_overlay(path, doc.version, doc.source)
        except (OSError, ValueError, RuntimeError):
            return
        for state in list(self.docs.values()):
            if state.uri == uri or state.semantic is None:
                continue
            try:
                dependent = project.depends_on(state.semantic, path)
            except Exception:  # noqa: BLE001
                dependent = False
            if dependent and not self.pull:
                config = self.config_for(state.uri)
                if config.editor.run == "onType":
                    self.schedule(state.uri, config.editor.debounce_ms / 1000)

    def start_cross_file(self) -> None:
        """Jedi answers in the background, never in front of a publish: every project
        index warms it up at once and re-analyses open documents when a lookup lands
        (the second publish for the same version)."""
        loop = asyncio.get_running_loop()
        interpreter = self.trusted_interpreter()
        self.cross_file_interpreter, self.cross_file_started = interpreter, True

        def on_create(index: ProjectIndex) -> None:
            index.listeners.append(lambda _path: loop.call_soon_threadsafe(self.refresh_all))
            index.warm_up()

        configure_shared_indexes(background=True, environment_path=interpreter, on_create=on_create)
        self.projects.clear()
        for folder in self.workspace.folders.values():
            path = _uri_path(folder.uri)
            if path is not None:
                shared_index(path)

    def module_changed_on_disk(self, uri: str) -> None:
        """A project module changed outside the editor: drop its summary and re-analyse
        the open documents that read it."""
        path = _uri_path(uri)
        if path is None or self.is_open(uri):
            return
        project = shared_index(path)
        project.invalidate(path)
        if any(
            state.semantic is not None and project.depends_on(state.semantic, path) for state in self.docs.values()
        ):
            self.refresh_all()

    def _closing_project(self, uri: str) -> ProjectIndex | None:
        doc = self.workspace.get_text_document(uri)
        if not doc.path or not uri.startswith("file:"):
            return None
        try:
            return shared_index(Path(doc.path))
        except (OSError, ValueError, RuntimeError):
            return None

    async def verified_fixes(self, uri: str) -> dict[int, bool]:
        """Which fixes of the current findings survive the engine's apply-and-recheck.
        Analysis skips that on the keystroke path; it runs here, once per version, when
        code actions are asked for."""
        state = self.docs.get(uri)
        if state is None or state.findings_version is None:
            return {}
        if state.notebook is not None:
            return await self.cell_verified_fixes(uri, state)
        version = state.findings_version
        if state.verified_version == version:
            return state.verified
        findings, text = state.findings, state.text
        settings = self.config_for(uri).engine
        project = self.project_for(uri)
        loop = asyncio.get_running_loop()
        verified = await loop.run_in_executor(self.analysis_pool, _verify, text, findings, settings, project)
        if state.findings_version == version and state.findings is findings:
            state.verified, state.verified_version = verified, version
        return verified

    def refresh_all(self) -> None:
        """Settings or a pyproject changed: analyse every open document again."""
        self.generation += 1
        self.projects.clear()  # a new pyproject.toml can move a project's root
        for notebook in list(self.notebooks.values()):  # always pushed
            self.schedule_notebook(notebook.uri)
        if self.pull:
            for state in self.docs.values():
                state.analysed_version = None
            if _supports(self.client_capabilities, "workspace.diagnostics.refresh_support"):
                self.workspace_diagnostic_refresh(None)
            return
        for state in list(self.docs.values()):
            if state.notebook is None:
                self.schedule(state.uri)

    # ----------------------------------------------------------------- settings
    async def fetch_configuration(self) -> None:
        if not _supports(self.client_capabilities, "workspace.configuration"):
            return
        folders = list(dict.fromkeys([*self.folder_settings, *self.workspace.folders]))
        items = [t.ConfigurationItem(section="nnlint")] + [
            t.ConfigurationItem(section="nnlint", scope_uri=folder) for folder in folders
        ]
        request = asyncio.ensure_future(self.workspace_configuration_async(t.ConfigurationParams(items=items)))
        done, _ = await asyncio.wait({request}, timeout=CONFIG_WAIT_S)
        if not done:
            # A slow client: go on with the current settings, and take its answer when it
            # comes (cancelling the request dropped the answer, and the new settings).
            log.warning("no answer to workspace/configuration within %.0f s; it is used when it comes", CONFIG_WAIT_S)
            request.add_done_callback(lambda answer: self._late_configuration(answer, folders))
            return
        try:
            results = request.result()
        except Exception as exc:  # noqa: BLE001 - a client that cannot answer keeps the old settings
            log.warning("workspace/configuration failed: %s", exc)
            return
        self._apply_configuration(results, folders)

    def _late_configuration(self, answer: "asyncio.Future[Any]", folders: list[str]) -> None:
        if answer.cancelled() or answer.exception() is not None:
            log.warning("workspace/configuration failed: %s", "cancelled" if answer.cancelled() else answer.exception())
            return
        self._apply_configuration(answer.result(), folders)
        self.settings_changed()

    def settings_changed(self) -> None:
        """New settings are in: a new interpreter is used at once (cross-file lookups
        restart with it), and every open document is analysed again."""
        interpreter = self.trusted_interpreter()
        if interpreter != self.cross_file_interpreter and self.cross_file_started:
            self.start_cross_file()
            for state in list(self.docs.values()):
                if state.notebook is None and self.is_open(state.uri):
                    self.overlay(state.uri)
        self.refresh_all()

    def trusted_interpreter(self) -> str | None:
        """The interpreter setting, which makes jedi run that program: not in a workspace
        the client says is untrusted (VS Code's workspace trust)."""
        interpreter = self.global_settings.interpreter
        if interpreter and self.workspace_trusted is False:
            self.report(
                "nnlint: the interpreter setting is ignored in an untrusted workspace (jedi would run it); "
                "trust the workspace to use it"
            )
            return None
        return interpreter

    def _apply_configuration(self, results: Any, folders: list[str]) -> None:
        results = list(results or [])
        if results and results[0] is not None:
            self.global_settings = self._parse(results[0], self.global_settings)
        for folder, value in zip(folders, results[1:]):
            self.folder_settings[folder] = self._parse(value, self.global_settings) if value is not None else self.global_settings

    def _parse(self, raw: Any, fallback: ServerSettings) -> ServerSettings:
        settings, problems = parse_settings(raw)
        for problem in problems:
            self.report(problem)
        return settings

    # ---------------------------------------------------------------- fix-all
    def fix_all_edits(self, uri: str, findings: list[Finding]) -> list[t.TextEdit]:
        doc = self.workspace.get_text_document(uri)
        text = doc.source
        chosen, _ = compatible_edits(text, findings)
        if not chosen:
            return []
        return convert.edits_to_lsp(self.codec(), convert.split_lines(text), sorted(chosen, key=lambda e: e.span))

    def workspace_edit(self, uri: str, edits: list[t.TextEdit]) -> t.WorkspaceEdit:
        return self.workspace_edits({uri: edits})

    def workspace_edits(self, edits_by_uri: dict[str, list[t.TextEdit]]) -> t.WorkspaceEdit:
        """One WorkspaceEdit over several documents (the cells of a notebook), versioned
        when the client supports documentChanges."""
        if _supports(self.client_capabilities, "workspace.workspace_edit.document_changes"):
            return t.WorkspaceEdit(
                document_changes=[
                    t.TextDocumentEdit(
                        text_document=t.OptionalVersionedTextDocumentIdentifier(
                            uri=uri, version=self.workspace.get_text_document(uri).version
                        ),
                        edits=list(edits),
                    )
                    for uri, edits in edits_by_uri.items()
                ]
            )
        return t.WorkspaceEdit(changes={uri: list(edits) for uri, edits in edits_by_uri.items()})

    # ---------------------------------------------------------------- notebooks
    def schedule_notebook(self, uri: str, delay_s: float = 0.0) -> None:
        state = self.notebooks.get(uri)
        if state is None:
            return
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.task = asyncio.ensure_future(self._analyse_notebook_later(uri, delay_s))

    async def _analyse_notebook_later(self, uri: str, delay_s: float) -> None:
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            await self.analyse_notebook(uri)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never take the server down
            log.exception("analysis of notebook %s failed", uri)

    async def analyse_notebook(self, uri: str) -> notebooks.NotebookResult | None:
        """Analyse the notebook's code cells as one program off the loop, then store and
        push one publishDiagnostics per cell. None when the result is stale (a cell, the
        cell list or the settings changed meanwhile) or the notebook is closed."""
        await self.wait_config()
        state = self.notebooks.get(uri)
        snap = notebooks.snapshot(self.workspace, uri)
        if state is None or snap is None:
            return None
        generation = self.generation
        config = self.config_for(uri)
        if not config.editor.enable:
            self._clear_notebook(state)
            return None
        path = _uri_path(uri)
        project = self._project_at(path) if path is not None else None
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.analysis_pool,
            notebooks.analyse,
            snap,
            str(path) if path is not None else uri,
            config.engine,
            self.codec(),
            self.docs_base,
            project,
            config.lang,
        )
        current = notebooks.snapshot(self.workspace, uri)
        if self.notebooks.get(uri) is not state or generation != self.generation:
            return None
        if current is None or current.key != snap.key:
            log.debug("dropping stale results for notebook %s version %s", uri, snap.version)
            return None
        self.timings.append(result.elapsed_ms)
        self._store_notebook(state, result, config)
        return result

    def _store_notebook(self, state: NotebookState, result: notebooks.NotebookResult, config: DocConfig) -> None:
        def places(lenses: dict[str, list[tuple[int, Any]]]) -> dict[str, list[int]]:
            return {cell: [line for line, _ in found] for cell, found in lenses.items()}

        previous_lenses = places(state.result.lenses) if state.result is not None else None
        self.lens_cache[unquote(state.uri)] = (("notebook", result.snapshot.key), result.lenses)
        if previous_lenses is not None and previous_lenses != places(result.lenses):
            # a lens in one cell can depend on another cell (the optimizer it names)
            self.refresh_code_lenses()
        state.result = result
        state.serial += 1
        state.generation = self.generation
        state.verified, state.verified_serial = {}, None
        current: dict[str, str] = {}
        for key, cell in result.cells.items():
            shown = list(cell.diagnostics)
            if cell.error is not None and config.editor.show_syntax_errors:
                shown.append(cell.error)
            for diagnostic in shown:
                data = convert.diagnostic_data(diagnostic)
                data["notebookResult"] = state.serial
                diagnostic.data = data
            doc = self.docs.get(cell.uri)
            if doc is None or doc.notebook != state.uri:
                doc = self.docs[cell.uri] = DocState(cell.uri, notebook=state.uri)
            doc.analysed_version = doc.findings_version = cell.version
            doc.findings = cell.findings
            doc.text = cell.text
            doc.shown = doc.good = shown
            doc.verified, doc.verified_version = {}, None
            current[key] = cell.uri
            self.text_document_publish_diagnostics(
                t.PublishDiagnosticsParams(uri=cell.uri, version=cell.version, diagnostics=shown)
            )
        for key, cell_uri in list(state.published.items()):
            if key not in current:  # removed from the notebook, or no longer a Python cell
                self.drop_cell(state, cell_uri)
        state.published = current

    def refresh_code_lenses(self) -> None:
        if not _supports(self.client_capabilities, "workspace.code_lens.refresh_support"):
            return
        try:
            future = self.workspace_code_lens_refresh(None)
        except Exception:  # noqa: BLE001
            return
        if hasattr(future, "add_done_callback"):
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # a client error is fine

    def drop_cell(self, state: NotebookState, cell_uri: str) -> None:
        """Forget a cell and clear what the client shows for it."""
        self.overfit_cache.pop(unquote(cell_uri), None)
        doc = self.docs.get(cell_uri)
        if doc is not None and doc.notebook == state.uri:
            self.docs.pop(cell_uri)
        if state.published.pop(unquote(cell_uri), None) is not None or doc is not None:
            self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=cell_uri, diagnostics=[]))

    def _clear_notebook(self, state: NotebookState) -> None:
        state.result = None
        for cell_uri in list(state.published.values()):
            self.drop_cell(state, cell_uri)
        state.published = {}

    def _project_at(self, path: Path) -> ProjectIndex | None:
        try:
            return shared_index(path)
        except (OSError, ValueError, RuntimeError):
            return None

    async def current_notebook(self, uri: str) -> notebooks.NotebookResult | None:
        """The analysis of the notebook as it is now (analysing if needed)."""
        state = self.notebooks.get(uri)
        for _ in range(3):
            if state is None:
                return None
            snap = notebooks.snapshot(self.workspace, uri)
            if snap is None:
                return None
            if state.result is not None and state.result.snapshot.key == snap.key and state.generation == self.generation:
                return state.result
            await self.analyse_notebook(uri)
        return None

    async def notebook_verified(self, state: NotebookState) -> dict[int, bool]:
        """Which fixes of the notebook's program findings survive apply-and-recheck (once
        per stored result, on demand)."""
        result, serial = state.result, state.serial
        if result is None:
            return {}
        if state.verified_serial == serial:
            return state.verified
        settings = self.config_for(state.uri).engine
        path = _uri_path(state.uri)
        project = self._project_at(path) if path is not None else None
        loop = asyncio.get_running_loop()
        verified = await loop.run_in_executor(
            self.analysis_pool, _verify, result.program.text, result.findings, settings, project
        )
        if state.serial == serial:
            state.verified, state.verified_serial = verified, serial
        return verified

    def notebook_is_fresh(self, state: NotebookState) -> bool:
        snap = notebooks.snapshot(self.workspace, state.uri)
        return (
            state.result is not None
            and snap is not None
            and state.result.snapshot.key == snap.key
            and state.generation == self.generation
        )

    async def cell_verified_fixes(self, uri: str, doc: DocState) -> dict[int, bool]:
        """A cell's verified fixes (by its diagnostics' index); only for a fresh result."""
        state = self.notebooks.get(doc.notebook or "")
        if state is None or not self.notebook_is_fresh(state):
            return {}
        result = state.result
        cell = result.cells.get(unquote(uri)) if result is not None else None
        if cell is None or cell.version != doc.findings_version:
            return {}
        verified = await self.notebook_verified(state)
        return {
            index: bool(verified.get(program_index)) and finding.fix is not None
            for index, (program_index, finding) in enumerate(zip(cell.program_index, cell.findings))
        }

    async def notebook_fix_all(self, uri: str, only_cell: str | None = None) -> dict[str, list[t.TextEdit]]:
        """Verified, non-conflicting fixes of the whole notebook (or of one cell) as edits
        per cell document. Fixes that span cells or touch IPython lines are never offered."""
        result = await self.current_notebook(uri)
        state = self.notebooks.get(uri)
        if result is None or state is None:
            return {}
        verified = await self.notebook_verified(state)
        if state.result is not result:
            return {}
        program = result.program
        wanted = unquote(only_cell) if only_cell else None

        def accept(index: int, finding: Finding) -> bool:
            if not verified.get(index) or finding.fix is None:
                return False
            mapped = program.map_fix(finding.fix)
            return mapped is not None and (wanted is None or unquote(str(mapped[0].id)) == wanted)

        chosen, _ = compatible_edits(program.text, result.findings, accept)
        return notebooks.cell_edits(program, result.snapshot, self.codec(), chosen)

    # --------------------------------------------------------- overfit lens
    async def overfit_lenses(self, uri: str) -> list[tuple[int, dict[str, object]]]:
        """[(0-based line, engine args)] of the training loops in a Python file or cell,
        cached per version (cells: per notebook snapshot)."""
        notebook = self.notebook_of(uri)
        loop = asyncio.get_running_loop()
        if notebook is not None:
            snap = notebooks.snapshot(self.workspace, notebook)
            if snap is None:
                return []
            key, cache_key = ("notebook", snap.key), unquote(notebook)
            cached = self.lens_cache.get(cache_key)
            if cached is None or cached[0] != key:
                by_cell = await loop.run_in_executor(self.analysis_pool, notebooks.lenses, snap)
                cached = self.lens_cache[cache_key] = (key, by_cell)
            return list(cached[1].get(unquote(uri), []))
        doc = self.workspace.get_text_document(uri)
        key, cache_key = ("text", doc.version), unquote(uri)
        cached = self.lens_cache.get(cache_key)
        if cached is None or cached[0] != key:
            found = await loop.run_in_executor(self.analysis_pool, training_loops_for_lens, doc.source)
            cached = self.lens_cache[cache_key] = (key, [(line - 1, args) for line, _title, args in found])
        return list(cached[1])

    def overfit_command(self, uri: str, line: int, lang: str) -> t.Command:
        version = self.workspace.get_text_document(uri).version
        return t.Command(
            title=i18n.text(lang, "overfit_lens"),
            command=OVERFIT_COMMAND,
            arguments=[{"uri": uri, "version": version, "line": line}],
        )

    async def overfit_edit(self, uri: str, line: int) -> tuple[str, list[t.TextEdit]] | None:
        """The edit inserting the check above the loop on 0-based `line` of a file or cell,
        as (document URI, LSP edits) for the current version; None if there is no such loop
        (or the document changed meanwhile). Cached per version."""
        if not self.is_open(uri) or self.out_of_step(uri):
            return None
        doc = self.workspace.get_text_document(uri)
        config = self.config_for(uri)
        notebook = self.notebook_of(uri)
        loop = asyncio.get_running_loop()
        if notebook is not None:
            snap = notebooks.snapshot(self.workspace, notebook)
            if snap is None:
                return None
            key: Any = ("notebook", snap.key, unquote(uri), line, self.generation)
        else:
            key = ("text", unquote(uri), doc.version, line, self.generation)
        cached = self.overfit_cache.get(unquote(uri))
        if cached is not None and cached[0] == key:
            return cached[1]
        if notebook is not None:
            found = await loop.run_in_executor(
                self.analysis_pool, notebooks.overfit_edit, snap, uri, line, config.engine
            )
            target, edit = found if found is not None else (uri, None)
            cell = snap.cell(target)
            text, target_version = (cell.text, cell.version) if cell is not None else ("", None)
        else:
            text, target, target_version = doc.source, uri, doc.version
            edit = await loop.run_in_executor(
                self.analysis_pool, overfit_check_edit, text, doc.path or uri, line + 1, config.engine
            )
        if not self.is_open(target) or self.workspace.get_text_document(target).version != target_version:
            return None
        value = None
        if edit is not None:
            value = target, convert.edits_to_lsp(self.codec(), convert.split_lines(text), [edit])
        self.overfit_cache[unquote(uri)] = (key, value)
        return value

    async def insert_overfit_check(self, uri: str, version: int | None, line: int) -> dict[str, Any]:
        """The lens' command: build the check and apply it through workspace/applyEdit."""
        if not self.is_open(uri):
            return {"applied": False, "reason": "not open"}
        if version is not None and self.workspace.get_text_document(uri).version != version:
            return {"applied": False, "reason": "the document changed"}
        lang = self.config_for(uri).lang
        found = await self.overfit_edit(uri, line)
        if found is None:
            self.window_show_message(
                t.ShowMessageParams(type=t.MessageType.Info, message=f"nnlint: {i18n.text(lang, 'overfit_none')}")
            )
            return {"applied": False, "reason": "no training loop to check there"}
        target, edits = found
        result = await self.workspace_apply_edit_async(
            t.ApplyWorkspaceEditParams(
                edit=self.workspace_edit(target, edits), label=f"nnlint: {i18n.text(lang, 'overfit_lens')}"
            )
        )
        return {"applied": bool(result and result.applied), "uri": target}


def _supports(capabilities: Any, dotted: str) -> bool:
    value = capabilities
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return False
    return bool(value) if isinstance(value, bool) else True


def _analyse(
    text: str,
    path: str,
    settings: Settings,
    codec: PositionCodec,
    uri: str,
    version: int | None,
    docs_base: str | None,
    project: ProjectIndex | None,
    lang: str = "en",
) -> tuple[list[Finding] | None, list[t.Diagnostic] | None, t.Diagnostic | None, float, Any]:
    """Runs in the analysis pool: the engine call plus the conversion to LSP. Fixes are
    verified on demand (`_verify`), not on every keystroke."""
    start = time.perf_counter()
    result = check_source(text, path, settings, verify_fixes=False, project=project)
    lines = result.source.lines
    if result.error is not None:
        error = convert.finding_to_diagnostic(result.error, uri, codec, lines, version, docs_base, lang=lang)
        return None, None, error, (time.perf_counter() - start) * 1000, None
    findings = [f for f in result.findings if f.code != SYNTAX_ERROR]
    diagnostics = [
        convert.finding_to_diagnostic(f, uri, codec, lines, version, docs_base, index, lang=lang)
        for index, f in enumerate(findings)
    ]
    return findings, diagnostics, None, (time.perf_counter() - start) * 1000, dependencies_only(result.semantic)


def dependencies_only(semantic: Any) -> Any:
    """What the server keeps of an analysis: the modules it read (to re-analyse when one
    changes). The index itself is released at once, so an editing session does not pile
    up one semantic index per keystroke for the cyclic collector."""
    if semantic is None:
        return None
    kept = SimpleNamespace(dependencies=dict(semantic.dependencies))
    semantic.release()
    return kept


def _release_memory() -> None:
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def _verify(
    text: str, findings: list[Finding], settings: Settings, project: ProjectIndex | None
) -> dict[int, bool]:
    try:
        return safe_fixes(text, findings, settings, project)
    except Exception:  # noqa: BLE001 - an unverifiable fix is simply not offered
        log.exception("verifying fixes failed")
        return {index: False for index, finding in enumerate(findings) if finding.fix is not None}


def _kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)


def disable_edit(codec: PositionCodec, lines: Sequence[str], line: int, code: str) -> t.TextEdit | None:
    """Append `# nnlint: disable=CODE` to a line, or extend the comment already there."""
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    match = _DISABLE_COMMENT.search(text)
    if match:
        present = {c.strip().upper() for c in match.group(1).split(",")}
        if code.upper() in present:
            return None
        column, new_text = match.end(1), f",{code}"
    else:
        if text.rstrip().endswith("\\"):
            return None  # a comment cannot follow a line continuation
        column, new_text = len(text), f"  # nnlint: disable={code}"
    span = Span(line + 1, column, line + 1, column)
    return t.TextEdit(range=convert.span_to_range(codec, lines, span), new_text=new_text)


_AST_LOCK = threading.Lock()


def serialize_ast_parse() -> None:
    """Parse on one thread at a time in this process. CPython before 3.12.4/3.11.9 keeps the
    AST converter's recursion depth in shared state, so two `ast.parse` calls on different
    threads (the two analysis workers) fail now and then with "SystemError: AST constructor
    recursion depth mismatch" (python/cpython#106905): a document then never gets its
    diagnostics. Parsing is a small part of an analysis; the rest still runs in parallel."""
    import ast

    if getattr(ast.parse, "_nnlint_serialized", False):
        return
    original = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        with _AST_LOCK:
            return original(*args, **kwargs)

    parse._nnlint_serialized = True  # type: ignore[attr-defined]
    parse.__doc__ = original.__doc__
    ast.parse = parse  # type: ignore[assignment]


# ======================================================================= handlers
def create_server() -> NnlintServer:
    serialize_ast_parse()
    server = NnlintServer()

    @server.feature(t.INITIALIZE)
    def initialize(ls: NnlintServer, params: t.InitializeParams) -> None:
        transport.watch_parent(params.process_id, lambda: ls.stop_serving(1))
        pygls_adapter.install_workspace(ls, convert.FastPositionCodec(ls.workspace.position_encoding))
        ls.client_locale = params.locale
        options = params.initialization_options
        if options is not None:
            ls.global_settings, problems = parse_settings(options)
            ls._init_problems = problems  # type: ignore[attr-defined]
        if isinstance(options, dict) and isinstance(options.get("docsBaseUrl"), str):
            ls.docs_base = options["docsBaseUrl"]
        if isinstance(options, dict) and isinstance(options.get("workspaceTrusted"), bool):
            ls.workspace_trusted = options["workspaceTrusted"]
        for folder in params.workspace_folders or []:
            ls.folder_settings[folder.uri] = ls.global_settings
        if not ls.folder_settings and params.root_uri:
            ls.folder_settings[params.root_uri] = ls.global_settings
        caps = params.capabilities
        if caps.text_document is not None and caps.text_document.diagnostic is not None:
            ls.pull = True
            ls.feature(
                t.TEXT_DOCUMENT_DIAGNOSTIC,
                t.DiagnosticOptions(identifier="nnlint", inter_file_dependencies=False, workspace_diagnostics=False),
            )(pull_diagnostics)
        load_rules()

    @server.feature(t.INITIALIZED)
    async def initialized(ls: NnlintServer, params: t.InitializedParams) -> None:
        for problem in getattr(ls, "_init_problems", []):
            ls.report(problem)
        try:
            await ls.fetch_configuration()
        finally:
            ls.config_ready.set()
        ls.start_cross_file()
        if _supports(ls.client_capabilities, "workspace.did_change_watched_files.dynamic_registration"):
            try:
                await ls.client_register_capability_async(
                    t.RegistrationParams(
                        registrations=[
                            t.Registration(
                                id="nnlint-pyproject-watcher",
                                method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                register_options=t.DidChangeWatchedFilesRegistrationOptions(
                                    watchers=[
                                        t.FileSystemWatcher(glob_pattern="**/pyproject.toml"),
                                        t.FileSystemWatcher(glob_pattern="**/*.py"),
                                    ]
                                ),
                            )
                        ]
                    )
                )
            except Exception as exc:  # noqa: BLE001
                log.warning("cannot watch pyproject.toml: %s", exc)
        if ls.docs:
            ls.refresh_all()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NnlintServer, params: t.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.docs[uri] = DocState(uri, saved_version=params.text_document.version)
        ls.overlay(uri)
        if not ls.pull:
            ls.schedule(uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NnlintServer, params: t.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.shift_for_changes(uri, params.content_changes)
        if uri not in ls.docs:
            return
        ls.docs[uri].revision += 1
        ls.overlay(uri)
        if ls.pull:
            return
        editor = ls.editor_settings(uri)
        if editor.run == "onType":
            ls.schedule(uri, editor.debounce_ms / 1000)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: NnlintServer, params: t.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        state = ls.docs.get(uri)
        if state is None or not ls.is_open(uri):
            return
        state.saved_version = ls.workspace.get_text_document(uri).version
        if not ls.pull:
            ls.schedule(uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NnlintServer, params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.overlay(uri, drop=True)
        ls.projects.pop(unquote(uri), None)
        ls.lens_cache.pop(unquote(uri), None)
        ls.overfit_cache.pop(unquote(uri), None)
        state = ls.docs.pop(uri, None)
        if state is not None and state.task is not None:
            state.task.cancel()
        if not ls.pull:
            ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        ls.release_memory_later()

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: NnlintServer, params: t.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        old = ls.notebooks.get(uri)
        if old is not None and old.task is not None:
            old.task.cancel()
        ls.notebooks[uri] = NotebookState(uri)
        ls.schedule_notebook(uri)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: NnlintServer, params: t.DidChangeNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = ls.notebooks.get(uri)
        if state is None:
            return
        cells = params.change.cells
        if cells is not None and cells.structure is not None:
            for removed in cells.structure.did_close or []:
                ls.drop_cell(state, removed.uri)
        config = ls.config_for(uri)
        if config.editor.run == "onType":
            ls.schedule_notebook(uri, config.editor.debounce_ms / 1000)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: NnlintServer, params: t.DidSaveNotebookDocumentParams) -> None:
        if params.notebook_document.uri in ls.notebooks:
            ls.schedule_notebook(params.notebook_document.uri)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: NnlintServer, params: t.DidCloseNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        state = ls.notebooks.pop(uri, None)
        ls.lens_cache.pop(unquote(uri), None)
        if state is None:
            return
        if state.task is not None:
            state.task.cancel()
        for cell in params.cell_text_documents:
            ls.drop_cell(state, cell.uri)
        ls._clear_notebook(state)
        ls.release_memory_later()

    @server.feature(t.TEXT_DOCUMENT_CODE_LENS, t.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: NnlintServer, params: t.CodeLensParams) -> list[t.CodeLens]:
        uri = params.text_document.uri
        if not ls.is_open(uri):
            return []
        try:
            config = ls.config_for(uri)
            if not config.editor.enable:
                return []
            lenses = []
            for line, _args in await ls.overfit_lenses(uri):
                if not ls.is_open(uri):
                    return []
                position = t.Position(line=line, character=0)
                lenses.append(
                    t.CodeLens(
                        range=t.Range(start=position, end=position), command=ls.overfit_command(uri, line, config.lang)
                    )
                )
            return lenses
        except Exception:  # noqa: BLE001
            log.exception("code lenses failed")
            return []

    @server.command(OVERFIT_COMMAND)
    async def insert_overfit_check(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        first = args[0] if args else None
        if not isinstance(first, dict) or not isinstance(first.get("uri"), str):
            return {"applied": False, "reason": "expected {uri, version, line}"}
        line, version = first.get("line"), first.get("version")
        if not isinstance(line, int) or isinstance(line, bool):
            return {"applied": False, "reason": "expected {uri, version, line}"}
        return await ls.insert_overfit_check(first["uri"], version if isinstance(version, int) else None, line)

    @server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: NnlintServer, params: t.DidChangeConfigurationParams) -> None:
        if _supports(ls.client_capabilities, "workspace.configuration"):
            await ls.fetch_configuration()
        elif params.settings is not None:
            ls.global_settings = ls._parse(params.settings, ls.global_settings)
            for folder in ls.folder_settings:
                ls.folder_settings[folder] = ls.global_settings
        ls.settings_changed()

    @server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: NnlintServer, params: t.DidChangeWatchedFilesParams) -> None:
        python_changes = [c.uri for c in params.changes if c.uri.endswith(".py")]
        if any(not c.uri.endswith(".py") for c in params.changes):
            ls.pyprojects.clear()
            ls.refresh_all()
            return
        for uri in python_changes:
            ls.module_changed_on_disk(uri)

    @server.feature(t.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls: NnlintServer, params: t.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            ls.folder_settings.pop(removed.uri, None)
        for added in params.event.added:
            ls.folder_settings[added.uri] = ls.global_settings
        await ls.fetch_configuration()
        ls.refresh_all()

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: NnlintServer, params: t.HoverParams) -> t.Hover | None:
        uri = params.text_document.uri
        if not ls.is_open(uri):
            return None
        try:
            return _hover(ls, uri, params.position)
        except Exception:  # noqa: BLE001
            log.exception("hover failed")
            return None

    @server.feature(
        t.TEXT_DOCUMENT_CODE_ACTION,
        t.CodeActionOptions(
            code_action_kinds=[t.CodeActionKind.QuickFix, FIX_ALL_KIND, NOTEBOOK_FIX_ALL_KIND, OVERFIT_KIND],
            resolve_provider=False,
        ),
    )
    async def code_action(ls: NnlintServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
        uri = params.text_document.uri
        if not ls.is_open(uri) or uri not in ls.docs:
            return []
        try:
            return await _code_actions(ls, uri, params)
        except Exception:  # noqa: BLE001
            log.exception("code actions failed")
            return []

    @server.command("nnlint.applyFixAll")
    async def apply_fix_all(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        uri = _uri_argument(args)
        if uri is None:
            return {"applied": False, "edits": 0, "reason": "expected a document URI, {uri} or {textDocument: {uri}}"}
        notebook = (uri if uri in ls.notebooks else ls.notebook_of(uri)) if uri is not None else None
        if notebook is not None:  # a notebook, or one of its cells: fix the whole notebook
            if ls.out_of_step(notebook):
                return {"applied": False, "edits": 0, "reason": OUT_OF_STEP}
            by_cell = await ls.notebook_fix_all(notebook)
            if not by_cell:
                return {"applied": False, "edits": 0}
            result = await ls.workspace_apply_edit_async(
                t.ApplyWorkspaceEditParams(edit=ls.workspace_edits(by_cell), label="nnlint: fix all")
            )
            return {"applied": bool(result and result.applied), "edits": sum(len(e) for e in by_cell.values())}
        if uri is None or not ls.is_open(uri):
            return {"applied": False, "edits": 0}
        if ls.out_of_step(uri):
            return {"applied": False, "edits": 0, "reason": OUT_OF_STEP}
        findings = await ls.current_findings(uri) or []
        verified = await ls.verified_fixes(uri)
        edits = ls.fix_all_edits(uri, [f for i, f in enumerate(findings) if verified.get(i)])
        if not edits:
            return {"applied": False, "edits": 0}
        result = await ls.workspace_apply_edit_async(
            t.ApplyWorkspaceEditParams(edit=ls.workspace_edit(uri, edits), label="nnlint: fix all")
        )
        return {"applied": bool(result and result.applied), "edits": len(edits)}

    @server.command("nnlint.showRuleDocs")
    def show_rule_docs(ls: NnlintServer, *args: Any) -> dict[str, Any] | None:
        code = None
        if args:
            first = args[0]
            code = first.get("code") if isinstance(first, dict) else first
        rule = load_rules().get(str(code).upper()) if code else None
        if rule is None:
            ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"nnlint: unknown rule {code!r}"))
            return None
        from nnlint.output import rule_url

        return {
            "code": rule.code,
            "name": rule.name,
            "summary": rule.summary,
            "severity": rule.severity.value,
            "url": rule_url(rule.code, ls.docs_base) if ls.docs_base else rule_url(rule.code),
            "markdown": rule.documentation(),
        }

    @server.command("nnlint.debugInfo")
    def debug_info(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        return _debug_info(ls)

    @server.feature(t.SHUTDOWN)
    def shutdown(ls: NnlintServer, *args: Any) -> None:
        for state in [*ls.docs.values(), *ls.notebooks.values()]:
            if state.task is not None:
                state.task.cancel()
        ls.analysis_pool.shutdown(wait=False, cancel_futures=True)

    return server


async def pull_diagnostics(ls: NnlintServer, params: t.DocumentDiagnosticParams) -> t.DocumentDiagnosticReport:
    uri = params.text_document.uri
    if not ls.is_open(uri) or uri not in ls.docs or ls.docs[uri].notebook is not None:
        return t.RelatedFullDocumentDiagnosticReport(items=[])  # notebook cells are always pushed
    state = ls.docs[uri]
    try:
        for _ in range(3):
            version = ls.workspace.get_text_document(uri).version
            config = ls.config_for(uri)
            dirty = version != state.saved_version
            if (state.analysed_version == version and state.analysed_revision == state.revision) or (
                config.editor.run == "onSave" and dirty and state.analysed_version is not None
            ):
                break
            diagnostics, _ = await ls.analyse(uri)
            if diagnostics is not None:
                break
    except Exception:  # noqa: BLE001
        log.exception("pull diagnostics failed")
    version = ls.workspace.get_text_document(uri).version if ls.is_open(uri) else None
    result_id = f"{ls.generation}:{state.analysed_version}:{version}:{state.analysed_revision}"
    if params.previous_result_id == result_id:
        return t.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    return t.RelatedFullDocumentDiagnosticReport(items=list(state.shown), result_id=result_id)


def _uri_argument(args: Sequence[Any]) -> str | None:
    """The document URI a command was given: "uri", {"uri": uri} or {"textDocument":
    {"uri": uri}}; None for anything else (a malformed argument is not an error trace)."""
    if not args:
        return None
    first = args[0]
    if isinstance(first, str):
        return first
    if isinstance(first, dict):
        document = first.get("textDocument")
        value = first.get("uri") or (document.get("uri") if isinstance(document, dict) else None)
        return value if isinstance(value, str) else None
    return None


def _markup(ls: NnlintServer, value: str) -> t.MarkupContent:
    formats = None
    hover_caps = getattr(getattr(ls.client_capabilities, "text_document", None), "hover", None)
    if hover_caps is not None:
        formats = hover_caps.content_format
    if formats and t.MarkupKind.Markdown not in formats:
        return t.MarkupContent(kind=t.MarkupKind.PlainText, value=value)
    return t.MarkupContent(kind=t.MarkupKind.Markdown, value=value)


def _hover(ls: NnlintServer, uri: str, position: t.Position) -> t.Hover | None:
    state = ls.docs.get(uri)
    config = ls.config_for(uri)
    if state is not None:
        matches = [d for d in state.shown if convert.contains(d.range, position) and d.code != SYNTAX_ERROR]
        if matches:
            value = convert.hover_for_diagnostics(matches, ls.docs_base, config.lang)
            return t.Hover(contents=_markup(ls, value), range=matches[0].range)
    # a code inside a suppression comment
    doc = ls.workspace.get_text_document(uri)
    lines = convert.split_lines(doc.source)
    if not 0 <= position.line < len(lines) or "#" not in lines[position.line]:
        return None
    line_text = lines[position.line]
    suppressions = parse_suppressions(SourceFile(line_text))
    codes = set(suppressions.file_codes) | set(suppressions.lines.get(1) or ())
    if not codes:
        return None
    _, column = convert.position_from_client(ls.codec(), lines, position)
    comment_start = line_text.index("#")
    for match in _CODE_WORD.finditer(line_text, comment_start):
        if match.start() <= column <= match.end() and match.group().upper() in codes:
            value = convert.hover_for_rule(match.group().upper(), ls.docs_base, config.lang)
            if value is None:
                return None
            span = Span(position.line + 1, match.start(), position.line + 1, match.end())
            return t.Hover(contents=_markup(ls, value), range=convert.span_to_range(ls.codec(), lines, span))
    return None


async def _code_actions(ls: NnlintServer, uri: str, params: t.CodeActionParams) -> list[t.CodeAction]:
    doc = ls.workspace.get_text_document(uri)
    if ls.out_of_step(uri):
        return []  # our text may not be the client's: an edit computed on it could corrupt code
    state = ls.docs[uri]
    config = ls.config_for(uri)
    only = params.context.only
    actions: list[t.CodeAction] = []
    notebook = ls.notebooks.get(state.notebook) if state.notebook is not None else None
    if _kind_wanted(t.CodeActionKind.QuickFix, only):
        diagnostics = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
        if not diagnostics:  # a client that sends no context: use what we published there
            diagnostics = [d for d in state.shown if convert.overlaps(d.range, params.range)]
        lines = convert.split_lines(doc.source)
        verified = await ls.verified_fixes(uri) if any(convert.fix_edits(d) for d in diagnostics) else {}
        doc = ls.workspace.get_text_document(uri)
        disabled: set[tuple[int, str]] = set()
        for diagnostic in diagnostics:
            code = str(diagnostic.code)
            if code == SYNTAX_ERROR:
                continue
            fix = convert.fix_edits(diagnostic)
            data = convert.diagnostic_data(diagnostic)
            if (
                fix is not None
                and data.get("version") == doc.version
                and verified.get(data.get("index"))
                # the very diagnostic we publish now (a repeated version number could
                # otherwise pass off an older text's fix)
                and any(convert.diagnostic_data(shown) == data for shown in state.shown)
                and (notebook is None or data.get("notebookResult") == notebook.serial)
            ):
                title, edits = fix
                actions.append(
                    t.CodeAction(
                        title=f"nnlint ({code}): {title}",
                        kind=t.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=ls.workspace_edit(uri, edits),
                        is_preferred=True,
                    )
                )
            line = diagnostic.range.start.line
            if (line, code) in disabled:
                continue
            disabled.add((line, code))
            edit = disable_edit(ls.codec(), lines, line, code)
            if edit is not None:
                actions.append(
                    t.CodeAction(
                        title=f"nnlint ({code}): {i18n.text(config.lang, 'disable_line')}",
                        kind=t.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=ls.workspace_edit(uri, [edit]),
                    )
                )
    fixable = any(convert.fix_edits(d) for d in state.shown)
    if notebook is not None:
        if _kind_wanted(FIX_ALL_KIND, only) and (only or fixable):
            by_cell = await ls.notebook_fix_all(notebook.uri, only_cell=uri)
            if by_cell:
                actions.append(
                    t.CodeAction(
                        title=f"nnlint: {i18n.text(config.lang, 'fix_all')}",
                        kind=FIX_ALL_KIND,
                        edit=ls.workspace_edits(by_cell),
                    )
                )
        if only and _kind_wanted(NOTEBOOK_FIX_ALL_KIND, only):  # asked for once per notebook
            by_cell = await ls.notebook_fix_all(notebook.uri)
            if by_cell:
                actions.append(
                    t.CodeAction(
                        title=f"nnlint: {i18n.text(config.lang, 'fix_all_notebook')}",
                        kind=NOTEBOOK_FIX_ALL_KIND,
                        edit=ls.workspace_edits(by_cell),
                    )
                )
    elif _kind_wanted(FIX_ALL_KIND, only) and (only or fixable):
        findings = await ls.current_findings(uri)
        if findings and ls.is_open(uri):
            verified = await ls.verified_fixes(uri)
            findings = [f for i, f in enumerate(findings) if verified.get(i)]
            edits = ls.fix_all_edits(uri, findings)
            if edits:
                actions.append(
                    t.CodeAction(
                        title=f"nnlint: {i18n.text(config.lang, 'fix_all')}",
                        kind=FIX_ALL_KIND,
                        edit=ls.workspace_edit(uri, edits),
                    )
                )
    if _kind_wanted(OVERFIT_KIND, only) and config.editor.enable and ls.is_open(uri):
        first, last = params.range.start.line, params.range.end.line
        for line, _args in await ls.overfit_lenses(uri):
            if first <= line <= last:
                # an edit, not a command: clients parse a code action carrying a command
                # as a bare Command (lsprotocol does), and it works without executeCommand
                found = await ls.overfit_edit(uri, line)
                if found is not None:
                    title = f"nnlint: {i18n.text(config.lang, 'overfit_lens')}"
                    edit = ls.workspace_edit(*found)
                    actions.append(t.CodeAction(title=title, kind=OVERFIT_KIND, edit=edit))
    return actions


def _debug_info(ls: NnlintServer) -> dict[str, Any]:
    import lsprotocol
    import pygls

    def versions() -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        out = {"nnlint": __version__}
        for name in ("pygls", "lsprotocol"):
            try:
                out[name] = version(name)
            except PackageNotFoundError:
                out[name] = "unknown"
        return out

    timings = list(ls.timings)
    folders = {}
    for folder, settings in ls.folder_settings.items():
        folders[folder] = _settings_dict(settings)
    return {
        "versions": versions(),
        "python": sys.version,
        "interpreter": sys.executable,
        "crossFileInterpreter": _project_options().get("environment_path"),
        "workspaceTrusted": ls.workspace_trusted,
        "platform": platform.platform(),
        "pid": os.getpid(),
        "positionEncoding": getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding),
        "diagnosticMode": "pull" if ls.pull else "push",
        "locale": ls.client_locale,
        "settings": {"global": _settings_dict(ls.global_settings), "folders": folders},
        "openDocuments": sorted(state.uri for state in ls.docs.values()),
        "rules": sorted(load_rules()),
        "timings": {
            "analyses": len(timings),
            "lastMs": round(timings[-1], 2) if timings else None,
            "medianMs": round(statistics.median(timings), 2) if timings else None,
            "maxMs": round(max(timings), 2) if timings else None,
        },
        "modules": {"pygls": getattr(pygls, "__file__", None), "lsprotocol": getattr(lsprotocol, "__file__", None)},
        "state": _state_sizes(ls),
    }


def _project_options() -> dict[str, Any]:
    """How the engine makes project indexes now (the interpreter jedi runs, above all)."""
    from nnlint import project as project_module

    return dict(getattr(project_module, "_SHARED_OPTIONS", {}))


def _state_sizes(ls: NnlintServer) -> dict[str, int]:
    """How much per-document state the server holds (all 0 once every document is closed,
    but for the project indexes' modules read from disk)."""
    from nnlint import project as project_module

    indexes = list(getattr(project_module, "_SHARED", {}).values())
    tasks = [s.task for s in [*ls.docs.values(), *ls.notebooks.values()] if s.task is not None and not s.task.done()]
    return {
        "documents": len(ls.workspace.text_documents),
        "notebooks": len(ls.workspace.notebook_documents),
        "docStates": len(ls.docs),
        "notebookStates": len(ls.notebooks),
        "lensCache": len(ls.lens_cache),
        "overfitCache": len(ls.overfit_cache),
        "pendingAnalyses": len(tasks),
        "projectsRemembered": len(ls.projects),
        "projectIndexes": len(indexes),
        "projectOverlays": sum(len(getattr(i, "_overlays", {})) for i in indexes),
        # pygls' table of handlers in flight (but for this request)
        "requestFutures": ls.protocol.pending_futures(),
    }


def _settings_dict(settings: ServerSettings) -> dict[str, Any]:
    from dataclasses import asdict

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()}


def _uri_path(uri: str) -> Path | None:
    if not uri.startswith("file:"):
        return None
    from urllib.parse import unquote, urlparse

    return Path(unquote(urlparse(uri).path))
