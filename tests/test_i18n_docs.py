"""The ``nnlint-docs`` catalog: every rule's summary, fix title and documentation in Korean.

- Complete: every text a rule shows (summary, fix title, each prose block of its
  documentation) and every fixed string of the rule pages has a Korean entry that is
  neither empty nor fuzzy.
- Current: the committed template is what a fresh ``pybabel extract`` gives, the Korean
  catalog has exactly the template's entries, and the committed .mo is what compiling the .po
  gives. Each of these checks is shown to fail on a catalog broken on purpose.
- Faithful: code blocks and inline code stay byte-identical; English output is unchanged.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("babel", reason="the catalog tests need Babel (pip install babel)")

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from nnlint import localized_docs  # noqa: E402
from nnlint.docs_extract import EXTRACT_ARGS, rule_messages  # noqa: E402
from nnlint.i18n import DOCS_DOMAIN, LOCALE_DIR  # noqa: E402
from nnlint.registry import load_rules  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
POT = LOCALE_DIR / f"{DOCS_DOMAIN}.pot"
PO = LOCALE_DIR / "ko" / "LC_MESSAGES" / f"{DOCS_DOMAIN}.po"
MO = PO.with_suffix(".mo")
REFRESH = (
    "run `scripts/i18n-docs.sh` (extract, merge into the .po, compile, regenerate docs/), translate "
    "the new or empty entries in the .po, then `scripts/i18n-docs.sh compile`"
)
FENCED = re.compile(r"^```.*?^```", re.S | re.M)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _read(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle)


def rule_texts() -> dict[str, str]:
    """Every text the rules show that the catalog must translate -> where it comes from."""
    texts: dict[str, str] = {}
    for code, rule in load_rules().items():
        texts.setdefault(rule.summary, f"{code} summary")
        if rule.fix_title:
            texts.setdefault(rule.fix_title, f"{code} fix_title")
        for block in localized_docs.translatable_blocks(rule.documentation()):
            texts.setdefault(block, f"{code} documentation")
    return texts


# ------------------------------------------------------------------ the checks
def untranslated(catalog: Catalog, msgids) -> list[str]:
    """The msgids with no usable translation in ``catalog``: absent, empty or fuzzy."""
    problems = []
    for msgid in msgids:
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"no entry: {msgid[:60]!r}")
        elif not message.string:
            problems.append(f"empty: {msgid[:60]!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid[:60]!r}")
    return problems


def _entries(catalog: Catalog) -> list[tuple]:
    # what a template says: ids, where they come from, the translator comments and flags
    return [
        (m.id, tuple(m.locations), tuple(m.auto_comments), tuple(sorted(m.flags)))
        for m in catalog
        if m.id
    ]


def template_differences(committed: Catalog, fresh: Catalog) -> list[str]:
    """How a committed template differs from a fresh extraction (headers and dates aside)."""
    old, new = _entries(committed), _entries(fresh)
    if old == new:
        return []
    old_ids, new_ids = {e[0] for e in old}, {e[0] for e in new}
    problems = [f"not extracted any more: {i[:60]!r}" for i in sorted(old_ids - new_ids)]
    problems += [f"new text: {i[:60]!r}" for i in sorted(new_ids - old_ids)]
    return problems or ["same texts, but their order, locations, comments or flags changed"]


def extract_template(output: Path) -> Catalog:
    """Run the documented ``pybabel extract`` from the repository root into ``output``."""
    args = list(EXTRACT_ARGS)
    args[args.index("-o") + 1] = str(output)
    result = subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return _read(output)


def compiled(catalog: Catalog) -> bytes:
    """What ``pybabel compile`` writes for ``catalog`` (fuzzy entries left out)."""
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


# --------------------------------------------------------------- completeness
def test_every_rule_text_has_a_korean_entry():
    problems = untranslated(_read(PO), rule_texts())
    assert not problems, f"{len(problems)} rule texts lack Korean ({REFRESH}):\n  " + "\n  ".join(problems)


def test_every_template_entry_is_translated_and_nothing_else_is_kept():
    template, korean = _read(POT), _read(PO)
    problems = untranslated(korean, [m.id for m in template if m.id])
    assert not problems, f"{len(problems)} entries lack Korean ({REFRESH}):\n  " + "\n  ".join(problems)
    leftovers = {m.id for m in korean if m.id} - {m.id for m in template if m.id}
    assert not leftovers, f"ko catalog has entries no longer extracted ({REFRESH}): {sorted(leftovers)[:5]}"
    assert not korean.obsolete, f"remove the obsolete (#~) entries: {list(korean.obsolete)[:5]}"


def test_translations_keep_code_and_placeholders():
    for message in _read(PO):
        if not message.id:
            continue
        for span in re.findall(r"`[^`]+`", message.id):
            assert span in message.string, f"{message.id[:50]!r}: inline code {span} changed in the translation"
        for placeholder in re.findall(r"\{\w+\}", message.id):
            assert placeholder in message.string, f"{message.id[:50]!r}: placeholder {placeholder} missing"
        if message.id.startswith("## "):
            assert message.string.startswith("## "), f"{message.id[:50]!r}: the heading must stay a heading"
        if message.id != message.string:
            assert HANGUL.search(message.string), f"{message.id[:50]!r}: the translation is not Korean"


def test_the_completeness_check_fails_on_a_missing_or_fuzzy_entry():
    korean = _read(PO)
    texts = list(rule_texts())
    assert untranslated(korean, texts) == []
    summary = load_rules()["NN301"].summary
    korean[summary].flags.add("fuzzy")
    assert untranslated(korean, texts) == [f"fuzzy: {summary[:60]!r}"]
    korean[summary].flags.discard("fuzzy")
    korean[summary].string = ""
    assert untranslated(korean, texts) == [f"empty: {summary[:60]!r}"]
    korean.delete(summary)
    assert untranslated(korean, texts) == [f"no entry: {summary[:60]!r}"]


# ------------------------------------------------------------------ freshness
def test_template_is_what_a_fresh_extraction_gives(tmp_path):
    problems = template_differences(_read(POT), extract_template(tmp_path / "fresh.pot"))
    assert not problems, f"{POT.name} is stale ({REFRESH}):\n  " + "\n  ".join(problems)


def test_the_template_check_fails_when_a_rule_text_changes(tmp_path):
    fresh = extract_template(tmp_path / "fresh.pot")
    edited = _read(POT)
    summary = load_rules()["NN101"].summary
    edited.delete(summary)
    edited.add(summary + " (edited)", auto_comments=["NN101 summary"])
    problems = template_differences(edited, fresh)
    assert f"new text: {summary[:60]!r}" in problems
    assert any(p.startswith("not extracted any more:") for p in problems)


def test_extractor_reads_each_rule_module_like_the_registry():
    """The extractor reads source, the runtime reads classes: both must see the same texts."""
    for code, rule in load_rules().items():
        source = Path(sys.modules[rule.__module__].__file__).read_text(encoding="utf-8")
        extracted = {message for _, _, message, comments in rule_messages(source) if comments[0].startswith(code)}
        expected = {rule.summary, *localized_docs.translatable_blocks(rule.documentation())}
        if rule.fix_title:
            expected.add(rule.fix_title)
        assert extracted == expected, code


def test_compiled_catalog_is_what_compiling_the_po_gives(tmp_path):
    assert MO.read_bytes() == compiled(_read(PO)), f"{MO.name} is stale: run `pybabel compile -D {DOCS_DOMAIN} -d src/nnlint/locale -l ko`"
    # and the check notices a .po edited without recompiling
    korean = _read(PO)
    summary = load_rules()["NN301"].summary
    korean[summary].string += " (수정됨)"
    assert MO.read_bytes() != compiled(korean)


# ------------------------------------------------------------------ documents
def test_markdown_blocks_give_back_every_documentation_exactly():
    for code, rule in load_rules().items():
        text = rule.documentation()
        blocks = localized_docs.markdown_blocks(text)
        assert "\n".join(block.text for block in blocks) == text, code
        for block in blocks:
            if block.text.lstrip().startswith("```"):
                assert not block.translatable and block.text.rstrip().endswith("```"), code


def test_english_is_the_rules_own_text():
    for rule in load_rules().values():
        assert localized_docs.documentation(rule, "en") == rule.documentation()
        assert localized_docs.summary(rule, "en") == rule.summary
        assert localized_docs.fix_title(rule, "en") == rule.fix_title


def test_korean_documentation_translates_prose_and_keeps_code_blocks():
    for code, rule in load_rules().items():
        english, korean = rule.documentation(), localized_docs.documentation(rule, "ko")
        assert FENCED.findall(korean) == FENCED.findall(english), f"{code}: a code block changed"
        prose = [b for b in localized_docs.markdown_blocks(korean) if b.translatable]
        assert prose and all(HANGUL.search(b.text) for b in prose), f"{code}: a block is still English"
        assert HANGUL.search(localized_docs.summary(rule, "ko")), code
        if rule.fix_title:
            assert HANGUL.search(localized_docs.fix_title(rule, "ko")), code


# ------------------------------------------------------------------------ CLI
def _nnlint(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")}
    environ.update(env)
    environ["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, "-m", "nnlint", *args], capture_output=True, text=True, encoding="utf-8", env=environ, timeout=120
    )


def test_rule_command_prints_the_korean_page_with_the_code_untouched():
    rule = load_rules()["NN301"]
    result = _nnlint("rule", "NN301", "--lang", "ko")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("# NN301 softmax-into-cross-entropy\n\n기본 심각도: error. 자동 수정: 있음.\n\n")
    assert "## 하는 일" in out and "## 왜 문제인가?" in out and "## 자동 수정" in out
    assert FENCED.findall(out) == FENCED.findall(rule.documentation())
    for block in FENCED.findall(rule.documentation()):
        assert block in out


def test_rule_command_in_english_is_unchanged():
    rules = load_rules()
    for code in ("NN301", "NN207"):
        rule = rules[code]
        expected = (
            f"# {rule.code} {rule.name}\n\n"
            f"Default severity: {rule.severity.value}. Fix: {'available' if rule.fix_title else 'none'}.\n\n"
            f"{rule.documentation()}\n"
        )
        assert _nnlint("rule", code).stdout == expected
        assert _nnlint("rule", code, "--lang", "en", LANG="ko_KR.UTF-8").stdout == expected
    listing = _nnlint("rule", "--all").stdout
    width = max(len(rule.name) for rule in rules.values())
    for code, rule in rules.items():
        fix = "fix" if rule.fix_title else "   "
        default = "" if rule.enabled_by_default else " (opt-in)"
        assert f"{code}  {rule.name:<{width}}  {rule.severity.value:<11}  {fix}  {rule.summary}{default}\n" in listing


def test_rule_command_takes_the_language_from_the_environment():
    korean = _nnlint("rule", "NN101", "--lang", "ko").stdout
    assert _nnlint("rule", "NN101", LANG="ko_KR.UTF-8").stdout == korean
    assert _nnlint("rule", "NN101", LC_MESSAGES="ko", LANG="en_US.UTF-8").stdout == korean
    # LC_ALL overrides the others
    english = _nnlint("rule", "NN101", LC_ALL="en_US.UTF-8", LANG="ko_KR.UTF-8").stdout
    assert english == _nnlint("rule", "NN101").stdout != korean
    listing = _nnlint("rule", "--all", "--lang", "ko").stdout
    assert localized_docs.summary(load_rules()["NN501"], "ko") + " (선택 규칙)" in listing


def test_rule_command_rejects_an_unknown_language():
    result = _nnlint("rule", "NN101", "--lang", "fr")
    assert result.returncode == 2
    assert "invalid choice: 'fr'" in result.stderr and result.stdout == ""


def test_korean_pages_are_the_english_pages_translated():
    """docs/ko/ has the same pages as docs/rules/, with Korean labels and the same code blocks."""
    english_dir, korean_dir = ROOT / "docs" / "rules", ROOT / "docs" / "ko"
    assert sorted(p.name for p in korean_dir.glob("*.md")) == sorted(p.name for p in english_dir.glob("*.md"))
    for code, rule in load_rules().items():
        english = (english_dir / f"{code}.md").read_text(encoding="utf-8")
        korean = (korean_dir / f"{code}.md").read_text(encoding="utf-8")
        assert f"| 코드 | `{code}` |" in korean and "## 설정" in korean and f"[English](../rules/{code}.md)" in korean
        assert f"> {localized_docs.summary(rule, 'ko')}" in korean
        assert FENCED.findall(korean) == FENCED.findall(english), f"{code}: a code block differs between the pages"
    index = (korean_dir / "README.md").read_text(encoding="utf-8")
    assert "| 코드 | 이름 | 기본 심각도 | 자동 수정 | 도입 버전 | 조용히 잘못되는 것 |" in index
