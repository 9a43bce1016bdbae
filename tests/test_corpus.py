"""The shared labeled corpus: every expected finding, and nothing else, per rule code."""

from __future__ import annotations

import re
from pathlib import Path


from nnlint.config import Settings
from nnlint.engine import check_path
from nnlint.registry import load_rules

EXPECT = re.compile(r"#\s*expect:\s*([A-Z0-9, ]+)")


def expectations(path: Path) -> set[tuple[int, str]]:
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            found |= {(number, code.strip()) for code in match.group(1).split(",") if code.strip()}
    return found


def case_files(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.suffix == ".py")


def test_corpus_precision_and_recall(corpus: Path) -> None:
    implemented = set(load_rules())
    false_positives, misses, hits = [], [], 0
    for path in case_files(corpus):
        expected = {(line, code) for line, code in expectations(path) if code in implemented}
        reported = {(f.span.line, f.code) for f in check_path(path, Settings()).findings if f.code in implemented}
        hits += len(expected & reported)
        false_positives += [f"{path.name}:{line} {code}" for line, code in sorted(reported - expected)]
        misses += [f"{path.name}:{line} {code}" for line, code in sorted(expected - reported)]
    assert not false_positives, "false positives on the corpus: " + ", ".join(false_positives)
    total = hits + len(misses)
    if total:
        assert hits / total >= 0.95, "missed: " + ", ".join(misses)
