"""The server under abuse (issue 8): requests for documents never opened, positions out of
range, stale and duplicate versions, 10,000 rapid edits, 200 open documents, notebook cells
added and removed mid-analysis, settings of the wrong types. After each, the server still
answers a normal request."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient
from test_notebooks import CELLS, ClientNotebook, answer_lens_refresh, notebook_capabilities

FIXED = "p=0.5, training=self.training)"
NEVER = "file:///never/opened/anywhere.py"


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("abuse")
    lsp_client.root = root  # type: ignore[attr-defined]
    answer_lens_refresh(lsp_client)
    await initialize(lsp_client, root, caps=notebook_capabilities(), options={"debounceMs": 0})
    yield
    await lsp_client.shutdown_session()


async def still_serving(client: LanguageClient, name: str = "alive.py") -> None:
    """Open a buggy file, get its finding, hover it, close it."""
    uri = (client.root / name).as_uri()  # type: ignore[attr-defined]
    before = len(published(client, uri))
    doc = ClientDoc(client, uri, BUGGY).open()
    try:
        diagnostics = await wait_diagnostics(client, doc.uri, version=1, after=before)
        assert [d.code for d in diagnostics] == ["NN203"]
        hover = await asyncio.wait_for(
            client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 2))), 5
        )
        assert hover is not None and "NN203" in hover.contents.value  # type: ignore[union-attr]
    finally:
        doc.close()


async def quiet(client: LanguageClient, uri: str, for_s: float = 0.4, timeout: float = 30.0) -> t.PublishDiagnosticsParams:
    """The last publish for `uri` once none has arrived for `for_s`."""
    deadline = time.monotonic() + timeout
    count, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = len(published(client, uri))
        if now != count:
            count, since = now, time.monotonic()
        elif now and time.monotonic() - since >= for_s:
            return published(client, uri)[-1]
        await asyncio.sleep(0.02)
    raise AssertionError(f"publishes for {uri} never settled")


# ------------------------------------------------------------ never opened
async def test_requests_for_documents_never_opened_get_empty_results(client: LanguageClient) -> None:
    ident = t.TextDocumentIdentifier(uri=NEVER)
    origin = t.Position(0, 0)
    assert await client.text_document_hover_async(t.HoverParams(text_document=ident, position=origin)) is None
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=ident, range=t.Range(start=origin, end=origin), context=t.CodeActionContext(diagnostics=[])
        )
    )
    assert not actions and actions is not None
    lenses = await client.text_document_code_lens_async(t.CodeLensParams(text_document=ident))
    assert not lenses and lenses is not None
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.applyFixAll", arguments=[NEVER])
    )
    assert result == {"applied": False, "edits": 0}
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.insertOverfitCheck", arguments=[{"uri": NEVER, "version": 1, "line": 0}])
    )
    assert result["applied"] is False
    await still_serving(client)


# ------------------------------------------------------------ out of range
async def test_positions_out_of_range(client: LanguageClient) -> None:
    doc = ClientDoc(client, (client.root / "range.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    lines = BUGGY.count("\n")
    for position in (t.Position(lines + 50, 0), t.Position(0, 10_000), t.Position(lines, 3), t.Position(10**6, 10**6)):
        hover = await client.text_document_hover_async(t.HoverParams(text_document=doc.ident, position=position))
        assert hover is None, position
        actions = await client.text_document_code_action_async(
            t.CodeActionParams(
                text_document=doc.ident,
                range=t.Range(start=position, end=t.Position(position.line + 5, position.character + 5)),
                context=t.CodeActionContext(diagnostics=[]),
            )
        )
        assert actions is not None
        assert not any(a.kind == t.CodeActionKind.QuickFix for a in actions), position
    # an inverted range, and a range covering everything and more
    for start, end in ((t.Position(10, 0), t.Position(2, 0)), (t.Position(0, 0), t.Position(10**6, 0))):
        actions = await client.text_document_code_action_async(
            t.CodeActionParams(text_document=doc.ident, range=t.Range(start=start, end=end), context=t.CodeActionContext(diagnostics=[]))
        )
        assert actions is not None
    # a change whose range lies past the end of the document (clients have sent these)
    doc.version += 1
    client.text_document_did_change(
        t.DidChangeTextDocumentParams(
            text_document=t.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version),
            content_changes=[
                t.TextDocumentContentChangePartial(
                    range=t.Range(start=t.Position(lines + 10, 0), end=t.Position(lines + 12, 4)), text="\n# tail\n"
                )
            ],
        )
    )
    after = await quiet(client, doc.uri)
    assert after.version == doc.version and [d.code for d in after.diagnostics] == ["NN203"]
    doc.close()
    await still_serving(client)


# ------------------------------------------------------------ versions
async def test_stale_and_duplicate_versions_end_with_the_final_text(client: LanguageClient) -> None:
    doc = ClientDoc(client, (client.root / "versions.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)

    def send(version: int, old: str, new: str) -> None:
        change = t.TextDocumentContentChangePartial(range=doc.range_of(old), text=new)
        doc.doc.apply_change(change)
        doc.version = version
        client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=doc.uri, version=version), content_changes=[change]
            )
        )

    send(5, "p=0.5)", FIXED)  # fixed at version 5
    send(3, FIXED, "p=0.5)")  # a stale version: the bug is back
    send(3, "p=0.5)", FIXED)  # the same version again: fixed
    last = await quiet(client, doc.uri)
    assert last.version == 3 and not last.diagnostics
    send(3, FIXED, "p=0.5)")  # and again, buggy
    last = await quiet(client, doc.uri)
    assert last.version == 3 and [d.code for d in last.diagnostics] == ["NN203"]
    # the quick fix offered is for the text as it is now
    diagnostic = last.diagnostics[0]
    actions = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=diagnostic.range, context=t.CodeActionContext(diagnostics=[diagnostic])
        )
    )
    fixes = [a for a in actions or [] if a.is_preferred]
    assert fixes, actions
    doc.apply_workspace_edit(fixes[0].edit)  # type: ignore[arg-type]
    assert FIXED in doc.text and doc.text.count("training=self.training") == 1
    doc.close()
    await still_serving(client)


async def test_ten_thousand_rapid_edits(client: LanguageClient) -> None:
    """Edits sent as fast as the client can write them: the server keeps up, does not
    analyse each one, and publishes the final version's diagnostics."""
    text = BUGGY.replace("import torch.nn as nn\n", "import torch.nn as nn\n# pad\n", 1)
    doc = ClientDoc(client, (client.root / "rapid.py").as_uri(), text).open()  # type: ignore[attr-defined]
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(published(client, doc.uri))
    pad = doc.position("# pad", len("# pad"))
    started = time.monotonic()
    edits = 10_000
    for i in range(edits - 1):
        change = t.TextDocumentContentChangePartial(
            range=t.Range(start=t.Position(pad.line, pad.character + i), end=t.Position(pad.line, pad.character + i)),
            text="x",
        )
        doc.version += 1
        client.text_document_did_change(
            t.DidChangeTextDocumentParams(
                text_document=t.VersionedTextDocumentIdentifier(uri=doc.uri, version=doc.version), content_changes=[change]
            )
        )
        if i % 500 == 0:
            await asyncio.sleep(0)  # let the client's writer drain
    doc.doc = type(doc.doc)(doc.uri, text.replace("# pad", "# pad" + "x" * (edits - 1)), version=doc.version, position_codec=doc.codec)
    doc.insert(t.Position(0, 0), "# top\n")  # the last edit moves the finding down a line
    sent = time.monotonic()
    final = await wait_diagnostics(client, doc.uri, version=edits + 1, timeout=60, after=before)
    done = time.monotonic()
    analysed = len(published(client, doc.uri)) - before
    print(
        f"\n10,000 edits: sent in {sent - started:.2f} s, final diagnostics {done - sent:.2f} s after the last "
        f"({done - started:.2f} s total); {analysed} publishes"
    )
    assert [d.code for d in final] == ["NN203"]
    line = doc.text.splitlines().index(next(l for l in doc.text.splitlines() if CALL in l))
    assert final[0].range.start.line == line
    assert analysed < edits / 10, "queued edits were each analysed"
    assert done - started < 30
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=doc.ident, position=doc.position(CALL, 2))
    )
    assert hover is not None and "NN203" in hover.contents.value  # type: ignore[union-attr]
    doc.close()
    await still_serving(client)


