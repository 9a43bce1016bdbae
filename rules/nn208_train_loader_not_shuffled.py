"""NN208 train-loader-not-shuffled."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Loop, Scope, Semantic, argument, constant_value, subtree
from nnlint.training import training
from nnlint.values import Values, values
from nnlint.message import t, t_docs

# Map-style datasets of torch and torchvision: indexable, with a length; a DataLoader reads
# them in index order unless told to shuffle.
_MAP_STYLE = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})
_VISION_DATASETS = ("torchvision.datasets.",)
_DATASET_BASES = ("torch.utils.data.Dataset", "torch.utils.data.dataset.Dataset")
_ITERABLE_BASES = ("IterableDataset", "IterDataPipe")
# Words in a dataset class that mean it orders (or shuffles) its samples itself.
_OWN_ORDER = ("shuffle", "randperm", "permutation", "random.sample", "sampler")
# Samplers that read a dataset by index: one built over a dataset proves it map-style.
_INDEX_SAMPLERS = frozenset({"torch.utils.data.DistributedSampler", "torch.utils.data.distributed.DistributedSampler"})


@register
class TrainLoaderNotShuffled(Rule):
    """
    ## What it does
    Reports, as information, the `DataLoader` that feeds a training loop (a loop
    that runs `backward()`, directly or in a helper) when it has no
    `shuffle=True`, no `sampler` and no `batch_sampler`, over a map-style dataset
    (`TensorDataset`, a torchvision dataset, or a `Dataset` subclass of the
    project). Also reported: a `sampler` that is `None` on one path
    (`DistributedSampler(ds) if distributed else None`) next to `shuffle=False`
    or no `shuffle` at all, since single-process training then reads the data in
    order (the `DistributedSampler` built over the dataset proves it map-style).

    ## Why is this bad?
    Without shuffling, every epoch sees the samples in the same order and the
    same batches. Datasets are often stored sorted (by class, by date, by
    source): the model then sees one class for hundreds of steps, then the next,
    and forgets the first; batch statistics are skewed; the loss curve repeats
    the same pattern every epoch. Training still "works", just worse. PyTorch's
    default is `shuffle=False`, so forgetting it is silent.

    Not reported: loaders with a sampler or batch sampler (`DistributedSampler`,
    a weighted sampler) on every path, `shuffle=(sampler is None)`, iterable
    datasets, validation and test loaders (no `backward()` in their loop), a
    batch taken with `next(iter(loader))` (an overfit check),
    truncated-backpropagation or stateful-RNN training, whose loop carries a
    hidden state from one batch to the next and needs the order, and datasets
    whose kind cannot be told or that order their samples themselves.

    ## Example
    ```python
    train_loader = DataLoader(train_set, batch_size=64)
    for epoch in range(epochs):
        for x, y in train_loader:
            ...
            loss.backward()
    ```

    ## Use instead
    ```python
    train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
    ```

    ## Fix
    Adds `shuffle=True` (or turns `shuffle=False` into `shuffle=True`). When the
    sampler is a name that may be `None`, passes `shuffle=sampler is None`
    instead (`shuffle=True` next to a sampler raises an error).
    """

    code = "NN208"
    name = "train-loader-not-shuffled"
    severity = Severity.INFORMATION
    summary = "The DataLoader feeding the training loop does not shuffle: every epoch sees the same order"
    fix_title = "Pass shuffle=True"

    def check(self, ctx: Context) -> Iterator[Finding]:
        if "DataLoader" not in ctx.source.text:
            return
        sem = ctx.semantic
        vals = values(sem)
        reported: set[int] = set()
        train = training(sem)
        for loop in train.training_loops():
            # the shared lookup: through wrappers, names, helpers' returns (also in a tuple:
            # `train_loader, val_set = prepare(cfg)`), parameters and dict literals
            loader = train.loop_loader(loop)
            if loader is None or id(loader) in reported or sem.site_of(loader) is None or _carries_state(loop):
                continue
            none_sampler = _sampler_maybe_none(sem, loader)
            if not _unshuffled(loader, none_sampler is not None):
                continue
            if not _map_style(vals, loader) and not (
                    none_sampler and _indexes(sem, none_sampler, loader) and not _orders_per_epoch(vals, loader)):
                continue
            reported.add(id(loader))
            dataset = ctx.text(argument(loader, 0, "dataset"))  # type: ignore[arg-type]
            related = [ctx.related(loop.node.iter, t("the training loop reads it here"))]  # type: ignore[union-attr]
            if none_sampler:
                yield self._none_sampler_finding(ctx, loader, loop, dataset, none_sampler, related)
                continue
            message = (
                t(
                    "this DataLoader feeds the training loop on line {loop_line} and does not shuffle "
                    "`{dataset}`: every epoch sees the samples in the same order and the same batches "
                    "(PyTorch's default is shuffle=False); pass `shuffle=True`",
                    loop_line=loop.line,
                    dataset=dataset,
                )
            )
            yield ctx.finding(self, loader, message, related, self._fix(ctx, loader))

    def _none_sampler_finding(self, ctx: Context, loader: ast.Call, loop: Loop, dataset: str,
                              samplers: list[ast.Call], related: list) -> Finding:
        """`sampler=DistributedSampler(ds) if distributed else None` with `shuffle=False`:
        `shuffle=True` would clash with the sampler, so the advice is `shuffle=<sampler> is None`."""
        sampler = argument(loader, 3, "sampler")
        text = ctx.text(sampler)  # type: ignore[arg-type]
        message = t(
            "this DataLoader feeds the training loop on line {loop_line} and, when its sampler `{sampler}` "
            "is None (training on one process), does not shuffle `{dataset}`: every epoch then sees the "
            "samples in the same order and the same batches; shuffle on that path: `shuffle={advice}`",
            loop_line=loop.line,
            sampler=text,
            dataset=dataset,
            advice=f"{sampler.id} is None" if type(sampler) is ast.Name else "sampler is None",
        )
        related = [*related, *(ctx.related(call, t("the sampler it uses on the other path")) for call in samplers)]
        fix = None
        if type(sampler) is ast.Name:
            value = f"{sampler.id} is None"
            shuffle = argument(loader, 2, "shuffle")
            edit = ctx.replace(shuffle, value) if shuffle is not None else ctx.add_keyword(loader, f"shuffle={value}")
            fix = Fix(t("Pass shuffle={value}", value=value), (edit,))
        return ctx.finding(self, loader, message, related, fix)

    def _fix(self, ctx: Context, loader: ast.Call) -> Fix | None:
        shuffle = argument(loader, 2, "shuffle")
        if shuffle is not None:
            return Fix(t_docs(self.fix_title), (ctx.replace(shuffle, "True"),))
        return Fix(t_docs(self.fix_title), (ctx.add_keyword(loader, "shuffle=True"),))


def _unshuffled(loader: ast.Call, sampler_may_be_none: bool = False) -> bool:
    """No shuffle and no sampler; or no shuffle and a sampler that is `None` on some path
    (`sampler_may_be_none`), where training without it reads the data in order."""
    if any(type(a) is ast.Starred for a in loader.args) or any(k.arg is None for k in loader.keywords):
        return False
    shuffle = argument(loader, 2, "shuffle")
    if shuffle is not None and constant_value(shuffle) is not False:
        return False  # shuffle=True, or decided by a variable (`shuffle=is_train`)
    if argument(loader, 4, "batch_sampler") is not None:
        return False
    sampler = argument(loader, 3, "sampler")
    return sampler is None or sampler_may_be_none or (type(sampler) is ast.Constant and sampler.value is None)


def _sampler_maybe_none(sem: Semantic, loader: ast.Call) -> list[ast.Call] | None:
    """The torch samplers a DataLoader's `sampler=` holds on some paths when it is `None`
    on another: `DistributedSampler(ds) if distributed else None`, or a name set to `None`
    and, under an `if` the loader is not in, to a sampler (never in both arms of one `if`,
    where `None` could not survive). None when the sampler is never `None` or not known."""
    sampler = argument(loader, 3, "sampler")
    site = sem.site_of(loader)
    if sampler is None or site is None:
        return None
    if type(sampler) is ast.IfExp:
        value: ast.expr = sampler
    elif type(sampler) is ast.Name:
        value = sem.origin(sampler, site.scope, site.line, through_shape_ops=False).expr
    else:
        return None
    if type(value) is ast.IfExp:
        arms = [value.body, value.orelse]
        nones = [a for a in arms if type(a) is ast.Constant and a.value is None]
        calls = [a for a in arms if type(a) is ast.Call and sem.call_name(a) in _INDEX_SAMPLERS]
        return calls if len(nones) == 1 and len(calls) == 1 else None
    if type(sampler) is not ast.Name:
        return None
    # the assignments that may hold at the loader (a `None` and, under an `if` the loader is
    # not in, a sampler; a sampler in both arms of one `if` leaves no `None` reaching it)
    reaching = site.scope.reaching(sampler.id, site.line, site.branches)
    if not reaching or any(b.kind != "assign" or b.value is None for b in reaching):
        return None
    nones = [b for b in reaching if type(b.value) is ast.Constant and b.value.value is None]  # type: ignore[union-attr]
    calls = [b.value for b in reaching if b not in nones]
    if not nones or not calls or any(
            type(call) is not ast.Call or sem.call_name(call) not in _INDEX_SAMPLERS for call in calls):  # type: ignore[arg-type]
        return None
    return calls  # type: ignore[return-value]


def _indexes(sem: Semantic, samplers: list[ast.Call], loader: ast.Call) -> bool:
    """Whether each sampler is built over the loader's own dataset (the same expression):
    a DistributedSampler reads it by index, so the dataset is map-style."""
    dataset = argument(loader, 0, "dataset")
    if dataset is None:
        return False
    text = ast.dump(dataset)
    return all((over := argument(call, 0, "dataset")) is not None and ast.dump(over) == text for call in samplers)


def _map_style(vals: Values, loader: ast.Call) -> bool:
    dataset = argument(loader, 0, "dataset")
    if dataset is None:
        return False
    sem = vals.sem
    scope, line = _scope_of_loader(sem, loader), loader.lineno
    if type(dataset) is ast.Name:
        found = sem.origin(dataset, scope, line, through_shape_ops=False)
        if type(found.expr) is ast.IfExp:
            # `data = train_set if is_train else test_set`: map-style whichever arm runs
            arms = (found.expr.body, found.expr.orelse)
            return all(_map_style_value(vals, arm, found.scope, found.expr.lineno) for arm in arms)
    return _map_style_value(vals, dataset, scope, line)


def _map_style_value(vals: Values, dataset: ast.expr, scope: Scope, line: int) -> bool:
    """Whether `dataset` is built by a map-style dataset class (torch's, torchvision's or
    a project `Dataset` subclass with `__getitem__` that keeps the index order)."""
    if type(dataset) not in (ast.Name, ast.Attribute, ast.Call):
        return False
    sem = vals.sem
    made = vals.construction(dataset, scope, line)
    if made is None:
        return False
    name = vals.name_of(made[0]) or ""
    if name in _MAP_STYLE or name.startswith(_VISION_DATASETS) and name.rsplit(".", 1)[-1][:1].isupper():
        return True
    return _project_map_dataset(sem, name, set())


def _orders_per_epoch(vals: Values, loader: ast.Call) -> bool:
    """Whether the loader's dataset is a project class that may order its samples anew each
    epoch: an ordering word outside `__init__` (one shuffle at construction, as tacotron2's
    and waveglow's datasets do, leaves every epoch in the same order)."""
    dataset = argument(loader, 0, "dataset")
    made = vals.construction(dataset, _scope_of_loader(vals.sem, loader), loader.lineno) if dataset is not None else None
    found = vals.sem.find_class(vals.name_of(made[0]) or "") if made is not None else None
    if found is None:
        return False
    _owner, info = found
    for item in info.node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == "__init__":
            continue
        if any(word in ast.unparse(item) for word in _OWN_ORDER):
            return True
    return bool(info.bases) and not all(base in _DATASET_BASES for base in info.bases)  # a base may order


def _project_map_dataset(sem: Semantic, name: str, seen: set[str]) -> bool:
    """A project class deriving from torch's `Dataset` (not an iterable one) with a
    `__getitem__`, that does not shuffle or sample its own order."""
    found = sem.find_class(name)
    if found is None or name in seen:
        return False
    seen.add(name)
    owner, info = found
    if any(base.endswith(_ITERABLE_BASES) for base in info.bases) or "__iter__" in info.methods:
        return False
    source = ast.unparse(info.node)
    if any(word in source for word in _OWN_ORDER):
        return False
    if any(base in _DATASET_BASES for base in info.bases):
        return "__getitem__" in info.methods
    return any(_project_map_dataset(owner, base, seen) for base in info.bases)


def _carries_state(loop: Loop) -> bool:
    """Whether a call in the loop is given a name the loop rebinds at or after that call
    (`out, hidden = model(x, hidden)`): a hidden state carried from batch to batch."""
    body = loop.node.body
    assigned: dict[str, int] = {}
    counters: set[int] = set()  # `iteration += 1` counts steps; it carries no state of the data
    for stmt in body:
        for node in subtree(stmt):
            if type(node) is ast.AugAssign:
                counters.add(id(node.target))
            elif type(node) is ast.Name and type(node.ctx) is ast.Store and id(node) not in counters:
                assigned[node.id] = max(assigned.get(node.id, 0), node.lineno)
    for site in loop.calls:
        for arg in [*site.node.args, *(k.value for k in site.node.keywords)]:
            if type(arg) is ast.Name and assigned.get(arg.id, 0) >= site.line:
                return True
    return False


def _scope_of_loader(sem: Semantic, loader: ast.Call) -> Scope:
    site = sem.site_of(loader)
    return site.scope if site is not None else sem.module

