"""The one place that picks the engine: compiled `_engine_c`, or the pure `_engine_py` twin.

`CORSFAST_NO_EXTENSIONS` set to anything but "" or "0", a non-CPython interpreter, or a
missing extension selects the pure twin. Type checkers always see the annotated twin.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

NO_EXTENSIONS = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0") or (sys.implementation.name != "cpython")

if TYPE_CHECKING or NO_EXTENSIONS:
    from . import _engine_py as engine
else:
    try:
        from . import _engine_c as engine
    except ImportError:  # pragma: no cover - only without a built extension
        from . import _engine_py as engine

        NO_EXTENSIONS = True

__all__ = ("NO_EXTENSIONS", "engine")
