"""The engine's output types. Nothing here knows about LSP or the terminal.

Positions are 1-based lines and 0-based columns counted in Unicode code points,
which is what both the CLI (1-based code points) and pygls' codec (0-based code
points, converted to the negotiated LSP encoding) derive from.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from nnlint.message import Message, t

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

    def __init__(self, line: int, column: int, end_line: int, end_column: int) -> None:
        # What the generated frozen __init__ does (one `object.__setattr__` per field), as
        # plain dictionary writes at half the cost: every finding, related line and edit
        # makes spans. The instance stays frozen (assignment still raises).
        fields = self.__dict__
        fields["line"] = line
        fields["column"] = column
        fields["end_line"] = end_line
        fields["end_column"] = end_column

    def contains(self, line: int, column: int) -> bool:
        if (line, column) < (self.line, self.column):
            return False
        return (line, column) <= (self.end_line, self.end_column)


@dataclass(frozen=True)
class Related:
    """A place that explains a finding: where the softmax was applied, which loop, ..."""

    span: Span
    message: str
    text: Message | None = field(default=None, compare=False, repr=False)
    """The message as a template and arguments, to render in another language (None: English only)."""

    def __post_init__(self) -> None:
        if isinstance(self.message, Message):  # a rule passes t(...): keep it, store the English text
            object.__setattr__(self, "text", self.message)
            object.__setattr__(self, "message", self.message.render())

    def localized(self, lang: str) -> str:
        return self.text.render(lang) if self.text is not None else self.message


@dataclass(frozen=True)
class Edit:
    span: Span
    new_text: str


@dataclass(frozen=True)
class Fix:
    title: str
    edits: tuple[Edit, ...]
    text: Message | None = field(default=None, compare=False, repr=False)
    """The title as a template and arguments, to render in another language (None: English only)."""

    def __post_init__(self) -> None:
        if isinstance(self.title, Message):
            object.__setattr__(self, "text", self.title)
            object.__setattr__(self, "title", self.title.render())

    def localized_title(self, lang: str) -> str:
        return self.text.render(lang) if self.text is not None else self.title


@dataclass
class Finding:
    code: str
    message: str
    severity: Severity
    span: Span
    related: list[Related] = field(default_factory=list)
    fix: Fix | None = None
    path: str = "<string>"
    text: Message | None = field(default=None, compare=False, repr=False)
    """The message as a template and arguments, to render in another language (None: English only)."""

    def __post_init__(self) -> None:
        if isinstance(self.message, Message):
            self.text = self.message
            self.message = self.message.render()

    def localized_message(self, lang: str) -> str:
        return self.text.render(lang) if self.text is not None else self.message

    def sort_key(self) -> tuple[int, int, str]:
        return (self.span.line, self.span.column, self.code)

    def explanation(self, lang: str = "en") -> str:
        """The instance-specific text: the message followed by the lines that explain it."""
        if lang == "en":
            lines = [self.message]
            for rel in self.related:
                lines.append(f"- line {rel.span.line}: {rel.message}")
            return "\n".join(lines)
        lines = [self.localized_message(lang)]
        for rel in self.related:
            label = t("line {line}", line=rel.span.line).render(lang)
            lines.append(f"- {label}: {rel.localized(lang)}")
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
