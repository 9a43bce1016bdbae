"""NN208 train-loader-not-shuffled."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Loop, Scope, Semantic, argument, constant_value, subtree
from nnlint.training import training
from nnlint.values import DATALOADERS, Values, values
from nnlint.message import t, t_docs

# Map-style datasets of torch and torchvision: indexable, with a length; a DataLoader reads
# them in index order unless told to shuffle.
_MAP_STYLE = frozenset({"torch.utils.data.TensorDataset", "torch.utils.data.dataset.TensorDataset"})
_VISION_DATASETS = ("torchvision.datasets.",)
_DATASET_BASES = ("torch.utils.data.Dataset", "torch.utils.data.dataset.Dataset")
_ITERABLE_BASES = ("IterableDataset", "IterDataPipe")
_WRAPPERS = frozenset({"enumerate", "tqdm", "tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm", "iter"})
# Words in a dataset class that mean it orders (or shuffles) its samples itself.
_OWN_ORDER = ("shuffle", "randperm", "permutation", "random.sample", "sampler")


@register
class TrainLoaderNotShuffled(Rule):
    """
    ## What it does
    Reports, as information, the `DataLoader` that feeds a training loop (a loop
    that runs `backward()`, directly or in a helper) when it has no
    `shuffle=True`, no `sampler` and no `batch_sampler`, over a map-style dataset
    (`TensorDataset`, a torchvision dataset, or a `Dataset` subclass of the
    project).

    ## Why is this bad?
    Without shuffling, every epoch sees the samples in the same order and the
    same batches. Datasets are often stored sorted (by class, by date, by
    source): the model then sees one class for hundreds of steps, then the next,
    and forgets the first; batch statistics are skewed; the loss curve repeats
    the same pattern every epoch. Training still "works", just worse. PyTorch's
    default is `shuffle=False`, so forgetting it is silent.

    Not reported: loaders with a sampler or batch sampler (`DistributedSampler`,
    a weighted sampler), iterable datasets, validation and test loaders (no
    `backward()` in their loop), a batch taken with `next(iter(loader))` (an
    overfit check), truncated-backpropagation or stateful-RNN training, whose loop
    carries a hidden state from one batch to the next and needs the order, and
    datasets whose kind cannot be told or that order their samples themselves.

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
    Adds `shuffle=True` (or turns `shuffle=False` into `shuffle=True`).
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
        for loop in training(sem).training_loops():
            loader = _loader_of(vals, loop)
            if loader is None or id(loader) in reported or sem.site_of(loader) is None or _carries_state(loop):
                continue
            if not _unshuffled(loader) or not _map_style(vals, loader):
                continue
            reported.add(id(loader))
            dataset = ctx.text(argument(loader, 0, "dataset"))  # type: ignore[arg-type]
            message = (
                t(
                    "this DataLoader feeds the training loop on line {loop_line} and does not shuffle "
                    "`{dataset}`: every epoch sees the samples in the same order and the same batches "
                    "(PyTorch's default is shuffle=False); pass `shuffle=True`",
                    loop_line=loop.line,
                    dataset=dataset,
                )
            )
            related = [ctx.related(loop.node.iter, t("the training loop reads it here"))]  # type: ignore[union-attr]
            yield ctx.finding(self, loader, message, related, self._fix(ctx, loader))

    def _fix(self, ctx: Context, loader: ast.Call) -> Fix | None:
        shuffle = argument(loader, 2, "shuffle")
        if shuffle is not None:
            return Fix(t_docs(self.fix_title), (ctx.replace(shuffle, "True"),))
        return Fix(t_docs(self.fix_title), (ctx.add_keyword(loader, "shuffle=True"),))


def _loader_of(vals: Values, loop: Loop) -> ast.Call | None:
    """The DataLoader a `for` loop iterates over (through enumerate/tqdm, names, helpers
    and parameters whose callers pass it)."""
    node = loop.node
    if type(node) not in (ast.For, ast.AsyncFor):
        return None
    iterable = node.iter  # type: ignore[union-attr]
    while type(iterable) is ast.Call and iterable.args and (vals.sem.call_name(iterable) or "") in _WRAPPERS:
        iterable = iterable.args[0]
    if type(iterable) not in (ast.Name, ast.Attribute, ast.Call):
        return None
    made = vals.construction(iterable, loop.scope, loop.line)  # the DataLoader of this file only:
    if made is None or vals.name_of(made[0]) not in DATALOADERS:
        return None
    return made[0]


def _unshuffled(loader: ast.Call) -> bool:
    if any(type(a) is ast.Starred for a in loader.args) or any(k.arg is None for k in loader.keywords):
        return False
    shuffle = argument(loader, 2, "shuffle")
    if shuffle is not None and constant_value(shuffle) is not False:
        return False  # shuffle=True, or decided by a variable (`shuffle=is_train`)
    return all(argument(loader, index, name) is None
               for index, name in ((3, "sampler"), (4, "batch_sampler")))


def _map_style(vals: Values, loader: ast.Call) -> bool:
    dataset = argument(loader, 0, "dataset")
    if dataset is None or type(dataset) not in (ast.Name, ast.Attribute, ast.Call):
        return False
    sem = vals.sem
    made = vals.construction(dataset, _scope_of_loader(sem, loader), loader.lineno)
    if made is None:
        return False
    name = vals.name_of(made[0]) or ""
    if name in _MAP_STYLE or name.startswith(_VISION_DATASETS) and name.rsplit(".", 1)[-1][:1].isupper():
        return True
    return _project_map_dataset(sem, name, set())


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
    for stmt in body:
        for node in subtree(stmt):
            if type(node) is ast.Name and type(node.ctx) is ast.Store:
                assigned[node.id] = max(assigned.get(node.id, 0), node.lineno)
    for site in loop.calls:
        for arg in [*site.node.args, *(k.value for k in site.node.keywords)]:
            if type(arg) is ast.Name and assigned.get(arg.id, 0) >= site.line:
                return True
    return False


def _scope_of_loader(sem: Semantic, loader: ast.Call) -> Scope:
    site = sem.site_of(loader)
    return site.scope if site is not None else sem.module

