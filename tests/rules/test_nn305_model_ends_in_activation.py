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
