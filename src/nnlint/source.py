"""Source text, decoding and position conversion.

`ast` reports columns as UTF-8 byte offsets; findings carry code-point columns.
Lines end at \\n, \\r\\n or \\r, the same terminators the Python tokenizer and LSP use.
"""

from __future__ import annotations

import codecs
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


MAX_FILE_BYTES = 10 * 1024 * 1024


class SourceDecodeError(ValueError):
    """Raised when bytes cannot be read as Python source."""


# Codecs that packages register at interpreter start to backport syntax (asottile's
# future-fstrings and future-annotations): they read UTF-8 and rewrite code that Python 3.6+
# parses natively, so the text is analysed as UTF-8 (and fixes are written back as UTF-8).
_UTF8_BACKPORT_CODECS = frozenset({"future_fstrings", "future-fstrings", "future_annotations", "future-annotations"})


def decode_source(data: bytes) -> str:
    """Decode Python source bytes following PEP 263 (BOM, coding cookie, else UTF-8)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        encoding = "utf-8"
    else:
        encoding = "utf-8"
        for raw_line in data.split(b"\n", 2)[:2]:
            match = _CODING.match(raw_line)
            if match:
                encoding = match.group(1).decode("ascii", "replace")
                break
    if encoding.lower() in _UTF8_BACKPORT_CODECS:
        encoding = "utf-8"
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
            self._lines = _LINE_BREAK.split(self.text)
        return self._lines

    def line_text(self, line: int) -> str:
        lines = self.lines
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def column(self, line: int, byte_col: int) -> int:
        """Convert an `ast` UTF-8 byte column on `line` to a code-point column."""
        text = self.line_text(line)
        if text.isascii():
            return min(byte_col, len(text))
        return len(text.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def line_offsets(self) -> list[int]:
        """Code-point offset of the start of each line in `text`."""
        if self._offsets is None:
            offsets = [0]
            for match in _LINE_BREAK.finditer(self.text):
                offsets.append(match.end())
            self._offsets = offsets
        return self._offsets

    def offset(self, line: int, column: int) -> int:
        """Code-point offset in `text` of a (1-based line, code-point column) position."""
        offsets = self.line_offsets()
        if line > len(offsets):
            return len(self.text)
        return offsets[line - 1] + min(column, len(self.line_text(line)))

    def newline(self) -> str:
        match = _LINE_BREAK.search(self.text)
        return match.group(0) if match else "\n"

    def indent_of(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip(" \t"))]
