"""Settings: which rules run, at which severity, with which options.

Read from `[tool.nnlint]` in the nearest pyproject.toml; CLI flags and editor settings
override it. Only selection, severities and rule options can be configured: nothing
in a configuration file is ever executed.
"""

from __future__ import annotations

import re
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


class UnreadableConfig(ConfigError):
    """A configuration file that cannot be read at all (not a mistake in its settings)."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    severity: tuple[tuple[str, Severity], ...] = ()
    options: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    source: str | None = None  # the pyproject.toml these came from, if any
    # Problems that do not stop a run (an --ignore of a code no rule has): the CLI
    # prints them once; they take no part in comparisons or the result cache's key.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # `cache-dir`: where the CLI keeps its result cache (relative to `source`'s folder).
    cache_dir: str | None = field(default=None, compare=False)

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
        return replace(self, **values) if values else self  # type: ignore[arg-type]


def _best_prefix(code: str, prefixes: tuple[str, ...]) -> str | None:
    best: str | None = None
    for prefix in prefixes:
        normalized = "NN" if prefix.upper() == "ALL" else prefix.upper()
        if code.startswith(normalized) and (best is None or len(normalized) > len(best)):
            best = normalized
    return best


_CODE_PATTERN = re.compile(r"^(?:NN\d{0,3}|ALL)$")
KNOWN_KEYS = frozenset(
    {"select", "ignore", "extend-select", "extend_select", "severity", "options", "rules", "cache-dir", "cache_dir"}
)


def _check_code(code: str, key: str) -> str:
    normalized = code.strip().upper()
    if not _CODE_PATTERN.match(normalized):
        raise ConfigError(
            f"'{key}' has {code!r}, which is not a rule code or prefix (expected e.g. NN101, NN1 or ALL)"
        )
    return normalized


def _codes(value: object, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"'{key}' must be a list of rule codes or prefixes, got {value!r}")
    return tuple(_check_code(v, key) for v in value)


def matches_no_rule(code: str) -> bool:
    """True when `code` (a well-formed code or prefix) names no rule: selecting it
    would check nothing. NN000 (syntax errors) counts as a rule."""
    from nnlint.registry import load_rules  # the registry imports rules: only when validating

    normalized = "NN" if code.upper() == "ALL" else code.upper()
    return not any(known.startswith(normalized) for known in ("NN000", *load_rules()))


def unknown_code_message(code: str, key: str) -> str:
    return f"{key}: {code} matches no rule (`nnlint rule --all` lists them)"


def _known_selection(codes: tuple[str, ...], key: str) -> tuple[str, ...]:
    """A selection naming a code no rule has would silently check nothing: an error."""
    unknown = [code for code in codes if matches_no_rule(code)]
    if unknown:
        raise ConfigError(unknown_code_message(", ".join(unknown), f"'{key}'"))
    return codes


def _severity(code: object, level: object) -> tuple[str, Severity]:
    key = _check_code(str(code), "severity")
    if not isinstance(level, str):
        raise ConfigError(f"severity for {code} must be error, warning, information or hint, got {level!r}")
    try:
        return key, Severity.parse(level)
    except ValueError as exc:
        raise ConfigError(
            f"severity for {code} must be error, warning, information or hint, got {level!r}"
        ) from exc


def _check_options(code: str, values: dict[str, object]) -> None:
    """Strict mode: the rule must exist and declare each option, with a matching type."""
    from nnlint.registry import load_rules  # the registry imports rules: only when validating

    rule = load_rules().get(code)
    if rule is None:
        raise ConfigError(f"options for {code}: there is no rule {code} (`nnlint rule --all` lists them)")
    for name, value in values.items():
        if name not in rule.options:
            known = ", ".join(sorted(rule.options)) or "none"
            raise ConfigError(f"options for {code}: unknown option {name!r} (known options: {known})")
        default = rule.options[name]
        if default is None:
            continue
        expected = type(default)
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if expected in (list, tuple) and isinstance(value, (list, tuple)):
            ok = True
        if not ok:
            raise ConfigError(
                f"options for {code}: {name!r} must be a {expected.__name__}, got {value!r}"
            )


def settings_from_mapping(data: dict[str, object], source: str | None = None, strict: bool = False) -> Settings:
    """Build settings from a `[tool.nnlint]` table or an editor's settings object.

    `strict` (configuration files) also rejects unknown keys, unknown rules in the
    options and options a rule does not declare; editor settings objects carry other
    keys of their own, so they are read leniently.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"settings must be a table, got {data!r}")
    if strict:
        unknown = sorted(set(data) - KNOWN_KEYS)
        if unknown:
            raise ConfigError(
                f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"(known keys: select, ignore, extend-select, severity, options, cache-dir)"
            )
    select = _known_selection(_codes(data.get("select", []), "select"), "select")
    ignore = _codes(data.get("ignore", []), "ignore")
    extend = _known_selection(_codes(data.get("extend-select", data.get("extend_select", [])), "extend-select"), "extend-select")
    # Ignoring a code no rule has is harmless (nothing to turn off), but likely a typo.
    warnings = tuple(unknown_code_message(code, "'ignore'") for code in ignore if matches_no_rule(code))
    severity_table = data.get("severity", {})
    if not isinstance(severity_table, dict):
        raise ConfigError(f"'severity' must be a table of code = severity, got {severity_table!r}")
    severities = [_severity(code, level) for code, level in severity_table.items()]
    options = []
    rule_options = data.get("options", data.get("rules", {}))
    if not isinstance(rule_options, dict):
        raise ConfigError("'options' must be a table of code = { option = value }")
    for code, values in rule_options.items():
        if not isinstance(values, dict):
            raise ConfigError(f"options for {code} must be a table")
        key = str(code).strip().upper()
        if not re.match(r"^NN\d{3}$", key):
            raise ConfigError(f"options: {code!r} is not a rule code (expected e.g. NN101)")
        values = dict(values)
        if "severity" in values:  # `[tool.nnlint.options.NN101] severity = "error"`
            severities.append(_severity(key, values.pop("severity")))
        if strict:
            _check_options(key, values)
        options.append((key, tuple(sorted(values.items()))))
    cache_dir = data.get("cache-dir", data.get("cache_dir"))
    if cache_dir is not None:
        # A configuration file comes with the code being checked: it may name a folder
        # for nnlint to write into, but only one inside its own project.
        if not isinstance(cache_dir, str) or not cache_dir.strip():
            raise ConfigError(f"'cache-dir' must be a folder path, got {cache_dir!r}")
        parts = Path(cache_dir).parts
        if Path(cache_dir).is_absolute() or cache_dir.startswith("~") or ".." in parts:
            raise ConfigError(
                f"'cache-dir' must be a folder inside the project (a relative path without '..'), got {cache_dir!r}; "
                "--cache-dir or NNLINT_CACHE_DIR can put it anywhere"
            )
    if source is not None:
        warnings = tuple(f"{source}: [tool.nnlint]: {message}; ignored" for message in warnings)
    return Settings(select, ignore, extend, tuple(severities), tuple(options), source, warnings, cache_dir)


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` (a file or a folder)."""
    start = start.resolve()
    for folder in [start, *start.parents] if start.is_dir() else [start.parent, *start.parent.parents]:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_pyproject(path: Path) -> Settings | None:
    """Settings from `[tool.nnlint]`, or None when the file has no such table."""
    try:
        if not path.is_file():  # never block reading a FIFO named pyproject.toml
            raise UnreadableConfig(f"{path}: cannot read configuration: not a regular file")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except RecursionError as exc:  # valid TOML, nested deeper than the parser can go
        raise UnreadableConfig(f"{path}: cannot read configuration: values nested too deeply") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        return None
    table = tool.get("nnlint")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nnlint] must be a table")
    try:
        return settings_from_mapping(table, str(path), strict=True)
    except ConfigError as exc:
        raise ConfigError(f"{path}: [tool.nnlint]: {exc}") from exc


def settings_for(path: Path, cache: dict[Path, Settings] | None = None, warnings: list[str] | None = None) -> Settings:
    """Settings for a file or folder: `[tool.nnlint]` of the nearest pyproject.toml that
    has one (a pyproject.toml without the table is passed over, as Ruff does), else
    the defaults. `cache` maps folders (and pyproject files) to their settings. With
    `warnings`, a pyproject.toml that parses as TOML but cannot be read here (nested
    too deeply) is passed over with a warning instead of stopping the run."""
    try:
        resolved = path.resolve()
        folder = resolved if resolved.is_dir() else resolved.parent
    except OSError:
        return Settings()
    visited: list[Path] = []
    settings: Settings | None = None
    for current in [folder, *folder.parents]:
        if cache is not None and current in cache:
            settings = cache[current]
            break
        visited.append(current)
        candidate = current / "pyproject.toml"
        if candidate.is_file():
            if cache is not None and candidate in cache:
                loaded: Settings | None = cache[candidate]
            else:
                try:
                    loaded = load_pyproject(candidate)
                except UnreadableConfig as exc:
                    if warnings is None:
                        raise
                    warnings.append(f"{exc}; its settings are not used")
                    loaded = None
            if loaded is not None:
                if cache is not None:
                    cache[candidate] = loaded
                settings = loaded
                break
    if settings is None:
        settings = Settings()
    if cache is not None:
        for current in visited:
            cache[current] = settings
    return settings
