from helpers import apply_fix_and_recheck, codes, lint

from nnlint.findings import Severity

HELPER = """\
import torch
from torch import nn

def build():
    return nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 2))

def evaluate(model, xs, ys):
    correct = 0
    with torch.no_grad():
        pred = model(xs).argmax(1)
        correct += (pred == ys).sum().item()
    return correct

model = build()
opt = torch.optim.Adam(model.parameters())
for epoch in range(3):
    model.train()
    for x, y in loader:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    print(evaluate(model, xv, yv))
"""


def test_flags_helper_called_in_training_mode() -> None:
    findings = lint(HELPER, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 10)]
    finding = findings[0]
    assert "torch.no_grad()" in finding.message and "line 9" in finding.message
    assert 22 in {r.span.line for r in finding.related}
    assert finding.severity is Severity.WARNING


def test_fix_inserts_eval_before_block() -> None:
    fixed = apply_fix_and_recheck(HELPER, "NN201")
    assert "    model.eval()\n    with torch.no_grad():\n" in fixed


def test_flags_script_level_inference_on_fresh_model() -> None:
    code = """\
    import torch
    import torchvision
    model = torchvision.models.resnet18(weights="DEFAULT")
    with torch.inference_mode():
        out = model(batch)
    """
    assert codes(code, "NN201") == [("NN201", 5)]


def test_flags_evaluate_after_train_call() -> None:
    code = """\
    import torch
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        val = model(x_val)
    """
    findings = lint(code, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 8)]
    assert "line 2" in findings[0].message


def test_flags_uncalled_evaluation_function_with_no_grad() -> None:
    code = """\
    import torch
    @torch.no_grad()
    def validate(net, loader):
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)
    """
    assert codes(code, "NN201") == [("NN201", 4)]
    fixed = apply_fix_and_recheck(code, "NN201")
    assert "def validate(net, loader):\n    net.eval()\n    return" in fixed


def test_silent_when_model_has_no_mode_dependent_layers() -> None:
    """eval() changes nothing on a model without dropout or batch norm."""
    code = """\
    import torch
    from torch import nn
    class Linear(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 1)
        def forward(self, x):
            return self.fc(x)
    model = Linear()
    with torch.no_grad():
        y = model(x)
    """
    assert lint(code, "NN201") == []
    sequential = """\
    import torch
    from torch import nn
    model = nn.Sequential(nn.Linear(2, 2, bias=False), nn.Tanh(), nn.Linear(2, 2))
    with torch.no_grad():
        y = model(x)
    """
    assert lint(sequential, "NN201") == []
    dropout = sequential.replace("nn.Tanh()", "nn.Dropout(0.5)")
    assert codes(dropout, "NN201") == [("NN201", 5)]


# ------------------------------------------------------------------ negatives
def test_quiet_when_helper_calls_eval() -> None:
    code = HELPER.replace("    correct = 0\n", "    model.eval()\n    correct = 0\n")
    assert lint(code, "NN201") == []


def test_quiet_when_caller_calls_eval_first() -> None:
    code = HELPER.replace("    print(evaluate(model, xv, yv))", "    model.eval()\n    print(evaluate(model, xv, yv))")
    assert lint(code, "NN201") == []


def test_quiet_on_eval_with_train_false() -> None:
    code = HELPER.replace("    print(evaluate(model, xv, yv))", "    model.train(False)\n    print(evaluate(model, xv, yv))")
    assert lint(code, "NN201") == []


