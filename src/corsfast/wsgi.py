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
from http import HTTPStatus
from types import ModuleType
from typing import Any, Callable, Optional, Union

from ._engine import engine as _default_engine
from ._options import DEFAULT_CACHE_SIZE, DEFAULT_MAX_ORIGIN_LENGTH, KUI_DEFAULT_METHODS, native_options

__all__ = ("CORSMiddleware",)

Environ = dict[str, Any]
StrHeaders = list[tuple[str, str]]
StartResponse = Callable[..., Callable[[bytes], Any]]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def _raw(environ: Environ, key: str) -> Optional[bytes]:
    """Return a request header from `environ` as the bytes the client sent (PEP 3333: latin-1 str)."""
    value = environ.get(key)
    if value is None:
        return None
    try:
        return value.encode("latin-1")  # type: ignore[no-any-return]
    except (AttributeError, UnicodeEncodeError):
        return None  # not a header any client could send


def _to_str(headers: Iterable[tuple[bytes, bytes]]) -> StrHeaders:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


class CORSMiddleware:
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

    def __init__(
        self,
        app: WSGIApp,
        allow_origins: Iterable[Union[str, re.Pattern[str]]] = ("*",),
        allow_methods: Iterable[str] = KUI_DEFAULT_METHODS,
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
        _engine: Optional[ModuleType] = None,
    ) -> None:
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
        self.policy = (_engine or _default_engine).CORSPolicy(options)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        policy = self.policy
        origin = _raw(environ, "HTTP_ORIGIN")
        entry = None
        if origin is not None:
            # Decided once, before the app runs (allow_origin_func is asked at most once).
            entry = policy.lookup(origin)
            request_method = _raw(environ, "HTTP_ACCESS_CONTROL_REQUEST_METHOD")
            if policy.is_preflight(environ.get("REQUEST_METHOD", ""), origin, request_method):
                answer = policy.entry_preflight(
                    entry,
                    request_method,
                    _raw(environ, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
                    _raw(environ, "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
                )
                if answer is not None:
                    status, headers, body = answer
                    start_response(f"{status} {HTTPStatus(status).phrase}", _to_str(headers))
                    return [body] if body else []

        def cors_start_response(status: str, headers: StrHeaders, exc_info: Any = None) -> Callable[[bytes], Any]:
            # The engine compares lower-case names (ASGI's); the app's spelling is kept.
            spelling: dict[str, str] = {}
            encoded = []
            for name, value in headers:
                lowered = name.lower()
                if lowered != name:
                    spelling.setdefault(lowered, name)
                encoded.append((lowered.encode("latin-1"), value.encode("latin-1")))
            result = []
            cors = policy.response_headers(None, encoded) if entry is None else policy.entry_headers(entry, encoded)
            for raw_name, raw_value in cors:
                name = raw_name.decode("latin-1")
                result.append((spelling.get(name, name), raw_value.decode("latin-1")))
            if exc_info is None:
                return start_response(status, result)
            return start_response(status, result, exc_info)

        return self.app(environ, cors_start_response)

    def cache_info(self) -> Any:
        """Return the origin cache's hits, misses, maximum and current size."""
        return self.policy.cache_info()

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        self.policy.cache_clear()
