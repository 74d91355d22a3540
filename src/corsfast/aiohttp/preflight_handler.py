"""`_PreflightHandler`: the CORS preflight handler, as aiohttp-cors 0.8.1's
`aiohttp_cors.preflight_handler`: the same checks, in the same order, the same 403 bodies
and the same headers, plus `Vary: Origin` on every answer, and an Origin that may not be
reflected (over-long, or with a control character) refused as one no rule allows.

Every preflight is counted once, with the reason of aiohttp-cors' 403 (or, for a 200, what a
browser concludes from it), in the counts of the application's `CorsConfig`."""

from __future__ import annotations

from typing import Any, Optional

from aiohttp import hdrs, web

from .._engine import engine as _default_engine
from .._observe.reasons import (
    ALLOWED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PREFLIGHT,
    PRIVATE_NETWORK_NOT_ALLOWED,
)

__all__ = ()  # `_PreflightHandler` is internal, as in aiohttp-cors

# Positive response to Access-Control-Allow-Credentials
_TRUE = "true"
_NO_CONFIG = object()
"""What `_preflight_handler` finds when the resource does not route the requested method."""


_ACRPN = "Access-Control-Request-Private-Network"
_AIOHTTP_APP_MODULE = "aiohttp.web_app"
"""Where aiohttp's own `Application._handle` is defined (a wrapper put in its place is not)."""


def _forbidden(text: str) -> web.HTTPForbidden:
    error = web.HTTPForbidden(text=text)
    error.headers[hdrs.VARY] = "Origin"
    return error


def _unobserved(request: web.Request, routes: Any) -> bool:
    """Return True when nothing but corsfast could tell a returned 403 from a raised
    `HTTPForbidden`: the application's request handler is aiohttp's own (error trackers such
    as Sentry's wrap it to see the exceptions it raises), and no app on the request's way has
    a middleware (which could catch the error) or an `on_response_prepare` handler other than
    corsfast's `routes` (which could look at the response's type). The apps are frozen:
    neither can change any more."""
    apps = request.match_info.apps
    if not apps or getattr(type(apps[0])._handle, "__module__", None) != _AIOHTTP_APP_MODULE:
        return False
    for app in apps:
        if app.middlewares:
            return False
        for handler in app.on_response_prepare:
            if handler is not routes:
                return False
    return True


def _refusal(request: web.Request, routes: Any, text: str) -> web.Response:
    """Return the 403 a refused preflight gets, with `Vary: Origin`; raise it as the
    `HTTPForbidden` aiohttp-cors raises when something else could tell the difference.

    Both give the same bytes on the wire; returning the response skips building and
    unwinding an exception, most of a refusal's cost."""
    if routes is None or not _unobserved(request, routes):
        raise _forbidden(text)
    response = web.Response(status=403, text=text)
    response.headers[hdrs.VARY] = "Origin"
    return response


def _first_refused_header(value: Optional[str], refused: frozenset[str]) -> str:
    """Return the first name of an Access-Control-Request-Headers `value` among the `refused`
    names (upper-cased, as aiohttp-cors compares them), in the request's spelling."""
    for name in (value or "").split(","):
        name = name.strip(" \t")
        if name.upper() in refused:
            return name
    return next(iter(refused))


