"""NN304 nll-without-log-softmax."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

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


def test_flags_raw_logits_into_nll():
    assert codes(WRONG, "NN30") == [("NN304", line_of(WRONG, "# here"))]


def test_message_and_related():
    (finding,) = lint(WRONG, "NN304")
    assert "`out`" in finding.message and "log-probabilities" in finding.message
    lines = {r.span.line for r in finding.related}
    assert line_of(WRONG, "out = model(") in lines
    assert line_of(WRONG, "nn.NLLLoss()") in lines


def test_fix_wraps_logits_with_file_alias():
    fixed = apply_fix_and_recheck(WRONG, "NN304")
    assert "loss = nll(F.log_softmax(out, dim=1), targets[start:start + 50])" in fixed


def test_softmax_only_used_by_loss_becomes_log_softmax():
    code = '''
    import torch
    from torch import nn
    def step(model, x, y):
        probs = torch.softmax(model(x), dim=-1)
        return nn.functional.nll_loss(probs, y)
    '''
    assert codes(code, "NN30") == [("NN304", line_of(code, "return nn.functional"))]
    fixed = apply_fix_and_recheck(code, "NN304")
    assert "probs = torch.log_softmax(model(x), dim=-1)" in fixed


def test_softmax_used_elsewhere_wraps_logits_with_same_dim():
    code = '''
    import torch.nn.functional as F
    def step(model, x, y):
        logits = model(x)
        probs = F.softmax(logits, dim=-1)
        loss = F.nll_loss(probs, y)
        return loss, probs.argmax(-1)
    '''
    fixed = apply_fix_and_recheck(code, "NN304")
    assert "loss = F.nll_loss(F.log_softmax(logits, dim=-1), y)" in fixed
    assert "probs = F.softmax(logits, dim=-1)" in fixed


def test_wrap_without_functional_alias_uses_torch():
    code = '''
    import torch
    model = torch.nn.Linear(4, 3)
    loss = torch.nn.NLLLoss()(model(x), y)
    '''
    fixed = apply_fix_and_recheck(code, "NN304")
    assert "torch.nn.NLLLoss()(torch.log_softmax(model(x), dim=1), y)" in fixed


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


def test_log_softmax_into_nll_is_clean():
    code = '''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class NameGRU(nn.Module):
        def __init__(self, hidden=96):
            super().__init__()
            self.gru = nn.GRU(58, hidden, batch_first=True)
            self.proj = nn.Linear(hidden, 18)

        def forward(self, x):
            _, h = self.gru(x)
            return F.log_softmax(self.proj(h[-1]), dim=-1)

    encoder = NameGRU()
    criterion = nn.NLLLoss()
    log_probs = encoder(names)
    loss = criterion(log_probs, langs)
    loss2 = F.nll_loss(torch.log(F.softmax(encoder(names), 1)), langs)
    loss3 = F.nll_loss(F.log_softmax(nn.Linear(3, 3)(names), 1), langs)
    '''
    assert codes(code, "NN30") == []


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


def test_a_layer_attribute_is_judged_by_its_constructor_not_its_name() -> None:
    """`self.softmax = nn.LogSoftmax(dim=1)` (the char-RNN tutorial): log-probabilities,
    exactly what NLLLoss wants; an `nn.Softmax` in the same place is still reported."""
    code = """\
    import torch.nn as nn

    class CharRNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.i2o = nn.Linear(10, 5)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, x):
            return self.softmax(self.i2o(x))

    rnn = CharRNN()
    criterion = nn.NLLLoss()
    for x, y in loader:
        loss = criterion(rnn(x), y)
    """
    assert codes(code, "NN304") == []
    assert codes(code.replace("nn.LogSoftmax(dim=1)", "nn.Softmax(dim=1)"), "NN304") == [("NN304", 15)]
