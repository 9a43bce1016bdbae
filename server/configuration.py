"""Settings: the editor's (initializationOptions, workspace/configuration,
didChangeConfiguration) per workspace folder, merged with each document's [tool.nnlint].

A mixin of `NnlintServer` (core.py): the methods read and write the server's settings state.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types as t
from pygls.uris import to_fs_path

from nnlint.config import Settings

from . import i18n
from .settings import ServerSettings, effective_settings, parse_settings
from .state import DocConfig

log = logging.getLogger("nnlint.server")

CONFIG_WAIT_S = 3.0


class Configuration:
    def folder_for(self, uri: str) -> str | None:
        best = None
        for folder in self.folder_settings:
            prefix = folder.rstrip("/") + "/"
            if uri.startswith(prefix) and (best is None or len(folder) > len(best)):
                best = folder
        return best

    def config_for(self, uri: str) -> DocConfig:
        home = self.notebook_of(uri) or uri  # a cell is configured as its notebook
        folder = self.folder_for(home)
        editor = self.folder_settings[folder] if folder else self.global_settings
        path = None
        if home in self.notebooks:
            path = to_fs_path(home)
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

    def editor_settings(self, uri: str) -> ServerSettings:
        """The editor settings of a document's folder (no pyproject lookup: `run` and
        `debounceMs` are editor-only, and didChange must stay cheap)."""
        folder = self.folder_for(self.notebook_of(uri) or uri)
        return self.folder_settings[folder] if folder else self.global_settings

    async def wait_config(self) -> None:
        if not self.config_ready.is_set():
            try:
                await asyncio.wait_for(self.config_ready.wait(), CONFIG_WAIT_S)
            except asyncio.TimeoutError:
                self.config_ready.set()

    async def fetch_configuration(self) -> None:
        if not self.capabilities.workspace_configuration:
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

    def apply_global_settings(self, raw: Any) -> None:
        """Settings pushed without workspace/configuration: one set for every folder."""
        self.global_settings = self.parse_reported(raw)
        for folder in self.folder_settings:
            self.folder_settings[folder] = self.global_settings

    def _apply_configuration(self, results: Any, folders: list[str]) -> None:
        results = list(results or [])
        if results and results[0] is not None:
            self.global_settings = self.parse_reported(results[0])
        for folder, value in zip(folders, results[1:]):
            self.folder_settings[folder] = self.parse_reported(value) if value is not None else self.global_settings

    def parse_reported(self, raw: Any) -> ServerSettings:
        """Typed settings; each problem (a bad value falls back to its default) reported."""
        settings, problems = parse_settings(raw)
        for problem in problems:
            self.report(problem)
        return settings