def test_quiet_on_no_grad_inside_training_step() -> None:
    code = """\
    import torch
    for x, y in loader:
        with torch.no_grad():
            target = target_net(x).max(1).values
            ema_model(x)
        loss = criterion(policy_net(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN201") == []


def test_quiet_on_teacher_set_to_eval_once() -> None:
    code = """\
    import torch
    teacher.eval()
    for x, y in loader:
        with torch.no_grad():
            soft = teacher(x).softmax(-1)
        loss = kd(student(x), soft)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    """
    assert lint(code, "NN201") == []


def test_quiet_on_model_from_unknown_origin() -> None:
    code = """\
    import torch
    model = torch.load("model.pt")
    with torch.no_grad():
        out = model(x)
    """
    assert lint(code, "NN201") == []


def test_quiet_on_models_own_predict_method() -> None:
    code = """\
    import torch
    from torch import nn
    class Net(nn.Module):
        def forward(self, x):
            return self.fc(x)
        @torch.no_grad()
        def predict(self, x):
            return self(x).argmax(-1)
    """
    assert lint(code, "NN201") == []


def test_quiet_on_non_model_calls_under_no_grad() -> None:
    code = """\
    import torch
    with torch.no_grad():
        for p, q in zip(params, shadow):
            q.mul_(0.99).add_(p, alpha=0.01)
        total = torch.cat(outputs).mean()
    """
    assert lint(code, "NN201") == []


def test_eval_on_the_parent_covers_a_submodule_call() -> None:
    code = """\
    import torch
    from torch import nn
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
        def forward(self, x):
            return self.encoder(x)
    model = Net()
    model.eval()
    with torch.no_grad():
        z = model.encoder(x)
    """
    assert lint(code, "NN201") == []


def test_train_on_the_parent_leaves_a_submodule_in_training_mode() -> None:
    code = """\
    import torch
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        z = model.encoder(x)
    """
    assert codes(code, "NN201") == [("NN201", 8)]


def test_flags_validation_inside_the_epoch_loop_after_the_batch_loop() -> None:
    code = """\
    import torch
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        with torch.no_grad():
            val_loss = sum(criterion(model(xv), yv).item() for xv, yv in val_loader)
    """
    findings = lint(code, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 9)]
    assert "line 3" in findings[0].message
    fixed = apply_fix_and_recheck(code, "NN201")
    assert "    model.eval()\n    with torch.no_grad():" in fixed


def test_quiet_on_validation_in_the_epoch_loop_after_eval() -> None:
    code = """\
    import torch
    for epoch in range(10):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = sum(criterion(model(xv), yv).item() for xv, yv in val_loader)
    """
    assert lint(code, "NN201") == []


def test_quiet_on_deliberate_train_mode_without_gradients() -> None:
    code = """\
    import torch
    @torch.no_grad()
    def update_bn(loader, model):
        model.train()
        for x in loader:
            model(x)
    """
    assert lint(code, "NN201") == []


def test_module_api_methods_are_not_forward_passes() -> None:
    code = """\
    import torch
    def optimize_for_inference(model):
        with torch.no_grad():
            names = [n for n, _ in model.named_modules()]
            count = sum(1 for _ in model.buffers())
        return names, count
    """
    assert lint(code, "NN201") == []


def test_flags_eval_helper_after_a_training_helper_that_sets_train() -> None:
    code = """\
    import torch
    import torch.nn.functional as F
    def train(model, loader, optimizer):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            F.nll_loss(model(x), y).backward()
            optimizer.step()
    def test(model, loader):
        with torch.no_grad():
            return sum(model(x).argmax(1).eq(y).sum().item() for x, y in loader)
    def main(model, train_loader, test_loader, optimizer):
        for epoch in range(3):
            train(model, train_loader, optimizer)
            test(model, test_loader)
    """
    assert codes(code, "NN201") == [("NN201", 11)]


def test_an_lstm_without_dropout_has_no_mode() -> None:
    """`nn.LSTM(...)` drops nothing unless given `dropout=`: eval() changes nothing
    (yunjey/pytorch-tutorial's language model and bidirectional RNN)."""
    code = """\
    import torch
    from torch import nn

    class RNNLM(nn.Module):
        def __init__(self, vocab, embed, hidden, layers):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.lstm = nn.LSTM(embed, hidden, layers, batch_first=True)
            self.linear = nn.Linear(hidden, vocab)

        def forward(self, x, h):
            out, h = self.lstm(self.embed(x), h)
            return self.linear(out), h

    model = RNNLM(100, 16, 32, 2)
    with torch.no_grad():
        output, state = model(x, state)
    """
    assert codes(code, "NN201") == []
    dropped = code.replace("batch_first=True)", "batch_first=True, dropout=0.3)")
    assert codes(dropped, "NN201") == [("NN201", 17)]


def test_severity_follows_the_proof_that_it_is_a_model() -> None:
    """A parameter named like a model is only a hint (d2l's `init_rnn_state(...)` is a
    function); a caller in the file that passes a module proves it."""
    helper = """\
    import torch
    from torch import nn

    @torch.no_grad()
    def validate(net, loader):
        return sum((net(x).argmax(1) == y).sum().item() for x, y in loader)
    """
    findings = lint(helper, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.HINT)]
    assert "from its name alone" in findings[0].message
    called = helper + """\

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    print(validate(model, val_loader))
    """
    findings = lint(called, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.WARNING)]


