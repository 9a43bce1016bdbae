"""`nnlint check`, `nnlint rule`, `nnlint server`: the terminal front end."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from nnlint import __version__
from nnlint.config import ConfigError, Settings, settings_for, settings_from_mapping
from nnlint.engine import check_path, check_source, read_source
from nnlint.findings import Finding
from nnlint.fixes import apply_fixes
from nnlint.output import FORMATS, render
from nnlint.registry import load_rules
from nnlint.walk import collect_files

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
PARALLEL_THRESHOLD = 8
MAX_FIX_ROUNDS = 4


@dataclass
class FileReport:
    path: str
    findings: list[Finding]
    diff: str = ""
    fixed: int = 0
    error: str | None = None
    new_text: str | None = None


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part.strip().upper() for part in value.split(",") if part.strip())


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
    check.add_argument("--jobs", type=int, default=0, help="parallel worker processes (default: one per core)")
    check.add_argument("--stdin-filename", help="read the source from standard input, reporting it under this name")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings are reported")

    rule = commands.add_parser("rule", help="explain a rule", description="Print a rule's documentation.")
    rule.add_argument("code", nargs="?", help="rule code, e.g. NN101")
    rule.add_argument("--all", action="store_true", help="list every rule")

    server = commands.add_parser("server", help="start the language server", description="Start the nnlint language server (stdio by default).")
    server.add_argument("--stdio", action="store_true", help="talk LSP over standard input/output (default)")
    server.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP address instead of stdio")
    server.add_argument("--log-file", help="write the server log to this file")
    server.add_argument("-v", "--verbose", action="count", default=0, help="log more (repeat for debug)")
    return parser


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
    rules = load_rules()
    if args.all or not args.code:
        width = max(len(rule.name) for rule in rules.values())
        for code, rule in rules.items():
            fix = "fix" if rule.fix_title else "   "
            default = "" if rule.enabled_by_default else " (opt-in)"
            print(f"{code}  {rule.name:<{width}}  {rule.severity.value:<11}  {fix}  {rule.summary}{default}")
        return EXIT_CLEAN
    rule = rules.get(args.code.upper())
    if rule is None:
        print(f"nnlint: unknown rule {args.code!r}; `nnlint rule --all` lists them", file=sys.stderr)
        return EXIT_ERROR
    print(f"# {rule.code} {rule.name}\n")
    print(f"Default severity: {rule.severity.value}. Fix: {'available' if rule.fix_title else 'none'}.\n")
    print(rule.documentation())
    return EXIT_CLEAN


# ----------------------------------------------------------------------- check
def _settings(args: argparse.Namespace, path: Path, cache: dict[Path, Settings]) -> Settings:
    base = Settings() if args.isolated else settings_for(path, cache)
    overrides = {}
    if args.select is not None:
        overrides["select"] = args.select
        overrides["extend_select"] = ()
    if args.extend_select is not None:
        overrides["extend_select"] = base.extend_select + args.extend_select
    if args.ignore is not None:
        overrides["ignore"] = base.ignore + args.ignore
    return base.merged(**overrides)


def run_check(args: argparse.Namespace) -> int:
    cache: dict[Path, Settings] = {}
    reports: list[FileReport] = []
    errors: list[str] = []
    if args.stdin_filename:
        try:
            settings = _settings(args, Path(args.stdin_filename).resolve().parent, cache)
        except ConfigError as exc:
            print(f"nnlint: {exc}", file=sys.stderr)
            return EXIT_ERROR
        text = sys.stdin.read()
        reports.append(_check_text(text, args.stdin_filename, settings, args.fix or args.diff))
        if args.fix and not args.diff and reports[0].fixed:
            sys.stdout.write(reports[0].diff)
    else:
        files, missing = collect_files([Path(p) for p in args.paths])
        errors.extend(f"nnlint: {p}: no such file or folder" for p in missing)
        jobs = []
        for path in files:
            try:
                jobs.append((path, _settings(args, path, cache), args.fix, args.diff))
            except ConfigError as exc:
                print(f"nnlint: {exc}", file=sys.stderr)
                return EXIT_ERROR
        reports = list(_run_jobs(jobs, args.jobs))
    for report in reports:
        if report.error:
            errors.append(f"nnlint: {report.path}: {report.error}")
    findings = [f for r in reports for f in r.findings]
    if args.diff:
        sys.stdout.write("".join(r.diff for r in reports))
    else:
        output = render(args.format, findings, load_rules())
        if output:
            sys.stdout.write(output if output.endswith("\n") else output + "\n")
        if args.fix and args.format == "text":
            fixed = sum(r.fixed for r in reports)
            if fixed:
                print(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}.", file=sys.stderr)
    for message in errors:
        print(message, file=sys.stderr)
    if errors and not findings:
        return EXIT_ERROR
    if findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_ERROR if errors else EXIT_CLEAN


def _run_jobs(jobs: list[tuple[Path, Settings, bool, bool]], workers: int) -> Iterable[FileReport]:
    if len(jobs) < PARALLEL_THRESHOLD or workers == 1:
        return [_check_job(job) for job in jobs]
    workers = workers or os.cpu_count() or 1
    chunk = max(1, len(jobs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_check_job, jobs, chunksize=chunk))


def _check_job(job: tuple[Path, Settings, bool, bool]) -> FileReport:
    path, settings, fix, diff = job
    display = str(path)
    if path.suffix == ".ipynb":
        from nnlint.notebook import check_notebook_path

        return check_notebook_path(path, settings, fix=fix, diff=diff)
    if not (fix or diff):
        result = check_path(path, settings, display)
        error = result.error.message if result.error and result.error.message.startswith("cannot analyse") else None
        findings = [f for f in result.findings if error is None]
        return FileReport(display, findings, error=error)
    text, problem = read_source(path)
    if text is None:
        return FileReport(display, [], error=problem)
    report = _check_text(text, display, settings, True)
    if fix and not diff and report.fixed:
        report.error = _write_atomically(path, text, report.new_text or text)
    return report


def _check_text(text: str, display: str, settings: Settings, fixing: bool) -> FileReport:
    result = check_source(text, display, settings)
    if not fixing:
        return FileReport(display, result.findings)
    new_text, total = text, 0
    findings = result.findings
    for _ in range(MAX_FIX_ROUNDS):
        new_text, applied = apply_fixes(new_text, findings)
        if not applied:
            break
        total += applied
        findings = check_source(new_text, display, settings).findings
    diff = ""
    if new_text != text:
        diff = "".join(
            difflib.unified_diff(
                text.splitlines(keepends=True), new_text.splitlines(keepends=True), f"a/{display}", f"b/{display}"
            )
        )
    return FileReport(display, findings, diff, total, new_text=new_text)


def _write_atomically(path: Path, original: str, new_text: str) -> str | None:
    """Write via a temporary file and rename; refuse if the file changed since it was read."""
    current, _ = read_source(path)
    if current != original:
        return "file changed while it was being checked; fixes not written"
    data = new_text.encode("utf-8")
    try:
        mode = path.stat().st_mode
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".nnlint", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, mode & 0o7777)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    except OSError as exc:
        return f"cannot write fixes: {exc.strerror or exc}"
    return None


def settings_from_editor(data: dict[str, object]) -> Settings:
    """Kept here for the server: editor settings use the same keys as [tool.nnlint]."""
    return settings_from_mapping(data)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
