"""Every install command the docs show works (issue 15: `pip install nnlint` did not: the
package is on no index), and the docs, the README and the VS Code extension's notification
name the same commands.

The Python commands run in a temporary virtual environment against a copy of this checkout,
offline: `pip install` gets `--no-build-isolation --no-deps --no-index` (the build backend
comes from the base interpreter's site-packages), the repository's address is replaced by the
copy, and pipx (a test dependency) gets the same through --pip-args. The extension's build
(`npm ci && npm run package`) runs in a copy of vscode-client/ with npm preferring its cache;
it is skipped only when npm is absent, and `code --install-extension` (run by code-server
when `code` is absent) only when neither is installed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "vscode-client" / "README.md"]
RESOLVE_TS = ROOT / "vscode-client" / "src" / "resolve.ts"
FENCE = re.compile(r"^\s*```(\w*)[^\n]*\n(.*?)^\s*```", re.S | re.M)
INSTALL = re.compile(r"^(?:\(cd \S+ && )?(?:pipx install|pip install|python3? -m pip install|npm ci|code --install-extension)\b")
COPY_IGNORED = shutil.ignore_patterns(
    ".git", "node_modules", "__pycache__", ".nnlint_cache", "*.vsix", "build", "dist", "*.egg-info",
    ".hypothesis", ".pytest_cache", "out", "test-build",
)


def extension_source() -> str:
    """Where the extension's notification tells pip to get nnlint."""
    match = re.search(r'export const NNLINT_SOURCE = "([^"]+)"', RESOLVE_TS.read_text(encoding="utf-8"))
    assert match, "resolve.ts no longer declares NNLINT_SOURCE"
    return match.group(1)


def documented_installs() -> list[tuple[str, str]]:
    """(document, command) for each install command in a ```bash block or a workflow step."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for language, block in FENCE.findall(text):
            if language not in ("bash", "sh", "yaml", "yml"):
                continue
            for line in block.splitlines():
                line = re.sub(r"\s+#.*$", "", line.strip().removeprefix("run: ")).strip()
                if INSTALL.match(line):
                    found.append((str(path.relative_to(ROOT)), line))
    return found


def test_the_docs_and_the_extension_name_installs_that_work() -> None:
    installs = documented_installs()
    documents = {where for where, _ in installs}
    assert {"README.md", "docs/ci.md", "docs/editors.md", "vscode-client/README.md"} <= documents, documents
    source = extension_source()
    for where, command in installs:
        if "pip install" in command:
            target = shlex.split(command)[-1]
            assert target in (".", source), f"{where}: `{command}` installs {target!r}, which is on no index"
    everything = [p.read_text(encoding="utf-8") for p in DOCUMENTS] + [
        p.read_text(encoding="utf-8") for p in (ROOT / "vscode-client" / "src").glob("*.ts")
    ]
    for text in everything:
        assert not re.search(r"pip install nnlint\b", text), "`pip install nnlint` is back: the package is on no index"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'pip install "{source}"' in readme, "the README and the extension's notification disagree"
    # The extension's build: the same commands in the README and in the extension's README.
    npm = {command.replace("(cd vscode-client && ", "").rstrip(")") for _, command in installs if "npm" in command}
    assert npm == {"npm ci && npm run package"}, npm


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("checkout") / "nnlint"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORED)
    return copy


def base_python() -> str:
    return getattr(sys, "_base_executable", None) or sys.executable


def offline(command: str, venv: Path, checkout: Path) -> list[str]:
    """The documented command, run offline in `venv` on the copy of the checkout."""
    args = shlex.split(command.replace(extension_source(), str(checkout)))
    target = args[-1]
    pip_options = ["--no-build-isolation", "--no-deps", "--no-index", "--quiet"]
    if args[:2] == ["pipx", "install"]:
        return [sys.executable, "-m", "pipx", "install", "--system-site-packages",
                "--pip-args", " ".join(pip_options), target]
    return [str(venv / "bin" / "python"), "-m", "pip", "install", *pip_options, target]


def see_outer_site_packages(venv: Path) -> None:
    """The installed nnlint's dependencies are those of the interpreter running the tests:
    when that is itself a venv, --system-site-packages reaches the base interpreter's only,
    so its own site-packages go on the new venv's path too (as plain entries: their .pth
    files, the editable install's among them, are not run)."""
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    Path(purelib).mkdir(parents=True, exist_ok=True)
    Path(purelib, "_outer_site_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")


