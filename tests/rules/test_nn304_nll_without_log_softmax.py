"""NN304 nll-without-log-softmax."""

from helpers import codes, line_of, lint

WRONG = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

class DigitNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(start_dim=1)))
        return self.fc2(x)

def fit(model, images, targets):
    nll = nn.NLLLoss()
    for start in range(0, len(images), 50):
        out = model(images[start:start + 50])
        loss = nll(out, targets[start:start + 50])  # here
        loss.backward()

fit(DigitNet(), None, None)
'''


def test_message_and_related():
    (finding,) = lint(WRONG, "NN304")
    assert "`out`" in finding.message and "log-probabilities" in finding.message
    lines = {r.span.line for r in finding.related}
    assert line_of(WRONG, "out = model(") in lines
    assert line_of(WRONG, "nn.NLLLoss()") in lines


def test_model_ending_in_softmax_into_nll_is_flagged_without_fix():
    code = '''
    import torch.nn as nn
    model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
    criterion = nn.NLLLoss()
    loss = criterion(model(x), y)
    '''
    (finding,) = lint(code, "NN30")
    assert (finding.code, finding.span.line) == ("NN304", line_of(code, "loss ="))
    assert finding.fix is None
    assert finding.related[0].span.line == line_of(code, "nn.Softmax")


def test_flags_raw_element_of_a_tuple_returning_model() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 3)
            self.b = nn.Linear(8, 4)
        def forward(self, x):
            return self.a(x), F.log_softmax(self.b(x), dim=1)
    model = TwoHeads()
    first, second = model(x)
    loss = F.nll_loss(first, y) + F.nll_loss(second, z)
    """
    from helpers import codes
    assert codes(code, "NN304") == [("NN304", 12)]
    findings = __import__("helpers").lint(code, "NN304")
    assert "`first`" in findings[0].message
