"""Pull diagnostics (textDocument/diagnostic) for a client that supports them (Neovim 0.11's
capabilities: pull + UTF-8): registered at initialize, never pushed for the same document."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, published
from pytest_lsp import LanguageClient, client_capabilities


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    caps = client_capabilities("neovim@v0.11.0")
    caps.workspace.diagnostics = t.DiagnosticWorkspaceClientCapabilities(refresh_support=True)
    result = await initialize(lsp_client, root, caps=caps)
    lsp_client.result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def pull(client: LanguageClient, doc: ClientDoc, previous: str | None = None):
    return await client.text_document_diagnostic_async(
        t.DocumentDiagnosticParams(text_document=doc.ident, previous_result_id=previous)
    )


async def test_pull_is_advertised_and_utf8_negotiated(client: LanguageClient) -> None:
    caps = client.result.capabilities  # type: ignore[attr-defined]
    assert caps.diagnostic_provider is not None and caps.diagnostic_provider.identifier == "nnlint"
    assert caps.position_encoding == "utf-8"


async def test_pull_reports_and_never_pushes(client: LanguageClient) -> None:
    text = "# 주석 ünïcödé\n" + BUGGY
    doc = ClientDoc(client, (client.root / "pull.py").as_uri(), text, "utf-8").open()  # type: ignore[attr-defined]
    report = await pull(client, doc)
    assert report.kind == "full"
    assert [d.code for d in report.items] == ["NN203"]
    assert report.items[0].range == doc.range_of(CALL)
    # nothing changed: unchanged report
    again = await pull(client, doc, report.result_id)
    assert again.kind == "unchanged" and again.result_id == report.result_id
    doc.replace("p=0.5)", "p=0.5, training=self.training)")
    fixed = await pull(client, doc, report.result_id)
    assert fixed.kind == "full" and list(fixed.items) == []
    await asyncio.sleep(0.4)  # past the debounce: still nothing pushed
    doc.close()
    await asyncio.sleep(0.1)
    assert published(client, doc.uri) == []


async def test_pull_for_an_unknown_document_is_empty(client: LanguageClient) -> None:
    unknown = ClientDoc(client, (client.root / "unknown.py").as_uri(), "")  # type: ignore[attr-defined]
    report = await pull(client, unknown)
    assert report.kind == "full" and list(report.items) == []


async def test_settings_change_asks_the_client_to_pull_again(client: LanguageClient) -> None:
    doc = ClientDoc(client, (client.root / "refresh.py").as_uri(), BUGGY, "utf-8").open()  # type: ignore[attr-defined]
    first = await pull(client, doc)
    assert [d.code for d in first.items] == ["NN203"]
    before = client.diagnostic_refresh_count
    client.set_configuration({"ignore": ["NN203"]}, section="nnlint")
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    for _ in range(200):
        if client.diagnostic_refresh_count > before:
            break
        await asyncio.sleep(0.01)
    assert client.diagnostic_refresh_count > before
    second = await pull(client, doc, first.result_id)
    assert second.kind == "full" and list(second.items) == []
    client.set_configuration({}, section="nnlint")
    doc.close()
