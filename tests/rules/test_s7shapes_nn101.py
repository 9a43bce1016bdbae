"""NN101 on shapes found by the s7shapes review: optimizers spelled like torch's that are not."""

from pathlib import Path

import pytest

from helpers import apply_fix_and_recheck, codes, line_of, lint, lint_package

ENGINE = """\
class Value:
    def __init__(self, data):
        self.data, self.grad = data, 0.0

    def backward(self):
        self.grad = 1.0


class SGD:
    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self):
        for p in self.params:
            p.data -= self.lr * p.grad
"""

TRAIN = """\
from engine import SGD, Value

model = [Value(0.5), Value(-0.3)]
optimizer = SGD(model, lr=0.01)
for step in range(100):
    loss = model[0]
    loss.backward()
    optimizer.step()
"""


def test_silent_on_a_project_sgd_that_is_no_torch_optimizer(tmp_path: Path) -> None:
    # a micrograd-style engine's own `SGD` (another module): its step() reads no torch gradients
    assert lint_package(tmp_path, {"engine.py": ENGINE, "train.py": TRAIN}, "train.py", "NN101") == []


def test_silent_on_a_same_file_sgd_class() -> None:
    code = ENGINE.replace("class Value", "import torch\n\n\nclass Value") + "\n" + TRAIN.split("\n", 1)[1]
    assert codes(code, "NN101") == []


def test_still_flags_a_project_subclass_of_a_torch_optimizer(tmp_path: Path) -> None:
    optim = """\
    import torch


    class SGD(torch.optim.SGD):
        pass
    """
    train = """\
    import torch
    from optim import SGD

    model = torch.nn.Linear(2, 1)
    optimizer = SGD(model.parameters(), lr=0.01)
    for x, y in loader:
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
    """
    findings = lint_package(tmp_path, {"optim.py": optim, "train.py": train}, "train.py", "NN101")
    assert [(f.code, f.span.line) for f in findings] == [("NN101", 8)]


def test_still_flags_torch_sgd() -> None:
    code = TRAIN.replace("from engine import SGD, Value", "import torch\nfrom torch.optim import SGD").replace(
        "[Value(0.5), Value(-0.3)]", "torch.nn.Linear(2, 1)").replace("SGD(model,", "SGD(model.parameters(),").replace(
        "model[0]", "model(x).sum()")
    assert codes(code, "NN101") == [("NN101", 8)]


LIGHTNING_MANUAL = """\
import torch
import torch.nn.functional as F
import pytorch_lightning as pl


class Regressor(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.model = torch.nn.Linear(16, 1)

    def training_step(self, batch, batch_idx):
        opt = self.optimizers()
        x, y = batch
        loss = F.mse_loss(self.model(x), y)
        self.manual_backward(loss)  # here
        opt.step()

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-3)
"""


def test_flags_lightning_manual_optimisation_without_zero_grad() -> None:
    findings = [f for f in lint(LIGHTNING_MANUAL, "NN101")]
    assert [(f.code, f.span.line) for f in findings] == [("NN101", line_of(LIGHTNING_MANUAL, "# here"))]
    assert "Lightning calls once per training batch" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [line_of(LIGHTNING_MANUAL, "opt.step()")]
    fixed = apply_fix_and_recheck(LIGHTNING_MANUAL, "NN101")
    assert "        opt = self.optimizers()\n        opt.zero_grad()\n        x, y = batch" in fixed


@pytest.mark.parametrize("clear", [
    "        opt.zero_grad()\n        x, y = batch\n",  # in the step itself
    "        x, y = batch\n        if (batch_idx + 1) % 4 == 0:\n            opt.zero_grad()\n",  # accumulation
])
def test_silent_when_training_step_clears(clear: str) -> None:
    assert codes(LIGHTNING_MANUAL.replace("        x, y = batch\n", clear), "NN101") == []


def test_silent_when_another_hook_of_the_module_clears() -> None:
    code = LIGHTNING_MANUAL.replace("    def configure_optimizers", (
        "    def on_train_batch_start(self, batch, batch_idx):\n"
        "        self.optimizers().zero_grad()\n\n"
        "    def configure_optimizers"))
    assert codes(code, "NN101") == []


def test_silent_on_a_plain_class_method_nobody_calls() -> None:
    # no LightningModule: who calls `training_step` (and how often) is not known
    code = LIGHTNING_MANUAL.replace("(pl.LightningModule)", "").replace("super().__init__()\n", "")
    assert codes(code, "NN101") == []
