"""`corsfast.wsgi.CORSMiddleware`: the native middleware's semantics for WSGI apps (Flask, Django, Kui's WSGI side).

    from corsfast.wsgi import CORSMiddleware
    app.wsgi_app = CORSMiddleware(app.wsgi_app, allow_origins=["https://example.com"])  # Flask
    application = CORSMiddleware(get_wsgi_application(), allow_origins=[...])          # Django

Same options, defaults and answers as `corsfast.CORSMiddleware` (the ASGI one), over the
same engine. A preflight from an allowed origin is answered without calling the app;
every other request reaches the app, and the CORS headers are added in `start_response`.
The app's iterable is returned as is, so streaming bodies, `close()` and
`wsgi.file_wrapper` responses pass through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Callable, Optional, Union

from ._engine import engine as _default_engine
from ._options import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    NATIVE_DEFAULT_METHODS,
    native_options,
)
from .asgi import EngineShim, _reusable

__all__ = ("CORSMiddleware",)

Environ = dict[str, Any]
StartResponse = Callable[..., Callable[[bytes], Any]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class CORSMiddleware(EngineShim, _default_engine.WSGIMiddlewareBase):
    """Answer CORS for a WSGI app, with the options and answers of `corsfast.CORSMiddleware`.

    - A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
      origin gets an empty "200 OK" with the CORS headers; the app is not called.
    - Any other request from an allowed origin gets the app's response plus
      Access-Control-Allow-Origin, -Allow-Credentials (when enabled) and -Expose-Headers.
    - A request with no Origin or a refused one reaches the app untouched but for
      `Vary: Origin`.

    `allow_origin_func` must be a plain function here (an `async def` one is a TypeError):
    it is asked once per request, before the app is called.
    """

    __call__ = _default_engine.wsgi_call
    _views_per_thread = True  # free-threaded CPython: each thread serves from a policy of its own

    def __init__(
        self,
        app: WSGIApp,
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
            async_func_allowed=False,
        )
        self.app = app
        self.policy = type(self)._engine_module.CORSPolicy(options)
        self._observe("wsgi", name, log_interval, top_refused_size, report_only, locals())
