"""NN602 tensor-result-discarded."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity, Span
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, dotted
from nnlint.values import DATALOADERS, values
from nnlint.message import t
from nnlint.calls import call_index

# Tensor methods that return a new tensor and leave the receiver as it was (their in-place
# twins end in `_`): called as a bare statement, they do nothing.
OUT_OF_PLACE = frozenset(
    {
        "to", "cuda", "cpu", "float", "double", "half", "bfloat16", "long", "int", "short", "byte", "bool",
        "char", "type", "detach", "clamp", "clip", "clamp_min", "clamp_max", "add", "sub", "subtract", "mul",
        "multiply", "div", "divide", "true_divide", "pow", "neg", "abs", "exp", "log", "sqrt", "sigmoid",
        "tanh", "relu", "masked_fill", "masked_scatter", "index_fill", "index_add", "index_copy", "scatter",
        "scatter_add", "squeeze", "unsqueeze", "t", "transpose", "permute", "reshape", "view", "flatten",
        "contiguous", "round", "floor", "ceil", "sign", "nan_to_num", "lerp", "addcmul", "addcdiv", "fill_diagonal",
        "normal", "pin_memory", "expand", "repeat",
    }
)
_CHAIN = OUT_OF_PLACE  # `x.float().cuda()`: every link returns a new tensor


@register
class TensorResultDiscarded(Rule):
    """
    ## What it does
    Flags an out-of-place tensor method called as a bare statement, its result
    thrown away: `x.to(device)`, `x.cuda()`, `x.float()`, `x.detach()`,
    `x.clamp(0, 1)`, `x.masked_fill(mask, 0)`, `x.add(y)`, ...

    ## Why is this bad?
    These methods return a *new* tensor and leave `x` unchanged. The line runs,
    does the work, and drops the result: the batch stays on the CPU (or the model
    and the data end up on different devices only later), the values are never
    clamped, the mask is never applied. Only methods ending in `_` (`add_`,
    `clamp_`, `masked_fill_`) change a tensor in place.

    On an `nn.Module`, `.to()`, `.cuda()` and `.float()` do work in place, and so
    does `.to()` on a Hugging Face `BatchEncoding` or a PyTorch Geometric `Data`:
    nothing is reported unless the object is proven to be a tensor (made by a
    torch function, a torch layer or loss, a tensor method, or taken from a batch of
    a `DataLoader` with the default collation).

    ## Example
    ```python
    for x, y in loader:
        x.to(device)
        y.to(device)
        loss = criterion(model(x), y)
    ```

    ## Use instead
    ```python
    for x, y in loader:
        x = x.to(device)
        y = y.to(device)
        loss = criterion(model(x), y)
    ```

    ## Fix
    Assigns the result back to the name (`x = x.to(device)`). Offered when the
    receiver is a plain name of the same function (not an attribute, which may be
    an `nn.Parameter` that cannot hold a plain tensor).
    """

    code = "NN602"
    name = "tensor-result-discarded"
    severity = Severity.WARNING
    summary = "An out-of-place tensor method as a bare statement: the new tensor is thrown away"
    fix_title = "Assign the result back"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        vals = None
        notebook = ctx.source.path.endswith(".ipynb") or ctx.source.path == "<notebook>"
        for site in call_index(sem).methods(OUT_OF_PLACE):
            if type(site.stmt) is not ast.Expr or site.stmt.value is not site.node:
                continue
            if site.method == "type" and not site.node.args and not site.node.keywords:
                continue  # `x.type()` only returns the type's name
            if notebook and not site.scope.is_function and site.stmt in sem.tree.body:
                continue  # a cell's last expression is displayed: the result is used
            tensor = _chain_root(site.node)
            if tensor is None:
                continue
            vals = vals or values(sem)
            proof = vals.tensor_proof(tensor, site.scope, site.line)
            if proof is None:
                continue
            yield self._finding(ctx, site, tensor, proof)

    def _finding(self, ctx: Context, site: CallSite, tensor: ast.expr, proof: ast.AST) -> Finding:
        name = ctx.text(tensor)
        call_text = _short(ctx.text(site.node))
        message = (
            t(
                "`{call_text}` returns a new tensor and the result is thrown away: `{name}` is unchanged "
                "(`.{site_method}()` is not in place); assign it back: `{name} = {call_text}`",
                call_text=call_text,
                name=name,
                site_method=site.method,
            )
        )
        related = []
        if type(proof) is ast.Call and (ctx.semantic.call_name(proof) or "") in DATALOADERS:
            related.append(ctx.related(proof, t("`{name}` is taken from a batch of this DataLoader, whose default collation makes tensors", name=name)))
        elif proof.lineno != site.line:  # type: ignore[attr-defined]
            related.append(ctx.related(proof, t("`{name}` is a tensor made here (line {proof_lineno})", name=name, proof_lineno=proof.lineno)))  # type: ignore[attr-defined]
        return ctx.finding(self, site.stmt, message, related, self._fix(ctx, site, tensor))

    def _fix(self, ctx: Context, site: CallSite, tensor: ast.expr) -> Fix | None:
        if type(tensor) is not ast.Name or tensor.id not in site.scope.bindings:
            return None  # an attribute, or a global read inside a function (assigning would make it local)
        stmt = site.stmt
        if not ctx.statement_starts_line(stmt):
            return None
        column = ctx.source.column(stmt.lineno, stmt.col_offset)
        edit = Edit(Span(stmt.lineno, column, stmt.lineno, column), f"{tensor.id} = ")
        return Fix(t("Assign back: {tensor_id} = ...", tensor_id=tensor.id), (edit,))


def _chain_root(call: ast.Call) -> ast.expr | None:
    """`x` for `x.float().cuda()`; None when the chain starts with something else."""
    receiver = call.func.value  # type: ignore[attr-defined]
    while type(receiver) is ast.Call and type(receiver.func) is ast.Attribute and receiver.func.attr in _CHAIN:
        receiver = receiver.func.value
    root = receiver
    while type(root) is ast.Subscript:  # `batch[0].to(device)`
        root = root.value
    return receiver if dotted(root) is not None else None


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
