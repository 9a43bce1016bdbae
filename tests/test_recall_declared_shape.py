"""NN503 on sizes declared by a creation call (issue 13): `heads = torch.zeros(H, B, L, d)`
filled head by head, then `heads.view(B, L, -1)` mixes heads into positions (QANet). The
creation call names each axis; a view that puts a later axis before an earlier one that is
not 1 scrambles the data."""

from __future__ import annotations

import pytest

from nnlint.config import Settings
from nnlint.engine import check_source

TEMPLATE = """\
import torch


def merge_heads(x, n_heads, d, proj):
    batch_size = x.shape[0]
    l = x.shape[1]
    heads = {creation}
    for i in range(n_heads):
        heads[i] = proj(x)
{between}    out = {view}
    return out
"""


def nn503(creation: str, view: str, between: str = "") -> list[str]:
    text = TEMPLATE.format(creation=creation, view=view, between=between)
    result = check_source(text, "attn.py", Settings(select=("NN503",)))
    return [f.message for f in result.findings if f.span.line == text.splitlines().index(f"    out = {view}") + 1]


@pytest.mark.parametrize("creation, view", [
    ("torch.zeros(n_heads, batch_size, l, d)", "heads.view(batch_size, l, -1)"),
    ("torch.zeros(n_heads, batch_size, l, d)", "heads.reshape(batch_size, l, n_heads * d)"),
    ("torch.empty((n_heads, batch_size, l, d))", "heads.view(batch_size, l, -1)"),
    ("x.new_zeros(batch_size, n_heads, l, d)", "heads.view(batch_size, l, -1)"),
    ("torch.zeros(n_heads, batch_size, l, d)", "heads.view(batch_size, n_heads, l, d)"),
])
def test_view_against_the_declared_memory_order_is_found(creation: str, view: str) -> None:
    messages = nn503(creation, view)
    assert messages and "memory order" in messages[0] and ".permute(" in messages[0]


def test_message_names_the_axes_and_a_working_rewrite() -> None:
    [message] = nn503("torch.zeros(n_heads, batch_size, l, d)", "heads.view(batch_size, l, -1)")
    assert "`n_heads` lies before `batch_size`" in message
    assert "heads.permute(1, 2, 0, 3).reshape(batch_size, l, -1)" in message


@pytest.mark.parametrize("creation, view", [
    # in memory order: nothing moves
    ("torch.zeros(batch_size, l, n_heads, d)", "heads.view(batch_size, l, -1)"),
    ("torch.zeros(n_heads, batch_size, l, d)", "heads.view(n_heads * batch_size, l, d)"),
    ("torch.zeros(n_heads, batch_size, l, d)", "heads.view(-1, l, d)"),
    # the left-out axis has size 1
    ("torch.zeros(1, batch_size, l, d)", "heads.view(batch_size, l, -1)"),
    # two axes declared alike: which one is meant is unknown
    ("torch.zeros(l, l, d)", "heads.view(l, -1)"),
    # not a creation call
    ("proj(x)", "heads.view(batch_size, l, -1)"),
])
def test_look_alikes_are_silent(creation: str, view: str) -> None:
    assert nn503(creation, view) == []


def test_axes_moved_before_the_view_are_silent() -> None:
    assert nn503("torch.zeros(n_heads, batch_size, l, d)", "heads.view(batch_size, l, -1)",
                 between="    heads = heads.permute(1, 2, 0, 3).contiguous()\n") == []
    assert nn503("torch.zeros(batch_size, n_heads, l, d)", "heads.view(batch_size, l, -1)",
                 between="    heads.transpose_(1, 2)\n") == []


def test_a_size_rebound_after_the_creation_is_not_the_declared_one() -> None:
    assert nn503("torch.zeros(n_heads, batch_size, l, d)", "heads.view(batch_size, l, -1)",
                 between="    batch_size = 2 * batch_size\n") == []
