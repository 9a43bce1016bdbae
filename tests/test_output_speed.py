"""The JSON report is written directly, not through the standard encoder (which is pure
Python once it indents; issue 15's cached re-run spent a third of its time there): it
must stay byte for byte what `json.dumps(..., indent=2, ensure_ascii=False)` writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from nnlint.engine import check_source
from nnlint.findings import Edit, Finding, Fix, Related, Severity, Span
from nnlint.output import finding_to_json, render, render_json

texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from('"\\\n\t\x00\x1f\u2028'), max_size=12)
numbers = st.integers(min_value=0, max_value=10**6)
spans = st.builds(Span, numbers, numbers, numbers, numbers)
fixes = st.none() | st.builds(Fix, texts, st.lists(st.builds(Edit, spans, texts), max_size=3).map(tuple))
findings = st.builds(
    Finding, texts, texts, st.sampled_from(list(Severity)), spans, st.lists(st.builds(Related, spans, texts), max_size=3),
    fixes, texts,
)


def reference(items: list[Finding]) -> str:
    return json.dumps([finding_to_json(f) for f in items], indent=2, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(findings, max_size=4), st.lists(st.none() | st.integers(0, 50), max_size=4))
def test_the_direct_json_is_the_encoders_byte_for_byte(items: list[Finding], cells: list[int | None]) -> None:
    for finding, cell in zip(items, cells):
        if cell is not None:
            finding.cell = cell  # type: ignore[attr-defined]
    expected = reference(items) if items else "[]"
    assert render("json", items, {}) == expected


def test_real_findings_render_as_the_encoder_would() -> None:
    from nnlint.bench import generate_buggy_script

    items = check_source(generate_buggy_script(400), "bench.py").findings
    assert items and any(f.fix for f in items) and any(f.related for f in items)
    assert render_json(items, {}) == reference(items)


def test_an_unexpected_value_falls_back_to_the_encoder() -> None:
    odd = Finding("NN101", "m", Severity.ERROR, Span(1, 0, 1, 1), path="p.py")
    odd.cell = {"index": 3}  # type: ignore[attr-defined]
    assert render_json([odd], {}) == reference([odd])
