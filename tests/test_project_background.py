"""Jedi's background work in the language server holds off while an analysis runs and
until the editor has been quiet for a moment: a computing thread takes half the GIL, so it
would double the latency of the keystrokes typed meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from nnlint import project
from nnlint.project import ProjectIndex


def test_background_work_waits_for_the_analyses(tmp_path: Path) -> None:
    index = ProjectIndex(tmp_path, use_jedi=False, background=True)
    waiter = threading.Thread(target=index._wait_for_quiet)
    with index.foreground():
        waiter.start()
        waiter.join(project.QUIET_SECONDS * 2)
        assert waiter.is_alive()  # an analysis is running: jedi waits
    ended = time.monotonic()
    waiter.join(project.MAX_QUIET_WAIT)
    assert not waiter.is_alive()
    assert time.monotonic() - ended >= project.QUIET_SECONDS * 0.9  # and then a quiet moment


def test_background_work_waits_at_most_max_quiet_wait(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(project, "MAX_QUIET_WAIT", 0.2)
    index = ProjectIndex(tmp_path, use_jedi=False, background=True)
    with index.foreground():  # typing never pauses: the answers come late, not never
        started = time.monotonic()
        index._wait_for_quiet()
        assert 0.15 <= time.monotonic() - started < 2
