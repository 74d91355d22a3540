"""The engine on both implementations: every row of `cases.py`, and the `CORSPolicy` API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Optional

import pytest
from cases import CASES, Case, RecordingApp, request_headers, run_sync

import corsfast
from corsfast import CORSConfigWarning
from corsfast._options import kui_options, native_options, starlette_options
from corsfast._options.starlette_releases import release_for

ACAO = b"access-control-allow-origin"
VARY = b"vary"


def native(
    allow_origins: Any = ("*",),
    allow_methods: Any = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"),
    allow_headers: Any = (),
    expose_headers: Any = (),
    allow_credentials: bool = False,
    max_age: int = 600,
    allow_private_network: bool = False,
    cache_size: int = 4096,
    max_origin_length: int = 2048,
    strict: bool = False,
) -> Any:
    """Return native options with the native middleware's defaults."""
    return native_options(
        allow_origins,
        allow_methods,
        allow_headers,
        expose_headers,
        allow_credentials,
        max_age,
        allow_private_network,
        cache_size,
        max_origin_length,
        strict,
    )


def http_scope(method: str, headers: Any) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 443),
    }


def call(middleware: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    run_sync(middleware(scope, receive, send))
    return messages


@contextlib.contextmanager
def expect_warning(warns: Optional[bool]) -> Iterator[None]:
    if warns:
        with pytest.warns(CORSConfigWarning):
            yield
    elif warns is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CORSConfigWarning)
            yield
    else:
        yield  # any warning fails the test (filterwarnings = error)


# -- the semantics table ----------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_through_middleware(case: Case, engine: ModuleType) -> None:
    app = RecordingApp(headers=case.app_headers)
    with expect_warning(case.warns):
        middleware = corsfast.CORSMiddleware(app, **case.options, _engine=engine)
    assert middleware.policy.__class__ is engine.CORSPolicy
    messages = call(middleware, http_scope(case.method, case.headers))
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    start, body = messages
    assert start["status"] == case.status
    assert [tuple(h) for h in start["headers"]] == list(case.response_headers), case.why
    assert body["body"] == case.body
    assert bool(app.calls) is case.app_called
    # The same middleware answers the same request identically again (now from the cache).
    app.calls.clear()
    assert call(middleware, http_scope(case.method, case.headers)) == messages
    assert bool(app.calls) is case.app_called


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_through_policy(case: Case, engine: ModuleType) -> None:
    with expect_warning(case.warns):
        middleware = corsfast.CORSMiddleware(None, **case.options, _engine=engine)
    policy = middleware.policy
    origin, acrm, acrh, acrpn = engine.scan_request_headers(list(case.headers))
    preflight = policy.is_preflight(case.method, origin, acrm)
    answer = policy.preflight_response(origin, acrm, acrh, acrpn) if preflight else None
    if case.app_called:
        assert answer is None
        assert policy.response_headers(origin, list(case.app_headers)) == list(case.response_headers)
    else:
        assert answer == (case.status, list(case.response_headers), case.body)


# -- lookup / is_allowed_origin ---------------------------------------------------------


def test_lookup_entry(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"], allow_credentials=True))
    entry = policy.lookup(b"https://example.com")
    assert entry.allowed is True
    assert entry.block == (
        (ACAO, b"https://example.com"),
        (b"access-control-allow-credentials", b"true"),
        (VARY, b"Origin"),
    )
    assert entry.ops == ((ACAO, b"https://example.com"), (b"access-control-allow-credentials", b"true"), (VARY, None))
    assert entry.preflight_head == ((ACAO, b"https://example.com"), (b"access-control-allow-credentials", b"true"))
    refused = policy.lookup(b"https://evil.com")
    assert refused.allowed is False
    assert refused.block == ((VARY, b"Origin"),)
    assert refused.preflight_head == ()


def test_lookup_static_star_entry_is_shared(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native())
    first = policy.lookup(b"https://a.test")
    assert first.block == ((ACAO, b"*"),)
    assert policy.lookup(b"https://b.test") is first


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (b"https://example.com", True),
        (b"https://api.example.org", True),
        (b"https://API.example.net", True),
        (b"https://example.com.", False),
        (b"https://a.b.example.org", False),
        (b"https://example.org", False),
        (b"", False),
        (b"null", False),
        (b"https://example.com\x00", False),
    ],
)
def test_is_allowed_origin(engine: ModuleType, origin: bytes, allowed: bool) -> None:
    policy = engine.CORSPolicy(
        native(["https://example.com", "https://*.example.org", re.compile(r"https://[a-z]+\.example\.net", re.I)])
    )
    assert policy.is_allowed_origin(origin) is allowed
    assert policy.lookup(origin).allowed is allowed


