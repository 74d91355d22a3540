"""The samples the metrics exporters export (`corsfast.metrics`), read from `corsfast.stats()`:
labelled by the middleware's name, the kind and the reason or verdict, never by an origin."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple, Optional

from .reasons import KINDS
from .registry import stats, valid_name

__all__ = ("VERDICTS", "ReportOnlyCount", "RequestCount", "counts", "middleware_names")

VERDICTS = ("would_refuse", "would_allow")
"""The values of the report-only counter's `verdict` label, in `ReportOnlyStats`' order."""


class RequestCount(NamedTuple):
    """One sample of the requests counter."""

    middleware: str
    kind: str
    reason: str
    value: int
    since: float
    """When the middleware began counting (seconds since the epoch)."""


class ReportOnlyCount(NamedTuple):
    """One sample of the report-only counter."""

    middleware: str
    verdict: str
    value: int
    since: float


def middleware_names(names: Optional[Iterable[str]]) -> Optional[frozenset[str]]:
    """Return the `names=` filter of an exporter, checked: None exports every middleware."""
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise TypeError(f"names must be an iterable of middleware names (or None for all), got {names!r}")
    checked = set()
    for name in names:
        if name is None:
            raise TypeError("names must hold middleware names, got None")
        checked.add(valid_name("names", name))
    return frozenset(name for name in checked if name is not None)


def counts(names: Optional[Collection[str]]) -> tuple[list[RequestCount], list[ReportOnlyCount]]:
    """Return the samples of both counters for the live middlewares (those named in `names`,
    all when None), read from one `corsfast.stats()`."""
    requests: list[RequestCount] = []
    report_only: list[ReportOnlyCount] = []
    for name, middleware in stats().items():
        if names is not None and name not in names:
            continue
        for kind, by_reason in zip(KINDS, (middleware.simple, middleware.preflight)):
            requests.extend(RequestCount(name, kind, reason, n, middleware.since) for reason, n in by_reason.items())
        report = middleware.report_only
        if report is not None:
            for verdict, n in zip(VERDICTS, (report.would_refuse, report.would_allow)):
                report_only.append(ReportOnlyCount(name, verdict, n, middleware.since))
    return requests, report_only
