"""Pull diagnostics (textDocument/diagnostic). Pushed diagnostics are published by
scheduling as analyses finish; notebook cells are always pushed."""

from __future__ import annotations

import logging

from lsprotocol import types as t

from ..core import NnlintServer

log = logging.getLogger("nnlint.server")

PULL_OPTIONS = t.DiagnosticOptions(identifier="nnlint", inter_file_dependencies=False, workspace_diagnostics=False)


def register(server: NnlintServer) -> None:
    """Nothing before `initialize`: the pull handler is registered (and the capability
    announced) only for a client that says it pulls (`register_pull`), since a server that
    announces it must not push as well."""


def register_pull(ls: NnlintServer) -> None:
    ls.feature(t.TEXT_DOCUMENT_DIAGNOSTIC, PULL_OPTIONS)(pull_diagnostics)


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
