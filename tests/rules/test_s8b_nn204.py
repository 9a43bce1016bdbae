"""NN204 in the trainer-class shape (skorch's NeuralNet.validation_step before its fix):
a validation step that switches `self.module_` to eval mode and runs it through another
method of the class (`self.infer(x)`), with autograd on, while the class's `fit` loop trains
with `train_step` and only logs what the validation step returns."""

import pytest

from helpers import apply_fix_and_recheck, codes, line_of

TRAINER = """\
import torch
import torch.nn as nn


class Trainer:
    def __init__(self, module, lr=0.01):
        self.module_ = module
        self.criterion_ = nn.CrossEntropyLoss()
        self.optimizer_ = torch.optim.SGD(module.parameters(), lr=lr)
        self.history = []

    def infer(self, x):
        return self.module_(x)

    def get_loss(self, y_pred, y):
        return self.criterion_(y_pred, y)

    def train_step(self, x, y):
        self.module_.train()
        self.optimizer_.zero_grad()
        loss = self.get_loss(self.infer(x), y)
        loss.backward()
        self.optimizer_.step()
        return {"loss": loss}

{decorator}    def validation_step(self, x, y):
        self.module_.eval()
        y_pred = self.infer(x)  # here
        loss = self.get_loss(y_pred, y)
        return {"loss": loss, "y_pred": y_pred}

    def fit(self, train_loader, valid_loader, epochs):
        for _ in range(epochs):
            for x, y in train_loader:
                step = self.train_step(x, y)
                self.history.append(step["loss"].item())
            for x, y in valid_loader:
{validation}
        return self
"""

LOGGED = """\
                step = self.validation_step(x, y)
                self.history.append(step["loss"].item())"""


def _trainer(validation: str = LOGGED, decorator: str = "", infer: str | None = None) -> str:
    text = TRAINER.replace("{validation}", validation).replace("{decorator}", decorator)
    if infer is not None:
        text = text.replace("        return self.module_(x)\n", infer)
    return text


def test_flags_a_validation_step_that_runs_the_module_through_a_method() -> None:
    text = _trainer()
    assert codes(text, "NN204") == [("NN204", line_of(text, "# here"))]


def test_fix_decorates_the_validation_step() -> None:
    fixed = apply_fix_and_recheck(_trainer(), "NN204")
    assert "    @torch.no_grad()\n    def validation_step" in fixed


def test_flags_a_forward_two_methods_deep() -> None:
    text = _trainer(infer="        return self._run(x)\n\n    def _run(self, x):\n        return self.module_(x)\n")
    assert codes(text, "NN204") == [("NN204", line_of(text, "# here"))]


def test_silent_when_the_validation_step_disables_gradients() -> None:
    assert codes(_trainer(decorator="    @torch.no_grad()\n"), "NN204") == []


def test_silent_when_the_method_runs_the_module_under_no_grad() -> None:
    infer = "        with torch.no_grad():\n            return self.module_(x)\n"
    assert codes(_trainer(infer=infer), "NN204") == []


def test_silent_when_the_caller_wraps_the_validation_in_no_grad() -> None:
    validation = """\
                with torch.no_grad():
                    step = self.validation_step(x, y)
                self.history.append(step["loss"].item())"""
    assert codes(_trainer(validation), "NN204") == []


@pytest.mark.parametrize("validation", [
    # the validation loss is backpropagated (a deliberate eval-mode gradient)
    '                step = self.validation_step(x, y)\n                step["loss"].backward()',
    # through a name made from the result
    '                step = self.validation_step(x, y)\n                loss = step["loss"]\n'
    '                loss.backward()',
    # kept where later code may backpropagate it
    '                self.last_step = self.validation_step(x, y)',
    '                step = self.validation_step(x, y)\n                self.last_step = step',
    '                step = self.validation_step(x, y)\n                self.steps.append(step)',
])
def test_silent_when_the_caller_may_use_the_result_for_gradients(validation: str) -> None:
    assert codes(_trainer(validation), "NN204") == []


def test_silent_when_a_method_of_another_object_runs() -> None:
    # `self.helper.infer(x)` is another object's method: `self.module_` is not its `self.module_`
    text = _trainer().replace("y_pred = self.infer(x)  # here", "y_pred = self.helper.infer(x)  # here")
    assert codes(text, "NN204") == []


def test_silent_when_the_method_sets_the_mode_itself() -> None:
    # `self.infer` switches the module back to training mode before its forward pass
    infer = "        self.module_.train()\n        return self.module_(x)\n"
    assert codes(_trainer(infer=infer), "NN204") == []
