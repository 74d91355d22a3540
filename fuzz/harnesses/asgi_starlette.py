"""The Starlette drop-in end to end: `corsfast.starlette.CORSMiddleware` around an app, on both engines.

The same exchange as `asgi_native` (fuzz/exchange.py) with Starlette's constructor and
dialect: preflights answered 200 or 400 with Starlette's bodies, simple responses merged as
Starlette's `MutableHeaders` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from cases import CASES

import corsfast.starlette
from fuzz.common import Input, Writer, options as read_options, write_options
from fuzz.exchange import check_exchange, exchange, middlewares, request, script, write_request, write_script

DIALECT = "starlette"
FACTORY = corsfast.starlette.CORSMiddleware
CONFIGS = (
    {"allow_origins": ["https://example.com"], "allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]},
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "allow_credentials": True},
    {"allow_origin_regex": r"https://[a-z0-9-]+\.example\.com", "allow_private_network": True},
)


def one_input(data: bytes) -> None:
    inp = Input(data)
    kwargs = read_options(inp, DIALECT)
    make = middlewares(FACTORY, kwargs)
    if make is None:
        return
    req = request(inp)
    actions = script(inp)
    result = exchange(make, req, actions)
    check_exchange(result, req, req.starlette_origin())


def seeds() -> Iterable[bytes]:
    for config in CONFIGS:
        for case in CASES[::3]:
            w = Writer()
            write_options(w, DIALECT, dict(config))
            write_request(w, case.method, case.headers)
            write_script(w, 200, case.app_headers, b"Hello, world")
            yield w.data()
