"""Reliability harness: fuzz the engine, prove fixes safe, print one report.

    python -m nnlint.reliability [--examples N] [--seed S] [--big-lines N] [--sync-edits N]
                                 [--no-server | --only-server] [--json]

The same helpers back the test suite (tests/test_fuzz_engine.py, tests/test_fix_safety.py).
Everything here only calls `check_source` on text: nothing is imported or executed.

Properties checked:
- the engine (`check_source`) returns findings or a single NN000, never raises, on
  random edits of the bundled examples and the labeled corpus, random bytes through the
  decode path, and stress inputs (deep nesting, long lines, 50,000-line files, NUL
  bytes, lone surrogates, mixed tabs/spaces, CRLF and CR line ends);
- every fix, applied alone, gives code that parses, keeps every line outside its edits
  byte-identical, removes its finding without adding one (it may cure another), and does
  not offer itself again.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import SYNTAX_ERROR, check_source
from nnlint.findings import Finding
from nnlint.fixes import OverlappingEdits, apply_edits
from nnlint.source import LINE_BREAK, SourceDecodeError, decode_source, lines_with_breaks

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CORPUS = Path(os.environ.get("NNLINT_CORPUS", ROOT.parent / "shared" / "corpus" / "cases"))

# Fragments that tend to break parsers and the analysis built on them.
SNIPPETS = (
    "(", ")", "[", "]", "{", "}", ":", ",", ".", "=", "*", "**", "@", "\\", "'", '"', '"""', "#",
    "\n", "\r\n", "\r", "\t", "    ", " ", "\0", "\x0c", "\ufeff", "\u2028", "é", "😀",
    "x", "model", "model.", "self.", "torch.", "F.", "nn.", "loss", "optimizer.", "lambda ", "yield ",
    "await ", "async ", "return ", "del ", "global x\n", "nonlocal x\n", "pass\n", "break\n",
    "def f(", "def f():\n", "class C:\n", "class C(nn.Module):\n", "if x:\n", "else:\n", "try:\n",
    "except Exception:\n", "with torch.no_grad():\n", "for x in y:\n    ", "while True:\n    ",
    "match x:\n    case 1:\n        ", ".view(", ".permute(0, 2, 1)", ".backward()", ".step()",
    ".zero_grad()", ".eval()", ".train()", "F.softmax(x, dim=1)", "nn.CrossEntropyLoss()(",
    "F.dropout(x)", "requires_grad = False", "requires_grads = False", "model.forward(x)",
    "loss.backward()\n", "optimizer.step()\n", "optimizer.zero_grad()\n", "total += loss\n",
    "import torch\n", "import torch.nn.functional as F\n", "from torch import nn\n", "x = (",
    "f'{", "b'", "0x", "1e", "...", "->", ":=", "lambda: (yield)", "*args", "**kw",
)



def seed_files() -> list[tuple[str, str]]:
    """(name, text) of every bundled example and corpus case that can be read."""
    files: list[Path] = []
    if EXAMPLES.is_dir():
        files += sorted(EXAMPLES.glob("*.py"))
    if CORPUS.is_dir():
        files += sorted(CORPUS.glob("*.py"))
    seeds = []
    for path in files:
        try:
            seeds.append((str(path), decode_source(path.read_bytes())))
        except (OSError, SourceDecodeError):
            continue
    return seeds


# ---------------------------------------------------------------------------- edits
def insert(text: str, position: int, snippet: str) -> str:
    position = max(0, min(position, len(text)))
    return text[:position] + snippet + text[position:]


def delete(text: str, start: int, length: int) -> str:
    start = max(0, min(start, len(text)))
    return text[:start] + text[start + max(0, length):]


def truncate(text: str, position: int) -> str:
    return text[: max(0, min(position, len(text)))]


