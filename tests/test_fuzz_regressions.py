"""Regressions found by the coverage-guided fuzzers (fuzz/, `bash scripts/fuzz.sh`), on both engines.

Each test is the smallest form of one finding: what the harness saw, why it was wrong, and
the behaviour both engines now share.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from cases import RecordingApp, asgi_request
from conftest import C_ENGINE, PY_ENGINE

import corsfast
import corsfast.starlette


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


def test_kui_origin_leaves_a_list_with_odd_items_unread(engine: ModuleType) -> None:
    # Kui's own `request.headers` reads such a list (tests/test_odd_header_lists.py): the engine
    # says so (False) without running any item's code.
    headers = _emptied_list((b"origin", b"https://a.example"), (b"Origin", b"https://b.example"))
    assert engine.kui_origin(headers) is False
    assert len(headers) == 10


class EmptiesItsListWhenRead(EmptiesItsList):
    """The same, read by index too (as `item[0]`)."""

    def __getitem__(self, index: int) -> bytes:
        self.holder.clear()
        return self.pair[index]


@pytest.mark.parametrize("item", [(b"x-a", b"1", b"2"), (b"x-a",)], ids=["three", "one"])
def test_response_headers_refuse_app_items_that_are_not_pairs(engine: ModuleType, item: Any) -> None:
    """fuzz harness `merge`: the compiled engine read an app header item by `item[0]`, so a
    1- or 3-tuple passed on the fast path while the twin raised ValueError unpacking it.
    Both now unpack every item they read as a pair."""
    policy = corsfast.CORSMiddleware(None, allow_origins=["https://a.example"], _engine=engine).policy
    with pytest.raises(ValueError):
        policy.response_headers(b"https://a.example", [(b"content-type", b"text/plain"), item])


def test_response_headers_of_an_app_list_emptied_while_it_is_read(engine: ModuleType) -> None:
    """fuzz harness `merge`: an app header item that empties the app's list when read made the
    compiled engine copy past the list's new end (a crash). It now copies the list first,
    as the twin does, and answers from that copy."""
    policy = corsfast.CORSMiddleware(None, allow_origins=["https://a.example"], _engine=engine).policy
    headers: list[Any] = []
    odd = EmptiesItsListWhenRead(headers, (b"x-app", b"1"))
    headers += [odd, (b"content-type", b"text/plain")]
    assert policy.response_headers(None, headers) == [odd, (b"content-type", b"text/plain"), (b"vary", b"Origin")]


class MethodName(str):
    """A str subclass, as a framework might hand over the request method."""


@pytest.mark.parametrize(
    ("method", "expected"),
    [(b"OPTIONS", False), (None, False), (MethodName("OPTIONS"), True), ("OPTIONS", True)],
    ids=["bytes", "None", "str-subclass", "str"],
)
def test_is_preflight_compares_any_method_object(engine: ModuleType, method: Any, expected: bool) -> None:
    """fuzz harness `preflight`: the compiled `is_preflight` took its method as exactly `str`
    and raised TypeError for anything else (a str subclass too), where the twin compares."""
    policy = corsfast.CORSMiddleware(None, allow_origins=["https://a.example"], _engine=engine).policy
    assert policy.is_preflight(method, b"https://a.example", b"GET") is expected


class RequestMethod(bytes):
    """A bytes subclass as the Access-Control-Request-Method value."""


@pytest.mark.parametrize("dialect", ["native", "starlette"])
def test_preflight_response_takes_exactly_bytes_as_the_method(engine: ModuleType, dialect: str) -> None:
    """fuzz harness `preflight`: the twin took a bytes subclass as the requested method where the
    compiled engine (a typed argument) raises TypeError; both now want exactly bytes, as they
    do for the Origin and the header list."""
    factory = corsfast.CORSMiddleware if dialect == "native" else corsfast.starlette.CORSMiddleware
    policy = factory(None, allow_origins=["https://a.example"], _engine=engine).policy
    with pytest.raises(TypeError, match="Expected bytes, got RequestMethod"):
        policy.preflight_response(b"https://a.example", RequestMethod(b"GET"), None, None)
    assert policy.preflight_response(b"https://a.example", b"GET", None, None) is not None


def test_scan_reads_all_of_an_iterable_before_its_items(engine: ModuleType) -> None:
    """fuzz harness `scan`: over a generator of a list that one item empties, the twin stopped
    where the list was emptied while the compiled engine (which reads any iterable into a list
    first) went on; the twin now reads the iterable first too."""
    headers = _emptied_list((b"origin", b"https://a.example"), (b"Origin", b"https://b.example"))
    headers.append((b"origin", b"https://c.example"))
    assert engine.kui_origin(item for item in headers) is False  # Kui's own code reads an iterable
    headers = _emptied_list((b"x-a", b"1"), (b"x-b", b"2"))
    headers.append((b"origin", b"https://c.example"))
    assert engine.scan_request_headers(iter(headers)) == (b"https://c.example", None, None, None)


def test_a_huge_repeat_count_costs_nothing_at_construction(engine: ModuleType) -> None:
    """fuzz harness `options`: the pattern lint built the shortest match of each pattern to make
    canary origins from it, so `x{4294967294}` asked for a 4 GiB string (libFuzzer: out of
    memory) and `x{100000000}` took seconds and 200 MB. It now gives up past 512 characters."""
    pattern = re.compile(r"https://[a-z]+x{4294967294}")
    tracemalloc.start()
    try:
        policy = corsfast.CORSMiddleware(None, allow_origins=[pattern], _engine=engine).policy
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak
    assert not policy.is_allowed_origin(b"https://ax")


def once(name: bytes, value: bytes) -> Iterator[bytes]:
    """Return a header item that can be read only once (an iterator)."""
    return iter((name, value))


@pytest.mark.c_extension
def test_starlette_merge_takes_the_same_path_on_both_engines() -> None:
    """fuzz harness `asgi_starlette`: with Starlette options that set neither credentials nor
    exposed headers, the compiled engine merged an app-set Access-Control-Allow-Credentials
    (one of its default names) and the twin appended (not one of this policy's names). The
    answers agree for pairs, but an item that can be read only once was read twice on one
    engine: ValueError there, an answer on the other. The twin now takes the same path."""
    outcomes = []
    for implementation in (C_ENGINE, PY_ENGINE):
        policy = corsfast.starlette.CORSMiddleware(
            None, allow_origin_regex=r"https://[a-z]+\.example\.com", _engine=implementation.module
        ).policy
        headers = [(b"content-type", b"text/plain"), once(b"access-control-allow-credentials", b"true")]
        try:
            outcomes.append(("ok", len(policy.response_headers(b"https://a.example.com", headers))))
        except ValueError:
            outcomes.append(("raised", ValueError))
        pairs = [(b"content-type", b"text/plain"), (b"access-control-allow-credentials", b"true")]
        outcomes.append(("pairs", policy.response_headers(b"https://a.example.com", pairs)))
    assert outcomes[:2] == outcomes[2:]


def test_preflight_values_outlive_an_allow_origin_func_that_empties_the_header_list(engine: ModuleType) -> None:
    """Found in review of the `starlette_subclass` finding's fix: the compiled ASGI call read
    Access-Control-Request-Method and -Headers through pointers borrowed from the request's
    header items, after calling `allow_origin_func` (or a subclass's `is_allowed_origin`),
    which may run any code. Emptying the list there freed the values. They are now held
    from the scan on, so the preflight mirrors what the request sent."""
    headers: list[Any] = []

    def allow(origin: str) -> bool:
        headers.clear()  # drops the only references to the request's header values
        return origin == "https://a.example"

    middleware = corsfast.CORSMiddleware(
        RecordingApp(),
        allow_origins=[],
        allow_origin_func=allow,
        allow_methods=["*"],
        allow_headers=["*"],
        _engine=engine,
    )
    headers += [
        (b"origin", b"https://a.example"),
        (b"access-control-request-method", bytes(bytearray(b"PATCH"))),
        (b"access-control-request-headers", bytes(bytearray(b"x-one, x-two"))),
    ]
    status, response, _ = asgi_request(middleware, "OPTIONS", headers)
    assert status == 200
    answer = dict(response)
    assert answer[b"access-control-allow-origin"] == b"https://a.example"
    assert b"x-one, x-two" in answer[b"access-control-allow-headers"].lower()
    assert b"PATCH" in answer[b"access-control-allow-methods"]
