"""NN101 on shapes found by the s7shapes review: optimizers spelled like torch's that are not."""

from pathlib import Path

from helpers import codes, lint_package

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
