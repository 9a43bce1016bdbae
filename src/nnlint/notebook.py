"""Jupyter notebooks: cells in, one Python program through the engine, findings per cell.

The code cells of a notebook are analysed together, in cell order, as one program (a
loop in cell 5 sees the optimizer built in cell 2). IPython syntax that is not Python
(`%timeit ...`, `!pip install ...`, `files = !ls`, `obj?`, `%%bash` cells) is masked
line by line so the program parses; every other line keeps its exact text, so columns
never shift. Findings and fix edits are mapped back to (cell, line, column) with lines
relative to their cell.

Front ends:
- the CLI calls `check_notebook_path(path, settings, fix=..., diff=...)`;
- the language server can build `NotebookProgram.from_cells([(cell_id, kind, text), ...])`,
  run `program.check(settings)` (findings already cell-relative, `finding.cell_id` set)
  or map its own results with `to_cell`, `from_cell`, `map_finding`, `map_edit` and
  `findings_by_cell`; `overfit_lenses()` / `overfit_edit(line)` give NN501's code
  lens and action per cell.
"""

from __future__ import annotations

import codecs
import json
import errno
import re
from stat import S_ISREG
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Hashable, Iterable, Sequence

from nnlint.config import Settings
from nnlint.fsutil import replace_file
from nnlint.findings import SYNTAX_ERROR, Edit, FileReport, Finding, Fix, Related, Severity, Span
from nnlint.fixes import OverlappingEdits, apply_edits, unified_diff
from nnlint.source import LINE_BREAK
from nnlint.parsing import parse_python
from nnlint.message import t

if TYPE_CHECKING:
    from nnlint.project import ProjectIndex


MAX_FIX_ROUNDS = 4
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024

# Cell magics whose body is Python that runs: only their first line is masked.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit", "profile", "skip_if"})
_ON_LINE = re.compile(r"\b(line) (\d+)\b")
_ASSIGN_MAGIC = re.compile(r"^(?P<lhs>\s*[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*)(?P<magic>[%!].*)$")


# ---------------------------------------------------------------------- cells
@dataclass
class Cell:
    """One notebook cell as the program sees it."""

    id: Hashable  # the caller's id (the CLI uses the 1-based position)
    kind: str  # "code", "markdown", "raw"
    text: str  # the cell's source, untouched
    position: int  # 1-based position among all cells, markdown included
    start: int = 0  # first line of the cell in the combined program (0: not in it)
    line_count: int = 0  # lines the cell occupies in the combined program
    masked: frozenset[int] = frozenset()  # cell-relative lines replaced by the masking
    error: Finding | None = None  # a syntax error in this cell (cell-relative span)

    @property
    def in_program(self) -> bool:
        return self.start > 0


def _split_lines(text: str) -> list[str]:
    return LINE_BREAK.split(text)


def _scan_line_states(lines: Sequence[str]) -> list[bool]:
    """For each line, whether it starts outside any string and bracket (so IPython
    would read it as a fresh line: where magics can be)."""
    fresh: list[bool] = []
    quote: str | None = None  # the open triple/single quote, if any
    depth = 0
    continued = False
    for line in lines:
        fresh.append(quote is None and depth == 0 and not continued)
        continued = False
        i, n = 0, len(line)
        while i < n:
            ch = line[i]
            if quote is not None:
                if ch == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = None
                    continue
                i += 1
                continue
            if ch == "#":
                break
            if ch in "\"'":
                triple = line[i:i + 3]
                if triple in ('"""', "'''"):
                    quote = triple
                    i += 3
                else:
                    quote = ch
                    i += 1
                continue
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth = max(0, depth - 1)
            elif ch == "\\" and i == n - 1:
                continued = True
            i += 1
        if quote is not None and len(quote) == 1:
            quote = None  # an unterminated one-line string: let the parser report it
    return fresh


def _code_part(line: str) -> str:
    """The line without a trailing comment (strings respected)."""
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
        i += 1
    return line