# ------------------------------------------------------------ many documents
async def test_two_hundred_documents_open_at_once(client: LanguageClient) -> None:
    folder = client.root / "many"  # type: ignore[attr-defined]
    docs = []
    started = time.monotonic()
    for i in range(200):
        text = BUGGY if i % 2 == 0 else BUGGY.replace("p=0.5)", FIXED)
        docs.append(ClientDoc(client, (folder / f"m{i:03}.py").as_uri(), text).open())
    for i, doc in enumerate(docs):
        diagnostics = await wait_diagnostics(client, doc.uri, version=1, timeout=60)
        assert [d.code for d in diagnostics] == (["NN203"] if i % 2 == 0 else []), doc.uri
    print(f"\n200 documents: all diagnosed {time.monotonic() - started:.2f} s after the first open")
    await still_serving(client)
    for doc in docs:
        doc.close()
    await still_serving(client)


# ------------------------------------------------------------ notebooks
async def test_notebook_cells_added_and_removed_mid_analysis(client: LanguageClient) -> None:
    long_cell = "".join(f"def helper_{i}(x):\n    return x + {i}\n\n" for i in range(1500))
    nb = ClientNotebook(client, "churn.ipynb", [("code", long_cell), *CELLS]).open()
    removed_uris = []
    for round_ in range(8):  # no waiting: each change lands while the previous analysis runs
        added = [("code", f"value_{round_} = {round_}\n")]
        removed = nb.splice(1, 1, added) if round_ % 2 else []
        if not removed:
            nb.splice(len(nb.cells), 0, added)
        removed_uris += [c.uri for c in removed]
        await asyncio.sleep(0.005)
    loop_cell = next(c for c in nb.cells if c.text == CELLS[3][1])
    last = await quiet(client, loop_cell.uri)
    assert last.version == loop_cell.version
    assert [d.code for d in last.diagnostics] == ["NN101"]
    for cell in nb.cells:
        if cell.kind == "code" and cell.text.startswith("value_"):
            assert not (await quiet(client, cell.uri)).diagnostics
    for uri in removed_uris:  # a removed cell never keeps diagnostics
        got = published(client, uri)
        assert not got or not got[-1].diagnostics, uri
    nb.close()
    await still_serving(client)


