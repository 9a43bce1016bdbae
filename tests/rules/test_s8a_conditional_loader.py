"""The loader a loop reads through a progress bar on one path only (karpathy/minGPT's
`Trainer.train`: `pbar = tqdm(enumerate(loader)) if is_train else enumerate(loader)`) is the
loader whichever arm runs: `Training.loop_loader` finds it, so NN208 and NN206 see the
training loop's DataLoader. A dataset chosen by the same flag (`data = train if is_train else
test`) is map-style only when both arms are. minGPT itself gets its datasets from a notebook
nobody analyses: that stays silent (the dataset may be iterable or order itself)."""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import codes, line_of, lint

from nnlint.semantic import Semantic
from nnlint.training import training

# minGPT's shape, with datasets this file proves map-style (TensorDataset).
MINGPT = """\
import torch
from tqdm import tqdm
from torch.utils.data import DataLoader, TensorDataset


class Trainer:

    def __init__(self, model, config):
        self.model = model
        self.train_dataset = TensorDataset(torch.randn(100, 8), torch.randn(100, 1))
        self.test_dataset = TensorDataset(torch.randn(20, 8), torch.randn(20, 1))
        self.config = config

    def train(self):
        model, config = self.model, self.config
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)

        def run_epoch(split):
            is_train = split == 'train'
            model.train(is_train)
            data = self.train_dataset if is_train else self.test_dataset
            loader = DataLoader(data, batch_size=config.batch_size, num_workers=config.num_workers)  # here

            losses = []
            pbar = tqdm(enumerate(loader), total=len(loader)) if is_train else enumerate(loader)
            for it, (x, y) in pbar:
                with torch.set_grad_enabled(is_train):
                    logits, loss = model(x, y)
                    losses.append(loss.item())
                if is_train:
                    model.zero_grad()
                    loss.backward()
                    optimizer.step()
                    pbar.set_description(f"iter {it}: train loss {loss.item():.5f}")
            return losses

        for epoch in range(config.max_epochs):
            run_epoch('train')
            run_epoch('test')
"""


def _loop_loader_lines(code: str) -> list[tuple[int, int | None]]:
    sem = Semantic.build(ast.parse(code), Path("t.py"))
    train = training(sem)
    return [(loop.line, getattr(train.loop_loader(loop), "lineno", None)) for loop in train.training_loops()
            if type(loop.node) is ast.For and type(loop.node.iter) is not ast.Call]


def test_the_loop_reads_the_loader_through_a_progress_bar_on_one_path():
    assert _loop_loader_lines(MINGPT) == [(line_of(MINGPT, "for it, (x, y)"), line_of(MINGPT, "# here"))]


def test_an_inline_conditional_iterable_reads_the_loader_too():
    code = MINGPT.replace("for it, (x, y) in pbar:", "for it, (x, y) in (tqdm(enumerate(loader)) if is_train else enumerate(loader)):")
    assert _loop_loader_lines(code) == [(line_of(code, "for it, (x, y)"), line_of(code, "# here"))]


def test_reports_the_unshuffled_loader_of_the_mingpt_shape():
    assert codes(MINGPT, "NN208") == [("NN208", line_of(MINGPT, "# here"))]
    (finding,) = lint(MINGPT, "NN208")
    assert [r.span.line for r in finding.related] == [line_of(MINGPT, "for it, (x, y)")]


def test_the_shuffled_loader_is_silent():
    code = MINGPT.replace("num_workers=config.num_workers)", "num_workers=config.num_workers, shuffle=is_train)")
    assert codes(code, "NN208") == []


def test_datasets_handed_in_by_the_caller_stay_silent():
    # minGPT itself: the datasets come from a notebook, their kind is unknown
    code = MINGPT.replace("def __init__(self, model, config):", "def __init__(self, model, train_dataset, test_dataset, config):") \
        .replace("TensorDataset(torch.randn(100, 8), torch.randn(100, 1))", "train_dataset") \
        .replace("TensorDataset(torch.randn(20, 8), torch.randn(20, 1))", "test_dataset")
    assert codes(code, "NN208") == []


