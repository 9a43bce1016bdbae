// End-to-end test of the nnlint VS Code extension in a real VS Code: code-server (VS Code in a
// browser) driven through Debian's chromium by playwright-core. Run by tests/test_vscode_client.py.
//
// Environment:
//   CODE_SERVER   the code-server executable (Node 24 must be first on PATH)
//   VSIX          the packaged extension
//   NNLINT_PYTHON a Python with nnlint installed (written to nnlint.interpreter)
//   OUT_DIR       where screenshots and logs go (created)
//   CHROMIUM      default /usr/bin/chromium
//   E2E_TIMEOUT_S default 150
//   E2E_LOCALE    a display language for VS Code (`--locale`, e.g. ko): the extension's initialize
//                 then carries it, and the run stops after checking the hover is in that language
//   LANGPACK      with E2E_LOCALE: a VS Code language pack .vsix for it (VS Code resolves a locale
//                 without its pack to English); tests/e2e/vscode/langpack-ko packaged for ko
//
// Steps: install the .vsix into a fresh extensions dir, start code-server in its own process
// group on a free loopback port, open a copy of ./workspace, open train.py and check: squiggle,
// Problems panel, hover, Ctrl+. quick fix, buffer after the fix, squiggle gone. Prints one line
// `E2E-RESULT {json}` with what it saw; exit code 0 only if every check passed.

import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const CODE_SERVER = must("CODE_SERVER");
const VSIX = must("VSIX");
const PYTHON = must("NNLINT_PYTHON");
const OUT_DIR = path.resolve(env.OUT_DIR || path.join(os.tmpdir(), "nnlint-e2e-out"));
const CHROMIUM = env.CHROMIUM || "/usr/bin/chromium";
const DEADLINE = Date.now() + Number(env.E2E_TIMEOUT_S || 150) * 1000;
const LOCALE = env.E2E_LOCALE || "";
// What the hover must show in that language: the finding's message and the server's own headings.
const HOVER_IN = {
  ko: (text) => /활성값을 드롭합니다/.test(text) && /왜 문제인가/.test(text) && !/Why is this bad/.test(text),
};
// The Problems panel's title in that language: proof that the workbench itself switched (the
// language pack was picked up), not only the server.
const PROBLEMS_TITLE = { ko: "문제" };

function must(name) {
  if (!env[name]) {
    console.error(`e2e: set ${name}`);
    process.exit(2);
  }
  return env[name];
}

const seen = { steps: [] };
function step(name, detail) {
  const line = detail === undefined ? name : `${name}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
  seen.steps.push(line);
  console.log(`e2e: ${line}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 30000, everyMs = 250) {
  const end = Math.min(Date.now() + timeoutMs, DEADLINE);
  let last;
  while (Date.now() < end) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
}

function writeJson(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
}

function findFiles(dir, test, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) findFiles(full, test, out);
    else if (test(full)) out.push(full);
  }
  return out;
}

// ----------------------------------------------------------------------------- set up
fs.mkdirSync(OUT_DIR, { recursive: true });
const root = fs.mkdtempSync(path.join(os.tmpdir(), "nnlint-e2e-"));
const userData = path.join(root, "user-data");
const extensions = path.join(root, "extensions");
const workspace = path.join(root, "workspace");
fs.cpSync(path.join(here, "workspace"), workspace, { recursive: true });
function writeWorkspaceSettings(extra) {
  writeJson(path.join(workspace, ".vscode", "settings.json"), {
    "nnlint.interpreter": [PYTHON],
    "nnlint.debounceMs": 100,
    "nnlint.trace.server": "messages",
    ...extra,
  });
}
writeWorkspaceSettings({});
writeJson(path.join(userData, "User", "settings.json"), {
  "workbench.startupEditor": "none",
  "security.workspace.trust.enabled": false,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "editor.hover.delay": 100,
  "workbench.tips.enabled": false,
  "workbench.enableExperiments": false,
  "update.mode": "none",
  "window.zoomLevel": 0,
  "editor.minimap.enabled": false,
  "chat.disableAIFeatures": true,
  "workbench.colorTheme": "Default Dark Modern",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "editor.occurrencesHighlight": "off",
});
const configFile = path.join(root, "config.yaml");
fs.writeFileSync(configFile, "auth: none\ncert: false\n");