# ------------------------------------------------------------ settings
BAD_SETTINGS = {
    "enable": "yes",
    "select": 5,
    "ignore": [1, 2],
    "extendSelect": {"a": 1},
    "severity": [1],
    "options": "fast",
    "run": 3,
    "debounceMs": "soon",
    "showSyntaxErrors": "sometimes",
    "configurationPreference": None,
    "locale": 7,
    "interpreter": 5,
}


@pytest.mark.parametrize("settings", [BAD_SETTINGS, 42, ["select"], "NN2", {"severity": {"NN203": "loud"}}])
async def test_settings_of_the_wrong_types_are_logged_and_defaults_used(client: LanguageClient, settings) -> None:
    logged = len(client.log_messages)
    client.set_configuration(settings, section="nnlint")  # type: ignore[arg-type]
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=settings))
    await still_serving(client, f"settings_{type(settings).__name__}.py")
    keys = [key for key in BAD_SETTINGS if key != "configurationPreference"] if settings == BAD_SETTINGS else []

    def reported() -> bool:
        logs = _all(client)
        if keys:
            return all(any(f"'{key}'" in m for m in logs) for key in keys)
        return any("nnlint" in m for m in logs)

    # The server fetches the new settings (workspace/configuration) while it keeps serving, so
    # its report may follow the diagnostics of the file opened above by a moment.
    for _ in range(100):
        if reported():
            break
        await asyncio.sleep(0.05)
    messages = [m.message for m in client.log_messages[logged:]]
    for key in keys:
        assert any(f"'{key}'" in m for m in _all(client)), (key, messages)
    if not keys:
        assert any("nnlint" in m for m in _all(client)), messages
    client.set_configuration({}, section="nnlint")  # type: ignore[arg-type]
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings={}))
    await still_serving(client)


def _all(client: LanguageClient) -> list[str]:
    return [m.message for m in client.log_messages]


