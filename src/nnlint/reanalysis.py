"""Re-analysing a live buffer after an edit: the findings of the statements an edit cannot
have affected are kept, and only the part of the module it touched is analysed again.

Why a part can be analysed alone. The analysis of a module connects its top-level
statements through names only: a call reaches a function by its name, a value comes from
a module-level binding by its name, a method or attribute is found by its name on a class
of the file, and a helper's parameter gets its value from the calls that name the helper.
So two top-level statements are *linked* when one mentions an identifier the other gives a
meaning to (a module-level name, a method, a class attribute, any attribute assigned), or
both give a meaning to the same one. Imports are shared context: they give meaning to no
statement in particular (every analysed part includes all of them). The findings located in
the statements of one group of linked statements (a component) do not depend on the
statements of another group, apart from the imports.

After an edit that changed some top-level statements but not the number of lines, the
components of the changed statements (before and after the edit, since an edit can also
cut a link) are analysed again, as a module made of the imports and those statements, with
the file's full text (so every position, comment and suppression is where it is in the
file); every other finding is kept as it was. The result equals a full analysis; it is
not used (a full analysis runs instead) whenever that cannot be shown cheaply:

- the number of lines changed (positions after the edit would move, and messages name lines);
- an import changed; a changed line can hold a suppression comment (`nnlint`, `noqa`);
- the settings, or anything the project index heard of in other modules, changed, or a
  module the last analysis read is not at the version it read, or read this module back;
- the part to analyse again is more than half the file (a full analysis costs the same);
- a finding sits on an import, or points (related lines, fix edits) from one part into the
  other; a rule failed.

`tests/test_reanalysis.py` edits real files at random and compares every result with a
full analysis.
"""

from __future__ import annotations

import ast
import copy
import logging
import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nnlint.config import Settings
from nnlint.engine import CheckResult, active_rules, check_source, run_rules
from nnlint.findings import Finding
from nnlint.semantic import Semantic
from nnlint.source import SourceFile, lines_with_breaks

if TYPE_CHECKING:
    from nnlint.project import ProjectIndex

_log = logging.getLogger("nnlint")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAY_SUPPRESS = re.compile(r"nnlint|noqa", re.IGNORECASE)
# Analysing a part pays off only when it is small against the file.
MAX_SHARE = 0.5
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class StatementFacts:
    """How a top-level statement links to the others (see the module's docstring)."""

    defines: frozenset[str]  # names it gives a meaning to: module level, methods, attributes
    mentions: frozenset[str]  # every identifier in it, in strings too (`getattr(m, "name")`)
    shared: bool  # an import: part of every analysed part


_IMPORT = StatementFacts(frozenset(), frozenset(), True)


