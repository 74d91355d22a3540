"""Regressions found by the coverage-guided fuzzers (fuzz/, `bash scripts/fuzz.sh`), on both engines.

Each test is the smallest form of one finding: what the harness saw, why it was wrong, and
the behaviour both engines now share.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from cases import RecordingApp, asgi_request

import corsfast


def fresh_pair(name: bytes, value: bytes) -> Iterator[bytes]:
    """Return a header item that makes new bytes objects as it is unpacked (nothing else holds them)."""
    return (bytes(bytearray(part)) for part in (name, value))


def test_scan_keeps_values_unpacked_from_items_that_are_not_tuples(engine: ModuleType) -> None:
    """fuzz harness `scan`: heap-use-after-free in the compiled `_scan`.

    For an item that is not a tuple, the compiled scan unpacked it into local variables and
    kept a borrowed pointer to the value; the next item's unpacking freed it, so the answer
    was another header's value (or a crash). Such values are now kept alive by the scan.
    """
    headers: list[Any] = [fresh_pair(b"origin", b"https://a.example")]
    headers += [fresh_pair(b"x-%02d" % i, b"https://b.example") for i in range(16)]
    headers.append(fresh_pair(b"access-control-request-method", b"PUT"))
    assert engine.scan_request_headers(headers) == (b"https://a.example", b"PUT", None, None)


def test_asgi_call_decides_on_the_origin_it_scanned(engine: ModuleType) -> None:
    """The same finding through the middleware: the verdict and the reflected value come from the Origin."""
    headers: list[Any] = [fresh_pair(b"origin", b"https://a.example")]
    headers += [fresh_pair(b"x-%02d" % i, b"https://b.example") for i in range(16)]
    app = corsfast.CORSMiddleware(RecordingApp(), allow_origins=[re.compile(r"https://b\.example")], _engine=engine)
    _, response_headers, _ = asgi_request(app, "GET", headers)
    assert (b"access-control-allow-origin", b"https://b.example") not in response_headers
    assert (b"vary", b"Origin") in response_headers
