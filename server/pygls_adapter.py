"""Every use of pygls' private members, in one place (pygls 2.1).

- `LspTextDocument` / `install_workspace`: pygls keeps an open document's lines with
  `str.splitlines()`, which also breaks at \\f, \\v, \\x1c-\\x1e, \\x85, U+2028 and U+2029. LSP
  (and the engine) break lines only at \\n, \\r\\n and \\r, so after an incremental edit below
  such a character pygls' copy of the text lands on the wrong line: diagnostics and quick
  fixes are then computed on text the user does not have (issue 18). Our document splits
  as LSP does, applies a change by offsets, and marks itself `suspect` when a change does
  not fit its text (a range past the end, or ending before it starts): its copy may then
  differ from the client's, and no edit is offered on it until the client sends the whole
  text again.
- `send_raw`, `is_shut_down`, `reset_stop_event`, `set_stop_event`: what the hardened
  transport (transport.py) needs of pygls' protocol and server that pygls keeps private.
- `ProtocolFixes`: pygls files the future of every notification handler (and of every step
  of its built-in generator handlers) in `_request_futures` under a fresh UUID and never
  removes it: one entry per didChange, for the life of the server. A response that
  arrives after we stopped waiting for it (a slow `workspace/configuration`) raised
  InvalidStateError. An internal error carried the Python traceback to the client.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import logging
import threading
from typing import Any, Sequence

from lsprotocol import types as t
from pygls.workspace import Workspace
from pygls.workspace.position_codec import PositionCodec
from pygls.workspace.text_document import TextDocument

from nnlint.source import lines_with_breaks

log = logging.getLogger("nnlint.server.sync")

# Every private member of pygls used here, by the pygls class that has it (tests check each
# still exists with the signature used, and that no other server module touches one).
PRIVATE_MEMBERS: dict[str, tuple[str, ...]] = {
    "pygls.protocol.json_rpc.JsonRPCProtocol": (
        "_send_data",
        "_shutdown",
        "_request_futures",
        "_execute_handler",
        "_handle_response",
        "_send_response",
    ),
    "pygls.protocol.language_server.LanguageServerProtocol": ("_workspace",),
    "pygls.server.JsonRPCServer": ("_stop_event",),
    "pygls.workspace.workspace.Workspace": ("_sync_kind", "_position_codec", "_create_text_document"),
    "pygls.workspace.text_document.TextDocument": ("_source", "_apply_incremental_change", "_apply_full_change"),
    "pygls.client.JsonRPCClient": ("_server",),
}

# A line with its terminator; only \r\n, \r and \n end a line (LSP 3.17, "Text Documents").
lsp_lines = lines_with_breaks


class LspTextDocument(TextDocument):
    """pygls' TextDocument with LSP line semantics (see the module docstring)."""

    suspect: bool = False  # a change did not fit: our text may differ from the client's

    _cache_key: Any = None
    _cache: tuple[tuple[str, ...], list[int]] = ((), [0])

    def _index(self) -> tuple[tuple[str, ...], list[int]]:
        """(lines, offset of each line's start), computed once per text."""
        source = self.source
        if self._cache_key is not source:
            lines = tuple(lsp_lines(source))
            starts = [0]
            for line in lines:
                starts.append(starts[-1] + len(line))
            self._cache, self._cache_key = (lines, starts), source
        return self._cache

    @property
    def lines(self) -> Sequence[str]:  # type: ignore[override]
        return self._index()[0]

    def offset_of(self, position: t.Position) -> tuple[int, bool]:
        """(code-point offset of a client position, whether it was inside the text).
        A position past the end of a line means its end, past the last line the end of
        the text, as LSP says; `False` then tells that the client's text is not ours."""
        lines, starts = self._index()
        if position.line < 0 or position.character < 0:
            return 0, False
        if position.line >= len(lines):
            # the empty line after a final line break is a real position
            fits = position.line == len(lines) and position.character == 0 and (not lines or lines[-1][-1:] in "\r\n")
            return starts[-1], fits
        content = lines[position.line].rstrip("\r\n")
        units = self.position_codec.client_num_units(content)
        if position.character >= units:
            return starts[position.line] + len(content), position.character == units
        probe = t.Position(line=0, character=position.character)  # the codec mutates it
        column = self.position_codec.position_from_client_units([content], probe).character
        return starts[position.line] + column, True

    def _apply_incremental_change(self, change: t.TextDocumentContentChangePartial) -> None:
        start, start_fits = self.offset_of(change.range.start)
        end, end_fits = self.offset_of(change.range.end)
        if not (start_fits and end_fits) or end < start:
            if not self.suspect:
                log.warning(
                    "%s: a change at %s does not fit the text (version %s): its diagnostics are kept "
                    "but no fix is offered until the client sends the whole text again",
                    self.uri,
                    _range_text(change.range),
                    self.version,
                )
            self.suspect = True
            end = max(start, end)
        source = self.source
        self._source = source[:start] + change.text + source[end:]
        self.patch_index(source, start, end, len(change.text))

    def patch_index(self, old: str, start: int, end: int, inserted: int) -> None:
        """Bring the line index of `old` up to date with a change of old[start:end] to
        `inserted` characters: only the lines the change touched are split again, with one
        line on each side (an edit can join a \r and a \n into one line break, or part
        them). Splitting the whole text on every keystroke cost a millisecond per 1,500
        lines, on the event loop, before the analysis could start."""
        if self._cache_key is not old or not self._cache[0]:
            return  # no index of the old text: the next use builds one
        lines, starts = self._cache
        source = self.source
        delta = inserted - (end - start)
        first = max(0, bisect.bisect_right(starts, start) - 2)
        last = min(len(lines) - 1, bisect.bisect_right(starts, end))
        base = starts[first]
        window = lsp_lines(source[base : starts[last + 1] + delta])
        new_starts = starts[: first + 1]
        offset = base
        for line in window:
            offset += len(line)
            new_starts.append(offset)
        new_starts.extend([at + delta for at in starts[last + 2 :]])
        self._cache = (lines[:first] + tuple(window) + lines[last + 1 :], new_starts)
        self._cache_key = source

    def _apply_full_change(self, change: t.TextDocumentContentChangeEvent) -> None:
        super()._apply_full_change(change)
        self.suspect = False  # the whole text again: in step with the client


