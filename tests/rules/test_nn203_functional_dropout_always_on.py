from helpers import apply_fix_and_recheck, codes, lint, lint_package

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


def test_fix_adds_training_flag_and_keeps_comment() -> None:
    fixed = apply_fix_and_recheck(WRONG, "NN203")
    assert "x = F.dropout(F.relu(self.fc1(x)), p=self.p, training=self.training)  # keeps dropping" in fixed


def test_fix_on_multiline_call_with_trailing_comma() -> None:
    code = """\
    from torch import nn
    from torch.nn import functional as Fn
    class Block(nn.Module):
        def forward(self, x):
            return Fn.dropout2d(
                x,
                0.1,
            )
    """
    assert codes(code, "NN203") == [("NN203", 5)]
    fixed = apply_fix_and_recheck(code, "NN203")
    assert "            0.1, training=self.training,\n" in fixed


def test_flags_subclass_of_a_local_module_and_torch_alias() -> None:
    code = """\
    import torch as T
    class Base(T.nn.Module):
        pass
    class Head(Base):
        def forward(self, x):
            return T.nn.functional.alpha_dropout(x, 0.2)
    """
    assert codes(code, "NN203") == [("NN203", 6)]


def test_quiet_with_training_flag_keyword_or_positional() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F
    class Net(nn.Module):
        def forward(self, x):
            x = F.dropout(x, 0.2, self.training)
            x = F.dropout(x, p=0.2, training=self.training)
            return F.dropout(x, 0.5, training=True)  # Monte-Carlo dropout, on purpose
    """
    assert lint(code, "NN203") == []


def test_quiet_outside_modules_and_for_nn_dropout_layers() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F
    def augment(x):
        return F.dropout(x, 0.1)
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.5)
        def forward(self, x):
            return self.drop(x)
    class NotAModule:
        def forward(self, x):
            return F.dropout(x, 0.1)
    """
    assert lint(code, "NN203") == []


def test_quiet_when_arguments_are_unpacked() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F
    class Net(nn.Module):
        def forward(self, x, **kw):
            return F.dropout(x, **kw)
    """
    assert lint(code, "NN203") == []


def test_silent_when_only_reached_in_training_mode() -> None:
    code = """\
    import torch.nn as nn
    import torch.nn.functional as F

    class EfficientNet(nn.Module):
        def forward(self, x, rate=0.2):
            if self.training and rate > 0:
                x = F.dropout(x, p=rate)
            y = F.dropout(x, p=0.1) if self.training else x
            return y
    """
    assert codes(code, "NN203") == []
    ungated = code.replace("if self.training and rate > 0:", "if rate > 0:")
    assert codes(ungated, "NN203") == [("NN203", 7)]


def test_silent_on_a_rate_the_caller_opts_into() -> None:
    """`noise_dropout=0.` at sampling time: off unless a caller asks (latent-diffusion)."""
    code = """\
    import torch
    import torch.nn as nn

    class Diffusion(nn.Module):
        def p_sample(self, x, noise_dropout=0.):
            noise = torch.randn_like(x)
            if noise_dropout > 0.:
                noise = torch.nn.functional.dropout(noise, p=noise_dropout)
            return x + noise
    """
    assert codes(code, "NN203") == []
    assert codes(code.replace("noise_dropout=0.", "noise_dropout=0.1"), "NN203") == [("NN203", 8)]


SDPA = """\
import torch.nn as nn
import torch.nn.functional as F

class CausalSelfAttention(nn.Module):
    def __init__(self, dropout=0.1):
        super().__init__()
        self.dropout = dropout

    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=self.dropout, is_causal=True)
"""


def test_flags_attention_dropout_that_ignores_the_mode() -> None:
    """nanoGPT shipped `dropout_p=self.dropout` and fixed it ("dont always dropout!")."""
    assert codes(SDPA, "NN203") == [("NN203", 10)]
    fixed = apply_fix_and_recheck(SDPA, "NN203")
    assert "dropout_p=self.dropout if self.training else 0.0, is_causal=True" in fixed


def test_attention_dropout_look_alikes() -> None:
    gated = SDPA.replace("dropout_p=self.dropout,", "dropout_p=self.dropout if self.training else 0,")
    none = SDPA.replace("dropout_p=self.dropout,", "dropout_p=0.0,")
    absent = SDPA.replace(" dropout_p=self.dropout,", "")
    assert codes(gated, "NN203") == codes(none, "NN203") == codes(absent, "NN203") == []


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


def test_alpha_dropout_with_a_training_flag_is_fine() -> None:
    code = ALPHA.replace("p=0.1)", "p=0.1, training=self.training)").replace(
        "(x, 0.1))", "(x, 0.1, self.training))")
    assert codes(code, "NN203") == []


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
