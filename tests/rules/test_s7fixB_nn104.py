"""NN104 in an optimizer wrapper whose `step(loss)` runs once per training step and steps
every optimizer in a loop (`for optimizer in self.optimizers: self.scaler.step(optimizer)`):
the clip right after `self.scaler.scale(loss).backward()` sees loss-scaled gradients
(victorchall/EveryDream2trainer, optimizer/optimizers.py, PR #175). A loop that runs no
backward pass belongs to the iteration around it; unscaling first stays silent."""

from helpers import codes, line_of, lint

from nnlint.findings import Severity

WRAPPER = '''
import torch
from torch.cuda.amp import GradScaler


class OptimizerWrapper:
    def __init__(self, text_encoder, unet, clip_grad_norm):
        self.clip_grad_norm = clip_grad_norm
        self.unet_params = list(unet.parameters())
        self.te_params = list(text_encoder.parameters())
        self.optimizers = [torch.optim.AdamW(self.unet_params), torch.optim.AdamW(self.te_params)]
        self.scaler = GradScaler(enabled=True)

    def step(self, loss):
        self.scaler.scale(loss).backward()
        if self.clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(parameters=self.unet_params, max_norm=self.clip_grad_norm)
        for optimizer in self.optimizers:
            self.scaler.step(optimizer)
        self.scaler.update()
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
'''

UNSCALED_FIRST = WRAPPER.replace(
    "        if self.clip_grad_norm is not None:\n",
    "        for optimizer in self.optimizers:\n"
    "            self.scaler.unscale_(optimizer)\n"
    "        if self.clip_grad_norm is not None:\n",
)

CLIP_BEFORE_STEP_IN_LOOP = '''
import torch


class OptimizerWrapper:
    def __init__(self, model):
        self.params = list(model.parameters())
        self.optimizers = [torch.optim.SGD(self.params, lr=0.1)]

    def step(self, loss):
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        for optimizer in self.optimizers:
            optimizer.step()
            optimizer.zero_grad()
'''


def test_flags_clip_on_scaled_gradients_when_the_scaler_steps_in_a_loop() -> None:
    findings = lint(WRAPPER, "NN104")
    assert [f.span.line for f in findings] == [line_of(WRAPPER, "clip_grad_norm_(")]
    finding = findings[0]
    assert "still multiplied by the loss scale" in finding.message
    assert [r.span.line for r in finding.related] == [
        line_of(WRAPPER, "self.scaler.scale(loss).backward()"),
        line_of(WRAPPER, "self.scaler.step(optimizer)"),
    ]
    # the optimizers are elements of a list: not proven, so information
    assert finding.severity is Severity.INFORMATION
    # `optimizer` is bound only inside the step loop, and each optimizer needs unscaling:
    # inserting `self.scaler.unscale_(optimizer)` before the clip would be wrong
    assert finding.fix is None


def test_unscaling_every_optimizer_first_is_silent() -> None:
    assert codes(UNSCALED_FIRST, "NN104") == []


def test_clip_between_backward_and_a_looped_step_is_silent() -> None:
    assert codes(CLIP_BEFORE_STEP_IN_LOOP, "NN104") == []


def test_clip_after_a_looped_step_is_flagged() -> None:
    code = CLIP_BEFORE_STEP_IN_LOOP.replace(
        "        torch.nn.utils.clip_grad_norm_(self.params, 1.0)\n", "").replace(
        "            optimizer.zero_grad()\n",
        "            optimizer.zero_grad()\n        torch.nn.utils.clip_grad_norm_(self.params, 1.0)\n")
    assert codes(code, "NN104") == [("NN104", line_of(code, "clip_grad_norm_("))]
