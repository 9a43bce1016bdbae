// Settings logic with no dependency on the `vscode` module, so node's test runner can test it.
//
// Two kinds of settings live under the "nnlint" section:
// - client settings (path, interpreter, importStrategy): which program runs the server. Changing
//   one restarts the client. In an untrusted workspace their workspace values are ignored.
// - server settings (enable, select, ...): sent to the server (initializationOptions, answers to
//   workspace/configuration, didChangeConfiguration) in the shape server/settings.py parses.

export const SECTION = "nnlint";

/** Keys whose change needs a new server process (a different program may run). */
export const RESTART_KEYS = ["path", "interpreter", "importStrategy"] as const;

/** Keys a workspace must not set while it is untrusted (they choose the program that runs). */
export const RESTRICTED_KEYS = RESTART_KEYS;

export const SERVER_KEYS = [
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
] as const;

export type ImportStrategy = "useBundled" | "fromEnvironment";
export type RunMode = "onType" | "onSave";
export type ConfigurationPreference = "editorFirst" | "filesystemFirst" | "editorOnly";
export type Severity = "error" | "warning" | "information" | "hint";

const RUN_MODES: readonly string[] = ["onType", "onSave"];
const PREFERENCES: readonly string[] = ["editorFirst", "filesystemFirst", "editorOnly"];
const SEVERITIES: readonly string[] = ["error", "warning", "information", "hint"];
const STRATEGIES: readonly string[] = ["useBundled", "fromEnvironment"];
const LANGUAGES: readonly string[] = ["auto", "en", "ko"];

export const DEFAULTS = {
  enable: true,
  run: "onType" as RunMode,
  debounceMs: 250,
  showSyntaxErrors: false,
  configurationPreference: "editorFirst" as ConfigurationPreference,
  importStrategy: "fromEnvironment" as ImportStrategy,
};

/** What the server receives. Unset keys are left out so that `[tool.nnlint]` applies. */
export interface ServerSettings {
  enable: boolean;
  select?: string[];
  ignore?: string[];
  severity?: Record<string, Severity>;
  run: RunMode;
  debounceMs: number;
  showSyntaxErrors: boolean;
  configurationPreference: ConfigurationPreference;
  locale?: string;
  /** "en" or "ko": overrides the locale; unset ("auto"): VS Code's display language. */
  language?: "en" | "ko";
}

export interface ClientSettings {
  path: string[];
  interpreter: string[];
  importStrategy: ImportStrategy;
}

/** The subset of vscode.WorkspaceConfiguration.inspect()'s result used here. */
export interface Inspected<T> {
  defaultValue?: T;
  globalValue?: T;
  workspaceValue?: T;
  workspaceFolderValue?: T;
}

/**
 * The value VS Code would use, except that in an untrusted workspace the workspace and folder
 * values of restricted keys are ignored (user settings and the default still apply).
 */
export function effectiveValue<T>(inspected: Inspected<T> | undefined, trusted: boolean): T | undefined {
  if (!inspected) {
    return undefined;
  }
  if (trusted) {
    if (inspected.workspaceFolderValue !== undefined) return inspected.workspaceFolderValue;
    if (inspected.workspaceValue !== undefined) return inspected.workspaceValue;
  }
  if (inspected.globalValue !== undefined) return inspected.globalValue;
  return inspected.defaultValue;
}

/** True when a workspace-level value of a restricted key was dropped because of trust. */
export function ignoredUntrusted<T>(inspected: Inspected<T> | undefined, trusted: boolean): boolean {
  return (
    !trusted &&
    !!inspected &&
    (inspected.workspaceFolderValue !== undefined || inspected.workspaceValue !== undefined)
  );
}

/** A command setting given as a string or a list of strings; empty entries dropped. */
export function commandList(value: unknown): string[] {
  if (typeof value === "string") {
    return value.trim() ? [value.trim()] : [];
  }
  if (Array.isArray(value)) {
    return value.filter((v): v is string => typeof v === "string" && v.trim() !== "").map((v) => v.trim());
  }
  return [];
}

export interface Variables {
  workspaceFolder?: string;
  userHome: string;
  env: Record<string, string | undefined>;
}

/** `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`, as the Microsoft tools do. */
export function substituteVariables(value: string, vars: Variables): string {
  let out = value;
  if (out === "~" || out.startsWith("~/") || out.startsWith("~\\")) {
    out = vars.userHome + out.slice(1);
  }
  out = out.replace(/\$\{userHome\}/g, vars.userHome);
  if (vars.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, vars.workspaceFolder);
  }
  out = out.replace(/\$\{env:([^}]+)\}/g, (_m, name: string) => vars.env[name] ?? "");
  return out;
}

export interface ClientSettingsInput {
  path?: Inspected<unknown>;
  interpreter?: Inspected<unknown>;
  importStrategy?: Inspected<unknown>;
}

export interface ClientSettingsResult {
  settings: ClientSettings;
  /** Log lines: values ignored because of trust or invalid. */
  notes: string[];
}

