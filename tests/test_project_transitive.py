"""The project index's dependencies are transitive: a.py's analysis that reads b.py, which
reads c.py, which reads d.py (where the `model.eval()` is) depends on d.py, even though b.py
only learnt of d.py after a.py had recorded it (issue 13, server freshness)."""

from __future__ import annotations

from pathlib import Path

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.project import ProjectIndex

EVALUATE = """\
import torch


def evaluate(model, loader):
    model.eval()
    with torch.no_grad():
        return [model(x) for x in loader]
"""

TRAIN = """\
import torch
from torch import nn
from b import run

model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    for x, y in []:
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        opt.step()
    run(model, [])
"""


def project(root: Path) -> ProjectIndex:
    (root / ".git").mkdir()
    (root / "d.py").write_text(EVALUATE, encoding="utf-8")
    (root / "c.py").write_text("from d import evaluate\n\n\ndef check(model, loader):\n"
                               "    return evaluate(model, loader)\n", encoding="utf-8")
    (root / "b.py").write_text("from c import check\n\n\ndef run(model, loader):\n"
                               "    return check(model, loader)\n", encoding="utf-8")
    (root / "a.py").write_text(TRAIN, encoding="utf-8")
    return ProjectIndex(root, use_jedi=False, background=True)


def test_a_module_three_imports_away_is_a_dependency(tmp_path: Path) -> None:
    index = project(tmp_path)
    result = check_source(TRAIN, str(tmp_path / "a.py"), Settings(), project=index)
    assert [f.code for f in result.findings] == ["NN202"]
    assert index.depends_on(result.semantic, tmp_path / "d.py")
    assert index.depends_on(result.semantic, tmp_path / "c.py")
    assert not index.depends_on(result.semantic, tmp_path / "unrelated.py")


def test_a_change_two_imports_away_refreshes_the_cached_modules(tmp_path: Path) -> None:
    index = project(tmp_path)
    assert [f.code for f in check_source(TRAIN, str(tmp_path / "a.py"), Settings(), project=index).findings] == [
        "NN202"]
    before = index.semantic_of(tmp_path / "b.py")
    # d.py's evaluation now restores training mode: b.py's kept analysis must not answer
    index.set_overlay(tmp_path / "d.py", 2, EVALUATE.replace("        return", "        out =") + "    model.train()\n"
                      "    return out\n")
    assert index.semantic_of(tmp_path / "b.py") is not before
    assert check_source(TRAIN, str(tmp_path / "a.py"), Settings(), project=index).findings == []
