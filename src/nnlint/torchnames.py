"""What nnlint knows about torch's (and its ecosystem's) names, fully qualified.

Rules compare resolved names (`Semantic.qualname`) against these sets, so import
aliases never leak into rule logic.
"""

from __future__ import annotations

F = "torch.nn.functional"

SOFTMAX_FUNCTIONS = frozenset({"torch.softmax", f"{F}.softmax", "torch.special.softmax", "torch.Tensor.softmax"})
LOG_SOFTMAX_FUNCTIONS = frozenset({"torch.log_softmax", f"{F}.log_softmax", "torch.special.log_softmax"})
SIGMOID_FUNCTIONS = frozenset({"torch.sigmoid", f"{F}.sigmoid", "torch.special.expit", "torch.nn.functional.hardsigmoid"})
SOFTMAX_MODULES = frozenset({"torch.nn.Softmax", "torch.nn.Softmax2d", "torch.nn.modules.activation.Softmax"})
LOG_SOFTMAX_MODULES = frozenset({"torch.nn.LogSoftmax", "torch.nn.modules.activation.LogSoftmax"})
SIGMOID_MODULES = frozenset({"torch.nn.Sigmoid", "torch.nn.modules.activation.Sigmoid"})

DROPOUT_FUNCTIONS = frozenset(
    {
        f"{F}.dropout", f"{F}.dropout1d", f"{F}.dropout2d", f"{F}.dropout3d",
        f"{F}.alpha_dropout", f"{F}.feature_alpha_dropout",
    }
)

# Functions that clip the gradients held in `.grad` (what an optimizer step reads next).
CLIP_FUNCTIONS = frozenset(
    {
        "torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_", "torch.nn.utils.clip_grad_norm",
        "torch.nn.utils.clip_grad.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_value_",
        "torch.nn.utils.clip_grads_with_norm_",
    }
)

# Functional dropouts whose `training` argument defaults to False (no-ops unless told).
OFF_BY_DEFAULT_DROPOUT_FUNCTIONS = frozenset({f"{F}.alpha_dropout", f"{F}.feature_alpha_dropout"})

# Layers whose behaviour differs between train() and eval().
MODE_DEPENDENT_LAYERS = frozenset(
    {
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LazyBatchNorm1d",
        "LazyBatchNorm2d", "LazyBatchNorm3d", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
        "RNN", "LSTM", "GRU", "Transformer", "TransformerEncoder", "TransformerDecoder",
        "TransformerEncoderLayer", "TransformerDecoderLayer", "MultiheadAttention",
    }
)

OPTIMIZER_CLASSES = frozenset(
    {
        "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam",
        "LBFGS", "SparseAdam", "ASGD", "Rprop", "Adafactor", "Muon",
    }
)


# Outside torch.optim, the last part of a name that builds an optimizer (timm, transformers).
_OPTIMIZER_LAST_NAMES = OPTIMIZER_CLASSES | {"create_optimizer", "create_optimizer_v2"}


def is_optimizer_constructor(qualname: str | None) -> bool:
    # Asked of every distinct callee name of a file (the call index's `matching`): one prefix
    # test decides the torch.optim names, one set lookup the rest.
    if not qualname:
        return False
    last = qualname[qualname.rfind(".") + 1:]
    if qualname.startswith("torch.optim."):
        if qualname.startswith(("torch.optim.lr_scheduler", "torch.optim.swa_utils")):
            return False
        return last[:1].isupper() and last != "Optimizer"
    return last in _OPTIMIZER_LAST_NAMES


def is_scheduler_constructor(qualname: str | None) -> bool:
    return bool(qualname) and (
        qualname.startswith("torch.optim.lr_scheduler")  # type: ignore[union-attr]
        or qualname.rsplit(".", 1)[-1].endswith(("Scheduler", "LR", "_schedule", "Warmup"))  # type: ignore[union-attr]
        or "schedule" in qualname.rsplit(".", 1)[-1]  # type: ignore[union-attr]
    )


def is_grad_scaler(qualname: str | None) -> bool:
    return bool(qualname) and qualname.rsplit(".", 1)[-1] == "GradScaler"  # type: ignore[union-attr]


MODEL_FACTORIES_PREFIXES = ("torchvision.models.", "timm.", "transformers.", "torch.hub.")


# `from_pretrained` also builds things that are not modules: tokenizers, configs, processors.
_NOT_MODULE_CLASSES = ("Tokenizer", "TokenizerFast", "Config", "Processor", "FeatureExtractor",
                       "ImageProcessor", "Scheduler", "Pipeline", "GenerationConfig")


def is_module_constructor(qualname: str | None) -> bool:
    """Calls that build an nn.Module: torch.nn layers/containers and model zoos."""
    if not qualname:
        return False
    last = qualname.rsplit(".", 1)[-1]
    if last == "from_pretrained" and "." in qualname:
        owner = qualname.rsplit(".", 2)[-2]
        if owner.endswith(_NOT_MODULE_CLASSES):
            return False
    if qualname.startswith("torch.nn.") and not qualname.startswith("torch.nn.functional"):
        return last[:1].isupper() and last not in ("Parameter", "Buffer") and not last.endswith("Loss")
    if qualname.startswith(MODEL_FACTORIES_PREFIXES):
        return last == "from_pretrained" or last == "create_model" or last == "load" or last[:1].islower() or last.startswith("AutoModel")
    return last == "from_pretrained"


# torch.nn layers that hold no parameters, no buffers and behave the same in train() and
# eval(): keeping one outside the module tree (a plain list) or swapping it in changes nothing
# the optimizer, `.to()`, `state_dict()` or `eval()` would see.
STATELESS_LAYERS = frozenset(
    {
        "Identity", "Flatten", "Unflatten", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU",
        "SiLU", "Mish", "Sigmoid", "Tanh", "Softmax", "Softmax2d", "LogSoftmax", "Softmin", "Softplus",
        "Softsign", "Softshrink", "Hardshrink", "Tanhshrink", "Hardtanh", "Hardswish", "Hardsigmoid",
        "LogSigmoid", "Threshold", "GLU", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
        "AvgPool3d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
        "AdaptiveMaxPool2d", "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "MaxUnpool1d", "MaxUnpool2d",
        "MaxUnpool3d", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle",
        "PixelUnshuffle", "ChannelShuffle", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d",
        "ConstantPad2d", "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
        "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d",
        "CircularPad3d", "Fold", "Unfold", "CosineSimilarity", "PairwiseDistance",
    }
)
