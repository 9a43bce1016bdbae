"""Helpers for the language-server suites (pytest-lsp over stdio).

`make_client` records every publishDiagnostics (with its version and arrival time) and
answers workspace/applyEdit; `ClientDoc` is the client's copy of a document: it applies
edits the way an editor does (through pygls' codec in the negotiated encoding) and sends
them as incremental changes.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.workspace.position_codec import PositionCodec
from pygls.workspace.text_document import TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import make_test_lsp_client

SERVER = [sys.executable, "-m", "nnlint", "server"]

BUGGY = """\
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = F.dropout(self.fc(x), p=0.5)
        return x
"""
CALL = "F.dropout(self.fc(x), p=0.5)"


def make_client() -> LanguageClient:
    client = make_test_lsp_client()
    client.published = []  # type: ignore[attr-defined]
    client.applied_edits = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]
    features = client.protocol.fm._features
    original = features[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS]

    def record(params: t.PublishDiagnosticsParams) -> None:
        client.published.append((time.monotonic(), params))  # type: ignore[attr-defined]
        original(params)

    features[t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record

    @client.feature(t.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: t.ApplyWorkspaceEditParams) -> t.ApplyWorkspaceEditResult:
        client.applied_edits.append(params)  # type: ignore[attr-defined]
        return t.ApplyWorkspaceEditResult(applied=True)

    @client.feature(t.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: t.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    return client


CONFIG = ClientServerConfig(server_command=SERVER, client_factory=make_client)


def capabilities(encodings: list[str] | None = None, pull: bool = False) -> t.ClientCapabilities:
    """VS Code's capabilities (push diagnostics, configuration, dynamic file watching),
    optionally with position encodings and pull diagnostics."""
    caps = client_capabilities("visual-studio-code")
    if encodings is not None:
        caps.general = t.GeneralClientCapabilities(position_encodings=encodings)
    if pull:
        caps.text_document.diagnostic = t.DiagnosticClientCapabilities(
            dynamic_registration=False, related_document_support=False
        )
    return caps


async def initialize(
    client: LanguageClient,
    root: Path | None = None,
    caps: t.ClientCapabilities | None = None,
    options: Any = None,
    locale: str | None = None,
    folders: list[Path] | None = None,
) -> t.InitializeResult:
    return await client.initialize_session(
        t.InitializeParams(
            capabilities=caps or capabilities(),
            root_uri=root.as_uri() if root else None,
            workspace_folders=[t.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders or []] or None,
            initialization_options=options,
            locale=locale,
        )
    )


def published(client: LanguageClient, uri: str) -> list[t.PublishDiagnosticsParams]:
    return [p for _, p in client.published if p.uri == uri]  # type: ignore[attr-defined]


async def wait_diagnostics(
    client: LanguageClient, uri: str, version: int | None = None, timeout: float = 10.0, after: int = 0
) -> list[t.Diagnostic]:
    """The diagnostics published for `uri` (at `version`, if given), waiting up to `timeout`.
    `after`: only publishes beyond this count for the uri."""
    deadline = time.monotonic() + timeout
    while True:
        for params in reversed(published(client, uri)[after:]):
            if version is None or params.version == version:
                return list(params.diagnostics)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no diagnostics for {uri} version {version}; got {[p.version for p in published(client, uri)]}"
            )
        await asyncio.sleep(0.01)


def comparable(diagnostics: list[t.Diagnostic]) -> list[Any]:
    """A document's diagnostics without what names the document and its version, sorted:
    what a live buffer and a fresh open of the same text must agree on."""
    out = []
    for d in diagnostics:
        related = [(r.location.range, r.message) for r in d.related_information or []]
        data = dict(d.data or {})
        data.pop("version", None)
        out.append((d.range, d.code, d.message, d.severity, related, data))
    return sorted(out, key=repr)


async def fresh_diagnostics(client: LanguageClient, folder: Path, text: str, serial: int) -> list[Any]:
    """`comparable` diagnostics of `text` opened as a new document in `folder` (a full
    analysis), which is closed again."""
    fresh = ClientDoc(client, (folder / f"fresh_{serial}.py").as_uri(), text).open()
    diagnostics = await wait_diagnostics(client, fresh.uri, version=1, timeout=30)
    fresh.close()
    return comparable(diagnostics)


class ClientDoc:
    """The client's copy of an open document."""

    def __init__(self, client: LanguageClient, uri: str, text: str, encoding: str = "utf-16") -> None:
        self.client = client
        self.uri = uri
        self.version = 1
        self.codec = PositionCodec(encoding)
        self.doc = TextDocument(uri, text, version=1, position_codec=self.codec)

    @property
    def text(self) -> str:
        return self.doc.source

    @property
    def ident(self) -> t.TextDocumentIdentifier:
        return t.TextDocumentIdentifier(uri=self.uri)

    def open(self) -> "ClientDoc":
        self.client.text_document_did_open(
            t.DidOpenTextDocumentParams(
                text_document=t.TextDocumentItem(uri=self.uri, language_id="python", version=1, text=self.text)
            )
        )
        return self

    def close(self) -> None:
        self.client.text_document_did_close(t.DidCloseTextDocumentParams(text_document=self.ident))

    def save(self) -> None:
        self.client.text_document_did_save(t.DidSaveTextDocumentParams(text_document=self.ident))

    def position(self, needle: str, offset: int = 0, occurrence: int = 0) -> t.Position:
        """Client-unit position of `needle` (+ offset code points) in the text."""
        index = -1
        for _ in range(occurrence + 1):
            index = self.text.index(needle, index + 1)
        index += offset
        return self.doc.client_position_at_offset(index)

    def range_of(self, needle: str, occurrence: int = 0) -> t.Range:
        start = self.position(needle, occurrence=occurrence)
        end = self.position(needle, len(needle), occurrence=occurrence)
        return t.Range(start=start, end=end)

    def apply(self, edits: list[t.TextEdit]) -> None:
        """Apply edits as an editor does and send them as one incremental didChange."""
        ordered = sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True)
        changes = []
        for edit in ordered:
            change = t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
            self.doc.apply_change(change)
            changes.append(change)
        self.version += 1
        self.client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
                content_changes=changes,
            )
        )

    def replace(self, needle: str, new_text: str, occurrence: int = 0) -> None:
        self.apply([t.TextEdit(range=self.range_of(needle, occurrence), new_text=new_text)])

    def insert(self, position: t.Position, new_text: str) -> None:
        self.apply([t.TextEdit(range=t.Range(start=position, end=position), new_text=new_text)])

    def apply_workspace_edit(self, edit: t.WorkspaceEdit) -> None:
        edits: list[t.TextEdit] = []
        for uri, text_edits in (edit.changes or {}).items():
            assert uri == self.uri
            edits.extend(text_edits)
        for change in edit.document_changes or []:
            assert isinstance(change, t.TextDocumentEdit) and change.text_document.uri == self.uri
            assert change.text_document.version in (None, self.version), "edit for an older version"
            edits.extend(change.edits)  # type: ignore[arg-type]
        self.apply(edits)


