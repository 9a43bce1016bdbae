"""The protocol under abuse (issue 18, item 5): every request gets an answer, errors carry
no Python traceback, a slow client's settings are used when they come, and a new
interpreter is used without a restart. A real server process over stdio with hand-made
framing (nnlint.server.soak.Wire)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from nnlint.server.soak import TEXT, Wire

METHOD_NOT_FOUND, INVALID_REQUEST = -32601, -32600


@pytest.fixture
def wire():
    server = Wire()
    server.initialize(None)
    yield server
    server.close()


def test_a_request_nested_a_hundred_thousand_levels_deep_is_answered(wire: Wire) -> None:
    body = b'{"jsonrpc":"2.0","id":77,"method":"textDocument/hover","params":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    wire.send_bytes(body)
    answer = wire.response(77, timeout=10)
    assert answer is not None, "no answer: the client would wait for ever"
    assert answer["error"]["code"] == INVALID_REQUEST and "nested too deeply" in answer["error"]["message"]
    nested_id_last = b'{"jsonrpc":"2.0","method":"x","params":' + b"{\"a\":" * 50_000 + b"1" + b"}" * 50_000 + b',"id":"late"}'
    wire.send_bytes(nested_id_last)
    assert wire.response("late", timeout=10)["error"]["code"] == INVALID_REQUEST
    assert wire.debug_info()  # still serving


@pytest.mark.parametrize("method", ["$/unknownThing", "$/cancelRequest", "$/setTrace", "textDocument/didOpen", "initialized"])
def test_notifications_and_dollar_methods_sent_as_requests_get_method_not_found(wire: Wire, method: str) -> None:
    params = {"textDocument": {"uri": "file:///x.py", "languageId": "python", "version": 1, "text": "x = 1\n"}, "id": 1}
    answer = wire.call(method, params, timeout=10)
    assert answer is not None, f"{method} with an id got no reply"
    assert answer["error"]["code"] == METHOD_NOT_FOUND


@pytest.mark.parametrize(
    "arguments",
    [[{"textDocument": "file:///x.py"}], [{"uri": 5}], [[1, 2]], [None], [{"textDocument": {"uri": 3}}], []],
)
def test_apply_fix_all_with_a_malformed_argument_answers_without_a_traceback(wire: Wire, arguments: list) -> None:
    answer = wire.call("workspace/executeCommand", {"command": "nnlint.applyFixAll", "arguments": arguments}, timeout=10)
    assert answer is not None and "error" not in answer, answer
    assert answer["result"]["applied"] is False and "expected" in answer["result"]["reason"]


def test_an_internal_error_carries_no_traceback() -> None:
    """A handler that raises answers -32603 with its message; the traceback stays in the log."""
    from nnlint.server.app import create_server

    server = create_server()

    @server.command("test.raise")
    def fail(ls, *args):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    sent: list[bytes] = []
    server.protocol.set_writer(type("W", (), {"write": lambda self, data: sent.append(data), "close": lambda self: None})())
    request = {"jsonrpc": "2.0", "id": 9, "method": "workspace/executeCommand", "params": {"command": "test.raise"}}
    server.protocol.handle_body(json.dumps(request).encode())
    answer = json.loads(sent[-1].split(b"\r\n\r\n", 1)[1])
    assert answer["id"] == 9 and answer["error"]["code"] == -32603 and "boom" in answer["error"]["message"]
    assert "data" not in answer["error"] or "traceback" not in json.dumps(answer["error"]["data"])


def test_a_slow_workspace_configuration_answer_is_used_when_it_comes(tmp_path: Path) -> None:
    asked = threading.Event()

    def answer(request: dict) -> object:
        if request["method"] != "workspace/configuration":
            return None
        asked.set()
        time.sleep(4.0)  # the server waits 3 s, then goes on with its current settings
        return [{"select": ["NN1"], "debounceMs": 7} for _ in request["params"]["items"]]

    log = (tmp_path / "server.log").open("w+")
    wire = Wire(answer=answer, stderr=log)
    try:
        wire.initialize(tmp_path.as_uri(), capabilities={"workspace": {"configuration": True}})
        assert asked.wait(10)
        deadline = time.monotonic() + 15
        while wire.debug_info()["settings"]["global"]["select"] != ["NN1"]:
            assert time.monotonic() < deadline, "the late answer's settings were dropped"
            time.sleep(0.2)
        assert wire.debug_info()["settings"]["global"]["debounce_ms"] == 7
    finally:
        wire.close()
    log.seek(0)
    assert "InvalidStateError" not in log.read()


def test_a_new_interpreter_is_used_without_a_restart(tmp_path: Path) -> None:
    wire = Wire()
    try:
        wire.initialize(tmp_path.as_uri())
        uri = (tmp_path / "model.py").as_uri()
        wire.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}})
        assert wire.debug_info()["crossFileInterpreter"] is None
        wire.notify("workspace/didChangeConfiguration", {"settings": {"nnlint": {"interpreter": sys.executable}}})
        deadline = time.monotonic() + 10
        while wire.debug_info()["crossFileInterpreter"] != sys.executable:
            assert time.monotonic() < deadline, "the new interpreter waits for a restart"
            time.sleep(0.1)
        assert wire.debug_info()["state"]["projectOverlays"] == 1  # the open document is still overlaid
    finally:
        wire.close()


def test_the_interpreter_setting_is_ignored_in_an_untrusted_workspace(tmp_path: Path) -> None:
    wire = Wire()
    try:
        wire.initialize(tmp_path.as_uri(), {"interpreter": sys.executable, "workspaceTrusted": False})
        time.sleep(0.5)
        info = wire.debug_info()
        assert info["crossFileInterpreter"] is None and info["workspaceTrusted"] is False
        messages = [n["params"]["message"] for n in wire.notifications if n["method"] == "window/logMessage"]
        assert any("untrusted workspace" in m for m in messages), messages
    finally:
        wire.close()
    trusted = Wire()
    try:
        trusted.initialize(tmp_path.as_uri(), {"interpreter": sys.executable, "workspaceTrusted": True})
        deadline = time.monotonic() + 10
        while trusted.debug_info()["crossFileInterpreter"] != sys.executable:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        trusted.close()


def test_a_pyproject_nested_too_deeply_is_reported_and_the_project_still_diagnosed(tmp_path: Path) -> None:
    """tomllib's RecursionError escaped: the project was never diagnosed again."""
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nx = " + "[" * 600 + "]" * 600 + "\n", encoding="utf-8")
    wire = Wire()
    try:
        wire.initialize(tmp_path.as_uri())
        uri = (tmp_path / "model.py").as_uri()
        wire.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}})
        deadline = time.monotonic() + 20
        while True:
            published = [
                n["params"] for n in wire.notifications
                if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri
            ]
            if published and published[-1]["diagnostics"]:
                break
            assert time.monotonic() < deadline, "the document is never diagnosed"
            time.sleep(0.1)
        assert [d["code"] for d in published[-1]["diagnostics"]] == ["NN203"]
        messages = [n["params"]["message"] for n in wire.notifications if n["method"] == "window/logMessage"]
        assert any("pyproject.toml" in m and "nested too deeply" in m for m in messages), messages
    finally:
        wire.close()


def test_shutdown_with_handlers_in_flight_and_exit_sent_with_an_id() -> None:
    """`shutdown` answers while notification handlers are in flight (their futures leave
    pygls' table as they finish); notifications sent with an id are refused with -32601,
    but for `exit`: a client that gets it wrong must still be able to stop the server."""
    wire = Wire()
    wire.initialize(None)
    for version in range(2, 50):  # notification handlers in flight while shutdown cancels them
        wire.notify("workspace/didChangeConfiguration", {"settings": {"nnlint": {"debounceMs": version}}})
    answer = wire.call("shutdown", timeout=10)
    assert answer is not None and "error" not in answer, answer  # was "dictionary changed size during iteration"
    wire.send({"jsonrpc": "2.0", "id": 999, "method": "exit", "params": None})
    assert wire.process.wait(timeout=10) == 0
