from helpers import apply_fix_and_recheck, lint, lint_package

WRONG = """\
import torch.nn as nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.fc1 = nn.Linear(10, 20)
        self.fc2 = nn.Linear(20, 2)
        self.p = p

    def forward(self, x):
        x = F.dropout(F.relu(self.fc1(x)), p=self.p)  # keeps dropping
        return self.fc2(x)
"""


def test_flags_functional_dropout_without_training_flag() -> None:
    findings = lint(WRONG, "NN203")
    assert [(f.code, f.span.line) for f in findings] == [("NN203", 12)]
    assert "Net.forward" in findings[0].message
    assert findings[0].related[0].span.line == 4


ALPHA = """\
import torch.nn as nn
import torch.nn.functional as F

class SelfNormalizingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 64)
        self.fc2 = nn.Linear(64, 2)

    def forward(self, x):
        x = F.selu(self.fc1(x))
        if self.training:
            x = F.alpha_dropout(x, p=0.1)  # never drops
        return self.fc2(F.feature_alpha_dropout(x, 0.1))
"""


def test_alpha_dropout_never_drops_and_says_so() -> None:
    """`alpha_dropout` defaults to training=False: a no-op even in training, gated or not."""
    findings = lint(ALPHA, "NN203")
    assert [f.span.line for f in findings] == [13, 14]
    for finding in findings:
        assert "never drops anything" in finding.message and "defaults to False" in finding.message
        assert "after `.eval()`" not in finding.message
    fixed = apply_fix_and_recheck(ALPHA, "NN203")
    assert "F.alpha_dropout(x, p=0.1, training=self.training)  # never drops" in fixed


def test_every_functional_dropout_variant_in_a_trainer_style_block() -> None:
    code = """\
    import torch
    from torch.nn import functional as F

    class Block(torch.nn.Module):
        def forward(self, x, seq, vol):
            a = F.dropout1d(seq, 0.1)
            b = F.dropout2d(x, 0.1)
            c = F.dropout3d(vol, 0.1)
            return a, b, c
    """
    findings = lint(code, "NN203")
    assert [f.span.line for f in findings] == [6, 7, 8]
    assert all("keeps dropping activations after `.eval()`" in f.message for f in findings)


def test_attention_dropout_in_a_module_of_another_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pkg/__init__.py": "",
        "pkg/base.py": """\
            import torch.nn as nn

            class Base(nn.Module):
                pass
            """,
        "pkg/attn.py": """\
            import torch.nn.functional as F
            from pkg.base import Base

            class Attention(Base):
                def __init__(self, p):
                    super().__init__()
                    self.p = p

                def forward(self, q, k, v):
                    return F.scaled_dot_product_attention(q, k, v, None, self.p)
            """,
    }
    findings = lint_package(tmp_path, files, "pkg/attn.py", "NN203")
    assert [f.span.line for f in findings] == [10]
    assert "dropout_p=self.p if self.training else 0.0" in findings[0].message