def mask_ipython(text: str) -> tuple[str, frozenset[int]]:
    """Replace IPython-only lines of a code cell by Python of the same meaning for the
    analysis (`pass`, or `name = None` for `name = !cmd`). Returns the masked text and
    the 1-based lines that changed; all other lines are kept byte for byte."""
    lines = _split_lines(text)
    breaks = LINE_BREAK.findall(text)
    masked: set[int] = set()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(None, 1)
        name = magic[0] if magic else ""
        if name in PYTHON_CELL_MAGICS:
            lines[first] = ""
            masked.add(first + 1)
        else:  # %%bash, %%html, %%writefile, ...: nothing in it is Python
            for index, line in enumerate(lines):
                if line:
                    lines[index] = ""
                    masked.add(index + 1)
            return _join(lines, breaks), frozenset(masked)
    fresh = _scan_line_states(lines)
    for index, line in enumerate(lines):
        if not fresh[index]:
            continue
        stripped = line.lstrip()
        if not stripped:
            continue
        indent = line[: len(line) - len(stripped)]
        code = _code_part(stripped).rstrip()
        replacement: str | None = None
        if stripped[0] in "%!?":
            replacement = indent + "pass"
        elif code.endswith("?"):
            replacement = indent + "pass"
        else:
            match = _ASSIGN_MAGIC.match(line)
            if match and not match.group("lhs").rstrip().endswith(("==", "!=", "<=", ">=")):
                replacement = match.group("lhs") + "None"
        if replacement is not None:
            lines[index] = replacement
            masked.add(index + 1)
    return _join(lines, breaks), frozenset(masked)


def _join(lines: list[str], breaks: list[str]) -> str:
    out = []
    for index, line in enumerate(lines):
        out.append(line)
        if index < len(breaks):
            out.append(breaks[index])
    return "".join(out)


def _parses(text: str) -> SyntaxError | None:
    try:
        parse_python(text)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc))
    return None


