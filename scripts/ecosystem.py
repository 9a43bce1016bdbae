#!/usr/bin/env python3
"""Ecosystem check: nnlint on real repositories nobody here wrote, like ruff-ecosystem.

Three inputs, all committed under `ecosystem/` and holding only coordinates and verdicts
(never third-party code):

- `manifest.tsv`: repository, pinned commit and the paths with hand-written training code;
- `verdicts.tsv`: a reviewed verdict (TP / FP / debatable, with a one-line reason) for each
  finding nnlint reported on the manifest;
- `bugs.tsv`: mistakes that public projects shipped and later fixed, pinned at the parent
  commit of the fix (repository, commit, path, line, rule code).

Repositories come from a local snapshot folder (one bare git directory per repository, as the
`fetch` tool lays them out: `SNAPSHOTS/owner+name/repo`); each pinned commit is exported with
`git archive` into a work folder, so the check runs offline.

Usage (from the repository root):

    python scripts/ecosystem.py SNAPSHOTS                      # findings vs. reviewed verdicts
    python scripts/ecosystem.py SNAPSHOTS --baseline main      # what a change adds or removes
    python scripts/ecosystem.py SNAPSHOTS --baseline old.json  # ... against a saved run
    python scripts/ecosystem.py SNAPSHOTS --bugs               # recall on the real-bug set
    python scripts/ecosystem.py SNAPSHOTS --accuracy docs/accuracy.md   # both, written for users

Exit status: 0 after a report; 2 when an input is missing or malformed (every missing
repository or commit is named).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
ECOSYSTEM = ROOT / "ecosystem"
VERDICTS = ("TP", "FP", "debatable")
SEVERITIES = ("hint", "information", "warning", "error")
# Severities a user sees as a squiggle that asks for action; a false positive there is what
# gets a linter switched off.
LOUD = {"warning", "error"}


class InputError(Exception):
    """An input file or snapshot is missing or malformed; the message says which."""


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Repo:
    """One manifest row: `paths` are inside the repository, `.` for all of it."""

    name: str
    commit: str
    paths: tuple[str, ...]
    kind: str = ""
    note: str = ""

    @property
    def slug(self) -> str:
        return self.name.replace("/", "+")


@dataclass(frozen=True)
class Bug:
    """A shipped mistake: `line` of `path` at `commit` (the parent of `fix_commit`)."""

    id: str
    repo: str
    commit: str
    path: str
    line: int
    code: str
    shape: str
    fix_commit: str
    check: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Verdict:
    path: str  # owner/name/path-in-repo
    line: int
    code: str
    verdict: str
    reason: str
    deserved: str = ""  # the severity a debatable finding deserves
    source: str = ""  # the stripped source line, to follow a finding when lines move


@dataclass(frozen=True)
class Finding:
    """One reported diagnostic; `path` is prefixed with the repository (owner/name/...)."""

    path: str
    line: int
    code: str
    severity: str
    message: str
    source: str = ""
    related: tuple[int, ...] = ()

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.code)

    def to_json(self) -> dict:
        return {
            "path": self.path, "line": self.line, "code": self.code, "severity": self.severity,
            "message": self.message, "source": self.source, "related": list(self.related),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Finding":
        return cls(
            path=data["path"], line=int(data["line"]), code=data["code"],
            severity=data.get("severity", ""), message=data.get("message", ""),
            source=data.get("source", ""), related=tuple(data.get("related", ())),
        )


def _rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a tab-separated file with a header; `#` lines and blank lines are skipped."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    lines = [
        (number, line) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return
    header = lines[0][1].split("\t")
    missing = [column for column in required if column not in header]
    if missing:
        raise InputError(f"{path}:{lines[0][0]}: header lacks column(s) {', '.join(missing)}")
    for number, line in lines[1:]:
        cells = line.split("\t")
        if len(cells) < len(required):
            raise InputError(f"{path}:{number}: {len(cells)} cells, expected at least {len(required)}")
        yield number, dict(zip(header, (cell.strip() for cell in cells)))


def _commit(value: str, where: str) -> str:
    if len(value) != 40 or any(c not in "0123456789abcdef" for c in value.lower()):
        raise InputError(f"{where}: commit {value!r} is not a 40-digit hex hash")
    return value.lower()


def _line(value: str, where: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InputError(f"{where}: line {value!r} is not a number") from None
    if number < 1:
        raise InputError(f"{where}: line {number} must be 1 or more")
    return number


def _paths(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip()) or (".",)


def load_manifest(path: Path) -> list[Repo]:
    repos = []
    for number, row in _rows(path, ("repo", "commit", "paths")):
        where = f"{path}:{number}"
        if row["repo"].count("/") != 1:
            raise InputError(f"{where}: repo {row['repo']!r} must be owner/name")
        repos.append(Repo(row["repo"], _commit(row["commit"], where), _paths(row["paths"]),
                          row.get("kind", ""), row.get("note", "")))
    duplicates = [name for name, n in Counter(r.name for r in repos).items() if n > 1]
    if duplicates:
        raise InputError(f"{path}: repositories listed twice: {', '.join(duplicates)}")
    return repos


def load_bugs(path: Path) -> list[Bug]:
    bugs = []
    for number, row in _rows(path, ("id", "repo", "commit", "path", "line", "code")):
        where = f"{path}:{number}"
        bugs.append(Bug(
            id=row["id"], repo=row["repo"], commit=_commit(row["commit"], where), path=row["path"],
            line=_line(row["line"], where), code=row["code"].upper(), shape=row.get("shape", ""),
            fix_commit=row.get("fix_commit", ""), check=_paths(row.get("check", "") or row["path"]),
            description=row.get("description", ""),
        ))
    duplicates = [bug_id for bug_id, n in Counter(b.id for b in bugs).items() if n > 1]
    if duplicates:
        raise InputError(f"{path}: bug ids listed twice: {', '.join(duplicates)}")
    return bugs


def load_verdicts(path: Path) -> list[Verdict]:
    if not path.exists():
        return []
    verdicts = []
    for number, row in _rows(path, ("path", "line", "code", "verdict", "reason")):
        where = f"{path}:{number}"
        verdict = {v.lower(): v for v in VERDICTS}.get(row["verdict"].lower())
        if verdict is None:
            raise InputError(f"{where}: verdict {row['verdict']!r} is not one of {', '.join(VERDICTS)}")
        deserved = row.get("deserved", "")
        if deserved and deserved not in SEVERITIES:
            raise InputError(f"{where}: deserved severity {deserved!r} is not one of {', '.join(SEVERITIES)}")
        verdicts.append(Verdict(row["path"], _line(row["line"], where), row["code"].upper(), verdict,
                                row["reason"], deserved, row.get("source", "")))
    return verdicts


# --------------------------------------------------------------------------- snapshots


def snapshot_dir(snapshots: Path, repo: str) -> Path | None:
    """The bare git directory of `repo` under `snapshots`, in any of the usual layouts."""
    owner, name = repo.split("/")
    for candidate in (snapshots / f"{owner}+{name}" / "repo", snapshots / f"{owner}+{name}",
                      snapshots / owner / name, snapshots / owner / f"{name}.git", snapshots / name):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
        if (candidate / ".git").exists():
            return candidate / ".git"
    return None


def _git(git_dir: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, text=not binary)


def has_commit(git_dir: Path, commit: str) -> bool:
    return _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def check_snapshots(snapshots: Path, wanted: Iterable[tuple[str, str]]) -> dict[str, Path]:
    """Map each repository to its git directory, or raise naming every one missing."""
    found: dict[str, Path] = {}
    problems: list[str] = []
    for repo, commit in sorted(set(wanted)):
        git_dir = found.get(repo) or snapshot_dir(snapshots, repo)
        if git_dir is None:
            if not any(p.startswith(f"{repo}:") for p in problems):
                problems.append(f"{repo}: no snapshot under {snapshots} "
                                f"(expected {repo.replace('/', '+')}/repo)")
            continue
        found[repo] = git_dir
        if not has_commit(git_dir, commit):
            problems.append(f"{repo}: snapshot {git_dir} lacks commit {commit}")
    if problems:
        raise InputError("missing from the snapshot folder:\n  " + "\n  ".join(problems))
    return found


CODE_SUFFIXES = (".py", ".ipynb")
# Files above this size are data or generated code, not hand-written training code (snapshots
# also lack blobs of 4 MiB and more, which would make `git archive` of a whole tree fail).
MAX_FILE_BYTES = 1_000_000


def code_files(git_dir: Path, commit: str, paths: Sequence[str],
               max_bytes: int = MAX_FILE_BYTES) -> list[str]:
    """The Python files and notebooks under `paths` at `commit` whose content the snapshot has."""
    spec = [] if tuple(paths) == (".",) else ["--", *paths]
    listed = _git(git_dir, "ls-tree", "-r", "-l", "-z", commit, *spec)
    if listed.returncode != 0:
        raise InputError(f"{git_dir}: cannot list {' '.join(paths)} at {commit}: {listed.stderr.strip()}")
    candidates: list[tuple[str, str]] = []
    for entry in listed.stdout.split("\0"):
        if not entry:
            continue
        meta, _, path = entry.partition("\t")
        _mode, kind, sha, size = meta.split()
        # a blob the snapshot lacks is listed with no size (`-`, or `BAD` in some git versions)
        if kind == "blob" and path.endswith(CODE_SUFFIXES) and size.isdigit() and int(size) <= max_bytes:
            candidates.append((sha, path))
    present = subprocess.run(["git", f"--git-dir={git_dir}", "cat-file", "--batch-check"],
                             input="".join(f"{sha}\n" for sha, _ in candidates),
                             capture_output=True, text=True).stdout.splitlines()
    return [path for (_, path), status in zip(candidates, present) if not status.endswith(" missing")]


def export(git_dir: Path, commit: str, paths: Sequence[str], into: Path,
           max_bytes: int = MAX_FILE_BYTES) -> Path:
    """Export the code files under `paths` of `commit` with `git archive` into `into`
    (reused when the same commit and paths are already there)."""
    stamp = into / ".ecosystem-export"
    want = json.dumps({"commit": commit, "paths": list(paths), "layout": 2})
    if stamp.is_file() and stamp.read_text() == want:
        return into
    if into.exists():
        _remove_tree(into)
    into.mkdir(parents=True)
    files = code_files(git_dir, commit, paths, max_bytes)
    if not files:
        raise InputError(f"{git_dir}: no Python files or notebooks under {', '.join(paths)} at {commit}")
    for start in range(0, len(files), 500):  # bounded command lines
        result = _git(git_dir, "archive", "--format=tar", commit, "--", *files[start:start + 500],
                      binary=True)
        if result.returncode != 0:
            raise InputError(f"{git_dir}: git archive {commit} failed: "
                             f"{result.stderr.decode(errors='replace').strip()}")
        with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(into, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                archive.extractall(into)
    # A checkout as its user has it: nnlint finds the project root (for imports between
    # the project's modules) at `.git` or `pyproject.toml`, which the export would lack.
    (into / ".git").mkdir(exist_ok=True)
    stamp.write_text(want)
    return into


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path)


def count_lines(root: Path) -> int:
    """Lines of Python: `.py` files plus the code cells of notebooks."""
    total = 0
    for path in root.rglob("*"):
        if path.suffix == ".py" and path.is_file():
            with path.open("rb") as handle:
                total += sum(1 for _ in handle)
        elif path.suffix == ".ipynb" and path.is_file():
            try:
                cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            except (ValueError, UnicodeDecodeError):
                continue
            for cell in cells:
                if cell.get("cell_type") == "code":
                    source = cell.get("source", "")
                    text = "".join(source) if isinstance(source, list) else source
                    total += len(text.splitlines())
    return total


# --------------------------------------------------------------------------- running nnlint


def default_command() -> list[str]:
    return [sys.executable, "-m", "nnlint"]


def run_nnlint(command: Sequence[str], root: Path, paths: Sequence[str], prefix: str,
               env: dict[str, str] | None = None) -> tuple[list[Finding], list[str]]:
    """Run `command check --format json` in `root` over `paths`.

    Returns the findings (paths prefixed with `prefix`, source lines attached) and the
    problems nnlint reported (files it could not analyse, a crash).
    """
    argv = [*command, "check", "--format", "json", "--isolated", "--exit-zero", *paths]
    # Every run analyses from scratch, and no .nnlint_cache is left in the exported trees
    # (the variable, unlike --no-cache, is harmless to an nnlint without a cache).
    env = {**(env if env is not None else os.environ), "NNLINT_NO_CACHE": "1"}
    result = subprocess.run(argv, cwd=root, capture_output=True, text=True, env=env)
    problems = [f"{prefix}: {line}" for line in result.stderr.splitlines() if line.strip()]
    try:
        raw = json.loads(result.stdout or "[]")
    except ValueError:
        return [], problems + [f"{prefix}: nnlint printed no JSON (exit {result.returncode})"]
    if result.returncode not in (0, 1):
        problems.append(f"{prefix}: nnlint exited {result.returncode}")
    findings = []
    sources: dict[str, list[str]] = {}
    for item in raw:
        # A notebook finding's line is counted inside its cell (1-based over all cells):
        # its path is written `notebook.ipynb#CELL`.
        rel = item["path"] + (f"#{item['cell']}" if item.get("cell") is not None else "")
        if rel not in sources:
            sources[rel] = _source_lines(root / rel)
        lines = sources[rel]
        line = int(item["line"])
        text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if item["code"] == "NN000":  # a file nnlint could not analyse (syntax error...)
            problems.append(f"{prefix}/{rel}:{line}: {item.get('message', '')}")
            continue
        related = tuple(int(r["line"]) for r in item.get("related", ()) if "line" in r)
        findings.append(Finding(f"{prefix}/{rel}", line, item["code"], item.get("severity", ""),
                                item.get("message", ""), text, related))
    # one finding per (path, line, code): a rule that reports one line twice (two messages
    # for one mistake) is one thing for a reviewer to judge
    unique = {f.key: f for f in reversed(findings)}
    return [f for f in findings if unique[f.key] is f], problems


def _source_lines(path: Path) -> list[str]:
    """The lines a finding's line numbers count: a file's, or one notebook cell's
    (`notebook.ipynb#3` is its third cell)."""
    name, _, cell = path.name.partition("#")
    try:
        if cell:
            cells = json.loads(path.with_name(name).read_text(encoding="utf-8")).get("cells", [])
            source = cells[int(cell) - 1].get("source", "") if 0 < int(cell) <= len(cells) else ""
            return ("".join(source) if isinstance(source, list) else source).splitlines()
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except (OSError, ValueError):
        return []


@dataclass
class Run:
    """The findings of one nnlint build over the manifest."""

    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lines: int = 0
    repos: int = 0
    version: str = ""

    def to_json(self) -> dict:
        return {"version": self.version, "repos": self.repos, "lines": self.lines,
                "problems": self.problems, "findings": [f.to_json() for f in self.findings]}

    @classmethod
    def from_json(cls, data: dict) -> "Run":
        return cls([Finding.from_json(f) for f in data.get("findings", [])], data.get("problems", []),
                   data.get("lines", 0), data.get("repos", 0), data.get("version", ""))


def nnlint_version(command: Sequence[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, env=env)
    return result.stdout.strip() or result.stderr.strip()


def run_manifest(repos: Sequence[Repo], git_dirs: dict[str, Path], work: Path,
                 command: Sequence[str], env: dict[str, str] | None = None, jobs: int = 2) -> Run:
    """Export every repository and run nnlint over its paths."""

    def one(repo: Repo) -> tuple[list[Finding], list[str], int]:
        tree = export(git_dirs[repo.name], repo.commit, repo.paths, work / "trees" / repo.slug)
        findings, problems = run_nnlint(command, tree, repo.paths, repo.name, env)
        return findings, problems, count_lines(tree)

    run = Run(repos=len(repos), version=nnlint_version(command, env))
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for findings, problems, lines in pool.map(one, repos):
            run.findings += findings
            run.problems += problems
            run.lines += lines
    run.findings.sort(key=lambda f: (f.code, f.path, f.line))
    return run


# --------------------------------------------------------------------------- baselines


def baseline_command(spec: str, work: Path) -> tuple[list[str], dict[str, str] | None]:
    """The command of a baseline build: a git ref of this repository, installed once into
    `work/builds/<sha>` (no dependencies: they come from the running environment), or a
    shell command such as `nnlint` of another environment."""
    resolved = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet",
                               f"{spec}^{{commit}}"], capture_output=True, text=True)
    if resolved.returncode != 0:
        return shlex.split(spec), None
    sha = resolved.stdout.strip()
    target = work / "builds" / sha
    if not (target / ".ecosystem-build").is_file():
        with tempfile.TemporaryDirectory(prefix="nnlint-baseline-") as scratch:
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha],
                                     capture_output=True, check=True)
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(scratch, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
            if target.exists():
                _remove_tree(target)
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            "--no-build-isolation", "--target", str(target), scratch], check=True,
                           env=dict(os.environ, PIP_ROOT_USER_ACTION="ignore"))
        (target / ".ecosystem-build").write_text(sha)
    env = dict(os.environ, PYTHONPATH=str(target))
    return [sys.executable, "-m", "nnlint"], env


@dataclass
class Diff:
    added: list[Finding]
    removed: list[Finding]
    changed: list[tuple[Finding, Finding]] = field(default_factory=list)  # (old, new) severity


def diff_runs(old: Iterable[Finding], new: Iterable[Finding]) -> Diff:
    """Findings that appear or disappear, keyed by (path, line, code) like ruff-ecosystem,
    and those whose severity changed."""
    old_keys = {f.key: f for f in old}
    new_keys = {f.key: f for f in new}
    return Diff(added=[f for k, f in new_keys.items() if k not in old_keys],
                removed=[f for k, f in old_keys.items() if k not in new_keys],
                changed=[(old_keys[k], f) for k, f in new_keys.items()
                         if k in old_keys and old_keys[k].severity != f.severity])


def format_diff(diff: Diff, verdicts: "VerdictIndex") -> str:
    if not diff.added and not diff.removed and not diff.changed:
        return "No changes in findings.\n"
    out = io.StringIO()
    by_code: dict[str, list[tuple[str, Finding]]] = defaultdict(list)
    for sign, items in (("+", diff.added), ("-", diff.removed), ("~", [new for _, new in diff.changed])):
        for finding in items:
            by_code[finding.code].append((sign, finding))
    was = {new.key: old.severity for old, new in diff.changed}
    out.write(f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed severity\n")
    for code in sorted(by_code):
        items = sorted(by_code[code], key=lambda item: (item[1].path, item[1].line, item[0]))
        count = Counter(sign for sign, _ in items)
        out.write(f"\n{code}: +{count['+']} -{count['-']} ~{count['~']}\n")
        for sign, finding in items:
            known = verdicts.lookup(finding)
            note = f"  [{known.verdict}: {known.reason}]" if known else ""
            severity = f"{was[finding.key]} -> {finding.severity}" if sign == "~" else finding.severity
            out.write(f"{sign} {finding.path}:{finding.line} ({severity}){note}\n")
            out.write(f"      {finding.source}\n")
    return out.getvalue()


# --------------------------------------------------------------------------- verdicts


class VerdictIndex:
    """Verdicts by (path, line, code); a verdict whose line moved is still found by its
    source text when that text is unique for the path and code."""

    def __init__(self, verdicts: Iterable[Verdict]) -> None:
        self.verdicts = list(verdicts)
        self.by_key = {(v.path, v.line, v.code): v for v in self.verdicts}
        by_text: dict[tuple[str, str, str], list[Verdict]] = defaultdict(list)
        for verdict in self.verdicts:
            if verdict.source:
                by_text[(verdict.path, verdict.code, verdict.source)].append(verdict)
        self.by_text = {key: found[0] for key, found in by_text.items() if len(found) == 1}

    def lookup(self, finding: Finding) -> Verdict | None:
        exact = self.by_key.get(finding.key)
        if exact is not None:
            return exact
        if finding.source:
            return self.by_text.get((finding.path, finding.code, finding.source))
        return None


@dataclass
class RuleScore:
    findings: int = 0
    tp: int = 0
    fp: int = 0
    debatable: int = 0
    unreviewed: int = 0
    loud_fp: int = 0  # false positives at warning or error severity
    loud_debatable: int = 0  # debatable findings shown louder than information

    @property
    def reviewed(self) -> int:
        return self.tp + self.fp + self.debatable

    @property
    def precision(self) -> float | None:
        """Share of reviewed findings that are true (TP or debatable)."""
        return (self.tp + self.debatable) / self.reviewed if self.reviewed else None

    @property
    def strict_precision(self) -> float | None:
        """Share of reviewed findings that are worth acting on (TP only)."""
        return self.tp / self.reviewed if self.reviewed else None


@dataclass
class Review:
    scores: dict[str, RuleScore]
    unreviewed: list[Finding]
    stale: list[Verdict]  # verdicts whose finding is no longer reported
    judged: list[tuple[Finding, Verdict]]

    @property
    def total(self) -> RuleScore:
        total = RuleScore()
        for score in self.scores.values():
            for name in ("findings", "tp", "fp", "debatable", "unreviewed", "loud_fp", "loud_debatable"):
                setattr(total, name, getattr(total, name) + getattr(score, name))
        return total


def review(findings: Iterable[Finding], verdicts: VerdictIndex) -> Review:
    scores: dict[str, RuleScore] = defaultdict(RuleScore)
    unreviewed, judged, used = [], [], set()
    for finding in findings:
        score = scores[finding.code]
        score.findings += 1
        verdict = verdicts.lookup(finding)
        if verdict is None:
            score.unreviewed += 1
            unreviewed.append(finding)
            continue
        used.add(id(verdict))
        judged.append((finding, verdict))
        if verdict.verdict == "TP":
            score.tp += 1
        elif verdict.verdict == "FP":
            score.fp += 1
            score.loud_fp += finding.severity in LOUD
        else:
            score.debatable += 1
            score.loud_debatable += finding.severity in LOUD
    stale = [v for v in verdicts.verdicts if id(v) not in used]
    return Review(dict(sorted(scores.items())), unreviewed, stale, judged)


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_review(result: Review, show_context: bool = False, trees: Path | None = None) -> str:
    out = io.StringIO()
    out.write(f"{'code':7} {'found':>5} {'TP':>4} {'FP':>4} {'deb':>4} {'unrev':>5} "
              f"{'FP>=warn':>8} {'deb>=warn':>9} {'precision':>9} {'strict':>6}\n")
    rows = list(result.scores.items()) + [("total", result.total)]
    for code, score in rows:
        out.write(f"{code:7} {score.findings:5} {score.tp:4} {score.fp:4} {score.debatable:4} "
                  f"{score.unreviewed:5} {score.loud_fp:8} {score.loud_debatable:9} "
                  f"{_ratio(score.precision):>9} {_ratio(score.strict_precision):>6}\n")
    loud = [(f, v) for f, v in result.judged if v.verdict == "FP" and f.severity in LOUD]
    if loud:
        out.write(f"\nFalse positives at warning or error severity ({len(loud)}):\n")
        for finding, verdict in loud:
            out.write(f"  {finding.path}:{finding.line} {finding.code} ({finding.severity}) "
                      f"{verdict.reason}\n")
    if result.unreviewed:
        out.write(f"\nUnreviewed findings ({len(result.unreviewed)}):\n")
        for finding in result.unreviewed:
            out.write(f"  {finding.path}:{finding.line} {finding.code} ({finding.severity}) "
                      f"{finding.message}\n      {finding.source}\n")
            if show_context and trees is not None:
                out.write(context_of(finding, trees))
    if result.stale:
        out.write(f"\nVerdicts whose finding is no longer reported ({len(result.stale)}):\n")
        for verdict in result.stale:
            out.write(f"  {verdict.path}:{verdict.line} {verdict.code} was {verdict.verdict}: "
                      f"{verdict.reason}\n")
    return out.getvalue()


def context_of(finding: Finding, trees: Path, radius: int = 6) -> str:
    """The lines around a finding, for reading it in context."""
    owner, name, rel = finding.path.split("/", 2)
    lines = _source_lines(trees / f"{owner}+{name}" / rel)
    start, end = max(1, finding.line - radius), min(len(lines), finding.line + radius)
    return "".join(f"      {'>' if n == finding.line else ' '}{n:5} {lines[n - 1]}\n"
                   for n in range(start, end + 1))


# --------------------------------------------------------------------------- real bugs


@dataclass
class BugResult:
    bug: Bug
    found: bool
    elsewhere: list[Finding]  # same rule in the same file, at another line
    problems: list[str]


def run_bugs(bugs: Sequence[Bug], git_dirs: dict[str, Path], work: Path, command: Sequence[str],
             env: dict[str, str] | None = None, jobs: int = 2) -> list[BugResult]:
    """Export each bug's repository at the buggy commit and check the paths it names.

    A bug counts as found when nnlint reports its rule on its file at its line, or names its
    line among the finding's related lines (the finding explains the bug there)."""

    def one(bug: Bug) -> BugResult:
        paths = tuple(sorted({p.split("#")[0] for p in (*bug.check, bug.path)}))
        # one folder per bug: bugs of one commit may check different paths, in parallel; a
        # bug's own file is checked whatever its size (notebooks with images are large)
        tree = export(git_dirs[bug.repo], bug.commit, paths, work / "bugs" / bug.id, max_bytes=1 << 30)
        findings, problems = run_nnlint(command, tree, paths, bug.repo, env)
        return match_bug(bug, findings, problems)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, bugs))


