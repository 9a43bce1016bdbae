"""NN505 softmax-over-batch-dim."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Scope, Semantic, argument, called_module, constant_value, dotted, subtree
from nnlint.torchnames import LOG_SOFTMAX_FUNCTIONS, LOG_SOFTMAX_MODULES, SOFTMAX_FUNCTIONS, SOFTMAX_MODULES
from nnlint.values import DATALOADERS, LOGITS, LossUse, Values, values
from nnlint.message import t
from nnlint.project import reads_other_modules
from nnlint.calls import call_index

# Tensor methods that keep the shape (the batch stays in dim 0).
_SAME_SHAPE = frozenset({"float", "double", "half", "bfloat16", "to", "cpu", "cuda", "detach", "clone", "contiguous"})
# Operations that may move the batch away from dim 0 inside a forward pass.
_REORDERING = frozenset({"transpose", "permute", "t", "swapaxes", "swapdims", "movedim", "moveaxis", "T", "mT"})
# torch.nn layers that are sequence-first unless built with batch_first=True.
_SEQUENCE_FIRST = frozenset(
    {"RNN", "LSTM", "GRU", "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
     "TransformerDecoderLayer", "MultiheadAttention"}
)
_SOFTMAX_METHODS = frozenset({"softmax", "log_softmax"})
_SOFTMAX_FUNCTIONS = SOFTMAX_FUNCTIONS | LOG_SOFTMAX_FUNCTIONS
_CLASS_DIM = {"Linear": "-1", "LazyLinear": "-1", "Bilinear": "-1", "Conv1d": "1", "Conv2d": "1", "Conv3d": "1",
              "LazyConv1d": "1", "LazyConv2d": "1", "LazyConv3d": "1"}


@register
class SoftmaxOverBatchDim(Rule):
    """
    ## What it does
    Flags `softmax` / `log_softmax` (function, tensor method or `nn.Softmax`
    module) with `dim=0` applied to a model's output that is proven batch-first:
    the model is called on a batch from a `DataLoader` (which stacks samples
    along dim 0) and ends in a `Linear` or convolution layer, with nothing in its
    forward pass that moves the batch dimension. Also flags a model's `forward`
    that returns `softmax`/`log_softmax` over dim 0 when a loss takes rows of its
    output together with the same rows of the targets
    (`F.nll_loss(out[mask], y[mask])`): indexing both by one index makes dim 0
    the sample axis.

    ## Why is this bad?
    Dim 0 of such an output is the batch. A softmax over it normalises each
    class *across the examples of the batch*: every row stops being a
    distribution over classes, the "probabilities" of an example depend on which
    other examples share its batch, and a batch of one always gets probability 1.
    Nothing raises, shapes are unchanged, and `argmax(1)` of the result is often
    wrong.

    Not reported: a 1-D vector (`F.softmax(logits[0], dim=0)`, one example's
    scores), attention weights or other values computed inside a forward pass,
    sequence-first models (RNNs and Transformers without `batch_first=True`, or a
    forward that transposes or permutes), and outputs whose origin is not known.

    ## Example
    ```python
    for images, labels in test_loader:
        probs = F.softmax(model(images), dim=0)
    ```

    ## Use instead
    ```python
    for images, labels in test_loader:
        probs = F.softmax(model(images), dim=1)
    ```

    ## Fix
    Replaces `dim=0` by the class dimension the model's last layer produces:
    `dim=-1` after a `Linear` layer (its output features are the last dimension),
    `dim=1` after a convolution (its channels), and `dim=1` in a forward whose
    output rows a loss pairs with targets (the class dimension of NLL and cross
    entropy).
    """

    code = "NN505"
    name = "softmax-over-batch-dim"
    severity = Severity.WARNING
    summary = "softmax(dim=0) over a batch-first model output normalises across the batch, not the classes"
    fix_title = "Normalise over the class dimension"

    def check(self, ctx: Context) -> Iterator[Finding]:
        text = ctx.source.text
        if "softmax" not in text and "Softmax" not in text:
            return
        sem = ctx.semantic
        vals: Values | None = None
        # `act(x)` runs a softmax layer only when some module's text names one: this file's
        # ("Softmax" in an import or a dotted name), or another project module's (the layer
        # built there, or a project name re-exporting `nn.Softmax`), unless the file can read
        # no other module. Otherwise the layer test, a value resolution per one-argument call,
        # is skipped. (A non-ASCII file may spell it `Ｓｏｆｔｍａｘ`, which Python reads as
        # `Softmax`: with a project it keeps the layer test it always had.)
        layers = _LayerCalls(sem) if "Softmax" in text or sem.project is not None and (
            not text.isascii() or reads_other_modules(sem)) else None
        if layers is not None:
            sites = sem.calls
        else:  # the function and the method, and `nn.Softmax(dim=0)(x)`
            index = call_index(sem)
            sites = index.either(index.named(_SOFTMAX_FUNCTIONS), index.methods(_SOFTMAX_METHODS),
                                 index.callee_kind(ast.Call))
        reported: set[ast.AST] = set()
        for site in sites:
            vals = vals or values(sem)
            found = _softmax_over_dim0(vals, site, layers)
            if found is None:
                continue
            tensor, dim = found
            proof = _batch_first_output(vals, tensor, site.scope, site.line)
            if proof is None:
                continue
            model_call, loader, class_dim = proof
            model_text = ctx.text(model_call.func)
            message = (
                t(
                    "softmax over dim 0 of `{output}`, the output of `{model_text}` on a batch from a "
                    "DataLoader: dim 0 is the batch, so each class is normalised across the examples of the "
                    "batch instead of each example across its classes; use dim={value}",
                    output=_short(ctx.text(tensor)),
                    model_text=model_text,
                    value=class_dim or 1,
                )
            )
            related = [
                ctx.related(model_call, t("`{model_text}` ends in a layer that keeps the batch in dim 0", model_text=model_text)),
                ctx.related(loader, t("this DataLoader stacks the samples along dim 0")),
            ]
            fix = None
            if class_dim is not None and type(dim) is ast.Constant:
                fix = Fix(t("Use dim={class_dim}", class_dim=class_dim), (ctx.replace(dim, class_dim),))
            reported.add(site.node)
            yield ctx.finding(self, site.node, message, related, fix)
        yield from self._forward_softmax_over_rows(ctx, vals or values(sem), reported)

    def _forward_softmax_over_rows(self, ctx: Context, vals: Values, reported: set[ast.AST]) -> Iterator[Finding]:
        """A model whose forward returns `log_softmax(x, dim=0)`, called where its output
        and the targets are indexed by the same rows (`F.nll_loss(out[mask], y[mask])`)."""
        for use in vals.loss_uses:
            found = _rows_of_forward_output(vals, use)
            if found is None or found[0] in reported:
                continue
            activation, dim, index, owner = found
            reported.add(activation)
            model_call = use.value.made_at  # type: ignore[union-attr]
            model_text = ctx.text(model_call.func)  # type: ignore[attr-defined]
            rows = ctx.text(index)
            message = t(
                "softmax over dim 0 as the output of `{owner}.forward`, whose rows `[{rows}]` the loss on line "
                "{loss_line} pairs with the same rows of the targets: dim 0 is the sample axis, so each class "
                "is normalised across the samples instead of each sample across its classes; use dim=1",
                owner=owner, rows=rows, loss_line=use.site.line)
            related = [
                ctx.related(use.site.node, t("the loss takes rows `[{rows}]` of the output and of the targets",
                                             rows=rows)),
                ctx.related(model_call, t("`{model_text}` runs `{owner}.forward` here", model_text=model_text,
                                          owner=owner)),
            ]
            fix = Fix(t("Use dim={class_dim}", class_dim="1"), (ctx.replace(dim, "1"),))
            yield ctx.finding(self, activation, message, related, fix)


def _rows_of_forward_output(vals: Values, use: LossUse) -> tuple[ast.Call, ast.expr, ast.expr, str] | None:
    """(the softmax call, its dim, the row index, the model class) when `use` is an NLL or cross-entropy loss
    whose input is rows of a model output, `out[rows]`, and whose targets are the same rows,
    `y[rows]`, and the model's forward returns a softmax over dim 0. Indexing the output and
    the targets by one index selects along their first axes together, and the loss pairs each
    input row with a target (a 1-D input, one sample's class scores, would need a scalar
    target, which no index of the targets gives): dim 0 of the output is the sample axis. An
    unindexed `F.nll_loss(out, y)` proves nothing: a 1-D `out` with a scalar `y` is one sample."""
    value = use.value
    if use.kind not in ("nll", "ce") or value is None or not value.via_model:
        return None
    activation = value.activation
    if type(activation) is not ast.Call or vals.foreign_location(activation) is not None:
        return None
    sem = vals.sem
    target = argument(use.site.node, 1, "target")
    rows = use.input
    if type(rows) is not ast.Subscript or type(target) is not ast.Subscript:
        return None
    index = rows.slice
    name = dotted(index)
    if name is None or dotted(target.slice) != name:
        return None
    held = sem.origin(index, use.site.scope, use.site.line, through_shape_ops=False).expr
    if type(held) in (ast.Tuple, ast.List, ast.Slice, ast.Constant):
        return None  # `idx = (slice(None), 0)`: not rows
    made = sem.origin(rows.value, use.site.scope, use.site.line, through_shape_ops=False).expr
    if made is not value.made_at:
        return None  # rows of something else than the model's output itself
    dim = _softmax_dim0(sem, activation)
    owner = _forward_returns_only_dim0(vals, activation) if dim is not None else None
    if dim is None or owner is None:
        return None
    return activation, dim, index, owner


def _softmax_dim0(sem: Semantic, call: ast.Call) -> ast.expr | None:
    """The literal `0` a softmax/log_softmax function or tensor method is given as its dim."""
    if sem.call_name(call) in _SOFTMAX_FUNCTIONS:
        dim = argument(call, 1, "dim")
    elif type(call.func) is ast.Attribute and call.func.attr in _SOFTMAX_METHODS:
        dim = argument(call, 0, "dim")
    else:
        return None
    return dim if type(dim) is ast.Constant and constant_value(dim) == 0 else None


def _forward_returns_only_dim0(vals: Values, activation: ast.Call) -> str | None:
    """The module class when `activation` is in its `forward` and every value that forward
    returns is a softmax over dim 0 as such (returned, or bound to the name returned, with no
    reshaping between): then dim 0 of the model's output is dim 0 of the softmax."""
    sem = vals.sem
    site = sem.site_of(activation)
    if site is None:
        return None
    forward = site.scope
    info = sem.enclosing_class(forward)
    if info is None or forward.name != "forward" or info.methods.get("forward") is not forward \
            or not sem.is_module_class(info.name) or not forward.returns:
        return None
    for ret in forward.returns:
        value = ret.value
        if type(value) is ast.Call:
            if _softmax_dim0(sem, value) is None:
                return None
            continue
        if type(value) is not ast.Name:
            return None
        reaching = forward.reaching(value.id, ret.lineno, forward.return_branches.get(id(ret)))
        if not reaching:
            return None
        for binding in reaching:
            if binding.kind != "assign" or type(binding.value) is not ast.Call \
                    or _softmax_dim0(sem, binding.value) is None:
                return None
    return info.name


