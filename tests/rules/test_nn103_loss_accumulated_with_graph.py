from helpers import lint

WRONG = """\
import torch.nn.functional as F
total_loss = 0.0
for images, targets in loader:
    opt.zero_grad()
    loss = F.cross_entropy(model(images), targets)
    loss.backward()
    opt.step()
    total_loss += loss
print(total_loss / len(loader))
"""


def test_flags_running_total_of_loss_tensor() -> None:
    findings = lint(WRONG, "NN103")
    assert [(f.code, f.span.line) for f in findings] == [("NN103", 8)]
    assert "`total_loss`" in findings[0].message and "`loss`" in findings[0].message
    assert 5 in {r.span.line for r in findings[0].related}
