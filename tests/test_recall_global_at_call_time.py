"""Recall for a script's module-level model read inside `train()` (issue 13): the model a
function sees is the one bound when module-level code calls it, not the module's last
binding (`model = torch.load(f)` after training), and an `if` on the same plain test in the
function and at module level takes the same arm (pytorch/examples word_language_model:
`if args.model == 'Transformer':` picks the model and, later, how to call it)."""

from __future__ import annotations

from nnlint.config import Settings
from nnlint.engine import check_source

SCRIPT = """\
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="LSTM")
args = parser.parse_args()


class RNNModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 8)
        self.decoder = nn.Linear(8, 10)

    def forward(self, x, hidden):
        out, hidden = self.rnn(x, hidden)
        return self.decoder(out), hidden


class TransformerModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.decoder = nn.Linear(8, 10)

    def forward(self, x):
        return F.log_softmax(self.decoder(x), dim=-1)


{choose}
criterion = nn.NLLLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)


def train(batches):
    hidden = None
    for data, targets in batches:
        optimizer.zero_grad()
        if {use_test}:
            output = model(data)
        else:
            output, hidden = model(data, hidden)
        loss = criterion(output.view(-1, 10), targets)
        loss.backward()
        optimizer.step()


for epoch in range(3):
    train([])

{after}
"""

CHOOSE = """\
if args.model == "Transformer":
    model = TransformerModel()
else:
    model = RNNModel()"""

AFTER = """\
with open("model.pt", "rb") as f:
    model = torch.load(f)"""


def nn304(choose: str = CHOOSE, use_test: str = 'args.model == "Transformer"', after: str = AFTER,
          extra: str = "") -> list[int]:
    text = SCRIPT.format(choose=choose, use_test=use_test, after=after) + extra
    loss_line = next(i for i, line in enumerate(text.splitlines(), 1) if "loss = criterion(" in line)
    result = check_source(text, "main.py", Settings(select=("NN304",)))
    return [f.span.line for f in result.findings if f.span.line == loss_line]


def test_model_of_the_matching_arm_at_call_time_is_found() -> None:
    assert len(nn304()) == 1


def test_without_a_later_reload_too() -> None:
    assert len(nn304(after="")) == 1


def test_a_different_test_does_not_pick_an_arm() -> None:
    # both models may reach the call: one gives log-probabilities, the other raw scores
    assert nn304(use_test='args.model == "GRU"') == []


def test_if_without_else_may_keep_the_earlier_model() -> None:
    choose = 'model = TransformerModel()\nif args.model == "LSTM":\n    model = RNNModel()'
    assert nn304(choose=choose, use_test="args.model != 'LSTM'") == []


def test_a_function_also_called_from_another_function_is_left_alone() -> None:
    assert nn304(extra="\n\ndef finetune():\n    train([])\n") == []


def test_a_test_with_a_call_is_not_assumed_to_repeat() -> None:
    choose = CHOOSE.replace('args.model == "Transformer"', 'pick() == "Transformer"')
    assert nn304(choose="def pick():\n    return args.model\n\n\n" + choose,
                 use_test='pick() == "Transformer"') == []


def test_the_same_model_built_in_both_arms_is_one_construction() -> None:
    # pytorch-segnet: `SegNet(...).cuda(GPU_ID)` on one arm, `SegNet(...)` on the other
    choose = 'if args.model == "cuda":\n    model = RNNModel().cuda()\nelse:\n    model = RNNModel()'
    assert len(nn304(choose=choose, use_test='args.model == "GRU"')) == 1
