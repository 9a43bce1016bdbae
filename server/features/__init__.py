"""One module per LSP feature. Each has `register(server)`, which registers its handlers on
the server; a handler only unpacks its params and delegates (to the server's scheduling
and configuration, or to a function of the module)."""
