"""NN501 overfit-one-batch: the opt-in note, the lens/action API and the inserted check."""

from __future__ import annotations

import ast
import textwrap
from collections import Counter

from helpers import line_of, lint

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.fixes import apply_edits
from nnlint.overfit import LENS_TITLE, MARKER_END, MARKER_START, overfit_check_edit, training_loops_for_lens

ALL = Settings(select=("NN",), extend_select=("NN501",))

SCRIPT = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
train_loader = DataLoader(dataset, batch_size=32)

for epoch in range(10):
    model.train()
    for i, (inputs, labels) in enumerate(train_loader):
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        print(loss.item())
"""

FUNCTION = """\
import torch
import torch.nn.functional as F


def train(net, loader, opt, device, epochs=3):
    for epoch in range(epochs):
        for batch in loader:
            x, y = batch
            x, y = x.to(device), y.to(device)
            logits = net(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
"""

TRAINER = """\
import torch
from torch import nn


class Trainer:
    def __init__(self, model: nn.Module, loader):
        self.model = model
        self.loader = loader
        self.optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        self.criterion = nn.MSELoss()

    def fit(self):
        for xb, yb in self.loader:
            self.optimizer.zero_grad()
            pred = self.model(xb)
            loss = self.criterion(pred, yb)
            loss.backward()
            self.optimizer.step()
"""


def nn501(code: str) -> list:
    return [f for f in check_source(textwrap.dedent(code), "train.py", Settings(select=("NN501",))).findings]


def insert(code: str, line: int) -> str:
    edit = overfit_check_edit(code, "train.py", line)
    assert edit is not None
    new = apply_edits(code, [edit])
    ast.parse(new)
    return new


def assert_check_is_clean(before: str, after: str) -> None:
    """The inserted code adds no finding of any rule and removes only NN501."""
    old = Counter(f.code for f in check_source(before, "train.py", ALL).findings)
    new = Counter(f.code for f in check_source(after, "train.py", ALL).findings)
    old["NN501"] -= 1
    assert +old == +new, (old, new, after)


# ----------------------------------------------------------------- the rule
def test_flagged_on_the_outermost_training_loop_when_selected() -> None:
    findings = nn501(SCRIPT)
    assert [(f.code, f.span.line) for f in findings] == [("NN501", line_of(SCRIPT, "for epoch"))]
    finding = findings[0]
    assert finding.severity.value == "information"
    assert "`train_loader`" in finding.message and "`model`" in finding.message
    assert "optimizer `optimizer`" in finding.message and "loss `loss`" in finding.message
    assert finding.fix is None
    assert [r.span.line for r in finding.related] == [line_of(SCRIPT, "for i,"), line_of(SCRIPT, "loss.backward")]


def test_off_by_default_and_never_inserted_by_fix() -> None:
    assert not [f for f in lint(SCRIPT) if f.code == "NN501"]
    assert all(f.fix is None for f in nn501(SCRIPT))


def test_loops_in_functions_and_methods() -> None:
    assert [f.span.line for f in nn501(FUNCTION)] == [line_of(FUNCTION, "for epoch")]
    (finding,) = nn501(TRAINER)
    assert finding.span.line == line_of(TRAINER, "for xb, yb")
    assert "`self.loader`" in finding.message and "`self.model`" in finding.message
    assert "optimizer `self.optimizer`" in finding.message


def test_hard_negatives() -> None:
    # the batch depends on the step number: no fixed batch can be taken out of the loop
    assert nn501("""\
        for step in range(1000):
            x, y = data[step]
            loss = criterion(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        """) == []
    # an evaluation loop without backward, a step hidden in a helper
    # a while loop, an evaluation loop without backward, a step hidden in a helper
    assert nn501("""\
        with torch.no_grad():
            for x, y in val_loader:
                total += criterion(model(x), y).item()
        """) == []
    assert nn501("""\
        for x, y in loader:
            loss = criterion(model(x), y)
            loss.backward()
            update_weights()
        """) == []
    # the loss needs a name the outer loop sets per epoch: the check could not run there
    assert nn501("""\
        for epoch in range(3):
            weight = schedule(epoch)
            for x, y in loader:
                optimizer.zero_grad()
                loss = weight * criterion(model(x), y)
                loss.backward()
                optimizer.step()
        """) == []


def test_not_flagged_again_once_the_check_is_there() -> None:
    new = insert(SCRIPT, line_of(SCRIPT, "for epoch"))
    assert nn501(new) == []
    assert overfit_check_edit(new, "train.py", line_of(new, "for epoch")) is None
    assert training_loops_for_lens(new) == []


# ------------------------------------------------------------- lens / action
def test_lens_lists_each_training_loop() -> None:
    lenses = training_loops_for_lens(SCRIPT)
    assert len(lenses) == 1
    line, title, args = lenses[0]
    assert (line, title) == (line_of(SCRIPT, "for epoch"), LENS_TITLE)
    assert args["line"] == line and args["loop_line"] == line_of(SCRIPT, "for i,")
    assert (args["model"], args["optimizer"], args["loss"]) == ("model", "optimizer", "loss")
    assert training_loops_for_lens("def broken(:\n") == []


def test_inserted_check_uses_the_users_names_and_statements() -> None:
    new = insert(SCRIPT, line_of(SCRIPT, "for i,"))  # the data loop's line works too
    start = new.index(MARKER_START)
    end = new.index(MARKER_END)
    check = new[start:end]
    assert new[:start] == SCRIPT[: SCRIPT.index("for epoch")]  # inserted right above the loop
    assert new[end:].split("\n", 1)[1] == SCRIPT[SCRIPT.index("for epoch"):]  # the loop untouched
    assert "_nnlint_batch = next(iter(enumerate(train_loader)))" in check
    assert "i, (inputs, labels) = _nnlint_batch" in check
    assert "outputs = model(inputs)\n" in check and "loss = criterion(outputs, labels)\n" in check
    assert "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)" in check  # clipping is kept
    assert "print(loss.item())" not in check  # logging is not
    assert 'os.environ.get("NNLINT_OVERFIT", "1") != "0"' in check
    assert "model.load_state_dict(_nnlint_saved[0])" in check
    assert "optimizer.load_state_dict(_nnlint_saved[1])" in check
    assert_check_is_clean(SCRIPT, new)


def test_check_in_a_function_keeps_its_indentation() -> None:
    new = insert(FUNCTION, line_of(FUNCTION, "for epoch"))
    assert f"    {MARKER_START}\n    import copy\n" in new
    assert "        _nnlint_batch = next(iter(loader))\n" in new
    assert "            x, y = batch\n            x, y = x.to(device), y.to(device)\n" in new
    assert "            x, y = _nnlint_batch" not in new and "            batch = _nnlint_batch\n" in new
    assert "            opt.zero_grad()\n            x, y = batch" in new
    assert_check_is_clean(FUNCTION, new)


def test_check_in_a_method_and_two_space_indent() -> None:
    new = insert(TRAINER, line_of(TRAINER, "for xb, yb"))
    assert "self.model.load_state_dict(_nnlint_saved[0])" in new
    assert "_nnlint_batch = next(iter(self.loader))" in new
    assert_check_is_clean(TRAINER, new)
    two = "for x, y in loader:\n  optimizer.zero_grad()\n  loss = criterion(model(x), y)\n  loss.backward()\n  optimizer.step()\n"
    new = insert(two, 1)
    assert "\n  for _nnlint_step in range(" in new and "\n    loss = criterion(model(x), y)\n" in new


def test_gradient_accumulation_steps_every_time_in_the_check() -> None:
    code = textwrap.dedent("""\
        import torch
        model = torch.nn.Linear(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for i, (x, y) in enumerate(loader):
            loss = torch.nn.functional.mse_loss(model(x), y) / 4
            loss.backward()
            if (i + 1) % 4 == 0:
                optimizer.step()
                optimizer.zero_grad()
        """)
    new = insert(code, 4)
    check = new[new.index(MARKER_START):new.index(MARKER_END)]
    assert "        optimizer.step()\n" in check and "% 4" not in check
    assert_check_is_clean(code, new)


def test_amp_scaler_statements_are_kept() -> None:
    code = textwrap.dedent("""\
        import torch
        scaler = torch.cuda.amp.GradScaler()
        for x, y in loader:
            optimizer.zero_grad()
            with torch.autocast("cuda"):
                loss = criterion(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        """)
    new = insert(code, 3)
    check = new[new.index(MARKER_START):new.index(MARKER_END)]
    assert 'with torch.autocast("cuda"):\n            loss = criterion(model(x), y)\n' in check
    assert "scaler.scale(loss).backward()\n        scaler.step(optimizer)\n        scaler.update()\n" in check
    assert "_nnlint_losses.append(loss.item())" in check


def test_copied_buggy_line_does_not_duplicate_its_finding() -> None:
    code = textwrap.dedent("""\
        import torch
        import torch.nn.functional as F
        model = torch.nn.Linear(3, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            optimizer.zero_grad()
            probs = F.softmax(model(x), dim=1)
            loss = F.cross_entropy(probs, y)
            loss.backward()
            optimizer.step()
        """)
    new = insert(code, 5)
    assert "loss = F.cross_entropy(probs, y)  # noqa: NN301 (as in the loop below: fix both)" in new
    assert_check_is_clean(code, new)


def test_single_quote_style_is_followed() -> None:
    code = "import os\nname = 'x'\nfor x, y in loader:\n    optimizer.zero_grad()\n    loss = criterion(model(x), y)\n    loss.backward()\n    optimizer.step()\n"
    new = insert(code, 3)
    assert "os.environ.get('NNLINT_OVERFIT', '1') != '0'" in new


def test_crlf_files_stay_crlf() -> None:
    code = SCRIPT.replace("\n", "\r\n")
    new = insert(code, line_of(SCRIPT, "for epoch"))
    assert "\n" not in new.replace("\r\n", "")


def test_range_and_while_loops_draw_the_batch_once() -> None:
    code = textwrap.dedent("""\
        import torch
        model = GPT(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)
        for step in range(1000):
            xb, yb = get_batch("train")
            logits, loss = model(xb, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        """)
    (finding,) = nn501(code)
    assert finding.span.line == 4 and "training loop (`model`" in finding.message
    new = insert(code, 4)
    check = new[new.index(MARKER_START):new.index(MARKER_END)]
    assert "    xb, yb = get_batch(\"train\")\n    _nnlint_losses = []\n" in check  # drawn once
    assert "        logits, loss = model(xb, yb)\n        loss.backward()\n" in check
    assert "_nnlint_batch" not in check
    assert_check_is_clean(code, new)
    full_batch = "while epoch < 100:\n    optimizer.zero_grad()\n    loss = criterion(model(X), Y)\n    loss.backward()\n    optimizer.step()\n    epoch += 1\n"
    new = insert(full_batch, 1)
    assert "        loss = criterion(model(X), Y)\n" in new and "epoch += 1\n" not in new[: new.index(MARKER_END)]


def test_amp_unscale_and_clipping_stay_between_backward_and_step() -> None:
    code = textwrap.dedent("""\
        for x, y in loader:
            optimizer.zero_grad()
            with torch.autocast("cuda"):
                loss = criterion(model(x), y)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(optimizer)
            scaler.update()
        """)
    new = insert(code, 1)
    assert (
        "scaler.scale(loss).backward()\n        scaler.unscale_(optimizer)\n"
        "        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n        scaler.step(optimizer)\n"
    ) in new


def test_cli_fix_never_inserts_the_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    path = tmp_path / "train.py"
    path.write_text(SCRIPT, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "nnlint", "check", "--select", "NN501", "--fix", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert "NN501" in result.stdout and result.returncode == 1
    assert path.read_text(encoding="utf-8") == SCRIPT
