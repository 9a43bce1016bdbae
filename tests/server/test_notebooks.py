"""Notebook documents over the real protocol: cells analysed together as one program,
diagnostics per cell at cell-relative positions, edits, added and removed cells, hover,
quick fix and notebook fix-all in cells, didSave/didClose."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import CONFIG, capabilities, initialize, published, wait_diagnostics
from pygls.workspace.position_codec import PositionCodec
from pygls.workspace.text_document import TextDocument
from pytest_lsp import LanguageClient

CELL_IMPORTS = "!pip install x\nimport torch\nimport torch.nn as nn\n"
CELL_SETUP = (
    "model = nn.Linear(4, 2)\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "loss_fn = nn.CrossEntropyLoss()\n"
    "loader = [(torch.randn(8, 4), torch.randint(0, 2, (8,)))]\n"
)
CELL_MARKDOWN = "# Training\n\nThe loop below forgets `zero_grad`.\n"
CELL_LOOP = (
    "%timeit 1 + 1\n"
    "for epoch in range(3):\n"
    "    for x, y in loader:\n"
    "        loss = loss_fn(model(x), y)\n"
    "        loss.backward()\n"
    "        optimizer.step()\n"
)
CELLS = [("code", CELL_IMPORTS), ("code", CELL_SETUP), ("markdown", CELL_MARKDOWN), ("code", CELL_LOOP)]


def notebook_capabilities() -> t.ClientCapabilities:
    caps = capabilities()
    caps.notebook_document = t.NotebookDocumentClientCapabilities(
        synchronization=t.NotebookDocumentSyncClientCapabilities(dynamic_registration=False)
    )
    return caps


def answer_lens_refresh(client: LanguageClient) -> None:
    """VS Code's capabilities claim codeLens refresh support; answer like it does."""

    @client.feature(t.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params: None) -> None:
        client.lens_refreshes = getattr(client, "lens_refreshes", 0) + 1  # type: ignore[attr-defined]


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    answer_lens_refresh(lsp_client)
    result = await initialize(lsp_client, root, caps=notebook_capabilities(), options={"debounceMs": 30})
    lsp_client.init_result = result  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


class ClientCell:
    def __init__(self, uri: str, kind: str, text: str, language: str) -> None:
        self.uri, self.kind, self.language = uri, kind, language
        self.version = 1
        self.doc = TextDocument(uri, text, version=1, position_codec=PositionCodec("utf-16"))

    @property
    def text(self) -> str:
        return self.doc.source

    def item(self) -> t.TextDocumentItem:
        return t.TextDocumentItem(uri=self.uri, language_id=self.language, version=self.version, text=self.text)

    def cell(self) -> t.NotebookCell:
        kind = t.NotebookCellKind.Code if self.kind == "code" else t.NotebookCellKind.Markup
        return t.NotebookCell(kind=kind, document=self.uri)

    def position(self, needle: str, offset: int = 0) -> t.Position:
        return self.doc.client_position_at_offset(self.text.index(needle) + offset)


