"""Hover: on a finding, what its message lacks (the client shows the message above the
hover): the related lines as links, then the rule's "why" and its example. On a code in a
suppression comment: the rule's documentation."""

from __future__ import annotations

import logging
import re
from typing import Sequence

from lsprotocol import types as t

from nnlint import localized_docs
from nnlint.engine import SYNTAX_ERROR, suppression_comments
from nnlint.findings import Span
from nnlint.output import rule_url
from nnlint.registry import load_rules

from .. import convert, i18n
from ..core import NnlintServer

log = logging.getLogger("nnlint.server")

# A rule's documentation has these sections, in this order (the registry's docstring
# contract): What it does, Why is this bad?, Example, Use instead, Fix. The hover takes
# them by position, so a translated documentation works the same.
WHY, EXAMPLE = 1, 2


def register(server: NnlintServer) -> None:
    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: NnlintServer, params: t.HoverParams) -> t.Hover | None:
        if not ls.is_open(params.text_document.uri):
            return None
        try:
            return hover_at(ls, params.text_document.uri, params.position)
        except Exception:  # noqa: BLE001
            log.exception("hover failed")
            return None


def hover_at(ls: NnlintServer, uri: str, position: t.Position) -> t.Hover | None:
    state = ls.docs.get(uri)
    config = ls.config_for(uri)
    if state is not None:
        matches = [d for d in state.shown if convert.contains(d.range, position) and d.code != SYNTAX_ERROR]
        if matches:
            value = hover_for_diagnostics(matches, ls.docs_base, config.lang)
            return t.Hover(contents=markup(ls, value), range=matches[0].range)
    return suppression_hover(ls, uri, position, config.lang)


def suppression_hover(ls: NnlintServer, uri: str, position: t.Position, lang: str) -> t.Hover | None:
    """The documentation of the rule whose code is under the cursor in a suppression comment."""
    lines = convert.split_lines(ls.workspace.get_text_document(uri).source)
    if not 0 <= position.line < len(lines):
        return None
    _, column = convert.position_from_client(ls.codec(), lines, position)
    for comment in suppression_comments(lines[position.line]):
        for code, start, end in comment.codes:
            if start <= column <= end:
                value = hover_for_rule(code, ls.docs_base, lang)
                if value is None:
                    return None
                span = Span(position.line + 1, start, position.line + 1, end)
                return t.Hover(contents=markup(ls, value), range=convert.span_to_range(ls.codec(), lines, span))
    return None


def markup(ls: NnlintServer, value: str) -> t.MarkupContent:
    kind = t.MarkupKind.Markdown if ls.capabilities.hover_markdown else t.MarkupKind.PlainText
    return t.MarkupContent(kind=kind, value=value)


def hover_for_diagnostics(diagnostics: Sequence[t.Diagnostic], docs_base: str | None, lang: str) -> str:
    """The hover's text for the findings under the cursor, one part each."""
    parts = []
    for diagnostic in diagnostics:
        code = str(diagnostic.code)
        lines = [rule_heading(code, docs_base, lang)]
        if diagnostic.related_information:
            lines += ["", f"### {i18n.text(lang, 'related')}", ""]
            for rel in diagnostic.related_information:
                number = rel.location.range.start.line + 1
                lines.append(f"- [{i18n.line_label(lang, number)}]({line_link(rel.location.uri, number)}): {rel.message}")
        rule = load_rules().get(code)
        sections = doc_sections(localized_docs.documentation(rule, lang)) if rule is not None else []
        lines += [part for index in (WHY, EXAMPLE) if index < len(sections) for part in ("", sections[index])]
        parts.append("\n".join(lines))
    return "\n\n---\n\n".join(parts)


def line_link(uri: str, line: int) -> str:
    """A link to a line of a file (VS Code and others read the `#L<line>` fragment). A
    notebook cell's URI has a fragment already (it names the cell): the link opens the cell."""
    return uri if "#" in uri else f"{uri}#L{line}"


def hover_for_rule(code: str, docs_base: str | None, lang: str) -> str | None:
    rule = load_rules().get(code)
    if rule is None:
        return None
    summary, documentation = localized_docs.summary(rule, lang), localized_docs.documentation(rule, lang)
    return "\n".join([rule_heading(code, docs_base, lang), "", summary, "", demote_headings(documentation)])


def rule_heading(code: str, docs_base: str | None, lang: str) -> str:
    rule = load_rules().get(code)
    url = rule_url(code, docs_base) if docs_base else rule_url(code)
    if rule is None:
        return f"**[{code}]({url})**"
    severity = f"{i18n.text(lang, 'default_severity')}: {rule.severity.value}"
    return f"**[{code}]({url})** `{rule.name}` ({severity})"


def doc_sections(markdown: str) -> list[str]:
    """A rule's documentation cut at its `## ` headings; each part keeps its heading, at
    the level of the hover's own ("### Related lines")."""
    parts = re.split(r"^(?=## )", markdown, flags=re.MULTILINE)
    return [demote_headings(part.strip(), 1) for part in parts if part.startswith("## ")]


def demote_headings(markdown: str, levels: int = 2) -> str:
    """Rule docs use '##' sections; nest them under the hover's own headings. Lines inside
    a fenced code block (Python comments) are left alone."""
    out, fenced = [], False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            line = re.sub(r"^(#{1,5}) ", lambda m: "#" * (len(m.group(1)) + levels) + " ", line)
        out.append(line)
    return "\n".join(out)
