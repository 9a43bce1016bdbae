"""NN502 bias-before-batchnorm."""

from __future__ import annotations

from helpers import codes, line_of, lint

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
