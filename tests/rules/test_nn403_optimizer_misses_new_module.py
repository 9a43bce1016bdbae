"""NN403 optimizer-misses-new-module."""

from __future__ import annotations


from helpers import codes, line_of, lint


WRONG = """\
import torch
import torch.nn as nn
import torchvision

def train(model, optimizer, loader, epochs):
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

def main(loader):
    model = torchvision.models.resnet18(weights="DEFAULT")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.fc = nn.Linear(model.fc.in_features, 10)  # here
    train(model, optimizer, loader, epochs=5)
"""


def test_flags_head_replaced_after_the_optimizer():
    assert codes(WRONG, "NN4") == [("NN403", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN403")
    assert "`model.fc` is replaced" in finding.message and "`optimizer`" in finding.message
    assert [r.span.line for r in finding.related] == [line_of(WRONG, "torch.optim.SGD"),
                                                     line_of(WRONG, "train(model, optimizer, loader, epochs=5)")]
    assert finding.fix is None


def test_indexed_classifier_in_the_same_loop_function():
    code = """\
    import torch
    import torch.nn as nn
    from torchvision import models

    model = models.vgg16(weights="DEFAULT")
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.classifier[6] = nn.Sequential(nn.Dropout(0.2), nn.Linear(4096, 10))  # here
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    """
    assert codes(code, "NN403") == [("NN403", line_of(code, "# here"))]
    assert "`model.classifier[6]`" in lint(code, "NN403")[0].message


def test_model_rebuilt_after_the_optimizer():
    code = """\
    import torch
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(x)

    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net = Net()  # here
    for x, y in data:
        opt.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        opt.step()
    """
    assert codes(code, "NN403") == [("NN403", line_of(code, "# here"))]
    assert "is rebuilt" in lint(code, "NN403")[0].message


def test_optimizer_made_by_a_helper_and_returned():
    code = """\
    import torch
    import torch.nn as nn

    def make_optimizer(net, lr):
        return torch.optim.SGD(net.parameters(), lr=lr)

    def setup(model, lr):
        opt = make_optimizer(model, lr)
        model.classifier = nn.Linear(512, 3)  # here
        return model, opt
    """
    assert codes(code, "NN403") == [("NN403", line_of(code, "# here"))]
    assert "took `model`'s parameters" in lint(code, "NN403")[0].message


def test_head_replaced_by_a_helper_called_after_the_optimizer():
    code = """\
    import torch
    import torch.nn as nn
    import torchvision

    def replace_head(net, classes):
        net.fc = nn.Linear(net.fc.in_features, classes)  # here

    def set_head_and_optimizer(net, classes):
        net.fc = nn.Linear(net.fc.in_features, classes)
        return torch.optim.SGD(net.parameters(), lr=0.01)

    def main(loader):
        model = torchvision.models.resnet18(weights="DEFAULT")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        replace_head(model, 10)  # call
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

    def fine(loader):
        model = torchvision.models.resnet18(weights="DEFAULT")
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        optimizer = set_head_and_optimizer(model, 10)
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    """
    assert codes(code, "NN403") == [("NN403", line_of(code, "# here"))]
    (finding,) = lint(code, "NN403")
    assert line_of(code, "# call") in [r.span.line for r in finding.related]
