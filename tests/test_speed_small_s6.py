"""Shortcuts taken to make small real files cheaper (issue 13, examples/ over 2x `ast.parse`)
must answer exactly like the slow path they skip. Each test runs the slow path, written out
here as the rule was before the shortcut, next to the rule itself on real shapes: the
bundled examples, the rule fixtures and the shared corpus (when present)."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator

import pytest

from nnlint.config import Settings
from nnlint.context import Context
from nnlint.engine import parse
from nnlint.findings import Finding
from nnlint.registry import load_rules
from nnlint.semantic import Semantic
from nnlint.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/corpus")
SETTINGS = Settings(select=("ALL",))


def _real_files() -> list[Path]:
    folders = [ROOT / "examples", ROOT / "tests" / "rules" / "fixtures"]
    folders += [CORPUS / "cases", CORPUS / "real-shapes"]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.rglob("*.py"))]


def _context(path: Path) -> Context | None:
    text = path.read_text(encoding="utf-8")
    source = SourceFile(text, str(path))
    tree = parse(source)
    if not isinstance(tree, ast.Module):
        return None
    return Context(source, tree, Semantic.build(tree), SETTINGS)


FILES = _real_files()


def _anchors(findings: list[Finding]) -> list[tuple[int, int, str]]:
    return [(f.span.line, f.span.column, f.severity.name) for f in findings]


# ----------------------------------------------------------------------------- NN202
def _nn202_slow(ctx: Context) -> Iterator[tuple[int, int]]:
    """NN202 as it was: whether the model has mode layers asked before which switch is in force."""
    from nnlint.rules import nn202_missing_train as rule

    sem = ctx.semantic
    train = ctx.training
    seen: set[int] = set()
    for loop in train.training_loops():
        backward = next((s for s in loop.calls if train.is_backward(s) and s.scope is loop.scope), None)
        if backward is None:
            continue
        candidates = [s for s in loop.calls[:loop.calls.index(backward)] if s.scope is loop.scope]
        forward = train.first_model_call(candidates)
        model_expr = train.model_of(forward) if forward is not None else None
        if forward is None:
            forward = rule._self_forward_through_method(sem, candidates, loop.scope)
            model_expr = ast.Name(id="self", ctx=ast.Load()) if forward is not None else None
        if forward is None or model_expr is None or id(forward) in seen:
            continue
        seen.add(id(forward))
        key = sem.param_key(model_expr, forward.scope)
        if key is None or key == "self" and not rule._trains_itself(sem, forward.scope):
            continue
        if key == "self":
            cls = sem.enclosing_class(forward.scope)
            has_mode_layers = True if cls is not None and train._class_has_mode_layers(cls.name, set()) else None
        else:
            has_mode_layers = train.model_has_mode_layers(model_expr, forward.scope, forward.line)
        if has_mode_layers is False:
            continue
        if rule._switch_before(sem, forward, key) is None and rule._switch_in_callers(sem, forward, key) is None:
            continue
        yield forward.node.lineno, forward.node.col_offset


# ----------------------------------------------------------------------------- NN201
def _nn201_slow(ctx: Context) -> Iterator[tuple[int, int]]:
    """NN201 as it was: whether the model has mode layers asked before the mode in force."""
    from nnlint.rules import nn201_missing_eval as rule

    sem = ctx.semantic
    train = ctx.training
    for context, scope, sites in rule._evaluation_contexts(sem, train):
        model_call = train.first_model_call(sites)
        if model_call is None:
            continue
        key = sem.param_key(train.model_of(model_call), scope)
        if key is None or key == "self":
            continue
        has_mode_layers = train.model_has_mode_layers(train.model_of(model_call), scope, model_call.line)
        if has_mode_layers is False:
            continue
        if rule._training_mode_at(ctx, sem, train, scope, key, model_call, context, 0) is None:
            continue
        yield model_call.node.lineno, model_call.node.col_offset


SLOW_PATHS = {"NN202": _nn202_slow, "NN201": _nn201_slow}


@pytest.mark.parametrize("code", sorted(SLOW_PATHS))
def test_mode_rules_find_what_the_slow_order_finds(code: str) -> None:
    rule = load_rules()[code]()
    compared = flagged = 0
    for path in FILES:
        ctx = _context(path)
        if ctx is None:
            continue
        fast = sorted((f.span.line, f.span.column) for f in rule.check(ctx))
        slow_ctx = _context(path)  # a fresh analysis: no memo the fast path filled
        assert slow_ctx is not None
        slow = sorted((line, ctx.source.column(line, column)) for line, column in SLOW_PATHS[code](slow_ctx))
        assert fast == slow, f"{code} on {path}"
        compared += 1
        flagged += bool(fast)
    assert compared > 50 and flagged >= 3  # the comparison saw real files, some with findings


# ------------------------------------------------------ NN201: loops after training
def _unmarked_slow(sem: Semantic, train) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """`_unmarked_evaluation_loops` as it was, without the sibling-loop test first."""
    from nnlint.rules import nn201_missing_eval as rule

    found = []
    trained: dict[int, list] = {}  # type: ignore[type-arg]
    for loop in sem.loops:
        scope = loop.scope
        sites = [s for s in loop.calls if s.scope is scope]
        if not sites or any(s.grad_block is not None for s in sites) or rule._trains_in(sem, train, sites):
            continue
        end = (loop.node.end_lineno or loop.node.lineno, 1 << 30)
        if rule._trains_in(sem, train, [s for s in scope.calls if s.pos > end and not loop.encloses(s.loop)]):
            continue
        model_call = train.first_model_call(sites)
        if model_call is None:
            continue
        key = sem.param_key(train.model_of(model_call), scope)
        if id(scope) not in trained:
            trained[id(scope)] = rule._training_loops_of(sem, train, scope)
        if any(key in keys and other.node.lineno < loop.node.lineno and not other.encloses(loop)
               and not loop.encloses(other) for other, keys in trained[id(scope)]):
            found.append((loop.node.lineno, loop.node.col_offset))
    return found


def test_unmarked_evaluation_loops_are_the_slow_paths() -> None:
    from nnlint.rules import nn201_missing_eval as rule

    compared = found = 0
    for path in FILES:
        ctx = _context(path)
        if ctx is None:
            continue
        fast = [(node.lineno, node.col_offset)
                for node, _, _ in rule._unmarked_evaluation_loops(ctx.semantic, ctx.training)]
        slow_ctx = _context(path)
        assert slow_ctx is not None
        assert fast == _unmarked_slow(slow_ctx.semantic, slow_ctx.training), path
        compared += 1
        found += bool(fast)
    assert compared > 50 and found >= 1


# ------------------------------------------------ NN504: reads of the container
def _uses_supported_slow(info, attr: str, kind: str) -> bool:  # type: ignore[no-untyped-def]
    """`_uses_supported` as it was: a parent map of every node of the class."""
    from nnlint.rules import nn504_modules_in_plain_container as rule
    from nnlint.semantic import dotted, subtree

    methods = rule._LIST_METHODS if kind == "list" else rule._DICT_METHODS
    parents: dict[int, ast.AST] = {}
    reads: list[ast.Attribute] = []
    for node in subtree(info.node):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            if type(child) is ast.Attribute and child.attr == attr and dotted(child.value) == "self" \
                    and type(child.ctx) is ast.Load:
                reads.append(child)
    for read in reads:
        parent = parents.get(id(read))
        kind_ = type(parent)
        if kind_ is ast.Subscript and parent.value is read:  # type: ignore[union-attr]
            continue
        if kind_ is ast.Attribute and parent.attr in methods:  # type: ignore[union-attr]
            continue
        if kind_ in (ast.For, ast.comprehension) and parent.iter is read:  # type: ignore[union-attr]
            continue
        if kind_ is ast.Starred:
            continue
        if kind_ is ast.Compare and kind == "dict":
            continue
        if kind_ is ast.Call and type(parent.func) is ast.Name and parent.func.id in rule._ITERATING_CALLS:  # type: ignore[union-attr]
            continue
        return False
    return True


def test_container_reads_are_judged_as_by_the_parent_map() -> None:
    from nnlint.rules import nn504_modules_in_plain_container as rule

    asked = supported = 0
    for path in FILES:
        ctx = _context(path)
        if ctx is None:
            continue
        for info in ctx.semantic.classes.values():
            attrs = set(info.self_reads) | set(info.attrs)
            for attr in sorted(attrs):
                for kind in ("list", "dict"):
                    fast = rule._uses_supported(info, attr, kind)
                    assert fast == _uses_supported_slow(info, attr, kind), (path, info.name, attr, kind)
                    asked += 1
                    supported += fast
    assert asked > 100 and 0 < supported < asked  # both answers seen


# ------------------------------------- Training: sites read from the call index
def test_training_sites_from_the_call_index_are_the_pass_over_every_call() -> None:
    """`backward_sites`, `step_sites` and the module-only uses, taken from the call index,
    are the sites (and order) the pass over `sem.calls` found."""
    from nnlint.training import _MODULE_ONLY_METHODS
    from nnlint.semantic import dotted

    backwards = steps = uses = 0
    for path in FILES:
        ctx = _context(path)
        if ctx is None:
            continue
        sem, train = ctx.semantic, ctx.training
        slow_backward = [
            s for s in sem.calls
            if s.method == "backward" or (s.method is None and sem.call_name(s.node) == "torch.autograd.backward")
            or s.method == "manual_backward" and train._is_manual_backward(s)
        ]
        assert train.backward_sites == slow_backward, path
        slow_steps = [(s, opt) for s in sem.calls if s.method == "step"
                      for opt in [train.optimizer_of_step(s)] if opt is not None]
        assert train.step_sites == slow_steps, path
        slow_uses: dict[str, dict[object, object]] = {}
        for site in sem.calls:
            if site.method in _MODULE_ONLY_METHODS and site.receiver is not None:
                name = dotted(site.receiver)
                if name is not None:
                    home = train._home_of(name.partition(".")[0], site.scope)
                    slow_uses.setdefault(name, {}).setdefault(home, site)
        assert train._module_only_uses == slow_uses, path
        backwards += len(slow_backward)
        steps += len(slow_steps)
        uses += len(slow_uses)
    assert backwards > 50 and steps > 50 and uses > 50


def test_a_bare_autograd_backward_and_lightning_manual_backward_count() -> None:
    source = SourceFile(
        "from torch.autograd import backward\n"
        "import torch\n"
        "import lightning as L\n"
        "class M(L.LightningModule):\n"
        "    def training_step(self, batch):\n"
        "        loss = self(batch).sum()\n"
        "        self.manual_backward(loss)\n"
        "def f(loss, other):\n"
        "    backward(loss)\n"
        "    torch.autograd.backward(other)\n"
        "    other.backward()\n"
        "    helper.manual_backward(loss)\n",
        "t.py",
    )
    tree = parse(source)
    assert isinstance(tree, ast.Module)
    ctx = Context(source, tree, Semantic.build(tree), SETTINGS)
    found = [(s.line, s.method) for s in ctx.training.backward_sites]
    assert found == [(7, "manual_backward"), (9, None), (10, "backward"), (11, "backward")]


def test_calls_by_class_are_the_pass_that_asks_every_call() -> None:
    from nnlint.rules import nn504_modules_in_plain_container as rule

    grouped = 0
    for path in FILES:
        ctx = _context(path)
        if ctx is None:
            continue
        sem = ctx.semantic
        slow: dict[int, list] = {}  # type: ignore[type-arg]
        for site in sem.calls:
            info = sem.enclosing_class(site.scope)
            if info is not None:
                slow.setdefault(id(info), []).append(site)
        assert rule._calls_by_class(sem) == slow, path
        grouped += len(slow)
    assert grouped > 20
