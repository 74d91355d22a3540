"""The state every engine middleware keeps, and its threads' views: the twin of
`_engine_c_middleware.pxi`."""

from __future__ import annotations

import sysconfig
import threading
from typing import Any

from .._cache_info import CacheInfo
from .policy import CORSPolicy

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

    __slots__ = ("app", "generation", "policy", "source")

    def __init__(self, source: CORSPolicy, policy: CORSPolicy, app: Any, generation: int) -> None:
        self.source = source  # the middleware's policy when the view was made
        self.policy = policy  # `source` itself in the thread that compiled it, else a copy
        self.app = app
        self.generation = generation


class MiddlewareBase:
    """The state an engine middleware keeps: the wrapped app and the compiled policy.

    A class that sets `_views_per_thread = True` (the native middlewares) serves each thread,
    on free-threaded CPython, through a `_ThreadView` of its own.
    """

    __slots__ = ("_app", "_dropped", "_generation", "_lock", "_policy", "_thread_views", "_views")

    _app: Any
    _policy: Any  # a CORSPolicy, or None while the Starlette drop-in's is stale
    _generation: int  # changed with every new app or policy
    _thread_views: bool
    _views: dict[int, _ThreadView]  # thread ident -> its view
    _lock: threading.Lock  # the pair (app, policy) and its generation change together
    _dropped: tuple[int, int]  # the hits and misses of dropped views (changed under `_lock`)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        self = super().__new__(cls)
        self._thread_views = THREAD_VIEWS and getattr(cls, "_views_per_thread", False)
        self._views = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._dropped = (0, 0)
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
        with self._lock:
            self._policy = value
            self._generation += 1

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
            source, app, generation = self._policy, self._app, self._generation
        if view is not None and view.source is source:
            policy = view.policy  # only the app changed: keep this thread's cache
        elif source is None or source._owner == key:
            policy = source
        else:
            policy = source._copy()
        if len(self._views) >= MAX_THREAD_VIEWS and view is None:
            self._drop_views()
        view = self._views[key] = _ThreadView(source, policy, app, generation)
        return view

    def _drop_views(self) -> None:
        # Many threads came and went (a server with a thread per request): the views start
        # again, their statistics kept.
        views = self._views.copy()
        self._views.clear()
        for view in views.values():
            if view.policy is not view.source and view.source is self.policy:
                info = view.policy.cache_info()
                with self._lock:
                    self._dropped = (self._dropped[0] + info.hits, self._dropped[1] + info.misses)
