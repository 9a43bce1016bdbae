#!/usr/bin/env bash
# The `nnlint-docs` gettext domain (each rule's summary, fix title and documentation, and the
# fixed strings of the rule pages): extract the template, merge it into each catalog, compile,
# and regenerate the rule pages (docs/rules, docs/<lang>) from the result.
#   scripts/i18n-docs.sh            extract + update + compile + regenerate docs
#   scripts/i18n-docs.sh compile    only compile the .po files into .mo and regenerate docs
# Translators edit src/nnlint/locale/<lang>/LC_MESSAGES/nnlint-docs.po (one Markdown block per
# entry; code blocks are never in the catalog, inline `code` stays as it is, and the Korean
# terms follow src/nnlint/locale/ko/glossary.tsv). tests/test_i18n_docs.py fails while an entry
# is missing or fuzzy, or the .pot or a .mo is stale; tests/test_i18n_glossary.py checks terms.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
PYBABEL=${PYBABEL:-pybabel}
LOCALE=src/nnlint/locale
if [[ "${1:-}" != compile ]]; then
    # the arguments live in nnlint.docs_extract.EXTRACT_ARGS, which the tests run too
    mapfile -t ARGS < <("$PYTHON" -c "from nnlint.docs_extract import EXTRACT_ARGS; print('\n'.join(EXTRACT_ARGS))")
    "$PYBABEL" extract "${ARGS[@]}"
    "$PYBABEL" update -D nnlint-docs -i "$LOCALE/nnlint-docs.pot" -d "$LOCALE" --no-fuzzy-matching --ignore-pot-creation-date -w 76
fi
"$PYBABEL" compile -D nnlint-docs -d "$LOCALE" --statistics
"$PYTHON" -m nnlint.docs