class _LayerCalls:
    """Which one-argument calls `name(x)` may run a layer object: only a name that some
    binding reachable from the call defines can hold one (`construction` starts with a
    lookup of the name, and finds nothing for `print`, `F.relu` or `inputs.to`)."""

    def __init__(self, sem: Semantic) -> None:
        names: set[str] = set()
        for scope in sem.scopes:
            names.update(scope.bindings)
            if scope.cls is not None:  # `self.x` is also looked up in the class's attributes
                names.update(f"self.{attr}" for attr in scope.cls.attrs)
        self.bound = names

    def may_hold_layer(self, func: ast.expr) -> bool:
        name = dotted(func)
        return name is not None and name in self.bound


def _softmax_over_dim0(vals: Values, site: CallSite, layers: _LayerCalls | None) -> tuple[ast.expr, ast.expr] | None:
    """(input, dim argument) of a softmax or log_softmax over dim 0, else None. `layers`
    None: no softmax layer can exist, so `act(x)` calls are not looked at."""
    call = site.node
    sem = vals.sem
    name = sem.call_name(call)
    tensor: ast.expr | None = None
    dim: ast.expr | None = None
    if name in _SOFTMAX_FUNCTIONS:
        tensor, dim = argument(call, 0, "input"), argument(call, 1, "dim")
    elif site.method in _SOFTMAX_METHODS and site.receiver is not None \
            and not vals._is_module_ref(site.receiver) and dotted(site.receiver) != "self" \
            and not (type(site.receiver) is ast.Attribute and dotted(site.receiver.value) == "self"):
        if vals.construction(call.func, site.scope, site.line) is not None:
            return None  # `self.softmax(x)`: a layer kept in an attribute
        tensor, dim = site.receiver, argument(call, 0, "dim")
    elif type(call.func) in (ast.Name, ast.Attribute, ast.Call) and len(call.args) == 1:
        if type(call.func) is ast.Call:  # `nn.Softmax(dim=0)(logits)`
            ctor: ast.Call | None = call.func
        else:
            if layers is None or not layers.may_hold_layer(called_module(call.func)):
                return None
            made = vals.construction(called_module(call.func), site.scope, site.line)
            ctor = made[0] if made is not None else None
        if ctor is None or vals.name_of(ctor) not in SOFTMAX_MODULES | LOG_SOFTMAX_MODULES:
            return None
        tensor, dim = call.args[0], argument(ctor, 0, "dim")
    if tensor is None or dim is None or constant_value(dim) != 0 or type(dim) is not ast.Constant:
        return None
    return tensor, dim


