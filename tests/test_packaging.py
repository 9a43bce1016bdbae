"""The wheel: built from a clean copy of the project, it holds nnlint/, nnlint/rules/
and nnlint/server/ and no top-level `rules` or `server` package; installed into a fresh
venv it imports `nnlint.rules` and runs `nnlint rule --all`.

Works offline: the build first tries pip's isolated build (downloads setuptools when
PyPI is reachable, or uses pip's cache) and falls back to the installed setuptools;
the venv sees the already-installed dependencies through --system-site-packages and
the wheel goes in with --no-deps --no-index."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "MANIFEST.in", "README.md", "README.rst", "LICENSE", "LICENSE.txt")
PROJECT_DIRS = ("src", "rules", "server")
ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"}
ENV.pop("PYTHONPATH", None)


def _copy_project(target: Path) -> Path:
    target.mkdir()
    for name in PROJECT_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
    for name in PROJECT_DIRS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target / name, ignore=ignore)
    return target


def _build_wheel(project: Path, out: Path) -> Path:
    base = [sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--quiet", "-w", str(out)]
    attempts = [base + ["--timeout", "10", "--retries", "1"], base + ["--no-build-isolation"]]
    logs = []
    for command in attempts:
        try:
            completed = subprocess.run(command, cwd=project, capture_output=True, text=True, env=ENV, timeout=120)
        except subprocess.TimeoutExpired as exc:
            logs.append(f"{command}: timed out ({exc})")
            continue
        wheels = sorted(out.glob("nnlint-*.whl"))
        if completed.returncode == 0 and wheels:
            return wheels[0]
        logs.append(f"{command}: {completed.returncode}\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    pytest.fail("could not build the wheel:\n" + "\n".join(logs))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    return _build_wheel(_copy_project(tmp / "project"), tmp / "dist")


def test_wheel_layout(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert archive.read(top_level).decode().split() == ["nnlint"]
    roots = {name.split("/", 1)[0] for name in names}
    assert roots == {"nnlint", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, roots
    assert not any(name.startswith(("rules/", "server/")) for name in names)
    assert "nnlint/__init__.py" in names and "nnlint/cli.py" in names and "nnlint/py.typed" in names
    assert "nnlint/rules/__init__.py" in names
    rule_modules = sorted(p.name for p in (ROOT / "rules").glob("nn*.py"))
    assert rule_modules and all(f"nnlint/rules/{m}" in names for m in rule_modules)
    server_modules = sorted(p.relative_to(ROOT / "server").as_posix() for p in (ROOT / "server").rglob("*.py"))
    assert "features/hover.py" in server_modules  # subpackages too (server/features/)
    missing = [m for m in server_modules if f"nnlint/server/{m}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    if (ROOT / "server" / "__init__.py").is_file():
        assert "nnlint/server/__init__.py" in names
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in names)
    # the message catalogs: gettext reads the compiled .mo at run time, translators the .po
    for catalog in sorted((ROOT / "src" / "nnlint" / "locale").rglob("*.[mp]o")):
        assert f"nnlint/{catalog.relative_to(ROOT / 'src' / 'nnlint').as_posix()}" in names, catalog


def test_wheel_carries_the_translation_catalogs(wheel: Path) -> None:
    """Every template, catalog, compiled catalog and glossary under src/nnlint/locale is packaged."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    locale = ROOT / "src" / "nnlint" / "locale"
    files = sorted(p for p in locale.rglob("*") if p.suffix in (".pot", ".po", ".mo", ".tsv"))
    assert any(p.suffix == ".mo" for p in files)
    for path in files:
        name = "nnlint/" + path.relative_to(ROOT / "src" / "nnlint").as_posix()
        assert name in names, f"{name} is not in the wheel"


def test_wheel_installs_into_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    # The dependencies are those of the interpreter running the tests: when that is itself
    # a venv, --system-site-packages reaches the base interpreter's only, so its own
    # site-packages go on the new venv's path too (as plain entries: their .pth files, the
    # editable install's among them, are not run).
    venv_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()
    Path(venv_site, "_outer_site_packages.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True, text=True, env=ENV, timeout=120,
    )
    assert install.returncode == 0, install.stderr
    work = tmp_path / "elsewhere"  # not the repository: nothing importable by accident
    work.mkdir()
    probe = subprocess.run(
        [str(python), "-c",
         "import importlib.util, sys, nnlint, nnlint.rules, nnlint.registry as r\n"
         "print(nnlint.__file__)\n"
         "print(sorted(r.load_rules()))\n"
         "site = [p for p in sys.path if p.startswith(sys.prefix) and p.endswith('site-packages')][0]\n"
         "import os\n"
         "print(sorted(n for n in ('rules', 'server') if os.path.exists(os.path.join(site, n))))\n"],
        cwd=work, capture_output=True, text=True, env=ENV, timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    location, codes, strays = probe.stdout.splitlines()
    assert Path(location).resolve().is_relative_to(venv.resolve()), location  # the wheel, not the editable install
    assert codes != "[]"
    assert strays == "[]"
    listing = subprocess.run(
        [str(bindir / "nnlint"), "rule", "--all"], cwd=work, capture_output=True, text=True, env=ENV, timeout=60
    )
    assert listing.returncode == 0, listing.stderr
    for code in eval(codes):  # noqa: S307 - our own printed list of strings
        assert code in listing.stdout
    version = subprocess.run([str(bindir / "nnlint"), "--version"], cwd=work, capture_output=True, text=True, env=ENV, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("nnlint ")
    # the installed package finds its compiled Korean catalog
    korean = subprocess.run(
        [str(bindir / "nnlint"), "rule", "NN101", "--lang", "ko"], cwd=work, capture_output=True, text=True,
        encoding="utf-8", env={**ENV, "PYTHONIOENCODING": "utf-8"}, timeout=60,
    )
    assert korean.returncode == 0 and "## 하는 일" in korean.stdout, korean.stdout[:500] + korean.stderr
