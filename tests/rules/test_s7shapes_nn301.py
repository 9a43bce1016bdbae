"""NN301/NN302/NN304 on shapes found by the s7shapes review: a torch activation kept in a
name, wrapped by functools.partial or by a lambda, then fed to a loss."""

from pathlib import Path

import pytest

from helpers import apply_fix_and_recheck, codes, line_of, lint, lint_package

HEAD = """\
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Linear(5, 3)
{keep}


def step(x, y):
    loss = {loss}(act(model(x)), y)  # here
    loss.backward()
"""

BUGS = [
    ("act = torch.softmax", "F.cross_entropy", "NN301"),
    ("act = partial(F.softmax, dim=1)", "nn.CrossEntropyLoss()", "NN301"),
    ("act = lambda t: t.softmax(-1)", "F.cross_entropy", "NN301"),
    ("act = lambda t: torch.sigmoid(t)", "F.binary_cross_entropy_with_logits", "NN302"),
    ("act = torch.sigmoid", "nn.BCEWithLogitsLoss()", "NN302"),
    ("act = partial(F.softmax, dim=-1)", "F.nll_loss", "NN304"),
]


@pytest.mark.parametrize(("keep", "loss", "code"), BUGS)
def test_flags_an_activation_kept_in_a_name(keep: str, loss: str, code: str) -> None:
    text = HEAD.format(keep=keep, loss=loss)
    assert codes(text, code) == [(code, line_of(text, "# here"))]


@pytest.mark.parametrize(("keep", "loss", "code"), [b for b in BUGS if b[2] != "NN304"])
def test_fix_feeds_the_logits(keep: str, loss: str, code: str) -> None:
    fixed = apply_fix_and_recheck(HEAD.format(keep=keep, loss=loss), code)
    assert f"loss = {loss}(model(x), y)  # here" in fixed


OK = [
    ("act = partial(F.log_softmax, dim=1)", "F.nll_loss"),  # log-probabilities into NLL
    ("act = torch.log_softmax", "nn.NLLLoss()"),
    ("act = torch.relu", "F.cross_entropy"),  # not a squashing activation
    ("act = lambda t: t / 2.0", "F.cross_entropy"),
    ("act = lambda t: F.softmax(model(t), dim=1)", "F.cross_entropy"),  # applies to something else
    ("act = partial(torch.sigmoid, torch.zeros(3))", "F.binary_cross_entropy_with_logits"),  # input bound
    ("act = torch.softmax if USE_SOFTMAX else torch.relu", "F.cross_entropy"),  # not one function
]


@pytest.mark.parametrize(("keep", "loss"), OK)
def test_silent_on_correct_or_unproven_twins(keep: str, loss: str) -> None:
    assert codes(HEAD.format(keep=keep, loss=loss)) == []


def test_silent_when_the_name_is_rebound_to_another_function() -> None:
    text = HEAD.format(keep="act = torch.softmax\nact = torch.tanh", loss="F.cross_entropy")
    assert codes(text, "NN301") == []


METHOD = """\
import torch
import torch.nn as nn


class ClickModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(50, 1)

    def forward(self, x):
        return self.lin(x).squeeze(-1)

    def predict(self, x):
        return {predict}


model = ClickModel()
loss_fn = nn.{loss}()
for x, y in loader:
    loss = loss_fn(model.predict(x), y)  # here
    loss.backward()
"""


def test_flags_sigmoid_returned_by_a_model_method_into_bce_with_logits() -> None:
    text = METHOD.format(predict="torch.sigmoid(self(x))", loss="BCEWithLogitsLoss")
    findings = [f for f in lint(text, "NN302")]
    assert [(f.code, f.span.line) for f in findings] == [("NN302", line_of(text, "# here"))]
    assert [r.span.line for r in findings[0].related][0] == line_of(text, "return torch.sigmoid")
    assert findings[0].fix is None  # the activation is inside the method: nothing to drop here


@pytest.mark.parametrize(("predict", "loss"), [
    ("torch.sigmoid(self(x))", "BCELoss"),  # probabilities into BCELoss: right
    ("self(x)", "BCEWithLogitsLoss"),  # logits into the with-logits loss: right
    ("torch.sigmoid(self(x)) if not self.training else self(x)", "BCEWithLogitsLoss"),  # not one kind
])
def test_silent_on_correct_method_twins(predict: str, loss: str) -> None:
    assert codes(METHOD.format(predict=predict, loss=loss)) == []


def test_silent_on_a_method_of_a_class_that_is_no_module() -> None:
    text = METHOD.format(predict="torch.sigmoid(self(x))", loss="BCEWithLogitsLoss").replace(
        "class ClickModel(nn.Module)", "class ClickModel").replace("        super().__init__()\n", "")
    assert codes(text, "NN302") == []


HEADS = """\
import torch


def class_probabilities(model, x):
    logits = model(x)
    return torch.softmax(logits, dim=-1)
"""


@pytest.mark.parametrize("feed", [
    "    loss = F.cross_entropy(class_probabilities(model, x), y)  # here\n",
    "    p = class_probabilities(model, x)  # made\n    loss = F.cross_entropy(p, y)  # here\n",
])
def test_softmax_of_a_helper_in_another_module_names_lines_of_this_file(tmp_path: Path, feed: str) -> None:
    train = ("import torch.nn as nn\nimport torch.nn.functional as F\n\nfrom heads import class_probabilities\n\n"
             "model = nn.Linear(4, 3)\nfor x, y in loader:\n" + feed + "    loss.backward()\n")
    findings = lint_package(tmp_path, {"heads.py": HEADS, "train.py": train}, "train.py", "NN301")
    made = line_of(train, "# made") if "# made" in train else line_of(train, "# here")
    assert [(f.code, f.span.line) for f in findings] == [("NN301", line_of(train, "# here"))]
    assert f"(made on line {made})" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [made]
