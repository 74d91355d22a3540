#!/usr/bin/env bash
# Set up (idempotently) and run the whole test suite on every core (pytest-xdist: `-n auto`;
# each file runs in one worker, so its fixtures are made once; `-n 0` runs in one process). With
# CORSFAST_NO_EXTENSIONS=1 the shims run on the pure-Python engine and the compiled-only tests
# are left out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n auto --dist loadfile "$@"
