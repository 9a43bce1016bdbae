"""NN505 softmax-over-batch-dim."""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import codes, line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

WRONG = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.conv(x)).mean((2, 3))
        return self.fc(x)

def predict(model, dataset):
    model.eval()
    loader = DataLoader(dataset, batch_size=64)
    with torch.no_grad():
        for images, _ in loader:
            logits = model(images)
            probs = F.softmax(logits, dim=0)  # here
            yield probs.argmax(1)

predictions = list(predict(Net(), None))
"""


def test_flags_softmax_over_the_batch():
    assert codes(WRONG, "NN5") == [("NN505", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN505")
    assert "dim 0 is the batch" in finding.message
    assert [r.span.line for r in finding.related] == [line_of(WRONG, "logits = model(images)"),
                                                     line_of(WRONG, "loader = DataLoader")]


def test_two_file_package(tmp_path: Path):
    files = {
        "pkg/__init__.py": "",
        "pkg/model.py": """\
            from torch import nn

            class Classifier(nn.Module):
                def __init__(self):
                    super().__init__()
                    self.body = nn.Sequential(nn.Linear(20, 64), nn.ReLU())
                    self.head = nn.Linear(64, 4)

                def forward(self, x):
                    return self.head(self.body(x))
            """,
        "pkg/infer.py": """\
            import torch
            from torch.utils.data import DataLoader
            from pkg.model import Classifier

            model = Classifier()
            for x, _ in DataLoader(dataset, batch_size=32):
                probs = torch.softmax(model(x), dim=0)
            """,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    target = tmp_path / "pkg" / "infer.py"
    index = ProjectIndex(tmp_path, use_jedi=False)
    result = check_source(target.read_text(), str(target), Settings(select=("NN505",)), project=index)
    assert [(f.code, f.span.line) for f in result.findings] == [("NN505", 7)]
