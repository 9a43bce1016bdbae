import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  PROBE_SCRIPT,
  SAFE_PATH,
  SERVER_SCRIPT,
  ResolveInput,
  RunResult,
  ServerCommand,
  candidates,
  installCommand,
  resolveServer,
} from "../src/resolve";

const base: ResolveInput = { path: [], interpreter: [], importStrategy: "fromEnvironment", platform: "linux" };

const ok = (version = "0.1.0", executable = "/venv/bin/python"): RunResult => ({
  exitCode: 0,
  stdout: JSON.stringify({ version, missing: [], executable }) + "\n",
  stderr: "",
});
const noModule: RunResult = {
  exitCode: 1,
  stdout: "",
  stderr: "Traceback (most recent call last):\n  File \"<string>\", line 2\nModuleNotFoundError: No module named 'nnlint'\n",
};
const notFound: RunResult = { exitCode: null, stdout: "", stderr: "", spawnError: "ENOENT: spawn python3 ENOENT" };

/** A fake runner: answers by the program name, and records what was run. */
function runner(answers: Record<string, RunResult>) {
  const calls: ServerCommand[] = [];
  const run = async (command: ServerCommand) => {
    calls.push(command);
    return answers[command.command] ?? notFound;
  };
  return { run, calls };
}

describe("candidates", () => {
  test("nnlint.path wins over everything and is the only candidate", () => {
    const r = candidates({ ...base, path: ["/bin/nnlint"], interpreter: ["/py"], pythonExtension: ["/ext/py"] });
    assert.deepEqual(r.candidates.map((c) => c.source), ["nnlint.path"]);
  });

  test("nnlint.interpreter wins over the Python extension", () => {
    const r = candidates({ ...base, interpreter: ["/py"], pythonExtension: ["/ext/py"] });
    assert.deepEqual(r.candidates.map((c) => [c.source, c.command]), [["nnlint.interpreter", ["/py"]]]);
  });

  test("automatic: the Python extension's environment, then python3 on PATH", () => {
    const r = candidates({ ...base, pythonExtension: ["/ext/py"] });
    assert.deepEqual(r.candidates.map((c) => [c.source, c.command]), [
      ["python-extension", ["/ext/py"]],
      ["PATH", ["python3"]],
    ]);
    assert.deepEqual(candidates({ ...base, platform: "win32" }).candidates[0].command, ["python"]);
  });

  test("useBundled falls back to fromEnvironment with a log line", () => {
    const r = candidates({ ...base, importStrategy: "useBundled" });
    assert.match(r.log.join("\n"), /useBundled.*bundles no nnlint.*using fromEnvironment/);
    assert.deepEqual(r.candidates.map((c) => c.source), ["PATH"]);
  });
});

describe("the working directory cannot shadow nnlint", () => {
  test("both scripts drop the working directory before importing anything", () => {
    for (const script of [SERVER_SCRIPT, PROBE_SCRIPT]) {
      const lines = script.split("\n");
      assert.equal(lines[0], SAFE_PATH);
      assert.ok(lines.slice(1).some((line) => /nnlint/.test(line)));
    }
    assert.match(SERVER_SCRIPT, /runpy\.run_module\('nnlint', run_name='__main__', alter_sys=True\)/);
  });
});