def test_global_model_evaluated_by_a_helper_while_still_training() -> None:
    """pytorch_geometric examples/lcm_aggr_2nd_min.py: `train()` and an `@torch.no_grad()`
    `test()` share a global model with dropout; nothing ever calls eval()."""
    code = """\
    import torch

    class LCM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Dropout(0.25))

        def forward(self, x):
            return self.net(x)

    model = LCM()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def train():
        for x, y in train_loader:
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()

    @torch.no_grad()
    def test(loader):
        return sum(float((model(x) - y).abs().sum()) for x, y in loader)

    for epoch in range(10):
        train()
        print(test(val_loader))
    """
    findings = lint(code, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(22, Severity.WARNING)]


def test_a_callee_local_is_not_the_callers_global() -> None:
    """`for model in models:` inside the helper is its own variable, whatever the caller's
    global `model` is (Atcold/NYU-DLSP20 05-regression)."""
    code = """\
    import torch
    from torch import nn
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))

    def dense_prediction(models):
        for model in models:
            with torch.no_grad():
                print(model(x))

    dense_prediction([nn.Linear(2, 2)])
    """
    assert codes(code, "NN201") == []


def test_a_tokenizer_is_not_a_model() -> None:
    code = """\
    import torch
    import transformers
    tokenizer = transformers.AutoTokenizer.from_pretrained("bert-base-uncased")

    @torch.no_grad()
    def predict(text, tokenizer):
        return tokenizer(text)["input_ids"]

    predict("hello", tokenizer)
    """
    assert codes(code, "NN201") == []


def test_layers_behind_helpers() -> None:
    """A same-file helper that returns its argument (`layer_init(nn.Linear(...))`, cleanrl)
    hides nothing; a layer built by a call this file cannot see into (`inconv(3, 64)` from
    another package) may hold batch norm, so the missing eval() is still reported."""
    code = """\
    import torch
    from torch import nn
    from parts import inconv

    def layer_init(layer, std=1.0):
        torch.nn.init.orthogonal_(layer.weight, std)
        return layer

    class QNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.q = layer_init(nn.Linear(4, 2))

        def forward(self, x):
            return self.q(x)

    q_network = QNetwork()
    with torch.no_grad():
        q_values = q_network(obs)
    """
    assert codes(code, "NN201") == []
    hidden = code.replace("self.q = layer_init(nn.Linear(4, 2))", "self.q = inconv(4, 2)")
    assert codes(hidden, "NN201") == [("NN201", 19)]


def test_generate_and_forward_are_forward_passes() -> None:
    """`model.generate(x)` under no_grad after a helper left the model training
    (the helper's own backward counts as training in between)."""
    code = """\
    import torch
    import torch.nn as nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(16, 32), nn.Dropout(0.3), nn.Linear(32, 5))

        def forward(self, x):
            return self.body(x)

        def generate(self, x):
            return self(x).argmax(-1)

    def fit(model, batches, opt):
        crit = nn.CrossEntropyLoss()
        model.train()
        for x, y in batches:
            opt.zero_grad()
            loss = crit.forward(model(x), y)
            loss.backward()
            opt.step()

    def predict(model, batches):
        with torch.no_grad():
            return [model.generate(x) for x, _ in batches]

    def main(batches):
        model = Tagger()
        fit(model, batches, torch.optim.Adam(model.parameters(), lr=1e-3))
        return predict(model, batches)
    """
    assert codes(code, "NN201") == [("NN201", 26)]
    assert codes(code.replace("model.generate(x)", "model.forward(x)"), "NN201") == [("NN201", 26)]