const install = spawnSync(
  CODE_SERVER,
  ["--user-data-dir", userData, "--extensions-dir", extensions, "--install-extension", VSIX],
  { encoding: "utf8", timeout: 120000 },
);
step("install-extension", (install.stdout + install.stderr).trim().split("\n").pop());
if (install.status !== 0) {
  console.error(install.stdout, install.stderr);
  await finish(false, new Error(`--install-extension exited ${install.status}`));
}
if (LOCALE && env.LANGPACK) {
  const pack = spawnSync(
    CODE_SERVER,
    ["--user-data-dir", userData, "--extensions-dir", extensions, "--install-extension", env.LANGPACK],
    { encoding: "utf8", timeout: 120000 },
  );
  step("install-language-pack", (pack.stdout + pack.stderr).trim().split("\n").pop());
  if (pack.status !== 0) await finish(false, new Error(`installing ${env.LANGPACK} exited ${pack.status}`));
  // the display language VS Code starts in (the same as --locale, read by the desktop app too)
  writeJson(path.join(userData, "User", "argv.json"), { locale: LOCALE });
  const packs = registerLanguagePacks();
  step("language packs", packs);
  if (!packs.includes(LOCALE)) await finish(false, new Error(`no language pack for ${LOCALE} among the installed extensions`));
}

// VS Code picks a display language's translations from <user-data>/languagepacks.json, which its
// language pack service writes when a language pack is installed from the running editor, but not
// from the command line (`--install-extension` never runs that service: microsoft/vscode#237663,
// coder/code-server#3372), so VS Code would fall back to English. Write that file as the service
// does (createLanguagePacksFromExtension + updateHash in VS Code's languagePacks.ts) from the
// installed extensions' `contributes.localizations`; returns the languages it lists.
function registerLanguagePacks() {
  const installed = JSON.parse(fs.readFileSync(path.join(extensions, "extensions.json"), "utf8"));
  const packs = {};
  for (const ext of installed) {
    const location = path.join(extensions, ext.relativeLocation);
    const manifest = JSON.parse(fs.readFileSync(path.join(location, "package.json"), "utf8"));
    for (const loc of manifest.contributes?.localizations ?? []) {
      const pack = (packs[loc.languageId] ??= {
        hash: "",
        extensions: [],
        translations: {},
        label: loc.localizedLanguageName ?? loc.languageName,
      });
      pack.extensions.push({ extensionIdentifier: { id: ext.identifier.id }, version: manifest.version });
      for (const t of loc.translations) pack.translations[t.id] = path.join(location, t.path);
    }
  }
  for (const pack of Object.values(packs)) {
    const md5 = createHash("md5");
    for (const e of pack.extensions) md5.update(e.extensionIdentifier.id).update(e.version);
    pack.hash = md5.digest("hex");
  }
  fs.writeFileSync(path.join(userData, "languagepacks.json"), JSON.stringify(packs));
  return Object.keys(packs);
}

