"""`Observer`: what one middleware observes of its decisions, apart from the per-request
counts (the engines' `DecisionCounts`): its name, when counting began, the refused origins
seen most often, the rate-limited logs, and what a report-only policy would change."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from types import MappingProxyType, ModuleType
from typing import Any, Optional, Union

from .log import RefusalLog, escape
from .reasons import KINDS, REASON_IDS
from .registry import register, valid_name
from .stats import CORSStats, ReportOnlyStats

__all__ = ("SHOWN_ORIGIN_LENGTH", "Observer", "observer_options")

SHOWN_ORIGIN_LENGTH = 256
"""An origin is cut to this many characters in `stats()` and in log lines."""

REFUSALS_LOGGER = logging.getLogger("corsfast.refusals")
REPORT_ONLY_LOGGER = logging.getLogger("corsfast.report_only")

Counts = tuple[Sequence[int], Sequence[int]]
"""A `DecisionCounts.counts()`: simple and preflight counts, indexed by reason number."""


def observer_options(name: object, log_interval: object, top_refused_size: object) -> tuple[Optional[str], float, int]:
    """Return the three options every middleware takes for what it observes, checked: its
    `name` (None: the middleware's default), `log_interval` seconds and `top_refused_size`."""
    checked = valid_name("name", name)
    if isinstance(log_interval, bool) or not isinstance(log_interval, (int, float)) or not log_interval >= 0:
        raise ValueError(f"log_interval must be a number of seconds >= 0, got {log_interval!r}")
    if type(top_refused_size) is not int or not 1 <= top_refused_size <= 10_000:
        raise ValueError(f"top_refused_size must be an int from 1 to 10000, got {top_refused_size!r}")
    return checked, float(log_interval), top_refused_size


class Observer:
    """The part of one middleware's observations that is not a per-request count.

    `refused` and `report` are the engine's `RefusedOrigins`: the refusal paths note each
    refused origin there (and a report-only difference in `report`), which keeps the most
    seen and calls the rate-limited log only when its logger takes INFO lines.
    """

    __slots__ = ("_since", "log", "name", "refused", "report", "report_log")

    def __init__(
        self,
        owner: object,
        engine: ModuleType,
        default_name: str,
        name: Optional[str] = None,
        log_interval: float = 60.0,
        top_refused_size: int = 32,
    ) -> None:
        self.name = register(owner, name or default_name)
        self.log = RefusalLog(REFUSALS_LOGGER, log_interval, SHOWN_ORIGIN_LENGTH, "refused")
        self.report_log = RefusalLog(REPORT_ONLY_LOGGER, log_interval, SHOWN_ORIGIN_LENGTH, "report-only")
        self.refused: Any = engine.RefusedOrigins(
            top_refused_size, SHOWN_ORIGIN_LENGTH + 1, REFUSALS_LOGGER, self.log.offer, log_interval
        )
        self.report: Any = engine.RefusedOrigins(
            top_refused_size, SHOWN_ORIGIN_LENGTH + 1, REPORT_ONLY_LOGGER, self.report_log.offer, log_interval
        )
        self._since = time.time()

    @property
    def since(self) -> float:
        """Return when counting began, in seconds since the epoch."""
        return self._since

    def reset(self) -> None:
        """Forget the refused origins kept and restart the clock (the counts are reset by
        their owner)."""
        self.refused.clear()
        self.report.clear()
        self._since = time.time()

    def stats(
        self,
        counts: Iterable[Counts],
        report: Optional[Iterable[tuple[int, int]]] = None,
        pending: Iterable[tuple[Union[bytes, str], int]] = (),
    ) -> CORSStats:
        """Return the `CORSStats` of the given counts (every thread's, added up); `report`:
        every (would_refuse, would_allow) pair, None without a report-only policy; `pending`:
        refusals counted on origin cache entries, not yet in `refused`."""
        totals = [[0] * len(REASON_IDS) for _ in KINDS]
        for part in counts:
            for kind, numbers in enumerate(part):
                row = totals[kind]
                for reason, n in enumerate(numbers):
                    row[reason] += n
        simple, preflight = (MappingProxyType(dict(zip(REASON_IDS, row))) for row in totals)
        report_stats = None
        if report is not None:
            would_refuse = would_allow = 0
            for refuse, allow in report:
                would_refuse += refuse
                would_allow += allow
            report_stats = ReportOnlyStats(would_refuse, would_allow, _shown(self.report.items()))
        top = _merged(self.refused.items(), pending, self.refused.k)
        return CORSStats(self.name, simple, preflight, _shown(top), self._since, report_stats)


def _merged(
    kept: Iterable[tuple[Union[bytes, str], int]], pending: Iterable[tuple[Union[bytes, str], int]], k: int
) -> list[tuple[Union[bytes, str], int]]:
    """Return the `k` most counted origins of `kept` and `pending` added up, the most first."""
    merged: dict[Union[bytes, str], int] = dict(kept)
    for origin, n in pending:
        key = origin[: SHOWN_ORIGIN_LENGTH + 1]
        merged[key] = merged.get(key, 0) + n
    return sorted(merged.items(), key=lambda item: -item[1])[:k]


def _shown(kept: Iterable[tuple[Union[bytes, str], int]]) -> tuple[tuple[str, int], ...]:
    """Return the kept origins and counts, each origin escaped."""
    return tuple((escape(origin, SHOWN_ORIGIN_LENGTH), n) for origin, n in kept)
