"""NN503 view-as-permute."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Binding, CallSite, Scope, Semantic, argument, constant_value, dotted, subtree
from nnlint.message import Message, t, t_docs
from nnlint.calls import call_index

_RESHAPES = ("view", "reshape")
_PASS_THROUGH = frozenset({"split", "chunk", "contiguous", "unbind", "tensor_split"})
_PROJECTIONS = frozenset({"torch.nn.Linear", "torch.nn.LazyLinear", "torch.nn.functional.linear"})


@dataclass
class DimRef:
    """`x.shape[i]`, `x.size(i)` or a name unpacked from `x.shape`."""

    tensor: str
    binding: Binding | None  # the binding of the tensor where its size was read
    index: int
    ndim: int | None
    where: ast.AST  # the node that read the size (for related locations)
    unpacked: ast.expr | None = None  # the tuple target when unpacked from the shape


@dataclass
class Analysis:
    kind: str  # "permute" | "reorder" | "split"
    source: DimRef
    perm: list[int] | None = None
    suggestion: str | None = None
    displaced: str | None = None
    before: str | None = None


@register
class ViewAsPermute(Rule):
    """
    ## What it does
    Flags `.view()`/`.reshape()` calls whose sizes are the tensor's own dimensions
    in a different order, such as `x.view(b, c, h, w)` after
    `b, h, w, c = x.shape`, and head splits that put the head axis before the
    sequence axis (`q.view(B, n_head, T, d)` on a `(B, T, C)` tensor). Also
    follows the memory layout of concatenated tensors:
    `torch.cat([h[0], h[1]], dim=0).view(batch, -1)` on the final states of an
    RNN whose initial state declares their sizes puts the batch before the axis of
    the two pieces.

    ## Why is this bad?
    `view` and `reshape` never move data: they reinterpret the same memory, read in
    row-major order, with new sizes. Asking for the sizes in another order produces
    a tensor of the expected shape filled with scrambled values (pixels mixed
    across channels, tokens mixed across heads). Nothing fails: the model simply
    trains much worse than it should.

    ## Example
    ```python
    b, t, c = x.shape          # (batch, time, channels)
    x = x.view(b, c, t)        # meant: channels first
    ```

    ## Use instead
    ```python
    b, t, c = x.shape
    x = x.permute(0, 2, 1)     # or x.transpose(1, 2)
    ```
    For attention heads: `q.view(B, T, n_head, d).transpose(1, 2)`.

    ## Fix
    When the sizes are exactly a reordering of the tensor's dimensions, replaces the
    call by `permute(...)` with the matching axis order (followed by
    `.contiguous()` when the result is viewed again later). Head splits are reported
    without an automatic fix.
    """

    code = "NN503"
    name = "view-as-permute"
    severity = Severity.WARNING
    summary = "view()/reshape() with reordered dimension sizes scrambles the data; use permute()"
    fix_title = "Replace with permute(...)"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        index = call_index(sem)
        for site in index.either(index.named(("torch.reshape",)), index.methods(_RESHAPES)):
            call = site.node
            name = sem.call_name(call)
            if name == "torch.reshape":
                if len(call.args) != 2:
                    continue
                target = call.args[0]
                second = call.args[1]
                sizes = list(second.elts) if type(second) in (ast.Tuple, ast.List) else []  # type: ignore[attr-defined]
            elif site.method in _RESHAPES and not (name or "").startswith("torch."):
                target = site.receiver
                sizes = list(call.args)
            else:
                continue
            if target is None or call.keywords or not sizes:
                continue
            if len(sizes) == 1 and type(sizes[0]) in (ast.Tuple, ast.List):
                sizes = list(sizes[0].elts)  # type: ignore[attr-defined]
            if len(sizes) < 2 or any(type(s) is ast.Starred for s in sizes):
                continue
            analysis = (_analyse(sem, site, target, sizes) or _heads_into_batch(sem, site, target, sizes)
                        or _declared_reorder(sem, site, target, sizes))
            if analysis is None:
                hidden = _rnn_state_flattened(ctx, site, target, sizes)
                if hidden is not None:
                    yield self._state_finding(ctx, site, target, hidden)
                    continue
                stacked = _stacked_reorder(ctx, site, target, sizes)
                if stacked is not None:
                    yield self._layout_finding(ctx, site, target, stacked)
                continue
            yield self._finding(ctx, site, target, sizes, analysis)

    def _state_finding(self, ctx: Context, site: CallSite, target: ast.expr, hidden: "_HiddenState") -> Finding:
        call_text = ctx.text(site.node)
        if "\n" in call_text:
            call_text = f"{ctx.text(site.node.func)}(...)"
        target_text = ctx.text(target)
        message = t(
            "`{target}` is a final state of the `{layer}` built on line {layer_line}, shaped (layers x directions, "
            "batch, hidden) whatever `batch_first` says: `{call}` reads it in memory order, so each row mixes the "
            "states of different samples; use `{target}.transpose(0, 1).reshape(...)` (or "
            "`torch.cat((h[-2], h[-1]), dim=1)`)",
            target=target_text, layer=hidden.layer, layer_line=hidden.construction.lineno, call=call_text)
        related = [
            ctx.related(hidden.construction, t("the `{layer}` is built here", layer=hidden.layer)),
            ctx.related(hidden.binding.stmt, t("`{name}` is its final state (layers x directions, batch, hidden)",
                                               name=hidden.binding.name)),
        ]
        return ctx.finding(self, site.node, message, related)

    def _layout_finding(self, ctx: Context, site: CallSite, target: ast.expr, found: "_Misread") -> Finding:
        target_text = ctx.text(target)
        if "\n" in target_text or len(target_text) > 60:
            target_text = f"{ctx.text(target.func)}(...)" if type(target) is ast.Call else "..."
        call_text = ctx.text(site.node)
        if site.receiver is target:  # `torch.cat([...]).view(...)`: name the receiver once
            call_text = f"{target_text}.{site.method}({', '.join(ctx.text(a) for a in site.node.args)})"
        if "\n" in call_text:
            call_text = f"{ctx.text(site.node.func)}(...)"
        message = t(
            "`{call_text}` reads its tensor out of memory order: the axes lie in memory as ({layout}), so "
            "{displaced} lies before {before}; view/reshape keep the memory order, so this mixes values across "
            "{displaced} instead of moving that axis; move it behind {before} with transpose/permute first",
            call_text=call_text, target=target_text, layout=found.layout, displaced=found.displaced,
            before=found.before)
        related = [ctx.related(node, note) for node, note in found.steps]
        return ctx.finding(self, site.node, message, related)

    def _finding(self, ctx: Context, site: CallSite, target: ast.expr, sizes: list[ast.expr],
                 analysis: Analysis) -> Finding:
        sem = ctx.semantic
        call_text = ctx.text(site.node)
        if "\n" in call_text:
            call_text = f"{ctx.text(site.node.func)}(...)"
        tensor = analysis.source.tensor
        target_text = ctx.text(target)
        line = analysis.source.where.lineno  # type: ignore[attr-defined]
        layout = None
        if analysis.source.unpacked is not None:
            layout = ctx.text(analysis.source.unpacked)
            if not layout.startswith(("(", "[")):
                layout = f"({layout})"
            origin = t("its sizes were unpacked as `{layout}` on line {line}", layout=layout, line=line)
            related_message = t("`{tensor}` has the shape `{layout}`", tensor=tensor, layout=layout)
        else:
            origin = t("the sizes are read from `{tensor}` on line {line}", tensor=tensor, line=line)
            related_message = t("size of `{tensor}` read here", tensor=tensor)
        if analysis.kind == "declared":
            related_message = t("`{tensor}` is created with these sizes, in this memory order", tensor=tensor)
        related = [ctx.related(analysis.source.where, related_message)]
        fix = None
        if analysis.kind == "permute":
            assert analysis.perm is not None
            order = ", ".join(str(i) for i in analysis.perm)
            replacement = f"{target_text}.permute({order})"
            if site.method is None or site.receiver is not target:
                alias = ctx.text(site.node.func).rsplit(".", 1)[0]
                replacement = f"{alias}.permute({target_text}, ({order}))"
            if _viewed_again(sem, site):
                replacement += ".contiguous()"
            message = (
                t(
                    "`{call_text}` reorders the dimensions of `{tensor}` ({origin}): view/reshape keep the "
                    "memory order, so this scrambles the data instead of moving axes; use `{replacement}`",
                    call_text=call_text,
                    tensor=tensor,
                    origin=origin,
                    replacement=replacement,
                )
            )
            if type(target) in (ast.Name, ast.Attribute):
                fix = Fix(t_docs(self.fix_title), (ctx.replace(site.node, replacement),))
        elif analysis.kind == "split":
            message = (
                t(
                    "`{call_text}` puts `{analysis_displaced}` before `{analysis_before}`, but the data of "
                    "`{target_text}` is laid out with `{analysis_before}` before the axis being split "
                    "({origin}): this regroups memory and mixes positions across the new axis instead of "
                    "splitting the last one; ",
                    call_text=call_text,
                    analysis_displaced=analysis.displaced,
                    analysis_before=analysis.before,
                    target_text=target_text,
                    origin=origin,
                )
            )
            if analysis.suggestion:
                message += t("use `{analysis_suggestion}`", analysis_suggestion=analysis.suggestion)
            else:
                message += t("split the last axis in place, then move axes with transpose/permute")
        elif analysis.kind == "heads":
            message = (
                t(
                    "`{call_text}` folds heads into the batch axis straight from the projection "
                    "`{target_text}` (batch, sequence, heads x dim): memory runs over the sequence before the "
                    "heads, so each \"head\" gets a slice of positions, not of features ({origin}); split the "
                    "last axis first: `{analysis_suggestion}`",
                    call_text=call_text,
                    target_text=target_text,
                    origin=origin,
                    analysis_suggestion=analysis.suggestion,
                )
            )
        elif analysis.kind == "declared":
            creation = ctx.text(analysis.source.where)
            if "\n" in creation:
                creation = f"{ctx.text(analysis.source.where.func)}(...)"  # type: ignore[attr-defined]
            message = (
                t(
                    "`{call_text}` reads `{tensor}` out of its memory order: it was created as `{creation}` on "
                    "line {line}, so `{analysis_displaced}` lies before `{analysis_before}` in memory; view/reshape "
                    "keep the memory order, so this mixes values across `{analysis_displaced}` instead of moving "
                    "that axis; use `{analysis_suggestion}`",
                    call_text=call_text,
                    tensor=tensor,
                    creation=creation,
                    line=line,
                    analysis_displaced=analysis.displaced,
                    analysis_before=analysis.before,
                    analysis_suggestion=analysis.suggestion,
                )
            )
        else:
            message = (
                t(
                    "`{call_text}` lists the dimensions of `{tensor}` out of order ({origin}): view/reshape "
                    "keep the memory order, so this scrambles the data; move axes with permute/transpose first",
                    call_text=call_text,
                    tensor=tensor,
                    origin=origin,
                )
            )
        return ctx.finding(self, site.node, message, related, fix)


# --------------------------------------------------------------------------- analysis
def _analyse(sem: Semantic, site: CallSite, target: ast.expr, sizes: list[ast.expr]) -> Analysis | None:
    refs: list[DimRef | None] = [_dim_ref(sem, size, site.scope, site.line) for size in sizes]
    known = [r for r in refs if r is not None]
    if not known:
        return None
    first = known[0]
    if any(r.tensor != first.tensor or r.binding is not first.binding for r in known):
        return None  # sizes from different tensors (or from different values of one name)
    ndim = next((r.ndim for r in known if r.ndim is not None), None)
    relation = _relation(sem, site, target, first)
    if relation is None:
        return None
    if relation == "projection" and ndim is None:
        return None
    terms: list[object] = []  # frozenset of dims | int constant | None (unknown)
    for size in sizes:
        term = _term(sem, size, site, ndim)
        if isinstance(term, frozenset) and relation == "projection" and ndim is not None and ndim - 1 in term:
            term = None  # the projection may change the last dimension
        terms.append(term)
    dims_seen: set[int] = set()
    for term in terms:
        if isinstance(term, frozenset):
            if term & dims_seen:
                return None  # the same dimension twice: not a reordering
            dims_seen |= term
    # a pure reordering of every dimension
    if all(isinstance(t, frozenset) for t in terms):
        flat = [d for t in terms for d in sorted(t)]  # type: ignore[union-attr]
        expected = set(range(ndim)) if ndim is not None else set(range(len(flat)))
        if set(flat) == expected:
            if flat == sorted(flat):
                return None
            if any(len(t) != 1 for t in terms) or any(  # type: ignore[arg-type]
                sorted(t) != list(range(min(t), max(t) + 1)) for t in terms  # type: ignore[arg-type]
            ):
                return Analysis("reorder", first) if relation == "same" else None
            if relation == "same" and (ndim is not None or len(flat) == len(sizes)):
                return Analysis("permute", first, perm=flat)
            return None
    prefix_dims: set[int] = set()
    prefix_others: list[int] = []
    for position, term in enumerate(terms):
        if isinstance(term, frozenset) and relation == "same" and not prefix_others and _jumps_ahead(
                term, prefix_dims, terms[position + 1:]):
            return Analysis("reorder", first)
        if isinstance(term, frozenset):
            low = min(term)
            if sorted(term) != list(range(low, max(term) + 1)):
                return Analysis("reorder", first) if relation == "same" else None
            if any(d > low for d in prefix_dims):
                return Analysis("reorder", first) if relation == "same" else None
            if prefix_dims == set(range(low)) and prefix_others and low > 0:
                displaced = [sizes[i] for i in prefix_others]
                return _split(site, target, sizes, position, prefix_others, first, displaced)
            prefix_dims |= term
        elif term is None or (isinstance(term, int) and term not in (1,)):
            prefix_others.append(position)
    return None


_CREATORS = frozenset({"torch.zeros", "torch.ones", "torch.empty", "torch.randn", "torch.rand"})
_NEW_TENSOR_METHODS = frozenset({"new_zeros", "new_ones", "new_empty"})
# in-place methods that change a tensor's shape or strides (its declared sizes no longer hold)
_IN_PLACE_RESHAPES = frozenset({"transpose_", "t_", "squeeze_", "unsqueeze_", "resize_", "resize_as_",
                                "swapdims_", "swapaxes_", "as_strided_", "set_"})


def _declared_reorder(sem: Semantic, site: CallSite, target: ast.expr, sizes: list[ast.expr]) -> Analysis | None:
    """QANet's self-attention: `heads = torch.zeros(n_heads, B, L, d)` is filled head by
    head, then `heads.view(B, L, -1)`. The creation call declares the memory order; a size
    of the view that is, expression for expression, one of the declared sizes names that
    axis. When an axis is left out of the view (its declared size not 1) and a later axis
    comes first, the left-out axis can only be folded in after it: the view mixes values
    across it (heads into positions) instead of moving it."""
    name = dotted(target)
    if name is None:
        return None
    binding = sem.lookup(name, site.scope, site.line)
    if binding is None or binding.kind != "assign" or type(binding.value) is not ast.Call:
        return None
    creation = binding.value
    declared = _creation_sizes(sem, creation)
    if declared is None or len(declared) < 2 or _reshaped_in_place(site.scope, name, binding.line, site.line):
        return None
    terms: list[int | None] = []
    for size in sizes:
        matches = [i for i, d in enumerate(declared) if _same_size(sem, size, site, d, binding)]
        if len(matches) > 1:
            return None  # two axes declared with the same size: which one is meant is unknown
        terms.append(matches[0] if matches else None)
    seen = [t for t in terms if t is not None]
    if not seen or len(set(seen)) != len(seen):
        return None
    perm = seen + [d for d in range(len(declared)) if d not in seen]
    texts = [ast.unparse(s) for s in sizes]
    suggestion = f"{ast.unparse(target)}.permute({', '.join(map(str, perm))}).reshape({', '.join(texts)})"
    source = DimRef(name, binding, 0, len(declared), creation)
    for position, term in enumerate(terms):
        if term is None:
            continue
        earlier = [t for t in terms[:position] if t is not None]
        unknown_before = any(t is None for t in terms[:position])
        # a declared axis before this one that the view has not placed yet
        skipped = [d for d in range(term) if d not in earlier and constant_value(declared[d]) != 1]
        later_in_memory = [t for t in earlier if t > term]
        if later_in_memory:  # `view(B, H, ...)` of `zeros(H, B, ...)`
            displaced, before = term, later_in_memory[0]
        elif skipped and not unknown_before:  # `view(B, L, -1)` of `zeros(H, B, L, d)`
            displaced, before = skipped[0], term
        else:
            continue
        return Analysis("declared", source, suggestion=suggestion, displaced=ast.unparse(declared[displaced]),
                        before=ast.unparse(declared[before]))
    return None


def _creation_sizes(sem: Semantic, creation: ast.Call) -> list[ast.expr] | None:
    """The sizes a creation call declares: `torch.zeros(a, b, c)`, `torch.zeros((a, b, c))`,
    `x.new_zeros(a, b)`; None for other calls or sizes spelled with `*`."""
    name = sem.call_name(creation) or ""
    func = creation.func
    if name not in _CREATORS and not (type(func) is ast.Attribute and func.attr in _NEW_TENSOR_METHODS
                                      and not name.startswith("torch.")):
        return None
    args = list(creation.args)
    if len(args) == 1 and type(args[0]) in (ast.Tuple, ast.List):
        args = list(args[0].elts)  # type: ignore[attr-defined]
    if not args or any(type(a) is ast.Starred for a in args) or any(k.arg == "size" for k in creation.keywords):
        return None
    return args


def _same_size(sem: Semantic, size: ast.expr, site: CallSite, declared: ast.expr, binding: Binding) -> bool:
    """The view's size is the very expression declared (and none of its names rebound between)."""
    if type(size) not in (ast.Name, ast.Attribute) or ast.dump(size) != ast.dump(declared):
        return False
    for node in ast.walk(size):
        if type(node) is ast.Name and sem.lookup(node.id, site.scope, site.line) is not sem.lookup(
                node.id, binding.scope, binding.line):
            return False
    return True


