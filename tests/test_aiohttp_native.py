"""`cors_middleware`, the native corsfast API on aiohttp, answers as `corsfast.CORSMiddleware`.

Every answer is compared, in the same test and on both engines, with the native ASGI
middleware's answer to the same request on an ASGI app that answers as the aiohttp app does:
status, and the CORS headers (Access-Control-* and Vary: names, values, order).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Optional

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from hypothesis import HealthCheck, given, settings, strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

import corsfast
from corsfast._observe.reasons import REASON_IDS
from corsfast.aiohttp.native import AiohttpCORSMiddleware, cors_middleware

A = "https://app.example.com"
EVIL = "https://evil.example"
SUB = "https://x1.sub.example.com"
PORT = "http://localhost:5173"
PREVIEW = "https://pr-42.preview.example"
DYN = "https://dyn.example"
BOOM = "https://boom.example"
LONG = "https://" + "a" * 3000 + ".example"
UTF8 = "https://é.example"
PATTERN = re.compile(r"https://pr-\d+\.preview\.example")

Headers = list[tuple[str, str]]
Answer = tuple[int, list[tuple[bytes, bytes]]]

# -- the two apps: the same answers, on aiohttp and on ASGI ---------------------------------

TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
ROUTES: dict[str, tuple[tuple[str, ...], int, list[tuple[bytes, bytes]]]] = {
    # path -> (methods, status, the handler's own headers)
    "/": (("GET", "HEAD", "POST"), 200, TEXT),
    "/vary": (("GET", "HEAD"), 200, [(b"vary", b"Accept-Encoding"), *TEXT]),
    "/vary-origin": (("GET", "HEAD"), 200, [(b"vary", b"Cookie, origin"), *TEXT]),
    "/own-acao": (("GET", "HEAD"), 200, [(b"access-control-allow-origin", b"https://own.example"), *TEXT]),
    "/two-vary": (("GET", "HEAD"), 200, [(b"vary", b"Accept"), (b"x-other", b"1"), (b"vary", b"Cookie"), *TEXT]),
    "/error": (("GET", "HEAD"), 500, TEXT),
    "/forbidden": (("GET", "HEAD"), 403, [(b"vary", b"Cookie"), *TEXT]),
    "/raise": (("GET", "HEAD"), 500, []),
    "/options": (("OPTIONS",), 200, TEXT),
}


class Boom(Exception):
    """What the raising handler raises."""


def _handler(status: int, own: list[tuple[bytes, bytes]], raises: bool, forbidden: bool) -> Any:
    pairs = [(name.decode(), value.decode()) for name, value in own if name != b"content-type"]

    async def handler(request: web.Request) -> web.StreamResponse:
        if raises:
            raise Boom("handler failed")
        if forbidden:
            raise web.HTTPForbidden(headers=CIMultiDict(pairs))
        return web.Response(status=status, text="ok", headers=CIMultiDict(pairs))

    return handler


def aiohttp_app(middleware: Any) -> web.Application:
    app = web.Application(middlewares=[middleware])
    for path, (methods, status, own) in ROUTES.items():
        handler = _handler(status, own, path == "/raise", path == "/forbidden")
        for method in methods:
            if method != "HEAD":
                app.router.add_route(method, path, handler)
    return app


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer as the aiohttp app does: its routes, 404 and 405, and an exception for /raise."""
    route = ROUTES.get(scope["path"])
    if route is None:
        status, headers = 404, list(TEXT)
    elif scope["method"] not in route[0]:
        status, headers = 405, list(TEXT)
    elif scope["path"] == "/raise":
        raise Boom("handler failed")
    else:
        status, headers = route[1], list(route[2])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def is_cors(name: bytes) -> bool:
    name = name.lower()
    return name.startswith(b"access-control-") or name == b"vary"


def cors_only(pairs: Any) -> list[tuple[bytes, bytes]]:
    return [(bytes(name).lower(), bytes(value)) for name, value in pairs if is_cors(bytes(name))]


