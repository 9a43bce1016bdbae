"""NN204 on a shape found by the s7shapes review: a unit test that calls eval() for
determinism and compares outputs is no evaluation pass."""

import pytest

from helpers import codes, line_of

TEST = """\
import unittest

import torch
import torch.nn as nn


{head}
    block = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.BatchNorm1d(8))
    block.eval()
    x = torch.randn(4, 8)
    out = block(x)  # here
    assert torch.equal(out, block(x))
"""


@pytest.mark.parametrize("head", [
    "def test_output_is_deterministic():",
    "class TestBlock:\n    def test_output_is_deterministic(self):",
    "class BlockCase(unittest.TestCase):\n    def test_output_is_deterministic(self):",
])
def test_silent_in_unit_tests(head: str) -> None:
    text = TEST.format(head=head)
    if head.startswith("class"):
        text = text.replace("\n    ", "\n        ").replace("        def test", "    def test")
    assert codes(text, "NN204") == []


@pytest.mark.parametrize("head", [
    "def predict_once():",  # not a test
    "class Block:\n    def test_run(self):",  # a `test_` method of a class no runner collects
])
def test_still_flags_other_functions(head: str) -> None:
    text = TEST.format(head=head)
    if head.startswith("class"):
        text = text.replace("\n    ", "\n        ").replace("        def test", "    def test")
    assert [code for code, _ in codes(text, "NN204")] == ["NN204"]
    assert codes(text, "NN204")[0][1] in (line_of(text, "# here"), line_of(text, "def "))
