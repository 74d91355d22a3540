"""The per-request counts of CORS decisions (twin of `_engine_c_counts.pxi`)."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from typing import Callable, Optional, Union

from .._observe.reasons import REASONS

__all__ = ("DecisionCounts", "RefusedOrigins", "counted")

N_REASONS = len(REASONS)
MAX_QUIET_KEYS = 4096  # as the log's own table (corsfast._observe.log)


def counted(counter: itertools.count[int]) -> int:
    """Return how many numbers `counter` (an `itertools.count()` from 0) has handed out.

    The cache statistics count with `next(counter)`, one atomic step even without the GIL
    (CPython 3.14t), where `self._hits += 1` could lose increments between threads; a
    count's repr is `count(N)`, N the next number, so N calls were made.
    """
    return int(repr(counter)[6:-1])


class DecisionCounts:
    """Counts of CORS decisions by kind (0 simple, 1 preflight) and reason number, and of a
    report-only policy's differences (0 would refuse, 1 would allow).

    Each count is a `next()` on an `itertools.count`, one atomic step even without the GIL,
    so counts stay exact under threads; `add` of more than one takes a lock.
    """

    __slots__ = ("_added", "_counts", "_lock", "_report")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def count(self, kind: int, reason: int) -> None:
        next(self._counts[kind][reason])

    def count_report(self, refuse: bool) -> None:
        next(self._report[0 if refuse else 1])

    def add(self, kind: int, reason: int, n: int = 1) -> None:
        """Count `n` more decisions of `kind` for `reason`."""
        if not (0 <= kind < 2 and 0 <= reason < N_REASONS) or n < 0:
            raise ValueError(f"no such count: kind {kind}, reason {reason}, n {n}")
        with self._lock:
            self._added[kind * N_REASONS + reason] += n

    def add_report(self, refuse: bool, n: int = 1) -> None:
        """Count `n` more requests the report-only policy would refuse (or, not `refuse`, allow)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        with self._lock:
            self._added[2 * N_REASONS + (0 if refuse else 1)] += n

    def counts(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Return `(simple, preflight)`: each a tuple of counts indexed by reason number."""
        added = self._added
        simple, preflight = (
            tuple(counted(self._counts[kind][reason]) + added[kind * N_REASONS + reason] for reason in range(N_REASONS))
            for kind in range(2)
        )
        return simple, preflight

    def report(self) -> tuple[int, int]:
        """Return `(would_refuse, would_allow)`."""
        base = 2 * N_REASONS
        return counted(self._report[0]) + self._added[base], counted(self._report[1]) + self._added[base + 1]

    def reset(self) -> None:
        """Set every count to zero."""
        with self._lock:
            self._counts = [[itertools.count() for _ in range(N_REASONS)] for _ in range(2)]
            self._report = [itertools.count(), itertools.count()]
            self._added = [0] * (2 * N_REASONS + 2)


class RefusedOrigins:
    """The refused origins seen most often, with their counts, in memory that never grows past
    `k` origins (space-saving: a new origin takes the place of the least counted one and
    inherits its count), and the gate of the rate-limited refusal log.

    `note()` is the refusal path: the count under the object's lock, then one
    `isEnabledFor(INFO)` check of `logger`, and only when it passes is
    `log(reason, origin, detail_name, detail, held)` called: once per (reason, origin,
    detail) per `interval` seconds (0: every time), `held` saying how many like it were held
    back since.
    """

    __slots__ = ("_clock", "_counts", "_interval", "_k", "_limit", "_lock", "_log", "_logger", "_quiet")

    def __init__(
        self, k: int, limit: int, logger: logging.Logger, log: Callable[..., object], interval: float = 0.0
    ) -> None:
        if k < 1 or limit < 1:
            raise ValueError(f"k and limit must be >= 1, got {k} and {limit}")
        if not interval >= 0.0:
            raise ValueError(f"interval must be >= 0, got {interval}")
        self._interval = int(interval * 1e6) if interval < 1e9 else 10**15  # microseconds
        self._quiet: dict[tuple[int, Union[bytes, str], Optional[str], object], list[int]] = {}
        """(reason, origin, detail_name, detail) -> [until (microseconds), held back since]."""
        self._clock: Optional[Callable[[], float]] = None
        """None: the monotonic clock; tests inject one."""
        self._counts: dict[Union[bytes, str], int] = {}
        self._k = k
        self._limit = limit
        self._logger = logger
        self._log = log
        self._lock = threading.Lock()

    @property
    def k(self) -> int:
        """Return how many origins are kept at most."""
        return self._k

    def note(
        self, reason: int, origin: Union[bytes, str], detail_name: Optional[str] = None, detail: object = None
    ) -> None:
        """Count one refusal of `origin` (bytes or str) for `reason` (a number), and log it
        (rate-limited) when the logger takes INFO lines."""
        self.add(origin)
        self.log_if_enabled(reason, origin, detail_name, detail)

    def logs(self) -> bool:
        """Return True when the logger takes INFO lines (a refusal would be logged)."""
        return self._logger.isEnabledFor(logging.INFO)

    def log_if_enabled(
        self, reason: int, origin: Union[bytes, str], detail_name: Optional[str] = None, detail: object = None
    ) -> None:
        """Log one refusal (rate-limited) when the logger takes INFO lines; count nothing."""
        if self._logger.isEnabledFor(logging.INFO):
            self._offer(reason, origin[: self._limit], detail_name, detail)

    def _offer(self, reason: int, origin: Union[bytes, str], detail_name: Optional[str], detail: object) -> None:
        # Calls the log at most once per key per interval; the log keeps its own interval
        # too (keyed on what its line shows), so the calls held back here are only counted.
        if not self._interval:
            self._log(reason, origin, detail_name, detail, 0)
            return
        key = (reason, origin, detail_name, detail)
        now = int((time.monotonic() if self._clock is None else self._clock()) * 1e6)
        with self._lock:
            quiet = self._quiet.get(key)
            if quiet is not None:
                if now < quiet[0]:
                    quiet[1] += 1
                    return
                held = quiet[1]
                quiet[:] = [now + self._interval, 0]
            else:
                held = 0
                if len(self._quiet) >= MAX_QUIET_KEYS:
                    self._quiet.clear()
                self._quiet[key] = [now + self._interval, 0]
        self._log(reason, origin, detail_name, detail, held)

    def add(self, origin: Union[bytes, str], n: int = 1) -> None:
        """Count `n` more refusals of `origin` (bytes or str), without logging them."""
        if n <= 0:
            return
        if len(origin) > self._limit:
            origin = origin[: self._limit]
        with self._lock:
            counts = self._counts
            count = counts.get(origin)
            if count is None and len(counts) >= self._k:
                count = counts.pop(min(counts, key=counts.__getitem__))
            counts[origin] = (count or 0) + n

    def items(self) -> tuple[tuple[Union[bytes, str], int], ...]:
        """Return the kept origins and their counts, the most counted first."""
        with self._lock:
            kept = list(self._counts.items())
        kept.sort(key=lambda item: -item[1])
        return tuple(kept)

    def clear(self) -> None:
        """Forget every origin."""
        with self._lock:
            self._counts.clear()
