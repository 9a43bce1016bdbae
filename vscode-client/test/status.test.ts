import assert from "node:assert/strict";
import { test } from "node:test";

import { statusView } from "../src/status";

test("status bar: one look per state, the log one click away", () => {
  assert.match(statusView("starting").text, /loading~spin/);
  assert.match(statusView("ready", "nnlint 0.1.0").tooltip, /ready\nnnlint 0.1.0/);
  assert.equal(statusView("ready").background, undefined);
  assert.equal(statusView("error", "no nnlint").background, "error");
  assert.match(statusView("error").text, /\$\(error\)/);
  assert.equal(statusView("stopped").background, "warning");
  for (const state of ["starting", "ready", "error", "stopped"] as const) {
    assert.match(statusView(state).tooltip, /show the log/);
  }
});
