"""`nnlint check`, `nnlint rule`, `nnlint server`: the terminal front end."""

from __future__ import annotations

import argparse
import codecs
import gc
import os
import re
import sys
import time
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Sequence

from nnlint import __version__
from nnlint.config import (
    ConfigError,
    Settings,
    matches_no_rule,
    settings_for,
    code_list,
    is_code_or_prefix,
    settings_from_mapping,
    unknown_code_message,
)
from nnlint.findings import SYNTAX_ERROR, FileReport, Finding, Severity, Span
from nnlint.output import FORMATS, RULE_FORMATS, render
from nnlint.runtime import tune_gc
from nnlint.source import MAX_FILE_BYTES, SourceDecodeError, decode_source, read_source, source_encoding
from nnlint.walk import collect_files, real_path
from nnlint.fsutil import CHANGED, replace_file
from nnlint import localized_docs
from nnlint.i18n import LANGUAGES, from_environment
from nnlint.localized_docs import doc_text, fill
from nnlint.message import t

# The engine, the rules and the process pool are imported when a file is analysed: a
# re-run that the result cache answers never loads them (a third of its time).
if TYPE_CHECKING:
    from nnlint.cache import ResultCache
    from nnlint.project import ProjectIndex
    from nnlint.registry import Rule

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# A process pool pays for itself once there is about half a second of sequential
# work. Measured on 2 cores (`python -m nnlint.bench --compare-jobs`): 300 files /
# 80,000 lines take ~1.4 s with 2 workers against ~2.5 s with one; below ~300-450 KB
# of source the pool's start and IPC cost more than they save.
PARALLEL_MIN_FILES = 4
PARALLEL_MIN_BYTES = 384 * 1024
_ON_LINE = re.compile(r"\bon line (\d+)\b")
# The project root of the files of each folder checked in this run (see `_project_index`).
_FOLDER_ROOTS: dict[object, Path] = {}


def _codes(value: str) -> tuple[str, ...]:
    codes = tuple(part.upper() for part in code_list(value) or ())
    for code in codes:
        if not is_code_or_prefix(code):
            raise argparse.ArgumentTypeError(
                f"{code!r} is not a rule code or prefix (expected e.g. NN101, NN1 or ALL)"
            )
    return codes


def _jobs(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must be 0 (one per core) or more")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnlint",
        description="Find the mistakes that make PyTorch training code fail silently.",
    )
    parser.add_argument("--version", action="version", version=f"nnlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="check files or folders", description="Check Python files, notebooks or folders.")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files or folders (default: .)")
    check.add_argument("--format", choices=sorted(FORMATS), default="text", help="output format (default: text)")
    check.add_argument("--fix", action="store_true", help="apply safe fixes in place")
    check.add_argument("--diff", action="store_true", help="show the fixes as a unified diff, write nothing")
    check.add_argument("--select", type=_codes, help="comma-separated codes or prefixes to enable (e.g. NN1,NN301)")
    check.add_argument("--extend-select", type=_codes, help="codes or prefixes to enable on top of the configuration")
    check.add_argument("--ignore", type=_codes, help="comma-separated codes or prefixes to disable")
    check.add_argument("--isolated", action="store_true", help="ignore [tool.nnlint] in pyproject.toml files")
    check.add_argument("--jobs", type=_jobs, default=0, help="parallel worker processes (default: one per core)")
    check.add_argument("--stdin-filename", help="read the source from standard input, reporting it under this name")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings are reported")
    check.add_argument("--no-cache", action="store_true", help="analyse every file, neither reading nor writing the result cache")
    check.add_argument("--cache-dir", metavar="DIR", help="where the result cache lives (default: .nnlint_cache)")
    check.add_argument(
        "--lang", choices=LANGUAGES,
        help="language of the messages: text and github output are written in it, json and sarif keep "
             "the English message and add the localised one (default: from LC_ALL, LC_MESSAGES or LANG, "
             "else en)",
    )

    rule = commands.add_parser("rule", help="explain a rule", description="Print a rule's documentation.")
    rule.add_argument("code", nargs="?", help="rule code, e.g. NN101")
    rule.add_argument("--all", action="store_true", help="list every rule")
    rule.add_argument(
        "--lang", choices=LANGUAGES, help="language of the documentation (default: from LC_ALL, LC_MESSAGES or LANG)"
    )

    server = commands.add_parser("server", help="start the language server", description="Start the nnlint language server (stdio by default).")
    server.add_argument("--stdio", action="store_true", help="talk LSP over standard input/output (default)")
    server.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead of stdio")
    server.add_argument("--log-file", help="write the server log to this file")
    server.add_argument("-v", "--verbose", action="count", default=0, help="log more (repeat for debug)")

    completion = commands.add_parser(
        "completion", help="print a shell completion script", description="Print a completion script for a shell."
    )
    completion.add_argument("shell", choices=["bash", "zsh", "fish"], help="the shell to complete in")
    return parser


