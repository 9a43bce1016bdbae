"""NN303 logits-into-bce."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

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


def test_flags_raw_model_output_into_bce():
    assert codes(WRONG, "NN30") == [("NN303", line_of(WRONG, "# here"))]


def test_message_and_related():
    (finding,) = lint(WRONG, "NN303")
    assert "`out`" in finding.message and "`net`" in finding.message
    lines = {r.span.line for r in finding.related}
    assert line_of(WRONG, "out = net(x)") in lines
    assert line_of(WRONG, "nn.BCELoss(") in lines


def test_fix_switches_criterion_class_keeping_arguments():
    fixed = apply_fix_and_recheck(WRONG, "NN303")
    assert 'criterion = nn.BCEWithLogitsLoss(reduction="sum")' in fixed


def test_functional_fix_keeps_alias():
    code = '''
    import torch.nn as nn
    import torch.nn.functional as F
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
    loss = F.binary_cross_entropy(model(x).view(-1), y, weight=w)
    '''
    assert codes(code, "NN30") == [("NN303", line_of(code, "loss ="))]
    fixed = apply_fix_and_recheck(code, "NN303")
    assert "F.binary_cross_entropy_with_logits(model(x).view(-1), y, weight=w)" in fixed


def test_imported_class_name_fix_uses_module_alias():
    code = '''
    from torch import nn
    from torch.nn import BCELoss
    model = nn.Linear(3, 1)
    criterion = BCELoss()
    loss = criterion(model(x), y)
    '''
    fixed = apply_fix_and_recheck(code, "NN303")
    assert "criterion = nn.BCEWithLogitsLoss()" in fixed


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


def test_hf_logits_attribute():
    code = '''
    import torch.nn.functional as F
    def step(model, batch, y):
        outputs = model(**batch)
        return F.binary_cross_entropy(outputs.logits, y)
    '''
    assert codes(code, "NN303") == [("NN303", line_of(code, "return F."))]


def test_sigmoid_model_into_bce_is_clean():
    code = '''
    from torch import nn
    def make_detector():
        return nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(16, 1), nn.Sigmoid())
    detector = make_detector()
    criterion = nn.BCELoss()
    prob = detector(images).squeeze(1)
    loss = criterion(prob, labels)
    '''
    assert codes(code, "NN30") == []


def test_unknown_model_is_not_flagged():
    code = '''
    import torch.nn as nn
    from mylib import build_model
    model = build_model()
    criterion = nn.BCELoss()
    loss = criterion(model(x), y)
    '''
    assert codes(code, "NN30") == []


def test_forward_ending_in_clamp_is_not_flagged():
    code = '''
    import torch
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)
        def forward(self, x):
            return torch.clamp(self.fc(x), 0, 1)
    net = Net()
    loss = nn.BCELoss()(net(x), y)
    '''
    assert codes(code, "NN30") == []
