"""NN206 on a trainer that reads its loader from a dict by key (kan-bayashi/ParallelWaveGAN
before 'fixed shuffle in ddp training'): `data_loader = {"train": DataLoader(..., sampler=
train_sampler), ...}` handed to `Trainer`, whose `_train_epoch` loops over
`self.data_loader["train"]` and never calls `set_epoch`. The correct twins stay silent."""

from __future__ import annotations

from helpers import codes, line_of, lint

from nnlint.findings import Severity

WAVEGAN = """\
import torch
from torch.utils.data import DataLoader


class Trainer(object):
    def __init__(self, steps, data_loader, model, optimizer, config):
        self.steps = steps
        self.data_loader = data_loader
        self.model = model
        self.optimizer = optimizer
        self.config = config
        self.finish_train = False

    def run(self):
        while True:
            self._train_epoch()
            if self.finish_train:
                break

    def _train_step(self, batch):
        x, y = batch
        loss = torch.nn.functional.l1_loss(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.steps += 1

    def _train_epoch(self):
        for steps_per_epoch, batch in enumerate(self.data_loader["train"], 1):
            self._train_step(batch)
            if self.steps >= self.config["train_max_steps"]:
                self.finish_train = True
                return


def main(args, dataset, model, optimizer, config):
    train_sampler, dev_sampler = None, None
    if args.distributed:
        from torch.utils.data.distributed import DistributedSampler
        train_sampler = DistributedSampler(dataset=dataset["train"], shuffle=True)  # here
        dev_sampler = DistributedSampler(dataset=dataset["dev"], shuffle=False)
    data_loader = {
        "train": DataLoader(dataset=dataset["train"], shuffle=False if args.distributed else True,
                            sampler=train_sampler),
        "dev": DataLoader(dataset=dataset["dev"], shuffle=False, sampler=dev_sampler),
    }
    trainer = Trainer(steps=0, data_loader=data_loader, model=model, optimizer=optimizer, config=config)
    trainer.run()
"""


def test_reports_the_sampler_of_the_loader_read_by_key() -> None:
    findings = lint(WAVEGAN, "NN206")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(WAVEGAN, "# here"), Severity.WARNING)]
    assert "self.data_loader['train'].sampler.set_epoch(epoch)" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [
        line_of(WAVEGAN, '"train": DataLoader'),
        line_of(WAVEGAN, 'for steps_per_epoch'),
        line_of(WAVEGAN, "while True"),
    ]


# ---------------------------------------------------------------- correct twins
def test_the_shipped_fix_is_silent() -> None:
    """The fix keeps the samplers in a dict too and sets the epoch after each epoch."""
    code = WAVEGAN.replace(
        "                self.finish_train = True\n                return\n",
        "                self.finish_train = True\n                return\n"
        "        self.data_loader[\"train\"].sampler.set_epoch(self.steps)\n")
    assert codes(code, "NN206") == []


def test_the_dev_loader_read_by_key_is_not_a_training_loop() -> None:
    code = WAVEGAN.replace('self.data_loader["train"], 1', 'self.data_loader["dev"], 1')
    assert codes(code, "NN206") == []


def test_a_dict_written_by_key_later_is_not_followed() -> None:
    code = WAVEGAN.replace(
        "    trainer = Trainer(",
        "    data_loader[\"train\"] = make_loader(args)\n    trainer = Trainer(")
    assert codes(code, "NN206") == []


def test_a_key_the_dict_does_not_hold_or_a_variable_key_is_silent() -> None:
    assert codes(WAVEGAN.replace('self.data_loader["train"], 1', 'self.data_loader["other"], 1'), "NN206") == []
    assert codes(WAVEGAN.replace('self.data_loader["train"], 1', 'self.data_loader[self.split], 1'), "NN206") == []


def test_a_dict_of_unknown_origin_is_silent() -> None:
    code = WAVEGAN.replace("    data_loader = {\n", "    unused = {\n").replace(
        "data_loader=data_loader", "data_loader=build_loaders(args)")
    assert codes(code, "NN206") == []


def test_a_sampler_built_without_shuffle_is_silent() -> None:
    code = WAVEGAN.replace('dataset["train"], shuffle=True)', 'dataset["train"], shuffle=False)')
    assert codes(code, "NN206") == []
