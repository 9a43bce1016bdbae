"""The server's layout: one module per LSP feature registering its own handlers, no module
over 500 lines, and pygls' private members used only through `pygls_adapter`, each checked
against the installed pygls (so that a pygls upgrade that renames one fails here, not in an
editor)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from pygls.workspace import Workspace
from pygls.workspace.text_document import TextDocument

from nnlint.server import app, pygls_adapter
from nnlint.server.app import create_server
from nnlint.server.core import NnlintServer

SERVER = Path(__file__).resolve().parents[2] / "server"
FEATURES = ("lifecycle", "documents", "notebooks", "diagnostics", "hover", "code_actions", "code_lens", "commands", "workspace")
MAX_LINES = 500


def server_modules() -> list[Path]:
    return sorted(SERVER.rglob("*.py"))


@pytest.mark.parametrize("path", server_modules(), ids=lambda p: str(p.relative_to(SERVER)))
def test_no_server_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"server/{path.relative_to(SERVER)} has {lines} lines; split it by concern"


def test_every_feature_module_registers_its_handlers() -> None:
    assert [m.__name__.rsplit(".", 1)[1] for m in app.FEATURES] == list(FEATURES)
    for name in FEATURES:
        module = importlib.import_module(f"nnlint.server.features.{name}")
        assert callable(getattr(module, "register", None)), f"features/{name}.py has no register(server)"


def test_the_handlers_are_registered_by_their_feature_modules() -> None:
    by_module = {}
    for module in app.FEATURES:
        server = NnlintServer()
        module.register(server)
        registered = set(server.protocol.fm.features) | set(server.protocol.fm.commands)
        if registered:
            by_module[module.__name__.rsplit(".", 1)[1]] = registered
    assert by_module == {
        "lifecycle": {"initialize", "initialized", "shutdown"},
        "documents": {"textDocument/didOpen", "textDocument/didChange", "textDocument/didSave", "textDocument/didClose"},
        "notebooks": {"notebookDocument/didOpen", "notebookDocument/didChange", "notebookDocument/didSave", "notebookDocument/didClose"},
        "hover": {"textDocument/hover"},
        "code_actions": {"textDocument/codeAction"},
        "code_lens": {"textDocument/codeLens"},
        "commands": {"nnlint.applyFixAll", "nnlint.showRuleDocs", "nnlint.debugInfo", "nnlint.insertOverfitCheck"},
        "workspace": {
            "workspace/didChangeConfiguration",
            "workspace/didChangeWatchedFiles",
            "workspace/didChangeWorkspaceFolders",
        },
    }


def test_handlers_only_delegate() -> None:
    """A handler (a function decorated inside `register`) is a few lines: the work lives in
    the module's functions or the server's methods."""
    for name in FEATURES:
        tree = ast.parse((SERVER / "features" / f"{name}.py").read_text(encoding="utf-8"))
        register = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "register")
        for handler in ast.walk(register):
            if isinstance(handler, (ast.FunctionDef, ast.AsyncFunctionDef)) and handler is not register:
                length = handler.end_lineno - handler.lineno + 1 - len(handler.decorator_list)  # type: ignore[operator]
                assert length <= 12, f"features/{name}.py: handler {handler.name} has {length} lines"


def _pygls_class(dotted: str) -> type:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _instances() -> dict[str, object]:
    """A real instance of each pygls class whose private members we use (some of them are
    instance attributes, set in __init__)."""
    server = create_server()
    workspace = Workspace(None)
    from pygls.lsp.client import LanguageClient

    return {
        "pygls.protocol.json_rpc.JsonRPCProtocol": server.protocol,
        "pygls.protocol.language_server.LanguageServerProtocol": server.protocol,
        "pygls.server.JsonRPCServer": server,
        "pygls.workspace.workspace.Workspace": workspace,
        "pygls.workspace.text_document.TextDocument": TextDocument("file:///x.py", "x = 1\n"),
        "pygls.client.JsonRPCClient": LanguageClient("test", "0"),
    }


# The parameters our code passes (positionally) to each private method it calls or overrides.
PARAMETERS = {
    "_send_data": ["data"],
    "_execute_handler": ["msg_id", "handler", "callback", "args", "kwargs"],
    "_handle_response": ["msg_id", "result", "error"],
    "_send_response": ["msg_id", "result", "error"],
    "_create_text_document": ["doc_uri", "source", "version", "language_id"],
    "_apply_incremental_change": ["change"],
    "_apply_full_change": ["change"],
}


def test_every_private_pygls_member_the_adapter_uses_still_exists() -> None:
    instances = _instances()
    for owner, names in pygls_adapter.PRIVATE_MEMBERS.items():
        cls = _pygls_class(owner)
        instance = instances[owner]
        assert isinstance(instance, cls)
        for name in names:
            assert hasattr(instance, name), f"pygls {owner} has no {name} any more: update server/pygls_adapter.py"
            if name in PARAMETERS:
                original = getattr(cls, name)  # pygls' own, not our override
                parameters = [p for p in inspect.signature(original).parameters if p != "self"]
                assert parameters == PARAMETERS[name], f"pygls {owner}.{name}{inspect.signature(original)} changed"


def test_the_adapter_lists_every_private_member_it_touches() -> None:
    """Every `x._name` in pygls_adapter.py that is not our own is in PRIVATE_MEMBERS."""
    listed = {name for names in pygls_adapter.PRIVATE_MEMBERS.values() for name in names}
    tree = ast.parse((SERVER / "pygls_adapter.py").read_text(encoding="utf-8"))
    own = {"_cache", "_cache_key", "_index", "_LINE"}
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
    }
    assert used - own <= listed, f"private pygls members used but not listed: {sorted(used - own - listed)}"


def test_no_other_server_module_touches_a_private_pygls_member() -> None:
    private = {name for names in pygls_adapter.PRIVATE_MEMBERS.values() for name in names}
    offenders = []
    for path in server_modules():
        if path.name == "pygls_adapter.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in private:
                offenders.append(f"server/{path.relative_to(SERVER)}:{node.lineno}: .{node.attr}")
    assert not offenders, "use server/pygls_adapter.py instead:\n" + "\n".join(offenders)


def test_the_server_does_not_import_a_removed_module_or_patch_the_parser() -> None:
    import ast as stdlib_ast

    original = stdlib_ast.parse
    create_server()
    assert stdlib_ast.parse is original, "the standard library's ast.parse was replaced"


def test_python_dash_m_nnlint_server_is_nnlint_server(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    def frame(message: dict) -> bytes:
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    messages = (
        frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}}})
        + frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        + frame({"jsonrpc": "2.0", "method": "exit"})
    )
    done = subprocess.run(
        [sys.executable, "-m", "nnlint.server"], input=messages, capture_output=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert b'"serverInfo"' in done.stdout and b'"hoverProvider"' in done.stdout
