from helpers import apply_fix_and_recheck, codes, lint

from nnlint.findings import Severity

HELPER = """\
import torch
from torch import nn

def build():
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 2))

def evaluate(model, xs, ys):
    correct = 0
    with torch.no_grad():
        pred = model(xs).argmax(1)
        correct += (pred == ys).sum().item()
    return correct

model = build()
opt = torch.optim.Adam(model.parameters())
for epoch in range(3):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(evaluate(model, xv, yv))
"""


def test_flags_helper_called_in_training_mode() -> None:
    findings = lint(HELPER, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 10)]
    finding = findings[0]
    assert "torch.no_grad()" in finding.message and "line 9" in finding.message
    assert 22 in {r.span.line for r in finding.related}
    assert finding.severity is Severity.WARNING


def test_flags_evaluate_after_train_call() -> None:
    code = """\
    import torch
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        val = model(x_val)
    """
    findings = lint(code, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 8)]
    assert "line 2" in findings[0].message


# ------------------------------------------------------------------ negatives


def test_flags_validation_inside_the_epoch_loop_after_the_batch_loop() -> None:
    code = """\
    import torch
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            val_loss = sum(criterion(model(xv), yv).item() for xv, yv in val_loader)
    """
    findings = lint(code, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 9)]
    assert "line 3" in findings[0].message
    fixed = apply_fix_and_recheck(code, "NN201")
    assert "    model.eval()\n    with torch.no_grad():" in fixed


def test_severity_follows_the_proof_that_it_is_a_model() -> None:
    """A parameter named like a model is only a hint (d2l's `init_rnn_state(...)` is a
    function); a caller in the file that passes a module proves it."""
    helper = """\
    import torch
    from torch import nn

    @torch.no_grad()
    def validate(net, loader):
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)
    """
    findings = lint(helper, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.HINT)]
    assert "from its name alone" in findings[0].message
    called = helper + """\

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    print(validate(model, val_loader))
    """
    findings = lint(called, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.WARNING)]


def test_global_model_evaluated_by_a_helper_while_still_training() -> None:
    """pytorch_geometric examples/lcm_aggr_2nd_min.py: `train()` and an `@torch.no_grad()`
    `test()` share a global model with dropout; nothing ever calls eval()."""
    code = """\
    import torch

    class LCM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.25))

        def forward(self, x):
            return self.net(x)

    model = LCM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train():
        for x, y in train_loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    @torch.no_grad()
    def test(loader):
        return sum(float((model(x) - y).abs().sum()) for x, y in loader)

    for epoch in range(10):
        train()
        print(test(val_loader))
    """
    findings = lint(code, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(22, Severity.WARNING)]


UNMARKED = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    correct = 0
    for x, y in test_loader:
        out = model(x)
        correct += (out.argmax(1) == y).sum().item()
"""


def test_an_evaluation_loop_told_by_what_it_does() -> None:
    """deepspeech.pytorch's test loop: no no_grad, no telling name, but it runs the trained
    model over other data and never reaches backward()."""
    findings = lint(UNMARKED, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 15)]
    assert "in the evaluation loop at line 14" in findings[0].message
    # `model.eval()` alone would leave an evaluation without no_grad (NN204): a fix may
    # add no finding, so none is offered here
    assert findings[0].fix is None


def test_information_when_the_models_layers_are_not_visible() -> None:
    """d2l's `predict_rnn_nn(model, ...)`: a proven module (it hands out `.parameters()`)
    whose class is not visible here may have no dropout or batch norm at all, and then
    eval() changes nothing: say it at information severity. A caller passing a model with
    dropout, or one without, decides it."""
    helper = """\
    import torch

    def predict(model, xs):
        n = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            return model(xs), n
    """
    findings = lint(helper, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.INFORMATION)]
    assert "not visible here" in findings[0].message
    with_dropout = helper + """\

    print(predict(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1)), x))
    """
    assert lint(with_dropout, "NN201") == []  # a caller the analysis cannot follow: silent
    named = helper + """\

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1))
    print(predict(net, x))
    """
    assert [(f.span.line, f.severity) for f in lint(named, "NN201")] == [(6, Severity.WARNING)]
    plain = named.replace("torch.nn.Dropout(0.1)", "torch.nn.ReLU()")
    assert lint(plain, "NN201") == []


def test_evaluated_right_after_training_in_the_same_helper() -> None:
    """udacity's weight-initialization `_get_loss_acc(model, ...)`: trains the model for two
    epochs, then measures validation accuracy in a plain loop with no eval(). Nothing switched
    the model since it was trained, so it is in training mode whatever its caller did."""
    code = """\
    import torch
    from torch import nn

    def _get_loss_acc(model, train_loader, valid_loader):
        optimizer = torch.optim.Adam(model.parameters(), 0.001)
        for epoch in range(2):
            for data, target in train_loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(data), target)
                loss.backward()
                optimizer.step()
        correct = 0
        for data, target in valid_loader:
            output = model(data)
            correct += (output.argmax(1) == target).sum().item()
        return correct
    """
    findings = lint(code, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(14, Severity.INFORMATION)]
    assert "trained by the loop at line 7" in findings[0].message
    switched = code.replace("        correct = 0\n", "        correct = 0\n        model.eval()\n")
    assert codes(switched, "NN201") == []
    with_dropout = code + """\

    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    print(_get_loss_acc(net, tl, vl))
    """
    assert [(f.span.line, f.severity) for f in lint(with_dropout, "NN201")] == [(14, Severity.WARNING)]
