"""NN402 requires-grad-typo."""

from __future__ import annotations

import ast
import re
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import SHAPE_METHODS, Binding, Scope, dotted
from nnlint.torchnames import is_module_constructor
from nnlint.values import values
from nnlint.message import t

TYPOS = frozenset(
    {
        "require_grad", "requires_grads", "require_grads", "requires_gradient", "requires_gradients",
        "require_gradient", "require_gradients", "requires_grad_", "require_grad_", "requiresgrad",
        "requiresGrad", "requires_Grad", "Requires_grad", "required_grad", "requried_grad", "requries_grad",
        "reqiures_grad", "requieres_grad", "requres_grad", "requirs_grad", "requires_grd", "requires_gard",
        "require_gard", "reguires_grad", "requires_grade", "requires_grads_", "rquires_grad", "reqires_grad",
    }
)
# attribute assignments whose name looks like requires_grad (cheap text pre-filter)
_CANDIDATE = re.compile(r"\.\s*([A-Za-z_]*[Rr]e[qg][A-Za-z_]*[Gg][A-Za-z_]*)\s*=(?!=)")
_ALLOWED_VALUES = (ast.Constant, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.Name, ast.Attribute)


def is_typo(name: str) -> bool:
    if name == "requires_grad":
        return False
    if name in TYPOS:
        return True
    lower = name.lower()
    return lower.startswith("req") and "gr" in lower and _distance(lower, "requires_grad") <= 2


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


