"""Settings: initializationOptions (wrong types -> a log message and defaults),
workspace/configuration per folder, didChangeConfiguration, [tool.nnlint] in a watched
pyproject.toml, configurationPreference, run onSave, enable, showSyntaxErrors.

One server for the module: the tests change its settings in turn and restore them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as t
from lsp_helpers import BUGGY, CONFIG, ClientDoc, initialize, published, wait_diagnostics
from pytest_lsp import LanguageClient

BAD_OPTIONS = {"debounceMs": "fast", "run": "sometimes", "select": 5, "showSyntaxErrors": "yes", "locale": "en"}


@pytest_lsp.fixture(config=CONFIG, scope="module")
async def client(lsp_client: LanguageClient, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ws")
    (root / "a").mkdir()
    (root / "b").mkdir()
    lsp_client.root = root  # type: ignore[attr-defined]
    await initialize(lsp_client, root, options=BAD_OPTIONS, folders=[root / "a", root / "b"], locale="ko")
    lsp_client.doc_a = ClientDoc(lsp_client, (root / "a" / "net.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    lsp_client.doc_b = ClientDoc(lsp_client, (root / "b" / "net.py").as_uri(), BUGGY).open()  # type: ignore[attr-defined]
    yield
    await lsp_client.shutdown_session()


async def reconfigure(client: LanguageClient, docs: list[ClientDoc], **scoped: dict | None) -> list[list[t.Diagnostic]]:
    """Set the "nnlint" section per scope ("" global, "a", "b" folders), notify the server,
    and return each document's next diagnostics."""
    root: Path = client.root  # type: ignore[attr-defined]
    for scope, value in scoped.items():
        scope_uri = "" if scope == "glob" else (root / scope).as_uri()
        if value is None:  # no folder-specific settings: the client answers with the global ones
            client._configuration.pop(scope_uri, None)
        else:
            client.set_configuration(value, section="nnlint", scope_uri=scope_uri)
    before = {doc.uri: len(published(client, doc.uri)) for doc in docs}
    client.workspace_did_change_configuration(t.DidChangeConfigurationParams(settings=None))
    return [await settled(client, doc.uri, before[doc.uri]) for doc in docs]


async def settled(client: LanguageClient, uri: str, after: int, quiet_s: float = 0.4) -> list[t.Diagnostic]:
    """The diagnostics of `uri` once its publishes stop: a change of settings may be followed
    by more than one analysis (an earlier one still running when the settings arrived), and
    only the last speaks for the new settings."""
    await wait_diagnostics(client, uri, after=after)
    count = len(published(client, uri))
    while True:
        await asyncio.sleep(quiet_s)
        now = len(published(client, uri))
        if now == count:
            return list(published(client, uri)[-1].diagnostics)
        count = now


async def test_wrong_types_are_logged_and_defaults_used(client: LanguageClient) -> None:
    doc_a: ClientDoc = client.doc_a  # type: ignore[attr-defined]
    diagnostics = await wait_diagnostics(client, doc_a.uri, version=1)
    assert [d.code for d in diagnostics] == ["NN203"]  # select=5 ignored: defaults
    logged = "\n".join(m.message for m in client.log_messages)
    for key in ("debounceMs", "run", "select", "showSyntaxErrors"):
        assert f"nnlint setting '{key}' must be" in logged
    info = await client.workspace_execute_command_async(t.ExecuteCommandParams(command="nnlint.debugInfo"))
    assert info["settings"]["global"]["debounce_ms"] == 250 and info["settings"]["global"]["run"] == "onType"
    # the locale setting ("en") overrides the client's locale ("ko")
    hover = await client.text_document_hover_async(
        t.HoverParams(text_document=doc_a.ident, position=diagnostics[0].range.start)
    )
    assert "### Related lines" in hover.contents.value


async def test_per_folder_settings_from_workspace_configuration(client: LanguageClient) -> None:
    docs = [client.doc_a, client.doc_b]  # type: ignore[attr-defined]
    a, b = await reconfigure(client, docs, glob={}, b={"ignore": ["NN2"]})
    assert [d.code for d in a] == ["NN203"] and b == []
    a, b = await reconfigure(client, docs, glob={"severity": {"NN2": "error"}}, b=None)
    assert [d.severity for d in a] == [t.DiagnosticSeverity.Error]
    assert [d.severity for d in b] == [t.DiagnosticSeverity.Error]
    a, b = await reconfigure(client, docs, glob={"severity": {"NN2": "error", "NN203": "hint"}}, b={"enable": False})
    assert [d.severity for d in a] == [t.DiagnosticSeverity.Hint] and b == []
    # a bad value in the editor: logged, that key falls back to its default
    a, _ = await reconfigure(client, docs, glob={"severity": {"NN203": "loud"}}, b={})
    assert [d.severity for d in a] == [t.DiagnosticSeverity.Warning]
    assert any("severity for NN203" in m.message for m in client.log_messages)
    await reconfigure(client, docs, glob={}, b={})


