"""Project-mode shortcuts of the folder run (issue 13) answer exactly like the slow ways
they replace: a module that can read no other module (`ProjectIndex.stands_alone`) lets
NN505 and NN403 answer as without a project; everywhere else they resolve as before."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import nnlint.rules.nn403_optimizer_misses_new_module as nn403
import nnlint.rules.nn505_softmax_over_batch_dim as nn505
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex, reads_other_modules
from nnlint.semantic import Semantic
from nnlint.parsing import parse_python

FIXTURES = Path(__file__).parent / "rules" / "fixtures"
EXAMPLES = Path(__file__).parent.parent / "examples"
ALL = Settings(select=("ALL",))

# A file of the shape the folder benchmark checks: libraries only, a softmax over a
# one-argument call of a layer, an optimizer kept on an object.
ALONE = '''import math
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.fc(self.act(x))


def fit(model, loader, param_groups):
    opt = optim.SGD(model.parameters(), lr=0.1)
    model.fc = nn.Linear(8, 4)
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()


model = Net()
for x, _ in DataLoader(data, batch_size=8):
    probs = torch.softmax(model(x), dim=0)
    act = model.act
    out = act(x)
'''


def _index(root: Path) -> ProjectIndex:
    index = ProjectIndex(root, use_jedi=False)
    index.prepare_reverse_lookup()
    return index


def _semantic(index: ProjectIndex, path: Path) -> Semantic:
    return Semantic.build(parse_python(path.read_text()), path, index)


def _findings(path: Path, index: ProjectIndex | None) -> list[tuple]:
    result = check_source(path.read_text(), str(path), ALL, verify_fixes=False, project=index)
    return [(f.code, f.span, f.severity, f.message, tuple((r.span, r.message) for r in f.related), f.fix is not None)
            for f in result.findings]


def _slow(sem: Semantic) -> bool:
    """The rules' question before the shortcut: any project may bring something in."""
    return sem.project is not None


def _project_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