def match_bug(bug: Bug, findings: Iterable[Finding], problems: list[str] | None = None) -> BugResult:
    path = f"{bug.repo}/{bug.path}"
    same = [f for f in findings if f.code == bug.code and f.path == path]
    found = any(f.line == bug.line or bug.line in f.related for f in same)
    return BugResult(bug, found, [] if found else same, problems or [])


@dataclass
class Recall:
    total: int = 0
    found: int = 0

    @property
    def rate(self) -> float | None:
        return self.found / self.total if self.total else None


def recall_by_rule(results: Iterable[BugResult]) -> dict[str, Recall]:
    recalls: dict[str, Recall] = defaultdict(Recall)
    for result in results:
        recalls[result.bug.code].total += 1
        recalls[result.bug.code].found += result.found
    return dict(sorted(recalls.items()))


def format_bugs(results: Sequence[BugResult]) -> str:
    out = io.StringIO()
    recalls = recall_by_rule(results)
    out.write(f"{'code':7} {'bugs':>4} {'found':>5} {'recall':>6}\n")
    total = Recall(sum(r.total for r in recalls.values()), sum(r.found for r in recalls.values()))
    for code, recall in [*recalls.items(), ("total", total)]:
        out.write(f"{code:7} {recall.total:4} {recall.found:5} {_ratio(recall.rate):>6}\n")
    misses = [r for r in results if not r.found]
    if misses:
        out.write(f"\nMissed ({len(misses)}), by shape:\n")
        for result in sorted(misses, key=lambda r: (r.bug.shape, r.bug.code, r.bug.id)):
            bug = result.bug
            out.write(f"  [{bug.shape or '?'}] {bug.code} {bug.id}: {bug.repo}/{bug.path}:{bug.line} "
                      f"@ {bug.commit[:12]}\n      {bug.description}\n")
            for other in result.elsewhere:
                out.write(f"      (reported {other.code} at line {other.line} instead)\n")
            for problem in result.problems:
                out.write(f"      ! {problem}\n")
    shapes = Counter(r.bug.shape for r in results)
    found_shapes = Counter(r.bug.shape for r in results if r.found)
    out.write("\nRecall by shape: " + ", ".join(
        f"{shape or '?'} {found_shapes[shape]}/{n}" for shape, n in sorted(shapes.items())) + "\n")
    return out.getvalue()


