"""Module-wide facts of NN3xx-NN6xx (`Rule.module_wide_words`, see `nnlint.reanalysis`).

Each case is a small file and a one-line edit of a statement that no name links to the
statement holding the finding. Before the edit, the live analysis (as the language server
keeps it) has every finding; after it, the live result must equal a full analysis. Without
the rule's module-wide words the live analysis keeps a stale finding (or misses a new
one): each case was checked to fail with the words removed.

`GAPS` are module-wide facts that identifiers cannot express (a comment, a substring of a
longer identifier, an alias): the changed lines' text (`module_wide_text`, a word anywhere in
a changed line) and the imports' names cover them.
"""

from __future__ import annotations

import textwrap

import pytest

import nnlint.reanalysis as reanalysis
from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.incremental import IncrementalParser
from nnlint.reanalysis import LiveAnalysis
from nnlint.registry import load_rules

ALL_RULES = Settings(select=tuple(load_rules()))


def comparable(findings: list) -> list:
    return [(f.code, f.message, f.severity, f.span, tuple(f.related), f.fix) for f in findings]


def live_and_full(before: str, after: str) -> tuple[list, list, str]:
    """(live findings after the edit, full findings after the edit, what the live check did)."""
    assert before.count("\n") == after.count("\n"), "an edit that keeps the number of lines"
    parser, live = IncrementalParser("x.py"), LiveAnalysis()
    first = live.check(before, "x.py", ALL_RULES)
    parser.remember(before, first.semantic.tree)
    second = live.check(after, "x.py", ALL_RULES, None, parser.parse(after))
    full = check_source(after, "x.py", ALL_RULES, verify_fixes=False)
    return second.findings, full.findings, live.described


def edit(before: str, old: str, new: str) -> str:
    assert before.count(old) == 1, old
    return before.replace(old, new)


# (rule, before, the line as it was, the line as it is after the edit)
CASES: dict[str, tuple[str, str, str, str]] = {
    # `_call_wrappers`: a hook registered anywhere raises every finding to warning severity
    "nn601-hook-registered-elsewhere": ("NN601", """
        import torch
        from torch import nn

        model = nn.Linear(4, 2)


        def predict(x):
            return model.forward(x)


        def inspect(layer):
            print(layer)
            return layer
        """, "    print(layer)", "    layer.register_forward_hook(print)"),
    # `"strict" in ctx.source.text`: `load_state_dict(sd, False)` counts once the word is anywhere
    "nn405-strict-anywhere": ("NN405", """
        import torch

        model = torch.nn.Linear(3, 3)
        model.load_state_dict(torch.load("ckpt.pt"), False)


        def describe(mode):
            checked = mode == "lenient"
            return checked
        """, 'mode == "lenient"', 'mode == "strict"'),
    # `_FREEZE`: freezing anything anywhere silences NN401
    "nn401-frozen-elsewhere": ("NN401", """
        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)


        def report(head):
            head.bias = None
            return head
        """, "    head.bias = None", "    head.weight.requires_grad = False"),
    # `_HINT`: a checkpoint loaded through `torch.hub`'s `load` counts once "pretrained" is written
    "nn401-pretrained-named-elsewhere": ("NN401", """
        import torch
        from torch.hub import load

        model = load("huggingface/pytorch-transformers", "model", "bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)


        def report(head):
            source = "scratch"
            return head, source
        """, 'source = "scratch"', 'source = "pretrained"'),
    # `has_overfit_check`: the lines above the loop, here the end of a string holding the marker
    "nn501-marker-in-a-string-above": ("NN501", """
        import torch
        from torch import nn

        model = nn.Linear(4, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loss_fn = nn.MSELoss()
        data = [(torch.randn(8, 4), torch.randn(8, 2)) for _ in range(10)]
        NOTE = \"\"\"
        # --- end nnlint overfit check ---
        see below\"\"\"
        for x, y in data:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        """, 'see below\"\"\"', '# see below\"\"\"'),
}


