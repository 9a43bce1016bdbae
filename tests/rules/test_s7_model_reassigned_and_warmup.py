"""Two real-code shapes from the s7 ecosystem review:

- `model = model.to(device)` (or `.cuda()`, `.train()`): the name holds the module it held
  before, so its class, its layers and its output stay known (NN305 was missed, NN201 fell to
  information severity "not visible here");
- a `no_grad` forward whose result nothing reads, outside any loop, measures nothing (the
  forward that initialises lazy modules before training, pyg's hetero examples): it is no
  evaluation for NN201."""

from helpers import codes, line_of, lint

from nnlint.findings import Severity

REASSIGNED_SOFTMAX = '''
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1))
model = model.to("cpu")
crit = nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    opt.zero_grad()
    loss = crit(model(x), y)
    loss.backward()
    opt.step()
'''

REASSIGNED_DROPOUT = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


def evaluate(model, loader):
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct


device = "cpu"
model = Net()
model = model.to(device)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(evaluate(model, val_loader))
'''


def test_a_model_reassigned_from_a_self_returning_method_keeps_its_output_kind() -> None:
    assert codes(REASSIGNED_SOFTMAX, "NN305") == [("NN305", line_of(REASSIGNED_SOFTMAX, "loss = crit"))]
    assert codes(REASSIGNED_SOFTMAX.replace('model = model.to("cpu")\n', ""), "NN305") != []


def test_a_model_reassigned_from_a_self_returning_method_keeps_its_layers() -> None:
    (finding,) = lint(REASSIGNED_DROPOUT, "NN201")
    assert finding.severity is Severity.WARNING, finding.message
    assert "not visible here" not in finding.message


def test_a_model_reassigned_from_a_model_without_dropout_is_silent() -> None:
    code = REASSIGNED_DROPOUT.replace("        self.drop = nn.Dropout(0.5)\n", "        self.drop = nn.Identity()\n")
    assert codes(code, "NN201") == []


WARMUP = '''
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.LazyLinear(2)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.fc(self.drop(x))


model = Net()
with torch.no_grad():  # Initialize lazy modules.
{body}

optimizer = torch.optim.Adam(model.parameters(), lr=0.005)


def train():
    model.train()
    optimizer.zero_grad()
    out = model(data)
    loss = nn.functional.cross_entropy(out, target)
    loss.backward()
    optimizer.step()


for epoch in range(10):
    train()
'''


def test_a_forward_whose_result_nothing_reads_is_no_evaluation() -> None:
    for body in ("    out = model(data)", "    model(data)"):
        assert codes(WARMUP.format(body=body), "NN201") == [], body


def test_a_forward_whose_result_is_used_is_still_an_evaluation() -> None:
    for body in ("    out = model(data)\n    print(out.argmax(1))",
                 "    out = model(data)\nprint(out)",
                 "    print(model(data))",
                 "    for x in val:\n        model(x)"):
        code = WARMUP.format(body=body)
        assert [c for c, _ in codes(code, "NN201")] == ["NN201"], body


def test_a_warmup_before_a_training_function_defined_above_it_is_no_evaluation() -> None:
    code = WARMUP.format(body="    out = model(data)")
    head, rest = code.split("model = Net()\n", 1)
    block, train_part = rest.split("\n\noptimizer = ", 1)
    train_def, loop = train_part.split("\n\nfor epoch", 1)
    moved = head + "optimizer = " + train_def + "\n\nmodel = Net()\n" + block + "\n\nfor epoch" + loop
    assert "def train" in moved.split("with torch.no_grad()")[0]
    assert codes(moved, "NN201") == []


def test_a_result_nothing_reads_is_still_reported_when_no_training_follows() -> None:
    code = WARMUP.format(body="    out = model(data)").split("\n\noptimizer = ")[0] + "\n"
    assert [c for c, _ in codes(code, "NN201")] == ["NN201"]
