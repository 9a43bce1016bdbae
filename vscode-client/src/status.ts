// Status bar text for each server state (no `vscode` import: tested with node's test runner).

export type ServerState = "starting" | "ready" | "error" | "stopped";

export interface StatusView {
  text: string;
  tooltip: string;
  /** "error" and "warning" map to the status bar's error/warning background. */
  background?: "error" | "warning";
}

export function statusView(state: ServerState, detail?: string): StatusView {
  const more = detail ? `\n${detail}` : "";
  switch (state) {
    case "starting":
      return { text: "$(loading~spin) nnlint", tooltip: `nnlint: starting the language server${more}\nClick to show the log` };
    case "ready":
      return { text: "$(check) nnlint", tooltip: `nnlint: ready${more}\nClick to show the log` };
    case "error":
      return { text: "$(error) nnlint", tooltip: `nnlint: not running${more}\nClick to show the log`, background: "error" };
    default:
      return { text: "$(circle-slash) nnlint", tooltip: `nnlint: stopped${more}\nClick to show the log`, background: "warning" };
  }
}
