import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  actionForChange,
  clientSettings,
  commandList,
  effectiveValue,
  substituteVariables,
  toServerSettings,
} from "../src/settings";

const vars = { workspaceFolder: "/ws", userHome: "/home/me", env: { VENV: "/opt/venv" } };

describe("toServerSettings", () => {
  test("defaults when nothing is set", () => {
    const { settings, problems } = toServerSettings(undefined);
    assert.deepEqual(settings, {
      enable: true,
      run: "onType",
      debounceMs: 250,
      showSyntaxErrors: false,
      configurationPreference: "editorFirst",
    });
    assert.deepEqual(problems, []);
  });

  test("VS Code's defaults (empty lists and objects) leave pyproject.toml in charge", () => {
    const { settings } = toServerSettings({ select: [], ignore: [], severity: {}, locale: null });
    assert.equal("select" in settings, false);
    assert.equal("ignore" in settings, false);
    assert.equal("severity" in settings, false);
    assert.equal("locale" in settings, false);
  });

  test("every server key is mapped and normalized", () => {
    const { settings, problems } = toServerSettings({
      enable: false,
      select: ["nn1", " NN203 "],
      ignore: "nn103, NN201",
      severity: { nn201: "Error", NN1: "hint" },
      run: "onSave",
      debounceMs: 100.4,
      showSyntaxErrors: true,
      configurationPreference: "filesystemFirst",
      locale: "ko",
      language: "en",
      // client-only keys never reach the server
      path: ["/x/nnlint"],
      interpreter: ["/x/python"],
      importStrategy: "fromEnvironment",
    });
    assert.deepEqual(problems, []);
    assert.deepEqual(settings, {
      enable: false,
      select: ["NN1", "NN203"],
      ignore: ["NN103", "NN201"],
      severity: { NN201: "error", NN1: "hint" },
      run: "onSave",
      debounceMs: 100,
      showSyntaxErrors: true,
      configurationPreference: "filesystemFirst",
      locale: "ko",
      language: "en",
    });
  });

  test("nnlint.language: auto is left to the server, en/ko are sent, anything else is a problem", () => {
    assert.equal("language" in toServerSettings({ language: "auto" }).settings, false);
    assert.equal(toServerSettings({ language: "ko" }).settings.language, "ko");
    const { settings, problems } = toServerSettings({ language: "fr" });
    assert.equal("language" in settings, false);
    assert.match(problems.join("\n"), /nnlint\.language must be auto, en or ko, got "fr"/);
  });

  test("invalid values fall back to the default with a problem each", () => {
    const { settings, problems } = toServerSettings({
      enable: "yes",
      run: "always",
      debounceMs: -5,
      configurationPreference: "mine",
      severity: { NN201: "fatal", NN202: "warning" },
      select: 42,
    });
    assert.equal(settings.enable, true);
    assert.equal(settings.run, "onType");
    assert.equal(settings.debounceMs, 250);
    assert.equal(settings.configurationPreference, "editorFirst");
    assert.deepEqual(settings.severity, { NN202: "warning" });
    assert.equal("select" in settings, false);
    assert.equal(problems.length, 6);
    assert.match(problems.join("\n"), /nnlint\.run must be onType or onSave, got "always"/);
    assert.match(problems.join("\n"), /nnlint\.severity\.NN201/);
  });
});

describe("effectiveValue and workspace trust", () => {
  const inspected = { defaultValue: [], globalValue: ["/usr/bin/python3"], workspaceValue: ["./evil/python"] };

  test("trusted: the workspace value wins, the folder value wins over it", () => {
    assert.deepEqual(effectiveValue(inspected, true), ["./evil/python"]);
    assert.deepEqual(effectiveValue({ ...inspected, workspaceFolderValue: ["/f/python"] }, true), ["/f/python"]);
  });

  test("untrusted: workspace and folder values are ignored", () => {
    assert.deepEqual(effectiveValue({ ...inspected, workspaceFolderValue: ["/f/python"] }, false), ["/usr/bin/python3"]);
    assert.deepEqual(effectiveValue({ defaultValue: [], workspaceValue: ["x"] }, false), []);
  });

  test("clientSettings applies trust to path, interpreter and importStrategy and says so", () => {
    const input = {
      path: { defaultValue: [], workspaceValue: ["${workspaceFolder}/bin/nnlint"] },
      interpreter: { defaultValue: [], globalValue: ["~/venv/bin/python"], workspaceValue: ["/ws/python"] },
      importStrategy: { defaultValue: "fromEnvironment", workspaceValue: "useBundled" },
    };
    const untrusted = clientSettings(input, false, vars);
    assert.deepEqual(untrusted.settings, {
      path: [],
      interpreter: ["/home/me/venv/bin/python"],
      importStrategy: "fromEnvironment",
    });
    assert.equal(untrusted.notes.length, 3);
    assert.match(untrusted.notes[0], /nnlint\.path from the workspace settings is ignored/);

    const trusted = clientSettings(input, true, vars);
    assert.deepEqual(trusted.settings, {
      path: ["/ws/bin/nnlint"],
      interpreter: ["/ws/python"],
      importStrategy: "useBundled",
    });
    assert.deepEqual(trusted.notes, []);
  });

  test("an unknown importStrategy falls back to fromEnvironment", () => {
    const r = clientSettings({ importStrategy: { globalValue: "bundled" } }, true, vars);
    assert.equal(r.settings.importStrategy, "fromEnvironment");
    assert.equal(r.notes.length, 1);
  });
});

describe("helpers", () => {
  test("commandList accepts a string or a list", () => {
    assert.deepEqual(commandList(" /usr/bin/python3 "), ["/usr/bin/python3"]);
    assert.deepEqual(commandList(["py", "", "-3", 7]), ["py", "-3"]);
    assert.deepEqual(commandList(""), []);
    assert.deepEqual(commandList(undefined), []);
  });

  test("substituteVariables", () => {
    assert.equal(substituteVariables("${workspaceFolder}/.venv/bin/python", vars), "/ws/.venv/bin/python");
    assert.equal(substituteVariables("~/x", vars), "/home/me/x");
    assert.equal(substituteVariables("${userHome}/y", vars), "/home/me/y");
    assert.equal(substituteVariables("${env:VENV}/bin/python", vars), "/opt/venv/bin/python");
    assert.equal(substituteVariables("${env:MISSING}python", vars), "python");
    assert.equal(substituteVariables("a~b", vars), "a~b");
  });

  test("actionForChange: restart for the program, notify for the server, none otherwise", () => {
    const affects = (...keys: string[]) => (section: string) =>
      section === "nnlint" ? keys.length > 0 : keys.includes(section);
    assert.equal(actionForChange(affects()), "none");
    assert.equal(actionForChange(affects("nnlint.interpreter")), "restart");
    assert.equal(actionForChange(affects("nnlint.path")), "restart");
    assert.equal(actionForChange(affects("nnlint.importStrategy")), "restart");
    assert.equal(actionForChange(affects("nnlint.select")), "notify");
    assert.equal(actionForChange(affects("nnlint.debounceMs", "nnlint.interpreter")), "restart");
    assert.equal(actionForChange(affects("nnlint.trace", "nnlint.trace.server")), "trace");
  });
});
