"""The bundled examples show each implemented rule exactly where their `# expect:` says."""

from pathlib import Path

from test_corpus import expectations

from nnlint.config import Settings
from nnlint.engine import check_path
from nnlint.registry import load_rules

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_examples_report_exactly_their_expectations() -> None:
    implemented = set(load_rules())
    for path in sorted(EXAMPLES.glob("*.py")):
        expected = {(line, code) for line, code in expectations(path) if code in implemented}
        reported = {(f.span.line, f.code) for f in check_path(path, Settings()).findings}
        assert reported == expected, path.name
def test_examples_cover_every_rule_that_is_on_by_default() -> None:
    shown = set()
    for path in EXAMPLES.glob("*.py"):
        shown |= {code for _, code in expectations(path)}
    missing = {code for code, rule in load_rules().items() if rule.enabled_by_default} - shown
    assert not missing, f"no example shows {sorted(missing)}"