def with_line_ends(text: str, ending: str) -> str:
    return LINE_BREAK.sub(ending, text)


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random edit of `text`: (kind, new text)."""
    kind = rng.choice(("insert", "insert", "delete", "truncate", "duplicate", "line-ends", "indent", "swap-lines"))
    position = rng.randrange(len(text) + 1)
    if kind == "insert":
        return kind, insert(text, position, rng.choice(SNIPPETS))
    if kind == "delete":
        return kind, delete(text, position, rng.choice((1, 1, 2, 5, 20, 200)))
    if kind == "truncate":
        return kind, truncate(text, position)
    if kind == "duplicate":
        end = min(len(text), position + rng.randrange(1, 400))
        return kind, text[:end] + text[position:end] + text[end:]
    if kind == "line-ends":
        return kind, with_line_ends(text, rng.choice(("\r\n", "\r", "\n")))
    lines = text.split("\n")
    index = rng.randrange(len(lines))
    if kind == "indent":
        lines[index] = rng.choice(("\t", "    ", " ", "\t    ")) + lines[index]
    else:
        other = rng.randrange(len(lines))
        lines[index], lines[other] = lines[other], lines[index]
    return kind, "\n".join(lines)


def stress_inputs(big_lines: int = 50_000) -> dict[str, str]:
    """Inputs that break naive analysers; each must give findings or one NN000."""
    body = (EXAMPLES / "train_classifier.py").read_text(encoding="utf-8") if (EXAMPLES / "train_classifier.py").is_file() else (
        "import torch\nmodel = torch.nn.Linear(2, 2)\nfor x in data:\n    loss = model(x).sum()\n    loss.backward()\n"
    )
    repeats = max(1, big_lines // max(1, body.count("\n")))
    nested_fn = "".join("    " * i + f"def f{i}(x):\n" for i in range(90)) + "    " * 90 + "return x\n"
    return {
        "parens-1000": "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n",
        "parens-190": "x = " + "(" * 190 + "1" + ")" * 190 + "\n",
        "lists-1000": "x = " + "[" * 1000 + "]" * 1000 + "\n",
        "lists-190": "x = " + "[" * 190 + "]" * 190 + "\n",
        "calls-190": "y = " + "f(" * 190 + ")" * 190 + "\n",
        "attribute-chain-5000": "y = model" + ".layer" * 5000 + "\n",
        "method-chain-2000": "import torch\nx = torch.zeros(1)" + ".view(-1)" * 2000 + "\nx.sum().backward()\n",
        "subscripts-3000": "y = x" + "[0]" * 3000 + "\n",
        "unary-5000": "y = " + "-" * 5000 + "1\n",
        "binop-50000": "y = " + " + ".join(["a"] * 50_000) + "\n",
        "boolop-20000": "y = " + " and ".join(["a"] * 20_000) + "\n",
        "nested-defs-90": nested_fn,
        "nested-ifs-99": "".join("    " * i + "if x:\n" for i in range(99)) + "    " * 99 + "pass\n",
        "lambda-nest-300": "f = " + "lambda: " * 300 + "1\n",
        "long-line-1MB": "x = '" + "a" * 1_000_000 + "'\n",
        "long-call-line": "y = f(" + ", ".join(f"a{i}" for i in range(50_000)) + ")\n",
        f"{big_lines}-lines": body * repeats,
        f"{big_lines}-statements": "import torch\n" + "x = torch.zeros(1)\n" * big_lines,
        "nul-byte": body[:50] + "\0" + body[50:],
        "nul-only": "\0" * 100,
        "lone-surrogate": body[:50] + "\ud800" + body[50:],
        "surrogate-in-string": "x = '\udcff'\n",
        "mixed-tabs-spaces": "if x:\n\tif y:\n        pass\n    \tz = 1\n",
        "tab-after-spaces": "def f():\n    x = 1\n\ty = 2\n",
        "crlf": with_line_ends(body, "\r\n"),
        "cr": with_line_ends(body, "\r"),
        "mixed-line-ends": "".join(line + ("\r\n", "\r", "\n")[i % 3] for i, line in enumerate(body.split("\n"))),
        "bom-in-text": "\ufeff" + body,
        "form-feeds": body.replace("\n", "\n\x0c"),
        "unicode-separators": body.replace("\n", "\u2028\n", 5),
        "only-whitespace": " \t\n" * 1000,
        "empty": "",
        "no-final-newline": body.rstrip("\n"),
        "trailing-backslash": "x = 1 \\",
        "unterminated-string": 'x = """' + body,
    }


def random_bytes(rng: random.Random, size: int = 400) -> bytes:
    kind = rng.randrange(3)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(size)))
    seed = rng.choice(SNIPPETS).encode("utf-8", "surrogatepass")
    if kind == 1:  # a coding cookie (valid, unknown or lying) and junk
        cookie = rng.choice((b"utf-8", b"latin-1", b"klingon", b"utf-16", b"ascii", b"cp1252", b"rot13", b"idna"))
        return b"# -*- coding: " + cookie + b" -*-\n" + seed + bytes(rng.randrange(256) for _ in range(20))
    return rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"")) + seed * rng.randrange(1, 50)


