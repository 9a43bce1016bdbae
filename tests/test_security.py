"""nnlint never imports, executes or evaluates the code it analyses, and a configuration
from an untrusted pyproject.toml can only change rule selection, severities, options and a
cache folder inside its own project.

Each test analyses files whose top level (or whose imported sibling modules) would write
a marker file if anything ran them, through the CLI as a subprocess and through the
language server over a raw JSON-RPC stdio exchange, and asserts the marker never appears.
"""

from __future__ import annotations

import ast
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nnlint.config import ConfigError, Settings, load_pyproject, settings_from_mapping
from nnlint.findings import Severity
from nnlint.server.soak import read_message

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = [ROOT / "src" / "nnlint", ROOT / "rules", ROOT / "server"]


def payload(marker: Path, label: str) -> str:
    """A statement that creates `marker` (with `label` in it) if it is ever executed."""
    return f"open({str(marker)!r}, 'a').write({label!r} + '\\n')"


def hostile_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose every file writes to MARKER when imported or run."""
    project = tmp_path / "project"
    project.mkdir()
    marker = tmp_path / "MARKER"
    write = lambda label: payload(marker, label)  # noqa: E731
    (project / "evil_helpers.py").write_text(f"{write('sibling module imported')}\n\ndef build():\n    return 1\n")
    package = project / "evil_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(f"{write('package imported')}\n")
    (package / "layers.py").write_text(f"{write('package module imported')}\nclass Net: pass\n")
    (project / "conftest.py").write_text(f"{write('conftest imported')}\n")
    (project / "setup.py").write_text(f"{write('setup.py run')}\n")
    (project / "sitecustomize.py").write_text(f"{write('sitecustomize imported')}\n")
    (project / "train.py").write_text(
        f"""\
import torch
import torch.nn as nn
import torch.nn.functional as F
import evil_helpers
from evil_pkg.layers import Net
from evil_pkg import *

{write('top level executed')}
__import__("os").system("touch " + {str(marker)!r} + ".system")


def decorate(f, _=({write('default argument evaluated')})):
    return f


@decorate
class Model(nn.Module):
    marker = {write('class body executed')}

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return F.dropout(self.fc(x), p=0.5)


model = Model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in [(torch.zeros(1, 4), torch.zeros(1))]:
    loss = F.cross_entropy(F.softmax(model(x), dim=1), y)
    loss.backward()
    optimizer.step()

if __name__ == "__main__":
    {write('main block executed')}
