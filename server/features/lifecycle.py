"""initialize, initialized, shutdown."""

from __future__ import annotations

import logging

from lsprotocol import types as t

from nnlint.registry import load_rules

from .. import convert, pygls_adapter, transport
from ..capabilities import ClientCapabilities
from ..core import NnlintServer
from ..settings import parse_settings
from . import diagnostics

log = logging.getLogger("nnlint.server")

WATCHERS = ("**/pyproject.toml", "**/*.py")


def register(server: NnlintServer) -> None:
    @server.feature(t.INITIALIZE)
    def initialize(ls: NnlintServer, params: t.InitializeParams) -> None:
        transport.watch_parent(params.process_id, lambda: ls.stop_serving(1))
        pygls_adapter.install_workspace(ls, convert.FastPositionCodec(ls.workspace.position_encoding))
        on_initialize(ls, params)

    @server.feature(t.INITIALIZED)
    async def initialized(ls: NnlintServer, params: t.InitializedParams) -> None:
        await on_initialized(ls)

    @server.feature(t.SHUTDOWN)
    def shutdown(ls: NnlintServer, *args: object) -> None:
        for state in [*ls.docs.values(), *ls.notebooks.values()]:
            if state.task is not None:
                state.task.cancel()
        ls.analysis_pool.shutdown(wait=False, cancel_futures=True)


def on_initialize(ls: NnlintServer, params: t.InitializeParams) -> None:
    ls.capabilities = ClientCapabilities.resolve(params.capabilities)
    ls.client_locale = params.locale
    options = params.initialization_options
    if options is not None:
        ls.global_settings, ls.init_problems = parse_settings(options)
    if isinstance(options, dict) and isinstance(options.get("docsBaseUrl"), str):
        ls.docs_base = options["docsBaseUrl"]
    if isinstance(options, dict) and isinstance(options.get("workspaceTrusted"), bool):
        ls.workspace_trusted = options["workspaceTrusted"]
    for folder in params.workspace_folders or []:
        ls.folder_settings[folder.uri] = ls.global_settings
    if not ls.folder_settings and params.root_uri:
        ls.folder_settings[params.root_uri] = ls.global_settings
    if ls.pull:
        diagnostics.register_pull(ls)
    load_rules()


async def on_initialized(ls: NnlintServer) -> None:
    for problem in ls.init_problems:
        ls.report(problem)
    try:
        await ls.fetch_configuration()
    finally:
        ls.config_ready.set()
    ls.start_cross_file()
    if ls.capabilities.watched_files_registration:
        await watch_files(ls)
    if ls.docs:
        ls.refresh_all()


async def watch_files(ls: NnlintServer) -> None:
    """pyproject.toml (settings) and Python files (modules other documents import)."""
    watchers = [t.FileSystemWatcher(glob_pattern=pattern) for pattern in WATCHERS]
    registration = t.Registration(
        id="nnlint-pyproject-watcher",
        method=t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=t.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
    )
    try:
        await ls.client_register_capability_async(t.RegistrationParams(registrations=[registration]))
    except Exception as exc:  # noqa: BLE001
        log.warning("cannot watch pyproject.toml: %s", exc)
