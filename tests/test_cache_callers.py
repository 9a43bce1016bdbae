"""The result cache and the reverse look-up: a function's findings can depend on the
project's other files that call it (`train.fit(net, ...)` in main.py tells what `model` is
inside `fit`), so a file that starts or stops calling it must make the entry miss, even
when the checked file and every module it imports are unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_cache import analysed, cache_on, settled  # noqa: F401 - the fixtures (cache_on is autouse)

import nnlint.cli as cli
from nnlint.project import ProjectIndex

ENGINE = """\
import torch.nn.functional as F


def fit(model, loader, optimizer):
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
"""
MODELS = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))

    def forward(self, x):
        return self.body(x)
"""
# The caller: its Net ends in a softmax, which `fit` feeds to cross entropy (NN305 in engine.py).
MAIN = """\
import torch
from engine import fit
from models import Net

net = Net()
fit(net, [], torch.optim.SGD(net.parameters(), lr=0.1))
"""
FINDING = ("engine.py", "NN305", 7)


def write(path: Path, text: str) -> None:
    path.write_text(text)
    settled(path)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    write(root / "pyproject.toml", "[project]\nname = 'p'\n")
    write(root / "engine.py", ENGINE)
    write(root / "models.py", MODELS)
    return root


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str, int]]:
    """One `nnlint check` of the whole project, as a fresh process makes it."""
    import nnlint.project

    nnlint.project._SHARED.clear()
    cli.main(["check", "--format", "json", "--jobs", "1", "--cache-dir", str(root.parent / "cache"), str(root)])
    out = capsys.readouterr().out
    return sorted((Path(f["path"]).name, f["code"], f["line"]) for f in json.loads(out or "[]"))


def test_a_new_caller_file_makes_the_callee_miss(project: Path, analysed: list[str], capsys) -> None:
    assert check(project, capsys) == []
    write(project / "main.py", MAIN)
    analysed.clear()
    assert check(project, capsys) == [FINDING], "engine.py's result was read from before main.py called fit"
    assert "engine.py" in analysed
    analysed.clear()
    assert check(project, capsys) == [FINDING]
    assert analysed == [], "an unchanged project was analysed again"


def test_a_removed_caller_makes_the_callee_miss(project: Path, analysed: list[str], capsys) -> None:
    write(project / "main.py", MAIN)
    assert check(project, capsys) == [FINDING]
    (project / "main.py").unlink()
    assert check(project, capsys) == []


def test_an_existing_file_that_starts_calling_makes_the_callee_miss(project: Path, capsys) -> None:
    write(project / "main.py", "import torch\n\nprint(torch.__version__)\n")
    assert check(project, capsys) == []
    write(project / "main.py", MAIN)
    assert check(project, capsys) == [FINDING]
    write(project / "main.py", MAIN.replace("fit(net", "print(net"))
    assert check(project, capsys) == []


def test_an_edit_that_leaves_every_answer_alone_still_hits(project: Path, analysed: list[str], capsys) -> None:
    write(project / "main.py", MAIN)
    check(project, capsys)
    write(project / "notes.py", "import os\n\nprint(os.sep)\n")
    check(project, capsys)
    # A new file and an edit of a file that engine.py's analysis did not read, neither
    # naming `fit`, `engine` and `import` together: the project's stamp changes, the
    # reverse look-up's answers do not.
    write(project / "extra.py", "import os\n\nprint(os.getcwd())\n")
    write(project / "notes.py", "import os\n\nprint(os.sep, 'engine')\n")
    analysed.clear()
    assert check(project, capsys) == [FINDING]
    assert sorted(analysed) == ["extra.py", "notes.py"], analysed


def test_the_entry_stores_the_question_and_a_stamp(project: Path, capsys) -> None:
    write(project / "main.py", MAIN)
    check(project, capsys)
    entries = {}
    for index in (project.parent / "cache").glob("*.json"):
        entries.update({Path(e["path"]).name: e for e in json.loads(index.read_text())["entries"].values()})
    engine = entries["engine.py"]
    assert engine["namings"] == {"fit engine import": [str((project / "main.py").resolve())]}
    assert engine["listing"] is not None


def test_a_file_saved_during_the_run_leaves_no_stamp(project: Path, capsys) -> None:
    (project / "main.py").write_text(MAIN)  # just saved: the stamp could describe another version
    check(project, capsys)
    for index in (project.parent / "cache").glob("*.json"):
        for entry in json.loads(index.read_text())["entries"].values():
            if entry.get("namings"):
                assert entry["listing"] is None


def test_a_reused_callers_answer_is_recorded_by_every_check_that_uses_it(project: Path) -> None:
    """The index keeps each `foreign_callers` answer for the rest of the run: a later check
    that reads it depends on what it rests on as much as the check that computed it."""
    write(project / "main.py", MAIN)
    index = ProjectIndex(project, use_jedi=False)
    engine = project / "engine.py"
    first = index.start_recording()
    answer = index.foreign_callers(engine, "fit")
    index.stop_recording()
    second = index.start_recording()
    assert index.foreign_callers(engine, "fit") is answer
    index.stop_recording()
    main = (project / "main.py").resolve()
    assert first.namings == second.namings == {("fit", "engine", "import"): frozenset({main})}
    assert main in first.read and main in second.read


def test_an_entry_checked_again_gets_the_new_stamp(project: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a project file changed, an entry whose questions still get their answers is
    kept, with the new stamp: the run after that trusts it without reading every file."""
    write(project / "main.py", MAIN)
    check(project, capsys)
    write(project / "notes.py", "import os\n")
    check(project, capsys)
    import nnlint.project

    asked: list[tuple[str, ...]] = []
    real = nnlint.project.ProjectIndex.files_naming
    monkeypatch.setattr(nnlint.project.ProjectIndex, "files_naming", lambda self, words: asked.append(words) or real(self, words))
    assert check(project, capsys) == [FINDING]
    assert asked == [], "the questions were asked again although no file changed"
