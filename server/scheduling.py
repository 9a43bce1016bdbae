"""When and on what the engine runs: debounced analyses off the event loop (one per
document at a time), results dropped when stale (the document, its revision, the settings
or the notebook changed meanwhile), the last good results kept and shifted while a buffer
does not parse, fixes verified on demand.

A mixin of `NnlintServer` (core.py); the work itself runs in `analysis` (the pool side).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import Any, Sequence
from urllib.parse import unquote

from lsprotocol import types as t

from nnlint.findings import Finding
from nnlint.source import LINE_BREAK

from . import analysis, convert, notebooks
from .crossfile import fs_path, project_at
from .state import DocConfig, DocState, NotebookState

log = logging.getLogger("nnlint.server")

# Buffers whose last tree is kept for incremental parsing (a 1,500-line script's tree is
# about 3 MB): the ones being edited, not every open file.
MAX_LIVE_PARSERS = 4


class Scheduling:
    # ---------------------------------------------------------------- documents
    def schedule(self, uri: str, delay_s: float = 0.0) -> None:
        state = self.docs.get(uri)
        if state is None:
            return
        if state.notebook is not None:
            self.schedule_notebook(state.notebook, delay_s)
            return
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.task = asyncio.ensure_future(self._analyse_later(uri, delay_s))

    async def _analyse_later(self, uri: str, delay_s: float) -> None:
        scheduled = time.perf_counter()
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            diagnostics, version = await self.analyse(uri)
            if diagnostics is not None and not self.pull:
                analysed = time.perf_counter()
                self.text_document_publish_diagnostics(
                    t.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics)
                )
                if log.isEnabledFor(logging.DEBUG):
                    published = time.perf_counter()
                    log.debug(
                        "published %s v%s: %.1f ms after it was scheduled (debounce %.0f ms, "
                        "last analysis %.1f ms), sending %.1f ms",
                        uri, version, (published - scheduled) * 1000, delay_s * 1000,
                        self.timings[-1] if self.timings else 0.0, (published - analysed) * 1000,
                    )
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never take the server down
            log.exception("analysis of %s failed", uri)

    async def analyse(self, uri: str) -> tuple[list[t.Diagnostic] | None, int | None]:
        """Analyse the current version off the loop. Returns (None, None) when the result is
        stale (the document changed, closed, or the settings changed meanwhile)."""
        await self.wait_config()
        if not self.is_open(uri) or uri not in self.docs or self.docs[uri].notebook is not None:
            return None, None
        state = self.docs[uri]
        while state.running is not None and not state.running.done():
            # One analysis per document at a time: an older version still running in the
            # pool finishes (its result is dropped) before the newest starts, so a burst of
            # edits never fills both workers with stale versions of one document.
            await asyncio.wait([asyncio.wrap_future(state.running)])
            if not self.is_open(uri) or self.docs.get(uri) is not state:
                return None, None
        doc = self.workspace.get_text_document(uri)
        version, text, generation, revision = doc.version, doc.source, self.generation, state.revision
        config = self.config_for(uri)
        if not config.editor.enable:
            self._store(uri, version, [], [], None, config)
            return [], version
        codec = self.codec()
        project = self.project_for(uri)
        parser = self.live_parser(uri, doc.path or uri)
        state.running = self.analysis_pool.submit(
            analysis.analyse_text,
            text,
            doc.path or uri,
            config.engine,
            codec,
            uri,
            version,
            self.docs_base,
            project,
            config.lang,
            parser,
        )
        result = await asyncio.wrap_future(state.running)
        findings, diagnostics, error_diagnostic, elapsed, semantic = result
        if not self.is_open(uri) or self.docs.get(uri) is not state:
            return None, None
        if (
            self.workspace.get_text_document(uri).version != version
            or state.revision != revision
            or generation != self.generation
        ):
            log.debug("dropping stale results for %s version %s", uri, version)
            return None, None
        self.timings.append(elapsed)
        shown = self._store(uri, version, findings, diagnostics, error_diagnostic, config)
        if findings is not None:
            self.docs[uri].semantic = semantic
            self.docs[uri].text = text
        return shown, version

    def live_parser(self, uri: str, filename: str) -> analysis.LiveParser:
        """The incremental parser of a buffer (new for one not analysed lately); only the
        MAX_LIVE_PARSERS most recently analysed buffers keep theirs."""
        key = unquote(uri)
        parser = self.live_parsers.pop(key, None) or analysis.LiveParser(filename)
        self.live_parsers[key] = parser
        while len(self.live_parsers) > MAX_LIVE_PARSERS:
            self.live_parsers.popitem(last=False)
        return parser

    def _store(
        self,
        uri: str,
        version: int | None,
        findings: list[Finding] | None,
        diagnostics: list[t.Diagnostic] | None,
        error: t.Diagnostic | None,
        config: DocConfig,
    ) -> list[t.Diagnostic]:
        state = self.docs[uri]
        state.analysed_version = version
        state.analysed_revision = state.revision
        if diagnostics is not None and findings is not None:  # it parsed
            state.good = diagnostics
            state.findings = findings
            state.findings_version = version
            state.findings_revision = state.revision
            state.verified = {}
            state.verified_version = None
            state.shown = list(diagnostics)
        else:  # keep the last good results (already shifted), without their stale fixes
            state.findings = []
            state.findings_version = None
            state.shown = [convert.without_fix(d) for d in state.good]
            if error is not None and config.editor.show_syntax_errors:
                state.shown.append(error)
        return state.shown

    def shift_for_changes(self, uri: str, changes: Sequence[Any]) -> None:
        state = self.docs.get(uri)
        if state is None:
            return
        for change in changes:
            change_range = getattr(change, "range", None)
            if change_range is None:  # full-text change: nothing to shift by
                continue
            added = len(LINE_BREAK.findall(change.text))
            removed = change_range.end.line - change_range.start.line
            delta = added - removed
            if delta == 0:
                continue
            first = change_range.end.line + 1
            state.good = [convert.shift(d, first, delta) for d in state.good]
            state.shown = [convert.shift(d, first, delta) for d in state.shown]

    async def current_findings(self, uri: str) -> list[Finding] | None:
        """Findings of the current version, analysing if needed (for fix-all)."""
        state = self.docs.get(uri)
        if state is None or not self.is_open(uri):
            return None
        for _ in range(3):
            version = self.workspace.get_text_document(uri).version
            if state.findings_version == version and state.findings_revision == state.revision:
                return state.findings
            if state.analysed_version == version and state.analysed_revision == state.revision:
                return None  # analysed but did not parse
            diagnostics, _ = await self.analyse(uri)
            if diagnostics is not None and not self.pull:
                self.text_document_publish_diagnostics(
                    t.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics)
                )
        return None

    async def verified_fixes(self, uri: str) -> dict[int, bool]:
        """Which fixes of the current findings survive the engine's apply-and-recheck.
        Analysis skips that on the keystroke path; it runs here, once per version, when
        code actions are asked for."""
        state = self.docs.get(uri)
        if state is None or state.findings_version is None:
            return {}
        if state.notebook is not None:
            return await self.cell_verified_fixes(uri, state)
        version = state.findings_version
        if state.verified_version == version:
            return state.verified
        findings, text = state.findings, state.text
        settings = self.config_for(uri).engine
        project = self.project_for(uri)
        loop = asyncio.get_running_loop()
        verified = await loop.run_in_executor(self.analysis_pool, analysis.verify, text, findings, settings, project)
        if state.findings_version == version and state.findings is findings:
            state.verified, state.verified_version = verified, version
        return verified

    def refresh_all(self) -> None:
        """Settings or a pyproject changed: analyse every open document again."""
        self.generation += 1
        self.projects.clear()  # a new pyproject.toml can move a project's root
        for notebook in list(self.notebooks.values()):  # always pushed
            self.schedule_notebook(notebook.uri)
        if self.pull:
            for state in self.docs.values():
                state.analysed_version = None
            if self.capabilities.diagnostic_refresh:
                self.workspace_diagnostic_refresh(None)
            return
        for state in list(self.docs.values()):
            if state.notebook is None:
                self.schedule(state.uri)

    # ---------------------------------------------------------------- notebooks
    def schedule_notebook(self, uri: str, delay_s: float = 0.0) -> None:
        state = self.notebooks.get(uri)
        if state is None:
            return
        if state.task is not None and not state.task.done():
            state.task.cancel()
        state.task = asyncio.ensure_future(self._analyse_notebook_later(uri, delay_s))

    async def _analyse_notebook_later(self, uri: str, delay_s: float) -> None:
        try:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            await self.analyse_notebook(uri)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - never take the server down
            log.exception("analysis of notebook %s failed", uri)

    async def analyse_notebook(self, uri: str) -> notebooks.NotebookResult | None:
        """Analyse the notebook's code cells as one program off the loop, then store and
        push one publishDiagnostics per cell. None when the result is stale (a cell, the
        cell list or the settings changed meanwhile) or the notebook is closed."""
        await self.wait_config()
        state = self.notebooks.get(uri)
        snap = notebooks.snapshot(self.workspace, uri)
        if state is None or snap is None:
            return None
        generation = self.generation
        config = self.config_for(uri)
        if not config.editor.enable:
            self.clear_notebook(state)
            return None
        path = fs_path(uri)
        project = project_at(path) if path is not None else None
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.analysis_pool,
            notebooks.analyse,
            snap,
            str(path) if path is not None else uri,
            config.engine,
            self.codec(),
            self.docs_base,
            project,
            config.lang,
        )
        current = notebooks.snapshot(self.workspace, uri)
        if self.notebooks.get(uri) is not state or generation != self.generation:
            return None
        if current is None or current.key != snap.key:
            log.debug("dropping stale results for notebook %s version %s", uri, snap.version)
            return None
        self.timings.append(result.elapsed_ms)
        self._store_notebook(state, result, config)
        return result

    def _store_notebook(self, state: NotebookState, result: notebooks.NotebookResult, config: DocConfig) -> None:
        def places(lenses: dict[str, list[tuple[int, Any]]]) -> dict[str, list[int]]:
            return {cell: [line for line, _ in found] for cell, found in lenses.items()}

        previous_lenses = places(state.result.lenses) if state.result is not None else None
        self.lens_cache[unquote(state.uri)] = (("notebook", result.snapshot.key), result.lenses)
        if previous_lenses is not None and previous_lenses != places(result.lenses):
            # a lens in one cell can depend on another cell (the optimizer it names)
            self.refresh_code_lenses()
        state.result = result
        state.serial += 1
        state.generation = self.generation
        state.verified, state.verified_serial = {}, None
        current: dict[str, str] = {}
        for key, cell in result.cells.items():
            shown = list(cell.diagnostics)
            if cell.error is not None and config.editor.show_syntax_errors:
                shown.append(cell.error)
            shown = [
                convert.with_data(d, replace(convert.DiagnosticData.of(d), notebook_result=state.serial)) for d in shown
            ]
            doc = self.docs.get(cell.uri)
            if doc is None or doc.notebook != state.uri:
                doc = self.docs[cell.uri] = DocState(cell.uri, notebook=state.uri)
            doc.analysed_version = doc.findings_version = cell.version
            doc.findings = cell.findings
            doc.text = cell.text
            doc.shown = doc.good = shown
            doc.verified, doc.verified_version = {}, None
            current[key] = cell.uri
            self.text_document_publish_diagnostics(
                t.PublishDiagnosticsParams(uri=cell.uri, version=cell.version, diagnostics=shown)
            )
        for key, cell_uri in list(state.published.items()):
            if key not in current:  # removed from the notebook, or no longer a Python cell
                self.drop_cell(state, cell_uri)
        state.published = current

    def refresh_code_lenses(self) -> None:
        if not self.capabilities.code_lens_refresh:
            return
        try:
            future = self.workspace_code_lens_refresh(None)
        except Exception:  # noqa: BLE001
            return
        if hasattr(future, "add_done_callback"):
            future.add_done_callback(lambda f: f.cancelled() or f.exception())  # a client error is fine

    def drop_cell(self, state: NotebookState, cell_uri: str) -> None:
        """Forget a cell and clear what the client shows for it."""
        self.overfit_cache.pop(unquote(cell_uri), None)
        doc = self.docs.get(cell_uri)
        if doc is not None and doc.notebook == state.uri:
            self.docs.pop(cell_uri)
        if state.published.pop(unquote(cell_uri), None) is not None or doc is not None:
            self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=cell_uri, diagnostics=[]))

    def clear_notebook(self, state: NotebookState) -> None:
        state.result = None
        for cell_uri in list(state.published.values()):
            self.drop_cell(state, cell_uri)
        state.published = {}

    async def current_notebook(self, uri: str) -> notebooks.NotebookResult | None:
        """The analysis of the notebook as it is now (analysing if needed)."""
        state = self.notebooks.get(uri)
        for _ in range(3):
            if state is None:
                return None
            snap = notebooks.snapshot(self.workspace, uri)
            if snap is None:
                return None
            if state.result is not None and state.result.snapshot.key == snap.key and state.generation == self.generation:
                return state.result
            await self.analyse_notebook(uri)
        return None

    async def notebook_verified(self, state: NotebookState) -> dict[int, bool]:
        """Which fixes of the notebook's program findings survive apply-and-recheck (once
        per stored result, on demand)."""
        result, serial = state.result, state.serial
        if result is None:
            return {}
        if state.verified_serial == serial:
            return state.verified
        settings = self.config_for(state.uri).engine
        path = fs_path(state.uri)
        project = project_at(path) if path is not None else None
        loop = asyncio.get_running_loop()
        verified = await loop.run_in_executor(
            self.analysis_pool, analysis.verify, result.program.text, result.findings, settings, project
        )
        if state.serial == serial:
            state.verified, state.verified_serial = verified, serial
        return verified

    def notebook_is_fresh(self, state: NotebookState) -> bool:
        snap = notebooks.snapshot(self.workspace, state.uri)
        return (
            state.result is not None
            and snap is not None
            and state.result.snapshot.key == snap.key
            and state.generation == self.generation
        )

    async def cell_verified_fixes(self, uri: str, doc: DocState) -> dict[int, bool]:
        """A cell's verified fixes (by its diagnostics' index); only for a fresh result."""
        state = self.notebooks.get(doc.notebook or "")
        if state is None or not self.notebook_is_fresh(state):
            return {}
        result = state.result
        cell = result.cells.get(unquote(uri)) if result is not None else None
        if cell is None or cell.version != doc.findings_version:
            return {}
        verified = await self.notebook_verified(state)
        return {
            index: bool(verified.get(program_index)) and finding.fix is not None
            for index, (program_index, finding) in enumerate(zip(cell.program_index, cell.findings))
        }
