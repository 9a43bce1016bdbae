"""Recall through a module whose forward runs a layer handed to it (issue 13): concrete
dropout and weight-noise wrappers are called as `self.cd(x, nn.Sequential(fc, softmax))`
and return `layer(self.drop(x))`, so what the model ends in is the layer passed at the call."""

from __future__ import annotations

from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

WRAPPER = """\
import torch
import torch.nn as nn


class ConcreteDropout(nn.Module):
    def __init__(self, p=0.1):
        super().__init__()
        self.p = p

    def forward(self, x, layer):
        output = layer(torch.nn.functional.dropout(x, self.p, self.training))
        return output
"""

MODEL = """\
import torch.nn as nn
import torch.nn.functional as F
{import_line}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)
        self.relu = nn.ReLU()
        self.softmax = nn.Softmax(dim=1)
        self.cd1 = ConcreteDropout()
        self.cd2 = ConcreteDropout()

    def forward(self, x):
        x = self.cd1(x, nn.Sequential(self.fc1, self.relu))
        x = self.cd2(x, {last})
        return x


def train(loader, optimizer):
    model = Net()
    for data, labels in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(data), labels)
        loss.backward()
        optimizer.step()
"""

LOSS_LINE = -1  # codes() reports NN305 on the loss line as this line


def codes(tmp_path: Path, last: str, same_file: bool = True, wrapper: str = WRAPPER) -> list[tuple[str, int]]:
    (tmp_path / ".git").mkdir(exist_ok=True)
    if same_file:
        text = wrapper + "\n\n" + MODEL.format(import_line="", last=last)
    else:
        (tmp_path / "condrop.py").write_text(wrapper, encoding="utf-8")
        text = MODEL.format(import_line="from condrop import ConcreteDropout", last=last)
    loss_line = next(i for i, line in enumerate(text.splitlines(), 1) if "loss = F.cross_entropy" in line)
    path = tmp_path / "train.py"
    path.write_text(text, encoding="utf-8")
    result = check_source(text, str(path), Settings(), project=ProjectIndex(tmp_path, use_jedi=False))
    return [(f.code, LOSS_LINE if f.span.line == loss_line else f.span.line) for f in result.findings]


def test_sequential_ending_in_softmax(tmp_path: Path) -> None:
    assert ("NN305", LOSS_LINE) in codes(tmp_path, "nn.Sequential(self.fc2, self.softmax)")


def test_wrapper_in_another_module(tmp_path: Path) -> None:
    assert ("NN305", LOSS_LINE) in codes(tmp_path, "nn.Sequential(self.fc2, self.softmax)", same_file=False)


def test_softmax_layer_passed_alone(tmp_path: Path) -> None:
    assert ("NN305", LOSS_LINE) in codes(tmp_path, "nn.Sequential(self.fc2, nn.Softmax(dim=1))")


def test_logits_layer_is_silent(tmp_path: Path) -> None:
    assert ("NN305", LOSS_LINE) not in codes(tmp_path, "nn.Sequential(self.fc2)")
    assert ("NN305", LOSS_LINE) not in codes(tmp_path, "self.fc2")


def test_wrapper_that_changes_the_layer_output_is_silent(tmp_path: Path) -> None:
    changed = WRAPPER.replace("        return output", "        return output + x")
    assert ("NN305", LOSS_LINE) not in codes(tmp_path, "nn.Sequential(self.fc2, self.softmax)", wrapper=changed)


def test_wrapper_that_rebinds_the_parameter_is_silent(tmp_path: Path) -> None:
    rebinds = WRAPPER.replace("        output = layer(", "        layer = nn.Identity()\n        output = layer(")
    assert ("NN305", LOSS_LINE) not in codes(tmp_path, "nn.Sequential(self.fc2, self.softmax)", wrapper=rebinds)
