"""NN204 eval-without-no-grad."""

from __future__ import annotations

from helpers import apply_fix_and_recheck, codes, line_of, lint

HEADER = """
import torch
import torch.nn as nn
import torch.nn.functional as F
"""


def nn204(code: str) -> list[int]:
    return [line for code_, line in codes(code, "NN204") if code_ == "NN204"]


EVAL_FUNCTION = HEADER + """
def reconstruction_error(model, batches):
    model.eval()
    total = 0.0
    for x in batches:  # here
        recon = model(x)
        total += F.mse_loss(recon, x).item()
    return total
"""


def test_eval_function_loop() -> None:
    assert nn204(EVAL_FUNCTION) == [line_of(EVAL_FUNCTION, "# here")]
    finding = lint(EVAL_FUNCTION, "NN204")[0]
    assert "`reconstruction_error`" in finding.message and "`model`" in finding.message
    assert f"loop on line {line_of(EVAL_FUNCTION, '# here')}" in finding.message
    assert finding.related[0].span.line == line_of(EVAL_FUNCTION, "model.eval()")


def test_fix_decorates_evaluation_function() -> None:
    fixed = apply_fix_and_recheck(EVAL_FUNCTION, "NN204")
    assert "\n@torch.no_grad()\ndef reconstruction_error(model, batches):\n" in fixed


def test_method_and_aliases() -> None:
    code = """
import torch as T
from torch import nn

class Trainer:
    def __init__(self, model):
        self.model = model

    @staticmethod
    def other():
        pass

    def validate(self, batches):
        self.model.eval()
        hits = 0
        for x, y in batches:  # here
            hits += (self.model(x).argmax(-1) == y).sum().item()
        return hits
"""
    assert nn204(code) == [line_of(code, "# here")]
    fixed = apply_fix_and_recheck(code, "NN204")
    assert "    @T.no_grad()\n    def validate(self, batches):" in fixed


def test_module_level_loop_after_training_is_wrapped() -> None:
    code = HEADER + """
model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in train:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    model.eval()
    correct = 0
    for x, y in val:  # here
        # count hits
        out = model(x)

        correct += (out.argmax(1) == y).sum().item()
    print(correct)
"""
    assert nn204(code) == [line_of(code, "# here")]
    finding = lint(code, "NN204")[0]
    assert "with torch.no_grad()" in finding.message
    fixed = apply_fix_and_recheck(code, "NN204")
    assert (
        "    with torch.no_grad():\n"
        "        for x, y in val:  # here\n"
        "            # count hits\n"
        "            out = model(x)\n"
        "\n"
        "            correct += (out.argmax(1) == y).sum().item()\n"
        "    print(correct)\n"
    ) in fixed


def test_single_forward_without_loop() -> None:
    code = """
import torch
model = torch.load("m.pt")
model.eval()
logits = model(batch)  # here
print(logits.argmax(1))
"""
    assert nn204(code) == [line_of(code, "# here")]
    fixed = apply_fix_and_recheck(code, "NN204")
    assert "with torch.no_grad():\n    logits = model(batch)  # here\nprint" in fixed


def test_tab_indentation_is_kept() -> None:
    code = "import torch\nnet = make()\nif True:\n\tnet.eval()\n\tfor x in data:\n\t\tprint(net(x).sum().item())\n"
    fixed = apply_fix_and_recheck(code, "NN204")
    assert "\tnet.eval()\n\twith torch.no_grad():\n\t\tfor x in data:\n\t\t\tprint(net(x)" in fixed


def test_negatives_no_grad_variants() -> None:
    code = HEADER + """
def a(model, loader):
    model.eval()
    with torch.no_grad():
        for x in loader:
            model(x)

@torch.no_grad()
def b(model, loader):
    model.eval()
    for x in loader:
        model(x)

@torch.inference_mode()
def c(model, loader):
    model.eval()
    return [model(x).argmax(1) for x in loader]

def d(model, loader, train):
    model.eval()
    for x in loader:
        with torch.set_grad_enabled(train):
            model(x)

def e(model, loader):
    model.eval()
    acc = 0
    for x, y in loader:
        acc += (model(x).argmax(1) == y).sum().item()
    return acc

def caller(model, loader):
    with torch.no_grad():
        return e(model, loader)
"""
    assert nn204(code) == []


