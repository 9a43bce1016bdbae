"""Session 7's cheaper shared work (examples/ still over 2x `ast.parse`) must answer exactly
like the code it replaced. Each test writes the replaced code out here and compares it with
the index on real shapes: the bundled examples, the rule fixtures and the shared corpus."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nnlint.engine import parse
from nnlint.semantic import (
    _EXPR_FIELDS, _LEAVES, _MARKING, CallSite, Semantic, _completion, _Walker, child_parent_pairs, subtree,
)
from nnlint.source import SourceFile

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path("/work/shared/corpus")


def _real_files() -> list[Path]:
    folders = [ROOT / "examples", ROOT / "tests" / "rules" / "fixtures"]
    folders += [CORPUS / "cases", CORPUS / "real-shapes"]
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.rglob("*.py"))]


FILES = _real_files()


def _tree(path: Path) -> ast.Module | None:
    tree = parse(SourceFile(path.read_text(encoding="utf-8"), str(path)))
    return tree if isinstance(tree, ast.Module) else None


def _trees() -> list[tuple[Path, ast.Module]]:
    found = [(path, tree) for path in FILES if (tree := _tree(path)) is not None]
    assert len(found) > 50, "too few real files to compare on"
    return found


# ------------------------------------------------------------------ subtree
_SKIPPED = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


def _subtree_before(node: ast.AST) -> list[ast.AST]:
    """`subtree` as it was: every field but ctx/op/ops read, each value tested for a node."""
    found = [node]
    index = 0
    while index < len(found):
        current = found[index]
        index += 1
        for name in current._fields:
            if name in ("ctx", "op", "ops"):
                continue
            value = getattr(current, name, None)
            if type(value) is list:
                found.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                found.append(value)
    return found


def _pairs_before(node: ast.AST) -> list[tuple[ast.AST, ast.AST]]:
    return [(child, parent) for parent in _subtree_before(node) for child in _children_before(parent)]


def _children_before(node: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    for name in node._fields:
        if name in ("ctx", "op", "ops"):
            continue
        value = getattr(node, name, None)
        if type(value) is list:
            found.extend(item for item in value if isinstance(item, ast.AST))
        elif isinstance(value, ast.AST):
            found.append(value)
    return found


def test_subtree_leaves_out_only_fields_that_hold_no_node() -> None:
    compared = 0
    for _path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, (ast.stmt, ast.Module)):
                assert subtree(node) == _subtree_before(node)
                compared += 1
        # the same nodes as ast.walk, in its order, without the context and operator nodes
        assert subtree(tree) == [n for n in ast.walk(tree) if not isinstance(n, _SKIPPED)]
    assert compared > 1000


def test_child_parent_pairs_are_each_nodes_children() -> None:
    for _path, tree in _trees():
        for node in [tree, *(n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)))]:
            assert child_parent_pairs(node) == _pairs_before(node)


def test_a_scalar_field_of_one_kind_is_still_read_in_another() -> None:
    """`value` holds no node in a Constant but does in an Attribute, a keyword, a Return."""
    tree = ast.parse("def f(a=1):\n    return g(x=a.b, *c)\n")
    kinds = [type(n).__name__ for n in subtree(tree)]
    assert kinds == [type(n).__name__ for n in ast.walk(tree) if not isinstance(n, _SKIPPED)]
    assert "Attribute" in kinds and kinds.count("Name") == 3


# ------------------------------------------------------------------- origin
def test_origin_answers_like_its_first_computation_and_repeats_it() -> None:
    """The kept answer is the one the walk gives, for every argument and receiver of every
    call, both with and without shape operations; a second ask hands back the same answer."""
    asked = 0
    for _path, tree in _trees():
        sem = Semantic.build(tree)
        for site in sem.calls:
            exprs = [*site.node.args, *(k.value for k in site.node.keywords)]
            if site.receiver is not None:
                exprs.append(site.receiver)
            for expr in exprs:
                for through in (True, False):
                    slow = sem._origin(expr, site.scope, site.line, through, 12)
                    kept = sem.origin(expr, site.scope, site.line, through_shape_ops=through)
                    assert kept.expr is slow.expr and kept.scope is slow.scope
                    assert [id(h) for h in kept.hops] == [id(h) for h in slow.hops]
                    assert sem.origin(expr, site.scope, site.line, through_shape_ops=through) is kept
                    asked += 1
        sem.release()
        assert not sem._origins
    assert asked > 1000


def test_origin_tells_apart_nodes_made_for_one_question() -> None:
    """A node made for a question (`ast.Name(id=...)`) and dropped must not answer for the
    next one made at the same address: the answers are keyed by the node, which they keep."""
    sem = Semantic.build(ast.parse("import torch\nnet = torch.nn.Linear(2, 2)\nopt = torch.optim.SGD(net.parameters())\n"))
    for _ in range(50):
        for name, made in (("net", "Linear"), ("opt", "SGD")):
            found = sem.origin(ast.Name(id=name), sem.module, 10, through_shape_ops=False)
            assert type(found.expr) is ast.Call and found.expr.func.attr == made


# -------------------------------------------------------------- call order
@pytest.mark.parametrize("source", ["f(g(x), h(y))\nfor a in b(c()):\n    d(e(a))(k)\n", ""])
def test_calls_are_ordered_by_completion_as_before(source: str) -> None:
    for tree in [ast.parse(source), *(t for _p, t in _trees())]:
        sem = Semantic.build(tree)
        assert sem.calls == sorted(sem.calls, key=_completion)


def test_a_tree_without_end_positions_still_orders_its_calls() -> None:
    tree = ast.parse("f(g(x))\nh()\n")
    for node in ast.walk(tree):
        if hasattr(node, "end_lineno"):
            node.end_lineno = None
            node.end_col_offset = None
    sem = Semantic.build(tree)
    assert [ast.unparse(site.node) for site in sem.calls] == ["f(g(x))", "g(x)", "h()"]


# ------------------------------------------------------------ the walker
class _WalkerBefore(_Walker):
    """The walker with `visit_expr` as it was: every callee pushed and visited as a node."""

    def visit_expr(self, node: ast.AST) -> None:
        leaves = _LEAVES
        if type(node) in leaves:
            return
        stack = [node]
        sites = self.sem.calls
        scope, loops, grad_block, stmt, block, branches = (
            self.scope, self.loops, self.grad_block, self.stmt, self.block, self.branches)
        while stack:
            current = stack.pop()
            kind = type(current)
            if kind is ast.Call:
                sites.append(CallSite(current, scope, loops, grad_block, stmt, block, branches))
                children = [current.func, *current.args, *(k.value for k in current.keywords)]
                stack.extend(child for child in children if type(child) not in leaves)
                continue
            if kind is ast.Attribute:
                child = current.value
                if type(child) is ast.Name:
                    if child.id == "self" and type(current.ctx) is ast.Load:
                        cls = scope.cls or self.sem.enclosing_class(scope)
                        if cls is not None:
                            cls.self_reads[current.attr] = cls.self_reads.get(current.attr, 0) + 1
                elif type(child) not in leaves:
                    stack.append(child)
                continue
            if kind in _MARKING:
                if kind is ast.NamedExpr:
                    self.add_binding(current.target.id, current.value, self.stmt or current, "assign")
                else:
                    scope.is_generator = True
            fields = _EXPR_FIELDS.get(kind)
            if fields is None:
                self._visit_children(current, stack.append)
                continue
            singles, lists = fields
            for name in singles:
                child = getattr(current, name)
                if type(child) not in leaves:
                    stack.append(child)
            for name in lists:
                stack.extend(child for child in getattr(current, name) if type(child) not in leaves)


def _index(tree: ast.Module, walker: type[_Walker]) -> Semantic:
    sem = Semantic(tree)
    walker(sem).run()
    return sem


def _facts(sem: Semantic) -> tuple[object, ...]:
    """What the walk records, as comparable values (nodes by identity)."""
    scopes = {id(scope): index for index, scope in enumerate(sem.scopes)}
    return (
        [(id(s.node), scopes[id(s.scope)], id(s.stmt), s.branches, len(s.loops)) for s in sem.calls],
        {name: dict(info.self_reads) for name, info in sem.classes.items()},
        [(scope.name, scope.is_generator, sorted(scope.bindings), [id(s.node) for s in scope.calls])
         for scope in sem.scopes],
    )


def test_the_walk_records_what_it_did_before_callees_were_read_in_place() -> None:
    sources = [
        "class M(nn.Module):\n    def f(self, x):\n        self.a(x); self.a.b(x); y = self.c\n"
        "        (lambda: self.d(x))()\n        return [self.e(i) for i in x] or (yield self.g)\n",
    ]
    trees = [ast.parse(source) for source in sources] + [tree for _path, tree in _trees()]
    for tree in trees:
        assert _facts(_index(tree, _Walker)) == _facts(_index(tree, _WalkerBefore))


# ---------------------------------------------------------------- call names
def test_all_call_names_are_each_calls_qualified_callee() -> None:
    for _path, tree in _trees():
        sem = Semantic.build(tree)
        first = sem.call_name(sem.calls[0].node) if sem.calls else None  # one already known
        names = sem.all_call_names()
        assert names == [sem.qualname(site.node.func) for site in sem.calls]
        assert names == [sem.call_name(site.node) for site in sem.calls]
        if sem.calls:
            assert names[0] == first


# ---------------------------------------------------------------------- NN403
def test_nn403_replacing_helper_test_without_other_modules_is_may_run() -> None:
    from nnlint.rules import nn403_optimizer_misses_new_module as rule

    asked = 0
    for _path, tree in _trees():
        sem = Semantic.build(tree)
        facts = rule._FileFacts(sem)
        assert not facts.cross
        for site in sem.calls:
            fast = facts.may_run_replacing_helper(site)  # the first ask lists the helpers
            helpers = facts._replacing_helpers
            assert helpers is not None
            slow = bool(helpers) and rule._may_run(sem, site, helpers, foreign=False, cross=False)
            assert fast == slow
            asked += 1
    assert asked > 1000


# ------------------------------------------------------------------ effects
class _SemanticBefore(Semantic):
    """`_compute_site_effects` as it was: the receiver's key made before the method is known
    to have an effect."""

    def _compute_site_effects(self, site, _stack):  # type: ignore[no-untyped-def]
        from nnlint.semantic import argument, constant_value, module_itself
        from nnlint.torchnames import CLIP_FUNCTIONS
        from nnlint.vocabulary import MODE_METHODS, RECEIVER_EFFECTS, is_scaled_loss, steps_through_scaler

        call = site.node
        method = site.method
        scope = site.scope
        if self.call_name(call) in CLIP_FUNCTIONS:
            return [("clip", "*", site)]
        if method is not None and type(site.receiver) is ast.Name and site.receiver.id == "self":
            cls = self.enclosing_class(scope)
            if cls is not None and not self.is_module_class(cls.name) and self.resolve_function(call, scope):
                method = None
        if method is not None:
            receiver = site.receiver
            if method in MODE_METHODS and receiver is not None:
                receiver = module_itself(receiver)
            key = self.param_key(receiver, scope) or "?"
            if method == "train":
                mode = argument(call, 0, "mode")
                if mode is not None and constant_value(mode) is False:
                    return [("eval", key, site)]
                return [("train", key, site)]
            if method == "backward" and is_scaled_loss(receiver):
                return [("backward", key, site), ("scaled_backward", key, site)]
            if method == "unscale_" and call.args:
                return [("unscale", self.param_key(call.args[0], scope) or "?", site)]
            if method == "step" and call.args and steps_through_scaler(receiver):
                return [("step", self.param_key(call.args[0], scope) or "?", site)]
            if method == "zero_" and type(receiver) is ast.Attribute and receiver.attr == "grad":
                return [("clear_grad", key, site)]
            kinds = RECEIVER_EFFECTS.get(method)
            if kinds is not None:
                return [(kind, key, site) for kind in kinds]
        targets = self.resolve_function(call, scope)
        if not targets:
            return []
        target = targets[0]
        mapped = []
        for kind, key, _inner in (target.owner or self).effects(target, _stack):
            caller_key = self.caller_key(target, key, site)
            if caller_key is not None:
                mapped.append((kind, caller_key, site))
        return mapped


def test_site_effects_are_those_of_the_key_first_order() -> None:
    compared = 0
    for _path, tree in _trees():
        new, old = Semantic.build(tree), _SemanticBefore.build(tree)
        for mine, theirs in zip(new.calls, old.calls):
            assert mine.node is theirs.node
            got = [(kind, key, id(site.node)) for kind, key, site in new.site_effects(mine)]
            assert got == [(kind, key, id(site.node)) for kind, key, site in old.site_effects(theirs)]
            compared += bool(got)
    assert compared > 500


def test_the_call_index_merges_answers_in_the_order_of_the_calls() -> None:
    from nnlint.calls import CallIndex

    for _path, tree in _trees():
        sem = Semantic.build(tree)
        index = CallIndex(sem)
        calls = list(sem.calls)
        assert index.either(list(reversed(calls)), calls[::2]) == calls
        methods = sorted({site.method for site in calls if site.method})
        assert index.methods(methods) == [site for site in calls if site.method]


# ---------------------------------------------------------------------- NN207
def test_nn207_skips_only_files_where_it_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without other modules a file whose text never says `lr_scheduler` has no scheduler
    to step: the rule with the shortcut finds what it finds without it, on every real file."""
    from nnlint.config import Settings
    from nnlint.context import Context
    from nnlint.rules import nn207_epoch_scheduler_stepped_per_batch as module

    rule = module.EpochSchedulerSteppedPerBatch()
    settings = Settings(select=("ALL",))
    skipped = found = 0
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        source = SourceFile(text, str(path))
        tree = parse(source)
        if not isinstance(tree, ast.Module):
            continue
        ctx = Context(source, tree, Semantic.build(tree), settings)
        fast = [(f.span, f.message) for f in rule.check(ctx)]
        with monkeypatch.context() as patched:
            patched.setattr(module, "_may_build_scheduler", lambda ctx: True)
            slow = [(f.span, f.message) for f in rule.check(ctx)]
        assert fast == slow, path
        skipped += not module._may_build_scheduler(ctx)
        found += bool(slow)
    assert skipped > 100 and found >= 2  # (the rule's own fixtures hold its findings)


def test_nn207_still_reads_a_text_it_cannot_take_word_for_word() -> None:
    from nnlint.config import Settings
    from nnlint.context import Context
    from nnlint.rules.nn207_epoch_scheduler_stepped_per_batch import _may_build_scheduler

    for text, expected in (("import torch\nx = 1\n", False), ("from torch.optim import lr_scheduler\n", True),
                           ("ｌｒ = 1\n", True)):
        source = SourceFile(text)
        tree = ast.parse(text)
        assert _may_build_scheduler(Context(source, tree, Semantic.build(tree), Settings())) is expected
