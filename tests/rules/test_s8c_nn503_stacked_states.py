"""NN503 on a view of concatenated RNN final states: fairseq's LSTM encoder concatenated the
two directions of each layer's final state along dim 0, `torch.cat([h[2*i], h[2*i+1]],
dim=0)`, which lays out (2, bsz, H) in memory, then `.view(1, bsz, 2 * H)`: each row holds the
states of two samples, not the two directions of one (fixed by 'Fix bidirectional LSTM
concatenation', view + transpose). The sizes are known because the final state has the shape
of the initial state the LSTM is given (`h0 = x.new(2 * layers, bsz, H)`). A shipped-bug miss
of the s8 real-bug set."""

import pytest
import torch

from helpers import codes, line_of, lint

TEMPLATE = '''
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, num_layers, hidden_size):
        super().__init__()
        self.num_layers = num_layers
        self.hidden_size = hidden_size
        self.output_units = 2 * hidden_size
        self.lstm = nn.LSTM(8, hidden_size, num_layers=num_layers, bidirectional=True)

    def forward(self, x):
        seqlen, bsz, _ = x.size()
        state_size = 2 * self.num_layers, bsz, self.hidden_size
        h0 = x.data.new(*state_size).zero_()
        c0 = x.data.new(*state_size).zero_()
        outs, (final_hiddens, final_cells) = self.lstm(x, (h0, c0))

        def combine_bidir(outs):
{combine}

        final_hiddens = combine_bidir(final_hiddens)
        final_cells = combine_bidir(final_cells)
        return outs, final_hiddens, final_cells
'''

FAIRSEQ = '''            return torch.cat([
                torch.cat([outs[2 * i], outs[2 * i + 1]], dim=0).view(1, bsz, self.output_units)  # here
                for i in range(self.num_layers)
            ], dim=0)'''

BUGS = {
    "fairseq's combine_bidir": FAIRSEQ,
    "one layer, constant indices": "            return torch.cat([outs[0], outs[1]], dim=0).reshape(bsz, -1)  # here",
    "the last layer, negative indices": "            return torch.cat((outs[-2], outs[-1]), 0).view(bsz, self.output_units)  # here",
}

CORRECT = {
    "fairseq's fix": ("            out = outs.view(self.num_layers, 2, bsz, -1).transpose(1, 2).contiguous()\n"
                      "            return out.view(self.num_layers, bsz, -1)"),
    "concatenated along the features": ("            return torch.cat([outs[-2], outs[-1]], dim=1)"
                                        ".view(1, bsz, self.output_units)"),
    "stacked, then viewed in memory order": ("            return torch.cat([outs[-2], outs[-1]], dim=0)"
                                             ".view(2, bsz, self.hidden_size)"),
    "rows kept": "            return torch.cat([outs[-2], outs[-1]], dim=0).view(-1, self.hidden_size)",
    "moved before the view": ("            both = torch.cat([outs[-2], outs[-1]], dim=0)"
                              ".view(2, bsz, self.hidden_size)\n"
                              "            return both.transpose(0, 1).reshape(bsz, -1)"),
    "masked rows, not a position": ("            keep = outs.sum(-1) > 0\n"
                                    "            return torch.cat([outs[keep], outs[keep]], dim=0).view(bsz, -1)"),
}


@pytest.mark.parametrize("combine", BUGS.values(), ids=BUGS.keys())
def test_a_view_of_concatenated_final_states_is_reported(combine: str) -> None:
    code = TEMPLATE.format(combine=combine)
    assert codes(code, "NN503") == [("NN503", line_of(code, "# here"))]
    (finding,) = lint(code, "NN503")
    assert "axis of the 2 concatenated tensors lies before `bsz`" in finding.message
    assert line_of(code, "h0 = x.data.new") in [r.span.line for r in finding.related]


@pytest.mark.parametrize("combine", CORRECT.values(), ids=CORRECT.keys())
def test_correct_combinations_are_silent(combine: str) -> None:
    assert codes(TEMPLATE.format(combine=combine), "NN503") == []


def test_an_initial_state_of_unknown_sizes_proves_nothing() -> None:
    code = TEMPLATE.format(combine=FAIRSEQ.replace("  # here", "")).replace(
        "outs, (final_hiddens, final_cells) = self.lstm(x, (h0, c0))",
        "outs, (final_hiddens, final_cells) = self.lstm(x)")
    assert codes(code, "NN503") == []


def test_torch_zeros_initial_state_and_a_gru() -> None:
    code = '''
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, bidirectional=True, batch_first=True)

    def forward(self, x):
        batch = x.size(0)
        h0 = torch.zeros(2, batch, 16, device=x.device)
        out, h_n = self.gru(x, h0)
        return torch.cat([h_n[0], h_n[1]], dim=0).view(batch, 32)  # here
'''
    assert codes(code, "NN503") == [("NN503", line_of(code, "# here"))]


def test_the_view_mixes_samples_and_the_transpose_does_not() -> None:
    """The effect the finding claims, on a real bidirectional LSTM."""
    torch.manual_seed(0)
    bsz, hidden = 3, 4
    lstm = torch.nn.LSTM(5, hidden, bidirectional=True)
    x = torch.randn(7, bsz, 5)
    h0 = x.new(2, bsz, hidden).zero_()
    _, (h_n, _) = lstm(x, (h0, h0.clone()))
    wanted = torch.cat([h_n[0], h_n[1]], dim=1)  # (bsz, 2 * hidden): both directions of one sample
    viewed = torch.cat([h_n[0], h_n[1]], dim=0).view(1, bsz, 2 * hidden)[0]
    assert viewed.shape == wanted.shape and not torch.equal(viewed, wanted)
    fixed = h_n.view(1, 2, bsz, -1).transpose(1, 2).contiguous().view(1, bsz, -1)[0]
    assert torch.equal(fixed, wanted)
