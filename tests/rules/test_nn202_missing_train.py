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
