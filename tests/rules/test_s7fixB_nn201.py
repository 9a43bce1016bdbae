"""NN201 on two evaluation shapes public projects shipped:

- d2l-pytorch's `evaluate_accuracy(data_iter, net)`: an evaluation helper with no eval(),
  called by `train_ch5` after the batch loop of each epoch, with no mode switch anywhere.
  The model was just trained by the loop ahead of the call in the same epoch, so it is in
  training mode whatever the caller's caller did.
- MultiBench's validation loop: `model.eval()`, then `model.train()` (copied from the
  training loop) right before each forward whose output feeds the validation loss and
  metrics: the train() undoes the eval() the block was opened with. Inserting eval() cannot
  help, so no fix is offered.

A model class that keeps the modules it is given (`self.head = head` called in forward,
`nn.ModuleList(encoders)`) has contents decided by its caller: not "no dropout or batch
norm" (information, not silence)."""

from helpers import codes, line_of, lint

from nnlint.findings import Severity

D2L = '''
import torch
import torch.nn as nn


def evaluate_accuracy(data_iter, net):
    acc_sum, n = 0.0, 0
    for X, y in data_iter:
        acc_sum += (net(X).argmax(dim=1) == y).float().sum().item()
        n += y.shape[0]
    return acc_sum / n


def train(net, train_iter, test_iter, num_epochs):
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(num_epochs):
        for X, y in train_iter:
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(X), y)
            loss.backward()
            optimizer.step()
        test_acc = evaluate_accuracy(test_iter, net)
        print(epoch, test_acc)


net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
train(net, [], [], 3)
'''


def test_evaluation_helper_called_after_the_batch_loop_is_reported() -> None:
    findings = lint(D2L, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(D2L, "acc_sum += (net(X)"), Severity.WARNING)]
    finding = findings[0]
    assert "`evaluate_accuracy()` is called at line" in finding.message
    assert [r.span.line for r in finding.related] == [
        line_of(D2L, "test_acc = evaluate_accuracy"), line_of(D2L, "for X, y in train_iter:")]
    assert finding.fix is not None  # net.eval() at the top of evaluate_accuracy


def test_helper_that_switches_to_eval_is_silent() -> None:
    code = D2L.replace("    acc_sum, n = 0.0, 0\n", "    net.eval()\n    acc_sum, n = 0.0, 0\n")
    assert codes(code, "NN201") == []


def test_caller_that_switches_to_eval_first_is_silent() -> None:
    code = D2L.replace("        test_acc = evaluate_accuracy", "        net.eval()\n        test_acc = evaluate_accuracy")
    assert codes(code, "NN201") == []


def test_model_without_dropout_or_batch_norm_is_silent() -> None:
    code = D2L.replace("nn.Dropout(0.5)", "nn.ReLU()")
    assert codes(code, "NN201") == []


def test_evaluation_before_the_batch_loop_is_not_claimed_trained_by_it() -> None:
    # evaluated at the top of each epoch: no loop ahead of the call in the epoch trains the
    # model; it is reported as the new model it is (every module starts in training mode)
    code = D2L.replace(
        "        test_acc = evaluate_accuracy(test_iter, net)\n        print(epoch, test_acc)\n", "").replace(
        "    for epoch in range(num_epochs):\n",
        "    for epoch in range(num_epochs):\n        print(evaluate_accuracy(test_iter, net))\n")
    findings = lint(code, "NN201")
    assert len(findings) == 1
    assert not any("trained by the loop" in r.message for r in findings[0].related)
    assert any("a new model is in training mode" in r.message for r in findings[0].related)


MULTIBENCH = '''
import torch
import torch.nn as nn


class MMDL(nn.Module):
    def __init__(self, encoders, fusion, head, has_padding=False):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.fuse = fusion
        self.head = head
        self.has_padding = has_padding

    def forward(self, inputs):
        return self.head(self.fuse([enc(x) for enc, x in zip(self.encoders, inputs)]))


def train(encoders, fusion, head, train_loader, valid_loader, epochs):
    model = MMDL(encoders, fusion, head)
    op = torch.optim.Adam(model.parameters())
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            op.zero_grad()
            model.train()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            op.step()
        model.eval()
        with torch.no_grad():
            total = 0.0
            for x, y in valid_loader:
                model.train()
                out = model(x)
                total += nn.functional.cross_entropy(out, y).item()
        print(epoch, total)
'''


def test_train_inside_the_validation_block_undoes_its_eval() -> None:
    findings = lint(MULTIBENCH, "NN201")
    forward = line_of(MULTIBENCH, "out = model(x)")
    assert [f.span.line for f in findings] == [forward]
    finding = findings[0]
    switch = line_of(MULTIBENCH, "                model.train()")
    opened = line_of(MULTIBENCH, "        model.eval()")
    assert f"`model.train()` at line {switch} undoes `model.eval()` at line {opened}" in finding.message
    assert [r.span.line for r in finding.related] == [switch, opened]
    # MMDL's layers are the ones it is given: not visible here, so information
    assert finding.severity is Severity.INFORMATION
    assert finding.fix is None  # another model.eval() before the block would change nothing


def test_validation_without_the_train_call_is_silent() -> None:
    code = MULTIBENCH.replace("                model.train()\n", "")
    assert codes(code, "NN201") == []


def test_batch_norm_re_estimation_after_eval_is_silent() -> None:
    # the forward's output is thrown away: re-estimating batch-norm statistics on purpose
    code = MULTIBENCH.replace("                out = model(x)\n                total += nn.functional.cross_entropy(out, y).item()\n",
                              "                model(x)\n")
    assert codes(code, "NN201") == []


def test_train_without_an_eval_before_the_block_is_still_taken_as_deliberate() -> None:
    # Monte-Carlo dropout: model.train() on purpose, the block is not opened in eval mode
    code = MULTIBENCH.replace("        model.eval()\n", "")
    assert codes(code, "NN201") == []


def test_a_class_holding_only_plain_values_it_is_given_has_no_mode_layers() -> None:
    # `self.scale = scale` is never called: a number, not a module; the model has no dropout
    code = '''
import torch
import torch.nn as nn


class Scaled(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.scale = scale

    def forward(self, x):
        return self.fc(x) * self.scale


def fit(loader, scale):
    model = Scaled(scale)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        for x, y in loader:
            print(model(x))
'''
    assert codes(code, "NN201") == []
    # `self.scale(...)` called in forward: a module the caller gives, contents unknown
    called = code.replace("return self.fc(x) * self.scale", "return self.scale(self.fc(x))")
    findings = lint(called, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(line_of(called, "print(model(x))"), Severity.INFORMATION)]


def test_a_function_under_another_name_is_no_model() -> None:
    code = '''
import torch


def linreg(X, w, b):
    return X @ w + b


w = torch.zeros(2, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
net = linreg
for epoch in range(3):
    for X, y in []:
        l = ((net(X, w, b) - y) ** 2).mean()
        l.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
            w.grad.zero_()
    with torch.no_grad():
        print(((net(X, w, b) - y) ** 2).mean())
'''
    assert codes(code, "NN201") == []
