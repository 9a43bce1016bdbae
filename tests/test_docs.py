"""The documentation is tested like code.

- docs/rules/ (and docs/ko/, the Korean pages) is generated from the registry: a page that
  differs from what its rule generates today fails, with the command that regenerates it.
- Every command shown in a fenced `bash` block of docs/*.md (and in the `run:` steps of
  the documented CI workflow) is either run here against a copy of examples/ or named in
  COVERED_ELSEWHERE with the test that exercises it; an unknown command fails.
- Editor snippets parse (TOML, JSON) and only use settings keys the server knows.
- docs/why.md carries the exact table printed by scripts/measure_effects.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nnlint import docs
from nnlint.i18n import LANGUAGES
from nnlint.output import DOCS_BASE_URL, rule_url
from nnlint.registry import load_rules

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RULES_DIR = DOCS / "rules"
REGENERATE = "python -m nnlint.docs"

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


# ------------------------------------------------------------------ rule reference
@pytest.mark.parametrize("lang", LANGUAGES)
def test_rule_reference_is_up_to_date(lang):
    # docs/rules/ in English, docs/<lang>/ for each translation (rules + the nnlint-docs catalog)
    folder = docs.default_output(lang)
    assert folder.parent == DOCS
    problems = docs.stale_pages(folder, docs.generate(lang=lang))
    assert not problems, (
        f"docs/{folder.name}/ is out of date with the registered rules:\n  "
        + "\n  ".join(problems)
        + f"\nRegenerate it with `{REGENERATE}` (from the repository root) and commit docs/{folder.name}/."
    )


def test_every_registered_rule_has_a_page_and_an_index_row():
    rules = load_rules()
    index = (RULES_DIR / "README.md").read_text(encoding="utf-8")
    for code, rule in rules.items():
        page = RULES_DIR / f"{code}.md"
        assert page.is_file(), f"no page for {code}; run `{REGENERATE}`"
        text = page.read_text(encoding="utf-8")
        assert text.splitlines()[2] == f"# {code}: {rule.name}"
        assert rule.documentation().strip() in text
        row = re.search(rf"^\| \[{code}\]\({code}\.md\) \| `{re.escape(rule.name)}`.*$", index, re.M)
        assert row, f"{code} missing from docs/rules/README.md; run `{REGENERATE}`"
        cells = [c.strip() for c in row.group().strip("|").split("|")]
        assert cells[2] == rule.severity.value
        assert cells[3] == ("yes" if rule.fix_title else "no")
        assert cells[4] == rule.since


def test_diagnostic_links_point_at_the_generated_pages():
    # codeDescription.href = rule_url(code): <base>/<code>.md, base ending in docs/rules/
    assert DOCS_BASE_URL.rstrip("/").endswith("/docs/rules")
    for code in load_rules():
        url = rule_url(code)
        relative = url.split("/blob/main/", 1)[1]
        assert (ROOT / relative).is_file(), f"{url} has no page at {relative}"


def test_check_mode_detects_a_stale_missing_or_orphan_page(tmp_path, capsys):
    assert docs.main(["--output", str(tmp_path)]) == 0
    assert docs.main(["--output", str(tmp_path), "--check"]) == 0
    first = next(iter(load_rules()))
    page = tmp_path / f"{first}.md"
    page.write_text(page.read_text(encoding="utf-8").replace("Since", "Since (edited)"), encoding="utf-8")
    (tmp_path / "NN999.md").write_text("old rule\n", encoding="utf-8")
    (tmp_path / "README.md").unlink()
    capsys.readouterr()
    assert docs.main(["--output", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{first}.md: out of date" in err
    assert "NN999.md: no such rule any more" in err
    assert "README.md: missing" in err
    assert f"run `{REGENERATE}`" in err
    assert docs.main(["--output", str(tmp_path)]) == 0
    assert not (tmp_path / "NN999.md").exists()
    assert docs.stale_pages(tmp_path, docs.generate()) == []


def test_page_reflects_rule_metadata():
    class Fake(load_rules()["NN101"]):  # type: ignore[misc,valid-type]
        """## What it does\nSomething."""

        code = "NN998"
        name = "fake-rule"
        fix_title = None
        enabled_by_default = False
        since = "9.9.9"
        options = {"limit": 3, "names": ["a"]}

    text = docs.render_rule(Fake)
    assert "# NN998: fake-rule" in text
    assert "| Fix available | no |" in text
    assert "| Since | 9.9.9 |" in text
    assert "opt-in" in text
    assert "[tool.nnlint.options.NN998]\nlimit = 3\nnames = [\"a\"]" in text
    index = docs.render_index({"NN998": Fake})
    assert "| [NN998](NN998.md) | `fake-rule` (opt-in) | warning | no | 9.9.9 |" in index


