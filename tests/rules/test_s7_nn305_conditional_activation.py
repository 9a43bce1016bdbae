"""NN305 on a forward whose activation is applied only on some paths: the output is logits
or probabilities as a flag says, so no single kind is proven (an FP found on
delip/PyTorchNLPBook, whose classifiers take `apply_softmax=False` and are trained with
cross entropy). An activation every path applies is still reported."""

import pytest

from helpers import codes, line_of

TEMPLATE = '''
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x, apply_softmax=False):
        prediction = self.fc(x)
{body}
        return prediction


model = Classifier()
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    loss.backward()
    optimizer.step()
'''

CONDITIONAL = {
    "one arm of a nested if": (
        "        if apply_softmax:\n            if x is None:\n                prediction = F.softmax(prediction, dim=1)\n"
        "        else:\n            prediction = F.softmax(prediction, dim=1)"),
    "a flag argument": "        if apply_softmax:\n            prediction = F.softmax(prediction, dim=1)",
    "evaluation mode only": "        if not self.training:\n            prediction = prediction.softmax(dim=-1)",
    "an if/else with logits in one arm": (
        "        if apply_softmax:\n            prediction = F.softmax(prediction, dim=1)\n"
        "        else:\n            prediction = prediction * 1.0"),
    "a loop that may not run": "        for _ in range(int(apply_softmax)):\n            prediction = torch.softmax(prediction, 1)",
    "an except handler": (
        "        try:\n            prediction = prediction.float()\n"
        "        except RuntimeError:\n            prediction = F.softmax(prediction, dim=1)"),
}

ALWAYS = {
    "overwritten in the same arm": (
        "        if apply_softmax:\n            prediction = prediction * 2.0\n"
        "            prediction = F.softmax(prediction, dim=1)\n"
        "        else:\n            prediction = F.softmax(prediction, dim=1)"),
    "in both arms of a nested if": (
        "        if apply_softmax:\n            if x is None:\n                prediction = F.softmax(prediction, dim=1)\n"
        "            else:\n                prediction = torch.softmax(prediction, 1)\n"
        "        else:\n            prediction = F.softmax(prediction, dim=1)"),
    "unconditional": "        prediction = F.softmax(prediction, dim=1)",
    "inside a with block": "        with torch.autocast('cpu'):\n            prediction = F.softmax(prediction, dim=1)",
    "in both arms": (
        "        if apply_softmax:\n            prediction = F.softmax(prediction, dim=1)\n"
        "        else:\n            prediction = torch.softmax(prediction, 1)"),
    "in a try body": "        try:\n            prediction = F.softmax(prediction, dim=1)\n        finally:\n            pass",
}


@pytest.mark.parametrize("body", CONDITIONAL.values(), ids=CONDITIONAL.keys())
def test_an_activation_on_some_paths_only_is_not_the_models_output(body: str) -> None:
    assert codes(TEMPLATE.format(body=body), "NN305") == []


@pytest.mark.parametrize("body", ALWAYS.values(), ids=ALWAYS.keys())
def test_an_activation_on_every_path_is_reported(body: str) -> None:
    code = TEMPLATE.format(body=body)
    assert codes(code, "NN305") == [("NN305", line_of(code, "loss = criterion"))]


def test_a_helper_that_returns_probabilities_on_one_path_only() -> None:
    code = '''
import torch
import torch.nn as nn


def head(logits, probabilities=False):
    out = logits
    if probabilities:
        out = logits.softmax(-1)
    return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return head(self.fc(x))


net = Net()
loss = nn.CrossEntropyLoss()(net(x), y)
'''
    assert codes(code, "NN305") == []
    always = code.replace("    if probabilities:\n        out = logits.softmax(-1)", "    out = logits.softmax(-1)")
    assert codes(always, "NN305") == [("NN305", line_of(always, "loss = nn.CrossEntropyLoss"))]


def test_a_conditional_activation_reshaped_afterwards_is_still_conditional() -> None:
    """`if apply_softmax: y = F.softmax(y, 1)` then `y = y.view(b, t, c)` and `return y`
    (delip/PyTorchNLPBook's surname generator): the reshape keeps both possibilities."""
    body = ("        if apply_softmax:\n            prediction = F.softmax(prediction, dim=1)\n"
            "        size = prediction.shape[-1]\n        prediction = prediction.view(-1, 2, size)")
    assert codes(TEMPLATE.format(body=body), "NN305") == []
    always = ("        prediction = F.softmax(prediction, dim=1)\n"
              "        size = prediction.shape[-1]\n        prediction = prediction.view(-1, 2, size)")
    code = TEMPLATE.format(body=always)
    assert codes(code, "NN305") == [("NN305", line_of(code, "loss = criterion"))]
