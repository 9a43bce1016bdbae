"""Recall across modules, the reverse direction (issue 13): a function whose parameter is
filled only by callers in the project's OTHER modules (`train.fit(classifier, loader)` in
main.py) takes its arguments' kinds from those callers. Each test writes its own project."""

from __future__ import annotations

import textwrap
from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import MAX_CALLER_MODULES, ProjectIndex


def write(root: Path, files: dict[str, str]) -> None:
    (root / ".git").mkdir(exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def found(root: Path, name: str = "train.py", index: ProjectIndex | None = None) -> list[tuple[str, int]]:
    index = index or ProjectIndex(root, use_jedi=False)
    path = root / name
    result = check_source(path.read_text(encoding="utf-8"), str(path), Settings(), project=index)
    return [(f.code, f.span.line) for f in result.findings]


MODELS = """\
import torch.nn as nn
import torch.nn.functional as F


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return F.softmax(self.fc(x), dim=1)


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, 3)

    def forward(self, x):
        return self.fc(x)
"""

TRAIN = """\
import torch
import torch.nn as nn


def fit(classifier, loader):
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(classifier.parameters(), lr=0.1)
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(classifier(x), y)
        loss.backward()
        optimizer.step()
"""

LOSS_LINE = 10


def main_calling(*models: str, style: str = "import") -> str:
    lines = ["import model", "import train" if style == "import" else "from train import fit", "", "",
             "def main(loader):"]
    for i, cls in enumerate(models):
        lines.append(f"    net{i} = model.{cls}().cuda()")
        lines.append(f"    {'train.fit' if style == 'import' else 'fit'}(net{i}, loader)")
    return "\n".join(lines) + "\n"


def test_softmax_model_passed_from_another_module_is_found(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Classifier")})
    assert ("NN305", LOSS_LINE) in found(tmp_path)


def test_from_import_caller_counts_too(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Classifier", style="from")})
    assert ("NN305", LOSS_LINE) in found(tmp_path)


def test_caller_in_a_package_folder(tmp_path: Path) -> None:
    main = main_calling("Classifier").replace("import model\nimport train", "from pkg import model, train")
    write(tmp_path, {"pkg/__init__.py": "", "pkg/model.py": MODELS, "pkg/train.py": TRAIN, "scripts/run.py": main})
    assert ("NN305", LOSS_LINE) in found(tmp_path, "pkg/train.py")


def test_caller_passing_a_logits_model_is_silent(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Plain")})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_two_callers_that_disagree_are_silent(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Classifier", "Plain")})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_callers_in_two_modules_that_disagree_are_silent(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Classifier"),
                     "other.py": main_calling("Plain")})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_no_caller_anywhere_is_silent(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_same_named_function_of_another_module_is_not_a_caller(tmp_path: Path) -> None:
    other = TRAIN.replace("def fit(", "def fit_unused(")
    main = main_calling("Classifier").replace("import train", "import other as train")
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "other.py": other + "\n\ndef fit(m, l):\n    pass\n",
                     "main.py": main})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_a_caller_in_this_file_decides_before_other_modules(tmp_path: Path) -> None:
    local = TRAIN + "\n\ndef run(loader):\n    from model import Plain\n    fit(Plain(), loader)\n"
    write(tmp_path, {"model.py": MODELS, "train.py": local, "main.py": main_calling("Classifier")})
    assert ("NN305", LOSS_LINE) not in found(tmp_path)


def test_constructor_filled_from_another_module(tmp_path: Path) -> None:
    trainer = """\
    import torch
    import torch.nn as nn


    class Trainer:
        def __init__(self, net, loader):
            self.net = net
            self.loader = loader
            self.criterion = nn.CrossEntropyLoss()
            self.optimizer = torch.optim.SGD(net.parameters(), lr=0.1)

        def epoch(self):
            for x, y in self.loader:
                self.optimizer.zero_grad()
                loss = self.criterion(self.net(x), y)
                loss.backward()
                self.optimizer.step()
    """
    main = "from model import Classifier\nfrom trainer import Trainer\n\nTrainer(Classifier(), []).epoch()\n"
    write(tmp_path, {"model.py": MODELS, "trainer.py": trainer, "main.py": main})
    assert ("NN305", 15) in found(tmp_path, "trainer.py")
    write(tmp_path, {"main.py": main.replace("import Classifier", "import Plain as Classifier")})
    assert ("NN305", 15) not in found(tmp_path, "trainer.py")


def test_answer_follows_an_edited_caller(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, "main.py": main_calling("Classifier")})
    index = ProjectIndex(tmp_path, use_jedi=False)
    assert ("NN305", LOSS_LINE) in found(tmp_path, index=index)
    index.set_overlay(tmp_path / "main.py", 2, main_calling("Plain"))
    assert ("NN305", LOSS_LINE) not in found(tmp_path, index=index)


def test_reverse_lookup_is_bounded(tmp_path: Path) -> None:
    files = {"model.py": MODELS, "train.py": TRAIN}
    # many modules name `fit` and `train` without calling it: only a bounded number is analysed
    for i in range(MAX_CALLER_MODULES + 5):
        files[f"noise{i}.py"] = "import train\n# fit is not called here\n"
    files["zzz_main.py"] = main_calling("Classifier")
    write(tmp_path, files)
    index = ProjectIndex(tmp_path, use_jedi=False)
    found(tmp_path, index=index)
    analysed = [p for p in index._modules if p.name.startswith(("noise", "zzz"))]
    assert len(analysed) <= MAX_CALLER_MODULES


def test_environment_folders_are_not_the_project(tmp_path: Path) -> None:
    write(tmp_path, {"model.py": MODELS, "train.py": TRAIN, ".venv/lib/main.py": main_calling("Classifier"),
                     "venv/main.py": main_calling("Classifier"), "build/main.py": main_calling("Classifier")})
    index = ProjectIndex(tmp_path, use_jedi=False)
    assert {p.name for p in index.project_files()} == {"model.py", "train.py"}
    assert ("NN305", LOSS_LINE) not in found(tmp_path, index=index)
