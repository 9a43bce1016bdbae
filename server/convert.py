"""Engine findings <-> LSP types.

Every position goes through pygls' `PositionCodec` (UTF-8/16/32 as negotiated), fed the
document's lines split exactly as the engine and LSP split them (\\r\\n, \\r, \\n). No
position arithmetic happens here beyond 1-based -> 0-based lines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import attrs

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from nnlint.findings import Edit, Finding, Severity, Span
from nnlint.output import rule_url
from nnlint.source import SourceFile

SOURCE = "nnlint"

SEVERITY = {
    Severity.ERROR: t.DiagnosticSeverity.Error,
    Severity.WARNING: t.DiagnosticSeverity.Warning,
    Severity.INFORMATION: t.DiagnosticSeverity.Information,
    Severity.HINT: t.DiagnosticSeverity.Hint,
}


def split_lines(text: str) -> list[str]:
    """Lines as LSP counts them (the engine's split; not str.splitlines, which also breaks
    at \\f, \\x1c, \\u2028 ...)."""
    return SourceFile(text).lines


def span_to_range(codec: PositionCodec, lines: Sequence[str], span: Span) -> t.Range:
    server = ServerTextRange(
        ServerTextPosition(max(span.line - 1, 0), span.column),
        ServerTextPosition(max(span.end_line - 1, 0), span.end_column),
    )
    return codec.range_to_client_units(lines, server)


def position_from_client(codec: PositionCodec, lines: Sequence[str], position: t.Position) -> tuple[int, int]:
    """(0-based line, code-point column) of a client position."""
    copy = t.Position(line=position.line, character=position.character)  # the codec mutates
    server = codec.position_from_client_units(lines, copy)
    return server.line, server.character


def range_dict(r: t.Range) -> dict[str, Any]:
    return {
        "start": {"line": r.start.line, "character": r.start.character},
        "end": {"line": r.end.line, "character": r.end.character},
    }


def range_from_dict(data: Any) -> t.Range:
    return t.Range(
        start=t.Position(line=int(data["start"]["line"]), character=int(data["start"]["character"])),
        end=t.Position(line=int(data["end"]["line"]), character=int(data["end"]["character"])),
    )


def edits_to_lsp(codec: PositionCodec, lines: Sequence[str], edits: Iterable[Edit]) -> list[t.TextEdit]:
    return [t.TextEdit(range=span_to_range(codec, lines, e.span), new_text=e.new_text) for e in edits]


@dataclass(frozen=True)
class FixData:
    """A fix carried by a diagnostic: its title and its LSP edits."""

    title: str
    edits: tuple[t.TextEdit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "edits": [{"range": range_dict(e.range), "newText": e.new_text} for e in self.edits],
        }

    @classmethod
    def from_json(cls, value: Any) -> "FixData | None":
        """None for anything malformed (a client may send back whatever it likes)."""
        if not isinstance(value, dict):
            return None
        try:
            edits = tuple(
                t.TextEdit(range=range_from_dict(e["range"]), new_text=str(e["newText"])) for e in value["edits"]
            )
            return cls(str(value["title"]), edits)
        except (KeyError, TypeError, ValueError):
            return None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class DiagnosticData:
    """What a diagnostic carries in its `data` (the client sends it back with code action
    requests): the document version and the finding's index it was computed for, its fix,
    and for a notebook cell the serial of the notebook analysis it came from."""

    version: int | None = None
    index: int | None = None
    fix: FixData | None = None
    notebook_result: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "index": self.index,
            "fix": self.fix.to_json() if self.fix is not None else None,
        }
        if self.notebook_result is not None:
            data["notebookResult"] = self.notebook_result
        return data

    @classmethod
    def from_json(cls, value: Any) -> "DiagnosticData":
        if not isinstance(value, dict):
            return cls()
        return cls(
            version=_int_or_none(value.get("version")),
            index=_int_or_none(value.get("index")),
            fix=FixData.from_json(value.get("fix")),
            notebook_result=_int_or_none(value.get("notebookResult")),
        )

    @classmethod
    def of(cls, diagnostic: t.Diagnostic) -> "DiagnosticData":
        return cls.from_json(diagnostic.data)


def finding_to_diagnostic(
    finding: Finding,
    uri: str,
    codec: PositionCodec,
    lines: Sequence[str],
    version: int | None,
    docs_base: str | None,
    index: int | None = None,
    related_in: Sequence[tuple[str, Sequence[str]]] | None = None,
    lang: str = "en",
) -> t.Diagnostic:
    """`related_in`: for each related location, the (uri, lines) it is relative to (a
    notebook finding may point into other cells); default: this document. `lang`: the
    language of the message, the related-information messages and the fix's title."""
    url = rule_url(finding.code, docs_base) if docs_base else rule_url(finding.code)
    fix = None
    if finding.fix is not None:
        fix = FixData(finding.fix.localized_title(lang), tuple(edits_to_lsp(codec, lines, finding.fix.edits)))
    targets = list(related_in) if related_in is not None else [(uri, lines)] * len(finding.related)
    related = [
        t.DiagnosticRelatedInformation(
            location=t.Location(uri=target_uri, range=span_to_range(codec, target_lines, rel.span)),
            message=rel.localized(lang),
        )
        for rel, (target_uri, target_lines) in zip(finding.related, targets)
    ]
    return t.Diagnostic(
        range=span_to_range(codec, lines, finding.span),
        severity=SEVERITY.get(finding.severity, t.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=t.CodeDescription(href=url),
        source=SOURCE,
        message=finding.localized_message(lang),
        related_information=related or None,
        data=DiagnosticData(version, index, fix).to_json(),
    )


def with_data(diagnostic: t.Diagnostic, data: DiagnosticData) -> t.Diagnostic:
    return attrs.evolve(diagnostic, data=data.to_json())


def without_fix(diagnostic: t.Diagnostic) -> t.Diagnostic:
    return with_data(diagnostic, replace(DiagnosticData.of(diagnostic), fix=None))


def shift(diagnostic: t.Diagnostic, first_line: int, delta: int) -> t.Diagnostic:
    """Move a diagnostic (and its related locations) by `delta` lines if it starts at or
    after `first_line`; used to keep the last good results while the buffer does not parse."""

    def move(r: t.Range) -> t.Range:
        if r.start.line < first_line:
            return r
        return t.Range(
            start=t.Position(line=max(r.start.line + delta, 0), character=r.start.character),
            end=t.Position(line=max(r.end.line + delta, 0), character=r.end.character),
        )

    related = None
    if diagnostic.related_information:
        related = [
            attrs.evolve(rel, location=attrs.evolve(rel.location, range=move(rel.location.range)))
            for rel in diagnostic.related_information
        ]
    return attrs.evolve(diagnostic, range=move(diagnostic.range), related_information=related)


def contains(r: t.Range, p: t.Position) -> bool:
    return (r.start.line, r.start.character) <= (p.line, p.character) <= (r.end.line, r.end.character)


def overlaps(a: t.Range, b: t.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


class _FastUnits:
    """pygls' unit counters, counted by the codec in C instead of a Python loop per character
    (the same numbers: lone surrogates count as one UTF-16 unit, three UTF-8 bytes)."""

    def __init__(self, impl: Any, encoding: str) -> None:
        self.impl = impl
        self.codec = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(encoding, "utf-16-le")
        self.width = {"utf-8": 1, "utf-16-le": 2, "utf-32-le": 4}[self.codec]

    def code_units_for_char(self, char: str) -> int:
        return self.impl.code_units_for_char(char)

    def num_units(self, chars: str) -> int:
        if chars.isascii():
            return len(chars)
        return len(chars.encode(self.codec, "surrogatepass")) // self.width

    def column_from_utf32(self, line: str, column: int) -> int:
        return self.num_units(line[:column])


class FastPositionCodec(PositionCodec):
    """pygls' `PositionCodec` with the same results, in O(1) Python steps for ASCII lines and
    without a Python loop per character otherwise. pygls' own walks the line a character at
    a time twice per incremental change: typing at the end of a 10,000-character line then
    costs milliseconds a keystroke, and a burst of edits falls behind by a minute."""

    def __init__(self, encoding: Any = t.PositionEncodingKind.Utf16) -> None:
        super().__init__(encoding)
        name = getattr(encoding, "value", encoding) or "utf-16"
        self.impl = _FastUnits(self.impl, str(name))  # type: ignore[assignment]

    def position_from_client_units(self, lines: Sequence[str], position: t.Position) -> ServerTextPosition:
        if 0 <= position.line < len(lines):
            line = lines[position.line]
            if line.isascii():  # one unit per code point: pygls' loop stops at the same place
                if line.endswith("\r\n"):
                    line = line[:-1]
                length = len(line)
                if length == 0:
                    return ServerTextPosition(position.line, 0)
                if position.character > length:
                    position.character = length - 1  # as pygls clamps
                return ServerTextPosition(position.line, max(position.character, 0))
            units = self.impl.num_units(line.replace("\r\n", "\n"))
            if position.character >= units:  # past the end: no walk needed
                return super().position_from_client_units(lines, position)
            # walk in C: the prefix of code points whose units reach the position
            low, high = 0, len(line)
            while low < high:
                middle = (low + high) // 2
                if self.impl.num_units(line[:middle]) < position.character:
                    low = middle + 1
                else:
                    high = middle
            return ServerTextPosition(position.line, low)
        return super().position_from_client_units(lines, position)
