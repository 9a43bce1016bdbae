"""NN401 unfrozen-pretrained-high-lr."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Edit, Finding, Fix, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import Scope, Semantic, argument, constant_value, dotted, keyword
from nnlint.torchnames import is_optimizer_constructor
from nnlint.values import Values
from nnlint.message import t
from nnlint.calls import call_index

_HINT = re.compile(r"pretrained|weights\s*=|hub\.load")
# Anything that freezes parameters somewhere in the file: the rule then stays quiet.
_FREEZE = re.compile(
    r"requires_grad\s*=\s*(?!True\b)[^=\s]"
    r"|requires_grad_\(\s*(?!True\b|\))"
    r"|\bfreeze\w*\s*\("
    r"|get_peft_model|prepare_model_for_kbit_training|LoraConfig"  # adapters freeze the base model
)
_ADAPTIVE = re.compile(r"^(Paged|Fused)?(Adam|AdamW|RMSprop|Adagrad|Adamax|NAdam|RAdam|SparseAdam)(8bit|32bit)?$")
_DEFAULT_LR = {
    "torch.optim.Adam": 1e-3, "torch.optim.AdamW": 1e-3, "torch.optim.RAdam": 1e-3,
    "torch.optim.NAdam": 2e-3, "torch.optim.Adamax": 2e-3, "torch.optim.RMSprop": 1e-2,
    "torch.optim.Adagrad": 1e-2, "torch.optim.SparseAdam": 1e-3,
}
TRANSFORMER = "transformer"
VISION = "vision"


@dataclass
class _Rate:
    value: float
    node: ast.AST | None  # where the number is written (None: the optimizer's default)


@register
class UnfrozenPretrainedHighLr(Rule):
    """
    ## What it does
    Flags an optimizer that trains *all* parameters of a pretrained model at a
    from-scratch learning rate: weights from `X.from_pretrained(...)`
    (transformers), torchvision `weights=...`/`pretrained=True`,
    `timm.create_model(..., pretrained=True)` or `torch.hub.load(...)`, given as
    `model.parameters()` to Adam/AdamW/RMSprop/Adagrad/... above the fine-tuning
    range (above 1e-4 on transformer checkpoints, 1e-3 or more on vision
    backbones) or to SGD above 0.01. The rate may come from a literal, a variable, a
    module constant, a config dict entry (`cfg["lr"]`) or a helper's parameter
    default. Nothing is reported when the file freezes parameters
    (`requires_grad_(False)`, `p.requires_grad = False`, `freeze...(...)`, a PEFT/LoRA
    adapter) or uses parameter groups.

    ## Why is this bad?
    Large updates destroy the pretrained features in the first few hundred steps
    ("catastrophic forgetting"): the run still converges, but to roughly what a
    model trained from scratch reaches, and the benefit of the checkpoint is gone.
    Nothing in the logs says so.

    ## Example
    ```python
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    ```

    ## Use instead
    ```python
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    ```
    or freeze the backbone, or give it its own smaller rate with parameter groups.

    ## Fix
    When the rate is written in the optimizer call (or left at the optimizer's
    default), sets it to the usual fine-tuning value: 2e-5 for transformer
    checkpoints, 1e-4 for vision backbones with adaptive optimizers, 1e-3 with SGD.

    ## Options
    `transformer_adaptive_lr_above` (1e-4), `vision_adaptive_lr_at_least` (1e-3),
    `sgd_lr_above` (0.01), and the fix values `transformer_fix_lr` (2e-5),
    `vision_fix_lr` (1e-4), `sgd_fix_lr` (1e-3).
    """

    code = "NN401"
    name = "unfrozen-pretrained-high-lr"
    severity = Severity.WARNING
    summary = "All parameters of a pretrained model trained at a from-scratch learning rate"
    fix_title = "Lower the learning rate to a fine-tuning value"
    # Module-wide facts (see `nnlint.reanalysis`): the text tests of `check`. Anything that
    # freezes parameters anywhere in the file silences every finding (`_FREEZE`: the words
    # below), and no finding is made unless the file names pretrained weights somewhere
    # (`_HINT`: a checkpoint loaded by `load(...)` imported from `torch.hub` needs the word
    # elsewhere). Not covered by words: the same text in a comment, or inside a longer name
    # (`freeze_backbone(...)`, `use_pretrained`).
    module_wide_words = frozenset({
        "requires_grad", "requires_grad_", "freeze", "get_peft_model", "prepare_model_for_kbit_training",
        "LoraConfig", "pretrained", "weights", "hub",
    })
    options = {
        "transformer_adaptive_lr_above": 1e-4,
        "vision_adaptive_lr_at_least": 1e-3,
        "sgd_lr_above": 0.01,
        "transformer_fix_lr": 2e-5,
        "vision_fix_lr": 1e-4,
        "sgd_fix_lr": 1e-3,
    }

    def check(self, ctx: Context) -> Iterator[Finding]:
        text = ctx.source.text
        if not _HINT.search(text) or _FREEZE.search(text):
            return
        sem = ctx.semantic
        vals = ctx.values
        for site in call_index(sem).matching(is_optimizer_constructor):
            opt_name = sem.call_name(site.node)
            call = site.node
            params = argument(call, 0, "params")
            if type(params) is not ast.Call or type(params.func) is not ast.Attribute:
                continue
            if params.func.attr != "parameters" or params.args or params.keywords:
                continue
            last = (opt_name or "").rsplit(".", 1)[-1]
            family = "sgd" if last == "SGD" else "adaptive" if _ADAPTIVE.match(last) else None
            if family is None:
                continue
            found = self._pretrained(sem, vals, params.func.value, site.scope, site.line)
            if found is None:
                continue
            category, checkpoint = found
            lr_expr = argument(call, 1, "lr")
            rates = self._rates(sem, vals, lr_expr, site.scope, site.line, opt_name or "")
            bad = next((r for r in rates if self._too_high(ctx, family, category, r.value)), None)
            if bad is None:
                continue
            model_text = ctx.text(params.func.value)
            lr_line = bad.node.lineno if bad.node is not None else None  # type: ignore[attr-defined]
            range_text = self._range_text(ctx, family, category)
            where_lr = t("lr={lr} (line {lr_line})", lr=_format_lr(bad.value), lr_line=lr_line) if lr_line else t("the default lr={lr}", lr=_format_lr(bad.value))
            message = (
                t(
                    "`{model_text}` holds pretrained weights (loaded on line {checkpoint_lineno}) and all its "
                    "parameters are trained by `{last}` with {where_lr}, {range_text}: nothing is frozen, so "
                    "the pretrained features get overwritten",
                    model_text=model_text,
                    checkpoint_lineno=checkpoint.lineno,
                    last=last,
                    where_lr=where_lr,
                    range_text=range_text,
                )
            )
            related = [ctx.related(checkpoint, t(
                "pretrained {category} weights loaded here (line {checkpoint_lineno})",
                category=category,
                checkpoint_lineno=checkpoint.lineno,
            ))]
            if bad.node is not None and lr_line != site.line:
                related.append(ctx.related(bad.node, t(
                    "the learning rate {lr} is set here (line {lr_line})",
                    lr=_format_lr(bad.value),
                    lr_line=lr_line,
                )))
            fix = self._fix(ctx, call, lr_expr, family, category)
            yield ctx.finding(self, call, message, related, fix)

    # ----------------------------------------------------------- pretrained
    def _pretrained(self, sem: Semantic, vals: Values, expr: ast.expr, scope: Scope, line: int,
                    depth: int = 0) -> tuple[str, ast.Call] | None:
        if dotted(expr) == "self":
            cls = sem.enclosing_class(scope)
            return self._class_pretrained(sem, vals, cls.name, set()) if cls is not None else None
        made = vals.construction(expr, scope, line)
        if made is None:
            return None
        ctor = made[0]
        category = pretrained_category(sem, ctor)
        if category is not None:
            return category, ctor
        name = sem.call_name(ctor) or ""
        if sem.is_module_class(name):
            return self._class_pretrained(sem, vals, name, set())
        return None

    def _class_pretrained(self, sem: Semantic, vals: Values, name: str, seen: set[str]) -> tuple[str, ast.Call] | None:
        info = sem.classes.get(name)
        if info is None or name in seen or len(seen) > 4:
            return None
        seen.add(name)
        for bindings in info.attrs.values():
            for binding in bindings:
                if type(binding.value) is not ast.Call:
                    continue
                made = vals.construction(binding.value, binding.scope, binding.line)
                if made is None:
                    continue
                category = pretrained_category(sem, made[0])
                if category is not None:
                    return category, made[0]
                inner = sem.call_name(made[0]) or ""
                if inner in sem.classes:
                    found = self._class_pretrained(sem, vals, inner, seen)
                    if found is not None:
                        return found
        for base in info.bases:
            found = self._class_pretrained(sem, vals, base, seen)
            if found is not None:
                return found
        return None

    # ----------------------------------------------------------- rates
    def _rates(self, sem: Semantic, vals: Values, lr: ast.expr | None, scope: Scope, line: int,
               opt_name: str) -> list[_Rate]:
        if lr is None:
            default = _DEFAULT_LR.get(opt_name)
            return [_Rate(default, None)] if default is not None else []
        out = []
        for value, value_scope, _hops in vals.resolve(lr, scope, line, through_shape_ops=False):
            number = self._number(sem, vals, value, value_scope, 0)
            if number is not None:
                out.append(_Rate(number, value))
        return out

    def _number(self, sem: Semantic, vals: Values, expr: ast.expr, scope: Scope, depth: int) -> float | None:
        if depth > 4:
            return None
        value = constant_value(expr)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        kind = type(expr)
        if kind is ast.BinOp:
            left = self._resolved_number(sem, vals, expr.left, scope, expr.lineno, depth + 1)
            right = self._resolved_number(sem, vals, expr.right, scope, expr.lineno, depth + 1)
            if left is None or right is None:
                return None
            op = type(expr.op)
            try:
                if op is ast.Mult:
                    return left * right
                if op is ast.Div:
                    return left / right
                if op is ast.Add:
                    return left + right
                if op is ast.Sub:
                    return left - right
                if op is ast.Pow:
                    return float(left**right)
            except (ZeroDivisionError, OverflowError):
                return None
            return None
        if kind is ast.Subscript:
            key = constant_value(expr.slice)
            if not isinstance(key, str):
                return None
            container = vals.resolve(expr.value, scope, expr.lineno, through_shape_ops=False)
            if len(container) != 1:
                return None
            holder, holder_scope, _ = container[0]
            entry = _entry(holder, key)
            if entry is None:
                return None
            return self._resolved_number(sem, vals, entry, holder_scope, entry.lineno, depth + 1)
        if kind is ast.Attribute and type(expr.value) is not ast.Name:
            return None
        return None

    def _resolved_number(self, sem: Semantic, vals: Values, expr: ast.expr, scope: Scope, line: int,
                         depth: int) -> float | None:
        found = vals.resolve(expr, scope, line, through_shape_ops=False)
        if len(found) != 1:
            return None
        value, value_scope, _ = found[0]
        return self._number(sem, vals, value, value_scope, depth)

    def _too_high(self, ctx: Context, family: str, category: str, lr: float) -> bool:
        if family == "sgd":
            return lr > float(ctx.option(self, "sgd_lr_above"))  # type: ignore[arg-type]
        if category == TRANSFORMER:
            return lr > float(ctx.option(self, "transformer_adaptive_lr_above"))  # type: ignore[arg-type]
        return lr >= float(ctx.option(self, "vision_adaptive_lr_at_least"))  # type: ignore[arg-type]

    def _range_text(self, ctx: Context, family: str, category: str) -> str:
        if family == "sgd":
            return t(
                "above the SGD fine-tuning range (<= {lr})",
                lr=_format_lr(float(ctx.option(self, 'sgd_lr_above'))),
            )  # type: ignore[arg-type]
        if category == TRANSFORMER:
            limit = float(ctx.option(self, "transformer_adaptive_lr_above"))  # type: ignore[arg-type]
            return t(
                "above the fine-tuning range for transformer checkpoints (<= {lr})",
                lr=_format_lr(limit),
            )
        limit = float(ctx.option(self, "vision_adaptive_lr_at_least"))  # type: ignore[arg-type]
        return t(
            "at or above {lr}, beyond the fine-tuning range for pretrained vision backbones",
            lr=_format_lr(limit),
        )

    def _fix(self, ctx: Context, call: ast.Call, lr: ast.expr | None, family: str, category: str) -> Fix | None:
        key = "sgd_fix_lr" if family == "sgd" else "transformer_fix_lr" if category == TRANSFORMER else "vision_fix_lr"
        try:
            new = _format_lr(float(ctx.option(self, key)))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        edit: Edit
        if lr is None:
            if any(type(a) is ast.Starred for a in call.args) or any(k.arg is None for k in call.keywords):
                return None
            edit = ctx.add_keyword(call, f"lr={new}")
        elif constant_value(lr) is not None and (keyword(call, "lr") is lr or lr in call.args):
            edit = ctx.replace(lr, new)
        else:
            return None
        return Fix(t("Set lr={new}", new=new), (edit,))


def pretrained_category(sem: Semantic, call: ast.Call) -> str | None:
    """"transformer"/"vision" when `call` loads pretrained weights, else None."""
    name = sem.call_name(call) or ""
    last = name.rsplit(".", 1)[-1]
    if last == "from_pretrained":
        return TRANSFORMER if name.startswith(("transformers.", "peft.")) else None
    if name.startswith("timm.") and last == "create_model":
        return VISION if constant_value(keyword(call, "pretrained")) is True else None
    if name.startswith("torchvision.models."):
        weights = keyword(call, "weights")
        if weights is not None and not (type(weights) is ast.Constant and weights.value is None):
            return VISION
        return VISION if constant_value(keyword(call, "pretrained")) is True else None
    if name == "torch.hub.load":
        pretrained = keyword(call, "pretrained")
        weights = keyword(call, "weights")
        if pretrained is not None and constant_value(pretrained) is not True:
            return None
        if weights is not None and type(weights) is ast.Constant and weights.value is None:
            return None
        repo = constant_value(call.args[0]) if call.args else None
        if not isinstance(repo, str):
            return None
        if pretrained is None and weights is None and repo.startswith("pytorch/vision"):
            return None
        return TRANSFORMER if ("transformers" in repo or "huggingface" in repo) else VISION
    return None


def _entry(holder: ast.expr, key: str) -> ast.expr | None:
    if type(holder) is ast.Dict:
        for k, v in zip(holder.keys, holder.values):
            if k is not None and constant_value(k) == key:
                return v
        return None
    if type(holder) is ast.Call and type(holder.func) is ast.Name and holder.func.id == "dict":
        return keyword(holder, key)
    return None


def _format_lr(value: float) -> str:
    text = f"{value:.0e}" if value < 1e-2 else f"{value:g}"
    if float(text) != value:
        text = repr(value)
    return re.sub(r"e([+-])0*(\d)", r"e\1\2", text)
