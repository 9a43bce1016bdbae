"""Measure what each silent mistake nnlint catches does to a real (small) training run.

    pip install torch            # a CPU build is enough
    python scripts/measure_effects.py

Prints a Markdown table (docs/why.md carries it verbatim; tests/test_docs.py checks
that). Seeded and deterministic: every experiment starts from `torch.manual_seed(0)`,
uses one thread and only CPU, and rounds what it prints. Runs in a few seconds.
"""

from __future__ import annotations

import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

CLASSES, FEATURES = 4, 20


def data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A noisy linear 4-class problem: the same teacher for every seed."""
    teacher = torch.Generator().manual_seed(1234)
    w = torch.randn(FEATURES, CLASSES, generator=teacher)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, FEATURES, generator=g)
    y = (x @ w + 0.5 * torch.randn(n, CLASSES, generator=g)).argmax(1)
    return x, y


X, Y = data(1024, 1)
XT, YT = data(1024, 2)


def mlp(dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 64), nn.ReLU(), nn.Dropout(dropout), nn.Linear(64, CLASSES))


def accuracy(model: nn.Module, x: torch.Tensor = XT, y: torch.Tensor = YT) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def batches(steps: int, size: int = 64):
    for i in range(steps):
        start = (i * size) % len(X)
        yield X[start : start + size], Y[start : start + size]


def train(model: nn.Module, loss_of, steps: int = 300, lr: float = 0.1, zero_grad: str = "before") -> float:
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss = torch.tensor(0.0)
    for x, y in batches(steps):
        if zero_grad == "before":
            opt.zero_grad()
        loss = loss_of(model(x), y)
        loss.backward()
        if zero_grad == "between":
            opt.zero_grad()
        opt.step()
    model.eval()
    with torch.no_grad():
        return loss_of(model(X), Y).item()


def tiny(value: float) -> str:
    """Rounding noise is printed as a bound, so the table is the same on every CPU."""
    return "< 1e-4 (rounding noise)" if abs(value) < 1e-4 else f"{value:.4f}"


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


# ------------------------------------------------------------------ experiments
def nn101():
    model = mlp()
    x, y = X[:64], Y[:64]
    F.cross_entropy(model(x), y).backward()
    first = model[0].weight.grad.norm().item()
    F.cross_entropy(model(x), y).backward()  # no zero_grad in between
    second = model[0].weight.grad.norm().item()
    ok = mlp()
    train(ok, F.cross_entropy, lr=0.1)
    bad = mlp()
    train(bad, F.cross_entropy, lr=0.1, zero_grad="never")
    return (
        "NN101",
        "no `zero_grad()` in the loop",
        f"gradient after 2 backward passes = {second / first:.2f}x the true one; test accuracy {pct(accuracy(bad))}",
        f"1.00x; test accuracy {pct(accuracy(ok))}",
        "MLP, SGD lr 0.1, 300 steps",
    )


def nn102():
    ok = mlp()
    train(ok, F.cross_entropy)
    bad = mlp()
    before = accuracy(bad)
    train(bad, F.cross_entropy, zero_grad="between")
    return (
        "NN102",
        "`zero_grad()` between `backward()` and `step()`",
        f"weights never change: test accuracy {pct(accuracy(bad))} (untrained: {pct(before)})",
        f"test accuracy {pct(accuracy(ok))}",
        "MLP, SGD lr 0.1, 300 steps",
    )


def _graph_nodes(tensor: torch.Tensor) -> int:
    seen, todo = set(), [tensor.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        todo.extend(fn for fn, _ in node.next_functions)
    return len(seen)


def nn103():
    model = mlp()
    total = 0.0
    for x, y in batches(100):
        loss = F.cross_entropy(model(x), y)
        total += loss  # keeps every iteration's graph
    kept = _graph_nodes(total)
    return (
        "NN103",
        "`total += loss` instead of `loss.item()`",
        f"{kept} autograd nodes kept alive after 100 iterations (grows every step)",
        "0 (a float)",
        "MLP, 100 iterations",
    )


def nn201():
    model = mlp(dropout=0.5)
    train(model, F.cross_entropy, steps=600)
    model.train()  # the mistake: evaluating without model.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        a, b = model(XT), model(XT)
    changed = (a.argmax(1) != b.argmax(1)).float().mean().item()
    wrong = accuracy(model)
    model.eval()
    return (
        "NN201",
        "evaluation without `model.eval()` (dropout 0.5)",
        f"test accuracy {pct(wrong)}; {pct(changed)} of predictions change between two identical passes",
        f"test accuracy {pct(accuracy(model))}; 0.0% change",
        "MLP with dropout, 600 steps",
    )


def nn202():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(FEATURES, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, CLASSES))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps_in_eval, total = 0, 0
    for epoch in range(5):
        for x, y in batches(20):
            steps_in_eval += not model.training
            total += 1
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        if epoch == 0:
            model.eval()
            accuracy(model)  # validation, and no model.train() afterwards
            frozen = model[1].running_mean.clone()
    unchanged = torch.equal(frozen, model[1].running_mean)
    return (
        "NN202",
        "`model.train()` not restored after validation",
        f"{steps_in_eval} of {total} steps trained without dropout; BatchNorm statistics "
        f"{'frozen' if unchanged else 'updated'} after epoch 1",
        f"0 of {total}; statistics updated every step",
        "MLP + BatchNorm + dropout, 5 epochs, validation after epoch 1",
    )


class FunctionalDropoutNet(nn.Module):
    def __init__(self, training_flag: bool):
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.fc2 = nn.Linear(FEATURES, 64), nn.Linear(64, CLASSES)
        self.flag = training_flag

    def forward(self, x):
        h = F.relu(self.fc1(x))
        if self.flag:
            h = F.dropout(h, p=0.5, training=self.training)
        else:
            h = F.dropout(h, p=0.5)  # the mistake: always on
        return self.fc2(h)


def nn203():
    bad, ok = FunctionalDropoutNet(False), FunctionalDropoutNet(True)
    train(bad, F.cross_entropy, steps=600)
    train(ok, F.cross_entropy, steps=600)
    bad.eval()
    torch.manual_seed(1)
    with torch.no_grad():
        a, b = bad(XT), bad(XT)
    changed = (a.argmax(1) != b.argmax(1)).float().mean().item()
    torch.manual_seed(1)
    return (
        "NN203",
        "`F.dropout(x, 0.5)` without `training=self.training`",
        f"after `eval()`: test accuracy {pct(accuracy(bad))}; {pct(changed)} of predictions change between two passes",
        f"test accuracy {pct(accuracy(ok))}; 0.0% change",
        "MLP, 600 steps",
    )


def nn203_alpha():
    torch.manual_seed(0)
    x = torch.randn(1024, 64)
    never = (F.alpha_dropout(x, p=0.5) != x).float().mean().item()  # the mistake: training defaults to False
    told = (F.alpha_dropout(x, p=0.5, training=True) != x).float().mean().item()
    return (
        "NN203",
        "`F.alpha_dropout(x, 0.5)` in training without `training=self.training`",
        f"{pct(never)} of the activations changed: no dropout at all",
        f"{pct(told)} changed (`training=self.training` in training mode)",
        "1024x64 activations",
    )


def nn204():
    model = mlp()
    model.eval()
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(XT)
    kept = sum(saved)
    saved.clear()
    with torch.no_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(XT)
    return (
        "NN204",
        "evaluation without `torch.no_grad()`",
        f"{kept / 1024:.0f} KiB of activations saved for a backward that never comes (per batch of 1024)",
        f"{sum(saved)} bytes",
        "MLP, one evaluation batch",
    )


def nn208():
    from torch.utils.data import DataLoader, TensorDataset

    order = Y.argsort(stable=True)  # a training set stored sorted by class, as many are
    dataset = TensorDataset(X[order], Y[order])

    def run(shuffle: bool) -> float:
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        loader = DataLoader(dataset, batch_size=64, shuffle=shuffle, generator=torch.Generator().manual_seed(0))
        for _ in range(5):
            for x, y in loader:
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
        return accuracy(model)

    return (
        "NN208",
        "training `DataLoader` without `shuffle=True` over a class-sorted dataset",
        f"every batch holds one class; test accuracy {pct(run(shuffle=False))}",
        f"test accuracy {pct(run(shuffle=True))}",
        "MLP, SGD lr 0.1, 5 epochs of 16 batches",
    )


def nn301():
    ok, bad = mlp(), mlp()
    ok_loss = train(ok, F.cross_entropy, steps=300)
    bad_loss = train(bad, lambda out, y: F.cross_entropy(F.softmax(out, 1), y), steps=300)
    start = mlp()
    with torch.no_grad():
        init_ok = F.cross_entropy(start(X), Y).item()
        init_bad = F.cross_entropy(F.softmax(start(X), 1), Y).item()
    return (
        "NN301",
        "softmax before `cross_entropy` (double softmax)",
        f"loss {init_bad:.3f} -> {bad_loss:.3f} (floor 0.744); test accuracy {pct(accuracy(bad))}",
        f"loss {init_ok:.3f} -> {ok_loss:.3f}; test accuracy {pct(accuracy(ok))}",
        "MLP, SGD lr 0.1, 300 steps",
    )


def _binary():
    y = (Y < 2).float()
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(FEATURES, 64), nn.ReLU(), nn.Linear(64, 1)), y, (YT < 2).float()


def nn302():
    results = {}
    for name, loss_of in (
        ("ok", lambda out, y: F.binary_cross_entropy_with_logits(out.squeeze(1), y)),
        ("bad", lambda out, y: F.binary_cross_entropy_with_logits(torch.sigmoid(out).squeeze(1), y)),
    ):
        model, y, yt = _binary()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for i in range(300):
            s = (i * 64) % len(X)
            opt.zero_grad()
            loss = loss_of(model(X[s : s + 64]), y[s : s + 64])
            loss.backward()
            opt.step()
        with torch.no_grad():
            final = loss_of(model(X), y).item()
            acc = ((model(XT).squeeze(1) > 0).float() == yt).float().mean().item()
        results[name] = (final, acc)
    return (
        "NN302",
        "sigmoid before `BCEWithLogitsLoss`",
        f"loss {results['bad'][0]:.3f} (cannot go below 0.313); test accuracy {pct(results['bad'][1])}",
        f"loss {results['ok'][0]:.3f}; test accuracy {pct(results['ok'][1])}",
        "binary MLP, SGD lr 0.1, 300 steps",
    )


def nn304():
    ok, bad = mlp(), mlp()
    train(ok, lambda out, y: F.nll_loss(F.log_softmax(out, 1), y))
    train(bad, lambda out, y: F.nll_loss(F.softmax(out, 1), y))
    return (
        "NN304",
        "`nll_loss` on probabilities (no `log_softmax`)",
        f"test accuracy {pct(accuracy(bad))}",
        f"test accuracy {pct(accuracy(ok))}",
        "MLP, SGD lr 0.1, 300 steps",
    )


def nn402():
    model = mlp()
    model.requires_grad = False  # the mistake: a plain attribute on the module
    for p in model.parameters():
        p.requires_grad_ = False  # the mistake: shadows the method, freezes nothing
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return (
        "NN402",
        "`model.requires_grad = False` / `p.requires_grad_ = False`",
        f"{trainable} of {total} parameters still trainable",
        f"0 of {total} (`model.requires_grad_(False)`)",
        "MLP",
    )


def nn403():
    def run(optimizer_first: bool) -> tuple[float, bool]:
        model = mlp()
        train(model, F.cross_entropy, steps=100)  # "pretrained" body
        model.train()
        if optimizer_first:
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.manual_seed(1)
        model[3] = nn.Linear(64, CLASSES)  # the new head
        head = model[3].weight.detach().clone()
        if not optimizer_first:
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in batches(300):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return accuracy(model), torch.equal(head, model[3].weight)

    bad_acc, bad_frozen = run(optimizer_first=True)
    ok_acc, ok_frozen = run(optimizer_first=False)
    return (
        "NN403",
        "head replaced after the optimizer took `model.parameters()`",
        f"new head {'never updated' if bad_frozen else 'updated'} (random weights after 300 steps); "
        f"test accuracy {pct(bad_acc)}",
        f"head {'never updated' if ok_frozen else 'trained'}; test accuracy {pct(ok_acc)}",
        "MLP trained 100 steps, new Linear head, SGD lr 0.1, 300 steps",
    )


def nn405():
    trained = mlp()
    train(trained, F.cross_entropy)
    checkpoint = {f"module.{k}": v for k, v in trained.state_dict().items()}  # saved from DataParallel
    bad = mlp()
    result = bad.load_state_dict(checkpoint, strict=False)  # no error: the skipped keys are only returned
    loaded = len(checkpoint) - len(result.unexpected_keys)
    ok = mlp()
    ok.load_state_dict({k.removeprefix("module."): v for k, v in checkpoint.items()})
    return (
        "NN405",
        "`load_state_dict(ckpt, strict=False)` of a checkpoint with a `module.` prefix, keys not checked",
        f"{loaded} of {len(checkpoint)} tensors loaded, no error; test accuracy {pct(accuracy(bad))} (random weights)",
        f"{len(checkpoint)} of {len(checkpoint)}; test accuracy {pct(accuracy(ok))}",
        "MLP trained 300 steps, saved with a `module.` prefix",
    )


def nn502():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(FEATURES, 64), nn.BatchNorm1d(64))
    before = model(X[:64])
    with torch.no_grad():
        model[0].bias.add_(5.0)
    after = model(X[:64])
    after.sum().backward()
    return (
        "NN502",
        "bias in a Linear/Conv right before BatchNorm",
        f"adding 5.0 to the bias changes the output by {tiny((after - before).abs().max().item())}; "
        f"bias gradient norm {tiny(model[0].bias.grad.norm().item())}",
        "`bias=False`: 64 fewer parameters, same function",
        "Linear(20, 64) + BatchNorm1d",
    )


def nn503():
    torch.manual_seed(0)
    images = torch.randn(8, 3, 32, 32)  # N, C, H, W
    wrong = images.view(8, 32, 32, 3)
    right = images.permute(0, 2, 3, 1)
    moved = (wrong != right).float().mean().item()
    return (
        "NN503",
        "`x.view(N, H, W, C)` to reorder NCHW to NHWC",
        f"{pct(moved)} of the values land in the wrong place",
        "0.0% (`x.permute(0, 2, 3, 1)`)",
        "8x3x32x32 batch",
    )


class _Deep(nn.Module):
    """An MLP whose hidden layers are kept in a plain list (`plain=True`) or a ModuleList."""

    def __init__(self, plain: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(FEATURES, 64)
        hidden = [nn.Linear(64, 64) for _ in range(2)]
        self.hidden = hidden if plain else nn.ModuleList(hidden)
        self.out = nn.Linear(64, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.inp(x))
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)


def nn504():
    bad, ok = _Deep(plain=True), _Deep(plain=False)
    hidden = sum(p.numel() for layer in bad.hidden for p in layer.parameters())
    total = sum(p.numel() for p in ok.parameters())
    before = [layer.weight.detach().clone() for layer in bad.hidden]
    train(bad, F.cross_entropy)
    train(ok, F.cross_entropy)
    unchanged = sum(int(torch.equal(b, layer.weight)) for b, layer in zip(before, bad.hidden))
    return (
        "NN504",
        "hidden layers kept in a plain list, not an `nn.ModuleList`",
        f"{hidden} of {total} parameters never trained ({unchanged} of 2 hidden layers keep their random "
        f"weights) and missing from `state_dict()` ({len(bad.state_dict())} of {len(ok.state_dict())} tensors); "
        f"test accuracy {pct(accuracy(bad))}",
        f"all {total} trained and saved; test accuracy {pct(accuracy(ok))}",
        "MLP with 2 hidden layers, SGD lr 0.1, 300 steps",
    )


def nn505():
    model = mlp()
    train(model, F.cross_entropy)
    with torch.no_grad():
        logits = torch.cat([model(XT[i : i + 64]) for i in range(0, len(XT), 64)])
        wrong = torch.cat([F.softmax(model(XT[i : i + 64]), dim=0) for i in range(0, len(XT), 64)])
        right = F.softmax(logits, dim=1)
    wrong_acc = (wrong.argmax(1) == YT).float().mean().item()
    right_acc = (right.argmax(1) == YT).float().mean().item()
    sums = wrong.sum(1)
    return (
        "NN505",
        "`F.softmax(model(x), dim=0)` on a batch of 64",
        f"an example's probabilities sum to {sums.min().item():.2f}..{sums.max().item():.2f}, not 1; "
        f"accuracy of argmax(1) {pct(wrong_acc)}",
        f"rows sum to 1; accuracy {pct(right_acc)}",
        "MLP trained 300 steps, test set in batches of 64",
    )


def nn601():
    model = mlp()
    calls = []
    model.register_forward_hook(lambda *args: calls.append(1))
    model.forward(X[:1])
    direct = len(calls)
    model(X[:1])
    return (
        "NN601",
        "`model.forward(x)` instead of `model(x)`",
        f"forward hooks run {direct} time(s)",
        f"{len(calls) - direct} time(s)",
        "MLP with one forward hook",
    )


def _amp_update_norm(unscale_first: bool) -> float:
    """One AMP step with clipping to norm 1.0 (SGD lr 0.1): the norm of the weight update."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    scaler.scale(F.cross_entropy(model(X[:64]), Y[:64])).backward()
    if unscale_first:
        scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    scaler.step(opt)
    scaler.update()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    return (after - before).norm().item()


