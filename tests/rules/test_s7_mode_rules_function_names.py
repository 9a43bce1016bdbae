"""NN201/NN202 fall back on names (at hint severity) when a value's kind is not proven; a
name that is proven to be a plain function is no model, whatever it says (FPs found on
ShusenTang/Dive-into-DL-PyTorch, `init_rnn_state` passed to `predict_rnn`, and on
delip/PyTorchNLPBook, `sample_from_model(...)` in an evaluation loop). Such a call no longer
hides the real model of the same evaluation either."""

import ast

from helpers import codes, line_of

from nnlint.semantic import Semantic
from nnlint.training import training

SCRIPT = '''
import torch
import torch.nn as nn


def init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def sample_from_model(model, size):
    return model(torch.zeros(size))


def predict_rnn(prefix, num_chars, rnn, params, init_rnn_state, num_hiddens, device):
    state = init_rnn_state(1, num_hiddens, device)
    output = [prefix[0]]
    for t in range(num_chars):
        Y, state = rnn(torch.zeros(1), state, params)
        output.append(int(Y[0].argmax(dim=1).item()))
    return output


def evaluate(net, data):
    with torch.no_grad():
        for x in data:
            sample_from_model(net, 3)
            net(x)


net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(3):
    for x in range(4):
        opt.zero_grad()
        net(torch.zeros(2)).sum().backward()
        opt.step()
    print(predict_rnn("ab", 3, None, None, init_rnn_state, 4, "cpu"))
    evaluate(net, [])
'''


def test_functions_named_like_models_are_not_reported_and_do_not_hide_the_model() -> None:
    assert codes(SCRIPT, "NN20") == [("NN201", line_of(SCRIPT, "            net(x)"))]


def _training(code: str):  # type: ignore[no-untyped-def]
    sem = Semantic.build(ast.parse(code))
    return sem, training(sem)


def test_names_a_function() -> None:
    sem, train = _training(SCRIPT)
    predict = sem.functions["predict_rnn"][0]
    evaluate = sem.functions["evaluate"][0]
    call_line = line_of(SCRIPT, "state = init_rnn_state(1")
    assert train.names_a_function(ast.Name(id="init_rnn_state"), predict, call_line)  # every caller passes the def
    assert train.names_a_function(ast.Name(id="sample_from_model"), evaluate, line_of(SCRIPT, "sample_from_model(net, 3)"))
    assert not train.names_a_function(ast.Name(id="net"), evaluate, line_of(SCRIPT, "            net(x)"))
    assert not train.names_a_function(ast.Name(id="rnn"), predict, call_line)  # callers pass None


def test_a_parameter_one_caller_fills_with_a_model_still_counts() -> None:
    code = SCRIPT.replace('print(predict_rnn("ab", 3, None, None, init_rnn_state, 4, "cpu"))',
                          'print(predict_rnn("ab", 3, None, None, init_rnn_state, 4, "cpu"))\n'
                          '    print(predict_rnn("ab", 3, None, None, net, 4, "cpu"))')
    sem, train = _training(code)
    predict = sem.functions["predict_rnn"][0]
    assert not train.names_a_function(ast.Name(id="init_rnn_state"), predict, line_of(code, "state = init_rnn_state(1"))


def test_a_name_bound_to_a_model_is_not_a_function_even_with_a_def_elsewhere() -> None:
    code = '''
import torch.nn as nn


def helper():
    def model(x):
        return x
    return model


def run(data):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1))
    for x in data:
        model(x)
'''
    sem, train = _training(code)
    run = sem.functions["run"][0]
    assert not train.names_a_function(ast.Name(id="model"), run, line_of(code, "        model(x)"))


def test_a_model_word_before_a_non_model_last_word_is_no_model_name() -> None:
    from nnlint.vocabulary import looks_like_model_name

    for name in ("init_rnn_state", "model_path", "net_config", "self.model_state", "encoder_hidden", "rnn_fn"):
        assert not looks_like_model_name(name), name
    for name in ("model", "net_g", "self.policy_net", "q_network", "model_ema", "text_encoder", "rnn"):
        assert looks_like_model_name(name), name
