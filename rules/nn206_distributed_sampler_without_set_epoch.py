"""NN206 distributed-sampler-without-set-epoch."""

from __future__ import annotations

import ast
from typing import Iterator, NamedTuple

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Related, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Loop, Scope, Semantic, argument, constant_value, dotted, keyword
from nnlint.training import Training, training
from nnlint.message import t
from nnlint.calls import call_index


@register
class DistributedSamplerWithoutSetEpoch(Rule):
    """
    ## What it does
    Flags a shuffling `DistributedSampler` that feeds a training loop (a loop that
    runs `backward()`) when nothing calls `set_epoch(epoch)` on it, neither
    directly nor through `loader.sampler`.

    ## Why is this bad?
    `DistributedSampler` shuffles with a generator seeded by `seed + epoch`, and the
    epoch only changes when you call `sampler.set_epoch(epoch)`. Without it, every
    epoch replays exactly the same order on every process: the model sees the
    batches in the same sequence each time, which hurts generalisation in a way no
    log shows.

    Samplers built with `shuffle=False` (validation), samplers that only feed an
    evaluation loop, a training loop that is not visibly run once per epoch (a
    one-pass script), loaders prepared by `accelerator.prepare(...)` (accelerate
    sets the epoch itself) and Lightning (which does too) are not reported. Any
    `set_epoch` call this file cannot tell apart (on `loader.sampler`, in a helper,
    on an object of unknown kind) silences the rule.

    ## Example
    ```python
    sampler = DistributedSampler(train_set)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        for x, y in loader:
            ...
    ```

    ## Use instead
    ```python
    sampler = DistributedSampler(train_set)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        for x, y in loader:
            ...
    ```

    ## Fix
    Inserts `sampler.set_epoch(epoch)` as the first statement of the epoch loop
    around the training loop, when the sampler is kept in a name that is never
    `None` and the epoch loop counts epochs in a plain variable.
    """

    code = "NN206"
    name = "distributed-sampler-without-set-epoch"
    severity = Severity.WARNING
    summary = "A shuffling DistributedSampler whose set_epoch() is never called replays the same order every epoch"
    fix_title = "Call sampler.set_epoch(epoch) at the start of each epoch"
    # One `set_epoch` call on a sampler the file cannot tell apart silences the rule for
    # every sampler of the module (`_set_epoch_targets`).
    module_wide_words = frozenset({"set_epoch"})

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        train = training(sem)
        samplers = _samplers_fed_to_training(sem, train)
        if not samplers:
            return
        covered, anything = _set_epoch_targets(sem)
        if anything:
            return
        for key, fed in samplers.items():
            if key not in covered:
                yield self._finding(ctx, fed)

    def _finding(self, ctx: Context, fed: _Fed) -> Finding:
        ctor = fed.sampler
        name = ctx.text(ctor.func)
        kept = _advice(ctx.semantic, fed)
        message = (
            t(
                "`{name}(...)` shuffles the training data, but nothing calls `set_epoch(epoch)` on it: every "
                "epoch replays the same order on every process; call `{kept}.set_epoch(epoch)` at the start of "
                "each epoch",
                name=name,
                kept=kept,
            )
        )
        related: list[Related] = [ctx.related(fed.loader, t("the DataLoader it feeds"))]
        if fed.loop is not None:
            related.append(Related(ctx.head_span(fed.loop.node), t("the training loop over that DataLoader")))
        if fed.via is not None:
            related.append(ctx.related(fed.via.node, t("trains over that DataLoader")))
        if fed.epoch_loop is not None:
            related.append(Related(ctx.head_span(fed.epoch_loop.node), t("the epoch loop, which never sets the epoch")))
        return ctx.finding(self, ctor, message, related, self._fix(ctx, ctor, fed.epoch_loop))

    def _fix(self, ctx: Context, ctor: ast.Call, epoch_loop: Loop | None) -> Fix | None:
        """`sampler.set_epoch(epoch)` first in the epoch loop: only when the sampler is the
        whole value of the only binding of a name the epoch loop sees (never `None`) and the
        epoch loop's target is a plain name."""
        sem = ctx.semantic
        if epoch_loop is None or type(epoch_loop.node) is not ast.For or type(epoch_loop.node.target) is not ast.Name:
            return None
        site = sem.site_of(ctor)
        if site is None or type(site.stmt) is not ast.Assign or site.stmt.value is not ctor:
            return None
        targets = site.stmt.targets
        name = dotted(targets[0]) if len(targets) == 1 else None
        if name is None:
            return None
        if "." not in name:
            bindings = site.scope.bindings.get(name, [])
            if epoch_loop.scope is not site.scope or site.line > epoch_loop.line:
                return None
        elif name.startswith("self.") and name.count(".") == 1:
            cls = sem.enclosing_class(site.scope)
            if cls is None or sem.enclosing_class(epoch_loop.scope) is not cls:
                return None
            bindings = cls.attrs.get(name[5:], [])
        else:
            return None
        if any(b.stmt is not site.stmt for b in bindings):
            return None  # bound more than once (maybe to None)
        epoch = epoch_loop.node.target.id
        edit = ctx.insert_at_block_start(epoch_loop.node.body, f"{name}.set_epoch({epoch})")
        if edit is None:
            return None
        return Fix(t("Call {name}.set_epoch({epoch}) at the start of each epoch", name=name, epoch=epoch), (edit,))


