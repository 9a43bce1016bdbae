"""scripts/ecosystem.py on small repositories made here: snapshots, export, matching against
verdicts, diffs between runs, real-bug recall and the accuracy page."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("ecosystem", ROOT / "scripts" / "ecosystem.py")
eco = importlib.util.module_from_spec(spec)
sys.modules["ecosystem"] = eco
spec.loader.exec_module(eco)

TRAIN = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()


def train(loader):
    for x, y in loader:
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
"""

FIXED = TRAIN.replace("    for x, y in loader:\n", "    for x, y in loader:\n        opt.zero_grad()\n")

CLEAN = """\
def add(a, b):
    return a + b
"""

NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# A notebook"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import torch\n", "import torch.nn.functional as F\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["class Net(torch.nn.Module):\n", "    def forward(self, x):\n",
                    "        return F.dropout(x, 0.5)\n"]},
    ],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(tmp: Path, files: dict[str, str]) -> Path:
    work = tmp / "src"
    work.mkdir()
    git(work, "init", "-q")
    git(work, "config", "user.email", "t@example.com")
    git(work, "config", "user.name", "t")
    for name, text in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "-qm", "first")
    return work


def snapshot(work: Path, snapshots: Path, name: str, loose: bool = False) -> Path:
    """Lay out a bare clone as the fetch tool does: SNAPSHOTS/owner+name/repo (with loose
    objects, linked from the source's, when a test removes one)."""
    target = snapshots / name.replace("/", "+") / "repo"
    target.parent.mkdir(parents=True)
    local = [] if loose else ["--no-local"]
    subprocess.run(["git", "clone", "-q", "--bare", *local, str(work), str(target)], check=True)
    return target


