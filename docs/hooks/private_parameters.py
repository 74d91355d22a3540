"""Griffe extension for the API reference: signatures as a user calls them.

- Private parameters (`_engine=`) are left out: the shims take a private `_engine` keyword for
  the tests and benchmarks, which compare both engines in one process; it is not part of the
  public API.
- A default written as a constant's name (`cache_size=DEFAULT_CACHE_SIZE`) shows the value
  itself (`cache_size=4096`), read from the imported function, since the constant is private
  or defined elsewhere and the reader wants the number.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any

import griffe

NAME = re.compile(r"[A-Za-z_][\w.]*")
LITERALS = {"None", "True", "False", "Ellipsis"}


class HidePrivateParameters(griffe.Extension):
    """Drop the parameters whose name starts with one underscore, and show named defaults' values."""

    def on_function_instance(self, *, node: Any, func: griffe.Function, agent: Any, **kwargs: Any) -> None:
        for parameter in list(func.parameters):
            if parameter.name.startswith("_") and not parameter.name.startswith("__"):
                del func.parameters[parameter.name]
        named = [p for p in func.parameters if p.default is not None and NAME.fullmatch(str(p.default))]
        named = [p for p in named if str(p.default) not in LITERALS]
        if not named:
            return
        runtime = runtime_object(func.path)
        if runtime is None:
            return
        try:
            signature = inspect.signature(runtime)
        except (TypeError, ValueError):
            return
        for parameter in named:
            found = signature.parameters.get(parameter.name)
            if found is not None and is_literal(found.default):
                parameter.default = repr(found.default)

    def on_attribute_instance(self, *, node: Any, attr: griffe.Attribute, agent: Any, **kwargs: Any) -> None:
        # A class attribute's value is a dataclass field's default: its `__init__` shows it.
        if not attr.parent or not attr.parent.is_class or attr.value is None:
            return
        if not NAME.fullmatch(str(attr.value)) or str(attr.value) in LITERALS:
            return
        value = runtime_object(attr.path)
        if is_literal(value):
            attr.value = repr(value)


def is_literal(value: Any) -> bool:
    """Return True for a value whose repr reads as the Python literal that makes it."""
    if isinstance(value, (tuple, list, frozenset)):
        return all(is_literal(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str, bytes))


def runtime_object(path: str) -> Any:
    """Return the imported object at a dotted path (`package.module.Class.method`), or None."""
    parts = path.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = inspect.getattr_static(obj, attribute)
        except AttributeError:
            return None
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        return obj
    return None
