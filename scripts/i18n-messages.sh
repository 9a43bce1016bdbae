#!/usr/bin/env bash
# The `nnlint` gettext domain (finding messages, related-line notes, check-time fix titles,
# the server's interface strings): extract the template, merge it into each catalog, compile.
#   scripts/i18n-messages.sh            extract + update + compile
#   scripts/i18n-messages.sh compile    only compile the .po files into .mo (after translating)
# Translators edit src/nnlint/locale/<lang>/LC_MESSAGES/nnlint.po; tests/test_i18n_messages.py
# fails while an entry is missing or fuzzy, or the .pot or a .mo is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL=${PYBABEL:-pybabel}
LOCALE=src/nnlint/locale
if [[ "${1:-}" != compile ]]; then
    "$PYBABEL" extract -F babel/nnlint.cfg -k t --no-default-keywords --no-location --omit-header \
        --sort-output -o "$LOCALE/nnlint.pot" .
    "$PYBABEL" update -D nnlint -i "$LOCALE/nnlint.pot" -d "$LOCALE" --ignore-pot-creation-date -w 100
fi
"$PYBABEL" compile -D nnlint -d "$LOCALE" --statistics