def _reshaped_in_place(scope: Scope, name: str, start: int, end: int) -> bool:
    return any(call.method in _IN_PLACE_RESHAPES and call.receiver is not None and dotted(call.receiver) == name
               and start <= call.line <= end for call in scope.calls)


_PROJECTION_KEEPERS = frozenset({"relu", "gelu", "tanh", "sigmoid", "contiguous", "float", "half", "to"})


def _heads_into_batch(sem: Semantic, site: CallSite, target: ast.expr, sizes: list[ast.expr]) -> Analysis | None:
    """FuxiCTR's attention layers: `q = self.W_q(x)` (an nn.Linear, so `(B, L, H*d)`), then
    `q.view(B * H, -1, d)` with `B = q.size(0)`, and the result goes into `torch.bmm` with a
    transposed partner, which makes its middle axis a sequence. Row-major memory holds the
    whole sequence of one example before the next, so the heads get chunks of positions.
    (On a 2-D `(B, H*d)` projection the same view would be right, but then the attention
    would run over sequences of length one: the bmm is what rules that out.)"""
    if len(sizes) != 3 or constant_value(sizes[1]) != -1 or type(sizes[0]) is not ast.BinOp or type(
        sizes[0].op
    ) is not ast.Mult or site.method not in ("view", "reshape"):
        return None
    factors = [sizes[0].left, sizes[0].right]
    refs = [_dim_ref(sem, factor, site.scope, site.line) for factor in factors]
    batch = next((r for r in refs if r is not None and r.index == 0), None)
    if batch is None or sum(r is not None for r in refs) != 1:
        return None
    if _relation(sem, site, target, batch) != "same" or not _linear_projection(sem, target, site):
        return None
    stmt = site.stmt
    if type(stmt) is not ast.Assign or len(stmt.targets) != 1 or type(stmt.targets[0]) is not ast.Name:
        return None
    name = stmt.targets[0].id
    if not _feeds_attention_product(sem, site, name):
        return None
    heads = ast.unparse(factors[1] if refs[0] is batch else factors[0])
    b, d = ast.unparse(factors[0] if refs[0] is batch else factors[1]), ast.unparse(sizes[2])
    suggestion = (f"{ast.unparse(target)}.view({b}, -1, {heads}, {d}).transpose(1, 2)"
                  f".reshape({b} * {heads}, -1, {d})")
    return Analysis("heads", batch, suggestion=suggestion)


