// Which program runs the language server. No dependency on `vscode`: the extension passes in
// the settings, the Python extension's environment and a probe that runs a candidate.
//
// Order (the first that applies wins; explicit settings never fall back silently):
//   1. nnlint.path          a command; `server` is appended.
//   2. nnlint.interpreter   a Python with nnlint installed: `<python> -m nnlint server`.
//   3. the environment selected in the Python extension (when that extension is present),
//   4. python3 (python on Windows) on PATH.
// 3 and 4 are tried in turn; when none can import nnlint the result carries one message with
// the exact pip command to run.

import type { ImportStrategy } from "./settings";

export type CandidateSource = "nnlint.path" | "nnlint.interpreter" | "python-extension" | "PATH";

export interface Candidate {
  source: CandidateSource;
  /** The command and its leading arguments (a Python, or for nnlint.path the nnlint command). */
  command: string[];
  /** True when a setting named it: then a failure is reported and nothing else is tried. */
  explicit: boolean;
}

export interface ProbeResult {
  ok: boolean;
  /** nnlint's version, when ok. */
  version?: string;
  /** The interpreter's sys.executable, when known. */
  executable?: string;
  /** Why it failed: "not-found" (no such program), "no-nnlint", "missing-deps", "error". */
  reason?: "not-found" | "no-nnlint" | "missing-deps" | "error";
  detail?: string;
}

export interface ResolveInput {
  path: string[];
  interpreter: string[];
  importStrategy: ImportStrategy;
  /** The Python extension's selected interpreter (undefined: extension absent or no selection). */
  pythonExtension?: string[];
  platform: string;
}

export interface ServerCommand {
  command: string;
  args: string[];
}

export type Resolution =
  | { ok: true; candidate: Candidate; server: ServerCommand; version?: string; executable?: string; log: string[] }
  | { ok: false; message: string; installCommand: string; log: string[] };

/** Printed by a Python that can run the server: JSON with nnlint's version and what is missing. */
// `python -c` and `python -m` put the working directory (the workspace folder) first on the
// import path: an `nnlint/` folder there would run instead of the installed package. Both
// scripts drop that entry before importing anything (`-I` would also drop the user
// site-packages and PYTHONPATH; `-P` needs Python 3.11).
export const SAFE_PATH = "import sys; sys.path[:1] = [] if sys.path and sys.path[0] in ('', '.') else sys.path[:1]";

/** Runs `nnlint server` as `python -m nnlint server` would, without the working directory. */
export const SERVER_SCRIPT = [SAFE_PATH, "import runpy", "runpy.run_module('nnlint', run_name='__main__', alter_sys=True)"].join(
  "\n",
);

export const PROBE_SCRIPT = [
  SAFE_PATH,
  "import importlib.util as u, json, sys",
  "import nnlint",
  "missing = [m for m in ('pygls', 'lsprotocol', 'nnlint.server') if u.find_spec(m) is None]",
  "print(json.dumps({'version': getattr(nnlint, '__version__', '?'), 'missing': missing, 'executable': sys.executable}))",
].join("\n");

export function defaultPython(platform: string): string {
  return platform === "win32" ? "python" : "python3";
}

export function candidates(input: ResolveInput): { candidates: Candidate[]; log: string[] } {
  const log: string[] = [];
  if (input.importStrategy === "useBundled") {
    log.push(
      "nnlint.importStrategy is useBundled, but this build of the extension bundles no nnlint " +
        "(its dependencies include compiled packages); using fromEnvironment",
    );
  }
  if (input.path.length) {
    return { candidates: [{ source: "nnlint.path", command: input.path, explicit: true }], log };
  }
  if (input.interpreter.length) {
    return { candidates: [{ source: "nnlint.interpreter", command: input.interpreter, explicit: true }], log };
  }
  const list: Candidate[] = [];
  if (input.pythonExtension && input.pythonExtension.length) {
    list.push({ source: "python-extension", command: input.pythonExtension, explicit: false });
  }
  const fallback = defaultPython(input.platform);
  if (!list.some((c) => c.command.length === 1 && c.command[0] === fallback)) {
    list.push({ source: "PATH", command: [fallback], explicit: false });
  }
  return { candidates: list, log };
}

/** How to check a candidate: for a Python run the probe script, for nnlint.path `--version`. */
export function probeCommand(candidate: Candidate): ServerCommand {
  const [command, ...rest] = candidate.command;
  if (candidate.source === "nnlint.path") {
    return { command, args: [...rest, "--version"] };
  }
  return { command, args: [...rest, "-c", PROBE_SCRIPT] };
}

export function serverCommand(candidate: Candidate): ServerCommand {
  const [command, ...rest] = candidate.command;
  if (candidate.source === "nnlint.path") {
    return { command, args: [...rest, "server"] };
  }
  return { command, args: [...rest, "-c", SERVER_SCRIPT, "server"] };
}

/** What running a probe command gave. */
export interface RunResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be run at all (e.g. "ENOENT: ..."), or timed out. */
  spawnError?: string;
}

