"""NN505 softmax-over-batch-dim."""

from __future__ import annotations


from helpers import codes, line_of, lint


WRONG = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.relu(self.conv(x)).mean((2, 3))
        return self.fc(x)

def predict(model, dataset):
    model.eval()
    loader = DataLoader(dataset, batch_size=64)
    with torch.no_grad():
        for images, _ in loader:
            logits = model(images)
            probs = F.softmax(logits, dim=0)  # here
            yield probs.argmax(1)

predictions = list(predict(Net(), None))
"""


def test_flags_softmax_over_the_batch():
    assert codes(WRONG, "NN5") == [("NN505", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN505")
    assert "dim 0 is the batch" in finding.message
    assert [r.span.line for r in finding.related] == [line_of(WRONG, "logits = model(images)"),
                                                     line_of(WRONG, "loader = DataLoader")]
