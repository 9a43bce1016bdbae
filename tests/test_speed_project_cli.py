"""The folder run's shortcuts give the answers of the slow ways they replace (issue 13)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from nnlint.cli import _chunks
from nnlint.config import Settings
from nnlint.engine import active_rules
from nnlint.project import _WORD, ProjectIndex, _identifiers
from nnlint.registry import load_rules
from nnlint.source import LINE_BREAK, SourceFile


@pytest.mark.parametrize(
    "text",
    ["", "x", "1e5 0x1F 123 1_000 a1 _b", "café = déjà_vu + x1\n", "a\0b", "import os\r\nos.path\r", "éfoo\tbar"],
)
def test_identifiers_are_the_regular_expressions_words(text: str) -> None:
    assert _identifiers(text) == frozenset(_WORD.findall(text))


def test_identifiers_agree_on_random_text() -> None:
    alphabet = "ab_Z09 \n\t.,()[]{}:'\"#@+-*/\\=1eé"
    rng = random.Random(13)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        assert _identifiers(text) == frozenset(_WORD.findall(text)), repr(text)


def test_line_offsets_are_where_each_line_starts() -> None:
    rng = random.Random(5)
    for _ in range(2000):
        text = "".join(rng.choice("ab\n\r é") for _ in range(rng.randint(0, 30)))
        expected = [0] + [match.end() for match in LINE_BREAK.finditer(text)]
        assert SourceFile(text).line_offsets() == expected, repr(text)


@pytest.mark.parametrize("count", [1, 2, 5, 31, 330, 1000])
def test_chunks_keep_every_job_in_order_and_shrink_at_the_end(count: int) -> None:
    jobs = [(Path(f"f{i}.py"),) for i in range(count)]
    parts = _chunks(jobs, 2)
    assert [job for part in parts for job in part] == jobs
    sizes = [len(part) for part in parts]
    assert all(1 <= size <= 16 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)


def test_real_path_is_asked_again_after_invalidate(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    link = tmp_path / "m.py"
    link.symlink_to(tmp_path / "a.py")
    index = ProjectIndex(tmp_path, use_jedi=False)
    assert index.real_path(link) == (tmp_path / "a.py").resolve()
    link.unlink()
    link.symlink_to(tmp_path / "b.py")
    index.invalidate(link)
    assert index.real_path(link) == (tmp_path / "b.py").resolve()


def test_files_naming_every_word(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def evaluate(model):\n    model.eval()\n")
    (tmp_path / "train.py").write_text("import helpers\nhelpers.evaluate(net)\n")
    (tmp_path / "other.py").write_text("import os\nevaluate = 1\n")
    index = ProjectIndex(tmp_path, use_jedi=False)
    index.prepare_reverse_lookup()
    assert index._files_naming("evaluate", "helpers", "import") == {(tmp_path / "train.py").resolve()}
    assert index._files_naming("evaluate", "import") == {(tmp_path / p).resolve() for p in ("train.py", "other.py")}
    assert index._files_naming("nowhere", "import") == set()


def test_active_rules_follow_the_selection() -> None:
    catalog = load_rules()
    everything = {rule.code for rule in active_rules(Settings(select=("ALL",)))}
    only_nn1 = {rule.code for rule in active_rules(Settings(select=("NN1",)))}
    assert only_nn1 == {code for code in catalog if code.startswith("NN1") and catalog[code].enabled_by_default}
    assert only_nn1 < everything
    ignored = {rule.code for rule in active_rules(Settings(select=("ALL",), ignore=("NN101",)))}
    assert ignored == everything - {"NN101"}
    first, second = active_rules(Settings()), active_rules(Settings())
    assert [type(rule) for rule in first] == [type(rule) for rule in second]
    assert all(a is not b for a, b in zip(first, second))  # each check gets its own rule objects