# -------------------------------------------------------------------------- checking
@dataclass
class Outcome:
    findings: list[Finding]
    seconds: float
    lines: int
    crash: str | None = None


def run_engine(text: str, path: str = "fuzz.py", settings: Settings | None = None, verify_fixes: bool = False) -> Outcome:
    """Run the engine; any exception or broken contract is reported as `crash`."""
    lines = len(LINE_BREAK.findall(text)) + 1
    start = time.perf_counter()
    try:
        result = check_source(text, path, settings, verify_fixes=verify_fixes)
    except Exception as exc:  # noqa: BLE001 - this is what we are looking for
        return Outcome([], time.perf_counter() - start, lines, f"{type(exc).__name__}: {exc}"[:500])
    seconds = time.perf_counter() - start
    crash = contract_violation(result)
    return Outcome(result.findings, seconds, lines, crash)


def contract_violation(result) -> str | None:  # type: ignore[no-untyped-def]
    """None if the result is findings, or exactly one NN000 when analysis stopped."""
    if not isinstance(result.findings, list):
        return "findings is not a list"
    if result.error is not None:
        if result.error.code != SYNTAX_ERROR:
            return f"error finding has code {result.error.code}"
        if any(f is not result.error for f in result.findings):
            return "an NN000 result carries other findings"
    elif any(f.code == SYNTAX_ERROR for f in result.findings):
        return "NN000 reported without stopping analysis"
    text_lines = len(result.source.lines)
    for finding in result.findings:
        span = finding.span
        if not (1 <= span.line <= span.end_line <= max(1, text_lines)) or span.column < 0 or span.end_column < 0:
            return f"{finding.code} span {span} outside the file ({text_lines} lines)"
        if span.line == span.end_line and span.end_column < span.column:
            return f"{finding.code} span {span} ends before it starts"
    return None


def check_bytes(data: bytes) -> Outcome:
    """The decode path: bytes -> decode_source -> check_source (an undecodable file is fine)."""
    try:
        text = decode_source(data)
    except SourceDecodeError:
        return Outcome([], 0.0, 0)
    except Exception as exc:  # noqa: BLE001
        return Outcome([], 0.0, 0, f"decode_source raised {type(exc).__name__}: {exc}")
    return run_engine(text)


@dataclass
class FixProblem:
    path: str
    code: str
    line: int
    problem: str
    snippet: str

    def describe(self) -> str:
        return f"{self.path}:{self.line} {self.code}: {self.problem}\n    {self.snippet}"


def fix_problems(text: str, finding: Finding, findings: list[Finding], settings: Settings | None = None) -> list[str]:
    """Every way the finding's fix, applied alone to `text`, breaks the fix contract."""
    fix = finding.fix
    assert fix is not None
    try:
        fixed = apply_edits(text, fix.edits)
    except OverlappingEdits:
        return ["its edits overlap"]
    except Exception as exc:  # noqa: BLE001
        return [f"applying it raised {type(exc).__name__}: {exc}"]
    if fixed == text:
        return ["it changes nothing"]
    problems = []
    try:
        ast.parse(fixed)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        problems.append(f"the fixed code does not parse: {exc}")
    problems += outside_lines_changed(text, fixed, finding)
    outcome = run_engine(fixed, finding.path, settings)
    if outcome.crash:
        return problems + [f"re-checking the fixed code crashed: {outcome.crash}"]
    if any(f.code == SYNTAX_ERROR for f in outcome.findings):
        return problems
    before = Counter(f.code for f in findings if f is not finding)
    after = Counter(f.code for f in outcome.findings)
    if after[finding.code] > before[finding.code]:
        problems.append("the finding is still reported after the fix")
    added = after - before
    added.pop(finding.code, None)
    if added:  # curing another finding too is fine (a frozen backbone is no longer trained too fast)
        problems.append(f"the fix adds {dict(added)}")
    for again in outcome.findings:
        if again.fix is not None and again.code == finding.code and _same_edits(again.fix.edits, fix.edits):
            problems.append("not idempotent: the fixed code offers the same edit again")
            break
    return problems


def _same_edits(a, b) -> bool:  # type: ignore[no-untyped-def]
    return sorted((e.span, e.new_text) for e in a) == sorted((e.span, e.new_text) for e in b)


