"""NN202 when the training loop lives in a helper that never sets the model's mode
(`train_epoch(model, loader, opt)`) and the caller's epoch loop evaluates after it: from
the second epoch on, the helper trains in eval mode (the shape of deepdyn's NNBee.train,
whose epoch function is called the same way)."""

from __future__ import annotations

import pytest

from helpers import apply_fix_and_recheck, codes, line_of

CODE = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))

    def forward(self, x):
        return self.fc(x)


def train_epoch(model, loader, opt):
    for x, y in loader:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)  # here
        loss.backward()
        opt.step()


def validate(model, loader):
    model.eval()
    with torch.no_grad():
        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)


def main(train_loader, val_loader):
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(10):
        train_epoch(net, train_loader, opt)
        validate(net, val_loader)
"""


def test_flags_a_helper_trained_after_the_callers_evaluation() -> None:
    assert codes(CODE, "NN202") == [("NN202", line_of(CODE, "# here"))]


def test_fix_restores_train_in_the_callers_loop_with_the_callers_name() -> None:
    fixed = apply_fix_and_recheck(CODE, "NN202")
    assert "    for epoch in range(10):\n        net.train()\n        train_epoch(net" in fixed


@pytest.mark.parametrize("old, new", [
    # the helper restores training mode itself
    ("def train_epoch(model, loader, opt):\n", "def train_epoch(model, loader, opt):\n    model.train()\n"),
    # the caller restores it at the top of the loop
    ("    for epoch in range(10):\n", "    for epoch in range(10):\n        net.train()\n"),
    # the evaluation helper restores it before returning
    ("        return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)",
     "        correct = sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)\n"
     "    model.train()\n    return correct"),
    # a model without dropout or batch norm: its mode changes nothing
    ("nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))", "nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 2))"),
    # evaluation of another model
    ("        validate(net, val_loader)", "        validate(Net(), val_loader)"),
])
def test_silent_on_look_alikes(old: str, new: str) -> None:
    assert old in CODE
    assert codes(CODE.replace(old, new), "NN202") == []


def test_method_of_a_trainer_called_on_self() -> None:
    code = """\
    import torch
    import torch.nn as nn


    class Trainer:
        def __init__(self):
            self.model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
            self.opt = torch.optim.SGD(self.model.parameters(), lr=0.1)

        def train_epoch(self, loader):
            for x, y in loader:
                self.opt.zero_grad()
                nn.functional.cross_entropy(self.model(x), y).backward()  # here
                self.opt.step()

        def fit(self, loader, val_loader, other):
            for epoch in range(10):
                self.train_epoch(loader)
                self.model.eval()
                with torch.no_grad():
                    for x, _ in val_loader:
                        self.model(x)
    """
    assert codes(code, "NN202") == [("NN202", line_of(code, "# here"))]
    # `other.train_epoch(...)` trains another trainer's model
    other = code.replace("self.train_epoch(loader)", "other.train_epoch(loader)")
    assert codes(other, "NN202") == []


def test_silent_when_the_callers_switch_is_before_its_loop() -> None:
    # an eval() before the epoch loop may be of an object the name held earlier (a model
    # evaluated, then `net` rebound to a new one): only a switch the loop brings back counts
    code = CODE.replace("    for epoch in range(10):\n        train_epoch(net, train_loader, opt)\n"
                        "        validate(net, val_loader)\n",
                        "    validate(net, val_loader)\n    net = Net()\n    for epoch in range(10):\n"
                        "        train_epoch(net, train_loader, opt)\n")
    assert "net = Net()\n    for epoch" in code
    assert codes(code, "NN202") == []
