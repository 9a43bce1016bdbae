"""The engine's output types. Nothing here knows about LSP or the terminal.

Positions are 1-based lines and 0-based columns counted in Unicode code points,
which is what both the CLI (1-based code points) and pygls' codec (0-based code
points, converted to the negotiated LSP encoding) derive from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

# The code of "this file could not be analysed" (a syntax error, an unreadable file).
SYNTAX_ERROR = "NN000"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"

    @classmethod
    def parse(cls, value: str) -> "Severity":
        aliases = {"info": "information", "warn": "warning", "err": "error"}
        value = aliases.get(value.lower(), value.lower())
        return cls(value)


@dataclass(frozen=True, order=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int

    def contains(self, line: int, column: int) -> bool:
        if (line, column) < (self.line, self.column):
            return False
        return (line, column) <= (self.end_line, self.end_column)


@dataclass(frozen=True)
class Related:
    """A place that explains a finding: where the softmax was applied, which loop, ..."""

    span: Span
    message: str


@dataclass(frozen=True)
class Edit:
    span: Span
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]


@dataclass
class Finding:
    code: str
    message: str
    severity: Severity
    span: Span
    related: list[Related] = field(default_factory=list)
    fix: Fix | None = None
    path: str = "<string>"

    def sort_key(self) -> tuple[int, int, str]:
        return (self.span.line, self.span.column, self.code)

    def explanation(self) -> str:
        """The instance-specific text: the message followed by the lines that explain it."""
        lines = [self.message]
        for rel in self.related:
            lines.append(f"- line {rel.span.line}: {rel.message}")
        return "\n".join(lines)


@dataclass
class FileReport:
    """One file's result in a CLI run (a script or a notebook): its findings, and with
    --fix/--diff what was fixed, or why the file could not be checked."""

    path: str
    findings: list[Finding]
    diff: str = ""
    fixed: int = 0
    error: str | None = None
    new_text: str | None = None
    unfixed: list[Finding] = field(default_factory=list)  # the findings before --fix
    cache_entry: "dict | None" = None  # a worker's result for the cache, written by the main process
