"""Notebook documents: the client's cells -> one `NotebookProgram` -> LSP results per cell.

Only snapshots and pure functions live here (the thread-side work); scheduling, staleness
and publishing live in `scheduling`. A cell is identified by its text document URI (the
client's spelling), which is also the `cell_id` given to the engine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Sequence
from urllib.parse import unquote

from lsprotocol import types as t
from pygls.workspace import Workspace
from pygls.workspace.position_codec import PositionCodec

from nnlint.config import Settings
from nnlint.engine import SYNTAX_ERROR, check_source
from nnlint.findings import Edit, Finding
from nnlint.notebook import NotebookProgram
from nnlint.project import ProjectIndex

from . import convert
from .analysis import dependencies_only

NOTEBOOK_TYPES = ("jupyter-notebook", "interactive")
PYTHON_LANGUAGES = ("python", "ipython", "python3")
SYNC_OPTIONS = t.NotebookDocumentSyncOptions(
    notebook_selector=[
        t.NotebookDocumentFilterWithCells(notebook=kind, cells=[t.NotebookCellLanguage(language="python")])
        for kind in NOTEBOOK_TYPES
    ],
    save=True,
)


@dataclass(frozen=True)
class CellSnapshot:
    uri: str
    kind: str  # "code" (Python), "markdown", "code:other"
    text: str
    version: int | None


@dataclass(frozen=True)
class NotebookSnapshot:
    uri: str
    version: int
    cells: tuple[CellSnapshot, ...]

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.version, tuple((c.uri, c.kind, c.version) for c in self.cells))

    def cell(self, uri: str) -> CellSnapshot | None:
        wanted = unquote(uri)
        return next((c for c in self.cells if unquote(c.uri) == wanted), None)

    def program(self) -> NotebookProgram:
        return NotebookProgram.from_cells([(c.uri, c.kind, c.text) for c in self.cells])


def snapshot(workspace: Workspace, notebook_uri: str) -> NotebookSnapshot | None:
    """The notebook's current cells as pygls' workspace holds them (on the loop)."""
    notebook = workspace.get_notebook_document(notebook_uri=notebook_uri)
    if notebook is None:
        return None
    cells = []
    for cell in notebook.cells:
        doc = workspace.text_documents.get(unquote(cell.document))
        language = (doc.language_id or "python").lower() if doc is not None else "python"
        if cell.kind == t.NotebookCellKind.Code:
            kind = "code" if language in PYTHON_LANGUAGES else "code:other"
        else:
            kind = "markdown"
        cells.append(
            CellSnapshot(
                cell.document,
                kind,
                doc.source if doc is not None else "",
                doc.version if doc is not None else None,
            )
        )
    return NotebookSnapshot(notebook_uri, notebook.version, tuple(cells))


@dataclass
class CellResult:
    uri: str
    version: int | None
    text: str
    findings: list[Finding] = field(default_factory=list)  # cell-relative, in diagnostic order
    program_index: list[int] = field(default_factory=list)  # parallel: index into NotebookResult.findings
    diagnostics: list[t.Diagnostic] = field(default_factory=list)
    error: t.Diagnostic | None = None  # the cell is not Python even after masking


@dataclass
class NotebookResult:
    snapshot: NotebookSnapshot
    program: NotebookProgram
    findings: list[Finding]  # program coordinates
    cells: dict[str, CellResult]  # code cells by unquoted URI
    elapsed_ms: float
    semantic: Any = None
    lenses: dict[str, list[tuple[int, dict[str, object]]]] = field(default_factory=dict)  # see `lenses`


def analyse(
    snap: NotebookSnapshot,
    path: str,
    settings: Settings,
    codec: PositionCodec,
    docs_base: str | None,
    project: ProjectIndex | None,
    lang: str = "en",
) -> NotebookResult:
    """Runs in the analysis pool: one engine call over the combined program, results
    mapped to cells and converted to LSP in each cell's own lines."""
    start = time.perf_counter()
    program = snap.program()
    result = check_source(program.text, path, settings, verify_fixes=False, project=project)
    findings = [f for f in result.findings if f.code != SYNTAX_ERROR] if result.error is None else []
    by_uri = {unquote(c.uri): c for c in snap.cells}
    cells: dict[str, CellResult] = {}
    lines_of: dict[str, list[str]] = {}
    for c in snap.cells:
        if c.kind == "code":
            cells[unquote(c.uri)] = CellResult(c.uri, c.version, c.text)
            lines_of[unquote(c.uri)] = convert.split_lines(c.text)
    for index, finding in enumerate(findings):
        mapped = program.map_finding(finding)
        if mapped is None:
            continue
        key = unquote(str(mapped.cell_id))  # type: ignore[attr-defined]
        cell = cells.get(key)
        if cell is None:
            continue
        related = []  # map_finding keeps the related locations that map, in order
        for rel in finding.related:
            where = program.map_span(rel.span)
            if where is not None:
                rel_key = unquote(str(where[0].id))
                related.append((by_uri[rel_key].uri, lines_of.get(rel_key, [""])))
        cell.diagnostics.append(
            convert.finding_to_diagnostic(
                mapped, cell.uri, codec, lines_of[key], cell.version, docs_base, len(cell.findings), related, lang
            )
        )
        cell.findings.append(mapped)
        cell.program_index.append(index)
    for cell_info in program.cells:
        if cell_info.error is not None:
            key = unquote(str(cell_info.id))
            if key in cells:
                cells[key].error = convert.finding_to_diagnostic(
                    cell_info.error, cells[key].uri, codec, lines_of[key], cells[key].version, docs_base, lang=lang
                )
    by_cell = _lenses(program)
    elapsed = (time.perf_counter() - start) * 1000
    return NotebookResult(snap, program, findings, cells, elapsed, dependencies_only(result.semantic), by_cell)