describe("resolveServer", () => {
  test("interpreter with nnlint: runs nnlint's __main__ without the working directory on the import path", async () => {
    const { run, calls } = runner({ "/venv/bin/python": ok("0.3.0") });
    const r = await resolveServer({ ...base, interpreter: ["/venv/bin/python"] }, run);
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.deepEqual(r.server, { command: "/venv/bin/python", args: ["-c", SERVER_SCRIPT, "server"] });
    assert.equal(r.version, "0.3.0");
    assert.deepEqual(calls, [{ command: "/venv/bin/python", args: ["-c", PROBE_SCRIPT] }]);
  });

  test("interpreter given as a command with arguments keeps them", async () => {
    const { run } = runner({ py: ok() });
    const r = await resolveServer({ ...base, interpreter: ["py", "-3.11"] }, run);
    assert.equal(r.ok, true);
    if (r.ok) assert.deepEqual(r.server, { command: "py", args: ["-3.11", "-c", SERVER_SCRIPT, "server"] });
  });

  test("nnlint.path: checked with --version, started with `server`", async () => {
    const { run, calls } = runner({ "/bin/nnlint": { exitCode: 0, stdout: "nnlint 0.1.0\n", stderr: "" } });
    const r = await resolveServer({ ...base, path: ["/bin/nnlint"] }, run);
    assert.equal(r.ok, true);
    if (r.ok) assert.deepEqual(r.server, { command: "/bin/nnlint", args: ["server"] });
    assert.deepEqual(calls[0].args, ["--version"]);
  });

  test("an explicit interpreter without nnlint never falls back, and names the pip command", async () => {
    const { run, calls } = runner({ "/venv/bin/python": noModule, python3: ok() });
    const r = await resolveServer({ ...base, interpreter: ["/venv/bin/python"], pythonExtension: ["/x"] }, run);
    assert.equal(r.ok, false);
    assert.equal(calls.length, 1);
    if (r.ok) return;
    assert.equal(r.installCommand, "/venv/bin/python -m pip install \"git+https://github.com/nnlint/nnlint\"");
    assert.match(r.message, /interpreter "\/venv\/bin\/python" from nnlint.interpreter does not have nnlint installed/);
    assert.match(r.message, /Install it with: \/venv\/bin\/python -m pip install "git\+https:\/\/github\.com\/nnlint\/nnlint" \(or, in a checkout of nnlint: \/venv\/bin\/python -m pip install \.\)/);
  });

  test("automatic: the Python extension's environment lacks nnlint, python3 has it", async () => {
    const { run } = runner({ "/ext/py": noModule, python3: ok("0.1.0", "/usr/bin/python3") });
    const r = await resolveServer({ ...base, pythonExtension: ["/ext/py"] }, run);
    assert.equal(r.ok, true);
    if (!r.ok) return;
    assert.equal(r.candidate.source, "PATH");
    assert.deepEqual(r.server, { command: "python3", args: ["-c", SERVER_SCRIPT, "server"] });
    assert.match(r.log.join("\n"), /selected interpreter "\/ext\/py" does not have nnlint installed/);
  });

  test("none has nnlint: one message, pip command for the first Python that exists", async () => {
    const { run } = runner({ "/ext/my env/python": noModule, python3: noModule });
    const r = await resolveServer({ ...base, pythonExtension: ["/ext/my env/python"] }, run);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.installCommand, '"/ext/my env/python" -m pip install "git+https://github.com/nnlint/nnlint"');
    assert.match(r.message, /no Python with nnlint installed was found/);
    assert.match(r.message, /pip install "git\+https:\/\/github\.com\/nnlint\/nnlint"/);
  });

  test("no Python at all: plain pip command", async () => {
    const { run } = runner({});
    const r = await resolveServer(base, run);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.message, /"python3" on PATH was not found/);
    assert.equal(r.installCommand, "python3 -m pip install \"git+https://github.com/nnlint/nnlint\"");
  });

  test("nnlint installed without its server dependencies is reported as incomplete", async () => {
    const { run } = runner({
      "/py": { exitCode: 0, stdout: JSON.stringify({ version: "0.1.0", missing: ["pygls"] }), stderr: "" },
    });
    const r = await resolveServer({ ...base, interpreter: ["/py"] }, run);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.message, /is incomplete \(nnlint 0.1.0 is installed but cannot import pygls\)/);
  });

  test("a broken nnlint.path command is reported with its error", async () => {
    const { run } = runner({ "/bin/nnlint": { exitCode: 2, stdout: "", stderr: "boom\nImportError: bad\n" } });
    const r = await resolveServer({ ...base, path: ["/bin/nnlint"] }, run);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.match(r.message, /command "\/bin\/nnlint" from nnlint.path failed \(ImportError: bad\)/);
    assert.match(r.message, /fix nnlint.path/);
    assert.equal(r.installCommand, 'pip install "git+https://github.com/nnlint/nnlint"');
  });

  test("installCommand quotes what needs quoting", () => {
    assert.equal(installCommand(undefined), 'pip install "git+https://github.com/nnlint/nnlint"');
    assert.equal(
      installCommand({ source: "nnlint.interpreter", command: ["C:\\Program Files\\Python\\python.exe"], explicit: true }),
      '"C:\\\\Program Files\\\\Python\\\\python.exe" -m pip install "git+https://github.com/nnlint/nnlint"',
    );
  });
});
