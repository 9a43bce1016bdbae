// The VS Code side of nnlint: finds a Python with nnlint, starts `nnlint server` over stdio and
// wires settings, commands and a status bar item to it. The decisions (which program, which
// settings) live in settings.ts and resolve.ts, which do not import `vscode`.

import { execFile } from "node:child_process";
import * as os from "node:os";
import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  DocumentSelector,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";

import { Resolution, RunResult, ServerCommand, resolveServer } from "./resolve";
import { SECTION, ServerSettings, actionForChange, clientSettings, toServerSettings } from "./settings";
import { ServerState, statusView } from "./status";

const PROBE_TIMEOUT_MS = 30_000;
const MAX_CRASHES = 3;
const CRASH_WINDOW_MS = 3 * 60_000;
const RULE_SCHEME = "nnlint-rule";

export const DOCUMENT_SELECTOR: DocumentSelector = [
  { scheme: "file", language: "python" },
  { scheme: "untitled", language: "python" },
  { scheme: "vscode-notebook-cell", language: "python" }, // Jupyter notebook cells
];

let log: vscode.LogOutputChannel;
let status: vscode.StatusBarItem;
let client: LanguageClient | undefined;
let resolution: Resolution | undefined;
let lastError: string | undefined;
let crashes: number[] = [];
let queue: Promise<void> = Promise.resolve();
let pythonEnvListener: vscode.Disposable | undefined;
const ruleDocs = new Map<string, string>();
const shownErrors = new Set<string>();

// --------------------------------------------------------------------------- activation
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel("nnlint", { log: true });
  status = vscode.window.createStatusBarItem("nnlint.status", vscode.StatusBarAlignment.Right, 100);
  status.name = "nnlint";
  status.command = "nnlint.showLogs";
  setStatus("starting");
  status.show();
  context.subscriptions.push(log, status);
  log.info(`nnlint extension ${context.extension.packageJSON.version} in ${vscode.env.appName} ${vscode.version}`);

  context.subscriptions.push(
    vscode.commands.registerCommand("nnlint.restart", () => restart("nnlint: Restart Server")),
    vscode.commands.registerCommand("nnlint.fixAll", fixAll),
    vscode.commands.registerCommand("nnlint.showRuleDocumentation", showRuleDocumentation),
    vscode.commands.registerCommand("nnlint.showLogs", () => log.show()),
    vscode.commands.registerCommand("nnlint.debugInformation", () => debugInformation(context)),
    vscode.workspace.registerTextDocumentContentProvider(RULE_SCHEME, {
      provideTextDocumentContent: (uri) => ruleDocs.get(uri.path.replace(/^\/|\.md$/g, "")) ?? "",
    }),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChanged),
    vscode.workspace.onDidGrantWorkspaceTrust(() => restart("the workspace is now trusted")),
    vscode.workspace.onDidChangeWorkspaceFolders(() => restart("workspace folders changed")),
    { dispose: () => pythonEnvListener?.dispose() },
  );
  await restart("activation");
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

// --------------------------------------------------------------------------- start / stop
function restart(reason: string): Promise<void> {
  // Serialize: a burst of setting changes gives one stop/start after another, never two clients.
  queue = queue.then(
    () => startClient(reason),
    () => startClient(reason),
  );
  return queue;
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      if (old.state !== State.Stopped) {
        await old.stop(5000);
      }
    } catch (err) {
      log.warn(`stopping the server: ${String(err)}`);
    }
    try {
      await old.dispose(2000);
    } catch {
      /* already stopped */
    }
  }
}

function firstFolder(): vscode.WorkspaceFolder | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  return (active && vscode.workspace.getWorkspaceFolder(active)) || vscode.workspace.workspaceFolders?.[0];
}

