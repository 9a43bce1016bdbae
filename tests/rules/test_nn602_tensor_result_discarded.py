"""NN602 tensor-result-discarded."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import apply_fix_and_recheck, codes, line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

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


def test_fix_assigns_back():
    fixed = apply_fix_and_recheck(WRONG, "NN602")
    assert "        x = x.to(device)  # here\n" in fixed


@pytest.mark.parametrize(
    "statement",
    ["t.cuda()", "t.float()", "t.detach()", "t.clamp(0, 1)", "t.masked_fill(mask, 0.0)", "t.add(1)",
     "t.float().cuda()", "t.unsqueeze(0)"],
)
def test_out_of_place_methods_on_a_factory_tensor(statement: str):
    code = f"""\
    import torch
    mask = torch.zeros(3, dtype=torch.bool)
    t = torch.randn(3)
    {statement}
    """
    assert codes(code, "NN602") == [("NN602", 4)]
    fixed = apply_fix_and_recheck(code, "NN602")
    assert f"t = {statement}" in fixed


def test_enumerate_unpacked_batch_and_layer_outputs_in_a_trainer_class():
    code = """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    class Trainer:
        def __init__(self, dataset, device):
            self.model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
            self.head = nn.Linear(2, 2)
            self.loader = DataLoader(dataset, batch_size=16, shuffle=True)
            self.opt = torch.optim.Adam(self.model.parameters())
            self.device = device

        def fit(self):
            for i, batch in enumerate(self.loader):
                inputs, labels = batch
                inputs.to(self.device)  # first
                logits = self.head(inputs)
                logits.clamp(-10, 10)  # second
                loss = F.cross_entropy(logits, labels)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
    """
    assert codes(code, "NN602") == [("NN602", line_of(code, "# first")), ("NN602", line_of(code, "# second"))]


def test_helper_called_from_the_loop():
    code = """\
    import torch
    from torch.utils.data import DataLoader

    def to_device(x, y, device):
        x.to(device)  # here
        y.to(device)  # there
        return x, y

    def train(model, dataset, device):
        loader = DataLoader(dataset, batch_size=8)
        for x, y in loader:
            x, y = to_device(x, y, device)
            model(x).sum().backward()
    """
    assert codes(code, "NN602") == [("NN602", line_of(code, "# here")), ("NN602", line_of(code, "# there"))]


def test_two_file_package(tmp_path: Path):
    files = {
        "pkg/__init__.py": "",
        "pkg/data.py": """\
            import torch
            from torch.utils.data import DataLoader, TensorDataset

            def make_loader():
                data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
                return DataLoader(data, batch_size=8, shuffle=True)
            """,
        "pkg/train.py": """\
            import torch
            from pkg.data import make_loader

            def train(model, device):
                for x, y in make_loader():
                    x.cuda()
                    model(x).sum().backward()
            """,
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    target = tmp_path / "pkg" / "train.py"
    index = ProjectIndex(tmp_path, use_jedi=False)
    result = check_source(target.read_text(), str(target), Settings(select=("NN602",)), project=index)
    assert [(f.code, f.span.line) for f in result.findings] == [("NN602", 6)]


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


def test_trainer_given_its_loader_by_the_constructor_call():
    code = """\
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Trainer:
        def __init__(self, model, loader, device):
            self.model = model
            self.loader = loader
            self.device = device

        def train_epoch(self):
            for x, y in self.loader:
                x.to(self.device)  # here
                self.model(x).sum().backward()

    loader = DataLoader(TensorDataset(torch.randn(8, 2), torch.randn(8)), batch_size=2)
    Trainer(torch.nn.Linear(2, 1), loader, "cpu").train_epoch()
    """
    assert codes(code, "NN602") == [("NN602", line_of(code, "# here"))]


SILENT = {
    "module.to() works in place": """\
        import torch
        import torch.nn as nn
        model = nn.Linear(3, 3)
        model.to("cuda")
        model.float()
        model.cuda()
        """,
    "in-place methods": """\
        import torch
        t = torch.zeros(3)
        t.add_(1)
        t.clamp_(0, 1)
        t.masked_fill_(t > 0, 0.0)
        t.requires_grad_()
        """,
    "results that are used": """\
        import torch
        t = torch.zeros(3)
        u = t.to("cuda")
        print(t.float())
        t = t.detach()
        """,
    "a BatchEncoding from a custom collate": """\
        from torch.utils.data import DataLoader
        def train(model, dataset, collate, device):
            loader = DataLoader(dataset, batch_size=8, collate_fn=collate)
            for batch in loader:
                batch.to(device)
                model(**batch).loss.backward()
        """,
    "tokenizer output": """\
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        inputs = tokenizer(["hello"], return_tensors="pt")
        inputs.to("cuda")
        """,
    "a PyG loader's Data": """\
        from torch_geometric.loader import DataLoader
        def train(model, dataset, device):
            for data in DataLoader(dataset, batch_size=32):
                data.to(device)
                model(data.x, data.edge_index).sum().backward()
        """,
    "a model's output is not proven a tensor": """\
        import torch
        def run(model, x):
            out = model(x)
            out.to("cpu")
        """,
    "an unknown object named like a tensor": """\
        def run(x, device):
            x.to(device)
            x.float()
        """,
    "the enumerate counter": """\
        import torch
        from torch.utils.data import DataLoader
        def run(dataset):
            for i, (x, y) in enumerate(DataLoader(dataset, batch_size=4)):
                i.bit_length()
        """,
    "no automatic batching": """\
        from torch.utils.data import DataLoader
        def run(dataset, device):
            for sample in DataLoader(dataset, batch_size=None):
                sample.to(device)
        """,
    "x.type() names the type": """\
        import torch
        t = torch.zeros(3)
        t.type()
        """,
}


@pytest.mark.parametrize("name", sorted(SILENT))
def test_silent(name: str):
    assert codes(SILENT[name], "NN602") == []


def test_notebook_cell_ending_in_an_expression_displays_it():
    from nnlint.notebook import NotebookProgram

    program = NotebookProgram.from_cells([
        ("a", "code", "import torch\nt = torch.randn(3)"),
        ("b", "code", "t.float()"),
        ("c", "code", "for _ in range(2):\n    t.cuda()"),
    ])
    findings = program.check(Settings(select=("NN602",)))
    assert [(f.cell_id, f.span.line) for f in findings] == [("c", 2)]
