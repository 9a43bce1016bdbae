"""The one entry point both front ends use: text in, findings out.

Pure: it never imports, executes or evaluates the code it reads, and it never raises
on bad input (a file that cannot be analysed yields a single NN000 finding).
"""

from __future__ import annotations

import ast
import logging
import bisect
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nnlint.config import Settings
from nnlint.context import Context
from nnlint.findings import SYNTAX_ERROR, Finding, Severity, Span
from collections import Counter

from nnlint.findings import Fix
from nnlint.fixes import OverlappingEdits, apply_edits, choose_compatible
from nnlint.registry import Rule, load_rules
from nnlint.project import ProjectIndex, shared_index
from nnlint.semantic import Semantic
from nnlint.source import MAX_FILE_BYTES, SourceDecodeError, SourceFile, decode_source, read_source  # noqa: F401 - re-exported
from nnlint.parsing import parse_python
from nnlint.message import t

_log = logging.getLogger("nnlint")
# Verifying a fix re-checks the whole file, so verifying every fix of a large file with
# many findings is quadratic. The re-checked text is capped (linear in the file's size);
# fixes past the budget are not offered (never unverified): `--fix` picks them up in a
# later round.
VERIFY_MIN_CHARS = 500_000
VERIFY_SIZE_FACTOR = 2

_SUPPRESSION = re.compile(
    r"#\s*(?:nnlint\s*:\s*(?P<kind>disable-file|disable)\s*=\s*(?P<codes>[A-Za-z0-9_, ]+)"
    r"|noqa(?:\s*:\s*(?P<noqa>[A-Za-z0-9_, ]+))?)",
    re.IGNORECASE,
)
_CODE_LIST = re.compile(r"[A-Za-z]+[0-9]*")
# Whether a file can hold a suppression at all (most files: one scan, no line loop). As
# case-insensitive as the grammar: `# NNLINT: disable=...` counts.
_MAY_SUPPRESS = re.compile(r"nnlint|noqa", re.IGNORECASE)


@dataclass
class CheckResult:
    source: SourceFile
    findings: list[Finding] = field(default_factory=list)
    error: Finding | None = None  # the NN000 that stopped analysis, if any
    semantic: Semantic | None = None
    internal_errors: list[str] = field(default_factory=list)  # rules that crashed (a bug in nnlint)


@dataclass
class Suppressions:
    file_codes: set[str] = field(default_factory=set)
    lines: dict[int, set[str] | None] = field(default_factory=dict)  # None: every code

    def hides(self, finding: Finding) -> bool:
        """A finding is silenced by a suppression of its code on its own line or on any of
        the lines it names as related (the `opt.step()` of an NN101 anchored on
        `backward()`); a bare `# noqa` counts on its own line only, since it is usually
        written for another linter."""
        if any(finding.code.startswith(code) for code in self.file_codes):
            return True
        if finding.span.line in self.lines:
            codes = self.lines[finding.span.line]
            if codes is None or any(finding.code.startswith(code) for code in codes):
                return True
        for related in finding.related:
            codes = self.lines.get(related.span.line)
            if codes and any(finding.code.startswith(code) for code in codes):
                return True
        return False


@dataclass(frozen=True)
class SuppressionComment:
    """One suppression comment on a line: `# nnlint: disable=...`, `# nnlint:
    disable-file=...` or `# noqa[: ...]`. `codes` holds each code with its (start, end)
    columns in the line; a bare `# noqa` has none and silences every code."""

    kind: str  # "disable", "disable-file" or "noqa"
    start: int  # column of the comment's "#"
    codes: tuple[tuple[str, int, int], ...]
    bare: bool = False  # `# noqa` without a code list: every code on the line

    @property
    def code_names(self) -> set[str]:
        return {code for code, _, _ in self.codes}


