"""NN601 forward-called-directly."""

from __future__ import annotations

from helpers import apply_fix_and_recheck, codes, line_of, lint

HEADER = """
import torch
import torch.nn as nn
"""


def nn601(code: str) -> list[int]:
    return [line for code_, line in codes(code, "NN601") if code_ == "NN601"]


def test_flags_forward_on_module_instance() -> None:
    code = HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)

net = Net()
out = net.forward(torch.randn(3, 4))  # here
"""
    assert nn601(code) == [line_of(code, "# here")]
    finding = lint(code, "NN601")[0]
    assert "`net.forward(...)`" in finding.message
    assert "`net(...)`" in finding.message
    assert finding.related and "Net" in finding.related[0].message
    assert finding.related[0].span.line == line_of(code, "net = Net()")


def test_flags_torch_nn_and_zoo_models() -> None:
    code = HEADER + """
import torchvision
layer = nn.Linear(4, 2)
y = layer.forward(x)  # a
backbone = torchvision.models.resnet18()
feats = backbone.forward(images)  # b
"""
    assert nn601(code) == [line_of(code, "# a"), line_of(code, "# b")]


def test_a_name_proves_no_module() -> None:
    """A parameter or attribute named `model` or `encoder` may hold anything: an OpenCV
    `cv2.dnn` net or an RPC `RemoteModule`, whose `.forward()` is their API. No finding
    (and so no fix that would call a non-callable object) without a module constructor."""
    code = HEADER + """
def evaluate(model, x):
    return model.forward(x)

class Wrapper(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.encoder.forward(x))

import cv2
net = cv2.dnn.readNetFromONNX("model.onnx")
net.setInput(blob)
out = net.forward()
"""
    assert nn601(code) == []


def test_what_the_value_does_proves_a_module() -> None:
    code = HEADER + """
def train(model, loader):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        out = model.forward(x)  # here
"""
    assert nn601(code) == [line_of(code, "# here")]
    finding = lint(code, "NN601")[0]
    assert "`.parameters()`" in finding.related[0].message


def test_severity_follows_what_the_call_skips() -> None:
    """Warning when the file registers hooks or installs them (pruning, weight_norm);
    information when nothing relies on `__call__` yet. Wrappers whose logic is in their own
    `forward` (DDP, compile) do not count."""
    plain = HEADER + """
layer = nn.Linear(4, 2)
y = layer.forward(x)
"""
    finding = lint(plain, "NN601")[0]
    assert finding.severity.value == "information"
    assert "nothing in this file registers or installs hooks" in finding.message
    hooked = plain + "layer.register_forward_hook(lambda m, i, o: print(o.shape))\n"
    finding = lint(hooked, "NN601")[0]
    assert finding.severity.value == "warning"
    assert line_of(hooked, "register_forward_hook") in {r.span.line for r in finding.related}
    pruned = plain + "torch.nn.utils.prune.l1_unstructured(layer, 'weight', amount=0.5)\n"
    assert lint(pruned, "NN601")[0].severity.value == "warning"
    wrapped = plain + "ddp = torch.nn.parallel.DistributedDataParallel(layer)\ncompiled = torch.compile(layer)\n"
    assert lint(wrapped, "NN601")[0].severity.value == "information"


def test_super_base_and_self_forward_are_fine() -> None:
    code = HEADER + """
class LastStep(nn.LSTM):
    def forward(self, x, hx=None):
        out, _ = super().forward(x, hx)
        out2, _ = super(LastStep, self).forward(x, hx)
        out3, _ = nn.LSTM.forward(self, x, hx)
        return out[:, -1]

class Base(nn.Module):
    def forward(self, x):
        return x

class Child(Base):
    def forward(self, x):
        return Base.forward(self, x) * 2

    def predict_step(self, batch, idx):
        return self.forward(batch)
"""
    assert nn601(code) == []


def test_non_module_objects_are_fine() -> None:
    code = HEADER + """
class Pipeline:
    def forward(self, x):
        return x + 1

pipe = Pipeline()
y = pipe.forward(3)
model = Pipeline()
z = model.forward(3)

def step(sim, x):
    return sim.forward(x)

import numpy as np
w = np.random.forward(3)
"""
    assert nn601(code) == []


def test_fix_replaces_forward_by_call() -> None:
    code = HEADER + """
model = nn.Sequential(nn.Linear(2, 4), nn.ReLU())
logits = model.forward(x, )  # keep
out = model . forward(
    x,
)
"""
    fixed = apply_fix_and_recheck(code, "NN601")
    assert "logits = model(x, )  # keep" in fixed
    fixed = apply_fix_and_recheck(fixed, "NN601")
    assert "out = model(\n    x,\n)" in fixed
    assert nn601(fixed) == []
