"""Origin matching helpers and the verdict of an `allow_origin_func`: the twin of
`_engine_c_origins.pxi`."""

from __future__ import annotations

import inspect
import logging

LOGGER = logging.getLogger("corsfast")
_LABEL = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")


def _label_between(origin: bytes, prefix: bytes, suffix: bytes) -> bool:
    """Return True when `origin` is `prefix`, one DNS label (at most 63 letters, digits and
    inner hyphens) and `suffix`."""
    label_end = len(origin) - len(suffix)
    return (
        label_end > len(prefix)
        and label_end - len(prefix) <= 63
        and origin.startswith(prefix)
        and origin.endswith(suffix)
        and _LABEL.issuperset(origin[len(prefix) : label_end])
        and origin[len(prefix)] != 0x2D  # a label starts with a letter or digit
        and origin[label_end - 1] != 0x2D
    )


def _port_start(origin: bytes) -> int:
    """Return the index of the ':' before `origin`'s port when it ends with a decimal port
    1-65535 (no sign, no leading zero), else -1."""
    colon = origin.rfind(b":")
    port = origin[colon + 1 :]
    if colon < 0 or not 1 <= len(port) <= 5 or not port.isdigit() or port[0] == 0x30 or int(port) > 65535:
        return -1
    return colon


def _truth(result: object) -> bool:
    """Return the truth of an `allow_origin_func` result; an awaitable (an async function
    taken for a plain one) is closed and refused with TypeError, never taken as true."""
    if result is True or result is False:
        return result
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "never awaited" warning
        raise TypeError(
            f"allow_origin_func returned an awaitable ({type(result).__name__}); "
            "declare the function with async def so that it is awaited"
        )
    return bool(result)


def _log_failure(origin: bytes, error: BaseException) -> None:
    """Log an exception of `allow_origin_func` (the origin is refused for this request only)."""
    LOGGER.error(
        "allow_origin_func raised for Origin %r; the origin is refused for this request",
        origin.decode("latin-1"),
        exc_info=error,
    )
