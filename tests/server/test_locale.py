"""The server follows the client's locale (Korean here): its own UI strings and the findings'
messages, related information and fix titles made at check time (the rule documentation's
language is the `nnlint-docs` catalog's)."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, wait_diagnostics
from pytest_lsp import LanguageClient


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    await initialize(lsp_client, root, locale="ko-KR")
    lsp_client.doc = ClientDoc(lsp_client, (root / "net.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def test_korean_hover_headings(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 1))
    )
    assert hover is not None
    text = hover.contents.value
    assert "(기본 심각도: warning)" in text
    assert "### 관련 줄" in text
    assert f"- [5행]({doc.uri}#L5): `Net`은(는) nn.Module이며, 이 호출은 그 eval()을 무시합니다" in text
    assert "### 왜 문제인가?" in text  # the rule's documentation, in Korean
    assert "### Why is this bad?" not in text


async def test_korean_code_action_titles(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=diagnostics[0].range, context=t.CodeActionContext(diagnostics=diagnostics)
        )
    )
    assert [a.title for a in actions] == [
        "nnlint (NN203): training=self.training 추가",  # the rule's fix title, from nnlint-docs
        "nnlint (NN203): 이 줄에서 비활성화",
        "nnlint: 자동으로 고칠 수 있는 문제 모두 고치기",
    ]
