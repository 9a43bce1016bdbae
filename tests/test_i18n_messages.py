"""The `nnlint` gettext domain: finding messages, related-line notes, check-time fix titles and
the server's interface strings, in English (the msgids) and Korean.

- the catalog is complete (no missing, empty or fuzzy Korean entry, the same placeholders);
- the template (.pot) is what a fresh `pybabel extract` gives, and the .mo is what compiling the
  .po gives (nothing stale);
- every finding on the shared corpus and the examples: its English message is its template
  formatted with its arguments, every template it uses is in the catalog, and the Korean text
  is the translated template with the same arguments;
- the CLI: `--lang en` is the default output, `--lang ko` and LANG=ko_KR.UTF-8 speak Korean,
  json and sarif keep the English message and add the localised one.
"""

from __future__ import annotations

import io
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from nnlint.config import Settings
from nnlint.engine import check_source
from nnlint.findings import Finding
from nnlint.i18n import DOCS_DOMAIN, LOCALE_DIR, MESSAGES_DOMAIN, from_environment, translate
from nnlint.message import Message, t

ROOT = Path(__file__).resolve().parents[1]
POT = LOCALE_DIR / "nnlint.pot"
PO = LOCALE_DIR / "ko" / "LC_MESSAGES" / "nnlint.po"
MO = LOCALE_DIR / "ko" / "LC_MESSAGES" / "nnlint.mo"
EXAMPLES = ROOT / "examples"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# a clean environment for the CLI: no language asked for unless a test says so
NO_LANG_ENV = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}


