"""The stdio transport and the protocol's edge cases, hardened.

pygls' own stdio loop loses its framing for good after one bad header (every later message,
`exit` included, is read as garbage), answers nothing to a request whose params do not
validate (the client waits forever), silently drops requests after `shutdown`, exits 0 on
`exit` without `shutdown`, and keeps running when its client is gone. Here:

- `FrameReader` splits the byte stream into messages and resynchronises on the next
  `Content-Length:` header after a bad header, a truncated frame or stray bytes (a header
  line cannot occur inside a JSON body: JSON strings cannot hold a raw CR/LF).
- `Protocol` answers a body that is not JSON with ParseError (id null), a non-request with
  InvalidRequest, a request whose params do not validate with InvalidParams, and requests
  after `shutdown` with InvalidRequest.
- `serve_stdio` reads stdin on a daemon thread (so a blocked read never holds the process
  up), stops on end of input or a broken pipe, and returns the exit code (0 after
  `shutdown`, 1 otherwise).
- `watch_parent` polls the client's `processId` from `initialize` and stops the server when
  that process is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import threading
from typing import Any, BinaryIO, Callable

from lsprotocol import types as t
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

from . import pygls_adapter
from .pygls_adapter import ProtocolFixes

log = logging.getLogger("nnlint.server.transport")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
METHOD_NOT_FOUND = -32601
PARENT_POLL_S = float(os.environ.get("NNLINT_PARENT_POLL_S", "2.0"))
MAX_HEADER_BYTES = 8192

_HEADER = re.compile(rb"content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?\n", re.I)
_HEADER_ANYWHERE = re.compile(rb"content-length[ \t]*:[ \t]*\d+[ \t]*\r?\n", re.I)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")


class FrameReader:
    """Bytes in, (body | None for a broken frame) out. Feed chunks; take complete frames.

    Linear in the bytes fed: a frame's body is scanned once, as its chunks arrive (a
    32 MB didOpen arrives in 512 chunks; scanning it whole for each was quadratic)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._body: tuple[int, int] | None = None  # (start, declared length) of the frame being read
        self._scanned = 0  # how far that body has been searched for a header (a truncated frame)

    def feed(self, data: bytes) -> None:
        self.buffer.extend(data)

    def frames(self) -> list[bytes | None]:
        out: list[bytes | None] = []
        while True:
            frame = self._next()
            if frame is False:
                return out
            out.append(frame)  # type: ignore[arg-type]

    def _next(self) -> bytes | None | bool:
        if self._body is not None:
            return self._read_body(*self._body)
        buf = self.buffer
        match = _HEADER.search(buf)
        if match is None:
            # keep a possible partial header at the end; drop older garbage
            if len(buf) > MAX_HEADER_BYTES:
                garbage = bytes(buf[: len(buf) - MAX_HEADER_BYTES])
                del buf[: len(buf) - MAX_HEADER_BYTES]
                if garbage.strip():
                    log.warning("dropping %d bytes outside any frame", len(garbage))
                    return None
            return False
        if match.start() > 0:
            garbage = bytes(buf[: match.start()])
            del buf[: match.start()]
            if garbage.strip():
                log.warning("dropping %d bytes outside any frame: %r", len(garbage), garbage[:80])
                return None
            return self._next()
        end = _HEADERS_END.search(buf, match.end() - 2)  # the header's own newline may start it
        if end is None:
            if len(buf) > MAX_HEADER_BYTES:  # a header block that never ends
                del buf[: match.end()]
                return None
            return False
        # another Content-Length inside the header block: the first frame was cut short
        again = _HEADER_ANYWHERE.search(buf, match.end(), end.start())
        if again is not None:
            del buf[: again.start()]
            return None
        self._body = (end.end(), int(match.group(1)))
        self._scanned = end.end()
        return self._read_body(*self._body)

    def _read_body(self, body_start: int, length: int) -> bytes | None | bool:
        buf = self.buffer
        # a header line inside the body: the frame was truncated (JSON cannot contain one);
        # look a little past the declared end for a header that straddles it. Only the
        # bytes that arrived since the last look are searched (with a header's overlap).
        limit = min(len(buf), body_start + length + 64)
        cut = _HEADER_ANYWHERE.search(buf, max(body_start, self._scanned - 64), limit)
        self._scanned = limit
        if cut is not None and cut.start() - body_start < length:
            log.warning("truncated frame (declared %d bytes, got %d)", length, cut.start() - body_start)
            del buf[: cut.start()]
            self._body = None
            return None
        if len(buf) - body_start < length:
            return False
        body = bytes(buf[body_start : body_start + length])
        del buf[: body_start + length]
        self._body = None
        return body