const port = await freePort();
const serverLog = path.join(OUT_DIR, "code-server.log");
const logFd = fs.openSync(serverLog, "w");
// detached: the child calls setsid(), so it leads its own process group; we stop the whole group.
const codeServer = spawn(
  CODE_SERVER,
  [
    "--config", configFile,
    "--user-data-dir", userData,
    "--extensions-dir", extensions,
    "--bind-addr", `127.0.0.1:${port}`,
    "--auth", "none",
    "--disable-telemetry",
    "--disable-update-check",
    "--disable-workspace-trust",
    "--disable-getting-started-override",
    ...(LOCALE ? ["--locale", LOCALE] : []),
    workspace,
  ],
  { detached: true, stdio: ["ignore", logFd, logFd], env: { ...env, NNLINT_E2E: "1" } },
);
// For the pytest wrapper: the process group to kill if this script itself gets killed.
fs.writeFileSync(path.join(OUT_DIR, "code-server.pgid"), String(codeServer.pid));
let stopped = false;
function stopCodeServer() {
  if (stopped) return;
  stopped = true;
  try {
    process.kill(-codeServer.pid, "SIGTERM");
  } catch {
    /* already gone */
  }
  // make sure nothing keeps the port: SIGKILL the group shortly after
  spawnSync("sleep", ["1"]);
  try {
    process.kill(-codeServer.pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}
process.on("exit", stopCodeServer);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopCodeServer();
    process.exit(130);
  });
}

let browser;
let page;

// The nnlint LogOutputChannel: exthost1/nnlint.nnlint/nnlint.log (older: output_logging_*/N-nnlint.log).
const isNnlintLog = (f) => /nnlint\.nnlint[\\/].*\.log$/.test(f) || (/output_logging_/.test(f) && /nnlint/i.test(path.basename(f)));

function extensionLogFile() {
  return findFiles(path.join(userData, "logs"), isNnlintLog)[0];
}

function extensionLog() {
  const files = findFiles(path.join(userData, "logs"), isNnlintLog);
  const more = findFiles(path.join(userData, "logs"), (f) => /exthost\.log$/.test(f));
  return [...files, ...more]
    .map((f) => `----- ${path.relative(userData, f)}\n${fs.readFileSync(f, "utf8")}`)
    .join("\n");
}