def nn104():
    return (
        "NN104",
        "AMP: `clip_grad_norm_(..., 1.0)` before `scaler.unscale_(opt)`",
        f"update norm {_amp_update_norm(False):.1e} (the clip saw gradients x65536)",
        f"update norm {_amp_update_norm(True):.1e} (the clip saw the true gradients)",
        "MLP, SGD lr 0.1, GradScaler on CPU, one step",
    )


def _aux_update_norm(scaled: bool) -> float:
    """The weight update an auxiliary loss causes in one AMP step (SGD lr 0.1), when it
    goes through `scaler.scale` or not; the main loss is scaled and touches other weights."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu")
    last = model[3].weight
    before = last.detach().clone()
    scaler.scale(model[0](X[:64]).pow(2).mean() * 0).backward()  # the main loss: scaled (no gradient on `last`)
    aux = F.cross_entropy(model(X[:64]), Y[:64])
    (scaler.scale(aux) if scaled else aux).backward()
    scaler.step(opt)
    scaler.update()
    return (last.detach() - before).norm().item()


def nn105():
    return (
        "NN105",
        "AMP: an auxiliary `loss.backward()` without `scaler.scale` before `scaler.step(opt)`",
        f"its update norm {_aux_update_norm(False):.1e}",
        f"{_aux_update_norm(True):.1e} (`scaler.scale(loss).backward()`)",
        "MLP, SGD lr 0.1, GradScaler on CPU, one step",
    )


def _epochs_with_step_lr(per_batch: bool, epochs: int = 10) -> tuple[float, float]:
    """Train 10 epochs of 16 batches with `StepLR(step_size=3, gamma=0.1)` (sized in epochs);
    returns the learning rate after the first epoch and the test accuracy."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.1)
    after_first = 0.0
    for epoch in range(epochs):
        for x, y in batches(len(X) // 64):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            if per_batch:
                sched.step()  # the mistake
        if not per_batch:
            sched.step()
        if epoch == 0:
            after_first = opt.param_groups[0]["lr"]
    return after_first, accuracy(model)


def nn207():
    bad_lr, bad = _epochs_with_step_lr(True)
    ok_lr, ok = _epochs_with_step_lr(False)
    return (
        "NN207",
        "`StepLR(step_size=3)` (epochs) stepped every batch",
        f"learning rate after epoch 1: {bad_lr:.0e}; test accuracy {pct(bad)}",
        f"{ok_lr:.0e}; test accuracy {pct(ok)}",
        "MLP, SGD lr 0.1, 10 epochs of 16 batches",
    )


def _same_order(set_epoch: bool) -> float:
    """Two epochs of a shuffling DistributedSampler (rank 0 of 2): how much of the order repeats."""
    sampler = torch.utils.data.DistributedSampler(range(len(X)), num_replicas=2, rank=0, shuffle=True)
    orders = []
    for epoch in range(2):
        if set_epoch:
            sampler.set_epoch(epoch)
        orders.append(list(sampler))
    return sum(a == b for a, b in zip(*orders)) / len(orders[0])


def nn206():
    return (
        "NN206",
        "`DistributedSampler` without `set_epoch(epoch)`",
        f"epoch 2 repeats {pct(_same_order(False))} of epoch 1's order",
        f"{pct(_same_order(True))} (`sampler.set_epoch(epoch)`)",
        "1,024 samples, rank 0 of 2",
    )


def nn205():
    model = mlp(dropout=0.5)
    train(model, F.cross_entropy, steps=600)
    model.train()
    model.eval  # the mistake: the method is read, never called  # noqa: B018
    still = model.training
    torch.manual_seed(1)
    bad = accuracy(model)
    model.eval()
    return (
        "NN205",
        "`model.eval` without `()` before evaluating (dropout 0.5)",
        f"`model.training` is still {still}: test accuracy {pct(bad)}",
        f"`model.training` is {model.training}: test accuracy {pct(accuracy(model))}",
        "MLP with dropout, 600 steps",
    )


def nn602():
    def run(discard: bool) -> tuple[float, float]:
        model = mlp()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        loss = torch.tensor(0.0)
        for x, y in batches(300):
            x = x * 255  # inputs on a raw 8-bit scale
            if discard:
                x.div(255)  # the mistake: the scaled tensor is thrown away
            else:
                x = x.div(255)
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return loss.item(), accuracy(model, XT * 255 if discard else XT)

    bad_loss, bad_acc = run(discard=True)
    ok_loss, ok_acc = run(discard=False)
    return (
        "NN602",
        "`x.div(255)` as a bare statement (result thrown away)",
        f"inputs stay 255x too large, the training diverges: final loss {bad_loss:.3f}; test accuracy {pct(bad_acc)}",
        f"final loss {ok_loss:.3f}; test accuracy {pct(ok_acc)}",
        "MLP, SGD lr 0.1, 300 steps",
    )


EXPERIMENTS = (nn101, nn102, nn103, nn104, nn105, nn201, nn202, nn203, nn203_alpha, nn204, nn205, nn206, nn207, nn208, nn301, nn302, nn304, nn402, nn403, nn405, nn502, nn503, nn504, nn505, nn601, nn602)


def table() -> str:
    lines = [
        "| Rule | Mistake | Measured with the mistake | Measured without it | Setup |",
        "| --- | --- | --- | --- | --- |",
    ]
    for experiment in EXPERIMENTS:
        code, mistake, wrong, right, setup = experiment()
        lines.append(f"| [{code}](rules/{code}.md) | {mistake} | {wrong} | {right} | {setup} |")
    return "\n".join(lines)


def main() -> int:
    start = time.perf_counter()
    print(table())
    print(f"measured in {time.perf_counter() - start:.1f} s with torch {torch.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
