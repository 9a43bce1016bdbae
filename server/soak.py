"""Soak and abuse measurements of a real server process over stdio (issue 18):

- `memory_soak`: RSS and pygls' futures table over N incremental edits and M open/close
  cycles (a language server lives all day: both must stay flat);
- `frame_curve`: how long the server takes to answer a request queued behind one
  didOpen frame of growing size (reading frames must be linear).

Used by tests/server/test_soak.py and `python -m nnlint.reliability`. The client here is
a few lines of hand-made framing (`Wire`), so that a frame of any size, or any nesting,
can be sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from nnlint.fixcheck import FLAGGED

SERVER = [sys.executable, "-I", "-m", "nnlint", "server"]
TEXT = FLAGGED  # a module with one NN203 finding (the self-check's own sample)


def read_message(stream: Any) -> dict[str, Any] | None:
    """The next JSON-RPC message on a blocking byte stream (`Content-Length` framing, other
    headers ignored), or None at the end of the stream. A client's simple reader: the
    server's own is `transport.FrameReader`."""
    while True:
        length = None
        while True:
            line = stream.readline()
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is not None:
            return json.loads(stream.read(length))

class Wire:
    """A server process and a reader thread collecting its messages."""

    def __init__(
        self,
        env: dict[str, str] | None = None,
        answer: "Callable[[dict[str, Any]], Any] | None" = None,
        stderr: Any = subprocess.DEVNULL,
    ) -> None:
        """`answer(request)`: the result for a request from the server (None by default);
        it runs on its own thread, so it may take its time."""
        self.process = subprocess.Popen(
            SERVER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
        self.answer = answer or (lambda request: None)
        self.notifications: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.messages: dict[Any, dict[str, Any]] = {}
        self.condition = threading.Condition()
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            message = read_message(stream)
            if message is None:
                return
            if "method" in message and "id" in message:  # a server request
                threading.Thread(target=self._answer, args=(message,), daemon=True).start()
                continue
            if "method" in message:
                self.notifications.append(message)
                continue
            if "id" in message:
                with self.condition:
                    self.messages[message["id"]] = message
                    self.condition.notify_all()

    def _answer(self, request: dict[str, Any]) -> None:
        self.send({"jsonrpc": "2.0", "id": request["id"], "result": self.answer(request)})

    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        with self.lock:  # the reader's answers and the test's messages never interleave
            self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.process.stdin.flush()

    def send(self, message: Any) -> None:
        self.send_bytes(json.dumps(message).encode("utf-8"))

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None) -> int:
        msg_id = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def response(self, msg_id: Any, timeout: float = 60.0) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        with self.condition:
            while msg_id not in self.messages:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    return None
                self.condition.wait(min(left, 0.5))
            return self.messages.pop(msg_id)

    def call(self, method: str, params: Any = None, timeout: float = 60.0) -> dict[str, Any] | None:
        return self.response(self.request(method, params), timeout)

    def initialize(self, root_uri: str | None = None, options: Any = None, capabilities: Any = None) -> None:
        answer = self.call(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": root_uri,
                "capabilities": capabilities or {},
                "initializationOptions": options,
            },
        )
        assert answer is not None and "result" in answer, answer
        self.notify("initialized", {})

    def debug_info(self) -> dict[str, Any]:
        answer = self.call("workspace/executeCommand", {"command": "nnlint.debugInfo", "arguments": []})
        assert answer is not None and "result" in answer, answer
        return answer["result"]

    def rss_kib(self) -> int:
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def close(self) -> None:
        try:
            self.call("shutdown", timeout=10)
            self.notify("exit", None)
            self.process.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


@dataclass
class Soak:
    edits: int = 0
    cycles: int = 0
    rss_edits_kib: tuple[int, int] = (0, 0)  # after the warm-up, after the edits
    rss_cycles_kib: tuple[int, int] = (0, 0)
    futures_after_edits: int = -1
    futures_after_cycles: int = -1
    notes: list[str] = field(default_factory=list)

    @property
    def edit_growth_kib(self) -> int:
        return self.rss_edits_kib[1] - self.rss_edits_kib[0]

    @property
    def cycle_growth_kib(self) -> int:
        return self.rss_cycles_kib[1] - self.rss_cycles_kib[0]


