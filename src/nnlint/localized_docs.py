"""Each rule's static text (documentation, summary, fix title) in the user's language.

The catalog domain is ``nnlint-docs`` (see :mod:`nnlint.i18n`). A rule's documentation is
Markdown; translators see it one block at a time: blocks are separated by blank lines, every
block that is not a fenced code block (a heading line, a paragraph, a list) is one msgid exactly
as it appears, and fenced code blocks are never extracted, so examples stay byte-identical in
every language. :func:`markdown_blocks` is the single definition of that split, used both here
and by the Babel extractor (:mod:`nnlint.docs_extract`), so the catalog's msgids are always
the strings looked up at run time.

English needs no catalog: for ``lang == "en"`` every function returns the rule's own text
unchanged, and a block missing from a catalog falls back to its English text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from nnlint.i18n import DOCS_DOMAIN, SOURCE_LANGUAGE, translate

if TYPE_CHECKING:
    from nnlint.registry import Rule

_FENCE = "```"


@dataclass(frozen=True)
class Block:
    """A run of lines of a Markdown text; ``translatable`` is False for code and blank lines."""

    text: str
    translatable: bool


def markdown_blocks(markdown: str) -> list[Block]:
    """Split ``markdown`` into blocks whose texts, joined with ``"\\n"``, give it back exactly.

    A block is a run of non-blank lines (translatable), a fenced code block from its opening
    to its closing fence, blank lines included (not translatable), or a run of blank lines
    (the separators, not translatable). A fence that opens right under a paragraph line ends
    that paragraph, so code never ends up inside a msgid.
    """
    blocks: list[Block] = []
    current: list[str] = []
    kind = ""  # "text", "code", "blank" or "" between blocks

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append(Block("\n".join(current), kind == "text"))
        current, kind = [], ""

    for line in markdown.split("\n"):
        if kind == "code":
            current.append(line)
            if line.lstrip().startswith(_FENCE):
                flush()
            continue
        if line.lstrip().startswith(_FENCE):
            flush()
            current, kind = [line], "code"
            continue
        line_kind = "blank" if not line.strip() else "text"
        if line_kind != kind:
            flush()
            kind = line_kind
        current.append(line)
    flush()
    return blocks


def translatable_blocks(markdown: str) -> Iterator[str]:
    """The msgids of a Markdown text: its blocks other than code and blank lines."""
    for block in markdown_blocks(markdown):
        if block.translatable:
            yield block.text


def translate_markdown(markdown: str, lang: str) -> str:
    """``markdown`` with every translatable block replaced by its translation in ``lang``."""
    if lang == SOURCE_LANGUAGE:
        return markdown
    return "\n".join(
        translate(block.text, lang, DOCS_DOMAIN) if block.translatable else block.text
        for block in markdown_blocks(markdown)
    )


def doc_text(text: str, lang: str) -> str:
    """A fixed string of the rule pages (``nnlint rule``, docs/) in ``lang``.

    The extraction (``nnlint.docs_extract.EXTRACT_ARGS``) collects the literal first
    argument of every ``doc_text(...)`` call into the ``nnlint-docs`` template. Values go
    in as ``{name}`` placeholders filled by :func:`fill` after translation, so a translator
    sees whole sentences and can move the values around.
    """
    return translate(text, lang, DOCS_DOMAIN)


def fill(template: str, **values: object) -> str:
    """``template`` with each ``{name}`` replaced by ``values[name]`` (other braces kept as they are)."""
    for name, value in values.items():
        template = template.replace("{" + name + "}", str(value))
    return template


def documentation(rule: type[Rule], lang: str) -> str:
    """``rule.documentation()`` in ``lang``: prose translated, code blocks untouched."""
    return translate_markdown(rule.documentation(), lang)


def summary(rule: type[Rule], lang: str) -> str:
    """The rule's one-line summary in ``lang``."""
    return translate(rule.summary, lang, DOCS_DOMAIN)


def fix_title(rule: type[Rule], lang: str) -> str | None:
    """The rule's fix title (its class attribute) in ``lang``; None when it has no fix."""
    if rule.fix_title is None:
        return None
    return translate(rule.fix_title, lang, DOCS_DOMAIN)
