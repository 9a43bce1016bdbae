from helpers import apply_fix_and_recheck, codes, lint

WRONG = """\
import torch
from torch import nn

def validate(m, xs, ys):
    m.eval()
    with torch.no_grad():
        return nn.functional.l1_loss(m(xs), ys).item()

m = Forecaster()
o = torch.optim.Adam(m.parameters(), lr=3e-3)
for epoch in range(10):
    for i in range(0, len(x_tr), 64):
        o.zero_grad()
        pred = m(x_tr[i:i + 64])
        loss = nn.functional.mse_loss(pred, y_tr[i:i + 64])
        loss.backward()
        o.step()
    print(validate(m, x_va, y_va))
"""


def test_flags_forward_after_unrestored_eval_helper() -> None:
    findings = lint(WRONG, "NN202")
    assert [(f.code, f.span.line) for f in findings] == [("NN202", 14)]
    message = findings[0].message
    assert "line 18" in message and "validate()" in message and "loop at line 11" in message
    assert {18, 11} <= {r.span.line for r in findings[0].related}


def test_fix_inserts_train_at_top_of_epoch_loop() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN202")
    assert "for epoch in range(10):\n    m.train()\n    for i in range" in fixed


def test_flags_direct_eval_at_end_of_epoch() -> None:
    code = """\
    for epoch in range(5):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            acc = score(model(xv), yv)
    """
    assert codes(code, "NN202") == [("NN202", 4)]


def test_flags_periodic_eval_inside_batch_loop() -> None:
    code = """\
    model.train()
    for step, (x, y) in enumerate(loader):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        if step % 100 == 0:
            model.eval()
            run_validation()
    """
    assert codes(code, "NN202") == [("NN202", 4)]
    fixed = apply_fix_and_recheck(code, "NN202")
    assert "for step, (x, y) in enumerate(loader):\n    model.train()\n" in fixed


def test_quiet_when_train_restored_at_top() -> None:
    code = WRONG.replace("for epoch in range(10):\n", "for epoch in range(10):\n    m.train()\n")
    assert lint(code, "NN202") == []


def test_quiet_when_helper_restores_train() -> None:
    code = WRONG.replace("        return nn.functional.l1_loss(m(xs), ys).item()",
                         "        err = nn.functional.l1_loss(m(xs), ys).item()\n    m.train()\n    return err")
    assert lint(code, "NN202") == []


def test_quiet_when_train_epoch_helper_sets_train() -> None:
    code = """\
    def train_one_epoch(model, loader, opt):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()

    def evaluate(model, loader):
        model.eval()
        with torch.no_grad():
            return [model(x) for x, _ in loader]

    for epoch in range(10):
        train_one_epoch(model, train_loader, opt)
        evaluate(model, val_loader)
    """
    assert lint(code, "NN202") == []


