"""The Starlette drop-in end to end: `corsfast.starlette.CORSMiddleware` around an app, on both engines.

The same exchange as `asgi_native` (fuzz/exchange.py) with Starlette's constructor and
dialect: preflights answered 200 or 400 with Starlette's bodies, simple responses merged as
Starlette's `MutableHeaders` would.
"""

from __future__ import annotations

from collections.abc import Iterable

from cases import CASES

import corsfast.starlette
from fuzz.common import Writer
from fuzz.exchange import Request, middleware_exchange, write_exchange

DIALECT = "starlette"
FACTORY = corsfast.starlette.CORSMiddleware
CONFIGS = (
    {"allow_origins": ["https://example.com"], "allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]},
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "allow_credentials": True},
    {"allow_origin_regex": r"https://[a-z0-9-]+\.example\.com", "allow_private_network": True},
)


def one_input(data: bytes) -> None:
    middleware_exchange(data, DIALECT, FACTORY, Request.starlette_origin)


def seeds() -> Iterable[bytes]:
    for config in CONFIGS:
        for case in CASES[::3]:
            w = Writer()
            write_exchange(w, DIALECT, dict(config), case)
            yield w.data()
