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


class EmptiesItsList:
    """A header item that empties the list holding it when it is unpacked (as odd app or server code might)."""

    def __init__(self, holder: list[Any], pair: tuple[bytes, bytes]) -> None:
        self.holder = holder
        self.pair = pair

    def __iter__(self) -> Iterator[bytes]:
        self.holder.clear()
        return iter(self.pair)


def _emptied_list(first: tuple[bytes, bytes], pair: tuple[bytes, bytes]) -> list[Any]:
    headers: list[Any] = [first]
    headers.append(EmptiesItsList(headers, pair))
    headers += [(b"x-%02d" % i, b"v") for i in range(8)]
    return headers


def test_scan_of_a_list_emptied_while_it_is_read(engine: ModuleType) -> None:
    """fuzz harness `scan`: the compiled scan read past the end of a list an item had emptied.

    It looped over the length read at the start (UBSan: offset applied to a null pointer;
    a segmentation fault without sanitizers), and an earlier value borrowed from a tuple the
    list no longer held could be freed. Now it reads the length at every step, as a Python
    loop does, and holds the values it noted; both engines answer what a Python loop sees.
    """
    origin = bytes(bytearray(b"https://a.example"))  # held by the tuple only
    headers = _emptied_list((b"origin", origin), (b"access-control-request-method", b"PUT"))
    del origin
    assert engine.scan_request_headers(headers) == (b"https://a.example", b"PUT", None, None)
    assert headers == []


def test_kui_origin_of_a_list_emptied_while_it_is_read(engine: ModuleType) -> None:
    headers = _emptied_list((b"origin", b"https://a.example"), (b"Origin", b"https://b.example"))
    assert engine.kui_origin(headers) == b"https://a.example, https://b.example"
