"""Engine findings <-> LSP types.

Every position goes through pygls' `PositionCodec` (UTF-8/16/32 as negotiated), fed the
document's lines split exactly as the engine and LSP split them (\\r\\n, \\r, \\n). No
position arithmetic happens here beyond 1-based -> 0-based lines.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition, ServerTextRange

from nnlint.findings import Edit, Finding, Severity, Span
from nnlint.output import rule_url
from nnlint.registry import load_rules
from nnlint.source import SourceFile

from . import i18n

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
        fix = {
            "title": finding.fix.localized_title(lang),
            "edits": [
                {"range": range_dict(e.range), "newText": e.new_text}
                for e in edits_to_lsp(codec, lines, finding.fix.edits)
            ],
        }
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
        data={"version": version, "index": index, "fix": fix},
    )


def diagnostic_data(diagnostic: t.Diagnostic) -> dict[str, Any]:
    data = diagnostic.data
    return data if isinstance(data, dict) else {}


def fix_edits(diagnostic: t.Diagnostic) -> tuple[str, list[t.TextEdit]] | None:
    """The fix a diagnostic carries in `data`, or None (also for malformed data)."""
    fix = diagnostic_data(diagnostic).get("fix")
    if not isinstance(fix, dict):
        return None
    try:
        edits = [t.TextEdit(range=range_from_dict(e["range"]), new_text=str(e["newText"])) for e in fix["edits"]]
        return str(fix["title"]), edits
    except (KeyError, TypeError, ValueError):
        return None


def without_fix(diagnostic: t.Diagnostic) -> t.Diagnostic:
    data = dict(diagnostic_data(diagnostic))
    data["fix"] = None
    return t.Diagnostic(
        range=diagnostic.range,
        severity=diagnostic.severity,
        code=diagnostic.code,
        code_description=diagnostic.code_description,
        source=diagnostic.source,
        message=diagnostic.message,
        related_information=diagnostic.related_information,
        data=data,
    )


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
            t.DiagnosticRelatedInformation(
                location=t.Location(uri=rel.location.uri, range=move(rel.location.range)), message=rel.message
            )
            for rel in diagnostic.related_information
        ]
    return t.Diagnostic(
        range=move(diagnostic.range),
        severity=diagnostic.severity,
        code=diagnostic.code,
        code_description=diagnostic.code_description,
        source=diagnostic.source,
        message=diagnostic.message,
        related_information=related,
        data=diagnostic.data,
    )


def contains(r: t.Range, p: t.Position) -> bool:
    return (r.start.line, r.start.character) <= (p.line, p.character) <= (r.end.line, r.end.character)


def overlaps(a: t.Range, b: t.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


# --------------------------------------------------------------------------- hover
def rule_heading(code: str, docs_base: str | None, lang: str) -> str:
    rule = load_rules().get(code)
    url = rule_url(code, docs_base) if docs_base else rule_url(code)
    if rule is None:
        return f"**[{code}]({url})**"
    severity = f"{i18n.text(lang, 'default_severity')}: {rule.severity.value}"
    return f"**[{code}]({url})** `{rule.name}` ({severity})"


def rule_documentation(code: str) -> str | None:
    rule = load_rules().get(code)
    if rule is None:
        return None
    return _demote_headings(rule.documentation())


def _demote_headings(markdown: str) -> str:
    """Rule docs use '##' sections; nest them under the hover's own headings."""
    return re.sub(r"^(#{1,5}) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", markdown, flags=re.MULTILINE)


def hover_for_diagnostics(diagnostics: Sequence[t.Diagnostic], docs_base: str | None, lang: str) -> str:
    parts = []
    for diagnostic in diagnostics:
        code = str(diagnostic.code)
        lines = [rule_heading(code, docs_base, lang), "", f"### {i18n.text(lang, 'instance')}", "", diagnostic.message]
        for rel in diagnostic.related_information or []:
            lines.append(f"- {i18n.line_label(lang, rel.location.range.start.line + 1)}: {rel.message}")
        doc = rule_documentation(code)
        if doc:
            lines += ["", f"### {i18n.text(lang, 'documentation')}", "", doc]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)


def hover_for_rule(code: str, docs_base: str | None, lang: str) -> str | None:
    doc = rule_documentation(code)
    if doc is None:
        return None
    rule = load_rules()[code]
    return "\n".join([rule_heading(code, docs_base, lang), "", rule.summary, "", doc])


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
