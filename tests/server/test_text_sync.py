"""The server's copy of a document stays the client's text (issue 18, item 1).

pygls split an open document with str.splitlines(), which also breaks at \\f, \\v,
\\x1c-\\x1e, \\x85, U+2028 and U+2029: after an edit below such a character the server's
text landed one line off, and a quick fix computed on it corrupted the user's line. The
client here is `ClientBuffer` (nnlint.server.syncmodel), a model that computes LSP
positions from first principles, not pygls' TextDocument.
"""

from __future__ import annotations

import textwrap

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import CONFIG, initialize, wait_diagnostics
from pytest_lsp import LanguageClient

from nnlint.server.convert import FastPositionCodec
from nnlint.server.pygls_adapter import LspTextDocument, lsp_lines
from nnlint.server.syncmodel import ODD_SEPARATORS, ClientBuffer, check_document_sync

SOURCE = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F
    # section 1\f
    class Net(nn.Module):
        def forward(self, x):
            # a comment that is longer than thirty characters, easily
            x = F.dropout(x, p=0.5)
            return x
    """
)


def lsp_document(text: str, encoding: str) -> LspTextDocument:
    return LspTextDocument("file:///sync.py", text, 1, position_codec=FastPositionCodec(encoding))


def test_lines_split_only_where_lsp_splits() -> None:
    text = "a\fb\vc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\r\nj\rk\nl"
    assert lsp_lines(text) == ["a\fb\vc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\r\n", "j\r", "k\n", "l"]
    assert list(lsp_document(text, "utf-16").lines) == lsp_lines(text)


def test_random_edits_with_every_odd_separator_keep_the_document_the_clients_text() -> None:
    result = check_document_sync(lsp_document, edits=20_000, seed=18)
    assert result.edits >= 19_998
    assert result.divergences == 0, result.first
    assert result.suspect_marks == 0  # every change of an in-step client fits


@pytest.mark.parametrize("separator", list(ODD_SEPARATORS))
def test_an_edit_below_each_odd_separator_lands_on_its_line(separator: str) -> None:
    text = f"first{separator}\nsecond line\nthird line\n"
    client = ClientBuffer(text)
    document = lsp_document(text, "utf-16")
    start = text.index("third")
    document.apply_change(client.edit(start, start + len("third"), "3rd"))
    assert document.source == client.text == f"first{separator}\nsecond line\n3rd line\n"


def test_a_change_that_does_not_fit_marks_the_document_until_the_whole_text_comes() -> None:
    document = lsp_document("x = 1\n", "utf-16")
    document.apply_change(
        t.TextDocumentContentChangePartial(range=t.Range(start=t.Position(5, 0), end=t.Position(5, 0)), text="y")
    )
    assert document.suspect
    document.apply_change(t.TextDocumentContentChangeWholeDocument(text="x = 1\n"))
    assert not document.suspect
    # the empty line after a final line break, and a line's end, are positions that fit
    document.apply_change(
        t.TextDocumentContentChangePartial(range=t.Range(start=t.Position(1, 0), end=t.Position(1, 0)), text="y")
    )
    document.apply_change(
        t.TextDocumentContentChangePartial(range=t.Range(start=t.Position(0, 5), end=t.Position(0, 5)), text="0")
    )
    assert document.source == "x = 10\ny" and not document.suspect


# --------------------------------------------------------------------- end to end
@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options={"debounceMs": 20})
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, name: str, text: str) -> tuple[str, ClientBuffer]:
    uri = (client.root / name).as_uri()  # type: ignore[attr-defined]
    client.text_document_did_open(
        t.DidOpenTextDocumentParams(text_document=t.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
    )
    return uri, ClientBuffer(text)


def change(client: LanguageClient, uri: str, version: int, changes: list) -> None:
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=uri, version=version), content_changes=changes
        )
    )


async def quick_fixes(client: LanguageClient, uri: str, diagnostics: list[t.Diagnostic]) -> list[t.CodeAction]:
    result = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range,
            context=t.CodeActionContext(diagnostics=diagnostics),
        )
    )
    return [a for a in result or [] if isinstance(a, t.CodeAction) and a.is_preferred]


def edits_of(action: t.CodeAction) -> list[t.TextEdit]:
    assert action.edit is not None
    edits = [e for edits in (action.edit.changes or {}).values() for e in edits]
    for document_change in action.edit.document_changes or []:
        edits.extend(document_change.edits)  # type: ignore[union-attr]
    return edits


async def test_quick_fix_after_an_edit_below_a_form_feed_keeps_the_users_line(client: LanguageClient) -> None:
    """The issue's repro: `# section 1\\f` on line 3, change 0.5 to 0.25, take the fix."""
    uri, buffer = open_doc(client, "formfeed.py", SOURCE)
    await wait_diagnostics(client, uri, version=1)
    start = buffer.text.index("0.5")
    change(client, uri, 2, [buffer.edit(start, start + 3, "0.25")])
    diagnostics = await wait_diagnostics(client, uri, version=2)
    assert [d.code for d in diagnostics] == ["NN203"]
    line = buffer.text.split("\n")[diagnostics[0].range.start.line]
    assert line.strip() == "x = F.dropout(x, p=0.25)"
    fixes = await quick_fixes(client, uri, diagnostics)
    assert fixes, "the fix is offered"
    change(client, uri, 3, buffer.apply(edits_of(fixes[0])))
    assert "        x = F.dropout(x, p=0.25, training=self.training)\n" in buffer.text
    assert await wait_diagnostics(client, uri, version=3) == []


async def test_no_edit_is_offered_once_a_change_did_not_fit(client: LanguageClient) -> None:
    uri, buffer = open_doc(client, "drifted.py", SOURCE)
    diagnostics = await wait_diagnostics(client, uri, version=1)
    assert await quick_fixes(client, uri, diagnostics)
    # a client whose text is longer than ours: its edit lies past our last line
    past = t.TextDocumentContentChangePartial(range=t.Range(start=t.Position(40, 0), end=t.Position(40, 0)), text="#\n")
    change(client, uri, 2, [past])
    diagnostics = await wait_diagnostics(client, uri, version=2)
    assert await quick_fixes(client, uri, diagnostics) == []
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.applyFixAll", arguments=[uri])
    )
    assert result["applied"] is False and "differ" in result["reason"]
    # the whole text again: in step, fixes come back
    change(client, uri, 3, [t.TextDocumentContentChangeWholeDocument(text=buffer.text)])
    diagnostics = await wait_diagnostics(client, uri, version=3)
    assert await quick_fixes(client, uri, diagnostics)
