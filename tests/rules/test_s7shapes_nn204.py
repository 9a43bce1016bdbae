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


def test_still_flags_a_test_set_evaluation_named_test() -> None:
    # `def test(model, loader)` (pytorch/examples' mnist) is an evaluation pass, not a unit test
    code = """\
    import torch
    import torch.nn.functional as F

    def train(model, loader, opt):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            F.nll_loss(model(x), y).backward()
            opt.step()

    def test(model, loader):
        model.eval()
        correct = 0
        for x, y in loader:
            correct += model(x).argmax(1).eq(y).sum().item()
        return correct
    """
    assert [code for code, _ in codes(code, "NN204")] == ["NN204"]


def test_still_flags_a_loop_over_data_in_a_test_function() -> None:
    code = TEST.format(head="def test_accuracy(loader):").replace(
        "    out = block(x)  # here\n", "    for x, y in loader:\n        out = block(x)  # here\n")
    assert [code for code, _ in codes(code, "NN204")] == ["NN204"]
