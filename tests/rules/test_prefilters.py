"""The rules' cheap tests before their expensive ones (issue 13, speed) must never drop a
finding: the call index answers exactly what a pass over every call would, and a spelling
the cheap tests do not see in the file itself (a layer built in another module, an
aliased import) still reaches the full analysis."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from nnlint.bench import generate_script
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex
from nnlint.calls import call_index
from nnlint.semantic import Semantic
from nnlint.torchnames import is_optimizer_constructor

from helpers import ROOT, lint


def _semantics() -> list[Semantic]:
    texts = [generate_script(600)] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "examples").glob("*.py"))]
    return [Semantic.build(ast.parse(text)) for text in texts]


def test_call_index_answers_what_a_pass_over_every_call_does() -> None:
    for sem in _semantics():
        index = call_index(sem)
        assert index is call_index(sem)  # built once per module index
        names = {sem.call_name(site.node) for site in sem.calls}
        for name in names:
            assert index.named((name,)) == [s for s in sem.calls if sem.call_name(s.node) == name]
        some = sorted(n for n in names if n)[::3]
        assert index.named(some) == [s for s in sem.calls if sem.call_name(s.node) in some]
        assert index.matching(is_optimizer_constructor) == [
            s for s in sem.calls if is_optimizer_constructor(sem.call_name(s.node))]
        methods = ("step", "zero_grad", "eval", "train", "view", "missing")
        assert index.methods(methods) == [s for s in sem.calls if s.method in methods]
        assert index.on_self() == [
            s for s in sem.calls if s.method is not None and type(s.receiver) is ast.Name and s.receiver.id == "self"]
        for kind in (ast.Call, ast.Subscript):
            assert index.callee_kind(kind) == [s for s in sem.calls if type(s.node.func) is kind]
        both = index.either(index.methods(("step",)), index.named(some), index.methods(("step", "train")))
        assert both == [s for s in sem.calls if s.method in ("step", "train") or sem.call_name(s.node) in some]


def _write(root: Path, files: dict[str, str]) -> None:
    (root / ".git").mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")


def _found(root: Path, name: str) -> list[tuple[str, int]]:
    path = root / name
    result = check_source(path.read_text(encoding="utf-8"), str(path), Settings(select=("ALL",)),
                          project=ProjectIndex(root, use_jedi=False))
    return [(f.code, f.span.line) for f in result.findings]


SOFTMAX_USE = """\
import torch.nn as nn
from torch.utils.data import DataLoader

from layers import make_probabilities

model = nn.Linear(10, 3)
loader = DataLoader(dataset, batch_size=8)
to_probs = make_probabilities()  # a softmax layer
for x, y in loader:
    probs = to_probs(model(x))
    print(probs)
"""


def test_softmax_layer_built_in_another_module(tmp_path: Path) -> None:
    """NN505 skips `act(x)` calls when no softmax layer can exist; a layer made by a helper of
    another project module (this file never names `Softmax`) still counts."""
    _write(tmp_path, {
        "layers.py": """\
            import torch.nn as nn


            def make_probabilities():
                return nn.Softmax(dim=0)
            """,
        "train.py": SOFTMAX_USE,
    })
    assert ("NN505", 10) in _found(tmp_path, "train.py")
    # the same file alone cannot know what the helper returns: silent
    assert [f for f in lint(SOFTMAX_USE, "NN505")] == []


def test_softmax_layer_under_an_alias() -> None:
    code = """\
        import torch.nn as nn
        from torch.nn import Softmax as Normalise
        from torch.utils.data import DataLoader

        model = nn.Linear(10, 3)
        loader = DataLoader(dataset, batch_size=8)
        to_probs = Normalise(dim=0)
        for x, y in loader:
            probs = to_probs(model(x))
        """
    assert [(f.code, f.span.line) for f in lint(code, "NN505")] == [("NN505", 9)]


def test_optimizer_from_a_helper_method_and_a_replacing_helper() -> None:
    """NN403 follows only calls that may reach a helper returning an optimizer (found by the
    called name) and helpers that assign to a parameter."""
    code = """\
        import torch
        import torch.nn as nn
        import torchvision


        def make_opt(net, lr=0.01):
            return torch.optim.SGD(net.parameters(), lr=lr)


        def new_head(net, classes):
            net.fc = nn.Linear(512, classes)


        model = torchvision.models.resnet18(weights="DEFAULT")
        opt = make_opt(model)
        new_head(model, 10)
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        """
    assert [(f.code, f.span.line) for f in lint(code, "NN403")] == [("NN403", 11)]
