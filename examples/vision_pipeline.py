"""A small vision pipeline: layout mistakes in the model, a raw-logit BCE, and evaluation
that builds graphs it never uses."""
import torch
from torch import nn


class PatchNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),  # expect: NN502
            nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(4),
        )
        self.head = nn.Linear(16 * 16, 1)

    def forward(self, x):
        b, c, h, w = x.shape
        x = x.view(b, h, w, c)  # expect: NN503
        x = self.features(x.permute(0, 3, 1, 2))
        return self.head(x.flatten(1))


class Gate(nn.Module):
    def __init__(self):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())

    def forward(self, x):
        return self.score(x)


def accuracy(model, batches):
    model.eval()
    hits = 0
    for x, y in batches:  # expect: NN204
        hits += ((model(x) > 0).float() == y).sum().item()
    return hits


model = PatchNet()
gate = Gate()
criterion = nn.BCELoss()
optimizer = torch.optim.Adam(list(model.parameters()) + list(gate.parameters()), lr=1e-3)
gate_loss = nn.BCEWithLogitsLoss()
for epoch in range(5):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        out = model(x)
        loss = criterion(out, y)  # expect: NN303
        loss = loss + gate_loss(gate(x[:, :8]), y)  # expect: NN305
        loss.backward()
        optimizer.step()
    print(accuracy(model, val_batches))

with torch.no_grad():
    gate.eval()
    preview = gate.forward(x_val[:, :8])  # expect: NN601
