"""The Kui drop-in end to end: a real Kui app with `corsfast.kui.asgi.allow_cors`, on both engines.

A fuzzed Kui configuration attached as Kui allows it (on the route, on the app, through
`cors_config`), a fuzzed request (scope, method, raw header list with repeated, odd-case and
odd-type Origin fields) and a fuzzed endpoint (an HttpResponse with app-set headers, a str,
a tuple, an HTTPException, a failure): the messages Kui sends, and the outcome, must be the
same on both engines, and the answer keeps the invariants.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from cases import CASES
from kui.asgi import HTTPException, HttpResponse, HttpRoute, Kui as PlainKui

import corsfast.kui.asgi
from fuzz.common import (
    PY,
    RESPONSE_NAMES,
    Built,
    Input,
    Writer,
    options as read_options,
    options_key,
    quiet,
    write_options,
)
from fuzz.exchange import AppError, check_exchange, exchange, request, write_request

DIALECT = "kui"
ATTACH = ("route", "app", "cors_config")
RESULTS = ("response", "response", "text", "tuple", "http_exception", "error")
STATUSES = (200, 201, 204, 400, 404)
NAMES = tuple(name.decode("latin-1") for name in RESPONSE_NAMES)


def endpoint_script(inp: Input) -> tuple[str, int, dict[str, str]]:
    result = inp.pick(RESULTS)
    status = inp.pick(STATUSES)
    headers = {}
    for _ in range(inp.below(5)):
        name = inp.pick(NAMES) if inp.below(4) else inp.text()
        headers[name] = inp.text()
    return result, status, headers


PLAYING: list[tuple[str, int, dict[str, str]]] = [("text", 200, {})]
"""What the endpoint does for the current input (the Kui apps are built once per configuration)."""


class Reused:
    """A Kui app and the policy behind it, built once per configuration and attachment."""

    def __init__(self, app: Any, policy: Any) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.policy is not None:
            self.policy.cache_clear()
        await self.app(scope, receive, send)


def build(engine: ModuleType, kwargs: dict[str, Any], attach: str) -> Reused:
    async def endpoint() -> Any:
        result, status, headers = PLAYING[0]
        if result == "response":
            return HttpResponse(status, headers=headers)
        if result == "text":
            return "text"
        if result == "tuple":
            return ("created", status)
        if result == "http_exception":
            raise HTTPException(status, headers=headers)
        raise AppError("the endpoint failed")

    cors = quiet(corsfast.kui.asgi.allow_cors, **kwargs, _engine=engine)
    if attach == "cors_config":
        app = quiet(corsfast.kui.asgi.Kui, routes=[HttpRoute("/", endpoint)], cors_config=kwargs, _engine=engine)
        return Reused(app, None)  # its policy is inside: rebuilt for every input instead
    if attach == "route":
        return Reused(PlainKui(routes=[HttpRoute("/", endpoint) @ cors]), cors.policy)
    return Reused(PlainKui(routes=[HttpRoute("/", endpoint)], http_middlewares=[cors]), cors.policy)


def one_input(data: bytes) -> None:
    inp = Input(data)
    kwargs = read_options(inp, DIALECT)
    attach = inp.pick(ATTACH)
    produce = endpoint_script(inp)
    req = request(inp)
    req.scope_type = "http"  # Kui itself refuses other scope types (getattr(app, scope type))
    PLAYING[0] = produce
    key = options_key("kui", attach, kwargs)
    if attach == "cors_config":
        Built.forget(key)
    built = Built.get(key, lambda engine: build(engine, kwargs, attach))
    if built is None:
        return
    result = exchange(lambda engine, _: built[engine is PY], req, [])
    if result.outcome[0] == "refused" or (result.outcome[0] == "raised" and result.outcome[1] is AppError):
        check_exchange(result, req)
        return
    kind, _, headers = produce
    if not all(
        n.isascii() and n.isprintable() and v.isprintable() and max(v, default=" ") < "\u0100"
        for n, v in headers.items()
    ):
        return  # the endpoint's own odd headers: compared above, not the middleware's doing
    result.app.calls.append((result.scope, None, result.send))  # Kui calls the endpoint itself
    app_headers = headers.items() if kind in ("response", "http_exception") else ()
    result.app.app_headers = [(n.lower().encode(), v.encode("latin-1")) for n, v in app_headers]
    check_exchange(result, req, req.kui_origin() or b"")  # Kui joins repeated Origin fields


def seeds() -> Iterable[bytes]:
    configs = (
        {"allow_origins": [re.compile(r"https://example\.com")], "allow_methods": ["GET", "POST"]},
        {"allow_origins": [re.compile(".*")], "allow_credentials": True, "allow_headers": ["X-A"]},
    )
    for config in configs:
        for case in CASES[::3]:
            w = Writer()
            write_options(w, DIALECT, config)
            w.pick(ATTACH, "route").pick(RESULTS, "response").pick(STATUSES, 200)
            w.below(5, 1).below(4, 1).pick(NAMES, "vary").text("Accept")
            write_request(w, case.method, case.headers)
            yield w.data()