class _PreflightHandler:
    _engine_module: Any = _default_engine

    @staticmethod
    def _parse_request_method(request: web.Request) -> str:
        """Return the preflight's Access-Control-Request-Method; HTTPForbidden without one."""
        method = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD)
        if method is None:
            raise _forbidden("CORS preflight request failed: 'Access-Control-Request-Method' header is not specified")
        return method

    @staticmethod
    def _parse_request_headers(request: web.Request) -> frozenset[str]:
        """Return the Access-Control-Request-Headers names, upper-cased, as a frozenset."""
        value = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
        return _default_engine.aiohttp_request_headers(value)

    async def _get_config(self, request: web.Request, origin: str, request_method: str) -> Any:
        raise NotImplementedError()

    _config_now: Any = None
    """A plain function that does `_get_config`'s work without a coroutine, when one does."""
    _routes: Any = None
    """The engine's routes, when they keep allowed preflight answers (corsfast's own adapter)."""

    def _observation(self, request: web.Request) -> Optional[tuple[Any, Any]]:
        """Return the `DecisionCounts` and `RefusedOrigins` a preflight to `request` is counted
        in: those of the `CorsConfig` of the request's application (a view's preflight handler
        is the view); None when it has none."""
        from . import APP_CONFIG_KEY

        cors = request.app.get(APP_CONFIG_KEY)
        return getattr(cors, "_observation", None)

    def _count(
        self,
        request: web.Request,
        reason: int,
        origin: Optional[str] = None,
        detail_name: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> None:
        """Count one preflight answered for `reason` (a number); note a refused origin."""
        observation = self._observation(request)
        if observation is not None:
            counts, refused = observation
            counts.add(PREFLIGHT, reason)
            if reason > NO_ORIGIN:
                refused.note(reason, origin, detail_name, detail)

    def _origin_reason(self, origin: str) -> int:
        """Return the reason an Origin no configuration allows is refused for."""
        engine = self._engine_module
        return ORIGIN_NOT_ALLOWED if type(origin) is not str or engine.aiohttp_eligible(origin) else ORIGIN_INVALID

    def _method_refusal(self, request: web.Request, origin: str) -> int:
        """Return the reason of aiohttp-cors' "method is not allowed for origin" 403: the
        origin's, when no configuration of the route has options for it (corsfast's own
        adapter can tell), else `method_not_allowed`."""
        routes = self._routes
        if routes is not None:
            state = routes.route(request.match_info.route)
            if state is not None and state.default is not None:
                configs = [state.default, *state.configs.values()]
                if all(config.lookup(origin) is None for config in configs):
                    return self._origin_reason(origin)
        return METHOD_NOT_ALLOWED

    async def _preflight_handler(self, request: web.Request) -> web.StreamResponse:
        """Answer a CORS preflight request (the CORS specification, part 6.2)."""
        engine = self._engine_module
        routes = self._routes
        if routes is not None:
            # A preflight answers as the last one like it on this route did.
            known = engine.aiohttp_known_preflight(routes, request)
            if type(known) is str:
                return _refusal(request, routes, known)
            if known is not None:
                response = web.Response()
                response.headers.extend(known)
                return response
        request_headers = request.headers
        origin = request_headers.get(hdrs.ORIGIN)
        if origin is None:
            self._count(request, NO_ORIGIN)
            raise _forbidden("CORS preflight request failed: origin header is not specified in the request")

        request_method = request_headers.get(hdrs.ACCESS_CONTROL_REQUEST_METHOD)
        if request_method is None:
            self._count(request, METHOD_NOT_ALLOWED, origin, "method", "")
            request_method = self._parse_request_method(request)  # its 403

        try:
            if self._config_now is not None:
                config = self._config_now(request, origin, request_method)
            else:
                config = await self._get_config(request, origin, request_method)
        except KeyError:
            config = _NO_CONFIG  # refused below, outside the handler: no KeyError as its context
        if config is _NO_CONFIG:
            text = f"request method {request_method!r} is not allowed for {origin!r} origin"
            reason = self._method_refusal(request, origin)
            if reason == METHOD_NOT_ALLOWED:
                return self._refuse(request, f"CORS preflight request failed: {text}", reason, "method", request_method)
            return self._refuse(request, f"CORS preflight request failed: {text}", reason)

        if isinstance(config, engine.AiohttpConfig):
            if config.empty:
                text = "CORS preflight request failed: no origins are allowed"
                return self._refuse(request, text, self._origin_reason(origin))
            entry = config.lookup(origin)
        else:
            if not config:
                text = "CORS preflight request failed: no origins are allowed"
                return self._refuse(request, text, self._origin_reason(origin))
            entry = engine.aiohttp_mapping_entry(config, origin)
        if entry is None:
            text = f"CORS preflight request failed: origin '{origin}' is not allowed"
            return self._refuse(request, text, self._origin_reason(origin))

        value = request_headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
        names = engine.aiohttp_request_headers(value)
        answer = engine.aiohttp_preflight(entry, origin, request_method, names)
        if isinstance(answer, frozenset):
            text = f"CORS preflight request failed: headers are not allowed: {', '.join(answer)}"
            return self._refuse(request, text, HEADER_NOT_ALLOWED, "header", _first_refused_header(value, answer))

        # aiohttp-cors never grants private network access: a browser refuses such a preflight.
        private_network = request_headers.get(_ACRPN) == _TRUE
        self._count(request, PRIVATE_NETWORK_NOT_ALLOWED if private_network else ALLOWED, origin)
        if routes is not None:
            engine.aiohttp_keep_preflight(routes, request, answer)
        response = web.Response()
        response.headers.extend(answer)  # a new response's headers are empty: the same as set in turn
        return response

    def _refuse(
        self,
        request: web.Request,
        text: str,
        reason: int,
        detail_name: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> web.Response:
        """Return (or raise, see `_refusal`) the 403 a refused preflight gets, counted for
        `reason` (with the method or header refused); keep its text and reason for the
        preflights like it on its route."""
        routes = self._routes
        self._count(request, reason, request.headers.get(hdrs.ORIGIN), detail_name, detail)
        if routes is not None:
            self._engine_module.aiohttp_keep_refusal(routes, request, text, reason, detail_name, detail)
        return _refusal(request, routes, text)
