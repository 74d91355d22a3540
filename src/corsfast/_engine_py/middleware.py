"""The state every engine middleware keeps, and its threads' views: the twin of
`_engine_c_middleware.pxi`."""

from __future__ import annotations

import sysconfig
import threading
from typing import Any

from .._cache_info import CacheInfo
from .._observe.reasons import KINDS, NO_ORIGIN, REASONS
from .counts import DecisionCounts, RefusedOrigins
from .policy import CORSPolicy, OriginEntry

__all__ = ("MiddlewareBase",)

THREAD_VIEWS = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
"""Thread views pay off only without the GIL: on free-threaded CPython builds."""
MAX_THREAD_VIEWS = 256
"""Threads served by one middleware that keep views of their own; past it, all are dropped."""


class _ThreadView:
    """One thread's view of a middleware: its policy, compiled by that thread, and its app.

    Without the GIL, every reference taken to an object another thread made is an atomic
    update of a count both threads write; a thread's own copy of the policy (its cache, its
    entries, their header tuples) makes every such object its own.
    """

    __slots__ = ("app", "generation", "policy", "report", "report_source", "source")

    def __init__(
        self,
        source: CORSPolicy,
        policy: CORSPolicy,
        report_source: CORSPolicy | None,
        report: CORSPolicy | None,
        app: Any,
        generation: int,
    ) -> None:
        self.source = source  # the middleware's policy when the view was made
        self.policy = policy  # `source` itself in the thread that compiled it, else a copy
        self.report_source = report_source  # the middleware's report-only policy (or None) then
        self.report = report  # `report_source` itself or a copy, likewise
        self.app = app
        self.generation = generation


