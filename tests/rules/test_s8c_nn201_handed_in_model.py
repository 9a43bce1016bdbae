"""NN201 on the evaluation method of a class that is not a module and keeps the model its
constructor is given (`self.model = model`): when no method of the class switches that
model's mode and nothing visible builds the class, `predict()` runs the model in whatever
mode the caller left it, like an evaluation function whose model parameter no visible caller
fills. IBM/pytorch-seq2seq's Predictor shipped it (fixed by 'Set model in eval mode when
inferencing'). A shipped-bug miss of the s8 real-bug set."""

import pytest
import torch
import torch.nn as nn

from helpers import apply_fix_and_recheck, codes, line_of, lint
from nnlint.findings import Severity

PREDICTOR = '''
class Predictor(object):

    def __init__(self, model, src_vocab, tgt_vocab):
        self.model = model  # handed
        self.src_vocab = src_vocab
        self.tgt_vocab = tgt_vocab

    def predict(self, src_seq):
        src_id_seq = self.src_vocab.indices_from_sequence(src_seq)
        softmax_list, _, other = self.model([src_id_seq])  # runs
        return self.tgt_vocab.sequence_from_indices(softmax_list)
'''


def test_a_handed_in_model_that_nothing_switches_is_reported() -> None:
    findings = lint(PREDICTOR, "NN201")
    assert [(f.code, f.span.line) for f in findings] == [("NN201", line_of(PREDICTOR, "# runs"))]
    finding = findings[0]
    assert "`predict()` never switches its model to eval mode" in finding.message
    assert finding.severity is Severity.HINT  # `self.model` is a model from its name alone
    assert line_of(PREDICTOR, "# handed") in [r.span.line for r in finding.related]
    fixed = apply_fix_and_recheck(PREDICTOR, "NN201")
    assert "self.model.eval()" in fixed and codes(fixed, "NN201") == []


CORRECT = {
    "eval in the evaluation method": PREDICTOR.replace(
        "        src_id_seq =", "        self.model.eval()\n        src_id_seq ="),
    "eval in the constructor": PREDICTOR.replace("self.model = model  # handed", "self.model = model\n"
                                                 "        self.model.eval()"),
    "eval of the argument": PREDICTOR.replace("self.model = model  # handed", "model.eval()\n"
                                              "        self.model = model"),
    "the caller puts the model in eval mode": PREDICTOR + '''

def main(model, vocab):
    model.eval()
    predictor = Predictor(model, vocab, vocab)
    return predictor.predict(["a", "b"])
''',
    "a subclass is built": PREDICTOR + '''

class BeamPredictor(Predictor):
    pass


predictor = BeamPredictor(None, None, None)
''',
    "a model the class builds itself": PREDICTOR.replace("self.model = model  # handed",
                                                         "self.model = load_model(model)"),
    "a module's own predict": '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, encoder):
        super().__init__()
        self.model = encoder

    def predict(self, x):
        return self.model(x)
''',
    "a method that is no evaluation": PREDICTOR.replace("def predict(", "def step("),
}


@pytest.mark.parametrize("code", CORRECT.values(), ids=CORRECT.keys())
def test_correct_look_alikes_are_silent(code: str) -> None:
    assert codes(code, "NN201") == []


def test_dropout_in_training_mode_changes_predictions() -> None:
    """The effect the finding claims: a model handed over straight from training predicts
    differently from one run to the next."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Linear(8, 3))
    x = torch.randn(4, 8)
    model.train()
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
