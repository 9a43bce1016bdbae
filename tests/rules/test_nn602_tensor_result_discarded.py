"""NN602 tensor-result-discarded."""

from __future__ import annotations


from helpers import codes, line_of, lint

from nnlint.config import Settings

WRONG = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Linear(20, 4).to(device)
data = TensorDataset(torch.randn(256, 20), torch.randint(0, 4, (256,)))
loader = DataLoader(data, batch_size=32, shuffle=True)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

for epoch in range(3):
    for x, y in loader:
        x.to(device)  # here
        y = y.to(device)
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
"""


def test_flags_to_on_a_batch_from_a_dataloader():
    assert codes(WRONG, "NN6") == [("NN602", line_of(WRONG, "# here"))]
    (finding,) = lint(WRONG, "NN602")
    assert "`x.to(device)` returns a new tensor" in finding.message
    assert "`x = x.to(device)`" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "loader = DataLoader")


def test_no_fix_for_attributes_or_globals_read_in_a_function():
    code = """\
    import torch
    import torch.nn as nn

    table = torch.zeros(4)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(4))

        def forward(self, x):
            self.scale.clamp(0, 1)
            table.cuda()
            return x * self.scale
    """
    findings = lint(code, "NN602")
    assert [f.span.line for f in findings] == [12, 13]
    assert all(f.fix is None for f in findings)


def test_notebook_cell_ending_in_an_expression_displays_it():
    from nnlint.notebook import NotebookProgram

    program = NotebookProgram.from_cells([
        ("a", "code", "import torch\nt = torch.randn(3)"),
        ("b", "code", "t.float()"),
        ("c", "code", "for _ in range(2):\n    t.cuda()"),
    ])
    findings = program.check(Settings(select=("NN602",)))
    assert [(f.cell_id, f.span.line) for f in findings] == [("c", 2)]
