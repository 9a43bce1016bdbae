"""NN503 on an RNN's final state folded into (batch, -1): `h_n` of nn.LSTM/GRU/RNN is
(num_layers * num_directions, batch, hidden) even with `batch_first=True`, so
`h_n[-2:].view(batch, -1)` mixes samples (pytorch/examples' snli encoder shipped it;
fixed by a transpose). A shipped-bug miss of the s7 real-bug set."""

import pytest
import torch

from helpers import codes, line_of

TEMPLATE = '''
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.rnn = {layer}

    def forward(self, inputs):
        batch_size = inputs.size(0)
        {unpack} = self.rnn(inputs)
        return {read}
'''

BUGS = {
    "sliced last two, config flag": ("nn.LSTM(8, 16, bidirectional=config.birnn)", "outputs, (ht, ct)",
                                     "ht[-2:].view(batch_size, -1)"),
    "bidirectional literal, whole state": ("nn.LSTM(8, 16, bidirectional=True, batch_first=True)",
                                          "outputs, (ht, ct)", "ht.view(batch_size, -1)"),
    "the cell state": ("nn.LSTM(8, 16, bidirectional=True)", "outputs, (ht, ct)", "ct.reshape(batch_size, -1)"),
    "GRU with two layers": ("nn.GRU(8, 16, num_layers=2, batch_first=True)", "out, h_n",
                            "h_n.reshape(batch_size, -1)"),
    "GRU layers given by position": ("nn.GRU(8, 16, 3)", "out, h_n", "h_n.view(batch_size, -1)"),
    "torch.reshape": ("nn.RNN(8, 16, bidirectional=True)", "out, h_n", "torch.reshape(h_n, (batch_size, -1))"),
}

CORRECT = {
    "transposed first": ("nn.LSTM(8, 16, bidirectional=True)", "outputs, (ht, ct)",
                         "ht[-2:].transpose(0, 1).reshape(batch_size, -1)"),
    "directions concatenated": ("nn.LSTM(8, 16, bidirectional=True)", "outputs, (ht, ct)",
                                "torch.cat((ht[-2], ht[-1]), dim=1)"),
    "one layer, one direction": ("nn.LSTM(8, 16, batch_first=True)", "outputs, (ht, ct)",
                                 "ht.view(batch_size, -1)"),
    "the last layer only": ("nn.GRU(8, 16, num_layers=2)", "out, h_n", "h_n[-1].view(batch_size, -1)"),
    "the outputs, not the state": ("nn.LSTM(8, 16, bidirectional=True, batch_first=True)", "outputs, (ht, ct)",
                                   "outputs.reshape(batch_size, -1)"),
    "layers and batch flattened together": ("nn.GRU(8, 16, num_layers=2)", "out, h_n", "h_n.view(-1, 16)"),
    "the (h, c) pair": ("nn.LSTM(8, 16, bidirectional=True)", "outputs, hidden", "hidden"),
    "a module that is not an RNN": ("nn.Transformer(8, 2)", "outputs, (ht, ct)", "ht.view(batch_size, -1)"),
}


def _code(layer: str, unpack: str, read: str) -> str:
    return TEMPLATE.format(layer=layer, unpack=unpack, read=read)


@pytest.mark.parametrize("layer, unpack, read", BUGS.values(), ids=BUGS.keys())
def test_a_final_state_folded_into_batch_rows_is_reported(layer: str, unpack: str, read: str) -> None:
    code = _code(layer, unpack, read)
    assert codes(code, "NN503") == [("NN503", line_of(code, "return "))]


@pytest.mark.parametrize("layer, unpack, read", CORRECT.values(), ids=CORRECT.keys())
def test_correct_reads_of_the_final_state_are_silent(layer: str, unpack: str, read: str) -> None:
    assert codes(_code(layer, unpack, read), "NN503") == []


def test_the_view_mixes_samples_and_the_transpose_does_not() -> None:
    """The effect the finding claims, on a real bidirectional LSTM."""
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(3, 4, bidirectional=True, batch_first=True)
    batch = torch.randn(5, 7, 3)
    _, (h_n, _) = lstm(batch)
    wanted = torch.cat((h_n[-2], h_n[-1]), dim=1)  # (batch, 2 * hidden), one sample per row
    assert torch.equal(h_n[-2:].transpose(0, 1).reshape(5, -1), wanted)
    viewed = h_n[-2:].view(5, -1)
    assert viewed.shape == wanted.shape and not torch.equal(viewed, wanted)
    # each row of the view holds parts of two samples' forward states, none of their backward ones
    single = lstm(batch[:1])[1][0]
    assert not torch.allclose(viewed[0], torch.cat((single[-2][0], single[-1][0])))
