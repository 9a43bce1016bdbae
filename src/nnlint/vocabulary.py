"""Training vocabulary: what names and calls mean for a training run.

The generic index (`nnlint.semantic`) records calls, bindings and loops; what a call does to
training (a backward pass, an optimizer step, a mode switch) and which names hint at a model
or an optimizer is this module's. Plain data and small predicates over `ast` nodes, below
the index, so the index's effect summaries and the training analysis read the same tables.
"""

from __future__ import annotations

import ast
import re


def is_scaled_loss(expr: ast.expr | None) -> bool:
    """`scaler.scale(loss)`: the receiver of a mixed-precision backward (a GradScaler's
    `scale`; any `.scale(...)` call counts, the scaler's type is rarely visible)."""
    return type(expr) is ast.Call and type(expr.func) is ast.Attribute and expr.func.attr == "scale"


# ------------------------------------------------------------------ name patterns
# What a name alone suggests, where the analyses fall back on names (a name proves nothing
# by itself).
_MODEL_NAME = re.compile(
    r"(^|_)(model|net|network|module|classifier|encoder|decoder|backbone|generator|"
    r"discriminator|critic|actor|student|teacher|autoencoder|cnn|rnn|lstm|gru|mlp|"
    r"transformer|resnet|vgg|bert|gpt|unet|vae|regressor|forecaster|policy)s?\d*($|_)",
    re.IGNORECASE,
)
_OPTIMIZER_NAME = re.compile(r"(^|_)(opt|optim|optimizer|optimiser)s?(\d*|_[a-z0-9]+)?$", re.IGNORECASE)


# Last words that name something a model has or makes, not the model (`init_rnn_state`,
# `model_path`, `net_config`): a model word before them says nothing.
_NOT_A_MODEL_LAST_WORDS = frozenset({
    "state", "states", "fn", "func", "function", "path", "dir", "file", "name", "names", "config", "cfg",
    "args", "kwargs", "type", "kind", "params", "output", "outputs", "out", "loss", "losses", "size", "dim",
    "id", "ids", "idx", "mask", "ckpt", "checkpoint", "weights", "url", "lr", "grad", "grads", "hidden",
})


def looks_like_model_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    if last.rsplit("_", 1)[-1].lower() in _NOT_A_MODEL_LAST_WORDS:
        return False
    return bool(_MODEL_NAME.search(last))


def looks_like_optimizer_name(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return bool(_OPTIMIZER_NAME.search(last)) and "sched" not in last.lower()


_EVAL_WORDS = frozenset(
    {"eval", "evaluate", "evaluation", "validate", "validation", "val", "valid", "predict", "prediction",
     "predictions", "inference", "infer", "score", "accuracy"}
)
_WORD = re.compile(r"[a-z]+")


def is_eval_role_name(name: str) -> bool:
    words = set(_WORD.findall(name.lower()))
    return bool(words & _EVAL_WORDS) or name.lower() in ("test", "test_epoch", "run_test", "test_model", "test_loop")


# ------------------------------------------------------------------ effects
# The effects of running code on a training run, as `Semantic.effects` summarizes them
# (kind, key, site): mode switches and gradient events.
MODE_KINDS = ("eval", "train")
GRADIENT_KINDS = frozenset({"backward", "scaled_backward", "zero_grad", "clear_grad", "clip", "unscale", "step"})

# Methods whose call has an effect on their receiver whatever their arguments. `train`
# (train(False) is eval), `unscale_`, a scaler's `step(optimizer)` and `p.grad.zero_()`
# depend on more than the method's name: see `Semantic._compute_site_effects`.
RECEIVER_EFFECTS: dict[str, tuple[str, ...]] = {
    "eval": ("eval",),
    "zero_grad": ("zero_grad",),
    "backward": ("backward",),
    "step": ("step",),
}
# Methods that switch a module's mode: the effect is on the module itself (`model.module`
# of a DataParallel wrapper is the same module), see `semantic.module_itself`.
MODE_METHODS = frozenset({"eval", "train"})


def steps_through_scaler(receiver: ast.expr | None) -> bool:
    """`scaler.step(optimizer)`, as the index's effect summaries read it: a bare name
    containing "scal" (they see no constructions)."""
    return type(receiver) is ast.Name and "scal" in receiver.id.lower()
