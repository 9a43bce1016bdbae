"""NN305 in the trainer-class shape (sorrel's ViTOneHot before 'Debugging softmax logic in
forward pass'): a base module's training method runs `self.forward(...)` and
`self.state_loss(...)`; a subclass overrides both, its forward joins softmaxed heads with
`torch.cat` in a loop and its `state_loss` feeds them to `nn.CrossEntropyLoss`. Run on the
subclass, the inherited training method gives cross entropy probabilities."""

from __future__ import annotations

import pytest

from helpers import codes, line_of

CODE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)
        self.optimizer = torch.optim.Adam(self.parameters())

    def forward(self, x):
        h = self.body(x)
        return self.head(h), h

    def state_loss(self, predictions, targets):
        return nn.MSELoss()(predictions, targets)

    def train_model(self, x, targets):
        predictions, _ = self.forward(x)
        loss = self.state_loss(predictions, targets)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()


class OneHot(Base):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(8, 2) for _ in range(3)])

    def forward(self, x):
        h = self.body(x)
        out = torch.tensor([], requires_grad=True)
        for head in self.heads:
            piece = F.softmax(head(h), dim=1)  # softmax
            out = torch.cat((out, piece.unsqueeze(-1)), dim=-1)
        return out, h

    def state_loss(self, predictions, targets):
        loss = nn.CrossEntropyLoss()
        return loss(predictions, targets)  # here
"""


def test_flags_the_override_fed_by_the_inherited_training_method() -> None:
    assert codes(CODE, "NN3") == [("NN305", line_of(CODE, "# here"))]


def test_a_later_definition_replaces_the_earlier_one() -> None:
    # a first `state_loss` of the subclass that the second replaces (as Python does)
    code = CODE.replace(
        "    def state_loss(self, predictions, targets):\n        loss = nn.CrossEntropyLoss()",
        "    def state_loss(self, predictions, targets):\n        return nn.MSELoss()(predictions, targets)\n\n"
        "    def state_loss(self, predictions, targets):\n        loss = nn.CrossEntropyLoss()")
    assert codes(code, "NN3") == [("NN305", line_of(code, "# here"))]


@pytest.mark.parametrize("old, new", [
    # the subclass's forward returns logits
    ("            piece = F.softmax(head(h), dim=1)  # softmax", "            piece = head(h)"),
    # a join of probabilities and logits has no single kind
    ("            out = torch.cat((out, piece.unsqueeze(-1)), dim=-1)",
     "            out = torch.cat((out, piece.unsqueeze(-1), head(h).unsqueeze(-1)), dim=-1)"),
    # the accumulator starts from something besides an empty tensor
    ("        out = torch.tensor([], requires_grad=True)", "        out = h.unsqueeze(-1)"),
    # the subclass trains itself: the base's training method never runs on it
    ("    def state_loss(self, predictions, targets):\n        loss = nn.CrossEntropyLoss()",
     "    def train_model(self, x, targets):\n        return 0.0\n\n"
     "    def state_loss(self, predictions, targets):\n        loss = nn.CrossEntropyLoss()"),
    # the base calls the loss of another object, not of `self`
    ("        loss = self.state_loss(predictions, targets)", "        loss = self.critic.state_loss(predictions, targets)"),
])
def test_silent_on_look_alikes(old: str, new: str) -> None:
    assert old in CODE
    assert codes(CODE.replace(old, new), "NN3") == []


def test_the_base_class_alone_is_silent() -> None:
    # the base's own state_loss is MSE on its logits: nothing to report
    code = CODE[:CODE.index("class OneHot")]
    assert codes(code, "NN3") == []


def test_a_joined_softmax_fed_straight_to_cross_entropy_has_no_fix() -> None:
    code = """\
    import torch
    import torch.nn.functional as F

    def loss_of(a, b, y):
        probs = torch.cat([F.softmax(a, dim=1), F.softmax(b, dim=1)], dim=0)
        return F.cross_entropy(probs, y)  # here
    """
    from helpers import lint
    findings = lint(code, "NN301")
    assert [(f.code, f.span.line) for f in findings] == [("NN301", line_of(code, "# here"))]
    assert all(f.fix is None for f in findings)
