#!/usr/bin/env bash
# The test suite on free-threaded CPython 3.14t with the GIL off, on the compiled engine.
#
#   bash scripts/freethreaded.sh [PYTEST ARGS...]     e.g. -x, -k threads, tests/test_asgi.py
#
# The interpreter: $PYTHON if set (it must be a free-threaded build; CI's `3.14t`), else the
# one ../shared/tools/freethreaded-python.sh (beside the repository) builds from the vendored
# CPython source, once (7-15 minutes on 2 cores), then finds at once. Without that script the
# job is skipped with a message, or fails when CI=true.
#
# Sets up, idempotently: a virtual environment in .venv-ft, corsfast built from the checkout
# (compiled engine; rebuilt when a source file changes) and the `test` dependency group. Every
# package of the group installs on 3.14t: those with compiled parts (uvloop, httptools,
# watchfiles and websockets for uvicorn[standard], granian, pydantic-core for FastAPI and Kui,
# PyYAML, MarkupSafe) publish cp314t wheels, and none of them turns the GIL back on. A package
# that stops installing there fails the job rather than quietly skipping its tests.
#
# Then it fails unless importing every corsfast module (a drop-in whose framework is missing
# is named and left out) leaves the GIL off with the compiled engine selected, and runs the
# suite with PYTHON_GIL=0 on every core, like scripts/test.sh. Left out (-m): browser, load,
# packaging and docs tests, which need Chromium, wrk, fresh package builds or MkDocs and run
# in their own CI jobs on the regular interpreter; they exercise no engine code that the rest
# of the suite does not, and with them the job would take minutes longer.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv-ft
PY=$VENV/bin/python

log() { echo "freethreaded: $*" >&2; }

# -- the interpreter ------------------------------------------------------------------------
if [ -z "${PYTHON:-}" ]; then
  builder=$(dirname "$ROOT")/shared/tools/freethreaded-python.sh
  if [ ! -f "$builder" ]; then
    message="no free-threaded interpreter: set PYTHON to a CPython 3.14t, or put the builder at $builder"
    if [ "${CI:-}" = true ]; then
      log "$message"
      exit 1
    fi
    log "skipped: $message"
    exit 0
  fi
  PYTHON=$(bash "$builder" | tail -n 1)
fi
if ! "$PYTHON" -c 'import sys, sysconfig; sys.exit(not sysconfig.get_config_var("Py_GIL_DISABLED"))'; then
  log "$PYTHON is not a free-threaded build (configure --disable-gil, or python3.14t)"
  exit 1
fi

# -- the virtual environment ----------------------------------------------------------------
pip_install() {
  # This machine's pip configuration names local indexes that may be absent; drop those notes.
  "$PY" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}
interpreter="$("$PYTHON" -c 'import sys; print(sys.executable, sys.version)')"
if [ ! -x "$PY" ] || [ "$(cat "$VENV/interpreter" 2>/dev/null)" != "$interpreter" ]; then
  log "creating .venv-ft with $interpreter"
  "$PYTHON" -m venv --clear "$VENV"
  echo "$interpreter" >"$VENV/interpreter"
fi
# Build without isolation (no fresh Cython and setuptools for every build): the venv gets the
# build requirements of pyproject.toml itself.
mapfile -t build_requires < <("$PY" -c 'import tomllib
print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")')
pip_install -U "pip>=25.1" "${build_requires[@]}"
sources=$(find setup.py pyproject.toml MANIFEST.in src -type f \
  ! -name '*.so' ! -name '*.c' ! -name '*.html' ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha1sum | sha1sum)
if [ "$(cat "$VENV/corsfast.stamp" 2>/dev/null)" != "$sources" ] \
  || ! (cd "$VENV" && "$PY" -c 'import corsfast._engine_c') 2>/dev/null; then
  log "building corsfast with the compiled engine"
  (unset CORSFAST_NO_EXTENSIONS; pip_install --force-reinstall --no-deps --no-build-isolation .)
  echo "$sources" >"$VENV/corsfast.stamp"
fi
pip_install --group test

# The compiled engine, whatever the caller's environment says (the twin still runs through
# the tests' "py" parameters).
unset CORSFAST_NO_EXTENSIONS

# -- the GIL stays off ----------------------------------------------------------------------
# Without PYTHON_GIL, so an extension module that does not declare free-threading support
# would turn the GIL on at import, as it would for a user. Run outside the checkout.
(cd "$VENV" && env -u PYTHON_GIL "$PY" - <<'EOF'
import importlib
import pkgutil
import sys

import corsfast

left_out = []
for info in pkgutil.walk_packages(corsfast.__path__, "corsfast."):
    if info.name.rpartition(".")[2] == "__main__":
        continue  # runs the command line
    try:
        importlib.import_module(info.name)
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] == "corsfast":
            raise
        left_out.append(f"{info.name} (needs {exc.name})")
        continue
    if sys._is_gil_enabled():
        sys.exit(f"freethreaded: importing {info.name} turned the GIL on")
if corsfast.NO_EXTENSIONS:
    sys.exit("freethreaded: corsfast selected the pure-Python engine, not the compiled one")
imported = sorted(name for name in sys.modules if name.startswith("corsfast"))
print(f"freethreaded: {len(imported)} corsfast modules imported, GIL off, compiled engine", file=sys.stderr)
for name in left_out:
    print(f"freethreaded: left out {name}", file=sys.stderr)
EOF
)

# -- the tests ------------------------------------------------------------------------------
PYTHON_GIL=0 exec "$PY" -m pytest -n auto --dist loadfile \
  -m "not browser and not load and not packaging and not docs" "$@"
