"""`AbstractRouterAdapter`: the interface aiohttp-cors 0.8.1's `CorsConfig` drives a router
through, the same abstract methods. corsfast's own adapter is
`urldispatcher_router_adapter.ResourcesUrlDispatcherRouterAdapter`; with another one,
`CorsConfig` calls these methods on every request, as aiohttp-cors does."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

from aiohttp import web

__all__ = ("AbstractRouterAdapter",)


class AbstractRouterAdapter(metaclass=ABCMeta):
    """Router adapter for handling CORS configuration interface.

    A router's routing entities (for aiohttp's `UrlDispatcher`: resources and their routes)
    are what CORS is configured for.
    """

    @abstractmethod
    def add_preflight_handler(self, routing_entity: Any, handler: Any, webview: bool = False) -> None:
        """Add the OPTIONS handler for all routes defined by `routing_entity`."""

    @abstractmethod
    def is_preflight_request(self, request: web.Request) -> bool:
        """Return True when `request` is a CORS preflight request."""

    @abstractmethod
    def is_cors_enabled_on_request(self, request: web.Request) -> bool:
        """Return True when `request` is for a CORS-enabled resource."""

    @abstractmethod
    def set_config_for_routing_entity(self, routing_entity: Any, config: Any) -> None:
        """Record the configuration for a routing entity."""

    @abstractmethod
    async def get_preflight_request_config(
        self, preflight_request: web.Request, origin: str, requested_method: str
    ) -> Any:
        """Return the configuration for a preflight's method and origin; KeyError when CORS is
        not enabled for that method."""

    @abstractmethod
    def get_non_preflight_request_config(self, request: web.Request) -> Any:
        """Return the configuration of the routing entity that handles `request`."""