async function startClient(reason: string): Promise<void> {
  await stopClient();
  crashes = [];
  lastError = undefined;
  setStatus("starting");
  log.info(`starting the nnlint server (${reason})`);

  const folder = firstFolder();
  const config = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  const { settings, notes } = clientSettings(
    {
      path: config.inspect<unknown>("path"),
      interpreter: config.inspect<unknown>("interpreter"),
      importStrategy: config.inspect<unknown>("importStrategy"),
    },
    vscode.workspace.isTrusted,
    { workspaceFolder: folder?.uri.fsPath, userHome: os.homedir(), env: process.env },
  );
  notes.forEach((n) => log.warn(n));

  const pythonExtension =
    settings.path.length || settings.interpreter.length ? undefined : await pythonExtensionInterpreter(folder?.uri);
  const cwd = vscode.workspace.isTrusted && folder ? folder.uri.fsPath : os.homedir();
  resolution = await resolveServer(
    {
      path: settings.path,
      interpreter: settings.interpreter,
      importStrategy: settings.importStrategy,
      pythonExtension,
      platform: process.platform,
    },
    (command) => probe(command, cwd),
  );
  resolution.log.forEach((line) => log.info(line));
  if (!resolution.ok) {
    fail(resolution.message, true, resolution.installCommand);
    return;
  }
  shownErrors.clear(); // a working program again: a later failure deserves a new notification

  const server: ServerCommand = resolution.server;
  log.info(`server command: ${[server.command, ...server.args].join(" ")}`);
  const serverOptions: ServerOptions = {
    command: server.command,
    args: server.args,
    transport: TransportKind.stdio,
    options: { cwd, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: log,
    traceOutputChannel: log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    // The server ignores its `interpreter` setting (jedi would run that program) in an
    // untrusted workspace; granting trust restarts the client (onDidGrantWorkspaceTrust).
    initializationOptions: { ...serverSettingsFor(folder?.uri), workspaceTrusted: vscode.workspace.isTrusted },
    diagnosticCollectionName: "nnlint.push", // the pull collection is named "nnlint" (the server's identifier)
    middleware: {
      workspace: {
        // Answer the server's workspace/configuration requests for "nnlint" with the mapped,
        // validated settings of that scope (instead of the raw section with client-only keys).
        configuration: async (params, token, next) => {
          const answers = await next(params, token);
          if (!Array.isArray(answers)) {
            return answers;
          }
          return params.items.map((item, i) =>
            item.section === SECTION
              ? serverSettingsFor(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined)
              : answers[i],
          );
        },
      },
    },
    errorHandler: {
      error: (_error, _message, count) => ({
        action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
      }),
      closed: () => {
        const now = Date.now();
        crashes = crashes.filter((time) => now - time < CRASH_WINDOW_MS);
        crashes.push(now);
        if (crashes.length > MAX_CRASHES) {
          const message =
            `nnlint: the server stopped ${crashes.length} times in 3 minutes and will not be restarted. ` +
            `See the log, then run "nnlint: Restart Server".`;
          fail(message, false);
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        log.warn(`the server stopped unexpectedly; restarting (${crashes.length}/${MAX_CRASHES})`);
        return { action: CloseAction.Restart, handled: true };
      },
    },
    initializationFailedHandler: (error) => {
      fail(`nnlint: the server failed to initialize: ${String(error)}`, false);
      return false;
    },
  };

  const next = new LanguageClient(SECTION, "nnlint", serverOptions, clientOptions);
  next.onDidChangeState((event) => {
    if (client !== next) return;
    if (event.newState === State.Running) {
      setStatus("ready");
    } else if (event.newState === State.Starting) {
      setStatus("starting");
    } else if (!lastError) {
      setStatus("stopped");
    }
  });
  client = next;
  try {
    await next.start();
    log.info("the nnlint server is running");
  } catch (err) {
    if (client === next) {
      fail(`nnlint: the server did not start: ${String(err)}`, false);
    }
  }
}

function serverSettingsFor(scope: vscode.Uri | undefined): ServerSettings {
  const raw = vscode.workspace.getConfiguration(SECTION, scope);
  const plain: Record<string, unknown> = {};
  for (const key of [
    "enable",
    "select",
    "ignore",
    "severity",
    "run",
    "debounceMs",
    "showSyntaxErrors",
    "configurationPreference",
    "locale",
    "language",
  ]) {
    plain[key] = raw.get(key);
  }
  const { settings, problems } = toServerSettings(plain);
  problems.forEach((p) => warnOnce(p));
  return settings;
}

function warnOnce(message: string): void {
  if (!shownErrors.has(message)) {
    shownErrors.add(message);
    log.warn(message);
  }
}

async function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): Promise<void> {
  const action = actionForChange((section) => event.affectsConfiguration(section));
  if (action === "restart") {
    await restart("nnlint.path, nnlint.interpreter or nnlint.importStrategy changed");
  } else if (action === "notify") {
    if (client && client.state === State.Running) {
      log.info("settings changed; telling the server");
      // The server asks back with workspace/configuration (answered by the middleware above).
      await client.sendNotification(DidChangeConfigurationNotification.type, {
        settings: { [SECTION]: serverSettingsFor(firstFolder()?.uri) },
      });
    } else if (!client) {
      await restart("settings changed");
    }
  }
}

// --------------------------------------------------------------------------- Python discovery
interface PythonExtensionApi {
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
    resolveEnvironment(env: { path: string } | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
  };
}

async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string[] | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    const environments = api?.environments;
    if (!environments) return undefined;
    if (!pythonEnvListener && environments.onDidChangeActiveEnvironmentPath) {
      pythonEnvListener = environments.onDidChangeActiveEnvironmentPath(() =>
        restart("the Python extension's selected environment changed"),
      );
    }
    const active = environments.getActiveEnvironmentPath(resource);
    const resolved = await environments.resolveEnvironment(active);
    const executable = resolved?.executable?.uri?.fsPath;
    return executable ? [executable] : undefined;
  } catch (err) {
    log.warn(`cannot read the Python extension's environment: ${String(err)}`);
    return undefined;
  }
}

