"""The native ASGI middleware, `corsfast.CORSMiddleware`, and the plumbing ASGI shims share.

A shim only turns its constructor's arguments into `CORSOptions`; the engine's
`asgi_call` answers every request. `__call__` is that module-level engine function
itself, so no Python frame is added per request.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, TypeVar, Union

from ._cache_info import CacheInfo
from ._engine import engine as _default_engine
from ._observe.observer import Observer, observer_options
from ._observe.stats import CORSStats
from ._options import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    NATIVE_DEFAULT_METHODS,
    native_options,
    report_only_options,
)

__all__ = ("CORSMiddleware",)

_Shim = TypeVar("_Shim", bound="EngineShim")
_VARIANTS: dict[tuple[type, ModuleType], type] = {}
_CALLS = {"ASGIMiddlewareBase": "asgi_call", "WSGIMiddlewareBase": "wsgi_call"}
"""Each engine base class, and the engine function that is `__call__` on it."""


class EngineShim:
    """Mixin for the middlewares whose `__call__` is an engine function: engine binding, the
    private `_engine` keyword, the origin cache's methods."""

    _engine_module: ClassVar[ModuleType] = _default_engine

    def __new__(cls: type[_Shim], *args: Any, _engine: ModuleType | None = None, **kwargs: Any) -> _Shim:
        if _engine is None:
            return super().__new__(cls)
        # Benchmarks and tests compare engines in one process: `_engine=` builds the instance
        # from the class rebuilt on that engine. That class is not a subclass of `cls`, so
        # `type.__call__` does not call `__init__` again (with `_engine`, which it lacks).
        variant: Any = _on_engine(cls, _engine)
        instance = variant.__new__(variant)
        instance.__init__(*args, **kwargs)
        return instance  # type: ignore[no-any-return]

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's statistics: hits, misses, maximum and current size."""
        return self._cache_info()  # type: ignore[attr-defined,no-any-return]

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        self._cache_clear()  # type: ignore[attr-defined]

    if TYPE_CHECKING:

        def stats(self) -> CORSStats:
            """Return the counts of this middleware's CORS decisions since counting began."""

        def reset_stats(self) -> None:
            """Start counting again from zero: the counts, the refused origins kept, `since`."""

    def _observe(
        self,
        default_name: str,
        name: object,
        log_interval: object,
        top_refused_size: object,
        report_only: object = None,
        enforced: Optional[dict[str, Any]] = None,
    ) -> None:
        """Count this middleware's decisions (as `default_name` unless `name` is given), and
        compile its report-only policy from `report_only` over the `enforced` options (the
        constructor's own variables: only the options' names are read)."""
        checked_name, interval, top = observer_options(name, log_interval, top_refused_size)
        engine = type(self)._engine_module
        report = None
        if report_only is not None:
            if enforced is None:
                raise TypeError(f"{type(self).__name__} has no report-only policy")
            report = engine.CORSPolicy(report_only_options(report_only, enforced))
        observer = Observer(self, engine, default_name, checked_name, interval, top)
        self._set_observer(observer)  # type: ignore[attr-defined]
        self.report_policy = report


class ASGIShim(EngineShim):
    """Mixin for ASGI shims: `EngineShim`, and ASGI 3 detection."""

    def _bind(self, app: Any, options: Any) -> None:
        engine = type(self)._engine_module
        self.app = app
        self.policy = engine.CORSPolicy(options)
        self._mark_coroutine_function()

    def _mark_coroutine_function(self) -> None:
        if sys.version_info < (3, 12):
            # Before 3.12 `inspect` cannot be told that a plain function is a coroutine
            # function, and hypercorn asks `inspect.iscoroutinefunction(app.__call__)`.
            # Servers call through the type's `__call__` (the fast plain function); this
            # instance attribute only answers attribute lookups, with a real coroutine function.
            # (Set through __dict__: the class attribute stays the engine's plain function.)
            engine = type(self)._engine_module
            self.__dict__["__call__"] = functools.partial(engine.asgi_call_async, self)


