"""Position encodings: the server answers in the encoding the client asked for (UTF-8,
UTF-16 default, UTF-32), on Korean identifiers and comments, an emoji, tabs and CRLF.
Expected columns are computed here with Python's own codecs, not with pygls."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import CONFIG, ClientDoc, capabilities, initialize, wait_diagnostics
from pytest_lsp import LanguageClient

CALL = "F.dropout(입력 + 0 * len('😀'), p=0.5)"
TEXT = (
    "# 한국어 주석: 드롭아웃 검사 😀\r\n"
    "import torch.nn as nn\r\n"
    "import torch.nn.functional as F\r\n"
    "\r\n"
    "\r\n"
    "class 모델(nn.Module):\r\n"
    "\tdef forward(self, 입력):\r\n"
    f"\t\t결과 = ('😀', {CALL})[1]  # 주석 😀\r\n"
    "\t\treturn 결과\r\n"
)
PREFIX = "\t\t결과 = ('😀', "

ENCODINGS = {
    "utf-8": lambda s: len(s.encode("utf-8")),
    "utf-16": lambda s: len(s.encode("utf-16-le")) // 2,
    "utf-32": lambda s: len(s),
}


@pytest_lsp.fixture(config=CONFIG, scope="module", params=["utf-8", "utf-16", "utf-32", None])
async def client(lsp_client: LanguageClient, request: pytest.FixtureRequest, tmp_path_factory):
    root = tmp_path_factory.mktemp("ws")
    requested = request.param
    result = await initialize(
        lsp_client, root, caps=capabilities([requested] if requested else None), options={"debounceMs": 20}
    )
    lsp_client.encoding = requested or "utf-16"  # type: ignore[attr-defined]
    lsp_client.negotiated = result.capabilities.position_encoding  # type: ignore[attr-defined]
    lsp_client.root = root  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_negotiated_encoding(client: LanguageClient) -> None:
    assert client.negotiated == client.encoding  # type: ignore[attr-defined]


async def test_ranges_fix_and_hover_in_the_negotiated_encoding(client: LanguageClient) -> None:
    encoding = client.encoding  # type: ignore[attr-defined]
    units = ENCODINGS[encoding]
    doc = ClientDoc(client, (client.root / "모델.py").as_uri(), TEXT, encoding).open()  # type: ignore[attr-defined]
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    assert [d.code for d in diagnostics] == ["NN203"]
    start = units(PREFIX)
    end = units(PREFIX + CALL)
    assert diagnostics[0].range == t.Range(start=t.Position(7, start), end=t.Position(7, end))
    related = diagnostics[0].related_information[0].location.range
    assert related.start == t.Position(5, 0)
    # the fix: inserted before the call's closing parenthesis, in client units
    edit = diagnostics[0].data["fix"]["edits"][0]
    assert edit["range"]["start"] == {"line": 7, "character": end - 1}
    # hover inside the call, past the emoji
    inside = t.Position(7, units(PREFIX + "F.dropout(입력 + 0 * len('😀'"))
    hover = await client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=inside))
    assert hover is not None and hover.range == diagnostics[0].range
    # apply the quick fix through the client: CRLF and everything else preserved
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=diagnostics[0].range, context=t.CodeActionContext(diagnostics=diagnostics)
        )
    )
    fix = next(a for a in actions if a.is_preferred)
    doc.apply_workspace_edit(fix.edit)
    assert doc.text == TEXT.replace("p=0.5)", "p=0.5, training=self.training)")
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.close()


async def test_disable_comment_on_a_crlf_line_with_korean_text(client: LanguageClient) -> None:
    encoding = client.encoding  # type: ignore[attr-defined]
    doc = ClientDoc(client, (client.root / "disable.py").as_uri(), TEXT, encoding).open()  # type: ignore[attr-defined]
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=diagnostics[0].range, context=t.CodeActionContext(diagnostics=diagnostics)
        )
    )
    disable = next(a for a in actions if a.title.endswith("Disable for this line"))
    doc.apply_workspace_edit(disable.edit)
    assert doc.text == TEXT.replace("# 주석 😀\r\n", "# 주석 😀  # nnlint: disable=NN203\r\n")
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.close()


async def test_edits_in_client_units_are_applied_correctly_by_the_server(client: LanguageClient) -> None:
    """Incremental changes after astral characters: the server's copy must stay in sync."""
    encoding = client.encoding  # type: ignore[attr-defined]
    doc = ClientDoc(client, (client.root / "sync.py").as_uri(), TEXT, encoding).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    doc.replace("p=0.5)", "p=0.5, training=self.training)")  # right after an emoji on the same line
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.replace(", training=self.training)", ")")
    diagnostics = await wait_diagnostics(client, doc.uri, version=3)
    assert diagnostics[0].range.end.character == ENCODINGS[encoding](PREFIX + CALL)
    doc.close()
