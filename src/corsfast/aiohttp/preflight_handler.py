"""`_PreflightHandler`: the CORS preflight handler, as aiohttp-cors 0.8.1's
`aiohttp_cors.preflight_handler`: the same checks, in the same order, the same 403 bodies
and the same headers, plus `Vary: Origin` on every answer, and an Origin that may not be
reflected (over-long, or with a control character) refused as one no rule allows."""

from __future__ import annotations

from typing import Any

from aiohttp import hdrs, web

from .._engine import engine as _default_engine

# Positive response to Access-Control-Allow-Credentials
_TRUE = "true"


def _forbidden(text: str) -> web.HTTPForbidden:
    error = web.HTTPForbidden(text=text)
    error.headers[hdrs.VARY] = "Origin"
    return error


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
        headers = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
        if headers is None:
            return frozenset()
        return frozenset(filter(None, (h.strip(" \t").upper() for h in headers.split(","))))

    async def _get_config(self, request: web.Request, origin: str, request_method: str) -> Any:
        raise NotImplementedError()

    async def _preflight_handler(self, request: web.Request) -> web.StreamResponse:
        """Answer a CORS preflight request (the CORS specification, part 6.2)."""
        engine = self._engine_module
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None:
            raise _forbidden("CORS preflight request failed: origin header is not specified in the request")

        request_method = self._parse_request_method(request)

        try:
            config = await self._get_config(request, origin, request_method)
        except KeyError:
            raise _forbidden(
                f"CORS preflight request failed: request method {request_method!r} is not allowed for {origin!r} origin"
            ) from None

        if isinstance(config, engine.AiohttpConfig):
            empty = config.empty
        else:
            empty = not config
        if empty:
            raise _forbidden("CORS preflight request failed: no origins are allowed")

        if isinstance(config, engine.AiohttpConfig):
            entry = config.lookup(origin)
        else:
            options = config.get(origin, config.get("*"))
            entry = None if options is None or not engine.aiohttp_eligible(origin) else engine.aiohttp_entry(options)
        if entry is None:
            raise _forbidden(f"CORS preflight request failed: origin '{origin}' is not allowed")

        request_headers = self._parse_request_headers(request)
        answer = engine.aiohttp_preflight(entry, origin, request_method, request_headers)
        if isinstance(answer, frozenset):
            raise _forbidden(f"CORS preflight request failed: headers are not allowed: {', '.join(answer)}")

        response = web.Response()
        headers = response.headers
        for name, value in answer:
            headers[name] = value
        return response