# ------------------------------------------------------------ the question itself
def test_a_module_of_library_imports_that_nobody_names_stands_alone(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(ALONE)
    (tmp_path / "other.py").write_text("import os\nprint(os.sep)\n")
    index = _index(tmp_path)
    assert index.stands_alone(_semantic(index, tmp_path / "train.py"))
    assert not reads_other_modules(_semantic(index, tmp_path / "train.py"))


@pytest.mark.parametrize(
    "importer",
    [
        "from train import fit\n",          # names the module and imports: may call into it
        "import train\ntrain.fit(1, 2, 3)\n",
        "from . import train\n",
    ],
)
def test_a_module_another_file_imports_does_not_stand_alone(tmp_path: Path, importer: str) -> None:
    (tmp_path / "train.py").write_text(ALONE)
    (tmp_path / "user.py").write_text(importer)
    index = _index(tmp_path)
    assert not index.stands_alone(_semantic(index, tmp_path / "train.py"))


def test_a_file_naming_the_module_without_importing_anything_does_not_count(tmp_path: Path) -> None:
    # foreign_callers reads only files naming the module *and* `import`
    (tmp_path / "train.py").write_text(ALONE)
    (tmp_path / "notes.py").write_text("train = 'train'\n")
    index = _index(tmp_path)
    assert index.stands_alone(_semantic(index, tmp_path / "train.py"))
    assert index.foreign_callers(tmp_path / "train.py", "fit") == []


@pytest.mark.parametrize(
    "extra_import",
    [
        "import yaml\n",                    # not a known library root: may be a project file or jedi's
        "from .helpers import build\n",     # relative: the project
        "from helpers import build\n",
        "import utils.io as uio\n",
    ],
)
def test_an_import_that_may_be_of_the_project_closes_nothing(tmp_path: Path, extra_import: str) -> None:
    (tmp_path / "train.py").write_text(extra_import + ALONE)
    index = _index(tmp_path)
    assert not index.stands_alone(_semantic(index, tmp_path / "train.py"))


def test_a_package_init_is_named_by_its_folder(tmp_path: Path) -> None:
    package = tmp_path / "models"
    package.mkdir()
    (package / "__init__.py").write_text(ALONE)
    (tmp_path / "run.py").write_text("import models\n")
    index = _index(tmp_path)
    assert not index.stands_alone(_semantic(index, package / "__init__.py"))
    (tmp_path / "run.py").write_text("import os\n")
    index = _index(tmp_path)
    assert index.stands_alone(_semantic(index, package / "__init__.py"))


def test_before_the_identifiers_are_indexed_nothing_is_proven(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(ALONE)
    index = ProjectIndex(tmp_path, use_jedi=False)
    sem = _semantic(index, tmp_path / "train.py")
    assert not index.stands_alone(sem)  # and asking did not index the project
    assert index._word_index is None
    index.prepare_reverse_lookup()
    assert index.stands_alone(sem)


def test_the_answer_follows_the_editor(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(ALONE)
    (tmp_path / "user.py").write_text("import os\n")
    index = _index(tmp_path)
    sem = _semantic(index, tmp_path / "train.py")
    assert index.stands_alone(sem)
    index.set_overlay(tmp_path / "user.py", 2, "import os\nfrom train import fit\n")
    assert not index.stands_alone(sem)
    index.drop_overlay(tmp_path / "user.py")
    assert index.stands_alone(sem)


def test_without_a_project_nothing_is_read() -> None:
    sem = Semantic.build(parse_python(ALONE))
    assert not reads_other_modules(sem)


# ------------------------------------------------------- same findings, both ways
def _both_ways(files: list[Path], root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list, list]:
    index = _index(root)
    fast = [_findings(path, index) for path in files]
    with monkeypatch.context() as patch:
        patch.setattr(nn505, "reads_other_modules", _slow)
        patch.setattr(nn403, "reads_other_modules", _slow)
        index = _index(root)
        slow = [_findings(path, index) for path in files]
    return fast, slow


def test_the_alone_shape_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "train.py").write_text(ALONE)
    (tmp_path / "other.py").write_text("import torch\n")
    fast, slow = _both_ways([tmp_path / "train.py"], tmp_path, monkeypatch)
    assert fast == slow
    assert {f[0] for f in fast[0]} >= {"NN505", "NN403"}  # the shape is found at all


@pytest.mark.parametrize(
    ("layers", "use"),
    [
        ("from torch import nn\ndef make_norm():\n    return nn.Softmax(dim=0)\n",
         "from layers import make_norm\nnorm = make_norm()\n"),
        ("from torch.nn import Softmax as Norm\n", "from layers import Norm\nnorm = Norm(dim=0)\n"),
    ],
)
def test_a_softmax_layer_built_in_another_module_is_still_found(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layers: str, use: str) -> None:
    # the file never names Softmax: only the project lookup finds the layer
    (tmp_path / "layers.py").write_text(layers)
    (tmp_path / "infer.py").write_text(
        "import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader\n" + use +
        "model = nn.Sequential(nn.Linear(4, 3))\n"
        "for x, _ in DataLoader(data, batch_size=8):\n"
        "    probs = norm(model(x))  # softmax\n"
    )
    fast, slow = _both_ways([tmp_path / "infer.py"], tmp_path, monkeypatch)
    assert fast == slow
    assert [f[0] for f in fast[0]] == ["NN505"]


def test_a_softmax_layer_passed_by_a_caller_of_another_module(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # library imports only, but another module calls in: the backward way stays open
    (tmp_path / "infer.py").write_text(
        "import torch\nfrom torch import nn\nfrom torch.utils.data import DataLoader\n"
        "def predict(act, data):\n"
        "    model = nn.Sequential(nn.Linear(4, 3))\n"
        "    for x, _ in DataLoader(data, batch_size=8):\n"
        "        probs = act(model(x))  # softmax\n"
    )
    (tmp_path / "main.py").write_text("from torch import nn\nfrom infer import predict\npredict(nn.Softmax(dim=0), [])\n")
    index = _index(tmp_path)
    assert not index.stands_alone(_semantic(index, tmp_path / "infer.py"))
    fast, slow = _both_ways([tmp_path / "infer.py", tmp_path / "main.py"], tmp_path, monkeypatch)
    assert fast == slow
    assert [f[0] for f in fast[0]] == ["NN505"]


def test_an_optimizer_helper_of_another_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "optim_utils.py").write_text(
        "import torch\ndef make(model):\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n")
    (tmp_path / "train.py").write_text(
        "import torch\nfrom torch import nn\nfrom optim_utils import make\n"
        "def run(model, loader, param):\n"
        "    opt = make(model)\n"
        "    model.fc = nn.Linear(3, 3)\n"
        "    for x, y in loader:\n"
        "        opt.zero_grad(); model(x).sum().backward(); opt.step()\n"
    )
    fast, slow = _both_ways([tmp_path / "train.py"], tmp_path, monkeypatch)
    assert fast == slow
    assert any(f[0] == "NN403" for f in fast[0])


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_every_package_fixture_finds_the_same(fixture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    files = _project_files(root)
    fast, slow = _both_ways(files, root, monkeypatch)
    assert fast == slow


def test_every_rule_fixture_and_example_finds_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # each file alone in a project (so that the shortcut applies where it can), and the
    # whole lot as one project (where most files name each other's modules)
    sources = sorted(FIXTURES.glob("*.py")) + sorted(EXAMPLES.rglob("*.py"))
    root = tmp_path / "all"
    root.mkdir()
    files = []
    for number, source in enumerate(sources):
        target = root / f"m{number}_{source.stem.replace('.', '_')}.py"
        target.write_bytes(source.read_bytes())
        files.append(target)
    fast, slow = _both_ways(files, root, monkeypatch)
    assert fast == slow
    alone = 0
    index = _index(root)
    for file in files:
        try:
            alone += index.stands_alone(_semantic(index, file))
        except SyntaxError:
            pass
    assert alone > 10  # the comparison did exercise the shortcut


# ------------------------------------- the identifiers, listed per word on demand
def _brute_naming(texts: dict[Path, str], words: tuple[str, ...]) -> set[Path]:
    """What `_files_naming` must answer: the files with `import` whose identifiers hold
    every word, read straight from their current texts."""
    from nnlint.project import _identifiers

    return {path for path, text in texts.items()
            if "import" in text and set(words) <= _identifiers(text)}


def test_files_naming_follows_every_edit_like_a_fresh_read(tmp_path: Path) -> None:
    import random

    rng = random.Random(6)
    vocabulary = ["import", "train", "evaluate", "model", "helpers", "fit", "os", "x"]
    paths = [tmp_path / f"m{i}.py" for i in range(6)]
    texts: dict[Path, str] = {}

    def some_text() -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 6))) + "\n"

    for path in paths:
        texts[path] = some_text()
        path.write_text(texts[path])
    index = ProjectIndex(tmp_path, use_jedi=False)
    real = {path: path.resolve() for path in paths}
    for step in range(400):
        action = rng.random()
        path = rng.choice(paths)
        if action < 0.4:  # an editor buffer
            texts[path] = some_text()
            index.set_overlay(path, step, texts[path])
        elif action < 0.5:
            index.drop_overlay(path)
            texts[path] = path.read_text()
        elif action < 0.6:  # the disk
            index.drop_overlay(path)
            texts[path] = some_text()
            path.write_text(texts[path])
            index.invalidate(path)
        words = tuple(rng.sample(vocabulary, rng.randint(1, 3)))
        expected = {real[p] for p in _brute_naming(texts, words)}
        assert index._files_naming(*words) == expected, (step, words)


