"""`NnlintServer`: the language server's state and the helpers every feature uses.

Its behaviour is spread by concern over mixins: `configuration` (settings), `crossfile`
(project indexes), `scheduling` (debounce, analysis, staleness); `state` holds what is kept
per document. The LSP handlers live in `features/`, one module per feature; `app.create_server`
registers them. All knowledge of rules and Python lives in the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.workspace.position_codec import PositionCodec

from nnlint import __version__
from nnlint.project import ProjectIndex

from . import analysis, notebooks, pygls_adapter, transport
from .capabilities import ClientCapabilities
from .configuration import Configuration
from .crossfile import CrossFile
from .scheduling import Scheduling
from .settings import PyprojectCache, ServerSettings
from .state import DocStates

log = logging.getLogger("nnlint.server")


class NnlintServer(Configuration, CrossFile, Scheduling, LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "nnlint",
            __version__,
            text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebooks.SYNC_OPTIONS,
            protocol_cls=transport.Protocol,
        )
        self.capabilities = ClientCapabilities()  # resolved at initialize
        self.docs = DocStates()
        self.notebooks = DocStates()  # NotebookState by notebook URI
        self.lens_cache: dict[str, tuple[Any, Any]] = {}
        self.overfit_cache: dict[str, tuple[Any, Any]] = {}
        self.global_settings = ServerSettings()
        self.folder_settings: dict[str, ServerSettings] = {}
        self.init_problems: list[str] = []  # bad initializationOptions, reported once initialized
        self.client_locale: str | None = None
        self.pyprojects = PyprojectCache()
        self.generation = 0
        self.config_ready = asyncio.Event()
        self.analysis_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="nnlint-analysis")
        self.timings: deque[float] = deque(maxlen=500)
        self.reported: set[str] = set()
        self.docs_base: str | None = None
        self.projects: dict[str, ProjectIndex | None] = {}  # unquoted URI -> its project index
        # unquoted URI -> the incremental parser of a buffer, the most recently analysed last
        self.live_parsers: OrderedDict[str, analysis.LiveParser] = OrderedDict()
        self.trim_task: asyncio.Task | None = None
        self.workspace_trusted: bool | None = None  # initializationOptions.workspaceTrusted
        self.cross_file_interpreter: str | None = None  # what the project indexes run jedi with
        self.cross_file_started = False

    @property
    def pull(self) -> bool:
        """The client pulls diagnostics (textDocument/diagnostic); we never push then."""
        return self.capabilities.pull_diagnostics

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
            await asyncio.get_running_loop().run_in_executor(self.analysis_pool, analysis.release_memory)

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

    def workspace_edit(self, uri: str, edits: list[t.TextEdit]) -> t.WorkspaceEdit:
        return self.workspace_edits({uri: edits})

    def workspace_edits(self, edits_by_uri: dict[str, list[t.TextEdit]]) -> t.WorkspaceEdit:
        """One WorkspaceEdit over several documents (the cells of a notebook), versioned
        when the client supports documentChanges."""
        if self.capabilities.document_changes:
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

