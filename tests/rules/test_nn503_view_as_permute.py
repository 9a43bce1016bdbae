"""NN503 view-as-permute."""

from __future__ import annotations

from helpers import codes, line_of, lint

HEADER = """
import torch
import torch.nn as nn
"""


def nn503(code: str) -> list[int]:
    return [line for code_, line in codes(code, "NN503") if code_ == "NN503"]


def test_unpacked_shape_reordered() -> None:
    code = HEADER + """
def forward(x):
    b, t, c = x.shape
    x = x.view(b, c, t)  # here
    return x
"""
    assert nn503(code) == [line_of(code, "# here")]
    finding = lint(code, "NN503")[0]
    assert "`x.view(b, c, t)`" in finding.message
    assert "`(b, t, c)`" in finding.message
    assert "`x.permute(0, 2, 1)`" in finding.message
    assert finding.related[0].span.line == line_of(code, "b, t, c = x.shape")


def test_flattened_groups_out_of_order() -> None:
    code = HEADER + """
def f(img):
    b, h, w, c = img.shape
    return img.view(b, c, h * w)  # here
"""
    assert nn503(code) == [line_of(code, "# here")]
    finding = lint(code, "NN503")[0]
    assert finding.fix is None
    assert "out of order" in finding.message


def test_head_split_on_projection() -> None:
    code = HEADER + """
class Attention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d)
        self.query = nn.Linear(d, d)
        self.n_head = n_head

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        k = k.view(B, self.n_head, T, C // self.n_head)  # a
        q = self.query(x).view(B, self.n_head, T, C // self.n_head)  # b
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        return q, k, v
"""
    assert nn503(code) == [line_of(code, "# a"), line_of(code, "# b")]
    finding = lint(code, "NN503")[0]
    assert finding.fix is None
    assert "`k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)`" in finding.message


def test_a_later_dimension_put_before_the_ones_it_skips() -> None:
    """lightly-train's DINOv2 wrapper reshaped `(B, N, D)` patch tokens straight to
    `(B, D, h, w)`: the channel size is listed before the token axis it skipped, which the
    sizes after it (h, w) then split. Squeezing a size-1 axis (`(B, 1, D)` to `(B, D)`) and a
    split in place are fine."""
    code = """\
    def forward_features(self, x):
        rt = self._model(x)
        tokens = rt["x_norm_patchtokens"].reshape(
            rt["x_norm_patchtokens"].shape[0],
            rt["x_norm_patchtokens"].shape[2],
            x.shape[2] // self.patch,
            x.shape[3] // self.patch,
        )
        return tokens
    """
    findings = lint(code, "NN503")
    assert [f.span.line for f in findings] == [3]
    assert "out of order" in findings[0].message and "\\n" not in findings[0].message
    assert codes("def f(t):\n    return t.view(t.shape[0], t.shape[2])\n", "NN503") == []
    assert codes("def f(t, h, w):\n    return t.view(t.shape[0], h, w, t.shape[2])\n", "NN503") == []
    assert codes("def f(t, h, w):\n    return t.view(t.size(0), t.size(2), h, w)\n", "NN503") == [("NN503", 2)]
    gram = "def gram(X):\n    c, n = X.shape[1], X.nelement() // X.shape[1]\n    return X.reshape((c, n))\n"
    assert codes(gram, "NN503") == []


def test_heads_folded_into_the_batch_straight_from_the_projection() -> None:
    """FuxiCTR's MultiHeadAttention: `query = self.W_q(query)` then
    `query.view(batch_size * self.num_heads, -1, self.attention_dim)` feeds an attention
    module whose forward multiplies it with a transposed key. Splitting the last axis first,
    then moving the heads, is the right way and is left alone."""
    code = """\
    import torch
    from torch import nn

    class ScaledDotProductAttention(nn.Module):
        def forward(self, Q, K, V, scale=None):
            scores = torch.bmm(Q, K.transpose(1, 2))
            return torch.bmm(scores.softmax(dim=2), V)

    class MultiHeadAttention(nn.Module):
        def __init__(self, dim, heads):
            super().__init__()
            self.W_q = nn.Linear(dim, dim)
            self.num_heads, self.head_dim = heads, dim // heads
            self.attention = ScaledDotProductAttention()

        def forward(self, query, key, value):
            query = self.W_q(query)
            batch_size = query.size(0)
            query = query.view(batch_size * self.num_heads, -1, self.head_dim)
            return self.attention(query, key, value)
    """
    findings = lint(code, "NN503")
    assert [f.span.line for f in findings] == [19]
    assert ".transpose(1, 2).reshape(batch_size * self.num_heads, -1, self.head_dim)" in findings[0].message
    right = code.replace(
        "query.view(batch_size * self.num_heads, -1, self.head_dim)",
        "query.view(batch_size, -1, self.num_heads, self.head_dim).transpose(1, 2).reshape(batch_size * self.num_heads, -1, self.head_dim)")
    assert codes(right, "NN503") == []
    no_attention = code.replace("return self.attention(query, key, value)", "return query.mean(dim=1)")
    assert codes(no_attention, "NN503") == []  # nothing shows the middle axis is a sequence
