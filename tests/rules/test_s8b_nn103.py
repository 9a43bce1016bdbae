"""NN103 in the trainer-class shape (MultimediaTechLab/YOLO's ModelTrainer before '[FIX] Fixes
memory leak'): the criterion returns `(loss, parts)` with the loss summed from the parts, a
training-step method backpropagates the loss and returns the parts, and the epoch method adds
each part into a dict of totals: every total keeps every batch's graph."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import codes, line_of
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

LOSSES = """\
import torch.nn as nn


class DualLoss:
    def __init__(self):
        self.box = nn.SmoothL1Loss()
        self.cls = nn.BCEWithLogitsLoss()

    def __call__(self, pred, target):
        loss_dict = {"box": self.box(pred, target), "cls": self.cls(pred, target)}
        loss_sum = {total}
        return loss_sum, loss_dict


def create_loss():
    loss_function = DualLoss()
    return loss_function
"""

TRAINER = """\
from collections import defaultdict

import torch

{import_line}


class Trainer:
    def __init__(self, model):
        self.model = model
        self.loss_fn = create_loss()
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train_one_batch(self, x, y):
        self.optimizer.zero_grad()
        loss, loss_item = self.loss_fn(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss_item

    def train_one_epoch(self, loader):
        total = defaultdict(float)
        for x, y in loader:
            parts = self.train_one_batch(x, y)
            for name, value in parts.items():
{accumulate}
        return total
"""

SUMMED = "sum(list(loss_dict.values())) / len(loss_dict)"
BUG = "                total[name] += value * x.shape[0]  # here"


def _project(tmp_path: Path, total: str = SUMMED, accumulate: str = BUG) -> list[tuple[str, int]]:
    (tmp_path / "losses.py").write_text(LOSSES.replace("{total}", total), encoding="utf-8")
    train = TRAINER.replace("{import_line}", "from losses import create_loss").replace("{accumulate}", accumulate)
    (tmp_path / "train.py").write_text(train, encoding="utf-8")
    index = ProjectIndex(tmp_path, use_jedi=False)
    result = check_source(train, str(tmp_path / "train.py"), Settings(select=("NN103",)), project=index)
    return [(f.code, f.span.line) for f in result.findings]


def _one_file(total: str = SUMMED, accumulate: str = BUG) -> str:
    losses = LOSSES.replace("{total}", total)
    return losses + "\n\n" + TRAINER.replace("{import_line}", "").replace("{accumulate}", accumulate)


def test_flags_parts_of_a_backpropagated_loss_summed_into_a_dict_across_modules(tmp_path: Path) -> None:
    text = TRAINER.replace("{accumulate}", BUG)
    assert _project(tmp_path) == [("NN103", line_of(text, "# here"))]


def test_flags_the_same_shape_in_one_file() -> None:
    text = _one_file()
    found = codes(text, "NN103")
    assert found == [("NN103", line_of(text, "# here"))]


@pytest.mark.parametrize("total", [
    "torch_sum(loss_dict)",  # an unknown function: the total may not come from the parts alone
    "self.box_weight * loss_dict['box'] + loss_dict['cls']",  # something besides the parts
    "0.0",  # not made of the parts
])
def test_silent_when_the_total_is_not_made_of_the_parts_alone(total: str) -> None:
    assert codes(_one_file(total=total), "NN103") == []


@pytest.mark.parametrize("accumulate", [
    "                total[name] += value.item() * x.shape[0]",
    "                total[name] += value.detach()",
    "                total[name] += float(value)",
])
def test_silent_on_detached_totals(accumulate: str) -> None:
    assert codes(_one_file(accumulate=accumulate), "NN103") == []


def test_silent_when_the_loss_is_not_backpropagated() -> None:
    text = _one_file().replace("        loss.backward()\n", "")
    assert codes(text, "NN103") == []


def test_silent_when_the_totals_start_afresh_every_iteration() -> None:
    accumulate = "                total[name] += value"
    text = _one_file(accumulate=accumulate).replace(
        "            parts = self.train_one_batch(x, y)\n",
        "            parts = self.train_one_batch(x, y)\n            total = {}\n")
    assert codes(text, "NN103") == []


def test_silent_under_no_grad() -> None:
    text = _one_file().replace(
        "            for name, value in parts.items():\n" + BUG,
        "            with torch.no_grad():\n                for name, value in parts.items():\n    " + BUG)
    assert codes(text, "NN103") == []


def test_silent_when_the_parts_are_detached_by_the_criterion() -> None:
    # the parts are floats and the total the sum of the terms themselves: nothing links them
    text = _one_file().replace(
        '        loss_dict = {"box": self.box(pred, target), "cls": self.cls(pred, target)}\n'
        '        loss_sum = sum(list(loss_dict.values())) / len(loss_dict)\n',
        '        box, cls = self.box(pred, target), self.cls(pred, target)\n'
        '        loss_dict = {"box": box.item(), "cls": cls.item()}\n'
        '        loss_sum = box + cls\n')
    assert codes(text, "NN103") == []


def test_flags_a_values_loop_and_a_criterion_function() -> None:
    code = """\
    import torch
    import torch.nn.functional as F


    def criterion(pred, target):
        parts = [F.mse_loss(pred, target), F.l1_loss(pred, target)]
        return torch.stack(parts).sum(), parts


    def train(model, loader, opt):
        totals = [0.0, 0.0]
        for x, y in loader:
            opt.zero_grad()
            loss, parts = criterion(model(x), y)
            loss.backward()
            opt.step()
            for i, part in enumerate(parts):
                totals[i] += part
    """
    # `enumerate(parts)` is no `.items()`/`.values()` loop: not followed (stays silent)
    assert codes(code, "NN103") == []
    code = code.replace("for i, part in enumerate(parts):\n                totals[i] += part",
                        "for part in parts.values():\n                totals[0] += part  # here")
    code = code.replace("parts = [F.mse_loss(pred, target), F.l1_loss(pred, target)]",
                        'parts = {"mse": F.mse_loss(pred, target), "l1": F.l1_loss(pred, target)}')
    code = code.replace("torch.stack(parts).sum()", "sum(parts.values())")
    assert codes(code, "NN103") == [("NN103", line_of(code, "# here"))]
