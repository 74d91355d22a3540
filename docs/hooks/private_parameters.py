"""Griffe extension for the API reference: leave private parameters (`_engine=`) out of signatures.

The shims take a private `_engine` keyword for the tests and benchmarks, which compare both
engines in one process; it is not part of the public API, so the reference does not show it.
"""

from __future__ import annotations

from typing import Any

import griffe


class HidePrivateParameters(griffe.Extension):
    """Drop the parameters whose name starts with one underscore from every function."""

    def on_function_instance(self, *, node: Any, func: griffe.Function, agent: Any, **kwargs: Any) -> None:
        for parameter in list(func.parameters):
            if parameter.name.startswith("_") and not parameter.name.startswith("__"):
                del func.parameters[parameter.name]
