"""Report formats for the CLI: text, json, sarif (2.1.0) and github annotations.

The JSON shape is a contract scorers depend on: 1-based lines and columns, columns
counted in Unicode code points.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote
from typing import TYPE_CHECKING, Callable

from nnlint import __version__
from nnlint.findings import Finding, Severity
from nnlint.i18n import SOURCE_LANGUAGE
from nnlint.message import t

if TYPE_CHECKING:  # the registry imports the rules: only SARIF needs them
    from nnlint.registry import Rule

DOCS_BASE_URL = "https://github.com/nnlint/nnlint/blob/main/docs/rules/"


def rule_url(code: str, base: str = DOCS_BASE_URL) -> str:
    return f"{base.rstrip('/')}/{code}.md"


def finding_to_json(finding: Finding, lang: str = SOURCE_LANGUAGE) -> dict[str, object]:
    """The JSON form of a finding; in another language than English, each English `message`
    gets a `localized_message` next to it (the English text stays what scorers read)."""
    localized = lang != SOURCE_LANGUAGE
    span = finding.span
    fix = None
    if finding.fix is not None:
        fix = {
            "message": finding.fix.title,
            **({"localized_message": finding.fix.localized_title(lang)} if localized else {}),
            "edits": [
                {
                    "line": e.span.line,
                    "column": e.span.column + 1,
                    "end_line": e.span.end_line,
                    "end_column": e.span.end_column + 1,
                    "new_text": e.new_text,
                }
                for e in finding.fix.edits
            ],
        }
    data: dict[str, object] = {
        "path": finding.path,
        "line": span.line,
        "column": span.column + 1,
        "end_line": span.end_line,
        "end_column": span.end_column + 1,
        "code": finding.code,
        "message": finding.message,
        **({"localized_message": finding.localized_message(lang)} if localized else {}),
        "severity": finding.severity.value,
        "fix": fix,
        "related": [
            {"line": r.span.line, "column": r.span.column + 1, "end_line": r.span.end_line,
             "end_column": r.span.end_column + 1, "message": r.message,
             **({"localized_message": r.localized(lang)} if localized else {})}
            for r in finding.related
        ],
    }
    cell = getattr(finding, "cell", None)
    if cell is not None:
        data["cell"] = cell
    return data


def render_json(findings: list[Finding], rules: dict[str, type[Rule]], lang: str = SOURCE_LANGUAGE) -> str:
    """`json.dumps([finding_to_json(f) ...], indent=2, ensure_ascii=False)`, byte for
    byte, written directly: the standard encoder is pure Python once it indents (a
    third of a cached re-run went into it). tests/test_output_speed.py holds the two
    equal. Another language adds the localised messages: the standard encoder writes those."""
    if lang != SOURCE_LANGUAGE:
        return json.dumps([finding_to_json(f, lang) for f in findings], indent=2, ensure_ascii=False)
    if not findings:
        return "[]"
    try:
        return "[\n" + ",\n".join(map(_finding_json, findings)) + "\n]"
    except (TypeError, ValueError):  # a value of an unexpected type: the encoder knows what to do
        return json.dumps([finding_to_json(f) for f in findings], indent=2, ensure_ascii=False)


_quote = json.encoder.encode_basestring  # C; escapes as ensure_ascii=False does


def _span_json(span, indent: str) -> str:  # type: ignore[no-untyped-def]
    return (
        f'{indent}"line": {int(span.line)},\n{indent}"column": {int(span.column) + 1},\n'
        f'{indent}"end_line": {int(span.end_line)},\n{indent}"end_column": {int(span.end_column) + 1},\n'
    )


def _finding_json(finding: Finding) -> str:
    fix = finding.fix
    if fix is None:
        fix_text = "null"
    elif not fix.edits:
        fix_text = '{\n      "message": ' + _quote(fix.title) + ',\n      "edits": []\n    }'
    else:
        edits = ",\n".join(
            "        {\n" + _span_json(e.span, "          ") + '          "new_text": ' + _quote(e.new_text) + "\n        }"
            for e in fix.edits
        )
        fix_text = '{\n      "message": ' + _quote(fix.title) + ',\n      "edits": [\n' + edits + "\n      ]\n    }"
    if finding.related:
        related = "[\n" + ",\n".join(
            "      {\n" + _span_json(r.span, "        ") + '        "message": ' + _quote(r.message) + "\n      }"
            for r in finding.related
        ) + "\n    ]"
    else:
        related = "[]"
    cell = getattr(finding, "cell", None)
    if cell is not None and type(cell) is not int:
        raise TypeError("only an integer cell number is written directly")
    return (
        '  {\n    "path": ' + _quote(finding.path) + ",\n" + _span_json(finding.span, "    ")
        + '    "code": ' + _quote(finding.code) + ',\n    "message": ' + _quote(finding.message)
        + ',\n    "severity": ' + _quote(finding.severity.value) + ',\n    "fix": ' + fix_text
        + ',\n    "related": ' + related
        + ("" if cell is None else f',\n    "cell": {cell}')
        + "\n  }"
    )


def _location(finding: Finding) -> str:
    cell = getattr(finding, "cell", None)
    where = f"{finding.path}:cell {cell}" if cell is not None else finding.path
    return f"{where}:{finding.span.line}:{finding.span.column + 1}"


def render_text(findings: list[Finding], rules: dict[str, type[Rule]], lang: str = SOURCE_LANGUAGE) -> str:
    lines = []
    for finding in findings:
        line = f"{_location(finding)}: {finding.code} {finding.localized_message(lang)}"
        if finding.fix is not None:
            line += " " + t("[fix: {title}]", title=finding.fix.localized_title(lang)).render(lang)
        lines.append(line)
        for related in finding.related:
            label = t("line {line}", line=related.span.line).render(lang)
            lines.append(f"    {label}: {related.localized(lang)}")
    if findings:
        count = len(findings)
        fixable = sum(1 for f in findings if f.fix is not None)
        summary = (t("Found {count} finding", count=count) if count == 1
                   else t("Found {count} findings", count=count))
        if fixable:
            summary += t(" ({fixable} fixable with `nnlint check --fix`)", fixable=fixable)
        lines.append(t("{summary}.", summary=summary).render(lang))
    return "\n".join(lines)


_SARIF_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "note",
    Severity.HINT: "note",
}


def _sarif_region(span) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        "startLine": span.line,
        "startColumn": span.column + 1,
        "endLine": span.end_line,
        "endColumn": span.end_column + 1,
    }


def _sarif_uri(path: str) -> str:
    """A relative path stays relative (GitHub resolves it against the checkout); an
    absolute one becomes a file:// URI. Both are percent-encoded."""
    candidate = Path(path)
    if candidate.is_absolute():
        return candidate.as_uri()
    return quote(candidate.as_posix(), safe="/")


