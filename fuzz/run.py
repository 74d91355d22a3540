"""Run one harness under atheris and libFuzzer: `python -m fuzz.run NAME [libFuzzer flags] [CORPUS_DIR | FILE]...`.

Start it through `bash scripts/fuzz.sh`, which sets up the sanitizer build and the preloaded
runtime; given a file instead of a corpus directory, libFuzzer runs that one input (the
reproducer of a kept crash). The corsfast package's Python code (the pure twin, the shims and
the option checks) is instrumented for coverage as it is imported; the compiled engine is
instrumented by its build.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import atheris

from fuzz.registry import HARNESSES


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in HARNESSES:
        sys.exit(f"usage: python -m fuzz.run NAME [libFuzzer arguments]; NAME is one of {', '.join(HARNESSES)}")
    name = sys.argv[1]
    # Configuration warnings are part of what the options harness compares; elsewhere they are noise.
    warnings.simplefilter("ignore")
    with atheris.instrument_imports(include=["corsfast"]):
        harness = importlib.import_module(HARNESSES[name])
    atheris.Setup([sys.argv[0], *sys.argv[2:]], harness.one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
