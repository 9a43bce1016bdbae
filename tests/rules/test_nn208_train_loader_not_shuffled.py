"""NN208 train-loader-not-shuffled."""

from __future__ import annotations


from helpers import codes, line_of, lint

from nnlint.findings import Severity

WRONG = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

features, labels = torch.randn(1000, 20), torch.randint(0, 4, (1000,))
train_set = TensorDataset(features, labels)
train_loader = DataLoader(train_set, batch_size=64)  # here
model = nn.Linear(20, 4)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
"""


def test_reports_the_loader_of_the_training_loop_as_information():
    assert codes(WRONG, "NN2") == [("NN208", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN208")
    assert finding.severity is Severity.INFORMATION
    assert "does not shuffle `train_set`" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "for x, y in train_loader")
