from helpers import apply_fix_and_recheck, codes, lint

WRONG = """\
import torch.nn.functional as F
total_loss = 0.0
for images, targets in loader:
    opt.zero_grad()
    loss = F.cross_entropy(model(images), targets)
    loss.backward()
    opt.step()
    total_loss += loss
print(total_loss / len(loader))
"""


def test_flags_running_total_of_loss_tensor() -> None:
    findings = lint(WRONG, "NN103")
    assert [(f.code, f.span.line) for f in findings] == [("NN103", 8)]
    assert "`total_loss`" in findings[0].message and "`loss`" in findings[0].message
    assert 5 in {r.span.line for r in findings[0].related}


def test_fix_uses_item() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN103")
    assert "    total_loss += loss.item()\n" in fixed


def test_fix_uses_detach_when_total_is_used_as_tensor() -> None:
    code = WRONG.replace("print(total_loss / len(loader))", "print(total_loss.item())")
    fixed = apply_fix_and_recheck(code, "NN103")
    assert "total_loss += loss.detach()" in fixed


def test_flags_scaled_sum_and_plain_assignment_form() -> None:
    code = """\
    running = 0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running = running + loss * x.size(0)
    """
    assert codes(code, "NN103") == [("NN103", 6)]
    fixed = apply_fix_and_recheck(code, "NN103")
    assert "running = running + loss.item() * x.size(0)" in fixed


def test_flags_self_attribute_total() -> None:
    code = """\
    class Trainer:
        def epoch(self, batches):
            self.epoch_loss = 0
            for x, y in batches:
                loss = self.criterion(self.model(x), y)
                loss.backward()
                self.optimizer.step()
                self.epoch_loss += loss
    """
    assert codes(code, "NN103") == [("NN103", 8)]


def test_quiet_on_item_and_detach() -> None:
    code = """\
    total = 0.0
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item()
        value = loss.detach()
        other += value
        count += x.size(0)
    """
    assert lint(code, "NN103") == []


def test_quiet_under_no_grad() -> None:
    code = """\
    import torch
    val_loss = torch.zeros(())
    with torch.no_grad():
        for xb, yb in val_batches:
            val_loss += criterion(model(xb), yb)
    """
    assert lint(code, "NN103") == []


def test_quiet_on_loss_composition_inside_one_step() -> None:
    code = """\
    for x, y in loader:
        loss = 0
        for head in heads:
            loss += criterion(head(x), y)
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN103") == []


def test_silent_on_two_losses_of_one_step() -> None:
    """`loss = main; loss += aux` (or `loss = loss + w * aux`) re-binds `loss` every
    iteration: no graph survives into the next one, and `.detach()` would cut the
    auxiliary gradient (PyTorch-GAN ebgan, diffusers prior preservation, cleanrl)."""
    code = """\
    import torch
    import torch.nn.functional as F
    net = torch.nn.Linear(8, 8)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for x, y in loader:
        out = net(x)
        d_loss = F.mse_loss(out, y)
        if margin > 0:
            d_loss += F.l1_loss(out, y)
        loss = F.mse_loss(out, y)
        loss = loss + 0.5 * F.l1_loss(out, y)
        opt.zero_grad()
        (d_loss + loss).backward()
        opt.step()
    """
    assert codes(code, "NN103") == []


def test_still_flags_a_running_total_reset_only_per_epoch() -> None:
    code = """\
    import torch
    import torch.nn.functional as F
    net = torch.nn.Linear(8, 8)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in range(3):
        total = 0
        for x, y in loader:
            loss = F.mse_loss(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total = total * 0.9
            total += loss
    """
    assert codes(code, "NN103") == [("NN103", 13)]


def test_flags_a_loss_unpacked_from_a_tuple() -> None:
    """`loss, parts = detection_loss(...)`, then `loss.backward()`: a graph-carrying loss."""
    code = """\
    from objectives import detection_loss
    def train(net, loader, optimizer):
        running = 0.0
        for images, boxes in loader:
            optimizer.zero_grad()
            loss, box_part = detection_loss(net(images), boxes)
            loss.backward()
            optimizer.step()
            running += loss
    """
    assert codes(code, "NN103") == [("NN103", 9)]
    fixed = apply_fix_and_recheck(code, "NN103")
    assert "running += loss.item()" in fixed
    assert codes(code.replace("running += loss", "running += box_part"), "NN103") == []


def test_flags_an_attribute_total_in_a_step_helper() -> None:
    code = """\
    import torch.nn as nn

    class Fitter:
        def __init__(self, net, opt):
            self.net, self.opt, self.crit = net, opt, nn.MSELoss()
            self.seen = 0.0

        def one_batch(self, x, y):
            self.opt.zero_grad()
            loss = self.crit(self.net(x), y)
            loss.backward()
            self.opt.step()
            self.seen += loss

        def run(self, batches):
            for x, y in batches:
                self.one_batch(x, y)
    """
    assert codes(code, "NN103") == [("NN103", 13)]
    assert "self.seen += loss.item()" in apply_fix_and_recheck(code, "NN103")
    assert codes(code.replace("self.seen += loss", "self.seen += loss.item()"), "NN103") == []
