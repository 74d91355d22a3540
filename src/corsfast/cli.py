"""The `corsfast` command: `corsfast bench` (side-by-side benchmark), `corsfast check`, `corsfast demo`,
`corsfast --version`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ("main", "version_line")


def version_line() -> str:
    """Return what `corsfast --version` prints: `corsfast X.Y.Z (compiled engine)`, or
    `(pure-Python engine)` when the pure twin answers (`CORSFAST_NO_EXTENSIONS=1`, no compiled
    extension for this interpreter, or not CPython)."""
    from . import NO_EXTENSIONS, __version__

    return f"corsfast {__version__} ({'pure-Python' if NO_EXTENSIONS else 'compiled'} engine)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `corsfast` command and return its exit status."""
    parser = argparse.ArgumentParser(prog="corsfast", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=version_line(), help="print the version and the engine in use, and exit"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, module_name in (("bench", "bench"), ("check", "check"), ("demo", "_demo")):
        try:
            module = importlib.import_module(f"corsfast.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"corsfast.{module_name}":
                raise
            continue
        command = commands.add_parser(name, help=module.__doc__.splitlines()[0] if module.__doc__ else None)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    arguments = parser.parse_args(argv)
    return int(arguments.run(arguments) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
