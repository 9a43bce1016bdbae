"""NN504: a plain list filled by a method of the class that hands back a module already
kept in an attribute (`self.parts.append(self.pick())`, `pick` returning `self.shared`)
holds a registered module, not a new one; a method that builds a new module each time
still fills the list with unregistered ones."""

from __future__ import annotations

from helpers import codes, line_of

SHARED = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(4, 4)
        self.parts = []
        for _ in range(3):
            self.parts.append(self.pick())

    def pick(self):
        return self.shared

    def forward(self, x):
        for part in self.parts:
            x = part(x)
        return x
'''


def test_a_method_that_hands_back_an_attribute_adds_nothing_unregistered() -> None:
    assert codes(SHARED, "NN504") == []


def test_a_method_that_builds_a_new_module_still_counts() -> None:
    fresh = SHARED.replace("        return self.shared", "        return nn.Linear(4, 4)")
    assert codes(fresh, "NN504") == [("NN504", line_of(fresh, "self.parts = []"))]
