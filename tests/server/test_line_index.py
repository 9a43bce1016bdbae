"""The open document's line index is patched per change, not rebuilt (issue 13): after
every change (odd separators, \\r and \\n joined or parted by an edit, changes that do not
fit the text) it equals the index built from scratch."""

from __future__ import annotations

import random

from lsprotocol import types as t

from nnlint.server.convert import FastPositionCodec
from nnlint.server.pygls_adapter import LspTextDocument, lsp_lines
from nnlint.server.syncmodel import SEED_TEXT, ClientBuffer, random_edit


def index_from_scratch(text: str) -> tuple[tuple[str, ...], list[int]]:
    lines = tuple(lsp_lines(text))
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return lines, starts


def test_the_patched_index_equals_one_built_from_scratch() -> None:
    rng = random.Random(13)
    patched = 0
    for encoding in ("utf-16", "utf-8"):
        buffer = ClientBuffer(SEED_TEXT, encoding)
        document = LspTextDocument("file:///index.py", SEED_TEXT, 1, position_codec=FastPositionCodec(encoding))
        for step in range(6000):
            document.lines  # an index of the current text, to be patched by the change
            if step % 50 == 49:  # a change that does not fit: past the end of the text
                end = t.Position(line=len(document.lines) + 3, character=0)
                change = t.TextDocumentContentChangePartial(range=t.Range(start=end, end=end), text="x\r")
                buffer.text = buffer.text + "x\r"
            else:
                change = random_edit(buffer, rng)
            document.apply_change(change)
            patched += document._cache_key is document.source
            assert document._index() == index_from_scratch(document.source), f"after {change!r}"
            if document.source != buffer.text:  # resynchronise as a client would
                document.apply_change(t.TextDocumentContentChangeWholeDocument(text=buffer.text))
    assert patched > 11_000  # patched in place, not rebuilt on the next use


def test_crlf_joined_and_parted_by_edits() -> None:
    document = LspTextDocument("file:///crlf.py", "a\r\nb\rc\nd", 1, position_codec=FastPositionCodec("utf-16"))
    steps = [
        ((1, 0), (1, 1), ""),  # "b" removed: "\r" then "c\n"
        ((0, 1), (0, 1), "x"),
        ((1, 0), (1, 0), "\n"),  # a "\n" right after a lone "\r": one break with it
        ((3, 1), (3, 1), "\r"),  # the last line gets a break
    ]
    for (l1, c1), (l2, c2), text in steps:
        document.lines
        document.apply_change(
            t.TextDocumentContentChangePartial(
                range=t.Range(start=t.Position(line=l1, character=c1), end=t.Position(line=l2, character=c2)), text=text
            )
        )
        assert document._cache_key is document.source  # patched
        assert document._index() == index_from_scratch(document.source)