class ClientNotebook:
    """The client's copy of an open notebook: cells are text documents with their own
    versions; every change goes out as notebookDocument/didChange."""

    def __init__(self, client: LanguageClient, name: str, cells: list[tuple[str, str]]) -> None:
        self.client = client
        self.uri = (client.root / name).as_uri()  # type: ignore[attr-defined]
        self.version = 1
        self.counter = 0
        self.cells = [self.new_cell(kind, text) for kind, text in cells]

    def new_cell(self, kind: str, text: str) -> ClientCell:
        self.counter += 1
        path = self.uri.split(":", 1)[1]
        return ClientCell(
            f"vscode-notebook-cell:{path}#W{self.counter}sZmlsZQ%3D%3D",
            kind,
            text,
            "python" if kind == "code" else "markdown",
        )

    def open(self) -> "ClientNotebook":
        self.client.notebook_document_did_open(
            t.DidOpenNotebookDocumentParams(
                notebook_document=t.NotebookDocument(
                    uri=self.uri,
                    notebook_type="jupyter-notebook",
                    version=self.version,
                    cells=[c.cell() for c in self.cells],
                ),
                cell_text_documents=[c.item() for c in self.cells],
            )
        )
        return self

    def _send(self, change: t.NotebookDocumentChangeEvent) -> None:
        self.version += 1
        self.client.notebook_document_did_change(
            t.DidChangeNotebookDocumentParams(
                notebook_document=t.VersionedNotebookDocumentIdentifier(uri=self.uri, version=self.version),
                change=change,
            )
        )

    def edit(self, index: int, edits: list[t.TextEdit]) -> None:
        """Apply text edits to one cell and send them (one incremental change each)."""
        self.edit_many({index: edits})

    def edit_many(self, edits_by_index: dict[int, list[t.TextEdit]]) -> None:
        contents = []
        for index, edits in edits_by_index.items():
            cell = self.cells[index]
            changes = []
            for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
                change = t.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                cell.doc.apply_change(change)
                changes.append(change)
            cell.version += 1
            contents.append(
                t.NotebookDocumentCellContentChanges(
                    document=t.VersionedTextDocumentIdentifier(uri=cell.uri, version=cell.version), changes=changes
                )
            )
        self._send(t.NotebookDocumentChangeEvent(cells=t.NotebookDocumentCellChanges(text_content=contents)))

    def replace(self, index: int, needle: str, new_text: str) -> None:
        cell = self.cells[index]
        start = cell.position(needle)
        end = cell.position(needle, len(needle))
        self.edit(index, [t.TextEdit(range=t.Range(start=start, end=end), new_text=new_text)])

    def splice(self, start: int, delete: int, new: list[tuple[str, str]]) -> list[ClientCell]:
        """Replace `delete` cells at `start` by new cells (structure change)."""
        added = [self.new_cell(kind, text) for kind, text in new]
        removed = self.cells[start : start + delete]
        self.cells[start : start + delete] = added
        self._send(
            t.NotebookDocumentChangeEvent(
                cells=t.NotebookDocumentCellChanges(
                    structure=t.NotebookDocumentCellChangeStructure(
                        array=t.NotebookCellArrayChange(
                            start=start, delete_count=delete, cells=[c.cell() for c in added]
                        ),
                        did_open=[c.item() for c in added] or None,
                        did_close=[t.TextDocumentIdentifier(uri=c.uri) for c in removed] or None,
                    )
                )
            )
        )
        return removed

    def save(self) -> None:
        self.client.notebook_document_did_save(
            t.DidSaveNotebookDocumentParams(notebook_document=t.NotebookDocumentIdentifier(uri=self.uri))
        )

    def close(self) -> None:
        self.client.notebook_document_did_close(
            t.DidCloseNotebookDocumentParams(
                notebook_document=t.NotebookDocumentIdentifier(uri=self.uri),
                cell_text_documents=[t.TextDocumentIdentifier(uri=c.uri) for c in self.cells],
            )
        )

    def apply_workspace_edit(self, edit: t.WorkspaceEdit) -> None:
        by_index: dict[int, list[t.TextEdit]] = {}
        index_of = {c.uri: i for i, c in enumerate(self.cells)}
        for uri, edits in (edit.changes or {}).items():
            by_index.setdefault(index_of[uri], []).extend(edits)
        for change in edit.document_changes or []:
            assert isinstance(change, t.TextDocumentEdit)
            index = index_of[change.text_document.uri]
            assert change.text_document.version in (None, self.cells[index].version), "edit for an older version"
            by_index.setdefault(index, []).extend(change.edits)  # type: ignore[arg-type]
        self.edit_many(by_index)


async def cell_diagnostics(client: LanguageClient, cell: ClientCell, timeout: float = 10.0) -> list[t.Diagnostic]:
    return await wait_diagnostics(client, cell.uri, version=cell.version, timeout=timeout)


async def open_buggy(client: LanguageClient, name: str) -> tuple[ClientNotebook, list[t.Diagnostic]]:
    nb = ClientNotebook(client, name, CELLS).open()
    diagnostics = await cell_diagnostics(client, nb.cells[3])
    return nb, diagnostics


def test_notebook_sync_is_advertised(client: LanguageClient) -> None:
    sync = client.init_result.capabilities.notebook_document_sync  # type: ignore[attr-defined]
    assert sync is not None and sync.save
    types = {f.notebook for f in sync.notebook_selector}
    assert types == {"jupyter-notebook", "interactive"}
    assert all([c.language for c in f.cells] == ["python"] for f in sync.notebook_selector)
    assert "nnlint.insertOverfitCheck" in client.init_result.capabilities.execute_command_provider.commands  # type: ignore[attr-defined]


