"""Re-analysing a live buffer after an edit: the findings of the statements an edit cannot
have affected are kept, and only the part of the module it touched is analysed again.

Why a part can be analysed alone. The analysis of a module connects its top-level
statements through names only: a call reaches a function by its name, a value comes from
a module-level binding by its name, a method or attribute is found by its name on a class
of the file, and a helper's parameter gets its value from the calls that name the helper.
So two top-level statements are *linked* when one mentions a name the other binds at module
level, or an attribute the other gives a meaning to (a method, a class attribute, any
attribute assigned), or both bind the same name. Two facts the analysis keys by spelling
link more: a name imported from what may not be a library (`from setup import model`)
links every statement using it (the module's top-level code is read in order), and so does
a name proven a module by `x.eval()`, `x.parameters()`, ... (`Training.module_only_use`).
Imports are shared context (every analysed part includes all of them). The findings located
in the statements of one group of linked statements (a component) do not depend on the
statements of another group, apart from the imports and from the rules' module-wide facts,
which each rule declares as words (`Rule.module_wide_words`).

After an edit that changed some top-level statements but not the number of lines, the
components of the changed statements (before and after the edit, since an edit can also
cut a link) are analysed again, as a module made of the imports and those statements, with
the file's full text (so every position, comment and suppression is where it is in the
file); every other finding is kept as it was. The result equals a full analysis; it is
not used (a full analysis runs instead) whenever that cannot be shown cheaply:

- the number of lines changed (positions after the edit would move, and messages name lines);
- an import changed; a changed line can hold a suppression comment (`nnlint`, `noqa`);
- the module mentions a rule's module-wide word anywhere (before or after the edit), or a
  changed line holds one in any form (a comment, a part of a longer name);
- the settings, or anything the project index heard of in other modules, changed, or a
  module the last analysis read is not at the version it read, or read this module back;
  the edit reaches a name imported from another project module;
- the part to analyse again is more than 80% of the file (a full analysis costs about the same);
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
from nnlint.engine import CheckResult, active_rules, check_source, may_suppress, run_rules
from nnlint.findings import Finding
from nnlint.libraries import is_library
from nnlint.semantic import Semantic
from nnlint.incremental import statement_lines
from nnlint.source import IDENTIFIER, SourceFile, lines_with_breaks
from nnlint.training import MODEL_PROOF_WORDS

if TYPE_CHECKING:
    from nnlint.project import ProjectIndex

_log = logging.getLogger("nnlint")
# A part costs about its share of a full analysis plus ~1 ms (measured on the server
# benchmark's 1,500-line script: 52% of the lines in 15 ms against 24 ms in full): past
# this share, a full analysis is about as cheap and simpler.
MAX_SHARE = 0.8
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class StatementFacts:
    """How a top-level statement links to the others (see the module's docstring)."""

    names: frozenset[str]  # module-level names it binds (a definition, an assignment, `global`)
    attributes: frozenset[str]  # attributes it gives a meaning to: methods, class attributes, any assigned
    mentions: frozenset[str]  # every name, keyword and word in a string it mentions
    attribute_mentions: frozenset[str]  # every attribute it reads or writes on another object, keyword, word in a string
    words: frozenset[str]  # every identifier in it, `self.<attribute>` included
    proofs: frozenset[str]  # `x` of each `x.eval()`, `x.parameters()`, ... (the last part of a dotted `x`)
    shared: bool  # an import: part of every analysed part
    imported: frozenset[str] = frozenset()  # an import's names that may be objects, not libraries


_EMPTY: frozenset[str] = frozenset()
_MODULE, _CLASS, _FUNCTION, _METHOD = 0, 1, 2, 3  # where a binding lands (a method's: nowhere)


def statement_facts(statement: ast.stmt) -> StatementFacts:
    """The names and attributes `statement` gives a meaning to, and those it mentions.
    Over-approximate on purpose: a link too many only makes a part bigger, a link missing
    would keep a stale finding. Locals of functions (their parameters and assignments) are
    nobody else's business; a class's own names are attributes (`self.fc`, `Model.forward`)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return _import_facts(statement)
    names: set[str] = set()
    attributes: set[str] = set()
    mentions: set[str] = set()
    attribute_mentions: set[str] = set()
    own_attributes: set[str] = set()  # `self.<attribute>` in a class
    proofs: set[str] = set()

    def bind(name: str, where: int) -> None:
        mentions.add(name)
        if where == _MODULE:
            names.add(name)
        elif where == _CLASS:
            attributes.add(name)

    stack: list[tuple[ast.AST, int]] = [(statement, _MODULE)]
    while stack:
        node, where = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if type(node.ctx) is ast.Load:  # type: ignore[attr-defined]
                mentions.add(node.id)  # type: ignore[attr-defined]
            else:
                bind(node.id, where)  # type: ignore[attr-defined]
            continue
        if kind is ast.Attribute:
            value = node.value  # type: ignore[attr-defined]
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                attributes.add(node.attr)  # type: ignore[attr-defined]
            # In a class, `self.fc` and `super().__init__()` reach the class and its bases,
            # which the class names anyway (and its subclasses name it); any other receiver
            # (and `self` of a module-level function) may be an instance of any class.
            if where not in (_CLASS, _METHOD) or not _own_receiver(value):
                attribute_mentions.add(node.attr)  # type: ignore[attr-defined]
            else:
                own_attributes.add(node.attr)  # type: ignore[attr-defined]
            if node.attr in MODEL_PROOF_WORDS:  # type: ignore[attr-defined]
                # `Training.module_only_use`: one `x.eval()` proves every `x` of the module a
                # module, whatever links the statements (keyed by the name as written)
                kind_of_receiver = type(value)
                if kind_of_receiver is ast.Name:
                    proofs.add(value.id)  # type: ignore[attr-defined]
                elif kind_of_receiver is ast.Attribute:
                    proofs.add(value.attr)  # type: ignore[attr-defined]
            stack.append((value, where))
            continue
        if kind in _DEFINITIONS:
            bind(node.name, where)  # type: ignore[attr-defined]
            inner = _CLASS if kind is ast.ClassDef else _METHOD if where in (_CLASS, _METHOD) else _FUNCTION
            # decorators, bases, defaults and annotations run where the definition is
            for field, value in ast.iter_fields(node):
                if field not in ("body", "name"):
                    _push(stack, value, where)
            stack.extend((child, inner) for child in node.body)  # type: ignore[attr-defined]
            continue
        if kind is ast.Lambda:
            _push(stack, list(ast.iter_child_nodes(node)), _METHOD if where in (_CLASS, _METHOD) else _FUNCTION)
            continue
        # (a comprehension's variables are its own, but `:=` in it binds where it is: its
        # names count as the enclosing scope's, which only links more)
        if kind is ast.Constant:
            if type(node.value) is str:  # type: ignore[attr-defined]
                words = IDENTIFIER.findall(node.value)  # type: ignore[attr-defined]
                mentions.update(words)
                attribute_mentions.update(words)
            continue
        if kind is ast.alias:
            mentions.update(IDENTIFIER.findall(node.name))  # type: ignore[attr-defined]
            bind(node.asname or node.name.split(".")[0], where)  # type: ignore[attr-defined]
            continue
        if kind is ast.ImportFrom:
            mentions.update(IDENTIFIER.findall(node.module or ""))  # type: ignore[attr-defined]
        elif kind is ast.Global:
            for name in node.names:  # type: ignore[attr-defined]
                bind(name, _MODULE)
        elif kind is ast.Nonlocal:
            mentions.update(node.names)  # type: ignore[attr-defined]
        elif kind is ast.keyword:
            if node.arg:  # type: ignore[attr-defined]
                attribute_mentions.add(node.arg)  # type: ignore[attr-defined]
        else:
            # exception and match captures (`name`, `rest`), type parameters (`name`)
            for field in ("name", "rest"):
                value = getattr(node, field, None)
                if type(value) is str:
                    bind(value, where)
        _push(stack, list(ast.iter_child_nodes(node)), where)
    return StatementFacts(
        frozenset(names), frozenset(attributes), frozenset(mentions), frozenset(attribute_mentions),
        frozenset(mentions | attribute_mentions | own_attributes), frozenset(proofs), False,
    )


def _import_facts(statement: ast.Import | ast.ImportFrom) -> StatementFacts:
    """An import is shared context; the names it binds from modules that are not known
    libraries may be objects (`from setup import model, optimizer`), whose uses at module
    level and in functions the analysis reads in order: they link their users."""
    if isinstance(statement, ast.ImportFrom):
        module = "." * statement.level + (statement.module or "")
        targets = [module] * len(statement.names)
        bound = [alias.asname or alias.name for alias in statement.names]
    else:
        targets = [alias.name for alias in statement.names]
        bound = [alias.asname or alias.name.split(".")[0] for alias in statement.names]
    imported = frozenset(name for name, target in zip(bound, targets) if not is_library(target))
    # its words: what a rule's module-wide word may name (`weight_norm` imported as `wn`)
    words = frozenset(bound) | frozenset(
        word for alias in statement.names for word in IDENTIFIER.findall(alias.name)
    ) | frozenset(IDENTIFIER.findall(getattr(statement, "module", None) or ""))
    return StatementFacts(_EMPTY, _EMPTY, _EMPTY, _EMPTY, words, _EMPTY, True, imported)


def _own_receiver(value: ast.expr) -> bool:
    kind = type(value)
    if kind is ast.Name:
        return value.id in ("self", "cls")  # type: ignore[attr-defined]
    return kind is ast.Call and type(value.func) is ast.Name and value.func.id == "super"  # type: ignore[attr-defined]


def _push(stack: list[tuple[ast.AST, int]], value: object, where: int) -> None:
    if isinstance(value, ast.AST):
        stack.append((value, where))
    elif isinstance(value, list):
        stack.extend((item, where) for item in value if isinstance(item, ast.AST))


def components(facts: list[StatementFacts]) -> list[int]:
    """The component of each statement (its smallest linked statement's index; -1 for an
    import). Two statements are linked when one mentions a module-level name the other
    binds (as a name, or as an attribute of the module), reads or writes an attribute the
    other gives a meaning to, or both bind the same module-level name."""
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

    binder: dict[str, int] = {}
    givers: dict[str, list[int]] = {}
    for index, fact in enumerate(facts):
        for name in fact.names:
            first = binder.setdefault(name, index)
            if first != index:
                union(first, index)
        for name in fact.attributes:
            givers.setdefault(name, []).append(index)
    # names imported from what may not be a library, and the receivers of a model proof:
    # every statement using one is linked to every other using it
    shared_names: set[str] = set()
    for fact in facts:
        shared_names |= fact.imported
        shared_names |= fact.proofs
    users: dict[str, int] = {}
    for index, fact in enumerate(facts):
        if fact.shared:
            continue
        for name in shared_names & fact.words:
            first = users.setdefault(name, index)
            if first != index:
                union(first, index)
    for index, fact in enumerate(facts):
        if fact.shared:
            continue
        for name in fact.mentions:
            other = binder.get(name)
            if other is not None:
                union(other, index)
        for name in fact.attribute_mentions:
            other = binder.get(name)  # `module.helper`, `sys.modules[__name__].helper`
            if other is not None:
                union(other, index)
            for other in givers.get(name, ()):
                union(other, index)
    return [-1 if fact.shared else find(index) for index, fact in enumerate(facts)]


@dataclass
class _Analysis:
    """What the next check of the buffer may reuse."""

    lines: list[str]
    body: list[ast.stmt]
    findings: list[Finding]
    dependencies: dict
    path: str
    settings: Settings
    project: "ProjectIndex | None"
    project_changes: int
    components: list[int] | None = None  # computed when an edit first needs them
    # the names imported from the project's other modules, which an edit must not reach
    project_names: frozenset[str] | None = None
    module_wide: "tuple[frozenset[str], tuple[re.Pattern[str], ...]] | None" = None  # the rules' words and text tests


class LiveAnalysis:
    """The last analysis of one buffer being edited, and how to get the next from it.
    Like `IncrementalParser`, whose trees it is given, it belongs to one buffer and serves
    one check at a time."""

    def __init__(self) -> None:
        self._last: _Analysis | None = None
        # Each statement's facts, by node (kept with it: an id is not reused meanwhile),
        # computed when an edit first needs them (an edit inside a statement that is most
        # of the file never does), for the statements of the last analysis.
        self._facts: dict[int, tuple[ast.stmt, StatementFacts]] = {}
        self.described = ""  # what the last check did (for the server's debug log)

    def forget(self) -> None:
        self._last = None
        self._facts = {}

    def check(
        self,
        text: str,
        path: str,
        settings: Settings,
        project: "ProjectIndex | None" = None,
        tree: ast.Module | None = None,
        lines: list[str] | None = None,
    ) -> CheckResult:
        """`check_source(text, path, settings, verify_fixes=False, project=project, tree=tree)`,
        reusing what it can of the last check (see the module's docstring). `tree`, when
        given, is `ast.parse(text)` sharing the unchanged statements' nodes with the tree
        of the last check (`IncrementalParser`); `lines`, when given, are the text's lines
        with their breaks (the parser has them)."""
        if lines is None:
            lines = lines_with_breaks(text)
        # counted before analysing: a change heard of meanwhile must make the next check full
        changes = _changes(project, path)
        result = None
        self.described = "full analysis"
        if tree is not None:
            try:
                result = self._reanalyse(text, lines, path, settings, project, tree, changes)
            except Exception:  # noqa: BLE001 - a bug here must cost time, not findings
                _log.exception("nnlint: re-analysing part of %s failed; analysing it in full", path)
                self._last = None
        if result is None:
            result = check_source(text, path, settings, verify_fixes=False, project=project, tree=tree)
            self._remember_full(result, lines, path, settings, project, changes)
        return result

    # ------------------------------------------------------------------ helpers
    def _facts_of(self, statements: list[ast.stmt]) -> list[StatementFacts]:
        found = []
        cache = self._facts
        for statement in statements:
            known = cache.get(id(statement))
            if known is None:
                known = cache[id(statement)] = (statement, statement_facts(statement))
            found.append(known[1])
        return found

    def _keep_facts_of(self, body: list[ast.stmt]) -> None:
        ids = {id(statement) for statement in body}
        self._facts = {key: value for key, value in self._facts.items() if key in ids}

    def _remember_full(
        self,
        result: CheckResult,
        lines: list[str],
        path: str,
        settings: Settings,
        project: "ProjectIndex | None",
        changes: int,
    ) -> None:
        semantic = result.semantic
        if result.error is not None or result.internal_errors or semantic is None:
            self._last = None
            self.described = "full analysis (nothing kept)"
            return
        tree = semantic.tree
        self._keep_facts_of(tree.body)
        self._last = _Analysis(
            lines, list(tree.body), [_copy(f) for f in result.findings], dict(semantic.dependencies), path,
            settings, project, changes,
        )

    def _reanalyse(
        self,
        text: str,
        lines: list[str],
        path: str,
        settings: Settings,
        project: "ProjectIndex | None",
        tree: ast.Module,
        changes: int,
    ) -> CheckResult | None:
        """The check from a part of the module and the last findings; None when not
        shown equal to a full analysis (the caller then analyses in full)."""
        last = self._last
        if last is None:
            return None
        if (last.path != path or last.project is not project or last.settings != settings
                or len(lines) != len(last.lines) or changes != last.project_changes):
            self.described = "full analysis: not comparable with the last one"
            return None
        # the lines the edit changed, before and after it (the number of lines is the same)
        edited_lines = [(before, after) for before, after in zip(last.lines, lines) if before != after]
        if _suppression_edited(edited_lines):
            self.described = "full analysis: a suppression comment may have changed"
            return None
        changed_new, same = _diff(last, tree.body, lines)
        if changed_new is None:
            self.described = "full analysis: an import changed"
            return None
        imports = (ast.Import, ast.ImportFrom)
        total = sum(_size(s) for s in tree.body if not isinstance(s, imports))
        edited = sum(_size(tree.body[i]) for i in changed_new)
        if edited > MAX_SHARE * max(total, 1):
            self.described = f"full analysis: the edited statements are {edited} of {total} lines"
            return None
        facts = self._facts_of(tree.body)
        comps = components(facts)
        if last.components is None:
            last.components = components(self._facts_of(last.body))
        redo = _part(last, comps, changed_new, same)
        redo_lines = sum(_size(s) for i, s in enumerate(tree.body) if i in redo)
        if redo_lines > MAX_SHARE * max(total, 1):
            self.described = f"full analysis: the edit reaches {redo_lines} of {total} lines"
            return None
        if last.project_names is None:
            last.project_names = _project_names(tree, project, path)
        old_facts = self._facts_of(last.body)
        if last.module_wide is None:
            last.module_wide = _module_wide(settings)
        module_wide, text_tests = last.module_wide
        if module_wide or text_tests:
            # a module-wide fact from any statement (a kept one too, an import's names too),
            # or a rule's test of the text (a word in a comment, or inside a longer name)
            # that the edit may flip
            found = next((word for fact in (*facts, *old_facts) for word in fact.words & module_wide), None)
            found = found or _in_edited_lines(module_wide, text_tests, edited_lines)
            if found is not None:
                self.described = f"full analysis: the module mentions `{found}`, which a rule reads module-wide"
                return None
        old_part = _old_indices(last, redo, same)
        reached = set().union(
            *(facts[i].words for i in redo),
            *(old_facts[j].words for j in old_part),
        )
        project_names = last.project_names
        if "" in project_names or not project_names.isdisjoint(reached):
            word = min(project_names & reached) if "" not in project_names else "*"
            self.described = f"full analysis: the edit reaches `{word}`, imported from another project module"
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
        self._keep_facts_of(tree.body)
        self._last = _Analysis(
            lines, list(tree.body), [_copy(f) for f in findings], dependencies, path, settings, project,
            last.project_changes, comps, last.project_names, last.module_wide,
        )
        self.described = f"{len(redo)} of {len(tree.body)} statements analysed again ({redo_lines} of {total} lines)"
        return CheckResult(source, findings, None, semantic, [])


def _changes(project: "ProjectIndex | None", path: str) -> int:
    if project is None or not path or path.startswith("<"):
        return 0
    return project.changes_elsewhere(Path(path))


def _module_wide(settings: Settings) -> tuple[frozenset[str], tuple["re.Pattern[str]", ...]]:
    """The enabled rules' module-wide words (one anywhere in the module, in a statement
    kept as well as in one analysed again, decides findings elsewhere) and their tests of
    the text (which an edited line can flip)."""
    words: set[str] = set()
    patterns = []
    for rule in active_rules(settings):
        words |= type(rule).module_wide_words
        if type(rule).module_wide_text is not None:
            patterns.append(type(rule).module_wide_text)
    return frozenset(words), tuple(patterns)


def _project_names(tree: ast.Module, project: "ProjectIndex | None", path: str) -> frozenset[str]:
    """The names this module imports from the project's other modules (with a project),
    whose analysis may tie any two statements together (a helper there that sets a
    sampler's epoch, a caller there of a function here): an edit must not reach one. A
    star import from the project stands for every name (the empty name)."""
    if project is None or not path or path.startswith("<"):
        return frozenset()
    importer = Path(path)
    words: set[str] = set()
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


def _suppression_edited(edited_lines: list[tuple[str, str]]) -> bool:
    """Whether a changed line can hold a suppression comment, before or after the edit (a
    `disable-file` anywhere hides findings everywhere)."""
    return any(may_suppress(before) or may_suppress(after) for before, after in edited_lines)


def _in_edited_lines(
    words: frozenset[str], patterns: tuple["re.Pattern[str]", ...], edited_lines: list[tuple[str, str]]
) -> str | None:
    """A word of `words` (as any part of the text: rules test the text too, `"strict" in
    text`) or a match of `patterns` in a line the edit changed, before or after it."""
    for before, after in edited_lines:
        for word in words:
            if word in before or word in after:
                return word
        for pattern in patterns:
            match = pattern.search(before) or pattern.search(after)
            if match is not None:
                return match.group()
    return None


def _size(statement: ast.stmt) -> int:
    first, last = statement_lines(statement)
    return last - first + 1


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
            first, end = statement_lines(after)
            if (first, end) == statement_lines(before) and lines[first - 1:end] == last.lines[first - 1:end]:
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
    old_components = last.components or []
    touched_old = {old_components[j] for j in range(len(last.body)) if j not in unchanged_old}
    touched_old.discard(-1)
    roots = {comps[i] for i in changed}
    roots.update(comps[i] for i, j in same.items() if old_components[j] in touched_old)
    roots.discard(-1)
    return {i for i, root in enumerate(comps) if root in roots}


def _old_indices(last: _Analysis, redo: set[int], same: dict[int, int]) -> list[int]:
    """The statements of the last body the part replaces: the unchanged ones in it and
    every changed one."""
    unchanged_old = set(same.values())
    return [j for j in range(len(last.body)) if j not in unchanged_old] + [same[i] for i in redo if i in same]


def _ranges(statements: list[ast.stmt]) -> list[tuple[int, int]]:
    return sorted(statement_lines(s) for s in statements)


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