def _linear_projection(sem: Semantic, tensor: ast.expr, site: CallSite) -> bool:
    """`tensor` is, at `site`, the output of an nn.Linear, through activations and casts
    (`q = self.W_q(x)`, then maybe `q = q.relu()`: either way a projection)."""
    expr, scope, line = tensor, site.scope, site.line
    for _ in range(4):
        name = dotted(expr)
        binding = sem.lookup(name, scope, line) if name is not None else None
        if binding is None or binding.value is None:
            return False
        value = binding.value
        if type(value) is ast.Call and type(value.func) is ast.Attribute and value.func.attr in _PROJECTION_KEEPERS:
            expr, line = value.func.value, binding.line
            continue
        return _is_linear_call(sem, value, scope, binding.line)
    return False


def _is_linear_call(sem: Semantic, value: ast.expr | None, scope: Scope, line: int) -> bool:
    if type(value) is not ast.Call:
        return False
    if sem.call_name(value) in _PROJECTIONS:
        return True
    return sem.constructed_class(value.func, scope, line) in _PROJECTIONS


def _feeds_attention_product(sem: Semantic, site: CallSite, name: str, depth: int = 0,
                             from_start: bool = False) -> bool:
    """`name` (or a value computed from it) meets a transposed partner in `torch.bmm` /
    `torch.matmul` later in the same function, or in the function it is passed to."""
    after = [other for other in site.scope.calls if from_start or other.pos > site.pos]
    derived = {name}
    for binding_name, bindings in site.scope.bindings.items():
        for binding in bindings:
            if (from_start or binding.line > site.line) and binding.value is not None and any(
                    type(n) is ast.Name and n.id == name for n in ast.walk(binding.value)):
                derived.add(binding_name)
    for other in after:
        if sem.call_name(other.node) in ("torch.bmm", "torch.matmul") and len(other.node.args) == 2:
            first, second = other.node.args
            if _mentions(first, derived) and _is_transposed(second) or _mentions(second, derived) and _is_transposed(first):
                return True
        if depth == 0 and _passed_to_attention(sem, other, derived):
            return True
    return False