"""
    )
    (project / "notebook.ipynb").write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": ["import evil_helpers\n", write("notebook cell executed") + "\n"]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
            }
        )
    )
    return project, marker


def markers(tmp_path: Path) -> list[str]:
    found = []
    for path in tmp_path.iterdir():
        if path.name.startswith("MARKER"):
            found.append(f"{path.name}: {path.read_text() if path.is_file() else ''}")
    return found


def nnlint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # The installed console script, as users and pre-commit run it; `python -m nnlint`
    # is covered separately below.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from nnlint.cli import main; sys.exit(main())", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env=env,
    )


# --------------------------------------------------------------------------- CLI
def test_the_hostile_project_really_writes_the_marker_when_run(tmp_path: Path) -> None:
    """Control: the payloads work, so a missing marker below means nothing ran them."""
    project, marker = hostile_project(tmp_path)
    subprocess.run([sys.executable, "-c", "import evil_helpers, evil_pkg.layers"], cwd=project, timeout=60, check=True)
    assert "sibling module imported" in marker.read_text()
    assert "package module imported" in marker.read_text()


def test_cli_check_never_runs_the_code(tmp_path: Path) -> None:
    project, marker = hostile_project(tmp_path)
    result = nnlint("check", "--isolated", "--format", "json", ".", cwd=project)
    assert result.returncode in (0, 1), result.stderr
    assert "train.py" in result.stdout, "the file should have been analysed"
    assert markers(tmp_path) == []


def test_cli_fix_and_diff_never_run_the_code(tmp_path: Path) -> None:
    project, marker = hostile_project(tmp_path)
    for args in (["--diff"], ["--fix"]):
        result = nnlint("check", "--isolated", *args, ".", cwd=project)
        assert "Traceback" not in result.stderr
    assert markers(tmp_path) == []
    ast.parse((project / "train.py").read_text())


def test_cli_stdin_never_runs_the_code(tmp_path: Path) -> None:
    project, marker = hostile_project(tmp_path)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from nnlint.cli import main; sys.exit(main())",
         "check", "--stdin-filename", "train.py", "--fix"],
        input=(project / "train.py").read_text(), cwd=project, capture_output=True, text=True, timeout=120, env=env,
    )
    assert "Traceback" not in result.stderr
    assert markers(tmp_path) == []


SHADOWS = ["difflib", "tomllib", "pygls", "lsprotocol", "jedi", "concurrent", "tempfile"]


def test_python_dash_m_nnlint_does_not_import_project_files_shadowing_modules(tmp_path: Path) -> None:
    project, marker = hostile_project(tmp_path)
    for name in SHADOWS:
        (project / f"{name}.py").write_text(payload(marker, f"{name}.py shadowed a module") + "\n")
    subprocess.run(
        [sys.executable, "-m", "nnlint", "check", "--isolated", "--diff", "."],
        cwd=project, capture_output=True, text=True, timeout=300,
    )
    assert markers(tmp_path) == []


# ------------------------------------------------------------------------ server
def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawClient:
    """Just enough JSON-RPC over stdio to open a document and read diagnostics."""

    def __init__(self, cwd: Path) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        # Started the way the VS Code client starts it, in the workspace folder.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nnlint", "server"],
            cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
        self.messages: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            message = read_message(stream)
            if message is None:
                return
            self.messages.put(message)

    def send(self, message: dict) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(_frame({"jsonrpc": "2.0", **message}))
        self.process.stdin.flush()

    def wait_for(self, predicate, timeout: float = 60.0) -> dict:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = self.messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if message.get("method") in ("workspace/configuration",) and "id" in message:
                self.send({"id": message["id"], "result": [{} for _ in message["params"]["items"]]})
                continue
            if "id" in message and "method" in message:  # any other server->client request
                self.send({"id": message["id"], "result": None})
                continue
            if predicate(message):
                return message
        raise AssertionError("timed out waiting for the server")


def test_server_never_runs_the_code(tmp_path: Path) -> None:
    pytest.importorskip("nnlint.server")
    project, marker = hostile_project(tmp_path)
    uri = (project / "train.py").as_uri()
    client = RawClient(project)
    try:
        client.send({"id": 1, "method": "initialize", "params": {
            "processId": os.getpid(), "rootUri": project.as_uri(),
            "workspaceFolders": [{"uri": project.as_uri(), "name": "project"}],
            "capabilities": {"workspace": {"configuration": True}}}})
        client.wait_for(lambda m: m.get("id") == 1)
        client.send({"method": "initialized", "params": {}})
        client.send({"method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": (project / "train.py").read_text()}}})
        published = client.wait_for(
            lambda m: m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri
        )
        assert published["params"]["diagnostics"], "the document should have diagnostics"
        time.sleep(2)  # background work (import resolution) gets its chance to misbehave
        client.send({"id": 2, "method": "shutdown"})
        client.wait_for(lambda m: m.get("id") == 2)
        client.send({"method": "exit"})
        client.process.wait(timeout=30)
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()
    assert markers(tmp_path) == []
    stderr = client.process.stderr.read().decode("utf-8", "replace") if client.process.stderr else ""
    assert "Traceback" not in stderr, stderr


# -------------------------------------------------------------- configuration
HOSTILE_TABLES = {
    "code in select": '[tool.nnlint]\nselect = ["__import__(\'os\').system(\'touch {m}\')"]\n',
    "code in ignore": '[tool.nnlint]\nignore = "NN1, exec(open(\'{m}\',\'w\'))"\n',
    "unknown keys": '[tool.nnlint]\nplugins = ["evil_helpers"]\ninit-hook = "import evil_helpers"\n'
    'rule-paths = ["."]\n',
    "code as severity": '[tool.nnlint.severity]\nNN101 = "__import__(\'os\').system(\'touch {m}\')"\n',
    "code as severity key": '[tool.nnlint.severity]\n"NN1; import os" = "error"\n',
    "unknown option": '[tool.nnlint.options.NN101]\nhook = "__import__(\'evil_helpers\')"\n',
    "option for unknown rule": '[tool.nnlint.options.NN999]\nmodule = "evil_helpers"\n',
    "option key is code": '[tool.nnlint.options]\n"__import__(\'evil_helpers\')" = {{}}\n',
    "table is a string": '[tool]\nnnlint = "import evil_helpers"\n',
}


@pytest.mark.parametrize("name", sorted(HOSTILE_TABLES))
def test_hostile_pyproject_is_rejected_and_runs_nothing(tmp_path: Path, name: str) -> None:
    project, marker = hostile_project(tmp_path)
    pyproject = project / "pyproject.toml"
    pyproject.write_text(HOSTILE_TABLES[name].format(m=marker))
    with pytest.raises(ConfigError):
        load_pyproject(pyproject)
    result = nnlint("check", ".", cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "pyproject.toml" in result.stderr and "Traceback" not in result.stderr
    assert markers(tmp_path) == []


def test_a_valid_pyproject_can_only_select_rules_and_set_severities(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.nnlint]\nselect = ["NN1", "NN3"]\nignore = ["NN103"]\nextend-select = ["NN601"]\n'
        '[tool.nnlint.severity]\nNN101 = "hint"\n'
    )
    settings = load_pyproject(pyproject)
    assert settings is not None
    assert set(Settings.__dataclass_fields__) == {
        "select", "ignore", "extend_select", "severity", "options", "source", "warnings", "cache_dir"
    }
    for codes in (settings.select, settings.ignore, settings.extend_select):
        assert all(isinstance(code, str) and code.startswith("NN") for code in codes)
    assert all(isinstance(level, Severity) for _, level in settings.severity)
    assert settings.options == ()


@pytest.mark.parametrize("value", ["/etc/nnlint", "~/.ssh", "../outside", "build/../../outside"])
def test_a_pyproject_cannot_send_the_cache_outside_its_project(tmp_path: Path, value: str) -> None:
    """`cache-dir` names a folder nnlint writes into: a checked-out repository's
    configuration may only pick one inside itself."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.nnlint]\ncache-dir = {value!r}\n")
    with pytest.raises(ConfigError, match="must be a folder inside the project"):
        load_pyproject(pyproject)