export function clientSettings(input: ClientSettingsInput, trusted: boolean, vars: Variables): ClientSettingsResult {
  const notes: string[] = [];
  for (const key of RESTRICTED_KEYS) {
    if (ignoredUntrusted(input[key], trusted)) {
      notes.push(`nnlint.${key} from the workspace settings is ignored: the workspace is not trusted`);
    }
  }
  const path = commandList(effectiveValue(input.path, trusted)).map((v) => substituteVariables(v, vars));
  const interpreter = commandList(effectiveValue(input.interpreter, trusted)).map((v) => substituteVariables(v, vars));
  let importStrategy = effectiveValue(input.importStrategy, trusted) as string | undefined;
  if (importStrategy === undefined || !STRATEGIES.includes(importStrategy)) {
    if (importStrategy !== undefined) {
      notes.push(`nnlint.importStrategy ${JSON.stringify(importStrategy)} is not useBundled or fromEnvironment; using fromEnvironment`);
    }
    importStrategy = DEFAULTS.importStrategy;
  }
  return { settings: { path, interpreter, importStrategy: importStrategy as ImportStrategy }, notes };
}

function codes(value: unknown): string[] | undefined {
  let list: unknown = value;
  if (typeof list === "string") {
    list = list.split(",");
  }
  if (!Array.isArray(list)) {
    return undefined;
  }
  const out = list
    .filter((v): v is string => typeof v === "string")
    .map((v) => v.trim().toUpperCase())
    .filter((v) => v !== "");
  return out.length ? out : undefined; // empty: not set in the editor
}

/**
 * The editor's "nnlint" section (as returned by getConfiguration("nnlint", scope)) mapped to
 * what the server parses. Invalid values fall back to the default and are reported in `problems`;
 * empty lists/objects mean "not set" so that pyproject.toml's [tool.nnlint] still applies.
 */
export function toServerSettings(raw: Record<string, unknown> | undefined): { settings: ServerSettings; problems: string[] } {
  const r = raw ?? {};
  const problems: string[] = [];
  const bad = (key: string, expected: string) =>
    problems.push(`nnlint.${key} must be ${expected}, got ${JSON.stringify(r[key])}; using the default`);
  const settings: ServerSettings = {
    enable: DEFAULTS.enable,
    run: DEFAULTS.run,
    debounceMs: DEFAULTS.debounceMs,
    showSyntaxErrors: DEFAULTS.showSyntaxErrors,
    configurationPreference: DEFAULTS.configurationPreference,
  };
  for (const key of ["enable", "showSyntaxErrors"] as const) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (typeof v === "boolean") settings[key] = v;
    else bad(key, "true or false");
  }
  for (const key of ["select", "ignore"] as const) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== "string" && !Array.isArray(v)) {
      bad(key, "a list of rule codes or prefixes");
      continue;
    }
    const list = codes(v);
    if (list) settings[key] = list;
  }
  if (r.severity !== undefined && r.severity !== null) {
    const v = r.severity;
    if (typeof v === "object" && !Array.isArray(v)) {
      const out: Record<string, Severity> = {};
      for (const [code, level] of Object.entries(v as Record<string, unknown>)) {
        if (typeof level === "string" && SEVERITIES.includes(level.toLowerCase()) && code.trim()) {
          out[code.trim().toUpperCase()] = level.toLowerCase() as Severity;
        } else {
          problems.push(`nnlint.severity.${code} must be error, warning, information or hint, got ${JSON.stringify(level)}; ignored`);
        }
      }
      if (Object.keys(out).length) settings.severity = out;
    } else {
      bad("severity", "an object of rule code -> error|warning|information|hint");
    }
  }
  if (r.run !== undefined && r.run !== null) {
    if (typeof r.run === "string" && RUN_MODES.includes(r.run)) settings.run = r.run as RunMode;
    else bad("run", "onType or onSave");
  }
  if (r.debounceMs !== undefined && r.debounceMs !== null) {
    const v = r.debounceMs;
    if (typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 60000) settings.debounceMs = Math.round(v);
    else bad("debounceMs", "a number of milliseconds between 0 and 60000");
  }
  if (r.configurationPreference !== undefined && r.configurationPreference !== null) {
    const v = r.configurationPreference;
    if (typeof v === "string" && PREFERENCES.includes(v)) settings.configurationPreference = v as ConfigurationPreference;
    else bad("configurationPreference", "editorFirst, filesystemFirst or editorOnly");
  }
  if (r.locale !== undefined && r.locale !== null && r.locale !== "") {
    if (typeof r.locale === "string") settings.locale = r.locale.trim();
    else bad("locale", "a language code such as en or ko");
  }
  if (r.language !== undefined && r.language !== null) {
    if (typeof r.language === "string" && LANGUAGES.includes(r.language)) {
      if (r.language !== "auto") settings.language = r.language as "en" | "ko";
    } else bad("language", "auto, en or ko");
  }
  return { settings, problems };
}

/** What a configuration change means for the running client. */
export type ChangeAction = "none" | "restart" | "notify" | "trace";

export function actionForChange(affects: (section: string) => boolean): ChangeAction {
  if (!affects(SECTION)) return "none";
  if (RESTART_KEYS.some((key) => affects(`${SECTION}.${key}`))) return "restart";
  if (SERVER_KEYS.some((key) => affects(`${SECTION}.${key}`))) return "notify";
  if (affects(`${SECTION}.trace`)) return "trace"; // the language client follows nnlint.trace.server itself
  return "notify";
}
