"""The settings a check runs with: which rules, at which severity, with which options.

A plain value, below the analyses that read it (`Context`) and the registry; reading and
validating it from `[tool.nnlint]` or editor settings against the rule catalog is
`nnlint.config`'s work, a layer above the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from nnlint.findings import Severity


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