async def test_cells_are_one_program_with_cell_relative_positions(client: LanguageClient) -> None:
    nb, diagnostics = await open_buggy(client, "spread.ipynb")
    assert [d.code for d in diagnostics] == ["NN101"]
    d = diagnostics[0]
    # on `loss.backward()`, line 4 (0-based) of the loop cell, after the masked %timeit line
    assert d.range == t.Range(start=t.Position(4, 8), end=t.Position(4, 23))
    assert "optimizer" in d.message and "(line 6)" in d.message
    related = {r.message: r.location for r in d.related_information or []}
    created = next(loc for msg, loc in related.items() if "created here" in msg)
    assert created.uri == nb.cells[1].uri  # points into the setup cell, in its own lines
    assert created.range.start == t.Position(1, 12)
    assert "(cell 2)" in next(msg for msg in related if "created here" in msg)
    loop_related = next(loc for msg, loc in related.items() if "never clears" in msg)
    assert loop_related.uri == nb.cells[3].uri and loop_related.range.start.line == 2
    # every code cell gets its own (empty) publish; the markdown cell none
    assert await cell_diagnostics(client, nb.cells[0]) == []
    assert await cell_diagnostics(client, nb.cells[1]) == []
    assert published(client, nb.cells[2].uri) == []
    nb.close()


async def test_fixing_a_cell_clears_its_diagnostics(client: LanguageClient) -> None:
    nb, _ = await open_buggy(client, "fixme.ipynb")
    nb.replace(3, "        loss = loss_fn", "        optimizer.zero_grad()\n        loss = loss_fn")
    assert await cell_diagnostics(client, nb.cells[3]) == []
    # breaking another cell (no optimizer any more) changes the loop cell's findings too
    nb.replace(1, "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)", "optimizer = None")
    assert await cell_diagnostics(client, nb.cells[1]) == []
    nb.close()


async def test_a_change_in_another_cell_reanalyses_the_whole_program(client: LanguageClient) -> None:
    fixed_loop = CELL_LOOP.replace("        loss = loss_fn", "        optimizer.zero_grad()\n        loss = loss_fn")
    nb = ClientNotebook(client, "other.ipynb", [("code", CELL_IMPORTS), ("code", CELL_SETUP), ("code", fixed_loop)]).open()
    assert await cell_diagnostics(client, nb.cells[2]) == []
    # a softmax before the cross entropy, written in the setup cell, is reported in the loop cell
    nb.replace(1, "loss_fn = nn.CrossEntropyLoss()", "loss_fn = nn.CrossEntropyLoss()\nsoft = torch.softmax")
    count = len(published(client, nb.cells[2].uri))
    nb.replace(2, "model(x)", "soft(model(x), dim=1)")
    diagnostics = await cell_diagnostics(client, nb.cells[2])
    assert len(published(client, nb.cells[2].uri)) > count
    assert all(d.range.start.line < 7 for d in diagnostics)
    nb.close()


async def test_add_and_remove_cells_mid_analysis(client: LanguageClient) -> None:
    nb, diagnostics = await open_buggy(client, "structure.ipynb")
    assert [d.code for d in diagnostics] == ["NN101"]
    # insert a cell before the loop and right away remove the loop cell (with its finding)
    nb.splice(3, 0, [("code", "print('about to train')\n")])
    removed = nb.splice(4, 1, [])[0]
    new_cell = nb.cells[3]
    assert await cell_diagnostics(client, new_cell) == []
    deadline = time.monotonic() + 10
    while list(published(client, removed.uri)[-1].diagnostics) != []:  # the removed cell is cleared
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    count = len(published(client, removed.uri))
    # the loop comes back as a new cell at the end: its finding is found there again
    nb.splice(4, 0, [("code", CELL_LOOP)])
    again = await cell_diagnostics(client, nb.cells[4])
    assert [d.code for d in again] == ["NN101"] and again[0].range.start == t.Position(4, 8)
    # nothing more for the removed cell's URI
    assert len(published(client, removed.uri)) == count
    # removing the setup cell: the loop cell is re-analysed, the markdown cell never published
    nb.splice(1, 1, [])
    await cell_diagnostics(client, nb.cells[0])
    assert published(client, nb.cells[1].uri) == []  # markdown
    nb.close()


