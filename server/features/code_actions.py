"""Code actions: a finding's verified fix, "disable for this line", fix all (a file, a
cell, a whole notebook), and the overfit-one-batch check above a training loop."""

from __future__ import annotations

import logging
from typing import Sequence
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec

from nnlint.engine import SYNTAX_ERROR, suppression_comments
from nnlint.findings import Finding, Span
from nnlint.fixes import compatible_edits

from .. import convert, i18n
from .. import notebooks as notebook_analysis
from ..core import NnlintServer
from ..state import DocConfig, DocState, NotebookState
from . import code_lens

log = logging.getLogger("nnlint.server")

FIX_ALL_KIND = "source.fixAll.nnlint"
NOTEBOOK_FIX_ALL_KIND = "notebook.source.fixAll.nnlint"
OVERFIT_KIND = "refactor.insert"
KINDS = [t.CodeActionKind.QuickFix, FIX_ALL_KIND, NOTEBOOK_FIX_ALL_KIND, OVERFIT_KIND]


def register(server: NnlintServer) -> None:
    @server.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=False))
    async def code_action(ls: NnlintServer, params: t.CodeActionParams) -> list[t.CodeAction] | None:
        uri = params.text_document.uri
        if not ls.is_open(uri) or uri not in ls.docs:
            return []
        try:
            return await code_actions(ls, uri, params)
        except Exception:  # noqa: BLE001
            log.exception("code actions failed")
            return []


async def code_actions(ls: NnlintServer, uri: str, params: t.CodeActionParams) -> list[t.CodeAction]:
    if ls.out_of_step(uri):
        return []  # our text may not be the client's: an edit computed on it could corrupt code
    state = ls.docs[uri]
    config = ls.config_for(uri)
    only = params.context.only
    actions: list[t.CodeAction] = []
    notebook = ls.notebooks.get(state.notebook) if state.notebook is not None else None
    if kind_wanted(t.CodeActionKind.QuickFix, only):
        actions += await quick_fixes(ls, uri, state, notebook, params, config)
    fixable = any(convert.DiagnosticData.of(d).fix for d in state.shown)
    if notebook is not None:
        if kind_wanted(FIX_ALL_KIND, only) and (only or fixable):
            by_cell = await notebook_fix_all(ls, notebook.uri, only_cell=uri)
            if by_cell:
                title = f"nnlint: {i18n.text(config.lang, 'fix_all')}"
                actions.append(t.CodeAction(title=title, kind=FIX_ALL_KIND, edit=ls.workspace_edits(by_cell)))
        if only and kind_wanted(NOTEBOOK_FIX_ALL_KIND, only):  # asked for once per notebook
            by_cell = await notebook_fix_all(ls, notebook.uri)
            if by_cell:
                title = f"nnlint: {i18n.text(config.lang, 'fix_all_notebook')}"
                actions.append(t.CodeAction(title=title, kind=NOTEBOOK_FIX_ALL_KIND, edit=ls.workspace_edits(by_cell)))
    elif kind_wanted(FIX_ALL_KIND, only) and (only or fixable):
        edits = await file_fix_all(ls, uri)
        if edits:
            title = f"nnlint: {i18n.text(config.lang, 'fix_all')}"
            actions.append(t.CodeAction(title=title, kind=FIX_ALL_KIND, edit=ls.workspace_edit(uri, edits)))
    if kind_wanted(OVERFIT_KIND, only) and config.editor.enable and ls.is_open(uri):
        actions += await overfit_actions(ls, uri, params.range, config)
    return actions


