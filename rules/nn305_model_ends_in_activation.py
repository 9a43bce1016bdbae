"""NN305 model-ends-in-activation."""

from __future__ import annotations

import ast
from typing import Iterator

from nnlint.context import Context
from nnlint.findings import Finding, Severity
from nnlint.registry import Rule, register
from nnlint.semantic import called_module
from nnlint.values import LOSS_LABEL, SIGMOID, SOFTMAX, short
from nnlint.message import t


@register
class ModelEndsInActivation(Rule):
    """
    ## What it does
    Flags a logits loss (`nn.CrossEntropyLoss`, `F.cross_entropy`,
    `nn.BCEWithLogitsLoss`, `F.binary_cross_entropy_with_logits`) fed the output of
    a model defined in this file whose last step is a softmax or sigmoid: its
    `forward` returns `softmax(...)`/`sigmoid(...)`, or it is an `nn.Sequential`
    (written inline or returned by a builder function) whose last layer is
    `nn.Softmax`/`nn.Sigmoid`.

    ## Why is this bad?
    These losses expect raw scores and apply the (log-)softmax or sigmoid
    themselves. With the activation inside the model it is applied twice: the
    loss saturates, gradients vanish as predictions get confident, and training
    plateaus early. Nothing raises.

    ## Example
    ```python
    model = nn.Sequential(nn.Linear(11, 64), nn.ReLU(), nn.Linear(64, 6), nn.Softmax(dim=1))
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    ```

    ## Use instead
    ```python
    model = nn.Sequential(nn.Linear(11, 64), nn.ReLU(), nn.Linear(64, 6))
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    probs = model(x).softmax(dim=1)  # only where probabilities are needed
    ```

    ## Fix
    No automatic fix: removing the activation changes what the model returns
    everywhere else (inference code may rely on probabilities). Drop the final
    activation and apply it where probabilities are needed.
    """

    code = "NN305"
    name = "model-ends-in-activation"
    severity = Severity.WARNING
    summary = "A model whose last step is softmax/sigmoid feeds a loss that expects logits"
    fix_title = None

    def check(self, ctx: Context) -> Iterator[Finding]:
        vals = ctx.values
        for use in vals.loss_uses:
            value = use.value
            if use.kind not in ("ce", "bce_logits") or value is None or not value.via_model:
                continue
            if value.kind not in (SOFTMAX, SIGMOID) or value.activation is None:
                continue
            site = use.site
            elsewhere = vals.foreign_location(value.activation)
            activation_line = value.activation.lineno  # type: ignore[attr-defined]
            where = t("{elsewhere}, line {activation_line}", elsewhere=elsewhere, activation_line=activation_line) if elsewhere else t("line {activation_line}", activation_line=activation_line)
            model_text = short(ctx.text(called_module(value.made_at.func)))  # type: ignore[attr-defined]
            if model_text == "self" and isinstance(value.model_def, ast.ClassDef):
                model_text = value.model_def.name  # the module's own forward, called from a method
            loss_text = short(ctx.text(called_module(site.node.func)))
            message = (
                t(
                    "`{model_text}` ends in a {value_kind} ({where}) and its output (line {value_line}) feeds "
                    "`{loss_text}` ({loss_label}) on line {site_line}, which expects raw logits and applies "
                    "the {applied} itself",
                    model_text=model_text,
                    value_kind=value.kind,
                    where=where,
                    value_line=value.line,
                    loss_text=loss_text,
                    loss_label=LOSS_LABEL[use.kind],
                    site_line=site.line,
                    applied='log_softmax' if use.kind == 'ce' else 'sigmoid',
                )
            )
            # a final layer in another module has no place among this file's lines
            related = [] if elsewhere else [
                ctx.related(value.activation, t(
                    "the model's final {value_kind} (line {activation_line})",
                    value_kind=value.kind,
                    activation_line=activation_line,
                ))]
            if value.made_at is not site.node and value.made_at.lineno != site.line:  # type: ignore[attr-defined]
                related.append(ctx.related(value.made_at, t("model output made here (line {value_line})", value_line=value.line)))
            yield ctx.finding(self, site.node, message, related)

