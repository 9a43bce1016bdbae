"""The work that runs in the analysis pool (off the event loop): the engine call and the
conversion to LSP, fix verification, memory release. Pure functions of their arguments:
no server state is read or written here (scheduling does that, on the loop)."""

from __future__ import annotations

import logging
import sys
import threading
import time
from contextlib import nullcontext
from types import SimpleNamespace
from typing import Any

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec

from nnlint.config import Settings
from nnlint.engine import SYNTAX_ERROR, check_source, safe_fixes
from nnlint.findings import Finding
from nnlint.incremental import IncrementalParser
from nnlint.project import ProjectIndex
from nnlint.reanalysis import LiveAnalysis

from . import convert

log = logging.getLogger("nnlint.server")


def analyse_text(
    text: str,
    path: str,
    settings: Settings,
    codec: PositionCodec,
    uri: str,
    version: int | None,
    docs_base: str | None,
    project: ProjectIndex | None,
    lang: str = "en",
    parser: LiveParser | None = None,
) -> tuple[list[Finding] | None, list[t.Diagnostic] | None, t.Diagnostic | None, float, Any]:
    """The engine call plus the conversion to LSP. Fixes are verified on demand (`verify`),
    not on every keystroke. With the `parser` of a buffer being edited, only the
    statements around the edit are parsed again (`nnlint.incremental`)."""
    start, cpu_start, process_start = time.perf_counter(), time.thread_time(), time.process_time()
    # The parser's tree shares nodes with the next one (shifted in place), so it serves one
    # analysis at a time; another analysis of the same buffer meanwhile parses in full.
    owned = parser is not None and parser.lock.acquire(blocking=False)
    live = parser if owned else None
    try:
        tree = _parse_live(live, text) if live is not None else None
        parsed = time.perf_counter()
        # Jedi's background thread holds off meanwhile (it would take half the GIL).
        with project.foreground() if project is not None else nullcontext():
            if live is not None:  # keeps the findings of the statements the edit cannot affect
                lines = live.lines if tree is not None else None  # split once, by the parser
                result = live.analysis.check(text, path, settings, project, tree, lines)
            else:
                result = check_source(text, path, settings, verify_fixes=False, project=project)
        if live is not None and tree is None and result.error is None and result.semantic is not None:
            live.remember(text, result.semantic.tree)  # parsed in full: the base for the next edit
    finally:
        if live is not None:
            live.lock.release()
    checked, cpu_checked, process_checked = time.perf_counter(), time.thread_time(), time.process_time()
    lines = result.source.lines
    if result.error is not None:
        error = convert.finding_to_diagnostic(result.error, uri, codec, lines, version, docs_base, lang=lang)
        return None, None, error, (time.perf_counter() - start) * 1000, None
    findings = [f for f in result.findings if f.code != SYNTAX_ERROR]
    diagnostics = [
        convert.finding_to_diagnostic(f, uri, codec, lines, version, docs_base, index, lang=lang)
        for index, f in enumerate(findings)
    ]
    converted = time.perf_counter()
    kept = dependencies_only(result.semantic)
    end = time.perf_counter()
    if log.isEnabledFor(logging.DEBUG):
        # Wall against CPU time of this worker: a gap is time spent waiting for a core
        # or for the GIL; the CPU the server's other threads used meanwhile tells which.
        worker = cpu_checked - cpu_start
        log.debug(
            "analysed %s v%s: check %.1f ms (worker CPU %.1f ms, other threads' CPU %.1f ms; parse %.1f ms, %s; %s), "
            "to LSP %.1f ms, release %.1f ms",
            uri, version, (checked - start) * 1000, worker * 1000,
            (process_checked - process_start - worker) * 1000, (parsed - start) * 1000,
            _describe_parse(parser, live, tree), live.analysis.described if live is not None else "full analysis",
            (converted - checked) * 1000, (end - converted) * 1000,
        )
    return findings, diagnostics, None, (end - start) * 1000, kept


class LiveParser(IncrementalParser):
    """The incremental parser of one buffer being edited, its last analysis (what the next
    may keep, `nnlint.reanalysis`) and the lock that gives both to one analysis at a time."""

    def __init__(self, filename: str = "<unknown>") -> None:
        super().__init__(filename)
        self.lock = threading.Lock()
        self.analysis = LiveAnalysis()

    def forget(self) -> None:
        super().forget()
        self.analysis.forget()


def _parse_live(parser: IncrementalParser, text: str) -> Any:
    """The parser's tree of `text`, or None: parse in full (also when the parser fails,
    which would be a bug in it: the buffer's diagnostics must not depend on it)."""
    try:
        return parser.parse(text)
    except Exception:  # noqa: BLE001
        log.exception("incremental parsing failed; parsing in full")
        parser.forget()
        return None


def _describe_parse(parser: IncrementalParser | None, live: IncrementalParser | None, tree: Any) -> str:
    if parser is None:
        return "full parse, not a live buffer"
    if live is None:
        return "full parse, the buffer's parser was busy"
    if tree is None or live.last is None:
        return "full parse"
    last = live.last
    return (
        f"{last.parsed} statements parsed ({last.region_lines} lines), {last.reused} reused"
        f" ({last.shifted} shifted)"
    )


def dependencies_only(semantic: Any) -> Any:
    """What the server keeps of an analysis: the modules it read (to re-analyse when one
    changes). The index itself is released at once, so an editing session does not pile
    up one semantic index per keystroke for the cyclic collector."""
    if semantic is None:
        return None
    kept = SimpleNamespace(dependencies=dict(semantic.dependencies))
    semantic.release()
    return kept


def release_memory() -> None:
    import gc

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def verify(text: str, findings: list[Finding], settings: Settings, project: ProjectIndex | None) -> dict[int, bool]:
    try:
        return safe_fixes(text, findings, settings, project)
    except Exception:  # noqa: BLE001 - an unverifiable fix is simply not offered
        log.exception("verifying fixes failed")
        return {index: False for index, finding in enumerate(findings) if finding.fix is not None}
