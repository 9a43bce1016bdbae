"""NN301 softmax-into-cross-entropy."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

WRONG = '''
import torch
import torch.nn as nn
import torch.nn.functional as F

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 3))
for epoch in range(10):
    logits = model(features)
    probs = F.softmax(logits, dim=1)
    loss = F.cross_entropy(probs, labels)  # here
    loss.backward()
    acc = (probs.argmax(1) == labels).float().mean()
'''


def test_flags_softmax_into_functional_cross_entropy():
    assert codes(WRONG, "NN301") == [("NN301", line_of(WRONG, "# here"))]


def test_message_names_both_ends():
    (finding,) = lint(WRONG, "NN301")
    assert "`probs`" in finding.message
    assert f"line {line_of(WRONG, 'F.softmax(')}" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "F.softmax(")
    assert "softmax" in finding.related[0].message


def test_fix_passes_logits_and_keeps_metric_softmax():
    fixed = apply_fix_and_recheck(WRONG, "NN301")
    assert "loss = F.cross_entropy(logits, labels)" in fixed
    assert "probs = F.softmax(logits, dim=1)" in fixed


def test_inline_softmax_fix():
    code = '''
    import torch.nn.functional as F
    def step(model, x, y):
        out = model(x)
        return F.cross_entropy(F.softmax(out, 1), y)
    '''
    assert codes(code, "NN301") == [("NN301", line_of(code, "return F.cross_entropy"))]
    fixed = apply_fix_and_recheck(code, "NN301")
    assert "return F.cross_entropy(out, y)" in fixed


def test_module_instance_self_attribute_and_criterion_in_init():
    code = '''
    import torch
    from torch import nn

    class Trainer:
        def __init__(self, model):
            self.model = model
            self.softmax = nn.Softmax(dim=1)
            self.criterion = nn.CrossEntropyLoss()

        def step(self, x, y):
            self.probs = self.softmax(self.model(x))
            loss = self.criterion(self.probs.view(-1, 10), y)  # here
            return loss
    '''
    assert codes(code, "NN301") == [("NN301", line_of(code, "# here"))]


def test_method_form_and_shape_ops():
    code = '''
    import torch
    criterion = torch.nn.CrossEntropyLoss()
    def train(net, x, y):
        p = net(x).softmax(dim=-1)
        q = p.squeeze(1)
        loss = criterion(q[:, :5], y)  # here
        loss.backward()
    '''
    assert codes(code, "NN301") == [("NN301", line_of(code, "# here"))]


def test_criterion_from_same_file_helper_and_param():
    code = '''
    import torch
    import torch.nn as nn

    def make_loss():
        return nn.CrossEntropyLoss(label_smoothing=0.1)

    def run(loss_fn, model, x, y):
        probs = torch.softmax(model(x), dim=1)
        return loss_fn(probs, y)  # here

    run(make_loss(), None, None, None)
    '''
    assert codes(code, "NN301") == [("NN301", line_of(code, "# here"))]
    fixed = apply_fix_and_recheck(code, "NN301")
    assert "probs = model(x)" in fixed


def test_softmax_for_accuracy_only_is_clean():
    code = '''
    import torch
    from torch.nn import CrossEntropyLoss
    loss_fn = CrossEntropyLoss()
    def train(model, X, Y):
        logits = model(X)
        probs = torch.softmax(logits, dim=-1)
        loss = loss_fn(logits, Y)
        accuracy = (probs.argmax(-1) == Y).float().mean()
        return loss
    '''
    assert codes(code, "NN301") == []


def test_softmax_as_distillation_target_is_clean():
    code = '''
    import torch.nn.functional as F
    def distill(student, teacher, x, T=2.0):
        soft_targets = F.softmax(teacher(x) / T, dim=1)
        return F.cross_entropy(student(x) / T, soft_targets)
    '''
    assert codes(code, "NN301") == []


def test_log_softmax_into_cross_entropy_is_not_flagged():
    code = '''
    import torch.nn.functional as F
    def step(model, x, y):
        logp = F.log_softmax(model(x), dim=1)
        return F.cross_entropy(logp, y)
    '''
    assert codes(code, "NN3") == []


def test_log_of_probabilities_is_not_flagged():
    code = '''
    import torch
    import torch.nn.functional as F
    def step(model, x, y):
        probs = F.softmax(model(x), dim=1)
        return F.cross_entropy(torch.log(probs + 1e-8), y)
    '''
    assert codes(code, "NN301") == []


def test_no_fix_when_logits_rebound():
    code = '''
    import torch.nn.functional as F
    def step(model, x, y):
        logits = model(x)
        probs = F.softmax(logits, dim=1)
        logits = logits.detach()
        loss = F.cross_entropy(probs, y)
        return loss, probs
    '''
    (finding,) = lint(code, "NN301")
    assert finding.fix is None


def test_scipy_softmax_is_not_torch():
    code = '''
    from scipy.special import softmax
    import scipy.special as sp
    import torch.nn.functional as F
    def step(x, y):
        return F.cross_entropy(sp.softmax(x), y) + F.cross_entropy(x.cpu(), y)
    '''
    assert codes(code, "NN301") == []


def test_softmax_spelled_as_exp_of_log_softmax() -> None:
    """`torch.exp(log_softmax(x))` and `log_softmax(x).exp()` are probabilities too
    (Transformer-GCN-QA shipped this into CrossEntropyLoss); `exp` of anything else is not."""
    code = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    loss_fct = nn.CrossEntropyLoss()
    log_norm = nn.LogSoftmax(dim=1)
    probs = torch.exp(log_norm(scores))
    loss = loss_fct(probs, y)
    other = F.log_softmax(scores, dim=1).exp()
    loss2 = loss_fct(other, y)
    fine = torch.exp(scores)
    loss3 = loss_fct(fine, y)
    """
    assert codes(code, "NN301") == [("NN301", 7), ("NN301", 9)]


def test_rows_of_softmax_probabilities_fed_one_by_one() -> None:
    """graph_neural_net's `triplet_loss.forward`: `outputs = torch.softmax(raw_scores, -1)`,
    then `for out in outputs: self.loss(out, target)` with a CrossEntropyLoss default. The
    rows of a probability tensor are probabilities; the rows of a list are not known."""
    code = """\
    import torch
    import torch.nn as nn

    class triplet_loss(nn.Module):
        def __init__(self, loss=nn.CrossEntropyLoss(reduction="sum")):
            super().__init__()
            self.loss = loss

        def forward(self, raw_scores, target_dummy):
            loss = 0
            outputs = torch.softmax(raw_scores, -1)
            for out in outputs:
                target = torch.arange(out.shape[0])
                loss += self.loss(out, target)
            return loss
    """
    findings = lint(code, "NN301")
    assert [f.span.line for f in findings] == [14]
    assert 12 in {r.span.line for r in findings[0].related}
    listed = code.replace("outputs = torch.softmax(raw_scores, -1)", "outputs = [raw_scores, raw_scores * 2]")
    assert codes(listed, "NN301") == []
    logits = code.replace("torch.softmax(raw_scores, -1)", "raw_scores.float()")
    assert codes(logits, "NN301") == []