# -------------------------------------------------------------------- program
class NotebookProgram:
    """The code cells of a notebook joined into one program, with position mapping.

    Every code cell contributes its lines (after masking) followed by one line break,
    so combined line `cell.start + k - 1` is line `k` of that cell, same columns."""

    def __init__(self, cells: list[Cell], text: str) -> None:
        self.cells = cells
        self.text = text
        self._code = [c for c in cells if c.in_program]
        self._by_id = {c.id: c for c in cells}

    @classmethod
    def from_cells(cls, cells: Iterable[tuple[Hashable, str, str]]) -> "NotebookProgram":
        """`cells`: (cell_id, kind, source) for every cell in notebook order (kind is
        "code" for Python cells; anything else is skipped but counted in positions)."""
        built: list[Cell] = []
        parts: list[str] = []
        line = 1
        for position, (cell_id, kind, source) in enumerate(cells, start=1):
            cell = Cell(cell_id, kind, source, position)
            built.append(cell)
            if kind != "code":
                continue
            program_text = source
            problem = _parses(source)
            if problem is not None:
                program_text, cell.masked = mask_ipython(source)
                problem = _parses(program_text)
                if problem is not None:
                    cell.error = _cell_syntax_error(source, problem)
                    # keep the line structure, drop the code: the rest still gets analysed
                    program_text = "\n" * (len(_split_lines(source)) - 1)
                    cell.masked = frozenset(range(1, len(_split_lines(source)) + 1))
            if not program_text.endswith(("\n", "\r")):
                program_text += "\n"
            cell.start = line
            cell.line_count = len(LINE_BREAK.findall(program_text))
            line += cell.line_count
            parts.append(program_text)
        return cls(built, "".join(parts))

    # ----------------------------------------------------------- positions
    def cell(self, cell_id: Hashable) -> Cell | None:
        return self._by_id.get(cell_id)

    def cell_at(self, line: int) -> Cell | None:
        """The code cell holding combined line `line` (1-based)."""
        low, high = 0, len(self._code) - 1
        while low <= high:
            mid = (low + high) // 2
            cell = self._code[mid]
            if line < cell.start:
                high = mid - 1
            elif line >= cell.start + cell.line_count:
                low = mid + 1
            else:
                return cell
        return None

    def to_cell(self, line: int, column: int) -> tuple[Hashable, int, int] | None:
        """Combined (line, column) -> (cell_id, cell line, column); None outside cells."""
        cell = self.cell_at(line)
        if cell is None:
            return None
        return cell.id, line - cell.start + 1, column

    def from_cell(self, cell_id: Hashable, line: int, column: int) -> tuple[int, int] | None:
        """(cell_id, cell line, column) -> combined (line, column)."""
        cell = self._by_id.get(cell_id)
        if cell is None or not cell.in_program:
            return None
        return cell.start + line - 1, column

    def _span_in(self, cell: Cell, span: Span) -> Span | None:
        """`span` relative to `cell`, or None if it leaves the cell. An end at column 0
        of the next cell's first line is the end of this cell (a deleted last line)."""
        last = cell.start + cell.line_count - 1
        if not cell.start <= span.line <= last:
            return None
        end_line, end_column = span.end_line, span.end_column
        if end_line == last + 1 and end_column == 0:
            pass
        elif end_line > last:
            return None
        return Span(span.line - cell.start + 1, span.column, end_line - cell.start + 1, end_column)

    def map_span(self, span: Span) -> tuple[Cell, Span] | None:
        cell = self.cell_at(span.line)
        if cell is None:
            return None
        inside = self._span_in(cell, span)
        if inside is None:  # clip a span that runs on (it cannot, for parsed cells)
            last = cell.start + cell.line_count - 1
            inside = Span(span.line - cell.start + 1, span.column, last - cell.start + 1, 0)
        return cell, inside

    def map_fix(self, fix: Fix) -> tuple[Cell, Fix] | None:
        """The fix with cell-relative edits, or None when its edits touch two cells or
        a masked IPython line (whose text in the program is not the cell's)."""
        target: Cell | None = None
        edits = []
        for edit in fix.edits:
            cell = self.cell_at(edit.span.line)
            if cell is None or (target is not None and cell is not target):
                return None
            target = cell
            inside = self._span_in(cell, edit.span)
            if inside is None:
                return None
            if any(inside.line <= m <= inside.end_line for m in cell.masked):
                return None
            edits.append(Edit(inside, edit.new_text))
        if target is None:
            return None
        mapped = Fix(fix.title, tuple(edits), fix.text)
        object.__setattr__(mapped, "cell", target.position)
        object.__setattr__(mapped, "cell_id", target.id)
        return target, mapped

    def map_edit(self, edit: Edit) -> tuple[Hashable, Edit] | None:
        """One combined-coordinate edit -> (cell_id, cell-relative edit)."""
        mapped = self.map_fix(Fix("", (edit,)))
        if mapped is None:
            return None
        return mapped[0].id, mapped[1].edits[0]

    # ---------------------------------------------------- overfit one batch
    def overfit_lenses(self) -> list[tuple[Hashable, int, str, dict[str, object]]]:
        """Code lenses for NN501 across cells: (cell_id, cell line, title, args);
        pass `args["line"]` (a program line) back to `overfit_edit`."""
        from nnlint.overfit import training_loops_for_lens

        lenses = []
        for line, title, args in training_loops_for_lens(self.text):
            where = self.to_cell(line, 0)
            if where is not None:
                lenses.append((where[0], where[1], title, args))
        return lenses

    def overfit_edit(self, line: int, settings: Settings | None = None) -> tuple[Hashable, Edit] | None:
        """The overfit check for the loop on program line `line`, as a cell edit. The
        check goes into the loop's own cell, right above the loop, and may use what
        earlier cells defined (model, optimizer, loader)."""
        from nnlint.overfit import overfit_check_edit

        edit = overfit_check_edit(self.text, "<notebook>", line, settings)
        return self.map_edit(edit) if edit is not None else None

    def _message(self, text: str, home: Cell) -> str:
        """Rewrite "line N" (combined numbering) in a message to the cell's numbering."""

        def swap(match: re.Match[str]) -> str:
            cell = self.cell_at(int(match.group(2)))
            if cell is None:
                return match.group(0)
            line = int(match.group(2)) - cell.start + 1
            if cell is home:
                return f"{match.group(1)} {line}"
            return f"cell {cell.position}, {match.group(1)} {line}"

        return _ON_LINE.sub(swap, text)

    def map_finding(self, finding: Finding) -> Finding | None:
        """A copy of `finding` with cell-relative span, related locations, message and
        fix; `.cell` is the cell's 1-based position and `.cell_id` the caller's id."""
        located = self.map_span(finding.span)
        if located is None:
            return None
        cell, span = located
        related = []
        for rel in finding.related:
            where = self.map_span(rel.span)
            if where is None:
                continue
            rel_cell, rel_span = where
            message = self._message(rel.message, cell)
            if rel_cell is not cell and f"cell {rel_cell.position}" not in message:
                message = f"{message} (cell {rel_cell.position})"
            # a message whose line numbers were renumbered for the cell is English only
            related.append(Related(rel_span, message, rel.text if message == rel.message else None))
        fix = None
        if finding.fix is not None:
            mapped = self.map_fix(finding.fix)
            fix = mapped[1] if mapped is not None else None
        message = self._message(finding.message, cell)
        text = finding.text if message == finding.message else None  # renumbered: English only
        result = replace(finding, span=span, related=related, fix=fix, message=message, text=text)
        result.cell = cell.position  # type: ignore[attr-defined]
        result.cell_id = cell.id  # type: ignore[attr-defined]
        return result

    def findings_by_cell(self, findings: Iterable[Finding]) -> dict[Hashable, list[Finding]]:
        """Findings (combined coordinates) mapped and grouped by cell id; every code
        cell has an entry (empty lists clear an editor's old diagnostics)."""
        grouped: dict[Hashable, list[Finding]] = {c.id: [] for c in self._code}
        for finding in findings:
            mapped = self.map_finding(finding)
            if mapped is not None:
                grouped.setdefault(mapped.cell_id, []).append(mapped)  # type: ignore[attr-defined]
        return grouped

    # ------------------------------------------------------------- analysis
    def check(self, settings: Settings | None = None, path: str = "<notebook>",
              project: "ProjectIndex | None" = None) -> list[Finding]:
        """Analyse the program; findings come back cell-relative (see `map_finding`),
        plus one NN000 per cell that is not valid Python even after masking. With
        `project`, the modules the cells import from it are followed (`import d2l`)."""
        from nnlint.engine import check_source

        settings = settings or Settings()
        result = check_source(self.text, path, settings, project=project)
        findings = [m for m in (self.map_finding(f) for f in result.findings) if m is not None]
        if settings.is_enabled(SYNTAX_ERROR):
            for cell in self._code:
                if cell.error is not None:
                    error = replace(cell.error, path=path)
                    error.cell = cell.position  # type: ignore[attr-defined]
                    error.cell_id = cell.id  # type: ignore[attr-defined]
                    findings.append(error)
        findings.sort(key=lambda f: (f.cell, f.span.line, f.span.column, f.code))  # type: ignore[attr-defined]
        return findings

    def fixed_sources(self, findings: Iterable[Finding]) -> tuple[dict[Hashable, str], int]:
        """Apply every non-conflicting fix of cell-relative `findings` (from `check`) to
        the cells' own sources. Returns {cell_id: new source} for changed cells and how
        many fixes were applied."""
        chosen: dict[Hashable, list[Edit]] = {}
        applied = 0
        for finding in sorted(findings, key=lambda f: (getattr(f, "cell", 0), f.span.line, f.span.column)):
            fix = finding.fix
            cell_id = getattr(fix, "cell_id", None)
            if fix is None or cell_id not in self._by_id:
                continue
            cell = self._by_id[cell_id]
            candidate = chosen.get(cell_id, []) + list(fix.edits)
            try:
                apply_edits(cell.text, candidate)
            except OverlappingEdits:
                continue
            if _ambiguous(candidate):
                continue
            chosen[cell_id] = candidate
            applied += 1
        sources = {}
        for cell_id, edits in chosen.items():
            new = apply_edits(self._by_id[cell_id].text, edits)
            if new != self._by_id[cell_id].text:
                sources[cell_id] = new
        return sources, applied


