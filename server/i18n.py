"""The server's interface strings and its choice of language.

The strings are msgids of the ``nnlint`` gettext domain (their Korean text is in
``nnlint/locale/ko/LC_MESSAGES/nnlint.po``, like every finding message); this module only
names them, so the handlers ask for ``text(lang, "fix_all")``.
"""

from __future__ import annotations

from nnlint.i18n import LANGUAGES, normalize
from nnlint.message import Message, t

_TEXTS: dict[str, Message] = {
    "related": t("Related lines"),
    "rule": t("Rule"),
    "disable_line": t("Disable for this line"),
    "fix_all": t("Fix all auto-fixable problems"),
    "default_severity": t("default severity"),
    "syntax_error": t("nnlint cannot analyse this file until it parses"),
    "fix_all_notebook": t("Fix all auto-fixable problems in the notebook"),
    "overfit_lens": t("Overfit one batch first"),
    "overfit_none": t("no training loop to check on that line any more"),
}


def language(locale: str | None) -> str:
    """'ko' for ko, ko-KR, ko_KR.UTF-8...; English otherwise."""
    return normalize(locale)


def choose(setting: str | None, locale: str | None, client_locale: str | None) -> str:
    """The language of a document's messages: the `nnlint.language` setting when it names a
    language, else the (older) `nnlint.locale` setting, else the client's `initialize` locale."""
    if setting in LANGUAGES:
        return setting  # type: ignore[return-value]
    return normalize(locale or client_locale)


def text(lang: str, key: str) -> str:
    return _TEXTS[key].render(lang)


def line_label(lang: str, number: int) -> str:
    return t("line {line}", line=number).render(lang)
