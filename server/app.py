"""`create_server()`: an `NnlintServer` with every feature's handlers registered."""

from __future__ import annotations

from .core import NnlintServer
from .features import code_actions, code_lens, commands, diagnostics, documents, hover, lifecycle, notebooks, workspace

# Registration order is the order pygls lists the capabilities in; it does not matter otherwise.
FEATURES = (lifecycle, documents, notebooks, diagnostics, hover, code_actions, code_lens, commands, workspace)


def create_server() -> NnlintServer:
    server = NnlintServer()
    for feature in FEATURES:
        feature.register(server)
    return server
