"""Module-wide facts of the gradient and train/eval rules (NN1xx, NN2xx) and of the shared
training analyses, each shown by a pair of files: an edit of one line in a statement not
linked by names to the finding it changes. A live buffer's re-analysis
(`nnlint.reanalysis`) must give what a full analysis gives; the rules' `module_wide_words`
are what make it analyse such an edit in full. Each pair is also checked to change the full
analysis's findings, so that it tests something."""

from __future__ import annotations

import textwrap

import pytest

import nnlint.reanalysis as reanalysis
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.incremental import IncrementalParser
from nnlint.reanalysis import LiveAnalysis
from nnlint.registry import load_rules

load_rules()


def _comparable(findings: list) -> list:
    return [(f.code, f.message, f.severity, f.span, tuple(f.related), f.fix) for f in findings]


def _full(text: str, settings: Settings) -> list:
    return _comparable(check_source(text, "x.py", settings, verify_fixes=False).findings)


def _live_after_edit(before: str, after: str, settings: Settings) -> list:
    parser, live = IncrementalParser("x.py"), LiveAnalysis()
    first = live.check(before, "x.py", settings)
    parser.remember(before, first.semantic.tree)
    return _comparable(live.check(after, "x.py", settings, None, parser.parse(after)).findings)


def _pair(before: str, old: str, new: str) -> tuple[str, str]:
    before = textwrap.dedent(before)
    assert before.count(old) == 1, old
    after = before.replace(old, new)
    assert after.count("\n") == before.count("\n")
    return before, after


def _check(monkeypatch: pytest.MonkeyPatch, code: str, before: str, after: str) -> None:
    """Only the rule under test runs: the words another rule declares do not hide a word
    this one misses."""
    # reuse even on files this small (as /work/eco/s6/reuse_check.py does)
    monkeypatch.setattr(reanalysis, "MAX_SHARE", 1.0)
    settings = Settings(select=(code,))
    full = _full(after, settings)
    assert full != _full(before, settings), "the edit must change the findings, or the pair tests nothing"
    assert _live_after_edit(before, after, settings) == full


# ------------------------------------------------------------------ the pairs
PAIRS: dict[str, tuple[str, str, str]] = {}  # name -> (rule, before, after)

# NN205: `net.eval` without a call is proven a module's method (warning with a fix) by a
# `net.parameters()` on the same global in another function, else it is an information
# without a fix.
PAIRS["nn205_model_proven_elsewhere"] = "NN205", *_pair('''
    import torch
    from zoo import make_net

    net = make_net()


    def evaluate(loader):
        net.eval
        with torch.no_grad():
            return [net(x) for x, _ in loader]


    def count():
        total = 0
        return total
    ''', "    total = 0", "    total = len(list(net.parameters()))")

# NN204: `_eligible_scope` reads every module-level call: a `torch.set_grad_enabled(False)`
# statement anywhere at module level silences the rule everywhere.
PAIRS["nn204_set_grad_enabled_at_module_level"] = "NN204", *_pair('''
    import torch
    import torch.nn as nn

    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(10):
        opt.zero_grad()
        model(torch.randn(2, 4)).sum().backward()
        opt.step()
    model.eval()
    print(model(torch.randn(2, 4)))

    print("done")
    ''', 'print("done")', "torch.set_grad_enabled(False)")


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_live_analysis_equals_full_analysis(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, before, after = PAIRS[name]
    _check(monkeypatch, code, before, after)


# ------------------------------------------------------- links the scheme misses
# Not module-wide facts of a rule but links `nnlint.reanalysis.statement_facts` does not
# make: top-level statements that share only a name bound by an import (`from setup import
# model, opt`) are not linked, yet the analysis of the module scope (a script's top-level
# code) reads all of them in order: mode switches and training before an evaluation
# (`mode_before`, `_trains_between`), a `zero_grad()` once before the loop
# (`_cleared_before`). No word of one rule expresses this (any backward(), step() or helper
# call can be the statement that matters): the scheme links every statement using a name
# imported from what may not be a library (`_import_facts`).
GAPS: dict[str, tuple[str, str, str]] = {}

GAPS["nn201_training_added_between_switch_and_evaluation"] = "NN201", *_pair('''
    import torch
    from models import model, batch, val_loader

    model.train()
    print("batch ready")
    with torch.no_grad():
        for inputs, targets in val_loader:
            print(model(inputs).argmax(1))
    ''', 'print("batch ready")', "model(batch).sum().backward()")

GAPS["nn101_clear_added_before_the_loop"] = "NN101", *_pair('''
    import torch
    from setup import model, opt, loader

    print("start")
    for inputs, labels in loader:
        loss = torch.nn.functional.cross_entropy(model(inputs), labels)
        loss.backward()
        opt.step()
    ''', 'print("start")', "opt.zero_grad()")


@pytest.mark.parametrize("name", sorted(GAPS))
def test_module_scope_statements_sharing_an_imported_name(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, before, after = GAPS[name]
    _check(monkeypatch, code, before, after)


# --------------------------------------- a module-wide word outside the analysed part
# A module-wide word in a statement the re-analysis would keep matters as much as one in
# the statements it analyses again: the part, analysed alone, would no longer see the fact
# (one `set_epoch` elsewhere, one `net.parameters()` elsewhere) and report what a full
# analysis does not (or at another severity). These edits reach no word at all: a rule's
# word anywhere in the module sends it to a full analysis, and a model proof links every
# statement using the proven name.
ELSEWHERE: dict[str, tuple[str, str, str]] = {}

ELSEWHERE["nn206_set_epoch_in_a_kept_statement"] = "NN206", *_pair('''
    import torch
    from torch.utils.data import DataLoader
    from torch.utils.data.distributed import DistributedSampler


    def main(model, dataset, optimizer):
        sampler = DistributedSampler(dataset, shuffle=True)
        loader = DataLoader(dataset, sampler=sampler, batch_size=8)
        for epoch in range(10):
            for x, y in loader:
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()


    def other(thing):
        thing.sampler.set_epoch(1)
        return thing
    ''', "batch_size=8", "batch_size=16")

ELSEWHERE["nn201_model_proof_in_a_kept_statement"] = "NN201", *_pair('''
    import torch


    def evaluate(model, loader):
        correct = 0
        with torch.no_grad():
            for x, y in loader:
                correct += (model(x).argmax(1) == y).sum().item()
        return correct


    def count(model):
        total = sum(p.numel() for p in model.parameters())
        return total
    ''', "    correct = 0", "    correct = 1")


def _check_same_findings(monkeypatch: pytest.MonkeyPatch, code: str, before: str, after: str) -> None:
    """`_check` for an edit that does not change the full analysis's findings."""
    monkeypatch.setattr(reanalysis, "MAX_SHARE", 1.0)
    settings = Settings(select=(code,))
    full = _full(after, settings)
    assert full == _full(before, settings)
    assert _live_after_edit(before, after, settings) == full


@pytest.mark.parametrize("name", sorted(ELSEWHERE))
def test_module_wide_word_in_a_kept_statement(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, before, after = ELSEWHERE[name]
    _check_same_findings(monkeypatch, code, before, after)
