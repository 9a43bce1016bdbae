"""NN302 sigmoid-into-bce-with-logits."""

from helpers import line_of, lint

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


def test_message_and_related():
    (finding,) = lint(WRONG, "NN302")
    assert "`scores`" in finding.message and "line 8" in finding.message
    lines = [r.span.line for r in finding.related]
    assert line_of(WRONG, "torch.sigmoid(") in lines
    assert line_of(WRONG, "nn.BCEWithLogitsLoss()") in lines