def _settle(wire: Wire, seconds: float = 1.6) -> dict[str, Any]:
    """Every message so far handled (a request answered after them), then the server's
    deferred release of memory (a second after the last close)."""
    wire.debug_info()
    time.sleep(seconds)
    return wire.debug_info()


def _edit(wire: Wire, uri: str, version: int) -> None:
    # type one character, then delete it: the text returns to what it was
    line, character = 6, 8
    if version % 2 == 0:
        change = {"range": _range(line, character, line, character), "text": "y"}
    else:
        change = {"range": _range(line, character, line, character + 1), "text": ""}
    wire.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})


def _range(a: int, b: int, c: int, d: int) -> dict[str, Any]:
    return {"start": {"line": a, "character": b}, "end": {"line": c, "character": d}}


def memory_soak(edits: int = 10_000, cycles: int = 1_000, warm_edits: int = 2_000, warm_cycles: int = 200) -> Soak:
    """RSS of a server over `edits` didChange (after `warm_edits`) and `cycles`
    didOpen/didChange/didClose (after `warm_cycles`), and its futures table after each."""
    import tempfile
    from pathlib import Path

    soak = Soak(edits=edits, cycles=cycles)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        wire = Wire()
        try:
            wire.initialize(root.as_uri(), {"debounceMs": 50})
            uri = (root / "edited.py").as_uri()
            wire.notify(
                "textDocument/didOpen",
                {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}},
            )
            version = 1
            for count in (warm_edits, edits):
                for _ in range(count):
                    version += 1
                    _edit(wire, uri, version)
                    if version % 500 == 0:
                        wire.debug_info()  # a client paces itself on answers
                info = _settle(wire)
                if count == warm_edits:
                    start = wire.rss_kib()
                else:
                    soak.rss_edits_kib = (start, wire.rss_kib())
                    soak.futures_after_edits = info["state"].get("requestFutures", -1)
            wire.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
            serial = 0
            for count in (warm_cycles, cycles):
                for _ in range(count):
                    serial += 1
                    cycle_uri = (root / f"cycle{serial}.py").as_uri()
                    text = TEXT + f"\nVALUE_{serial} = {serial}\n"
                    wire.notify(
                        "textDocument/didOpen",
                        {"textDocument": {"uri": cycle_uri, "languageId": "python", "version": 1, "text": text}},
                    )
                    _edit(wire, cycle_uri, 2)
                    wire.call("textDocument/hover", {"textDocument": {"uri": cycle_uri}, "position": {"line": 6, "character": 18}})
                    wire.notify("textDocument/didClose", {"textDocument": {"uri": cycle_uri}})
                info = _settle(wire)
                if count == warm_cycles:
                    start = wire.rss_kib()
                else:
                    soak.rss_cycles_kib = (start, wire.rss_kib())
                    soak.futures_after_cycles = info["state"].get("requestFutures", -1)
        finally:
            wire.close()
    return soak


def frame_curve(sizes_mb: tuple[int, ...] = (1, 2, 4, 8, 16)) -> list[tuple[int, float]]:
    """[(MB, seconds)]: a didOpen of that many MB, then a request; the time until the
    request is answered (reading the frame, then the request behind it)."""
    curve = []
    wire = Wire()
    try:
        wire.initialize(None, {"enable": False})  # measure the transport, not the analysis
        for size in sizes_mb:
            line = "x = 1  # " + "a" * 70 + "\n"
            text = line * (size * 1024 * 1024 // len(line))
            body = json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "textDocument/didOpen",
                    "params": {
                        "textDocument": {"uri": f"file:///big{size}.py", "languageId": "python", "version": 1, "text": text}
                    },
                }
            ).encode()
            started = time.perf_counter()
            wire.send_bytes(body)
            answer = wire.call("workspace/executeCommand", {"command": "nnlint.debugInfo", "arguments": []}, timeout=300)
            curve.append((size, time.perf_counter() - started))
            assert answer is not None
            wire.notify("textDocument/didClose", {"textDocument": {"uri": f"file:///big{size}.py"}})
    finally:
        wire.close()
    return curve
