"""NN504 on a container module that keeps the modules its caller hands in (tested with
`isinstance(layer, nn.Module)`) or that a factory declared `-> nn.Module` builds, in a plain
list declared first as `self._layers: Optional[List[nn.Module]] = None`. texar-pytorch's
MergeLayer shipped it (fixed by 'Make self._layers a nn.ModuleList variable'). The class of
such modules is not visible, so the finding is at information severity. A shipped-bug miss of
the s8 real-bug set."""

import pytest
import torch
import torch.nn as nn

from helpers import codes, line_of, lint
from nnlint.findings import Severity

HEADER = '''
from typing import List, Optional

import torch
import torch.nn as nn


def get_layer(hparams) -> nn.Module:
    layer_class = getattr(nn, hparams["type"])
    return layer_class(**hparams["kwargs"])


class MergeLayer(nn.Module):
'''

TEXAR = HEADER + '''    def __init__(self, layers: Optional[List[nn.Module]] = None, mode: str = "concat", dim: int = 2):
        super().__init__()
        self._mode = mode
        self._dim = dim
        self._layers: Optional[List[nn.Module]] = None
        if layers is not None:
            self._layers = []  # here
            for layer in layers:
                if isinstance(layer, nn.Module):
                    self._layers.append(layer)
                else:
                    self._layers.append(get_layer(hparams=layer))

    def forward(self, x):
        return torch.cat([layer(x) for layer in self._layers], dim=self._dim)
'''

BUGS = {
    "texar's MergeLayer": TEXAR,
    "only handed-in modules": HEADER + '''    def __init__(self, layers):
        super().__init__()
        self.parts = []  # here
        for layer in layers:
            if isinstance(layer, nn.Module):
                self.parts.append(layer)

    def forward(self, x):
        return sum(p(x) for p in self.parts)
''',
    "only factory-made modules": HEADER + '''    def __init__(self, configs):
        super().__init__()
        self.parts = []  # here
        for config in configs:
            self.parts.append(get_layer(config))

    def forward(self, x):
        return sum(p(x) for p in self.parts)
''',
}

CORRECT = {
    "a module list": TEXAR.replace("self._layers = []  # here", "self._layers = nn.ModuleList()"),
    "wrapped in a ModuleList later": TEXAR.replace(
        "    def forward", "        self.merged = nn.ModuleList(self._layers)\n\n    def forward"),
    "a plain list of non-modules": HEADER + '''    def __init__(self, layers):
        super().__init__()
        self.parts = []
        for layer in layers:
            if isinstance(layer, str):
                self.parts.append(layer)

    def forward(self, x):
        return x
''',
    "the modules of a kept backbone": HEADER + '''    def __init__(self, backbone, layers):
        super().__init__()
        self.backbone = backbone
        self.hooked = []
        for layer in layers:
            if isinstance(layer, nn.Module):
                self.hooked.append(layer)

    def forward(self, x):
        return self.backbone(x)
''',
    "modules of another model's modules()": HEADER + '''    def __init__(self, model):
        super().__init__()
        self.model = model
        self.convs = []
        for m in model.modules():
            if isinstance(m, nn.Module):
                self.convs.append(m)

    def forward(self, x):
        return self.model(x)
''',
    "the else arm of the isinstance test": HEADER + '''    def __init__(self, layers):
        super().__init__()
        self.parts = []
        for layer in layers:
            if isinstance(layer, nn.Module):
                pass
            else:
                self.parts.append(layer)

    def forward(self, x):
        return x
''',
    "a factory without a declared module": HEADER.replace(") -> nn.Module:", "):") + '''    def __init__(self, configs):
        super().__init__()
        self.parts = []
        for config in configs:
            self.parts.append(get_layer(config))

    def forward(self, x):
        return sum(p(x) for p in self.parts)
''',
    "a declared function that returns the module it is given": HEADER.replace(
        "class MergeLayer", "def unwrap(module) -> nn.Module:\n    return module\n\n\nclass MergeLayer") + '''    def __init__(self, blocks):
        super().__init__()
        self.blocks = blocks
        self.parts = []
        for block in blocks:
            self.parts.append(unwrap(block))

    def forward(self, x):
        return sum(p(x) for p in self.parts)
''',
    "one element": HEADER + '''    def __init__(self, teacher):
        super().__init__()
        self.teacher = []
        if isinstance(teacher, nn.Module):
            self.teacher.append(teacher)

    def forward(self, x):
        return self.teacher[0](x)
''',
}


@pytest.mark.parametrize("code", BUGS.values(), ids=BUGS.keys())
def test_unseen_modules_in_a_plain_list_are_reported_as_information(code: str) -> None:
    assert codes(code, "NN504") == [("NN504", line_of(code, "# here"))]
    (finding,) = lint(code, "NN504")
    assert finding.severity is Severity.INFORMATION
    assert "not visible here" in finding.message


@pytest.mark.parametrize("code", CORRECT.values(), ids=CORRECT.keys())
def test_correct_look_alikes_are_silent(code: str) -> None:
    assert codes(code, "NN504") == []


def test_a_known_stateful_module_in_the_list_keeps_the_warning() -> None:
    code = TEXAR.replace("self._layers.append(get_layer(hparams=layer))", "self._layers.append(nn.Linear(4, 4))")
    (finding,) = lint(code, "NN504")
    assert finding.severity is Severity.WARNING and finding.span.line == line_of(code, "# here")


def test_a_plain_list_hides_the_layers_parameters() -> None:
    """The effect the finding claims, on real modules."""

    class Merge(nn.Module):
        def __init__(self, layers, registered):
            super().__init__()
            self.layers = nn.ModuleList(layers) if registered else list(layers)

    layers = [nn.Linear(3, 3), nn.Linear(3, 3)]
    assert list(Merge(layers, registered=False).parameters()) == []
    assert len(list(Merge(layers, registered=True).parameters())) == 4
    assert Merge(layers, registered=False).state_dict() == {}
    assert torch.equal(Merge(layers, registered=True).state_dict()["layers.0.weight"], layers[0].weight)
