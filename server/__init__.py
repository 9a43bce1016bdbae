"""The nnlint language server: a thin LSP front end over `nnlint.engine`.

Modules:
- `main`: `start(args)`, called by `nnlint server`.
- `app`: `create_server()`, the server with every feature's handlers registered.
- `core`: `NnlintServer`, its state and shared helpers; its behaviour by concern in the
  mixins `configuration` (settings), `crossfile` (project indexes) and `scheduling`
  (debounce, analysis off the loop, staleness).
- `features/`: one module per LSP feature (lifecycle, documents, notebooks, diagnostics,
  hover, code_actions, code_lens, commands, workspace), each with `register(server)`.
- `state`: what is kept per open document and notebook.
- `capabilities`: the client's capabilities, resolved once at initialize.
- `analysis`: the work done in the analysis pool (engine call, conversion, fix verification).
- `notebooks`: notebook documents (cells -> one program -> results per cell; lenses).
- `convert`: engine findings <-> LSP types (positions through pygls' codec, made fast),
  and the typed data a diagnostic carries.
- `pygls_adapter`: every use of pygls' private members.
- `transport`: hardened stdio framing and JSON-RPC errors, exit codes, client-death watch.
- `settings`: editor settings parsed into typed dataclasses, merged with [tool.nnlint].
- `i18n`: the server's own UI strings (English, Korean).
- `bench`: `python -m nnlint.server.bench`.
"""
