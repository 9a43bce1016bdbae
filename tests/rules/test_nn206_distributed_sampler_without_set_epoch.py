from helpers import codes, line_of, lint, lint_package

from nnlint.findings import Severity

WRONG = """\
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler


def main(model, train_set, val_set, epochs):
    dist.init_process_group("nccl")
    sampler = DistributedSampler(train_set)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    val_loader = DataLoader(val_set, batch_size=64, sampler=DistributedSampler(val_set, shuffle=False))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for x, y in val_loader:
                model(x)
"""


def test_flags_the_training_sampler_on_its_construction() -> None:
    findings = lint(WRONG, "NN206")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(WRONG, "sampler = Distributed"), Severity.WARNING)]
    assert "sampler.set_epoch(epoch)" in findings[0].message
    assert [r.span.line for r in findings[0].related] == [10, 15, 13]


def test_conditional_sampler_is_reported_without_a_fix() -> None:
    """`DistributedSampler(...) if distributed else None`: `sampler.set_epoch` could hit None."""
    code = WRONG.replace("sampler = DistributedSampler(train_set)",
                         "sampler = DistributedSampler(train_set) if dist.is_initialized() else None")
    findings = lint(code, "NN206")
    assert [(f.span.line, f.fix) for f in findings] == [(9, None)]


def test_trainer_class_with_a_loader_built_by_a_method() -> None:
    code = """\
    import torch
    from torch.utils.data import DataLoader, Dataset
    from torch.utils.data.distributed import DistributedSampler

    class Trainer:
        def __init__(self, model, dataset, optimizer):
            self.model = model
            self.optimizer = optimizer
            self.train_loader = self._prepare_dataloader(dataset)

        def _prepare_dataloader(self, dataset: Dataset):
            return DataLoader(dataset, batch_size=32, pin_memory=True, shuffle=False,
                              sampler=DistributedSampler(dataset))

        def _run_batch(self, source, targets):
            self.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(self.model(source), targets).backward()
            self.optimizer.step()

        def _run_epoch(self, epoch):
            for source, targets in self.train_loader:
                self._run_batch(source, targets)

        def train(self, max_epochs):
            for epoch in range(max_epochs):
                self._run_epoch(epoch)
    """
    findings = lint(code, "NN206")
    assert [(f.span.line, f.fix) for f in findings] == [(13, None)]
    fixed = code.replace("                self._run_batch(source, targets)\n",
                         "                self._run_batch(source, targets)\n", 1).replace(
        "            for source, targets in self.train_loader:",
        "            self.train_loader.sampler.set_epoch(epoch)\n            for source, targets in self.train_loader:")
    assert codes(fixed, "NN206") == []


def test_two_file_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/engine.py": """\
            import torch

            def train_one_epoch(model, loader, optimizer):
                for x, y in loader:
                    optimizer.zero_grad()
                    torch.nn.functional.mse_loss(model(x), y).backward()
                    optimizer.step()
            """,
        "pkg/main.py": """\
            import torch
            from torch.utils.data import DataLoader, DistributedSampler
            from pkg.engine import train_one_epoch

            def main(model, dataset, epochs):
                sampler = DistributedSampler(dataset, shuffle=True)
                loader = DataLoader(dataset, batch_size=16, sampler=sampler)
                optimizer = torch.optim.Adam(model.parameters())
                for epoch in range(epochs):
                    train_one_epoch(model, loader, optimizer)
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/main.py", "NN206")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.WARNING)]
