"""NN202 for a module that trains itself (issue 13): FuxiCTR's BaseModel runs its own epoch
loop, computes the loss through `self.get_total_loss(batch)` (which calls `self.forward`), and
`self.on_batch_end()` evaluates mid-epoch with `self.eval()`; the rest of the epoch trains in
evaluation mode."""

from __future__ import annotations

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Severity

MODEL = """\
import torch
import torch.nn as nn


class BaseModel({base}):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
{layers}        self.optimizer = torch.optim.Adam(self.parameters())

    def forward(self, x):
        return self.fc(x)

    def get_total_loss(self, inputs):
        x, y = inputs
        return ((self.forward(x) - y) ** 2).mean()

    def on_batch_end(self, batch):
        if (batch + 1) % 10 == 0:
            self.evaluate_generator(self.valid_gen)

    def train_one_epoch(self, data_generator):
        self.train()
        for batch_index, batch_data in enumerate(data_generator):
{top}            self.optimizer.zero_grad()
            loss = {loss}
            loss.backward()
            self.optimizer.step()
            self.on_batch_end(batch_index)

    def evaluate_generator(self, data_generator):
        self.eval()
        with torch.no_grad():
            for x, y in data_generator:
                self.forward(x)
{restore}"""

DROPOUT = "        self.drop = nn.Dropout(0.2)\n"


def nn202(base: str = "nn.Module", layers: str = DROPOUT, top: str = "", restore: str = "",
          loss: str = "self.get_total_loss(batch_data)", header: str = "") -> list[tuple[int, Severity]]:
    text = header + MODEL.format(base=base, layers=layers, top=top, restore=restore, loss=loss)
    loss_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.strip().startswith("loss = "))
    result = check_source(text, "base_model.py", Settings(select=("NN202",)))
    return [(LOSS_LINE if f.span.line == loss_line else f.span.line, f.severity) for f in result.findings]


LOSS_LINE = -1  # nn202() reports a finding on the training loss line as this line


def test_forward_through_a_method_and_eval_mid_epoch_is_found() -> None:
    assert nn202() == [(LOSS_LINE, Severity.WARNING)]


def test_direct_self_forward_is_found() -> None:
    assert nn202(loss="((self(batch_data[0]) - batch_data[1]) ** 2).mean()") == [(LOSS_LINE, Severity.WARNING)]


def test_layers_left_to_subclasses_make_it_information() -> None:
    assert nn202(layers="") == [(LOSS_LINE, Severity.INFORMATION)]


def test_train_restored_at_the_top_of_the_loop_is_silent() -> None:
    assert nn202(top="            self.train()\n") == []


def test_evaluation_that_restores_train_mode_is_silent() -> None:
    assert nn202(restore="        self.train()\n") == []


def test_lightning_module_is_silent() -> None:
    assert nn202(base="pl.LightningModule", header="import pytorch_lightning as pl\n") == []


def test_a_class_that_is_not_a_module_is_silent() -> None:
    assert nn202(base="object") == []


def test_method_that_never_runs_the_forward_is_not_a_forward() -> None:
    assert nn202(loss="self.optimizer.param_groups[0]['lr'] * self.fc.weight.sum()") == []