# ------------------------------------------------------------ memory
def rss_mb(client: LanguageClient) -> float:
    status = open(f"/proc/{client._server.pid}/status").read()  # type: ignore[union-attr]
    return int(next(l for l in status.splitlines() if l.startswith("VmRSS:")).split()[1]) / 1024


async def state_sizes(client: LanguageClient) -> dict[str, int]:
    info = await client.workspace_execute_command_async(t.ExecuteCommandParams(command="nnlint.debugInfo"))
    return info["state"]


async def drained(client: LanguageClient, timeout: float = 10.0) -> dict[str, int]:
    """The server's per-document state once every document is closed."""
    deadline = time.monotonic() + timeout
    while True:
        sizes = await state_sizes(client)
        kept = {k: v for k, v in sizes.items() if v and k != "projectIndexes"}
        if not kept or time.monotonic() > deadline:
            return kept
        await asyncio.sleep(0.05)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="reads /proc")
async def test_memory_returns_after_closing_every_document(client: LanguageClient) -> None:
    """Open 20 files of 1,000 lines (diagnostics, lenses, verified fixes), close them all:
    the per-document state is gone and RSS returns to within 20% of where it was after the
    same workload's first round (the warm-up: jedi, rule tables, caches that are per
    process, not per document)."""
    from nnlint.server.bench import training_script

    text = training_script(1000)
    folder = client.root / "memory"  # type: ignore[attr-defined]
    figures = []

    async def round_(name: str) -> None:
        before = rss_mb(client)
        docs = [
            ClientDoc(client, (folder / f"{name}{i:02}.py").as_uri(), text.replace("Block0", f"Block0{name}{i}")).open()
            for i in range(20)
        ]
        for doc in docs:
            await wait_diagnostics(client, doc.uri, version=1, timeout=60)
        for doc in docs:  # lenses fill the lens cache
            await client.text_document_code_lens_async(t.CodeLensParams(text_document=doc.ident))
        for doc in docs[:2]:  # code actions over a whole file fill the verified-fix cache (a few s each)
            await client.text_document_code_action_async(
                t.CodeActionParams(
                    text_document=doc.ident,
                    range=t.Range(start=t.Position(0, 0), end=t.Position(2000, 0)),
                    context=t.CodeActionContext(diagnostics=[]),
                )
            )
        peak = rss_mb(client)
        for doc in docs:
            doc.close()
        assert await drained(client) == {}
        await asyncio.sleep(1.5)  # the server releases memory a second after the last close
        figures.append((before, peak, rss_mb(client)))

    await round_("warm")
    await round_("again")
    (cold, warm_peak, start), (_, peak, after) = figures
    print(
        f"\nRSS: {cold:.1f} MB before, {warm_peak:.1f} MB with 20 x 1,000-line files open, {start:.1f} MB after the "
        f"warm-up round; second round {peak:.1f} MB open, {after:.1f} MB after closing them ({(after / start - 1) * 100:+.0f}%)"
    )
    assert after <= start * 1.2, figures
    await still_serving(client)


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/status"), reason="reads /proc")
async def test_no_leak_over_a_thousand_open_close_cycles(client: LanguageClient) -> None:
    folder = client.root / "cycles"  # type: ignore[attr-defined]
    samples = []
    started = time.monotonic()
    for i in range(1000):
        doc = ClientDoc(client, (folder / f"c{i}.py").as_uri(), BUGGY + f"\nVALUE_{i} = {i}\n").open()
        if i % 3 == 0:
            doc.replace("p=0.5)", FIXED)
        await wait_diagnostics(client, doc.uri, version=doc.version, timeout=20)
        doc.close()
        if i in (99, 999):
            await drained(client)
            samples.append(rss_mb(client))
    growth = samples[1] - samples[0]
    print(
        f"\nRSS over 1,000 open/change/close cycles ({time.monotonic() - started:.1f} s): {samples[0]:.1f} MB after 100, "
        f"{samples[1]:.1f} MB after 1,000 ({growth:+.1f} MB, {growth * 1024 / 900:.1f} KB a cycle)"
    )
    assert await drained(client) == {}
    assert growth < 8, "the server keeps something of every closed document"
    await still_serving(client)
