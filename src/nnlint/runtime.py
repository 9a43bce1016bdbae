"""Process-wide settings for a run of nnlint (the CLI, its workers and the server)."""

from __future__ import annotations

import gc


def tune_gc(collect: bool = True) -> None:
    """A check run allocates millions of small, long-lived AST objects: with the
    default thresholds the collector rescans them over and over (~30% of the run).
    What exists now (the imported modules) is frozen out of every collection; a
    short-lived process skips the collection before it (tens of milliseconds, and in a
    forked worker it would touch every page shared with its parent)."""
    if collect:
        gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
