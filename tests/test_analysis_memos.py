"""The memos on `Values` and `Training` (issue 13: several rules ask the same question of
the same node) must not change an answer: asking again, in any order, gives what a fresh
analysis gives, and a memo tells apart the same node read at different lines or scopes."""
from __future__ import annotations

import ast
from pathlib import Path

from nnlint.bench import generate_script
from nnlint.config import Settings
from nnlint.context import Context
from nnlint.engine import active_rules, parse
from nnlint.semantic import Semantic
from nnlint.source import SourceFile
from nnlint.training import training

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SETTINGS = Settings(select=("ALL",))


def _context(text: str, name: str = "t.py") -> Context:
    source = SourceFile(text, name)
    tree = parse(source)
    return Context(source, tree, Semantic.build(tree), SETTINGS)


def _findings(ctx: Context, rules: list) -> list[str]:  # type: ignore[type-arg]
    """Every finding in full (message, span, related lines, fix), as text to compare."""
    return [repr(finding) for rule in rules for finding in rule.check(ctx)]


def test_every_rule_twice_over_one_analysis_finds_the_same() -> None:
    """The second pass answers from the memos the first filled (in the other order, so each
    rule meets answers another rule asked for first): nothing a caller did to a shared
    answer may show."""
    rules = active_rules(SETTINGS)
    texts = [(p.name, p.read_text()) for p in sorted(EXAMPLES.glob("*.py"))]
    texts.append(("generated.py", generate_script(600)))
    for name, text in texts:
        expected = sorted(_findings(_context(text, name), rules))
        ctx = _context(text, name)
        first = sorted(_findings(ctx, rules))
        again = sorted(_findings(ctx, list(reversed(rules))))
        assert first == expected, name
        assert again == expected, name


CODE = """\
import torch
net = torch.nn.Linear(2, 2)
opt = torch.optim.SGD(net.parameters(), lr=0.1)
opt = torch.optim.Adam(net.parameters())
"""


def test_constructor_memo_keeps_lines_apart() -> None:
    ctx = _context(CODE)
    train = training(ctx.semantic)
    module = ctx.semantic.module
    read = ast.Name(id="opt")
    assert train.constructor_name(read, module, 4) == "torch.optim.SGD"
    assert train.constructor_name(read, module, 5) == "torch.optim.Adam"
    assert train.constructor_name(read, module, 4) == "torch.optim.SGD", "a memo hit for line 4"


def test_gradient_events_are_the_same_when_asked_again() -> None:
    ctx = _context(
        "import torch\n"
        "model = torch.nn.Linear(2, 2)\n"
        "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for x, y in loader:\n"
        "    opt.zero_grad()\n"
        "    torch.nn.functional.mse_loss(model(x), y).backward()\n"
        "    opt.step()\n"
    )
    train = training(ctx.semantic)
    (backward,) = train.backward_sites
    around = train.iterations_around(backward, "backward")
    kinds = [[event.kind for event in events] for events, _index, _via in around]
    assert kinds == [["zero_grad", "backward", "step"]]
    assert train.iterations_around(backward, "backward") == around
