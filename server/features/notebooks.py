"""Notebook documents: didOpen, didChange, didSave, didClose. A notebook's code cells are
analysed as one program (see server/notebooks.py); its cells' diagnostics are always pushed."""

from __future__ import annotations

from urllib.parse import unquote

from lsprotocol import types as t

from ..core import NnlintServer
from ..state import NotebookState


def register(server: NnlintServer) -> None:
    @server.feature(t.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_did_open(ls: NnlintServer, params: t.DidOpenNotebookDocumentParams) -> None:
        opened(ls, params.notebook_document.uri)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_CHANGE)
    def notebook_did_change(ls: NnlintServer, params: t.DidChangeNotebookDocumentParams) -> None:
        changed(ls, params.notebook_document.uri, params.change)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: NnlintServer, params: t.DidSaveNotebookDocumentParams) -> None:
        if params.notebook_document.uri in ls.notebooks:
            ls.schedule_notebook(params.notebook_document.uri)

    @server.feature(t.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: NnlintServer, params: t.DidCloseNotebookDocumentParams) -> None:
        closed(ls, params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])


def opened(ls: NnlintServer, uri: str) -> None:
    old = ls.notebooks.get(uri)
    if old is not None and old.task is not None:
        old.task.cancel()
    ls.notebooks[uri] = NotebookState(uri)
    ls.schedule_notebook(uri)


def changed(ls: NnlintServer, uri: str, change: t.NotebookDocumentChangeEvent) -> None:
    state = ls.notebooks.get(uri)
    if state is None:
        return
    cells = change.cells
    if cells is not None and cells.structure is not None:
        for removed in cells.structure.did_close or []:
            ls.drop_cell(state, removed.uri)
    config = ls.config_for(uri)
    if config.editor.run == "onType":
        ls.schedule_notebook(uri, config.editor.debounce_ms / 1000)


def closed(ls: NnlintServer, uri: str, cell_uris: list[str]) -> None:
    state = ls.notebooks.pop(uri, None)
    ls.lens_cache.pop(unquote(uri), None)
    if state is None:
        return
    if state.task is not None:
        state.task.cancel()
    for cell_uri in cell_uris:
        ls.drop_cell(state, cell_uri)
    ls.clear_notebook(state)
    ls.release_memory_later()
