"""`corsfast.aiohttp`: aiohttp-cors' `setup`, `CorsConfig` and `ResourceOptions` (0.7 and 0.8), compiled.

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
`.preflight_handler`, `.mixin`, `.urldispatcher_router_adapter` and `.abc`. It answers as the
installed aiohttp-cors release, 0.7.x or 0.8.x (without aiohttp-cors, as 0.8.1): `__version__`
is that release's ("0.7.0" or "0.8.1"), `APP_CONFIG_KEY` its key (0.7.0: the str
"aiohttp_cors"; 0.8.1: a `web.AppKey` of that name, the str on an aiohttp before 3.9, which
has no `web.AppKey`), and so is the message of the ValueError for a view not derived from
`CorsViewMixin`.

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
    _versions as _versions,
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
__version__ = _versions.INSTALLED.version
__summary__ = "CORS for aiohttp: aiohttp-cors' API, by corsfast"
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

APP_CONFIG_KEY: web.AppKey[CorsConfig] = _versions.app_config_key(_versions.INSTALLED, getattr(web, "AppKey", None))
"""The key `setup` stores the `CorsConfig` under in the application: the installed aiohttp-cors
release's (see the module's docstring)."""


def setup(
    app: web.Application,
    *,
    defaults: Optional[Mapping[str, Union[ResourceOptions, Mapping[str, Any]]]] = None,
    name: Optional[str] = None,
    log_interval: float = 60.0,
    top_refused_size: int = 32,
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
    resource added. `name`, `log_interval` and `top_refused_size` are corsfast's: what
    `corsfast.stats()` lists the configuration's counts under ("aiohttp" unless given), the
    seconds between two log lines of the same refusal, and how many of the most refused
    origins `CorsConfig.stats()` keeps.
    """
    cors = CorsConfig(
        app,
        defaults=defaults,
        name=name,
        log_interval=log_interval,
        top_refused_size=top_refused_size,
        _engine=_engine,
    )
    app[APP_CONFIG_KEY] = cors
    return cors
