"""Incremental parsing in the server (issue 13): after every kind of edit of a live
buffer (a character typed, lines inserted above findings, lines deleted, syntax broken
and restored, an edit in a decorated function), the diagnostics published are those of a
full analysis of the same text, which a freshly opened document gets."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import SERVER, ClientDoc, comparable, fresh_diagnostics, initialize, make_client, wait_diagnostics
from pytest_lsp import ClientServerConfig, LanguageClient

from nnlint.server.bench import training_script

LOG = Path(tempfile.mkdtemp(prefix="nnlint-incremental-")) / "server.log"
CONFIG = ClientServerConfig(server_command=[*SERVER, "--log-file", str(LOG), "-vv"], client_factory=make_client)

DECORATED = '''

@torch.no_grad()
def evaluate(model, loader):
    total = 0
    for inputs, targets in loader:
        total += (model(inputs).argmax(1) == targets).sum().item()
    return total
'''


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options={"debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def test_edits_of_a_live_buffer_publish_what_a_full_analysis_finds(client: LanguageClient) -> None:
    text = training_script(300) + DECORATED
    doc = ClientDoc(client, (client.root / "live.py").as_uri(), text).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1, timeout=30)
    edits = [
        lambda: doc.replace("epochs=1", "epochs=2", occurrence=3),  # a character typed
        lambda: doc.insert(t.Position(line=5, character=0), "LIMIT = 3\n\n\n"),  # lines above every finding
        lambda: doc.replace("        self.norm = nn.LayerNorm(width)\n", "", occurrence=1),  # a line deleted
        lambda: doc.replace("x = F.relu(", "x = F.relu((", occurrence=2),  # syntax broken...
        lambda: doc.replace("x = F.relu((", "x = F.relu(", occurrence=0),  # ...and restored
        lambda: doc.replace("    total = 0\n    for inputs", "    total = 0\n    model.eval()\n    for inputs"),
        lambda: doc.replace("x = F.dropout(x, p=0.1)", "x = F.dropout(x, p=0.2)\n        x = x * 2"),
        lambda: doc.replace("            optimizer.zero_grad()\n", "", occurrence=4),  # a finding appears
    ]
    for serial, edit in enumerate(edits):
        edit()
        diagnostics = await wait_diagnostics(client, doc.uri, version=doc.version, timeout=30)
        if "F.relu((" in doc.text:
            continue  # does not parse: the last good results are kept, shifted (test_diagnostics)
        assert diagnostics, "the script has findings (dropout without training=...)"
        fresh = await fresh_diagnostics(client, client.root, doc.text, serial)  # type: ignore[attr-defined]
        assert comparable(diagnostics) == fresh, f"after edit {serial}"
    assert any(d.code == "NN101" for d in diagnostics), [d.code for d in diagnostics]  # the last edit's finding
    log = LOG.read_text(encoding="utf-8")
    # the edits were parsed incrementally, not in full
    assert log.count("statements parsed") >= 5, log[-3000:]
