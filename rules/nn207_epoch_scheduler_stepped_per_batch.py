"""NN207 epoch-scheduler-stepped-per-batch."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Related, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, Semantic, argument, constant_value, dotted
from nnlint.training import Training, training
from nnlint.values import values
from nnlint.message import t
from nnlint.calls import call_index
from nnlint.project import reads_other_modules

# Schedulers whose size counts `step()` calls, with the argument that sets it.
_SIZED = {"StepLR": (1, "step_size"), "MultiStepLR": (1, "milestones"), "CosineAnnealingLR": (1, "T_max")}
_WORDS_OF_STEPS = ("step", "iter", "batch", "update")


@register
class EpochSchedulerSteppedPerBatch(Rule):
    """
    ## What it does
    Flags `scheduler.step()` called once per batch on a scheduler sized in epochs:
    `StepLR(step_size=...)`, `MultiStepLR(milestones=...)` or
    `CosineAnnealingLR(T_max=...)` given a number of epochs, and `ExponentialLR`
    with a per-epoch decay (`gamma` of 0.99 or less).

    ## Why is this bad?
    These schedulers count `step()` calls, not epochs. Sized for 100 epochs and
    stepped after every batch, the whole schedule runs out in the first epoch or
    two: the cosine reaches its minimum (and climbs back), the step decays come
    all at once and the learning rate is near zero for the rest of training. The
    loss plateaus early and nothing says why.

    A size is in epochs when it is the bound of the epoch loop around the batch
    loop, or an expression of an epochs setting (`args.epochs`, `num_epochs - 5`,
    `[int(0.5 * epochs)]`). Schedulers meant to be stepped per batch (`OneCycleLR`,
    `CyclicLR`, warmup and `LambdaLR` schedules), sizes counted in steps
    (`T_max=epochs * len(loader)`), literal sizes whose unit cannot be told, a
    `step(epoch)` with an argument and a step under an `if` inside the batch loop
    are not reported. A loop is a batch loop when it iterates a `DataLoader` or
    runs inside the epoch loop.

    ## Example
    ```python
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    for epoch in range(args.epochs):
        for x, y in loader:
            ...
            optimizer.step()
            scheduler.step()
    ```

    ## Use instead
    ```python
    scheduler = CosineAnnealingLR(optimizer, T_max=args.epochs)
    for epoch in range(args.epochs):
        for x, y in loader:
            ...
            optimizer.step()
        scheduler.step()
    ```
    or size it in steps: `CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))`.

    ## Fix
    None: moving the call and resizing the schedule are both valid, and only you
    know which one you meant.
    """

    code = "NN207"
    name = "epoch-scheduler-stepped-per-batch"
    severity = Severity.WARNING
    summary = "A scheduler sized in epochs is stepped every batch and spends its schedule in the first epoch"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        if not _may_build_scheduler(ctx):
            return
        train = training(sem)
        loop_ids: tuple[set[int], set[int]] | None = None
        for site in call_index(sem).methods(("step",)):
            if site.node.args or site.node.keywords or dotted(site.receiver) is None:
                continue
            made = train.made_by(site.receiver, site.scope, site.line)  # type: ignore[arg-type]
            if made is None or not made[0].startswith("torch.optim.lr_scheduler."):
                continue
            kind = made[0].rsplit(".", 1)[-1]
            ctor = made[1]
            loop_ids = loop_ids or _training_loop_ids(train)
            per_batch = _batch_loop(train, site, 0, loop_ids)
            if per_batch is None:
                continue
            loop, via = per_batch
            if _iterates_epochs(loop):
                continue  # stepped once per epoch
            owner = values(sem)._foreign.get(id(ctor), sem)  # the module the scheduler is built in
            ctor_site = owner.site_of(ctor)
            if ctor_site is None:
                continue
            sized = _epoch_size(training(owner), kind, ctor, ctor_site.scope, loop if owner is sem else None)
            if sized is None:
                continue
            size, by_epoch_loop = sized
            if not (by_epoch_loop or train.loop_loader(loop) is not None
                    or loop.parent is not None and _iterates_epochs(loop.parent)):
                continue  # not proven to be a loop over batches
            yield self._finding(ctx, site, kind, ctor, loop, via, size, None if owner is sem else owner)

    def _finding(self, ctx: Context, site: CallSite, kind: str, ctor: ast.Call, loop: Loop,
                 via: CallSite | None, size: str, elsewhere: Semantic | None) -> Finding:
        receiver = ctx.text(site.receiver)  # type: ignore[arg-type]
        where = t("the batch loop on line {loop_line}", loop_line=loop.line)
        if via is not None:
            where += t(" (through `{via}()`, line {via_line})", via=ctx.text(via.node.func), via_line=via.line)
        built = t("sized in epochs ({size}", size=size)
        if elsewhere is not None:
            built += t(
                ", in {module_name} line {ctor_lineno}",
                module_name=getattr(elsewhere.path, 'name', 'another module'),
                ctor_lineno=ctor.lineno,
            )
        message = (
            t(
                "`{receiver}.step()` runs once per batch in {where}, but `{kind}` was {built}): the whole "
                "schedule is spent in the first epoch(s); step it once per epoch, after the batch loop, or "
                "size it in steps",
                receiver=receiver,
                where=where,
                kind=kind,
                built=built,
            )
        )
        related: list[Related] = []
        if elsewhere is None:
            related.append(ctx.related(ctor, t("`{kind}` sized in epochs here", kind=kind)))
        related.append(Related(ctx.head_span(loop.node), t("the batch loop: one scheduler step per batch")))
        if via is not None:
            related.append(ctx.related(via.node, t("calls the step once per batch")))
        return ctx.finding(self, site.node, message, related)


def _batch_loop(train: Training, site: CallSite, depth: int,
                loop_ids: tuple[set[int], set[int]]) -> tuple[Loop, CallSite | None] | None:
    """The batch loop that runs `site` once per iteration, directly (not under an `if`
    inside it), or through a helper that every caller calls from such a loop. `loop_ids`:
    `_training_loop_ids(train)`."""
    loops, around = loop_ids
    for loop in reversed(site.loops):
        if id(loop) not in loops:
            continue
        if not _unconditional_in(site, loop) or id(loop) in around:
            return None  # a conditional step, or a loop around the batch loop (epochs, phases)
        return (loop, None)
    if site.loops or not site.scope.is_function or depth > 1:
        return None
    if any(arm not in ("try",) for _, arm in site.branches):
        return None  # a conditional step inside the helper
    callers = train.sem.callers(site.scope)
    found = None
    for caller in callers:
        outer = _batch_loop(train, caller, depth + 1, loop_ids)
        if outer is None:
            return None
        found = found or (outer[0], caller)
    return found


def _training_loop_ids(train: Training) -> tuple[set[int], set[int]]:
    """The training loops, and the loops around a training loop (an outer loop of epochs or
    phases), by id."""
    training_loops = train.training_loops()
    loops = set(map(id, training_loops))
    around: set[int] = set()
    for inner in training_loops:
        outer = inner.parent
        while outer is not None:
            around.add(id(outer))
            outer = outer.parent
    return loops, around


def _unconditional_in(site: CallSite, loop: Loop) -> bool:
    """Whether `site` runs on every iteration of `loop`: no `if`, `except` or inner loop
    between them (a `try` body or a `with` block is fine)."""
    keys = [key for key, _ in site.branches]
    if id(loop.node) not in keys:
        return False
    return all(arm == "try" for _, arm in site.branches[keys.index(id(loop.node)) + 1:])


def _iterates_epochs(loop: Loop) -> bool:
    node = loop.node
    if type(node) not in (ast.For, ast.AsyncFor):
        return False
    target = node.target  # type: ignore[union-attr]
    names = [n.id for n in ast.walk(target) if type(n) is ast.Name]
    return any("epoch" in name.lower() for name in names)


def _epoch_size(train: Training, kind: str, ctor: ast.Call, scope: Scope,
                loop: Loop | None) -> tuple[str, bool] | None:
    """How the scheduler's size is given in epochs (text for the message, and whether it is
    the bound of the loop around `loop`), else None. `train` is the analysis of the module
    that builds it; `loop` the batch loop, when the scheduler is built in the same module."""
    if kind == "ExponentialLR":
        gamma = constant_value(argument(ctor, 1, "gamma"))
        if isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and 0 < gamma <= 0.99:
            return (t("`gamma={gamma}` per epoch", gamma=gamma), False)
        return None
    spec = _SIZED.get(kind)
    if spec is None:
        return None
    size = argument(ctor, *spec)
    if size is None:
        return None
    text = f"`{spec[1]}={ast.unparse(size)}`"
    verdict = _unit(train, size, scope, ctor.lineno, 0)
    if verdict == "steps":
        return None
    if loop is not None and loop.parent is not None and _same_as_loop_bound(train, size, scope, ctor.lineno, loop):
        return (t("{text}, from the bound of the epoch loop on line {parent_line}", text=text, parent_line=loop.parent.line), True)
    return (text, False) if verdict == "epochs" else None


def _unit(train: Training, expr: ast.expr, scope: Scope, line: int, depth: int) -> str | None:
    """"epochs" when `expr` is an epoch count, "steps" when it is counted in steps (a product
    with a per-epoch count, `len(loader)`, names of steps), None when it cannot be told."""
    if depth > 3:
        return None
    found = train.sem.origin(expr, scope, line, through_shape_ops=False)
    names = [b.name for b in found.hops] + _names(found.expr)
    lowered = [name.lower() for name in names]
    if any(word in name for name in lowered for word in _WORDS_OF_STEPS):
        return "steps"
    value = found.expr
    for node in ast.walk(value):
        if type(node) is ast.Call and (train.sem.call_name(node) or "") == "len":
            return "steps"
        if type(node) is ast.BinOp and type(node.op) is ast.Mult:
            if not (_constant(node.left) or _constant(node.right)):
                return "steps"  # epochs * iters_per_epoch
    if any("epoch" in name for name in lowered):
        return "epochs"
    inner = [n for n in ast.walk(value) if type(n) in (ast.Name, ast.Attribute) and n is not value]
    where = found.scope
    at = found.hops[-1].line if found.hops else line
    verdicts = {_unit(train, n, where, at, depth + 1) for n in inner if type(n) is ast.Name}
    if "steps" in verdicts:
        return "steps"
    return "epochs" if "epochs" in verdicts else None


def _names(expr: ast.expr) -> list[str]:
    return [n.id if type(n) is ast.Name else n.attr for n in ast.walk(expr) if type(n) in (ast.Name, ast.Attribute)]


def _constant(expr: ast.expr) -> bool:
    return isinstance(constant_value(expr), (int, float))


def _same_as_loop_bound(train: Training, size: ast.expr, scope: Scope, line: int, loop: Loop) -> bool:
    """`T_max=n`, `step_size=n // 3` or `milestones=[int(0.5 * n)]` with `for epoch in
    range(n):` around the batch loop: the size is made of the epoch loop's bound."""
    outer = loop.parent
    if outer is None or type(outer.node) not in (ast.For, ast.AsyncFor):
        return False
    iterable = outer.node.iter  # type: ignore[union-attr]
    if type(iterable) is not ast.Call or train.sem.call_name(iterable) != "range" or not iterable.args:
        return False
    bound = iterable.args[-1] if len(iterable.args) < 3 else iterable.args[1]
    if dotted(bound) is None:
        return False
    theirs = train.sem.origin(bound, outer.scope, outer.line, through_shape_ops=False)
    parts = [size] if dotted(size) is not None else [n for n in ast.walk(size) if type(n) in (ast.Name, ast.Attribute)]
    for part in parts:
        if dotted(part) is None:
            continue
        mine = train.sem.origin(part, scope, line, through_shape_ops=False)
        if mine.hops and theirs.hops and mine.hops[-1] is theirs.hops[-1]:
            return True
        if dotted(mine.expr) is not None and dotted(mine.expr) == dotted(theirs.expr):
            return True
    return False


def _may_build_scheduler(ctx: Context) -> bool:
    """Whether a `torch.optim.lr_scheduler` class may be what some `.step()` steps. Without
    other modules (none given, or none this module can read, `reads_other_modules`) every
    constructor name the rule reads is a callee of this file resolved through its imports,
    and `torch.optim.lr_scheduler.X` is then spelled with the word `lr_scheduler` in the text
    (the import, or the dotted call). Identifiers outside ASCII are NFKC-normalised by the
    parser, so such a text is not read word for word: the rule runs."""
    if reads_other_modules(ctx.semantic):
        return True
    text = ctx.source.text
    return "lr_scheduler" in text or not text.isascii()

