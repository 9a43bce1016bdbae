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