def _language(args: argparse.Namespace) -> str:
    """`--lang`, else the language the environment asks for (LC_ALL, LC_MESSAGES, LANG)."""
    return getattr(args, "lang", None) or from_environment()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_CLEAN
    try:
        if args.command == "check":
            return run_check(args)
        if args.command == "rule":
            return run_rule(args)
        if args.command == "completion":
            from nnlint.completion import script

            sys.stdout.write(script(args.shell, parser))
            return EXIT_CLEAN
        if args.command == "server":
            from nnlint.server.main import start  # the server's deps load only when needed

            return start(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN
    return EXIT_ERROR


# ------------------------------------------------------------------------ rule
def run_rule(args: argparse.Namespace) -> int:
    from nnlint.registry import load_rules

    rules = load_rules()
    lang = args.lang or from_environment()
    if args.all or not args.code:
        width = max(len(rule.name) for rule in rules.values())
        opt_in = doc_text(" (opt-in)", lang)
        for code, rule in rules.items():
            fix = "fix" if rule.fix_title else "   "
            default = "" if rule.enabled_by_default else opt_in
            summary = localized_docs.summary(rule, lang)
            print(f"{code}  {rule.name:<{width}}  {rule.severity.value:<11}  {fix}  {summary}{default}")
        return EXIT_CLEAN
    rule = rules.get(args.code.upper())
    if rule is None:
        print(f"nnlint: unknown rule {args.code!r}; `nnlint rule --all` lists them", file=sys.stderr)
        return EXIT_ERROR
    print(f"# {rule.code} {rule.name}\n")
    if rule.fix_title:
        header = doc_text("Default severity: {severity}. Fix: available.", lang)
    else:
        header = doc_text("Default severity: {severity}. Fix: none.", lang)
    print(fill(header, severity=rule.severity.value) + "\n")
    print(localized_docs.documentation(rule, lang))
    return EXIT_CLEAN


# ----------------------------------------------------------------------- check
def _settings(
    args: argparse.Namespace, path: Path, cache: dict[Path, Settings], warnings: list[str] | None = None
) -> Settings:
    base = Settings() if args.isolated else settings_for(path, cache, warnings)
    overrides = {}
    if args.select is not None:
        # As in Ruff, a command-line --select replaces the configured selection and
        # its ignores: the rules named on the command line are the rules that run.
        overrides["select"] = args.select
        overrides["extend_select"] = ()
        overrides["ignore"] = ()
    if args.extend_select is not None:
        overrides["extend_select"] = base.extend_select + args.extend_select
    if args.ignore is not None:
        overrides["ignore"] = tuple(overrides.get("ignore", base.ignore)) + args.ignore
    return base.merged(**overrides)


def _command_line_codes(args: argparse.Namespace) -> list[str]:
    """Check the codes given on the command line against the rules: a selection that
    names no rule would check nothing (ConfigError, exit 2); an ignore of an unknown
    code only warns. Returns the warnings."""
    for flag, codes in (("--select", args.select), ("--extend-select", args.extend_select)):
        unknown = [code for code in codes or () if matches_no_rule(code)]
        if unknown:
            raise ConfigError(unknown_code_message(", ".join(unknown), flag))
    return [f"warning: {unknown_code_message(code, '--ignore')}; ignored"
            for code in args.ignore or () if matches_no_rule(code)]


def _print_warnings(messages: list[str], settings: "list[Settings]") -> None:
    """Each warning once, before the report (configuration warnings come with their path)."""
    seen: set[str] = set()
    for message in [*messages, *(f"warning: {w}" for s in settings for w in s.warnings)]:
        if message not in seen:
            seen.add(message)
            print(f"nnlint: {message}", file=sys.stderr)


def run_check(args: argparse.Namespace) -> int:
    tune_gc(collect=False)
    _FOLDER_ROOTS.clear()
    cache: dict[Path, Settings] = {}
    reports: list[FileReport] = []
    errors: list[str] = []
    fixing = args.fix or args.diff
    try:
        warnings = _command_line_codes(args)
    except ConfigError as exc:
        print(f"nnlint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.stdin_filename is not None:
        return _run_stdin(args, cache, warnings)
    skipped: list[str] = []  # paths passed over (symlink loops, FIFOs...) and unusable configs
    files, missing = collect_files([Path(p) for p in args.paths], skipped)
    errors.extend(f"nnlint: {p}: no such file or folder" for p in missing)
    jobs = []
    try:
        for path in files:
            jobs.append((path, _settings(args, path, cache, skipped), args.fix, args.diff))
        cache_dir = None if fixing or args.no_cache or _env_flag("NNLINT_NO_CACHE") else _cache_dir(args, cache)
    except ConfigError as exc:
        print(f"nnlint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # skipped paths and unusable configs are said, and the run goes on
    _print_warnings([*warnings, *(f"warning: {w}" for w in skipped)], [job[1] for job in jobs])
    reports = _run_cached(jobs, args.jobs, cache_dir) if cache_dir is not None else _run_jobs(jobs, args.jobs)
    for report in reports:
        if report.error:
            errors.append(f"nnlint: {report.path}: {report.error}")
    findings = [f for r in reports for f in r.findings]
    if args.diff:
        _write("".join(r.diff for r in reports))
    else:
        output = render(args.format, findings, _rules_for(args.format), _language(args))
        if output:
            _write(output if output.endswith("\n") else output + "\n")
    if fixing and not args.diff:
        fixed = sum(r.fixed for r in reports)
        if fixed and args.format == "text":
            print(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}.", file=sys.stderr)
    sys.stdout.flush()
    for message in errors:
        print(message, file=sys.stderr)
    return _exit_code(args, findings, errors, any(r.diff for r in reports))


def _exit_code(args: argparse.Namespace, findings: list[Finding], errors: list[str], changes: bool = False) -> int:
    """2 on errors; 1 with findings (left after --fix, or fixable ones shown by --diff)."""
    if errors:
        return EXIT_ERROR
    if (findings or (args.diff and changes)) and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _write(text: str) -> None:
    sys.stdout.write(text)


def _run_stdin(args: argparse.Namespace, cache: dict[Path, Settings], warnings: list[str]) -> int:
    """`--stdin-filename NAME`: check standard input as if it were the file NAME.

    The configuration is the one NAME would get. With --fix the fixed source goes to
    standard output (what editors and pre-commit style tools expect) and the remaining
    findings to standard error; with --diff the diff goes to standard output."""
    display = args.stdin_filename or "<stdin>"
    try:
        settings = _settings(args, Path(display).resolve(), cache)
    except ConfigError as exc:
        print(f"nnlint: {exc}", file=sys.stderr)
        return EXIT_ERROR
    _print_warnings(warnings, [settings])
    data = sys.stdin.buffer.read()
    text: str | None
    try:
        text = decode_source(data)
    except SourceDecodeError as exc:
        text = None
        report = FileReport(display, _unreadable(display, str(exc), settings))
    else:
        source = text
        report = _guarded(lambda: _check_text(source, display, settings, args.fix or args.diff), display, text, settings)
    if args.diff:
        _write(report.diff)
    elif args.fix:
        if report.new_text is not None:
            _write(report.new_text)
        elif text is not None:
            _write(text)
        else:  # undecodable: give the bytes back untouched
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
        output = render(args.format, report.findings, _rules_for(args.format), _language(args))
        if report.findings and output:
            print(output, file=sys.stderr)
    else:
        output = render(args.format, report.findings, _rules_for(args.format), _language(args))
        if output:
            _write(output if output.endswith("\n") else output + "\n")
    sys.stdout.flush()
    errors = [f"nnlint: {display}: {report.error}"] if report.error else []
    for message in errors:
        print(message, file=sys.stderr)
    return _exit_code(args, report.findings, errors, bool(report.diff))


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _cache_dir(args: argparse.Namespace, cache: dict[Path, Settings]) -> Path:
    from nnlint.cache import cache_folder

    here = Settings() if args.isolated else settings_for(Path.cwd(), cache)
    return cache_folder(args.cache_dir, (here.cache_dir or "", here.source)).absolute()


def _run_cached(jobs: list[tuple[Path, Settings, bool, bool]], workers: int, folder: Path) -> list[FileReport]:
    """Read what the result cache holds (in this process: a re-run of an unchanged tree
    starts no workers and imports no analysis), analyse the rest, and store their
    results (the workers send them back; this process writes each folder's index once)."""
    from nnlint.cache import ResultCache

    results = ResultCache(folder)
    started = time.time_ns()  # results depending on modules saved since then are not stored
    reports: list[FileReport | None] = []
    misses = []
    roots: dict[str, Path] = {}  # project root by folder
    folders: dict[str, str] = {}  # resolved folders
    for index, (path, settings, *_) in enumerate(jobs):
        report = _from_cache(results, path, settings, roots, folders)
        reports.append(report)
        if report is None:
            misses.append((index, (path, settings, False, False, str(folder), started)))
    for (index, _), report in zip(misses, _run_jobs([job for _, job in misses], workers)):
        if report.cache_entry is not None:
            results.add(report.cache_entry)
            report.cache_entry = None
        reports[index] = report
    results.flush()
    return reports  # type: ignore[return-value]


def _from_cache(
    results: "ResultCache", path: Path, settings: Settings, roots: dict[str, Path], folders: dict[str, str] | None = None
) -> FileReport | None:
    """The cached report of `path`, if the cache holds a valid one (else None: analyse it;
    reading problems are left to the analysis, which reports them)."""
    if path.suffix != ".py":
        return None
    try:
        resolved = real_path(str(path), {} if folders is None else folders)
        info = os.stat(resolved)
        if not S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:  # a FIFO would block the read
            return None
        with open(resolved, "rb") as handle:
            data = handle.read()
    except (OSError, ValueError):
        return None
    from nnlint.walk import find_project_root

    folder = os.path.dirname(resolved)
    root = roots.get(folder)
    if root is None:
        root = roots[folder] = find_project_root(Path(folder))
    findings = results.load(Path(resolved), data, settings, root, str(path))
    return FileReport(str(path), findings) if findings is not None else None


def _cache_entry(
    folder: str, started: int, path: Path, text: str, settings: Settings, project: "ProjectIndex", report: FileReport
) -> "dict | None":
    """What the cache will hold for this check (None: nothing, e.g. it read a module saved
    during the run)."""
    from nnlint.cache import ResultCache, project_dependencies

    record = project._recording
    project.stop_recording()
    if record is None or report.error is not None:
        return None
    # The file's own imports count as read: a module appearing where one of them found
    # none may change what the analysis would find.
    deps = project_dependencies(project, path, record.read, record.absent, started, record.namings)
    return ResultCache(Path(folder)).entry(path.resolve(), text, settings, project.root, report.findings, deps)


def _run_jobs(jobs: list[tuple], workers: int) -> list[FileReport]:
    workers = workers or os.cpu_count() or 1
    if workers > 1 and len(jobs) >= PARALLEL_MIN_FILES:
        size = 0
        for path, *_ in jobs:
            try:
                size += path.stat().st_size
            except OSError:
                pass
            if size >= PARALLEL_MIN_BYTES:
                break
        if size < PARALLEL_MIN_BYTES:
            workers = 1
    else:
        workers = 1
    if workers == 1:
        return [_check_job(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from pickle import PicklingError

    # The engine and the rules are imported here, before the workers start: forked
    # workers inherit them instead of each importing them again.
    import nnlint.engine  # noqa: F401
    from nnlint.registry import load_rules

    load_rules()
    _prepare_projects(jobs)
    gc.freeze()  # and the collector leaves those pages alone in the workers (copy-on-write)
    workers = min(workers, len(jobs))
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
            parts = [pool.submit(_check_chunk, part) for part in _chunks(jobs, workers)]
            return [report for part in parts for report in part.result()]
    except (OSError, BrokenProcessPool, PicklingError):  # no fork/semaphores here: go sequential
        return [_check_job(job) for job in jobs]


def _chunks(jobs: list[tuple], workers: int) -> list[list[tuple]]:
    """Consecutive runs of jobs, one worker's piece of work each: up to 16 files (neighbours,
    which often import each other, share one worker's project index), shrinking towards the
    end so that no worker is left with a long piece while the others are done."""
    parts = []
    start = 0
    while start < len(jobs):
        size = max(1, min(16, (len(jobs) - start) // (workers * 4)))
        parts.append(jobs[start:start + size])
        start += size
    return parts


def _check_chunk(jobs: list[tuple]) -> list[FileReport]:
    return [_check_job(job) for job in jobs]


def _prepare_projects(jobs: list[tuple]) -> None:
    """Read the identifiers of the checked files' projects (what finds the callers of a
    function in other modules) before the workers fork: they inherit them, where each
    would otherwise read and scan every file of the project again."""
    prepared: set[int] = set()
    for path, *_ in jobs:
        if path.suffix != ".py":
            continue
        index = _project_index(path)
        if id(index) not in prepared:
            prepared.add(id(index))
            index.prepare_reverse_lookup()


def _project_index(path: Path) -> "ProjectIndex":
    """`shared_index(path)`, its root found once per folder of the run: a regular file (no
    symbolic link, no folder) has its folder's project root (finding it resolves the path,
    a system call per component, for each of a folder run's files in the parent and again
    in a worker)."""
    from nnlint.project import shared_index, shared_index_at
    from nnlint.walk import find_project_root

    try:
        regular = S_ISREG(os.lstat(path).st_mode)
    except OSError:
        regular = False
    if not regular:
        return shared_index(path)
    folder: object = path.parent if path.is_absolute() else (os.getcwd(), path.parent)
    root = _FOLDER_ROOTS.get(folder)
    if root is None:
        root = _FOLDER_ROOTS[folder] = find_project_root(path)
    return shared_index_at(root)


def _init_worker() -> None:
    from nnlint.registry import load_rules

    tune_gc(collect=False)
    load_rules()


def _rules_for(fmt: str) -> "dict[str, type[Rule]]":
    """The rule catalog, for the formats that describe the rules (SARIF); the others
    print findings only, and a cached re-run then never imports a rule."""
    if fmt not in RULE_FORMATS:
        return {}
    from nnlint.registry import load_rules

    return load_rules()


def _notebook_checker():  # type: ignore[no-untyped-def]
    try:
        from nnlint.notebook import check_notebook_path
    except ImportError:
        return None
    return check_notebook_path


def _unreadable(display: str, problem: str, settings: Settings) -> list[Finding]:
    """A file that can be read but not analysed (undecodable, binary, too large): one
    NN000 finding on line 1, the run goes on."""
    if not settings.is_enabled(SYNTAX_ERROR):
        return []
    where = _ON_LINE.search(problem)
    line = int(where.group(1)) if where else 1
    return [Finding(SYNTAX_ERROR, t("cannot analyse: {problem}", problem=problem), Severity.ERROR, Span(line, 0, line, 0), path=display)]


def _check_job(job: tuple) -> FileReport:
    """(path, settings, fix, diff[, result cache folder to store a plain check's result])."""
    try:
        return _check_one(job)
    finally:
        # What the check left alive (the file's tree and analysis, kept by the project
        # index for the files that import it) is moved out of the collector's sight: a
        # folder run otherwise rescans every earlier file's objects in each full collection,
        # and collects them all again at exit (measured: 40% of a 50-file run, 40% of a
        # 15,000-line file's). A check process is short-lived; the server does not run this.
        gc.freeze()


def _check_one(job: tuple) -> FileReport:
    path, settings, fix, diff, *rest = job
    cache_folder = rest[0] if rest and not (fix or diff) else None
    started = rest[1] if len(rest) > 1 else time.time_ns()
    display = str(path)
    if path.suffix == ".ipynb":
        checker = _notebook_checker()
        if checker is None:
            return FileReport(display, [], error="notebooks are not supported by this installation")
        try:
            # the modules its cells import from the project are followed, as for a .py file
            return checker(path, settings, fix=fix, diff=diff, project=_project_index(path))
        except Exception as exc:  # noqa: BLE001 - one bad notebook must not end the run
            return FileReport(display, [], error=f"internal error while checking this notebook: {exc!r}")
    text, problem = read_source(path)
    if text is None:
        if problem and problem.startswith("cannot read file"):
            return FileReport(display, [], error=problem)
        return FileReport(display, _unreadable(display, problem or "unreadable", settings))
    project = _project_index(path)  # imported project modules are followed (issue 5)
    if cache_folder is not None and path.suffix == ".py":
        project.start_recording()  # what the analysis reads of the project keys its cache entry
        try:
            report = _guarded(lambda: _check_text(text, display, settings, False, project), display, text, settings)
        except BaseException:
            project.stop_recording()
            raise
        report.cache_entry = _cache_entry(cache_folder, started, path, text, settings, project, report)
        return report
    report = _guarded(lambda: _check_text(text, display, settings, fix or diff, project), display, text, settings)
    if fix and not diff and report.fixed and report.new_text is not None and not report.error:
        report.error = _write_atomically(path, text, report.new_text)
        if report.error:  # nothing was written: what is in the file is still to be reported
            report.findings, report.fixed = report.unfixed, 0
    return report


def _guarded(run, display: str, text: str, settings: Settings) -> FileReport:  # type: ignore[no-untyped-def]
    """Run a check; if a rule crashes, find the rule, report it on stderr (exit 2) and
    keep the findings of every other rule."""
    try:
        return run()
    except Exception as crash:  # noqa: BLE001
        from nnlint.engine import active_rules, check_source

        findings: list[Finding] = []
        broken: list[str] = []
        for rule in active_rules(settings):
            try:
                findings.extend(check_source(text, display, settings, rules=[rule]).findings)
            except Exception as exc:  # noqa: BLE001
                broken.append(f"{rule.code} ({type(exc).__name__}: {exc})")
        findings.sort(key=Finding.sort_key)
        culprit = ", ".join(broken) if broken else f"{type(crash).__name__}: {crash}"
        return FileReport(display, findings, error=f"internal error in {culprit}; please report it")


def _check_text(
    text: str, display: str, settings: Settings, fixing: bool, project: ProjectIndex | None = None
) -> FileReport:
    # Fixes are applied and re-checked only when they will be used (--fix, --diff), in
    # verified batches (see `fix_text`); a plain report shows each rule's fix as built.
    from nnlint.engine import check_source, fix_text
    from nnlint.fixes import unified_diff

    result = check_source(text, display, settings, verify_fixes=False, project=project)
    if result.internal_errors:
        error = f"internal error in {', '.join(result.internal_errors)}; please report it"
        return FileReport(display, result.findings, error=error)
    if not fixing:
        return FileReport(display, result.findings)
    outcome = fix_text(text, display, settings, project, result)
    new_text = outcome.text
    return FileReport(
        display, outcome.findings, unified_diff(text, new_text, display), outcome.applied, new_text=new_text,
        unfixed=result.findings,
    )


def _write_atomically(path: Path, original: str, new_text: str) -> str | None:
    """Write the fixed text through the file (see `fsutil`), in the encoding it declares;
    refuse if the file changed since it was read."""
    try:
        original_bytes = path.read_bytes()
    except OSError as exc:
        return f"cannot write fixes: {exc.strerror or exc}"
    current, _ = read_source(path)
    if current != original:
        return CHANGED
    encoding = _declared_encoding(path)
    try:
        if codecs.lookup(encoding).name == "utf-8-sig":  # the BOM is the file's, added below
            encoding = "utf-8"
        data = new_text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        data = new_text.encode("utf-8")
    if original_bytes.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data
    return replace_file(path, data, original_bytes)


def _declared_encoding(path: Path) -> str:
    """The PEP 263 encoding the file declares (so fixes are written back the same way)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1024)
        return source_encoding(head)
    except (OSError, SourceDecodeError):
        return "utf-8"


def settings_from_editor(data: dict[str, object]) -> Settings:
    """Kept here for the server: editor settings use the same keys as [tool.nnlint]."""
    return settings_from_mapping(data)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
