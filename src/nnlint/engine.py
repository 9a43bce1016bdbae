"""The one entry point both front ends use: text in, findings out.

Pure: it never imports, executes or evaluates the code it reads, and it never raises
on bad input (a file that cannot be analysed yields a single NN000 finding).
"""

from __future__ import annotations

import ast
import stat
import logging
import bisect
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from nnlint.config import Settings
from nnlint.context import Context
from nnlint.findings import Finding, Severity, Span
from collections import Counter

from nnlint.findings import Fix
from nnlint.fixes import OverlappingEdits, apply_edits
from nnlint.registry import Rule, load_rules
from nnlint.project import ProjectIndex, shared_index
from nnlint.semantic import Semantic
from nnlint.source import SourceDecodeError, SourceFile, decode_source

SYNTAX_ERROR = "NN000"
_log = logging.getLogger("nnlint")
MAX_FILE_BYTES = 10 * 1024 * 1024
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
        if any(finding.code.startswith(code) for code in self.file_codes):
            return True
        if finding.span.line not in self.lines:
            return False
        codes = self.lines[finding.span.line]
        return codes is None or any(finding.code.startswith(code) for code in codes)


def parse_suppressions(source: SourceFile) -> Suppressions:
    result = Suppressions()
    text = source.text
    if "nnlint" not in text and "noqa" not in text and "NOQA" not in text:
        return result
    for number, line in enumerate(source.lines, start=1):
        if "#" not in line:
            continue
        for match in _SUPPRESSION.finditer(line):
            if match.group("kind"):
                codes = {c.upper() for c in _CODE_LIST.findall(match.group("codes"))}
                if match.group("kind").lower() == "disable-file":
                    result.file_codes |= codes
                else:
                    _add_line_codes(result, number, codes)
            elif match.group("noqa"):
                _add_line_codes(result, number, {c.upper() for c in _CODE_LIST.findall(match.group("noqa"))})
            else:
                result.lines[number] = None
    return result


def _add_line_codes(result: Suppressions, line: int, codes: set[str]) -> None:
    if line in result.lines and result.lines[line] is None:
        return
    result.lines.setdefault(line, set()).update(codes)  # type: ignore[union-attr]


def active_rules(settings: Settings) -> list[Rule]:
    return [
        rule_class()
        for code, rule_class in load_rules().items()
        if settings.is_enabled(code, rule_class.enabled_by_default)
    ]


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
            return ast.parse(source.text, filename=source.path)
    except SyntaxError as exc:
        line = exc.lineno or 1
        column = 0
        if exc.offset:
            # SyntaxError.offset counts code points from 1 (bytes on some older versions).
            column = max(0, exc.offset - 1)
        if exc.lineno is None and "\0" in source.text:  # 3.11+: NUL bytes, no position
            line, column = _nul_position(source)
        return _error(source, f"syntax error: {exc.msg}", line, column)
    except ValueError as exc:  # e.g. NUL bytes
        line, column = _nul_position(source) if "\0" in source.text else (1, 0)
        return _error(source, f"cannot parse: {exc}", line, column)
    except (RecursionError, MemoryError):
        return _error(source, "cannot parse: the code is nested too deeply for Python's parser")


def check_source(
    text: str,
    path: str = "<string>",
    settings: Settings | None = None,
    rules: list[Rule] | None = None,
    verify_fixes: bool = True,
    project: "ProjectIndex | None" = None,
) -> CheckResult:
    """Analyse `text`. With `verify_fixes`, every fix offered has been applied and
    re-checked: it parses, removes its finding and adds none (see `verify_fix`); the
    language server passes False on the keystroke path and verifies on demand."""
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
    ctx = Context(source, tree, semantic, settings)
    findings: list[Finding] = []
    internal_errors: list[str] = []
    for rule in rules if rules is not None else active_rules(settings):
        try:
            produced = list(rule.check(ctx))
        except RecursionError:
            continue
        except Exception as exc:  # a rule's bug must not take down the file, the run or the server
            _log.error("nnlint: internal error in rule %s on %s (%r); its findings are skipped", rule.code, path, exc)
            _log.debug("traceback of the failing rule", exc_info=True)
            internal_errors.append(f"{rule.code} ({type(exc).__name__}: {exc})")
            continue
        for finding in produced:
            finding.severity = settings.severity_for(finding.code, finding.severity)
            findings.append(finding)
    suppressions = parse_suppressions(source)
    findings = [f for f in findings if not suppressions.hides(f)]
    findings.sort(key=Finding.sort_key)
    findings = _dedupe(findings)
    if verify_fixes:
        _verify_fixes(text, findings, settings, project)
    return CheckResult(source, findings, None, semantic, internal_errors)


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


def read_source(path: Path) -> tuple[str | None, str | None]:
    """Read a file as Python source: (text, None) or (None, a clear error message)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read for ever
            return None, "cannot read file: not a regular file"
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, f"file is too large to analyse ({size // 1024 // 1024} MiB; the limit is 10 MiB)"
        data = path.read_bytes()
    except OSError as exc:
        return None, f"cannot read file: {exc.strerror or exc}"
    if b"\0" in data[:8192] and not path.suffix == ".py":
        return None, "binary file"
    try:
        return decode_source(data), None
    except SourceDecodeError as exc:
        return None, str(exc)


def check_path(
    path: Path, settings: Settings | None = None, display: str | None = None, cross_file: bool = True
) -> CheckResult:
    """Check a file on disk; imported project modules are followed (and their
    summaries shared by every file of the same project in this process)."""
    name = display or str(path)
    text, problem = read_source(path)
    if text is None:
        source = SourceFile("", name)
        error = _error(source, f"cannot analyse: {problem}")
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