async def test_pyproject_is_watched_and_preference_applies(client: LanguageClient) -> None:
    doc_a: ClientDoc = client.doc_a  # type: ignore[attr-defined]
    root: Path = client.root  # type: ignore[attr-defined]
    watchers = [r for r in client.registrations if r.method == t.WORKSPACE_DID_CHANGE_WATCHED_FILES]  # type: ignore[attr-defined]
    assert watchers and watchers[0].register_options["watchers"][0]["globPattern"] == "**/pyproject.toml"
    pyproject = root / "a" / "pyproject.toml"

    async def write(text: str) -> list[t.Diagnostic]:
        before = len(published(client, doc_a.uri))
        pyproject.write_text(text, encoding="utf-8")
        client.workspace_did_change_watched_files(
            t.DidChangeWatchedFilesParams(
                changes=[t.FileEvent(uri=pyproject.as_uri(), type=t.FileChangeType.Changed)]
            )
        )
        return await wait_diagnostics(client, doc_a.uri, after=before)

    assert await write('[tool.nnlint]\nignore = ["NN203"]\n') == []
    diagnostics = await write('[tool.nnlint]\nseverity = { NN203 = "error" }\n')
    assert [d.severity for d in diagnostics] == [t.DiagnosticSeverity.Error]
    # editorFirst (default): the editor's severity wins over the file's
    (diagnostics,) = await reconfigure(client, [doc_a], glob={"severity": {"NN203": "hint"}})
    assert [d.severity for d in diagnostics] == [t.DiagnosticSeverity.Hint]
    (diagnostics,) = await reconfigure(
        client, [doc_a], glob={"severity": {"NN203": "hint"}, "configurationPreference": "filesystemFirst"}
    )
    assert [d.severity for d in diagnostics] == [t.DiagnosticSeverity.Error]
    (diagnostics,) = await reconfigure(client, [doc_a], glob={"configurationPreference": "editorOnly"})
    assert [d.severity for d in diagnostics] == [t.DiagnosticSeverity.Warning]
    # a broken pyproject: a message, the editor settings still apply
    (diagnostics,) = await reconfigure(client, [doc_a], glob={})
    diagnostics = await write("[tool.nnlint\n")
    assert [d.code for d in diagnostics] == ["NN203"]
    assert any("pyproject.toml" in m.message and "ignoring" in m.message for m in client.log_messages)
    pyproject.unlink()
    await write("")  # no [tool.nnlint] at all
    pyproject.unlink()


async def test_run_on_save_and_syntax_errors_setting(client: LanguageClient) -> None:
    root: Path = client.root  # type: ignore[attr-defined]
    await reconfigure(client, [client.doc_a], glob={"run": "onSave", "debounceMs": 0})  # type: ignore[attr-defined]
    doc = ClientDoc(client, (root / "a" / "save.py").as_uri(), BUGGY).open()
    assert [d.code for d in await wait_diagnostics(client, doc.uri, version=1)] == ["NN203"]
    doc.replace("p=0.5)", "p=0.5, training=self.training)")
    await asyncio.sleep(0.3)
    assert [p.version for p in published(client, doc.uri)] == [1]  # not analysed on type
    doc.save()
    assert await wait_diagnostics(client, doc.uri, version=2) == []
    doc.close()

    await reconfigure(client, [client.doc_a], glob={"showSyntaxErrors": True, "debounceMs": 0})  # type: ignore[attr-defined]
    doc = ClientDoc(client, (root / "a" / "syntax.py").as_uri(), BUGGY).open()
    await wait_diagnostics(client, doc.uri, version=1)
    doc.replace("return x", "return (x")
    diagnostics = await wait_diagnostics(client, doc.uri, version=2)
    assert sorted(d.code for d in diagnostics) == ["NN000", "NN203"]
    nn000 = next(d for d in diagnostics if d.code == "NN000")
    # the client speaks Korean (locale "ko") and no locale or language setting is left: Korean
    assert nn000.severity == t.DiagnosticSeverity.Error and "구문 오류" in nn000.message
    doc.close()
    await reconfigure(client, [client.doc_a], glob={})  # type: ignore[attr-defined]