async def asgi_answer(middleware: Any, method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> Answer:
    """Return the status and CORS headers the ASGI middleware answers (a server's bare 500 when
    the app raises)."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }
    try:
        await middleware(scope, receive, send)
    except Boom:
        return 500, []
    return messages[0]["status"], cors_only(messages[0]["headers"])


def wire(headers: Headers) -> list[tuple[bytes, bytes]]:
    """Return request headers as an ASGI server passes them: lower-case names, the bytes sent."""
    return [(name.lower().encode(), value.encode("utf-8", "surrogateescape")) for name, value in headers]


# -- the table ------------------------------------------------------------------------------


def origin_func(kind: str) -> Callable[[str], Any]:
    """Return a fresh `allow_origin_func`: allows dyn origins every other time it is asked (so
    a cached verdict shows), raises for the boom origin; `kind` "async" returns an async one."""
    asked: dict[str, int] = {}

    def decide(origin: str) -> bool:
        if "boom" in origin:
            raise RuntimeError("the origin service is down")
        asked[origin] = asked.get(origin, 0) + 1
        return origin.startswith("https://dyn") and asked[origin] % 2 == 1

    if kind == "sync":
        return decide

    async def decide_async(origin: str) -> bool:
        await asyncio.sleep(0)
        return decide(origin)

    return decide_async


OPTION_SETS: dict[str, Callable[[], dict[str, Any]]] = {
    "exact": lambda: {"allow_origins": [A]},
    "credentials-expose": lambda: {
        "allow_origins": [A],
        "allow_credentials": True,
        "expose_headers": ["X-Total", "X-Page"],
        "max_age": 60,
    },
    "any": lambda: {"allow_origins": ["*"], "expose_headers": ["X-Total"]},
    "any-credentials": lambda: {"allow_origins": ["*"], "allow_credentials": True},
    "wildcards-patterns": lambda: {
        "allow_origins": ["https://*.sub.example.com", "http://localhost:*", PATTERN],
        "allow_methods": ["*"],
        "allow_headers": ["*"],
    },
    "private-network": lambda: {
        "allow_origins": [A],
        "allow_private_network": True,
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["X-Custom"],
    },
    "func-sync": lambda: {"allow_origin_func": origin_func("sync")},
    "func-async-ttl": lambda: {
        "allow_origins": [A],
        "allow_origin_func": origin_func("async"),
        "allow_origin_func_ttl": 60,
    },
    "func-async": lambda: {"allow_origin_func": origin_func("async"), "allow_credentials": True},
    "no-cache-short": lambda: {"allow_origins": [A, SUB], "cache_size": 0, "max_origin_length": 2048},
}


def preflight(origin: str, method: str = "PUT", **extra: str) -> Headers:
    headers = [("Origin", origin), ("Access-Control-Request-Method", method)]
    names = {"headers": "Access-Control-Request-Headers", "pn": "Access-Control-Request-Private-Network"}
    return headers + [(names[key], value) for key, value in extra.items()]


REQUESTS: list[tuple[str, str, Headers]] = [
    ("GET", "/", []),
    ("GET", "/", [("Origin", A)]),
    ("GET", "/", [("Origin", A)]),  # a cache hit
    ("POST", "/", [("Origin", A), ("Cookie", "a=1")]),
    ("GET", "/", [("Origin", EVIL)]),
    ("GET", "/", [("Origin", "null")]),
    ("GET", "/", [("Origin", "")]),
    ("GET", "/", [("Origin", LONG)]),
    ("GET", "/", [("Origin", UTF8)]),
    ("GET", "/", [("Origin", A), ("Origin", EVIL)]),  # the first Origin counts
    ("GET", "/", [("Origin", EVIL), ("Origin", A)]),
    ("GET", "/", [("Origin", SUB)]),
    ("GET", "/", [("Origin", "https://a.b.sub.example.com")]),
    ("GET", "/", [("Origin", PORT)]),
    ("GET", "/", [("Origin", "http://localhost")]),
    ("GET", "/", [("Origin", PREVIEW)]),
    ("GET", "/", [("Origin", DYN)]),
    ("GET", "/", [("Origin", DYN)]),
    ("GET", "/", [("Origin", DYN)]),
    ("GET", "/", [("Origin", BOOM)]),
    ("GET", "/vary", [("Origin", A)]),
    ("GET", "/vary", [("Origin", EVIL)]),
    ("GET", "/vary", []),
    ("GET", "/vary-origin", [("Origin", A)]),
    ("GET", "/own-acao", [("Origin", A)]),
    ("GET", "/own-acao", [("Origin", EVIL)]),
    ("GET", "/two-vary", [("Origin", A)]),
    ("GET", "/error", [("Origin", A)]),
    ("GET", "/forbidden", [("Origin", A)]),
    ("GET", "/forbidden", []),
    ("GET", "/raise", [("Origin", A)]),
    ("GET", "/nowhere", [("Origin", A)]),
    ("GET", "/nowhere", [("Origin", EVIL)]),
    ("PUT", "/", [("Origin", A)]),
    ("DELETE", "/vary", [("Origin", SUB)]),
    ("OPTIONS", "/", preflight(A)),
    ("OPTIONS", "/nowhere", preflight(A, "DELETE", headers="X-Custom, Content-Type")),
    ("OPTIONS", "/options", preflight(A, "PATCH", headers="x-custom", pn="true")),
    ("OPTIONS", "/options", preflight(EVIL)),
    ("OPTIONS", "/options", [("Origin", A)]),  # no Access-Control-Request-Method: not a preflight
    ("OPTIONS", "/", preflight(EVIL)),
    ("OPTIONS", "/", preflight(A, "bad method", headers="a b, c")),
    ("OPTIONS", "/", preflight(A, "PROPFIND", headers="X-Custom", pn="yes")),
    ("OPTIONS", "/", preflight(SUB, "put", headers="X-Anything")),
    ("OPTIONS", "/", preflight(PORT, pn="true")),
    ("OPTIONS", "/", preflight(PREVIEW)),
    ("OPTIONS", "/", preflight(DYN)),
    ("OPTIONS", "/", preflight(DYN)),
    ("OPTIONS", "/", preflight(BOOM)),
    ("OPTIONS", "/", preflight(UTF8)),
    ("OPTIONS", "/", preflight(LONG)),
    ("OPTIONS", "/", [("Access-Control-Request-Method", "PUT")]),
]


async def aiohttp_answers(middleware: Any, requests: list[tuple[str, str, Headers]]) -> list[Answer]:
    async with TestClient(TestServer(aiohttp_app(middleware))) as client:
        answers = []
        for method, path, headers in requests:
            async with client.request(method, path, headers=CIMultiDict(headers)) as response:
                answers.append((response.status, cors_only(response.raw_headers)))
        return answers


async def asgi_answers(middleware: Any, requests: list[tuple[str, str, Headers]]) -> list[Answer]:
    return [await asgi_answer(middleware, method, path, wire(headers)) for method, path, headers in requests]


def built(
    make_options: Callable[[], dict[str, Any]], engine: ModuleType, app: Any = asgi_app
) -> tuple[Any, AiohttpCORSMiddleware]:
    """Return the native ASGI middleware and `cors_middleware`, each built from options of its
    own (a stateful `allow_origin_func` each); their configuration warnings are compared in the
    construction tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", corsfast.CORSConfigWarning)
        native = corsfast.CORSMiddleware(app, **make_options(), _engine=engine)
        return native, cors_middleware(**make_options(), _engine=engine)


def func_failures(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name == "corsfast" and "allow_origin_func raised" in r.getMessage()]


@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_answers_as_the_native_asgi_middleware(engine: ModuleType, name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Every request of the table, in order (so cached and expiring verdicts show), gets the
    status and CORS headers the ASGI middleware gives it; failures of `allow_origin_func` are
    logged alike, and the origin caches end alike."""
    native, middleware = built(OPTION_SETS[name], engine)
    assert type(middleware.policy) is engine.CORSPolicy
    with caplog.at_level(logging.ERROR, logger="corsfast"):
        expected = asyncio.run(asgi_answers(native, REQUESTS))
        asgi_logged = func_failures(caplog.records)
        caplog.clear()
        answers = asyncio.run(aiohttp_answers(middleware, REQUESTS))
        aiohttp_logged = func_failures(caplog.records)
    for request, answer, want in zip(REQUESTS, answers, expected):
        assert answer == want, request
    assert aiohttp_logged == asgi_logged
    assert middleware.cache_info() == native.cache_info()
    if "func" in name:
        assert asgi_logged  # the boom origin was refused and logged
    middleware.cache_clear()
    assert middleware.cache_info().currsize == 0


def test_the_table_reaches_every_kind_of_answer(engine: ModuleType) -> None:
    """The differential table is not vacuous: it holds allowed and refused simple responses,
    answered and passed-on preflights, and aiohttp's own 404 and 405."""
    middleware = built(OPTION_SETS["credentials-expose"], engine)[1]
    answers = asyncio.run(aiohttp_answers(middleware, REQUESTS))
    statuses = {status for status, _ in answers}
    assert {200, 403, 404, 405, 500} <= statuses
    names = {name for _, headers in answers for name, _ in headers}
    assert {b"access-control-allow-origin", b"access-control-allow-methods", b"vary"} <= names
    assert (200, [(b"vary", b"Origin")]) in answers


def test_preflight_does_not_call_the_handler(engine: ModuleType) -> None:
    """An allowed preflight is answered for any path without the handler; a refused one reaches it."""
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.method)
        return web.Response(text="ok")

    async def run() -> list[int]:
        app = web.Application(middlewares=[cors_middleware(allow_origins=[A], _engine=engine)])
        app.router.add_route("*", "/any", handler)
        async with TestClient(TestServer(app)) as client:
            statuses = []
            for origin in (A, EVIL):
                asked = {"Origin": origin, "Access-Control-Request-Method": "GET"}
                response = await client.options("/any", headers=asked)
                statuses.append(response.status)
            return statuses

    assert asyncio.run(run()) == [200, 200]
    assert calls == ["OPTIONS"]


# -- any header bytes, as aiohttp's parser gives them ---------------------------------------


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def asgi_ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer as `_ok` does: 200 for any method."""
    await send({"type": "http.response.start", "status": 200, "headers": list(TEXT)})
    await send({"type": "http.response.body", "body": b"ok"})


class ParsedRequest:
    """What the middleware reads of an aiohttp request: its method and headers, the header bytes
    decoded as aiohttp's parser decodes them (UTF-8, any other byte kept as a surrogate), which
    `make_mocked_request` cannot hold."""

    def __init__(self, method: str, headers: list[tuple[bytes, bytes]]) -> None:
        self.method = method
        self.headers = CIMultiDictProxy(
            CIMultiDict((name.decode(), value.decode("utf-8", "surrogateescape")) for name, value in headers)
        )


async def parsed_answer(middleware: AiohttpCORSMiddleware, method: str, headers: list[tuple[bytes, bytes]]) -> Answer:
    """Return the status and CORS headers, as aiohttp would write them (UTF-8, which fails on
    a surrogate), of the middleware's answer to a request with these header bytes."""
    response = await middleware(ParsedRequest(method, headers), _ok)  # type: ignore[arg-type]
    written = [(name.encode(), value.encode("utf-8")) for name, value in response.headers.items()]
    return response.status, cors_only(written)


@pytest.mark.parametrize(
    "origin",
    [
        b"https://app.example.com\x00",
        b"https://app.example.com\x7f",
        b"https://a\tb.example",
        b"\xff\xfe",
        b"https://\xc3\xa9.example",
        b"https://\xe9.example",
    ],
)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_odd_origins(engine: ModuleType, origin: bytes, method: str) -> None:
    """Origins with control characters are refused as the ASGI middleware refuses them; a
    UTF-8 one is reflected; one that is not UTF-8 (aiohttp cannot write it back) gets the refused answer."""
    odd_options: list[dict[str, Any]] = [
        {"allow_origins": ["*"], "allow_credentials": True},
        {"allow_origins": ["*"]},
        {"allow_origin_func": lambda origin: True},
    ]
    for options in odd_options:
        native, middleware = built(lambda options=options: options, engine, asgi_ok)
        headers = [(b"origin", origin), (b"access-control-request-method", b"GET")]
        answer = asyncio.run(parsed_answer(middleware, method, headers))
        want = asyncio.run(asgi_answer(native, method, "/", headers))
        if any(name == b"access-control-allow-origin" and value == origin for name, value in want[1]):
            try:
                origin.decode("utf-8")
            except UnicodeDecodeError:
                want = asyncio.run(asgi_answer(native, method, "/", []))  # the refused answer
        assert answer == want


HYPOTHESIS_OPTIONS: list[dict[str, Any]] = [
    {"allow_origins": [A, "https://*.sub.example.com", "http://localhost:*", PATTERN]},
    {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-A"]},
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "allow_private_network": True},
    {"allow_origins": [A], "allow_origin_func": lambda origin: "dyn" in origin, "cache_size": 2},
]

ORIGIN_BYTES = st.one_of(
    st.sampled_from([A.encode(), SUB.encode(), PORT.encode(), PREVIEW.encode(), b"https://dyn.example", b"null", b""]),
    st.binary(max_size=60),
    st.text(alphabet="abcdefhlopst:/.-*é\x00\x1f\x7f0123456789", max_size=50).map(str.encode),
)
HEADER_BYTES = st.one_of(st.none(), st.sampled_from([b"GET", b"put", b"X-A, x-b", b"true"]), st.binary(max_size=20))


@given(
    index=st.integers(0, len(HYPOTHESIS_OPTIONS) - 1),
    method=st.sampled_from(["GET", "POST", "OPTIONS"]),
    origin=st.one_of(st.none(), ORIGIN_BYTES),
    request_method=HEADER_BYTES,
    names=HEADER_BYTES,
    private_network=HEADER_BYTES,
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_request_is_answered_as_the_native_middleware(
    engine: ModuleType,
    index: int,
    method: str,
    origin: Optional[bytes],
    request_method: Optional[bytes],
    names: Optional[bytes],
    private_network: Optional[bytes],
) -> None:
    options = HYPOTHESIS_OPTIONS[index]
    headers = [
        (name, value)
        for name, value in (
            (b"origin", origin),
            (b"access-control-request-method", request_method),
            (b"access-control-request-headers", names),
            (b"access-control-request-private-network", private_network),
        )
        if value is not None and b"\r" not in value and b"\n" not in value
    ]
    native, middleware = built(lambda: options, engine, asgi_ok)
    answer = asyncio.run(parsed_answer(middleware, method, headers))
    want = asyncio.run(asgi_answer(native, method, "/", headers))
    reflected = [value for name, value in want[1] if name == b"access-control-allow-origin" and value == origin]
    if reflected:
        try:
            reflected[0].decode("utf-8")
        except UnicodeDecodeError:
            want = asyncio.run(asgi_answer(native, method, "/", []))  # aiohttp cannot write it: refused
    assert answer == want


async def raw_exchange(port: int, method: str, headers: list[tuple[bytes, bytes]]) -> Answer:
    """Return the status and CORS headers of an HTTP/1.1 exchange whose request header bytes
    are written as given."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"{method} / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n".encode()
    writer.write(head + b"".join(name + b": " + value + b"\r\n" for name, value in headers) + b"\r\n")
    data = await reader.read()
    writer.close()
    lines = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    pairs = [tuple(line.split(b": ", 1)) for line in lines[1:]]
    return int(lines[0].split()[1]), cors_only(pairs)


@pytest.mark.parametrize("origin", [b"https://\xc3\xa9.example", b"https://\xe9.example", b"\xff"])
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_non_ascii_origins_over_the_wire(engine: ModuleType, origin: bytes, method: str) -> None:
    """aiohttp writes a UTF-8 Origin back as the ASGI middleware does; one that is not UTF-8,
    which aiohttp cannot write back, gets the refused answer instead of a failed response."""
    native, middleware = built(lambda: {"allow_origins": ["*"], "allow_credentials": True}, engine, asgi_ok)
    headers = [(b"origin", origin), (b"access-control-request-method", b"GET")]

    async def run() -> Answer:
        app = web.Application(middlewares=[middleware])
        app.router.add_route("*", "/", _ok)
        async with TestServer(app) as server:
            return await raw_exchange(server.port, method, headers)  # type: ignore[arg-type]

    want = asyncio.run(asgi_answer(native, method, "/", headers))
    if origin != b"https://\xc3\xa9.example":
        assert (b"access-control-allow-origin", origin) in want[1]
        want = asyncio.run(asgi_answer(native, method, "/", []))
    assert asyncio.run(run()) == want


# -- construction ---------------------------------------------------------------------------


def _outcome(make: Callable[[], Any]) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """Return the exception type and message (or None) and the warnings `make()` gives."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            make()
        except Exception as error:  # compared, whatever it is
            raised: Any = (type(error), str(error))
        else:
            raised = None
    return raised, [(w.category, str(w.message)) for w in caught]


async def _async_func(origin: str) -> bool:
    return True


CONSTRUCTIONS: list[dict[str, Any]] = [
    {},
    {"allow_origins": [A], "strict": True},
    {"strict": True},
    {"allow_origins": A},
    {"allow_origins": [b"https://a.example"]},
    {"allow_origins": [1]},
    {"allow_origins": ["https://*"]},
    {"allow_origins": ["https://a.*.example"]},
    {"allow_origins": ["http://localhost:*x"]},
    {"allow_origins": ["http://Localhost:*"]},
    {"allow_origins": ["https://App.example.com/"]},
    {"allow_origins": ["https://app.example.com/"], "strict": True},
    {"allow_origins": ["*"], "allow_origin_func": _async_func},
    {"allow_origin_func": 3},
    {"allow_origin_func": _async_func, "allow_origin_func_ttl": -1},
    {"allow_origin_func": _async_func, "allow_origin_func_ttl": "60"},
    {"allow_origin_func": _async_func, "allow_origin_func_ttl": True},
    {"allow_origins": [A], "allow_origin_func_ttl": 5},
    {"allow_origin_func": _async_func, "allow_origin_func_ttl": 5, "cache_size": 0},
    {"allow_origins": [A], "allow_methods": "GET"},
    {"allow_origins": [A], "allow_methods": ["GET", "BAD METHOD"]},
    {"allow_origins": [A], "allow_headers": ["X Bad"]},
    {"allow_origins": [A], "expose_headers": [1]},
    {"allow_origins": [A], "allow_credentials": "yes"},
    {"allow_origins": [A], "max_age": "600"},
    {"allow_origins": [A], "max_age": -1},
    {"allow_origins": [A], "cache_size": -1},
    {"allow_origins": [A], "max_origin_length": 0},
    {"allow_origins": [A], "allow_private_network": 1},
    {"allow_origins": [A], "strict": "no"},
    {"allow_origins": ["*"], "allow_credentials": True},
    {"allow_origins": [re.compile("https://.*")]},
]


@pytest.mark.parametrize("options", CONSTRUCTIONS, ids=[str(i) for i in range(len(CONSTRUCTIONS))])
def test_construction_errors_and_warnings_are_the_native_middlewares(
    engine: ModuleType, options: dict[str, Any]
) -> None:
    native = _outcome(lambda: corsfast.CORSMiddleware(asgi_app, **options, _engine=engine))
    ours = _outcome(lambda: cors_middleware(**options, _engine=engine))
    assert ours == native


def test_construction_table_is_not_vacuous() -> None:
    """The table holds constructions that raise, that warn, and that do neither."""
    outcomes = [_outcome(lambda options=options: cors_middleware(**options)) for options in CONSTRUCTIONS]
    assert any(raised is not None for raised, _ in outcomes)
    assert any(raised is None and caught for raised, caught in outcomes)
    assert any(caught and caught[0][0] is corsfast.CORSConfigWarning for _, caught in outcomes)
    assert any(raised is None and not caught for raised, caught in outcomes)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        cors_middleware([A])  # type: ignore[misc]


def test_is_an_aiohttp_new_style_middleware() -> None:
    middleware = cors_middleware(allow_origins=[A])
    assert middleware.__middleware_version__ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        web.Application(middlewares=[middleware])


# -- the engine's API for shims that await allow_origin_func ----------------------------------


def _policy(engine: ModuleType, func: Any, ttl: float = 0.0) -> Any:
    from corsfast._options import NATIVE_DEFAULT_METHODS, native_options

    options = native_options([A], NATIVE_DEFAULT_METHODS, (), (), False, 600, False, 16, 2048, False, func, ttl)
    return engine.CORSPolicy(options)


async def _allow_all(origin: str) -> bool:
    return True


def test_pending_lookup_leaves_the_async_function_to_the_caller(engine: ModuleType) -> None:
    policy = _policy(engine, _allow_all)
    assert policy.pending_lookup(A.encode()).allowed  # a rule decides
    assert policy.pending_lookup(DYN.encode()) is None  # the function must
    with pytest.raises(TypeError, match="coroutine function"):
        policy.lookup(DYN.encode())
    refused = policy.pending_lookup(b"https://app.example.com\x00")  # never reaches the function
    assert refused is not None and not refused.allowed
    over_long = policy.pending_lookup(b"x" * 2049)  # nor does an over-long one
    assert not over_long.allowed and over_long.reason == refused.reason == REASON_IDS.index("origin_invalid")
    asked: list[str] = []
    sync = _policy(engine, lambda origin: asked.append(origin) or True)
    assert sync.pending_lookup(DYN.encode()).allowed  # a plain function is asked here
    assert asked == [DYN]
    with pytest.raises(TypeError):
        policy.pending_lookup(DYN)


def test_func_verdict_caches_for_the_ttl_and_refuses_failures(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    policy = _policy(engine, _allow_all, ttl=60)
    allowed = policy.func_verdict(DYN.encode(), 1)
    assert allowed.allowed and (b"access-control-allow-origin", DYN.encode()) in allowed.block
    assert policy.pending_lookup(DYN.encode()) is allowed  # kept for the ttl
    assert not policy.func_verdict(EVIL.encode(), "").allowed
    assert policy.pending_lookup(EVIL.encode()) is not None  # the refusal is kept too
    with caplog.at_level(logging.ERROR, logger="corsfast"):
        failed = policy.func_verdict(BOOM.encode(), None, RuntimeError("down"))
        awaitable = policy.func_verdict(b"https://other.example", _allow_all("x"))  # closed, never awaited
    assert not failed.allowed and not awaitable.allowed
    assert policy.pending_lookup(BOOM.encode()) is None  # a failure is not kept: asked again
    assert [r.getMessage() for r in caplog.records] == [
        f"allow_origin_func raised for Origin {BOOM!r}; the origin is refused for this request",
        "allow_origin_func raised for Origin 'https://other.example'; the origin is refused for this request",
    ]
    untimed = _policy(engine, _allow_all)
    assert untimed.func_verdict(DYN.encode(), True) is untimed.func_verdict(DYN.encode(), True)
    assert untimed.pending_lookup(DYN.encode()) is None  # no ttl: asked on every request


def test_verdicts_expire_as_the_native_middlewares(engine: ModuleType) -> None:
    """With a ttl, a verdict of the async function is kept until it runs out, then asked again."""
    now = [1000.0]
    native, middleware = built(
        lambda: {"allow_origin_func": origin_func("async"), "allow_origin_func_ttl": 10}, engine, asgi_ok
    )
    native.policy._clock = middleware.policy._clock = lambda: now[0]
    headers = [(b"origin", DYN.encode())]
    answers, wanted = [], []
    for step in (0, 5, 4, 2, 3, 9, 1):  # seconds between requests
        now[0] += step
        answers.append(asyncio.run(parsed_answer(middleware, "GET", headers)))
        wanted.append(asyncio.run(asgi_answer(native, "GET", "/", headers)))
    assert answers == wanted
    allowed = [any(name == b"access-control-allow-origin" for name, _ in found) for _, found in answers]
    assert allowed == [True, True, True, False, False, True, True]


def test_a_response_the_handler_prepared_passes_untouched(engine: ModuleType) -> None:
    """A streamed response has sent its headers before the middleware sees it: it reaches the
    client whole, and the middleware leaves its (sent) headers as they were."""
    kept: list[web.StreamResponse] = []

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"X-Stream": "1"})
        await response.prepare(request)
        await response.write(b"data: 1\n\n")
        await response.write_eof()
        kept.append(response)
        return response

    async def run() -> tuple[int, bytes, list[str]]:
        app = web.Application(middlewares=[cors_middleware(allow_origins=[A], _engine=engine)])
        app.router.add_get("/stream", stream)
        async with TestClient(TestServer(app)) as client:
            async with client.get("/stream", headers={"Origin": A}) as response:
                return response.status, await response.read(), list(response.headers)

    status, body, names = asyncio.run(run())
    assert (status, body) == (200, b"data: 1\n\n")
    assert "Access-Control-Allow-Origin" not in names and "X-Stream" in names
    assert not any(is_cors(name.encode()) for name in kept[0].headers)  # as sent: not edited after


# -- the engine's middleware ------------------------------------------------------------------


def test_the_middleware_is_the_engines_class(engine: ModuleType) -> None:
    """`cors_middleware` builds the selected engine's class (compiled on the compiled engine),
    and `corsfast.aiohttp.native` names the default engine's."""
    middleware = cors_middleware(allow_origins=[A], _engine=engine)
    assert type(middleware) is engine.AiohttpCORSMiddleware
    assert type(middleware).__module__.startswith(engine.__name__)  # defined in the engine
    assert "AiohttpCORSMiddleware" in engine.__all__
    assert AiohttpCORSMiddleware is corsfast._engine.engine.AiohttpCORSMiddleware
    assert engine.AiohttpCORSMiddleware.__middleware_version__ == 1
    assert type(middleware.policy) is engine.CORSPolicy
    with pytest.raises(AttributeError):  # read-only on both engines
        middleware.policy = engine.CORSPolicy(middleware.policy.options)  # type: ignore[misc]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an old-style middleware warns
        app = web.Application(middlewares=[middleware])
        app.freeze()
    # aiohttp's new-style path (from aiohttp 3.10 the handler chain is then built once per
    # route and cached; before, each middleware is marked new-style).
    if hasattr(app, "_has_legacy_middlewares"):
        assert app._has_legacy_middlewares is False
    else:
        assert [new_style for m, new_style in app._middlewares_handlers if m is middleware] == [True]


async def whole_answers(middleware: Any, requests: list[tuple[str, str, Headers]]) -> list[Any]:
    """Return each response's status, every header but Date and Server (names as written,
    in order) and body."""
    async with TestClient(TestServer(aiohttp_app(middleware))) as client:
        answers = []
        for method, path, headers in requests:
            async with client.request(method, path, headers=CIMultiDict(headers)) as response:
                written = [(bytes(n), bytes(v)) for n, v in response.raw_headers if n not in (b"Date", b"Server")]
                answers.append((response.status, written, await response.read()))
        return answers


@pytest.mark.c_extension
@pytest.mark.parametrize("name", list(OPTION_SETS))
def test_both_engines_answer_alike(name: str, caplog: pytest.LogCaptureFixture) -> None:
    """The compiled middleware and its pure twin give every request of the table (preflights,
    refused origins, app-set Vary and Access-Control-Allow-Origin, a raised HTTPException, an
    async `allow_origin_func`) the same status, headers and body, and log alike."""
    import corsfast._engine_c as compiled
    import corsfast._engine_py as pure

    logged, answers, caches = [], [], []
    for engine in (compiled, pure):
        middleware = built(OPTION_SETS[name], engine)[1]
        assert type(middleware) is engine.AiohttpCORSMiddleware
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="corsfast"):
            answers.append(asyncio.run(whole_answers(middleware, REQUESTS)))
        logged.append(func_failures(caplog.records))
        caches.append(middleware.cache_info())
    for request, ours, twins in zip(REQUESTS, *answers):
        assert ours == twins, request
    assert logged[0] == logged[1]
    assert caches[0] == caches[1]


