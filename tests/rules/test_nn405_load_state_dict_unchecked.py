"""NN405 load-state-dict-unchecked."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
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


def test_assigned_but_never_read():
    code = """\
    import torch
    import torch.nn as nn

    def load_backbone(model: nn.Module, path):
        model.train()
        missing, unexpected = model.load_state_dict(torch.load(path), strict=False)  # here
        return model
    """
    assert codes(code, "NN405") == [("NN405", line_of(code, "# here"))]


def test_trainer_class_and_module_method():
    code = """\
    import torch
    import torch.nn as nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def load_pretrained(self, path):
            self.load_state_dict(torch.load(path)["model"], strict=False)  # first

    class Trainer:
        def __init__(self):
            self.model = Encoder()

        def resume(self, path):
            ckpt = torch.load(path)
            self.model.load_state_dict(ckpt["state_dict"], strict=False)  # second
    """
    assert codes(code, "NN405") == [("NN405", line_of(code, "# first")), ("NN405", line_of(code, "# second"))]


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


def test_module_of_a_wrapped_model():
    code = """\
    import torch
    import torch.nn as nn
    from torchvision import models

    model = nn.DataParallel(models.resnet18())
    model.module.load_state_dict(torch.load("a.pt"), strict=False)  # here
    """
    assert codes(code, "NN405") == [("NN405", line_of(code, "# here"))]


SILENT = {
    "keys printed": """\
        import torch
        from torchvision import models
        model = models.resnet18()
        msg = model.load_state_dict(torch.load("a.pt"), strict=False)
        print(msg)
        """,
    "keys asserted": """\
        import torch
        from torchvision import models
        model = models.resnet18()
        missing, unexpected = model.load_state_dict(torch.load("a.pt"), strict=False)
        assert not unexpected and all("fc" in k for k in missing)
        """,
    "keys logged": """\
        import logging
        import torch
        from torchvision import models
        def load(path):
            model = models.resnet18()
            result = model.load_state_dict(torch.load(path), strict=False)
            logging.info("missing: %s", result.missing_keys)
            return model
        """,
    "strict load": """\
        import torch
        from torchvision import models
        model = models.resnet18()
        model.load_state_dict(torch.load("a.pt"))
        model.load_state_dict(torch.load("a.pt"), strict=True)
        """,
    "optimizer state": """\
        import torch
        from torchvision import models
        model = models.resnet18()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        opt.load_state_dict(torch.load("opt.pt"))
        """,
    "not proven a module": """\
        import torch
        def restore(thing, path):
            thing.load_state_dict(torch.load(path), strict=False)
        """,
    "strict from a setting": """\
        import torch
        from torchvision import models
        def load(path, strict):
            model = models.resnet18()
            model.load_state_dict(torch.load(path), strict=strict)
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT))
def test_silent(name: str):
    assert codes(SILENT[name], "NN405") == []


def test_silent_when_the_checkpoint_was_matched_against_the_model_keys():
    code = """\
    import torch
    from torchvision import models

    def intersect_dicts(a, b):
        return {k: v for k, v in a.items() if k in b and v.shape == b[k].shape}

    model = models.resnet18(num_classes=5)
    ckpt = torch.load("pretrained.pt")
    csd = intersect_dicts(ckpt, model.state_dict())
    model.load_state_dict(csd, strict=False)
    own = model.state_dict()
    pretrained = {k: v for k, v in ckpt.items() if k in own}
    model.load_state_dict(pretrained, strict=False)
    """
    assert codes(code, "NN405") == []
