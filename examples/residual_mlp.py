"""A model with a configurable depth and a fine-tuning script for it."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader


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
