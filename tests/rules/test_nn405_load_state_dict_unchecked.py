"""NN405 load-state-dict-unchecked."""

from __future__ import annotations

import textwrap
from pathlib import Path

from helpers import codes, line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

WRONG = """\
import torch
from torchvision import models

model = models.resnet50()
state = torch.load("checkpoint.pt", map_location="cpu")
model.load_state_dict(state, strict=False)  # here
model.eval()
"""


def test_flags_dropped_keys():
    assert codes(WRONG, "NN4") == [("NN405", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN405")
    assert "missing and unexpected keys" in finding.message and "`module.` prefix" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "models.resnet50()")
    assert finding.fix is None


def test_helper_called_with_a_model(tmp_path: Path):
    files = {
        "pkg/__init__.py": "",
        "pkg/ckpt.py": """\
            import torch

            def restore(net, path):
                net.load_state_dict(torch.load(path), strict=False)
            """,
        "pkg/train.py": """\
            from torchvision import models
            from pkg.ckpt import restore

            model = models.resnet18()
            restore(model, "last.pt")
            """,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    target = tmp_path / "pkg" / "ckpt.py"
    index = ProjectIndex(tmp_path, use_jedi=False)
    result = check_source(target.read_text(), str(target), Settings(select=("NN405",)), project=index)
    # the helper alone does not prove that `net` is a module: silent rather than guessed
    assert [(f.code, f.span.line) for f in result.findings] == []
    same_file = """\
    import torch
    from torchvision import models

    def restore(net, path):
        net.load_state_dict(torch.load(path), strict=False)  # here

    model = models.resnet18()
    restore(model, "last.pt")
    """
    assert codes(same_file, "NN405") == [("NN405", line_of(same_file, "# here"))]
