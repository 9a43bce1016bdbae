"""NN208 on a sampler that is None on one path (NVIDIA/tacotron2's `prepare_dataloaders`):
`DistributedSampler(ds) if distributed else None` with `shuffle=False` trains a single
process in the same order every epoch. The correct twins stay silent."""

from __future__ import annotations

from helpers import apply_fix_and_recheck, codes, line_of, lint

from nnlint.findings import Severity

# The shape tacotron2 shipped: the loader built in a helper that returns a tuple, the
# dataset's class imported from a module not analysed, a step counter in the loop.
TACOTRON = """\
import torch
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler
from data_utils import TextMelLoader


def prepare_dataloaders(hparams):
    trainset = TextMelLoader(hparams.training_files, hparams)
    train_sampler = DistributedSampler(trainset) \\
        if hparams.distributed_run else None
    train_loader = DataLoader(trainset, num_workers=1, shuffle=False,  # here
                              sampler=train_sampler, batch_size=hparams.batch_size, drop_last=True)
    return train_loader, trainset


def train(hparams, model, optimizer, criterion, validate):
    train_loader, valset = prepare_dataloaders(hparams)
    iteration = 0
    for epoch in range(hparams.epochs):
        for i, batch in enumerate(train_loader):
            model.zero_grad()
            x, y = batch
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            if iteration % 1000 == 0:
                validate(model, valset, iteration)
            iteration += 1
"""


def test_reports_a_sampler_that_is_none_without_distributed_training():
    assert codes(TACOTRON, "NN208") == [("NN208", line_of(TACOTRON, "# here"))]
    (finding,) = lint(TACOTRON, "NN208")
    assert finding.severity is Severity.INFORMATION
    assert "when its sampler `train_sampler` is None" in finding.message
    assert "`shuffle=train_sampler is None`" in finding.message
    lines = [r.span.line for r in finding.related]
    assert lines == [line_of(TACOTRON, "for i, batch"), line_of(TACOTRON, "DistributedSampler(trainset)")]


def test_the_fix_shuffles_only_without_the_sampler():
    fixed = apply_fix_and_recheck(TACOTRON, "NN208")
    assert "shuffle=train_sampler is None," in fixed
    assert codes(fixed, "NN208") == []


def test_a_default_none_overridden_under_an_if_is_reported_too():
    code = TACOTRON.replace(
        """    train_sampler = DistributedSampler(trainset) \\
        if hparams.distributed_run else None
""",
        """    train_sampler = None
    if hparams.distributed_run:
        train_sampler = DistributedSampler(trainset)
""").replace("shuffle=False,  # here", "  # here")
    assert codes(code, "NN208") == [("NN208", line_of(code, "# here"))]
    fixed = apply_fix_and_recheck(code, "NN208")
    assert "shuffle=train_sampler is None" in fixed


def test_an_if_else_with_none_in_the_else_arm_is_reported():
    code = TACOTRON.replace(
        """    train_sampler = DistributedSampler(trainset) \\
        if hparams.distributed_run else None
""",
        """    if hparams.distributed_run:
        train_sampler = DistributedSampler(trainset)
    else:
        train_sampler = None
""")
    assert codes(code, "NN208") == [("NN208", line_of(code, "# here"))]


# ---------------------------------------------------------------- correct twins
def test_the_shipped_fix_is_silent():
    assert codes(TACOTRON.replace("shuffle=False,", "shuffle=True,"), "NN208") == []


def test_shuffle_when_there_is_no_sampler_is_silent():
    assert codes(TACOTRON.replace("shuffle=False,", "shuffle=(train_sampler is None),"), "NN208") == []
    assert codes(TACOTRON.replace("shuffle=False,", "shuffle=not hparams.distributed_run,"), "NN208") == []


def test_a_sampler_on_every_path_is_silent():
    code = TACOTRON.replace(
        """    train_sampler = DistributedSampler(trainset) \\
        if hparams.distributed_run else None
""",
        """    train_sampler = None
    train_sampler = DistributedSampler(trainset)
""")
    assert codes(code, "NN208") == []
    both_arms = TACOTRON.replace(
        """    train_sampler = DistributedSampler(trainset) \\
        if hparams.distributed_run else None
""",
        """    train_sampler = None
    if hparams.distributed_run:
        train_sampler = DistributedSampler(trainset)
    else:
        train_sampler = DistributedSampler(trainset, num_replicas=1, rank=0)
""")
    assert codes(both_arms, "NN208") == []


def test_a_sampler_over_another_dataset_proves_nothing_of_this_one():
    code = TACOTRON.replace("DistributedSampler(trainset)", "DistributedSampler(hparams.other)")
    assert codes(code, "NN208") == []


def test_a_non_torch_sampler_or_unknown_one_is_silent():
    code = TACOTRON.replace("DistributedSampler(trainset) \\\n        if", "make_sampler(trainset) \\\n        if")
    assert codes(code, "NN208") == []


def test_an_evaluation_loop_is_silent():
    code = TACOTRON.replace("            loss.backward()\n", "")
    assert codes(code, "NN208") == []


def test_a_hidden_state_carried_between_batches_is_still_silent():
    code = TACOTRON.replace(
        "            loss = criterion(model(x), y)\n",
        "            out, hidden = model(x, hidden)\n            loss = criterion(out, y)\n")
    assert codes(code, "NN208") == []


_OWN_DATASET = """\
import random
import torch


class TextMelLoader(torch.utils.data.Dataset):
    def __init__(self, files, hparams):
        self.items = list(files)
        random.seed(hparams.seed)
        random.shuffle(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)
"""


def test_a_dataset_shuffled_once_at_construction_is_still_reported():
    code = TACOTRON.replace("from data_utils import TextMelLoader\n", _OWN_DATASET)
    assert codes(code, "NN208") == [("NN208", line_of(code, "# here"))]


def test_a_dataset_that_orders_its_samples_each_epoch_is_silent():
    per_epoch = _OWN_DATASET.replace(
        "    def __len__(self):",
        "    def set_epoch(self, epoch):\n        random.Random(epoch).shuffle(self.items)\n\n    def __len__(self):")
    code = TACOTRON.replace("from data_utils import TextMelLoader\n", per_epoch)
    assert codes(code, "NN208") == []
