"""`RefusalLog`: the rate-limited log lines of CORS refusals, every request-derived value
escaped so that no request can forge a line."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional, Union

from .reasons import REASON_IDS

__all__ = ("RefusalLog", "escape")

_PRINTABLE = frozenset(range(0x20, 0x7F)) - {0x5C}  # printable ASCII, but the backslash
_MAX_KEYS = 4096
"""Distinct (reason, origin, detail) kept at most; past it they are all forgotten at once."""


def escape(value: Union[bytes, str], limit: int) -> str:
    """Return `value` as printable ASCII: each other byte (or character) as a backslash escape
    (`\\x0d`, `\\u2028`), a backslash doubled, cut to `limit` characters of the original and
    marked with `...` when it was longer. A str is escaped by character, bytes by byte."""
    cut = len(value) > limit
    if cut:
        value = value[:limit]
    if isinstance(value, bytes):
        text = "".join(chr(b) if b in _PRINTABLE else ("\\\\" if b == 0x5C else f"\\x{b:02x}") for b in value)
    else:
        text = "".join(
            c if ord(c) in _PRINTABLE else ("\\\\" if c == "\\" else c.encode("unicode_escape").decode("ascii"))
            for c in value
        )
    return text + "..." if cut else text


class RefusalLog:
    """Logs one INFO line per distinct (reason, origin, detail) at most once per `interval`
    seconds on `logger`, saying how many like it were left out since the last line.

    `note()` first asks whether the logger takes INFO lines at all, and returns at once when
    it does not: a refusal costs that one check while the logger is off. Memory is bounded:
    at most 4,096 distinct refusals are remembered, then all are forgotten at once.
    """

    __slots__ = ("_clock", "_interval", "_limit", "_lock", "_logger", "_seen", "_what")

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 60.0,
        limit: int = 2048,
        what: str = "refused",
        clock: Optional[Callable[[], float]] = None,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval >= 0:
            raise ValueError(f"the log interval must be a number of seconds >= 0, got {interval!r}")
        self._logger = logger
        self._interval = float(interval)
        self._limit = limit
        self._what = what
        self._clock = time.monotonic if clock is None else clock
        self._seen: dict[tuple[str, Union[bytes, str], Optional[str]], list[float]] = {}
        """(reason, origin, detail) -> [when its last line was logged, how many left out since]."""
        self._lock = threading.Lock()

    def offer(
        self,
        reason: int,
        origin: Union[bytes, str],
        detail_name: Optional[str],
        detail: Union[bytes, str, None],
        held: int = 0,
    ) -> None:
        """`note()` for the reason number `reason`: the log a `RefusedOrigins` calls."""
        self.note(REASON_IDS[reason], origin, detail_name, detail, held)

    def note(
        self,
        reason: str,
        origin: Union[bytes, str],
        detail_name: Optional[str] = None,
        detail: Union[bytes, str, None] = None,
        held: int = 0,
    ) -> None:
        """Log the refusal of `origin` for `reason` (with what was refused: `detail_name` such
        as "method" or "header", and its `detail`), unless one like it was logged less than
        the interval ago, in which case it is counted to be reported with the next line;
        `held` more like it were left out before reaching here (`RefusedOrigins` holds back
        the repeats of one it offered less than the interval ago)."""
        logger = self._logger
        if not logger.isEnabledFor(logging.INFO):
            return
        limit = self._limit
        # Keyed on what the line shows: a longer origin is remembered cut to the limit.
        key = (reason, origin[:limit], None if detail is None else f"{detail_name}={escape(detail, limit)}")
        now = self._clock()
        with self._lock:
            seen = self._seen
            last = seen.get(key)
            if last is not None and now - last[0] < self._interval:
                last[1] += 1 + held
                return
            suppressed = held + (0 if last is None else int(last[1]))
            if last is None and len(seen) >= _MAX_KEYS:
                seen.clear()
            seen[key] = [now, 0]
        origin_text = escape(origin, self._limit)
        if key[2] is None:
            logger.info(
                "CORS %s %s: origin=%s (%d more since the last line)", self._what, reason, origin_text, suppressed
            )
        else:
            logger.info(
                "CORS %s %s: origin=%s %s (%d more since the last line)",
                self._what,
                reason,
                origin_text,
                key[2],
                suppressed,
            )
