"""Code lenses: "Overfit one batch first" above each training loop (a file or a notebook
cell). The lens runs `commands.OVERFIT_COMMAND`; the edit it applies is built here."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as t

from nnlint.overfit import overfit_check_edit, training_loops_for_lens

from .. import convert, i18n
from .. import notebooks as notebook_analysis
from ..core import NnlintServer

log = logging.getLogger("nnlint.server")

OVERFIT_COMMAND = "nnlint.insertOverfitCheck"


def register(server: NnlintServer) -> None:
    @server.feature(t.TEXT_DOCUMENT_CODE_LENS, t.CodeLensOptions(resolve_provider=False))
    async def code_lens(ls: NnlintServer, params: t.CodeLensParams) -> list[t.CodeLens]:
        if not ls.is_open(params.text_document.uri):
            return []
        try:
            return await lenses(ls, params.text_document.uri)
        except Exception:  # noqa: BLE001
            log.exception("code lenses failed")
            return []


async def lenses(ls: NnlintServer, uri: str) -> list[t.CodeLens]:
    config = ls.config_for(uri)
    if not config.editor.enable:
        return []
    found = []
    for line, _args in await overfit_lenses(ls, uri):
        if not ls.is_open(uri):
            return []
        position = t.Position(line=line, character=0)
        command = overfit_command(ls, uri, line, config.lang)
        found.append(t.CodeLens(range=t.Range(start=position, end=position), command=command))
    return found


async def overfit_lenses(ls: NnlintServer, uri: str) -> list[tuple[int, dict[str, object]]]:
    """[(0-based line, engine args)] of the training loops in a Python file or cell,
    cached per version (cells: per notebook snapshot)."""
    notebook = ls.notebook_of(uri)
    loop = asyncio.get_running_loop()
    if notebook is not None:
        snap = notebook_analysis.snapshot(ls.workspace, notebook)
        if snap is None:
            return []
        key, cache_key = ("notebook", snap.key), unquote(notebook)
        cached = ls.lens_cache.get(cache_key)
        if cached is None or cached[0] != key:
            by_cell = await loop.run_in_executor(ls.analysis_pool, notebook_analysis.lenses, snap)
            cached = ls.lens_cache[cache_key] = (key, by_cell)
        return list(cached[1].get(unquote(uri), []))
    doc = ls.workspace.get_text_document(uri)
    key, cache_key = ("text", doc.version), unquote(uri)
    cached = ls.lens_cache.get(cache_key)
    if cached is None or cached[0] != key:
        found = await loop.run_in_executor(ls.analysis_pool, training_loops_for_lens, doc.source)
        cached = ls.lens_cache[cache_key] = (key, [(line - 1, args) for line, _title, args in found])
    return list(cached[1])


def overfit_command(ls: NnlintServer, uri: str, line: int, lang: str) -> t.Command:
    version = ls.workspace.get_text_document(uri).version
    return t.Command(
        title=i18n.text(lang, "overfit_lens"),
        command=OVERFIT_COMMAND,
        arguments=[{"uri": uri, "version": version, "line": line}],
    )


async def overfit_edit(ls: NnlintServer, uri: str, line: int) -> tuple[str, list[t.TextEdit]] | None:
    """The edit inserting the check above the loop on 0-based `line` of a file or cell,
    as (document URI, LSP edits) for the current version; None if there is no such loop
    (or the document changed meanwhile). Cached per version."""
    if not ls.is_open(uri) or ls.out_of_step(uri):
        return None
    doc = ls.workspace.get_text_document(uri)
    config = ls.config_for(uri)
    notebook = ls.notebook_of(uri)
    loop = asyncio.get_running_loop()
    if notebook is not None:
        snap = notebook_analysis.snapshot(ls.workspace, notebook)
        if snap is None:
            return None
        key: Any = ("notebook", snap.key, unquote(uri), line, ls.generation)
    else:
        key = ("text", unquote(uri), doc.version, line, ls.generation)
    cached = ls.overfit_cache.get(unquote(uri))
    if cached is not None and cached[0] == key:
        return cached[1]
    if notebook is not None:
        found = await loop.run_in_executor(
            ls.analysis_pool, notebook_analysis.overfit_edit, snap, uri, line, config.engine
        )
        target, edit = found if found is not None else (uri, None)
        cell = snap.cell(target)
        text, target_version = (cell.text, cell.version) if cell is not None else ("", None)
    else:
        text, target, target_version = doc.source, uri, doc.version
        edit = await loop.run_in_executor(
            ls.analysis_pool, overfit_check_edit, text, doc.path or uri, line + 1, config.engine
        )
    if not ls.is_open(target) or ls.workspace.get_text_document(target).version != target_version:
        return None
    value = None
    if edit is not None:
        value = target, convert.edits_to_lsp(ls.codec(), convert.split_lines(text), [edit])
    ls.overfit_cache[unquote(uri)] = (key, value)
    return value
