"""NN502 bias-before-batchnorm."""

from __future__ import annotations

from helpers import apply_fix_and_recheck, codes, line_of, lint

HEADER = """
import torch
import torch.nn as nn
from collections import OrderedDict
"""


def nn502(code: str) -> list[int]:
    return [line for code_, line in codes(code, "NN502") if code_ == "NN502"]


def test_sequential_inline() -> None:
    code = HEADER + """
features = nn.Sequential(
    nn.Conv2d(3, 32, kernel_size=3, padding=1),  # here
    nn.BatchNorm2d(32),
    nn.ReLU(inplace=True),
    nn.Conv2d(32, 64, 3),
    nn.ReLU(),
)
"""
    assert nn502(code) == [line_of(code, "# here")]
    finding = lint(code, "NN502")[0]
    assert "`nn.Conv2d`" in finding.message and "`nn.BatchNorm2d`" in finding.message
    assert finding.related[0].span.line == line_of(code, "nn.BatchNorm2d(32)")


def test_linear_then_batchnorm1d_and_aliases() -> None:
    code = """
from torch import nn
from torch.nn import Linear, BatchNorm1d
head = nn.Sequential(Linear(128, 64), BatchNorm1d(64), nn.ReLU())  # a
head2 = nn.Sequential(nn.Linear(128, 64, bias=True), nn.BatchNorm1d(64))  # b
"""
    assert nn502(code) == [line_of(code, "# a"), line_of(code, "# b")]


def test_forward_nested_and_consecutive() -> None:
    code = HEADER + """
class TabNet(nn.Module):
    def __init__(self, d_in=30, hidden=128):
        super().__init__()
        self.fc1 = nn.Linear(d_in, hidden)  # a
        self.bn1 = nn.BatchNorm1d(hidden)
        self.conv = nn.Conv2d(3, 16, 3)  # b
        self.bn2 = nn.BatchNorm2d(16)
        self.fc2 = nn.Linear(hidden, 2)

    def forward(self, x, img):
        x = torch.relu(self.bn1(self.fc1(x)))
        img = self.conv(img)
        img = self.bn2(img)
        return self.fc2(x), img
"""
    assert nn502(code) == [line_of(code, "# a"), line_of(code, "# b")]


def test_list_unpacked_into_sequential() -> None:
    code = HEADER + """
def make(cin, cout):
    layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)]  # a
    layers += [nn.ReLU(), nn.Conv1d(4, 4, 3), nn.BatchNorm1d(4)]  # b
    layers.append(nn.Linear(4, 8))  # c
    layers.append(nn.BatchNorm1d(8))
    return nn.Sequential(*layers)

block = nn.Sequential(OrderedDict([
    ("conv", nn.Conv2d(3, 8, 3)),  # d
    ("bn", nn.BatchNorm2d(8)),
]))
"""
    assert nn502(code) == [line_of(code, "# a"), line_of(code, "# b"), line_of(code, "# c"), line_of(code, "# d")]


def test_negatives() -> None:
    code = HEADER + """
use_bias = False
a = nn.Sequential(nn.Conv2d(3, 32, 3, bias=False), nn.BatchNorm2d(32))
b = nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.BatchNorm2d(32))
c = nn.Sequential(nn.Linear(8, 8), nn.LayerNorm(8))
d = nn.Sequential(nn.Conv2d(3, 32, 3), nn.GroupNorm(4, 32))
e = nn.Sequential(nn.Conv2d(3, 32, 3, bias=use_bias), nn.BatchNorm2d(32))
f = nn.Sequential(nn.Conv2d(3, 32, 3, **kw), nn.BatchNorm2d(32))
g = nn.ModuleList([nn.Conv2d(3, 32, 3), nn.BatchNorm2d(32)])
h = nn.Sequential(nn.Conv2d(3, 32, 3), nn.InstanceNorm2d(32))
i = nn.Sequential(nn.Conv2d(3, 32, 3), nn.BatchNorm2d(64))

def make_layers(cfg, batch_norm):
    layers = []
    in_channels = 3
    for v in cfg:
        conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
        if batch_norm:
            layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
        else:
            layers += [conv2d, nn.ReLU(inplace=True)]
        in_channels = v
    return nn.Sequential(*layers)

class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 8)
        self.bn1 = nn.BatchNorm1d(8)

    def forward(self, x, z):
        y = self.conv(x)
        out = self.bn(y)
        z = self.fc(z)
        z = torch.relu(z)
        z = self.bn1(z)
        return out + y, z

class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(self.conv(x)) + self.conv(x)

class NotAModule:
    def __init__(self):
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def run(self, x):
        return self.bn(self.conv(x))
"""
    assert nn502(code) == []


