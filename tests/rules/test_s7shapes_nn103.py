"""NN103 on shapes found by the s7shapes review: losses backpropagated by a runner
(`accelerator.backward(loss)`, `self.manual_backward(loss)`, a GradScaler) and the loss
attribute of a Hugging Face output (`outputs.loss`) added up with their graphs."""

import pytest

from helpers import apply_fix_and_recheck, codes, line_of

ACCELERATE = """\
import torch
from accelerate import Accelerator

accelerator = Accelerator()
model = torch.nn.Linear(3, 1)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
total_loss = 0
for batch in loader:
    outputs = model(**batch)
    accelerator.backward(outputs.loss)
    optimizer.step()
    optimizer.zero_grad()
    total_loss += outputs.loss  # here
print(total_loss / len(loader))
"""


def test_flags_hf_output_loss_added_up_under_accelerate() -> None:
    assert codes(ACCELERATE, "NN103") == [("NN103", line_of(ACCELERATE, "# here"))]
    fixed = apply_fix_and_recheck(ACCELERATE, "NN103")
    assert "total_loss += outputs.loss.item()  # here" in fixed


@pytest.mark.parametrize("runner", ["accelerator.backward(loss)", "scaler.scale(loss).backward()",
                                    "loss.backward()"])
def test_flags_an_attribute_loss_alias_whoever_runs_the_backward(runner: str) -> None:
    code = ACCELERATE.replace("    accelerator.backward(outputs.loss)\n",
                              f"    loss = outputs.loss\n    {runner}\n").replace(
        "total_loss += outputs.loss", "total_loss += loss")
    code = code.replace("accelerator = Accelerator()", "accelerator = Accelerator()\nscaler = torch.amp.GradScaler()")
    assert codes(code, "NN103") == [("NN103", line_of(code, "# here"))]


def test_flags_lightning_manual_backward_over_micro_batches() -> None:
    code = """\
    import torch
    import lightning as L

    class Model(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False
            self.layer = torch.nn.Linear(3, 1)

        def training_step(self, batch, batch_idx):
            opt = self.optimizers()
            opt.zero_grad()
            total = 0.0
            for x, y in zip(batch[0].chunk(4), batch[1].chunk(4)):
                loss = (self.layer(x) - y).pow(2).mean() / 4
                self.manual_backward(loss)
                total += loss  # here
            opt.step()
            self.log("loss", total)
    """
    assert codes(code, "NN103") == [("NN103", line_of(code, "# here"))]


@pytest.mark.parametrize("total", ["outputs.loss.detach().float()", "outputs.loss.item()", "float(outputs.loss)"])
def test_silent_on_detached_totals(total: str) -> None:
    assert codes(ACCELERATE.replace("total_loss += outputs.loss", f"total_loss += {total}"), "NN103") == []


def test_silent_on_an_attribute_never_backpropagated() -> None:
    # `outputs.aux` is a logged term: no backward pass runs from it, its graph is not proven
    code = ACCELERATE.replace("total_loss += outputs.loss", "total_loss += outputs.aux")
    assert codes(code, "NN103") == []


def test_silent_under_no_grad_evaluation() -> None:
    code = """\
    import torch
    total = 0
    model.eval()
    with torch.no_grad():
        for batch in val_loader:
            outputs = model(**batch)
            total += outputs.loss
    """
    assert codes(code, "NN103") == []
