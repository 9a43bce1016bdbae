from helpers import line_of, lint, lint_package

from nnlint.findings import Severity

WRONG = """\
import torch
import torch.nn.functional as F


def train(model, head, loader):
    optimizer = torch.optim.SGD(list(model.parameters()) + list(head.parameters()), lr=0.1)
    scaler = torch.amp.GradScaler("cuda")
    for x, y in loader:
        optimizer.zero_grad()
        with torch.autocast("cuda", dtype=torch.float16):
            features = model(x)
            task_loss = F.cross_entropy(head(features), y)
            aux_loss = features.pow(2).mean()
        scaler.scale(task_loss).backward(retain_graph=True)
        aux_loss.backward()  # not scaled
        scaler.step(optimizer)
        scaler.update()
"""


def test_flags_the_unscaled_backward() -> None:
    findings = lint(WRONG, "NN105")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(WRONG, "aux_loss.backward()"), Severity.WARNING)]
    assert "scaler.scale(aux_loss).backward()" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [line_of(WRONG, "scaler.scale(task_loss)"),
                                                          line_of(WRONG, "scaler.step")]


def test_trainer_class_with_a_scaled_backward_helper() -> None:
    code = """\
    import torch

    class Trainer:
        def __init__(self, model):
            self.model = model
            self.optimizer = torch.optim.AdamW(model.parameters())
            self.scaler = torch.cuda.amp.GradScaler()

        def backward(self, loss):
            self.scaler.scale(loss).backward()

        def train_step(self, x):
            out = self.model(x)
            self.backward(out.mean())
            reg = sum(p.pow(2).sum() for p in self.model.parameters())
            reg.backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad()
    """
    findings = lint(code, "NN105")
    assert [(f.span.line, f.severity) for f in findings] == [(16, Severity.WARNING)]
    assert findings[0].fix is None  # the scaler is used inside the helper: no fix written here


def test_unproven_scaler_is_information() -> None:
    code = """\
    def train_step(model, batch, optimizer, scaler):
        loss, aux = model(batch)
        scaler.scale(loss).backward()
        aux.backward()
        scaler.step(optimizer)
        scaler.update()
    """
    findings = lint(code, "NN105")
    assert [(f.span.line, f.severity) for f in findings] == [(4, Severity.INFORMATION)]


def test_two_file_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/amp.py": """\
            import torch

            def make_scaler():
                return torch.amp.GradScaler("cuda")
            """,
        "pkg/train.py": """\
            import torch
            from pkg.amp import make_scaler

            def fit(model, loader):
                optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
                scaler = make_scaler()
                for x, y in loader:
                    optimizer.zero_grad()
                    out = model(x)
                    scaler.scale(torch.nn.functional.mse_loss(out, y)).backward(retain_graph=True)
                    out.abs().mean().backward()
                    scaler.step(optimizer)
                    scaler.update()
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/train.py", "NN105")
    assert [(f.span.line, f.severity) for f in findings] == [(11, Severity.WARNING)]


def test_plain_backward_inside_a_helper() -> None:
    code = """\
    import torch

    def regularise(model, weight):
        penalty = weight * sum(p.pow(2).sum() for p in model.parameters())
        penalty.backward()

    def fit(model, loader):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.amp.GradScaler("cuda")
        for x, y in loader:
            opt.zero_grad()
            scaler.scale(torch.nn.functional.mse_loss(model(x), y)).backward()
            regularise(model, 1e-4)
            scaler.step(opt)
            scaler.update()
    """
    findings = lint(code, "NN105")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [(5, Severity.WARNING, None)]
    assert "run by `regularise()` on line 13" in findings[0].message
