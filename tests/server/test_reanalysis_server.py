"""The server's re-analysis of a live buffer (`nnlint.reanalysis`): after edits that keep
the findings of unlinked statements, that link or unlink statements, or that reach a word a
rule reads module-wide, the diagnostics published are those of a full analysis of the same
text (what a freshly opened document gets), and the debug log shows the part re-analysed."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import SERVER, ClientDoc, comparable, fresh_diagnostics, initialize, make_client, wait_diagnostics
from pytest_lsp import ClientServerConfig, LanguageClient

from nnlint.server.bench import training_script

LOG = Path(tempfile.mkdtemp(prefix="nnlint-reanalysis-")) / "server.log"
CONFIG = ClientServerConfig(server_command=[*SERVER, "--log-file", str(LOG), "-vv"], client_factory=make_client)

SAMPLER = '''

def distributed(model, dataset, optimizer):
    sampler = DistributedSampler(dataset, shuffle=True)
    loader = DataLoader(dataset, sampler=sampler, batch_size=8)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()


def unrelated(thing):
    value = thing + 1
    return value
'''


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    # Fresh documents open in another folder (another project index): a buffer opened in
    # the live one's project is a change elsewhere, after which the live one is analysed in full.
    lsp_client.fresh_root = tmp_path_factory.mktemp("fresh")  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options={"debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def test_edits_that_keep_the_lines_publish_what_a_full_analysis_finds(client: LanguageClient) -> None:
    text = training_script(400).replace(
        "from torch.utils.data import DataLoader\n",
        "from torch.utils.data import DataLoader\nfrom torch.utils.data.distributed import DistributedSampler\n",
    ) + SAMPLER
    doc = ClientDoc(client, (client.root / "live.py").as_uri(), text).open()  # type: ignore[attr-defined]
    first = await wait_diagnostics(client, doc.uri, version=1, timeout=30)
    assert any(d.code == "NN206" for d in first)
    edits = [
        lambda: doc.replace("epochs=1", "epochs=2", occurrence=3),  # one function: the rest is kept
        lambda: doc.replace("            optimizer.zero_grad()\n", "            optimizer.step()     \n", occurrence=2),
        lambda: doc.replace("p=0.1", "p=0.3", occurrence=1),  # a class and what uses it
        lambda: doc.replace("    value = thing + 1", "    thing.sampler.set_epoch(1)"),  # module-wide: NN206 goes
        lambda: doc.replace("    thing.sampler.set_epoch(1)", "    value = thing + 1       "),  # ...and comes back
    ]
    for serial, edit in enumerate(edits):
        edit()
        diagnostics = await wait_diagnostics(client, doc.uri, version=doc.version, timeout=30)
        fresh = await fresh_diagnostics(client, client.fresh_root, doc.text, serial)  # type: ignore[attr-defined]
        assert comparable(diagnostics) == fresh, f"after edit {serial}"
        assert any(d.code == "NN206" for d in diagnostics) == ("set_epoch" not in doc.text)
    log = LOG.read_text(encoding="utf-8")
    assert log.count("statements analysed again") >= 3, log[-3000:]
    assert "the module mentions `set_epoch`" in log, log[-3000:]