class Protocol(ProtocolFixes, LanguageServerProtocol):
    """pygls' protocol, answering every request it cannot handle."""

    def send_error(self, msg_id: Any, code: int, message: str) -> None:
        pygls_adapter.send_raw(self, {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def handle_body(self, body: bytes | None) -> None:
        if body is None:
            self.send_error(None, PARSE_ERROR, "Parse error: malformed frame")
            return
        try:
            data = json.loads(body)
        except RecursionError:
            # valid JSON nested deeper than the parser goes: answer the request (its id
            # is read by a flat scan), or the client waits for ever
            msg_id = top_level_id(body)
            log.warning("a message nested too deeply (id %r) was refused", msg_id)
            self.send_error(msg_id, INVALID_REQUEST, "Invalid Request: nested too deeply")
            return
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("malformed JSON body: %s", exc)
            self.send_error(None, PARSE_ERROR, f"Parse error: {exc}")
            return
        msg_id = data.get("id") if isinstance(data, dict) else None
        is_request = isinstance(data, dict) and "method" in data and "id" in data
        if (
            not isinstance(data, dict)
            or data.get("jsonrpc") != self.VERSION
            or not isinstance(data.get("method", ""), str)
            or not isinstance(msg_id, (int, str, type(None)))
            or ("method" not in data and "id" not in data)
        ):
            log.warning("invalid JSON-RPC message: %r", body[:200])
            if isinstance(data, dict) and "method" not in data:
                return  # a malformed response: nobody to answer
            self.send_error(msg_id if is_request else None, INVALID_REQUEST, "Invalid Request")
            return
        if is_request and data["method"] != t.EXIT and self.is_notification_method(data["method"]):
            # a notification sent with an id (didOpen, $/cancelRequest...): there is no
            # request of that name; answer, or the client waits for ever. Not handled:
            # the error tells the client nothing was done.
            self.send_error(msg_id, METHOD_NOT_FOUND, f"{data['method']} is a notification, not a request")
            return
        try:
            message = self._structure(data)
        except RecursionError:
            self.send_error(msg_id if is_request else None, INVALID_PARAMS, "Invalid params: nested too deeply")
            return
        except JsonRpcException as exc:
            if is_request:
                code = INVALID_PARAMS if isinstance(exc, JsonRpcInvalidParams) else exc.code
                self.send_error(msg_id, code, f"{data['method']}: invalid params")
            else:
                log.warning("dropping %s with invalid params", data.get("method") or "a response")
            return
        if pygls_adapter.is_shut_down(self) and is_request and data["method"] != t.EXIT:
            self.send_error(msg_id, INVALID_REQUEST, "the server is shut down")
            return
        self.handle_message(message)

    def is_notification_method(self, method: str) -> bool:
        """A method LSP defines as a notification (its message type has no id)."""
        message_type = self.get_message_type(method)
        fields = getattr(message_type, "__attrs_attrs__", None)
        return fields is not None and not any(f.name == "id" for f in fields)

    def _structure(self, data: Any) -> Any:
        """As pygls' object hook would, bottom-up (nested objects are plain dicts either way)."""
        return self.structure_message(data)


def top_level_id(body: bytes) -> int | str | None:
    """The `id` of a JSON object read by one flat pass (no recursion): for a message too
    deeply nested for the JSON parser. None if there is none (or it is not a number or
    string)."""
    depth, index, size = 0, 0, len(body)
    key_pending = False  # at depth 1: the last string read was a key ("id")
    while index < size:
        char = body[index]
        if char == 0x22:  # a string
            end = index + 1
            while end < size and body[end] != 0x22:
                end += 2 if body[end] == 0x5C else 1
            if depth == 1:
                after = body[end + 1 :].lstrip()
                if after[:1] == b":":
                    key_pending = body[index + 1 : end] == b"id"
                elif key_pending:
                    try:
                        return json.loads(body[index : end + 1])
                    except ValueError:
                        return None
            index = end + 1
            continue
        if char in b"[{":
            depth += 1
        elif char in b"]}":
            depth -= 1
        elif depth == 1 and key_pending and char in b"-0123456789":
            match = re.match(rb"-?\d+", body[index:index + 40])
            return int(match.group()) if match else None
        elif depth == 1 and key_pending and char in b"ntf":  # null, true, false: not an id
            return None
        index += 1
    return None


class _Writer:
    """stdout with pygls' writer interface; a closed pipe stops the server."""

    def __init__(self, stdout: BinaryIO, on_broken: Callable[[], None]) -> None:
        self.stdout = stdout
        self.on_broken = on_broken
        self.broken = False

    def close(self) -> None:
        try:
            self.stdout.close()
        except OSError:
            pass

    def write(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            self.stdout.write(data)
            self.stdout.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.broken = True
            self.on_broken()


def serve_stdio(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Run `server` (whose protocol is a `Protocol`) over stdio until `exit`, end of input, a
    broken pipe or the client's death. Returns the process exit code."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    protocol: Protocol = server.protocol
    pygls_adapter.reset_stop_event(server)
    outcome: dict[str, int] = {}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        chunks: asyncio.Queue[bytes] = asyncio.Queue()

        def stop(code: int | None = None) -> None:
            if code is not None:
                outcome.setdefault("code", code)
            if not done.done():
                done.set_result(None)

        def stop_soon(code: int | None = None) -> None:  # from any thread
            try:
                loop.call_soon_threadsafe(stop, code)
            except RuntimeError:  # the loop is already closed
                pass

        server.stop_serving = stop_soon
        protocol.set_writer(_Writer(stdout, stop_soon))

        def read() -> None:  # daemon thread: a blocked read never keeps the process alive
            fd = stdin.fileno()
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    data = b""
                loop.call_soon_threadsafe(chunks.put_nowait, data)
                if not data:
                    return

        threading.Thread(target=read, name="nnlint-stdin", daemon=True).start()
        frames = FrameReader()

        async def pump() -> None:
            while True:
                data = await chunks.get()
                if not data:
                    log.info("end of input: the client is gone")
                    stop()
                    return
                frames.feed(data)
                # Every message already received is handled before the loop runs anything
                # else: a burst of edits then cancels its own analyses before they start,
                # and only the last one is analysed.
                for body in frames.frames():
                    try:
                        protocol.handle_body(body)
                    except SystemExit as exc:  # pygls' `exit` handler
                        stop(exc.code if isinstance(exc.code, int) else 0)
                        return
                    except Exception:  # noqa: BLE001 - one bad message never ends the server
                        log.exception("unable to handle a message")
                    if done.done():
                        return
                await asyncio.sleep(0)  # then let the loop breathe (queue.get does not yield)

        pumping = asyncio.ensure_future(pump())
        await done
        pumping.cancel()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        pygls_adapter.set_stop_event(server)
        on_stop = getattr(server, "on_stop", None)
        if on_stop is not None:
            on_stop()
    return outcome.get("code", 0 if pygls_adapter.is_shut_down(protocol) else 1)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    try:  # a dead parent not yet reaped is a zombie: gone for our purposes
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def watch_parent(pid: int | None, on_gone: Callable[[], None], interval_s: float = PARENT_POLL_S) -> bool:
    """Poll `pid` every `interval_s` on a daemon thread; call `on_gone` once it has died.
    Not watched (False) when absent or already dead at initialize (another PID namespace)."""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    if not process_alive(pid):
        log.warning("the client's processId %s is not a process here; not watching it", pid)
        return False

    def poll() -> None:
        stop = threading.Event()
        while not stop.wait(interval_s):
            if not process_alive(pid):
                log.warning("the client process %s is gone: exiting", pid)
                on_gone()
                if not stop.wait(10.0):  # the graceful stop is stuck: leave anyway
                    os._exit(1)
                return

    threading.Thread(target=poll, name="nnlint-parent-watch", daemon=True).start()
    return True