def test_is_preflight(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native())
    assert policy.is_preflight("OPTIONS", b"https://a.test", b"GET") is True
    assert policy.is_preflight("OPTIONS", b"https://a.test", b"") is True
    assert policy.is_preflight("OPTIONS", b"https://a.test", None) is False
    assert policy.is_preflight("OPTIONS", None, b"GET") is False
    assert policy.is_preflight("GET", b"https://a.test", b"GET") is False
    assert policy.is_preflight("options", b"https://a.test", b"GET") is False


def test_policy_rejects_non_options(engine: ModuleType) -> None:
    with pytest.raises(TypeError, match="CORSOptions"):
        engine.CORSPolicy({"allow_origins": ["*"]})


def test_policy_keeps_options(engine: ModuleType) -> None:
    options = native()
    assert engine.CORSPolicy(options).options is options


# -- the origin cache -----------------------------------------------------------------------


def test_cache_info_counts(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"], cache_size=16))
    assert policy.cache_info() == (0, 0, 16, 0)
    policy.lookup(b"https://example.com")
    assert policy.cache_info() == (0, 1, 16, 1)
    policy.lookup(b"https://example.com")
    policy.is_allowed_origin(b"https://example.com")
    assert policy.cache_info() == (2, 1, 16, 1)
    policy.lookup(b"https://evil.com")
    assert policy.cache_info() == (2, 2, 16, 2)
    info = policy.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (2, 2, 16, 2)


def test_cache_counts_requests(engine: ModuleType) -> None:
    middleware = corsfast.CORSMiddleware(RecordingApp(), allow_origins=["https://example.com"], _engine=engine)
    for _ in range(3):
        call(middleware, http_scope("GET", request_headers(b"https://example.com")))
    call(middleware, http_scope("GET", request_headers()))  # no Origin: no lookup
    call(middleware, http_scope("OPTIONS", request_headers(b"https://example.com", b"GET")))
    assert middleware.cache_info() == (3, 1, 4096, 1)
    middleware.cache_clear()
    assert middleware.cache_info() == (0, 0, 4096, 0)


def test_cache_clear(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"]))
    for origin in (b"https://example.com", b"https://a.test", b"https://example.com"):
        policy.lookup(origin)
    assert policy.cache_info() == (1, 2, 4096, 2)
    policy.cache_clear()
    assert policy.cache_info() == (0, 0, 4096, 0)
    assert policy.is_allowed_origin(b"https://example.com") is True
    assert policy.cache_info() == (0, 1, 4096, 1)


def test_over_long_origin_is_not_cached(engine: ModuleType) -> None:
    with pytest.warns(CORSConfigWarning):
        policy = engine.CORSPolicy(native(allow_credentials=True))
    long_origin = b"https://" + b"a" * 3000 + b".com"
    assert policy.is_allowed_origin(long_origin) is False
    assert policy.is_allowed_origin(long_origin) is False
    assert policy.cache_info() == (0, 2, 4096, 0)


def test_over_long_origin_never_runs_a_pattern(engine: ModuleType) -> None:
    calls: list[str] = []

    class SpyPattern:
        """Stands in for a compiled pattern and records every origin it is asked about."""

        pattern = "spy"

        def fullmatch(self, text: str) -> Any:
            calls.append(text)
            return None

    options = dataclasses.replace(native([re.compile("x")]), origin_patterns=(SpyPattern(),))
    policy = engine.CORSPolicy(options)
    assert policy.is_allowed_origin(b"https://" + b"a" * 4000 + b".com") is False
    assert policy.is_allowed_origin(b"https://a.com\r\n") is False
    assert calls == []
    assert policy.is_allowed_origin(b"https://a.com") is False
    assert calls == ["https://a.com"]


@pytest.mark.parametrize("cache_size", [0, 1, 8, 4096])
def test_cache_never_changes_answers(engine: ModuleType, cache_size: int) -> None:
    rules = ["https://example.com", "https://*.example.org", re.compile(r"https://\d+\.example\.net")]
    cached = engine.CORSPolicy(native(rules, cache_size=cache_size, allow_credentials=True))
    uncached = engine.CORSPolicy(native(rules, cache_size=0, allow_credentials=True))
    origins = [
        b"https://example.com",
        b"https://a.example.org",
        b"https://12.example.net",
        b"https://x.test",
        b"https://a.b.example.org",
        b"https://1a.example.net",
        b"",
    ]
    for _ in range(3):
        for origin in origins:
            a, b = cached.lookup(origin), uncached.lookup(origin)
            assert (a.allowed, a.block, a.ops, a.preflight_head) == (b.allowed, b.block, b.ops, b.preflight_head)
            assert cached.response_headers(origin, []) == uncached.response_headers(origin, [])
            assert cached.preflight_response(origin, b"GET", None, None) == uncached.preflight_response(
                origin, b"GET", None, None
            )


def test_cache_size_zero_disables_caching(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"], cache_size=0))
    for _ in range(5):
        assert policy.is_allowed_origin(b"https://example.com") is True
        assert policy.is_allowed_origin(b"https://evil.com") is False
    assert policy.cache_info() == (0, 10, 0, 0)


def test_bounded_cache_under_a_flood(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://*.example.com", re.compile(r"https://[0-9]+\.test")], cache_size=8))
    for i in range(1000):
        allowed_label = f"https://h{i}.example.com".encode()
        refused_label = f"https://h{i}.evil.com".encode()
        numeric = f"https://{i}.test".encode()
        assert policy.is_allowed_origin(allowed_label) is True
        assert policy.is_allowed_origin(refused_label) is False
        assert policy.is_allowed_origin(numeric) is True
        assert policy.cache_info().currsize <= 8
    info = policy.cache_info()
    assert info.maxsize == 8
    assert info.misses == 3000 and info.hits == 0
    # Still right, and still caching, after the flood.
    assert policy.lookup(b"https://h1.example.com").block[0] == (ACAO, b"https://h1.example.com")
    assert policy.is_allowed_origin(b"https://h1.example.com") is True
    assert policy.cache_info().hits == 1


# -- scan_request_headers --------------------------------------------------------------------


def test_scan_request_headers(engine: ModuleType) -> None:
    headers = [
        (b"host", b"api.test"),
        (b"access-control-request-private-network", b"true"),
        (b"origin", b"https://first.test"),
        (b"access-control-request-method", b"PUT"),
        (b"origin", b"https://second.test"),
        (b"access-control-request-headers", b"x-a"),
        (b"access-control-request-method", b"GET"),
        (b"access-control-request-headers", b"x-b"),
        (b"access-control-request-private-network", b"false"),
    ]
    assert engine.scan_request_headers(headers) == (b"https://first.test", b"PUT", b"x-a", b"true")


def test_scan_request_headers_absent(engine: ModuleType) -> None:
    assert engine.scan_request_headers([]) == (None, None, None, None)
    assert engine.scan_request_headers([(b"host", b"a"), (b"origins", b"x"), (b"origi", b"y")]) == (
        None,
        None,
        None,
        None,
    )


def test_scan_request_headers_ignores_non_bytes(engine: ModuleType) -> None:
    headers = [
        ("origin", b"https://str-name.test"),
        (b"origin", "https://str-value.test"),
        (bytearray(b"origin"), b"https://bytearray.test"),
        (b"origin", bytearray(b"https://bytearray-value.test")),
        (b"Origin", b"https://upper-case.test"),  # ASGI request header names are lower case
        (b"origin", b"https://bytes.test"),
    ]
    assert engine.scan_request_headers(headers) == (b"https://bytes.test", None, None, None)


def test_scan_request_headers_accepts_iterables(engine: ModuleType) -> None:
    pairs = [[b"origin", b"https://a.test"], (b"access-control-request-method", b"GET")]
    assert engine.scan_request_headers(pairs) == (b"https://a.test", b"GET", None, None)
    assert engine.scan_request_headers(tuple(pairs)) == (b"https://a.test", b"GET", None, None)
    assert engine.scan_request_headers(iter(pairs)) == (b"https://a.test", b"GET", None, None)


def test_scan_request_headers_empty_values(engine: ModuleType) -> None:
    assert engine.scan_request_headers([(b"origin", b""), (b"origin", b"https://a.test")]) == (b"", None, None, None)


# -- response_headers ---------------------------------------------------------------------


def test_response_headers_copies(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"]))
    app_headers = [(b"content-type", b"text/plain")]
    snapshot = list(app_headers)
    first = policy.response_headers(b"https://example.com", app_headers)
    second = policy.response_headers(b"https://example.com", app_headers)
    assert app_headers == snapshot
    assert first == second == [*snapshot, (ACAO, b"https://example.com"), (VARY, b"Origin")]
    assert first is not app_headers and first is not second


def test_response_headers_copies_on_merge(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"]))
    app_headers = [(VARY, b"Accept"), (ACAO, b"*"), (VARY, b"Cookie")]
    snapshot = list(app_headers)
    result = policy.response_headers(b"https://example.com", app_headers)
    assert app_headers == snapshot
    assert result == [(VARY, b"Accept, Cookie, Origin"), (ACAO, b"https://example.com")]


def test_response_headers_no_origin(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native())
    assert policy.response_headers(None, []) == [(VARY, b"Origin")]
    assert policy.response_headers(None, ((b"a", b"b"),)) == [(b"a", b"b"), (VARY, b"Origin")]
    assert policy.cache_info().misses == 0


def test_response_headers_list_items(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"]))
    result = policy.response_headers(b"https://example.com", [[b"content-type", b"text/plain"]])
    assert [tuple(item) for item in result] == [
        (b"content-type", b"text/plain"),
        (ACAO, b"https://example.com"),
        (VARY, b"Origin"),
    ]


def test_response_headers_does_not_leak_between_origins(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://a.test", "https://b.test"], allow_credentials=True))
    a = policy.response_headers(b"https://a.test", [])
    b = policy.response_headers(b"https://b.test", [])
    refused = policy.response_headers(b"https://c.test", [])
    assert (ACAO, b"https://a.test") in a and (ACAO, b"https://b.test") not in a
    assert (ACAO, b"https://b.test") in b and (ACAO, b"https://a.test") not in b
    assert refused == [(VARY, b"Origin")]


# -- preflight_response, all three dialects ----------------------------------------------


def test_preflight_response_native(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(
        native(
            ["https://example.com"], allow_methods=["GET"], allow_headers=["X-A"], allow_private_network=True, max_age=5
        )
    )
    assert policy.preflight_response(b"https://example.com", b"GET", b"x-a", b"true") == (
        200,
        [
            (ACAO, b"https://example.com"),
            (b"access-control-allow-methods", b"GET"),
            (b"access-control-allow-headers", b"X-A, Accept, Accept-Language, Content-Language, Content-Type"),
            (b"access-control-max-age", b"5"),
            (b"access-control-allow-private-network", b"true"),
            (VARY, b"Origin, Access-Control-Request-Private-Network"),
            (b"content-length", b"0"),
        ],
        b"",
    )
    assert policy.preflight_response(b"https://evil.com", b"GET", None, None) is None


def test_preflight_response_native_returns_fresh_lists(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(["https://example.com"]))
    first = policy.preflight_response(b"https://example.com", b"GET", None, None)
    first[1].append((b"x-mutated", b"1"))
    second = policy.preflight_response(b"https://example.com", b"GET", None, None)
    assert (b"x-mutated", b"1") not in second[1]


def test_preflight_response_requires_bytes_method(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native())
    with pytest.raises(TypeError):
        policy.preflight_response(b"https://a.test", None, None, None)


async def _peer_messages(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(http_scope(method, headers), receive, send)
    return messages


STARLETTE_PREFLIGHTS = [
    (b"https://example.com", b"GET", None, None),
    (b"https://example.com", b"PUT", None, None),
    (b"https://example.com", b"GET", b"x-a, content-type", None),
    (b"https://example.com", b"GET", b"x-b", b"true"),
    (b"https://evil.com", b"DELETE", b"x-b", b"true"),
    (b"https://api.example.com", b"POST", b" X-A ,ACCEPT", None),
]


@pytest.mark.parametrize("request_values", STARLETTE_PREFLIGHTS)
@pytest.mark.parametrize("credentials", [False, True])
def test_preflight_response_starlette_matches_starlette(
    engine: ModuleType, request_values: tuple[Any, ...], credentials: bool
) -> None:
    from starlette.middleware.cors import CORSMiddleware as StarletteCORS

    config: dict[str, Any] = {
        "allow_origins": ["https://example.com"],
        "allow_origin_regex": r"https://[a-z]+\.example\.com",
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["X-A"],
        "allow_credentials": credentials,
        "expose_headers": ["X-E"],
        "max_age": 60,
    }
    import starlette

    policy = engine.CORSPolicy(
        starlette_options(
            config["allow_origins"],
            config["allow_methods"],
            config["allow_headers"],
            credentials,
            config["allow_origin_regex"],
            False,
            config["expose_headers"],
            60,
            release=release_for(starlette.__version__),  # the installed release's answers
        )
    )
    origin, acrm, acrh, acrpn = request_values
    got = policy.preflight_response(origin, acrm, acrh, acrpn)
    headers = [(b"origin", origin), (b"access-control-request-method", acrm)]
    if acrh is not None:
        headers.append((b"access-control-request-headers", acrh))
    if acrpn is not None:
        headers.append((b"access-control-request-private-network", acrpn))
    peer = asyncio.run(_peer_messages(StarletteCORS(RecordingApp(), **config), "OPTIONS", headers))
    assert got == (peer[0]["status"], [tuple(h) for h in peer[0]["headers"]], peer[1]["body"])


def _kui_app(allow_origins: Any, **config: Any) -> Any:
    from kui.asgi import HttpRoute, Kui, allow_cors

    async def handler() -> str:
        return "Hello, world"

    app = Kui()
    app.router <<= HttpRoute("/", handler) @ allow_cors(allow_origins=allow_origins, **config)
    return app


def _cors_headers(headers: Any) -> dict[bytes, bytes]:
    return {bytes(k).lower(): bytes(v) for k, v in headers if bytes(k).lower().startswith(b"access-control-")}


@pytest.mark.parametrize(
    ("origin", "acrm"),
    [(b"https://example.com", b"GET"), (b"https://example.com", None), (b"https://evil.com", b"GET")],
)
def test_preflight_response_kui_matches_kui(engine: ModuleType, origin: bytes, acrm: Any) -> None:
    patterns = [re.compile(r"https://example\.com")]
    config: dict[str, Any] = {
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["X-A", "X-B"],
        "expose_headers": ["X-E"],
        "allow_credentials": True,
        "max_age": 60,
    }
    policy = engine.CORSPolicy(
        kui_options(patterns, config["allow_methods"], config["allow_headers"], config["expose_headers"], True, 60)
    )
    assert policy.is_preflight("OPTIONS", origin, acrm) is True  # Kui: any OPTIONS with an Origin
    got = policy.preflight_response(origin, acrm, None, None)
    headers = [(b"origin", origin)] + ([(b"access-control-request-method", acrm)] if acrm else [])
    peer = asyncio.run(_peer_messages(_kui_app(patterns, **config), "OPTIONS", headers))
    peer_cors = _cors_headers(peer[0]["headers"])
    if not peer_cors:
        assert got is None  # Kui passes a refused origin to the endpoint
        return
    status, got_headers, body = got
    assert (status, body) == (peer[0]["status"], peer[1]["body"])
    got_cors = _cors_headers(got_headers)
    # Kui joins allow_headers from a set: compare that one as a set of names.
    names = b"access-control-allow-headers"
    assert set(got_cors.pop(names).split(b", ")) == set(peer_cors.pop(names).split(b", "))
    assert got_cors == peer_cors
    assert (VARY, b"Origin") in got_headers  # the documented deviation: Kui never varies
