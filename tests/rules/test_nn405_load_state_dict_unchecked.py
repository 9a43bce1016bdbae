"""NN405 load-state-dict-unchecked."""

from __future__ import annotations


from helpers import codes, line_of, lint


WRONG = """\
import torch
from torchvision import models

model = models.resnet50()
state = torch.load("checkpoint.pt", map_location="cpu")
model.load_state_dict(state, strict=False)  # here
model.eval()
"""


def test_flags_dropped_keys():
    assert codes(WRONG, "NN4") == [("NN405", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN405")
    assert "missing and unexpected keys" in finding.message and "`module.` prefix" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "models.resnet50()")
    assert finding.fix is None
