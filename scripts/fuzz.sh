#!/usr/bin/env bash
# Coverage-guided, differential fuzzing of the compiled engine under sanitizers (fuzz/README.md).
#
#   bash scripts/fuzz.sh [SECONDS]              every harness for SECONDS each (default 60)
#   bash scripts/fuzz.sh [SECONDS] NAME...      only the named harnesses (fuzz/registry.py)
#   bash scripts/fuzz.sh repro FILE             rerun one kept crash input (.fuzz/crashes/NAME/...)
#
# Sets up, idempotently: clang and its sanitizer runtimes (apt-get, when root), a virtual
# environment in .fuzz-venv with atheris (the `fuzz` dependency group), the engine built with
# -fsanitize=address,undefined,fuzzer-no-link into it, and one shared object holding the
# AddressSanitizer runtime and libFuzzer, preloaded so the extension's edges reach the fuzzer.
# Each harness starts from a seed corpus made from the test cases; a crash or a difference
# between the engines is kept under .fuzz/crashes/NAME/ with the command that reproduces it.
# The last line: `fuzz: H harnesses, E executions, F features, C crashes, D differences`;
# the exit status is 1 when C or D is not zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.fuzz-venv
WORK=$ROOT/.fuzz
PY=$VENV/bin/python

log() { echo "fuzz: $*" >&2; }

# -- clang and its runtimes -----------------------------------------------------------------
runtime_dir() {
  command -v clang >/dev/null 2>&1 || return 1
  local dir
  dir="$(clang -print-resource-dir)/lib/linux"
  [ -f "$dir/libclang_rt.asan-x86_64.a" ] && [ -f "$dir/libclang_rt.fuzzer_no_main-x86_64.a" ] || return 1
  echo "$dir"
}
if ! RT=$(runtime_dir); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "apt-get install clang and its sanitizer runtimes"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Debian 12 ships the runtimes apart from clang (libclang-rt-14-dev); later releases too.
    apt-get install -y -qq --no-install-recommends clang >/dev/null
    rt=$(apt-cache search --names-only '^libclang-rt-[0-9]+-dev$' | awk '{print $1}' \
      | grep "^libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev$" || true)
    [ -n "$rt" ] && apt-get install -y -qq --no-install-recommends "$rt" >/dev/null
  fi
  RT=$(runtime_dir) || { log "needs clang with its ASan and libFuzzer runtimes (apt-get install clang libclang-rt-14-dev)"; exit 2; }
fi

# -- the virtual environment ----------------------------------------------------------------
pip_install() {
  "$PY" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location 'file:" >&2)
}
mkdir -p "$WORK"
if [ ! -x "$PY" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
  pip_install -U "pip>=25.1"
fi
if [ ! -f "$WORK/deps.stamp" ] || ! cmp -s <(grep -A3 '^fuzz = ' pyproject.toml) "$WORK/deps.stamp"; then
  pip_install --group fuzz
  grep -A3 '^fuzz = ' pyproject.toml >"$WORK/deps.stamp"
fi

# -- ASan + UBSan runtime and libFuzzer in one preloadable object ----------------------------
PRELOAD=$WORK/asan_with_fuzzer.so
if [ ! -f "$PRELOAD" ]; then
  log "building $PRELOAD from $RT"
  tmp=$(mktemp -d)
  cp "$RT/libclang_rt.asan-x86_64.a" "$tmp/asan.a"
  # The preinit object registers ASan's init in .preinit_array, which a shared object may not have.
  ar d "$tmp/asan.a" asan_preinit.cpp.o
  clang++ -shared -o "$PRELOAD" -Wl,--whole-archive "$tmp/asan.a" "$RT/libclang_rt.fuzzer_no_main-x86_64.a" \
    -Wl,--no-whole-archive -lpthread -ldl -lm -lrt -lstdc++
  rm -rf "$tmp"
fi

# -- the engine, built with sanitizers and coverage into .fuzz-venv -------------------------
SANITIZE="-fsanitize=address,undefined,fuzzer-no-link"
stamp=$( (echo "$SANITIZE"; clang --version | head -1;
  find src pyproject.toml setup.py -type f \( -name '*.py' -o -name '*.pyx' -o -name '*.pxi' -o -name '*.toml' \) \
    | LC_ALL=C sort | xargs sha1sum) | sha1sum | cut -c1-16)
if [ "$(cat "$WORK/build.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the engine with $SANITIZE"
  # A copy of the tree, so no object file is shared with the ordinary build in build/.
  tmp=$(mktemp -d)
  cp -r pyproject.toml setup.py README.md LICENSE MANIFEST.in src "$tmp/"
  rm -f "$tmp"/src/corsfast/_engine_c.c "$tmp"/src/corsfast/*.so
  CC=clang CFLAGS="$SANITIZE -fno-omit-frame-pointer -g -O1" LDSHARED="clang -shared $SANITIZE" \
    pip_install --no-deps --force-reinstall "$tmp"
  rm -rf "$tmp"
  echo "$stamp" >"$WORK/build.stamp"
fi

export LD_PRELOAD=$PRELOAD
# Python objects through malloc, so AddressSanitizer sees every object's bounds and lifetime.
export PYTHONMALLOC=malloc
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0:handle_abort=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONPATH=$ROOT
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
# An ASan build of CPython would report its own code; only the extension is instrumented.
"$PY" -c "import corsfast._engine_c as c, corsfast._engine as e; assert not e.NO_EXTENSIONS, e" || {
  log "the sanitizer build of the engine does not import"
  exit 2
}

if [ "${1:-}" = repro ]; then
  file=${2:?usage: bash scripts/fuzz.sh repro FILE}
  name=$(basename "$(dirname "$file")")
  exec "$PY" -m fuzz.run "$name" "$file"
fi

SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
exec "$PY" -m fuzz.campaign --seconds "$SECONDS_EACH" --work "$WORK" "$@"