_SAMPLER_NAMES = ("torch.utils.data.DistributedSampler", "torch.utils.data.distributed.DistributedSampler")


class _Fed(NamedTuple):
    """A sampler feeding a training loop: the DataLoader between them, the training loop
    and the epoch loop around it (when written in this file), the helper call in between."""

    sampler: ast.Call
    loader: ast.Call
    loop: Loop | None
    epoch_loop: Loop | None
    via: CallSite | None


def _samplers_fed_to_training(sem: Semantic, train: Training) -> dict[int, _Fed]:
    """Shuffling DistributedSampler constructions of this file that feed the DataLoader a
    training loop iterates (not through accelerate's `prepare`), here or in a helper the
    loader is passed to: id -> how."""
    found: dict[int, _Fed] = {}
    if not call_index(sem).named(_SAMPLER_NAMES):
        return found
    for loop in train.training_loops():
        loader = train.loop_loader(loop)
        epoch_loop = loop.parent or _loop_around_callers(sem, loop.scope)
        if loader is not None and epoch_loop is not None and not _prepared(sem, loop):
            for sampler in _shuffling_samplers(sem, loader):
                found.setdefault(id(sampler), _Fed(sampler, loader, loop, epoch_loop, None))
    for site in sem.calls:
        for function in sem.resolve_function(site.node, site.scope):
            offset = 1 if function.params[:1] == ["self"] else 0
            for index, param in enumerate(function.params[offset:], start=offset):
                value = argument(site.node, index - offset, param)
                if value is None or dotted(value) is None:
                    continue
                made = train.made_by(value, site.scope, site.line)
                if made is None or made[0].rsplit(".", 1)[-1] != "DataLoader" or _prepared_value(sem, value, site):
                    continue
                epoch_loop = site.loop or _loop_around_callers(sem, site.scope)
                if epoch_loop is None or train.training_loop_over(function, index) is None:
                    continue
                for sampler in _shuffling_samplers(sem, made[1]):
                    found.setdefault(id(sampler), _Fed(sampler, made[1], None, epoch_loop, site))
    return found


def _loop_around_callers(sem: Semantic, function: Scope) -> Loop | None:
    """The loop that runs `function` again and again (`for epoch in ...: self._run_epoch(epoch)`):
    the innermost loop around its first caller in this file, when every caller is in one."""
    callers = sem.callers(function) if function.is_function else []
    if not callers or any(caller.loop is None for caller in callers):
        return None
    return callers[0].loop


def _shuffling_samplers(sem: Semantic, loader: ast.Call) -> list[ast.Call]:
    """The shuffling DistributedSampler constructions of this file a DataLoader is given."""
    sampler = keyword(loader, "sampler")
    owner_site = sem.site_of(loader)
    if sampler is None or owner_site is None:
        return []  # no sampler, or a loader built in another module
    return [call for call in _sampler_constructions(sem, sampler, owner_site.scope, loader.lineno)
            if _shuffles(call) and sem.site_of(call) is not None]


def _sampler_constructions(sem: Semantic, expr: ast.expr, scope: Scope, line: int) -> list[ast.Call]:
    """The DistributedSampler calls `expr` may hold: `DistributedSampler(ds)`, a name bound
    to one, or `DistributedSampler(ds) if distributed else None`."""
    value = sem.origin(expr, scope, line, through_shape_ops=False).expr
    options = [value.body, value.orelse] if type(value) is ast.IfExp else [value]
    if type(expr) is ast.Name and type(value) is ast.Constant:
        # `if distributed: sampler = DistributedSampler(ds) / else: sampler = None`: the
        # binding that reaches the use depends on the branch; any earlier one may
        options = [b.value for b in scope.bindings.get(expr.id, []) if b.value is not None and b.line <= line]
    return [o for o in options if type(o) is ast.Call and sem.call_name(o) in _SAMPLER_NAMES]


