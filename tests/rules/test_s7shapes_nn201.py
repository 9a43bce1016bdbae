"""NN201 on a shape found by the s7shapes review: a trainer class whose evaluation method
(called from outside the file) runs `self.model` while the class only ever calls train()."""

import pytest

from helpers import apply_fix_and_recheck, codes, line_of, lint

RUNNER = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Runner:
    def __init__(self):
        self.model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 3))
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.05)

    def train_epoch(self, loader):
        self.model.train()
        for x, y in loader:
            self.opt.zero_grad()
            F.cross_entropy(self.model(x), y).backward()
            self.opt.step()

    @torch.no_grad()
    def validate(self, loader):
        correct = 0
        for x, y in loader:
            out = self.model{call}(x)  # here
            correct += (out.argmax(-1) == y).sum().item()
        return correct
"""


@pytest.mark.parametrize("call", ["", ".__call__", ".forward"])
def test_flags_a_trainer_evaluation_that_never_switches_to_eval(call: str) -> None:
    text = RUNNER.format(call=call)
    findings = lint(text, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", line_of(text, "# here"))]
    assert [r.span.line for r in findings[0].related] == [
        line_of(text, "def validate"), line_of(text, "self.model.train()")]


def test_fix_inserts_eval() -> None:
    fixed = apply_fix_and_recheck(RUNNER.format(call=""), "NN201")
    assert "        self.model.eval()\n" in fixed


@pytest.mark.parametrize("change", [
    # the class switches to eval somewhere (another method may run before validate)
    ("    @torch.no_grad()\n", "    def eval_mode(self):\n        self.model.eval()\n\n    @torch.no_grad()\n"),
    # the model has no dropout or batch norm
    ("nn.Dropout(0.5), ", ""),
    # the class never switches the model at all: its mode at validate() is not shown
    ("        self.model.train()\n", ""),
])
def test_silent_twins(change: tuple[str, str]) -> None:
    assert codes(RUNNER.format(call="").replace(*change), "NN201") == []


def test_silent_on_a_module_class_own_method() -> None:
    # a module's own method on a sub-module: the caller of the module owns the mode
    text = RUNNER.format(call="").replace("class Runner:", "class Runner(nn.Module):").replace(
        "    def __init__(self):\n", "    def __init__(self):\n        super().__init__()\n")
    assert codes(text, "NN201") == []
