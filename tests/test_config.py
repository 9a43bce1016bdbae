"""[tool.nnlint] in pyproject.toml: select, ignore, severities, rule options, CLI
overrides, discovery, and clear errors (exit 2) for bad configuration."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from nnlint import cli
from nnlint.config import ConfigError, Settings, find_pyproject, load_pyproject, settings_for, settings_from_mapping
from nnlint.findings import Severity

from test_cli import FLAGGED, _restore_gc, run  # noqa: F401  (fixture re-used)


def write(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def check_json(*args: str) -> tuple[int, list[dict]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["check", "--format", "json", *args])
    return code, json.loads(out.getvalue() or "[]")


def test_defaults() -> None:
    settings = Settings()
    assert settings.is_enabled("NN203")
    assert not settings.is_enabled("NN999", enabled_by_default=False)
    assert settings.severity_for("NN203", Severity.WARNING) is Severity.WARNING


def test_select_ignore_prefixes() -> None:
    settings = settings_from_mapping({"select": ["NN2"], "ignore": ["NN203"]})
    assert settings.is_enabled("NN201") and not settings.is_enabled("NN203") and not settings.is_enabled("NN101")
    settings = settings_from_mapping({"select": "ALL", "ignore": "NN2"})
    assert settings.is_enabled("NN101") and not settings.is_enabled("NN203")
    # A more specific select wins over a broader ignore.
    assert settings_from_mapping({"select": ["NN203"], "ignore": ["NN2"]}).is_enabled("NN203")


def test_severity_and_options_tables() -> None:
    settings = settings_from_mapping(
        {"severity": {"NN2": "error", "nn203": "info"}, "options": {"NN101": {"severity": "hint"}}}
    )
    assert settings.severity_for("NN203", Severity.WARNING) is Severity.INFORMATION
    assert settings.severity_for("NN201", Severity.WARNING) is Severity.ERROR
    assert settings.severity_for("NN101", Severity.WARNING) is Severity.HINT
    assert settings.severity_for("NN301", Severity.WARNING) is Severity.WARNING


@pytest.mark.parametrize(
    "body, needle",
    [
        ("[tool.nnlint]\nselect = [1, 2]\n", "select"),
        ("[tool.nnlint]\nselect = ['E501']\n", "E501"),
        ("[tool.nnlint]\nignore = 'NN1, bogus'\n", "bogus"),
        ("[tool.nnlint]\nseverity = { NN101 = 'fatal' }\n", "fatal"),
        ("[tool.nnlint]\nseverity = 'error'\n", "severity"),
        ("[tool.nnlint]\nselekt = ['NN1']\n", "selekt"),
        ("[tool.nnlint.options]\nNN999 = { x = 1 }\n", "NN999"),
        ("[tool.nnlint.options]\nNN203 = { no_such_option = 1 }\n", "no_such_option"),
        ("[tool.nnlint.options]\nNN203 = 3\n", "NN203"),
        ("[tool.nnlint\nselect = []\n", "invalid TOML"),
        ("[tool]\nnnlint = 'yes'\n", "must be a table"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, body: str, needle: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_pyproject(path)
    assert needle in str(info.value)
    assert str(path) in str(info.value)


def test_bad_configuration_exits_2_through_the_cli(tmp_path: Path) -> None:
    write(tmp_path, "[tool.nnlint]\nselect = ['NN1'\n")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    completed = run("check", "a.py", cwd=tmp_path)
    assert completed.returncode == 2
    assert "pyproject.toml" in completed.stderr and "invalid TOML" in completed.stderr
    write(tmp_path, "[tool.nnlint]\nseverity = { NN203 = 'loud' }\n")
    completed = run("check", "--format", "json", "a.py", cwd=tmp_path)
    assert completed.returncode == 2 and "loud" in completed.stderr and completed.stdout == ""
    # --isolated skips the configuration entirely.
    assert run("check", "--isolated", "a.py", cwd=tmp_path).returncode == 0


def test_rule_options_are_validated_against_the_rule(tmp_path: Path, monkeypatch) -> None:
    from nnlint.registry import load_rules

    rule = load_rules()["NN203"]
    monkeypatch.setattr(rule, "options", {"limit": 3, "names": ["a"], "ratio": 0.5, "flag": False})
    ok = write(tmp_path, "[tool.nnlint.options.NN203]\nlimit = 4\nnames = ['b']\nratio = 1\nflag = true\n")
    settings = load_pyproject(ok)
    assert settings is not None and settings.option("NN203", "limit", 3) == 4
    assert settings.option("NN203", "flag", False) is True
    for body in ("limit = 'four'", "flag = 1", "limit = true", "names = 3"):
        with pytest.raises(ConfigError, match="must be a"):
            load_pyproject(write(tmp_path, f"[tool.nnlint.options.NN203]\n{body}\n"))


def test_nearest_pyproject_with_a_table_wins(tmp_path: Path) -> None:
    write(tmp_path, "[tool.nnlint]\nignore = ['NN203']\n")
    inner = tmp_path / "pkg"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")  # no table: passed over
    deeper = inner / "sub"
    deeper.mkdir()
    (deeper / "m.py").write_text(FLAGGED, encoding="utf-8")
    assert find_pyproject(deeper / "m.py") == inner / "pyproject.toml"
    cache: dict = {}
    settings = settings_for(deeper / "m.py", cache)
    assert settings.source == str(tmp_path / "pyproject.toml")
    assert not settings.is_enabled("NN203")
    assert settings_for(deeper / "m.py", cache) is settings
    # A nearer table wins over the outer one.
    write(deeper, "[tool.nnlint]\nselect = ['NN2']\n")
    assert settings_for(deeper / "m.py").is_enabled("NN203")


def test_cli_flags_override_the_configuration(tmp_path: Path) -> None:
    write(tmp_path, "[tool.nnlint]\nignore = ['NN203']\nseverity = { NN203 = 'error' }\n")
    target = tmp_path / "m.py"
    target.write_text(FLAGGED, encoding="utf-8")
    _, findings = check_json(str(target))
    assert not [f for f in findings if f["code"] == "NN203"]
    # --select replaces the configured selection and its ignores; severities carry over.
    _, findings = check_json("--select", "NN203", str(target))
    (finding,) = [f for f in findings if f["code"] == "NN203"]
    assert finding["severity"] == "error"
    _, findings = check_json("--select", "NN2", "--ignore", "NN203", str(target))
    assert not [f for f in findings if f["code"] == "NN203"]
    _, findings = check_json("--isolated", str(target))
    assert [f["severity"] for f in findings if f["code"] == "NN203"] == ["warning"]


def test_editor_settings_are_lenient_about_extra_keys() -> None:
    settings = settings_from_mapping({"select": ["NN2"], "enable": True, "interpreter": ["python"]})
    assert settings.is_enabled("NN203")
    with pytest.raises(ConfigError):
        settings_from_mapping({"select": ["NN2"], "extra": 1}, strict=True)


# ------------------------------------------------- codes that name no rule (issue 15)
NO_RULE = "matches no rule (`nnlint rule --all` lists them)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--select", "NN999"], f"nnlint: --select: NN999 {NO_RULE}\n"),
        (["--select", "NN1,NN9"], f"nnlint: --select: NN9 {NO_RULE}\n"),
        (["--extend-select", "NN7"], f"nnlint: --extend-select: NN7 {NO_RULE}\n"),
    ],
)
def test_selecting_a_code_no_rule_has_exits_2(tmp_path: Path, args: list[str], message: str) -> None:
    """A selection of nothing would check nothing and pass: it is an error, as an unknown
    configuration key is, and nothing is reported."""
    (tmp_path / "m.py").write_text(FLAGGED, encoding="utf-8")
    completed = run("check", *args, "m.py", cwd=tmp_path)
    assert (completed.returncode, completed.stdout, completed.stderr) == (2, "", message)
    completed = run("check", *args, "--stdin-filename", "m.py", cwd=tmp_path, stdin=FLAGGED)
    assert (completed.returncode, completed.stdout, completed.stderr) == (2, "", message)


def test_ignoring_a_code_no_rule_has_warns_and_checks(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(FLAGGED, encoding="utf-8")
    completed = run("check", "--ignore", "NN999", "--format", "json", "m.py", cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr == f"nnlint: warning: --ignore: NN999 {NO_RULE}; ignored\n"
    assert [f["code"] for f in json.loads(completed.stdout)] == ["NN203"]


def test_real_codes_and_prefixes_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(FLAGGED, encoding="utf-8")
    for selection in ("ALL", "NN", "NN2", "NN20", "NN203", "NN0,NN203"):
        completed = run("check", "--select", selection, "--ignore", "NN0", "m.py", cwd=tmp_path)
        assert completed.returncode == 1 and completed.stderr == "", (selection, completed.stderr)


@pytest.mark.parametrize("key", ["select", "extend-select"])
def test_a_configured_selection_of_no_rule_exits_2(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, f"[tool.nnlint]\n{key} = ['NN2', 'NN9']\n")
    (tmp_path / "m.py").write_text(FLAGGED, encoding="utf-8")
    completed = run("check", "m.py", cwd=tmp_path)
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr == f"nnlint: {path}: [tool.nnlint]: '{key}': NN9 {NO_RULE}\n"


def test_a_configured_ignore_of_no_rule_warns_once(tmp_path: Path) -> None:
    path = write(tmp_path, "[tool.nnlint]\nignore = ['NN9', 'NN101']\n")
    for name in ("a.py", "b.py"):
        (tmp_path / name).write_text(FLAGGED, encoding="utf-8")
    completed = run("check", "--format", "json", ".", cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr == f"nnlint: warning: {path}: [tool.nnlint]: 'ignore': NN9 {NO_RULE}; ignored\n"
    assert sorted(f["path"] for f in json.loads(completed.stdout)) == ["a.py", "b.py"]
