"""The Korean catalogs use one terminology: src/nnlint/locale/ko/glossary.tsv.

For every entry of every Korean catalog (both domains: ``nnlint`` messages and
``nnlint-docs`` rule texts, whichever .po files exist), when the English msgid uses a glossary
term (whole word, any case, plural included, outside `code` and not part of a hyphenated
compound such as "with-logits"), the Korean msgstr must contain
the glossary's Korean term. Longer terms win: "gradient clipping" is checked as itself, not
again as "gradient", and "batch norm" not again as "batch".
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

babel_pofile = pytest.importorskip("babel.messages.pofile", reason="the catalog tests need Babel (pip install babel)")

from nnlint.i18n import LOCALE_DIR  # noqa: E402

GLOSSARY = LOCALE_DIR / "ko" / "glossary.tsv"
KO_CATALOGS = sorted((LOCALE_DIR / "ko" / "LC_MESSAGES").glob("*.po"))
_CODE_SPAN = re.compile(r"`[^`]*`")  # may run over a line break
_PLACEHOLDER = re.compile(r"\{\w+\}")
# Code written without backticks (summaries and fix titles are plain text): dotted names,
# calls and keyword arguments such as model.eval, softmax(dim=0), shuffle=True.
_BARE_CODE = re.compile(r"\w+(?:\.\w+)+(?:\([^)]*\))?|\w+\([^)]*\)|\w+=[\w.]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    english: str
    korean: str
    pattern: re.Pattern[str]


def load_glossary(path: Path = GLOSSARY) -> list[Term]:
    """The glossary's terms, longest English term first (the order the check masks them in)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header, body = rows[0], rows[1:]
    assert header == ["english", "korean", "note"], f"{path.name}: header must be english, korean, note"
    terms = []
    for number, row in enumerate(body, 2):
        assert len(row) == 3, f"{path.name}:{number}: expected 3 tab-separated columns, got {row!r}"
        english, korean, _note = (cell.strip() for cell in row)
        assert english and korean, f"{path.name}:{number}: empty term"
        # whole words, singular or plural ("gradients", "batches"), any case; a hyphenated
        # compound is a term of its own ("with-logits", "batch-first"), not this word
        pattern = re.compile(rf"(?<![\w-]){re.escape(english)}(?:s|es)?(?![\w-])", re.IGNORECASE)
        terms.append(Term(english, korean, pattern))
    return sorted(terms, key=lambda term: -len(term.english))


def prose(msgid: str) -> str:
    """The msgid without its code and placeholders (glossary terms there are code, not words),
    on one line: a term may be wrapped over a line break."""
    text = _BARE_CODE.sub(" ", _PLACEHOLDER.sub(" ", _CODE_SPAN.sub(" ", msgid)))
    return _SPACE.sub(" ", text)


def missing_terms(msgid: str, msgstr: str, terms: list[Term]) -> list[Term]:
    """The glossary terms the English text uses whose Korean term the translation lacks."""
    text = prose(msgid)
    translation = _SPACE.sub(" ", msgstr)
    missing = []
    for term in terms:
        if term.pattern.search(text) is None:
            continue
        if term.korean not in translation:
            missing.append(term)
        # a longer term covers its parts: mask it before the shorter terms are looked for
        text = term.pattern.sub(lambda found: " " * len(found.group()), text)
    return missing


def _violations(path: Path, terms: list[Term]) -> list[str]:
    with path.open("rb") as handle:
        catalog = babel_pofile.read_po(handle)
    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue  # the header; untranslated entries are the completeness tests' business
        msgids = message.id if isinstance(message.id, tuple) else (message.id,)
        msgstrs = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, msgstr in zip(msgids, msgstrs):
            for term in missing_terms(msgid, msgstr, terms):
                first_line = msgid.splitlines()[0][:70]
                problems.append(f"{path.name}: {first_line!r}: {term.english!r} must be {term.korean!r}")
    return problems


def test_glossary_is_well_formed_and_has_the_agreed_terms():
    terms = {term.english: term.korean for term in load_glossary()}
    assert len(terms) == len(load_glossary()), "an English term is listed twice"
    agreed = {
        "logits": "로짓", "softmax": "소프트맥스", "optimizer": "옵티마이저", "gradient": "그래디언트",
        "evaluation mode": "평가 모드", "training mode": "학습 모드", "fine-tuning": "미세 조정",
        "batch normalization": "배치 정규화", "batch norm": "배치 정규화", "loss": "손실",
        "learning rate": "학습률", "dropout": "드롭아웃",
    }
    for english, korean in agreed.items():
        assert terms.get(english) == korean, f"glossary: {english!r} should be {korean!r}"


def test_there_is_a_korean_catalog_to_check():
    assert any(path.name == "nnlint-docs.po" for path in KO_CATALOGS), KO_CATALOGS


@pytest.mark.parametrize("path", KO_CATALOGS, ids=lambda path: path.name)
def test_translations_use_the_glossary_terms(path):
    problems = _violations(path, load_glossary())
    assert not problems, f"{len(problems)} translations do not use the glossary term:\n  " + "\n  ".join(problems)


def test_the_check_catches_a_wrong_term_and_ignores_code():
    terms = load_glossary()
    # 기울기 is a correct word, but not the glossary's term for gradient
    wrong = missing_terms("Clears the gradients of the optimizer.", "옵티마이저의 기울기를 지웁니다.", terms)
    assert [term.english for term in wrong] == ["gradient"]
    assert not missing_terms("Clears the gradients.", "그래디언트를 지웁니다.", terms)
    # code stays English: `F.softmax` is an identifier, not the word softmax
    assert not missing_terms("Calls `F.softmax` here.", "여기서 `F.softmax`를 호출합니다.", terms)
    assert not missing_terms("Pass shuffle=True to optimizer.step()", "shuffle=True와 optimizer.step() 전달", terms)
    assert not missing_terms("Use the with-logits form.", "with-logits 형태를 사용합니다.", terms)
    # a term wrapped over a line break, in either language, is still the term
    assert not missing_terms("stays in training\nmode", "학습\n모드로 남습니다", terms)
    # the longer term is required, and the shorter one it contains is not asked for again
    assert [t.english for t in missing_terms("Batch norm layers.", "BN 레이어.", terms)] == ["batch norm"]
    assert not missing_terms("Batch norm layers.", "배치 정규화 레이어.", terms)