def outside_lines_changed(old: str, new: str, finding: Finding) -> list[str]:
    """Lines before the first edited line and after the last one must be byte-identical."""
    assert finding.fix is not None
    old_lines = lines_with_breaks(old)
    new_lines = lines_with_breaks(new)
    first = min(e.span.line for e in finding.fix.edits)
    last = max(e.span.end_line for e in finding.fix.edits)
    if old_lines[: first - 1] != new_lines[: first - 1]:
        return [f"lines before line {first} changed"]
    tail = len(old_lines) - last
    if tail > 0 and old_lines[-tail:] != new_lines[-tail:]:
        return [f"lines after line {last} changed"]
    return []


@dataclass
class FixStats:
    offered_unverified: int = 0  # fixes the rules produce (verify_fixes=False)
    would_be_dropped: int = 0  # of those, fixes breaking the contract (rule bugs)
    offered_verified: int = 0  # fixes check_source(verify_fixes=True) offers
    unsafe_verified: int = 0  # of those, fixes breaking the contract: must be 0
    problems: list[FixProblem] = field(default_factory=list)  # rule bugs (unverified fixes)
    unsafe: list[FixProblem] = field(default_factory=list)  # engine bugs (verified fixes)

    def add(self, other: "FixStats") -> None:
        self.offered_unverified += other.offered_unverified
        self.would_be_dropped += other.would_be_dropped
        self.offered_verified += other.offered_verified
        self.unsafe_verified += other.unsafe_verified
        self.problems += other.problems
        self.unsafe += other.unsafe


def fix_safety(text: str, path: str = "fuzz.py", settings: Settings | None = None, verified: bool = True) -> FixStats:
    """Check every fix for `text`: first as the rules produce them, then as offered."""
    stats = FixStats()
    lines = LINE_BREAK.split(text)
    raw = check_source(text, path, settings, verify_fixes=False)
    for finding in raw.findings:
        if finding.fix is None:
            continue
        stats.offered_unverified += 1
        problems = fix_problems(text, finding, raw.findings, settings)
        if problems:
            stats.would_be_dropped += 1
            snippet = lines[finding.span.line - 1].strip() if finding.span.line <= len(lines) else ""
            stats.problems.append(FixProblem(path, finding.code, finding.span.line, "; ".join(problems), snippet))
    if not verified:
        return stats
    offered = check_source(text, path, settings, verify_fixes=True)
    for finding in offered.findings:
        if finding.fix is None:
            continue
        stats.offered_verified += 1
        problems = fix_problems(text, finding, offered.findings, settings)
        if problems:
            stats.unsafe_verified += 1
            snippet = lines[finding.span.line - 1].strip() if finding.span.line <= len(lines) else ""
            stats.unsafe.append(FixProblem(path, finding.code, finding.span.line, "; ".join(problems), snippet))
    return stats


# ---------------------------------------------------------------------------- report
def rss_kib() -> tuple[int, int]:
    """(current VmRSS, peak ru_maxrss) in KiB."""
    current = 0
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    current = int(line.split()[1])
    except OSError:
        pass
    return current, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


@dataclass
class Report:
    seeds: int = 0
    fuzzed_inputs: int = 0
    edits_applied: int = 0
    byte_inputs: int = 0
    stress_inputs: int = 0
    crashes: list[str] = field(default_factory=list)
    fixes: FixStats = field(default_factory=FixStats)
    worst_ms_per_kline: float = 0.0  # analysis only (the language server's keystroke path)
    worst_input: str = ""
    worst_verified_ms_per_kline: float = 0.0  # analysis + fix verification (the CLI's path)
    worst_verified_input: str = ""
    slowest_ms: float = 0.0
    slowest_input: str = ""
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    peak_rss_kib: int = 0
    seconds: float = 0.0

    def observe(self, name: str, outcome: Outcome, verified: bool = False) -> None:
        if outcome.crash:
            self.crashes.append(f"{name}: {outcome.crash}")
        ms = outcome.seconds * 1000
        if ms > self.slowest_ms:
            self.slowest_ms, self.slowest_input = ms, name
        if outcome.lines >= 1000:  # per-line cost is meaningless on tiny inputs
            per_kline = ms * 1000 / outcome.lines
            if verified and per_kline > self.worst_verified_ms_per_kline:
                self.worst_verified_ms_per_kline, self.worst_verified_input = per_kline, name
            elif not verified and per_kline > self.worst_ms_per_kline:
                self.worst_ms_per_kline, self.worst_input = per_kline, name


