"""NN401 unfrozen-pretrained-high-lr."""

from helpers import codes, line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source

HELPER = '''
import torch
import torch.nn as nn
from transformers import AutoModel

class BertClassifier(nn.Module):
    def __init__(self, name="bert-base-uncased"):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(name)
        self.classifier = nn.Linear(768, 2)

def make_optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)  # here

model = BertClassifier()
opt = make_optimizer(model)
'''


def test_message_names_checkpoint_and_lr():
    (finding,) = lint(HELPER, "NN401")
    assert f"line {line_of(HELPER, 'from_pretrained(name)')}" in finding.message
    assert "lr=1e-3" in finding.message
    assert finding.related[0].span.line == line_of(HELPER, "from_pretrained(name)")


def test_lr_through_constant_config_and_helper_default():
    code = '''
    import timm
    import torch
    LR = 3e-3
    cfg = {"lr": 1e-2, "epochs": 3}
    net = timm.create_model("resnet34", pretrained=True)
    a = torch.optim.Adam(net.parameters(), lr=LR)
    b = torch.optim.Adam(net.parameters(), lr=cfg["lr"])

    def make_optimizer(model, lr=1e-3):
        return torch.optim.AdamW(model.parameters(), lr=lr)

    c = make_optimizer(net)
    '''
    found = codes(code, "NN4")
    assert found == [
        ("NN401", line_of(code, "a = torch")),
        ("NN401", line_of(code, "b = torch")),
        ("NN401", line_of(code, "return torch.optim.AdamW")),
    ]
    (finding,) = [f for f in lint(code, "NN401") if f.span.line == line_of(code, "a = torch")]
    assert finding.related[-1].span.line == line_of(code, "LR = 3e-3")
    assert finding.fix is None


def test_thresholds_are_options():
    code = "import torch\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained('x')\no = torch.optim.AdamW(m.parameters(), lr=5e-5)\n"
    assert check_source(code, "t.py", Settings(select=("NN401",))).findings == []
    settings = Settings(select=("NN401",), options=(("NN401", (("transformer_adaptive_lr_above", 3e-5),)),))
    assert [f.code for f in check_source(code, "t.py", settings).findings] == ["NN401"]
