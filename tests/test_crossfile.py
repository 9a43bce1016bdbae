"""Cross-file reasoning: helpers, models and losses imported from the user's other modules
feed the rules exactly as same-file ones do (issue 5). Fixtures are written per test."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from nnlint.config import Settings
from nnlint.engine import check_path, check_source
from nnlint.project import ProjectIndex


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def found(root: Path, name: str = "train.py", select: str | None = None) -> list[tuple[str, int]]:
    settings = Settings(select=(select,)) if select else Settings()
    index = ProjectIndex(root, use_jedi=False)
    path = root / name
    result = check_source(path.read_text(encoding="utf-8"), str(path), settings, project=index)
    return [(f.code, f.span.line) for f in result.findings]


MODELS = """\
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 2))

    def forward(self, x):
        return self.body(x)
"""

ENGINE_NO_RESTORE = """\
import torch

def validate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x, _ in loader]
"""

TRAIN = """\
import torch
from pkg.engine import validate
from pkg.models import Net

model = Net()
opt = torch.optim.Adam(model.parameters())
for epoch in range(3):
    for x, y in loader:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    validate(model, val_loader)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    write(tmp_path, {"pkg/__init__.py": "", "pkg/models.py": MODELS, "pkg/engine.py": ENGINE_NO_RESTORE, "train.py": TRAIN})
    return tmp_path


def test_imported_eval_helper_that_does_not_restore_train(project: Path) -> None:
    assert found(project, select="NN202") == [("NN202", 10)]


def test_imported_eval_helper_that_restores_train_is_clean(project: Path) -> None:
    write(project, {"pkg/engine.py": ENGINE_NO_RESTORE.replace(
        "        return [model(x) for x, _ in loader]",
        "        out = [model(x) for x, _ in loader]\n    model.train()\n    return out")})
    assert found(project, select="NN202") == []


def test_editing_the_helper_updates_the_caller_without_reopening(project: Path) -> None:
    index = ProjectIndex(project, use_jedi=False)
    train = project / "train.py"
    text = train.read_text()
    first = check_source(text, str(train), Settings(select=("NN202",)), project=index).findings
    assert [f.code for f in first] == ["NN202"]
    engine = project / "pkg" / "engine.py"
    index.set_overlay(engine, 2, ENGINE_NO_RESTORE.replace("    model.eval()\n", "    model.eval()\n    model.train()\n"))
    second = check_source(text, str(train), Settings(select=("NN202",)), project=index).findings
    assert second == []


def test_relative_imports_and_module_attribute_calls(project: Path) -> None:
    write(project, {"pkg/run.py": TRAIN.replace("from pkg.engine import validate", "from . import engine")
                    .replace("from pkg.models import Net", "from .models import Net")
                    .replace("    validate(model, val_loader)", "    engine.validate(model, val_loader)")})
    assert found(project, "pkg/run.py", select="NN202") == [("NN202", 10)]


def test_imported_helper_that_switches_to_eval_avoids_a_false_missing_eval(project: Path) -> None:
    write(project, {
        "pkg/modes.py": "def freeze(m):\n    m.eval()\n",
        "infer.py": """\
        import torch
        from pkg.models import Net
        from pkg.modes import freeze
        model = Net()
        freeze(model)
        with torch.no_grad():
            out = model(batch)
        """,
    })
    assert found(project, "infer.py", select="NN201") == []
    write(project, {"pkg/modes.py": "def freeze(m):\n    m.requires_grad_(False)\n"})
    assert found(project, "infer.py", select="NN201") == [("NN201", 7)]


def test_imported_model_class_is_a_module(project: Path) -> None:
    write(project, {"infer.py": """\
        import torch
        from pkg.models import Net
        model = Net()
        with torch.no_grad():
            out = model(batch)
        """})
    assert found(project, "infer.py", select="NN201") == [("NN201", 5)]


def test_imported_gradient_clearing_helper(project: Path) -> None:
    write(project, {
        "pkg/grads.py": "def reset(model):\n    for p in model.parameters():\n        p.grad = None\n",
        "loop.py": """\
        import torch
        from pkg.grads import reset
        opt = torch.optim.SGD(net.parameters(), lr=0.1)
        for x, y in loader:
            reset(net)
            loss = crit(net(x), y)
            loss.backward()
            opt.step()
        """,
    })
    assert found(project, "loop.py", select="NN101") == []
    write(project, {"pkg/grads.py": "def reset(model):\n    pass\n"})
    assert found(project, "loop.py", select="NN101") == [("NN101", 7)]


