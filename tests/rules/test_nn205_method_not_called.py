from helpers import apply_fix_and_recheck, codes, line_of, lint, lint_package

import textwrap

from nnlint.findings import Severity
from nnlint.fixes import apply_edits
from nnlint.reliability import fix_problems

WRONG = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)


def train(loader, epochs):
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train
        for x, y in loader:
            optimizer.zero_grad
            loss = criterion(model(x), y)
            loss.backward  # no gradient
            optimizer.step
        scheduler.step
"""


def test_flags_every_bare_method_on_the_statement() -> None:
    findings = lint(WRONG, "NN205")
    assert [f.span.line for f in findings] == [
        line_of(WRONG, "model.train"), line_of(WRONG, "optimizer.zero_grad"), line_of(WRONG, "loss.backward"),
        line_of(WRONG, "optimizer.step"), line_of(WRONG, "scheduler.step"),
    ]
    assert all(f.severity is Severity.WARNING for f in findings)
    by_line = {f.span.line: f for f in findings}
    step = by_line[line_of(WRONG, "optimizer.step")]
    assert "weights are never updated" in step.message
    assert step.related[0].span.line == line_of(WRONG, "optimizer = torch.optim.SGD")
    assert "learning rate never changes" in by_line[line_of(WRONG, "scheduler.step")].message
    backward = by_line[line_of(WRONG, "loss.backward")]
    assert backward.related[0].span.line == line_of(WRONG, "loss = criterion")


def test_fix_adds_the_parentheses_and_keeps_the_comment() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN205")
    assert "        model.train()\n" in fixed
    text = WRONG
    for _ in range(5):
        text = apply_fix_and_recheck(text, "NN205")
    assert "            loss.backward()  # no gradient\n" in text and "        scheduler.step()\n" in text
    assert codes(text, "NN205") == []


def test_evaluation_helper_called_with_a_model() -> None:
    code = """\
    import torch
    import torch.nn as nn

    def evaluate(net, loader):
        net.eval
        with torch.no_grad():
            return [net(x) for x in loader]

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    evaluate(model, [torch.randn(2, 4)])
    """
    findings = lint(code, "NN205")
    assert [(f.span.line, f.severity) for f in findings] == [(5, Severity.WARNING)]
    assert "stays in training mode" in findings[0].message
    # The evaluation really runs in training mode, so NN201 reports it too; the fix cures both.
    everything = lint(code)
    assert {f.code for f in everything} == {"NN201", "NN205"}
    target = next(f for f in everything if f.code == "NN205")
    assert fix_problems(textwrap.dedent(code), target, everything) == []
    assert "    net.eval()\n" in apply_edits(textwrap.dedent(code), target.fix.edits)


def test_two_file_package(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/build.py": """\
            import torch

            def make_optimizer(model):
                return torch.optim.Adam(model.parameters(), lr=1e-3)
            """,
        "pkg/train.py": """\
            import torch
            from pkg.build import make_optimizer

            model = torch.nn.Linear(4, 2)
            opt = make_optimizer(model)
            for x, y in [(torch.randn(2, 4), torch.randn(2, 2))]:
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(x), y).backward()
                opt.step
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/train.py", "NN205")
    assert [(f.span.line, f.severity) for f in findings] == [(9, Severity.WARNING)]


def test_unknown_kind_is_information_without_fix() -> None:
    code = """\
    def run(env, agent):
        for _ in range(10):
            env.step
            agent.backward
    """
    findings = lint(code, "NN205")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [
        (3, Severity.INFORMATION, None), (4, Severity.INFORMATION, None)]
    assert "not proven" in findings[0].message


def test_no_fix_where_the_call_needs_an_argument() -> None:
    code = """\
    import torch
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.LBFGS(model.parameters())
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt)
    scaler = torch.amp.GradScaler()
    opt.step
    plateau.step
    scaler.step
    """
    findings = lint(code, "NN205")
    assert [(f.span.line, f.severity, f.fix) for f in findings] == [
        (6, Severity.WARNING, None), (7, Severity.WARNING, None), (8, Severity.WARNING, None)]


def test_method_of_the_wrong_kind_is_not_proven() -> None:
    """`sched.eval` is not a module's eval: the object's kind does not own the method."""
    code = """\
    import torch
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.eval
    """
    assert [(f.span.line, f.severity) for f in lint(code, "NN205")] == [(4, Severity.INFORMATION)]
