"""pytest fixtures and hooks for the whole suite. Shared helper functions live in
tests/helpers.py (`from helpers import lint, ...`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import CORPUS

# No test reads a result another test (or an earlier run) left in a result cache, and
# none writes .nnlint_cache into the repository: the cache is off for the whole suite,
# subprocesses included. tests/test_cache.py turns it on for itself, in tmp folders.
os.environ["NNLINT_NO_CACHE"] = "1"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS
