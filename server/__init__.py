"""The nnlint language server: a thin LSP front end over `nnlint.engine`.

Modules:
- `main`: `start(args)`, called by `nnlint server`.
- `handlers`: the LSP handlers (documents, notebooks, diagnostics, hover, code actions, code lenses, commands).
- `notebooks`: notebook documents (cells -> one program -> results per cell; lenses).
- `convert`: engine findings <-> LSP types (positions through pygls' codec, made fast).
- `transport`: hardened stdio framing and JSON-RPC errors, exit codes, client-death watch.
- `settings`: editor settings parsed into typed dataclasses, merged with [tool.nnlint].
- `i18n`: the server's own UI strings (English, Korean).
- `bench`: `python -m nnlint.server.bench`.
"""
