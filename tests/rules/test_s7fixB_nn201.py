"""NN201 on an evaluation helper d2l-pytorch shipped: `evaluate_accuracy(data_iter, net)`
has no eval() and is called by `train_ch5` after the batch loop of each epoch, with no mode
switch anywhere. The model was just trained by the loop ahead of the call in the same epoch,
so it is in training mode whatever the caller's caller did. A function given another name
(`net = linreg`) is no model."""

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