# --------------------------------------------------------------------------- docs/accuracy.md


def accuracy_page(run: Run, result: Review, bugs: Sequence[BugResult], manifest: Sequence[Repo],
                  date: str, commit: str = "") -> str:
    """The user-facing accuracy report: precision per rule on the reviewed repositories and
    recall per rule on the real-bug set."""
    from nnlint.registry import load_rules

    rules = load_rules()
    recalls = recall_by_rule(bugs)
    codes = sorted(set(rules) | set(result.scores) | set(recalls))
    out = io.StringIO()
    out.write("# How accurate is nnlint on real code?\n\n")
    out.write("<!-- Generated by `python scripts/ecosystem.py SNAPSHOTS --accuracy docs/accuracy.md`; "
              "do not edit by hand. -->\n\n")
    built = f" (commit {commit})" if commit else ""
    out.write(f"Measured on {date} with {run.version or 'nnlint'}{built}.\n\n")
    out.write(
        f"**Precision** comes from running nnlint over {len(manifest)} public repositories "
        f"({run.lines:,} lines of Python and notebook code, pinned in `ecosystem/manifest.tsv`) and "
        "reading every finding in its context. Each finding got a verdict from two reviewers "
        "working independently, with disagreements settled by reading the code again "
        "(`ecosystem/verdicts.tsv`): **TP** is a real mistake, **FP** is wrong, **debatable** is "
        "true but harmless there. *Precision* counts TP and debatable findings as right; "
        "*strict* counts TP only.\n\n")
    bug_total = len(bugs)
    out.write(
        f"**Recall** comes from {bug_total} mistakes that public projects shipped and later fixed "
        "(`ecosystem/bugs.tsv`), each pinned at the parent commit of its fix; a bug counts as "
        "found when nnlint reports its rule at its line.\n\n")
    out.write("| code | name | findings | TP | debatable | FP | FP at warning+ | debatable at warning+ "
              "| precision | strict | real bugs | found | recall |\n")
    out.write("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
    for code in codes:
        score = result.scores.get(code, RuleScore())
        recall = recalls.get(code, Recall())
        name = rules[code].name if code in rules else ""
        out.write(f"| {code} | {name} | {score.findings} | {score.tp} | {score.debatable} | "
                  f"{score.fp} | {score.loud_fp} | {score.loud_debatable} | {_ratio(score.precision)} | "
                  f"{_ratio(score.strict_precision)} | {recall.total} | {recall.found} | "
                  f"{_ratio(recall.rate)} |\n")
    total = result.total
    found = sum(r.found for r in recalls.values())
    rate = found / bug_total if bug_total else None
    out.write(f"| **all** | | {total.findings} | {total.tp} | {total.debatable} | {total.fp} | "
              f"{total.loud_fp} | {total.loud_debatable} | {_ratio(total.precision)} | "
              f"{_ratio(total.strict_precision)} | "
              f"{bug_total} | {found} | {_ratio(rate)} |\n\n")
    loud = [(f, v) for f, v in result.judged if f.severity in LOUD]
    if loud:
        false = sum(v.verdict == "FP" for _, v in loud)
        harmless = sum(v.verdict == "debatable" for _, v in loud)
        out.write(f"Of the {len(loud)} reviewed findings shown at warning or error severity, "
                  f"{false} ({false / len(loud):.0%}) were false and {harmless} "
                  f"({harmless / len(loud):.0%}) true but harmless.\n\n")
    if total.unreviewed:
        out.write(f"{total.unreviewed} finding(s) had no verdict yet and are not in the precision "
                  "figures.\n\n")
    out.write("A dash means no data: the rule reported nothing on these repositories, or the "
              "bug set holds no mistake of its kind.\n\n")
    misses = [r for r in bugs if not r.found]
    if misses:
        out.write("## Real bugs nnlint misses today\n\n")
        for shape, n in sorted(Counter(r.bug.shape or "other" for r in misses).items()):
            out.write(f"- {shape}: {n}\n")
        out.write("\n")
    out.write("## Reproduce\n\n```bash\n"
              "python scripts/ecosystem.py SNAPSHOTS            # findings vs. reviewed verdicts\n"
              "python scripts/ecosystem.py SNAPSHOTS --bugs     # recall on the real-bug set\n"
              "```\n\n`SNAPSHOTS` holds one bare git directory per repository "
              "(`owner+name/repo`); see `ecosystem/README.md`.\n")
    return out.getvalue()


# --------------------------------------------------------------------------- command line


def _this_commit() -> str:
    """This repository's commit, marked when the working tree differs from it."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        return ""
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return head.stdout.strip() + (" plus uncommitted changes" if dirty else "")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("snapshots", type=Path, nargs="?",
                        help="folder of repository snapshots (bare git dirs, owner+name/repo)")
    parser.add_argument("--work", type=Path, default=ROOT / ".ecosystem",
                        help="where commits are exported and baselines built (default: .ecosystem)")
    parser.add_argument("--ecosystem", type=Path, default=ECOSYSTEM,
                        help="folder with manifest.tsv, verdicts.tsv and bugs.tsv")
    parser.add_argument("--nnlint", default=None,
                        help="command of the nnlint under test (default: this Python's -m nnlint)")
    parser.add_argument("--baseline", help="a git ref of this repository, a command, or a JSON "
                        "file saved with --save: show every finding added or removed")
    parser.add_argument("--save", type=Path, help="save this run's findings as JSON")
    parser.add_argument("--from-json", type=Path, help="use findings saved with --save instead of running")
    parser.add_argument("--repo", action="append", default=[], help="only this repository (repeatable)")
    parser.add_argument("--bugs", action="store_true", help="score recall on the real-bug set")
    parser.add_argument("--accuracy", type=Path, help="write the accuracy page (runs both checks)")
    parser.add_argument("--date", default=dt.date.today().isoformat(), help="date for the accuracy page")
    parser.add_argument("--context", action="store_true", help="show unreviewed findings in context")
    parser.add_argument("--jobs", type=int, default=2, help="repositories checked at once")
    return parser.parse_args(argv)


def _manifest_run(args: argparse.Namespace, repos: list[Repo], command: list[str]) -> Run:
    if args.from_json:
        return Run.from_json(json.loads(args.from_json.read_text()))
    git_dirs = check_snapshots(_need_snapshots(args), ((r.name, r.commit) for r in repos))
    return run_manifest(repos, git_dirs, args.work, command, jobs=args.jobs)


def _need_snapshots(args: argparse.Namespace) -> Path:
    if args.snapshots is None:
        raise InputError("name the snapshot folder (first argument)")
    if not args.snapshots.is_dir():
        raise InputError(f"{args.snapshots}: snapshot folder not found")
    return args.snapshots


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.split(args.nnlint) if args.nnlint else default_command()
    try:
        verdicts = VerdictIndex(load_verdicts(args.ecosystem / "verdicts.tsv"))
        if args.bugs and not args.accuracy:
            bugs = load_bugs(args.ecosystem / "bugs.tsv")
            bugs = [b for b in bugs if not args.repo or b.repo in args.repo]
            git_dirs = check_snapshots(_need_snapshots(args), ((b.repo, b.commit) for b in bugs))
            print(format_bugs(run_bugs(bugs, git_dirs, args.work, command, jobs=args.jobs)), end="")
            return 0
        repos = load_manifest(args.ecosystem / "manifest.tsv")
        if args.repo:
            unknown = sorted(set(args.repo) - {r.name for r in repos})
            if unknown:
                raise InputError(f"not in the manifest: {', '.join(unknown)}")
            repos = [r for r in repos if r.name in args.repo]
        run = _manifest_run(args, repos, command)
        if args.save:
            args.save.write_text(json.dumps(run.to_json(), indent=1) + "\n")
        print(f"{run.version}: {len(run.findings)} findings on {run.repos} repositories, "
              f"{run.lines:,} lines")
        for problem in run.problems:
            print(f"! {problem}")
        if args.baseline:
            if Path(args.baseline).suffix == ".json" and Path(args.baseline).is_file():
                old = Run.from_json(json.loads(Path(args.baseline).read_text()))
            else:
                old_command, env = baseline_command(args.baseline, args.work)
                git_dirs = check_snapshots(_need_snapshots(args), ((r.name, r.commit) for r in repos))
                old = run_manifest(repos, git_dirs, args.work, old_command, env, jobs=args.jobs)
            print(f"baseline {args.baseline} ({old.version}): {len(old.findings)} findings\n")
            print(format_diff(diff_runs(old.findings, run.findings), verdicts), end="")
            return 0
        result = review(run.findings, verdicts)
        if args.repo:  # verdicts of the other repositories are not stale
            result.stale = [v for v in result.stale if v.path.split("/", 2)[:2] in
                            [r.name.split("/") for r in repos]]
        print(format_review(result, args.context, args.work / "trees"), end="")
        if args.accuracy:
            bugs = load_bugs(args.ecosystem / "bugs.tsv")
            git_dirs = check_snapshots(_need_snapshots(args), ((b.repo, b.commit) for b in bugs))
            results = run_bugs(bugs, git_dirs, args.work, command, jobs=args.jobs)
            print(format_bugs(results), end="")
            args.accuracy.write_text(accuracy_page(run, result, results, repos, args.date, _this_commit()))
            print(f"wrote {args.accuracy}")
        return 0
    except InputError as error:
        print(f"ecosystem: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