def _passed_to_attention(sem: Semantic, call: CallSite, names: set[str]) -> bool:
    """`self.dot_product_attention(query, key, value)`: a same-file function, or the forward
    of a same-file module, whose parameter in that place meets the attention product."""
    positions = [i for i, arg in enumerate(call.node.args) if type(arg) is ast.Name and arg.id in names]
    if not positions:
        return False
    functions = sem.resolve_function(call.node, call.scope)
    if not functions and type(call.node.func) in (ast.Attribute, ast.Name):
        made = sem.constructed_class(call.node.func, call.scope, call.line)
        found = sem.find_class(made) if made is not None else None
        if found is not None and found[0] is sem and "forward" in found[1].methods:
            functions = [found[1].methods["forward"]]
    for function in functions:
        if sem.scope_of(function.node) is not function or not function.calls:
            continue
        params = [p for p in function.params if p != "self"]
        for index in positions:
            if index < len(params) and _feeds_attention_product(sem, function.calls[0], params[index], 1, True):
                return True
    return False


def _mentions(expr: ast.expr, names: set[str]) -> bool:
    return any(type(n) is ast.Name and n.id in names for n in ast.walk(expr))


def _is_transposed(expr: ast.expr) -> bool:
    return type(expr) is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr in ("transpose", "permute", "mT")


def _jumps_ahead(term: frozenset, prefix_dims: set[int], rest: list[object]) -> bool:
    """lightly-train's DINOv2 wrapper: `t.reshape(t.shape[0], t.shape[2], h, w)` on a `(B, N, D)`
    tensor. Every size so far is the tensor's own leading dimensions in order, then a later
    dimension comes next while the skipped ones can only be the sizes still to come (`h, w`):
    they are moved behind it, which reorders memory. Without sizes after it the skipped
    dimensions would be 1 (`(B, 1, D).view(B, D)`), which is fine. A skipped leading axis is
    left alone: style transfer's Gram matrix `X.reshape(X.shape[1], n)` drops a batch of one."""
    low = min(term)
    if not prefix_dims or prefix_dims != set(range(len(prefix_dims))) or low <= len(prefix_dims):
        return False
    return any(later is None or (isinstance(later, int) and later != 1) for later in rest)


