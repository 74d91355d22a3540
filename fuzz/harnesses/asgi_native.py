"""The native ASGI path end to end: `corsfast.CORSMiddleware` around an app, on both engines.

A fuzzed native configuration, a fuzzed request (scope type, method, header list in any
container) and a fuzzed app (response starts with and without headers, app-set CORS and
Vary headers, mappings that are not dicts, bodies, exceptions): the messages sent, the app's
calls and the outcome must be the same on both engines, and the answer keeps the invariants.
"""

from __future__ import annotations

from collections.abc import Iterable

from cases import CASES

import corsfast
from fuzz.common import Writer
from fuzz.exchange import middleware_exchange, write_exchange

DIALECT = "native"
FACTORY = corsfast.CORSMiddleware


def one_input(data: bytes) -> None:
    middleware_exchange(data, DIALECT, FACTORY)


def seeds() -> Iterable[bytes]:
    for case in CASES:
        w = Writer()
        try:
            write_exchange(w, DIALECT, dict(case.options), case)
        except (ValueError, UnicodeEncodeError):
            continue
        yield w.data()
