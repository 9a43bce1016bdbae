"""The editor settings keys, written twice: in Python (server/settings.py, what the server
reads) and in TypeScript (vscode-client/src/settings.ts, what the VS Code client sends and
contributes). They must agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nnlint.server.settings import EDITOR_KEYS, parse_settings

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "vscode-client"

# Keys the server reads that the VS Code client does not send, and why.
NOT_SENT_BY_VSCODE = {
    "extendSelect": "pyproject.toml's extend-select; VS Code users set `select`",
    "options": "per-rule options live in [tool.nnlint]",
    # in VS Code the interpreter chooses the program that runs the server (a client setting,
    # RESTART_KEYS), so jedi follows that environment already
    "interpreter": "a client setting in VS Code",
    "environmentPath": "another name of interpreter",
}


def typescript_list(name: str) -> list[str]:
    source = (CLIENT / "src" / "settings.ts").read_text(encoding="utf-8")
    match = re.search(rf"export const {name} = \[(.*?)\] as const;", source, re.S)
    assert match, f"{name} not found in settings.ts"
    return re.findall(r'"([A-Za-z.]+)"', match.group(1))


def test_vscode_server_keys_are_the_keys_the_server_reads() -> None:
    sent = typescript_list("SERVER_KEYS")
    assert len(sent) == len(set(sent))
    assert set(sent) | set(NOT_SENT_BY_VSCODE) == set(EDITOR_KEYS), (
        f"only in TypeScript: {sorted(set(sent) - set(EDITOR_KEYS))}; "
        f"only in Python: {sorted(set(EDITOR_KEYS) - set(sent) - set(NOT_SENT_BY_VSCODE))}"
    )
    assert not set(sent) & set(NOT_SENT_BY_VSCODE)


def test_every_server_key_vscode_sends_is_a_contributed_setting() -> None:
    package = json.loads((CLIENT / "package.json").read_text(encoding="utf-8"))
    contributed = set(package["contributes"]["configuration"]["properties"])
    for key in typescript_list("SERVER_KEYS"):
        assert f"nnlint.{key}" in contributed


@pytest.mark.parametrize("key", EDITOR_KEYS)
def test_the_parser_reads_every_listed_key(key: str) -> None:
    """A value of the wrong type for each key is reported by name: the list in Python is
    the list the parser reads, not a copy that can drift (and a bad value never raises)."""
    _, problems = parse_settings({key: {"not": "valid"}})
    assert any(f"'{key}'" in problem for problem in problems), (key, problems)
