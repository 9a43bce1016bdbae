"""A model of the client's buffer, to check that the server's copy of a document stays the
client's text over random incremental edits (issue 18).

The model is deliberately independent of the server's document: a plain string, edited by
offsets, whose LSP positions are computed here from first principles (a line ends only at
\\n, \\r\\n or \\r; a column counts code units of the negotiated encoding). Edits insert and
delete text full of the characters `str.splitlines()` also breaks at.

Used by tests/server/test_text_sync.py and `python -m nnlint.reliability`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from lsprotocol import types as t

# Every character str.splitlines() breaks at that LSP does not.
ODD_SEPARATORS = "\f\v\x1c\x1d\x1e\x85\u2028\u2029"
PIECES = (
    "\n", "\r\n", "\r", *ODD_SEPARATORS, "x", "é", "😀", "한", "    ", "\t", "# section 1\f\n",
    "a\u2028b", "\r\n\r\n", "\n\r", "x = F.dropout(x, p=0.5)\n", "\f\n", "\x85\r\n", "'''\u2029'''",
)
SEED_TEXT = (
    "import torch.nn.functional as F\n"
    "# section 1\f\n"
    "\x0b# vertical tab\x1c\x1d\x1e\n"
    "s = 'next line\x85 line separator\u2028 paragraph\u2029 end'\r\n"
    "\r"
    "x = F.dropout(x, p=0.5)  # 😀 한국어\n"
)
_BREAK = re.compile(r"\r\n|\r|\n")
UNITS: dict[str, Callable[[str], int]] = {
    "utf-8": lambda s: len(s.encode("utf-8", "surrogatepass")),
    "utf-16": lambda s: len(s.encode("utf-16-le", "surrogatepass")) // 2,
    "utf-32": len,
}


class ClientBuffer:
    """The client's text and its LSP positions."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = text
        self.units = UNITS[encoding]

    def position(self, offset: int) -> t.Position:
        prefix = self.text[:offset]
        line, start = 0, 0
        for match in _BREAK.finditer(prefix):
            line, start = line + 1, match.end()
        return t.Position(line=line, character=self.units(prefix[start:]))

    def offset(self, position: t.Position) -> int:
        """The offset of a position in this text (a server's edit applied as an editor does)."""
        starts = [0] + [m.end() for m in _BREAK.finditer(self.text)]
        if position.line >= len(starts):
            return len(self.text)
        start = starts[position.line]
        end = starts[position.line + 1] if position.line + 1 < len(starts) else len(self.text)
        content = self.text[start:end].rstrip("\r\n")
        for column in range(len(content) + 1):
            if self.units(content[:column]) >= position.character:
                return start + column
        return start + len(content)

    def apply(self, edits: list[t.TextEdit]) -> list[t.TextDocumentContentChangePartial]:
        """Apply a server's edits (ranges in the same text), last first; the changes to send."""
        changes = []
        for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            start, end = self.offset(edit.range.start), self.offset(edit.range.end)
            changes.append(self.edit(start, end, edit.new_text))
        return changes

    def editable(self, offset: int) -> bool:
        """An editor never puts a position between the \\r and \\n of one line break."""
        return not (0 < offset < len(self.text) and self.text[offset - 1] == "\r" and self.text[offset] == "\n")

    def edit(self, start: int, end: int, new_text: str) -> t.TextDocumentContentChangePartial:
        change = t.TextDocumentContentChangePartial(
            range=t.Range(start=self.position(start), end=self.position(end)), text=new_text
        )
        self.text = self.text[:start] + new_text + self.text[end:]
        return change


def random_edit(buffer: ClientBuffer, rng: random.Random, max_length: int = 4000) -> t.TextDocumentContentChangePartial:
    """One random edit of the buffer (an insertion, deletion or replacement), applied to it."""
    size = len(buffer.text)
    while True:
        start = rng.randrange(size + 1)
        end = min(size, start + rng.choice((0, 0, 1, 2, 5, 40)))
        if size > max_length:
            end = min(size, start + 200)
        if buffer.editable(start) and buffer.editable(end):
            break
    new_text = "".join(rng.choice(PIECES) for _ in range(rng.choice((0, 1, 1, 2, 3))))
    if size > max_length:
        new_text = ""
    return buffer.edit(start, end, new_text)


@dataclass
class SyncResult:
    edits: int = 0
    divergences: int = 0
    suspect_marks: int = 0  # the document said a change did not fit (it never should here)
    first: list[str] = field(default_factory=list)  # a description of the first divergences


def check_document_sync(
    make_document: Callable[[str, str], Any], edits: int = 100_000, seed: int = 0, encodings: tuple[str, ...] = ("utf-16", "utf-8", "utf-32")
) -> SyncResult:
    """Apply `edits` random incremental changes to a ClientBuffer and, change by change, to
    the document `make_document(text, encoding)` builds; count the edits after which the
    document's text is not the client's (and resynchronise it with a full change)."""
    rng = random.Random(seed)
    result = SyncResult()
    per_encoding = max(1, -(-edits // len(encodings)))  # at least `edits` in all
    for encoding in encodings:
        buffer = ClientBuffer(SEED_TEXT, encoding)
        document = make_document(SEED_TEXT, encoding)
        for _ in range(per_encoding):
            change = random_edit(buffer, rng)
            document.apply_change(change)
            result.edits += 1
            if getattr(document, "suspect", False):
                result.suspect_marks += 1
            if document.source != buffer.text:
                result.divergences += 1
                if len(result.first) < 3:
                    result.first.append(f"{encoding}: after {change.range} {change.text!r}")
                document.apply_change(t.TextDocumentContentChangeWholeDocument(text=buffer.text))
    return result
