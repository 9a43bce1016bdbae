"""NN208 train-loader-not-shuffled."""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import codes, line_of, lint

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