async function finish(ok, error) {
  if (page) {
    try {
      await page.screenshot({ path: path.join(OUT_DIR, ok ? "success.png" : "failure.png") });
    } catch (err) {
      console.error(`e2e: screenshot failed: ${err.message}`);
    }
  }
  const log = extensionLog();
  fs.writeFileSync(path.join(OUT_DIR, "extension-output.log"), log);
  if (!ok) {
    console.error(`e2e: FAILED: ${error && (error.stack || error.message)}`);
    console.error("e2e: ===== the extension's output log =====");
    console.error(log || "(no nnlint output log found)");
    console.error("e2e: ===== code-server log (tail) =====");
    try {
      console.error(fs.readFileSync(serverLog, "utf8").split("\n").slice(-40).join("\n"));
    } catch {
      /* no log */
    }
  }
  console.log(`E2E-RESULT ${JSON.stringify({ ok, error: error ? String(error.message || error) : null, ...seen })}`);
  try {
    if (browser) await browser.close();
  } catch {
    /* closing */
  }
  stopCodeServer();
  if (ok) fs.rmSync(root, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
}

// ----------------------------------------------------------------------------- the test
async function run() {
  await until(
    "code-server to listen",
    async () => {
      const text = fs.readFileSync(serverLog, "utf8");
      if (codeServer.exitCode !== null) throw new Error(`code-server exited ${codeServer.exitCode}: ${text}`);
      if (!text.includes(`127.0.0.1:${port}`)) return false;
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return res.ok;
    },
    60000,
  );
  step("code-server", `listening on 127.0.0.1:${port}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector(".monaco-workbench", { timeout: 60000 });
  step("workbench", "loaded");

  // Open train.py from the explorer.
  const row = page.locator(".explorer-folders-view .monaco-list-row", { hasText: "train.py" });
  await row.first().waitFor({ timeout: 30000 });
  await row.first().click();
  const editor = page.locator(".editor-instance .monaco-editor").first();
  await editor.waitFor({ timeout: 30000 });
  await until("train.py in the editor", async () => (await viewLines()).some((l) => l.includes("F.dropout")), 30000);
  step("opened", "train.py");

  // 1. The squiggle.
  const squiggle = page.locator(".monaco-editor .squiggly-warning, .monaco-editor .squiggly-error");
  await until("the nnlint squiggle", async () => (await squiggle.count()) > 0, 60000);
  step("squiggle", `${await squiggle.count()} squiggle(s)`);

  // 2. The Problems panel.
  await page.keyboard.press("Control+Shift+M");
  const problemRows = page.locator(".markers-panel .monaco-list-row");
  const problems = await until(
    "NN203 in the Problems panel",
    async () => {
      const texts = await problemRows.allInnerTexts();
      return texts.some((t) => t.includes("NN203")) ? texts : false;
    },
    30000,
  );
  seen.problems = problems.map((t) => t.replace(/\s+/g, " ").trim());
  step("problems", seen.problems);
  await page.screenshot({ path: path.join(OUT_DIR, "walkthrough-problems.png") });

  // 3. The hover.
  const box = await squiggle.first().boundingBox();
  if (!box) throw new Error("the squiggle has no bounding box");
  const hover = page.locator(".monaco-editor .monaco-hover:not(.hidden)");
  let tries = 0;
  const hoverText = await until(
    "the hover",
    async () => {
      const visible = (await hover.count()) > 0 && (await hover.first().isVisible());
      if (!visible || tries % 10 === 9) {
        await page.mouse.move(box.x + 10, box.y + box.height / 2 - 6);
        await sleep(150);
        await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 4);
        await sleep(600);
      }
      tries += 1;
      if ((await hover.count()) === 0) return false;
      const text = (await hover.first().innerText()).trim();
      // the diagnostic's message and the server's hover (the rule's explanation), fully loaded
      const explained = LOCALE ? HOVER_IN[LOCALE](text) : /Why is this bad/.test(text);
      const done = /NN203/.test(text) && /functional-dropout-always-on/.test(text) && explained;
      return done && !/Loading\.\.\./.test(text) ? text : false;
    },
    30000,
    300,
  );
  seen.hover = hoverText.replace(/\s+/g, " ").trim().slice(0, 2000);
  step("hover", seen.hover);
  await page.screenshot({ path: path.join(OUT_DIR, "walkthrough-hover.png") });
  if (LOCALE) {
    // the client's language check ends here: the rest of the walk-through runs in English
    // no nnlint.language / nnlint.locale is set: the Korean text can only come from the
    // locale the client sent in initialize (VS Code's display language)
    seen.panelTitles = await panelTitles();
    step("panel titles", seen.panelTitles);
    if (!seen.panelTitles.includes(PROBLEMS_TITLE[LOCALE])) {
      throw new Error(`the workbench is not in ${LOCALE}: panel titles ${JSON.stringify(seen.panelTitles)}`);
    }
    seen.initializeLocale = await initializeLocale();
    step("initialize locale", seen.initializeLocale);
    return;
  }

  // 4. Ctrl+. offers the fix.
  await page.mouse.move(10, 700);
  await page.keyboard.press("Escape");
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2 - 4); // caret inside the call
  await sleep(300);
  const widget = page.locator(".action-widget");
  const actions = await until(
    "the quick fix list",
    async () => {
      await page.keyboard.press("Control+.");
      await widget.first().waitFor({ state: "visible", timeout: 3000 });
      const texts = (await widget.locator(".monaco-list-row").allInnerTexts()).map((t) => t.trim());
      if (texts.some((t) => t.includes("nnlint (NN203)"))) return texts;
      await page.keyboard.press("Escape");
      return false;
    },
    30000,
    500,
  );
  seen.quickFixes = actions;
  step("quick fixes", actions);
  await page.screenshot({ path: path.join(OUT_DIR, "walkthrough-quickfix.png") });

  // 5. Apply it: focus the fix (not "Disable for this line") and press Enter.
  const fixRow = widget.locator(".monaco-list-row", { hasText: "training=self.training" }).first();
  await fixRow.hover();
  await sleep(200);
  await page.keyboard.press("Enter");
  const fixedLine = await until(
    "the fixed line",
    async () => (await viewLines()).find((l) => l.includes("F.dropout(x, 0.5, training=self.training)")),
    20000,
  );
  seen.fixedLine = fixedLine.trim();
  step("buffer", seen.fixedLine);
  const lines = await viewLines();
  if (lines.some((l) => /#\s*nnlint:\s*disable/.test(l))) throw new Error("a disable comment was inserted instead of the fix");

  // 6. The diagnostic disappears (editor and Problems panel).
  await until("the squiggle to go away", async () => (await squiggle.count()) === 0, 30000);
  await until(
    "NN203 to leave the Problems panel",
    async () => !(await problemRows.allInnerTexts()).some((t) => t.includes("NN203")),
    30000,
  );
  step("after fix", "no squiggle, no NN203 in Problems");
  await page.mouse.move(10, 700);
  await sleep(300);
  await page.screenshot({ path: path.join(OUT_DIR, "walkthrough-fixed.png") });

  // The status bar item says the server is ready (a check mark).
  const item = page.locator(".statusbar-item", { hasText: "nnlint" }).first();
  const ready = (await item.locator(".codicon-check").count()) > 0;
  seen.statusBar = `${(await item.innerText()).trim()}${ready ? " (ready: check mark)" : ""}`;
  step("status bar", seen.statusBar);

  // 7. Settings apply without a reload: undo the fix (the squiggle comes back as you type), then
  //    ignore NN203 in the workspace settings (didChangeConfiguration) and it goes away.
  await editor.click({ position: { x: 300, y: 40 } });
  await page.keyboard.press("Control+Z");
  await until("the squiggle after undo", async () => (await squiggle.count()) > 0, 30000);
  step("undo", "squiggle is back");
  writeWorkspaceSettings({ "nnlint.ignore": ["NN203"] });
  await until("nnlint.ignore to hide NN203", async () => (await squiggle.count()) === 0, 30000);
  seen.settingsChange = "nnlint.ignore=[NN203] removed the squiggle without a reload";
  step("settings", seen.settingsChange);

  // 8. An interpreter without nnlint (`python -S` cannot see site-packages): the client restarts,
  //    shows ONE notification with the pip command and an "Open settings" button, status error.
  writeWorkspaceSettings({ "nnlint.interpreter": [PYTHON, "-S"] });
  const toast = page.locator(".notifications-toasts .notification-toast", { hasText: "pip install \"git+https://github.com/nnlint/nnlint\"" });
  const toastText = await until(
    "the missing-nnlint notification",
    async () => ((await toast.count()) > 0 ? (await toast.first().innerText()).replace(/\s+/g, " ").trim() : false),
    60000,
  );
  seen.notification = toastText;
  step("notification", toastText);
  seen.notificationButtons = (await toast.first().locator(".monaco-button").allInnerTexts()).map((t) => t.trim());
  step("notification buttons", seen.notificationButtons);
  await until("the error status", async () => (await item.locator(".codicon-error").count()) > 0, 10000);
  await page.screenshot({ path: path.join(OUT_DIR, "missing-nnlint.png") });
  await sleep(3000); // no restart loop: still one notification
  seen.notificationCount = await toast.count();
  step("notifications after 3 s", seen.notificationCount);

  // 9. Back to the right interpreter: the server restarts and the squiggle returns.
  writeWorkspaceSettings({});
  await until("the squiggle after the restart", async () => (await squiggle.count()) > 0, 60000);
  await until("the ready status", async () => (await item.locator(".codicon-check").count()) > 0, 10000);
  seen.restart = "interpreter restored: server restarted, squiggle back";
  step("restart", seen.restart);
  await runCommand("Notifications: Clear All Notifications").catch(() => page.keyboard.press("Escape"));

  // 10. "nnlint: Fix All" from the Command Palette.
  await editor.click({ position: { x: 300, y: 40 } });
  await runCommand("nnlint: Fix All");
  await until("Fix All to fix the line", async () => (await viewLines()).some((l) => l.includes(FIXED)), 20000);
  await until("the squiggle to go away after Fix All", async () => (await squiggle.count()) === 0, 30000);
  seen.fixAllCommand = "nnlint: Fix All fixed the buffer";
  step("fix all", seen.fixAllCommand);

  // 11. editor.codeActionsOnSave with source.fixAll.nnlint: undo, save, fixed on save.
  await editor.click({ position: { x: 300, y: 40 } });
  await page.keyboard.press("Control+Z");
  await until("the squiggle after undo", async () => (await squiggle.count()) > 0, 30000);
  writeWorkspaceSettings({ "editor.codeActionsOnSave": { "source.fixAll.nnlint": "explicit" } });
  await sleep(1000);
  await editor.click({ position: { x: 300, y: 40 } });
  await page.keyboard.press("Control+S");
  await until(
    "the file saved with the fix",
    async () => fs.readFileSync(path.join(workspace, "train.py"), "utf8").includes(FIXED),
    20000,
  );
  seen.fixOnSave = "source.fixAll.nnlint on save wrote the fix to disk";
  step("on save", seen.fixOnSave);

  // 12. A Jupyter notebook: the cell with the bug gets its squiggle and an NN203 problem.
  const nbRow = page.locator(".explorer-folders-view .monaco-list-row", { hasText: "notebook.ipynb" }).first();
  await nbRow.click();
  const cellSquiggle = page.locator(".notebook-editor .monaco-editor .squiggly-warning");
  await until("the squiggle in the notebook cell", async () => (await cellSquiggle.count()) > 0, 60000);
  const nbProblems = await until(
    "the notebook's NN203 in Problems",
    async () => {
      const texts = await problemRows.allInnerTexts();
      return texts.some((t) => t.includes("NN203") && t.includes("Head.forward")) ? texts : false;
    },
    30000,
  );
  seen.notebook = nbProblems.map((t) => t.replace(/\s+/g, " ").trim()).find((t) => t.includes("Head.forward"));
  step("notebook", seen.notebook);
  await page.screenshot({ path: path.join(OUT_DIR, "notebook.png") });

  // 13. The other commands: Debug Information, Show Rule Documentation, Show Logs, Restart Server.
  await runCommand("nnlint: Debug Information");
  const debugText = await until(
    "the debug information document",
    async () => {
      const text = (await viewLines()).join("\n");
      return text.includes('"serverCommand"') && text.includes('"state": "Running"') ? text : false;
    },
    20000,
  );
  // The whole JSON also goes to the log: check the server's own part (its diagnostic mode, rules).
  const serverPart = await until(
    "the server's debug info in the log",
    async () => {
      const file = extensionLogFile();
      const text = file ? fs.readFileSync(file, "utf8") : "";
      return text.includes('"diagnosticMode"') && text.includes('"NN203"') ? true : false;
    },
    10000,
  ).catch(() => false);
  seen.debugInfo =
    debugText.includes(PYTHON) && serverPart
      ? "JSON with the server command and the server's own info"
      : `incomplete: ${debugText.slice(0, 300)}`;
  step("debug information", seen.debugInfo);

  await runCommand("nnlint: Show Rule Documentation");
  const pick = page.locator(".quick-input-widget .monaco-list-row", { hasText: "NN203" }).first();
  await pick.waitFor({ state: "visible", timeout: 15000 });
  await page.locator(".quick-input-widget input").fill("NN203");
  await page.keyboard.press("Enter");
  const docTab = page.locator(".tabs-container .tab", { hasText: "NN203" }).first();
  await docTab.waitFor({ state: "visible", timeout: 20000 });
  seen.ruleDocs = `opened tab "${(await docTab.innerText()).trim()}"`;
  step("rule documentation", seen.ruleDocs);

  await runCommand("nnlint: Show Logs");
  const channel = await until(
    "the nnlint channel in the Output panel",
    async () => {
      const selects = page.locator(".part.panel select.monaco-select-box");
      for (let i = 0; i < (await selects.count()); i++) {
        const chosen = await selects.nth(i).evaluate((el) => (el.selectedIndex >= 0 ? el.options[el.selectedIndex].text : ""));
        if (chosen.trim() === "nnlint") return chosen.trim();
      }
      return false;
    },
    15000,
  );
  const shownLog = await page.locator(".part.panel .monaco-editor .view-lines").first().innerText().catch(() => "");
  seen.showLogs = channel === "nnlint" && shownLog.trim() ? "Output panel shows the nnlint log" : `channel ${channel}`;
  step("show logs", seen.showLogs);

  await runCommand("nnlint: Restart Server");
  const readLog = () => {
    const file = extensionLogFile();
    return file ? fs.readFileSync(file, "utf8") : "";
  };
  const marker = "starting the nnlint server (nnlint: Restart Server)";
  await until(
    "the restarted server to run",
    async () => {
      const text = readLog();
      const at = text.indexOf(marker);
      return at >= 0 && text.indexOf("the nnlint server is running", at) > at;
    },
    30000,
  );
  await until("the status to go back to ready", async () => (await item.locator(".codicon-check").count()) > 0, 10000);
  const restarts = readLog().split(marker).length - 1;
  seen.restartCommand = restarts === 1 ? "restarted, ready again" : `log shows ${restarts} restarts`;
  step("restart command", seen.restartCommand);
}

const FIXED = "F.dropout(x, 0.5, training=self.training)";

async function runCommand(title) {
  // F1 opens the Command Palette; retried because a focused webview (e.g. a Markdown preview)
  // can swallow the first key press.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press("F1");
    const input = page.locator(".quick-input-widget input");
    try {
      await input.waitFor({ state: "visible", timeout: 5000 });
      await input.fill(`>${title}`);
      const row = page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first();
      await row.waitFor({ state: "visible", timeout: 5000 });
      await page.keyboard.press("Enter");
      return;
    } catch (err) {
      if (attempt >= 3) throw err;
      await page.keyboard.press("Escape");
      await page.locator(".part.statusbar").click({ position: { x: 600, y: 5 } }).catch(() => {});
      await sleep(500);
    }
  }
}

// The panel's view titles (Problems, Output...), as shown.
async function panelTitles() {
  const labels = page.locator(".part.panel .composite-bar .action-item .action-label");
  // the aria-label is "<title> (<keybinding>) - <badge>": keep the title
  const labelsText = await labels.evaluateAll((els) => els.map((e) => e.getAttribute("aria-label") || e.textContent || ""));
  return labelsText.map((t) => t.split(" (")[0].trim());
}

// The `locale` the server got in the client's initialize request, as the server reports it: run
// "nnlint: Debug Information", whose JSON (the extension's and the server's own info) goes to the
// extension's log, and read its `server.locale`.
async function initializeLocale() {
  await runCommand("nnlint: Debug Information");
  const info = await until(
    "the debug information in the log",
    async () => {
      const file = extensionLogFile();
      const text = file ? fs.readFileSync(file, "utf8") : "";
      const at = text.indexOf("debug information:\n{");
      if (at < 0) return false;
      const start = text.indexOf("{", at);
      const end = text.indexOf("\n}", start); // JSON.stringify(info, null, 2) closes at column 0
      return end < 0 ? false : JSON.parse(text.slice(start, end + 2));
    },
    20000,
  );
  if (!info.server || typeof info.server !== "object") throw new Error(`no server part in the debug information: ${JSON.stringify(info)}`);
  return info.server.locale ?? null;
}

async function viewLines() {
  return page.locator(".editor-instance .monaco-editor .view-lines .view-line").allInnerTexts().then((ls) =>
    ls.map((l) => l.replace(/\u00a0/g, " ")),
  );
}

const overall = setTimeout(() => finish(false, new Error("overall e2e deadline passed")), Math.max(DEADLINE - Date.now(), 1000) + 15000);
try {
  await run();
  clearTimeout(overall);
  await finish(true);
} catch (err) {
  clearTimeout(overall);
  await finish(false, err);
}
