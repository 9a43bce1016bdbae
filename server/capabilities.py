"""What the client can do, resolved once at `initialize` (as ruff's session/capabilities.rs).

Every look-up goes through `pygls.capabilities.get_capability`; the features read the typed
flags instead of walking the client's capabilities by string paths on every request.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as t
from pygls.capabilities import get_capability


@dataclass(frozen=True)
class ClientCapabilities:
    pull_diagnostics: bool = False  # textDocument/diagnostic: the client pulls, we never push
    diagnostic_refresh: bool = False  # workspace/diagnostic/refresh
    code_lens_refresh: bool = False  # workspace/codeLens/refresh
    workspace_configuration: bool = False  # workspace/configuration
    document_changes: bool = False  # versioned edits in a WorkspaceEdit
    watched_files_registration: bool = False  # dynamic registration of didChangeWatchedFiles
    hover_markdown: bool = True  # hover contents in Markdown (the default when unspecified)

    @classmethod
    def resolve(cls, caps: t.ClientCapabilities) -> "ClientCapabilities":
        formats = get_capability(caps, "text_document.hover.content_format")
        return cls(
            pull_diagnostics=get_capability(caps, "text_document.diagnostic") is not None,
            diagnostic_refresh=bool(get_capability(caps, "workspace.diagnostics.refresh_support", False)),
            code_lens_refresh=bool(get_capability(caps, "workspace.code_lens.refresh_support", False)),
            workspace_configuration=bool(get_capability(caps, "workspace.configuration", False)),
            document_changes=bool(get_capability(caps, "workspace.workspace_edit.document_changes", False)),
            watched_files_registration=bool(
                get_capability(caps, "workspace.did_change_watched_files.dynamic_registration", False)
            ),
            hover_markdown=not formats or t.MarkupKind.Markdown in formats,
        )
