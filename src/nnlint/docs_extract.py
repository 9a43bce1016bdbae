"""Babel extractor for the ``nnlint-docs`` catalog: each rule's summary, fix title and documentation.

Referenced from ``babel/nnlint-docs.cfg`` as ``nnlint.docs_extract:extract_rule_texts``; from the
repository root, ``pybabel extract`` followed by :data:`EXTRACT_ARGS` rewrites the template
(the same mapping collects the ``doc_text("...")`` strings of the rule pages).

It reads the rule modules as source (``ast``, nothing imported or run): in every class that
sets ``code = "NN..."``, the ``summary`` and ``fix_title`` string attributes and the class
docstring, cleaned exactly as ``Rule.documentation()`` cleans it and split into Markdown
blocks by :func:`nnlint.localized_docs.markdown_blocks` (code blocks left out). Each message
carries an extracted comment naming the rule and the field, so a translator knows where the
text appears without reading Python.
"""

from __future__ import annotations

import ast
from typing import IO, Iterator, Mapping, Sequence

from nnlint.localized_docs import markdown_blocks

TEMPLATE = "src/nnlint/locale/nnlint-docs.pot"
EXTRACT_ARGS: tuple[str, ...] = (
    "-F", "babel/nnlint-docs.cfg",
    "--no-default-keywords", "-k", "doc_text",
    # file names without line numbers: editing a rule's code does not make the template stale
    "--add-location=file",
    "--sort-by-file",
    "--project=nnlint",
    "-o", TEMPLATE,
    "rules", "src/nnlint",
)
"""``pybabel extract`` arguments, run from the repository root, that produce the template."""

Message = tuple[int, str | None, str, list[str]]
"""What Babel expects from an extractor: (line number, function name, message, comments)."""


def _string_attribute(node: ast.ClassDef, name: str) -> tuple[int, str] | None:
    for statement in node.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign):
            target, value = statement.target, statement.value
        if isinstance(target, ast.Name) and target.id == name:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return statement.lineno, value.value
    return None


def rule_messages(source: str) -> Iterator[Message]:
    """The catalog messages of one rule module's source."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        code = _string_attribute(node, "code")
        if code is None:
            continue
        rule = code[1]
        for field in ("summary", "fix_title"):
            found = _string_attribute(node, field)
            if found is not None:
                yield found[0], None, found[1], [f"{rule} {field}"]
        docstring = ast.get_docstring(node, clean=True)
        if docstring:
            line = node.body[0].lineno
            for block in markdown_blocks(docstring):
                if block.translatable:
                    yield line, None, block.text, [f"{rule} documentation"]


def extract_rule_texts(
    fileobj: IO[bytes], keywords: Mapping[str, object], comment_tags: Sequence[str], options: Mapping[str, str]
) -> Iterator[Message]:
    """Babel's extractor interface (keywords and comment tags do not apply to rule texts)."""
    encoding = options.get("encoding", "utf-8")
    yield from rule_messages(fileobj.read().decode(encoding))