function probe(command: ServerCommand, cwd: string): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command.command,
      command.args,
      { cwd, timeout: PROBE_TIMEOUT_MS, windowsHide: true, env: process.env },
      (error, stdout, stderr) => {
        const err = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        const out = { stdout: String(stdout), stderr: String(stderr) };
        if (err && typeof err.code === "string") {
          resolve({ exitCode: null, ...out, spawnError: `${err.code}: ${err.message}` });
        } else if (err && err.killed) {
          resolve({ exitCode: null, ...out, spawnError: `timed out after ${PROBE_TIMEOUT_MS / 1000} s` });
        } else {
          const code = (err as { code?: unknown } | null)?.code;
          resolve({ exitCode: err ? (typeof code === "number" ? code : 1) : 0, ...out });
        }
      },
    );
  });
}

// --------------------------------------------------------------------------- status / errors
function setStatus(state: ServerState, detail?: string): void {
  const extra =
    detail ??
    (resolution && resolution.ok
      ? `nnlint ${resolution.version ?? ""} from ${resolution.executable ?? resolution.candidate.command.join(" ")}`
      : undefined);
  const view = statusView(state, extra);
  status.text = view.text;
  status.tooltip = view.tooltip;
  status.backgroundColor = view.background
    ? new vscode.ThemeColor(view.background === "error" ? "statusBarItem.errorBackground" : "statusBarItem.warningBackground")
    : undefined;
}

/** Log, set the status bar, and show ONE notification per distinct problem (never a loop). */
function fail(message: string, canConfigure: boolean, install?: string): void {
  lastError = message;
  log.error(message);
  setStatus("error", message);
  if (shownErrors.has(message)) {
    return;
  }
  shownErrors.add(message);
  const actions = canConfigure ? ["Open settings", "Show logs"] : ["Show logs"];
  if (install) actions.unshift("Copy command");
  void vscode.window.showErrorMessage(message, ...actions).then(async (choice) => {
    if (choice === "Open settings") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "nnlint.interpreter");
    } else if (choice === "Show logs") {
      log.show();
    } else if (choice === "Copy command" && install) {
      await vscode.env.clipboard.writeText(install);
    }
  });
}