def test_one_arm_of_unknown_kind_is_silent():
    code = MINGPT.replace("self.test_dataset = TensorDataset(torch.randn(20, 8), torch.randn(20, 1))",
                          "self.test_dataset = config.make_test_set()")
    assert codes(code, "NN208") == []


def test_arms_reading_different_loaders_are_silent():
    # one arm iterates another object: which loader the loop reads depends on the flag
    code = MINGPT.replace("else enumerate(loader)", "else enumerate(config.eval_batches)")
    assert _loop_loader_lines(code) == [(line_of(code, "for it, (x, y)"), None)]
    assert codes(code, "NN208") == []


def test_an_evaluation_only_loop_is_silent():
    code = MINGPT.replace("""                if is_train:
                    model.zero_grad()
                    loss.backward()
                    optimizer.step()
                    pbar.set_description(f"iter {it}: train loss {loss.item():.5f}")
""", "")
    assert codes(code, "NN208") == []


# NN206 through the same shape: a shuffling DistributedSampler behind a progress bar on one path.
SAMPLED = """\
import torch
from tqdm import tqdm
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler


def train(model, optimizer, train_set, epochs, verbose):
    sampler = DistributedSampler(train_set)  # here
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        pbar = tqdm(loader) if verbose else loader
        for x, y in pbar:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
"""


def test_nn206_reports_the_sampler_behind_a_conditional_progress_bar():
    assert codes(SAMPLED, "NN206") == [("NN206", line_of(SAMPLED, "# here"))]


def test_nn206_silent_when_the_epoch_is_set_on_the_loaders_sampler():
    code = SAMPLED.replace("        pbar = tqdm", "        loader.sampler.set_epoch(epoch)\n        pbar = tqdm")
    assert codes(code, "NN206") == []


def test_nn206_silent_when_a_helper_sets_the_epoch():
    code = SAMPLED.replace("def train(", "def start_epoch(sampler, epoch):\n    sampler.set_epoch(epoch)\n\n\ndef train(") \
        .replace("        pbar = tqdm", "        start_epoch(sampler, epoch)\n        pbar = tqdm")
    assert codes(code, "NN206") == []


def test_nn206_silent_for_a_sampler_that_does_not_shuffle():
    code = SAMPLED.replace("DistributedSampler(train_set)", "DistributedSampler(train_set, shuffle=False)")
    assert codes(code, "NN206") == []


def test_nn206_silent_for_a_sampler_that_is_not_distributed():
    code = SAMPLED.replace("DistributedSampler(train_set)", "torch.utils.data.RandomSampler(train_set)")
    assert codes(code, "NN206") == []


# The progress bar on the main process only (DDP scripts), in a helper given the loader.
RANK_ZERO = """\
import torch
from tqdm import tqdm
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler


def train_one_epoch(model, optimizer, loader, rank):
    batches = tqdm(loader) if rank == 0 else loader
    for x, y in batches:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()


def main(model, optimizer, train_set, rank, epochs):
    sampler = DistributedSampler(train_set)  # here
    train_loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer, train_loader, rank)
"""


def test_nn206_reports_through_a_rank_zero_progress_bar_in_a_helper():
    assert codes(RANK_ZERO, "NN206") == [("NN206", line_of(RANK_ZERO, "# here"))]


def test_nn206_rank_zero_progress_bar_silent_when_the_epoch_is_set():
    code = RANK_ZERO.replace("        train_one_epoch(", "        sampler.set_epoch(epoch)\n        train_one_epoch(")
    assert codes(code, "NN206") == []


def test_nn206_rank_zero_progress_bar_evaluation_loop_is_silent():
    code = RANK_ZERO.replace("        loss.backward()\n        optimizer.step()\n", "        print(loss.item())\n")
    assert codes(code, "NN206") == []


def test_nn206_rank_zero_progress_bar_rebinding_the_loaders_name():
    code = RANK_ZERO.replace("    batches = tqdm(loader) if rank == 0 else loader\n    for x, y in batches:",
                             "    loader = tqdm(loader) if rank == 0 else loader\n    for x, y in loader:")
    assert codes(code, "NN206") == [("NN206", line_of(code, "# here"))]
