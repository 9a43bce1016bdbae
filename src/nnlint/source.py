"""Source text, decoding and position conversion.

`ast` reports columns as UTF-8 byte offsets; findings carry code-point columns.
Lines end at \\n, \\r\\n or \\r, the same terminators the Python tokenizer and LSP use.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import stat
import tokenize
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import add
from pathlib import Path

# The line terminators of Python source (and of LSP): the one split every module uses.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A Python identifier in ASCII (what `project` indexes and `reanalysis` links by).
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A line with its break (the last line may have none), breaking only where LINE_BREAK does.
_LINE_WITH_BREAK = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def lines_with_breaks(text: str) -> list[str]:
    """`text`'s lines as the tokenizer (and LSP) count them, each with its line break:
    only \\r\\n, \\r and \\n end a line (str.splitlines also breaks at \\f, \\v, \\x1c...)."""
    return _LINE_WITH_BREAK.findall(text)


MAX_FILE_BYTES = 10 * 1024 * 1024


class SourceDecodeError(ValueError):
    """Raised when bytes cannot be read as Python source."""


# Codecs that packages register at interpreter start to backport syntax (asottile's
# future-fstrings and future-annotations): they read UTF-8 and rewrite code that Python 3.6+
# parses natively, so the text is analysed as UTF-8 (and fixes are written back as UTF-8).
_UTF8_BACKPORT_CODECS = frozenset({"future_fstrings", "future-fstrings", "future_annotations", "future-annotations"})


def source_encoding(data: bytes) -> str:
    """The encoding Python reads source bytes in (PEP 263: a UTF-8 BOM, else a coding cookie
    on one of the first two lines, else UTF-8), as `tokenize.detect_encoding` finds it;
    "utf-8-sig" means a BOM. A cookie naming no codec raises SourceDecodeError."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        message = str(exc.msg)
        if message.startswith("unknown encoding"):  # "unknown encoding: <name>"
            name = message.rpartition(": ")[2]
            if name.lower() in _UTF8_BACKPORT_CODECS:
                return "utf-8"
            raise SourceDecodeError(f"unknown source encoding {name!r}") from exc
        # Undecodable first lines without a cookie, or a BOM with a cookie of another
        # encoding: read as UTF-8, which reports the first bad byte and its line.
        return "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    return "utf-8" if encoding.lower() in _UTF8_BACKPORT_CODECS else encoding


def decode_source(data: bytes) -> str:
    """Decode Python source bytes following PEP 263 (BOM, coding cookie, else UTF-8)."""
    encoding = source_encoding(data)
    if encoding == "utf-8-sig":
        data, encoding = data[len(codecs.BOM_UTF8):], "utf-8"
    try:
        return data.decode(encoding)
    except LookupError as exc:
        raise SourceDecodeError(f"unknown source encoding {encoding!r}") from exc
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SourceDecodeError(
            f"file is not valid {encoding} (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 or declare its encoding with a '# -*- coding: ... -*-' line"
        ) from exc


def read_source(path: Path) -> tuple[str | None, str | None]:
    """Read a file as Python source: (text, None) or (None, a clear error message)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read for ever
            return None, "cannot read file: not a regular file"
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, f"file is too large to analyse ({size // 1024 // 1024} MiB; the limit is 10 MiB)"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    if b"\0" in data[:8192] and not path.suffix == ".py":
        return None, "binary file"
    try:
        return decode_source(data), None
    except SourceDecodeError as exc:
        return None, str(exc)


@dataclass
class SourceFile:
    text: str
    path: str = "<string>"
    _lines: list[str] | None = field(default=None, repr=False)
    _offsets: list[int] | None = field(default=None, repr=False)

    @property
    def lines(self) -> list[str]:
        """Lines without their terminators, split exactly as the tokenizer does."""
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text)
        return self._lines

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def column(self, line: int, byte_col: int) -> int:
        """Convert an `ast` UTF-8 byte column on `line` to a code-point column."""
        lines = self._lines if self._lines is not None else self.lines  # line_text, inlined: two per span
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        if text.isascii():
            return min(byte_col, len(text))
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def line_offsets(self) -> list[int]:
        """Code-point offset of the start of each line in `text`."""
        if self._offsets is None:
            offsets = [0]
            if "\r" in self.text:
                offsets.extend(match.end() for match in LINE_BREAK.finditer(self.text))
            else:  # every break is one "\n": the offsets are running sums of the line lengths
                # (len + 1 of each line but the last, summed: map and accumulate, no Python loop)
                lines = self.lines
                offsets.extend(accumulate(map(add, map(len, lines[:-1]), repeat(1))))
            self._offsets = offsets
        return self._offsets

    def offset(self, line: int, column: int) -> int:
        """Code-point offset in `text` of a (1-based line, code-point column) position."""
        offsets = self.line_offsets()
        if line > len(offsets):
            return len(self.text)
        return offsets[line - 1] + min(column, len(self.line_text(line)))

    def newline(self) -> str:
        match = LINE_BREAK.search(self.text)
        return match.group(0) if match else "\n"

    def indent_of(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]

    # ------------------------------------------------ whole-line statements (for fixes)
    def starts_line(self, node: ast.stmt | ast.expr) -> bool:
        """True when only indentation precedes `node` on its first line (so a line can go
        above it, or it can be removed with its line)."""
        prefix = self.line_text(node.lineno)[: self.column(node.lineno, node.col_offset)]
        return prefix.strip() == ""

    def ends_line(self, node: ast.stmt | ast.expr) -> bool:
        """True when nothing but a comment follows `node` on its last line."""
        end_line = node.end_lineno or node.lineno
        rest = self.line_text(end_line)[self.column(end_line, node.end_col_offset or 0):].strip()
        return not rest or rest.startswith("#")

    def occupies_whole_lines(self, node: ast.stmt | ast.expr) -> bool:
        """True when `node` has its lines to itself (a trailing comment aside)."""
        return self.starts_line(node) and self.ends_line(node)

