"""What the server remembers per open document and per open notebook.

Only data lives here; `scheduling` fills it (analyses, staleness) and the features read it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as t

from nnlint.config import Settings
from nnlint.findings import Finding

from .notebooks import NotebookResult
from .settings import ServerSettings


@dataclass
class DocState:
    uri: str
    shown: list[t.Diagnostic] = field(default_factory=list)  # what the client sees, current coordinates
    good: list[t.Diagnostic] = field(default_factory=list)  # last results of a parsing version, shifted
    findings: list[Finding] = field(default_factory=list)
    findings_version: int | None = None
    analysed_version: int | None = None
    saved_version: int | None = None
    task: asyncio.Task | None = None
    semantic: Any = None  # the engine's index of the last parsing version (for dependencies)
    verified: dict[int, bool] = field(default_factory=dict)  # finding index -> fix verified
    verified_version: int | None = None
    text: str = ""  # the text `findings` were computed from
    notebook: str | None = None  # for a notebook cell: the notebook's URI (analysed there)
    # Every didChange counts here: a client may repeat or lower a version number, and a
    # result is only current when both the version and the revision match.
    revision: int = 0
    analysed_revision: int = -1
    findings_revision: int = -1
    running: Any = None  # the analysis of this document in the pool (one at a time)


class DocStates(dict):
    """Open documents by URI; keys unquoted as pygls' workspace keys them, so that
    `file:///a%20b.py` and `file:///a b.py` are one document. `DocState.uri` keeps the
    client's spelling for publishing."""

    def __getitem__(self, uri: str) -> Any:
        return super().__getitem__(unquote(uri))

    def __setitem__(self, uri: str, state: Any) -> None:
        super().__setitem__(unquote(uri), state)

    def __contains__(self, uri: object) -> bool:
        return isinstance(uri, str) and super().__contains__(unquote(uri))

    def get(self, uri: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(unquote(uri), default)

    def pop(self, uri: str, *default: Any) -> Any:  # type: ignore[override]
        return super().pop(unquote(uri), *default)


@dataclass
class NotebookState:
    uri: str
    task: asyncio.Task | None = None
    result: NotebookResult | None = None  # the last stored (fresh when stored) analysis
    serial: int = 0  # increases with every stored result; carried in the cells' diagnostics
    generation: int = -1
    published: dict[str, str] = field(default_factory=dict)  # unquoted cell URI -> client spelling
    verified: dict[int, bool] = field(default_factory=dict)  # program finding index -> fix verified
    verified_serial: int | None = None


@dataclass(frozen=True)
class DocConfig:
    """A document's settings: the editor's, the engine's (merged with [tool.nnlint]) and
    the language of the server's own strings."""

    editor: ServerSettings
    engine: Settings
    lang: str