# `Training.module_only_use`: a module-only method (`.parameters()`, `.eval()`, ...) called on a
# global in one function proves it a module in every function that reads it. As words, the module-only methods would send every edit of a
# function that mentions one (most training code) to a full analysis: they are not declared,
# and these cases fail until `reanalysis.statement_facts` links the statements that call one
# on a receiver with those that mention the receiver's last name.
MODULE_ONLY_CASES: dict[str, tuple[str, str, str, str]] = {
    # `Training.module_only_use`: `self.net.parameters()` in another method proves `self.net` a module
    "nn601-module-only-use-elsewhere": ("NN601", """
        import torch


        class Predictor:
            def __init__(self, net):
                self.net = net

            def predict(self, x):
                return self.net.forward(x)

            def size(self):
                total = sum(p.numel() for p in self.net.blocks)
                return total
        """, "self.net.blocks)", "self.net.parameters())"),
    # `Training.is_proven_model` through `module_only_use`: `model.parameters()` elsewhere
    "nn405-module-only-use-elsewhere": ("NN405", """
        import torch
        from zoo import make_net

        model = make_net()


        def restore(path):
            model.load_state_dict(torch.load(path), strict=False)


        def describe():
            print(model.name)
            return model
        """, "print(model.name)", "print(model.parameters())"),
    # `Training.is_proven_model` through `module_only_use`: `blk` proven a module elsewhere makes
    # every element a module, and the fix is offered (`.children()` on it)
    "nn504-module-only-use-elsewhere": ("NN504", """
        import torch
        from torch import nn
        from zoo import make_block

        blk = make_block()


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.first = blk
                self.layers = [blk, nn.Linear(2, 2), nn.Linear(2, 2)]


        def prepare():
            blk.frozen = True
            return blk
        """, "    blk.frozen = True", "    blk.frozen = list(blk.children())"),
    # `Training.first_model_call` through `module_only_use`: the message names the model `m`
    "nn501-module-only-use-elsewhere": ("NN501", """
        import torch
        from zoo import make_net

        m = make_net()


        def fit(opt, data, loss_fn):
            for x, y in data:
                opt.zero_grad()
                out = m(x)
                loss = loss_fn(out, y)
                loss.backward()
                opt.step()


        def show():
            print(m)
            return m
        """, "    print(m)", "    m.eval()"),
}


@pytest.fixture(autouse=True)
def reuse_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    # the cases are small: let the live analysis reuse findings whatever the edit's share
    monkeypatch.setattr(reanalysis, "MAX_SHARE", 1.0)


def check_case(code: str, before: str, old: str, new: str) -> str:
    """Live equals full after the edit, which changes what rule `code` says; what the live
    check did."""
    before = textwrap.dedent(before)
    after = edit(before, old, new)
    live, full, described = live_and_full(before, after)
    assert comparable(live) == comparable(full)
    # the edit changes what the rule says, or the case proves nothing
    untouched = check_source(before, "x.py", ALL_RULES, verify_fixes=False).findings
    assert [f for f in comparable(full) if f[0] == code] != [f for f in comparable(untouched) if f[0] == code]
    return described


@pytest.mark.parametrize("case", sorted(CASES))
def test_live_equals_full_after_an_unlinked_edit(case: str) -> None:
    code, before, old, new = CASES[case]
    described = check_case(code, before, old, new)
    assert described.startswith("full analysis: the module mentions `"), described
    word = described.split("`")[1]
    assert word in load_rules()[code].module_wide_words, described  # this rule's fact, not another's


@pytest.mark.parametrize("case", sorted(MODULE_ONLY_CASES))
def test_live_equals_full_after_a_module_only_use_elsewhere(case: str) -> None:
    # `nnlint.reanalysis` links every statement using a name proven a module.
    check_case(*MODULE_ONLY_CASES[case])


