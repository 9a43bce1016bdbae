from helpers import line_of, lint, lint_package

from nnlint.findings import Severity

WRONG = """\
import torch
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader


def main(args, model, dataset):
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    for epoch in range(args.epochs):
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
            scheduler.step()
"""


def test_flags_cosine_sized_in_epochs_stepped_per_batch() -> None:
    findings = lint(WRONG, "NN207")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [
        (line_of(WRONG, "scheduler.step()"), Severity.WARNING, None)]
    message = findings[0].message
    assert "`T_max=args.epochs`" in message and "line 11" in message
    assert [r.span.line for r in findings[0].related] == [line_of(WRONG, "CosineAnnealingLR(optimizer"), 11]


def test_epoch_loop_bound_sizes_the_schedule() -> None:
    code = """\
    import torch

    def fit(model, loader, n):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        decay = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[int(0.5 * n), int(0.75 * n)])
        expo = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)
        for e in range(n):
            for x, y in loader:
                opt.zero_grad()
                model(x).mean().backward()
                opt.step()
                decay.step()
                expo.step()
    """
    findings = lint(code, "NN207")
    assert [f.span.line for f in findings] == [12]  # ExponentialLR: no epoch loop proof for the batch loop
    assert "from the bound of the epoch loop on line 7" in findings[0].message
    named = code.replace("for e in range(n)", "for epoch in range(n)")
    assert [f.span.line for f in lint(named, "NN207")] == [12, 13]


def test_trainer_train_step_called_once_per_batch() -> None:
    code = """\
    import torch
    from torch.utils.data import DataLoader

    class Trainer:
        def __init__(self, model, dataset, cfg):
            self.model = model
            self.loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True)
            self.opt = torch.optim.SGD(model.parameters(), lr=cfg.lr)
            self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=cfg.decay_epochs, gamma=0.1)

        def train_step(self, x, y):
            self.opt.zero_grad()
            torch.nn.functional.mse_loss(self.model(x), y).backward()
            self.opt.step()
            self.sched.step()

        def fit(self, epochs):
            for epoch in range(epochs):
                for x, y in self.loader:
                    self.train_step(x, y)
    """
    findings = lint(code, "NN207")
    assert [f.span.line for f in findings] == [15]
    assert "through `self.train_step()`, line 20" in findings[0].message
    assert sorted(r.span.line for r in findings[0].related) == [9, 19, 20]


def test_two_file_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/sched.py": """\
            import torch

            def build_scheduler(optimizer, cfg):
                return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.max_epochs)
            """,
        "pkg/train.py": """\
            import torch
            from torch.utils.data import DataLoader
            from pkg.sched import build_scheduler

            def train(model, dataset, cfg):
                loader = DataLoader(dataset, batch_size=16)
                opt = torch.optim.Adam(model.parameters())
                sched = build_scheduler(opt, cfg)
                for epoch in range(cfg.max_epochs):
                    for batch in loader:
                        opt.zero_grad()
                        model(batch).mean().backward()
                        opt.step()
                        sched.step()
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/train.py", "NN207")
    assert [f.span.line for f in findings] == [14]
    assert "sched.py line 4" in findings[0].message


def test_helper_that_trains_one_epoch_with_the_scheduler_passed_in() -> None:
    code = """\
    import torch
    from torch.utils.data import DataLoader

    def train_one_epoch(model, loader, opt, sched):
        for x, y in loader:
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            sched.step()

    def adjust_learning_rate(sched):
        sched.step()

    def main(args, model, data):
        loader = DataLoader(data, batch_size=128, shuffle=True)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=args.decay_epochs)
        per_epoch = torch.optim.lr_scheduler.StepLR(opt, step_size=args.decay_epochs)
        for epoch in range(args.epochs):
            train_one_epoch(model, loader, opt, sched)
            adjust_learning_rate(per_epoch)
    """
    findings = lint(code, "NN207")
    assert [f.span.line for f in findings] == [9]
    assert "`step_size=args.decay_epochs`" in findings[0].message
