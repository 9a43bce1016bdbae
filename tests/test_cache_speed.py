"""How the result cache stays cheap (issue 15: a re-run of an unchanged tree in <= 0.3 s):
a re-run that the cache answers imports no analysis, reads one index per folder rather
than one entry per file, and hashes files as bytes; none of this may serve a stale result."""

from __future__ import annotations

import codecs
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnlint.cache import ResultCache, source_hash, text_hash
from nnlint.source import decode_source

from test_cli import FLAGGED

ANALYSIS_MODULES = ("nnlint.engine", "nnlint.semantic", "nnlint.values", "nnlint.training", "nnlint.registry",
                    "concurrent.futures")
PROBE = """\
import json, sys
from nnlint.cli import main
code = main(sys.argv[1:])
print(json.dumps([code, sorted(m for m in sys.modules if m in {modules!r})]), file=sys.stderr)
"""


def run(tmp_path: Path, *args: str) -> tuple[int, list[str], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NNLINT_NO_CACHE", "NNLINT_CACHE_DIR")}
    probe = PROBE.format(modules=set(ANALYSIS_MODULES))
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=300)
    code, loaded = json.loads(done.stderr.strip().splitlines()[-1])
    return code, loaded, done.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    for package in ("a", "b", "c"):
        (root / package).mkdir(parents=True)
        for number in range(4):
            (root / package / f"m{number}.py").write_text(FLAGGED if number % 2 else "x = 1\n")
    past = time.time() - 60  # not "saved during the run" (see test_cache.settled)
    for path in root.rglob("*.py"):
        os.utime(path, (past, past))
    return root


def test_a_cached_rerun_imports_no_analysis_and_reads_one_index_per_folder(tmp_path: Path, tree: Path) -> None:
    args = ("check", "--format", "json", "--cache-dir", str(tmp_path / "cache"), str(tree))
    first = run(tmp_path, *args)
    assert first[0] == 1 and "nnlint.engine" in first[1]
    indexes = sorted(p.name for p in (tmp_path / "cache").glob("*.json"))
    assert len(indexes) == 3, indexes  # one per folder of checked files
    second = run(tmp_path, *args)
    assert second[0] == 1 and second[2] == first[2]
    assert second[1] == [], f"a fully cached re-run imported {second[1]}"
    assert sorted(p.name for p in (tmp_path / "cache").glob("*.json")) == indexes
    # one edited file: only its folder's index is rewritten, and the result is new
    edited = tree / "b" / "m0.py"
    edited.write_text(FLAGGED)
    third = run(tmp_path, *args)
    assert third[0] == 1 and "nnlint.engine" in third[1]
    assert json.loads(third[2]) == json.loads(run(tmp_path, "check", "--format", "json", "--no-cache", str(tree))[2])
    assert str(edited) in third[2] and str(edited) not in first[2]


def test_an_entry_of_a_file_that_is_gone_is_dropped_when_its_index_is_written(tmp_path: Path, tree: Path) -> None:
    cache = tmp_path / "cache"
    run(tmp_path, "check", "--cache-dir", str(cache), str(tree))
    (tree / "a" / "m1.py").unlink()
    (tree / "a" / "m0.py").write_text("y = 2\n")
    run(tmp_path, "check", "--cache-dir", str(cache), str(tree))
    paths = set()
    for index in cache.glob("*.json"):
        paths.update(entry["path"] for entry in json.loads(index.read_text())["entries"].values())
    assert str((tree / "a" / "m1.py").resolve()) not in paths
    assert str((tree / "a" / "m0.py").resolve()) in paths


def test_runs_with_other_settings_keep_their_own_entries(tmp_path: Path, tree: Path) -> None:
    cache = str(tmp_path / "cache")
    plain = run(tmp_path, "check", "--format", "json", "--cache-dir", cache, str(tree))
    selected = run(tmp_path, "check", "--format", "json", "--select", "NN1", "--cache-dir", cache, str(tree))
    assert "nnlint.engine" in selected[1]
    again = [run(tmp_path, "check", "--format", "json", "--cache-dir", cache, str(tree)),
             run(tmp_path, "check", "--format", "json", "--select", "NN1", "--cache-dir", cache, str(tree))]
    assert [(r[0], r[2]) for r in again] == [(plain[0], plain[2]), (selected[0], selected[2])]
    # (a --select run imports the rules to check the codes it names; analysing would import the engine)
    assert again[0][1] == [] and "nnlint.engine" not in again[1][1], "a run with other settings evicted the other's entries"


@pytest.mark.parametrize(
    "data",
    [
        b"x = 1\n",
        "s = 'caf\u00e9'\n".encode(),
        codecs.BOM_UTF8 + "s = 'caf\u00e9'\n".encode(),
        "# -*- coding: latin-1 -*-\ns = 'caf\u00e9'\n".encode("latin-1"),
        b"#!/usr/bin/env python\n# vim: set fileencoding=utf-8 :\nx = 1\n",
        b"x = 1\r\ny = 2\r\n",
        b"",
    ],
    ids=["ascii", "utf-8", "bom", "latin-1 cookie", "cookie on line 2", "crlf", "empty"],
)
def test_hashing_the_bytes_is_hashing_the_text_they_decode_to(data: bytes) -> None:
    assert source_hash(data) == text_hash(decode_source(data))


def test_bytes_that_decode_to_another_text_never_match() -> None:
    """A latin-1 file whose bytes happen to be the UTF-8 of an analysed text is another text."""
    analysed = "# -*- coding: latin-1 -*-\ns = 'caf\u00e9'\n"
    same_bytes_other_text = analysed.encode("utf-8")  # read back as latin-1: 'cafÃ©'
    assert source_hash(same_bytes_other_text) != text_hash(analysed)
    assert source_hash(b"\xff\xfe bad utf-8 with a coding cookie # coding: utf-8\n") is None


def test_an_index_of_another_nnlint_or_format_is_a_miss(tmp_path: Path) -> None:
    from nnlint.cache import Dependencies
    from nnlint.config import Settings

    module = tmp_path / "m.py"
    module.write_text("x = 1\n")
    cache = ResultCache(tmp_path / "cache")
    cache.store(module, "x = 1\n", Settings(), tmp_path, [], Dependencies(modules={str(module): text_hash("x = 1\n")}))
    assert ResultCache(tmp_path / "cache").load(module, b"x = 1\n", Settings(), tmp_path, "m.py") == []
    [index] = (tmp_path / "cache").glob("*.json")
    data = json.loads(index.read_text())
    data["engine"] = "another"
    index.write_text(json.dumps(data))
    assert ResultCache(tmp_path / "cache").load(module, b"x = 1\n", Settings(), tmp_path, "m.py") is None