def test_the_cache_never_writes_into_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from nnlint.cache import Dependencies, ResultCache
    from nnlint.config import Settings as Plain

    theirs = tmp_path / "src"
    theirs.mkdir()
    (theirs / "model.py").write_text("x = 1\n")
    ResultCache(theirs).store(tmp_path / "m.py", "x = 1\n", Plain(), tmp_path, [], Dependencies())
    assert [p.name for p in theirs.iterdir()] == ["model.py"]
    ours = tmp_path / "cache"
    ResultCache(ours).store(tmp_path / "m.py", "x = 1\n", Plain(), tmp_path, [], Dependencies())
    assert (ours / ".gitignore").is_file() and list(ours.rglob("*.json"))


def test_editor_settings_with_unknown_keys_are_ignored() -> None:
    """Editor settings objects are read leniently: extra keys do nothing at all."""
    settings = settings_from_mapping({"select": ["NN1"], "pythonPath": "/evil", "hook": "__import__('os')",
                                      "run": {"cmd": "rm -rf /"}})
    assert settings.select == ("NN1",)
    assert settings.options == () and settings.severity == ()


# ------------------------------------------------------------------ source guard
DANGEROUS_NAMES = {"eval", "exec", "compile", "__import__", "execfile", "runfile"}
DANGEROUS_ATTRS = {
    ("importlib", "import_module"), ("importlib", "__import__"), ("runpy", "run_path"), ("runpy", "run_module"),
    ("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"), ("pickle", "load"), ("pickle", "loads"),
    ("marshal", "loads"), ("util", "spec_from_file_location"), ("util", "module_from_spec"),
    ("machinery", "SourceFileLoader"),
}
# Where running something is the point, with constant arguments only.
ALLOWED = {
    ("registry.py", "import_module"),  # nnlint's own rule modules, by package name
    ("bench.py", "subprocess"),  # the developer benchmark runs the nnlint CLI
    ("soak.py", "subprocess"),  # the reliability report runs the nnlint server (`-I -m nnlint server`)
    ("fixcheck.py", "subprocess"),  # the reliability report runs `nnlint check --fix` on its own files
}


