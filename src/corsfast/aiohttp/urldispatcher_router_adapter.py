"""`ResourcesUrlDispatcherRouterAdapter`: CORS configuration on aiohttp's `UrlDispatcher`, as
aiohttp-cors 0.8.1's `aiohttp_cors.urldispatcher_router_adapter`: the same methods, errors
and records (`_resource_config`, `_preflight_routes`, ...), which its public methods read as
aiohttp-cors' do. Requests take a faster way: each route is resolved once, on its first
request, into the engine's `AiohttpRoute` (`_resolve`), its configurations merged ahead of
time instead of chained per request; `cors.add()` starts that over.
"""

from __future__ import annotations

import collections
from typing import Any, Union

from aiohttp import hdrs, web

from .._engine import engine as _default_engine
from . import _versions
from .abc import AbstractRouterAdapter
from .mixin import CorsViewMixin

__all__ = ("ResourcesUrlDispatcherRouterAdapter",)


class _ResourceConfig:
    def __init__(self, default_config: Any) -> None:
        # Resource default config.
        self.default_config = default_config
        # HTTP method to route configuration.
        self.method_config: dict[str, Any] = {}


def _is_web_view(entity: Any, strict: bool = True) -> bool:
    webview = False
    if isinstance(entity, web.AbstractRoute):
        handler = entity.handler
        if isinstance(handler, type) and issubclass(handler, web.View):
            webview = True
            if not issubclass(handler, CorsViewMixin):
                if strict:
                    raise ValueError(_versions.INSTALLED.view_mixin_message)
                return False
    return webview


def _merged(*mappings: Any) -> dict[str, Any]:
    """Return one dict that answers as `ChainMap(*mappings)` (the first mapping wins)."""
    merged: dict[str, Any] = {}
    for mapping in reversed(mappings):
        merged.update(mapping)
    return merged


