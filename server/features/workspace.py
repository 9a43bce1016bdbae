"""Workspace notifications: configuration changes, watched files, workspace folders."""

from __future__ import annotations

from lsprotocol import types as t

from ..core import NnlintServer


def register(server: NnlintServer) -> None:
    @server.feature(t.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: NnlintServer, params: t.DidChangeConfigurationParams) -> None:
        if ls.capabilities.workspace_configuration:
            await ls.fetch_configuration()
        elif params.settings is not None:
            ls.apply_global_settings(params.settings)
        ls.settings_changed()

    @server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: NnlintServer, params: t.DidChangeWatchedFilesParams) -> None:
        files_changed(ls, [change.uri for change in params.changes])

    @server.feature(t.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(ls: NnlintServer, params: t.DidChangeWorkspaceFoldersParams) -> None:
        for removed in params.event.removed:
            ls.folder_settings.pop(removed.uri, None)
        for added in params.event.added:
            ls.folder_settings[added.uri] = ls.global_settings
        await ls.fetch_configuration()
        ls.refresh_all()


def files_changed(ls: NnlintServer, uris: list[str]) -> None:
    """A pyproject.toml changed: settings may have, analyse everything again. Only Python
    files: re-analyse the open documents that read them."""
    if any(not uri.endswith(".py") for uri in uris):
        ls.pyprojects.clear()
        ls.refresh_all()
        return
    for uri in uris:
        ls.module_changed_on_disk(uri)
