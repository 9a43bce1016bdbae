"""A language server lives all day (issue 18, items 2 and 5): memory stays flat over
10,000 edits and 1,000 open/close cycles, and reading a large frame is linear. Both run
a real server process over stdio (nnlint.server.soak)."""

from __future__ import annotations

import os

import pytest

from nnlint.server.soak import frame_curve, memory_soak

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")


def test_rss_and_futures_flat_over_ten_thousand_edits_and_a_thousand_open_close_cycles() -> None:
    soak = memory_soak(edits=10_000, cycles=1_000)
    print(
        f"\nRSS over 10,000 edits: {soak.rss_edits_kib[0] / 1024:.1f} -> {soak.rss_edits_kib[1] / 1024:.1f} MB "
        f"({soak.edit_growth_kib:+d} KiB); over 1,000 open/close cycles: {soak.rss_cycles_kib[0] / 1024:.1f} -> "
        f"{soak.rss_cycles_kib[1] / 1024:.1f} MB ({soak.cycle_growth_kib:+d} KiB); futures table "
        f"{soak.futures_after_edits} / {soak.futures_after_cycles}"
    )
    # pygls kept one future per notification for the life of the server (12,004 here)
    assert soak.futures_after_edits == 0 and soak.futures_after_cycles == 0
    assert soak.edit_growth_kib < 2048, soak
    assert soak.cycle_growth_kib < 2048, soak


def test_a_request_behind_a_large_frame_waits_linear_time() -> None:
    """A request queued behind one didOpen of 4 MB, then of 16 MB: linear reading makes
    the second about 4 times the first; the quadratic reader made it 16 times (8 MB took
    12.9 s)."""
    (small, small_s), (large, large_s) = frame_curve((4, 16))
    print(f"\nanswered behind a {small} MB frame in {small_s:.2f} s, behind {large} MB in {large_s:.2f} s")
    assert large_s < max(small_s, 0.25) * 9, (small_s, large_s)