def _batch_first_output(vals: Values, tensor: ast.expr, scope: Scope,
                        line: int) -> tuple[ast.Call, ast.Call, str | None] | None:
    """For the output of a model called on a DataLoader batch, the model ending in a
    layer that keeps the batch in dim 0: (model call, DataLoader, class dimension)."""
    while type(tensor) is ast.Call and type(tensor.func) is ast.Attribute and tensor.func.attr in _SAME_SHAPE:
        tensor = tensor.func.value
    found = vals.resolve(tensor, scope, line, through_shape_ops=False)
    if len(found) != 1:
        return None
    value, value_scope, hops = found[0]
    if type(value) is not ast.Call or not value.args or hops and hops[-1].kind != "assign":
        return None
    value_line = hops[-1].line if hops else line
    kind = vals.kind(value, value_scope, value_line)
    if kind is None or kind.kind != LOGITS or not isinstance(kind.model_def, ast.Call):
        return None
    ctor = kind.model_def
    loader = _whole_batch(vals, value.args[0], value_scope, value_line)
    if loader is None:
        return None
    last = _last_layer(vals, ctor)
    if last is None or not _keeps_batch_first(vals, ctor):
        return None
    return value, loader, _CLASS_DIM.get(last)


def _whole_batch(vals: Values, expr: ast.expr, scope: Scope, line: int) -> ast.Call | None:
    """The DataLoader when `expr` is a whole piece of its batch (`x` of `for x, y in
    loader`, also after `x = x.to(device)`), not an indexed example (`x[0]`)."""
    sem = vals.sem
    for _ in range(8):
        while type(expr) is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr in _SAME_SHAPE:
            expr = expr.func.value
        name = dotted(expr)
        if name is None:
            return None
        binding = sem.lookup(name, scope, line)
        if binding is None:
            return None
        if type(binding.stmt) in (ast.For, ast.AsyncFor) or binding.kind == "unpack":
            made = vals._batch_piece(binding, 0)
            return made if type(made) is ast.Call and vals.name_of(made) in DATALOADERS else None
        if binding.kind != "assign" or binding.value is None or binding.line >= line and binding.scope is scope:
            return None
        expr, scope, line = binding.value, binding.scope, binding.line
    return None


