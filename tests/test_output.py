"""Report formats: JSON shape, SARIF 2.1.0 structure, GitHub annotation escaping, text."""

from __future__ import annotations

import json

from nnlint.findings import Edit, Finding, Fix, Related, Severity, Span
from nnlint.output import FORMATS, finding_to_json, render
from nnlint.registry import load_rules


def make(
    code: str = "NN203",
    message: str = "msg",
    path: str = "pkg/train.py",
    severity: Severity = Severity.WARNING,
    fix: bool = True,
) -> Finding:
    return Finding(
        code,
        message,
        severity,
        Span(3, 4, 3, 10),
        [Related(Span(1, 0, 1, 5), "made here")],
        Fix("Do it", (Edit(Span(3, 9, 3, 9), ", x=1"),)) if fix else None,
        path,
    )


def test_json_is_one_based_with_fix_edits() -> None:
    data = finding_to_json(make())
    assert (data["line"], data["column"], data["end_line"], data["end_column"]) == (3, 5, 3, 11)
    assert data["fix"] == {
        "message": "Do it",
        "edits": [{"line": 3, "column": 10, "end_line": 3, "end_column": 10, "new_text": ", x=1"}],
    }
    assert data["severity"] == "warning"
    assert data["related"][0]["line"] == 1 and data["related"][0]["column"] == 1
    assert finding_to_json(make(fix=False))["fix"] is None


def test_json_render_empty_and_non_ascii() -> None:
    assert json.loads(render("json", [], load_rules())) == []
    out = render("json", [make(message="ñ → 😀")], load_rules())
    assert json.loads(out)[0]["message"] == "ñ → 😀"


def test_sarif_structure() -> None:
    rules = load_rules()
    findings = [
        make(),
        make("NN000", "syntax error: invalid syntax", severity=Severity.ERROR, fix=False),
        make(severity=Severity.HINT, path="/abs/dir with space/t.py"),
    ]
    log = json.loads(render("sarif", findings, rules))
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "nnlint" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    assert "NN000" in ids and set(rules) <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note", "none"}
    assert len(run["results"]) == 3
    for result in run["results"]:
        assert result["ruleId"] in ids
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning", "note", "none"}
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        region = physical["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])
    first, syntax, hint = run["results"]
    assert first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/train.py"
    assert first["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 11,
    }
    assert first["relatedLocations"][0]["message"]["text"] == "made here"
    replacement = first["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == ", x=1"
    assert replacement["deletedRegion"]["startColumn"] == 10
    assert syntax["level"] == "error" and "fixes" not in syntax
    assert hint["level"] == "note"
    assert hint["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "file:///abs/dir%20with%20space/t.py"
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_against_a_minimal_schema() -> None:
    jsonschema = __import__("pytest").importorskip("jsonschema")
    region = {
        "type": "object",
        "required": ["startLine", "startColumn", "endLine", "endColumn"],
        "properties": {k: {"type": "integer", "minimum": 1} for k in ("startLine", "startColumn", "endLine", "endColumn")},
    }
    schema = {
        "type": "object",
        "required": ["version", "runs"],
        "properties": {
            "version": {"const": "2.1.0"},
            "runs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["tool", "results"],
                    "properties": {
                        "tool": {"type": "object", "required": ["driver"],
                                 "properties": {"driver": {"type": "object", "required": ["name", "rules"]}}},
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["ruleId", "message", "locations", "level"],
                                "properties": {
                                    "message": {"type": "object", "required": ["text"]},
                                    "level": {"enum": ["none", "note", "warning", "error"]},
                                    "locations": {"type": "array", "minItems": 1, "items": {
                                        "type": "object",
                                        "properties": {"physicalLocation": {
                                            "type": "object",
                                            "required": ["artifactLocation", "region"],
                                            "properties": {"region": region},
                                        }},
                                    }},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
    jsonschema.validate(json.loads(render("sarif", [make(), make(fix=False)], load_rules())), schema)


def test_github_annotations_escape_properties_and_data() -> None:
    finding = make(
        message="100% wrong,\nreally: yes\r",
        path="dir,with:odd%chars/train.py",
        severity=Severity.ERROR,
    )
    (line,) = render("github", [finding], load_rules()).splitlines()
    assert line.startswith("::error file=dir%2Cwith%3Aodd%25chars/train.py,line=3,col=5,endLine=3,endColumn=11,")
    assert "title=nnlint NN203::" in line
    assert line.endswith("::NN203 100%25 wrong,%0Areally: yes%0D")
    levels = [render("github", [make(severity=s)], {}).split(" ", 1)[0] for s in Severity]
    assert levels == ["::error", "::warning", "::notice", "::notice"]


def test_text_has_location_code_message_fix_title_and_related() -> None:
    out = render("text", [make(), make(fix=False)], load_rules())
    lines = out.splitlines()
    assert lines[0] == "pkg/train.py:3:5: NN203 msg [fix: Do it]"
    assert lines[1] == "    line 1: made here"
    assert lines[-1] == "Found 2 findings (1 fixable with `nnlint check --fix`)."
    assert render("text", [], load_rules()) == ""


def test_every_format_renders_an_empty_list() -> None:
    for name in FORMATS:
        render(name, [], load_rules())
