"""Code actions applied through the client and re-checked by the server: quick fixes,
disable-for-this-line, source.fixAll.nnlint, and the nnlint.* commands."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CALL, CONFIG, ClientDoc, initialize, wait_diagnostics
from pytest_lsp import LanguageClient

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.fixes import apply_edits

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "cases"

TWO_BUGS = textwrap.dedent(
    """\
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def forward(self, x):
            x = F.dropout(x, 0.1)
            y = F.dropout2d(x, p=0.2)  # nnlint: disable=NN101
            return x + y
    """
)


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options={"debounceMs": 30})
    yield
    await lsp_client.shutdown_session()


def uri(client: LanguageClient, name: str) -> str:
    return (client.root / name).as_uri()  # type: ignore[attr-defined]


async def actions_for(
    client: LanguageClient, doc: ClientDoc, diagnostics: list[t.Diagnostic], only: list[str] | None = None
) -> list[t.CodeAction]:
    rng = diagnostics[0].range if diagnostics else t.Range(start=t.Position(0, 0), end=t.Position(0, 0))
    result = await client.text_document_code_action_async(
        t.CodeActionParams(
            text_document=doc.ident, range=rng, context=t.CodeActionContext(diagnostics=diagnostics, only=only)
        )
    )
    return [a for a in result or [] if isinstance(a, t.CodeAction)]


async def test_quick_fix_applied_through_the_client_clears_the_finding(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "quick.py"), BUGGY).open()
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    actions = await actions_for(client, doc, diagnostics)
    titles = [a.title for a in actions]
    assert titles[:2] == ["nnlint (NN203): Add training=self.training", "nnlint (NN203): Disable for this line"]
    fix = actions[0]
    assert fix.kind == t.CodeActionKind.QuickFix and fix.is_preferred
    assert fix.diagnostics and fix.diagnostics[0].code == "NN203"
    doc.apply_workspace_edit(fix.edit)
    assert doc.text == BUGGY.replace(CALL, "F.dropout(self.fc(x), p=0.5, training=self.training)")
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.close()


async def test_quick_fix_is_not_offered_for_an_older_version(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "stale.py"), BUGGY).open()
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    doc.insert(t.Position(0, 0), "\n")  # the diagnostic's fix data is for version 1
    actions = await actions_for(client, doc, diagnostics)
    assert [a.title for a in actions if a.kind == t.CodeActionKind.QuickFix] == [
        "nnlint (NN203): Disable for this line"
    ]
    doc.close()


async def test_disable_for_this_line_appends_or_extends_the_comment(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "disable.py"), TWO_BUGS).open()
    diagnostics = await wait_diagnostics(client, doc.uri, version=1)
    assert [d.range.start.line for d in diagnostics] == [6, 7]
    for diagnostic in diagnostics[::-1]:
        actions = await actions_for(client, doc, [diagnostic])
        disable = next(a for a in actions if a.title == "nnlint (NN203): Disable for this line")
        assert disable.kind == t.CodeActionKind.QuickFix and not disable.is_preferred
        doc.apply_workspace_edit(disable.edit)
    lines = doc.text.splitlines()
    assert lines[6] == "        x = F.dropout(x, 0.1)  # nnlint: disable=NN203"
    assert lines[7] == "        y = F.dropout2d(x, p=0.2)  # nnlint: disable=NN101,NN203"
    assert await wait_diagnostics(client, doc.uri, version=3) == []
    doc.close()


async def test_fix_all_applies_every_fix_in_one_edit(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "fixall.py"), TWO_BUGS).open()
    await wait_diagnostics(client, doc.uri, version=1)
    actions = await actions_for(client, doc, [], only=["source.fixAll"])
    assert [a.kind for a in actions] == ["source.fixAll.nnlint"]
    edits = actions[0].edit.document_changes[0].edits
    assert [e.new_text for e in edits] == [", training=self.training"] * 2
    doc.apply_workspace_edit(actions[0].edit)
    assert "F.dropout(x, 0.1, training=self.training)" in doc.text
    assert "F.dropout2d(x, p=0.2, training=self.training)" in doc.text
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    # nothing left to fix: no fix-all action
    assert await actions_for(client, doc, [], only=["source.fixAll.nnlint"]) == []
    # a quick-fix-only request gets no source action
    assert all(a.kind == t.CodeActionKind.QuickFix for a in await actions_for(client, doc, [], only=["quickfix"]))
    doc.close()


async def test_apply_fix_all_command_sends_a_workspace_edit(client: LanguageClient) -> None:
    doc = ClientDoc(client, uri(client, "command.py"), TWO_BUGS).open()
    await wait_diagnostics(client, doc.uri, version=1)
    before = len(client.applied_edits)  # type: ignore[attr-defined]
    result = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.applyFixAll", arguments=[{"uri": doc.uri}])
    )
    assert result == {"applied": True, "edits": 2}
    applied = client.applied_edits[before:]  # type: ignore[attr-defined]
    assert len(applied) == 1
    doc.apply_workspace_edit(applied[0].edit)
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.close()


async def test_show_rule_docs_and_debug_info_commands(client: LanguageClient) -> None:
    docs = await client.workspace_execute_command_async(
        t.ExecuteCommandParams(command="nnlint.showRuleDocs", arguments=["nn203"])
    )
    assert docs["code"] == "NN203" and docs["name"] == "functional-dropout-always-on"
    assert docs["markdown"].startswith("## What it does") and docs["url"].endswith("NN203.md")
    assert (
        await client.workspace_execute_command_async(
            t.ExecuteCommandParams(command="nnlint.showRuleDocs", arguments=["NN999"])
        )
        is None
    )
    info = await client.workspace_execute_command_async(t.ExecuteCommandParams(command="nnlint.debugInfo"))
    assert info["versions"]["nnlint"] and info["versions"]["pygls"] == "2.1.1"
    assert info["positionEncoding"] == "utf-16" and info["diagnosticMode"] == "push"
    assert info["settings"]["global"]["debounce_ms"] == 30
    assert info["interpreter"] and info["timings"]["analyses"] > 0
    assert "NN203" in info["rules"]


def _fixable_corpus_cases() -> list[tuple[str, int]]:
    if not CORPUS.is_dir():
        return []
    cases = []
    for path in sorted(CORPUS.glob("*.py")):
        findings = check_source(path.read_text(encoding="utf-8"), str(path), Settings()).findings
        cases.extend((path.name, i) for i, f in enumerate(findings) if f.fix is not None)
    return cases


CORPUS_FIXES = _fixable_corpus_cases()


@pytest.mark.skipif(not CORPUS_FIXES, reason="no corpus with fixable findings found")
async def test_every_quick_fix_in_the_corpus_applies_through_the_client(client: LanguageClient) -> None:
    """Each fixable finding of every rule: its quick fix, applied by the client, gives the
    engine's own fixed text, and the server's re-check no longer reports it."""
    for number, (name, index) in enumerate(CORPUS_FIXES):
        text = (CORPUS / name).read_text(encoding="utf-8")
        finding = check_source(text, name, Settings()).findings[index]
        doc = ClientDoc(client, uri(client, f"corpus{number}_{name}"), text).open()
        diagnostics = await wait_diagnostics(client, doc.uri, version=1)
        diagnostic = next(
            d
            for d in diagnostics
            if d.code == finding.code
            and d.range.start.line == finding.span.line - 1
            and d.message == finding.message
        )
        actions = await actions_for(client, doc, [diagnostic])
        fix = next(a for a in actions if a.is_preferred)
        assert fix.title == f"nnlint ({finding.code}): {finding.fix.title}"
        doc.apply_workspace_edit(fix.edit)
        assert doc.text == apply_edits(text, finding.fix.edits), f"{name}: {finding.code}"
        after = await wait_diagnostics(client, doc.uri, version=2)
        same = [d for d in after if d.code == finding.code and d.message == finding.message]
        assert len(same) < len([d for d in diagnostics if d.code == finding.code and d.message == finding.message])
        doc.close()
