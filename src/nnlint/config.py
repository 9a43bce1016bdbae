"""Settings: which rules run, at which severity, with which options.

Read from `[tool.nnlint]` in the nearest pyproject.toml; CLI flags and editor settings
override it. Only selection, severities and rule options can be configured: nothing
in a configuration file is ever executed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from nnlint.findings import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    options: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    source: str | None = None  # the pyproject.toml these came from, if any

    def is_enabled(self, code: str, enabled_by_default: bool = True) -> bool:
        selected = _best_prefix(code, self.select + self.extend_select)
        if selected is None:
            if self.select or not enabled_by_default:
                return False
            selected = ""
        elif not enabled_by_default and selected == "NN":
            # "ALL" selects the default catalog; an opt-in rule has to be named.
            return False
        ignored = _best_prefix(code, self.ignore)
        return ignored is None or len(ignored) < len(selected)

    def severity_for(self, code: str, default: Severity) -> Severity:
        best: tuple[int, Severity] | None = None
        for prefix, severity in self.severity:
            if code.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), severity)
        return best[1] if best else default

    def option(self, code: str, name: str, default: object) -> object:
        for rule_code, values in self.options:
            if rule_code == code:
                return dict(values).get(name, default)
        return default

    def merged(self, **overrides: object) -> "Settings":
        values = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **values)  # type: ignore[arg-type]


def _best_prefix(code: str, prefixes: tuple[str, ...]) -> str | None:
    best: str | None = None
    for prefix in prefixes:
        normalized = "NN" if prefix.upper() == "ALL" else prefix.upper()
        if code.startswith(normalized) and (best is None or len(normalized) > len(best)):
            best = normalized
    return best


def _codes(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of rule codes or prefixes, got {value!r}")
    return tuple(v.strip().upper() for v in value)


def settings_from_mapping(data: dict[str, object], source: str | None = None) -> Settings:
    """Build settings from a `[tool.nnlint]` table or an editor's settings object."""
    select = _codes(data.get("select", []), "select")
    ignore = _codes(data.get("ignore", []), "ignore")
    extend = _codes(data.get("extend-select", data.get("extend_select", [])), "extend-select")
    severity_table = data.get("severity", {})
    if not isinstance(severity_table, dict):
        raise ConfigError(f"'severity' must be a table of code = severity, got {severity_table!r}")
    severities = []
    for code, level in severity_table.items():
        try:
            severities.append((str(code).upper(), Severity.parse(str(level))))
        except ValueError as exc:
            raise ConfigError(
                f"severity for {code} must be error, warning, information or hint, got {level!r}"
            ) from exc
    options = []
    rule_options = data.get("options", data.get("rules", {}))
    if not isinstance(rule_options, dict):
        raise ConfigError("'options' must be a table of code = { option = value }")
    for code, values in rule_options.items():
        if not isinstance(values, dict):
            raise ConfigError(f"options for {code} must be a table")
        options.append((str(code).upper(), tuple(sorted(values.items()))))
    return Settings(select, ignore, extend, tuple(severities), tuple(options), source)


def find_pyproject(start: Path) -> Path | None:
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_pyproject(path: Path) -> Settings | None:
    """Settings from `[tool.nnlint]`, or None when the file has no such table."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
    table = data.get("tool", {}).get("nnlint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nnlint] must be a table")
    try:
        return settings_from_mapping(table, str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def settings_for(path: Path, cache: dict[Path, Settings] | None = None) -> Settings:
    pyproject = find_pyproject(path)
    if pyproject is None:
        return Settings()
    if cache is not None and pyproject in cache:
        return cache[pyproject]
    settings = load_pyproject(pyproject) or Settings()
    if cache is not None:
        cache[pyproject] = settings
    return settings
