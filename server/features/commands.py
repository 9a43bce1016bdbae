"""workspace/executeCommand: nnlint.applyFixAll, nnlint.showRuleDocs, nnlint.debugInfo and
the overfit lens' nnlint.insertOverfitCheck."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from dataclasses import asdict
from typing import Any, Sequence

from lsprotocol import types as t

from nnlint import __version__
from nnlint import project as project_module
from nnlint.output import rule_url
from nnlint.registry import load_rules

from .. import i18n
from ..core import NnlintServer
from ..settings import ServerSettings
from . import code_actions, code_lens

OUT_OF_STEP = "the server's copy of the document may differ from the editor's; reopen it"
EXPECTED_URI = "expected a document URI, {uri} or {textDocument: {uri}}"
EXPECTED_LOOP = "expected {uri, version, line}"


def register(server: NnlintServer) -> None:
    @server.command("nnlint.applyFixAll")
    async def apply_fix_all(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        uri = uri_argument(args)
        if uri is None:
            return {"applied": False, "edits": 0, "reason": EXPECTED_URI}
        return await fix_all(ls, uri)

    @server.command("nnlint.showRuleDocs")
    def show_rule_docs(ls: NnlintServer, *args: Any) -> dict[str, Any] | None:
        first = args[0] if args else None
        return rule_docs(ls, first.get("code") if isinstance(first, dict) else first)

    @server.command("nnlint.debugInfo")
    def debug_info(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        return debug_information(ls)

    @server.command(code_lens.OVERFIT_COMMAND)
    async def insert_overfit_check(ls: NnlintServer, *args: Any) -> dict[str, Any]:
        first = args[0] if args else None
        if not isinstance(first, dict) or not isinstance(first.get("uri"), str):
            return {"applied": False, "reason": EXPECTED_LOOP}
        line, version = first.get("line"), first.get("version")
        if not isinstance(line, int) or isinstance(line, bool):
            return {"applied": False, "reason": EXPECTED_LOOP}
        return await overfit_check(ls, first["uri"], version if isinstance(version, int) else None, line)


def uri_argument(args: Sequence[Any]) -> str | None:
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


async def fix_all(ls: NnlintServer, uri: str) -> dict[str, Any]:
    notebook = uri if uri in ls.notebooks else ls.notebook_of(uri)
    if notebook is not None:  # a notebook, or one of its cells: fix the whole notebook
        if ls.out_of_step(notebook):
            return {"applied": False, "edits": 0, "reason": OUT_OF_STEP}
        by_cell = await code_actions.notebook_fix_all(ls, notebook)
        if not by_cell:
            return {"applied": False, "edits": 0}
        applied = await apply(ls, ls.workspace_edits(by_cell), "nnlint: fix all")
        return {"applied": applied, "edits": sum(len(e) for e in by_cell.values())}
    if not ls.is_open(uri):
        return {"applied": False, "edits": 0}
    if ls.out_of_step(uri):
        return {"applied": False, "edits": 0, "reason": OUT_OF_STEP}
    edits = await code_actions.file_fix_all(ls, uri)
    if not edits:
        return {"applied": False, "edits": 0}
    applied = await apply(ls, ls.workspace_edit(uri, edits), "nnlint: fix all")
    return {"applied": applied, "edits": len(edits)}


async def apply(ls: NnlintServer, edit: t.WorkspaceEdit, label: str) -> bool:
    result = await ls.workspace_apply_edit_async(t.ApplyWorkspaceEditParams(edit=edit, label=label))
    return bool(result and result.applied)


def rule_docs(ls: NnlintServer, code: Any) -> dict[str, Any] | None:
    rule = load_rules().get(str(code).upper()) if code else None
    if rule is None:
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Warning, message=f"nnlint: unknown rule {code!r}"))
        return None
    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "severity": rule.severity.value,
        "url": rule_url(rule.code, ls.docs_base) if ls.docs_base else rule_url(rule.code),
        "markdown": rule.documentation(),
    }


async def overfit_check(ls: NnlintServer, uri: str, version: int | None, line: int) -> dict[str, Any]:
    """The lens' command: build the check and apply it through workspace/applyEdit."""
    if not ls.is_open(uri):
        return {"applied": False, "reason": "not open"}
    if version is not None and ls.workspace.get_text_document(uri).version != version:
        return {"applied": False, "reason": "the document changed"}
    lang = ls.config_for(uri).lang
    found = await code_lens.overfit_edit(ls, uri, line)
    if found is None:
        message = f"nnlint: {i18n.text(lang, 'overfit_none')}"
        ls.window_show_message(t.ShowMessageParams(type=t.MessageType.Info, message=message))
        return {"applied": False, "reason": "no training loop to check there"}
    target, edits = found
    applied = await apply(ls, ls.workspace_edit(target, edits), f"nnlint: {i18n.text(lang, 'overfit_lens')}")
    return {"applied": applied, "uri": target}


def debug_information(ls: NnlintServer) -> dict[str, Any]:
    import lsprotocol
    import pygls

    timings = list(ls.timings)
    folders = {folder: settings_dict(settings) for folder, settings in ls.folder_settings.items()}
    return {
        "versions": versions(),
        "python": sys.version,
        "interpreter": sys.executable,
        # how the engine makes project indexes now (the interpreter jedi runs, above all)
        "crossFileInterpreter": dict(getattr(project_module, "_SHARED_OPTIONS", {})).get("environment_path"),
        "workspaceTrusted": ls.workspace_trusted,
        "platform": platform.platform(),
        "pid": os.getpid(),
        "positionEncoding": getattr(ls.workspace.position_encoding, "value", ls.workspace.position_encoding),
        "diagnosticMode": "pull" if ls.pull else "push",
        "locale": ls.client_locale,
        "settings": {"global": settings_dict(ls.global_settings), "folders": folders},
        "openDocuments": sorted(state.uri for state in ls.docs.values()),
        "rules": sorted(load_rules()),
        "timings": {
            "analyses": len(timings),
            "lastMs": round(timings[-1], 2) if timings else None,
            "medianMs": round(statistics.median(timings), 2) if timings else None,
            "maxMs": round(max(timings), 2) if timings else None,
        },
        "modules": {"pygls": getattr(pygls, "__file__", None), "lsprotocol": getattr(lsprotocol, "__file__", None)},
        "state": state_sizes(ls),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"nnlint": __version__}
    for name in ("pygls", "lsprotocol"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def state_sizes(ls: NnlintServer) -> dict[str, int]:
    """How much per-document state the server holds (all 0 once every document is closed,
    but for the project indexes' modules read from disk)."""
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


def settings_dict(settings: ServerSettings) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()}