def test_fix_adds_bias_false() -> None:
    code = HEADER + """
features = nn.Sequential(
    nn.Conv2d(3, 32, kernel_size=3,
              padding=1),
    nn.BatchNorm2d(32),
)
"""
    fixed = apply_fix_and_recheck(code, "NN502")
    assert "nn.Conv2d(3, 32, kernel_size=3,\n              padding=1, bias=False)," in fixed


def test_fix_turns_bias_true_into_false() -> None:
    code = HEADER + """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8, True)
        self.bn = nn.BatchNorm1d(8)

    def forward(self, x):
        return self.bn(self.fc(x))
"""
    fixed = apply_fix_and_recheck(code, "NN502")
    assert "self.fc = nn.Linear(4, 8, False)" in fixed


def test_bias_left_at_its_default_through_kwargs() -> None:
    """YOLO (MultimediaTechLab) `Conv(..., **kwargs)` builds `nn.Conv2d(..., **kwargs)` then
    `self.bn`: reported when nothing in the file can put `bias` into those kwargs (no fix:
    a caller elsewhere could, and an added keyword would then raise); silent when a
    construction passes `bias=` or a mapping the file cannot see into."""
    code = """\
    from torch import nn

    class Conv(nn.Module):
        def __init__(self, cin, cout, k, **kwargs):
            super().__init__()
            kwargs.setdefault("padding", k // 2)
            self.conv = nn.Conv2d(cin, cout, k, **kwargs)
            self.bn = nn.BatchNorm2d(cout)

        def forward(self, x):
            return self.bn(self.conv(x))

    class Block(nn.Module):
        def __init__(self, c, **kwargs):
            super().__init__()
            self.a = Conv(c, c, 3, **kwargs)
            self.b = Conv(c, c, 1, **{"groups": 1})
    """
    findings = lint(code, "NN502")
    assert [f.span.line for f in findings] == [7]
    assert findings[0].fix is None and "never sets `bias`" in findings[0].message
    assert codes(code + "\nc = Conv(3, 8, 3, bias=False)\n", "NN502") == []
    assert codes(code.replace("**kwargs)\n            self.b", "**options)\n            self.b").replace(
        "def __init__(self, c, **kwargs)", "def __init__(self, c, options, **kwargs)"), "NN502") == []
    assert codes(code.replace('kwargs.setdefault("padding", k // 2)', 'kwargs.update(extra)'), "NN502") == []


def test_layers_and_norms_paired_through_module_lists() -> None:
    """DGL's GIN `MLP`: `self.batch_norms[i](self.linears[i](h))` over two ModuleLists filled
    with `append`; the first Linear is reported. Silent when a list also holds something
    that is not a batch norm, or is filled outside `__init__`."""
    code = """\
    import torch
    from torch import nn
    import torch.nn.functional as F

    class MLP(nn.Module):
        def __init__(self, n, cin, hidden, cout):
            super().__init__()
            self.linears = torch.nn.ModuleList()
            self.batch_norms = torch.nn.ModuleList()
            self.linears.append(nn.Linear(cin, hidden))
            for layer in range(n - 2):
                self.linears.append(nn.Linear(hidden, hidden))
            self.linears.append(nn.Linear(hidden, cout))
            for layer in range(n - 1):
                self.batch_norms.append(nn.BatchNorm1d(hidden))

        def forward(self, h):
            for i in range(len(self.batch_norms)):
                h = F.relu(self.batch_norms[i](self.linears[i](h)))
            return self.linears[-1](h)
    """
    assert codes(code, "NN502") == [("NN502", 10)]
    fixed = apply_fix_and_recheck(code, "NN502")
    assert "nn.Linear(cin, hidden, bias=False)" in fixed
    mixed = code.replace("self.batch_norms.append(nn.BatchNorm1d(hidden))",
                         "self.batch_norms.append(nn.BatchNorm1d(hidden))\n            self.batch_norms.append(nn.LayerNorm(hidden))")
    assert codes(mixed, "NN502") == []
    later = code + """
        def grow(self, c):
            self.linears.insert(0, nn.Identity())
    """
    assert codes(later, "NN502") == []
