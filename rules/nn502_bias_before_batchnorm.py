"""NN502 bias-before-batchnorm."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, Scope, Semantic, argument, constant_value, dotted
from nnlint.message import t, t_docs
from nnlint.calls import call_index

_BIASED_LAYERS = {
    # class name -> positional index of `bias`
    "Linear": 2,
    "LazyLinear": 1,
    "Conv1d": 7, "Conv2d": 7, "Conv3d": 7,
    "LazyConv1d": 6, "LazyConv2d": 6, "LazyConv3d": 6,
    "ConvTranspose1d": 7, "ConvTranspose2d": 7, "ConvTranspose3d": 7,
}
_BATCHNORMS = frozenset(
    {"BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d", "LazyBatchNorm2d",
     "LazyBatchNorm3d"}
)
_SEQUENTIAL = "torch.nn.Sequential"


def _torch_nn_class(sem: Semantic, call: ast.expr | None) -> str | None:
    if type(call) is not ast.Call:
        return None
    module, _, last = (sem.call_name(call) or "").rpartition(".")
    return last if module in _TORCH_NN_MODULES else None


# where the layer classes live: `torch.nn.Conv2d`, `torch.nn.modules.conv.Conv2d`
_TORCH_NN_MODULES = frozenset({"torch.nn", "torch.nn.modules.conv", "torch.nn.modules.linear", "torch.nn.modules.batchnorm"})


@register
class BiasBeforeBatchNorm(Rule):
    """
    ## What it does
    Flags a `Conv*d` or `Linear` layer with a bias (the default) whose output goes
    straight into a `BatchNorm*d`, in an `nn.Sequential` or in `forward`.

    ## Why is this bad?
    Batch normalisation subtracts the per-channel mean right away, so a constant
    per-channel bias added just before it is cancelled exactly: those parameters
    receive (numerically) zero gradient, cost memory, optimizer state and weight
    decay, and only add noise. BatchNorm's own `beta` already provides the shift.

    ## Example
    ```python
    block = nn.Sequential(
        nn.Conv2d(64, 128, 3, padding=1),
        nn.BatchNorm2d(128),
        nn.ReLU(),
    )
    ```

    ## Use instead
    ```python
    block = nn.Sequential(
        nn.Conv2d(64, 128, 3, padding=1, bias=False),
        nn.BatchNorm2d(128),
        nn.ReLU(),
    )
    ```

    ## Fix
    Adds `bias=False` to the layer (or turns `bias=True` into `bias=False`).
    Loading an old checkpoint into the fixed model needs `strict=False` (the
    `bias` entries no longer exist).
    """

    code = "NN502"
    name = "bias-before-batchnorm"
    severity = Severity.HINT
    summary = "Bias of a Conv/Linear layer directly followed by BatchNorm is cancelled by the normalisation"
    fix_title = "Set bias=False"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        reported: set[int] = set()
        for layer, norm, how in self._pairs(sem):
            if id(layer) in reported:
                continue
            kind = _torch_nn_class(sem, layer)
            norm_kind = _torch_nn_class(sem, norm)
            if kind not in _BIASED_LAYERS or norm_kind not in _BATCHNORMS:
                continue
            bias = _bias_argument(layer, kind)
            through = None
            if bias is False:
                through = _kwargs_without_bias(sem, layer)
                if through is None:
                    continue
            if not _sizes_agree(layer, kind, norm):
                continue
            reported.add(id(layer))
            short = ctx.text(layer.func)  # type: ignore[attr-defined]
            norm_short = ctx.text(norm.func)  # type: ignore[attr-defined]
            message = (
                t(
                    "`{short}` has a bias that the `{norm_short}` right after it ({how}, line {norm_lineno}) "
                    "cancels: pass `bias=False`",
                    short=short,
                    norm_short=norm_short,
                    how=how,
                    norm_lineno=norm.lineno,
                )
            )
            related = [ctx.related(norm, t("`{norm_short}` subtracts the per-channel mean, removing the bias", norm_short=norm_short))]
            if through is not None:
                # A caller elsewhere could still pass `bias=False` through `**kwargs`, and then an
                # added keyword would raise: no fix, and the message says what was checked.
                function, class_name = through
                message += (t(
                    " (`**{kwarg_arg}` never sets `bias` here, and no `{class_name}(...)` in this file passes "
                    "it)",
                    kwarg_arg=function.node.args.kwarg.arg,
                    class_name=class_name,
                ))
                yield ctx.finding(self, layer, message, related, None)
                continue
            yield ctx.finding(self, layer, message, related, self._fix(ctx, layer, kind))

    def _fix(self, ctx: Context, layer: ast.Call, kind: str) -> Fix:
        value = argument(layer, _BIASED_LAYERS[kind], "bias")
        if value is not None:
            return Fix(t_docs(self.fix_title), (ctx.replace(value, "False"),))  # type: ignore[arg-type]
        return Fix(t_docs(self.fix_title), (ctx.add_keyword(layer, "bias=False"),))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ pairs
    def _pairs(self, sem: Semantic) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        """(layer constructor, batchnorm constructor, how they are connected)."""
        index = call_index(sem)
        # `self.bn(...)` matters only for an attribute holding a batch norm: each class's
        # batch-norm attributes, found once
        norms: dict[int, set[str]] = {}
        on_self = []
        for site in index.on_self():
            cls = site.scope.cls
            if cls is None:
                continue
            found = norms.get(id(cls))
            if found is None:
                found = norms[id(cls)] = {attr for attr in cls.attrs
                                          if _torch_nn_class(sem, _attr_constructor(cls, attr)) in _BATCHNORMS}
            if site.method in found:
                on_self.append(site)
        sites = index.either(index.named((_SEQUENTIAL,)), on_self, index.callee_kind(ast.Subscript))
        for site in sites:
            name = sem.call_name(site.node)
            if name == _SEQUENTIAL:
                yield from self._sequential_pairs(sem, site)
            elif site.method is not None and type(site.receiver) is ast.Name and site.receiver.id == "self":
                yield from self._forward_pair(sem, site)
            elif type(site.node.func) is ast.Subscript:
                yield from self._module_list_pair(sem, site)

    def _sequential_pairs(self, sem: Semantic, site: CallSite) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        call = site.node
        if call.keywords:
            return
        if len(call.args) == 1 and type(call.args[0]) is ast.Starred:
            # nn.Sequential(*layers): a list literal built right here
            inner = call.args[0].value
            if type(inner) in (ast.List, ast.Tuple):
                yield from self._element_pairs(sem, site.scope, site.line, inner.elts, set())  # type: ignore[attr-defined]
            elif type(inner) is ast.Name:
                yield from self._list_pairs(sem, site, inner.id)
            return
        if any(type(a) is ast.Starred for a in call.args):
            return
        if len(call.args) == 1 and type(call.args[0]) is ast.Call:
            only = call.args[0]
            if (sem.call_name(only) or "").endswith("OrderedDict") and len(only.args) == 1 and type(
                only.args[0]
            ) in (ast.List, ast.Tuple):
                elements = []
                for item in only.args[0].elts:  # type: ignore[attr-defined]
                    if type(item) is not ast.Tuple or len(item.elts) != 2:
                        return
                    elements.append(item.elts[1])
                yield from self._element_pairs(sem, site.scope, site.line, elements, set())
                return
        yield from self._element_pairs(sem, site.scope, site.line, call.args, set())

    def _list_pairs(self, sem: Semantic, site: CallSite, name: str) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        """Pairs in a list `name` assembled in the same function and unpacked into Sequential."""
        scope = site.scope
        pieces: list[list[ast.expr]] = []
        for binding in scope.bindings.get(name, []):
            if binding.line > site.line:
                continue
            if type(binding.value) in (ast.List, ast.Tuple):
                pieces.append(binding.value.elts)  # type: ignore[union-attr]
        for aug in scope.augassigns:
            if aug.target == name and type(aug.value) in (ast.List, ast.Tuple) and aug.node.lineno < site.line:
                pieces.append(aug.value.elts)  # type: ignore[attr-defined]
        appended: list[CallSite] = []
        for other in scope.calls:
            if type(other.receiver) is ast.Name and other.receiver.id == name and other.line < site.line:
                if other.method == "extend" and len(other.node.args) == 1 and type(other.node.args[0]) in (
                    ast.List, ast.Tuple
                ):
                    pieces.append(other.node.args[0].elts)  # type: ignore[attr-defined]
                elif other.method == "append" and len(other.node.args) == 1:
                    appended.append(other)
        # consecutive `layers.append(a)` / `layers.append(b)` statements of one block
        for first, second in zip(appended, appended[1:]):
            if first.block is second.block and type(first.stmt) is ast.Expr and type(second.stmt) is ast.Expr:
                index = _index(first.block, first.stmt)
                if index is not None and index + 1 < len(first.block) and first.block[index + 1] is second.stmt:
                    pieces.append([first.node.args[0], second.node.args[0]])
        for elements in pieces:
            yield from self._element_pairs(sem, scope, site.line, elements, {name})

    def _element_pairs(
        self, sem: Semantic, scope: Scope, line: int, elements: list[ast.expr], exclude: set[str]
    ) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        resolved = [_constructor(sem, scope, element, line) for element in elements]
        for (layer, layer_name), (norm, _) in zip(resolved, resolved[1:]):
            if layer is None or norm is None:
                continue
            if _torch_nn_class(sem, norm) not in _BATCHNORMS or _torch_nn_class(sem, layer) not in _BIASED_LAYERS:
                continue
            if layer_name is not None and (layer_name in exclude or sem.name_reads(scope).get(layer_name, 0) != 1):
                continue  # the same layer object is used elsewhere too
            yield layer, norm, t("in nn.Sequential")

    def _module_list_pair(self, sem: Semantic, site: CallSite) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        """`self.batch_norms[i](self.linears[i](h))` (DGL's GIN MLP): two `nn.ModuleList`s filled
        with `append` in `__init__`. The first layer appended is paired with the norms, which
        must all be batch norms; later layers depend on the index range, and are left alone."""
        cls = site.scope.cls
        call = site.node
        func = call.func
        if cls is None or len(call.args) != 1 or type(call.args[0]) is not ast.Call or not sem.is_module_class(
            cls.name
        ):
            return
        inner = call.args[0]
        pair = [_self_list_item(func), _self_list_item(inner.func)]
        if pair[0] is None or pair[1] is None or pair[0][1] != pair[1][1] or pair[0][0] == pair[1][0]:
            return
        norms = _appended_layers(cls, pair[0][0])
        layers = _appended_layers(cls, pair[1][0])
        if not norms or not layers or any(_torch_nn_class(sem, n) not in _BATCHNORMS for n in norms):
            return
        first = layers[0]
        if _torch_nn_class(sem, first) not in _BIASED_LAYERS:
            return
        yield first, norms[0], t(
            "`self.{outer}[{outer_index}](self.{inner}[{inner_index}](...))` in `{scope_name}`",
            outer=pair[0][0],
            outer_index=pair[0][1],
            inner=pair[1][0],
            inner_index=pair[1][1],
            scope_name=site.scope.name,
        )

    def _forward_pair(self, sem: Semantic, site: CallSite) -> Iterator[tuple[ast.Call, ast.Call, str]]:
        """`self.bn(self.conv(x))` or `x = self.conv(x)` followed by `x = self.bn(x)`."""
        cls = site.scope.cls
        call = site.node
        if cls is None or len(call.args) != 1 or call.keywords or not sem.is_module_class(cls.name):
            return
        norm = _attr_constructor(cls, site.method)  # type: ignore[arg-type]
        if norm is None or _torch_nn_class(sem, norm) not in _BATCHNORMS:
            return
        argument_expr = call.args[0]
        inner: ast.expr | None = None
        if type(argument_expr) is ast.Call:
            inner = argument_expr
        elif type(argument_expr) is ast.Name:
            inner = _previous_assignment(site, argument_expr.id)
        if inner is None or type(inner) is not ast.Call:
            return
        func = inner.func
        if not (type(func) is ast.Attribute and type(func.value) is ast.Name and func.value.id == "self"):
            return
        layer = _attr_constructor(cls, func.attr)
        if layer is None:
            return
        # the layer must feed nothing else: one call of it in the whole class
        uses = sum(
            1
            for scope in cls.methods.values()
            for other in scope.calls
            if other.method == func.attr and type(other.receiver) is ast.Name and other.receiver.id == "self"
        )
        if uses != 1 or _attribute_mentions(sem, cls, func.attr) != uses:
            return
        yield layer, norm, t(
            "`self.{site_method}(self.{func_attr}(...))` in `{scope_name}`",
            site_method=site.method,
            func_attr=func.attr,
            scope_name=site.scope.name,
        )


# --------------------------------------------------------------------------- helpers
def _bias_argument(layer: ast.Call, kind: str) -> object:
    """True (default or explicit), False, or None when not a literal."""
    if any(type(a) is ast.Starred for a in layer.args) or any(k.arg is None for k in layer.keywords):
        return False  # unknown: treat as "do not report"
    value = argument(layer, _BIASED_LAYERS[kind], "bias")
    if value is None:
        return True
    literal = constant_value(value)
    if literal is True or literal == 1:
        return True
    return False


def _kwargs_without_bias(sem: Semantic, layer: ast.Call) -> "tuple[Scope, str] | None":
    """For `nn.Conv2d(a, b, k, **kwargs)` in a module's `__init__(..., **kwargs)`: the
    `__init__` and its class when `bias` is provably left at its default in this file, that is
    `kwargs` is only read or given other literal keys (`kwargs.setdefault("padding", ...)`), and
    every construction of the class here passes no `bias=` and unpacks only mappings that
    provably hold no `bias` either (a dict literal, or its own caller's `**kwargs`, checked the
    same way). None otherwise."""
    if any(type(a) is ast.Starred for a in layer.args) or argument(layer, 99, "bias") is not None:
        return None
    unpacked = [k for k in layer.keywords if k.arg is None]
    site = sem.site_of(layer)
    if len(unpacked) != 1 or type(unpacked[0].value) is not ast.Name or site is None:
        return None
    function = site.scope
    if not _kwargs_param_without_bias(sem, function, unpacked[0].value.id, set()):
        return None
    return function, function.cls.name  # type: ignore[union-attr]


def _kwargs_param_without_bias(sem: Semantic, function: Scope, name: str, seen: set[int]) -> bool:
    """Whether `name` is the `**` parameter of a module class's `__init__` that never receives
    or gets a `bias` key from anything this file shows."""
    if id(function) in seen:
        return True  # already being checked higher up
    seen.add(id(function))
    kwarg = function.node.args.kwarg if function.is_function else None  # type: ignore[union-attr]
    cls = function.cls
    if kwarg is None or kwarg.arg != name or function.name != "__init__" or cls is None:
        return False
    if not sem.is_module_class(cls.name):
        return False
    for node in ast.walk(function.node):
        if type(node) is ast.Subscript and type(node.value) is ast.Name and node.value.id == name and type(
            node.ctx
        ) is not ast.Load:
            return False  # kwargs[...] = ...
        if type(node) is ast.Call and type(node.func) is ast.Attribute and dotted(node.func.value) == name:
            if node.func.attr not in ("setdefault", "get", "pop", "keys", "items", "values"):
                return False  # kwargs.update(...) and the like
            key = constant_value(node.args[0]) if node.args else None
            if node.func.attr == "setdefault" and (not isinstance(key, str) or key == "bias"):
                return False
        if type(node) in (ast.Assign, ast.AugAssign) and any(
            type(t) is ast.Name and t.id == name
            for t in (node.targets if type(node) is ast.Assign else [node.target])  # type: ignore[attr-defined]
        ):
            return False  # kwargs rebound
    for other in sem.calls:
        if sem.call_name(other.node) not in (cls.name, sem._export_name(cls.name)):
            continue
        for keyword in other.node.keywords:
            if keyword.arg == "bias":
                return False
            if keyword.arg is None and not _mapping_without_bias(sem, other, keyword.value, seen):
                return False
    return True


def _mapping_without_bias(sem: Semantic, site: CallSite, value: ast.expr, seen: set[int]) -> bool:
    """`**mapping` at `site` provably holds no `bias` key."""
    if type(value) is ast.Dict:
        return all(isinstance(constant_value(k), str) and constant_value(k) != "bias" for k in value.keys
                   if k is not None) and None not in value.keys
    if type(value) is not ast.Name:
        return False
    scope = site.scope
    if scope.is_function and scope.node.args.kwarg is not None and scope.node.args.kwarg.arg == value.id:  # type: ignore[union-attr]
        return _kwargs_param_without_bias(sem, scope, value.id, seen)
    bindings = scope.bindings.get(value.id, [])
    return len(bindings) == 1 and type(bindings[0].value) is ast.Dict and _mapping_without_bias(
        sem, site, bindings[0].value, seen)


def _self_list_item(func: ast.expr) -> tuple[str, str] | None:
    """`self.linears[i]` -> ("linears", "i")."""
    if type(func) is not ast.Subscript or type(func.slice) is not ast.Name:
        return None
    owner = func.value
    if type(owner) is ast.Attribute and type(owner.value) is ast.Name and owner.value.id == "self":
        return owner.attr, func.slice.id
    return None


def _appended_layers(cls, attr: str) -> list[ast.Call]:  # type: ignore[no-untyped-def]
    """The calls appended to `self.<attr> = nn.ModuleList()` in `__init__`, in source order;
    empty when the list is made or filled any other way."""
    bindings = cls.attrs.get(attr, [])
    init = cls.methods.get("__init__")
    if init is None or len(bindings) != 1 or type(bindings[0].value) is not ast.Call:
        return []
    made = bindings[0].value
    if made.args or made.keywords or dotted(made.func) not in ("nn.ModuleList", "torch.nn.ModuleList", "ModuleList"):
        return []
    appended: list[ast.Call] = []
    others = [site for method in cls.methods.values() if method is not init for site in method.calls]
    if any(type(site.receiver) is ast.Attribute and site.receiver.attr == attr and site.method in (
            "append", "extend", "insert") for site in others):
        return []  # filled elsewhere too
    for other in init.calls:
        receiver = other.receiver
        if type(receiver) is ast.Attribute and type(receiver.value) is ast.Name and receiver.value.id == "self" and (
            receiver.attr == attr
        ):
            if other.method != "append" or len(other.node.args) != 1 or type(other.node.args[0]) is not ast.Call:
                return []
            appended.append(other.node.args[0])
    appended.sort(key=lambda node: (node.lineno, node.col_offset))
    return appended


def _sizes_agree(layer: ast.Call, kind: str, norm: ast.Call) -> bool:
    """False when both sizes are literals that differ (something else sits between)."""
    out_index = 0 if kind.startswith("Lazy") else 1
    out_name = "out_features" if "Linear" in kind else "out_channels"
    out = argument(layer, out_index, out_name)
    features = argument(norm, 0, "num_features")
    if out is None or features is None:
        return True
    a, b = constant_value(out), constant_value(features)
    if a is not None and b is not None:
        return a == b
    if type(out) is ast.Name and type(features) is ast.Name:
        return out.id == features.id
    return True


def _constructor(sem: Semantic, scope: Scope, element: ast.expr, line: int) -> tuple[ast.Call | None, str | None]:
    """The torch.nn constructor call an element is (or a local name bound to one)."""
    if type(element) is ast.Call:
        kind = _torch_nn_class(sem, element)
        if kind in _BIASED_LAYERS or kind in _BATCHNORMS:
            return element, None
        return None, None
    if type(element) is ast.Name:
        bindings = [b for b in scope.bindings.get(element.id, []) if b.line <= line]
        if len(bindings) == 1 and type(bindings[0].value) is ast.Call:
            value = bindings[0].value
            kind = _torch_nn_class(sem, value)
            if kind in _BIASED_LAYERS or kind in _BATCHNORMS:
                return value, element.id  # type: ignore[return-value]
    return None, None


def _attr_constructor(cls, attr: str) -> ast.Call | None:  # type: ignore[no-untyped-def]
    bindings = cls.attrs.get(attr, [])
    if len(bindings) != 1 or type(bindings[0].value) is not ast.Call:
        return None
    return bindings[0].value


def _previous_assignment(site: CallSite, name: str) -> ast.expr | None:
    """The value of `name = <value>` when that assignment is the statement right before."""
    index = _index(site.block, site.stmt)
    if not index:
        return None
    previous = site.block[index - 1]
    if type(previous) is not ast.Assign or len(previous.targets) != 1:
        return None
    target = previous.targets[0]
    if type(target) is not ast.Name or target.id != name:
        return None
    stmt = site.stmt
    rebinds = type(stmt) is ast.Assign and any(type(t) is ast.Name and t.id == name for t in stmt.targets)
    if not rebinds and site.scope.owner.name_reads(site.scope).get(name, 0) != 1:
        return None  # the layer's output is also used somewhere else
    return previous.value


def _index(block: list[ast.stmt], stmt: ast.stmt) -> int | None:
    for index, candidate in enumerate(block):
        if candidate is stmt:
            return index
    return None


def _attribute_mentions(sem: Semantic, cls, attr: str) -> int:  # type: ignore[no-untyped-def]
    """How many times `self.<attr>` is read in the class's methods."""
    return cls.self_reads.get(attr, 0)
