from helpers import apply_fix_and_recheck, codes, lint

WRONG = """\
def train(model, loader, optimizer, criterion):
    for x, y in loader:
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.zero_grad()  # wipes
        optimizer.step()
"""


def test_flags_zero_grad_between_backward_and_step() -> None:
    findings = lint(WRONG, "NN102")
    assert [(f.code, f.span.line) for f in findings] == [("NN102", 6)]
    assert "line 5" in findings[0].message and "line 7" in findings[0].message
    assert {r.span.line for r in findings[0].related} == {5, 7}


def test_fix_moves_zero_grad_before_forward() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN102")
    assert fixed == (
        "def train(model, loader, optimizer, criterion):\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        logits = model(x)\n"
        "        loss = criterion(logits, y)\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
    )


def test_flags_model_zero_grad_too() -> None:
    code = """\
    for x, y in loader:
        criterion(model(x), y).backward()
        model.zero_grad()
        optimizer.step()
    """
    assert codes(code, "NN102") == [("NN102", 3)]


def test_quiet_on_clear_after_step() -> None:
    code = """\
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    """
    assert lint(code, "NN102") == []


def test_quiet_on_gan_clearing_before_the_second_backward() -> None:
    code = """\
    import torch
    opt_d = torch.optim.Adam(D.parameters())
    opt_g = torch.optim.Adam(G.parameters())
    for real in loader:
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad()
        g_loss = bce(D(G(z)), ones)
        g_loss.backward()
        opt_g.step()
    """
    assert lint(code, "NN102") == []


def test_quiet_on_clear_of_other_optimizer() -> None:
    code = """\
    import torch
    opt_a = torch.optim.Adam(a.parameters())
    opt_b = torch.optim.Adam(b.parameters())
    for x in loader:
        opt_a.zero_grad()
        loss_a(x).backward()
        opt_b.zero_grad()
        opt_a.step()
    """
    assert lint(code, "NN102") == []


def test_quiet_on_accumulation_with_conditional_step() -> None:
    code = """\
    for i, (x, y) in enumerate(loader):
        (criterion(model(x), y) / 4).backward()
        if (i + 1) % 4 == 0:
            optimizer.step()
            optimizer.zero_grad()
    """
    assert lint(code, "NN102") == []


def test_quiet_when_clear_and_step_are_alternatives() -> None:
    code = """\
    for x, y in loader:
        criterion(model(x), y).backward()
        if skip:
            optimizer.zero_grad()
        else:
            optimizer.step()
    """
    assert lint(code, "NN102") == []


def test_lightning_manual_optimisation_step() -> None:
    """`training_step` is one iteration the framework runs; `self.manual_backward` is the
    backward pass."""
    code = """\
    import torch
    import torch.nn.functional as F
    import lightning.pytorch as pl

    class PairGAN(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False

        def training_step(self, batch, batch_idx):
            opt_g, opt_d = self.optimizers()
            loss_d = F.softplus(-self.disc(batch)).mean()
            self.manual_backward(loss_d)
            opt_d.zero_grad()
            opt_d.step()
            opt_g.zero_grad()
            loss_g = F.softplus(-self.disc(self.gen(batch))).mean()
            self.manual_backward(loss_g)
            opt_g.step()
    """
    assert codes(code, "NN102") == [("NN102", 14)]
    fixed = apply_fix_and_recheck(code, "NN102")
    assert "        opt_d.zero_grad()\n        loss_d = " in fixed