def _shuffles(call: ast.Call) -> bool:
    """`shuffle` defaults to True; a value other than a literal (`shuffle=is_train`) may be
    False, so only a missing or literally true one counts."""
    shuffle = argument(call, 3, "shuffle")
    if any(k.arg is None for k in call.keywords) or any(type(a) is ast.Starred for a in call.args):
        return False
    return shuffle is None or constant_value(shuffle) is True


def _prepared(sem: Semantic, loop: Loop) -> bool:
    """Whether the loop iterates a loader that went through `accelerator.prepare(...)` (or a
    Fabric `setup_dataloaders`), which set the epoch themselves."""
    iterable = getattr(loop.node, "iter", None)
    while type(iterable) is ast.Call and iterable.args and type(iterable.func) is ast.Name:
        iterable = iterable.args[0]  # enumerate(...), tqdm(...)
    return iterable is not None and _prepared_value(sem, iterable, loop)


def _prepared_value(sem: Semantic, value: ast.expr, where: "Loop | CallSite") -> bool:
    if type(value) is ast.Call and type(value.func) is ast.Attribute and value.func.attr in _PREPARE:
        return True
    found = sem.origin(value, where.scope, where.line, through_shape_ops=False)
    for hop in found.hops:
        made = getattr(hop.stmt, "value", None)
        if type(made) is ast.Call and type(made.func) is ast.Attribute and made.func.attr in _PREPARE:
            return True
    return False


_PREPARE = frozenset({"prepare", "prepare_data_loader", "setup_dataloaders"})


def _set_epoch_targets(sem: Semantic) -> tuple[set[int], bool]:
    """The sampler constructions some `set_epoch(...)` call is proven to target, and whether
    a call may target any sampler: `set_epoch` on something this file cannot tell
    (`loader.sampler`, a parameter), a helper (here or imported) that calls `set_epoch`, or a
    sampler handed to a function other than `DataLoader` (which may set its epoch)."""
    covered: set[int] = set()
    for site in sem.calls:
        if site.method == "set_epoch" and site.receiver is not None:
            calls = _sampler_constructions(sem, site.receiver, site.scope, site.line) if dotted(site.receiver) else []
            if not calls:
                return covered, True
            covered.update(id(c) for c in calls)
            continue
        if any(_sets_epoch(function, 0) for function in sem.resolve_function(site.node, site.scope)):
            return covered, True
        if (sem.call_name(site.node) or "").rsplit(".", 1)[-1] != "DataLoader":
            for value in [*site.node.args, *(k.value for k in site.node.keywords)]:
                if dotted(value) is not None:
                    covered.update(id(c) for c in _sampler_constructions(sem, value, site.scope, site.line))
    return covered, False


def _sets_epoch(function: Scope, depth: int) -> bool:
    """Whether running `function` calls `set_epoch` (itself or in the helpers it calls)."""
    owner = function.owner
    for site in function.calls:
        if site.method == "set_epoch":
            return True
        if depth < 2 and owner is not None and any(
                _sets_epoch(inner, depth + 1) for inner in owner.resolve_function(site.node, site.scope)
                if inner is not function):
            return True
    return False


def _kept_in(sem: Semantic, ctor: ast.Call) -> str | None:
    """The name a call's result is assigned to (`sampler = DistributedSampler(ds)`), if any."""
    site = sem.site_of(ctor)
    if site is None or type(site.stmt) is not ast.Assign or len(site.stmt.targets) != 1:
        return None
    value = site.stmt.value
    if value is not ctor and not (type(value) is ast.IfExp and ctor in (value.body, value.orelse)):
        return None
    return dotted(site.stmt.targets[0])


def _advice(sem: Semantic, fed: _Fed) -> str:
    """What to call `set_epoch` on, as the epoch loop sees it: the sampler's name when it is
    kept in that function (or on `self`), else `<loader>.sampler`."""
    where = fed.epoch_loop.scope if fed.epoch_loop is not None else None
    for call in (fed.sampler, fed.loader):
        name = _kept_in(sem, call)
        site = sem.site_of(call)
        if name is not None and site is not None and (site.scope is where or name.startswith("self.")):
            return name if call is fed.sampler else f"{name}.sampler"
    if fed.loop is not None:
        iterable = getattr(fed.loop.node, "iter", None)
        while type(iterable) is ast.Call and iterable.args and type(iterable.func) is ast.Name:
            iterable = iterable.args[0]
        if iterable is not None and dotted(iterable) is not None:
            return f"{dotted(iterable)}.sampler"
        if type(iterable) is ast.Subscript and dotted(iterable.value) is not None:
            return f"{ast.unparse(iterable)}.sampler"  # `self.data_loader['train'].sampler`
    return "loader.sampler"