@register
class RequiresGradTypo(Rule):
    """
    ## What it does
    Flags assignments that look like freezing but do nothing:
    a misspelled attribute (`p.require_grad = False`, `requires_grads`,
    `requires_gradient`, `p.requires_grad_ = False`, ...), and
    `module.requires_grad = False` on an `nn.Module` (only tensors and parameters
    have a `requires_grad` flag; on a module it is just a new, unused attribute).

    ## Why is this bad?
    Python happily creates the new attribute. The parameters keep
    `requires_grad=True`, so the "frozen" embedding or backbone is trained anyway,
    usually at a rate meant for the new head, and the pretrained weights drift.
    Nothing raises.

    A fresh tensor from a factory (`torch.zeros(...)`) requires no gradient to begin
    with, so a typo that sets it to False changes nothing and is not reported. A
    typo that sets True leaves the flag as it was: a frozen parameter stays frozen.

    ## Example
    ```python
    self.embedding.weight.require_grad = False
    model.backbone.requires_grad = False
    ```

    ## Use instead
    ```python
    self.embedding.weight.requires_grad = False
    model.backbone.requires_grad_(False)
    ```

    ## Fix
    Renames the attribute to `requires_grad`, or, on a module, rewrites the
    assignment as `module.requires_grad_(value)`.
    """

    code = "NN402"
    name = "requires-grad-typo"
    severity = Severity.ERROR
    summary = "Assignment to a misspelled requires_grad, or to requires_grad on a module: nothing is frozen"
    fix_title = "Set requires_grad properly"
    # `check` opens on "grad" anywhere in the text (comments too), and a candidate typo read
    # anywhere (a comment too) is the program's own attribute: an edited line holding either
    # may change findings elsewhere.
    module_wide_text = re.compile(r"grad|Grad|GRAD|[Rr]e[qg][A-Za-z_]*[Gg]")

    def check(self, ctx: Context) -> Iterator[Finding]:
        text = ctx.source.text
        if "grad" not in text and "Grad" not in text and "GRAD" not in text:
            return
        yield from self._typos(ctx, text)
        yield from self._module_flags(ctx)

    # ------------------------------------------------------------- typos
    def _typos(self, ctx: Context, text: str) -> Iterator[Finding]:
        candidates = {m.group(1) for m in _CANDIDATE.finditer(text)}
        typos = {name for name in candidates if is_typo(name)}
        # a name that is also read somewhere is the program's own attribute
        typos = {name for name in typos if not re.search(rf"\.{re.escape(name)}\b(?!\s*=(?!=))", text)}
        if not typos:
            return
        sem = ctx.semantic
        for target, value, node, scope in sem.attribute_assignments:
            if target.attr not in typos or value is None or type(value) not in _ALLOWED_VALUES:
                continue
            if type(node) not in (ast.Assign, ast.AnnAssign):
                continue
            if type(target.value) is ast.Name and target.value.id == "self":
                continue  # the class's own attribute
            owner = target.value
            freezing = not (type(value) is ast.Constant and value.value is True)
            if freezing and _fresh_tensor(sem, owner, scope, node.lineno):
                continue  # a new tensor requires no gradient: the typo changes nothing
            module = self._is_module(ctx, owner, scope, node.lineno)
            owner_text = ctx.text(owner)
            effect = (t("`{owner_text}` is still trained", owner_text=owner_text) if freezing
                      else t(
                          "`{owner_text}` keeps the requires_grad it had: if it was frozen, it stays frozen",
                          owner_text=owner_text,
                      ))
            message = (
                t(
                    "`{owner_text}.{target_attr} = {value}` creates a new attribute named `{target_attr}`; "
                    "PyTorch only reads `requires_grad`, so {effect}",
                    owner_text=owner_text,
                    target_attr=target.attr,
                    value=ctx.text(value),
                    effect=effect,
                )
            )
            related = []
            if module is not None:
                message += t(" (and it is an nn.Module: use `requires_grad_(...)`)")
                related.append(ctx.related(module, t("the module is created here")))
            else:
                made = _root_construction(sem, owner, scope, node.lineno)
                if made is not None:
                    related.append(ctx.related(made, t("`{owner}` belongs to the object made here", owner=ctx.text(owner))))
            fix = self._fix(ctx, node, target, owner, value, module is not None)
            yield ctx.finding(self, target, message, related, fix)

    # ------------------------------------------------------ module.requires_grad
    def _module_flags(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        for scope in sem.scopes:
            for name, bindings in scope.bindings.items():
                if not name.endswith(".requires_grad"):
                    continue
                owner_name = name[: -len(".requires_grad")]
                if owner_name == "self":
                    continue
                for binding in bindings:
                    stmt = binding.stmt
                    if type(stmt) is not ast.Assign or len(stmt.targets) != 1 or binding.value is None:
                        continue
                    target = stmt.targets[0]
                    if type(target) is not ast.Attribute:
                        continue
                    module = self._is_module(ctx, target.value, scope, binding.line)
                    if module is None:
                        continue
                    message = (
                        t(
                            "`{owner_name}` is an nn.Module: `{owner_name}.requires_grad = {binding_value}` "
                            "only sets a new attribute and freezes nothing; use "
                            "`{owner_name}.requires_grad_({binding_value})`",
                            owner_name=owner_name,
                            binding_value=ctx.text(binding.value),
                        )
                    )
                    if type(module) is ast.Call and type(module.func) is ast.Attribute and module.func.attr in (
                            "children", "modules"):
                        note = t(
                            "`{owner_name}` runs over the sub-modules from `{module}` (line {module_lineno})",
                            owner_name=owner_name,
                            module=ctx.text(module),
                            module_lineno=module.lineno,
                        )
                    else:
                        note = t(
                            "`{owner_name}` is created here (line {module_lineno})",
                            owner_name=owner_name,
                            module_lineno=module.lineno,
                        )
                    related = [ctx.related(module, note)]
                    fix = self._fix(ctx, stmt, target, target.value, binding.value, True)
                    yield ctx.finding(self, target, message, related, fix)

    def _is_module(self, ctx: Context, owner: ast.expr, scope: Scope, line: int) -> ast.AST | None:
        """Where `owner` (an nn.Module) was made, or None when it is not known to be a module."""
        sem = ctx.semantic
        name = dotted(owner)
        if name is None:
            return None
        binding = sem.lookup(name, scope, line)
        if binding is not None and binding.kind == "loop":
            return _module_loop(sem, binding)
        made = ctx.values.construction(owner, scope, line)
        if made is None:
            return None
        qualname = sem.call_name(made[0]) or ""
        if is_module_constructor(qualname) or sem.is_module_class(qualname):
            return made[0]
        return None

    def _fix(self, ctx: Context, stmt: ast.stmt, target: ast.Attribute, owner: ast.expr, value: ast.expr,
             module: bool) -> Fix | None:
        if module:
            if type(stmt) is not ast.Assign or len(stmt.targets) != 1:
                return None
            new = f"{ctx.text(owner)}.requires_grad_({ctx.text(value)})"
            return Fix(t("Use {owner}.requires_grad_(...)", owner=ctx.text(owner)), (ctx.replace(stmt, new),))
        return Fix(t("Rename to requires_grad"), (ctx.replace(target, f"{ctx.text(owner)}.requires_grad"),))


# Tensor factories: what they return requires no gradient unless asked (requires_grad=True).
_FACTORIES = frozenset({
    "zeros", "ones", "empty", "full", "rand", "randn", "randint", "arange", "linspace", "logspace",
    "eye", "tensor", "as_tensor", "from_numpy", "zeros_like", "ones_like", "empty_like", "full_like",
    "rand_like", "randn_like", "stack", "cat",
})


def _fresh_tensor(sem, owner: ast.expr, scope: Scope, line: int) -> bool:  # noqa: ANN001
    """Whether `owner` holds a tensor a torch factory just made, without requires_grad=True."""
    made = values(sem).construction(owner, scope, line)
    if made is None:
        return False
    call: ast.expr = made[0]
    while type(call) is ast.Call and type(call.func) is ast.Attribute and call.func.attr in SHAPE_METHODS:
        call = call.func.value
    if type(call) is not ast.Call:
        return False
    name = sem.call_name(call) or ""
    if not (name.startswith("torch.") and name.rsplit(".", 1)[-1] in _FACTORIES):
        return False
    return not any(k.arg == "requires_grad" for k in call.keywords)


def _module_loop(sem, binding: Binding) -> ast.AST | None:  # noqa: ANN001
    stmt = binding.stmt
    if type(stmt) not in (ast.For, ast.AsyncFor) or type(stmt.target) is not ast.Name:  # type: ignore[attr-defined]
        return None
    iterator = _sub_modules_call(sem, stmt.iter, binding.scope, stmt.lineno)  # type: ignore[attr-defined]
    return iterator


def _sub_modules_call(sem, iterator: ast.expr, scope: Scope, line: int) -> ast.Call | None:  # noqa: ANN001
    """The `x.children()` / `x.modules()` call a loop's iterable is built from, through
    `list(...)`, slices and one local name (catalyst's ResnetEncoder:
    `modules = list(resnet.children())[:-2]`, then `for param in modules:`)."""
    for _ in range(4):
        if type(iterator) is ast.Subscript:
            iterator = iterator.value
        elif type(iterator) is ast.Call and type(iterator.func) is ast.Name and iterator.func.id in (
            "list", "tuple", "reversed"
        ) and len(iterator.args) == 1:
            iterator = iterator.args[0]
        elif type(iterator) is ast.Name:
            bindings = scope.bindings.get(iterator.id, [])
            before = [b for b in bindings if b.line < line]
            if len(bindings) != 1 or not before or before[0].value is None or before[0].kind != "assign":
                return None
            iterator = before[0].value
        else:
            break
    if type(iterator) is ast.Call and type(iterator.func) is ast.Attribute and iterator.func.attr in ("children", "modules"):
        return iterator
    return None


def _root_construction(sem, owner: ast.expr, scope: Scope, line: int) -> ast.AST | None:  # noqa: ANN001
    expr = owner
    for _ in range(4):
        made = values(sem).construction(expr, scope, line)
        if made is not None:
            return made[0]
        if type(expr) is not ast.Attribute:
            return None
        expr = expr.value
    return None