def _ambiguous(edits: list[Edit]) -> bool:
    """Two insertions at one point, or an insertion inside a replaced range."""
    points = [(e.span.line, e.span.column) for e in edits if e.span.line == e.span.end_line and e.span.column == e.span.end_column]
    if len(points) != len(set(points)):
        return True
    for point in points:
        for e in edits:
            start, end = (e.span.line, e.span.column), (e.span.end_line, e.span.end_column)
            if start < point < end:
                return True
    return False


def _cell_syntax_error(source: str, problem: SyntaxError) -> Finding:
    lines = _split_lines(source)
    line = max(1, min(problem.lineno or 1, len(lines)))
    column = max(0, (problem.offset or 1) - 1)
    text = lines[line - 1]
    column = min(column, len(text))
    end = column + 1 if column < len(text) else column
    message = t("syntax error: {detail}", detail=problem.msg) if problem.msg else t("syntax error")
    return Finding(SYNTAX_ERROR, message, Severity.ERROR, Span(line, column, line, end))


# ------------------------------------------------------------------ notebook file
class NotebookError(ValueError):
    pass


@dataclass
class NotebookFile:
    """A .ipynb file: its raw text, parsed JSON, and where each cell's source sits."""

    raw: str
    data: dict
    language: str | None
    cells: list[dict] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str) -> "NotebookFile":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise NotebookError(f"not a valid notebook: JSON error on line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            if isinstance(data, dict) and "worksheets" in data:
                raise NotebookError("nbformat 3 notebooks are not supported; convert with `jupyter nbconvert --to notebook`")
            raise NotebookError("not a valid notebook: no `cells` list")
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        language = None
        info = metadata.get("language_info")
        if isinstance(info, dict) and isinstance(info.get("name"), str):
            language = info["name"].lower()
        kernel = metadata.get("kernelspec")
        if language is None and isinstance(kernel, dict) and isinstance(kernel.get("language"), str):
            language = kernel["language"].lower()
        cells = [c if isinstance(c, dict) else {} for c in data["cells"]]
        return cls(raw, data, language, cells)

    @property
    def is_python(self) -> bool:
        return self.language in (None, "python", "python3", "ipython", "ipython3")

    def cell_tuples(self) -> list[tuple[int, str, str]]:
        out = []
        for position, cell in enumerate(self.cells, start=1):
            kind = cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else "raw"
            if kind == "code" and not _cell_is_python(cell):
                kind = "code:other"
            out.append((position, kind, _source_text(cell.get("source", ""))))
        return out

    def with_sources(self, sources: dict[int, str]) -> str:
        """The raw JSON with only the `source` values of the given cells (1-based
        positions) replaced, in the file's own style; every other byte is kept."""
        if not sources:
            return self.raw
        spans = _source_value_spans(self.raw)
        ascii_only = self.raw.isascii() and "\\u" in self.raw
        unit = _indent_unit(self.raw)
        out = self.raw
        for position in sorted(sources, reverse=True):
            if position not in spans:
                raise NotebookError(f"cannot locate the source of cell {position}")
            start, end = spans[position]
            old_value = json.loads(self.raw[start:end])
            line_start = self.raw.rfind("\n", 0, start) + 1
            key_indent = self.raw[line_start:start].lstrip("\r")
            key_indent = key_indent[: len(key_indent) - len(key_indent.lstrip(" \t"))]
            new_value = _format_source(sources[position], old_value, self.raw[start:end], key_indent, unit, ascii_only)
            if "\r\n" in self.raw:
                new_value = new_value.replace("\n", "\r\n")
            out = out[:start] + new_value + out[end:]
        return out


def _cell_is_python(cell: dict) -> bool:
    metadata = cell.get("metadata")
    if isinstance(metadata, dict):
        vscode = metadata.get("vscode")
        if isinstance(vscode, dict) and isinstance(vscode.get("languageId"), str):
            return vscode["languageId"].lower() in ("python", "ipython")
    return True


def _source_text(source: object) -> str:
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def _indent_unit(raw: str) -> str:
    for line in raw.splitlines()[1:3]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) != len(line):
            return line[: len(line) - len(stripped)]
    return " "