def test_check_path_follows_imports_and_reports_the_given_name(project: Path) -> None:
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = check_path(Path("train.py"), Settings(select=("NN202",)))
    finally:
        os.chdir(cwd)
    assert [(f.code, f.span.line, f.path) for f in result.findings] == [("NN202", 10, "train.py")]


def test_without_the_project_nothing_is_guessed(project: Path) -> None:
    text = (project / "train.py").read_text()
    assert check_source(text, "train.py", Settings(select=("NN202",))).findings == []


def test_import_cycles_terminate(project: Path) -> None:
    write(project, {"a.py": "from b import g\ndef f(m):\n    g(m)\n", "b.py": "from a import f\ndef g(m):\n    f(m)\n",
                    "c.py": "from a import f\nimport torch\nfor x in d:\n    f(model)\n    loss.backward()\n"})
    assert isinstance(found(project, "c.py"), list)


def test_loss_factory_and_reexported_loss_in_other_modules(project: Path) -> None:
    write(project, {
        "pkg/losses.py": """\
        import torch
        from torch.nn import CrossEntropyLoss as CE

        def build_loss(cfg):
            return torch.nn.CrossEntropyLoss(label_smoothing=0.1)
        """,
        "fit.py": """\
        import torch.nn.functional as F
        from pkg.losses import build_loss, CE
        criterion = build_loss(None)
        plain = CE()
        for x, y in loader:
            logits = net(x)
            loss = criterion(F.softmax(logits, dim=1), y)
            other = plain(logits.softmax(-1), y)
        """,
    })
    assert found(project, "fit.py", select="NN301") == [("NN301", 7), ("NN301", 8)]


def test_model_defined_in_another_module_ending_in_softmax(project: Path) -> None:
    write(project, {
        "pkg/heads.py": """\
        from torch import nn

        def make_classifier():
            return nn.Sequential(nn.Linear(8, 3), nn.Softmax(dim=1))
        """,
        "fit.py": """\
        from torch import nn
        from pkg.heads import make_classifier
        model = make_classifier()
        criterion = nn.CrossEntropyLoss()
        for x, y in loader:
            loss = criterion(model(x), y)
        """,
    })
    assert found(project, "fit.py", select="NN305") == [("NN305", 6)]


def test_a_model_defined_in_another_module_ends_in_an_activation(tmp_path: Path) -> None:
    """The model class lives in nets.py: its final sigmoid / softmax (or one element of the
    tuple it returns) still reaches a loss that applies its own; the message names the file."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    write(tmp_path, {
        "nets.py": (
            "import torch\nimport torch.nn as nn\n\n"
            "class MaskNet(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.conv = nn.Conv2d(3, 1, 3)\n\n"
            "    def forward(self, x):\n        return torch.sigmoid(self.conv(x))\n\n"
            "class TwoHeads(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n        self.cls = nn.Linear(8, 4)\n"
            "        self.probs = nn.Softmax(dim=1)\n\n"
            "    def forward(self, h):\n        return h.sum(1), self.probs(self.cls(h))\n"
        ),
        "train.py": (
            "import torch.nn as nn\nfrom nets import MaskNet, TwoHeads\n\n"
            "net = MaskNet()\nloss = nn.BCEWithLogitsLoss()(net(x), m)\n"
            "heads = TwoHeads()\n_, probs = heads(h)\naux = nn.NLLLoss()(probs, c)\n"
        ),
    })
    result = check_path(tmp_path / "train.py", Settings(select=("NN304", "NN305")))
    assert [(f.code, f.span.line) for f in result.findings] == [("NN305", 5), ("NN304", 8)]
    assert "(nets.py, line 10)" in result.findings[0].message
    assert all(r.span.line <= 8 for f in result.findings for r in f.related)


def test_a_module_that_imports_from_itself_is_still_checked(tmp_path: Path) -> None:
    """The Annotated Transformer's `train_distributed_model` does
    `from the_annotated_transformer import train_worker` inside the file itself: resolving
    that re-export went round in circles until the recursion limit, and every rule that asked
    was skipped without a word."""
    write(tmp_path, {"pyproject.toml": "[project]\nname = 'demo'\n", "notes.py": """\
        import torch
        import torch.multiprocessing as mp
        from torch import nn

        class Positional(nn.Module):
            def forward(self, x):
                return x

        def train_worker(rank):
            pe = Positional()
            return pe.forward(torch.zeros(1))

        def train_distributed():
            from notes import train_worker
            mp.spawn(train_worker, nprocs=2)
        """})
    index = ProjectIndex(tmp_path, use_jedi=False)
    path = tmp_path / "notes.py"
    result = check_source(path.read_text(encoding="utf-8"), str(path), project=index)
    assert result.internal_errors == []
    assert [(f.code, f.span.line) for f in result.findings] == [("NN601", 11)]