UNMARKED = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
criterion = nn.CrossEntropyLoss()
for epoch in range(10):
    model.train()
    for x, y in train_loader:
        optimizer.zero_grad()
        criterion(model(x), y).backward()
        optimizer.step()
    correct = 0
    for x, y in test_loader:
        out = model(x)
        correct += (out.argmax(1) == y).sum().item()
"""


def test_an_evaluation_loop_told_by_what_it_does() -> None:
    """deepspeech.pytorch's test loop: no no_grad, no telling name, but it runs the trained
    model over other data and never reaches backward()."""
    findings = lint(UNMARKED, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", 15)]
    assert "in the evaluation loop at line 14" in findings[0].message
    # `model.eval()` alone would leave an evaluation without no_grad (NN204): a fix may
    # add no finding, so none is offered here
    assert findings[0].fix is None


def test_a_loop_whose_outputs_reach_a_later_backward_is_training() -> None:
    """pytorch_geometric mem_pool: a second pass sums a KL term that is backpropagated
    after the loop."""
    code = UNMARKED.replace("""    correct = 0
    for x, y in test_loader:
        out = model(x)
        correct += (out.argmax(1) == y).sum().item()
""", """    kl = 0.0
    for x, y in train_loader:
        kl += model(x).pow(2).mean()
    kl.backward()
    optimizer.step()
""")
    assert codes(code, "NN201") == []


def test_information_when_the_models_layers_are_not_visible() -> None:
    """d2l's `predict_rnn_nn(model, ...)`: a proven module (it hands out `.parameters()`)
    whose class is not visible here may have no dropout or batch norm at all, and then
    eval() changes nothing: say it at information severity. A caller passing a model with
    dropout, or one without, decides it."""
    helper = """\
    import torch

    def predict(model, xs):
        n = sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            return model(xs), n
    """
    findings = lint(helper, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(6, Severity.INFORMATION)]
    assert "not visible here" in findings[0].message
    with_dropout = helper + """\

    print(predict(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1)), x))
    """
    assert lint(with_dropout, "NN201") == []  # a caller the analysis cannot follow: silent
    named = helper + """\

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.1))
    print(predict(net, x))
    """
    assert [(f.span.line, f.severity) for f in lint(named, "NN201")] == [(6, Severity.WARNING)]
    plain = named.replace("torch.nn.Dropout(0.1)", "torch.nn.ReLU()")
    assert lint(plain, "NN201") == []


def test_evaluated_right_after_training_in_the_same_helper() -> None:
    """udacity's weight-initialization `_get_loss_acc(model, ...)`: trains the model for two
    epochs, then measures validation accuracy in a plain loop with no eval(). Nothing switched
    the model since it was trained, so it is in training mode whatever its caller did."""
    code = """\
    import torch
    from torch import nn

    def _get_loss_acc(model, train_loader, valid_loader):
        optimizer = torch.optim.Adam(model.parameters(), 0.001)
        for epoch in range(2):
            for data, target in train_loader:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(model(data), target)
                loss.backward()
                optimizer.step()
        correct = 0
        for data, target in valid_loader:
            output = model(data)
            correct += (output.argmax(1) == target).sum().item()
        return correct
    """
    findings = lint(code, "NN201")
    assert [(f.span.line, f.severity) for f in findings] == [(14, Severity.INFORMATION)]
    assert "trained by the loop at line 7" in findings[0].message
    switched = code.replace("        correct = 0\n", "        correct = 0\n        model.eval()\n")
    assert codes(switched, "NN201") == []
    with_dropout = code + """\

    net = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    print(_get_loss_acc(net, tl, vl))
    """
    assert [(f.span.line, f.severity) for f in lint(with_dropout, "NN201")] == [(14, Severity.WARNING)]