def _range_text(r: t.Range) -> str:
    return f"{r.start.line}:{r.start.character}-{r.end.line}:{r.end.character}"


class LspWorkspace(Workspace):
    """pygls' Workspace creating `LspTextDocument`s."""

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
        )


def install_workspace(server: Any, codec: PositionCodec) -> None:
    """Replace the workspace pygls built at `initialize` (before any document is open) by
    an `LspWorkspace` using `codec`."""
    old = server.protocol.workspace
    new = LspWorkspace(old.root_uri, old._sync_kind, list(old.folders.values()), old.position_encoding)
    new._position_codec = codec
    server.protocol._workspace = new


def send_raw(protocol: Any, message: dict[str, Any]) -> None:
    """Write a JSON-RPC message as is (an error pygls has no way to send: a reply to a
    request it could not even parse)."""
    protocol._send_data(message)


def is_shut_down(protocol: Any) -> bool:
    """The client sent `shutdown`."""
    return bool(protocol._shutdown)


def reset_stop_event(server: Any) -> None:
    """pygls' server loops wait on this event; the transport runs its own loop and sets it
    when it stops, so that pygls' threads (if any) end too."""
    server._stop_event = threading.Event()


def set_stop_event(server: Any) -> None:
    server._stop_event.set()


def client_process(client: Any) -> Any:
    """The server subprocess a pygls client started (`start_io`), or None (the benchmark
    reads its memory)."""
    return client._server


def is_suspect(document: Any) -> bool:
    return bool(getattr(document, "suspect", False))


class ProtocolFixes:
    """Mixed into our `LanguageServerProtocol` subclass (see the module docstring)."""

    _request_futures: dict[Any, Any]

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any, args: Any = None, kwargs: Any = None) -> None:
        super()._execute_handler(msg_id, handler, callback, args, kwargs)  # type: ignore[misc]
        replies = isinstance(callback, functools.partial) and getattr(callback.func, "__name__", "") == (
            "_send_handler_result"
        )
        if replies:  # a client request: pygls removes it when it answers
            return
        future = self._request_futures.get(msg_id)
        if future is None:
            return
        futures = self._request_futures
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven without a loop (tests calling handlers directly)
            future.add_done_callback(lambda _done, key=msg_id: futures.pop(key, None))
            return

        def forget(_done: Any, key: Any = msg_id) -> None:
            # Later, on the loop: a future can finish while pygls iterates the table
            # (`shutdown` cancels every future in it), and from a worker thread.
            try:
                loop.call_soon_threadsafe(futures.pop, key, None)
            except RuntimeError:  # the loop is closed: the server is gone
                pass

        future.add_done_callback(forget)

    def _handle_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        future = self._request_futures.get(msg_id)
        if future is not None and future.done():  # we stopped waiting (a timeout): too late
            self._request_futures.pop(msg_id, None)
            log.info("late response to %s ignored", msg_id)
            return
        super()._handle_response(msg_id, result, error)  # type: ignore[misc]

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        data = getattr(error, "data", None)
        if isinstance(data, dict) and "traceback" in data:  # logged by pygls already
            error = t.ResponseError(code=error.code, message=error.message)
        super()._send_response(msg_id, result, error)  # type: ignore[misc]

    def pending_futures(self) -> int:
        """Handlers in flight, but for the request being answered (if any)."""
        current = getattr(self, "msg_id", None)
        return sum(1 for key in list(self._request_futures) if key != current)
