"""NN301 softmax-into-cross-entropy."""

from helpers import codes, line_of, lint

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


def test_message_names_both_ends():
    (finding,) = lint(WRONG, "NN301")
    assert "`probs`" in finding.message
    assert f"line {line_of(WRONG, 'F.softmax(')}" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "F.softmax(")
    assert "softmax" in finding.related[0].message


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
