"""Editor settings parsed into typed dataclasses.

Bad values never raise: each wrong key yields a message and its default. The result is
combined with `[tool.nnlint]` from the workspace's pyproject.toml according to
`configurationPreference` into the engine's `Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnlint.config import ConfigError, Settings, code_list, find_pyproject, load_pyproject, settings_from_mapping

RUN_MODES = ("onType", "onSave")
PREFERENCES = ("editorFirst", "filesystemFirst", "editorOnly")
LANGUAGE_CHOICES = ("auto", "en", "ko")
DEFAULT_DEBOUNCE_MS = 250

# Every key of the "nnlint" section `parse_settings` reads. The VS Code client sends a subset
# (vscode-client/src/settings.ts, SERVER_KEYS); tests/server/test_settings_keys.py checks
# that the two lists agree.
EDITOR_KEYS = (
    "enable",
    "select",
    "ignore",
    "extendSelect",
    "severity",
    "options",
    "run",
    "debounceMs",
    "showSyntaxErrors",
    "configurationPreference",
    "locale",
    "language",
    "interpreter",
    "environmentPath",  # another name of `interpreter` (the VS Code Python tools' term)
)


@dataclass(frozen=True)
class ServerSettings:
    """One workspace folder's editor settings (section "nnlint")."""

    enable: bool = True
    select: tuple[str, ...] | None = None  # None: not set in the editor
    ignore: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] | None = None
    severity: dict[str, str] | None = None
    options: dict[str, dict[str, Any]] | None = None
    run: str = "onType"
    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    show_syntax_errors: bool = False
    configuration_preference: str = "editorFirst"
    locale: str | None = None
    # "auto": the locale setting, else the client's locale from `initialize`; "en"/"ko" override both
    language: str = "auto"
    # The Python environment jedi follows imports in (a python executable or a venv);
    # None: the server's own.
    interpreter: str | None = None

    def editor_mapping(self) -> dict[str, object]:
        """The keys set in the editor, in `[tool.nnlint]` form."""
        data: dict[str, object] = {}
        if self.select is not None:
            data["select"] = list(self.select)
        if self.ignore is not None:
            data["ignore"] = list(self.ignore)
        if self.extend_select is not None:
            data["extend-select"] = list(self.extend_select)
        if self.severity is not None:
            data["severity"] = dict(self.severity)
        if self.options is not None:
            data["options"] = dict(self.options)
        return data


def _unwrap(raw: Any) -> Any:
    """Accept {"nnlint": {...}}, {"settings": {...}} or the settings object itself."""
    if isinstance(raw, dict):
        if isinstance(raw.get("nnlint"), dict):
            return raw["nnlint"]
        if isinstance(raw.get("settings"), dict) and not any(k in raw for k in ("select", "enable", "run")):
            inner = raw["settings"]
            return inner.get("nnlint", inner) if isinstance(inner.get("nnlint"), dict) else inner
    return raw


def _code_list(value: Any) -> tuple[str, ...]:
    items = code_list(value)
    if items is None:
        raise TypeError("a list of rule codes or prefixes")
    return tuple(v.strip().upper() for v in items if v.strip())