def _format_source(text: str, old_value: object, old_raw: str, key_indent: str, unit: str, ascii_only: bool) -> str:
    def dump(value: str) -> str:
        return json.dumps(value, ensure_ascii=ascii_only)

    if isinstance(old_value, str):
        return dump(text)
    parts = text.splitlines(keepends=True)
    if not parts:
        return "[]"
    if "\n" not in old_raw and old_value:  # a one-line list stays one line
        return "[" + ", ".join(dump(p) for p in parts) + "]"
    item_indent = key_indent + unit
    return "[\n" + ",\n".join(item_indent + dump(p) for p in parts) + "\n" + key_indent + "]"


def _source_value_spans(raw: str) -> dict[int, tuple[int, int]]:
    """Character ranges of `cells[i].source` values in the raw JSON (1-based i)."""
    decoder = json.JSONDecoder()
    scanstring = json.decoder.scanstring  # type: ignore[attr-defined]
    ws = re.compile(r"[ \t\n\r]*")

    def skip(i: int) -> int:
        return ws.match(raw, i).end()  # type: ignore[union-attr]

    def value_end(i: int) -> int:
        return decoder.raw_decode(raw, i)[1]

    def object_members(i: int) -> Iterable[tuple[str, int, int]]:
        """(key, value start, value end) of the object starting at `i`."""
        assert raw[i] == "{"
        i = skip(i + 1)
        if raw[i] == "}":
            return
        while True:
            key, i = scanstring(raw, i + 1)
            i = skip(i)
            assert raw[i] == ":"
            start = skip(i + 1)
            end = value_end(start)
            yield key, start, end
            i = skip(end)
            if raw[i] == "}":
                return
            assert raw[i] == ","
            i = skip(i + 1)

    spans: dict[int, tuple[int, int]] = {}
    top = skip(0)
    for key, start, _end in object_members(top):
        if key != "cells":
            continue
        i = skip(start + 1)
        position = 0
        while raw[i] != "]":
            position += 1
            end = value_end(i)
            if raw[i] == "{":
                for cell_key, s, e in object_members(i):
                    if cell_key == "source":
                        spans[position] = (s, e)
            i = skip(end)
            if raw[i] == ",":
                i = skip(i + 1)
    return spans