PYTHON_INSTALLS = sorted({command for _, command in documented_installs() if "pip" in command})


@pytest.mark.parametrize("command", PYTHON_INSTALLS)
def test_a_documented_python_install_works(command: str, checkout: Path, tmp_path: Path) -> None:
    if command.startswith("pipx"):
        pytest.importorskip("pipx", reason="pipx (a test dependency: pip install -e '.[test]') is not installed")
    venv = tmp_path / "venv"
    # No pip or setuptools of its own (3.11 would seed setuptools 65, without bdist_wheel): the
    # base interpreter's pip and build backend, visible through --system-site-packages, install into it.
    subprocess.run([base_python(), "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=300)
    see_outer_site_packages(venv)
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    if command.startswith("pipx"):
        # pipx's shared pip, made here from the interpreter's bundled pip: pipx would otherwise
        # download the newest pip for it. Without setuptools, so the build uses the base one.
        shared = tmp_path / "pipx" / "shared"
        subprocess.run([base_python(), "-m", "venv", str(shared)], check=True, timeout=300)
        subprocess.run([str(shared / "bin" / "python"), "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"],
                       check=True, timeout=300, env=env)
    installed = subprocess.run(offline(command, venv, checkout), cwd=checkout, env=env, capture_output=True,
                               text=True, timeout=600)
    assert installed.returncode == 0, f"`{command}` failed:\n{installed.stdout[-3000:]}\n{installed.stderr[-3000:]}"
    nnlint = tmp_path / "bin" / "nnlint" if command.startswith("pipx") else venv / "bin" / "nnlint"
    assert nnlint.exists(), f"`{command}` installed no nnlint command"
    version = subprocess.run([str(nnlint), "--version"], capture_output=True, text=True, timeout=120, env=env)
    assert version.returncode == 0 and version.stdout.startswith("nnlint "), version.stderr
    # The installed copy is the checkout's, not this test run's editable install.
    where = subprocess.run([str(nnlint), "check", "--no-cache", "--isolated", str(checkout / "examples")],
                           capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert where.returncode == 1 and "NN203" in where.stdout, where.stderr[-3000:]


def test_the_documented_extension_build_and_install(checkout: Path, tmp_path: Path) -> None:
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed (Node.js 20+; `bash .ci/setup-vscode.sh` installs it)")
    env = {**os.environ, "npm_config_prefer_offline": "true", "npm_config_update_notifier": "false",
           "npm_config_audit": "false", "npm_config_fund": "false"}
    (readme_build,) = [c for where, c in documented_installs() if where == "README.md" and "npm ci" in c]
    built = subprocess.run(["bash", "-c", readme_build], cwd=checkout, env=env, capture_output=True, text=True,
                           timeout=900)
    assert built.returncode == 0, f"`{readme_build}` failed:\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}"
    vsix = checkout / "vscode-client" / "nnlint.vsix"
    assert vsix.is_file() and vsix.stat().st_size > 10_000
    (install,) = [c for where, c in documented_installs() if where == "README.md" and c.startswith("code ")]
    command = shlex.split(install)
    if shutil.which("code") is None:
        # code-server (set up for the VS Code tests) has the same --install-extension.
        from test_vscode_client import CODE_SERVER, node_env

        if not CODE_SERVER.exists():
            pytest.skip(f"neither `code` nor code-server is installed: built {vsix.name}, `{install}` not run")
        command[0] = str(CODE_SERVER)
        env = {**env, **node_env()}
    extensions = tmp_path / "extensions"
    done = subprocess.run([*command, "--extensions-dir", str(extensions)], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert [p.name for p in extensions.iterdir() if "nnlint" in p.name], list(extensions.iterdir())
