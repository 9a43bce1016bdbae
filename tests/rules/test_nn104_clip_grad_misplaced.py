from helpers import apply_fix_and_recheck, codes, line_of, lint, lint_package

from nnlint.findings import Severity

AFTER_STEP = """\
import torch
import torch.nn as nn


def train(loader):
    model = nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # too late
"""

AMP = """\
import torch
import torch.nn.functional as F


def train(model, loader, epochs):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda")
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cuda", dtype=torch.float16):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            scaler.step(optimizer)
            scaler.update()
"""


def test_flags_clip_after_step() -> None:
    findings = lint(AFTER_STEP, "NN104")
    assert [(f.span.line, f.severity) for f in findings] == [(13, Severity.WARNING)]
    assert "after `optimizer.step()` (line 12)" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [12]


def test_fix_moves_the_clip_before_the_step_with_its_comment() -> None:
    fixed = apply_fix_and_recheck(AFTER_STEP, "NN104")
    assert fixed.endswith(
        "        loss.backward()\n"
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)  # too late\n"
        "        optimizer.step()\n"
    )


def test_flags_clip_before_backward_and_moves_it_after() -> None:
    code = """\
    import torch
    from torch.nn.utils import clip_grad_value_
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(model.parameters())
    for x, y in loader:
        opt.zero_grad()
        clip_grad_value_(model.parameters(), 0.5)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    """
    findings = lint(code, "NN104")
    assert [(f.span.line, f.severity) for f in findings] == [(7, Severity.WARNING)]
    assert "before `backward()` (line 9)" in findings[0].message
    fixed = apply_fix_and_recheck(code, "NN104")
    assert "    loss.backward()\n    clip_grad_value_(model.parameters(), 0.5)\n    opt.step()\n" in fixed


def test_flags_clip_of_scaled_gradients_and_inserts_unscale() -> None:
    findings = lint(AMP, "NN104")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(AMP, "clip_grad_norm_"), Severity.WARNING)]
    message = findings[0].message
    assert "scaler.unscale_(optimizer)" in message and "65,000" in message
    assert [r.span.line for r in findings[0].related] == [line_of(AMP, ".backward()"), line_of(AMP, "scaler.step")]
    fixed = apply_fix_and_recheck(AMP, "NN104")
    assert (
        "            scaler.scale(loss).backward()\n"
        "            scaler.unscale_(optimizer)\n"
        "            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)\n"
    ) in fixed


def test_trainer_method_with_helpers() -> None:
    code = """\
    import torch

    class Trainer:
        def __init__(self, model):
            self.model = model
            self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            self.scaler = torch.cuda.amp.GradScaler()

        def backward(self, loss):
            self.scaler.scale(loss).backward()

        def train_step(self, batch):
            loss = self.model(batch).mean()
            self.backward(loss)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.scaler.step(self.optimizer)
            self.scaler.update()
    """
    findings = lint(code, "NN104")
    assert [(f.span.line, f.severity) for f in findings] == [(15, Severity.WARNING)]
    fixed = apply_fix_and_recheck(code, "NN104")
    assert "        self.scaler.unscale_(self.optimizer)\n        torch.nn.utils.clip_grad_norm_(" in fixed


def test_step_inside_a_helper_is_information_without_fix() -> None:
    code = """\
    import torch

    def optimizer_step(opt):
        opt.step()
        opt.zero_grad()

    def fit(model, opt, loader):
        for x, y in loader:
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer_step(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    """
    findings = lint(code, "NN104")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [(11, Severity.INFORMATION, None)]


def test_two_file_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/optim.py": """\
            import torch

            def build_optimizer(model, lr):
                return torch.optim.AdamW(model.parameters(), lr=lr)
            """,
        "pkg/train.py": """\
            import torch
            from pkg.optim import build_optimizer

            def train(model, loader):
                optimizer = build_optimizer(model, 1e-3)
                for x, y in loader:
                    optimizer.zero_grad()
                    torch.nn.functional.mse_loss(model(x), y).backward()
                    optimizer.step()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/train.py", "NN104")
    assert [(f.span.line, f.severity) for f in findings] == [(10, Severity.WARNING)]


def test_clip_inside_a_helper_called_after_the_step() -> None:
    code = """\
    import torch

    def clip_gradients(model, max_norm):
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)

    def train(loader):
        model = torch.nn.Linear(4, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            clip_gradients(model, 1.0)
    """
    findings = lint(code, "NN104")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [(4, Severity.WARNING, None)]
    assert "run by `clip_gradients()` on line 13" in findings[0].message
    assert 13 in [r.span.line for r in findings[0].related]
    between = code.replace("            opt.step()\n            clip_gradients(model, 1.0)\n",
                           "            clip_gradients(model, 1.0)\n            opt.step()\n")
    assert codes(between, "NN104") == []