class MiddlewareBase:
    """The state an engine middleware keeps: the wrapped app and the compiled policy.

    A class that sets `_views_per_thread = True` (the native middlewares) serves each thread,
    on free-threaded CPython, through a `_ThreadView` of its own.
    """

    __slots__ = (
        "_app",
        "_counts",
        "_dropped",
        "_dropped_counts",
        "_generation",
        "_lock",
        "_observer",
        "_policy",
        "_refused",
        "_report",
        "_report_refused",
        "_retired",
        "_thread_views",
        "_views",
    )

    _app: Any
    _policy: Any  # a CORSPolicy, or None while the Starlette drop-in's is stale
    _generation: int  # changed with every new app or policy
    _thread_views: bool
    _views: dict[int, _ThreadView]  # thread ident -> its view
    _lock: threading.Lock  # the pair (app, policy) and its generation change together
    _dropped: tuple[int, int]  # the hits and misses of dropped views (changed under `_lock`)
    # What is counted: every policy the middleware is given counts in `_counts` (a thread's
    # copy in counts of its own); `_dropped_counts` keeps the counts of views dropped before
    # the last drop, `_retired` those of the last one (folded one drop later, once no request
    # can still be counting in them).
    _counts: DecisionCounts
    _dropped_counts: DecisionCounts
    _retired: list[DecisionCounts]
    _observer: Any
    _refused: RefusedOrigins | None
    _report_refused: RefusedOrigins | None
    _report: Any  # the report-only CORSPolicy, or None

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        self._thread_views = THREAD_VIEWS and getattr(cls, "_views_per_thread", False)
        self._views = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._dropped = (0, 0)
        self._policy = None
        self._report = None
        self._counts = DecisionCounts()
        self._dropped_counts = DecisionCounts()
        self._retired = []
        self._observer = None
        self._refused = None
        self._report_refused = None
        return self

    @property
    def app(self) -> Any:
        return self._app

    @app.setter
    def app(self, value: Any) -> None:
        with self._lock:
            self._app = value
            self._generation += 1

    @property
    def policy(self) -> Any:
        return self._policy

    @policy.setter
    def policy(self, value: Any) -> None:
        if value is not None and not isinstance(value, CORSPolicy):
            raise TypeError(f"Cannot convert {type(value).__name__} to CORSPolicy")
        if value is not None:
            value.observe(self._counts, self._refused)
        with self._lock:
            self._policy = value
            self._generation += 1

    @property
    def report_policy(self) -> Any:
        """Return the report-only policy: evaluated on every request with an Origin, counted
        where its verdict differs, never changing a response (None: none)."""
        return self._report

    @report_policy.setter
    def report_policy(self, value: Any) -> None:
        if value is not None and not isinstance(value, CORSPolicy):
            raise TypeError(f"Cannot convert {type(value).__name__} to CORSPolicy")
        if value is not None:
            value.observe(DecisionCounts(), self._report_refused)
        with self._lock:
            self._report = value
            self._generation += 1

    def _set_observer(self, observer: Any) -> None:
        """Count this middleware's requests for `observer` (an `Observer`): its refused
        origins noted in `observer.refused`, report-only differences in `observer.report`."""
        self._observer = observer
        self._refused = observer.refused
        self._report_refused = observer.report
        policy = self.policy
        if policy is not None:
            policy.observe(self._counts, self._refused)
        report = self.report_policy
        if report is not None:
            report.observe(DecisionCounts(), self._report_refused)

    def _count(self, kind: int, reason: int, origin: Any = None, detail_name: Any = None, detail: Any = None) -> None:
        """Count one request this middleware answered outside the engine (a subclass's own
        code): of `kind` for `reason`; a refusal's `origin` is also noted, with its detail."""
        if not (0 <= kind < len(KINDS) and 0 <= reason < len(REASONS)):
            raise ValueError(f"no such count: kind {kind}, reason {reason}")
        self._counts.count(kind, reason)
        if reason > NO_ORIGIN and self._refused is not None and origin is not None:
            self._refused.note(reason, origin, detail_name, detail)

    def _all_counts(self) -> list[DecisionCounts]:
        """Return every `DecisionCounts` this middleware's requests were counted in, once each."""
        found = [self._counts, self._dropped_counts]
        with self._lock:
            found.extend(self._retired)
        for view in list(self._views.values()):
            if not any(view.policy.counts is known for known in found):
                found.append(view.policy.counts)
        return found

    def _all_policies(self) -> list[CORSPolicy]:
        """Return the policy and every thread's copy of it, once each."""
        found: list[CORSPolicy] = []
        if self.policy is not None:
            found.append(self.policy)
        for view in list(self._views.values()):
            if view.policy is not None and not any(view.policy is known for known in found):
                found.append(view.policy)
        return found

    def stats(self) -> Any:
        """Return the `corsfast.CORSStats` of every request counted since counting began."""
        if self._observer is None:
            raise RuntimeError("this middleware was built without an observer")
        everything = self._all_counts()
        report = [counts.report() for counts in everything] if self.report_policy is not None else None
        pending = [pair for policy in self._all_policies() for pair in policy.pending_refusals()]
        return self._observer.stats([counts.counts() for counts in everything], report, pending)

    def reset_stats(self) -> None:
        """Start counting again from zero: the counts, the refused origins kept and `since`."""
        for counts in self._all_counts():
            counts.reset()
        for policy in self._all_policies():
            policy.reset_refusals()
        if self._observer is not None:
            self._observer.reset()

    def _cache_info(self) -> CacheInfo:
        """Return the origin cache's statistics, every thread's cache added up."""
        policy: CORSPolicy = self.policy
        hits, misses, maxsize, currsize = policy.cache_info()
        caches = 1
        for view in self._current_views(policy):
            if view.policy is not policy:
                info = view.policy.cache_info()
                hits += info.hits
                misses += info.misses
                currsize += info.currsize
                caches += 1
        hits += self._dropped[0]
        misses += self._dropped[1]
        return CacheInfo(hits, misses, maxsize * caches, currsize)

    def _cache_clear(self) -> None:
        """Empty every thread's origin cache and reset their statistics."""
        policy = self.policy
        policy.cache_clear()
        for view in self._current_views(policy):
            view.policy.cache_clear()
        with self._lock:
            self._dropped = (0, 0)

    def _current_views(self, policy: CORSPolicy) -> list[_ThreadView]:
        return [view for view in list(self._views.values()) if view.source is policy]

    def _view(self) -> _ThreadView:
        """Return the calling thread's view, made or brought up to date first if needed."""
        key = threading.get_ident()
        view = self._views.get(key)
        if view is not None and view.generation == self._generation:
            return view
        with self._lock:
            source, report_source, app, generation = self._policy, self._report, self._app, self._generation
        if view is not None and view.source is source:
            policy = view.policy  # only the app changed: keep this thread's cache
        elif source is None or source._owner == key:
            policy = source
        else:
            policy = source._copy()
        if view is not None and view.policy is not view.source and view.policy is not policy:
            with self._lock:
                self._retired.append(view.policy.counts)  # counted in until now
        if view is not None and view.report_source is report_source:
            report = view.report
        elif report_source is None or report_source._owner == key:
            report = report_source
        else:
            report = report_source._copy()
        if len(self._views) >= MAX_THREAD_VIEWS and view is None:
            self._drop_views()
        view = self._views[key] = _ThreadView(source, policy, report_source, report, app, generation)
        return view

    def _drop_views(self) -> None:
        # Many threads came and went (a server with a thread per request): the views start
        # again, their statistics kept.
        views = self._views.copy()
        self._views.clear()
        retiring = [view.policy.counts for view in views.values() if view.policy is not view.source]
        with self._lock:
            retired, self._retired = self._retired, retiring
        for counts in retired:
            _fold_counts(self._dropped_counts, counts)
        for view in views.values():
            if view.policy is not view.source and view.source is self.policy:
                info = view.policy.cache_info()
                with self._lock:
                    self._dropped = (self._dropped[0] + info.hits, self._dropped[1] + info.misses)


def _fold_counts(into: DecisionCounts, counts: DecisionCounts) -> None:
    """Add every count of `counts` to `into` (`counts` is no longer counted in)."""
    for kind, numbers in enumerate(counts.counts()):
        for reason, n in enumerate(numbers):
            into.add(kind, reason, n)
    would_refuse, would_allow = counts.report()
    into.add_report(True, would_refuse)
    into.add_report(False, would_allow)


def _report_only(
    policy: CORSPolicy,
    report: CORSPolicy,
    kind: int,
    enforced: int,
    origin: bytes,
    method: Any,
    names: Any,
    private_network: Any,
) -> None:
    """Evaluate the report-only policy `report` on a request with an Origin that `policy`
    answered for reason `enforced`; where their verdicts differ, count it in `policy`'s counts
    and note the origin in `report`'s (top-K and the `corsfast.report_only` log)."""
    if origin.__class__ is not bytes:
        origin = bytes(origin)
    entry: OriginEntry = report._lookup(origin)
    if entry.undecided:
        entry = report._ask(origin, entry)
    reason = entry.simple_reason if kind == 0 else entry.reason
    if kind == 1 and entry.allowed:
        reason = report._preflight_reason(method, names, private_network)
    if (reason == 0) == (enforced == 0):
        return
    policy._counts.count_report(reason != 0)
    if report._refused is not None:
        if reason != 0:
            report._refused.note(reason, origin, "verdict", "would_refuse")
        else:
            report._refused.note(enforced, origin, "verdict", "would_allow")