def _split(site: CallSite, target: ast.expr, sizes: list[ast.expr], position: int, others: list[int],
           source: DimRef, displaced: list[ast.expr]) -> Analysis:
    texts = [ast.unparse(s) for s in sizes]
    suggestion = None
    if len(others) == 1 and others[0] == position - 1:
        k = others[0]
        new = texts[:k] + [texts[position], texts[k]] + texts[position + 1:]
        method = site.method or "reshape"
        suggestion = f"{ast.unparse(target)}.{method}({', '.join(new)}).transpose({k}, {k + 1})"
    return Analysis(
        "split", source, suggestion=suggestion, displaced=", ".join(ast.unparse(d) for d in displaced),
        before=texts[position],
    )


def _term(sem: Semantic, size: ast.expr, site: CallSite, ndim: int | None) -> object:
    value = constant_value(size)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if type(size) is ast.BinOp and type(size.op) is ast.Mult:
        left = _term(sem, size.left, site, ndim)
        right = _term(sem, size.right, site, ndim)
        if isinstance(left, frozenset) and isinstance(right, frozenset) and not left & right:
            return left | right
        return None
    ref = _dim_ref(sem, size, site.scope, site.line)
    if ref is None:
        return None
    index = ref.index
    if index < 0:
        if ndim is None:
            return None
        index += ndim
    if ndim is not None and not 0 <= index < ndim:
        return None
    return frozenset({index})


def _shape_of(node: ast.expr | None) -> ast.expr | None:
    """`x` for `x.shape`, `x.size()`, `tuple(x.shape)`, `list(x.size())`."""
    if node is None:
        return None
    if type(node) is ast.Call and type(node.func) is ast.Name and node.func.id in ("tuple", "list") and len(
        node.args
    ) == 1:
        node = node.args[0]
    if type(node) is ast.Attribute and node.attr == "shape":
        return node.value
    if (
        type(node) is ast.Call
        and type(node.func) is ast.Attribute
        and node.func.attr == "size"
        and not node.args
        and not node.keywords
    ):
        return node.func.value
    return None


def _tensor_key(tensor: ast.expr) -> tuple[str, str] | None:
    """(text naming the tensor, the name whose binding decides it): `x` and `self.h` name
    themselves; `out["tokens"]` (a constant key) is decided by `out`."""
    name = dotted(tensor)
    if name is not None:
        return name, name
    if type(tensor) is ast.Subscript and type(tensor.slice) is ast.Constant and isinstance(
        tensor.slice.value, (str, int)
    ):
        root = dotted(tensor.value)
        if root is not None:
            return f"{root}[{tensor.slice.value!r}]", root
    return None


def _tensor_ref(sem: Semantic, tensor: ast.expr, scope: Scope, line: int, index: int, ndim: int | None,
                where: ast.AST, unpacked: ast.expr | None = None) -> DimRef | None:
    key = _tensor_key(tensor)
    if key is None:
        return None
    return DimRef(key[0], sem.lookup(key[1], scope, line), index, ndim, where, unpacked)


def _dim_ref(sem: Semantic, size: ast.expr, scope: Scope, line: int, depth: int = 0) -> DimRef | None:
    kind = type(size)
    if kind is ast.Call:
        func = size.func  # type: ignore[attr-defined]
        if type(func) is ast.Attribute and func.attr == "size" and len(size.args) == 1 and not size.keywords:  # type: ignore[attr-defined]
            index = constant_value(size.args[0])  # type: ignore[attr-defined]
            if isinstance(index, int) and not isinstance(index, bool):
                return _tensor_ref(sem, func.value, scope, line, index, None, size)
        return None
    if kind is ast.Subscript:
        tensor = _shape_of(size.value)  # type: ignore[attr-defined]
        index = constant_value(size.slice)  # type: ignore[attr-defined]
        if tensor is not None and isinstance(index, int) and not isinstance(index, bool):
            return _tensor_ref(sem, tensor, scope, line, index, None, size)
        return None
    if kind is ast.Name and depth < 3:
        binding = sem.lookup(size.id, scope, line)  # type: ignore[attr-defined]
        if binding is None:
            return None
        if binding.kind == "unpack":
            stmt = binding.stmt
            if type(stmt) is not ast.Assign or len(stmt.targets) != 1:
                return None
            target = stmt.targets[0]
            tensor = _shape_of(stmt.value)
            if tensor is None or type(target) not in (ast.Tuple, ast.List):
                return None
            elements = target.elts  # type: ignore[attr-defined]
            starred = any(type(e) is ast.Starred for e in elements)
            for position, element in enumerate(elements):
                if type(element) is ast.Starred:
                    return None
                if type(element) is ast.Name and element.id == size.id:  # type: ignore[attr-defined]
                    ndim = None if starred else len(elements)
                    return _tensor_ref(sem, tensor, binding.scope, binding.line, position, ndim, stmt, target)
            return None
        if binding.kind == "assign" and binding.value is not None:
            return _dim_ref(sem, binding.value, binding.scope, binding.line, depth + 1)
    return None


def _relation(sem: Semantic, site: CallSite, target: ast.expr, source: DimRef) -> str | None:
    """"same" when the reshaped tensor is the one the sizes came from, "projection" when it is a
    linear projection of it (same leading dimensions), else None."""
    key = _tensor_key(target)
    if key is not None and key[0] != key[1]:
        # `out["tokens"]`: only ever the very tensor its sizes came from
        same = key[0] == source.tensor and sem.lookup(key[1], site.scope, site.line) is source.binding
        return "same" if same else None
    name = dotted(target)
    if name is not None:
        binding = sem.lookup(name, site.scope, site.line)
        if name == source.tensor and binding is source.binding:
            return "same"
        if binding is None or binding.scope is not site.scope:
            return None
        value: ast.expr | None = binding.value
        if binding.kind == "unpack" and type(binding.stmt) is ast.Assign:
            value = binding.stmt.value
        return "projection" if _is_projection(sem, value, binding.scope, binding.line, source) else None
    return "projection" if _is_projection(sem, target, site.scope, site.line, source) else None


def _is_projection(sem: Semantic, value: ast.expr | None, scope: Scope, line: int, source: DimRef) -> bool:
    for _ in range(4):
        if type(value) is ast.Call and type(value.func) is ast.Attribute and value.func.attr in _PASS_THROUGH:
            value = value.func.value
        else:
            break
    if type(value) is not ast.Call or not value.args:
        return False
    argument = value.args[0]
    if dotted(argument) != source.tensor or sem.lookup(source.tensor, scope, line) is not source.binding:
        return False
    return _is_linear_call(sem, value, scope, line)


