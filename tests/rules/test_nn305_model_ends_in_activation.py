"""NN305 model-ends-in-activation."""

from helpers import codes, line_of, lint

WRONG = '''
import torch
from torch import nn
from torch.nn import CrossEntropyLoss

model = nn.Sequential(
    nn.Linear(11, 64),
    nn.ReLU(),
    nn.Linear(64, 6),
    nn.Softmax(dim=1),
)
criterion = CrossEntropyLoss()

def train():
    for chunk in range(10):
        loss = criterion(model(X[chunk]), y[chunk])  # here
        loss.backward()
'''


def test_sequential_ending_in_softmax():
    assert codes(WRONG, "NN30") == [("NN305", line_of(WRONG, "# here"))]


def test_related_points_at_final_activation():
    (finding,) = lint(WRONG, "NN305")
    assert finding.related[0].span.line == line_of(WRONG, "nn.Softmax(dim=1)")
    assert f"line {line_of(WRONG, 'nn.Softmax(dim=1)')}" in finding.message
    assert finding.fix is None


def test_forward_returning_sigmoid_into_bce_with_logits():
    code = '''
    import torch
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 1)
        def forward(self, x):
            return torch.sigmoid(self.fc(x))
    net = Net()
    loss_fn = nn.BCEWithLogitsLoss()
    out = net(x)
    loss = loss_fn(out, y)
    '''
    assert codes(code, "NN30") == [("NN305", line_of(code, "loss = loss_fn"))]
    (finding,) = lint(code, "NN305")
    assert finding.related[0].span.line == line_of(code, "return torch.sigmoid")


def test_builder_function_and_inline_sequential():
    code = '''
    import torch.nn as nn
    import torch.nn.functional as F
    def build():
        return nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=-1))
    net = build()
    a = F.cross_entropy(net(x), y)
    b = F.cross_entropy(nn.Sequential(nn.Linear(4, 3), nn.Softmax(1))(x), y)
    '''
    assert codes(code, "NN30") == [("NN305", line_of(code, "a = F")), ("NN305", line_of(code, "b = F"))]


def test_lightning_self_call():
    code = '''
    import torch.nn.functional as F
    import pytorch_lightning as pl
    from torch import nn
    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
        def forward(self, x):
            return self.net(x)
        def training_step(self, batch, idx):
            x, y = batch
            return F.cross_entropy(self(x), y)
    '''
    assert codes(code, "NN30") == [("NN305", line_of(code, "return F.cross_entropy"))]


def test_model_ending_in_log_softmax_or_linear_is_clean():
    code = '''
    import torch.nn as nn
    import torch.nn.functional as F
    a = nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1))
    b = nn.Sequential(nn.Linear(4, 3))
    l1 = F.cross_entropy(a(x), y)
    l2 = F.cross_entropy(b(x), y)
    '''
    assert codes(code, "NN30") == []


def test_softmax_only_in_eval_branch_is_clean():
    code = '''
    import torch.nn as nn
    import torch.nn.functional as F
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
        def forward(self, x):
            if self.training:
                return self.fc(x)
            return F.softmax(self.fc(x), dim=1)
    net = Net()
    loss = F.cross_entropy(net(x), y)
    '''
    assert codes(code, "NN30") == []


def test_sigmoid_model_with_bce_is_clean():
    code = '''
    from torch import nn
    def make_detector():
        return nn.Sequential(nn.Linear(16, 1), nn.Sigmoid())
    detector = make_detector()
    criterion = nn.BCELoss()
    prob = detector(images).squeeze(1)
    loss = criterion(prob, labels)
    '''
    assert codes(code, "NN30") == []


def test_the_legacy_resize_keeps_the_values() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F

    class Ranker(nn.Module):
        def __init__(self):
            super().__init__()
            self.score = nn.Linear(12, 1)

        def forward(self, docs):
            return F.softmax(self.score(docs).squeeze(-1), dim=0)

    ranker = Ranker()
    criterion = nn.CrossEntropyLoss()
    scores = ranker(docs)
    loss = criterion(scores.resize(1, 4), target)
    """
    assert codes(code, "NN305") == [("NN305", 15)]


def test_sequentials_filled_by_add_module_or_an_ordered_dict() -> None:
    code = """\
    from collections import OrderedDict
    import torch.nn as nn

    def build(n_in, n_out):
        net = nn.Sequential()
        net.add_module("fc1", nn.Linear(n_in, 64))
        net.add_module("probs", nn.Softmax(dim=1))
        return net

    named = nn.Sequential(OrderedDict([
        ("fc", nn.Linear(30, 5)),
        ("probs", nn.Softmax(dim=1)),
    ]))
    logits = nn.Sequential(OrderedDict([("probs", nn.Softmax(dim=1)), ("fc", nn.Linear(5, 5))]))

    criterion = nn.CrossEntropyLoss()
    first = criterion(build(30, 5)(x), y)
    second = criterion(named(x), y)
    third = criterion(logits(x), y)
    """
    assert codes(code, "NN305") == [("NN305", 17), ("NN305", 18)]


def test_a_loss_called_through_forward() -> None:
    code = """\
    import torch.nn as nn
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=-1))
    crit = nn.CrossEntropyLoss()
    loss = crit.forward(model(x), y)
    """
    assert codes(code, "NN305") == [("NN305", 4)]


def test_models_and_losses_called_through_forward() -> None:
    """vinhkhuc/PyTorch-Mini-Tutorials: `model.forward(x)` into `loss.forward(fx, y)`, the
    model's Sequential filled by `self.fc.add_module(...)`."""
    code = """\
    import torch

    class ConvNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Sequential()
            self.fc.add_module("fc1", torch.nn.Linear(320, 10))
            self.fc.add_module("softmax", torch.nn.Softmax())

        def forward(self, x):
            return self.fc.forward(x)

    def train(model, loss, optimizer, x, y):
        optimizer.zero_grad()
        fx = model.forward(x)
        output = loss.forward(fx, y)
        output.backward()
        optimizer.step()

    model = ConvNet()
    train(model, torch.nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), x, y)
    """
    findings = lint(code, "NN305")
    assert [(f.code, f.span.line) for f in findings] == [("NN305", 16)]
    assert findings[0].message.startswith("`model` ends in a softmax")


def test_a_loss_function_kept_in_an_attribute_or_a_partial() -> None:
    """Lightning's fine-tuning example kept `F.binary_cross_entropy_with_logits` in
    `self.loss_func` and fed it a forward that ended in a sigmoid."""
    code = """\
    import functools
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)
            self.loss_func = F.binary_cross_entropy_with_logits

        def forward(self, x):
            return torch.sigmoid(self.fc(x))

        def loss(self, logits, labels):
            return self.loss_func(input=logits, target=labels)

        def training_step(self, batch):
            x, y = batch
            return self.loss(self.forward(x), y)

    ce = functools.partial(F.cross_entropy, label_smoothing=0.1)
    net = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    l2 = ce(net(x), y)
    """
    findings = lint(code, "NN305")
    assert [(f.code, f.span.line) for f in findings] == [("NN305", 16), ("NN305", 24)]
    assert findings[0].message.startswith("`Model` ends in a sigmoid")
