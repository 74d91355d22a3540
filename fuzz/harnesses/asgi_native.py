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
from fuzz.common import Input, Writer, options as read_options, write_options
from fuzz.exchange import check_exchange, exchange, middlewares, request, script, write_request, write_script

DIALECT = "native"
FACTORY = corsfast.CORSMiddleware


def one_input(data: bytes) -> None:
    inp = Input(data)
    kwargs = read_options(inp, DIALECT)
    make = middlewares(FACTORY, kwargs)
    if make is None:
        return
    req = request(inp)
    actions = script(inp)
    result = exchange(make, req, actions)
    check_exchange(result, req)


def seeds() -> Iterable[bytes]:
    for case in CASES:
        w = Writer()
        try:
            write_options(w, DIALECT, dict(case.options))
        except (ValueError, UnicodeEncodeError):
            continue
        write_request(w, case.method, case.headers)
        write_script(w, 200, case.app_headers, b"Hello, world")
        yield w.data()
