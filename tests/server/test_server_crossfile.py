"""Cross-file reasoning in the server (issue 5): a helper imported from another module of
the workspace feeds the diagnostics of the open caller, and editing that helper (open in
the editor, not saved) updates the caller without reopening it."""

from __future__ import annotations

import textwrap

import pytest
import pytest_lsp
from lsp_helpers import CONFIG, ClientDoc, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient

ENGINE = textwrap.dedent("""\
    import torch

    def validate(model, loader):
        model.eval()
        with torch.no_grad():
            return [model(x) for x, _ in loader]
""")

TRAIN = textwrap.dedent("""\
    import torch
    from pkg.engine import validate
    from pkg.models import Net

    model = Net()
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(3):
        for x, y in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        validate(model, val_loader)
""")

# A model with dropout: its mode matters (a model without dropout or batch norm is silent).
MODELS = textwrap.dedent("""\
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.1)

        def forward(self, x):
            return self.drop(x)
""")


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("project")
    (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "engine.py").write_text(ENGINE)
    (root / "pkg" / "models.py").write_text(MODELS)
    (root / "train.py").write_text(TRAIN)
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, folders=[root])
    yield
    await lsp_client.shutdown_session()


async def test_imported_helper_feeds_the_callers_diagnostics(client: LanguageClient) -> None:
    root = client.root  # type: ignore[attr-defined]
    train = ClientDoc(client, (root / "train.py").as_uri(), TRAIN).open()
    diagnostics = await wait_diagnostics(client, train.uri, version=1)
    assert [(d.code, d.range.start.line + 1) for d in diagnostics] == [("NN202", 10)]
    assert "validate()" in diagnostics[0].message

    engine = ClientDoc(client, (root / "pkg" / "engine.py").as_uri(), ENGINE).open()
    client.engine_doc = engine  # type: ignore[attr-defined]
    await wait_diagnostics(client, engine.uri, version=1)
    before = len(published(client, train.uri))
    engine.replace("        return [model(x) for x, _ in loader]",
                   "        out = [model(x) for x, _ in loader]\n    model.train()\n    return out")
    cleared = await wait_diagnostics(client, train.uri, after=before, timeout=15)
    assert cleared == []


async def test_analysing_an_imported_module_keeps_the_importers_view_intact(client: LanguageClient) -> None:
    """engine.py is open (analysed on its own) and read by train.py through the project
    index: the server releases the analyses it makes for a buffer, and must never release
    the one the index shares with the modules that import it."""
    root = client.root  # type: ignore[attr-defined]
    engine: ClientDoc = client.engine_doc  # type: ignore[attr-defined]
    engine_before = len(published(client, engine.uri))
    engine.replace("        out = [model(x) for x, _ in loader]\n    model.train()\n    return out",
                   "        return [model(x) for x, _ in loader]")
    await wait_diagnostics(client, engine.uri, after=engine_before, timeout=15)
    train = ClientDoc(client, (root / "train.py").as_uri(), TRAIN)
    train.version = max(p.version or 0 for p in published(client, train.uri))
    train_before = len(published(client, train.uri))
    train.replace("model = Net()", "model = Net()  # edited")
    diagnostics = await wait_diagnostics(client, train.uri, after=train_before, timeout=15)
    assert [d.code for d in diagnostics] == ["NN202"]