function runningClient(): LanguageClient | undefined {
  if (client && client.state === State.Running) {
    return client;
  }
  void vscode.window.showWarningMessage("nnlint: the server is not running. See the log (nnlint: Show Logs).");
  return undefined;
}

// --------------------------------------------------------------------------- commands
async function fixAll(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor || vscode.languages.match(DOCUMENT_SELECTOR as vscode.DocumentSelector, editor.document) === 0) {
    void vscode.window.showInformationMessage("nnlint: open a Python file to fix.");
    return;
  }
  const c = runningClient();
  if (!c) return;
  const uri = c.code2ProtocolConverter.asUri(editor.document.uri);
  const result = (await c.sendRequest(ExecuteCommandRequest.type, {
    command: "nnlint.applyFixAll",
    arguments: [{ uri }],
  })) as { applied?: boolean; edits?: number } | null;
  if (!result || !result.edits) {
    void vscode.window.setStatusBarMessage("nnlint: nothing to fix", 3000);
  } else {
    log.info(`fix all: ${result.edits} edit(s) ${result.applied ? "applied" : "not applied"}`);
  }
}

async function showRuleDocumentation(arg?: unknown): Promise<void> {
  const c = runningClient();
  if (!c) return;
  let code = typeof arg === "string" ? arg : (arg as { code?: string } | undefined)?.code;
  const editor = vscode.window.activeTextEditor;
  if (!code && editor) {
    const here = vscode.languages
      .getDiagnostics(editor.document.uri)
      .find((d) => d.source === "nnlint" && d.range.contains(editor.selection.active));
    const value = here?.code;
    code = typeof value === "object" && value !== null ? String(value.value) : value !== undefined ? String(value) : undefined;
  }
  if (!code) {
    const info = (await c.sendRequest(ExecuteCommandRequest.type, { command: "nnlint.debugInfo", arguments: [] })) as {
      rules?: string[];
    } | null;
    code = await vscode.window.showQuickPick(info?.rules ?? [], { placeHolder: "nnlint rule" });
    if (!code) return;
  }
  const doc = (await c.sendRequest(ExecuteCommandRequest.type, {
    command: "nnlint.showRuleDocs",
    arguments: [code],
  })) as { code: string; name: string; markdown: string; url?: string } | null;
  if (!doc) return;
  ruleDocs.set(doc.code, `# ${doc.code} ${doc.name}\n\n${doc.markdown}\n${doc.url ? `\n[Online documentation](${doc.url})\n` : ""}`);
  const uri = vscode.Uri.from({ scheme: RULE_SCHEME, path: `/${doc.code}.md` });
  try {
    await vscode.commands.executeCommand("markdown.showPreview", uri);
  } catch {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: true });
  }
}

async function debugInformation(context: vscode.ExtensionContext): Promise<void> {
  let server: unknown = null;
  if (client && client.state === State.Running) {
    try {
      server = await client.sendRequest(ExecuteCommandRequest.type, { command: "nnlint.debugInfo", arguments: [] });
    } catch (err) {
      server = { error: String(err) };
    }
  }
  const folder = firstFolder();
  const info = {
    extension: context.extension.packageJSON.version,
    editor: `${vscode.env.appName} ${vscode.version}`,
    platform: `${process.platform} ${process.arch}`,
    workspaceTrusted: vscode.workspace.isTrusted,
    state: client ? State[client.state] : "no client",
    lastError: lastError ?? null,
    serverCommand: resolution && resolution.ok ? [resolution.server.command, ...resolution.server.args] : null,
    serverSource: resolution && resolution.ok ? resolution.candidate.source : null,
    resolutionLog: resolution?.log ?? [],
    settings: serverSettingsFor(folder?.uri),
    server,
  };
  const text = JSON.stringify(info, null, 2);
  log.info(`debug information:\n${text}`);
  const document = await vscode.workspace.openTextDocument({ language: "json", content: text });
  await vscode.window.showTextDocument(document, { preview: false });
}