def _suspending_app(middleware: Any, events: list[str]) -> web.Application:
    """Return an app whose handlers suspend (as a handler awaiting I/O does) before they answer."""

    async def pause() -> None:
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, lambda: None)  # a real future
        await asyncio.sleep(0)

    async def answer(request: web.Request) -> web.Response:
        await pause()
        return web.Response(text="ok", headers={"Vary": "Accept-Encoding"} if request.path == "/vary" else None)

    async def forbid(request: web.Request) -> web.Response:
        await pause()
        raise web.HTTPForbidden(headers={"Vary": "Cookie"})

    async def wait(request: web.Request) -> web.Response:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise
        return web.Response(text="never")

    app = web.Application(middlewares=[middleware])
    app.router.add_get("/", answer)
    app.router.add_post("/", answer)
    app.router.add_get("/vary", answer)
    app.router.add_get("/forbidden", forbid)
    app.router.add_get("/wait", wait)
    return app


SUSPENDING_REQUESTS: list[tuple[str, str, Headers]] = [
    ("GET", "/", [("Origin", A)]),
    ("GET", "/", [("Origin", EVIL)]),
    ("GET", "/", []),
    ("GET", "/vary", [("Origin", A)]),
    ("GET", "/forbidden", [("Origin", A)]),
    ("OPTIONS", "/", preflight(EVIL)),
    ("OPTIONS", "/", [("Origin", A)]),
]