def _viewed_again(sem: Semantic, site: CallSite) -> bool:
    """Whether the result (assigned to a name) is later reshaped with `.view`."""
    stmt = site.stmt
    if type(stmt) is not ast.Assign or stmt.value is not site.node or len(stmt.targets) != 1:
        return False
    target = stmt.targets[0]
    if type(target) is not ast.Name:
        return False
    for other in site.scope.calls:
        if other.method == "view" and other.line >= site.line and other is not site:
            receiver = other.receiver
            if type(receiver) is ast.Name and receiver.id == target.id:
                binding = sem.lookup(target.id, site.scope, other.line)
                if binding is not None and binding.stmt is stmt:
                    return True
    return False


# ------------------------------------------------------------------ RNN final states
_RNN_LAYERS = {"torch.nn.LSTM": "nn.LSTM", "torch.nn.GRU": "nn.GRU", "torch.nn.RNN": "nn.RNN"}


@dataclass
class _HiddenState:
    binding: Binding
    construction: ast.Call
    layer: str  # "nn.LSTM"


def _rnn_state_flattened(ctx: Context, site: CallSite, target: ast.expr, sizes: list[ast.expr]) -> _HiddenState | None:
    """`h_n.view(batch, -1)` or `h_n[-2:].view(batch, -1)`, where `h_n` is the final hidden (or
    cell) state that an nn.LSTM/GRU/RNN returns: its layout is (num_layers * num_directions,
    batch, hidden) also with `batch_first=True`, so folding it into (batch, -1) mixes samples.
    Only when more than one layer or direction is certain: a `[-k:]` slice with k >= 2, or
    the layer built with `bidirectional=True` or a literal `num_layers` >= 2 and viewed
    whole (a single layer's (1, batch, hidden) viewed as (batch, -1) is fine)."""
    if len(sizes) != 2 or constant_value(sizes[1]) != -1 or constant_value(sizes[0]) == -1:
        return None
    base = target
    sliced = False
    if type(base) is ast.Subscript:
        part = base.slice
        if type(part) is not ast.Slice or part.upper is not None or part.step is not None:
            return None
        lower = constant_value(part.lower)
        if not isinstance(lower, int) or isinstance(lower, bool) or lower > -2:
            return None
        sliced = True
        base = base.value
    if type(base) is not ast.Name:
        return None
    sem = ctx.semantic
    binding = sem.lookup(base.id, site.scope, site.line)
    if binding is None or binding.kind != "unpack" or type(binding.stmt) is not ast.Assign:
        return None
    stmt = binding.stmt
    if len(stmt.targets) != 1 or type(stmt.value) is not ast.Call:
        return None
    path = _target_path(stmt.targets[0], base.id)
    if path is None or not path or path[0] != 1:
        return None
    made = ctx.values.construction(stmt.value.func, binding.scope, binding.line)
    if made is None:
        return None
    construction = made[0]
    layer = _RNN_LAYERS.get(ctx.values.name_of(construction) or "")
    if layer is None:
        return None
    if path != ((1, 0) if layer == "nn.LSTM" else (1,)) and not (layer == "nn.LSTM" and path == (1, 1)):
        return None  # `out, hidden = lstm(x)`: `hidden` is the (h, c) pair, not a tensor
    if not sliced and not _several_layers_or_directions(construction):
        return None
    return _HiddenState(binding, construction, layer)


def _target_path(target: ast.expr, name: str) -> tuple[int, ...] | None:
    """Where `name` sits in an unpacking target: `out, (h, c)` -> (1, 0) for `h`."""
    if type(target) is ast.Name:
        return () if target.id == name else None
    if type(target) in (ast.Tuple, ast.List):
        for index, element in enumerate(target.elts):  # type: ignore[attr-defined]
            inner = _target_path(element, name)
            if inner is not None:
                return (index, *inner)
    return None


def _several_layers_or_directions(construction: ast.Call) -> bool:
    for keyword_ in construction.keywords:
        if keyword_.arg == "bidirectional" and constant_value(keyword_.value) is True:
            return True
        if keyword_.arg == "num_layers":
            layers = constant_value(keyword_.value)
            if isinstance(layers, int) and not isinstance(layers, bool) and layers >= 2:
                return True
    if len(construction.args) >= 3:  # nn.LSTM(input_size, hidden_size, num_layers, ...)
        layers = constant_value(construction.args[2])
        if isinstance(layers, int) and not isinstance(layers, bool) and layers >= 2:
            return True
    return False


# ------------------------------------------------------------------ memory layouts
@dataclass
class _Axis:
    """One axis of a tensor's memory layout: its size as an expression (read in `scope` at
    `line`), a count (`torch.cat` of k tensors adds an axis of k), or unknown (None)."""

    size: ast.expr | int | None
    scope: Scope | None = None
    line: int = 0


@dataclass
class _Layout:
    axes: list[_Axis]  # outer first, as memory is read
    steps: list[tuple[ast.AST, Message]]  # how the layout was found, for related lines


@dataclass
class _Misread:
    layout: str
    displaced: Message | str
    before: Message | str
    steps: list[tuple[ast.AST, Message]]


# methods that return their receiver's layout (in-place fills, copies, casts)
_SAME_LAYOUT = frozenset({"zero_", "fill_", "normal_", "uniform_", "detach", "clone", "contiguous", "float", "double",
                          "half", "to", "cuda", "cpu"})
_STATE_CREATORS = _NEW_TENSOR_METHODS | {"new"}  # `x.data.new(*sizes)`: legacy, same sizes