def test_listed_files_have_their_real_paths(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("import os\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "target.py").write_text("import os\n")
    (tmp_path / "pkg" / "link.py").symlink_to(tmp_path / "elsewhere" / "target.py")
    (tmp_path / "real_root").mkdir()
    (tmp_path / "real_root" / "b.py").write_text("import os\n")
    (tmp_path / "alias").symlink_to(tmp_path / "real_root")
    for root in (tmp_path, tmp_path / "alias"):
        index = ProjectIndex(root, use_jedi=False)
        expected = []
        for folder, dirs, files in os.walk(index.root):
            dirs.sort()
            expected += [(Path(folder) / name).resolve() for name in sorted(files) if name.endswith(".py")]
        assert index.project_files() == expected
        for path in Path(root).rglob("*.py"):
            assert index.real_path(path) == path.resolve()
    listed = ProjectIndex(tmp_path, use_jedi=False).project_files()
    assert (tmp_path / "elsewhere" / "target.py").resolve() in listed
    assert listed.count((tmp_path / "elsewhere" / "target.py").resolve()) == 2  # itself and the link


# ------------------------- method calls of a module whose imports are all libraries
def test_method_calls_resolve_alike_without_tracing(tmp_path: Path) -> None:
    """`resolve_function` answers a method call by name alone (no tracing of the object)
    when the file's imports reach no project module, as it does without a project: the
    traced answer is compared for every call of every fixture and example file."""
    sources = sorted(FIXTURES.glob("*.py")) + sorted(EXAMPLES.rglob("*.py")) + [None]
    root = tmp_path / "all"
    root.mkdir()
    shortcut = 0
    for number, source in enumerate(sources):
        path = root / f"m{number}.py"
        path.write_text(ALONE if source is None else source.read_text())
        try:
            tree = parse_python(path.read_text())
        except SyntaxError:
            continue
        fast = Semantic.build(tree, path, ProjectIndex(root, use_jedi=False))
        slow = Semantic.build(tree, path, ProjectIndex(root, use_jedi=False))
        slow.__dict__["_imports_libraries_only"] = False  # the traced way
        if not fast._imports_libraries_only:
            continue
        for fast_site, slow_site in zip(fast.calls, slow.calls, strict=True):
            found = [(s.name, s.node.lineno) for s in fast.resolve_function(fast_site.node, fast_site.scope)]
            traced = [(s.name, s.node.lineno) for s in slow.resolve_function(slow_site.node, slow_site.scope)]
            assert found == traced, (source, fast_site.line)
            shortcut += type(fast_site.node.func).__name__ == "Attribute" \
                and fast_site.node.func.attr not in fast._method_names
    assert shortcut > 100  # the comparison did exercise the shortcut


@pytest.mark.parametrize(
    ("imports", "alone"),
    [
        ("import torch\nimport torch.nn as nn\nfrom torch.utils.data import DataLoader\nimport os.path\n", True),
        ("", True),
        ("import yaml\n", False),
        ("from . import helpers\n", False),
        ("from .models import Net\n", False),
        ("import models.net as net\n", False),
        ("from torch import nn\nfrom utils import fit\n", False),
    ],
)
def test_libraries_only_means_every_import(imports: str, alone: bool, tmp_path: Path) -> None:
    sem = Semantic.build(parse_python(imports + "x = 1\n"), tmp_path / "m.py", ProjectIndex(tmp_path, use_jedi=False))
    assert sem._imports_libraries_only is alone


# ------------------------------------------------ a folder's files share its root
def test_project_index_per_folder_is_shared_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nnlint import cli
    from nnlint.project import shared_index

    (tmp_path / "proj" / "pkg").mkdir(parents=True)
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    (tmp_path / "other").mkdir()
    files = [tmp_path / "proj" / "a.py", tmp_path / "proj" / "pkg" / "b.py", tmp_path / "other" / "c.py"]
    for file in files:
        file.write_text("import os\n")
    (tmp_path / "proj" / "link.py").symlink_to(tmp_path / "other" / "c.py")  # c.py's root, not proj's
    files.append(tmp_path / "proj" / "link.py")
    (tmp_path / "proj" / "dir.py").mkdir()  # a folder named like a module is its own root's
    files.append(tmp_path / "proj" / "dir.py")
    cli._FOLDER_ROOTS.clear()
    for _ in range(2):
        for file in files:
            assert cli._project_index(file) is shared_index(file), file
    monkeypatch.chdir(tmp_path / "proj")
    assert cli._project_index(Path("a.py")) is shared_index(Path("a.py"))
    monkeypatch.chdir(tmp_path / "other")
    assert cli._project_index(Path("c.py")) is shared_index(Path("c.py"))
    assert shared_index(tmp_path / "proj" / "link.py") is not shared_index(tmp_path / "proj" / "a.py")
