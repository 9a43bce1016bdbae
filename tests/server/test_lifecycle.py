"""Stale results under a burst of edits with no debounce, responsiveness during analysis,
and a clean shutdown/exit."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, published, wait_diagnostics
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
