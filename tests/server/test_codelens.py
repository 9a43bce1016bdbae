"""The overfit-one-batch code lens (NN501's editor side) over the real protocol: lenses
above training loops in .py files and notebook cells, the nnlint.insertOverfitCheck
command applying its edit through workspace/applyEdit, the matching refactor action,
Korean titles, stale requests refused, never part of fix-all."""

from __future__ import annotations

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import CONFIG, ClientDoc, capabilities, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient
from test_notebooks import CELLS, ClientNotebook, answer_lens_refresh, cell_diagnostics

from nnlint.overfit import MARKER_END, MARKER_START

SCRIPT = """\
import torch
import torch.nn as nn

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]

for epoch in range(3):
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
"""
LOOP_LINE = 8  # 0-based line of `for epoch in range(3):`
COMMAND = "nnlint.insertOverfitCheck"


def notebook_capabilities() -> t.ClientCapabilities:
    caps = capabilities()
    caps.notebook_document = t.NotebookDocumentClientCapabilities(
        synchronization=t.NotebookDocumentSyncClientCapabilities(dynamic_registration=False)
    )
    return caps


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    lsp_client.init_result = await initialize(  # type: ignore[attr-defined]
        lsp_client, root, caps=notebook_capabilities(), options={"debounceMs": 30}
    )
    lsp_client.lens_refreshes = 0  # type: ignore[attr-defined]
    answer_lens_refresh(lsp_client)
    yield
    await lsp_client.shutdown_session()


def uri(client: LanguageClient, name: str) -> str:
    return (client.root / name).as_uri()  # type: ignore[attr-defined]


async def lenses(client: LanguageClient, doc_uri: str) -> list[t.CodeLens]:
    return list(
        await client.text_document_code_lens_async(t.CodeLensParams(text_document=t.TextDocumentIdentifier(uri=doc_uri)))
        or []
    )


async def execute(client: LanguageClient, command: t.Command) -> tuple[object, list[t.ApplyWorkspaceEditParams]]:
    before = len(client.applied_edits)  # type: ignore[attr-defined]
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    return result, client.applied_edits[before:]  # type: ignore[attr-defined]


def test_capabilities(client: LanguageClient) -> None:
    caps = client.init_result.capabilities  # type: ignore[attr-defined]
    assert caps.code_lens_provider is not None
    assert COMMAND in caps.execute_command_provider.commands
    assert "refactor.insert" in caps.code_action_provider.code_action_kinds


async def test_lens_above_the_loop_in_a_python_file_inserts_the_check(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "train.py"), SCRIPT).open()
    before = await wait_diagnostics(client, doc.uri, version=1)
    assert all(d.code != "NN501" for d in before)  # the note stays off by default
    found = await lenses(client, doc.uri)
    assert len(found) == 1
    lens = found[0]
    assert lens.range.start == t.Position(LOOP_LINE, 0)
    assert lens.command is not None and lens.command.title == "Overfit one batch first"
    assert lens.command.command == COMMAND
    assert list(lens.command.arguments) == [{"uri": doc.uri, "version": 1, "line": LOOP_LINE}]
    result, applied = await execute(client, lens.command)
    assert result == {"applied": True, "uri": doc.uri}
    assert len(applied) == 1
    doc.apply_workspace_edit(applied[0].edit)
    lines = doc.text.splitlines()
    assert lines[LOOP_LINE] == MARKER_START
    end = lines.index(MARKER_END)
    assert lines[end + 1] == "for epoch in range(3):"
    assert "        optimizer.zero_grad()" in lines[LOOP_LINE:end]  # the loop's own statements
    assert doc.text.endswith(SCRIPT[SCRIPT.index("for epoch") :])
    assert doc.text.startswith(SCRIPT[: SCRIPT.index("for epoch")])
    after = await wait_diagnostics(client, doc.uri, version=2)
    assert after == []  # the inserted check brings no diagnostics of its own
    assert await lenses(client, doc.uri) == []  # the loop has its check now
    doc.close()


async def test_refactor_action_on_the_loop_line(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "action.py"), SCRIPT).open()
    await wait_diagnostics(client, doc.uri, version=1)

    async def actions(line: int, only: list[str] | None = None) -> list[t.CodeAction]:
        rng = t.Range(start=t.Position(line, 2), end=t.Position(line, 2))
        result = await client.text_document_code_action_async(
            t.CodeActionParams(text_document=doc.ident, range=rng, context=t.CodeActionContext(diagnostics=[], only=only))
        )
        return [a for a in result or [] if isinstance(a, t.CodeAction)]

    on_loop = await actions(LOOP_LINE)
    assert [(a.kind, a.title) for a in on_loop] == [("refactor.insert", "nnlint: Overfit one batch first")]
    assert on_loop[0].edit is not None  # an edit: no round trip through executeCommand
    assert await actions(LOOP_LINE, only=["refactor"]) != []
    assert await actions(LOOP_LINE, only=[t.CodeActionKind.QuickFix]) == []
    assert await actions(LOOP_LINE, only=["source.fixAll"]) == []  # never through fix-all
    assert await actions(3) == []  # not on other lines
    doc.apply_workspace_edit(on_loop[0].edit)
    assert doc.text.splitlines()[LOOP_LINE] == MARKER_START
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    assert await actions(LOOP_LINE) == []  # the loop has its check now
    doc.close()