def _catalog(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _extract(tmp_path: Path) -> Catalog:
    """What `pybabel extract` gives today, with the options of scripts/i18n-messages.sh."""
    out = tmp_path / "fresh.pot"
    cwd = os.getcwd()
    os.chdir(ROOT)  # the mapping's patterns are relative to the extraction root
    try:
        CommandLineInterface().run([
            "pybabel", "-q", "extract", "-F", "babel/nnlint.cfg", "-k", "t", "--no-default-keywords",
            "--no-location", "--omit-header", "--sort-output", "-o", str(out), ".",
        ])
    finally:
        os.chdir(cwd)
    return _catalog(out)


# ------------------------------------------------------------------ the catalog files
def test_every_msgid_has_a_korean_entry() -> None:
    template, korean = _catalog(POT), _catalog(PO)
    problems = []
    for message in template:
        if not message.id:
            continue
        entry = korean.get(message.id)
        if entry is None or not entry.string:
            problems.append(f"missing: {message.id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif _fields(entry.string) != _fields(message.id):
            problems.append(f"placeholders differ: {message.id!r} -> {entry.string!r}")
    assert not problems, "\n".join(problems)
    obsolete = [m.id for m in korean if m.id and m.id not in template]
    assert not obsolete, f"entries no longer in the template: {obsolete}"


def test_template_is_what_a_fresh_extraction_gives(tmp_path: Path) -> None:
    committed, fresh = _catalog(POT), _extract(tmp_path)
    ids = sorted(m.id for m in committed if m.id)
    fresh_ids = sorted(m.id for m in fresh if m.id)
    assert ids == fresh_ids, (
        "src/nnlint/locale/nnlint.pot is stale: run scripts/i18n-messages.sh "
        f"(new: {sorted(set(fresh_ids) - set(ids))[:5]}, gone: {sorted(set(ids) - set(fresh_ids))[:5]})"
    )


def test_compiled_catalog_is_what_compiling_the_po_gives() -> None:
    buffer = io.BytesIO()
    write_mo(buffer, _catalog(PO), use_fuzzy=False)
    assert MO.read_bytes() == buffer.getvalue(), "nnlint.mo is stale: run scripts/i18n-messages.sh compile"


def test_a_catalog_missing_an_entry_is_caught(tmp_path: Path) -> None:
    """The completeness check bites: a copy of the catalog without one entry, or with one
    fuzzy, is reported (the same comparison the test above makes)."""
    template, korean = _catalog(POT), _catalog(PO)
    victim = next(m.id for m in template if m.id)
    del korean[victim]
    assert korean.get(victim) is None
    fuzzy = _catalog(PO)
    fuzzy[victim].flags.add("fuzzy")
    assert fuzzy[victim].fuzzy
    buffer = io.BytesIO()
    write_mo(buffer, fuzzy, use_fuzzy=False)
    assert buffer.getvalue() != MO.read_bytes()  # a fuzzy entry is left out of the .mo


# --------------------------------------------------------------------- the messages
def _templates(message: Message) -> list[Message]:
    found = [message]
    for _, value in message.args:
        if isinstance(value, Message):
            found += _templates(value)
    return found


def _english(message: Message) -> str:
    values = {k: _english(v) if isinstance(v, Message) else v for k, v in message.args}
    return message.template.format(**values)


def _checked_files(corpus: Path) -> list[Path]:
    files = sorted(corpus.rglob("*.py")) + sorted(EXAMPLES.rglob("*.py"))
    return [f for f in files if f.is_file()]


@pytest.fixture(scope="module")
def corpus_findings(shared_corpus: Path) -> list[Finding]:
    settings = Settings(select=("NN",))
    findings = []
    for path in _checked_files(shared_corpus):
        text = path.read_text(encoding="utf-8", errors="replace")
        findings += check_source(text, str(path), settings).findings
    assert len(findings) > 50
    return findings


@pytest.fixture(scope="module")
def shared_corpus() -> Path:
    """The whole shared corpus: the labeled cases and the real-code shapes."""
    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    return CORPUS.parent


def test_every_english_message_is_its_template_formatted(corpus_findings: list[Finding]) -> None:
    msgids = {m.id for m in _catalog(POT) if m.id}
    untranslatable, wrong, unknown = [], [], []
    for finding in corpus_findings:
        pieces = [(finding.message, finding.text)]
        pieces += [(rel.message, rel.text) for rel in finding.related]
        if finding.fix is not None:
            pieces.append((finding.fix.title, finding.fix.text))
        for english, text in pieces:
            if text is None:
                untranslatable.append(f"{finding.code}: {english}")
                continue
            if _english(text) != english:
                wrong.append(f"{finding.code}: {english!r} != {_english(text)!r}")
            for template in _templates(text):
                if template.domain == MESSAGES_DOMAIN and template.template not in msgids | {"{left}{right}"}:
                    unknown.append(f"{finding.code}: {template.template!r}")
    assert not untranslatable, "English-only text:\n" + "\n".join(untranslatable[:20])
    assert not wrong, "\n".join(wrong[:20])
    assert not unknown, "templates missing from nnlint.pot:\n" + "\n".join(sorted(set(unknown)))


def test_korean_message_is_the_translated_template_with_the_same_arguments(corpus_findings: list[Finding]) -> None:
    seen = 0
    for finding in corpus_findings:
        text = finding.text
        assert text is not None
        korean = finding.localized_message("ko")
        if text.template == "{left}{right}":
            continue
        values = {k: v.render("ko") if isinstance(v, Message) else v for k, v in text.args}
        assert korean == translate(text.template, "ko", MESSAGES_DOMAIN).format(**values)
        assert HANGUL.search(korean), korean
        for value in values.values():
            assert str(value) in korean  # every argument (names, lines, code) is kept
        for rel in finding.related:
            assert HANGUL.search(rel.localized("ko")) or rel.localized("ko") == rel.message
        seen += 1
    assert seen > 50


def test_fix_titles_made_from_a_rule_template_use_the_docs_domain(corpus_findings: list[Finding]) -> None:
    """`fix_title` class attributes belong to the `nnlint-docs` domain (their catalog is the
    rule documentation's); the title made from one keeps that domain and its arguments."""
    titles = [f.fix.text for f in corpus_findings if f.fix is not None and f.fix.text is not None]
    docs = [t for t in titles if t.domain == DOCS_DOMAIN]
    assert docs and all(t.render("en") == t.template.format(**dict(t.args)) for t in docs)


def test_message_concatenation_and_serialisation_keep_the_english_text() -> None:
    message = t("`{name}` is created here", name="opt") + t(" (the kind of `{name}` is not proven here)", name="x")
    assert message.render() == "`opt` is created here (the kind of `x` is not proven here)"
    assert "여기서 만들어집니다" in message.render("ko") and "입증되지" in message.render("ko")
    assert Message.from_data(json.loads(json.dumps(message.to_data()))) == message
    assert f"{t('line {line}', line=3)}" == "line 3"  # an f-string gets the English text


def test_a_broken_translation_falls_back_to_english() -> None:
    message = Message("`{name}` is created here", (("name", "opt"),))
    assert message.render("ko") == "`opt`이(가) 여기서 만들어집니다"
    # an argument the translation names but the code does not give: the English text, not a crash
    odd = Message("this loop never clears the gradients", (("unused", 1),))
    assert odd.render("ko")


# ------------------------------------------------------------------------------ CLI
def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nnlint", *args], capture_output=True, text=True, encoding="utf-8",
        env={**NO_LANG_ENV, "PYTHONIOENCODING": "utf-8", **(env or {})}, timeout=300,
    )


@pytest.mark.parametrize("fmt", ["json", "text", "sarif"])
def test_lang_en_is_the_default_output(fmt: str, shared_corpus: Path) -> None:
    common = ["check", "--format", fmt, "--select", "NN", "--no-cache", "--exit-zero", "--jobs", "1"]
    for target in (str(shared_corpus), str(EXAMPLES)):
        default = _cli(*common, target)
        english = _cli(*common, "--lang", "en", target)
        assert default.returncode == english.returncode == 0, default.stderr
        assert english.stdout == default.stdout
        assert default.stdout.strip()


def test_lang_ko_text_output_is_korean() -> None:
    result = _cli("check", "--no-cache", "--exit-zero", "--lang", "ko", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    assert "진단" in result.stdout and "찾았습니다" in result.stdout  # the summary
    assert re.search(r"^    \d+행: ", result.stdout, re.MULTILINE)  # related lines
    findings = [line for line in result.stdout.splitlines() if re.match(r"\S+:\d+:\d+: NN\d{3} ", line)]
    assert findings and all(HANGUL.search(line) for line in findings)


def test_lang_from_the_environment() -> None:
    assert from_environment({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert from_environment({"LANG": "ko_KR.UTF-8", "LC_ALL": "C"}) == "en"  # LC_ALL wins
    korean = _cli("check", "--no-cache", "--exit-zero", str(EXAMPLES), env={"LANG": "ko_KR.UTF-8"})
    assert HANGUL.search(korean.stdout)
    english = _cli("check", "--no-cache", "--exit-zero", "--lang", "en", str(EXAMPLES), env={"LANG": "ko_KR.UTF-8"})
    assert not HANGUL.search(english.stdout)  # --lang beats the environment


def test_json_keeps_english_and_adds_the_localised_message() -> None:
    english = json.loads(_cli("check", "--format", "json", "--no-cache", "--exit-zero", str(EXAMPLES)).stdout)
    korean = json.loads(_cli("check", "--format", "json", "--no-cache", "--exit-zero", "--lang", "ko",
                             str(EXAMPLES)).stdout)
    assert english and len(english) == len(korean)
    assert all("localized_message" not in f for f in english)
    for en, ko in zip(english, korean):
        assert ko.pop("localized_message") != en["message"]
        for rel in ko["related"]:
            assert HANGUL.search(rel.pop("localized_message"))
        if ko["fix"] is not None:
            assert ko["fix"].pop("localized_message")
        assert ko == en  # everything else is the English output


def test_sarif_puts_the_localised_message_in_the_property_bag() -> None:
    korean = json.loads(_cli("check", "--format", "sarif", "--no-cache", "--exit-zero", "--lang", "ko",
                             str(EXAMPLES)).stdout)
    results = korean["runs"][0]["results"]
    assert results
    for result in results:
        message = result["message"]
        assert not HANGUL.search(message["text"])
        assert HANGUL.search(message["properties"]["localizedText"]) and message["properties"]["language"] == "ko"
        for related in result.get("relatedLocations", []):
            assert HANGUL.search(related["message"]["properties"]["localizedText"])


def test_unknown_language_is_a_usage_error() -> None:
    result = _cli("check", "--lang", "fr", str(EXAMPLES))
    assert result.returncode == 2
    assert "--lang" in result.stderr and "invalid choice" in result.stderr


def test_help_documents_the_language_choice() -> None:
    result = _cli("check", "--help")
    assert "--lang {en,ko}" in result.stdout and "LANG" in result.stdout


def test_korean_sarif_matches_the_official_schema() -> None:
    """The property bags that carry the Korean text are valid SARIF 2.1.0."""
    from test_sarif_schema import _official_schema, _validator

    validator = _validator(_official_schema())
    log = json.loads(_cli("check", "--format", "sarif", "--no-cache", "--exit-zero", "--lang", "ko", str(EXAMPLES)).stdout)
    assert log["runs"][0]["results"]
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:20])