def _stacked_reorder(ctx: Context, site: CallSite, target: ast.expr, sizes: list[ast.expr]) -> _Misread | None:
    """fairseq's LSTM encoder: `torch.cat([h[2 * i], h[2 * i + 1]], dim=0).view(1, bsz, 2 * H)`
    on the final states of a bidirectional nn.LSTM. Their sizes are those of the initial
    state the LSTM was given (`h0 = x.new(2 * layers, bsz, H)`): each `h[k]` is `(bsz, H)`, and
    the concatenation lays out `(2, bsz, H)` in memory. A view that names an axis while an
    axis before it in memory (of a size other than 1) is left for later can only fold that
    axis in behind it: here each row gets the states of two samples, not the two directions
    of one. The layout is followed through what a tensor provably is: a creation call's
    sizes, an RNN's final state (the shape of its initial state), an integer index (drops the
    first axis), `torch.cat` along dim 0 of tensors of one layout, and a parameter every
    caller fills alike. A view size names an axis only as the very same expression."""
    found = _layout(ctx, target, site.scope, site.line, 0)
    if found is None or len(found.axes) < 2:
        return None
    sem = ctx.semantic
    keys = [_size_key(sem, axis.size, axis.scope, axis.line) for axis in found.axes]
    placed: list[int] = []
    unknown_before = False
    for size in sizes:
        if constant_value(size) == 1:
            continue  # an axis of one adds nothing to the order
        key = _size_key(sem, size, site.scope, site.line)
        matches = [i for i, k in enumerate(keys) if k is not None and k == key]
        if len(matches) != 1:
            unknown_before = True
            continue
        axis = matches[0]
        later = [p for p in placed if p > axis]
        skipped = [d for d in range(axis) if d not in placed and _more_than_one(found.axes[d])]
        if later or skipped and not unknown_before:
            displaced, before = (axis, later[0]) if later else (skipped[0], axis)
            layout = ", ".join(_axis_text(a) for a in found.axes)
            return _Misread(layout, _axis_name(found.axes[displaced]), _axis_name(found.axes[before]), found.steps)
        placed.append(axis)
    return None


def _more_than_one(axis: _Axis) -> bool:
    if isinstance(axis.size, int):
        return axis.size > 1
    return axis.size is not None and constant_value(axis.size) != 1


def _axis_name(axis: _Axis) -> Message | str:
    if isinstance(axis.size, int):
        return t("the axis of the {count} concatenated tensors", count=axis.size)
    return f"`{_axis_text(axis)}`"


def _axis_text(axis: _Axis) -> str:
    if axis.size is None:
        return "?"
    return str(axis.size) if isinstance(axis.size, int) else ast.unparse(axis.size)


def _size_key(sem: Semantic, size: ast.expr | int | None, scope: Scope | None, line: int) -> tuple | None:
    """What makes two size expressions the same value: the expression, and the bindings its
    names have where it is read. None for counts, unknowns and anything but names and
    attributes (a view's `-1` or `2 * H` names no single axis)."""
    if size is None or isinstance(size, int) or scope is None or type(size) not in (ast.Name, ast.Attribute):
        return None
    bindings = []
    for node in ast.walk(size):
        if type(node) is ast.Name:
            binding = sem.lookup(node.id, scope, line)
            if binding is None:
                return None
            bindings.append(id(binding))
    return (ast.dump(size), tuple(bindings))


def _merge(sem: Semantic, layouts: list[_Layout]) -> _Layout | None:
    """The layout several values share: an axis whose size differs between them is unknown."""
    if not layouts or any(len(one.axes) != len(layouts[0].axes) for one in layouts):
        return None
    axes = []
    for position, axis in enumerate(layouts[0].axes):
        others = [one.axes[position] for one in layouts[1:]]
        if isinstance(axis.size, int):
            same = all(other.size == axis.size for other in others)
        else:
            key = _size_key(sem, axis.size, axis.scope, axis.line)
            same = key is not None and all(_size_key(sem, o.size, o.scope, o.line) == key for o in others)
        axes.append(axis if same else _Axis(None))
    return _Layout(axes, layouts[0].steps)


def _layout(ctx: Context, expr: ast.expr, scope: Scope, line: int, depth: int) -> _Layout | None:
    if depth > 10:
        return None
    sem = ctx.semantic
    kind = type(expr)
    if kind is ast.Call:
        func = expr.func  # type: ignore[attr-defined]
        name = sem.call_name(expr) or ""  # type: ignore[arg-type]
        if name == "torch.cat":
            return _cat_layout(ctx, expr, scope, line, depth)  # type: ignore[arg-type]
        if name in _CREATORS:
            return _created_layout(ctx, expr, scope, line)  # type: ignore[arg-type]
        if type(func) is not ast.Attribute or name.startswith("torch."):
            return None
        if func.attr in _SAME_LAYOUT:
            return _layout(ctx, func.value, scope, line, depth + 1)
        if func.attr in _STATE_CREATORS:
            return _created_layout(ctx, expr, scope, line)  # type: ignore[arg-type]
        return None
    if kind is ast.Subscript:
        if not _is_position(sem, expr.slice, scope):  # type: ignore[attr-defined]
            return None
        inner = _layout(ctx, expr.value, scope, line, depth + 1)  # type: ignore[attr-defined]
        if inner is None or len(inner.axes) < 2:
            return None
        return _Layout(inner.axes[1:], inner.steps)
    if kind is not ast.Name:
        return None
    binding = sem.lookup(expr.id, scope, line)  # type: ignore[attr-defined]
    if binding is None or any(_reshaped_in_place(where, expr.id, binding.line, line)  # type: ignore[attr-defined]
                              for where in {id(scope): scope, id(binding.scope): binding.scope}.values()):
        return None  # `h.transpose_(0, 1)` between: its layout is no longer the one it was made with
    if binding.kind == "param":
        filled = ctx.values.param_values(binding)
        layouts = [_layout(ctx, value, where, at, depth + 1) for value, where, at in filled]
        if not layouts or any(one is None for one in layouts):
            return None
        merged = _merge(sem, layouts)  # type: ignore[arg-type]
        if merged is None:
            return None
        notes = [(value, t("`{name}` is given this value here", name=binding.name)) for value, _w, _a in filled[:2]]
        return _Layout(merged.axes, merged.steps + notes)
    if binding.kind == "unpack":
        return _final_state_layout(ctx, binding, depth)
    if binding.kind != "assign":
        return None
    reaching = _reaching(binding, line)
    layouts = [_layout(ctx, b.value, b.scope, b.line, depth + 1) if b.value is not None and b.kind == "assign"
               else None for b in reaching]
    if any(one is None for one in layouts):
        return None
    return _merge(sem, layouts)  # type: ignore[arg-type]


def _reaching(binding: Binding, line: int) -> list[Binding]:
    """`binding` (the last one of its name before `line`) and, when it sits in a branch, the
    earlier bindings of the name in its scope back to one that sits in none; and in a loop
    around `line`, the bindings later in the loop (the previous iteration's): the values the
    name may hold (each must agree for a layout to be known)."""
    scope = binding.scope
    bindings = scope.bindings.get(binding.name, [])
    found = [binding]
    for loop in scope.loops:
        end = loop.node.end_lineno or loop.node.lineno
        if loop.node.lineno <= line <= end:
            found += [other for other in bindings if other is not binding and line <= other.line <= end]
    if not binding.branches:
        return found
    for other in reversed(bindings):
        if other is binding or other.line >= binding.line:
            continue
        found.append(other)
        if not other.branches:
            break
    return found