def cell_edits(
    program: NotebookProgram, snap: NotebookSnapshot, codec: PositionCodec, edits: Sequence[Edit]
) -> dict[str, list[t.TextEdit]]:
    """Program-coordinate edits -> LSP edits per cell URI (edits that leave a cell or touch
    a masked IPython line are dropped by the engine's mapping)."""
    grouped: dict[str, list[Edit]] = {}
    for edit in edits:
        mapped = program.map_edit(edit)
        if mapped is not None:
            grouped.setdefault(str(mapped[0]), []).append(mapped[1])
    out: dict[str, list[t.TextEdit]] = {}
    for uri, cell_edits_ in grouped.items():
        cell = snap.cell(uri)
        if cell is None:
            continue
        lines = convert.split_lines(cell.text)
        out[cell.uri] = convert.edits_to_lsp(codec, lines, sorted(cell_edits_, key=lambda e: e.span))
    return out


def lenses(snap: NotebookSnapshot) -> dict[str, list[tuple[int, dict[str, object]]]]:
    """Overfit-one-batch lenses per cell URI (unquoted): [(0-based cell line, engine args)]."""
    return _lenses(snap.program())


def _lenses(program: NotebookProgram) -> dict[str, list[tuple[int, dict[str, object]]]]:
    out: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for cell_id, line, _title, args in program.overfit_lenses():
        out.setdefault(unquote(str(cell_id)), []).append((line - 1, args))
    return out


def overfit_edit(snap: NotebookSnapshot, cell_uri: str, line: int, settings: Settings) -> tuple[str, Edit] | None:
    """The overfit check for the loop on 0-based `line` of a cell, as (cell URI, cell edit)."""
    program = snap.program()
    cell = snap.cell(cell_uri)
    if cell is None:
        return None
    where = program.from_cell(cell.uri, line + 1, 0)
    if where is None:
        return None
    mapped = program.overfit_edit(where[0], settings)
    if mapped is None:
        return None
    target = snap.cell(str(mapped[0]))
    return (target.uri if target else str(mapped[0])), mapped[1]