_SYNTAX_RULE = {
    "id": "NN000",
    "name": "syntax-error",
    "shortDescription": {"text": "The file cannot be parsed or read, so it was not analysed"},
    "fullDescription": {"text": "The file cannot be parsed or read, so it was not analysed"},
    "help": {"text": "Fix the syntax error (or the file's encoding) so nnlint can check the file."},
    "defaultConfiguration": {"level": "error"},
}


def _sarif_message(english: str, localized: str, lang: str) -> dict[str, object]:
    """A SARIF message: the English text, and in another language the localised one in the
    message's property bag (SARIF's place for what its own schema has no field for)."""
    message: dict[str, object] = {"text": english}
    if lang != SOURCE_LANGUAGE:
        message["properties"] = {"localizedText": localized, "language": lang}
    return message


def render_sarif(findings: list[Finding], rules: dict[str, type[Rule]], lang: str = SOURCE_LANGUAGE) -> str:
    codes = sorted(code for code in rules if code != "NN000")
    index = {code: i + 1 for i, code in enumerate(codes)}
    index["NN000"] = 0
    sarif_rules: list[dict[str, object]] = [_SYNTAX_RULE]
    for code in codes:
        rule = rules[code]
        sarif_rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary},
                "help": {"text": rule.documentation(), "markdown": rule.documentation()},
                "helpUri": rule_url(code),
                "defaultConfiguration": {"level": _SARIF_LEVEL[rule.severity]},
            }
        )
    results = []
    for finding in findings:
        uri = _sarif_uri(finding.path)
        result: dict[str, object] = {
            "ruleId": finding.code,
            "level": _SARIF_LEVEL[finding.severity],
            "message": _sarif_message(finding.message, finding.localized_message(lang), lang),
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": _sarif_region(finding.span),
                    }
                }
            ],
        }
        if finding.code in index:
            result["ruleIndex"] = index[finding.code]
        if finding.related:
            result["relatedLocations"] = [
                {
                    "id": i,
                    "message": _sarif_message(r.message, r.localized(lang), lang),
                    "physicalLocation": {"artifactLocation": {"uri": uri}, "region": _sarif_region(r.span)},
                }
                for i, r in enumerate(finding.related)
            ]
        if finding.fix is not None:
            result["fixes"] = [
                {
                    "description": _sarif_message(finding.fix.title, finding.fix.localized_title(lang), lang),
                    "artifactChanges": [
                        {
                            "artifactLocation": {"uri": uri},
                            "replacements": [
                                {
                                    "deletedRegion": _sarif_region(e.span),
                                    "insertedContent": {"text": e.new_text},
                                }
                                for e in finding.fix.edits
                            ],
                        }
                    ],
                }
            ]
        results.append(result)
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nnlint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://github.com/nnlint/nnlint",
                        "rules": sarif_rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVEL = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFORMATION: "notice",
    Severity.HINT: "notice",
}


def render_github(findings: list[Finding], rules: dict[str, type[Rule]], lang: str = SOURCE_LANGUAGE) -> str:
    lines = []
    for f in findings:
        span = f.span
        props = (
            f"file={_escape_property(f.path)},line={span.line},col={span.column + 1},"
            f"endLine={span.end_line},endColumn={span.end_column + 1},"
            f"title={_escape_property(f'nnlint {f.code}')}"
        )
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {props}::{_escape_data(f'{f.code} {f.localized_message(lang)}')}")
    return "\n".join(lines)


FORMATS: dict[str, Callable[[list[Finding], dict[str, type[Rule]], str], str]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}


# The formats that describe the rules themselves (the others get an empty catalog).
RULE_FORMATS = frozenset({"sarif"})


def render(fmt: str, findings: list[Finding], rules: dict[str, type[Rule]], lang: str = SOURCE_LANGUAGE) -> str:
    """`findings` in format `fmt`; `lang` localises the text and github formats, and adds the
    localised messages next to the English ones in json and sarif."""
    output = FORMATS[fmt](findings, rules, lang)
    if fmt == "json" and not findings:
        return "[]"
    return output
