"""A model with a configurable depth and a fine-tuning script for it."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class ResidualMLP(nn.Module):
    def __init__(self, features, hidden, classes, depth=3):
        super().__init__()
        self.inp = nn.Linear(features, hidden)
        self.blocks = [nn.Linear(hidden, hidden) for _ in range(depth)]  # expect: NN504
        self.norms = nn.ModuleList([nn.LayerNorm(hidden) for _ in range(depth)])
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.inp(x)
        for block, norm in zip(self.blocks, self.norms):
            x = x + F.relu(block(norm(x)))
        return self.out(x)


def finetune(model, dataset, device, epochs=3):
    loader = DataLoader(dataset, batch_size=64, shuffle=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        for features, labels in loader:
            features.to(device)  # expect: NN602
            labels = labels.to(device)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(features), labels)
            loss.backward()
            optimizer.step()


def predict(model, dataset):
    model.eval()
    loader = DataLoader(dataset, batch_size=256)
    with torch.no_grad():
        for features, _ in loader:
            scores = model(features)
            yield F.softmax(scores, dim=0)  # expect: NN505


def pretrain(model, features, targets, steps=1000):
    loader = DataLoader(TensorDataset(features, targets), batch_size=128)  # expect: NN208
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for _ in range(steps // len(loader)):
        for x, y in loader:
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()


if __name__ == "__main__":
    data = TensorDataset(torch.randn(1024, 20), torch.randint(0, 4, (1024,)))
    net = ResidualMLP(20, 64, 4)
    finetune(net, data, "cpu")
    print(sum(p.argmax(1).tolist().count(0) for p in predict(net, data)))
