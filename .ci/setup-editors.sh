#!/usr/bin/env bash
# Editors for the end-to-end tests (tests/e2e): Debian's Neovim. Idempotent and quick when
# already installed; run as root on a possibly fresh Debian machine (CI), skipped elsewhere.
set -euo pipefail
if command -v nvim >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup-editors: no apt-get; the Neovim test will be skipped" >&2
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "setup-editors: not root and no sudo; the Neovim test will be skipped" >&2
        exit 0
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends neovim >/dev/null
nvim --version | head -1
