#!/usr/bin/env bash
# Install nnlint and run it on the bundled example training scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet .
nnlint check examples/ || [ $? -eq 1 ]
