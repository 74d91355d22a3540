"""The `corsfast` command: `corsfast bench` (side-by-side benchmark), `corsfast check`, `corsfast demo`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `corsfast` command and return its exit status."""
    parser = argparse.ArgumentParser(prog="corsfast", description=__doc__)
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
