"""Which language nnlint speaks, and the gettext catalogs that hold its translations.

English is the source language: every message is written in English in the code, and that
English text is the catalog's msgid. Translations live in standard gettext catalogs under
``nnlint/locale/<lang>/LC_MESSAGES/<domain>.po`` (edited by translators, with Babel's
``pybabel`` to extract and update), compiled to the ``.mo`` files that the standard library's
:mod:`gettext` loads at run time. Two domains:

- ``nnlint``: text made while checking (finding messages, related-line notes, fix titles) and
  the server's interface strings;
- ``nnlint-docs``: each rule's static text (its documentation, summary and fix title).

A missing catalog or entry falls back to the English text, so English output never depends on
a catalog.
"""

from __future__ import annotations

import gettext as _gettext
import os
from functools import lru_cache
from pathlib import Path
from typing import Mapping

LOCALE_DIR = Path(__file__).parent / "locale"
"""Root of the catalogs: ``LOCALE_DIR/<lang>/LC_MESSAGES/<domain>.po`` and ``.mo``."""

SOURCE_LANGUAGE = "en"
LANGUAGES: tuple[str, ...] = ("en", "ko")
"""Languages nnlint speaks; ``en`` needs no catalog."""

MESSAGES_DOMAIN = "nnlint"
DOCS_DOMAIN = "nnlint-docs"
DOMAINS: tuple[str, ...] = (MESSAGES_DOMAIN, DOCS_DOMAIN)

# POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG.
_ENVIRONMENT_KEYS = ("LC_ALL", "LC_MESSAGES", "LANG")


def normalize(locale: str | None) -> str:
    """The nnlint language for a locale name: ``'ko'`` for ko, ko-KR, ko_KR.UTF-8...; else English."""
    if not locale:
        return SOURCE_LANGUAGE
    base = locale.replace("_", "-").split(".")[0].split("-")[0].strip().lower()
    return base if base in LANGUAGES else SOURCE_LANGUAGE


def from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The language the environment asks for (``LC_ALL``, then ``LC_MESSAGES``, then ``LANG``)."""
    env = os.environ if environ is None else environ
    for key in _ENVIRONMENT_KEYS:
        value = env.get(key)
        if value:
            return normalize(value)
    return SOURCE_LANGUAGE


@lru_cache(maxsize=None)
def translations(lang: str, domain: str = MESSAGES_DOMAIN) -> _gettext.NullTranslations:
    """The compiled catalog of ``domain`` in ``lang``; an identity catalog for English or when absent."""
    if lang == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(domain, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)


def translate(text: str, lang: str, domain: str = MESSAGES_DOMAIN) -> str:
    """``text`` in ``lang``, or ``text`` itself when English or untranslated."""
    if lang == SOURCE_LANGUAGE or not text:
        return text
    return translations(lang, domain).gettext(text)
