from helpers import apply_fix_and_recheck, codes, line_of, lint

WRONG = """\
import torch
from torch import nn

model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
optimizer.zero_grad()
for x, y in loader:
    out = model(x)
    loss = loss_fn(out, y)
    loss.backward()  # here
    optimizer.step()
"""


def test_flags_zero_grad_only_before_loop() -> None:
    findings = lint(WRONG, "NN101")
    assert [(f.code, f.span.line) for f in findings] == [("NN101", line_of(WRONG, "# here"))]
    finding = findings[0]
    assert "optimizer.step()" in finding.message and "line 12" in finding.message
    assert "only once before the loop (line 7)" in finding.message
    lines = {r.span.line for r in finding.related}
    assert {8, 12, 7, 5} <= lines


def test_flags_method_of_trainer_class() -> None:
    code = """\
    import torch
    class Trainer:
        def __init__(self, model):
            self.model = model
            self.optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        def fit(self, loader):
            for batch in loader:
                loss = self.model(batch).mean()
                loss.backward()
                self.optimizer.step()
    """
    findings = lint(code, "NN101")
    assert [(f.code, f.span.line) for f in findings] == [("NN101", 9)]
    assert "`self.optimizer.step()`" in findings[0].message
    fixed = apply_fix_and_recheck(code, "NN101")
    assert "            self.optimizer.zero_grad()\n            loss = self.model(batch)" in fixed


def test_gan_names_the_optimizer_that_is_never_cleared() -> None:
    code = """\
    import torch
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4)
    for real in loader:
        opt_d.zero_grad()
        d_loss = bce(D(real), ones) + bce(D(G(z).detach()), zeros)
        d_loss.backward()
        opt_d.step()
        g_loss = bce(D(G(z)), ones)
        g_loss.backward()
        opt_g.step()
    """
    findings = lint(code, "NN101")
    assert len(findings) == 1
    assert "`opt_g`" in findings[0].message


# ------------------------------------------------------------------ negatives


STEP_HELPER = """\
import torch
import torch.nn as nn

class Fitter:
    def __init__(self, net):
        self.net = net
        self.opt = torch.optim.SGD(net.parameters(), lr=1e-2)
        self.crit = nn.MSELoss()

    def one_batch(self, x, y):
        loss = self.crit(self.net(x), y)
        loss.backward()
        self.opt.step()

    def run(self, batches):
        for x, y in batches:
            self.one_batch(x, y)
"""


def test_flags_a_step_helper_called_once_per_iteration() -> None:
    findings = lint(STEP_HELPER, "NN101")
    assert [(f.code, f.span.line) for f in findings] == [("NN101", 12)]
    assert "which the loop at line 16 calls once per iteration" in findings[0].message
    fixed = apply_fix_and_recheck(STEP_HELPER, "NN101")
    assert "        self.opt.zero_grad()\n        loss = self.crit" in fixed


def test_backward_two_helpers_down_from_the_loop() -> None:
    """torchforge's SFT recipe: `train()` clears the gradients once, then loops over
    `train_step()`, which steps the optimizer after `forward_backward()` ran `loss.backward()`.
    The finding lands on that backward(); the fix clears the gradients in `train_step`."""
    code = """\
    import torch

    class Recipe:
        def forward_backward(self, batch, labels, do_backward=True):
            loss = self.loss_fn(self.model(batch), labels)
            if do_backward:
                loss.backward()
            return loss

        def train_step(self, batch):
            labels = batch.pop("labels")
            loss = self.forward_backward(batch, labels)
            self.optimizer.step()

        def train(self):
            self.optimizer = torch.optim.AdamW(self.model.parameters())
            self.optimizer.zero_grad()
            while self.step < self.steps:
                self.train_step(next(self.loader))
                self.step += 1
    """
    findings = lint(code, "NN101")
    assert [f.span.line for f in findings] == [7]
    assert 12 in {r.span.line for r in findings[0].related}
    fixed = apply_fix_and_recheck(code, "NN101")
    assert "    def train_step(self, batch):\n        self.optimizer.zero_grad()\n" in fixed
    cleared = code.replace("            loss.backward()\n", "            self.optimizer.zero_grad()\n            loss.backward()\n")
    assert codes(cleared, "NN101") == []
