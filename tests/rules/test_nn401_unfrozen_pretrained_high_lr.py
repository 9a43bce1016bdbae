"""NN401 unfrozen-pretrained-high-lr."""

from helpers import apply_fix_and_recheck, codes, line_of, lint

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


def test_helper_optimizer_on_class_with_pretrained_encoder():
    assert codes(HELPER, "NN4") == [("NN401", line_of(HELPER, "# here"))]


def test_message_names_checkpoint_and_lr():
    (finding,) = lint(HELPER, "NN401")
    assert f"line {line_of(HELPER, 'from_pretrained(name)')}" in finding.message
    assert "lr=1e-3" in finding.message
    assert finding.related[0].span.line == line_of(HELPER, "from_pretrained(name)")


def test_fix_lowers_transformer_lr():
    fixed = apply_fix_and_recheck(HELPER, "NN401")
    assert "torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)" in fixed


def test_torchvision_sgd_module_level():
    code = '''
    import torch
    import torch.nn as nn
    from torchvision.models import resnet18, ResNet18_Weights
    model = resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    model.fc = nn.Linear(model.fc.in_features, 5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    '''
    assert codes(code, "NN4") == [("NN401", line_of(code, "optimizer ="))]
    fixed = apply_fix_and_recheck(code, "NN401")
    assert "lr=1e-3, momentum=0.9" in fixed


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


def test_fine_tuning_rates_are_clean():
    code = '''
    import torch
    from transformers import AutoModel
    from torchvision import models
    bert = AutoModel.from_pretrained("bert-base-cased")
    opt1 = torch.optim.AdamW(bert.parameters(), lr=2e-5, weight_decay=0.01)
    resnet = models.resnet50(weights="DEFAULT")
    opt2 = torch.optim.Adam(resnet.parameters(), lr=1e-4)
    opt3 = torch.optim.SGD(resnet.parameters(), lr=0.01, momentum=0.9)
    '''
    assert codes(code, "NN4") == []


def test_frozen_backbone_is_clean():
    code = '''
    import torch
    import torch.nn as nn
    from torchvision import models
    model = models.resnet18(weights=models.ResNet18_Weights.DEFAULT)
    model.requires_grad_(False)
    model.fc = nn.Linear(512, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    '''
    assert codes(code, "NN4") == []


def test_frozen_loop_in_builder_is_clean():
    code = '''
    import timm
    import torch
    def build():
        net = timm.create_model("resnet34", pretrained=True)
        for p in net.backbone.parameters():
            p.requires_grad = False
        return net
    net = build()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    '''
    assert codes(code, "NN4") == []


def test_parameter_groups_are_clean():
    code = '''
    import torch
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
    optimizer = torch.optim.AdamW([
        {"params": model.roberta.parameters(), "lr": 1e-5},
        {"params": model.classifier.parameters(), "lr": 1e-3},
    ])
    '''
    assert codes(code, "NN4") == []


def test_not_pretrained_is_clean():
    code = '''
    import torch
    from torchvision.models import resnet18
    model = resnet18(weights=None)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scratch = resnet18()
    opt2 = torch.optim.Adam(scratch.parameters(), lr=1e-3)
    '''
    assert codes(code, "NN4") == []


def test_trainer_api_is_clean():
    code = '''
    from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments
    model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased", num_labels=2)
    args = TrainingArguments(output_dir="out", learning_rate=2e-5)
    Trainer(model=model, args=args).train()
    '''
    assert codes(code, "NN4") == []


def test_lightning_configure_optimizers_and_default_lr():
    code = '''
    import torch
    import pytorch_lightning as pl
    from transformers import AutoModel
    class Lit(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.bert = AutoModel.from_pretrained("bert-base-uncased")
        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters())
    '''
    assert codes(code, "NN4") == [("NN401", line_of(code, "return torch.optim.Adam"))]
    fixed = apply_fix_and_recheck(code, "NN401")
    assert "torch.optim.Adam(self.parameters(), lr=2e-5)" in fixed


def test_thresholds_are_options():
    code = "import torch\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained('x')\no = torch.optim.AdamW(m.parameters(), lr=5e-5)\n"
    assert check_source(code, "t.py", Settings(select=("NN401",))).findings == []
    settings = Settings(select=("NN401",), options=(("NN401", (("transformer_adaptive_lr_above", 3e-5),)),))
    assert [f.code for f in check_source(code, "t.py", settings).findings] == ["NN401"]


def test_lora_adapter_is_clean():
    code = '''
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    base = AutoModelForCausalLM.from_pretrained("gpt2")
    model = get_peft_model(base, LoraConfig(r=8))
    optimizer = torch.optim.AdamW(base.parameters(), lr=3e-4)
    '''
    assert codes(code, "NN4") == []
