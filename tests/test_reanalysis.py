"""`nnlint.reanalysis`: after an edit, a live buffer's check keeps the findings of the
statements the edit cannot affect and analyses the rest again. Whatever it does, the
result must equal a full analysis: random edits of real files are compared finding by
finding (message, severity, span, related lines and fix included), and each reason to
analyse in full is shown to hold."""

from __future__ import annotations

import random
import textwrap
import warnings
from pathlib import Path

import pytest
from helpers import real_files

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.incremental import IncrementalParser
from nnlint.project import ProjectIndex
from nnlint.reanalysis import LiveAnalysis, components, statement_facts
from nnlint.registry import load_rules

ROOT = Path(__file__).resolve().parents[1]
ALL_RULES = Settings(select=tuple(load_rules()))


def comparable(findings: list) -> list:
    return [(f.code, f.message, f.severity, f.span, tuple(f.related), f.fix, f.path) for f in findings]


class Buffer:
    """A buffer as the server holds it: its incremental parser and its live analysis."""

    def __init__(self, text: str, path: str = "<buffer>", settings: Settings = ALL_RULES,
                 project: ProjectIndex | None = None) -> None:
        self.path, self.settings, self.project = path, settings, project
        self.parser = IncrementalParser(path)
        self.live = LiveAnalysis()
        self.edit(text)

    def edit(self, text: str) -> list:
        tree = self.parser.parse(text)
        lines = self.parser.lines if tree is not None else None  # as the server passes them
        result = self.live.check(text, self.path, self.settings, self.project, tree, lines)
        if tree is None and result.error is None:
            self.parser.remember(text, result.semantic.tree)
        self.text = text
        return result.findings

    def full(self) -> list:
        return check_source(self.text, self.path, self.settings, verify_fixes=False, project=self.project).findings

    @property
    def reused(self) -> bool:
        return not self.live.described.startswith("full")


# Keystrokes that keep the number of lines, chosen to flip what rules look at: a mode
# switch, an optimizer call, a softmax, a loss accumulated, a name changed or dropped.
STATEMENTS = [
    "model.eval()", "model.train()", "optimizer.zero_grad()", "loss.backward()", "opt.step()",
    "x = F.softmax(x, dim=1)", "net.eval()", "self.model.eval()", "scheduler.step()",
    "total_loss += loss", "criterion = nn.CrossEntropyLoss()", "torch.manual_seed(0)",
    "out = self.forward(x)", "self.fc = nn.Linear(4, 4)", "p.requires_grad = False",
]


def mutate(line: str, rng: random.Random) -> str:
    choice = rng.randrange(7)
    if choice == 0:
        return line.replace("1", "2", 1)
    if choice == 1:
        return line.replace("train", "eval", 1)
    if choice == 2:
        return line.replace("eval", "train", 1)
    if choice == 3:
        return line.replace("self.", "", 1)
    if choice == 4:
        return line.replace("model", "net", 1)
    stripped = line.strip()
    if not stripped or stripped.endswith((":", ",", "(", "[", "{", "\\")) or stripped.startswith(
        ("@", "else", "elif", "except", "finally", ")", "]", "}", "#")
    ):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    return indent + (rng.choice(STATEMENTS) if choice == 5 else "pass") + "\n"