def test_a_handler_that_suspends(engine: ModuleType) -> None:
    """A handler that awaits before it answers (or raises) gets the answer of one that answers
    at once, and a request cancelled while its handler waits cancels the handler."""
    events: list[str] = []
    options = {"allow_origins": [A], "allow_credentials": True, "expose_headers": ["X-Total"]}

    async def run() -> tuple[list[Answer], list[Answer]]:
        async with TestClient(TestServer(_suspending_app(cors_middleware(**options, _engine=engine), events))) as c:
            suspended = []
            for method, path, headers in SUSPENDING_REQUESTS:
                async with c.request(method, path, headers=CIMultiDict(headers)) as response:
                    suspended.append((response.status, cors_only(response.raw_headers)))
        at_once = await aiohttp_answers(cors_middleware(**options, _engine=engine), SUSPENDING_REQUESTS)
        return suspended, at_once

    suspended, at_once = asyncio.run(run())
    # The table's app answers "/vary" and "/forbidden" with the same Vary and statuses.
    assert suspended == at_once
    assert {status for status, _ in suspended} == {200, 403, 405}

    async def cancel() -> None:
        middleware = cors_middleware(**options, _engine=engine)
        request = make_mocked_request("GET", "/wait", headers={"Origin": A}, app=_suspending_app(middleware, events))
        match = await request.app.router.resolve(request)
        task = asyncio.ensure_future(middleware(request, handler=match.handler))
        for _ in range(3):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel())
    assert events == ["cancelled"]


