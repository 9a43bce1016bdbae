"""The engine never raises: random edits of every example and corpus file, random bytes
through the decode path, and stress inputs all give findings or exactly one NN000.

Bounded by default (well under 30 s); `NNLINT_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz_engine.py`
runs a longer campaign (and truncates the examples at every character, not every line).
`python -m nnlint.reliability` prints the figures (latency, memory, fixes).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlint.engine import SYNTAX_ERROR, check_source, read_source
from nnlint.reliability import (
    EXAMPLES,
    SNIPPETS,
    check_bytes,
    delete,
    insert,
    run_engine,
    seed_files,
    stress_inputs,
    truncate,
    with_line_ends,
)
from nnlint.source import SourceDecodeError, decode_source

LONG = int(os.environ.get("NNLINT_FUZZ_EXAMPLES", "0"))
EXAMPLE_COUNT = LONG or 60
FUZZ = settings(
    max_examples=EXAMPLE_COUNT,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not LONG,  # the default run is reproducible; the long one explores
)
SEEDS = seed_files()
SEED_NAMES = [name for name, _ in SEEDS]
SEED_TEXT = dict(SEEDS)


def assert_clean(text: str, path: str = "fuzz.py") -> list:
    outcome = run_engine(text, path)
    assert outcome.crash is None, f"{outcome.crash}\n--- input ({len(text)} chars) ---\n{text[:2000]!r}"
    return outcome.findings


def test_there_are_seed_files() -> None:
    assert any(Path(name).parent == EXAMPLES for name in SEED_NAMES)


# ------------------------------------------------------------------ random edits
edit = st.one_of(
    st.tuples(st.just("insert"), st.floats(0, 1), st.sampled_from(SNIPPETS)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.text(max_size=8)),
    st.tuples(st.just("delete"), st.floats(0, 1), st.integers(1, 200)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.none()),
)


def apply(text: str, kind: str, where: float, arg: object) -> str:
    position = int(where * len(text))
    if kind == "insert":
        return insert(text, position, arg)  # type: ignore[arg-type]
    if kind == "delete":
        return delete(text, position, arg)  # type: ignore[arg-type]
    return truncate(text, position)


@FUZZ
@given(name=st.sampled_from(SEED_NAMES), edits=st.lists(edit, min_size=1, max_size=4))
def test_random_edits_of_examples_and_corpus(name: str, edits: list) -> None:
    text = SEED_TEXT[name]
    for kind, where, arg in edits:
        text = apply(text, kind, where, arg)
    assert_clean(text, name)


@FUZZ
@given(
    name=st.sampled_from(SEED_NAMES),
    ending=st.sampled_from(["\r\n", "\r", "\n"]),
    where=st.floats(0, 1),
    snippet=st.sampled_from(SNIPPETS),
)
def test_edits_under_every_line_ending(name: str, ending: str, where: float, snippet: str) -> None:
    text = with_line_ends(insert(SEED_TEXT[name], int(where * len(SEED_TEXT[name])), snippet), ending)
    assert_clean(text, name)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py"))[:4], ids=lambda p: p.name)
def test_truncation_at_every_position(path: Path) -> None:
    """Every line boundary (and mid-line cut) by default; every character in the long run."""
    text = path.read_text(encoding="utf-8")
    if LONG:
        positions = range(len(text) + 1)
    else:
        starts = [i + 1 for i, c in enumerate(text) if c == "\n"]
        positions = sorted({0, len(text)} | set(starts) | {s + 3 for s in starts if s + 3 < len(text)})
    for position in positions:
        assert_clean(text[:position], path.name)
        assert_clean(text[position:], path.name)  # and the head cut off


@FUZZ
@given(text=st.text(alphabet=st.characters(exclude_categories=()), max_size=300))
def test_arbitrary_text_including_lone_surrogates_and_nul(text: str) -> None:
    assert_clean(text)


@FUZZ
@given(
    prefix=st.sampled_from(["", "import torch\n", "\ufeff", "# -*- coding: latin-1 -*-\n", "# coding: klingon\n"]),
    data=st.binary(max_size=400),
)
def test_random_bytes_through_the_decode_path(prefix: str, data: bytes) -> None:
    outcome = check_bytes(prefix.encode("utf-8") + data)
    assert outcome.crash is None, outcome.crash


@settings(max_examples=max(10, EXAMPLE_COUNT // 4), deadline=None)
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".py", ".pyw", ".txt"]))
def test_random_bytes_through_read_source(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"junk{suffix}"
    path.write_bytes(data)
    text, problem = read_source(path)
    assert (text is None) != (problem is None)
    if text is not None:
        assert_clean(text, str(path))


def test_decode_source_only_raises_its_own_error() -> None:
    for data in [b"\xff\xfe\x00", b"# coding: utf-16\n\xff", b"# coding: rot13\nx", b"# coding: idna\n\xff\xff",
                 b"\xef\xbb\xbf# coding: latin-1\n", b"# coding: \n", b"#coding=uu\nx", b"\x80" * 10]:
        try:
            decode_source(data)
        except SourceDecodeError:
            pass


# ----------------------------------------------------------------- stress inputs
# One 50,000-line file always; the other large inputs are 50,000 lines in the long run.
STRESS = stress_inputs(big_lines=50_000 if LONG else 10_000)
STRESS["50000-statements"] = "import torch\n" + "x = torch.zeros(1)\n" * 50_000


@pytest.mark.parametrize("name", sorted(STRESS))
def test_stress_input_gives_findings_or_one_nn000(name: str) -> None:
    text = STRESS[name]
    start = time.perf_counter()
    findings = assert_clean(text, f"{name}.py")
    elapsed = time.perf_counter() - start
    lines = text.count("\n") + 1
    # A generous sanity bound (the report prints the measured figure): 5 ms a line + 5 s.
    assert elapsed < 5 + 0.005 * lines, f"{name}: {elapsed:.1f} s for {lines} lines"
    if name in ("parens-1000", "lists-1000", "nul-byte", "nul-only", "lone-surrogate", "surrogate-in-string",
                "mixed-tabs-spaces", "tab-after-spaces", "unterminated-string", "trailing-backslash"):
        assert [f.code for f in findings] == [SYNTAX_ERROR], name
        assert findings[0].message and findings[0].span.line >= 1
    if name in ("crlf", "cr", "mixed-line-ends", "parens-190", "lists-190", "empty") or name.endswith("00-lines"):
        assert SYNTAX_ERROR not in [f.code for f in findings], name


def test_line_endings_do_not_change_findings() -> None:
    base = STRESS["no-final-newline"] + "\n"
    expected = [(f.code, f.span.line) for f in check_source(base, "x.py", verify_fixes=False).findings]
    assert expected, "the example should have findings"
    for ending in ("\r\n", "\r"):
        got = [(f.code, f.span.line) for f in check_source(with_line_ends(base, ending), "x.py", verify_fixes=False).findings]
        assert got == expected, repr(ending)


def test_nn000_points_at_the_nul_byte_line() -> None:
    text = "import torch\nx = 1\ny = '\0'\n"
    (finding,) = check_source(text).findings
    assert finding.code == SYNTAX_ERROR and finding.span.line == 3


@pytest.mark.parametrize("batch", [True, False], ids=["batched", "one-by-one"])
def test_verification_stays_linear_on_a_large_file_with_many_fixes(monkeypatch: pytest.MonkeyPatch, batch: bool) -> None:
    """Every fix verification re-checks the whole file: the engine batches them, and caps
    the text re-checked one by one, so hundreds of fixable findings stay linear."""
    import nnlint.engine as engine

    text = (EXAMPLES / "train_classifier.py").read_text(encoding="utf-8") * 30  # ~1,800 lines
    produced = sum(1 for f in check_source(text, "big.py", verify_fixes=False).findings if f.fix)
    if not batch:
        monkeypatch.setattr(engine, "_batch_is_safe", lambda *a, **k: False)
    analyses = []
    real = engine.check_source
    monkeypatch.setattr(engine, "check_source", lambda *a, **k: analyses.append(1) or real(*a, **k))
    offered = sum(1 for f in real(text, "big.py").findings if f.fix)
    cap = max(engine.VERIFY_MIN_CHARS, engine.VERIFY_SIZE_FACTOR * len(text)) // len(text)
    assert produced > cap + 1, "the input should have more fixes than the budget allows"
    assert len(analyses) <= 1 + cap, f"{len(analyses)} re-analyses for {produced} fixes"
    assert offered >= 1


def test_report_runs_and_finds_no_crash() -> None:
    from nnlint.reliability import build_report, render

    report = build_report(examples=3, big_lines=200, fix_every=100, seeds_limit=4)
    assert report.crashes == []
    assert report.fixes.unsafe_verified == 0
    text = render(report)
    for label in ("crashes", "worst latency, analysis", "fixes verified", "RSS before / after", "fixes offered (verified)", "edits applied"):
        assert label in text


# ------------------------------------------------------------ a crashing rule is contained
def test_a_crashing_rule_is_contained_by_the_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    from nnlint.engine import active_rules
    from nnlint.config import Settings

    rules = active_rules(Settings())
    victim = type(rules[0])
    text = (EXAMPLES / "train_classifier.py").read_text(encoding="utf-8")
    expected_others = [f.code for f in check_source(text, "t.py", verify_fixes=False).findings if f.code != victim.code]

    def boom(self, ctx):  # type: ignore[no-untyped-def]
        raise KeyError("simulated rule bug")

    monkeypatch.setattr(victim, "check", boom)
    result = check_source(text, "t.py")
    assert result.internal_errors and victim.code in result.internal_errors[0]
    assert [f.code for f in result.findings] == expected_others


def test_a_crashing_rule_is_reported_by_the_cli_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import nnlint.cli as cli
    from nnlint.engine import active_rules
    from nnlint.config import Settings

    victim = type(active_rules(Settings())[0])

    def boom(self, ctx):  # type: ignore[no-untyped-def]
        raise KeyError("simulated rule bug")

    monkeypatch.setattr(victim, "check", boom)
    code = cli.main(["check", "--isolated", "--jobs", "1", str(EXAMPLES / "train_classifier.py")])
    captured = capsys.readouterr()
    assert code == 2
    assert victim.code in captured.err and "Traceback" not in captured.err + captured.out


def test_server_report_prints_issue_18_figures() -> None:
    """`python -m nnlint.reliability` adds the language-server and --fix figures (small sizes here)."""
    from nnlint.reliability import build_server_report, render_server

    report = build_server_report(sync_edits=3_000, edits=300, cycles=30, frames_mb=(1, 2))
    assert report.sync_divergences == 0 and report.sync_edits >= 2_998
    assert report.pygls_divergences > 0  # the model does catch pygls' splitlines() drift
    assert [size for size, _ in report.frames] == [1, 2]
    assert not any(v.startswith("FAILED") for v in report.fix_metadata.values()), report.fix_metadata
    text = render_server(report)
    for label in ("text sync, random edits", "RSS over 300 edits", "open/close", "request behind one frame", "--fix keeps hard links"):
        assert label in text, text