def parses(text: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<edit>", "exec", dont_inherit=True, flags=1024)  # ast.PyCF_ONLY_AST
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_of_real_files_find_what_a_full_analysis_finds(seed: int) -> None:
    rng = random.Random(seed)
    checks = reused = 0
    for path in real_files(40, seed, max_bytes=40_000):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not parses(text):
            continue
        buffer = Buffer(text, str(path))
        lines = text.splitlines(keepends=True)
        for _ in range(12):
            number = rng.randrange(len(lines))
            line = mutate(lines[number], rng)
            if line.count("\n") != lines[number].count("\n"):
                continue
            edited = lines[:number] + [line] + lines[number + 1:]
            if not parses("".join(edited)):
                continue
            lines = edited
            found = buffer.edit("".join(lines))
            checks += 1
            reused += buffer.reused
            assert comparable(found) == comparable(buffer.full()), (path, number + 1, line, buffer.live.described)
    assert checks > 100
    assert reused > checks // 4  # the comparison covers the reuse, not only full analyses


def test_random_edits_in_a_project_find_what_a_full_analysis_finds() -> None:
    """The same with a project index, as in the server: each edit is also the buffer's
    overlay, and the project's other modules are read for imports and callers."""
    roots = sorted(p for p in Path("/work/eco/work/trees").glob("*") if p.is_dir())[:6] or [ROOT / "examples"]
    rng = random.Random(5)
    checks = reused = 0
    for root in roots:
        project = ProjectIndex(root, use_jedi=False)
        files = sorted(p for p in root.rglob("*.py") if 0 < p.stat().st_size < 40_000)
        rng.shuffle(files)
        for path in files[:6]:
            text = path.read_text(encoding="utf-8", errors="replace")
            if not parses(text):
                continue
            project.set_overlay(path, 0, text)
            buffer = Buffer(text, str(path), project=project)
            lines = text.splitlines(keepends=True)
            for version in range(1, 9):
                number = rng.randrange(len(lines))
                line = mutate(lines[number], rng)
                edited = lines[:number] + [line] + lines[number + 1:]
                if line.count("\n") != lines[number].count("\n") or not parses("".join(edited)):
                    continue
                lines = edited
                project.set_overlay(path, version, "".join(lines))
                found = buffer.edit("".join(lines))
                checks += 1
                reused += buffer.reused
                assert comparable(found) == comparable(buffer.full()), (path, number + 1, line, buffer.live.described)
            project.drop_overlay(path)
    assert checks > 20
    assert reused > 0


TWO_PARTS = textwrap.dedent(
    """\
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.drop = nn.Dropout(0.5)

        def forward(self, x):
            return F.softmax(self.fc(self.drop(x)), dim=1)


    def fit(loader, epochs=1):
        net = Net()
        opt = torch.optim.SGD(net.state_dict().values(), lr=0.1)
        for x, y in loader:
            loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()


    def evaluate_other(model, loader):
        for x, y in loader:
            out = model(x)
    """
) + "".join(  # unlinked functions: the parts analysed again stay a small share of the file
    f"\n\ndef scale_{k}(v):\n    w = v * {k}\n    return w + {k}\n" for k in range(10)
)


def test_an_edit_in_an_unlinked_function_keeps_the_other_findings() -> None:
    buffer = Buffer(TWO_PARTS)
    before = {f.code for f in buffer.live._last.findings}  # type: ignore[union-attr]
    assert {"NN101", "NN305", "NN201"} <= before
    buffer.edit(TWO_PARTS.replace("out = model(x)", "out = model(y)"))
    assert buffer.reused and buffer.live.described.startswith("1 of")
    assert comparable(buffer.edit(buffer.text)) == comparable(buffer.full())


def test_an_edit_that_links_two_parts_analyses_both() -> None:
    """`fit` and `evaluate_other` are unlinked until the edit calls one from the other:
    the part analysed again then holds both (and `Net`, which `fit` mentions)."""
    buffer = Buffer(TWO_PARTS)
    edited = TWO_PARTS.replace("        opt.step()\n", "        evaluate_other(net, loader)\n")
    assert edited != TWO_PARTS
    assert comparable(buffer.edit(edited)) == comparable(buffer.full())
    assert buffer.live.described.startswith("3 of")


def test_an_edit_that_cuts_a_link_analyses_what_was_linked() -> None:
    """Removing the only mention of `Net` from `fit`: the finding that `Net`'s softmax
    goes into `cross_entropy` must go."""
    buffer = Buffer(TWO_PARTS)
    assert any(f.code == "NN305" for f in buffer.live._last.findings)  # type: ignore[union-attr]
    found = buffer.edit(TWO_PARTS.replace("net = Net()", "net = Nut()"))
    assert buffer.live.described.startswith("2 of")  # `fit`, and `Net`, linked before the edit
    assert not any(f.code == "NN305" for f in found)
    assert comparable(found) == comparable(buffer.full())


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("out = model(x)", "out = model(x)  # noqa"),  # a suppression
        lambda text: text.replace("import torch\n", "import numpy\n", 1),  # an import
        lambda text: text.replace("out = model(x)\n", "out = model(x)\n\n"),  # a line added
    ],
    ids=["suppression", "import", "line-count"],
)
def test_edits_that_need_a_full_analysis(edit) -> None:
    buffer = Buffer(TWO_PARTS)
    found = buffer.edit(edit(TWO_PARTS))
    assert not buffer.reused, buffer.live.described
    assert comparable(found) == comparable(buffer.full())


