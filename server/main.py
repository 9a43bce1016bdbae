"""`nnlint server`: start the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import sys


def _configure_logging(log_file: str | None, verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler: logging.Handler
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)  # stdout carries the protocol
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pygls logs every message at debug level; keep it quieter unless asked twice.
    logging.getLogger("pygls").setLevel(level if verbose >= 3 else max(level, logging.INFO))


def start(args: argparse.Namespace) -> int:
    _configure_logging(getattr(args, "log_file", None), getattr(args, "verbose", 0) or 0)
    from .app import create_server

    server = create_server()
    from nnlint.runtime import tune_gc

    # Every analysis allocates a whole AST; with the default collector thresholds the
    # long-lived objects are rescanned over and over (about a third of an analysis).
    tune_gc()
    tcp = getattr(args, "tcp", None)
    if tcp:
        host, _, port = tcp.rpartition(":")
        try:
            port_number = int(port)
        except ValueError:
            print(f"nnlint server: --tcp expects HOST:PORT, got {tcp!r}", file=sys.stderr)
            return 2
        server.start_tcp(host or "127.0.0.1", port_number)
        return 0
    from .transport import serve_stdio

    return serve_stdio(server)
