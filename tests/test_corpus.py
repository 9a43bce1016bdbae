"""The shared labeled corpus: every expected finding, and nothing else, per rule code."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import expectations

from nnlint.config import Settings
from nnlint.engine import check_path
from nnlint.registry import load_rules


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


def test_real_code_look_alikes_stay_silent(corpus: Path) -> None:
    """`real-shapes/fp_*`: correct code from real projects that looks like a mistake.
    Nothing may be reported there at information severity or above."""
    real_shapes = corpus.parent / "real-shapes"
    if not real_shapes.is_dir():
        pytest.skip(f"shared corpus real-shapes not found at {real_shapes}")
    cases = sorted(p for p in real_shapes.iterdir() if p.name.startswith("fp_") and p.suffix == ".py")
    assert len(cases) >= 7
    loud = [f"{path.name}:{f.span.line} {f.code}" for path in cases
            for f in check_path(path, Settings()).findings if f.severity.value != "hint"]
    assert not loud, "real look-alikes reported: " + ", ".join(loud)


def test_real_code_shapes_precision_and_recall(corpus: Path) -> None:
    """`real-shapes/`: real-code shapes (`rs_*`, a folder is one multi-file case) must be
    found on their `# expect:` lines, and their fixed twins (`*_ok`) and the real
    look-alikes (`fp_*`) must stay clean."""
    real_shapes = corpus.parent / "real-shapes"
    if not real_shapes.is_dir():
        pytest.skip(f"shared corpus real-shapes not found at {real_shapes}")
    implemented = set(load_rules())
    files = sorted(p for p in real_shapes.rglob("*.py"))
    assert len(files) >= 27
    false_positives, misses, hits = [], [], 0
    for path in files:
        expected = {(line, code) for line, code in expectations(path) if code in implemented}
        reported = {(f.span.line, f.code) for f in check_path(path, Settings()).findings if f.code in implemented}
        name = str(path.relative_to(real_shapes))
        hits += len(expected & reported)
        false_positives += [f"{name}:{line} {code}" for line, code in sorted(reported - expected)]
        misses += [f"{name}:{line} {code}" for line, code in sorted(expected - reported)]
    assert not false_positives, "false positives on real-shapes: " + ", ".join(false_positives)
    assert hits and hits / (hits + len(misses)) >= 0.95, "missed: " + ", ".join(misses)
