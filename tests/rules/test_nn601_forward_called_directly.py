"""NN601 forward-called-directly."""

from __future__ import annotations

from helpers import codes, line_of, lint

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
