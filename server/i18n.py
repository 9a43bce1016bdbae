"""The server's own UI strings. Rule messages and documentation stay in English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "related": "Related lines",
        "rule": "Rule",
        "line": "line",
        "disable_line": "Disable for this line",
        "fix_all": "Fix all auto-fixable problems",
        "default_severity": "default severity",
        "syntax_error": "nnlint cannot analyse this file until it parses",
        "fix_all_notebook": "Fix all auto-fixable problems in the notebook",
        "overfit_lens": "Overfit one batch first",
        "overfit_none": "no training loop to check on that line any more",
    },
    "ko": {
        "related": "관련 줄",
        "rule": "규칙",
        "line": "행",
        "disable_line": "이 줄에서 비활성화",
        "fix_all": "자동으로 고칠 수 있는 문제 모두 고치기",
        "default_severity": "기본 심각도",
        "syntax_error": "이 파일은 구문 분석이 가능해질 때까지 nnlint로 분석할 수 없습니다",
        "fix_all_notebook": "노트북에서 자동으로 고칠 수 있는 문제 모두 고치기",
        "overfit_lens": "먼저 배치 하나로 과적합 확인하기",
        "overfit_none": "이 줄에는 더 이상 확인할 학습 루프가 없습니다",
    },
}


def language(locale: str | None) -> str:
    """'ko' for ko, ko-KR, ko_KR.UTF-8...; English otherwise."""
    if not locale:
        return "en"
    base = locale.replace("_", "-").split("-")[0].lower()
    return base if base in STRINGS else "en"


def text(lang: str, key: str) -> str:
    return STRINGS.get(lang, STRINGS["en"]).get(key) or STRINGS["en"][key]


def line_label(lang: str, number: int) -> str:
    return f"{number}{text(lang, 'line')}" if lang == "ko" else f"line {number}"
