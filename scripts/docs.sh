#!/usr/bin/env bash
# Build the documentation site strictly (a broken link, a missing reference or any warning
# fails) into site/, or into the directory given as the first argument. Sets up .venv first
# when it has no MkDocs; PYTHON=... builds with another interpreter that has the docs group.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  PYTHON=.venv/bin/python
  "$PYTHON" -c "import mkdocs, material, mkdocstrings" 2>/dev/null || bash scripts/setup.sh
fi
# Material 9.7+ prints a banner about its end of life and MkDocs 2.0 on every build.
export NO_MKDOCS_2_WARNING=${NO_MKDOCS_2_WARNING:-1}
exec "$PYTHON" -m mkdocs build --strict --site-dir "${1:-site}"