/** Interpret what the probe printed (stdout/stderr and whether it exited 0). */
export function parseProbe(candidate: Candidate, run: RunResult): ProbeResult {
  if (run.spawnError) {
    const notFound = /ENOENT|EACCES|not found/i.test(run.spawnError);
    return { ok: false, reason: notFound ? "not-found" : "error", detail: run.spawnError };
  }
  if (candidate.source === "nnlint.path") {
    const m = /nnlint\s+(\S+)/.exec(run.stdout + run.stderr);
    if (run.exitCode === 0 && m) return { ok: true, version: m[1] };
    return { ok: false, reason: "error", detail: lastLine(run.stderr || run.stdout) || `exit code ${run.exitCode}` };
  }
  if (run.exitCode !== 0) {
    if (/No module named ['"]?nnlint/.test(run.stderr)) {
      return { ok: false, reason: "no-nnlint", detail: lastLine(run.stderr) };
    }
    return { ok: false, reason: "error", detail: lastLine(run.stderr || run.stdout) || `exit code ${run.exitCode}` };
  }
  const line = run.stdout.trim().split(/\r?\n/).pop() ?? "";
  try {
    const data = JSON.parse(line) as { version?: string; missing?: string[]; executable?: string };
    if (data.missing && data.missing.length) {
      return {
        ok: false,
        reason: "missing-deps",
        version: data.version,
        executable: data.executable,
        detail: `nnlint ${data.version} is installed but cannot import ${data.missing.join(", ")}`,
      };
    }
    return { ok: true, version: data.version, executable: data.executable };
  } catch {
    return { ok: false, reason: "error", detail: `unexpected output: ${line.slice(0, 200)}` };
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split(/\r?\n/);
  return lines[lines.length - 1] ?? "";
}

function quote(arg: string): string {
  return /^[\w@%+=:,./\\-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, "\\$1")}"`;
}

/** Where pip gets nnlint: it is not on PyPI, so from its repository (in a checkout of it,
 * `-m pip install .` does the same). README.md and docs/ show the same commands. */
export const NNLINT_SOURCE = "git+https://github.com/nnlint/nnlint";

/** The exact command that installs nnlint for this candidate. */
export function installCommand(candidate: Candidate | undefined): string {
  if (!candidate || candidate.source === "nnlint.path") {
    return `pip install "${NNLINT_SOURCE}"`;
  }
  return `${candidate.command.map(quote).join(" ")} -m pip install "${NNLINT_SOURCE}"`;
}

function describe(candidate: Candidate): string {
  const cmd = candidate.command.join(" ");
  switch (candidate.source) {
    case "nnlint.path":
      return `the command "${cmd}" from nnlint.path`;
    case "nnlint.interpreter":
      return `the interpreter "${cmd}" from nnlint.interpreter`;
    case "python-extension":
      return `the Python extension's selected interpreter "${cmd}"`;
    default:
      return `"${cmd}" on PATH`;
  }
}

function why(result: ProbeResult): string {
  switch (result.reason) {
    case "not-found":
      return "was not found";
    case "no-nnlint":
      return "does not have nnlint installed";
    case "missing-deps":
      return `is incomplete (${result.detail})`;
    default:
      return `failed (${result.detail ?? "unknown error"})`;
  }
}

export async function resolveServer(
  input: ResolveInput,
  run: (command: ServerCommand) => Promise<RunResult>,
): Promise<Resolution> {
  const { candidates: list, log } = candidates(input);
  const failures: Array<{ candidate: Candidate; result: ProbeResult }> = [];
  for (const candidate of list) {
    const result = parseProbe(candidate, await run(probeCommand(candidate)));
    if (result.ok) {
      log.push(`using ${describe(candidate)}: nnlint ${result.version ?? "?"}`);
      return {
        ok: true,
        candidate,
        server: serverCommand(candidate),
        version: result.version,
        executable: result.executable,
        log,
      };
    }
    log.push(`${describe(candidate)} ${why(result)}`);
    failures.push({ candidate, result });
    if (candidate.explicit) break;
  }
  // The install command targets the first Python that exists (the one the user most likely means).
  const target =
    failures.find((f) => f.result.reason !== "not-found" && f.candidate.source !== "nnlint.path")?.candidate ??
    failures.find((f) => f.candidate.source !== "nnlint.path")?.candidate;
  const install = installCommand(target);
  const first = failures[0];
  let message: string;
  if (first && first.candidate.explicit) {
    message = `nnlint cannot start: ${describe(first.candidate)} ${why(first.result)}.`;
  } else {
    message = `nnlint cannot start: no Python with nnlint installed was found (${failures
      .map((f) => `${describe(f.candidate)} ${why(f.result)}`)
      .join("; ")}).`;
  }
  message += ` Install it with: ${install} (or, in a checkout of nnlint: ${install.replace(`"${NNLINT_SOURCE}"`, ".")})`;
  if (!first || first.candidate.source !== "nnlint.path") {
    message += " (or set nnlint.interpreter to a Python that has it).";
  } else {
    message += " (or fix nnlint.path).";
  }
  return { ok: false, message, installCommand: install, log };
}
