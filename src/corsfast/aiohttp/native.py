"""The native corsfast API on aiohttp: `cors_middleware(**options)`.

    cors = cors_middleware(allow_origins=["https://app.example.com"])
    app = web.Application(middlewares=[cors])

The options are `corsfast.CORSMiddleware`'s, compiled once into the engine's `CORSPolicy`;
each request is answered as that ASGI middleware answers it: a preflight from an allowed
origin by the middleware itself (for any path; the handler is not called), every other
response (aiohttp's own 404 and 405 included) with the CORS headers of its origin and
`Vary: Origin`. `AiohttpCORSMiddleware` is the engine's own class: on the compiled engine
the whole of each request's work (the origin lookup, a preflight's answer, the response's
headers) runs in compiled code.

aiohttp reads request headers as UTF-8 (undecodable bytes kept as surrogates) and writes
response headers as UTF-8, so the engine sees the bytes the client sent; an answer that would
reflect bytes aiohttp cannot write back (an Origin that is not UTF-8) is the refused one.
A response the handler prepares itself (`await response.prepare(request)`: streaming) has
sent its headers before the middleware sees it, and gets no CORS headers.

Every request is counted by kind and reason: `AiohttpCORSMiddleware.stats()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional, Union

from .._engine import engine as _default_engine
from .._options import DEFAULT_CACHE_SIZE, DEFAULT_MAX_ORIGIN_LENGTH, NATIVE_DEFAULT_METHODS, native_options

if TYPE_CHECKING:
    from .._engine_py.aiohttp_native import AiohttpCORSMiddleware
else:
    # The selected engine's class: its per-request work is compiled on the compiled engine.
    AiohttpCORSMiddleware = _default_engine.AiohttpCORSMiddleware

__all__ = ("AiohttpCORSMiddleware", "cors_middleware")


def cors_middleware(
    *,
    allow_origins: Iterable[Union[str, re.Pattern[str]]] = (),
    allow_methods: Iterable[str] = NATIVE_DEFAULT_METHODS,
    allow_headers: Iterable[str] = (),
    expose_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    max_age: int = 600,
    allow_private_network: bool = False,
    allow_origin_func: Optional[Callable[[str], Any]] = None,
    allow_origin_func_ttl: float = 0.0,
    cache_size: int = DEFAULT_CACHE_SIZE,
    max_origin_length: int = DEFAULT_MAX_ORIGIN_LENGTH,
    strict: bool = False,
    name: Optional[str] = None,
    log_interval: float = 60.0,
    top_refused_size: int = 32,
    _engine: Optional[ModuleType] = None,
) -> AiohttpCORSMiddleware:
    """Return an aiohttp middleware answering CORS as `corsfast.CORSMiddleware` does.

    The options are that middleware's, with the same defaults, checks and warnings: no origin
    is allowed until `allow_origins` (or `allow_origin_func`) names some. A preflight from an
    allowed origin is answered for any path, also where no OPTIONS route exists; every other
    response, aiohttp's own 404 and 405 included, gets the CORS headers of its origin and
    `Vary: Origin`. An `async def` `allow_origin_func` is awaited in the request's task.

    `name` is what `corsfast.stats()` lists the middleware's counts under ("aiohttp-native"
    unless given), `log_interval` the seconds between two log lines of the same refusal, and
    `top_refused_size` how many of the most refused origins `stats()` keeps.
    """
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
    engine = _default_engine if _engine is None else _engine
    return engine.AiohttpCORSMiddleware(  # type: ignore[no-any-return]
        engine.CORSPolicy(options), name=name, log_interval=log_interval, top_refused_size=top_refused_size
    )