async def test_stale_results_are_never_published_for_a_cell_version(client: LanguageClient) -> None:
    nb, _ = await open_buggy(client, "burst.ipynb")
    cell = nb.cells[3]
    count = len(published(client, cell.uri))
    for i in range(8):
        nb.edit(3, [t.TextEdit(range=t.Range(start=t.Position(0, 0), end=t.Position(0, 0)), new_text=f"# {i}\n")])
        await asyncio.sleep(0.005)
    diagnostics = await cell_diagnostics(client, cell)
    assert [d.range.start.line for d in diagnostics] == [12]
    versions = [p.version for p in published(client, cell.uri)[count:]]
    assert versions and all(v == cell.version for v in versions), versions
    nb.close()


async def test_hover_in_a_cell(client: LanguageClient) -> None:
    nb, diagnostics = await open_buggy(client, "hover.ipynb")
    cell = nb.cells[3]
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=t.TextDocumentIdentifier(uri=cell.uri), position=cell.position("loss.backward", 3))
    )
    assert hover is not None and hover.range == diagnostics[0].range
    value = hover.contents.value
    assert "NN101" in value and "### Why is this bad?" in value
    assert "created here (cell 2)" in value
    # the related line links to its cell (a cell URI already has a fragment: no #L added)
    assert any(f"]({c.uri}): " in value for c in nb.cells), value
    nothing = await client.text_document_hover_async(
        t.HoverParams(text_document=t.TextDocumentIdentifier(uri=nb.cells[1].uri), position=t.Position(0, 2))
    )
    assert nothing is None
    nb.close()


async def code_actions(
    client: LanguageClient, cell: ClientCell, rng: t.Range, diagnostics: list[t.Diagnostic], only: list[str] | None = None
) -> list[t.CodeAction]:
    result = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=t.TextDocumentIdentifier(uri=cell.uri),
            range=rng,
            context=t.CodeActionContext(diagnostics=diagnostics, only=only),
        )
    )
    return [a for a in result or [] if isinstance(a, t.CodeAction)]


async def test_quick_fix_in_a_cell_edits_only_that_cell(client: LanguageClient) -> None:
    nb, diagnostics = await open_buggy(client, "quickfix.ipynb")
    cell = nb.cells[3]
    actions = await code_actions(client, cell, diagnostics[0].range, diagnostics)
    fixes = [a for a in actions if a.kind == t.CodeActionKind.QuickFix]
    assert [a.title for a in fixes] == [
        "nnlint (NN101): Insert optimizer.zero_grad()",
        "nnlint (NN101): Disable for this line",
    ]
    edit = fixes[0].edit
    assert edit is not None and edit.document_changes is not None
    assert [c.text_document.uri for c in edit.document_changes] == [cell.uri]  # type: ignore[union-attr]
    assert edit.document_changes[0].text_document.version == cell.version  # type: ignore[union-attr]
    nb.apply_workspace_edit(edit)
    assert cell.text == CELL_LOOP.replace("        loss = loss_fn", "        optimizer.zero_grad()\n        loss = loss_fn")
    assert await cell_diagnostics(client, cell) == []
    assert [c.text for c in nb.cells[:3]] == [text for _, text in CELLS[:3]]
    nb.close()


async def test_a_fix_that_would_span_cells_or_touch_magics_is_never_offered(client: LanguageClient) -> None:
    # the loop sits right after a magic line: the zero_grad insertion is in the loop's
    # cell and offered; a fix whose edit lands on the masked %timeit line is not
    loop = "%timeit 1\nfor x, y in loader:\n    loss = loss_fn(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
    nb = ClientNotebook(client, "magic.ipynb", [("code", CELL_IMPORTS), ("code", CELL_SETUP), ("code", loop)]).open()
    diagnostics = await cell_diagnostics(client, nb.cells[2])
    assert [d.code for d in diagnostics] == ["NN101"]
    for d in diagnostics:
        fix = (d.data or {}).get("fix")
        if fix:
            for e in fix["edits"]:
                assert e["range"]["start"]["line"] != 0  # never the magic line
    nb.close()


