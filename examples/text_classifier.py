"""Bag-of-words text classifier: the gradients are wiped before the step."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class BagOfWords(nn.Module):
    def __init__(self, vocab=5000, dim=64, classes=4):
        super().__init__()
        self.embed = nn.EmbeddingBag(vocab, dim)
        self.out = nn.Linear(dim, classes)

    def forward(self, tokens, offsets):
        return self.out(self.embed(tokens, offsets))


def batches(n=50, bs=16):
    for _ in range(n):
        lengths = torch.randint(5, 40, (bs,))
        tokens = torch.randint(0, 5000, (int(lengths.sum()),))
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
        yield tokens, offsets, torch.randint(0, 4, (bs,))


def train(model, epochs=3):
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    for epoch in range(epochs):
        for tokens, offsets, labels in batches():
            logits = model(tokens, offsets)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            optimizer.zero_grad()  # expect: NN102
            optimizer.step()
        print("epoch", epoch, "loss", loss.item())


if __name__ == "__main__":
    train(BagOfWords())
