"""Push diagnostics over stdio: exact content, moving with edits, stale results dropped,
last good results kept while the buffer does not parse, close, unknown documents."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, line_range, published, wait_diagnostics
from pytest_lsp import LanguageClient

FIXED_CALL = "F.dropout(self.fc(x), p=0.5, training=self.training)"


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root)
    yield
    await lsp_client.shutdown_session()


def uri(client: LanguageClient, name: str) -> str:
    return (client.root / name).as_uri()  # type: ignore[attr-defined]


async def test_open_publishes_exact_diagnostics(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "exact.py"), BUGGY).open()
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    assert len(diagnostics) == 1
    d = diagnostics[0]
    line, col = line_range(BUGGY, CALL)
    assert d.range == t.Range(start=t.Position(line, col), end=t.Position(line, col + len(CALL)))
    assert d.code == "NN203"
    assert d.source == "nnlint"
    assert d.severity == t.DiagnosticSeverity.Warning
    assert d.code_description is not None and d.code_description.href.endswith("/NN203.md")
    assert d.message.startswith("`F.dropout(...)` in `Net.forward` keeps dropping activations")
    assert d.related_information is not None and len(d.related_information) == 1
    related = d.related_information[0]
    assert related.location.uri == doc.uri
    assert related.location.range.start.line == 4  # class Net
    assert "`Net` is an nn.Module" in related.message
    end = col + len(CALL) - 1  # just before the closing parenthesis
    assert d.data == {
        "version": 1,
        "index": 0,
        "fix": {
            "title": "Add training=self.training",
            "edits": [
                {
                    "range": {"start": {"line": line, "character": end}, "end": {"line": line, "character": end}},
                    "newText": ", training=self.training",
                }
            ],
        },
    }
    doc.close()


async def test_diagnostics_move_with_edits_and_vanish_when_fixed(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "move.py"), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    doc.insert(t.Position(0, 0), "# header\n# second line\n")
    moved = await wait_diagnostics(client, doc.uri, version=2)
    line, col = line_range(doc.text, CALL)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in moved] == [("NN203", line, col)]
    assert line == 12
    doc.replace(CALL, FIXED_CALL)
    assert await wait_diagnostics(client, doc.uri, version=3) == []
    doc.close()


async def test_syntax_error_keeps_last_good_diagnostics_shifted(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "broken.py"), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    doc.insert(t.Position(0, 0), "def broken(:\n    pass\n\n")  # mid-typing: does not parse
    kept = await wait_diagnostics(client, doc.uri, version=2)
    line, col = line_range(doc.text, CALL)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in kept] == [("NN203", line, col)]
    assert kept[0].data["fix"] is None  # a fix computed for the old text is not offered
    assert all(d.code != "NN000" for d in kept)  # showSyntaxErrors defaults to off
    # an edit below the finding does not move it
    doc.insert(t.Position(line + 2, 0), "\n\n")
    kept = await wait_diagnostics(client, doc.uri, version=3)
    assert [d.range.start.line for d in kept] == [line]
    # parsing again: fresh results with their fix
    doc.replace("def broken(:", "def broken():")
    fresh = await wait_diagnostics(client, doc.uri, version=4)
    assert [(d.code, d.range.start.line) for d in fresh] == [("NN203", line)]
    assert fresh[0].data["fix"] is not None
    doc.close()


async def test_burst_of_edits_publishes_once_for_the_last_version(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "burst.py"), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(published(client, doc.uri))
    end = doc.position("return x", len("return x"))
    for i in range(50):  # typing a comment at the end of `return x`, one character at a time
        doc.insert(t.Position(end.line, end.character + i), "#" if i == 0 else "x")
    assert doc.version == 51
    diagnostics = await wait_diagnostics(client, doc.uri, version=51, after=before)
    assert [d.code for d in diagnostics] == ["NN203"]
    await asyncio.sleep(0.4)
    versions = [p.version for p in published(client, doc.uri)[before:]]
    assert versions == [51]
    doc.close()


async def test_close_publishes_an_empty_list(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "close.py"), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(published(client, doc.uri))
    doc.close()
    await wait_diagnostics(client, doc.uri, after=before)
    last = published(client, doc.uri)[-1]
    assert list(last.diagnostics) == []


async def test_requests_for_unknown_documents_return_empty_results(client: LanguageClient) -> None:
    unknown = t.TextDocumentIdentifier(uri=uri(client, "never-opened.py"))
    hover = await client.text_document_hover_async(t.HoverParams(text_document=unknown, position=t.Position(0, 0)))
    assert hover is None
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=unknown,
            range=t.Range(start=t.Position(0, 0), end=t.Position(0, 0)),
            context=t.CodeActionContext(diagnostics=[]),
        )
    )
    assert not actions
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.applyFixAll", arguments=[unknown.uri])
    )
    assert result == {"applied": False, "edits": 0}


async def test_bad_input_never_crashes_the_server(client: LanguageClient) -> None:
    texts = ["\0\0\0", "x = '\udcff'", "(" * 300 + ")" * 300, "def f(:\n", "", "\r\r\n\n\t\t", "if True:\n" * 120]
    for i, text in enumerate(texts):
        doc = ClientDoc(client, uri(client, f"bad{i}.py"), text).open()
        await wait_diagnostics(client, doc.uri, version=1)
        doc.close()
    # out-of-range positions are answered, not crashed on
    doc = ClientDoc(client, uri(client, "range.py"), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=doc.ident, position=t.Position(line=999, character=999))
    )
    assert hover is None
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident,
            range=t.Range(start=t.Position(500, 0), end=t.Position(501, 3)),
            context=t.CodeActionContext(diagnostics=[]),
        )
    )
    assert [a.kind for a in actions or []] == ["source.fixAll.nnlint"]  # no quick fix out there
    doc.close()