def build_report(
    examples: int = 300, seed: int = 0, big_lines: int = 50_000, fix_every: int = 5, seeds_limit: int | None = None
) -> Report:
    rng = random.Random(seed)
    report = Report()
    started = time.perf_counter()
    report.rss_before_kib, _ = rss_kib()
    seeds = seed_files()[:seeds_limit]
    report.seeds = len(seeds)
    for name, text in seeds:
        report.observe(name, run_engine(text, name))
        report.fixes.add(fix_safety(text, name))
    for index in range(examples if seeds else 0):
        name, text = rng.choice(seeds)
        for _ in range(rng.randrange(1, 4)):
            _, text = mutate(text, rng)
            report.edits_applied += 1
        report.fuzzed_inputs += 1
        outcome = run_engine(text, name)
        report.observe(f"{name} (fuzzed #{index})", outcome)
        if not outcome.crash and index % fix_every == 0 and any(f.fix for f in outcome.findings):
            report.fixes.add(fix_safety(text, f"{name} (fuzzed #{index})"))
    for index in range(examples):
        report.byte_inputs += 1
        report.observe(f"random bytes #{index}", check_bytes(random_bytes(rng)))
    for name, text in stress_inputs(big_lines).items():
        report.stress_inputs += 1
        report.observe(name, run_engine(text, name))
    # The full engine call (fixes verified) on the large files: the CLI's path.
    for name, text in stress_inputs(big_lines).items():
        if name.startswith(str(big_lines)):
            report.observe(f"{name} (fixes verified)", run_engine(text, name, verify_fixes=True), verified=True)
    report.rss_after_kib, report.peak_rss_kib = rss_kib()
    report.seconds = time.perf_counter() - started
    return report


def render(report: Report) -> str:
    fixes = report.fixes
    lines = [
        "nnlint reliability report",
        f"  seed files (examples + corpus)  {report.seeds}",
        f"  fuzzed inputs                   {report.fuzzed_inputs} ({report.edits_applied} edits applied)",
        f"  random byte strings             {report.byte_inputs}",
        f"  stress inputs                   {report.stress_inputs}",
        f"  crashes                         {len(report.crashes)}",
        f"  fixes produced by rules         {fixes.offered_unverified}",
        f"    dropped by verification       {fixes.would_be_dropped} (rule bugs)",
        f"  fixes offered (verified)        {fixes.offered_verified}",
        f"    applied, contract broken      {fixes.unsafe_verified}",
        f"  worst latency, analysis         {report.worst_ms_per_kline:.0f} ms per 1,000 lines ({report.worst_input})",
        f"  worst latency, fixes verified   {report.worst_verified_ms_per_kline:.0f} ms per 1,000 lines "
        f"({report.worst_verified_input})",
        f"  slowest single input            {report.slowest_ms:.0f} ms ({report.slowest_input})",
        f"  RSS before / after / peak       {report.rss_before_kib // 1024} / {report.rss_after_kib // 1024} / "
        f"{report.peak_rss_kib // 1024} MiB",
        f"  run time                        {report.seconds:.1f} s",
    ]
    for crash in report.crashes[:20]:
        lines.append(f"  CRASH {crash}")
    seen = set()
    for problem in fixes.problems + fixes.unsafe:
        key = (problem.code, problem.problem.split(":")[0], problem.snippet)
        if key not in seen and len(seen) < 30:
            seen.add(key)
            lines.append(f"  FIX BUG {problem.describe()}")
    return "\n".join(lines)


# ------------------------------------------------------- the server and the file system
@dataclass
class ServerReport:
    """Issue 18's figures: text sync, memory, frame sizes, what --fix keeps."""

    sync_edits: int = 0
    sync_divergences: int = 0
    sync_suspect: int = 0
    pygls_edits: int = 0  # the same check against pygls' own TextDocument, for comparison
    pygls_divergences: int = 0
    rss_edits_kib: tuple[int, int] = (0, 0)
    rss_cycles_kib: tuple[int, int] = (0, 0)
    futures: tuple[int, int] = (-1, -1)
    edits: int = 0
    cycles: int = 0
    frames: list[tuple[int, float]] = field(default_factory=list)
    fix_metadata: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return (
            self.sync_divergences > 0
            or self.rss_edits_kib[1] - self.rss_edits_kib[0] >= 2048
            or self.rss_cycles_kib[1] - self.rss_cycles_kib[0] >= 2048
            or any(v.startswith("FAILED") for v in self.fix_metadata.values())
        )