def _on_engine(cls: type, engine: ModuleType) -> type:
    """Return `cls` rebuilt on `engine`'s base and call function (cached per class and engine).

    A subclass of a shim is rebuilt on the rebuilt shim. (Its methods keep their `__class__`
    cell, so a zero-argument `super()` in them does not work on the rebuilt class: tests
    define such subclasses on `_on_engine(shim, engine)` directly.)
    """
    variant = _VARIANTS.get((cls, engine))
    if variant is None:
        namespace = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
        namespace["_engine_module"] = engine
        engine_base = next((base for base in cls.__bases__ if base.__name__ in _CALLS), None)
        if engine_base is not None:
            namespace["__call__"] = getattr(engine, _CALLS[engine_base.__name__])
            bases: tuple[type, ...] = tuple(
                getattr(engine, base.__name__) if base is engine_base else base for base in cls.__bases__
            )
        else:
            bases = tuple(
                _on_engine(base, engine) if issubclass(base, EngineShim) and base not in _SHIMS else base
                for base in cls.__bases__
            )
            old = cls._engine_module  # type: ignore[attr-defined]
            for call in _CALLS.values():
                if vars(cls).get("__call__") is getattr(old, call, None):
                    namespace["__call__"] = getattr(engine, call)
        variant = type(cls.__name__, bases, namespace)
        _VARIANTS[(cls, engine)] = variant
    return variant


_SHIMS = (EngineShim, ASGIShim)


def _reusable(values: Any) -> Any:
    """Return `values` as a collection that can be read more than once (an iterator as a tuple)."""
    return values if isinstance(values, (str, bytes, tuple, list, set, frozenset, dict)) else tuple(values)


class CORSMiddleware(ASGIShim, _default_engine.ASGIMiddlewareBase):
    """Answer CORS for an ASGI app: the semantics of Kui's `allow_cors`, compiled.

    - A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
      origin gets an empty 200 with the CORS headers; the app is not called.
    - Any other request from an allowed origin gets the app's response plus
      Access-Control-Allow-Origin, -Allow-Credentials (when enabled) and -Expose-Headers.
    - A request with no Origin or a refused one reaches the app untouched but for
      `Vary: Origin`, so caches never serve one origin's answer to another.

    Safe by default: no origin is allowed until `allow_origins` (or `allow_origin_func`) names
    some, and constructing it with none emits a `CORSConfigWarning`. The default methods are
    GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS, never TRACE or CONNECT.

    `allow_origins` items are compiled patterns (full match, flags honoured), exact origins
    such as `"https://example.com"`, one-label wildcards such as `"https://*.example.com"`,
    or `"*"` for any origin (answered with `*`, or reflected when credentials are allowed).
    Port wildcards: `"http://localhost:*"` allows any port 1-65535 (never the port-less
    origin), and combines with a one-label wildcard: `"https://*.example.com:*"`.

    `allow_origin_func(origin: str)` decides, by its truth value, the origins the rules refuse
    (eligible ones only: never an over-long Origin or one with control characters), at most
    once per request; an `async def` one is awaited in the request's task. An exception
    refuses the origin for that request and is logged on the `corsfast` logger.
    `allow_origin_func_ttl` seconds (> 0) keeps each verdict in the origin cache.
    """

    __call__ = _default_engine.asgi_call
    _views_per_thread = True  # free-threaded CPython: each thread serves from a policy of its own

    def __init__(
        self,
        app: Any,
        allow_origins: Iterable[Union[str, re.Pattern[str]]] = (),
        allow_methods: Iterable[str] = NATIVE_DEFAULT_METHODS,
        allow_headers: Iterable[str] = (),
        expose_headers: Iterable[str] = (),
        allow_credentials: bool = False,
        max_age: int = 600,
        allow_private_network: bool = False,
        *,
        allow_origin_func: Optional[Callable[[str], Any]] = None,
        allow_origin_func_ttl: float = 0.0,
        cache_size: int = DEFAULT_CACHE_SIZE,
        max_origin_length: int = DEFAULT_MAX_ORIGIN_LENGTH,
        strict: bool = False,
        report_only: Optional[dict[str, Any]] = None,
        name: Optional[str] = None,
        log_interval: float = 60.0,
        top_refused_size: int = 32,
    ) -> None:
        if report_only is not None:  # read twice: by the enforced policy and the report-only one
            allow_origins, allow_methods, allow_headers, expose_headers = map(
                _reusable, (allow_origins, allow_methods, allow_headers, expose_headers)
            )
        options = native_options(
            allow_origins,
            allow_methods,
            allow_headers,
            expose_headers,
            allow_credentials,
            max_age,
            allow_private_network,
            cache_size,
            max_origin_length,
            strict,
            allow_origin_func,
            allow_origin_func_ttl,
        )
        self._bind(app, options)
        self._observe("asgi", name, log_interval, top_refused_size, report_only, locals())
