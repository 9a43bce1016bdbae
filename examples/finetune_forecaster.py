"""A GRU forecaster trained at module level, validated every epoch by a helper."""
import torch
from torch import nn, optim


class Forecaster(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.gru = nn.GRU(1, hidden, num_layers=2, dropout=0.2, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, seq):
        out, _ = self.gru(seq)
        return self.head(out[:, -1])


def validate(model, xs, ys):
    model.eval()
    with torch.no_grad():
        return nn.functional.l1_loss(model(xs), ys).item()


t = torch.linspace(0, 60, 1200)
series = torch.sin(t) + 0.1 * torch.randn_like(t)
windows = series.unfold(0, 25, 1)
x_all, y_all = windows[:, :24].unsqueeze(-1), windows[:, 24:]
x_tr, y_tr, x_va, y_va = x_all[:900], y_all[:900], x_all[900:], y_all[900:]

model = Forecaster()
opt = optim.Adam(model.parameters(), lr=3e-3)
opt.zero_grad()
for epoch in range(10):
    for i in range(0, len(x_tr), 64):
        pred = model(x_tr[i:i + 64])  # expect: NN202
        loss = nn.functional.mse_loss(pred, y_tr[i:i + 64])
        loss.backward()  # expect: NN101
        opt.step()
    print(f"epoch {epoch} val mae {validate(model, x_va, y_va):.4f}")
