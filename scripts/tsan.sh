#!/usr/bin/env bash
# Run the thread stress tests under ThreadSanitizer, on free-threaded CPython 3.14t without
# the GIL, and count the races TSan reports in corsfast's compiled engine.
#
#   bash scripts/tsan.sh                         the default run (below)
#   bash scripts/tsan.sh tests/test_x.py -k y    pytest with these arguments
#   bash scripts/tsan.sh scripts/tsan_stress.py --seconds 20   a script with its arguments
#
# Default: `tests/test_free_threading.py -m threads -p no:cacheprovider` (but its memory
# test) when that file exists, else scripts/tsan_stress.py. Sets up, idempotently: CPython 3.14.7 free-threaded
# built with --with-thread-sanitizer (by ../shared/tools/freethreaded-python.sh, with clang,
# once: about an hour on 2 cores) in $CORSFAST_TSAN_PREFIX (default
# ~/.cache/corsfast/cpython-3.14.7t-tsan), a virtual environment .venv-tsan from it with what
# the stress tests need, and the engine built with -fsanitize=thread (again when a file of
# src/corsfast or setup.py changed). TSan's reports go to .tsan/ (scripts/tsan.supp holds
# CPython's own races); scripts/tsan_report.py then prints each report with a frame in the
# engine and the counts. The last line: `tsan: C corsfast reports, O other reports (R in all)`;
# the exit status is 1 when C is not zero (CORSFAST_TSAN_REPORT_ONLY=1: 0) or the run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv-tsan
PY=$VENV/bin/python
PREFIX=${CORSFAST_TSAN_PREFIX:-$HOME/.cache/corsfast/cpython-3.14.7t-tsan}
SHARED=${CORSFAST_SHARED:-$ROOT/../shared}
LOGS=$ROOT/.tsan

log() { echo "tsan: $*" >&2; }

# While setting up, the sanitized interpreter reports nothing and exits as usual: pip and
# the compiler driver are not what is tested.
export TSAN_OPTIONS="report_bugs=0 exitcode=0"

# -- the interpreter ------------------------------------------------------------------------
if [ ! -x "$PREFIX/bin/python3.14t" ]; then
  # CPython's own TSan CI builds with clang; gcc's -fsanitize=thread works as well.
  cc=gcc
  command -v clang >/dev/null 2>&1 && cc=clang
  log "building CPython 3.14.7t with ThreadSanitizer ($cc) into $PREFIX; this takes long"
  CC=${CC:-$cc} CORSFAST_FT_CONFIGURE="--with-thread-sanitizer" \
    bash "$SHARED/tools/freethreaded-python.sh" "$PREFIX" >/dev/null
fi
"$PREFIX/bin/python3.14t" -c 'import sys, sysconfig
assert not sys._is_gil_enabled(), "the GIL is enabled"
assert "--with-thread-sanitizer" in sysconfig.get_config_var("CONFIG_ARGS"), "not a TSan build"' \
  || { log "$PREFIX is not a free-threaded ThreadSanitizer build"; exit 2; }

# -- the environment --------------------------------------------------------------------------
pip_install() {
  # This machine's pip configuration names local indexes that may be absent; drop those notes.
  "$PY" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}
if [ ! -x "$PY" ]; then
  log "creating $VENV"
  "$PREFIX/bin/python3.14t" -m venv "$VENV"
  pip_install -U pip setuptools wheel "Cython>=3.1,<4" "pytest>=8" "hypothesis>=6.100"
  # The frameworks the stress tests drive, each as tests/ pins it; one that does not install
  # on 3.14t only leaves its tests skipped.
  for requirement in "starlette==1.10.0" httpx "flask<3.2" "flask-cors==6.0.5" django \
    "django-cors-headers==4.9.0" "kui==1.15.0"; do
    pip_install "$requirement" || log "not installed: $requirement (its tests skip)"
  done
fi
stamp=$VENV/.corsfast-built
changed() {  # a source file of the package newer than the last build (not Cython's output)
  find src/corsfast setup.py -newer "$stamp" -type f \( -name '*.py' -o -name '*.pyx' -o -name '*.pxi' \) | head -n 1
}
if [ ! -f "$stamp" ] || [ -n "$(changed)" ]; then
  log "building the engine with -fsanitize=thread"
  CORSFAST_SANITIZE=thread pip_install --no-deps --no-build-isolation --force-reinstall .
  touch "$stamp"
fi

# -- the run ----------------------------------------------------------------------------------
if [ $# -eq 0 ]; then
  if [ -f tests/test_free_threading.py ]; then
    # The memory test skips itself here: under TSan the process grows with the sanitizer's
    # own shadow memory and synchronization records, whatever the code under test does.
    set -- tests/test_free_threading.py -m threads -p no:cacheprovider
  else
    set -- scripts/tsan_stress.py
  fi
fi
rm -rf "$LOGS" && mkdir -p "$LOGS"
# halt_on_error=0: every report, not only the first; exitcode=0: the run's own status is the
# tests' (the reports are counted below); suppressions: CPython's own races only.
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 exitcode=0 suppressions=$ROOT/scripts/tsan.supp log_path=$LOGS/report"
export PYTHON_GIL=0
status=0
if [[ "$1" == *.py && "$1" != tests/* ]]; then
  log "running $*"
  "$PY" "$@" || status=$?
else
  log "running pytest $*"
  "$PY" -m pytest "$@" || status=$?
fi
shopt -s nullglob
reports=("$LOGS"/report.*)
log "TSan's reports: ${#reports[@]} log file(s) in $LOGS"
verdict=0
"${PYTHON:-python3}" scripts/tsan_report.py "${reports[@]}" || verdict=$?
[ "$status" -eq 0 ] || { log "the run failed (exit status $status)"; exit "$status"; }
exit "$verdict"
