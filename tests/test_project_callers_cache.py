"""The project index keeps its answers about a module's callers across editor keystrokes
that leave the files' identifiers as they were, and drops exactly those that read the
edited buffer: the answers must equal those of a fresh index after every edit."""

from __future__ import annotations

from pathlib import Path

from nnlint.project import ProjectIndex

HELPERS = "import torch\n\n\ndef evaluate(model, loader):\n    return 1\n"
CALLER = "import helpers\n\nmodel = None\nhelpers.evaluate(model, [1])\n"
OTHER = "import helpers\n\nprint(helpers)\n"


def _project(root: Path) -> None:
    (root / "helpers.py").write_text(HELPERS)
    (root / "train.py").write_text(CALLER)
    (root / "other.py").write_text(OTHER)


def _lines(index: ProjectIndex, root: Path) -> list[tuple[str, int]]:
    return [(Path(str(semantic.path)).name, site.node.lineno)
            for site, semantic in index.foreign_callers(root / "helpers.py", "evaluate")]


def _fresh_answer(root: Path, overlays: dict[str, str]) -> list[tuple[str, int]]:
    fresh = ProjectIndex(root, use_jedi=False, background=True)
    for name, text in overlays.items():
        fresh.set_overlay(root / name, 1, text)
    return _lines(fresh, root)


def test_edits_keeping_identifiers_update_the_callers(tmp_path: Path) -> None:
    _project(tmp_path)
    index = ProjectIndex(tmp_path, use_jedi=False, background=True)
    assert _lines(index, tmp_path) == [("train.py", 4)]
    edits = [
        ("train.py", CALLER.replace("[1]", "[2]")),  # a literal: same identifiers
        ("train.py", "import helpers\n\n\nmodel = None\nhelpers.evaluate(model, [3])\n"),  # the call moves
        ("train.py", "import helpers\n\nmodel = None\n# helpers.evaluate(model, [3])\n"),  # commented out
        ("train.py", CALLER),
        ("helpers.py", HELPERS.replace("return 1", "return 2")),  # the defining module
        ("helpers.py", HELPERS.replace("def evaluate(model, loader):\n    return 1",
                                       "evaluate = 2\nmodel = loader = None\n")),  # no longer a function
        ("helpers.py", HELPERS),
        ("other.py", OTHER.replace("print(helpers)", "print(helpers, helpers)")),  # unrelated
    ]
    overlays: dict[str, str] = {}
    for version, (name, text) in enumerate(edits, start=2):
        overlays[name] = text
        index.set_overlay(tmp_path / name, version, text)
        assert _lines(index, tmp_path) == _fresh_answer(tmp_path, overlays), (name, text)
    assert _lines(index, tmp_path) == [("train.py", 4)]


def test_an_unrelated_edit_keeps_the_answer(tmp_path: Path) -> None:
    _project(tmp_path)
    index = ProjectIndex(tmp_path, use_jedi=False, background=True)
    first = index.foreign_callers(tmp_path / "helpers.py", "evaluate")
    index.set_overlay(tmp_path / "other.py", 2, OTHER.replace("print(helpers)", "print(helpers, helpers)"))
    assert index.foreign_callers(tmp_path / "helpers.py", "evaluate") is first
    index.set_overlay(tmp_path / "train.py", 2, CALLER.replace("[1]", "[2]"))
    assert index.foreign_callers(tmp_path / "helpers.py", "evaluate") is not first
