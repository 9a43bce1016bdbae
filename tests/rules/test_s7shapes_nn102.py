"""NN102 on a shape found by the s7shapes review: the zero_grad() sits in a helper that the
loop calls between backward() and step()."""

import pytest

from helpers import codes, line_of, lint

TRAINER = """\
import torch
import torch.nn as nn


class Trainer:
    def __init__(self, model):
        self.model = model
        self.optim = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.other = torch.optim.SGD(model.parameters(), lr=1e-3)

    def _log_and_reset(self):
        print(sum(p.grad.norm() for p in self.model.parameters() if p.grad is not None))
{reset}

    def fit(self, loader):
        for x, y in loader:
            loss = nn.functional.mse_loss(self.model(x), y)
            loss.backward()
            self._log_and_reset()
            self.optim.step()
"""


def test_flags_zero_grad_in_a_helper_between_backward_and_step() -> None:
    text = TRAINER.format(reset="        self.optim.zero_grad()  # here")
    findings = lint(text, "NN102")
    assert [(f.code, f.span.line) for f in findings] == [("NN102", line_of(text, "# here"))]
    assert [r.span.line for r in findings[0].related] == [
        line_of(text, "loss.backward()"), line_of(text, "            self._log_and_reset()"), line_of(text, "self.optim.step()")]
    assert findings[0].fix is None


@pytest.mark.parametrize("reset", [
    "        self.other.zero_grad()",  # another optimizer
    "        if self.model.training:\n            self.optim.zero_grad()",  # not on every call
    "        self.optim.step()\n        self.optim.zero_grad()",  # the helper steps first
    "        pass",
])
def test_silent_on_helpers_that_do_not_wipe_the_stepped_gradients(reset: str) -> None:
    assert codes(TRAINER.format(reset=reset), "NN102") == []


def test_silent_when_the_helper_runs_after_the_step() -> None:
    text = TRAINER.format(reset="        self.optim.zero_grad()").replace(
        "            self._log_and_reset()\n            self.optim.step()\n",
        "            self.optim.step()\n            self._log_and_reset()\n")
    assert codes(text, "NN102") == []
