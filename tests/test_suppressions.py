"""Suppression comments: `# nnlint: disable=CODE` / `# noqa: CODE` on a finding's own line
or on any line it names as related, `# nnlint: disable-file=CODE`, and a bare `# noqa` (its
own line only). Through `check_source` and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnlint.engine import check_source

from test_cli import run

# NN101 is anchored on backward() (line 7) and names the loop (5), the step (8) and the
# optimizer's creation (4) as its related lines.
LOOP = [
    "import torch\n",
    "\n",
    "model = torch.nn.Linear(4, 2)\n",
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n",
    "for x, y in loader:\n",
    "    loss = torch.nn.functional.mse_loss(model(x), y)\n",
    "    loss.backward()\n",
    "    opt.step()\n",
]


def with_comment(line: int, comment: str) -> str:
    lines = list(LOOP)
    lines[line - 1] = lines[line - 1].rstrip("\n") + f"  {comment}\n"
    return "".join(lines)


def codes(text: str) -> list[str]:
    return [f.code for f in check_source(text, "t.py", verify_fixes=False).findings]


def test_the_finding_and_its_related_lines() -> None:
    (finding,) = check_source("".join(LOOP), "t.py", verify_fixes=False).findings
    assert finding.code == "NN101" and finding.span.line == 7
    assert sorted(r.span.line for r in finding.related) == [4, 5, 8]


@pytest.mark.parametrize("line", [7, 8, 5, 4], ids=["own line", "step", "loop", "optimizer"])
@pytest.mark.parametrize("comment", ["# noqa: NN101", "# nnlint: disable=NN101", "# noqa: NN1", "# NOQA:NN101,E501",
                                     "# NNLINT: disable=NN101", "# Noqa: NN101"])
def test_a_coded_suppression_on_the_finding_or_a_related_line_silences_it(line: int, comment: str) -> None:
    assert codes(with_comment(line, comment)) == []


@pytest.mark.parametrize(
    "line, comment",
    [
        (6, "# noqa: NN101"),  # a line the finding does not name
        (8, "# noqa: NN301"),  # another rule's code on a related line
        (8, "# noqa"),  # a bare noqa is usually another linter's: its own line only
        (8, "# nnlint: disable=NN102"),
    ],
)
def test_other_suppressions_leave_it(line: int, comment: str) -> None:
    assert codes(with_comment(line, comment)) == ["NN101"]


def test_a_bare_noqa_on_its_own_line_and_disable_file_still_work() -> None:
    assert codes(with_comment(7, "# noqa")) == []
    assert codes("# nnlint: disable-file=NN101\n" + "".join(LOOP)) == []


def test_the_cli_honours_a_suppression_on_the_step_line(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(with_comment(8, "# noqa: NN101"), encoding="utf-8")
    completed = run("check", "--isolated", "--format", "json", "train.py", cwd=tmp_path)
    assert (completed.returncode, json.loads(completed.stdout), completed.stderr) == (0, [], "")
    (tmp_path / "train.py").write_text("".join(LOOP), encoding="utf-8")
    completed = run("check", "--isolated", "--format", "json", "train.py", cwd=tmp_path)
    assert completed.returncode == 1 and [f["code"] for f in json.loads(completed.stdout)] == ["NN101"]


def test_the_pre_check_answers_as_the_case_insensitive_grammar() -> None:
    """`may_suppress` (lowered ASCII text, else the regex) says yes exactly when the
    case-insensitive search does, on ASCII and Unicode text alike."""
    import random
    import re

    from nnlint.engine import may_suppress

    reference = re.compile(r"nnlint|noqa", re.IGNORECASE)
    rng = random.Random(13)
    # each letter of the two words in either case, or a Unicode look-alike (dotted and
    # dotless i, fullwidth n, accented a), with ASCII or Unicode around it
    variants = {"n": "nN\uff4e", "l": "lL", "i": "iI\u0130\u0131", "t": "tT", "o": "oO", "q": "qQ", "a": "aA\u00e1"}
    texts = ["", "x = 1\n", "# NNLINT: disable=NN101", "# NoQa", "# nnlin t", "# n\u0130lint", "# noq\u00e1"]
    for _ in range(20_000):
        word = "".join(rng.choice(variants[letter] if rng.random() < 0.9 else variants[letter][:2])
                       for letter in rng.choice(("nnlint", "noqa")))
        texts.append(rng.choice(("# ", "x = 1  # ", "\u00e9 # ", "")) + word + rng.choice(("", ": NN101", "\n")))
    answers = [reference.search(text) is not None for text in texts]
    assert 1_000 < sum(answers) < len(texts) - 1_000  # both answers are exercised
    for text in texts:
        assert may_suppress(text) == (reference.search(text) is not None), repr(text)