async def test_notebook_fix_all_edits_several_cells_once(client: LanguageClient) -> None:
    dropout_cell = (
        "import torch.nn.functional as F\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(4, 2)\n\n"
        "    def forward(self, x):\n        return F.dropout(self.fc(x), p=0.5)\n"
    )
    cells = [("code", CELL_IMPORTS), ("code", dropout_cell), *CELLS[1:]]
    nb = ClientNotebook(client, "fixall.ipynb", cells).open()
    loop_cell, net_cell = nb.cells[4], nb.cells[1]
    assert [d.code for d in await cell_diagnostics(client, loop_cell)] == ["NN101"]
    assert [d.code for d in await cell_diagnostics(client, net_cell)] == ["NN203"]
    # requested once, on the first cell, as VS Code does for notebook.* kinds
    first = nb.cells[0]
    empty = t.Range(start=t.Position(0, 0), end=t.Position(0, 0))
    actions = await code_actions(client, first, empty, [], only=["notebook.source.fixAll"])
    assert [a.kind for a in actions] == ["notebook.source.fixAll.nnlint"]
    edit = actions[0].edit
    assert edit is not None and edit.document_changes is not None
    uris = [c.text_document.uri for c in edit.document_changes]  # type: ignore[union-attr]
    assert sorted(uris) == sorted([net_cell.uri, loop_cell.uri])
    nb.apply_workspace_edit(edit)
    assert "training=self.training" in net_cell.text
    assert "optimizer.zero_grad()" in loop_cell.text
    assert await cell_diagnostics(client, net_cell) == []
    assert await cell_diagnostics(client, loop_cell) == []
    # nothing left to fix: no action; plain quick-fix requests never get the notebook kind
    assert await code_actions(client, first, empty, [], only=["notebook.source.fixAll"]) == []
    assert all(a.kind != "notebook.source.fixAll.nnlint" for a in await code_actions(client, loop_cell, empty, []))
    nb.close()


async def test_fix_all_command_with_a_notebook_uri(client: LanguageClient) -> None:
    nb, _ = await open_buggy(client, "command.ipynb")
    before = len(client.applied_edits)  # type: ignore[attr-defined]
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.applyFixAll", arguments=[{"uri": nb.uri}])
    )
    assert result == {"applied": True, "edits": 1}
    applied = client.applied_edits[before:]  # type: ignore[attr-defined]
    assert len(applied) == 1
    nb.apply_workspace_edit(applied[0].edit)
    assert await cell_diagnostics(client, nb.cells[3]) == []
    nb.close()


async def test_save_and_close(client: LanguageClient) -> None:
    nb, diagnostics = await open_buggy(client, "close.ipynb")
    assert diagnostics
    loop_cell = nb.cells[3]
    count = len(published(client, loop_cell.uri))
    nb.save()
    await wait_diagnostics(client, loop_cell.uri, version=loop_cell.version, after=count)
    count = len(published(client, loop_cell.uri))
    nb.close()
    assert await wait_diagnostics(client, loop_cell.uri, after=count) == []
    for cell in (nb.cells[0], nb.cells[1]):
        assert list(published(client, cell.uri)[-1].diagnostics) == []
    # nothing more arrives for the closed notebook's cells
    await asyncio.sleep(0.3)
    assert list(published(client, loop_cell.uri)[-1].diagnostics) == []


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def on_save_client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws-onsave")
    lsp_client.root = root  # type: ignore[attr-defined]
    answer_lens_refresh(lsp_client)
    await initialize(lsp_client, root, caps=notebook_capabilities(), options={"run": "onSave", "debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def test_run_on_save_analyses_the_notebook_at_save(on_save_client: LanguageClient) -> None:
    client = on_save_client
    nb, _ = await open_buggy(client, "onsave.ipynb")
    cell = nb.cells[3]
    nb.replace(3, "        loss = loss_fn", "        optimizer.zero_grad()\n        loss = loss_fn")
    await asyncio.sleep(0.4)
    assert published(client, cell.uri)[-1].version == 1  # nothing on typing
    nb.save()
    assert await cell_diagnostics(client, cell) == []
    nb.close()
