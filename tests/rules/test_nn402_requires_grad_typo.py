"""NN402 requires-grad-typo."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

WRONG = '''
import torch
import torch.nn as nn

class SentimentRNN(nn.Module):
    def __init__(self, vectors, hidden=64):
        super().__init__()
        self.embedding = nn.Embedding(vectors.size(0), vectors.size(1))
        self.embedding.weight.data.copy_(vectors)
        self.embedding.weight.require_grad = False  # here
        self.out = nn.Linear(vectors.size(1), 1)
'''


def test_message_and_related():
    (finding,) = lint(WRONG, "NN402")
    assert "`require_grad`" in finding.message and "still trained" in finding.message
    assert finding.related[0].span.line == line_of(WRONG, "nn.Embedding(")


def test_requires_grad_on_module():
    code = '''
    import torch.nn as nn
    from torchvision import models
    model = models.resnet18(weights="DEFAULT")
    model.requires_grad = False
    for layer in model.children():
        layer.requires_grad = False
    head = nn.Linear(3, 3)
    head.weight.requires_grad = False
    '''
    assert codes(code, "NN402") == [
        ("NN402", line_of(code, "model.requires_grad = False")),
        ("NN402", line_of(code, "layer.requires_grad = False")),
    ]
    (first, _) = lint(code, "NN402")
    assert "nn.Module" in first.message and first.related[0].span.line == line_of(code, "models.resnet18")
    fixed = apply_fix_and_recheck(code, "NN402")
    assert "model.requires_grad_(False)\n" in fixed


def test_typo_on_module_fix_calls_method():
    code = '''
    import torch.nn as nn
    backbone = nn.Sequential(nn.Linear(3, 3))
    backbone.require_grad = False
    '''
    (finding,) = lint(code, "NN402")
    fixed = apply_fix_and_recheck(code, "NN402")
    assert "backbone.requires_grad_(False)" in fixed


def test_flags_camel_case_typo_in_a_file_without_lowercase_grad() -> None:
    from helpers import codes
    code = """\
    from torchvision import models
    model = models.resnet18(weights="DEFAULT")
    model.layer1.requiresGrad = False
    """
    assert codes(code, "NN402") == [("NN402", 3)]


def test_a_typo_that_sets_true_says_what_really_happens() -> None:
    code = """\
    import torchvision
    model = torchvision.models.resnet18(weights="DEFAULT")
    for param in model.layer4.parameters():
        param.require_grad = True
    """
    findings = lint(code, "NN402")
    assert [(f.code, f.span.line) for f in findings] == [("NN402", 4)]
    assert "if it was frozen, it stays frozen" in findings[0].message
    assert "still trained" not in findings[0].message


def test_sub_modules_listed_then_looped_are_modules() -> None:
    """catalyst's ResnetEncoder: `modules = list(resnet.children())[:-2]`, then
    `for param in modules: param.requires_grad = False` freezes nothing."""
    code = """\
    import torchvision

    resnet = torchvision.models.resnet34(weights="DEFAULT")
    modules = list(resnet.children())[:-2]
    for param in modules:
        param.requires_grad = False
    """
    findings = lint(code, "NN402")
    assert [f.span.line for f in findings] == [6]
    assert "resnet.children()" in findings[0].related[0].message
    fixed = apply_fix_and_recheck(code, "NN402")
    assert "param.requires_grad_(False)" in fixed
    rebound = code.replace("for param in modules:", "modules = [p for m in modules for p in m.parameters()]\nfor param in modules:")
    assert codes(rebound, "NN402") == []