def _created_layout(ctx: Context, call: ast.Call, scope: Scope, line: int) -> _Layout | None:
    """`x.new(2 * layers, bsz, H)`, `x.new_zeros((a, b))`, or `x.new(*sizes)` with `sizes` a
    tuple bound before (every tuple that may reach it, axis by axis)."""
    sem = ctx.semantic
    args = list(call.args)
    legacy = type(call.func) is ast.Attribute and call.func.attr == "new"
    if legacy and len(args) == 1 and type(args[0]) is not ast.Starred:
        return None  # `x.new(data)`, `x.new((2, 3))`: the legacy constructor copies a sequence or tensor
    if len(args) == 1 and type(args[0]) in (ast.Tuple, ast.List):
        args = list(args[0].elts)  # type: ignore[attr-defined]
    if any(k.arg == "size" for k in call.keywords):
        return None  # `torch.zeros(size=...)`
    if len(args) == 1 and type(args[0]) is ast.Starred and type(args[0].value) is ast.Name:
        binding = sem.lookup(args[0].value.id, scope, line)
        if binding is None or binding.kind != "assign":
            return None
        layouts = []
        for one in _reaching(binding, line):
            value = one.value
            if one.kind != "assign" or type(value) not in (ast.Tuple, ast.List) or any(
                    type(e) is ast.Starred for e in value.elts):  # type: ignore[union-attr]
                return None
            layouts.append(_Layout([_Axis(e, one.scope, one.line) for e in value.elts], []))  # type: ignore[union-attr]
        merged = _merge(sem, layouts)
        if merged is None:
            return None
        return _Layout(merged.axes, [(call, t("the tensor is created here with the sizes of `{sizes}`",
                                               sizes=args[0].value.id))])
    if not args or any(type(a) is ast.Starred for a in args):
        return None
    return _Layout([_Axis(a, scope, line) for a in args], [(call, t("the tensor is created here with these sizes"))])


def _final_state_layout(ctx: Context, binding: Binding, depth: int) -> _Layout | None:
    """The final hidden (or cell) state an nn.LSTM/GRU/RNN returns has the shape of the
    initial state it was given (`out, (h_n, c_n) = lstm(x, (h0, c0))`)."""
    stmt = binding.stmt
    if type(stmt) is not ast.Assign or len(stmt.targets) != 1 or type(stmt.value) is not ast.Call:
        return None
    path = _target_path(stmt.targets[0], binding.name)
    call = stmt.value
    made = ctx.values.construction(call.func, binding.scope, binding.line)
    layer = _RNN_LAYERS.get(ctx.values.name_of(made[0]) or "") if made is not None else None
    if layer is None or path is None:
        return None
    initial = call.args[1] if len(call.args) >= 2 else None
    if initial is None or any(type(a) is ast.Starred for a in call.args):
        return None
    if layer == "nn.LSTM":
        if path not in ((1, 0), (1, 1)) or type(initial) is not ast.Tuple or len(initial.elts) != 2:
            return None
        initial = initial.elts[path[1]]
    elif path != (1,):
        return None
    found = _layout(ctx, initial, binding.scope, binding.line, depth + 1)
    if found is None:
        return None
    note = t("the final state of this `{layer}` has the shape of the initial state it is given", layer=layer)
    return _Layout(found.axes, found.steps + [(call, note)])


def _cat_layout(ctx: Context, call: ast.Call, scope: Scope, line: int, depth: int) -> _Layout | None:
    """`torch.cat([a, b], dim=0)` of tensors of one layout lays them out one after the other:
    a leading axis of 2 before their own axes."""
    pieces = call.args[0] if call.args else None
    dim = argument(call, 1, "dim")
    if type(pieces) not in (ast.List, ast.Tuple) or len(pieces.elts) < 2 or any(  # type: ignore[union-attr]
            type(e) is ast.Starred for e in pieces.elts):  # type: ignore[union-attr]
        return None
    if dim is not None and constant_value(dim) != 0:
        return None
    layouts = [_layout(ctx, e, scope, line, depth + 1) for e in pieces.elts]  # type: ignore[union-attr]
    if any(one is None for one in layouts):
        return None
    merged = _merge(ctx.semantic, layouts)  # type: ignore[arg-type]
    if merged is None:
        return None
    count = len(pieces.elts)  # type: ignore[union-attr]
    note = t("`torch.cat` puts these {count} tensors one after the other: an axis of {count} before their own",
             count=count)
    return _Layout([_Axis(count), *merged.axes], merged.steps + [(call, note)])


def _is_position(sem: Semantic, index: ast.expr, scope: Scope) -> bool:
    """An integer position (`h[0]`, `h[-1]`, `h[2 * i + 1]` with `i` from `range`): indexing
    by it drops the first axis. Slices, tuples and tensors (masks, index lists) do not."""
    kind = type(index)
    if kind is ast.Constant:
        return isinstance(index.value, int) and not isinstance(index.value, bool)  # type: ignore[attr-defined]
    if kind is ast.UnaryOp:
        return type(index.op) is ast.USub and _is_position(sem, index.operand, scope)  # type: ignore[attr-defined]
    if kind is ast.BinOp:
        return type(index.op) in (ast.Add, ast.Sub, ast.Mult) and _is_position(  # type: ignore[attr-defined]
            sem, index.left, scope) and _is_position(sem, index.right, scope)  # type: ignore[attr-defined]
    if kind is ast.Name:
        return _counts_over_range(sem, index.id, scope)  # type: ignore[attr-defined]
    return False


def _counts_over_range(sem: Semantic, name: str, scope: Scope) -> bool:
    """`name` is only ever the target of `for name in range(...)` (a loop or comprehension)
    in the function that reads it."""
    if any(b.kind != "loop" for b in scope.bindings.get(name, [])):
        return False
    loops = [node for node in subtree(scope.node) if type(node) in (ast.For, ast.comprehension)
             and type(node.target) is ast.Name and node.target.id == name]  # type: ignore[attr-defined]
    return bool(loops) and all(type(node.iter) is ast.Call and sem.call_name(node.iter) == "range"  # type: ignore[attr-defined]
                               for node in loops)