def test_regenerate_command_works_from_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "nnlint.docs", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- links in docs/
def _markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def test_relative_links_in_docs_resolve():
    broken = []
    for path in [*_markdown_files(), ROOT / "README.md", ROOT / "CONTRIBUTING.md"]:
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            file_part = target.split("#", 1)[0]
            if not (path.parent / file_part).exists():
                broken.append(f"{path.relative_to(ROOT)} -> {target}")
    assert not broken, "broken links:\n" + "\n".join(broken)


# ------------------------------------------------------------- commands in docs/
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)

# Commands shown in the docs that this module does not run, and where they are covered.
COVERED_ELSEWHERE = {
    "python -m nnlint.docs": "test_regenerate_command_works_from_the_command_line (runs it with --check: "
    "the plain command rewrites docs/rules/)",
    "python scripts/measure_effects.py": "test_why_page_carries_the_measured_table",
    "pre-commit": "tests/test_precommit.py (pre-commit try-repo runs both hooks)",
    "python scripts/ecosystem.py": "tests/test_ecosystem.py (runs its main() on snapshots the test "
    "makes; the run over real snapshots is a developer command, and "
    "test_accuracy_page_agrees_with_the_committed_verdicts_and_bugs checks its page)",
    "pip install": "tests/test_install_docs.py (every documented install command, offline in a temporary venv)",
}


def fenced_blocks(path: Path, *languages: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(path.read_text(encoding="utf-8")) if m.group(1) in languages]


def doc_commands() -> list[tuple[str, str]]:
    """(file, command) for each line of each ```bash block in docs/ (comments stripped)."""
    commands = []
    for path in _markdown_files():
        for block in fenced_blocks(path, "bash", "sh", "console"):
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ")
                if not line or line.startswith("#"):
                    continue
                command = re.sub(r"\s+#.*$", "", line).strip()
                commands.append((str(path.relative_to(ROOT)), command))
    return commands


def workflow_commands() -> list[tuple[str, str]]:
    """The `run:` steps of the workflows shown in docs/ci.md that call nnlint."""
    yaml = pytest.importorskip("yaml", reason="PyYAML (a pre-commit dependency) parses the documented workflow")
    commands = []
    for block in fenced_blocks(DOCS / "ci.md", "yaml", "yml"):
        data = yaml.safe_load(block)
        for job in (data.get("jobs") or {}).values() if isinstance(data, dict) else []:
            for step in job.get("steps", []):
                for line in str(step.get("run", "")).splitlines():
                    if line.strip():
                        commands.append(("docs/ci.md (workflow)", line.strip()))
    return commands


def inline_commands() -> list[tuple[str, str]]:
    """`nnlint ...` code spans in the prose of docs/*.md (not the generated rule pages)."""
    commands = []
    for path in sorted(DOCS.glob("*.md")):
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        for span in re.findall(r"`(nnlint (?:check|rule|server)[^`]*)`", text):
            if "[" in span or "..." in span:  # a synopsis, not a command
                continue
            commands.append((str(path.relative_to(ROOT)), span))
    return commands


NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [
            "import torch.nn.functional as F\n", "from torch import nn\n",
        ]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [
            "class Net(nn.Module):\n", "    def forward(self, x):\n", "        return F.dropout(x, 0.5)\n",
        ]},
    ],
    "metadata": {"language_info": {"name": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture()
def sandbox(tmp_path):
    """A project to run documented commands in: train.py, src/ and examples/ are copies
    of examples/, notebook.ipynb has one finding; `nnlint` runs this interpreter's nnlint."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project / "examples")
    shutil.copytree(ROOT / "examples", project / "src")
    shutil.copy(ROOT / "examples" / "train_classifier.py", project / "train.py")
    (project / "notebook.ipynb").write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "nnlint"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m nnlint.cli "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return project, env


def run_documented(command: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = command.replace(" PATH", " src/").replace("nnlint rule CODE", "nnlint rule NN101")
    return subprocess.run(
        ["bash", "-c", command], cwd=project, env=env, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _is_nnlint(command: str) -> bool:
    return command.split()[0] == "nnlint"


def _covered(command: str) -> bool:
    return any(command.startswith(prefix) for prefix in COVERED_ELSEWHERE)


def test_docs_show_commands_and_each_is_run_or_covered():
    commands = doc_commands() + workflow_commands()
    assert len([c for _, c in commands if _is_nnlint(c)]) >= 20, "expected the docs to show nnlint commands"
    unknown = [f"{where}: {command}" for where, command in commands if not _is_nnlint(command) and not _covered(command)]
    assert not unknown, (
        "commands in docs/ that no test runs: make them nnlint commands, or add them to "
        "COVERED_ELSEWHERE with the test that covers them:\n" + "\n".join(unknown)
    )
    tests_text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for prefix, where in COVERED_ELSEWHERE.items():
        name = where.split()[0]
        if name.startswith("test_"):
            assert f"def {name}(" in tests_text, f"{prefix!r} claims coverage by {name}, which does not exist"
        elif name.startswith("tests/"):
            assert (ROOT / name).is_file(), f"{prefix!r} claims coverage by {name}, which does not exist"


def _documented_nnlint_commands() -> list[tuple[str, str]]:
    try:
        workflow = workflow_commands()
    except pytest.skip.Exception:
        workflow = []
    seen, result = set(), []
    for where, command in doc_commands() + workflow + inline_commands():
        if _is_nnlint(command) and command not in seen and not re.match(r"^nnlint server(\s+--stdio)?$", command):
            seen.add(command)
            result.append((where, command))
    return result


@pytest.mark.parametrize("where,command", _documented_nnlint_commands(), ids=lambda v: v)
def test_documented_command_runs(where, command, sandbox):
    project, env = sandbox
    result = run_documented(command, project, env)
    assert result.returncode in (0, 1), (
        f"{where}: `{command}` exited {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"
    )
    assert "usage:" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    output = result.stdout + result.stderr
    if re.search(r"\bcheck\b", command) and "--diff" not in command and ">" not in command:
        # every documented check runs on buggy examples: it must report something
        assert "NN" in output or "--exit-zero" in command or "--fix" in command, output[-2000:]
    if "--format json" in command:
        assert isinstance(json.loads(result.stdout), list)
    if "--format sarif" in command and ">" not in command:
        assert json.loads(result.stdout)["version"] == "2.1.0"
    if "--format github" in command:
        assert re.search(r"^::(error|warning|notice) file=", result.stdout, re.M), result.stdout[-2000:]
    if "> nnlint.sarif" in command:
        assert json.loads((project / "nnlint.sarif").read_text(encoding="utf-8"))["version"] == "2.1.0"
    if "--fix" in command and "--stdin-filename" not in command:
        assert (project / "train.py").read_text(encoding="utf-8") != (ROOT / "examples/train_classifier.py").read_text(
            encoding="utf-8"
        ), "the documented --fix command changed nothing"


def test_documented_exit_codes_hold(sandbox):
    project, env = sandbox
    (project / "clean.py").write_text("x = 1\n", encoding="utf-8")
    assert run_documented("nnlint check clean.py", project, env).returncode == 0
    assert run_documented("nnlint check train.py", project, env).returncode == 1
    assert run_documented("nnlint check --exit-zero train.py", project, env).returncode == 0
    assert run_documented("nnlint check missing.py", project, env).returncode == 2
    (project / "pyproject.toml").write_text("[tool.nnlint]\nselcet = ['NN1']\n", encoding="utf-8")
    assert run_documented("nnlint check train.py", project, env).returncode == 2
    cli = (DOCS / "cli.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in cli


def test_documented_pyproject_configuration_is_valid(sandbox):
    """The [tool.nnlint] example in docs/cli.md is accepted by the strict config reader."""
    project, env = sandbox
    blocks = [b for b in fenced_blocks(DOCS / "cli.md", "toml") if "[tool.nnlint]" in b]
    assert blocks
    for block in blocks:
        tomllib.loads(block)
        (project / "pyproject.toml").write_text(block, encoding="utf-8")
        result = run_documented("nnlint check train.py", project, env)
        assert result.returncode in (0, 1), result.stderr
    # and a rule page's options example too
    pages = [p for p in RULES_DIR.glob("NN*.md") if "[tool.nnlint.options." in p.read_text(encoding="utf-8")]
    for page in pages:
        block = next(b for b in fenced_blocks(page, "toml") if "[tool.nnlint.options." in b)
        (project / "pyproject.toml").write_text(block, encoding="utf-8")
        result = run_documented("nnlint check train.py", project, env)
        assert result.returncode in (0, 1), f"{page.name}: {result.stderr}"


def test_a_broken_documented_command_would_fail(sandbox):
    project, env = sandbox
    assert run_documented("nnlint check --no-such-flag src/", project, env).returncode == 2
    assert run_documented("nnlint rule NN999", project, env).returncode == 2


# ------------------------------------------------------------------- editors.md
SETTINGS_KEYS = {
    "enable", "select", "ignore", "extendSelect", "severity", "options", "run", "debounceMs",
    "showSyntaxErrors", "configurationPreference", "locale", "language",
}
REQUIRED_KEYS = SETTINGS_KEYS - {"extendSelect", "options", "language"}


def _settings_objects(value, found):
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "nnlint" and isinstance(inner, dict) and "enable" in inner:
                found.append(inner)
            else:
                _settings_objects(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _settings_objects(inner, found)
    return found


def _editor_sections() -> dict[str, str]:
    text = (DOCS / "editors.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", text, flags=re.M)
    return {part.split("\n", 1)[0].strip(): part for part in parts[1:]}


def test_editors_page_covers_each_editor():
    sections = _editor_sections()
    for editor in ("Neovim", "Helix", "Zed", "Emacs (eglot)", "Sublime Text (LSP package)", "Jupyter (jupyterlab-lsp)"):
        assert editor in sections, f"docs/editors.md has no section {editor!r}"
    neovim = sections["Neovim"]
    assert "vim.lsp.start" in neovim and 'require("lspconfig.configs")' in neovim


def test_editor_settings_snippets_pass_the_servers_parser():
    from nnlint.server.settings import parse_settings

    path = DOCS / "editors.md"
    objects = []
    for block in fenced_blocks(path, "json"):
        objects += _settings_objects(json.loads(block), [])
    for block in fenced_blocks(path, "toml"):
        data = tomllib.loads(block)
        objects += _settings_objects(data, [])
    assert len(objects) >= 4, "expected settings in the Helix, Zed, Sublime and Jupyter snippets"
    for settings in objects:
        assert set(settings) <= SETTINGS_KEYS, set(settings) - SETTINGS_KEYS
        assert REQUIRED_KEYS <= set(settings), REQUIRED_KEYS - set(settings)
        parsed, problems = parse_settings(settings)
        assert problems == []
        assert parsed.select == ("NN1", "NN2", "NN3") and parsed.debounce_ms == 250
        # the same object wrapped as editors send it
        assert parse_settings({"nnlint": settings})[0] == parsed


def test_lua_and_elisp_snippets_use_known_keys_and_the_server_command():
    path = DOCS / "editors.md"
    lua = fenced_blocks(path, "lua")
    elisp = fenced_blocks(path, "elisp")
    assert len(lua) == 4 and len(elisp) == 1
    for block in lua:
        assert 'cmd = { "nnlint", "server" }' in block
        body = block.rsplit("  nnlint = {", 1)[1]
        keys = set(re.findall(r"^\s*(\w+) = ", body, re.M)) - {"NN201"}
        assert REQUIRED_KEYS <= keys <= SETTINGS_KEYS, keys ^ REQUIRED_KEYS
        assert block.count("{") == block.count("}") and block.count("(") == block.count(")")
    for block in elisp:
        assert '("nnlint" "server")' in block
        keys = set(re.findall(r":(\w+)", block)) - {"nnlint", "NN201", "json"}
        assert REQUIRED_KEYS <= keys <= SETTINGS_KEYS, keys ^ REQUIRED_KEYS
        assert block.count("(") == block.count(")")
    commands = []
    for block in fenced_blocks(path, "json", "toml"):
        if "argv" in block or "command" in block:
            commands.append(block)
    assert any('"argv": ["nnlint", "server"]' in b for b in commands)
    assert any('"command": ["nnlint", "server"]' in b for b in commands)
    assert any('command = "nnlint"\nargs = ["server"]' in b for b in commands)
    assert 'args: vec!["server".into()]' in "".join(fenced_blocks(path, "rust"))


def _lsp_send(proc, message):
    body = json.dumps(message).encode()
    proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    proc.stdin.flush()


def _lsp_read(proc):
    headers = {}
    while True:
        line = proc.stdout.readline()
        if not line:
            raise EOFError("server closed its output")
        line = line.strip()
        if not line:
            break
        key, value = line.decode().split(":", 1)
        headers[key.lower()] = value.strip()
    return json.loads(proc.stdout.read(int(headers["content-length"])))


def test_documented_server_command_and_settings_work(sandbox):
    """`nnlint server` with the documented settings (as Helix sends them: initializationOptions)."""
    project, env = sandbox
    helix = next(b for b in fenced_blocks(DOCS / "editors.md", "toml") if "[language-server.nnlint]" in b)
    config = tomllib.loads(helix)["language-server"]["nnlint"]
    command = [shutil.which("nnlint", path=env["PATH"]), *config["args"]]
    assert config["command"] == "nnlint"
    proc = subprocess.Popen(command, cwd=project, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        _lsp_send(proc, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": project.as_uri(), "capabilities": {},
            "initializationOptions": config["config"],
        }})
        messages = []
        while True:
            message = _lsp_read(proc)
            messages.append(message)
            if message.get("id") == 1:
                break
        assert "capabilities" in message["result"]
        _lsp_send(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
        source = (project / "train.py").read_text(encoding="utf-8")
        uri = (project / "train.py").as_uri()
        _lsp_send(proc, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": source}}})
        diagnostics = None
        for _ in range(200):
            message = _lsp_read(proc)
            messages.append(message)
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["diagnostics"]:
                diagnostics = message["params"]["diagnostics"]
                break
        assert diagnostics, messages
        problems = [m for m in messages if m.get("method") == "window/showMessage"]
        assert not problems, problems
        for diagnostic in diagnostics:
            assert diagnostic["code"].startswith(("NN1", "NN2", "NN3")), diagnostic  # select = NN1, NN2, NN3
            href = diagnostic["codeDescription"]["href"]
            assert (RULES_DIR / href.rsplit("/", 1)[1]).is_file(), href
        assert any(d["code"] == "NN201" and d["severity"] == 1 for d in diagnostics) or not any(
            d["code"] == "NN201" for d in diagnostics
        )
        _lsp_send(proc, {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
        _lsp_send(proc, {"jsonrpc": "2.0", "method": "exit", "params": None})
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


# ---------------------------------------------------------------------- why.md
WHY = DOCS / "why.md"


def test_why_page_explains_each_measured_mistake():
    text = WHY.read_text(encoding="utf-8")
    assert "python scripts/measure_effects.py" in text
    for topic in ("zero_grad", "eval()", "softmax", "train()"):
        assert topic in text
    table = text.split("<!-- measure_effects:start -->", 1)[1].split("<!-- measure_effects:end -->", 1)[0]
    rows = [line for line in table.strip().splitlines() if line.startswith("| [NN")]
    assert len(rows) >= 10
    for row in rows:
        code = re.match(r"\| \[(NN\d{3})\]", row).group(1)
        assert code in load_rules(), f"why.md measures {code}, which is not a rule"


def test_why_page_carries_the_measured_table():
    pytest.importorskip("torch", reason="scripts/measure_effects.py needs torch (pip install torch)")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "measure_effects.py")], capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    table = WHY.read_text(encoding="utf-8").split("<!-- measure_effects:start -->\n", 1)[1].split(
        "\n<!-- measure_effects:end -->", 1
    )[0]
    assert table.strip() == result.stdout.strip(), (
        "docs/why.md's table differs from `python scripts/measure_effects.py`: paste its output "
        "between the measure_effects markers"
    )


def test_why_page_examples_run():
    pytest.importorskip("torch", reason="the examples in docs/why.md need torch (pip install torch)")
    blocks = fenced_blocks(WHY, "python")
    assert len(blocks) >= 6
    program = "\n".join(
        f"print('--- example {i}')\nexec(compile({block!r}, 'docs/why.md example {i}', 'exec'), {{'__name__': '__main__'}})"
        for i, block in enumerate(blocks, 1)
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.count("--- example") == len(blocks)


# ------------------------------------------------------------------ rule lists
@pytest.mark.parametrize("page", sorted(docs.TABLES))
def test_readme_rule_tables_are_generated_and_current(page):
    """The README's and the VS Code extension's rule tables are generated from the registry
    (between the rules:start/end markers) and list every registered rule."""
    path = ROOT / page
    old, new = docs.table_updates(ROOT)[path]
    assert old == new, f"{page}'s rule table is out of date: run `{REGENERATE}`"
    table = old.split(docs.TABLE_START, 1)[1].split(docs.TABLE_END, 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "NN" in line.split("|")[1]]
    assert len(rows) == len(load_rules())
    missing = [code for code, rule in load_rules().items() if not re.search(rf"^\| \[?{code}\b.*\| {rule.name} \|", table, re.M)]
    assert not missing, f"{page} does not list {missing}"


def test_rule_table_follows_the_registry_and_check_mode_sees_a_stale_table(tmp_path):
    class Fake(load_rules()["NN204"]):  # type: ignore[misc,valid-type]
        """## What it does\nSomething."""

        code = "NN998"
        name = "fake-rule"
        summary = "a | b"
        enabled_by_default = False

    table = docs.render_table({"NN998": Fake}, "docs/rules/")
    assert "| [NN998](docs/rules/NN998.md) | fake-rule | (opt-in, information) a \\| b |" in table
    assert "| NN998 | fake-rule |" in docs.render_table({"NN998": Fake}, None)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{docs.TABLE_START}\n| old |\n{docs.TABLE_END}\n\nafter\n", encoding="utf-8")
    old, new = docs.table_updates(tmp_path, {"NN998": Fake})[readme]
    assert old != new and new.endswith(f"{docs.TABLE_END}\n\nafter\n") and "| old |" not in new
    readme.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError):
        docs.table_updates(tmp_path)


# ------------------------------------------------------------- rule documentation
SECTIONS = ["What it does", "Why is this bad?", "Example", "Use instead", "Fix"]


@pytest.mark.parametrize("code", list(load_rules()))
def test_rule_documentation_has_the_sections_and_examples(code):
    """The contract CONTRIBUTING.md states: the docstring starts with the five sections in
    order, and Example and Use instead each show Python that parses."""
    doc = load_rules()[code].documentation()
    sections = re.findall(r"^## (.+)$", doc, re.M)
    assert sections[: len(SECTIONS)] == SECTIONS, f"{code}: sections {sections}, expected {SECTIONS} first"
    for name in ("Example", "Use instead"):
        part = doc.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", part, re.S)
        assert blocks, f"{code}: ## {name} has no ```python block"
        for block in blocks:
            compile(textwrap.dedent(block), f"{code} {name}", "exec")  # a fragment may be indented
