from helpers import lint

WRONG = """\
def train(model, loader, optimizer, criterion):
    for x, y in loader:
        logits = model(x)
        loss = criterion(logits, y)
        loss.backward()
        optimizer.zero_grad()  # wipes
        optimizer.step()
"""


def test_flags_zero_grad_between_backward_and_step() -> None:
    findings = lint(WRONG, "NN102")
    assert [(f.code, f.span.line) for f in findings] == [("NN102", 6)]
    assert "line 5" in findings[0].message and "line 7" in findings[0].message
    assert {r.span.line for r in findings[0].related} == {5, 7}
