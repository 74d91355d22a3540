"""`CorsViewMixin` and `custom_cors`: CORS for `aiohttp.web.View` classes, as aiohttp-cors
0.8.1's `aiohttp_cors.mixin`."""

from __future__ import annotations

import collections
from typing import Any, Callable, TypeVar

from aiohttp import web

from .preflight_handler import _PreflightHandler

__all__ = ("CorsViewMixin", "custom_cors")

_F = TypeVar("_F", bound=Callable[..., Any])


def custom_cors(config: Any) -> Callable[[_F], _F]:
    """Return a decorator giving one view method its own CORS configuration."""

    def wrapper(function: _F) -> _F:
        setattr(function, f"{function.__name__}_cors_config", config)
        return function

    return wrapper


class CorsViewMixin(_PreflightHandler):
    """Mix into a `web.View` to answer its preflights and configure its methods' CORS:
    `cors_config` for the class, `custom_cors` for one method, else the app's defaults."""

    cors_config: Any = None

    @classmethod
    def get_request_config(cls, request: web.Request, request_method: str) -> Any:
        """Return the configuration for `request_method` on this view: a `ChainMap` of the
        method's, the class's and the app's defaults. KeyError when the view lacks the method,
        ValueError when CORS is not set up on the app."""
        try:
            from . import APP_CONFIG_KEY

            cors = request.app[APP_CONFIG_KEY]
        except KeyError:
            raise ValueError("aiohttp-cors is not configured.") from None

        method = getattr(cls, request_method.lower(), None)
        if not method:
            raise KeyError()

        custom_config = getattr(method, f"{request_method.lower()}_cors_config", None) or {}
        class_config = cls.cors_config or {}
        return collections.ChainMap(custom_config, class_config, cors.defaults)

    async def _get_config(self, request: web.Request, origin: str, request_method: str) -> Any:
        return self.get_request_config(request, request_method)

    async def options(self) -> web.StreamResponse:
        """Answer the view's preflight requests."""
        return await self._preflight_handler(self.request)  # type: ignore[attr-defined]