def statement_facts(statement: ast.stmt) -> StatementFacts:
    """The names `statement` defines and mentions. Over-approximate on purpose: a link too
    many only makes a part bigger, a link missing would keep a stale finding."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return _IMPORT
    defines: set[str] = set()
    mentions: set[str] = set()
    # A module-level function's own names are its locals; a class's and a compound
    # statement's (if, for, try, with at module level) names are module or class level.
    local = isinstance(statement, _FUNCTIONS)
    if local:
        defines.add(statement.name)  # type: ignore[attr-defined]
    for node in ast.walk(statement):
        kind = type(node)
        if kind is ast.Name:
            mentions.add(node.id)  # type: ignore[attr-defined]
            if not local and type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                defines.add(node.id)  # type: ignore[attr-defined]
        elif kind is ast.Attribute:
            mentions.add(node.attr)  # type: ignore[attr-defined]
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                defines.add(node.attr)  # type: ignore[attr-defined]
        elif kind is ast.Constant:
            if type(node.value) is str:  # type: ignore[attr-defined]
                mentions.update(_WORD.findall(node.value))  # type: ignore[attr-defined]
        elif kind is ast.alias:
            mentions.update(_WORD.findall(node.name))  # type: ignore[attr-defined]
            bound = node.asname or node.name.split(".")[0]  # type: ignore[attr-defined]
            mentions.add(bound)
            if not local:
                defines.add(bound)
        elif kind is ast.ImportFrom:
            mentions.update(_WORD.findall(node.module or ""))  # type: ignore[attr-defined]
        elif kind is ast.Global:
            defines.update(node.names)  # type: ignore[attr-defined]
            mentions.update(node.names)  # type: ignore[attr-defined]
        elif kind is ast.Nonlocal:
            mentions.update(node.names)  # type: ignore[attr-defined]
        else:
            # definitions (`name`), keyword arguments and parameters (`arg`), exception and
            # match captures (`name`, `rest`), type parameters (`name`)
            for field in ("name", "arg", "rest"):
                value = getattr(node, field, None)
                if type(value) is str:
                    mentions.add(value)
                    if field != "arg" and (not local or kind in _DEFINITIONS and node is not statement):
                        # a class's methods, a compound statement's definitions; in a
                        # function, a nested definition is local but counted anyway
                        # (closures returned and called elsewhere keep their name)
                        defines.add(value)
    return StatementFacts(frozenset(defines), frozenset(mentions), False)


def components(facts: list[StatementFacts]) -> list[int]:
    """The component of each statement (its smallest linked statement's index; -1 for an
    import): statements are linked when one mentions a name the other defines, or both
    define it."""
    parent = list(range(len(facts)))

    def find(item: int) -> int:
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(a: int, b: int) -> None:
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    definer: dict[str, int] = {}
    for index, fact in enumerate(facts):
        for name in fact.defines:
            first = definer.setdefault(name, index)
            if first != index:
                union(first, index)
    for index, fact in enumerate(facts):
        if fact.shared:
            continue
        for name in fact.mentions:
            other = definer.get(name)
            if other is not None and other != index:
                union(other, index)
    return [-1 if fact.shared else find(index) for index, fact in enumerate(facts)]


@dataclass
class _Analysis:
    """What the next check of the buffer may reuse."""

    lines: list[str]
    body: list[ast.stmt]
    facts: list[StatementFacts]
    components: list[int]
    findings: list[Finding]
    dependencies: dict
    path: str
    settings: Settings
    project: "ProjectIndex | None"
    project_changes: int
    # names an edit must not reach for a part to be analysed alone: the rules' module-wide
    # words, and the names imported from the project's other modules
    guarded: frozenset[str]


class LiveAnalysis:
    """The last analysis of one buffer being edited, and how to get the next from it.
    Like `IncrementalParser`, whose trees it is given, it belongs to one buffer and serves
    one check at a time."""

    def __init__(self) -> None:
        self._last: _Analysis | None = None
        self.described = ""  # what the last check did (for the server's debug log)

    def forget(self) -> None:
        self._last = None

    def check(
        self,
        text: str,
        path: str,
        settings: Settings,
        project: "ProjectIndex | None" = None,
        tree: ast.Module | None = None,
    ) -> CheckResult:
        """`check_source(text, path, settings, verify_fixes=False, project=project, tree=tree)`,
        reusing what it can of the last check (see the module's docstring). `tree`, when
        given, is `ast.parse(text)` sharing the unchanged statements' nodes with the tree
        of the last check (`IncrementalParser`)."""
        lines = lines_with_breaks(text)
        facts = self._facts(tree) if tree is not None else None
        result = None
        if tree is not None and facts is not None:
            try:
                result = self._reanalyse(text, lines, path, settings, project, tree, facts)
            except Exception:  # noqa: BLE001 - a bug here must cost time, not findings
                _log.exception("nnlint: re-analysing part of %s failed; analysing it in full", path)
                self._last = None
        if result is None:
            result = check_source(text, path, settings, verify_fixes=False, project=project, tree=tree)
            self._remember_full(result, lines, path, settings, project, facts)
        return result

    # ------------------------------------------------------------------ helpers
    def _facts(self, tree: ast.Module) -> list[StatementFacts]:
        last = self._last
        known = {id(s): f for s, f in zip(last.body, last.facts)} if last is not None else {}
        return [known.get(id(statement)) or statement_facts(statement) for statement in tree.body]

    def _remember_full(
        self,
        result: CheckResult,
        lines: list[str],
        path: str,
        settings: Settings,
        project: "ProjectIndex | None",
        facts: list[StatementFacts] | None,
    ) -> None:
        semantic = result.semantic
        if result.error is not None or result.internal_errors or semantic is None:
            self._last = None
            self.described = "full analysis (nothing kept)"
            return
        tree = semantic.tree
        if facts is None or len(facts) != len(tree.body):
            facts = self._facts(tree)
        self._last = _Analysis(
            lines, list(tree.body), facts, components(facts), [_copy(f) for f in result.findings],
            dict(semantic.dependencies), path, settings, project, _changes(project, path),
            _guarded(tree, settings, project, path),
        )
        self.described = self.described if self.described.startswith("full") else "full analysis"

    def _reanalyse(
        self,
        text: str,
        lines: list[str],
        path: str,
        settings: Settings,
        project: "ProjectIndex | None",
        tree: ast.Module,
        facts: list[StatementFacts],
    ) -> CheckResult | None:
        """The check from a part of the module and the last findings; None when not
        shown equal to a full analysis (the caller then analyses in full)."""
        last = self._last
        self.described = "full analysis"
        if last is None:
            return None
        if (last.path != path or last.project is not project or last.settings != settings
                or len(lines) != len(last.lines) or _changes(project, path) != last.project_changes):
            self.described = "full analysis: not comparable with the last one"
            return None
        if _suppression_edited(last.lines, lines):
            self.described = "full analysis: a suppression comment may have changed"
            return None
        changed_new, same = _diff(last, tree.body, lines)
        if changed_new is None:
            self.described = "full analysis: an import changed"
            return None
        comps = components(facts)
        redo = _part(last, comps, changed_new, same)
        redo_lines = sum(_last_line(s) - _first_line(s) + 1 for i, s in enumerate(tree.body) if i in redo)
        total = sum(_last_line(s) - _first_line(s) + 1 for s, f in zip(tree.body, facts) if not f.shared)
        if redo_lines > MAX_SHARE * max(total, 1):
            self.described = f"full analysis: the edit reaches {redo_lines} of {total} lines"
            return None
        old_part = _old_indices(last, redo, same)
        reached = set().union(*(facts[i].mentions for i in redo), *(last.facts[j].mentions for j in old_part))
        if "" in last.guarded or not last.guarded.isdisjoint(reached):
            word = min(last.guarded & reached) if "" not in last.guarded else "*"
            self.described = f"full analysis: the edit reaches `{word}`, which matters module-wide or comes from another module"
            return None
        old_ranges = _ranges([last.body[j] for j in old_part])
        new_ranges = _ranges([s for i, s in enumerate(tree.body) if i in redo])
        shared_ranges = _ranges([s for s, f in zip(tree.body, facts) if f.shared])
        allowed = sorted(new_ranges + shared_ranges)
        kept = []
        for finding in last.findings:
            if _inside(finding.span.line, old_ranges):
                continue
            if _inside(finding.span.line, shared_ranges) or _touches(finding, old_ranges):
                self.described = "full analysis: a finding links the edited part to the rest"
                return None
            kept.append(finding)
        part = ast.Module(
            body=[s for i, (s, f) in enumerate(zip(tree.body, facts)) if f.shared or i in redo],
            type_ignores=tree.type_ignores,
        )
        file_path = Path(path) if project is not None and path and not path.startswith("<") else None
        source = SourceFile(text, path)
        try:
            semantic = Semantic.build(part, file_path, project)
        except RecursionError:
            return None
        found, failed = run_rules(source, part, semantic, settings)
        if failed:
            semantic.release()
            return None
        for finding in found:
            if not _inside(finding.span.line, new_ranges) or _touches(finding, [], allowed=allowed):
                semantic.release()
                self.described = "full analysis: a finding of the edited part lies outside it"
                return None
        dependencies = dict(last.dependencies)
        dependencies.update(semantic.dependencies)
        if project is not None and not project.still_reads_as_before(dependencies, Path(path)):
            semantic.release()
            self.described = "full analysis: another module read by the analysis changed, or reads this one"
            return None
        findings = [_copy(f) for f in kept] + found
        findings.sort(key=Finding.sort_key)
        semantic.dependencies = dependencies
        self._last = _Analysis(
            lines, list(tree.body), facts, comps, [_copy(f) for f in findings], dependencies,
            path, settings, project, last.project_changes, last.guarded,
        )
        self.described = f"{len(redo)} of {len(tree.body)} statements analysed again ({redo_lines} of {total} lines)"
        return CheckResult(source, findings, None, semantic, [])


def _changes(project: "ProjectIndex | None", path: str) -> int:
    if project is None or not path or path.startswith("<"):
        return 0
    return project.changes_elsewhere(Path(path))


def _guarded(tree: ast.Module, settings: Settings, project: "ProjectIndex | None", path: str) -> frozenset[str]:
    """The names an edit must not reach for a part of the module to be analysed alone:
    the enabled rules' module-wide words, and (with a project) every name this module
    imports from the project's other modules, whose analysis may tie any two statements
    together (a helper there that sets a sampler's epoch, a caller there of a function here).
    A star import from the project guards everything (the empty name stands for it)."""
    words: set[str] = set()
    for rule in active_rules(settings):
        words |= type(rule).module_wide_words
    if project is None or not path or path.startswith("<"):
        return frozenset(words)
    importer = Path(path)
    for statement in tree.body:
        if isinstance(statement, ast.Import):
            for alias in statement.names:
                if project.module_path(alias.name, importer) is not None:
                    words.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(statement, ast.ImportFrom):
            module = "." * statement.level + (statement.module or "")
            for alias in statement.names:
                inner = f"{module}.{alias.name}" if statement.module else module + alias.name
                if project.module_path(module, importer) is None and project.module_path(inner, importer) is None:
                    continue
                if alias.name == "*":
                    return frozenset({""})
                words.add(alias.asname or alias.name)
    return frozenset(words)


def _copy(finding: Finding) -> Finding:
    """A finding nobody else holds (a front end may drop a fix from the one it got)."""
    duplicate = copy.copy(finding)
    duplicate.related = list(finding.related)
    return duplicate


def _suppression_edited(old: list[str], new: list[str]) -> bool:
    """Whether a line that differs (same number of lines) can hold a suppression comment,
    before or after the edit (a `disable-file` anywhere hides findings everywhere)."""
    for before, after in zip(old, new):
        if before != after and (_MAY_SUPPRESS.search(before) or _MAY_SUPPRESS.search(after)):
            return True
    return False


def _first_line(statement: ast.stmt) -> int:
    first = statement.lineno
    for decorator in getattr(statement, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first


def _last_line(statement: ast.stmt) -> int:
    return statement.end_lineno or statement.lineno


def _diff(last: _Analysis, body: list[ast.stmt], lines: list[str]) -> tuple[list[int] | None, dict[int, int]]:
    """(indices of the statements of `body` that changed, None if an import did; each
    unchanged statement's index in the last body). Reused statements are the very nodes of
    the last tree; a re-parsed one is unchanged when it spans the same lines, whose text
    did not change."""
    old = last.body
    prefix = 0
    while prefix < min(len(old), len(body)) and body[prefix] is old[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(body)) - prefix and body[-1 - suffix] is old[-1 - suffix]:
        suffix += 1
    same = {i: i for i in range(prefix)}
    offset = len(old) - len(body)
    same.update({i: i + offset for i in range(len(body) - suffix, len(body))})
    old_middle = range(prefix, len(old) - suffix)
    new_middle = range(prefix, len(body) - suffix)
    changed: list[int] = []
    if len(old_middle) == len(new_middle):
        for i in new_middle:
            before, after = old[i], body[i]
            first, end = _first_line(after), _last_line(after)
            if (first, end) == (_first_line(before), _last_line(before)) and lines[first - 1:end] == last.lines[first - 1:end]:
                same[i] = i
            else:
                changed.append(i)
    else:
        changed = list(new_middle)
    changed_old = [j for j in old_middle if j not in same.values()]
    if any(isinstance(body[i], (ast.Import, ast.ImportFrom)) for i in changed) or any(
        isinstance(old[j], (ast.Import, ast.ImportFrom)) for j in changed_old
    ):
        return None, same
    return changed, same


def _part(last: _Analysis, comps: list[int], changed: list[int], same: dict[int, int]) -> set[int]:
    """The statements (indices of the new body) to analyse again: the new components of
    the changed statements, and of the unchanged ones that were linked to a changed
    statement before the edit."""
    unchanged_old = set(same.values())
    touched_old = {last.components[j] for j in range(len(last.body)) if j not in unchanged_old}
    touched_old.discard(-1)
    roots = {comps[i] for i in changed}
    roots.update(comps[i] for i, j in same.items() if last.components[j] in touched_old)
    roots.discard(-1)
    return {i for i, root in enumerate(comps) if root in roots}


def _old_indices(last: _Analysis, redo: set[int], same: dict[int, int]) -> list[int]:
    """The statements of the last body the part replaces: the unchanged ones in it and
    every changed one."""
    unchanged_old = set(same.values())
    return [j for j in range(len(last.body)) if j not in unchanged_old] + [same[i] for i in redo if i in same]


def _ranges(statements: list[ast.stmt]) -> list[tuple[int, int]]:
    return sorted((_first_line(s), _last_line(s)) for s in statements)


def _inside(line: int, ranges: list[tuple[int, int]]) -> bool:
    index = bisect_right(ranges, (line, float("inf"))) - 1
    return index >= 0 and ranges[index][0] <= line <= ranges[index][1]


def _touches(finding: Finding, ranges: list[tuple[int, int]], allowed: list[tuple[int, int]] | None = None) -> bool:
    """Whether a related line or a fix edit of `finding` lies in `ranges` (or, with
    `allowed`, outside every range of `allowed`)."""
    spans = [related.span for related in finding.related]
    if finding.fix is not None:
        spans.extend(edit.span for edit in finding.fix.edits)
    for span in spans:
        for line in {span.line, span.end_line}:
            if allowed is not None:
                if not _inside(line, allowed):
                    return True
            elif _inside(line, ranges):
                return True
    return False
