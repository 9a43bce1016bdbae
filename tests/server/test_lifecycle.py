"""Stale results under a burst of edits with no debounce, responsiveness during analysis,
and a clean shutdown/exit."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, RawServer, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient

FIXED = "p=0.5, training=self.training)"


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options={"debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def test_no_stale_version_is_published_under_a_burst_of_50_edits(client: LanguageClient) -> None:
    """Odd versions have the bug, even versions are fixed. Every publish must carry the
    diagnostics of its own version, versions only go up, and the last one is published."""
    # a long file so that analyses are still running when the next edit arrives
    text = BUGGY + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(400))
    doc = ClientDoc(client, (client.root / "burst.py").as_uri(), text).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(published(client, doc.uri))
    for _ in range(50):
        if doc.version % 2:
            doc.replace("p=0.5)", FIXED)
        else:
            doc.replace(FIXED, "p=0.5)")
        await asyncio.sleep(0.002)
    assert doc.version == 51
    await wait_diagnostics(client, doc.uri, version=51, after=before)
    burst = published(client, doc.uri)[before:]
    versions = [p.version for p in burst]
    assert versions == sorted(set(versions)) and versions[-1] == 51
    for params in burst:
        expected = ["NN203"] if params.version % 2 else []
        assert [d.code for d in params.diagnostics] == expected, params.version
    doc.close()


async def test_hover_answers_while_analysis_runs(client: LanguageClient) -> None:
    text = BUGGY + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(3000))
    doc = ClientDoc(client, (client.root / "big.py").as_uri(), text).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(published(client, doc.uri))
    doc.insert(t.Position(0, 0), "# edit\n")  # starts an analysis of ~12k lines
    await asyncio.sleep(0.05)
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 2))
    )
    answered = time.monotonic()
    assert hover is not None and "NN203" in hover.contents.value
    assert len(published(client, doc.uri)) == before, "the hover waited for the analysis"
    await wait_diagnostics(client, doc.uri, version=2)
    published_at = next(at for at, p in client.published if p.uri == doc.uri and p.version == 2)  # type: ignore[attr-defined]
    assert answered < published_at
    doc.close()


async def test_shutdown_then_exit(client: LanguageClient) -> None:
    result = await client.shutdown_async(None)
    assert result is None
    client.exit(None)
    server = client._server
    assert server is not None
    code = await asyncio.wait_for(server.wait(), 10)
    assert code == 0
    client.capabilities = None  # already shut down: the fixture must not do it again


# ------------------------------------------------------------ protocol over raw stdio
def _raw_with_document(env: dict[str, str] | None = None, process_id: int | None = None) -> RawServer:
    raw = RawServer(env=env)
    raw.initialize(process_id=process_id, options={"debounceMs": 0})
    raw.notify(
        t.TEXT_DOCUMENT_DID_OPEN,
        {"textDocument": {"uri": "file:///tmp/lifecycle.py", "languageId": "python", "version": 1, "text": BUGGY}},
    )
    found = raw.wait(lambda m: m.get("method") == t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert found is not None
    return raw


def test_requests_after_shutdown_get_invalid_request_and_exit_code_0() -> None:
    raw = _raw_with_document()
    try:
        assert raw.call(t.SHUTDOWN)["result"] is None  # type: ignore[index]
        reply = raw.hover("file:///tmp/lifecycle.py", 10, 12)
        assert reply is not None and reply["error"]["code"] == -32600
        raw.notify(t.EXIT)
        assert raw.process.wait(10) == 0
    finally:
        raw.close()


def test_exit_without_shutdown_gives_exit_code_1() -> None:
    raw = _raw_with_document()
    try:
        raw.notify(t.EXIT)
        assert raw.process.wait(10) == 1
    finally:
        raw.close()


def test_the_server_exits_when_stdin_closes() -> None:
    raw = _raw_with_document()
    try:
        started = time.monotonic()
        raw.process.stdin.close()  # type: ignore[union-attr]
        code = raw.process.wait(10)
        print(f"exited {time.monotonic() - started:.2f} s after stdin closed, code {code}")
        assert code == 1  # no shutdown was asked for
    finally:
        raw.close()


def test_the_server_exits_when_its_client_process_dies() -> None:
    """The client (an intermediate process) dies while the server's stdin stays open (held
    by this test): the server notices through `processId` and exits."""
    import os
    import signal
    import subprocess
    import sys

    from lsp_helpers import SERVER

    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    launcher = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen({SERVER!r}, stdin={stdin_r}, stdout={stdout_w}, pass_fds=({stdin_r}, {stdout_w}),"
        " stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    env = {**os.environ, "NNLINT_PARENT_POLL_S": "0.3"}
    client = subprocess.Popen(
        [sys.executable, "-c", launcher], stdout=subprocess.PIPE, pass_fds=(stdin_r, stdout_w), env=env
    )
    os.close(stdin_r)
    os.close(stdout_w)
    server_pid = int(client.stdout.readline())  # type: ignore[union-attr]
    raw = RawServer.__new__(RawServer)
    raw.buffer, raw.next_id, raw.received = b"", 1, []
    raw.process = type("P", (), {"stdin": os.fdopen(stdin_w, "wb"), "stdout": os.fdopen(stdout_r, "rb")})()
    try:
        raw.initialize(process_id=client.pid)
        assert raw.serving()
        os.kill(client.pid, signal.SIGKILL)
        client.wait(10)
        started = time.monotonic()
        from nnlint.server.transport import process_alive

        while process_alive(server_pid) and time.monotonic() - started < 15:
            time.sleep(0.05)
        gone_after = time.monotonic() - started
        print(f"server exited {gone_after:.2f} s after its client was killed (poll 0.3 s)")
        assert not process_alive(server_pid), "the server outlived its client"
        assert gone_after < 5
    finally:
        if process_alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
        if client.poll() is None:
            client.kill()
        raw.process.stdin.close()
        raw.process.stdout.close()
        client.stdout.close()  # type: ignore[union-attr]


def test_exit_is_prompt_while_a_long_analysis_runs() -> None:
    raw = _raw_with_document()
    try:
        text = BUGGY + "".join(f"\n\ndef helper_{i}(x):\n    return x + {i}\n" for i in range(4000))
        raw.notify(
            t.TEXT_DOCUMENT_DID_OPEN,
            {"textDocument": {"uri": "file:///tmp/long.py", "languageId": "python", "version": 1, "text": text}},
        )
        time.sleep(0.1)
        assert raw.call(t.SHUTDOWN) is not None
        started = time.monotonic()
        raw.notify(t.EXIT)
        assert raw.process.wait(10) == 0
        print(f"exit took {time.monotonic() - started:.2f} s")
        assert time.monotonic() - started < 5
    finally:
        raw.close()
