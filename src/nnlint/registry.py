"""Rules register themselves here; the engine, CLI and server only see the registry."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import TYPE_CHECKING, ClassVar, Iterable

from nnlint.findings import Finding, Severity

if TYPE_CHECKING:
    from nnlint.context import Context

_CODE = re.compile(r"^NN\d{3}$")
REGISTRY: dict[str, type["Rule"]] = {}


class Rule:
    """Base class: one subclass per mistake, in its own module under `rules/`.

    The class docstring is the user documentation (Markdown with the sections
    "What it does", "Why is this bad?", "Example", "Use instead", "Fix"). It is what
    `nnlint rule NN101` prints and what the editor hover shows.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    fix_title: ClassVar[str | None] = None
    enabled_by_default: ClassVar[bool] = True
    since: ClassVar[str] = "0.1.0"
    options: ClassVar[dict[str, object]] = {}
    # Words whose mention anywhere in a module can change this rule's findings in statements
    # that are not linked to it by names (see `nnlint.reanalysis`): a module-wide fact, such
    # as "some call sets the epoch of a sampler this file cannot tell apart". An edit of a
    # live buffer that reaches a statement mentioning one is analysed in full. Empty: the
    # rule's findings in a statement follow from the statements linked to it by names and
    # from the imports.
    module_wide_words: ClassVar[frozenset[str]] = frozenset()
    # A rule that tests the module's text (`"strict" in text`, a regex over every line,
    # comments included) declares what can flip that test: an edit of a line it matches
    # (before or after the edit) is analysed in full. None: no such test, or the words say it.
    module_wide_text: ClassVar["re.Pattern[str] | None"] = None

    def check(self, ctx: "Context") -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")


def register(rule: type[Rule]) -> type[Rule]:
    if not _CODE.match(rule.code):
        raise ValueError(f"rule code {rule.code!r} must look like NN123")
    existing = REGISTRY.get(rule.code)
    if existing is not None and existing.__qualname__ != rule.__qualname__:
        raise ValueError(f"{rule.code} registered twice: {existing.__name__} and {rule.__name__}")
    if not (rule.__doc__ or "").strip():
        raise ValueError(f"{rule.code} has no documentation")
    REGISTRY[rule.code] = rule
    global _catalog
    _catalog = None
    return rule


_loaded = False
_catalog: dict[str, type[Rule]] | None = None  # REGISTRY sorted by code, until a rule registers


def load_rules() -> dict[str, type[Rule]]:
    """Import every module of `nnlint.rules`; each registers its rule on import."""
    global _loaded
    if not _loaded:
        package = importlib.import_module("nnlint.rules")
        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if not module.name.startswith("_"):
                importlib.import_module(f"nnlint.rules.{module.name}")
        _loaded = True
    global _catalog
    if _catalog is None:
        _catalog = dict(sorted(REGISTRY.items()))
    return dict(_catalog)  # the caller's own copy


def get_rule(code: str) -> type[Rule] | None:
    return load_rules().get(code.upper())
