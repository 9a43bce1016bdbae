"""The look-alikes DEVELOPERS.md names: correct code that merely resembles a bug must get
no finding from ANY rule (not only from the rule it resembles)."""

import textwrap

import pytest
from helpers import lint

TRAPS = {
    "gradient accumulation": """\
        import torch
        import torch.nn.functional as F
        def train(model, loader, accum_steps=4):
            optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
            model.train()
            optimizer.zero_grad()
            for i, (x, y) in enumerate(loader):
                loss = F.cross_entropy(model(x), y) / accum_steps
                loss.backward()
                if (i + 1) % accum_steps == 0:
                    optimizer.step()
                    optimizer.zero_grad()
        """,
    "AMP GradScaler": """\
        import torch
        import torch.nn.functional as F
        def train(model, loader):
            optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            scaler = torch.amp.GradScaler("cuda")
            model.train()
            for x, y in loader:
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast("cuda", dtype=torch.float16):
                    loss = F.cross_entropy(model(x), y)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
        """,
    "accelerate": """\
        import torch
        from accelerate import Accelerator
        def main(model, loader):
            accelerator = Accelerator(gradient_accumulation_steps=2)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
            model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
            model.train()
            for batch in loader:
                with accelerator.accumulate(model):
                    outputs = model(**batch)
                    accelerator.backward(outputs.loss)
                    optimizer.step()
                    optimizer.zero_grad()
        """,
    "Lightning training_step": """\
        import torch
        import torch.nn.functional as F
        import lightning as L
        class Classifier(L.LightningModule):
            def __init__(self, net):
                super().__init__()
                self.net = net
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = F.cross_entropy(self.net(x), y)
                self.log("train_loss", loss)
                return loss
            def validation_step(self, batch, batch_idx):
                x, y = batch
                self.log("val_acc", (self.net(x).argmax(1) == y).float().mean())
            def configure_optimizers(self):
                return torch.optim.Adam(self.parameters(), lr=1e-3)
        """,
    "zero_grad(set_to_none=True) after step": """\
        import torch
        for x, y in loader:
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        """,
    "p.grad = None": """\
        import torch
        net = torch.nn.Linear(3, 1)
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
        for epoch in range(10):
            for p in net.parameters():
                p.grad = None
            loss = torch.nn.functional.mse_loss(net(x), y)
            loss.backward()
            optimizer.step()
        """,
    "LBFGS closure": """\
        import torch
        from torch import optim
        optimizer = optim.LBFGS(model.parameters(), lr=0.5, max_iter=20)
        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(t), observed)
            loss.backward()
            return loss
        for it in range(10):
            loss = optimizer.step(closure)
        """,
    "eval in a helper that restores train()": """\
        import torch
        import torch.nn.functional as F
        def evaluate(model, loader):
            model.eval()
            with torch.no_grad():
                acc = sum((model(x).argmax(1) == y).sum().item() for x, y in loader)
            model.train()
            return acc
        def fit(model, train_loader, val_loader, optimizer, epochs):
            model.train()
            for epoch in range(epochs):
                for x, y in train_loader:
                    optimizer.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    optimizer.step()
                print(evaluate(model, val_loader))
        """,
    "softmax used only for metrics": """\
        import torch
        import torch.nn.functional as F
        for x, y in loader:
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            probs = F.softmax(logits, dim=1)
            confidence = probs.max(dim=1).values.mean().item()
        """,
    "DDP sampler reshuffled through loader.sampler, OneCycleLR per batch": """\
        import torch
        import torch.nn.functional as F
        from torch.utils.data import DataLoader, DistributedSampler
        def train(model, dataset, epochs):
            loader = DataLoader(dataset, batch_size=64, sampler=DistributedSampler(dataset))
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
            scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs,
                                                            steps_per_epoch=len(loader))
            model.train()
            for epoch in range(epochs):
                loader.sampler.set_epoch(epoch)
                for x, y in loader:
                    optimizer.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
        """,
    "two losses under bf16 autocast, no scaler; cosine stepped per epoch": """\
        import torch
        def train(model, loader, epochs):
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
            model.train()
            for epoch in range(epochs):
                for x, y in loader:
                    optimizer.zero_grad()
                    with torch.autocast("cuda", dtype=torch.bfloat16):
                        out = model(x)
                        main, aux = (out - y).pow(2).mean(), out.abs().mean()
                    main.backward(retain_graph=True)
                    aux.backward()
                    optimizer.step()
                scheduler.step()
        """,
}


@pytest.mark.parametrize("name", sorted(TRAPS))
def test_no_rule_fires_on_look_alike(name: str) -> None:
    findings = lint(TRAPS[name])
    assert findings == [], [(f.code, f.span.line, f.message) for f in findings]


def test_an_attribute_rebuilt_from_itself_ends_the_search() -> None:
    """diffusers' train_text_to_image_sdxl.py rebinds `pipeline.scheduler =
    pipeline.scheduler.from_config(...)` twice: asking what class it holds went from one
    binding to the other until the recursion limit, and NN202 was skipped for the file."""
    from nnlint.engine import check_source

    code = textwrap.dedent("""\
        import torch

        def main(args, pipeline, model, loader, opt):
            model.train()
            for epoch in range(3):
                if args.validate:
                    pipeline.scheduler = pipeline.scheduler.from_config(pipeline.scheduler.config)
                    model.eval()
                for x in loader:
                    model(x).sum().backward()
                    opt.step()
                    opt.zero_grad()
            pipeline.scheduler = pipeline.scheduler.from_config(pipeline.scheduler.config)
            pipeline.scheduler.step()
        """)
    result = check_source(code, "sdxl.py")
    assert result.internal_errors == []
    assert all(f.code != "NN000" for f in result.findings)
