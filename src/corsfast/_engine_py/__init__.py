"""The pure-Python CORS engine: the readable specification of the compiled `_engine_c`.

Both engines expose the same names with the same arguments, results and exceptions; any
difference between them is a bug (the parity tests run hypothesis over both). The package
follows the compiled engine's seams: `counts` (`_engine_c_counts.pxi`), `origins` (`_engine_c_origins.pxi`), `policy`
(`_engine_c_policy.pxi`), `middleware` (`_engine_c_middleware.pxi`), `asgi`
(`_engine_c_asgi.pxi`), `django`, `flask`, `flask_hooks`, `aiohttp`, `aiohttp_native` and `wsgi` (their
`.pxi` files).
"""

from __future__ import annotations

from .aiohttp import *  # noqa: F403
from .aiohttp import __all__ as _AIOHTTP_ALL
from .aiohttp_native import *  # noqa: F403
from .aiohttp_native import __all__ as _AIOHTTP_NATIVE_ALL
from .asgi import (
    ASGIMiddlewareBase,
    asgi_call,
    asgi_call_async,
    kui_origin,
    scan_plain_request_headers,
    scan_request_headers,
    starlette_entry,
    starlette_preflight,
    wrap_send,
)
from .counts import DecisionCounts, RefusedOrigins
from .django import *  # noqa: F403
from .django import __all__ as _DJANGO_ALL
from .flask import *  # noqa: F403
from .flask import __all__ as _FLASK_ALL
from .flask_hooks import *  # noqa: F403
from .flask_hooks import __all__ as _FLASK_HOOKS_ALL
from .middleware import MiddlewareBase
from .policy import CacheInfo, CORSPolicy, OriginEntry
from .wsgi import WSGIMiddlewareBase, environ_preflight_fields, wsgi_call, wsgi_headers

__all__ = (
    "ASGIMiddlewareBase",
    "CORSPolicy",
    "CacheInfo",
    "DecisionCounts",
    "OriginEntry",
    "RefusedOrigins",
    "asgi_call",
    "asgi_call_async",
    "kui_origin",
    "MiddlewareBase",
    "scan_plain_request_headers",
    "scan_request_headers",
    "starlette_entry",
    "starlette_preflight",
    "wrap_send",
    "WSGIMiddlewareBase",
    "environ_preflight_fields",
    "wsgi_call",
    "wsgi_headers",
    *_AIOHTTP_ALL,
    *_AIOHTTP_NATIVE_ALL,
    *_DJANGO_ALL,
    *_FLASK_ALL,
    *_FLASK_HOOKS_ALL,
)