def build_server_report(
    sync_edits: int = 100_000, edits: int = 10_000, cycles: int = 1_000, frames_mb: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
) -> ServerReport:
    from pygls.workspace.position_codec import PositionCodec
    from pygls.workspace.text_document import TextDocument

    from nnlint.fixcheck import fix_metadata_check
    from nnlint.server import soak
    from nnlint.server.convert import FastPositionCodec
    from nnlint.server.pygls_adapter import LspTextDocument
    from nnlint.server.syncmodel import check_document_sync

    report = ServerReport()
    ours = check_document_sync(
        lambda text, enc: LspTextDocument("file:///sync.py", text, 1, position_codec=FastPositionCodec(enc)), sync_edits
    )
    report.sync_edits, report.sync_divergences, report.sync_suspect = ours.edits, ours.divergences, ours.suspect_marks
    theirs = check_document_sync(
        lambda text, enc: TextDocument("file:///sync.py", text, 1, position_codec=PositionCodec(enc)), 10_000
    )
    report.pygls_edits, report.pygls_divergences = theirs.edits, theirs.divergences
    if os.path.exists("/proc/self/status"):
        measured = soak.memory_soak(edits=edits, cycles=cycles)
        report.edits, report.cycles = edits, cycles
        report.rss_edits_kib, report.rss_cycles_kib = measured.rss_edits_kib, measured.rss_cycles_kib
        report.futures = (measured.futures_after_edits, measured.futures_after_cycles)
    report.frames = soak.frame_curve(frames_mb)
    report.fix_metadata = fix_metadata_check()
    return report


def render_server(report: ServerReport) -> str:
    def mb(kib: int) -> str:
        return f"{kib / 1024:.1f} MB"

    lines = [
        "language server and --fix (issue 18)",
        f"  text sync, random edits          {report.sync_edits} edits, {report.sync_divergences} divergences "
        f"({report.sync_suspect} changes refused as not fitting)",
        f"    pygls' own TextDocument        {report.pygls_edits} edits, {report.pygls_divergences} divergences",
    ]
    if report.edits:
        (a, b), (c, d) = report.rss_edits_kib, report.rss_cycles_kib
        lines += [
            f"  RSS over {report.edits} edits         {mb(a)} -> {mb(b)} ({b - a:+d} KiB)",
            f"  RSS over {report.cycles} open/close    {mb(c)} -> {mb(d)} ({d - c:+d} KiB)",
            f"  pygls futures table after each   {report.futures[0]} / {report.futures[1]}",
        ]
    curve = ", ".join(f"{size} MB {seconds:.2f} s" for size, seconds in report.frames)
    lines.append(f"  request behind one frame of      {curve}")
    for check, outcome in report.fix_metadata.items():
        lines.append(f"  --fix keeps {check:<24} {outcome}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlint.reliability", description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=int(os.environ.get("NNLINT_FUZZ_EXAMPLES", 300)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--big-lines", type=int, default=50_000)
    parser.add_argument("--sync-edits", type=int, default=100_000, help="random edits of the text-sync check")
    parser.add_argument("--no-server", action="store_true", help="skip the language-server and --fix checks")
    parser.add_argument("--only-server", action="store_true", help="only the language-server and --fix checks")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    report = None if args.only_server else build_report(args.examples, args.seed, args.big_lines)
    server = None if args.no_server else build_server_report(args.sync_edits)
    if args.json:
        data: dict[str, object] = {}
        if report is not None:
            data = {k: v for k, v in report.__dict__.items() if k != "fixes"}
            data["fixes"] = {k: v for k, v in report.fixes.__dict__.items() if k not in ("problems", "unsafe")}
            data["fix_bugs"] = [p.__dict__ for p in report.fixes.problems + report.fixes.unsafe]
        if server is not None:
            data["server"] = server.__dict__
        print(json.dumps(data, indent=2))
    else:
        if report is not None:
            print(render(report))
        if server is not None:
            print(render_server(server))
    failed = report is not None and bool(report.crashes or report.fixes.unsafe_verified)
    return 1 if failed or (server is not None and server.failed) else 0


if __name__ == "__main__":
    sys.exit(main())