def test_a_handler_that_returns_another_awaitable(engine: ModuleType) -> None:
    """A handler whose result is an awaitable other than a coroutine (a future, or another
    middleware's compiled coroutine) gets the answer of one that is a coroutine."""
    middleware = cors_middleware(allow_origins=[A], allow_credentials=True, _engine=engine)
    inner = cors_middleware(allow_origins=[A], expose_headers=["X-Inner"], _engine=engine)
    headers = [(b"origin", A.encode())]

    async def run() -> list[Answer]:
        def future_handler(request: web.Request) -> asyncio.Future[web.StreamResponse]:
            done: asyncio.Future[web.StreamResponse] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(done.set_result, web.Response(text="ok"))
            return done

        async def chained(request: web.Request) -> web.StreamResponse:
            return await inner(request, _ok)

        answers = []
        for handler in (_ok, future_handler, functools.partial(inner, handler=_ok), chained):
            response = await middleware(ParsedRequest("GET", headers), handler)  # type: ignore[arg-type]
            answers.append((response.status, cors_only((n.encode(), v.encode()) for n, v in response.headers.items())))
        return answers

    at_once, from_future, from_inner, from_chained = asyncio.run(run())
    assert from_future == at_once
    assert from_inner == from_chained
    assert (b"access-control-expose-headers", b"X-Inner") in from_inner[1]  # the inner one answered
