-- Drive the nnlint language server from a real Neovim (0.7.2, headless), set up by the
-- Neovim 0.7 snippet of docs/editors.md (NNLINT_SNIPPET, extracted by tests/e2e/test_neovim.py;
-- its `nnlint server` is the nnlint on PATH):
--   NNLINT_SNIPPET=snippet.lua NNLINT_OUT=out.json nvim --headless -u tests/e2e/nvim/init.lua train.py
-- Waits for the snippet's client to attach and publish diagnostics, hovers the first one, asks
-- for its code actions, applies the preferred quick fix, waits for the re-check, and writes
-- everything to NNLINT_OUT as JSON. Exits 0 when the run completed (pytest judges the
-- content), 1 on any failure.

local snippet = os.getenv("NNLINT_SNIPPET")
local out_path = os.getenv("NNLINT_OUT") or "nnlint-nvim.json"
local timeout = tonumber(os.getenv("NNLINT_TIMEOUT_MS") or "30000")

vim.o.swapfile = false
vim.o.shada = ""

local function write_out(data)
  local file = assert(io.open(out_path, "w"))
  file:write(vim.fn.json_encode(data))
  file:close()
end

local function fail(message)
  write_out({ error = message })
  vim.cmd("cquit 1")
end

local function lsp_of(diagnostic)
  return (diagnostic.user_data and diagnostic.user_data.lsp) or {}
end

local function dump(diagnostics)
  local items = {}
  for _, d in ipairs(diagnostics) do
    local lsp = lsp_of(d)
    table.insert(items, {
      lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col,
      message = d.message, source = d.source, severity = d.severity,
      code = d.code or lsp.code,
      href = lsp.codeDescription and lsp.codeDescription.href or vim.NIL,
      related = lsp.relatedInformation and #lsp.relatedInformation or 0,
    })
  end
  return items
end

local function nnlint_client(bufnr)
  for id, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == "nnlint" then
      return id
    end
  end
  return nil
end

local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id
  if not vim.wait(timeout, function()
    client_id = nnlint_client(bufnr)
    return client_id ~= nil
  end, 50) then
    return fail("the documented set-up attached no nnlint client to " .. vim.api.nvim_buf_get_name(bufnr))
  end

  if not vim.wait(timeout, function() return #vim.diagnostic.get(bufnr) > 0 end, 50) then
    return fail("no diagnostics within " .. timeout .. " ms")
  end
  local diagnostics = vim.diagnostic.get(bufnr)
  local first = diagnostics[1]
  local client = vim.lsp.get_client_by_id(client_id)
  local encoding = client.offset_encoding or "utf-16"
  local uri = vim.uri_from_bufnr(bufnr)

  local hover = vim.lsp.buf_request_sync(bufnr, "textDocument/hover", {
    textDocument = { uri = uri },
    position = { line = first.lnum, character = first.col + 2 },
  }, 10000)
  local hover_text = vim.NIL
  for _, response in pairs(hover or {}) do
    if response.result and response.result.contents then
      hover_text = response.result.contents.value or response.result.contents
    end
  end

  -- what vim.lsp.buf.code_action() sends in 0.7: the line's diagnostics in LSP form
  local line_diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, first.lnum)
  if #line_diagnostics == 0 then
    return fail("no LSP diagnostics on line " .. first.lnum)
  end
  local actions_response = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", {
    textDocument = { uri = uri },
    range = line_diagnostics[1].range,
    context = { diagnostics = line_diagnostics },
  }, 10000)
  local titles, preferred = {}, nil
  for _, response in pairs(actions_response or {}) do
    for _, action in ipairs(response.result or {}) do
      table.insert(titles, action.title)
      if action.isPreferred and not preferred then
        preferred = action
      end
    end
  end
  if not preferred then
    return fail("no preferred quick fix among: " .. table.concat(titles, " | "))
  end
  vim.lsp.util.apply_workspace_edit(preferred.edit, encoding)

  local cleared = vim.wait(timeout, function() return #vim.diagnostic.get(bufnr) == 0 end, 50)
  write_out({
    encoding = encoding,
    diagnostics = dump(diagnostics),
    hover = hover_text,
    actions = titles,
    applied = preferred.title,
    cleared = cleared,
    diagnostics_after = dump(vim.diagnostic.get(bufnr)),
    text_after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n"),
  })
  vim.lsp.stop_client(client_id)
  vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 50)
  vim.cmd("qall!")
end

-- The documented set-up, exactly as a user's init.lua would carry it: it registers its
-- FileType autocommand before train.py is loaded.
if not snippet then
  write_out({ error = "NNLINT_SNIPPET is not set" })
  vim.cmd("cquit 1")
end
dofile(snippet)

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    local ok, err = pcall(run)
    if not ok then
      fail("lua error: " .. tostring(err))
    end
  end,
})
