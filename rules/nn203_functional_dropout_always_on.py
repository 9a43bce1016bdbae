"""NN203 functional-dropout-always-on."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import CallSite, argument, subtree
from nnlint.torchnames import DROPOUT_FUNCTIONS, OFF_BY_DEFAULT_DROPOUT_FUNCTIONS
from nnlint.message import t, t_docs
from nnlint.calls import call_index


@register
class FunctionalDropoutAlwaysOn(Rule):
    """
    ## What it does
    Flags `F.dropout(x, p)` (and `F.dropout1d`, `F.dropout2d`, `F.dropout3d`,
    `F.alpha_dropout`, `F.feature_alpha_dropout`) called inside an `nn.Module`
    without `training=self.training`, and `F.scaled_dot_product_attention` with a
    non-zero `dropout_p` that does not depend on `self.training`.

    ## Why is this bad?
    The functional form does not know about the module's mode: the `training`
    argument of `dropout` and `dropout1d/2d/3d` defaults to `True`. `model.eval()`
    switches off every `nn.Dropout` layer but not this call, so evaluation and
    inference stay random and systematically worse. Nothing fails; validation
    numbers are just noisy and low, and they improve mysteriously when you
    "ensemble" several runs.

    `alpha_dropout` and `feature_alpha_dropout` are the other way round: their
    `training` argument defaults to `False`, so without `training=self.training`
    they never drop anything, not even during training: the regularisation you
    asked for silently does not exist (and `if self.training:` around the call does
    not change that).

    The same holds for attention dropout: `F.scaled_dot_product_attention(...,
    dropout_p=self.dropout)` drops attention weights in eval mode too (nanoGPT
    shipped this); pass `dropout_p=self.dropout if self.training else 0.0`.

    A `dropout` call that only runs in training mode (`if self.training:`, `... if
    self.training else ...`) is fine, and so is a rate that is a method parameter
    defaulting to 0 (dropout the caller opts into, such as noise dropout at sampling).

    ## Example
    ```python
    class Net(nn.Module):
        def forward(self, x):
            x = F.dropout(self.fc1(x), p=0.5)  # still active after net.eval()
            return self.fc2(x)
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def forward(self, x):
            x = F.dropout(self.fc1(x), p=0.5, training=self.training)
            return self.fc2(x)
    ```
    or an `nn.Dropout(0.5)` layer created in `__init__`.

    ## Fix
    Adds `training=self.training` to the call (for attention, makes `dropout_p`
    zero outside training). Passing `training` explicitly (even
    `True`, for Monte-Carlo dropout) silences the rule.
    """

    code = "NN203"
    name = "functional-dropout-always-on"
    severity = Severity.WARNING
    summary = "Functional dropout inside a module ignores the module's mode unless given training=self.training"
    fix_title = "Add training=self.training"

    def check(self, ctx: Context) -> Iterator[Finding]:
        sem = ctx.semantic
        for site in call_index(sem).named((_SDPA, *DROPOUT_FUNCTIONS)):
            name = sem.call_name(site.node)
            if name == _SDPA:
                yield from self._attention_dropout(ctx, site)
                continue
            if name not in DROPOUT_FUNCTIONS:
                continue
            if argument(site.node, 2, "training") is not None:
                continue
            if any(type(a) is ast.Starred for a in site.node.args) or any(k.arg is None for k in site.node.keywords):
                continue
            cls = sem.enclosing_class(site.scope)
            if cls is None or not sem.is_module_class(cls.name):
                continue
            if not site.scope.params or site.scope.params[0] != "self":
                continue
            short = ctx.text(site.node.func)
            if name in OFF_BY_DEFAULT_DROPOUT_FUNCTIONS:
                # `training` defaults to False: a no-op in training too, gated by `self.training` or not
                message = (
                    t(
                        "`{short}(...)` in `{cls_name}.{scope_name}` never drops anything: its `training` "
                        "argument defaults to False, so it does nothing during training either; pass "
                        "`training=self.training`",
                        short=short,
                        cls_name=cls.name,
                        scope_name=site.scope.name,
                    )
                )
                related = [ctx.related(cls.node, t("`{cls_name}` is an nn.Module whose train() this call ignores", cls_name=cls.name))]
            else:
                if _gated_by_training(site.scope.node, site.node) or _opt_in_rate(site.scope.node, site.node):
                    continue
                message = (
                    t(
                        "`{short}(...)` in `{cls_name}.{scope_name}` keeps dropping activations after "
                        "`.eval()`: its `training` argument defaults to True; pass `training=self.training`",
                        short=short,
                        cls_name=cls.name,
                        scope_name=site.scope.name,
                    )
                )
                related = [ctx.related(cls.node, t("`{cls_name}` is an nn.Module whose eval() this call ignores", cls_name=cls.name))]
            edit: Edit = ctx.add_keyword(site.node, "training=self.training")
            yield ctx.finding(self, site.node, message, related, Fix(t_docs(self.fix_title), (edit,)))

    def _attention_dropout(self, ctx: Context, site: CallSite) -> Iterator[Finding]:
        """`F.scaled_dot_product_attention(..., dropout_p=self.dropout)` in a module's
        forward drops attention weights in eval mode too (nanoGPT shipped this)."""
        sem = ctx.semantic
        rate = argument(site.node, 4, "dropout_p")
        if rate is None or (type(rate) is ast.Constant and not rate.value):
            return
        if type(rate) is ast.IfExp or any(type(n) is ast.Attribute and n.attr == "training" for n in ast.walk(rate)):
            return  # `self.dropout if self.training else 0`
        cls = sem.enclosing_class(site.scope)
        if cls is None or not sem.is_module_class(cls.name) or site.scope.params[:1] != ["self"]:
            return
        if _gated_by_training(site.scope.node, site.node) or _opt_in_rate_value(site.scope.node, rate):
            return
        text = ctx.text(rate)
        message = (
            t(
                "`{site}(..., dropout_p={text})` in `{cls_name}.{scope_name}` keeps dropping attention weights "
                "after `.eval()`: pass `dropout_p={text} if self.training else 0.0`",
                site=ctx.text(site.node.func),
                text=text,
                cls_name=cls.name,
                scope_name=site.scope.name,
            )
        )
        related = [ctx.related(cls.node, t("`{cls_name}` is an nn.Module whose eval() this call ignores", cls_name=cls.name))]
        edit = ctx.replace(rate, f"{text} if self.training else 0.0")
        yield ctx.finding(self, site.node, message, related, Fix(t("Drop attention only in training mode"), (edit,)))


_SDPA = "torch.nn.functional.scaled_dot_product_attention"


def _mentions_training(test: ast.expr) -> bool:
    """`self.training` read positively in a condition (`if self.training and p > 0:`)."""
    if type(test) is ast.BoolOp and type(test.op) is ast.And:
        return any(_mentions_training(v) for v in test.values)
    return type(test) is ast.Attribute and test.attr == "training" and type(test.value) is ast.Name \
        and test.value.id == "self"


def _gated_by_training(function: ast.AST, call: ast.Call) -> bool:
    """Whether `call` only runs in training mode: inside `if self.training:` or
    `... if self.training else ...` (kuangliu/pytorch-cifar's EfficientNet)."""
    for node in subtree(function):
        if type(node) in (ast.If, ast.IfExp) and _mentions_training(node.test):  # type: ignore[attr-defined]
            body = node.body if type(node) is ast.If else [node.body]  # type: ignore[attr-defined]
            if any(_contains(part, call) for part in body):
                return True
    return False


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    return any(node is inner for node in subtree(outer))


def _opt_in_rate(function: ast.AST, call: ast.Call) -> bool:
    """Whether the dropout rate is a parameter of the method that defaults to 0: dropout
    is off unless the caller asks for it (latent-diffusion's `noise_dropout=0.` at sampling)."""
    rate = argument(call, 1, "p")
    return rate is not None and _opt_in_rate_value(function, rate)


def _opt_in_rate_value(function: ast.AST, rate: ast.expr) -> bool:
    if type(rate) is not ast.Name or not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(zip([a.arg for a in positional[len(positional) - len(args.defaults):]], args.defaults))
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    default = defaults.get(rate.id)
    return type(default) is ast.Constant and default.value == 0
