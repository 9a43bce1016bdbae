"""The wire, abused: malformed frames and JSON, unknown and invalid messages, over stdio
with hand-made Content-Length framing. After each, the server answers a normal request."""

from __future__ import annotations

import json

import pytest
from lsp_helpers import RawServer

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602


@pytest.fixture(scope="module")
def raw():
    server = RawServer()
    server.initialize()
    yield server
    server.close()


def error_code(message: dict | None) -> int | None:
    assert message is not None, "no answer"
    return (message.get("error") or {}).get("code")


def null_id_error(raw: RawServer) -> int | None:
    found = raw.wait(lambda m: "error" in m and m.get("id") is None, timeout=5)
    return error_code(found)


def test_body_that_is_not_json(raw: RawServer) -> None:
    raw.write(b"Content-Length: 10\r\n\r\n{not json}")
    assert null_id_error(raw) == PARSE_ERROR
    assert raw.serving()


def test_body_that_is_not_utf8(raw: RawServer) -> None:
    raw.write(b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc")
    assert null_id_error(raw) == PARSE_ERROR
    assert raw.serving()


def test_bad_content_length_header_resynchronises(raw: RawServer) -> None:
    raw.write(b"Content-Length: abc\r\n\r\n{}")
    assert raw.serving()  # pygls' own loop lost every later message here
    assert raw.serving()


def test_missing_header(raw: RawServer) -> None:
    raw.write(b'\r\n{"jsonrpc": "2.0", "id": 999, "method": "textDocument/hover"}')
    assert raw.serving()


def test_truncated_frame_followed_by_a_request(raw: RawServer) -> None:
    raw.write(b'Content-Length: 100\r\n\r\n{"jsonrpc":"2.0"')  # 16 of 100 bytes
    assert raw.serving()
    assert null_id_error_seen(raw)


def null_id_error_seen(raw: RawServer) -> bool:
    return any("error" in m and m.get("id") is None and error_code(m) == PARSE_ERROR for m in raw.received)


def test_truncated_frame_whose_next_header_straddles_the_declared_end(raw: RawServer) -> None:
    frame = raw.frame({"jsonrpc": "2.0", "id": 4242, "method": "textDocument/hover", "params": None})
    raw.write(b"Content-Length: 20\r\n\r\n{\"jsonrpc\":\"2.0\"" + frame)
    assert raw.response(4242) is not None
    assert raw.serving()


def test_garbage_between_frames(raw: RawServer) -> None:
    raw.write(b"hello there\r\n\r\n\x00\x01 garbage")
    assert raw.serving()


def test_many_messages_in_one_write_and_one_message_byte_by_byte(raw: RawServer) -> None:
    ids = [raw.next_id + i for i in range(20)]
    raw.next_id += 20
    frames = b"".join(
        raw.frame(
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "textDocument/hover",
                "params": {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}},
            }
        )
        for i in ids
    )
    raw.write(frames)
    for i in ids:
        assert raw.response(i) is not None
    msg_id = raw.next_id
    raw.next_id += 1
    one = raw.frame(
        {
            "jsonrpc": "2.0",
            "id": msg_id,
            "method": "textDocument/hover",
            "params": {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}},
        }
    )
    for byte in one:
        raw.write(bytes([byte]))
    assert raw.response(msg_id) is not None


def test_headers_with_content_type_and_any_case(raw: RawServer) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 777, "method": "textDocument/hover", "params": {
        "textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}}).encode()
    raw.write(
        b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(body) + body
    )
    reply = raw.response(777)
    assert reply is not None and reply["result"] is None


@pytest.mark.parametrize("body", [b"[1, 2]", b"42", b'"text"', b"null", b'{"id": 5, "method": "textDocument/hover"}'])
def test_json_that_is_not_a_jsonrpc_message(raw: RawServer, body: bytes) -> None:
    raw.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    reply = raw.wait(lambda m: "error" in m, timeout=5)
    assert error_code(reply) == INVALID_REQUEST
    assert raw.serving()


def test_unknown_request_gets_method_not_found(raw: RawServer) -> None:
    assert error_code(raw.call("nnlint/noSuchMethod", {})) == METHOD_NOT_FOUND
    assert error_code(raw.call("$/noSuchRequest", {})) == METHOD_NOT_FOUND
    assert raw.serving()


def test_unknown_notifications_are_ignored(raw: RawServer) -> None:
    before = len(raw.received)
    raw.notify("nnlint/noSuchNotification", {"x": 1})
    raw.notify("$/noSuchNotification", {})
    raw.notify("$/cancelRequest", {"id": 123456})  # a request that does not exist
    raw.notify("$/setTrace", {"value": "verbose"})
    assert raw.serving()
    answered = raw.received[before:]
    assert all(m.get("id") is not None for m in answered if "error" in m), answered  # no error for a notification


def test_request_with_invalid_params_is_answered(raw: RawServer) -> None:
    reply = raw.call(
        "textDocument/hover", {"textDocument": {"uri": "file:///x.py"}, "position": {"line": -1, "character": 0}}
    )
    assert error_code(reply) == INVALID_PARAMS
    reply = raw.call("textDocument/codeAction", {"textDocument": {"uri": "file:///x.py"}})
    assert error_code(reply) == INVALID_PARAMS
    assert raw.serving()


def test_notification_with_invalid_params_is_dropped(raw: RawServer) -> None:
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": 5}})
    raw.notify("textDocument/didChange", {"textDocument": {"uri": "file:///nowhere.py", "version": 2}, "contentChanges": [{"text": "x"}]})
    raw.notify("textDocument/didClose", {"textDocument": {"uri": "file:///nowhere.py"}})
    assert raw.serving()
