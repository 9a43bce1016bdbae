"""Rules read the shared analyses through typed, lazy accessors on `Context`, built once per
check and dropped with the semantic index; no rule stashes its own state on `Semantic`."""
from __future__ import annotations

import ast
from pathlib import Path

from nnlint.config import Settings
from nnlint.context import Context
from nnlint.engine import parse
from nnlint.semantic import Semantic
from nnlint.source import SourceFile
from nnlint.training import Training
from nnlint.values import Values

RULES = Path(__file__).resolve().parent.parent / "rules"

CODE = """\
import torch
model = torch.nn.Linear(2, 2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
"""


def _context(text: str) -> Context:
    source = SourceFile(text, "t.py")
    tree = parse(source)
    return Context(source, tree, Semantic.build(tree), Settings())


def test_analyses_are_built_once_and_shared() -> None:
    ctx = _context(CODE)
    assert isinstance(ctx.training, Training) and isinstance(ctx.values, Values)
    assert ctx.training is ctx.training and ctx.values is ctx.values
    assert ctx.training.step_sites, "the accessor answers from the module it was built on"


def test_release_drops_every_analysis() -> None:
    ctx = _context(CODE)
    ctx.training.step_sites, ctx.values.loss_uses  # build both
    semantic = ctx.semantic
    assert semantic._analyses
    semantic.release()
    assert not semantic._analyses


def test_no_rule_stashes_state_on_the_semantic_index() -> None:
    offenders = []
    for path in sorted(RULES.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            # `sem.__dict__[...]`, `setattr(sem, ...)`, `sem._cache = ...`
            if type(node) is ast.Attribute and node.attr == "__dict__":
                offenders.append(f"{path.name}:{node.lineno}")
            if type(node) is ast.Call and type(node.func) is ast.Name and node.func.id == "setattr":
                offenders.append(f"{path.name}:{node.lineno}")
            if type(node) in (ast.Assign, ast.AnnAssign):
                targets = node.targets if type(node) is ast.Assign else [node.target]
                for target in targets:
                    if (type(target) is ast.Attribute and type(target.value) is ast.Name
                            and target.value.id in ("sem", "semantic") and target.attr.startswith("_")):
                        offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
