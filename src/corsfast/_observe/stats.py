"""`CORSStats` and `ReportOnlyStats`: what `stats()` returns, the same type from every
middleware and drop-in on both engines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

__all__ = ("CORSStats", "ReportOnlyStats")


@dataclass(frozen=True)
class ReportOnlyStats:
    """What a report-only policy would have changed, since counting began."""

    would_refuse: int
    """Requests the enforced policy allowed and the report-only policy would refuse."""
    would_allow: int
    """Requests the enforced policy refused and the report-only policy would allow."""
    top_origins: tuple[tuple[str, int], ...]
    """The origins of those requests seen most often, with their counts, the most first
    (escaped and cut to 256 characters, as `CORSStats.top_refused`)."""


@dataclass(frozen=True)
class CORSStats:
    """One middleware's counts of its CORS decisions, since counting began.

    `simple` counts every request but preflights, `preflight` the preflights; each maps every
    reason id (see the reasons table in the docs) to a count, in the table's order, zeros
    included. Counts are exact under threads and asyncio.
    """

    name: str
    """The middleware's name, as `corsfast.stats()` keys it and metrics label it."""
    simple: Mapping[str, int]
    preflight: Mapping[str, int]
    top_refused: tuple[tuple[str, int], ...]
    """The refused origins seen most often, with their counts, the most first: at most the
    middleware's `top_refused_size` (32 by default) of them, kept in memory that never grows
    (a space-saving top-K: a count may include some of an origin it replaced, never less than
    its own). Each origin is cut to 256 characters (`...` marks a cut) and escaped: a
    character outside printable ASCII is shown as a backslash escape such as `\\x0d`."""
    since: float
    """When counting began (the middleware's creation or its last `reset_stats()`), in
    seconds since the epoch, as `time.time()` gives it."""
    report_only: Optional[ReportOnlyStats] = None
    """What the report-only policy would have changed; None without one."""

    @property
    def refused(self) -> int:
        """Return how many requests were refused, simple and preflight, for any reason."""
        return sum(n for reason, n in self.simple.items() if reason not in _NOT_REFUSED) + sum(
            n for reason, n in self.preflight.items() if reason not in _NOT_REFUSED
        )


_NOT_REFUSED = frozenset(("allowed", "no_origin"))
