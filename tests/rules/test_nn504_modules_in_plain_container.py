"""NN504 modules-in-plain-container."""

from __future__ import annotations


from helpers import apply_fix_and_recheck, codes, line_of, lint


WRONG = """\
import torch
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:])]  # here

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)
"""


def test_flags_list_comprehension_of_layers():
    assert codes(WRONG, "NN5") == [("NN504", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN504")
    assert "`self.layers` is a plain list" in finding.message and "nn.ModuleList" in finding.message
    assert "optimizer never trains them" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "# here")


def test_empty_list_filled_in_a_loop():
    code = """\
    import torch.nn as nn

    class Heads(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.heads = []  # here
            for _ in range(n):
                head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))
                self.heads.append(head)

        def forward(self, x):
            return [h(x) for h in self.heads]
    """
    assert codes(code, "NN504") == [("NN504", line_of(code, "# here"))]
    (finding,) = lint(code, "NN504")
    assert finding.related[0].span.line == line_of(code, "self.heads.append")
    fixed = apply_fix_and_recheck(code, "NN504")
    assert "self.heads = nn.ModuleList()  # here" in fixed


def test_dict_fix_refused_for_keys_a_module_dict_rejects():
    code = """\
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = {"train": nn.Linear(2, 2), "eval": nn.Linear(2, 2)}
    """
    (finding,) = lint(code, "NN504")
    assert finding.fix is None


def test_fix_refused_when_the_list_is_used_like_a_list():
    code = """\
    import torch.nn as nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [nn.Linear(2, 2), nn.Linear(2, 2)]

        def forward(self, x):
            for block in self.blocks + [self.extra]:
                x = block(x)
            return x
    """
    (finding,) = lint(code, "NN504")
    assert finding.fix is None


def test_local_list_given_to_the_attribute():
    code = """\
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self, n):
            super().__init__()
            layers = []
            for _ in range(n):
                layers.append(nn.Linear(4, 4))
            self.layers = layers  # here
            blocks = [nn.Conv2d(3, 3, 3) for _ in range(n)]
            self.blocks = blocks
            self.body = nn.Sequential(*blocks)
    """
    assert codes(code, "NN504") == [("NN504", line_of(code, "# here"))]
    (finding,) = lint(code, "NN504")
    assert finding.fix is None and finding.related[0].span.line == line_of(code, "layers.append")


def test_dict_filled_by_item_assignment_in_a_loop():
    code = """\
    import torch.nn as nn

    class MultiTask(nn.Module):
        def __init__(self, tasks):
            super().__init__()
            self.trunk = nn.Linear(16, 16)
            self.heads = {}  # here
            for task, classes in tasks.items():
                self.heads[task] = nn.Linear(16, classes)

        def forward(self, x, task):
            return self.heads[task](self.trunk(x))
    """
    assert codes(code, "NN504") == [("NN504", line_of(code, "# here"))]
    assert "plain dict" in lint(code, "NN504")[0].message
