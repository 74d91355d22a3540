#!/usr/bin/env bash
# Set up everything corsfast needs on a fresh machine, idempotently: system packages
# (Chromium for the browser tests, wrk for the load benchmark, Graphviz for the docs'
# diagrams), a virtual environment in .venv, the compiled package and the test and benchmark
# dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not installing ${missing[*]} (needs root and apt-get); browser tests will be skipped" >&2
  fi
fi

pip_install() {
  # This machine's pip configuration names local indexes that may be absent; drop those notes.
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
pip_install -U "pip>=25.1" setuptools wheel
# Build and install the package itself: this compiles the engine (unless
# CORSFAST_NO_EXTENSIONS is set, which builds the pure-Python wheel).
pip_install --force-reinstall --no-deps .
pip_install --group test --group bench --group typing --group build --group lint --group docs ".[bench]"
if [ "${CORSFAST_NO_EXTENSIONS:-}" = "" ] || [ "${CORSFAST_NO_EXTENSIONS}" = "0" ]; then
  .venv/bin/python -c "import corsfast._engine_c"  # the compiled engine must be there
fi
