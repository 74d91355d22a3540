"""Declare the compiled engine; everything else about the package is in pyproject.toml.

CORSFAST_NO_EXTENSIONS (anything but "" or "0") builds a pure `py3-none-any` wheel, as it
selects the pure engine at run time. CORSFAST_CYTHON_TRACING builds with line tracing for
coverage of the .pyx; CORSFAST_CYTHON_ANNOTATE writes the `cython -a` HTML beside it.
CORSFAST_SANITIZE=thread (or another of the compiler's -fsanitize= values) builds the engine
with that sanitizer, debug information and -O1 instead of -O3 (scripts/tsan.sh).
"""

import os
import sys

from setuptools import Extension, setup


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


NO_EXTENSIONS = _flag("CORSFAST_NO_EXTENSIONS") or sys.implementation.name != "cpython"


def _extensions() -> list:
    from Cython.Build import cythonize

    directives = {"language_level": 3, "embedsignature": True, "freethreading_compatible": True}
    macros = []
    if _flag("CORSFAST_CYTHON_TRACING"):  # coverage of .pyx lines; never in release wheels
        directives.update(linetrace=True, profile=True)
        macros.append(("CYTHON_TRACE_NOGIL", "1"))
    compile_args = [] if os.name == "nt" else ["-O3"]
    link_args = []
    sanitizer = os.environ.get("CORSFAST_SANITIZE", "")
    if sanitizer:  # readable stacks in the sanitizer's reports; never in release wheels
        compile_args = ["-g", "-O1", "-fno-omit-frame-pointer", f"-fsanitize={sanitizer}"]
        link_args = [f"-fsanitize={sanitizer}"]
    extension = Extension(
        "corsfast._engine_c",
        ["src/corsfast/_engine_c.pyx"],
        define_macros=macros,
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    return cythonize([extension], compiler_directives=directives, annotate=_flag("CORSFAST_CYTHON_ANNOTATE"))


print("*** corsfast: pure-Python build ***" if NO_EXTENSIONS else "*** corsfast: compiled build ***", file=sys.stderr)
setup(ext_modules=[] if NO_EXTENSIONS else _extensions())
