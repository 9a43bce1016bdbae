"""Which language the server speaks: the client's `locale` from `initialize`, overridden by the
`nnlint.language` setting ("auto" | "en" | "ko"). Diagnostics, related information, fix titles
(code actions) and the hover follow it; nothing else about a finding changes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, locale="ko", options={"debounceMs": 0})
    lsp_client.doc = ClientDoc(lsp_client, (root / "net.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def _set_language(client: LanguageClient, doc: ClientDoc, language: str | None) -> list[t.Diagnostic]:
    """Answer workspace/configuration with `nnlint.language` (None: unset), tell the server,
    and return the diagnostics it publishes next."""
    client.set_configuration({} if language is None else {"language": language}, section="nnlint")
    before = len(published(client, doc.uri))
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    return await wait_diagnostics(client, doc.uri, after=before)


async def _actions(client: LanguageClient, doc: ClientDoc, diagnostics: list[t.Diagnostic]) -> list[str]:
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=diagnostics[0].range, context=t.CodeActionContext(diagnostics=diagnostics)
        )
    )
    return [a.title for a in actions or []]


async def test_client_locale_ko_gives_korean_messages(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    assert [d.code for d in diagnostics] == ["NN203"]
    diagnostic = diagnostics[0]
    assert diagnostic.message.startswith("`Net.forward`의 `F.dropout(...)`은(는) `.eval()` 뒤에도 계속 활성값을 드롭합니다")
    assert all(HANGUL.search(rel.message) for rel in diagnostic.related_information or [])
    hover = await client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 1)))
    assert hover is not None
    # The hover adds what the message lacks (VS Code shows the message above it): the related
    # lines, then the rule's documentation, all in Korean.
    assert diagnostic.message not in hover.contents.value and "### 관련 줄" in hover.contents.value
    assert all(rel.message in hover.contents.value for rel in diagnostic.related_information or [])
    assert "### 왜 문제인가?" in hover.contents.value
    assert "nnlint (NN203): 이 줄에서 비활성화" in await _actions(client, doc, diagnostics)


async def test_language_setting_overrides_the_client_locale(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    english = await _set_language(client, doc, "en")
    assert english[0].message.startswith("`F.dropout(...)` in `Net.forward` keeps dropping activations")
    assert not any(HANGUL.search(rel.message) for rel in english[0].related_information or [])
    hover = await client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 1)))
    assert hover is not None and "### Related lines" in hover.contents.value and "### Why is this bad?" in hover.contents.value
    assert not HANGUL.search(hover.contents.value)
    titles = await _actions(client, doc, english)
    assert "nnlint (NN203): Disable for this line" in titles and not any(HANGUL.search(x) for x in titles)

    korean = await _set_language(client, doc, "ko")
    assert HANGUL.search(korean[0].message)
    # the same finding in both languages: only the words change
    assert (korean[0].code, korean[0].range, korean[0].severity) == (english[0].code, english[0].range, english[0].severity)
    assert [r.location for r in korean[0].related_information or []] == [
        r.location for r in english[0].related_information or []
    ]


async def test_language_auto_follows_the_client_locale_again(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    await _set_language(client, doc, "en")
    auto = await _set_language(client, doc, "auto")
    assert HANGUL.search(auto[0].message)  # back to the client's locale (ko)


async def test_an_unknown_language_setting_is_reported_and_ignored(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    diagnostics = await _set_language(client, doc, "fr")
    assert HANGUL.search(diagnostics[0].message)
    logged = "\n".join(m.message for m in client.log_messages)
    assert "nnlint setting 'language' must be 'auto', 'en' or 'ko'" in logged