def suppression_comments(line: str) -> list[SuppressionComment]:
    """The suppression comments on one line of source, in order (the grammar the engine
    honours; the language server's hover and "disable for this line" action use it too)."""
    if "#" not in line:
        return []
    found = []
    for match in _SUPPRESSION.finditer(line):
        group = "codes" if match.group("kind") else "noqa"
        kind = match.group("kind").lower() if match.group("kind") else "noqa"
        codes: tuple[tuple[str, int, int], ...] = ()
        if match.group(group):
            offset = match.start(group)
            codes = tuple(
                (code.group().upper(), offset + code.start(), offset + code.end())
                for code in _CODE_LIST.finditer(match.group(group))
            )
        found.append(SuppressionComment(kind, match.start(), codes, bare=match.group(group) is None))
    return found


def may_suppress(text: str) -> bool:
    """Whether `text` can hold a suppression comment at all, as case-insensitively as the
    grammar (`# NNLINT: disable=...` counts). ASCII text, almost every file, is lowered and
    searched: 6 ms instead of the case-insensitive regex's 44 ms over 2.9 MB of code. Other
    text takes the regex, whose Unicode case folding `str.lower` does not match exactly."""
    if text.isascii():
        lowered = text.lower()
        return "nnlint" in lowered or "noqa" in lowered
    return _MAY_SUPPRESS.search(text) is not None


def parse_suppressions(source: SourceFile) -> Suppressions:
    result = Suppressions()
    text = source.text
    if not may_suppress(text):
        return result
    for number, line in enumerate(source.lines, start=1):
        if "#" not in line:  # most lines: no call
            continue
        for comment in suppression_comments(line):
            if comment.kind == "disable-file":
                result.file_codes |= comment.code_names
            elif comment.bare:
                result.lines[number] = None
            else:
                _add_line_codes(result, number, comment.code_names)
    return result


def _add_line_codes(result: Suppressions, line: int, codes: set[str]) -> None:
    if line in result.lines and result.lines[line] is None:
        return
    result.lines.setdefault(line, set()).update(codes)  # type: ignore[union-attr]


# The rule classes a selection enables, by (select, extend-select, ignore, catalog): every
# file of a run, and every check an editor makes, asks with the same few selections.
_ENABLED: dict[tuple[tuple[object, ...], ...], tuple[type[Rule], ...]] = {}
_MAX_SELECTIONS = 64


def active_rules(settings: Settings) -> list[Rule]:
    catalog = load_rules()
    key = (settings.select, settings.extend_select, settings.ignore, tuple(catalog.values()))
    enabled = _ENABLED.get(key)
    if enabled is None:
        enabled = tuple(
            rule_class for code, rule_class in catalog.items() if settings.is_enabled(code, rule_class.enabled_by_default)
        )
        if len(_ENABLED) >= _MAX_SELECTIONS:
            _ENABLED.clear()
        _ENABLED[key] = enabled
    return [rule_class() for rule_class in enabled]


def _error(source: SourceFile, message: str, line: int = 1, column: int = 0) -> Finding:
    line = max(1, min(line, len(source.lines)))
    text = source.line_text(line)
    column = max(0, min(column, len(text)))
    end_column = column + 1 if column < len(text) else column
    return Finding(SYNTAX_ERROR, message, Severity.ERROR, Span(line, column, line, end_column), path=source.path)


def _nul_position(source: SourceFile) -> tuple[int, int]:
    """(line, column) of the first NUL character, lines split as the tokenizer does."""
    offset = source.text.find("\0")
    offsets = source.line_offsets()
    line = max(1, bisect.bisect_right(offsets, offset))
    return line, offset - offsets[line - 1]