def line_range(text: str, needle: str) -> tuple[int, int]:
    """(0-based line, code-point column) of `needle` in text."""
    index = text.index(needle)
    before = text[:index]
    line = before.count("\n")
    return line, index - (before.rfind("\n") + 1)


class RawServer:
    """The server over stdio with hand-made framing, for what a well-behaved client cannot
    send (bad headers, truncated frames, invalid JSON). Server requests (configuration,
    registrations) are answered with null results."""

    def __init__(self, env: dict[str, str] | None = None, **popen: Any) -> None:
        import os
        import subprocess

        self.process = subprocess.Popen(
            SERVER,
            stdin=popen.pop("stdin", subprocess.PIPE),
            stdout=popen.pop("stdout", subprocess.PIPE),
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            **popen,
        )
        self.buffer = b""
        self.next_id = 1
        self.received: list[dict[str, Any]] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    @staticmethod
    def frame(message: Any) -> bytes:
        import json

        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    def send(self, message: Any) -> None:
        self.write(self.frame(message))

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None) -> int:
        msg_id = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return msg_id

    def read(self, timeout: float) -> dict[str, Any] | None:
        """The next message from the server, or None on timeout / end of output."""
        import json
        import os
        import select

        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while True:
            if b"\r\n\r\n" in self.buffer:
                head, rest = self.buffer.split(b"\r\n\r\n", 1)
                length = next(
                    int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
                )
                if len(rest) >= length:
                    self.buffer = rest[length:]
                    message = json.loads(rest[:length])
                    self.received.append(message)
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if ready:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                if not chunk:
                    return None
                self.buffer += chunk

    def wait(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any] | None:
        """The first message matching `predicate`, answering server requests meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.read(deadline - time.monotonic())
            if message is None:
                return None
            if "method" in message and "id" in message:  # a server request
                items = (message.get("params") or {}).get("items")
                result = [None] * len(items) if message["method"] == t.WORKSPACE_CONFIGURATION and items else None
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            if predicate(message):
                return message
        return None

    def response(self, msg_id: Any, timeout: float = 10.0) -> dict[str, Any] | None:
        return self.wait(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def call(self, method: str, params: Any = None, timeout: float = 10.0) -> dict[str, Any] | None:
        return self.response(self.request(method, params), timeout)

    def initialize(self, process_id: int | None = None, root: Path | None = None, options: Any = None) -> dict[str, Any]:
        reply = self.call(
            t.INITIALIZE,
            {
                "processId": process_id,
                "rootUri": root.as_uri() if root else None,
                "capabilities": {"workspace": {"configuration": True}},
                "initializationOptions": options,
            },
        )
        assert reply is not None and "result" in reply, reply
        self.notify(t.INITIALIZED, {})
        return reply

    def hover(self, uri: str = "file:///never/opened.py", line: int = 0, character: int = 0) -> dict[str, Any] | None:
        return self.call(
            t.TEXT_DOCUMENT_HOVER, {"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}
        )

    def serving(self) -> bool:
        """The server answers a normal request."""
        reply = self.hover()
        return reply is not None and "result" in reply

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