def test_negatives_training_and_gradients() -> None:
    code = HEADER + """
def freeze_bn_training(model, loader, opt):
    model.eval()  # frozen batch-norm statistics, still training
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

def accumulated(model, loader):
    model.eval()
    total = 0
    for x, y in loader:
        total = total + F.cross_entropy(model(x), y)
    total.backward()

def fgsm(model, x, y, eps):
    model.eval()
    x = x.clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), y)
    grad, = torch.autograd.grad(loss, x)
    return x + eps * grad.sign()

def logits(model, x):
    model.eval()
    return model(x)

def attack(model, x, y):
    loss = F.cross_entropy(logits(model, x), y)
    loss.backward()

def predict(model, x):
    model.eval()
    return model(x)

def distill(teacher, student, loader, opt):
    teacher.eval()
    for x in loader:
        loss = F.mse_loss(student(x), teacher(x))
        loss.backward()
        opt.step()

class Pipeline:
    def eval(self):
        pass
    def __call__(self, x):
        return x

def not_a_model(loader):
    pipe = Pipeline()
    pipe.eval()
    for x in loader:
        pipe(x)
"""
    assert nn204(code) == []


def test_epoch_loop_with_eval_before_backward_is_not_flagged() -> None:
    code = HEADER + """
for epoch in range(3):
    model.eval()
    for x in val:
        print(model(x).sum().item())
    for x, y in train:
        F.cross_entropy(model(x), y).backward()
        opt.step()
"""
    assert nn204(code) == []


def test_lightning_hooks_and_set_grad_enabled_statement() -> None:
    code = HEADER + """
import lightning as L

class Lit(L.LightningModule):
    def validation_step(self, batch, idx):
        self.model.eval()
        return self.model(batch)

torch.set_grad_enabled(False)
net = nn.Linear(2, 2)
net.eval()
for x in data:
    net(x)
"""
    assert nn204(code) == []


def test_returned_outputs_with_harmless_callers_are_flagged() -> None:
    code = HEADER + """
def predict(model, x):
    model.eval()
    return model(x)  # here

def report(model, x):
    print(predict(model, x).argmax(1))
"""
    assert nn204(code) == [line_of(code, "# here")]


def test_outputs_stored_for_a_later_backward_are_not_flagged() -> None:
    code = HEADER + """
from torch.distributions import Categorical

def select_action(policy, state):
    policy.eval()
    m = Categorical(policy(state))
    action = m.sample()
    policy.saved_log_probs.append(m.log_prob(action))
    return action.item()

def collect(model, loader):
    model.eval()
    outs = []
    for x in loader:
        outs.append(model(x))
    return torch.cat(outs)
"""
    assert nn204(code) == []


def test_validation_inside_training_function_is_wrapped() -> None:
    code = HEADER + """
def train(model, loader, val, opt, crit):
    for epoch in range(3):
        model.train()
        for x, y in loader:
            opt.zero_grad()
            crit(model(x), y).backward()
            opt.step()
        model.eval()
        val_loss = 0
        for x, y in val:  # here
            val_loss += crit(model(x), y).item()
        print(val_loss)
"""
    assert nn204(code) == [line_of(code, "# here")]
    fixed = apply_fix_and_recheck(code, "NN204")
    assert "        with torch.no_grad():\n            for x, y in val:  # here\n                val_loss +=" in fixed
    assert "@torch.no_grad()" not in fixed


def test_a_project_decorator_that_applies_inference_mode() -> None:
    """yolov5's `@smart_inference_mode()` wraps the function in torch.inference_mode()."""
    code = """\
    import torch

    def smart_inference_mode(torch_1_9=True):
        def decorate(fn):
            return (torch.inference_mode if torch_1_9 else torch.no_grad)()(fn)
        return decorate

    @smart_inference_mode()
    def validate(model, loader):
        model.eval()
        correct = 0
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
        return correct
    """
    assert codes(code, "NN204") == []
    plain = code.replace("    @smart_inference_mode()\n", "")
    assert [c for c, _ in codes(plain, "NN204")] == ["NN204"]


def test_a_metric_accumulator_step_is_not_an_optimizer_step() -> None:
    """votenet's `evaluate_one_epoch()`: `ap_calculator.step(pred, gt)` collects metrics; it is
    not an optimizer step, so the evaluation loop still runs with autograd on for nothing."""
    code = """\
    import torch

    class APCalculator:
        def step(self, pred, gt):
            self.seen = (pred, gt)

    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))

    def evaluate_one_epoch(loader):
        ap_calculator = APCalculator()
        net.eval()
        for x, y in loader:
            out = net(x)
            ap_calculator.step(out.argmax(1).tolist(), y.tolist())
        return ap_calculator.seen
    """
    assert codes(code, "NN204") == [("NN204", 12)]
    optimizer_step = code.replace("ap_calculator.step(out.argmax(1).tolist(), y.tolist())",
                                  "out.sum().backward()\n        optimizer.step()")
    assert codes(optimizer_step, "NN204") == []