# Module-wide facts that identifiers in the statements cannot express (a comment, part of a
# longer name, an alias): a changed line holding a rule's word or matching its
# `module_wide_text`, and an import naming a word under an alias, send the edit to a full
# analysis.
GAPS: dict[str, tuple[str, str, str, str]] = {
    # NN401 `_FREEZE` matches comments too; a comment's words are not the statement's mentions
    "nn401-freeze-in-a-comment": ("NN401", """
        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)


        def report(head):
            # keep every layer trainable
            return head
        """, "# keep every layer trainable", "# call freeze(head) once it converges"),
    # the same in a comment line outside every statement: no statement changes at all
    "nn401-freeze-in-a-comment-between-statements": ("NN401", """
        import torch
        from transformers import AutoModel

        model = AutoModel.from_pretrained("bert-base-uncased")
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

        # every layer is trained
        """, "# every layer is trained", "# TODO: freeze(model.embeddings)"),
    # NN402 checks nothing unless "grad" is a substring of the file: any name holding it opens
    # the test (`zero_grad`, `no_grad`, `gradient`, ...), and `requires_grd` itself does not
    "nn402-grad-anywhere": ("NN402", """
        import torch

        layer = torch.nn.Linear(3, 3)
        layer.weight.requires_grd = False


        def step(opt):
            opt.step()
            return opt
        """, "    opt.step()", "    opt.zero_grad()"),
    # NN402 `_typos`: a typo read somewhere (`.requires_grd` not assigned) is the program's own
    # attribute, and the text test finds the read in a comment too
    "nn402-typo-read-in-a-comment": ("NN402", """
        import torch

        layer = torch.nn.Linear(3, 3)
        layer.weight.requires_grd = False


        def step(opt):
            # one optimizer step
            opt.zero_grad()
            return opt
        """, "    # one optimizer step", "    # print(layer.weight.requires_grd)"),
    # NN601 `_call_wrappers`: a hook installer imported under another name is called by that
    # name, which is not one of the words (the guard could add the aliases the imports give
    # to the words)
    "nn601-installer-under-an-alias": ("NN601", """
        import torch
        from torch import nn
        from torch.nn.utils import weight_norm as wn

        model = nn.Linear(4, 2)


        def predict(x):
            return model.forward(x)


        def normalise(layer):
            print(layer)
            return layer
        """, "    print(layer)", "    wn(layer)"),
    # NN405 `"strict" in text` also holds for a longer name
    "nn405-strict-inside-a-name": ("NN405", """
        import torch

        model = torch.nn.Linear(3, 3)
        model.load_state_dict(torch.load("ckpt.pt"), False)


        def describe(mode):
            checked = mode
            return checked
        """, "    checked = mode\n", "    checked = restricted(mode)\n"),
}


@pytest.mark.parametrize("case", sorted(GAPS))
def test_known_gaps(case: str) -> None:
    code, before, old, new = GAPS[case]
    before = textwrap.dedent(before)
    live, full, _described = live_and_full(before, edit(before, old, new))
    assert comparable(live) == comparable(full)


def test_known_gap_nn403_param_in_project_mode(tmp_path) -> None:  # noqa: ANN001
    """NN403 checks nothing unless "param" is a substring of the file. Alone, a file that
    builds an optimizer has it (`.parameters()`); with a project, the optimizer can come from
    a helper of another module, and any name holding "param" (`params`) opens the test."""
    from nnlint.project import ProjectIndex

    (tmp_path / "helpers.py").write_text(
        "import torch\n\n\ndef make_opt(model):\n    return torch.optim.SGD(model.parameters(), lr=0.1)\n")
    before = textwrap.dedent("""
        import torch
        from torch import nn
        from helpers import make_opt

        model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        opt = make_opt(model)
        model[1] = nn.Linear(4, 3)
        opt.step()


        def count(net):
            total = 0
            return total
        """)
    after = edit(before, "    total = 0", "    params = 0")
    script = tmp_path / "main.py"
    script.write_text(before)
    project = ProjectIndex(tmp_path, use_jedi=False)
    project.set_overlay(script, 1, before)
    parser, live = IncrementalParser(str(script)), LiveAnalysis()
    first = live.check(before, str(script), ALL_RULES, project, parser.parse(before))
    parser.remember(before, first.semantic.tree)
    project.set_overlay(script, 2, after)
    found = live.check(after, str(script), ALL_RULES, project, parser.parse(after)).findings
    full = check_source(after, str(script), ALL_RULES, verify_fixes=False, project=project).findings
    assert any(f.code == "NN403" for f in full)
    assert comparable(found) == comparable(full)
