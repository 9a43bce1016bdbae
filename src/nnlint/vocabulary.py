"""Training vocabulary: what names and calls mean for a training run.

The generic index (`nnlint.semantic`) records calls, bindings and loops; what a call does to
training (a backward pass, an optimizer step, a mode switch) and which names hint at a model
or an optimizer is this module's. Plain data and small predicates over `ast` nodes, below
the index, so the index's effect summaries and the training analysis read the same tables.
"""

from __future__ import annotations

import ast


def is_scaled_loss(expr: ast.expr | None) -> bool:
    """`scaler.scale(loss)`: the receiver of a mixed-precision backward (a GradScaler's
    `scale`; any `.scale(...)` call counts, the scaler's type is rarely visible)."""
    return type(expr) is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr == "scale"
