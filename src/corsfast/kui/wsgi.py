"""`corsfast.kui.wsgi.allow_cors`: Kui 1.15's `kui.wsgi.allow_cors`, answered by the corsfast engine.

    from corsfast.kui.wsgi import allow_cors          # was: from kui.wsgi import allow_cors

    cors = allow_cors(allow_origins=[re.compile(r"https://.*\\.example\\.com")], max_age=3600)
    app.router <<= HttpRoute("/api/data", handler) @ cors
    api = Routes(HttpRoute("/users", list_users), http_middlewares=[allow_cors()])
    app = Kui(http_middlewares=[cors_middleware(cors_config)])

`Kui` here is `kui.wsgi.Kui` whose `cors_config=` uses corsfast, in the very position
Kui puts its own (outside the exception middleware, so HTTP exceptions get CORS headers).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from re import Pattern
from types import ModuleType
from typing import Any, Callable, Optional

from kui.wsgi import HttpResponse, Kui as _Kui
from kui.wsgi.requests import request_var
from kui.wsgi.routing import Router

from .._engine import engine as _default_engine
from .._options import KUI_DEFAULT_METHODS
from . import _Blocks, _config, _convert, _convert_early, _Counted, _decode, _observed, _origin_bytes, _policy, _write

__all__ = ("Kui", "allow_cors", "cors_middleware")

View = Callable[[], Any]


def allow_cors(
    allow_origins: Iterable[Pattern[str]] = (re.compile(".*"),),
    allow_methods: Iterable[str] = KUI_DEFAULT_METHODS,
    allow_headers: Iterable[str] = (),
    expose_headers: Iterable[str] = (),
    allow_credentials: bool = False,
    max_age: int = 600,
    *,
    name: Optional[str] = None,
    log_interval: float = 60.0,
    top_refused_size: int = 32,
    _engine: Optional[ModuleType] = None,
) -> Callable[[View], View]:
    """Cross-Origin Resource Sharing, as `kui.wsgi.allow_cors` (same arguments and defaults).

    A request whose Origin fully matches one of `allow_origins` gets the CORS headers; an
    OPTIONS request from such an origin is answered with an empty 200 without calling the
    endpoint. Every response of a wrapped endpoint also carries `Vary: Origin`.
    """
    policy = _policy(allow_origins, allow_methods, allow_headers, expose_headers, allow_credentials, max_age, _engine)
    counted = _Counted(policy, _engine, name, log_interval, top_refused_size)
    note = policy.note
    note_simple = policy.note_simple
    note_preflight = policy.note_preflight
    preflight_fields = (_engine or _default_engine).environ_preflight_fields
    is_preflight = policy.is_preflight
    lookup = policy.lookup
    blocks = _Blocks()
    absent = _decode(policy.response_headers(None, ()))

    def decorator(endpoint: View) -> View:
        def cors_wrapper() -> Any:
            # Kui's request is a mapping over the WSGI environ, where the server has already
            # joined repeated Origin fields: read it there rather than build request.headers.
            connection = request_var.get()
            # The environ itself (baize keeps it), read without a Python call per key.
            environ = getattr(connection, "_environ", connection)
            origin = environ.get("HTTP_ORIGIN")
            # Kui treats an empty Origin as no Origin.
            raw = _origin_bytes(origin) if origin else None
            if raw is not None:
                entry = lookup(raw)
                decoded = blocks(entry)
                if is_preflight(environ["REQUEST_METHOD"], raw, None):
                    # Counted for the reason a browser gives Kui's answer (Kui refuses no
                    # method or header itself).
                    note_preflight(entry, raw, *preflight_fields(environ))
                    if entry.allowed:
                        response = HttpResponse()  # Kui's preflight answer: the endpoint is not called
                        _write(response.headers, decoded)
                        return response
                else:
                    note_simple(entry, raw)
                    if entry.allowed:
                        response = _convert(connection["app"], endpoint(), HttpResponse)
                        _write(response.headers, decoded)
                        return response
            else:
                note(0, 1)  # no Origin
                decoded = absent
            response = _convert_early(connection["app"], endpoint(), HttpResponse)
            if isinstance(response, HttpResponse):  # not for routers and file apps Kui passes on
                _write(response.headers, decoded)
            return response

        return cors_wrapper

    decorator.policy = policy  # type: ignore[attr-defined]
    return _observed(decorator, counted)  # type: ignore[no-any-return]


def cors_middleware(
    cors_config: Mapping[str, Any],
    *,
    name: Optional[str] = None,
    log_interval: float = 60.0,
    top_refused_size: int = 32,
    _engine: Optional[ModuleType] = None,
) -> Callable[[View], View]:
    """Return `allow_cors(**cors_config)` for a Kui `cors_config` dict (unknown keys are refused)."""
    return allow_cors(
        **_config(cors_config),
        name=name,
        log_interval=log_interval,
        top_refused_size=top_refused_size,
        _engine=_engine,
    )


class Kui(_Kui):
    """`kui.wsgi.Kui` whose `cors_config=` is answered by corsfast, where Kui puts its own."""

    def __init__(
        self,
        *,
        routes: Iterable[Any] = (),
        http_middlewares: Sequence[Any] = (),
        cors_config: Optional[Mapping[str, Any]] = None,
        _engine: Optional[ModuleType] = None,
        **kwargs: Any,
    ) -> None:
        if cors_config is None:
            super().__init__(routes=routes, http_middlewares=[*http_middlewares], **kwargs)
            return
        cors = cors_middleware(cors_config, _engine=_engine)
        super().__init__(http_middlewares=[*http_middlewares], **kwargs)
        # Kui appends its allow_cors after the exception middleware it creates.
        self.router = Router(routes, [*http_middlewares, self.exception_middleware, cors], [])
