"""Two threads parsing at once through nnlint's parse function (the language server's two
analysis workers do). CPython before 3.11.9 / 3.12.4 keeps the AST converter's recursion
depth in shared state (python/cpython#106905): a thread switch in the middle of a
conversion then fails a parse with "SystemError: AST constructor recursion depth mismatch".
nnlint serialises its parses with a lock instead of patching `ast.parse`."""

from __future__ import annotations

import ast
import gc
import sys
import threading
import time
from typing import Callable

import pytest

from nnlint.engine import check_source
from nnlint.parsing import parse_python

TEXT = "\n".join(f"def f{i}(a):\n    return [(a, (a, (a, [a]))) for a in range(3) if a]" for i in range(100))
AFFECTED = sys.version_info < (3, 11, 9) or (3, 12) <= sys.version_info < (3, 12, 4)


def _race(parse: Callable[[str], object], rounds: int = 40) -> list[BaseException]:
    """Parse TEXT on two threads with a thread switch forced inside the conversion: a
    garbage collection runs Python code (a gc callback), where the interpreter switches
    threads (a tiny switch interval makes that happen on every callback)."""
    errors: list[BaseException] = []

    def switch(_phase: str, _info: dict) -> None:
        time.sleep(0)

    def work() -> None:
        for _ in range(rounds):
            try:
                parse(TEXT)
            except SystemError as exc:
                errors.append(exc)

    interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    sys.setswitchinterval(1e-6)
    gc.set_threshold(50, 1, 1)
    gc.callbacks.append(switch)
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*thresholds)
        sys.setswitchinterval(interval)
    return errors


def test_two_threads_parsing_through_nnlint_never_fail() -> None:
    assert _race(parse_python) == []


@pytest.mark.skipif(not AFFECTED, reason="this CPython keeps the recursion depth per thread")
def test_the_race_is_real_with_a_bare_ast_parse() -> None:
    """The same race without the lock fails on this interpreter (so the test above proves
    the lock, not luck)."""
    errors: list[BaseException] = []
    for _ in range(5):
        errors = _race(ast.parse)
        if errors:
            break
    assert errors and "recursion depth mismatch" in str(errors[0])


def test_the_engine_parses_through_the_lock() -> None:
    assert _race(lambda text: check_source(text).error and None, rounds=4) == []
    assert ast.parse.__module__ == "ast"  # the standard library is not patched