def _last_layer(vals: Values, ctor: ast.Call) -> str | None:
    """The torch.nn class of the model's last layer (`Linear`, `Conv2d`), when visible."""
    name = vals.name_of(ctor) or ""
    if name == "torch.nn.Sequential":
        layer = vals._last_layer(ctor)
        layer_name = vals.name_of(layer) if type(layer) is ast.Call else None
        return layer_name.rsplit(".", 1)[-1] if layer_name and layer_name.startswith("torch.nn.") else None
    if name.startswith("torch.nn."):
        return name.rsplit(".", 1)[-1]
    return _class_last_layer(vals, name)


def _class_last_layer(vals: Values, name: str) -> str | None:
    foreign = vals._foreign_class(name)
    if foreign is not None:  # a model class of another project module: read there
        return _class_last_layer(foreign[0], foreign[1])
    forward = vals._method(name, "forward")
    if forward is None or not forward.returns:
        return None
    layers = set()
    for ret in forward.returns:
        if ret.value is None:
            return None
        for value, value_scope, _hops in vals.resolve(ret.value, forward, ret.lineno):
            if type(value) is not ast.Call or type(value.func) not in (ast.Name, ast.Attribute):
                return None
            made = vals.construction(value.func, value_scope, ret.lineno)
            layer = vals.name_of(made[0]) if made is not None else None
            if not layer or not layer.startswith("torch.nn."):
                return None
            layers.add(layer.rsplit(".", 1)[-1])
    return layers.pop() if len(layers) == 1 else None


def _keeps_batch_first(vals: Values, ctor: ast.Call) -> bool:
    """No sequence-first layer and no transpose/permute in the model's definition."""
    sem = vals.sem
    name = vals.name_of(ctor) or ""
    if name == "torch.nn.Sequential":
        if any(type(a) is ast.Starred for a in ctor.args):
            return False
        nodes: list[ast.AST] = [ctor]
    elif name.startswith("torch.nn."):
        return name.rsplit(".", 1)[-1] not in _SEQUENCE_FIRST
    else:
        found = sem.find_class(name)  # here or in another project module
        if found is None:
            return False
        sem, info = found
        nodes = [info.node]
    for root in nodes:
        for node in subtree(root):
            if type(node) is ast.Attribute and node.attr in _REORDERING:
                return False
            if type(node) is ast.Call:
                called = sem.call_name(node) or ""
                if called.startswith("torch.nn.") and called.rsplit(".", 1)[-1] in _SEQUENCE_FIRST and not any(
                        k.arg == "batch_first" and constant_value(k.value) is True for k in node.keywords):
                    return False
                if called in ("torch.transpose", "torch.permute", "torch.swapaxes", "torch.movedim", "torch.t"):
                    return False
    return True


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
