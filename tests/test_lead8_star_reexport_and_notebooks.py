"""Project names re-exported with `from .models import *` (a package's `__init__.py`, as
d2l's), and notebooks that import the project's modules: both are followed like any other
import. Before, `pkg.Classifier` behind a star import was unknown, and a notebook was
checked as if the project did not exist (d2l's Weight_Decay notebook took `net = d2l.linreg`,
a plain function, for a model). Each test writes its own project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnlint.cli import main
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

from test_recall_crossmodule import write  # a project folder with a .git marker

MODELS = """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)


def linreg(X, w, b):
    return X @ w + b
"""

# The training script: a model of the package into a cross entropy.
TRAIN = """\
import torch
import torch.nn as nn
import pkg

model = pkg.Classifier()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
"""

# d2l's from-scratch shape: `net` is the package's plain function, trained by hand.
FUNCTIONAL = """\
import torch
import pkg

net = pkg.linreg


def fit(train_iter, test_x, w, b, lr):
    for X, y in train_iter:
        l = ((net(X, w, b) - y) ** 2).sum()
        l.backward()
        with torch.no_grad():
            w -= lr * w.grad
            w.grad.zero_()
    with torch.no_grad():
        return net(test_x, w, b)
"""


def codes(root: Path, name: str) -> list[str]:
    path = root / name
    index = ProjectIndex(root, use_jedi=False)
    result = check_source(path.read_text(encoding="utf-8"), str(path), Settings(select=("ALL",)), project=index)
    return [f.code for f in result.findings]


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [],
              "source": source.splitlines(keepends=True)} for i, source in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {"language_info": {"name": "python"}},
                       "nbformat": 4, "nbformat_minor": 5})


@pytest.mark.parametrize("init", ["from .models import *\n", "from pkg.models import *\n"])
def test_a_class_behind_a_star_import_is_the_project_class(tmp_path: Path, init: str) -> None:
    write(tmp_path, {"pkg/__init__.py": init, "pkg/models.py": MODELS, "train.py": TRAIN})
    assert "NN305" in codes(tmp_path, "train.py")


def test_without_the_star_import_the_name_stays_unknown(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "from .models import linreg\n", "pkg/models.py": MODELS,
                     "train.py": TRAIN})
    assert "NN305" not in codes(tmp_path, "train.py")


def test_a_function_behind_a_star_import_is_no_model(tmp_path: Path) -> None:
    write(tmp_path, {"pkg/__init__.py": "from .models import *\n", "pkg/models.py": MODELS,
                     "fit.py": FUNCTIONAL})
    assert "NN201" not in codes(tmp_path, "fit.py")
    # the same script with `net` left unknown is reported softly, from the name alone
    write(tmp_path, {"pkg/__init__.py": "\n"})
    assert "NN201" in codes(tmp_path, "fit.py")


def run_check(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    status = main(["check", "--isolated", "--no-cache", "--select", "ALL", "--format", "json", str(path)])
    assert status in (0, 1)
    return [finding["code"] for finding in json.loads(capsys.readouterr().out)]


def test_a_notebook_follows_the_project_modules_it_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"pkg/__init__.py": "from .models import *\n", "pkg/models.py": MODELS})
    (tmp_path / "notebooks").mkdir()
    path = tmp_path / "notebooks" / "train.ipynb"
    head, _, rest = TRAIN.partition("model = ")
    path.write_text(notebook("import sys\nsys.path.insert(0, '..')\n" + head, "model = " + rest), encoding="utf-8")
    assert "NN305" in run_check(path, capsys)


def test_a_notebook_drops_the_name_guess_for_a_project_function(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"pkg/__init__.py": "from .models import *\n", "pkg/models.py": MODELS})
    path = tmp_path / "fit.ipynb"
    head, _, rest = FUNCTIONAL.partition("def fit")
    path.write_text(notebook(head, "def fit" + rest), encoding="utf-8")
    assert "NN201" not in run_check(path, capsys)
    (tmp_path / "pkg" / "__init__.py").write_text("\n", encoding="utf-8")
    assert "NN201" in run_check(path, capsys)