async def test_a_stale_lens_is_refused(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "stale.py"), SCRIPT).open()
    await wait_diagnostics(client, doc.uri, version=1)
    lens = (await lenses(client, doc.uri))[0]
    doc.insert(t.Position(0, 0), "\n")
    result, applied = await execute(client, lens.command)  # type: ignore[arg-type]
    assert result == {"applied": False, "reason": "the document changed"}
    assert applied == []
    # a line without a loop: nothing applied, the user is told
    command = t.Command(title="x", command=COMMAND, arguments=[{"uri": doc.uri, "version": 2, "line": 1}])
    result, applied = await execute(client, command)
    assert result["applied"] is False and applied == []  # type: ignore[index]
    doc.close()


async def test_lens_in_a_notebook_cell_uses_earlier_cells(client: LanguageClient) -> None:
    fixed_loop = CELLS[3][1].replace("        loss = loss_fn", "        optimizer.zero_grad()\n        loss = loss_fn")
    nb = ClientNotebook(client, "lens.ipynb", [*CELLS[:3], ("code", fixed_loop)]).open()
    loop_cell = nb.cells[3]
    assert await cell_diagnostics(client, loop_cell) == []
    assert await lenses(client, nb.cells[1].uri) == []  # the setup cell has no loop
    found = await lenses(client, loop_cell.uri)
    assert len(found) == 1
    lens = found[0]
    assert lens.range.start == t.Position(1, 0)  # `for epoch ...`, below the %timeit line
    assert lens.command is not None
    assert list(lens.command.arguments) == [{"uri": loop_cell.uri, "version": 1, "line": 1}]
    result, applied = await execute(client, lens.command)
    assert result == {"applied": True, "uri": loop_cell.uri}
    edit = applied[0].edit
    assert [c.text_document.uri for c in edit.document_changes] == [loop_cell.uri]  # type: ignore[union-attr]
    nb.apply_workspace_edit(edit)
    lines = loop_cell.text.splitlines()
    assert lines[0] == "%timeit 1 + 1" and lines[1] == MARKER_START
    assert "    _nnlint_batch = next(iter(loader))" in lines  # the loader from the setup cell
    assert loop_cell.text.endswith(fixed_loop[fixed_loop.index("for epoch") :])
    assert await cell_diagnostics(client, loop_cell) == []
    assert [c.text for c in nb.cells[:3]] == [text for _, text in CELLS[:3]]
    assert await lenses(client, loop_cell.uri) == []
    nb.close()


async def test_the_check_keeps_the_cells_existing_findings_only(client: LanguageClient) -> None:
    nb = ClientNotebook(client, "buggy-lens.ipynb", CELLS).open()
    loop_cell = nb.cells[3]
    before = await cell_diagnostics(client, loop_cell)
    assert [d.code for d in before] == ["NN101"]
    lens = (await lenses(client, loop_cell.uri))[0]
    _, applied = await execute(client, lens.command)  # type: ignore[arg-type]
    nb.apply_workspace_edit(applied[0].edit)
    after = await cell_diagnostics(client, loop_cell)
    assert [d.code for d in after] == ["NN101"]  # the loop's own bug, moved below the check
    assert after[0].range.start.line == before[0].range.start.line + loop_cell.text.count("\n") - 6
    nb.close()


async def test_lenses_moved_by_another_cell_are_refreshed(client: LanguageClient) -> None:
    nb = ClientNotebook(client, "refresh.ipynb", CELLS).open()
    await cell_diagnostics(client, nb.cells[3])
    refreshes = client.lens_refreshes  # type: ignore[attr-defined]
    nb.replace(1, "loss_fn = nn.CrossEntropyLoss()", "loss_fn = nn.CrossEntropyLoss()\nnot_a_loop = 1")
    await cell_diagnostics(client, nb.cells[1])
    await asyncio.sleep(0.2)
    assert client.lens_refreshes == refreshes  # type: ignore[attr-defined]  # no lens moved
    # a new cell with a training loop: its lens appears without the client asking
    nb.splice(4, 0, [("code", "for x, y in loader:\n    optimizer.zero_grad()\n    loss = loss_fn(model(x), y)\n    loss.backward()\n    optimizer.step()\n")])
    await cell_diagnostics(client, nb.cells[4])
    for _ in range(100):
        if client.lens_refreshes > refreshes:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.02)
    assert client.lens_refreshes == refreshes + 1  # type: ignore[attr-defined]
    assert [lens.range.start.line for lens in await lenses(client, nb.cells[4].uri)] == [0]
    nb.close()


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def ko_client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws-ko")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, locale="ko-KR")
    yield
    await lsp_client.shutdown_session()


async def test_korean_lens_title(ko_client: LanguageClient) -> None:
    doc = ClientDoc(ko_client, uri(ko_client, "ko.py"), SCRIPT).open()
    await wait_diagnostics(ko_client, doc.uri, version=1)
    found = await lenses(ko_client, doc.uri)
    assert [lens.command.title for lens in found] == ["먼저 배치 하나로 과적합 확인하기"]  # type: ignore[union-attr]
    await asyncio.sleep(0)
    assert published(ko_client, doc.uri)
    doc.close()
