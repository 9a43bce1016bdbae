"""NN208 train-loader-not-shuffled."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import apply_fix_and_recheck, codes, line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Severity
from nnlint.project import ProjectIndex

WRONG = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

features, labels = torch.randn(1000, 20), torch.randint(0, 4, (1000,))
train_set = TensorDataset(features, labels)
train_loader = DataLoader(train_set, batch_size=64)  # here
model = nn.Linear(20, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""


def test_reports_the_loader_of_the_training_loop_as_information():
    assert codes(WRONG, "NN2") == [("NN208", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN208")
    assert finding.severity is Severity.INFORMATION
    assert "does not shuffle `train_set`" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "for x, y in train_loader")


def test_fix_adds_shuffle():
    fixed = apply_fix_and_recheck(WRONG, "NN208")
    assert "DataLoader(train_set, batch_size=64, shuffle=True)  # here" in fixed


def test_fix_turns_shuffle_false_into_true():
    code = WRONG.replace("batch_size=64)", "batch_size=64, shuffle=False)")
    fixed = apply_fix_and_recheck(code, "NN208")
    assert "DataLoader(train_set, batch_size=64, shuffle=True)  # here" in fixed


def test_trainer_class_with_a_project_dataset_and_a_helper_loop():
    code = """\
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Windows(Dataset):
        def __init__(self, series, size):
            self.series, self.size = series, size

        def __len__(self):
            return len(self.series) - self.size

        def __getitem__(self, i):
            return self.series[i : i + self.size], self.series[i + self.size]

    def run_epoch(model, loader, opt):
        for i, (x, y) in enumerate(loader):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()

    class Trainer:
        def __init__(self, model, series):
            self.model = model
            self.opt = torch.optim.Adam(model.parameters())
            self.loader = DataLoader(Windows(series, 24), batch_size=32)  # here

        def fit(self, epochs):
            for _ in range(epochs):
                run_epoch(self.model, self.loader, self.opt)
    """
    assert codes(code, "NN208") == [("NN208", line_of(code, "# here"))]


def test_two_file_package_dataset_class_elsewhere(tmp_path: Path):
    files = {
        "pkg/__init__.py": "",
        "pkg/data.py": """\
            import torch
            from torch.utils.data import Dataset

            class Images(Dataset):
                def __init__(self, n):
                    self.n = n

                def __len__(self):
                    return self.n

                def __getitem__(self, i):
                    return torch.randn(3, 8, 8), i % 10
            """,
        "pkg/train.py": """\
            import torch
            from torch.utils.data import DataLoader
            from pkg.data import Images

            def main(model):
                loader = DataLoader(Images(500), batch_size=50)
                opt = torch.optim.SGD(model.parameters(), lr=0.01)
                for images, labels in loader:
                    opt.zero_grad()
                    torch.nn.functional.cross_entropy(model(images), labels).backward()
                    opt.step()
            """,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    target = tmp_path / "pkg" / "train.py"
    index = ProjectIndex(tmp_path, use_jedi=False)
    result = check_source(target.read_text(), str(target), Settings(select=("NN208",)), project=index)
    assert [(f.code, f.span.line) for f in result.findings] == [("NN208", 6)]


def test_loader_handed_to_a_trainer_constructor():
    code = """\
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Trainer:
        def __init__(self, model, loader):
            self.model = model
            self.loader = loader
            self.opt = torch.optim.SGD(model.parameters(), lr=0.1)

        def fit(self, epochs):
            for _ in range(epochs):
                for x, y in self.loader:
                    self.opt.zero_grad()
                    torch.nn.functional.mse_loss(self.model(x), y).backward()
                    self.opt.step()

    train_loader = DataLoader(TensorDataset(torch.randn(64, 2), torch.randn(64, 1)), batch_size=8)  # here
    Trainer(torch.nn.Linear(2, 1), train_loader).fit(3)
    """
    assert codes(code, "NN208") == [("NN208", line_of(code, "# here"))]


_PRELUDE = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, IterableDataset, WeightedRandomSampler
from torch.utils.data.distributed import DistributedSampler

model = nn.LSTM(4, 8)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
data = TensorDataset(torch.randn(100, 4), torch.randn(100, 8))
"""

SILENT = {
    "shuffled": """\
        loader = DataLoader(data, batch_size=8, shuffle=True)
        for x, y in loader:
            model(x)[0].sum().backward()
        """,
    "a sampler": """\
        loader = DataLoader(data, batch_size=8, sampler=DistributedSampler(data))
        weighted = DataLoader(data, batch_size=8, sampler=WeightedRandomSampler([1.0] * 100, 100))
        for x, y in loader:
            model(x)[0].sum().backward()
        for x, y in weighted:
            model(x)[0].sum().backward()
        """,
    "a batch sampler": """\
        loader = DataLoader(data, batch_sampler=batches)
        for x, y in loader:
            model(x)[0].sum().backward()
        """,
    "an iterable dataset": """\
        class Stream(IterableDataset):
            def __iter__(self):
                yield torch.randn(4), torch.randn(8)

        loader = DataLoader(Stream(), batch_size=8)
        for x, y in loader:
            model(x)[0].sum().backward()
        """,
    "a validation loader": """\
        val = DataLoader(data, batch_size=8)
        with torch.no_grad():
            for x, y in val:
                model(x)
        """,
    "one batch for an overfit check": """\
        one = DataLoader(data, batch_size=8)
        x, y = next(iter(one))
        for step in range(100):
            opt.zero_grad()
            model(x)[0].sum().backward()
            opt.step()
        """,
    "stateful RNN / TBPTT": """\
        loader = DataLoader(data, batch_size=8)
        hidden = None
        for x, y in loader:
            out, hidden = model(x, hidden)
            hidden = tuple(h.detach() for h in hidden)
            out.sum().backward()
        """,
    "a dataset whose kind cannot be told": """\
        loader = DataLoader(make_dataset(), batch_size=8)
        for x, y in loader:
            model(x)[0].sum().backward()
        """,
    "shuffle decided by a variable": """\
        def loader_for(dataset, train):
            return DataLoader(dataset, batch_size=8, shuffle=train)
        for x, y in loader_for(data, True):
            model(x)[0].sum().backward()
        """,
    "a dataset that orders itself": """\
        from torch.utils.data import Dataset
        class Shuffled(Dataset):
            def __init__(self):
                self.order = torch.randperm(100)
            def __len__(self):
                return 100
            def __getitem__(self, i):
                return data[self.order[i]]
        loader = DataLoader(Shuffled(), batch_size=8)
        for x, y in loader:
            model(x)[0].sum().backward()
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT))
def test_silent(name: str):
    assert codes(_PRELUDE + textwrap.dedent(SILENT[name]), "NN208") == []
