"""`corsfast.aiohttp`: aiohttp-cors 0.8.1's `setup`, `CorsConfig` and `ResourceOptions`, compiled.

Change `import aiohttp_cors` to `import corsfast.aiohttp as aiohttp_cors` (or the names you
import); `setup`, `CorsConfig`, `ResourceOptions`, `CorsViewMixin`, `custom_cors` and
`APP_CONFIG_KEY`, their arguments, errors and the headers they write are aiohttp-cors', but
for the fixes listed in the docs' "Differences from aiohttp-cors": `Vary: Origin`, a
handler's own CORS headers kept instead of a dropped connection, over-long Origins and
Origins with control characters never reflected, and header names and methods that are not
HTTP tokens refused at set-up.

    app = web.Application()
    allowed = aiohttp_cors.ResourceOptions(allow_credentials=True)
    cors = aiohttp_cors.setup(app, defaults={"https://app.example.com": allowed})
    cors.add(app.router.add_get("/api", handler))

The modules are aiohttp-cors': `corsfast.aiohttp.cors_config`, `.resource_options`,
`.preflight_handler`, `.mixin`, `.urldispatcher_router_adapter` and `.abc`; `__version__` is
the aiohttp-cors version whose behaviour this package reproduces, "0.8.1".

`cors_middleware(**options)` is corsfast's native API on aiohttp instead: the options of
`corsfast.CORSMiddleware` (patterns, wildcards, `allow_origin_func`, ...), as an aiohttp
middleware that answers preflights for any path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional, Union

from aiohttp import web

from .. import __version__ as _corsfast_version
from . import (
    abc as abc,
    cors_config as cors_config,
    mixin as mixin,
    native as native,
    preflight_handler as preflight_handler,
    resource_options as resource_options,
    urldispatcher_router_adapter as urldispatcher_router_adapter,
)
from .cors_config import CorsConfig
from .mixin import CorsViewMixin, custom_cors
from .native import AiohttpCORSMiddleware, cors_middleware
from .resource_options import ResourceOptions

__title__ = "corsfast.aiohttp"
__version__ = "0.8.1"
__summary__ = "CORS for aiohttp: aiohttp-cors 0.8.1's API, by corsfast"
__uri__ = "https://pypi.org/project/corsfast/"
__author__ = "the corsfast authors"
__email__ = ""
__license__ = "Apache License, Version 2.0"
__copyright__ = f"corsfast {_corsfast_version}"

__all__ = (
    "AiohttpCORSMiddleware",
    "CorsConfig",
    "CorsViewMixin",
    "ResourceOptions",
    "__author__",
    "__copyright__",
    "__email__",
    "__license__",
    "__summary__",
    "__title__",
    "__uri__",
    "__version__",
    "cors_middleware",
    "custom_cors",
    "setup",
)

APP_CONFIG_KEY: web.AppKey[CorsConfig] = web.AppKey("aiohttp_cors", CorsConfig)


def setup(
    app: web.Application,
    *,
    defaults: Optional[Mapping[str, Union[ResourceOptions, Mapping[str, Any]]]] = None,
    _engine: Any = None,
) -> CorsConfig:
    """Return the CORS configuration of `app`, made and stored under `APP_CONFIG_KEY`.

    CORS is enabled per resource or route with `CorsConfig.add()`::

        cors = corsfast.aiohttp.setup(app)
        allowed = corsfast.aiohttp.ResourceOptions(allow_credentials=True)
        cors.add(
            app.router.add_route("GET", "/resource", handler),
            {"https://app.example.com": allowed},
        )

    `defaults` (origin -> `ResourceOptions` or a mapping of its arguments) apply to every
    resource added.
    """
    cors = CorsConfig(app, defaults=defaults, _engine=_engine)
    app[APP_CONFIG_KEY] = cors
    return cors
