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


def test_fix_inserts_zero_grad_before_forward() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN101")
    assert "    optimizer.zero_grad()\n    out = model(x)\n" in fixed
    assert lint(fixed, "NN101") == []


def test_flags_nested_epoch_loop_with_clear_per_epoch_only() -> None:
    code = """\
    import torch
    def train(model, loader, epochs):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for epoch in range(epochs):
            opt.zero_grad()
            for x, y in loader:
                loss = torch.nn.functional.mse_loss(model(x), y)
                loss.backward()
                opt.step()
    """
    assert codes(code, "NN101") == [("NN101", 8)]
    fixed = apply_fix_and_recheck(code, "NN101")
    assert "            opt.zero_grad()\n            loss = " in fixed


def test_flags_while_loop_accumulation_that_never_clears() -> None:
    code = """\
    import torch
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    step = 0
    while True:
        loss = crit(net(x), y) / 4
        loss.backward()
        step += 1
        if step % 4 == 0:
            opt.step()
    """
    assert codes(code, "NN101") == [("NN101", 6)]


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
def test_quiet_on_correct_loop() -> None:
    code = """\
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_on_zero_grad_after_step() -> None:
    code = """\
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    """
    assert lint(code, "NN101") == []


def test_quiet_on_gradient_accumulation() -> None:
    code = """\
    optimizer.zero_grad()
    for i, (x, y) in enumerate(loader):
        loss = criterion(model(x), y) / accum
        loss.backward()
        if (i + 1) % accum == 0:
            optimizer.step()
            optimizer.zero_grad()
    """
    assert lint(code, "NN101") == []


def test_quiet_on_accumulation_over_inner_micro_batches() -> None:
    code = """\
    for batch in loader:
        optimizer.zero_grad()
        for chunk in batch.split(4):
            (criterion(model(chunk), chunk) / 4).backward()
        optimizer.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_on_model_zero_grad_and_grad_none() -> None:
    model_clear = """\
    for x, y in loader:
        model.zero_grad(set_to_none=True)
        criterion(model(x), y).backward()
        optimizer.step()
    """
    grad_none = """\
    for x, y in loader:
        for p in model.parameters():
            p.grad = None
        criterion(model(x), y).backward()
        optimizer.step()
    """
    assert lint(model_clear, "NN101") == []
    assert lint(grad_none, "NN101") == []


def test_quiet_on_amp_grad_scaler() -> None:
    code = """\
    import torch
    scaler = torch.cuda.amp.GradScaler()
    for x, y in loader:
        optimizer.zero_grad()
        with torch.autocast("cuda"):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    """
    assert lint(code, "NN101") == []


def test_flags_amp_loop_without_clear() -> None:
    code = """\
    import torch
    scaler = torch.cuda.amp.GradScaler()
    optimizer = torch.optim.AdamW(model.parameters())
    for x, y in loader:
        with torch.autocast("cuda"):
            loss = criterion(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    """
    assert codes(code, "NN101") == [("NN101", 7)]


def test_quiet_on_accelerate() -> None:
    code = """\
    model, optim, loader = accelerator.prepare(model, optim, loader)
    for features, labels in loader:
        optim.zero_grad()
        accelerator.backward(loss_fn(model(features), labels))
        optim.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_on_lbfgs_closure() -> None:
    code = """\
    from torch import optim
    optimizer = optim.LBFGS(model.parameters(), lr=0.5)
    def closure():
        optimizer.zero_grad()
        loss = mse(model(t), y)
        loss.backward()
        return loss
    for it in range(10):
        optimizer.step(closure)
    """
    assert lint(code, "NN101") == []


def test_quiet_on_lightning_training_step() -> None:
    code = """\
    import lightning as L
    class Lit(L.LightningModule):
        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = self.loss(self(x), y)
            return loss
    """
    assert lint(code, "NN101") == []


def test_quiet_when_helper_clears() -> None:
    code = """\
    def reset(model):
        for p in model.parameters():
            p.grad = None

    for x, y in loader:
        reset(model)
        criterion(model(x), y).backward()
        optimizer.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_when_step_is_a_scheduler() -> None:
    code = """\
    import torch
    sched = torch.optim.lr_scheduler.StepLR(opt, 10)
    for x, y in loader:
        criterion(model(x), y).backward()
        sched.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_when_optimizer_is_rebuilt_each_iteration() -> None:
    code = """\
    import torch
    for task in tasks:
        learner = make_model()
        opt = torch.optim.SGD(learner.parameters(), lr=0.1)
        loss = learner(task).sum()
        loss.backward()
        opt.step()
    """
    assert lint(code, "NN101") == []


def test_quiet_without_loop() -> None:
    code = """\
    def step(xb, yb):
        loss = criterion(net(xb), yb)
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN101") == []


def test_silent_on_distributed_autograd_contexts() -> None:
    """`dist_autograd.backward(ctx, ...)` writes into the per-iteration context, which
    `DistributedOptimizer.step(ctx)` reads: `.grad` never accumulates (pytorch/examples rpc)."""
    code = """\
    import torch
    import torch.distributed.autograd as dist_autograd
    import torch.optim as optim
    from torch.distributed.optim import DistributedOptimizer

    def train(model, batches, param_rrefs):
        opt = DistributedOptimizer(optim.SGD, param_rrefs, lr=0.05)
        for x, y in batches:
            with dist_autograd.context() as ctx:
                loss = torch.nn.functional.mse_loss(model(x), y)
                dist_autograd.backward(ctx, [loss])
                opt.step(ctx)
    """
    assert codes(code, "NN101") == []
    # the same loop with a local autograd backward still accumulates into .grad
    local = code.replace("dist_autograd.backward(ctx, [loss])", "loss.backward()")
    local = local.replace("opt = DistributedOptimizer(optim.SGD, param_rrefs, lr=0.05)",
                          "opt = optim.SGD(model.parameters(), lr=0.05)").replace("opt.step(ctx)", "opt.step()")
    assert codes(local, "NN101") == [("NN101", 11)]


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


def test_step_helper_look_alikes() -> None:
    # the caller's loop clears, or the helper is also called outside a loop
    cleared = STEP_HELPER.replace("            self.one_batch(x, y)", "            self.opt.zero_grad()\n            self.one_batch(x, y)")
    assert codes(cleared, "NN101") == []
    once = STEP_HELPER + "\n    def warmup(self, x, y):\n        self.one_batch(x, y)\n"
    assert codes(once, "NN101") == []


def test_a_factory_whose_returns_disagree_is_not_taken_for_its_first_return() -> None:
    """TextClassificationBenchmark's `getOptimizer` returns a scheduler on one branch and the
    optimizer on another: the result's class is unknown, not "a scheduler"."""
    code = """\
    import torch

    def get_optimizer(params, scheduler=None):
        optimizer = torch.optim.Adam(params, lr=1e-3)
        if scheduler == "steplr":
            return torch.optim.lr_scheduler.StepLR(optimizer, step_size=30)
        return optimizer

    def train(model, loader, loss_fun):
        optimizer = get_optimizer(model.parameters())
        optimizer.zero_grad()
        for x, y in loader:
            loss = loss_fun(model(x), y)
            loss.backward()
            optimizer.step()
    """
    assert codes(code, "NN101") == [("NN101", 14)]


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
