"""NN303 logits-into-bce."""

from helpers import line_of, lint

WRONG = '''
import torch
import torch.nn as nn

class SpamNet(nn.Module):
    def __init__(self, n_features=2048):
        super().__init__()
        self.fc1 = nn.Linear(n_features, 64)
        self.fc2 = nn.Linear(64, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))).squeeze(-1)

net = SpamNet()
criterion = nn.BCELoss(reduction="sum")
while True:
    out = net(x)
    loss = criterion(out, y)  # here
    loss.backward()
'''


def test_message_and_related():
    (finding,) = lint(WRONG, "NN303")
    assert "`out`" in finding.message and "`net`" in finding.message
    lines = {r.span.line for r in finding.related}
    assert line_of(WRONG, "out = net(x)") in lines
    assert line_of(WRONG, "nn.BCELoss(") in lines


def test_no_fix_when_criterion_also_gets_probabilities():
    code = '''
    import torch
    import torch.nn as nn
    model = nn.Linear(3, 1)
    criterion = nn.BCELoss()
    a = criterion(model(x), y)
    b = criterion(torch.sigmoid(model(x)), y)
    '''
    (finding,) = lint(code, "NN303")
    assert finding.span.line == line_of(code, "a = criterion")
    assert finding.fix is None
