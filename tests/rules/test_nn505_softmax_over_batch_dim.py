"""NN505 softmax-over-batch-dim."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import apply_fix_and_recheck, codes, line_of, lint

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


def test_fix_uses_the_class_dimension_of_a_linear_head():
    fixed = apply_fix_and_recheck(WRONG, "NN505")
    assert "probs = F.softmax(logits, dim=-1)  # here" in fixed


def test_method_module_and_log_softmax_forms_on_a_sequential():
    code = """\
    import torch
    import torch.nn as nn
    from torch.utils.data import DataLoader

    mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    loader = DataLoader(dataset, batch_size=16, shuffle=True)
    for x, y in loader:
        out = mlp(x)
        a = out.softmax(0)  # first
        b = nn.Softmax(dim=0)(mlp(x))  # second
        c = torch.log_softmax(out.detach(), 0)  # third
    """
    assert codes(code, "NN505") == [("NN505", line_of(code, "# first")), ("NN505", line_of(code, "# second")),
                                    ("NN505", line_of(code, "# third"))]


def test_conv_head_gets_dim_1():
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    seg = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 5, 1))
    for images, masks in DataLoader(data, batch_size=4):
        probs = F.softmax(seg(images), dim=0)
    """
    fixed = apply_fix_and_recheck(code, "NN505")
    assert "F.softmax(seg(images), dim=1)" in fixed


def test_trainer_method_and_helper():
    code = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    def confidence(logits):
        return F.softmax(logits, dim=0).max()  # not proven: a helper's parameter may be one example

    class Evaluator:
        def __init__(self, dataset):
            self.model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
            self.loader = DataLoader(dataset, batch_size=128)

        def run(self):
            for x, y in self.loader:
                scores = self.model(x)
                p = F.softmax(scores, 0)  # here
    """
    assert codes(code, "NN505") == [("NN505", line_of(code, "# here"))]


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


_PRELUDE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
loader = DataLoader(dataset, batch_size=16)
"""

SILENT = {
    "softmax over the classes": """\
        for x, y in loader:
            p = F.softmax(mlp(x), dim=1)
            q = mlp(x).softmax(-1)
        """,
    "one example's scores (1-D)": """\
        for x, y in loader:
            out = mlp(x)
            first = F.softmax(out[0], dim=0)
            single = F.softmax(mlp(x[0]), dim=0)
        """,
    "a vector made here": """\
        weights = torch.randn(5)
        p = F.softmax(weights, dim=0)
        """,
    "sequence-first attention inside a forward": """\
        class Attention(nn.Module):
            def __init__(self):
                super().__init__()
                self.score = nn.Linear(16, 1)

            def forward(self, h):  # h: (T, N, 16)
                weights = F.softmax(self.score(h), dim=0)
                return (weights * h).sum(0)
        """,
    "a sequence-first LSTM tagger": """\
        class Tagger(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(8, 16)
                self.out = nn.Linear(16, 5)

            def forward(self, x):
                h, _ = self.lstm(x)
                return self.out(h)

        tagger = Tagger()
        for x, y in loader:
            p = F.softmax(tagger(x), dim=0)
        """,
    "a forward that transposes": """\
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(8, 3)

            def forward(self, x):
                return self.fc(x.transpose(0, 1))

        net = Net()
        for x, y in loader:
            p = F.softmax(net(x), dim=0)
        """,
    "not a DataLoader batch": """\
        x = torch.randn(4)
        p = F.softmax(mlp(x), dim=0)
        """,
    "a custom collate": """\
        other = DataLoader(dataset, batch_size=4, collate_fn=lambda b: b)
        for x in other:
            p = F.softmax(mlp(x), dim=0)
        """,
    "dim from a variable": """\
        for x, y in loader:
            p = F.softmax(mlp(x), dim=axis)
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT))
def test_silent(name: str):
    assert codes(_PRELUDE + textwrap.dedent(SILENT[name]), "NN505") == []