def test_quiet_on_deliberate_eval_before_training_forward() -> None:
    code = """\
    for x, y in loader:
        model.eval()  # frozen batch norm while fine-tuning the head
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN202") == []


def test_quiet_when_eval_is_on_another_model() -> None:
    code = """\
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(student(x), teacher(x))
            loss.backward()
            optimizer.step()
        teacher.eval()
    """
    assert lint(code, "NN202") == []


def test_train_restored_at_the_end_of_a_method_chain() -> None:
    """`.to()`, `.cuda()` and `.cpu()` return the module itself: `net.to(device).train()`
    restores training mode (pytorch/examples fast_neural_style checkpointing)."""
    code = """\
    import torch
    import torch.nn as nn
    net = nn.Sequential(nn.Linear(16, 16), nn.Dropout(0.2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for epoch in range(2):
        net.train()
        for step in range(100):
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
            if step % 25 == 0:
                net.eval().cpu()
                torch.save(net.state_dict(), "ckpt.pt")
                net.to(device).train()
    """
    assert codes(code, "NN202") == []
    # a chain that ends in eval() is still an eval
    unrestored = code.replace("net.to(device).train()", "net.cuda().eval()")
    assert codes(unrestored, "NN202") == [("NN202", 9)]


def test_forward_inside_the_backward_expression_counts() -> None:
    """`net(x).sum().backward()` on one line: the forward runs before the backward."""
    code = """\
    import torch
    import torch.nn as nn
    net = nn.Sequential(nn.Linear(16, 16), nn.Dropout(0.2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for step in range(100):
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
        if step % 25 == 0:
            net.eval()
    """
    assert codes(code, "NN202") == [("NN202", 7)]


def test_the_model_class_is_known_through_a_constructor_chain() -> None:
    """`Net().to(device)` is a `Net`: its layers decide whether its mode matters."""
    code = """\
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            return self.fc(x)

    model = Net().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(100):
        y = model(x)
        opt.zero_grad()
        y.sum().backward()
        opt.step()
        model.eval()
    """
    assert codes(code, "NN202") == []
    with_dropout = code.replace("self.fc = nn.Linear(2, 1)", "self.fc = nn.Sequential(nn.Linear(2, 1), nn.Dropout(0.1))")
    assert codes(with_dropout, "NN202") == [("NN202", 15)]


def test_a_sequential_built_by_a_helper_is_not_assumed_harmless() -> None:
    """optuna's pytorch_simple: `define_model(trial).to(DEVICE)` returns `nn.Sequential(*layers)`
    with dropout; the file cannot prove it has none, so the missing train() is reported."""
    code = """\
    import torch
    from torch import nn

    def define_model(n):
        layers = []
        for i in range(n):
            layers.append(nn.Linear(4, 4))
            layers.append(nn.Dropout(0.2))
        return nn.Sequential(*layers)

    model = define_model(3).to("cpu")
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for epoch in range(10):
        for x, y in loader:
            opt.zero_grad()
            out = model(x)
            out.sum().backward()
            opt.step()
        model.eval()
    """
    assert [(f.span.line, f.severity.value) for f in lint(code, "NN202")] == [(17, "warning")]
    # The list the helper fills holds no dropout: the mode changes nothing.
    assert codes(code.replace("nn.Dropout(0.2)", "nn.ReLU()"), "NN202") == []
    # Something the file does not show goes into it: not visible, said softly.
    unseen = code.replace("layers.append(nn.Dropout(0.2))", "layers.extend(make_block())")
    assert [(f.span.line, f.severity.value) for f in lint(unseen, "NN202")] == [(17, "information")]


def test_a_wrapper_is_not_a_model_without_dropout() -> None:
    """`torch.nn.DataParallel(model)` hides what it wraps (simpletransformers' trainer)."""
    code = """\
    import torch
    def train(model, loader, opt, evaluate):
        model = torch.nn.DataParallel(model)
        model.train()
        for step, (x, y) in enumerate(loader):
            out = model(x)
            out.sum().backward()
            opt.step()
            opt.zero_grad()
            if step % 100 == 0:
                model.eval()
    """
    assert codes(code, "NN202") == [("NN202", 6)]


def test_an_evaluation_before_the_training_loop_is_never_undone() -> None:
    """An untrained baseline scored with eval() before the loop: training then runs in
    eval mode. An eval() with no evaluation after it (frozen batch norm) is left alone."""
    code = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def run(x, y, x_val, y_val):
        net = nn.Sequential(nn.Linear(32, 64), nn.Dropout(0.3), nn.Linear(64, 2))
        net.eval()
        with torch.no_grad():
            base = (net(x_val).argmax(1) == y_val).float().mean().item()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        for epoch in range(10):
            for xb, yb in zip(x.split(64), y.split(64)):
                opt.zero_grad()
                loss = F.cross_entropy(net(xb), yb)
                loss.backward()
                opt.step()
    """
    findings = lint(code, "NN202")
    assert [(f.code, f.span.line) for f in findings] == [("NN202", 14)]
    assert "the training loop at line 11 starts without `net.train()`" in findings[0].message
    fixed = apply_fix_and_recheck(code, "NN202")
    assert "        net.train()\n        for xb, yb" in fixed
    frozen = code.replace("""        with torch.no_grad():
            base = (net(x_val).argmax(1) == y_val).float().mean().item()
""", "")
    assert codes(frozen, "NN202") == []


def test_a_local_alias_is_the_attribute_it_names() -> None:
    """`model = run.model` in the trainer; the validation helper gets `run` and switches
    `run.model` to eval: the same object."""
    code = """\
    import torch
    import torch.nn.functional as F

    def evaluate(net, loader):
        net.eval()
        with torch.no_grad():
            return sum(F.mse_loss(net(x), y).item() for x, y in loader)

    def validate(run):
        return evaluate(run.model, run.val_loader)

    def train(run, epochs=4):
        model = run.model
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        model.train()
        for epoch in range(epochs):
            for x, y in run.train_loader:
                opt.zero_grad()
                loss = F.mse_loss(model(x), y)
                loss.backward()
                opt.step()
            print(epoch, validate(run))
    """
    assert codes(code, "NN202") == [("NN202", 19)]
    restored = code.replace("            for x, y in run.train_loader:", "            run.model.train()\n            for x, y in run.train_loader:")
    assert codes(restored, "NN202") == []