async def quick_fixes(
    ls: NnlintServer,
    uri: str,
    state: DocState,
    notebook: NotebookState | None,
    params: t.CodeActionParams,
    config: DocConfig,
) -> list[t.CodeAction]:
    """For each nnlint diagnostic in the request: its fix when verified for this very
    version, then "disable for this line"."""
    actions: list[t.CodeAction] = []
    diagnostics = [d for d in params.context.diagnostics if d.source == convert.SOURCE]
    if not diagnostics:  # a client that sends no context: use what we published there
        diagnostics = [d for d in state.shown if convert.overlaps(d.range, params.range)]
    lines = convert.split_lines(ls.workspace.get_text_document(uri).source)
    verified = await ls.verified_fixes(uri) if any(convert.DiagnosticData.of(d).fix for d in diagnostics) else {}
    doc = ls.workspace.get_text_document(uri)
    shown = [convert.DiagnosticData.of(d) for d in state.shown]
    disabled: set[tuple[int, str]] = set()
    for diagnostic in diagnostics:
        code = str(diagnostic.code)
        if code == SYNTAX_ERROR:
            continue
        data = convert.DiagnosticData.of(diagnostic)
        if (
            data.fix is not None
            and data.version == doc.version
            and verified.get(data.index)
            # the very diagnostic we publish now (a repeated version number could
            # otherwise pass off an older text's fix)
            and data in shown
            and (notebook is None or data.notebook_result == notebook.serial)
        ):
            actions.append(
                t.CodeAction(
                    title=f"nnlint ({code}): {data.fix.title}",
                    kind=t.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=ls.workspace_edit(uri, list(data.fix.edits)),
                    is_preferred=True,
                )
            )
        line = diagnostic.range.start.line
        if (line, code) in disabled:
            continue
        disabled.add((line, code))
        edit = disable_edit(ls.codec(), lines, line, code)
        if edit is not None:
            actions.append(
                t.CodeAction(
                    title=f"nnlint ({code}): {i18n.text(config.lang, 'disable_line')}",
                    kind=t.CodeActionKind.QuickFix,
                    diagnostics=[diagnostic],
                    edit=ls.workspace_edit(uri, [edit]),
                )
            )
    return actions


async def overfit_actions(ls: NnlintServer, uri: str, selection: t.Range, config: DocConfig) -> list[t.CodeAction]:
    actions = []
    for line, _args in await code_lens.overfit_lenses(ls, uri):
        if selection.start.line <= line <= selection.end.line:
            # an edit, not a command: clients parse a code action carrying a command
            # as a bare Command (lsprotocol does), and it works without executeCommand
            found = await code_lens.overfit_edit(ls, uri, line)
            if found is not None:
                title = f"nnlint: {i18n.text(config.lang, 'overfit_lens')}"
                actions.append(t.CodeAction(title=title, kind=OVERFIT_KIND, edit=ls.workspace_edit(*found)))
    return actions


def kind_wanted(kind: str, only: Sequence[str] | None) -> bool:
    if not only:
        return True
    return any(kind == o or kind.startswith(o + ".") for o in only)


def disable_edit(codec: PositionCodec, lines: Sequence[str], line: int, code: str) -> t.TextEdit | None:
    """Append `# nnlint: disable=CODE` to a line, or extend the disable comment already
    there (the engine's suppression grammar finds it)."""
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    existing = next((c for c in suppression_comments(text) if c.kind == "disable" and c.codes), None)
    if existing is not None:
        if code.upper() in existing.code_names:
            return None
        column, new_text = existing.codes[-1][2], f",{code}"
    else:
        if text.rstrip().endswith("\\"):
            return None  # a comment cannot follow a line continuation
        column, new_text = len(text), f"  # nnlint: disable={code}"
    span = Span(line + 1, column, line + 1, column)
    return t.TextEdit(range=convert.span_to_range(codec, lines, span), new_text=new_text)


async def file_fix_all(ls: NnlintServer, uri: str) -> list[t.TextEdit]:
    """Verified, non-conflicting fixes of the current version of a file, as LSP edits."""
    findings = await ls.current_findings(uri)
    if not findings or not ls.is_open(uri):
        return []
    verified = await ls.verified_fixes(uri)
    return fix_all_edits(ls, uri, [f for i, f in enumerate(findings) if verified.get(i)])


def fix_all_edits(ls: NnlintServer, uri: str, findings: list[Finding]) -> list[t.TextEdit]:
    text = ls.workspace.get_text_document(uri).source
    chosen, _ = compatible_edits(text, findings)
    if not chosen:
        return []
    return convert.edits_to_lsp(ls.codec(), convert.split_lines(text), sorted(chosen, key=lambda e: e.span))


async def notebook_fix_all(ls: NnlintServer, uri: str, only_cell: str | None = None) -> dict[str, list[t.TextEdit]]:
    """Verified, non-conflicting fixes of the whole notebook (or of one cell) as edits
    per cell document. Fixes that span cells or touch IPython lines are never offered."""
    result = await ls.current_notebook(uri)
    state = ls.notebooks.get(uri)
    if result is None or state is None:
        return {}
    verified = await ls.notebook_verified(state)
    if state.result is not result:
        return {}
    program = result.program
    wanted = unquote(only_cell) if only_cell else None

    def accept(index: int, finding: Finding) -> bool:
        if not verified.get(index) or finding.fix is None:
            return False
        mapped = program.map_fix(finding.fix)
        return mapped is not None and (wanted is None or unquote(str(mapped[0].id)) == wanted)

    chosen, _ = compatible_edits(program.text, result.findings, accept)
    return notebook_analysis.cell_edits(program, result.snapshot, ls.codec(), chosen)
