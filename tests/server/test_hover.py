"""Hovers: on a flagged range, what the message lacks (the client shows the message above the
hover): the related lines as links, the rule's "why" and its example; the rule's
documentation on a code in a suppression comment; English and Korean UI strings."""

from __future__ import annotations

import textwrap

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, wait_diagnostics
from pytest_lsp import LanguageClient

SUPPRESSED = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def forward(self, x):
            x = F.dropout(x, 0.1)  # nnlint: disable=NN203
            y = F.dropout(x, 0.1)  # noqa: NN999, NN203
            return x + y
    """
)


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    await initialize(lsp_client, root)
    lsp_client.doc = ClientDoc(lsp_client, (root / "net.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    await wait_diagnostics(lsp_client, lsp_client.doc.uri, version=1)  # type: ignore[attr-defined]
    lsp_client.suppressed = ClientDoc(lsp_client, (root / "sup.py").as_uri(), SUPPRESSED).open()  # type: ignore[attr-defined]
    await wait_diagnostics(lsp_client, lsp_client.suppressed.uri, version=1)  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def hover_at(client: LanguageClient, doc: ClientDoc, position: t.Position) -> t.Hover | None:
    return await client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=position))


async def test_hover_on_a_finding_links_the_related_lines_then_explains_why(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    hover = await hover_at(client, doc, doc.position(CALL, 3))
    assert hover is not None and hover.contents.kind == t.MarkupKind.Markdown
    text = hover.contents.value
    assert text.startswith(
        "**[NN203](https://github.com/nnlint/nnlint/blob/main/docs/rules/NN203.md)** "
        "`functional-dropout-always-on` (default severity: warning)"
    )
    # the message is not repeated: the client shows it above the hover
    assert "keeps dropping activations after `.eval()`" not in text
    related, why, example = (text.index(h) for h in ("### Related lines", "### Why is this bad?", "### Example"))
    assert related < why < example
    assert f"- [line 5]({doc.uri}#L5): `Net` is an nn.Module whose eval() this call ignores" in text[related:why]
    assert "`model.eval()`\nswitches off every `nn.Dropout` layer but not this call" in text[why:example]
    assert "```python\nclass Net(nn.Module):" in text[example:]
    # only the why and the example: not what it does, what to use instead or the fix
    assert "What it does" not in text and "Use instead" not in text and "### Fix" not in text
    assert hover.range == doc.range_of(CALL)


async def test_hover_elsewhere_is_empty(client: LanguageClient) -> None:
    doc: ClientDoc = client.doc  # type: ignore[attr-defined]
    assert await hover_at(client, doc, doc.position("return x")) is None
    assert await hover_at(client, doc, doc.position("import torch")) is None


@pytest.mark.parametrize("needle", ["disable=NN203", "noqa: NN999, NN203"])
async def test_hover_on_a_code_in_a_suppression_comment_shows_its_documentation(
    client: LanguageClient, needle: str
) -> None:
    doc: ClientDoc = client.suppressed  # type: ignore[attr-defined]
    code_at = doc.position(needle, needle.index("NN203") + 2)
    hover = await hover_at(client, doc, code_at)
    assert hover is not None
    assert hover.contents.value.startswith("**[NN203](")
    assert "Functional dropout inside a module" in hover.contents.value
    assert "#### What it does" in hover.contents.value
    start = doc.position(needle, needle.index("NN203"))
    assert hover.range == t.Range(start=start, end=t.Position(start.line, start.character + 5))


async def test_hover_on_an_unknown_code_or_the_comment_marker_is_empty(client: LanguageClient) -> None:
    doc: ClientDoc = client.suppressed  # type: ignore[attr-defined]
    assert await hover_at(client, doc, doc.position("NN999", 2)) is None
    assert await hover_at(client, doc, doc.position("# noqa", 3)) is None
