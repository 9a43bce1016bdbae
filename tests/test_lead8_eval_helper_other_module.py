"""NN201 on an evaluation helper that only the project's other modules call (issue 13: the
most common real layout, `evaluate(model, loader)` in utils.py, called from main.py): the
mode the callers leave the model in decides, as for callers in the same file, and what the
callers pass proves the model's kind. Before, the helper was judged as if nothing called
it: a hint "from its name alone" whether or not the caller had called `model.eval()`."""

from __future__ import annotations

from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Severity
from nnlint.project import ProjectIndex

from test_recall_crossmodule import write  # a project folder with a .git marker

UTILS = """\
import torch


def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct
"""

MAIN = """\
import torch
from torch import nn
from utils import evaluate

model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    {switch}print(evaluate(model, loader))
"""


def nn201(root: Path) -> list:
    path = root / "utils.py"
    index = ProjectIndex(root, use_jedi=False)
    result = check_source(path.read_text(encoding="utf-8"), str(path), Settings(select=("NN201",)), project=index)
    return result.findings


def test_a_caller_in_another_module_that_trained_the_model_is_reported(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": UTILS, "main.py": MAIN.replace("{switch}", "")})
    (finding,) = nn201(tmp_path)
    assert finding.severity is Severity.WARNING  # main.py builds it with dropout: a proven module
    assert "is called in main.py at line 13 while the model is in training mode" in finding.message
    assert "left it in training mode" in finding.message  # what main.py did, said with its line
    assert finding.fix is not None


def test_a_caller_in_another_module_that_switches_to_eval_first_is_fine(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": UTILS, "main.py": MAIN.replace("{switch}", "model.eval()\n    ")})
    assert nn201(tmp_path) == []


def test_one_caller_of_two_in_training_mode_is_enough(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": UTILS, "main.py": MAIN.replace("{switch}", "model.eval()\n    "),
                     "finetune.py": MAIN.replace("{switch}", "")})
    (finding,) = nn201(tmp_path)
    assert "is called in finetune.py" in finding.message


def test_without_callers_the_helper_is_judged_alone(tmp_path: Path) -> None:
    write(tmp_path, {"utils.py": UTILS})
    (finding,) = nn201(tmp_path)
    assert finding.severity is Severity.HINT
    assert "never switches its model to eval mode" in finding.message
