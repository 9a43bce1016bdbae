"""NN505 on a model whose forward returns `log_softmax(x, dim=0)` and whose output rows are
paired with target rows by one loss (`F.nll_loss(out[mask], y[mask])`): indexing the output
and the targets by the same rows proves dim 0 of the output is the sample axis.
pytorch_geometric's Cora example shipped it (fixed by 'wrong softmax dim'). A shipped-bug
miss of the s8 real-bug set."""

import pytest
import torch
import torch.nn.functional as F

from helpers import apply_fix_and_recheck, codes, line_of

TEMPLATE = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 7)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
{body}


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
x = torch.randn(100, 16)
y = torch.randint(0, 7, (100,))
train_mask = torch.arange(0, 60)


def train():
    model.train()
    optimizer.zero_grad()
{use}
    loss.backward()
    optimizer.step()
'''

SAME_ROWS = '''    out = model(x)
    loss = F.nll_loss(out[train_mask], y[train_mask])'''

BUGS = {
    "returned directly": ("        return F.log_softmax(x, dim=0)", SAME_ROWS),
    "bound then returned": ("        x = F.log_softmax(x, 0)\n        return x", SAME_ROWS),
    "the tensor method": ("        return x.log_softmax(dim=0)", SAME_ROWS),
    "a criterion object": ("        return F.log_softmax(x, dim=0)",
                           "    out = model(x)\n    criterion = nn.NLLLoss()\n"
                           "    loss = criterion(out[train_mask], y[train_mask])"),
    "rows given by an attribute": ("        return torch.log_softmax(x, dim=0)",
                                   "    out = model(x)\n    data = Data(train_mask)\n"
                                   "    loss = F.nll_loss(out[data.train_mask], y[data.train_mask])"),
}

CORRECT = {
    "the class dimension": ("        return F.log_softmax(x, dim=1)", SAME_ROWS),
    "one sample's scores, unindexed loss": (
        "        return F.log_softmax(x, dim=0)",
        "    out = model(x[0])\n    loss = F.nll_loss(out, y[0])"),
    "rows of the output, not of the targets": (
        "        return F.log_softmax(x, dim=0)",
        "    out = model(x)\n    loss = F.nll_loss(out[train_mask], y)"),
    "different rows": (
        "        return F.log_softmax(x, dim=0)",
        "    out = model(x)\n    other = train_mask\n    loss = F.nll_loss(out[train_mask], y[other])"),
    "a reshape after the softmax": (
        "        return F.log_softmax(x, dim=0).view(-1, 7)", SAME_ROWS),
    "another return with the class dimension": (
        "        if x.dim() == 1:\n            return F.log_softmax(x, dim=0)\n"
        "        return F.log_softmax(x, dim=1)", SAME_ROWS),
    "a branch binds the class dimension": (
        "        if x.dim() == 1:\n            x = F.log_softmax(x, dim=0)\n"
        "        else:\n            x = F.log_softmax(x, dim=1)\n        return x", SAME_ROWS),
    "a tuple index, not rows": (
        "        return F.log_softmax(x, dim=0)",
        "    out = model(x)\n    idx = (slice(None), 0)\n    loss = F.nll_loss(out[idx], y[idx])"),
    "a regression loss": (
        "        return F.log_softmax(x, dim=0)",
        "    out = model(x)\n    loss = F.mse_loss(out[train_mask], y[train_mask].float())"),
}


def _code(body: str, use: str) -> str:
    code = TEMPLATE.format(body=body, use=use)
    if "Data(" in code:
        code = code.replace("def train():", "class Data:\n    def __init__(self, m):\n"
                                             "        self.train_mask = m\n\n\ndef train():")
    return code


@pytest.mark.parametrize("body, use", BUGS.values(), ids=BUGS.keys())
def test_a_forward_softmax_over_rows_paired_with_targets_is_reported(body: str, use: str) -> None:
    code = _code(body, use)
    assert codes(code, "NN505") == [("NN505", line_of(code, "softmax("))]


@pytest.mark.parametrize("body, use", CORRECT.values(), ids=CORRECT.keys())
def test_correct_look_alikes_are_silent(body: str, use: str) -> None:
    assert codes(_code(body, use), "NN505") == []


def test_the_fix_moves_the_softmax_to_the_class_dimension() -> None:
    code = _code("        return F.log_softmax(x, dim=0)", SAME_ROWS)
    fixed = apply_fix_and_recheck(code, "NN505")
    assert "F.log_softmax(x, dim=1)" in fixed and codes(fixed, "NN505") == []


def test_dim0_normalises_each_class_across_the_samples() -> None:
    """The effect the finding claims: with dim=0 a sample's probabilities depend on the
    other rows, and do not sum to one over its classes."""
    torch.manual_seed(0)
    scores = torch.randn(5, 3)
    wrong = F.log_softmax(scores, dim=0).exp()
    assert not torch.allclose(wrong.sum(dim=1), torch.ones(5))
    assert torch.allclose(wrong.sum(dim=0), torch.ones(3))
    shifted = scores.clone()
    shifted[4] += 10.0  # another sample changes ...
    assert not torch.allclose(F.log_softmax(shifted, dim=0)[0], F.log_softmax(scores, dim=0)[0])
    assert torch.allclose(F.log_softmax(shifted, dim=1)[0], F.log_softmax(scores, dim=1)[0])
