"""NN302 sigmoid-into-bce-with-logits."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

WRONG = '''
import torch
from torch import nn, optim

def train_one_epoch(model, optimizer, criterion, xs, ys):
    for x, y in zip(xs, ys):
        optimizer.zero_grad()
        scores = torch.sigmoid(model(x))
        loss = criterion(scores, y)  # here
        loss.backward()
        optimizer.step()

model = nn.Linear(64, 10)
criterion = nn.BCEWithLogitsLoss()
optimizer = optim.AdamW(model.parameters(), lr=2e-3)
train_one_epoch(model, optimizer, criterion, [], [])
'''


def test_flags_sigmoid_into_criterion_passed_as_argument():
    assert codes(WRONG, "NN302") == [("NN302", line_of(WRONG, "# here"))]


def test_message_and_related():
    (finding,) = lint(WRONG, "NN302")
    assert "`scores`" in finding.message and "line 8" in finding.message
    lines = [r.span.line for r in finding.related]
    assert line_of(WRONG, "torch.sigmoid(") in lines
    assert line_of(WRONG, "nn.BCEWithLogitsLoss()") in lines


def test_fix_drops_sigmoid_used_only_by_loss():
    fixed = apply_fix_and_recheck(WRONG, "NN302")
    assert "scores = model(x)" in fixed


def test_fix_passes_logits_when_available():
    code = '''
    import torch.nn.functional as F
    def step(model, x, y):
        logits = model(x)
        probs = logits.sigmoid()
        loss = F.binary_cross_entropy_with_logits(probs, y)
        preds = probs > 0.5
        return loss, preds
    '''
    assert codes(code, "NN302") == [("NN302", line_of(code, "loss = F."))]
    fixed = apply_fix_and_recheck(code, "NN302")
    assert "F.binary_cross_entropy_with_logits(logits, y)" in fixed
    assert "probs = logits.sigmoid()" in fixed


def test_sigmoid_module_instance():
    code = '''
    import torch.nn as nn
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.Sigmoid()
            self.loss = nn.BCEWithLogitsLoss(pos_weight=None)
        def compute(self, z, y):
            return self.loss(self.act(z), y)
    '''
    assert codes(code, "NN302") == [("NN302", line_of(code, "return self.loss"))]
    fixed = apply_fix_and_recheck(code, "NN302")
    assert "return self.loss(z, y)" in fixed


def test_sigmoid_only_for_predictions_is_clean():
    code = '''
    import torch
    from torch import nn
    model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 1))
    criterion = nn.BCEWithLogitsLoss()
    for idx in range(10):
        logits = model(X[idx]).squeeze(1)
        loss = criterion(logits, y[idx])
        preds = (torch.sigmoid(logits) > 0.5).float()
    '''
    assert codes(code, "NN30") == []


def test_sigmoid_into_plain_bce_is_clean():
    code = '''
    import torch
    from torch import nn
    criterion = nn.BCELoss()
    def step(model, x, y):
        return criterion(torch.sigmoid(model(x)), y)
    '''
    assert codes(code, "NN30") == []


def test_modules_moved_to_a_device_keep_their_kind() -> None:
    """`nn.Sigmoid().to(device)` is still a sigmoid, `nn.BCEWithLogitsLoss().cuda()` still
    applies its own."""
    code = """\
    import torch.nn as nn
    def tagging_loss(model, x, y, device):
        criterion = nn.BCEWithLogitsLoss().to(device)
        squash = nn.Sigmoid().cuda()
        return criterion(squash(model(x)), y)
    """
    assert codes(code, "NN302") == [("NN302", 5)]


def test_rounded_probabilities_are_still_probabilities() -> None:
    """zero-to-mastery's classification notebook fed `torch.round(torch.sigmoid(logits))`
    to BCEWithLogitsLoss (fixed: "calculate loss on logits not preds")."""
    code = """\
    import torch
    import torch.nn as nn
    loss_fn = nn.BCEWithLogitsLoss()
    y_logits = model(x).squeeze()
    y_pred = torch.round(torch.sigmoid(y_logits))
    loss = loss_fn(y_pred, y)
    """
    assert codes(code, "NN302") == [("NN302", 6)]
