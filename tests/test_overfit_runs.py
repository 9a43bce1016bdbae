"""The overfit-one-batch action end to end: insert the check into tiny training
scripts, run them (CPU, small random data) and see it pass on a correct loop and fail
loudly on seeded bugs. Needs torch (the `test` extra should pin torch==2.13.0)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nnlint.fixes import apply_edits
from nnlint.overfit import overfit_check_edit, training_loops_for_lens

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="torch is not installed: `pip install torch==2.13.0` (CPU build) to run the overfit-check scripts",
)

TEMPLATE = """\
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
torch.set_num_threads(1)
features = torch.randn(128, 16)
targets = torch.randint(0, 4, (128,))
train_loader = DataLoader(TensorDataset(features, targets), batch_size=32, shuffle=True)

model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
{optimizer}

for epoch in range(2):
    model.train()
    for step, (inputs, labels) in enumerate(train_loader):
        optimizer.zero_grad()
        outputs = model(inputs)
        {loss}
        loss.backward()
        optimizer.step()
print("real training finished")
"""

CASES = {
    "correct": (
        "optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)",
        "loss = F.cross_entropy(outputs, labels)",
    ),
    # softmax into cross entropy, and a learning rate far too small
    "softmax_small_lr": (
        "optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)",
        "loss = F.cross_entropy(F.softmax(outputs, dim=1), labels)",
    ),
    # the optimizer updates another network's parameters: this model never changes
    "frozen": (
        "optimizer = torch.optim.Adam(nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4)).parameters(), lr=1e-2)",
        "loss = F.cross_entropy(outputs, labels)",
    ),
}


def script_with_check(name: str) -> str:
    optimizer, loss = CASES[name]
    text = TEMPLATE.format(optimizer=optimizer, loss=loss)
    ((line, _title, _args),) = training_loops_for_lens(text)
    edit = overfit_check_edit(text, "train.py", line)
    assert edit is not None
    return apply_edits(text, [edit])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("overfit")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NNLINT_OVERFIT_STEPS": "150"}
    env.pop("NNLINT_OVERFIT", None)
    jobs = {}
    for name in CASES:
        path = folder / f"{name}.py"
        path.write_text(script_with_check(name), encoding="utf-8")
        jobs[name] = subprocess.Popen(
            [sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
    off = folder / "switched_off.py"
    off.write_text(script_with_check("frozen"), encoding="utf-8")
    jobs["switched_off"] = subprocess.Popen(
        [sys.executable, str(off)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env, "NNLINT_OVERFIT": "0"},
    )
    results = {}
    for name, job in jobs.items():
        out, err = job.communicate(timeout=300)
        results[name] = subprocess.CompletedProcess(job.args, job.returncode, out, err)
    return results


def test_correct_loop_passes_and_training_goes_on(runs) -> None:  # type: ignore[no-untyped-def]
    result = runs["correct"]
    assert result.returncode == 0, result.stderr
    assert "nnlint overfit check passed" in result.stdout
    assert "real training finished" in result.stdout


@pytest.mark.parametrize("name", ["softmax_small_lr", "frozen"])
def test_seeded_bug_fails_loudly(runs, name: str) -> None:  # type: ignore[no-untyped-def]
    result = runs[name]
    assert result.returncode != 0
    assert "real training finished" not in result.stdout
    assert "RuntimeError: nnlint overfit check FAILED" in result.stderr
    for hint in ("learning rate", "loss inputs", "zero_grad()", "NNLINT_OVERFIT=0"):
        assert hint in result.stderr


def test_switched_off_with_the_environment_variable(runs) -> None:  # type: ignore[no-untyped-def]
    result = runs["switched_off"]
    assert result.returncode == 0, result.stderr
    assert "nnlint overfit check" not in result.stdout + result.stderr
    assert "real training finished" in result.stdout


def test_the_check_leaves_model_and_optimizer_as_they_were(tmp_path: Path) -> None:
    text = script_with_check("correct")
    marker = "# --- end nnlint overfit check ---\n"
    probe_before = "_probe = [p.detach().clone() for p in model.parameters()]\n"
    probe_after = (
        "assert all(torch.equal(a, b) for a, b in zip(_probe, model.parameters())), 'weights changed'\n"
        "assert not optimizer.state, 'optimizer state kept'\n"
        "raise SystemExit(0)\n"
    )
    start = text.index("# --- nnlint: overfit one batch")
    text = text[:start] + probe_before + text[start:]
    text = text.replace(marker, marker + probe_after)
    path = tmp_path / "probe.py"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NNLINT_OVERFIT_STEPS": "150"}
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
