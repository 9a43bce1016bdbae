"""The import roots that are libraries, never a module of the user's project.

The project index (`nnlint.project`) never looks for them in the project, on disk or with
jedi; the one-file index (`nnlint.semantic`) knows from them that a file importing nothing
else can reach no other module. Both read them here (neither imports the other's module
for it)."""

from __future__ import annotations

from typing import Iterable

# Import roots that are never the user's project; jedi answers for them when asked.
THIRD_PARTY_ROOTS = frozenset(
    {
        "torch", "torchvision", "torchaudio", "torchtext", "numpy", "scipy", "pandas", "sklearn",
        "transformers", "timm", "lightning", "pytorch_lightning", "accelerate", "datasets", "tqdm",
        "matplotlib", "os", "sys", "math", "random", "json", "typing", "dataclasses", "collections",
        "functools", "itertools", "pathlib", "re", "time", "logging", "argparse", "copy", "abc",
    }
)


def is_library(target: str) -> bool:
    """Whether an import target ("torch.nn", ".models.Net") is absolute and starts with a
    library root: then it cannot name a project module."""
    return not target.startswith(".") and target.partition(".")[0] in THIRD_PARTY_ROOTS


def libraries_only(targets: Iterable[str]) -> bool:
    """Whether every import target (`Semantic.imports` values) is a library's."""
    return all(is_library(target) for target in targets)
