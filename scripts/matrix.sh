#!/usr/bin/env bash
# The peer version matrix (scripts/matrix.py): each drop-in's tests against several releases of
# the package it replaces, on both engines. `--ci` (the default) runs the representative set,
# `--all` every cell, `--peer NAME` or `--cell NAME` some; `--list` shows them.
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" scripts/matrix.py "$@"
