"""A trainer class with mixed precision, clipping, a scheduler and distributed sampling,
and the silent mistakes such trainers ship with.

Run `nnlint check examples/trainer_amp.py`; `nnlint check --diff examples/` shows the fixes.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 1))

    def forward(self, x):
        return self.body(x)


class Trainer:
    def __init__(self, model, dataset, epochs=10):
        self.model = model
        self.loader = DataLoader(dataset, batch_size=32, sampler=DistributedSampler(dataset, 1, 0))  # expect: NN206
        self.epochs = epochs
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        self.scaler = torch.amp.GradScaler("cuda", enabled=torch.cuda.is_available())
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=epochs)

    def train_step(self, x, y):
        self.optimizer.zero_grad  # expect: NN205
        with torch.autocast("cuda", enabled=torch.cuda.is_available()):
            out = self.model(x)
            loss = F.mse_loss(out, y)
            smooth = (out[1:] - out[:-1]).abs().mean()  # an auxiliary loss
        self.scaler.scale(loss).backward(retain_graph=True)  # expect: NN101 (the zero_grad above calls nothing)
        smooth.backward()  # expect: NN105
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)  # expect: NN104
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()  # expect: NN207
        return loss.item()

    def fit(self):
        self.model.train()
        for epoch in range(self.epochs):
            total = 0.0
            for x, y in self.loader:
                total += self.train_step(x, y)
            print(f"epoch {epoch}: {total / len(self.loader):.4f}")


if __name__ == "__main__":
    data = TensorDataset(torch.randn(256, 16), torch.randn(256, 1))
    Trainer(Regressor(), data).fit()
