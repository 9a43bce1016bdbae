"""Two heads, two loss mix-ups: a sigmoid before a loss that applies its own, and
NLLLoss fed raw scores instead of log-probabilities."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Tagger(nn.Module):
    def __init__(self, d_in=32, tags=6, classes=4):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(d_in, 64), nn.ReLU())
        self.tags = nn.Linear(64, tags)
        self.kind = nn.Linear(64, classes)

    def forward(self, x):
        h = self.body(x)
        return self.tags(h), self.kind(h)


model = Tagger()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
tag_loss = nn.BCEWithLogitsLoss()
for step in range(200):
    x = torch.randn(64, 32)
    tag_targets = torch.randint(0, 2, (64, 6)).float()
    kind_targets = torch.randint(0, 4, (64,))
    optimizer.zero_grad()
    tag_logits, kind_logits = model(x)
    tag_probs = torch.sigmoid(tag_logits)
    loss = tag_loss(tag_probs, tag_targets)  # expect: NN302
    loss = loss + F.nll_loss(kind_logits, kind_targets)  # expect: NN304
    loss.backward()
    optimizer.step()
