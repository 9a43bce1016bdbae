"""NN201 on a shape found by the s7shapes review: an nn.Sequential given an OrderedDict
variable (filled by `layers["drop"] = nn.Dropout()`), whose layers decide the mode claim."""

import pytest

from helpers import codes, line_of, lint

BUILT = """\
from collections import OrderedDict

import torch
import torch.nn as nn

{build}
regressor = nn.Sequential(layers)
opt = torch.optim.RMSprop(regressor.parameters(), lr=1e-3)
for x, y in train_batches:
    opt.zero_grad()
    nn.functional.mse_loss(regressor(x), y).backward()
    opt.step()
with torch.no_grad():
    val = sum(nn.functional.mse_loss(regressor(x), y).item() for x, y in val_batches)  # here
"""

WITH_DROPOUT = [
    'layers = OrderedDict()\nlayers["lin1"] = nn.Linear(12, 48)\nlayers["drop"] = nn.Dropout(0.5)\n'
    'layers["lin2"] = nn.Linear(48, 1)',
    'layers = OrderedDict([("lin1", nn.Linear(12, 48)), ("drop", nn.Dropout(0.5)), ("lin2", nn.Linear(48, 1))])',
    'layers = {"lin1": nn.Linear(12, 48), "bn": nn.BatchNorm1d(48), "lin2": nn.Linear(48, 1)}',
]


@pytest.mark.parametrize("build", WITH_DROPOUT)
def test_flags_at_full_severity_a_sequential_of_an_ordered_dict_with_dropout(build: str) -> None:
    text = BUILT.format(build=build)
    findings = lint(text, "NN201")
    assert [(f.code, f.span.line, f.severity.name) for f in findings] == [
        ("NN201", line_of(text, "# here"), "WARNING")]


def test_silent_when_the_ordered_dict_holds_no_mode_layer() -> None:
    build = 'layers = OrderedDict()\nlayers["lin1"] = nn.Linear(12, 48)\nlayers["act"] = nn.ReLU()'
    assert codes(BUILT.format(build=build), "NN201") == []


@pytest.mark.parametrize("build", [
    'layers = OrderedDict()\nlayers["lin1"] = nn.Linear(12, 48)\nlayers.update(extra)',  # unknown layers
    'layers = make_layers()',  # built elsewhere
    'layers = backbone',  # a module, not a mapping
])
def test_unknown_contents_are_not_proven_free_of_mode_layers(build: str) -> None:
    # before, a Name argument counted as "no dropout or batch norm": the finding vanished;
    # now it is said softly, the layers not being visible
    findings = lint(BUILT.format(build=build), "NN201")
    assert [f.severity.name for f in findings] == ["INFORMATION"]
    assert "whether `regressor` has dropout or batch norm is not visible here" in findings[0].message


def test_a_layer_kept_in_a_name_decides_by_its_constructor() -> None:
    # `NL = nn.Tanh()` passed to the Sequential (a notebook of the ecosystem check): no mode layer
    plain = BUILT.format(build="act = nn.Tanh()").replace("nn.Sequential(layers)", "nn.Sequential(nn.Linear(12, 1), act)")
    assert codes(plain, "NN201") == []
    dropping = plain.replace("act = nn.Tanh()", "act = nn.Dropout(0.2)")
    assert [(f.code, f.severity.name) for f in lint(dropping, "NN201")] == [("NN201", "WARNING")]
