"""`CorsConfig`: an application's CORS configuration, as aiohttp-cors 0.8.1's
`aiohttp_cors.cors_config`: the same constructor, `add()`, defaults and errors, the same
`on_response_prepare` hook and OPTIONS routes. With corsfast's own router adapter the hook
is one engine call per response (`aiohttp_prepare`); with another adapter it drives that
adapter's methods per request, as aiohttp-cors does. Every CORS decision is counted:
`CorsConfig.stats()`.
"""

from __future__ import annotations

import collections
import collections.abc
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Optional, Union

from aiohttp import hdrs, web

from .._engine import engine as _default_engine
from .._observe.observer import Observer, observer_options
from .._observe.reasons import NO_ORIGIN, SIMPLE
from .._observe.stats import CORSStats
from .._options import CORSConfigWarning
from .._options.base import _user_stacklevel
from . import _versions
from .abc import AbstractRouterAdapter
from .preflight_handler import _PreflightHandler
from .resource_options import ResourceOptions
from .urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

__all__ = ("CorsConfig",)


_ConfigType = Optional[Mapping[str, Union[ResourceOptions, Mapping[str, Any]]]]


class _Defaults(dict):  # type: ignore[type-arg]
    """`CorsConfig.defaults`: a dict that says when it changes in place, so that the routes
    resolved from it are resolved again (aiohttp-cors reads it on every request)."""

    __slots__ = ("_changed",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changed: Optional[Callable[[], None]] = None

    def _touch(self) -> None:
        if self._changed is not None:
            self._changed()

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self._touch()

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self._touch()

    def __ior__(self, other: Any) -> _Defaults:  # type: ignore[misc]
        super().__ior__(other)
        self._touch()
        return self

    def clear(self) -> None:
        super().clear()
        self._touch()

    def pop(self, *args: Any) -> Any:
        try:
            return super().pop(*args)
        finally:
            self._touch()

    def popitem(self) -> Any:
        try:
            return super().popitem()
        finally:
            self._touch()

    def setdefault(self, *args: Any) -> Any:
        try:
            return super().setdefault(*args)
        finally:
            self._touch()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._touch()


def _parse_config_options(config: _ConfigType = None) -> dict[str, ResourceOptions]:
    """Return a CORS configuration (defaults or a route's) as origin -> `ResourceOptions`.

    ValueError when it is not correct, with aiohttp-cors' messages. "*" with
    `allow_credentials=True` answers as aiohttp-cors does (any Origin reflected with
    credentials, `null` included) and emits a `CORSConfigWarning`.
    """
    if config is None:
        return {}
    if not isinstance(config, collections.abc.Mapping):
        raise ValueError(f"Config must be mapping, got '{config}'")

    parsed = {}
    options_keys = {"allow_credentials", "expose_headers", "allow_headers", "max_age"}
    for origin, options in config.items():
        if not isinstance(origin, str):
            raise ValueError(f"Origin must be string, got '{origin}'")
        if isinstance(options, ResourceOptions):
            resource_options = options
        else:
            if not isinstance(options, collections.abc.Mapping):
                raise ValueError(
                    f"Origin options must be either aiohttp_cors.ResourceOptions instance or mapping, got '{options}'"
                )
            unexpected_args = frozenset(options.keys()) - options_keys
            if unexpected_args:
                raise ValueError(f"Unexpected keywords in resource options: {','.join(map(str, unexpected_args))}")
            resource_options = ResourceOptions(**options)
        if origin == "*" and resource_options.allow_credentials:
            warnings.warn(
                "'*' with allow_credentials=True reflects any Origin, 'null' (sandboxed pages, local "
                "files) included, with credentials: list the origins that may send them instead",
                CORSConfigWarning,
                stacklevel=_user_stacklevel(),
            )
        parsed[origin] = resource_options
    return parsed


class _CorsConfigImpl(_PreflightHandler):
    _observation_now: Any = None
    """The `DecisionCounts` and `RefusedOrigins` of the `CorsConfig` this belongs to."""

    def __init__(self, app: web.Application, router_adapter: AbstractRouterAdapter, *, _engine: Any = None) -> None:
        self._app = app
        self._router_adapter = router_adapter
        if _engine is not None:
            self._engine_module = _engine
        # The hook for all responses: it handles CORS headers of non-preflight requests.
        if type(router_adapter) is ResourcesUrlDispatcherRouterAdapter:
            # The engine's routes are the hook: one call per response, no coroutine; and the
            # preflight's configuration is found without one too.
            self._app.on_response_prepare.append(router_adapter._routes)
            self._config_now = router_adapter._preflight_config
            self._routes = router_adapter._routes
        else:
            self._app.on_response_prepare.append(self._on_response_prepare)

    def add(self, routing_entity: Any, config: _ConfigType = None) -> Any:
        """Enable CORS for a route or resource (a route's enables its resource's); return it."""
        parsed_config = _parse_config_options(config)
        self._router_adapter.add_preflight_handler(routing_entity, self._preflight_handler)
        self._router_adapter.set_config_for_routing_entity(routing_entity, parsed_config)
        return routing_entity

    def _observation(self, request: web.Request) -> Optional[tuple[Any, Any]]:
        return self._observation_now  # type: ignore[no-any-return]

    async def _on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Give the response of a CORS-enabled non-preflight request its CORS headers, through
        the router adapter's methods (another adapter than corsfast's own), and count it."""
        adapter = self._router_adapter
        if not adapter.is_cors_enabled_on_request(request) or adapter.is_preflight_request(request):
            return
        config = adapter.get_non_preflight_request_config(request)
        engine = self._engine_module
        origin = request.headers.get(hdrs.ORIGIN)
        if not config:
            # No origin has options: aiohttp-cors leaves the response alone, and refuses them all.
            reason = engine.aiohttp_refusal_reason(response.headers, origin)
        else:
            entry = None if origin is None else engine.aiohttp_mapping_entry(config, origin)
            reason = engine.aiohttp_respond(response.headers, entry, origin)
        observation = self._observation_now
        if observation is not None:
            counts, refused = observation
            counts.add(SIMPLE, reason)
            if reason > NO_ORIGIN:
                refused.note(reason, origin)

    async def _get_config(self, request: web.Request, origin: str, request_method: str) -> Any:
        adapter = self._router_adapter
        if type(adapter) is ResourcesUrlDispatcherRouterAdapter:
            return adapter._preflight_config(request, origin, request_method)
        return await adapter.get_preflight_request_config(request, origin, request_method)


class CorsConfig:
    """CORS configuration instance.

    The instance holds default CORS parameters and per-route options specified in the `add()`
    method. Each `aiohttp.web.Application` can have exactly one instance of this class.

    It counts every request to a CORS-enabled resource by kind and reason: `stats()`,
    `reset_stats()`.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        defaults: _ConfigType = None,
        router_adapter: Optional[AbstractRouterAdapter] = None,
        name: Optional[str] = None,
        log_interval: float = 60.0,
        top_refused_size: int = 32,
        _engine: Any = None,
    ) -> None:
        """Construct the CORS configuration of `app`: `defaults` (origin -> options) for every
        resource, and the router adapter (one for aiohttp's own router unless given).

        `name` is what `corsfast.stats()` lists its counts under ("aiohttp" unless given),
        `log_interval` the seconds between two log lines of the same refusal, and
        `top_refused_size` how many of the most refused origins `stats()` keeps.
        """
        observed = observer_options(name, log_interval, top_refused_size)
        if _versions.INSTALLED_NOTE is not None:
            warnings.warn(_versions.INSTALLED_NOTE, CORSConfigWarning, stacklevel=_user_stacklevel())
        self.defaults = _Defaults(_parse_config_options(defaults))
        self._cors_impl: Any = None
        self._resources_router_adapter = None
        self._resources_cors_impl = None
        self._old_routes_cors_impl = None
        engine = _default_engine if _engine is None else _engine
        self._counts = engine.DecisionCounts()
        self._observer = Observer(self, engine, "aiohttp", *observed)
        self._observation = (self._counts, self._observer.refused)
        if router_adapter is None:
            router_adapter = ResourcesUrlDispatcherRouterAdapter(app.router, self.defaults, _engine=_engine)
        self._cors_impl = _CorsConfigImpl(app, router_adapter, _engine=_engine)
        self._cors_impl._observation_now = self._observation
        if type(router_adapter) is ResourcesUrlDispatcherRouterAdapter:
            self.defaults._changed = router_adapter._routes.clear
            router_adapter._routes.observe(self._counts, self._observer.refused)

    def stats(self) -> CORSStats:
        """Return the counts of this configuration's CORS decisions since it was made (or
        since `reset_stats()`): every request to a CORS-enabled resource, by kind (preflight
        or not) and reason, and the most refused origins."""
        return self._observer.stats((self._counts.counts(),))

    def reset_stats(self) -> None:
        """Set every count to zero and forget the refused origins."""
        self._counts.reset()
        self._observer.reset()

    def add(self, routing_entity: Any, config: _ConfigType = None, webview: bool = False) -> Any:
        """Enable CORS for a route or resource (a route's enables its resource's); return it."""
        if webview:
            warnings.warn(
                "webview argument is deprecated, views are handled authomatically without extra settings",
                DeprecationWarning,
                stacklevel=2,
            )
        return self._cors_impl.add(routing_entity, config)