def write_tsv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    lines = ["\t".join(header)] + ["\t".join(str(c) for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def world(tmp_path: Path) -> dict:
    """One repository with a buggy loop, a fixed twin commit, a notebook and a clean module."""
    work = make_repo(tmp_path, {"train.py": TRAIN, "pkg/util.py": CLEAN,
                                "nb/demo.ipynb": json.dumps(NOTEBOOK), "data/big.csv": "x\n"})
    buggy = git(work, "rev-parse", "HEAD")
    (work / "train.py").write_text(FIXED)
    git(work, "commit", "-qam", "zero the gradients")
    fixed = git(work, "rev-parse", "HEAD")
    snapshots = tmp_path / "snapshots"
    snapshot(work, snapshots, "acme/trainer")
    eco_dir = tmp_path / "ecosystem"
    eco_dir.mkdir()
    write_tsv(eco_dir / "manifest.tsv", ["repo", "commit", "paths", "kind", "note"],
              [["acme/trainer", buggy, "train.py,pkg,nb", "tutorial", "toy"]])
    return {"tmp": tmp_path, "work": work, "buggy": buggy, "fixed": fixed,
            "snapshots": snapshots, "eco": eco_dir}


def run_main(world: dict, *extra: str, capsys) -> tuple[int, str, str]:
    code = eco.main([str(world["snapshots"]), "--ecosystem", str(world["eco"]),
                     "--work", str(world["tmp"] / "out"), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_unreviewed_findings_are_listed_with_their_source_line(world, capsys) -> None:
    code, out, _ = run_main(world, capsys=capsys)
    assert code == 0
    assert "acme/trainer/train.py:12 NN101" in out
    assert "loss.backward()" in out
    # the notebook finding is located by cell, with the cell's own source line
    assert "acme/trainer/nb/demo.ipynb#3:3 NN203" in out
    assert "return F.dropout(x, 0.5)" in out
    assert "Unreviewed findings (2)" in out
    # the untouched data file is not exported, the code files are
    tree = world["tmp"] / "out" / "trees" / "acme+trainer"
    assert (tree / "train.py").is_file() and not (tree / "data").exists()


def test_verdicts_score_each_rule_and_follow_a_moved_line(world, capsys) -> None:
    write_tsv(world["eco"] / "verdicts.tsv",
              ["path", "line", "code", "verdict", "reason", "deserved", "source"],
              [["acme/trainer/train.py", 99, "NN101", "TP", "no zero_grad in the loop", "",
                "loss.backward()"],
               ["acme/trainer/nb/demo.ipynb#3", 3, "NN203", "FP", "made-up verdict", "", ""],
               ["acme/trainer/gone.py", 1, "NN503", "TP", "was reported once", "", ""]])
    code, out, _ = run_main(world, capsys=capsys)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("NN")}
    # code found TP FP deb unrev FP>=warn deb>=warn precision strict
    assert rows["NN101"][1:6] == ["1", "1", "0", "0", "0"]
    assert rows["NN203"][1:7] == ["1", "0", "1", "0", "0", "1"]
    assert "False positives at warning or error severity (1)" in out
    assert "Unreviewed findings" not in out
    assert "gone.py:1 NN503 was TP" in out


def test_missing_snapshots_and_commits_are_all_named(world, capsys) -> None:
    write_tsv(world["eco"] / "manifest.tsv", ["repo", "commit", "paths"],
              [["acme/trainer", "f" * 40, "."], ["acme/absent", world["buggy"], "."],
               ["other/gone", world["buggy"], "."]])
    code, _, err = run_main(world, capsys=capsys)
    assert code == 2
    assert f"acme/trainer: snapshot" in err and "lacks commit " + "f" * 40 in err
    assert "acme/absent: no snapshot" in err and "other/gone: no snapshot" in err


@pytest.mark.parametrize("row, message", [
    (["acme", "a" * 40, "."], "must be owner/name"),
    (["acme/trainer", "abc", "."], "not a 40-digit hex hash"),
])
def test_malformed_manifest_rows_are_errors_with_their_line(world, capsys, row, message) -> None:
    write_tsv(world["eco"] / "manifest.tsv", ["repo", "commit", "paths"], [row])
    code, _, err = run_main(world, capsys=capsys)
    assert code == 2 and message in err and "manifest.tsv:2" in err


def test_bad_verdict_is_an_error(world, capsys) -> None:
    write_tsv(world["eco"] / "verdicts.tsv", ["path", "line", "code", "verdict", "reason"],
              [["acme/trainer/train.py", 12, "NN101", "maybe", "unsure"]])
    code, _, err = run_main(world, capsys=capsys)
    assert code == 2 and "verdicts.tsv:2" in err and "'maybe'" in err


def test_baseline_from_a_saved_run_shows_added_and_removed_by_rule(world, capsys) -> None:
    saved = world["tmp"] / "old.json"
    old = eco.Run(findings=[
        eco.Finding("acme/trainer/train.py", 3, "NN503", "warning", "old finding", "x = y.view(2, 3)"),
    ], version="nnlint old")
    saved.write_text(json.dumps(old.to_json()))
    code, out, _ = run_main(world, "--baseline", str(saved), capsys=capsys)
    assert code == 0
    assert "2 added, 1 removed, 0 changed severity" in out
    assert "NN101: +1 -0 ~0" in out and "NN503: +0 -1 ~0" in out
    assert "+ acme/trainer/train.py:12 (warning)" in out
    assert "- acme/trainer/train.py:3 (warning)" in out and "x = y.view(2, 3)" in out


def test_diff_shows_a_change_of_severity() -> None:
    old = eco.Finding("a/b/c.py", 1, "NN601", "warning", "m", "y = m.forward(x)")
    new = eco.Finding("a/b/c.py", 1, "NN601", "information", "m", "y = m.forward(x)")
    diff = eco.diff_runs([old], [new])
    assert diff.added == [] and diff.removed == [] and diff.changed == [(old, new)]
    text = eco.format_diff(diff, eco.VerdictIndex([eco.Verdict("a/b/c.py", 1, "NN601", "debatable", "no hooks")]))
    assert "NN601: +0 -0 ~1" in text
    assert "~ a/b/c.py:1 (warning -> information)  [debatable: no hooks]" in text


def test_diff_of_identical_runs_is_empty() -> None:
    finding = eco.Finding("a/b/c.py", 1, "NN101", "warning", "m")
    diff = eco.diff_runs([finding], [finding])
    assert diff.added == [] and diff.removed == []
    assert eco.format_diff(diff, eco.VerdictIndex([])) == "No changes in findings.\n"


def test_saved_run_round_trips_and_can_be_rescored(world, capsys) -> None:
    saved = world["tmp"] / "run.json"
    run_main(world, "--save", str(saved), capsys=capsys)
    data = json.loads(saved.read_text())
    assert {f["code"] for f in data["findings"]} == {"NN101", "NN203"}
    assert data["lines"] > 10
    code, out, _ = run_main(world, "--from-json", str(saved), capsys=capsys)
    assert code == 0 and "Unreviewed findings (2)" in out


def test_bug_recall_counts_found_and_lists_misses(world, capsys) -> None:
    header = ["id", "repo", "commit", "path", "line", "code", "shape", "fix_commit", "check",
              "description"]
    write_tsv(world["eco"] / "bugs.tsv", header, [
        ["found", "acme/trainer", world["buggy"], "train.py", 12, "NN101", "inline-loop",
         world["fixed"], "train.py", "gradients never zeroed"],
        ["wrong-line", "acme/trainer", world["buggy"], "train.py", 11, "NN101", "helper-function",
         world["fixed"], "train.py", "a made-up bug on the wrong line"],
        ["no-finding", "acme/trainer", world["buggy"], "pkg/util.py", 2, "NN301", "multi-file",
         world["fixed"], "pkg", "a made-up bug nnlint cannot see"],
    ])
    code, out, _ = run_main(world, "--bugs", capsys=capsys)
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("NN", "total"))}
    assert rows["NN101"][1:] == ["2", "1", "0.50"]
    assert rows["NN301"][1:] == ["1", "0", "0.00"]
    assert rows["total"][1:] == ["3", "1", "0.33"]
    assert "Missed (2)" in out and "wrong-line" in out and "no-finding" in out
    assert "(reported NN101 at line 12 instead)" in out
    assert "helper-function 0/1" in out and "inline-loop 1/1" in out


def test_a_bug_named_among_related_lines_counts_as_found() -> None:
    bug = eco.Bug("b", "a/b", "0" * 40, "t.py", 7, "NN202", "", "", ("t.py",), "")
    finding = eco.Finding("a/b/t.py", 20, "NN202", "warning", "m", related=(7, 9))
    assert eco.match_bug(bug, [finding]).found
    assert not eco.match_bug(bug, [eco.Finding("a/b/t.py", 20, "NN202", "warning", "m")]).found


def test_missing_blobs_and_huge_files_are_skipped_on_export(tmp_path: Path) -> None:
    work = make_repo(tmp_path, {"train.py": TRAIN, "huge.py": "x = 1\n" * 200_000,
                                "lost.py": "lost = True\n"})
    target = snapshot(work, tmp_path / "snap", "acme/lossy", loose=True)
    lost = git(work, "rev-parse", "HEAD:lost.py")
    (target / "objects" / lost[:2] / lost[2:]).unlink()  # as a snapshot without large blobs
    exported = eco.export(target, git(work, "rev-parse", "HEAD"), (".",), tmp_path / "tree")
    assert sorted(p.name for p in exported.iterdir() if not p.name.startswith(".")) == ["train.py"]


def test_accuracy_page_gives_precision_recall_date_and_version() -> None:
    findings = [eco.Finding("a/b/t.py", 1, "NN101", "warning", "m"),
                eco.Finding("a/b/t.py", 5, "NN503", "warning", "m"),
                eco.Finding("a/b/t.py", 9, "NN503", "hint", "m")]
    verdicts = eco.VerdictIndex([eco.Verdict("a/b/t.py", 1, "NN101", "TP", "r"),
                                 eco.Verdict("a/b/t.py", 5, "NN503", "FP", "r"),
                                 eco.Verdict("a/b/t.py", 9, "NN503", "debatable", "r", "hint")])
    result = eco.review(findings, verdicts)
    bug = eco.Bug("b", "a/b", "0" * 40, "t.py", 1, "NN101", "helper-function", "", ("t.py",), "")
    run = eco.Run(findings=findings, lines=1234, repos=1, version="nnlint 9.9")
    page = eco.accuracy_page(run, result, [eco.BugResult(bug, False, [], [])],
                             [eco.Repo("a/b", "0" * 40, (".",))], "2026-11-30")
    assert "Measured on 2026-11-30 with nnlint 9.9." in page
    assert "1,234 lines" in page
    assert "| NN101 | missing-zero-grad | 1 | 1 | 0 | 0 | 0 | 0 | 1.00 | 1.00 | 1 | 0 | 0.00 |" in page
    assert "| NN503 | view-as-permute | 2 | 0 | 1 | 1 | 1 | 0 | 0.50 | 0.00 | 0 | 0 | - |" in page
    assert "- helper-function: 1" in page


def test_baseline_of_a_git_ref_builds_that_commit_and_runs_both(world, capsys) -> None:
    """`--baseline HEAD` installs this repository's HEAD into the work folder and compares."""
    code, out, _ = run_main(world, "--baseline", "HEAD", capsys=capsys)
    assert code == 0, out
    builds = list((world["tmp"] / "out" / "builds").iterdir())
    assert len(builds) == 1 and (builds[0] / "nnlint" / "cli.py").is_file()
    assert "baseline HEAD (nnlint " in out
    # the committed build and the working tree agree on this toy repository
    assert "No changes in findings." in out


def test_committed_inputs_parse_and_meet_the_issue_floor() -> None:
    """The committed manifest, verdicts and bug set are well-formed and large enough."""
    repos = eco.load_manifest(ROOT / "ecosystem" / "manifest.tsv")
    bugs = eco.load_bugs(ROOT / "ecosystem" / "bugs.tsv")
    verdicts = eco.load_verdicts(ROOT / "ecosystem" / "verdicts.tsv")
    assert len(repos) >= 30
    assert len(bugs) >= 40
    assert {b.code for b in bugs} <= set(__import__("nnlint.registry").registry.load_rules())
    keys = [(v.path, v.line, v.code) for v in verdicts]
    assert len(keys) == len(set(keys)), "a finding has two verdicts"
    for verdict in verdicts:
        assert verdict.path.split("/", 2)[0] + "/" + verdict.path.split("/", 2)[1] in {r.name for r in repos}


def test_accuracy_page_agrees_with_the_committed_verdicts_and_bugs() -> None:
    """docs/accuracy.md agrees with the committed inputs: its real-bug counts are bugs.tsv's,
    and every TP / debatable / FP it counts has a verdict in verdicts.tsv (which also keeps
    the verdicts of findings a later build no longer reports)."""
    from collections import Counter

    verdicts = eco.load_verdicts(ROOT / "ecosystem" / "verdicts.tsv")
    bugs = eco.load_bugs(ROOT / "ecosystem" / "bugs.tsv")
    page = (ROOT / "docs" / "accuracy.md").read_text(encoding="utf-8")
    table = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0].startswith("NN"):
            table[cells[0]] = cells
    assert table, "docs/accuracy.md has no per-rule table"
    counts = Counter((v.code, v.verdict) for v in verdicts)
    per_code = Counter(b.code for b in bugs)
    for code, cells in table.items():
        findings, tp, debatable, fp, real_bugs = (int(cells[i]) for i in (2, 3, 4, 5, 10))
        assert tp <= counts[code, "TP"] and debatable <= counts[code, "debatable"] and fp <= counts[code, "FP"], code
        assert tp + debatable + fp <= findings, code
        assert real_bugs == per_code[code], code
    assert f"from {len(bugs)} mistakes" in page