def parse(source: SourceFile) -> ast.Module | Finding:
    """Parse with the stdlib; any failure becomes an NN000 finding at the right place."""
    try:
        # SyntaxWarnings (`1if x else 2`, "\\d") are not ours to print, and under
        # `-W error` / PYTHONWARNINGS=error they would turn valid code into an NN000.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parse_python(source.text, filename=source.path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = 0
        if exc.offset:
            # SyntaxError.offset counts code points from 1 (bytes on some older versions).
            column = max(0, exc.offset - 1)
        if exc.lineno is None and "\0" in source.text:  # 3.11+: NUL bytes, no position
            line, column = _nul_position(source)
        return _error(source, t("syntax error: {detail}", detail=exc.msg), line, column)
    except ValueError as exc:  # e.g. NUL bytes
        line, column = _nul_position(source) if "\0" in source.text else (1, 0)
        return _error(source, t("cannot parse: {exc}", exc=exc), line, column)
    except (RecursionError, MemoryError):
        return _error(source, "cannot parse: the code is nested too deeply for Python's parser")


def check_source(
    text: str,
    path: str = "<string>",
    settings: Settings | None = None,
    rules: list[Rule] | None = None,
    verify_fixes: bool = True,
    project: "ProjectIndex | None" = None,
    tree: ast.Module | None = None,
) -> CheckResult:
    """Analyse `text`. With `verify_fixes`, every fix offered has been applied and
    re-checked: it parses, removes its finding and adds none (see `verify_fix`); the
    language server passes False on the keystroke path and verifies on demand.
    `tree`, when given, must equal `ast.parse(text)` (the server's incremental parse of
    a live buffer); it is analysed instead of parsing `text`."""
    settings = settings or Settings()
    source = SourceFile(text, path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        error = _error(source, "cannot parse: the text contains lone surrogate characters")
        return CheckResult(source, [error] if settings.is_enabled(SYNTAX_ERROR) else [], error)
    file_path = Path(path) if project is not None and path and not path.startswith("<") else None
    semantic = project.analysis_for(file_path, text) if project is not None and file_path is not None else None
    if semantic is not None:
        tree = semantic.tree
    else:
        if tree is None:
            tree = parse(source)
        if isinstance(tree, Finding):
            return CheckResult(source, [tree] if settings.is_enabled(SYNTAX_ERROR) else [], tree)
        try:
            semantic = Semantic.build(tree, file_path, project)
        except RecursionError:
            error = _error(source, "cannot analyse: the code is nested too deeply")
            return CheckResult(source, [error], error)
        if project is not None and file_path is not None:
            project.remember(file_path, text, semantic)
    findings, internal_errors = run_rules(source, tree, semantic, settings, rules)
    if verify_fixes:
        _verify_fixes(text, findings, settings, project)
    return CheckResult(source, findings, None, semantic, internal_errors)


def run_rules(
    source: SourceFile,
    tree: ast.Module,
    semantic: Semantic,
    settings: Settings,
    rules: list[Rule] | None = None,
) -> tuple[list[Finding], list[str]]:
    """The rules over one analysed module: (findings with the configured severities, not
    suppressed, sorted and deduplicated; the rules that crashed). `tree` may hold only some
    of the statements of `source` (`nnlint.reanalysis` analyses the part an edit touched)."""
    ctx = Context(source, tree, semantic, settings)
    findings: list[Finding] = []
    internal_errors: list[str] = []
    for rule in rules if rules is not None else active_rules(settings):
        try:
            produced = list(rule.check(ctx))
        except RecursionError:
            # Code nested past the interpreter's limit, or a cycle the analysis did not break:
            # either way the rule's findings are missing, and the run says so.
            _log.warning("nnlint: rule %s gave up on %s: too deeply nested; its findings are skipped",
                         rule.code, source.path)
            internal_errors.append(f"{rule.code} (RecursionError: too deeply nested)")
            continue
        except Exception as exc:  # a rule's bug must not take down the file, the run or the server
            _log.error("nnlint: internal error in rule %s on %s (%r); its findings are skipped",
                       rule.code, source.path, exc)
            _log.debug("traceback of the failing rule", exc_info=True)
            internal_errors.append(f"{rule.code} ({type(exc).__name__}: {exc})")
            continue
        for finding in produced:
            finding.severity = settings.severity_for(finding.code, finding.severity)
            findings.append(finding)
    suppressions = parse_suppressions(source)
    findings = [f for f in findings if not suppressions.hides(f)]
    findings.sort(key=Finding.sort_key)
    return _dedupe(findings), internal_errors


BATCH_VERIFY_FROM = 4


def _verify_fixes(text: str, findings: list[Finding], settings: Settings, project: "ProjectIndex | None") -> None:
    """Keep only fixes that are safe (see `verify_fix`)."""
    safe = safe_fixes(text, findings, settings, project)
    for index, finding in enumerate(findings):
        if finding.fix is not None and not safe.get(index, False):
            finding.fix = None


def safe_fixes(
    text: str, findings: list[Finding], settings: Settings | None = None, project: "ProjectIndex | None" = None
) -> dict[int, bool]:
    """For each finding (by index) that has a fix: whether the fix is safe (see
    `verify_fix`). A few are checked one by one; many are first applied together and
    checked once, one re-analysis instead of one per fix, falling back to one by one
    (within a budget proportional to the file) if the batch does not check out."""
    settings = settings or Settings()
    fixable = [(i, f) for i, f in enumerate(findings) if f.fix is not None]
    if len(fixable) >= BATCH_VERIFY_FROM and _batch_is_safe(text, [f for _, f in fixable], findings, settings, project):
        return {i: True for i, _ in fixable}
    verdicts: dict[int, bool] = {}
    budget = max(VERIFY_MIN_CHARS, VERIFY_SIZE_FACTOR * len(text))
    for index, finding in fixable:
        budget -= len(text)
        verdicts[index] = budget >= 0 and verify_fix(text, finding, findings, settings, project) is not None
    return verdicts


def _batch_is_safe(
    text: str, fixable: list[Finding], findings: list[Finding], settings: Settings, project: "ProjectIndex | None"
) -> bool:
    edits = [edit for finding in fixable for edit in finding.fix.edits]  # type: ignore[union-attr]
    try:
        fixed = apply_edits(text, edits)
    except OverlappingEdits:
        return False
    result = check_source(fixed, fixable[0].path, settings, verify_fixes=False, project=project)
    if result.error is not None:
        return False
    remaining = Counter(f.code for f in findings if f.fix is None)
    return not (Counter(f.code for f in result.findings) - remaining)


# `--fix` and `--diff` apply fixes in at most this many rounds (a fix that becomes
# possible only after another one was applied is taken in the next round).
MAX_FIX_ROUNDS = 4
# All of --fix's re-analyses together re-read at most this many times the file (or
# VERIFY_MIN_CHARS): when every fix checks out that is one per round (usually one in
# all); a fix that fails sends its batch into halves, and what does not fit is not applied.
FIX_VERIFY_SIZE_FACTOR = 8


@dataclass
class FixOutcome:
    text: str  # the text with every verified fix applied
    applied: int  # how many fixes that is
    findings: list[Finding]  # what remains in `text` (their fixes were refused or not reached)
    result: CheckResult  # the analysis of `text`


def fix_text(
    text: str,
    path: str = "<string>",
    settings: Settings | None = None,
    project: "ProjectIndex | None" = None,
    result: CheckResult | None = None,
) -> FixOutcome:
    """Apply every safe fix to `text` (what `--fix` writes and `--diff` shows), in time
    linear in the text and the fixes.

    Each round takes all the fixes that do not overlap, applies them in one pass and
    re-analyses the result once: if it parses, and no code is reported more often than
    in the findings those fixes do not address (each fix removed its finding, none added
    one), the whole batch is verified, and that analysis is also the report of what
    remains. A batch that does not check out is split in halves, each verified together
    with what was accepted before it, so a bad fix costs a few re-analyses (within a
    budget proportional to the file), never one per fix; a fix that cannot be verified
    is not applied. The remaining findings lose their fixes: --fix tried them."""
    settings = settings or Settings()
    if result is None:
        result = check_source(text, path, settings, verify_fixes=False, project=project)
    applied = 0
    refused: set[tuple[str, Fix]] = set()  # refused fixes are not retried in later rounds
    budget = max(VERIFY_MIN_CHARS, FIX_VERIFY_SIZE_FACTOR * len(text))
    for _ in range(MAX_FIX_ROUNDS):
        if result.error is not None or result.internal_errors:
            break
        findings = result.findings
        batch = choose_compatible(text, findings, lambda _, f: (f.code, f.fix) not in refused)  # type: ignore[arg-type]
        if not batch:
            break
        accepted, checked, budget = _verified_prefix(text, findings, batch, settings, project, budget)
        refused.update((findings[i].code, findings[i].fix) for i in batch if i not in accepted)  # type: ignore[misc]
        if not accepted or checked is None:
            break
        text, result = checked
        applied += len(accepted)
    for finding in result.findings:
        finding.fix = None
    return FixOutcome(text, applied, result.findings, result)


def _verified_prefix(
    text: str,
    findings: list[Finding],
    batch: list[int],
    settings: Settings,
    project: "ProjectIndex | None",
    budget: int,
) -> tuple[set[int], "tuple[str, CheckResult] | None", int]:
    """The fixes of `batch` (non-overlapping) that verify together, the fixed text with
    its analysis, and the budget left. Every accepted set is verified as a whole: a part
    is tried together with what was accepted before it. When a part fails, the failed
    analysis names suspects (the fix next to the syntax error, the finding a fix left in
    place or the fix next to a new one): the rest is tried without them, then each alone;
    if that names nobody, the part is split in halves."""
    accepted: list[int] = []
    checked: tuple[str, CheckResult] | None = None
    pending = [batch]
    path = findings[batch[0]].path
    while pending and budget > 0:
        part = pending.pop(0)
        candidate = accepted + part
        edits = [e for i in candidate for e in findings[i].fix.edits]  # type: ignore[union-attr]
        try:
            fixed = apply_edits(text, edits)
        except OverlappingEdits:  # pragma: no cover - choose_compatible rules this out
            continue
        budget -= len(text)
        result = check_source(fixed, path, settings, verify_fixes=False, project=project)
        if fixed != text and _batch_verified(findings, candidate, result):
            accepted, checked = candidate, (fixed, result)
            continue
        if len(part) == 1:
            continue  # this fix cannot be verified: it is not applied
        suspects = _suspects(text, findings, candidate, result) & set(part)
        if suspects and len(suspects) < len(part):
            pending[:0] = [[i for i in part if i not in suspects], *([i] for i in sorted(suspects))]
        else:
            half = len(part) // 2
            pending[:0] = [part[:half], part[half:]]
    return set(accepted), checked, budget


def _suspects(text: str, findings: list[Finding], candidate: list[int], result: CheckResult) -> set[int]:
    """The fixes of `candidate` that the failed analysis of their combined result points
    at: the one whose edit precedes (or follows) a syntax error, one whose finding is
    still reported where it was, and the ones whose edits are next to a finding the
    original did not have. Only a guess: whatever it names is verified on its own."""
    moved = _EditMap(text, findings, candidate)
    fixed = result.source
    suspects: set[int] = set()
    if result.error is not None:
        suspects |= moved.owners_near(fixed.offset(result.error.span.line, result.error.span.column))
        return suspects
    original = SourceFile(text)
    kept = {  # where every finding of the original now is, by code
        (f.code, moved.forward(original.offset(f.span.line, f.span.column))): i for i, f in enumerate(findings)
    }
    chosen = set(candidate)
    for finding in result.findings:
        at = fixed.offset(finding.span.line, finding.span.column)
        index = kept.get((finding.code, at))
        if index is None:  # a new finding: the fix next to it
            suspects |= moved.owners_near(at)
        elif index in chosen:  # its fix left it in place
            suspects.add(index)
    return suspects


class _EditMap:
    """Positions before and after a set of non-overlapping fixes, and which fix made each
    edit (binary searches over the sorted edits: no per-fix pass over the text)."""

    def __init__(self, text: str, findings: list[Finding], candidate: list[int]) -> None:
        source = SourceFile(text)
        located = sorted(
            (source.offset(e.span.line, e.span.column), source.offset(e.span.end_line, e.span.end_column),
             len(e.new_text), index)
            for index in candidate for e in findings[index].fix.edits  # type: ignore[union-attr]
        )
        self.starts = [start for start, *_ in located]
        self.ends = [end for _, end, *_ in located]
        self.owners = [owner for *_, owner in located]
        self.shift: list[int] = []  # how far text after edit k moved
        shift = 0
        self.fixed_starts = []
        for start, end, size, _ in located:
            self.fixed_starts.append(start + shift)
            shift += size - (end - start)
            self.shift.append(shift)

    def forward(self, offset: int) -> int:
        """Where an offset of the original text (outside the edits) is after them."""
        k = bisect.bisect_right(self.ends, offset) - 1
        return offset + (self.shift[k] if k >= 0 else 0)

    def owners_near(self, fixed_offset: int) -> set[int]:
        """The fixes whose edits are the last at or before, and the first after, a
        position of the fixed text."""
        k = bisect.bisect_right(self.fixed_starts, fixed_offset)
        return {self.owners[j] for j in (k - 1, k) if 0 <= j < len(self.owners)}


def _batch_verified(findings: list[Finding], fixed: list[int], result: CheckResult) -> bool:
    """The fixed text parses and reports no code more often than the findings the
    applied fixes do not address (counted per code)."""
    if result.error is not None or result.internal_errors:
        return False
    remaining = Counter(f.code for f in findings)
    remaining.subtract(findings[i].code for i in fixed)
    return not (Counter(f.code for f in result.findings) - remaining)


def verify_fix(
    text: str,
    finding: Finding,
    findings: list[Finding],
    settings: Settings | None = None,
    project: "ProjectIndex | None" = None,
) -> Fix | None:
    """The finding's fix if applying it yields code that parses, no longer has this
    finding, and has no finding the original did not have; else None."""
    fix = finding.fix
    if fix is None:
        return None
    try:
        fixed = apply_edits(text, fix.edits)
    except OverlappingEdits:
        return None
    if fixed == text:
        return None
    result = check_source(fixed, finding.path, settings, verify_fixes=False, project=project)
    if result.error is not None:
        return None
    before = Counter(f.code for f in findings if f is not finding)
    after = Counter(f.code for f in result.findings)
    # Fixing one mistake may also cure another (a frozen backbone is no longer trained
    # too fast); it must never add one.
    return fix if not (after - before) else None


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, Span]] = set()
    unique = []
    for finding in findings:
        key = (finding.code, finding.span)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique


def check_path(
    path: Path, settings: Settings | None = None, display: str | None = None, cross_file: bool = True
) -> CheckResult:
    """Check a file on disk; imported project modules are followed (and their
    summaries shared by every file of the same project in this process)."""
    name = display or str(path)
    text, problem = read_source(path)
    if text is None:
        source = SourceFile("", name)
        error = _error(source, t("cannot analyse: {problem}", problem=problem))
        return CheckResult(source, [error], error)
    project = shared_index(path) if cross_file else None
    if project is not None:
        result = check_source(text, str(path), settings, project=project)
        for finding in result.findings:
            finding.path = name
            if result.source is not None:
                result.source.path = name
        return result
    return check_source(text, name, settings)


if sys.version_info < (3, 10):  # pragma: no cover
    raise RuntimeError("nnlint needs Python 3.10 or newer")