def test_other_settings_analyse_in_full() -> None:
    buffer = Buffer(TWO_PARTS)
    buffer.settings = Settings(select=("NN3",))
    found = buffer.edit(TWO_PARTS.replace("out = model(x)", "out = model(y)"))
    assert not buffer.reused
    assert {f.code for f in found} == {"NN305"}


def test_a_change_elsewhere_in_the_project_analyses_in_full(tmp_path: Path) -> None:
    """Another module changed (an editor buffer): what this one read of it may differ."""
    (tmp_path / "helpers.py").write_text("import torch\n\ndef make():\n    return torch.nn.Linear(2, 2)\n")
    script = tmp_path / "train.py"
    script.write_text(TWO_PARTS)
    project = ProjectIndex(tmp_path, use_jedi=False)
    buffer = Buffer(TWO_PARTS, str(script), project=project)
    buffer.edit(TWO_PARTS.replace("out = model(x)", "out = model(y)"))
    assert buffer.reused
    project.set_overlay(tmp_path / "helpers.py", 2, "import torch\n")
    buffer.edit(TWO_PARTS.replace("out = model(x)", "out = model(x)"))
    assert not buffer.reused
    assert comparable(buffer.edit(buffer.text.replace("model(x)", "model(z)"))) == comparable(buffer.full())


def test_a_caller_in_another_module_counts(tmp_path: Path) -> None:
    """`evaluate_other(model, ...)` gets its model from a caller in another module: that
    module read this one, so an edit here may change what the caller's values mean."""
    script = tmp_path / "train.py"
    script.write_text(TWO_PARTS)
    (tmp_path / "main.py").write_text(
        "import torch\nfrom train import Net, evaluate_other\n\nnet = Net()\nevaluate_other(net, [])\n"
    )
    project = ProjectIndex(tmp_path, use_jedi=False)
    project.set_overlay(script, 1, TWO_PARTS)  # as the server does with an open buffer
    buffer = Buffer(TWO_PARTS, str(script), project=project)
    for version, edited in enumerate((
        TWO_PARTS.replace("out = model(x)", "out = model(y)"),
        TWO_PARTS.replace("nn.Dropout(0.5)", "nn.Identity()   "),
        TWO_PARTS.replace("epochs=1", "epochs=2"),
    ), start=2):
        project.set_overlay(script, version, edited)
        assert comparable(buffer.edit(edited)) == comparable(buffer.full())
        assert not buffer.reused and "reads this one" in buffer.live.described


def test_links_follow_names_methods_and_attributes() -> None:
    source = textwrap.dedent(
        """\
        import torch
        class A:
            def fit(self):
                self.head = 1
        def uses_method(x):
            x.fit()
        def uses_attribute(y):
            return y.head
        def unrelated(z):
            return z + 1
        def calls_by_string(m):
            return getattr(m, "unrelated")
        """
    )
    import ast

    body = ast.parse(source).body
    labels = components([statement_facts(statement) for statement in body])
    assert labels[0] == -1  # the import: shared by every part
    assert labels[1] == labels[2] == labels[3]  # a method, an attribute, by name
    assert labels[4] == labels[5]  # a name in a string counts
    assert labels[4] != labels[1]
