"""A module-only method (`.parameters()`, `.eval()`, ...) proves a module only for the variable
it is called on: the same local of one function, a global read anywhere, or `self.<attr>` of
one class (`Training.module_only_use`). Before, it proved every variable spelled the same in
the file: d2l's `Weight_Decay` notebook reported `net = d2l.linreg` (a plain function) as a
model because another function's own `net` called `net.parameters()`."""

from __future__ import annotations

from nnlint.findings import Severity

from helpers import codes, line_of, lint

# NN601 needs a proven module: a local of another function proves nothing.
LOCAL_ELSEWHERE = '''
import torch


def fit(net, loader, opt):
    print(sum(p.numel() for p in net.parameters()))


def predict(net, x):
    return net.forward(x)
'''

# ... but the same global, read in two functions, is one variable (NN405 asks for a proven
# module before it reports `strict=False`); a parameter of the same name is another one.
GLOBAL_IN_TWO_FUNCTIONS = '''
import torch
from zoo import make_net

model = make_net()


def restore(path):
    model.load_state_dict(torch.load(path), strict=False)


def describe():
    print(sum(p.numel() for p in model.parameters()))
'''

# ... and so is `self.net` in two methods of one class, but not in another class.
SELF_IN_TWO_CLASSES = '''
import torch


class Sizer:
    def __init__(self, net):
        self.net = net

    def size(self):
        return sum(p.numel() for p in self.net.parameters())


class Predictor:
    def __init__(self, net):
        self.net = net

    def predict(self, x):
        return self.net.forward(x)
'''

# A closure reads its enclosing function's variable: the proof there holds inside.
CLOSURE = '''
import torch


def serve(net):
    print(sum(p.numel() for p in net.parameters()))

    def predict(x):
        return net.forward(x)

    return predict
'''

# The d2l shape: `evaluate`'s `net` is a parameter; another function's local `net` calls
# `.parameters()`. The mode finding stays at hint ("taken for a model from its name alone").
D2L_SHAPE = '''
import torch


def fit_and_plot(train_iter, wd):
    net = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(params=net.parameters(), lr=0.1)
    for X, y in train_iter:
        loss = ((net(X) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def evaluate(net, test_iter):
    total = 0.0
    with torch.no_grad():
        for X, y in test_iter:
            total += ((net(X) - y) ** 2).sum().item()
    return total
'''


def test_a_local_of_another_function_proves_nothing() -> None:
    assert lint(LOCAL_ELSEWHERE, "NN601") == []


def test_a_global_read_in_two_functions_is_one_variable() -> None:
    line = line_of(GLOBAL_IN_TWO_FUNCTIONS, "load_state_dict")
    assert codes(GLOBAL_IN_TWO_FUNCTIONS, "NN405") == [("NN405", line)]
    local = GLOBAL_IN_TWO_FUNCTIONS.replace("def describe():", "def describe(model):")
    assert codes(local, "NN405") == []


def test_self_attributes_are_proven_per_class() -> None:
    assert lint(SELF_IN_TWO_CLASSES, "NN601") == []
    same_class = SELF_IN_TWO_CLASSES.replace("class Predictor:", "class Predictor(Sizer):")
    assert codes(same_class, "NN601") == [("NN601", line_of(same_class, "self.net.forward"))]


def test_a_closure_reads_the_enclosing_variable() -> None:
    assert codes(CLOSURE, "NN601") == [("NN601", line_of(CLOSURE, "net.forward"))]


def test_a_name_proven_in_another_function_stays_a_hint() -> None:
    line = line_of(D2L_SHAPE, "total += ((net(X)")
    findings = [f for f in lint(D2L_SHAPE, "NN201") if f.span.line == line]
    assert len(findings) == 1
    assert findings[0].severity is Severity.HINT
    assert "from its name alone" in findings[0].message
