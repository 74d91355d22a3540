"""The live middlewares by name, for `corsfast.stats()` and the metrics exporters."""

from __future__ import annotations

import re
import threading
import weakref
from typing import Any, Optional

from .stats import CORSStats

__all__ = ("register", "stats", "valid_name")

_live: dict[str, weakref.ReferenceType[Any]] = {}
_lock = threading.Lock()
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def valid_name(option: str, name: object) -> Optional[str]:
    """Return `name` when it is None or a valid middleware name; ValueError or TypeError if not."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"{option} must be a str, got {type(name).__name__} ({name!r})")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"{option} must be 1 to 64 letters, digits or any of _ . : - (it names the middleware "
            f"in corsfast.stats() and in metrics labels), got {name!r}"
        )
    return name


def register(owner: Any, name: str) -> str:
    """Return the name `owner` is known by in `corsfast.stats()`: `name`, or `name-2`,
    `name-3`… when a live middleware already has it. `owner` is held weakly."""
    ref = weakref.ref(owner)
    with _lock:
        # No weakref callbacks: one could run (from the garbage collector) while this thread
        # holds the lock. The dead are dropped here instead, so the table holds the live.
        for dead in [key for key, value in _live.items() if value() is None]:
            del _live[dead]
        taken = name
        n = 1
        while taken in _live:
            n += 1
            taken = f"{name}-{n}"
        _live[taken] = ref
        return taken


def stats() -> dict[str, CORSStats]:
    """Return every live middleware's `stats()`, keyed by its name, in name order."""
    with _lock:
        entries = list(_live.items())
    owners = [(name, ref()) for name, ref in entries]
    return {name: owner.stats() for name, owner in sorted(owners, key=lambda item: item[0]) if owner is not None}
