"""What a rule sees: the source, its tree, the shared semantic index, and helpers
to turn `ast` nodes into spans, findings and minimal text edits."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import ClassVar, Protocol

from nnlint.findings import Edit, Finding, Fix, Related, Severity, Span
from nnlint.semantic import Semantic
from nnlint.settings import Settings
from nnlint.source import SourceFile
from nnlint.training import Training, training
from nnlint.values import Values, values


class RuleIdentity(Protocol):
    """What a finding needs of the rule that makes it (a `nnlint.registry.Rule` class or
    instance). The registry's `Rule.check` takes a `Context`, so the context names only this
    much of a rule instead of importing the registry back."""

    code: ClassVar[str]
    severity: ClassVar[Severity]
    options: ClassVar[dict[str, object]]


@dataclass
class Context:
    source: SourceFile
    tree: ast.Module
    semantic: Semantic
    settings: Settings

    def of_module(self, other: Semantic) -> "Context | None":
        """The context of another project module this check reads (a caller in another file),
        to word what its code does; None when the project index does not hold its text."""
        if other is self.semantic:
            return self
        project = self.semantic.project
        text = project.analysed_text(other.path) if project is not None and other.path is not None else None
        if text is None:
            return None
        return Context(SourceFile(text, str(other.path)), other.tree, other, self.settings)

    # ------------------------------------------------------- shared analyses
    @property
    def training(self) -> Training:
        """Training facts of this module: optimizers, steps, backward, loops, model kinds and
        modes, with helpers' effects followed (built once per check, shared by every rule)."""
        return training(self.semantic)

    @property
    def values(self) -> Values:
        """What values are: model outputs (logits, probabilities, log-probabilities), losses
        and the inputs they expect, constructions (built once per check, shared)."""
        return values(self.semantic, self.source.text)

    # ---------------------------------------------------------------- spans
    def span(self, node: ast.AST) -> Span:
        line = node.lineno  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or line
        end_col = getattr(node, "end_col_offset", None)
        col = node.col_offset  # type: ignore[attr-defined]
        column = self.source.column
        return Span(line, column(line, col), end_line, column(end_line, end_col if end_col is not None else col))

    def head_span(self, node: ast.AST) -> Span:
        """The first line of a (possibly multi-line) node, e.g. a `for` header."""
        span = self.span(node)
        if span.end_line == span.line:
            return span
        text = self.source.line_text(span.line).rstrip()
        return Span(span.line, span.column, span.line, max(span.column, len(text)))

    def text(self, node: ast.AST) -> str:
        span = self.span(node)
        start = self.source.offset(span.line, span.column)
        end = self.source.offset(span.end_line, span.end_column)
        return self.source.text[start:end]

    def related(self, node: ast.AST, message: str) -> Related:
        return Related(self.span(node), message)

    def option(self, rule: "type[RuleIdentity] | RuleIdentity", name: str) -> object:
        return self.settings.option(rule.code, name, rule.options.get(name))

    def finding(
        self,
        rule: "type[RuleIdentity] | RuleIdentity",
        node: ast.AST | Span,
        message: str,
        related: list[Related] | None = None,
        fix: Fix | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of `rule` at `node`; `severity` lowers or raises the rule's default for
        this instance (configuration still overrides both)."""
        span = node if isinstance(node, Span) else self.span(node)
        return Finding(rule.code, message, severity or rule.severity, span, related or [], fix, self.source.path)

    # ----------------------------------------------------------------- edits
    def statement_starts_line(self, stmt: ast.stmt) -> bool:
        """True when only indentation precedes `stmt` on its line (so a line can go above it)."""
        return self.source.starts_line(stmt)

    def insert_line_before(self, stmt: ast.stmt, code: str) -> Edit | None:
        """An edit that puts `code` on its own line above `stmt`, at the same indentation."""
        if not self.statement_starts_line(stmt):
            return None
        indent = self.source.indent_of(stmt.lineno)
        if stmt.col_offset == 0 and indent:
            indent = ""
        newline = self.source.newline()
        return Edit(Span(stmt.lineno, 0, stmt.lineno, 0), f"{indent}{code}{newline}")

    def insert_at_block_start(self, body: list[ast.stmt], code: str) -> Edit | None:
        """Insert `code` as the first statement of a block (after a docstring)."""
        first = body[0]
        if (
            type(first) is ast.Expr
            and type(first.value) is ast.Constant
            and isinstance(first.value.value, str)
            and len(body) > 1
        ):
            first = body[1]
        return self.insert_line_before(first, code)

    def delete_statement(self, stmt: ast.stmt) -> Edit | None:
        """Remove a statement that occupies whole lines (with its line break)."""
        if not self.source.occupies_whole_lines(stmt):
            return None
        end_line = stmt.end_lineno or stmt.lineno
        if end_line >= len(self.source.lines):
            return Edit(Span(stmt.lineno, 0, end_line, len(self.source.line_text(end_line))), "")
        return Edit(Span(stmt.lineno, 0, end_line + 1, 0), "")

    def replace(self, node: ast.AST, new_text: str) -> Edit:
        return Edit(self.span(node), new_text)

    def insert_after(self, node: ast.AST, text: str) -> Edit:
        span = self.span(node)
        return Edit(Span(span.end_line, span.end_column, span.end_line, span.end_column), text)

    def add_keyword(self, call: ast.Call, text: str) -> Edit:
        """Append a keyword argument to a call, keeping its layout."""
        arguments = [*call.args, *call.keywords]
        if arguments:
            last = max(arguments, key=lambda a: (a.end_lineno or 0, a.end_col_offset or 0))
            return self.insert_after(last, f", {text}")
        span = self.span(call)
        # `f()` ends with the closing parenthesis: insert just before it.
        return Edit(Span(span.end_line, span.end_column - 1, span.end_line, span.end_column - 1), text)