class ResourcesUrlDispatcherRouterAdapter(AbstractRouterAdapter):
    """Adapter for `UrlDispatcher` for Resources-based routing only.

    Should be used with routes added in the following way:

        resource = app.router.add_resource(path)
        cors.add(resource, resource_defaults=...)
        cors.add(resource.add_route(method1, handler1), config=...)
        cors.add(resource.add_route(method2, handler2), config=...)
    """

    def __init__(self, router: web.UrlDispatcher, defaults: Any, *, _engine: Any = None) -> None:
        self._router = router
        # Default configuration for all routes.
        self._default_config = defaults
        # Mapping from Resource to _ResourceConfig.
        self._resource_config: dict[Any, _ResourceConfig] = {}
        self._resources_with_preflight_handlers: set[Any] = set()
        self._preflight_routes: set[Any] = set()
        self._engine_module = _engine if _engine is not None else _default_engine
        self._routes = self._engine_module.AiohttpRoutes(self._resolve)

    def add_preflight_handler(
        self,
        routing_entity: Union[web.Resource, web.StaticResource, web.ResourceRoute],
        handler: Any,
        webview: bool = False,
    ) -> None:
        """Add the OPTIONS handler for all routes defined by `routing_entity`.

        Does nothing if the CORS handler already handles it; ValueError when the resource has
        an OPTIONS handler of its own, or a '*' one that is not a `CorsViewMixin` view.
        """
        self._routes.clear()
        if isinstance(routing_entity, web.Resource):
            resource = routing_entity
            if resource in self._resources_with_preflight_handlers:
                return
            for route_obj in resource:
                if route_obj.method == hdrs.METH_OPTIONS:
                    if route_obj.handler is handler:
                        return  # already added
                    raise ValueError(f"{resource!r} already has OPTIONS handler {route_obj.handler!r}")
                if route_obj.method == hdrs.METH_ANY:
                    if _is_web_view(route_obj):
                        self._preflight_routes.add(route_obj)
                        self._resources_with_preflight_handlers.add(resource)
                        return
                    raise ValueError(f"{resource!r} already has a '*' handler for all methods")
            preflight_route = resource.add_route(hdrs.METH_OPTIONS, handler)
            self._preflight_routes.add(preflight_route)
            self._resources_with_preflight_handlers.add(resource)

        elif isinstance(routing_entity, web.StaticResource):
            static = routing_entity
            if static in self._resources_with_preflight_handlers:
                return
            static.set_options_route(handler)
            self._preflight_routes.add(static._routes[hdrs.METH_OPTIONS])
            self._resources_with_preflight_handlers.add(static)

        elif isinstance(routing_entity, web.ResourceRoute):
            route = routing_entity
            if not self.is_cors_for_resource(route.resource):  # type: ignore[arg-type]
                self.add_preflight_handler(route.resource, handler)  # type: ignore[arg-type]

        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")

    def is_cors_for_resource(self, resource: web.Resource) -> bool:
        """Return True when CORS is configured for the resource."""
        return resource in self._resources_with_preflight_handlers

    def _request_route(self, request: web.Request) -> web.ResourceRoute:
        match_info = request.match_info
        assert isinstance(match_info, web.UrlMappingMatchInfo)
        return match_info.route  # type: ignore[return-value]

    def _request_resource(self, request: web.Request) -> web.Resource:
        return self._request_route(request).resource  # type: ignore[return-value]

    def is_preflight_request(self, request: web.Request) -> bool:
        """Return True when `request` is a CORS preflight request."""
        route = self._request_route(request)
        if _is_web_view(route, strict=False):
            return request.method == "OPTIONS"
        return route in self._preflight_routes

    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Return True when `request` is for a CORS-enabled resource."""
        return self._request_resource(request) in self._resource_config

    def set_config_for_routing_entity(
        self,
        routing_entity: Union[web.Resource, web.StaticResource, web.ResourceRoute],
        config: Any,
    ) -> None:
        """Record the configuration for a resource or one of its routes; ValueError when it
        already has one."""
        self._routes.clear()
        if isinstance(routing_entity, (web.Resource, web.StaticResource)):
            resource = routing_entity
            if resource in self._resource_config:
                raise ValueError(f"CORS is already configured for {resource!r} resource.")
            self._resource_config[resource] = _ResourceConfig(default_config=config)

        elif isinstance(routing_entity, web.ResourceRoute):
            route = routing_entity
            if route.resource not in self._resource_config:
                self.set_config_for_routing_entity(route.resource, config)  # type: ignore[arg-type]
            if route.resource not in self._resource_config:
                raise ValueError(
                    f"Can't setup CORS for {route!r} request, CORS must be enabled for route's resource first."
                )
            resource_config = self._resource_config[route.resource]
            if route.method in resource_config.method_config:
                raise ValueError(
                    f"Can't setup CORS for {route!r} route: CORS already configured on resource "
                    f"{route.resource!r} for {route.method} method"
                )
            resource_config.method_config[route.method] = config

        else:
            raise ValueError(f"Resource or ResourceRoute expected, got {routing_entity!r}")

    async def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Any:
        """Return the configuration for a preflight's method and origin: a `ChainMap` of the
        method's, the resource's and the defaults. KeyError when neither the defaults for the
        origin allow the method nor the method has a configuration of its own."""
        assert self.is_preflight_request(preflight_request)
        resource = self._request_resource(preflight_request)
        resource_config = self._resource_config[resource]
        defaulted_config: Any = collections.ChainMap(resource_config.default_config, self._default_config)
        options = defaulted_config.get(origin, defaulted_config.get("*"))
        if options is not None and options.is_method_allowed(requested_method):
            route_config = resource_config.method_config.get(requested_method, {})
        else:
            route_config = resource_config.method_config[requested_method]
        return collections.ChainMap(route_config, defaulted_config)

    def get_non_preflight_request_config(self, request: web.Request) -> Any:
        """Return the configuration of the route that handles `request`: a `ChainMap` of the
        method's (a view's own), the resource's and the defaults."""
        assert self.is_cors_enabled_on_request(request)
        resource = self._request_resource(request)
        resource_config = self._resource_config[resource]
        route = request.match_info.route
        if _is_web_view(route, strict=False):
            handler: Any = request.match_info.handler
            method_config = handler.get_request_config(request, request.method)
        else:
            method_config = resource_config.method_config.get(request.method, {})
        return collections.ChainMap(method_config, resource_config.default_config, self._default_config)

    # -- the engine's view of the routes ------------------------------------------------------

    def _resolve(self, route: Any) -> Any:
        """Return the engine's `AiohttpRoute` for `route`: what `get_non_preflight_request_config`
        and the preflight checks would answer for it, resolved once."""
        engine = self._engine_module
        resource = getattr(route, "resource", None)
        resource_config = self._resource_config.get(resource) if resource is not None else None
        if resource_config is None:
            return engine.AiohttpRoute(False, False, False, {}, None, None)
        if _is_web_view(route, strict=False):
            handler = route.handler
            defaults = self._default_config

            def view_config(request: Any) -> Any:
                try:
                    method_config = handler.get_request_config(request, request.method)
                except KeyError:
                    # The view has no such method (aiohttp answers 405): no CORS headers.
                    # aiohttp-cors lets the KeyError out of the hook, and the client gets no
                    # response at all.
                    return {}
                return collections.ChainMap(method_config, resource_config.default_config, defaults)

            return engine.AiohttpRoute(True, False, True, {}, None, view_config)
        default = engine.AiohttpConfig(_merged(resource_config.default_config, self._default_config))
        configs = {
            method: engine.AiohttpConfig(_merged(config, resource_config.default_config, self._default_config))
            for method, config in resource_config.method_config.items()
        }
        return engine.AiohttpRoute(True, route in self._preflight_routes, False, configs, default, None)

    def _preflight_config(self, request: web.Request, origin: str, requested_method: str) -> Any:
        """Return `get_preflight_request_config`'s answer as the engine's `AiohttpConfig`."""
        route = request.match_info.route
        state = self._routes.route(route)
        resource_config = self._resource_config[route.resource]
        default = state.default
        entry = default.entries.get(origin, default.star)  # as aiohttp-cors: any Origin, as sent
        if entry is not None and entry.options.is_method_allowed(requested_method):
            return state.configs.get(requested_method, state.default)
        if requested_method not in resource_config.method_config:
            raise KeyError(requested_method)
        return state.configs[requested_method]
