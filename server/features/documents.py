"""Text documents: didOpen, didChange, didSave, didClose."""

from __future__ import annotations

from urllib.parse import unquote

from lsprotocol import types as t

from ..core import NnlintServer
from ..state import DocState


def register(server: NnlintServer) -> None:
    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: NnlintServer, params: t.DidOpenTextDocumentParams) -> None:
        opened(ls, params.text_document.uri, params.text_document.version)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: NnlintServer, params: t.DidChangeTextDocumentParams) -> None:
        changed(ls, params.text_document.uri, params.content_changes)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: NnlintServer, params: t.DidSaveTextDocumentParams) -> None:
        saved(ls, params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: NnlintServer, params: t.DidCloseTextDocumentParams) -> None:
        closed(ls, params.text_document.uri)


def opened(ls: NnlintServer, uri: str, version: int) -> None:
    ls.docs[uri] = DocState(uri, saved_version=version)
    ls.overlay(uri)
    if not ls.pull:
        ls.schedule(uri)


def changed(ls: NnlintServer, uri: str, changes: list[t.TextDocumentContentChangeEvent]) -> None:
    ls.shift_for_changes(uri, changes)
    if uri not in ls.docs:
        return
    ls.docs[uri].revision += 1
    ls.overlay(uri)
    if ls.pull:
        return
    editor = ls.editor_settings(uri)
    if editor.run == "onType":
        ls.schedule(uri, editor.debounce_ms / 1000)


def saved(ls: NnlintServer, uri: str) -> None:
    state = ls.docs.get(uri)
    if state is None or not ls.is_open(uri):
        return
    state.saved_version = ls.workspace.get_text_document(uri).version
    if not ls.pull:
        ls.schedule(uri)


def closed(ls: NnlintServer, uri: str) -> None:
    ls.overlay(uri, drop=True)
    ls.projects.pop(unquote(uri), None)
    ls.live_parsers.pop(unquote(uri), None)
    ls.lens_cache.pop(unquote(uri), None)
    ls.overfit_cache.pop(unquote(uri), None)
    state = ls.docs.pop(uri, None)
    if state is not None and state.task is not None:
        state.task.cancel()
    if not ls.pull:
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
    ls.release_memory_later()