def _called_name(func: ast.expr) -> tuple[str, str]:
    if isinstance(func, ast.Name):
        return "", func.id
    if isinstance(func, ast.Attribute):
        base = func.value
        return (base.attr if isinstance(base, ast.Attribute) else base.id if isinstance(base, ast.Name) else ""), func.attr
    return "", ""


def test_the_source_never_evaluates_or_imports_user_code() -> None:
    problems = []
    files = [p for folder in SOURCE_DIRS if folder.is_dir() for p in folder.rglob("*.py")]
    assert len(files) > 10
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                base, name = _called_name(node.func)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if base == "" and name in DANGEROUS_NAMES:
                    if name == "compile" and any(  # compile(..., ast.PyCF_ONLY_AST) only parses
                        "PyCF_ONLY_AST" in ast.unparse(arg) for arg in node.args + [k.value for k in node.keywords]
                    ):
                        continue
                    problems.append(f"{where}: {name}()")
                elif (base, name) in DANGEROUS_ATTRS:
                    if (path.name, name) in ALLOWED and all(
                        isinstance(a, (ast.Constant, ast.JoinedStr)) for a in node.args
                    ):
                        arg = ast.unparse(node.args[0]) if node.args else ""
                        if "nnlint" in arg:
                            continue
                    problems.append(f"{where}: {base}.{name}()")
                elif base == "subprocess" and (path.name, "subprocess") not in ALLOWED:
                    problems.append(f"{where}: subprocess.{name}()")
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names]
                module = node.module if isinstance(node, ast.ImportFrom) else ""
                if "runpy" in names or module == "runpy" or "code" in names and not module:
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports runpy/code")
    assert problems == [], "\n".join(problems)


def test_the_guard_catches_an_eval() -> None:
    tree = ast.parse("x = eval(text)\nimportlib.import_module(name)\n")
    calls = [_called_name(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert ("", "eval") in calls and ("importlib", "import_module") in calls


# ------------------------------------------------- the server command of the VS Code client
def _client_script(name: str) -> str:
    """A Python script the VS Code client runs, read from vscode-client/src/resolve.ts: an
    array of JSON-style string literals (or SAFE_PATH) joined with newlines."""
    import re

    source = (ROOT / "vscode-client" / "src" / "resolve.ts").read_text(encoding="utf-8")
    safe = json.loads(re.search(r'export const SAFE_PATH = ("(?:[^"\\]|\\.)*");', source).group(1))
    body = re.search(rf"export const {name} = \[(.*?)\]\.join\(", source, re.S).group(1)
    parts = re.findall(r'"(?:[^"\\]|\\.)*"|SAFE_PATH', body)
    return "\n".join(safe if part == "SAFE_PATH" else json.loads(part) for part in parts)


def shadowing_package(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace holding an `nnlint/` package that writes a marker when imported."""
    workspace, marker = tmp_path / "workspace", tmp_path / "marker-nnlint-package"
    (workspace / "nnlint").mkdir(parents=True)
    (workspace / "nnlint" / "__init__.py").write_text(payload(marker, "the workspace's nnlint/ ran") + "\n")
    (workspace / "nnlint" / "__main__.py").write_text(payload(marker, "the workspace's nnlint/ ran") + "\n")
    return workspace, marker


def test_a_plain_python_dash_m_would_run_a_workspace_nnlint_package(tmp_path: Path) -> None:
    """Why the client does not start `python -m nnlint server` in the workspace folder."""
    workspace, marker = shadowing_package(tmp_path)
    subprocess.run([sys.executable, "-m", "nnlint", "--version"], cwd=workspace, capture_output=True, timeout=60)
    assert marker.exists()


@pytest.mark.parametrize("name", ["SERVER_SCRIPT", "PROBE_SCRIPT"])
def test_the_vscode_client_commands_never_run_a_workspace_nnlint_package(tmp_path: Path, name: str) -> None:
    workspace, marker = shadowing_package(tmp_path)
    script = _client_script(name)
    done = subprocess.run(
        [sys.executable, "-c", script, "--version"], cwd=workspace, capture_output=True, text=True, timeout=60
    )
    assert not marker.exists(), "the workspace's nnlint/ package ran"
    assert done.returncode == 0, done.stderr
    from nnlint import __version__

    if name == "SERVER_SCRIPT":
        assert done.stdout.strip() == f"nnlint {__version__}"
    else:
        assert json.loads(done.stdout)["version"] == __version__