def parse_settings(raw: Any) -> tuple[ServerSettings, list[str]]:
    """Typed settings and the problems found (each problem falls back to that key's default)."""
    raw = _unwrap(raw)
    problems: list[str] = []
    if raw is None:
        return ServerSettings(), problems
    if not isinstance(raw, dict):
        return ServerSettings(), [f"nnlint settings must be an object, got {type(raw).__name__}; using defaults"]
    values: dict[str, Any] = {}

    def bad(key: str, expected: str) -> None:
        problems.append(f"nnlint setting '{key}' must be {expected}, got {raw[key]!r}; using the default")

    for key, attr in (("enable", "enable"), ("showSyntaxErrors", "show_syntax_errors")):
        if key in raw:
            if isinstance(raw[key], bool):
                values[attr] = raw[key]
            else:
                bad(key, "true or false")
    for key, attr in (("select", "select"), ("ignore", "ignore"), ("extendSelect", "extend_select")):
        if key in raw and raw[key] is not None:
            try:
                values[attr] = _code_list(raw[key])
            except TypeError as exc:
                bad(key, str(exc))
    if raw.get("severity") is not None:
        value = raw["severity"]
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            try:  # validate with the engine's own parser
                settings_from_mapping({"severity": value})
                values["severity"] = {str(k).upper(): v for k, v in value.items()}
            except ConfigError as exc:
                problems.append(f"nnlint setting 'severity': {exc}; using the default")
        else:
            bad("severity", "an object of code or prefix -> error|warning|information|hint")
    if raw.get("options") is not None:
        value = raw["options"]
        if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            values["options"] = {str(k).upper(): v for k, v in value.items()}
        else:
            bad("options", "an object of code -> {option: value}")
    if "run" in raw:
        if raw["run"] in RUN_MODES:
            values["run"] = raw["run"]
        else:
            bad("run", "'onType' or 'onSave'")
    if "debounceMs" in raw:
        value = raw["debounceMs"]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 60_000:
            values["debounce_ms"] = int(value)
        else:
            bad("debounceMs", "a number of milliseconds between 0 and 60000")
    if "configurationPreference" in raw:
        if raw["configurationPreference"] in PREFERENCES:
            values["configuration_preference"] = raw["configurationPreference"]
        else:
            bad("configurationPreference", "'editorFirst', 'filesystemFirst' or 'editorOnly'")
    if raw.get("language") is not None:
        if raw["language"] in LANGUAGE_CHOICES:
            values["language"] = raw["language"]
        else:
            bad("language", "'auto', 'en' or 'ko'")
    if raw.get("locale") is not None:
        if isinstance(raw["locale"], str):
            values["locale"] = raw["locale"]
        else:
            bad("locale", "a string such as 'en' or 'ko'")
    interpreter_key = "interpreter" if "interpreter" in raw else "environmentPath"
    interpreter = raw.get(interpreter_key)
    if isinstance(interpreter, list):  # the VS Code Python tools' shape: ["/path/python"]
        interpreter = interpreter[0] if interpreter else None
    if interpreter is not None:
        if isinstance(interpreter, str):
            values["interpreter"] = interpreter or None
        else:
            bad(interpreter_key, "the path of a Python executable or environment")
    return ServerSettings(**values), problems


@dataclass
class PyprojectCache:
    """`[tool.nnlint]` tables by pyproject path and modification time (so an edit is seen
    even by clients that cannot watch files); cleared when a watched file changes."""

    entries: dict[Path, tuple[float, dict[str, object] | None, str | None]] = field(default_factory=dict)

    def clear(self) -> None:
        self.entries.clear()

    def table_for(self, document_path: str | None) -> tuple[Path | None, dict[str, object] | None, str | None]:
        """(pyproject path, its [tool.nnlint] mapping or None, an error message or None)."""
        if not document_path:
            return None, None, None
        try:
            pyproject = find_pyproject(Path(document_path))
            mtime = pyproject.stat().st_mtime if pyproject is not None else 0.0
        except (OSError, ValueError):
            return None, None, None
        if pyproject is None:
            return None, None, None
        cached = self.entries.get(pyproject)
        if cached is None or cached[0] != mtime:
            cached = (mtime, *_read_table(pyproject))
            self.entries[pyproject] = cached
        return pyproject, cached[1], cached[2]


def _read_table(path: Path) -> tuple[dict[str, object] | None, str | None]:
    try:
        settings = load_pyproject(path)
    except ConfigError as exc:
        return None, str(exc)
    if settings is None:
        return None, None
    from nnlint.config import tomllib  # the engine's TOML reader

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("nnlint")
    except Exception as exc:  # noqa: BLE001 - load_pyproject succeeded a moment ago
        return None, str(exc)
    return (table if isinstance(table, dict) else None), None


def _normalize(table: dict[str, object]) -> dict[str, object]:
    data = dict(table)
    if "extend_select" in data and "extend-select" not in data:
        data["extend-select"] = data.pop("extend_select")
    if "rules" in data and "options" not in data:
        data["options"] = data.pop("rules")
    return data


def effective_settings(
    editor: ServerSettings, file_table: dict[str, object] | None, source: str | None = None
) -> tuple[Settings, str | None]:
    """The engine settings for a document, and a problem message (then defaults are used)."""
    editor_data = editor.editor_mapping()
    file_data = _normalize(file_table) if file_table and editor.configuration_preference != "editorOnly" else {}
    if editor.configuration_preference == "filesystemFirst":
        low, high = editor_data, file_data
    else:
        low, high = file_data, editor_data
    merged: dict[str, object] = {**low, **high}
    for key in ("severity", "options"):
        if isinstance(low.get(key), dict) and isinstance(high.get(key), dict):
            merged[key] = {**low[key], **high[key]}  # type: ignore[dict-item]
    try:
        return settings_from_mapping(merged, source if file_data else None), None
    except ConfigError as exc:
        return Settings(), f"nnlint: invalid settings ({exc}); using defaults"