def read_notebook(path: Path) -> tuple[str, bytes]:
    info = path.stat()
    if not S_ISREG(info.st_mode):  # a FIFO would block the read for ever
        raise OSError(errno.EINVAL, "not a regular file")
    size = info.st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"notebook is too large to analyse ({size // 1024 // 1024} MiB)")
    data = path.read_bytes()
    text = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
    try:
        return text.decode("utf-8"), data
    except UnicodeDecodeError as exc:
        raise NotebookError(f"notebook is not valid UTF-8 (byte offset {exc.start})") from None


# ------------------------------------------------------------------------- CLI
def check_notebook_text(
    raw: str, display: str, settings: Settings, fixing: bool = False, project: "ProjectIndex | None" = None
) -> tuple[list[Finding], str, int]:
    """Check a notebook's raw JSON, following the modules it imports from `project`.
    Returns (cell-relative findings, new raw JSON, fixes applied)."""
    notebook = NotebookFile.parse(raw)
    if not notebook.is_python:
        return [], raw, 0
    tuples = notebook.cell_tuples()
    program = NotebookProgram.from_cells(tuples)
    findings = program.check(settings, display, project)
    if not fixing:
        return findings, raw, 0
    sources: dict[int, str] = {}
    total = 0
    for _ in range(MAX_FIX_ROUNDS):
        changed, applied = program.fixed_sources(findings)
        if not applied or not changed:
            break
        total += applied
        sources.update(changed)  # type: ignore[arg-type]
        tuples = [(cid, kind, sources.get(cid, text)) for cid, kind, text in tuples]
        program = NotebookProgram.from_cells(tuples)
        findings = program.check(settings, display, project)
    new_raw = notebook.with_sources(sources) if sources else raw
    return findings, new_raw, total


def check_notebook_path(path: Path, settings: Settings, fix: bool = False, diff: bool = False,
                        project: "ProjectIndex | None" = None) -> FileReport:
    """Check the notebook file at `path` (and fix it in place with `fix`), following the
    modules its cells import from `project`."""
    display = str(path)
    try:
        raw, original_bytes = read_notebook(Path(path))
    except OSError as exc:
        return FileReport(display, [], error=f"cannot read file: {exc.strerror or exc}")
    except NotebookError as exc:
        return FileReport(display, _whole_file_error(display, str(exc), settings))
    try:
        findings, new_raw, fixed = check_notebook_text(raw, display, settings, fix or diff, project)
    except NotebookError as exc:
        return FileReport(display, _whole_file_error(display, str(exc), settings))
    report = FileReport(display, findings, fixed=fixed, new_text=new_raw if new_raw != raw else None)
    if new_raw != raw:
        report.diff = unified_diff(raw, new_raw, display)
        if fix and not diff:
            report.error = write_atomically(Path(path), original_bytes, new_raw)
            if report.error:  # nothing was written: report what is in the file
                report.findings, _, _ = check_notebook_text(raw, display, settings, False, project)
                report.fixed = 0
    return report


def _whole_file_error(display: str, problem: str, settings: Settings) -> list[Finding]:
    if not settings.is_enabled(SYNTAX_ERROR):
        return []
    return [Finding(SYNTAX_ERROR, t("cannot analyse: {problem}", problem=problem), Severity.ERROR, Span(1, 0, 1, 0), path=display)]


def write_atomically(path: Path, original: bytes, new_raw: str) -> str | None:
    """Written through the file (see `fsutil`); refused when it changed since it was read."""
    data = new_raw.encode("utf-8")
    if original.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    return replace_file(path, data, original)
