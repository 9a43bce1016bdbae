"""NN201 missing-eval."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, Semantic
from nnlint.torchnames import is_module_constructor
from nnlint.training import Training, in_lightning_eval_hook, mode_before, mode_events, name_expr, training
from nnlint.vocabulary import MODE_KINDS, is_eval_role_name
from nnlint.message import t, t_docs

MAX_CALLER_DEPTH = 3


@dataclass
class Verdict:
    """Why the model may be in training mode at the evaluation call, and where."""

    reason: str
    node: ast.AST
    more: list[tuple[ast.AST, str]] = field(default_factory=list)
    # False when inserting `model.eval()` cannot help: a `model.train()` inside the block undoes it
    eval_fixes: bool = True


@register
class MissingEval(Rule):
    """
    ## What it does
    Flags evaluation code, a `torch.no_grad()` / `torch.inference_mode()` block or
    an evaluation function (`evaluate`, `validate`, `predict`, ...), that runs the
    model while it may still be in training mode.

    ## Why is this bad?
    `no_grad()` only stops gradient tracking; it does not switch layers to
    inference behaviour. Without `model.eval()`, dropout still zeroes random
    activations and batch norm normalises with the statistics of each evaluation
    batch (and updates its running averages with them). Validation metrics come out
    noisy and pessimistic, checkpoints are selected on the wrong numbers, and
    predictions change from run to run. Nothing raises an error.

    Evaluation helpers that call `model.eval()` themselves, callers that call it
    before the helper, and `no_grad()` blocks that are part of a training step
    (EMA updates, target networks) are recognised, and so are Lightning's evaluation
    hooks, which run with the module already in eval mode. The evaluation method of
    a class that keeps the model its constructor is given (a predictor) is
    reported when no method of the class switches that model's mode and nothing
    visible builds the class. A model whose definition is
    visible and has no dropout or batch norm (an `nn.LSTM` without `dropout=` included)
    is not reported: eval() would change nothing. The finding is a warning only when
    the value is proven to be a module (built by a module class or constructor, used
    with `.parameters()`/`.eval()`, or passed one by every caller); when only its name
    says so, it is a hint.

    ## Example
    ```python
    def evaluate(model, loader):
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
    ```

    ## Use instead
    ```python
    def evaluate(model, loader):
        model.eval()
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
    ```
    and `model.train()` again before the next training epoch.

    ## Fix
    Inserts `model.eval()` before the evaluation block (or at the top of the
    evaluation function).
    """

    code = "NN201"
    name = "missing-eval"
    severity = Severity.WARNING
    summary = "Evaluation runs the model while it may still be in training mode (no model.eval())"
    fix_title = "Insert {model}.eval()"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        train = ctx.training
        for context, scope, sites in _evaluation_contexts(sem, train):
            model_call = train.first_model_call(sites)
            if model_call is None:
                continue
            key = sem.param_key(train.model_of(model_call), scope)
            if key is None or key == "self":
                continue
            # The mode in force first: in most evaluation code it is eval (or unknown), and that
            # is cheaper to tell than whether the model has mode layers; the two questions are
            # independent, so this order gives the same findings.
            verdict = _training_mode_at(ctx, sem, train, scope, key, model_call, context, 0)
            if verdict is None:
                continue
            has_mode_layers = train.model_has_mode_layers(train.model_of(model_call), scope, model_call.line)
            if has_mode_layers is False:
                continue  # no dropout or batch norm anywhere in it: eval() would change nothing
            yield self._finding(ctx, train, context, scope, model_call, verdict, has_mode_layers)

    def _finding(
        self, ctx: Context, train: Training, context: ast.AST, scope: Scope, call: CallSite, verdict: Verdict,
        has_mode_layers: bool | None,
    ) -> Finding:
        model = ctx.text(train.model_of(call))
        if isinstance(context, (ast.With, ast.AsyncWith)):
            where = t(
                "under `{context_expr}` (line {context_lineno})",
                context_expr=ctx.text(context.items[0].context_expr),
                context_lineno=context.lineno,
            )
        elif isinstance(context, (ast.FunctionDef, ast.AsyncFunctionDef)):
            where = t("in evaluation function `{context_name}`", context_name=context.name)
        elif isinstance(context, (ast.For, ast.AsyncFor, ast.While)):
            where = t(
                "in the evaluation loop at line {context_lineno} (a pass whose outputs never reach backward())",
                context_lineno=context.lineno,
            )
        else:
            where = t("in evaluation code")
        message = (
            t(
                "`{model}` runs {where} without `{model}.eval()`: {verdict_reason}, so dropout and batch norm "
                "behave as in training",
                model=model,
                where=where,
                verdict_reason=verdict.reason,
            )
        )
        related = [ctx.related(verdict.node, verdict.reason)]
        related += [ctx.related(node, text) for node, text in verdict.more]
        severity, note = train.mode_claim(train.model_of(call), scope, call.line, has_mode_layers, model)
        message += note
        fix = self._fix(ctx, context, scope, model) if verdict.eval_fixes else None
        return ctx.finding(self, call.node, message, related, fix, severity)

    def _fix(self, ctx: Context, context: ast.AST, scope: Scope, model: str) -> Fix | None:
        if isinstance(context, (ast.With, ast.AsyncWith)):
            edit = ctx.insert_line_before(context, f"{model}.eval()")
        elif isinstance(context, (ast.FunctionDef, ast.AsyncFunctionDef)):
            edit = ctx.insert_at_block_start(context.body, f"{model}.eval()")
        else:
            edit = None
        return Fix(t_docs(self.fix_title, model=model), (edit,)) if edit is not None else None


def _evaluation_contexts(sem: Semantic, train: Training) -> Iterator[tuple[ast.AST, Scope, list[CallSite]]]:
    """no_grad/inference_mode blocks and evaluation functions, with the calls they run."""
    blocks: dict[int, tuple[ast.AST, Scope, list[CallSite]]] = {}
    for site in sem.calls:
        if site.grad_block is not None:
            entry = blocks.setdefault(id(site.grad_block), (site.grad_block, site.scope, []))
            if entry[1] is site.scope:
                entry[2].append(site)
    training_scopes = {id(s.scope) for s in train.backward_sites} | {id(s.scope) for s, _ in train.step_sites}
    for block, scope, sites in blocks.values():
        if in_lightning_eval_hook(sem, scope):
            continue  # Lightning switched the module to eval mode before its evaluation loop
        if isinstance(block, (ast.With, ast.AsyncWith)) and (
                _inside_training_loop(train, scope, block) or _discards_its_outputs(train, block, scope, sites)):
            continue
        if isinstance(block, (ast.FunctionDef, ast.AsyncFunctionDef)) and id(scope) in training_scopes:
            continue
        yield block, scope, sites
    yield from _unmarked_evaluation_loops(sem, train)
    for scope in sem.iter_functions():
        if scope.grad_disabled or id(scope) in training_scopes or not is_eval_role_name(scope.name):
            continue
        if in_lightning_eval_hook(sem, scope):
            continue
        if scope.cls is not None and sem.is_module_class(scope.cls.name):
            continue  # a model's own predict(): its caller owns the mode
        sites = [s for s in scope.calls if s.grad_block is None]
        yield scope.node, scope, sites


def _unmarked_evaluation_loops(sem: Semantic, train: Training) -> Iterator[tuple[ast.AST, Scope, list[CallSite]]]:
    """Evaluation told by what it does, not by `no_grad` or a name: a loop after a training
    loop of the same function that runs the trained model but never reaches backward() or
    an optimizer step (old code that tested with `volatile` Variables, or forgot no_grad)."""
    trained: dict[int, list[tuple[Loop, set[str]]]] = {}  # per scope: training loops, their model keys
    for loop in sem.loops:
        scope = loop.scope
        if not _follows_a_sibling_loop(sem, loop):
            continue  # no loop of its function before it could have trained the model (the cheap test)
        sites = [s for s in loop.calls if s.scope is scope]
        if not sites or any(s.grad_block is not None for s in sites) or _trains_in(sem, train, sites):
            continue
        end = (loop.node.end_lineno or loop.node.lineno, 1 << 30)
        if _trains_in(sem, train, [s for s in scope.calls if s.pos > end and not loop.encloses(s.loop)]):
            continue  # a backward after the loop may use what it computed (`kl_loss += model(x)[1]`)
        model_call = train.first_model_call(sites)
        if model_call is None:
            continue
        key = sem.param_key(train.model_of(model_call), scope)
        if id(scope) not in trained:
            trained[id(scope)] = _training_loops_of(sem, train, scope)
        if any(key in keys and other.node.lineno < loop.node.lineno and not other.encloses(loop)
               and not loop.encloses(other) for other, keys in trained[id(scope)]):
            yield loop.node, scope, sites


def _follows_a_sibling_loop(sem: Semantic, loop: Loop) -> bool:
    """Whether a loop of the same function starts before `loop` with neither inside the
    other: what `_unmarked_evaluation_loops` asks of the training loop it looks for, asked of
    every loop first (a function with one loop nest, the usual shape, has none)."""
    start = loop.node.lineno
    return any(other.scope is loop.scope and other.node.lineno < start and not other.encloses(loop)
               and not loop.encloses(other) for other in sem.loops)


def _trained_just_before(sem: Semantic, train: Training, scope: Scope, key: str, site: CallSite) -> ast.AST | None:
    """The loop of `scope` that trains model `key` and ends before `site` (not around it: after
    it, or the batch loop ahead of it in the epoch loop around both), when no mode switch of
    `key` runs between them; else None. `site` calls the model or, from a caller, the
    evaluation helper that runs it (d2l's `evaluate_accuracy(test_iter, net)` after the batch
    loop of `train_ch5`)."""
    for loop, keys in reversed(_training_loops_of(sem, train, scope)):
        if key not in keys or loop.encloses(site.loop):
            continue
        if (loop.node.end_lineno or loop.node.lineno) >= site.line:
            continue
        return loop.node
    return None


def _training_loops_of(sem: Semantic, train: Training, scope: Scope) -> list[tuple[Loop, set[str]]]:
    """The loops of `scope` that train, each with the keys of the models they run."""
    found = []
    for loop in sem.loops:
        sites = [s for s in loop.calls if s.scope is scope]
        if loop.scope is scope and _trains_in(sem, train, sites):
            keys = {sem.param_key(train.model_of(s), scope) for s in sites if train.first_model_call([s]) is s}
            found.append((loop, {k for k in keys if k is not None}))
    return found


def _trains_in(sem: Semantic, train: Training, sites: list[CallSite]) -> bool:
    for site in sites:
        if train.is_backward(site) or train.optimizer_of_step(site) is not None:
            return True
        if site.method is None and any(kind in ("backward", "step") for kind, _, _ in sem.site_effects(site)):
            return True
    return False


def _discards_its_outputs(train: Training, block: ast.With | ast.AsyncWith, scope: Scope,
                          sites: list[CallSite]) -> bool:
    """Whether a no_grad block outside any loop runs the model only for nothing to read its
    output (`with torch.no_grad(): out = model(x)`, `out` never read again; `model(x)` as a
    statement): a pass that measures nothing, such as the forward that initialises lazy
    modules before training."""
    if any(loop.node.lineno <= block.lineno <= (loop.node.end_lineno or loop.node.lineno) for loop in scope.loops):
        return False
    if not _trained_after(train, block, scope):
        return False  # inference on a model that is never trained afterwards: it is the result
    results: set[str] = set()
    forwards = 0
    for site in sites:
        if train.first_model_call([site]) is None:
            continue
        forwards += 1
        stmt = site.stmt
        if not any(stmt is top for top in block.body) or getattr(stmt, "value", None) is not site.node:
            return False  # its output goes into something (a print, a metric, a loop's work)
        if type(stmt) is ast.Assign and all(type(target) is ast.Name for target in stmt.targets):
            results.update(target.id for target in stmt.targets)  # type: ignore[attr-defined]
        elif type(stmt) is not ast.Expr:
            return False
    if not forwards:
        return False
    # The scope's own code (a nested function's `out` is its own); reads inside the block
    # count too (`out = model(x)` then `model(out)`).
    body = getattr(scope.node, "body", None)
    pending: list[ast.AST] = list(body) if type(body) is list else []
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda):
            continue
        if kind is ast.Name and node.id in results and type(node.ctx) is ast.Load and (  # type: ignore[attr-defined]
                node.lineno >= block.lineno):  # type: ignore[attr-defined]
            return False
        pending.extend(ast.iter_child_nodes(node))
    return True


def _trained_after(train: Training, block: ast.With | ast.AsyncWith, scope: Scope) -> bool:
    """Whether training starts only after `block`: no backward() of `scope` comes before it,
    and one comes after it (in `scope`, or in a function that `scope` calls after it)."""
    start, end = block.lineno, block.end_lineno or block.lineno
    own = [site for site in train.backward_sites if site.scope is scope]
    if any(site.line < start for site in own):
        return False
    if any(site.line > end for site in own):
        return True
    training = {id(site.scope) for site in train.backward_sites}
    return any(site.line > end and any(id(function) in training for function in train.sem.resolve_function(site.node, scope))
               for site in scope.calls)


def _inside_training_loop(train: Training, scope: Scope, block: ast.AST) -> bool:
    """Whether a no_grad block is part of a training step: the innermost loop around it
    runs a backward pass itself (a target network, an EMA update, logging samples), as
    opposed to a validation pass placed after the batch loop inside the epoch loop."""
    innermost = None
    for loop in scope.loops:
        end = loop.node.end_lineno or loop.node.lineno
        if loop.node.lineno <= block.lineno <= end:  # type: ignore[attr-defined]
            if innermost is None or loop.node.lineno >= innermost.node.lineno:
                innermost = loop
    if innermost is None:
        return False
    return any(site.scope is scope and site.loop is innermost for site in train.backward_sites)


def _training_mode_at(
    ctx: Context, sem: Semantic, train: Training, scope: Scope, key: str, site: CallSite, context: ast.AST, depth: int
) -> Verdict | None:
    if depth and not key.startswith("#") and train.model_has_mode_layers(name_expr(key), scope, site.line) is False:
        return None  # the caller's model has no dropout or batch norm: its mode changes nothing
    state = mode_before(sem, scope, key, site)
    if state is not None:
        kind, switch = state
        if kind == "eval":
            return None
        if switch.pos < site.pos and not _trains_between(sem, train, scope, switch, site):
            # `model.train()` right before a no-grad forward, with no training in between,
            # is on purpose (re-estimating batch-norm statistics, Monte-Carlo dropout)...
            undone = _eval_undone(sem, train, scope, key, switch, site, context) if depth == 0 else None
            if undone is None:
                return None
            # ...unless it undoes the `model.eval()` this evaluation block was opened with
            return Verdict(t(
                "`{switch}()` at line {switch_line} undoes `{undone}()` at line {undone_line}",
                switch=ctx.text(switch.node.func),
                switch_line=switch.line,
                undone=ctx.text(undone.node.func),
                undone_line=undone.line,
            ), switch.node, [(undone.node, t("evaluation mode asked for here, then undone before the model runs"))],
                eval_fixes=False)
        return Verdict(t(
            "`{switch}()` at line {switch_line} left it in training mode",
            switch=ctx.text(switch.node.func),
            switch_line=switch.line,
        ), switch.node)
    trained = _trained_just_before(sem, train, scope, key, site)
    if trained is not None:
        # udacity's `_get_loss_acc(model, ...)`: the model was just trained here, and nothing
        # in between switched it: it is in training mode, whatever the caller did before
        return Verdict(t(
            "it was trained by the loop at line {trained_lineno} and nothing switched it since",
            trained_lineno=trained.lineno,
        ), trained)
    if scope.is_function:
        callers = sem.callers(scope)
        if callers and depth < MAX_CALLER_DEPTH:
            for caller in callers:
                mapped = sem.caller_key(scope, key, caller)
                if mapped is None:
                    continue
                verdict = _training_mode_at(ctx, sem, train, caller.scope, mapped, caller, context, depth + 1)
                if verdict is not None:
                    return Verdict(
                        t(
                            "`{caller}()` is called at line {caller_line} while the model is in training mode",
                            caller=ctx.text(caller.node.func),
                            caller_line=caller.line,
                        ),
                        caller.node,
                        [(verdict.node, verdict.reason), *verdict.more],
                        verdict.eval_fixes,
                    )
            return None
        foreign = sem.foreign_callers(scope) if not callers and depth < MAX_CALLER_DEPTH else []
        if foreign:
            return _mode_left_by_other_modules(ctx, sem, scope, key, foreign, context, depth)
        if callers or not (is_eval_role_name(scope.name) or scope.grad_disabled):
            return None
        if key.startswith("#"):
            return Verdict(t("`{scope_name}()` never switches its model to eval mode", scope_name=scope.name), scope.node)
        switch = _class_only_switches_to_train(sem, scope, key)
        if switch is not None:
            return Verdict(t("`{scope_name}()` never switches its model to eval mode", scope_name=scope.name), scope.node,
                           [(switch.node, t("`{switch}()` at line {switch_line} left it in training mode",
                                             switch=ctx.text(switch.node.func), switch_line=switch.line))])
        handed = _handed_in_and_never_switched(sem, scope, key)
        if handed is not None:
            return Verdict(t("`{scope_name}()` never switches its model to eval mode", scope_name=scope.name), scope.node,
                           [(handed, t("the model is handed in here, by a caller not visible here, and no method of "
                                       "the class switches its mode"))])
        return None
    # At depth 0 `site` calls the model; further up it calls the helper that receives it.
    model = site.node.func if depth == 0 or key.startswith("#") else name_expr(key)
    made = train.constructor_name(model, scope, site.line)
    if made is None or not (sem.is_module_class(made) or is_module_constructor(made)):
        return None
    origin = sem.origin(model, scope, site.line, through_shape_ops=False)
    if not origin.hops:
        return None
    return Verdict(t("a new model is in training mode and nothing switched it (created at line {line})", line=origin.hops[-1].line),
                   origin.hops[-1].stmt)


def _mode_left_by_other_modules(ctx: Context, sem: Semantic, scope: Scope, key: str, callers: list[CallSite],
                                context: ast.AST, depth: int) -> Verdict | None:
    """For a helper only the project's other modules call (`evaluate(model, loader)` in
    utils.py, called from main.py): the first of those calls that runs it while the model
    is in training mode, said with the caller's file and line; None when every caller
    switched it to eval mode first, or what a caller does cannot be read."""
    for caller in callers:
        owner = caller.scope.owner
        there = ctx.of_module(owner) if owner is not None else None
        mapped = owner.caller_key(scope, key, caller) if owner is not None else None
        if there is None or owner is None or mapped is None:
            continue
        verdict = _training_mode_at(there, owner, training(owner), caller.scope, mapped, caller, context, depth + 1)
        if verdict is not None:
            return Verdict(t(
                "`{caller}()` is called in {file} at line {caller_line} while the model is in training mode "
                "(there, {reason})",
                caller=there.text(caller.node.func),
                file=Path(there.source.path).name,
                caller_line=caller.line,
                reason=verdict.reason,
            ), scope.node, [], verdict.eval_fixes)
    return None


def _class_only_switches_to_train(sem: Semantic, scope: Scope, key: str) -> CallSite | None:
    """For a trainer's evaluation method on `self.<model>` that nothing of the file calls: the
    train() switch of that model in a method of the class (not a module) when no method
    switches it to eval(), directly or through a helper. Whoever calls the evaluation finds
    the model in the training mode the class leaves it in."""
    cls = scope.cls or sem.enclosing_class(scope)
    if not key.startswith("self.") or cls is None or sem.is_module_class(cls.name):
        return None
    events = [event for method in cls.methods.values() for event in mode_events(sem, method.calls, key, method)]
    if not events or any(kind != "train" for kind, _, _ in events):
        return None
    return events[0][1]


def _handed_in_and_never_switched(sem: Semantic, scope: Scope, key: str) -> ast.AST | None:
    """For the evaluation method of a class that is not a module (a predictor, an
    evaluator) running `self.<model>`: the `self.<model> = model` of its `__init__` when the
    model is a constructor argument that no method of the class switches to any mode, and
    nothing visible builds the class. Like an evaluation function whose model parameter no
    visible caller fills, it runs whatever mode the caller left: a trained model is in
    training mode. (A caller that switches it first is visible whenever it is in the
    project: then the class is built somewhere, and this stays silent.)"""
    cls = scope.cls or sem.enclosing_class(scope)
    if cls is None or sem.is_module_class(cls.name) or key.count(".") != 1 or not key.startswith("self."):
        return None
    init = cls.methods.get("__init__")
    bindings = cls.attrs.get(key[5:], [])
    if init is None or len(bindings) != 1 or bindings[0].scope is not init:
        return None
    value = bindings[0].value
    param = sem.lookup(value.id, init, bindings[0].line) if type(value) is ast.Name else None
    if param is None or param.kind != "param" or param.scope is not init:
        return None
    param_key = sem.param_key(value, init)
    for method in cls.methods.values():
        for kind, event_key, _site in (e for site in method.calls for e in sem.site_effects(site)):
            if kind in MODE_KINDS and (event_key in (key, param_key) or key.startswith(event_key + ".")):
                return None
    if sem.foreign_callers(init) or any(sem.call_name(site.node) == cls.name for site in sem.calls) \
            or any(cls.name in other.bases for other in sem.classes.values()):
        return None  # built (or subclassed) where the caller's mode switches may be seen
    return bindings[0].stmt


def _eval_undone(sem: Semantic, train: Training, scope: Scope, key: str, switch: CallSite, site: CallSite,
                 context: ast.AST) -> CallSite | None:
    """The `model.eval()` that `switch`, a `model.train()` inside the evaluation block
    `context`, undoes before the model runs there: the last mode switch before the block is
    that eval(), and nothing trains from it to the model call (MultiBench's validation loop,
    `model.eval()`, then `model.train()` copied from the training loop before each forward).
    None when the block is not opened in eval mode, or when the forward's output is thrown
    away (`model(x)` as a statement: re-estimating batch-norm statistics)."""
    if not isinstance(context, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
        return None
    start = (context.lineno, context.col_offset)
    if not start < switch.pos or switch.line > (context.end_lineno or context.lineno):
        return None
    if type(site.stmt) is ast.Expr:
        return None
    before = [e for e in mode_events(sem, scope.calls, key, scope) if e[1].pos < start]
    if not before or before[-1][0] != "eval":
        return None
    opened = before[-1][1]
    if opened.exclusive_with(switch) or _trains_between(sem, train, scope, opened, site):
        return None
    return opened


def _trains_between(sem: Semantic, train: Training, scope: Scope, first: CallSite, last: CallSite) -> bool:
    """Whether a backward pass or an optimizer step runs between two calls of `scope`
    (including inside `first` itself when it is a helper, like `train_one_epoch(model)`)."""
    return _trains_in(sem, train, [
        site for site in scope.calls
        if first.pos < site.pos < last.pos or (site is first and first.method is None)
    ])
