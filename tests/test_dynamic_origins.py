"""`allow_origin_func` and `allow_origin_func_ttl` (issue 16), on both engines, ASGI and WSGI.

The function decides the origins the static rules refuse, at most once per request; what it
allows is answered exactly as a rule's allowed origin (compared message for message with a
middleware whose rules allow that origin), what it refuses as a refused one. The ttl keeps
verdicts in the origin cache (bounded by `cache_size`), read against an injected clock; an
exception refuses for one request and is logged. Async functions run in the request's own
task: concurrent requests share one function, and each sees its own context variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import re
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from cases import RecordingApp, asgi_messages, http_scope, run_sync, wsgi_environ
from hypothesis import given, settings, strategies as st

import corsfast
import corsfast.wsgi
from corsfast import CORSConfigWarning

RULE_ORIGIN = "https://app.example.com"
TENANT = "https://shop.tenant.example"
STRANGER = "https://evil.example"
PREFLIGHT = (("access-control-request-method", "PUT"), ("access-control-request-headers", "x-token"))


class Counter:
    """A plain `allow_origin_func`: allows the origins in `allowed`, records every call."""

    def __init__(self, allowed: Any = (TENANT,), result: Optional[Callable[[str], Any]] = None) -> None:
        self.allowed = set(allowed)
        self.result = result
        self.calls: list[str] = []

    def __call__(self, origin: str) -> Any:
        self.calls.append(origin)
        if self.result is not None:
            return self.result(origin)
        return origin in self.allowed


class AsyncCounter(Counter):
    """An `async def` `allow_origin_func` that suspends once before it answers."""

    async def __call__(self, origin: str) -> Any:  # type: ignore[override]
        self.calls.append(origin)
        await asyncio.sleep(0)
        if self.result is not None:
            return self.result(origin)
        return origin in self.allowed


class Clock:
    """A monotonic clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def native(engine: ModuleType, app: Any = None, **options: Any) -> Any:
    options.setdefault("allow_origins", [RULE_ORIGIN])
    return corsfast.CORSMiddleware(app or RecordingApp(), **options, _engine=engine)


def wsgi(engine: ModuleType, app: Any = None, **options: Any) -> Any:
    options.setdefault("allow_origins", [RULE_ORIGIN])
    return corsfast.wsgi.CORSMiddleware(app or wsgi_app, **options, _engine=engine)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def headers_for(origin: Optional[str], extra: Any = ()) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"api.example.com")]
    if origin is not None:
        headers.append((b"origin", origin.encode("latin-1")))
    headers += [(name.encode(), value.encode()) for name, value in extra]
    return headers


def asgi_call(app: Any, origin: Optional[str], method: str = "GET", extra: Any = ()) -> list[Any]:
    """Return the messages of one request, driven in an event loop (async functions suspend)."""
    messages: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(app(http_scope(method, headers_for(origin, extra)), receive, send))
    return messages


def preflight(app: Any, origin: str) -> list[Any]:
    return asgi_call(app, origin, "OPTIONS", PREFLIGHT)


def wsgi_call(app: Any, origin: Optional[str], method: str = "GET", extra: Any = ()) -> tuple[str, list[Any], bytes]:
    started: list[Any] = []

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    environ = wsgi_environ(method, ([("Origin", origin)] if origin is not None else []) + list(extra))
    body = b"".join(app(environ, start_response))
    return started[0], started[1], body


def acao(messages: list[Any]) -> Optional[bytes]:
    found = [value for name, value in messages[0]["headers"] if name == b"access-control-allow-origin"]
    return found[0] if found else None


def wsgi_acao(answer: tuple[str, list[Any], bytes]) -> Optional[str]:
    found = [value for name, value in answer[1] if name.lower() == "access-control-allow-origin"]
    return found[0] if found else None


# -- semantics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule,origin",
    [
        (RULE_ORIGIN, RULE_ORIGIN),
        ("https://*.example.org", "https://a.example.org"),
        (re.compile(r"https://[a-z]+\.example\.net"), "https://b.example.net"),
        ("http://localhost:*", "http://localhost:5173"),
    ],
    ids=["exact", "wildcard", "pattern", "port-wildcard"],
)
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_rules_are_tried_first(engine: ModuleType, rule: Any, origin: str, asynchronous: bool) -> None:
    func = AsyncCounter() if asynchronous else Counter()
    app = native(engine, allow_origins=[rule], allow_origin_func=func)
    assert acao(asgi_call(app, origin)) == origin.encode()
    assert acao(preflight(app, origin)) == origin.encode()
    assert func.calls == []
    if not asynchronous:
        assert wsgi_acao(wsgi_call(wsgi(engine, allow_origins=[rule], allow_origin_func=func), origin)) == origin
        assert func.calls == []


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("origin", [TENANT, STRANGER])
def test_asked_once_per_request(engine: ModuleType, asynchronous: bool, origin: str) -> None:
    """A simple request, a preflight, and a refused preflight (which reaches the app): one call each."""
    func = AsyncCounter() if asynchronous else Counter()
    recording = RecordingApp()
    app = native(engine, recording, allow_origin_func=func)
    for call in (lambda: asgi_call(app, origin), lambda: preflight(app, origin)):
        before = len(func.calls)
        call()
        assert func.calls[before:] == [origin]
    # A refused preflight is passed to the app; an allowed one is answered without it.
    assert len(recording.calls) == (1 if origin == TENANT else 2)


@pytest.mark.parametrize("origin", [TENANT, STRANGER])
def test_wsgi_asked_once_per_request_before_the_app(engine: ModuleType, origin: str) -> None:
    func = Counter()
    seen_by_app: list[int] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen_by_app.append(len(func.calls))
        return wsgi_app(environ, start_response)

    middleware = wsgi(engine, app, allow_origin_func=func)
    wsgi_call(middleware, origin)
    wsgi_call(middleware, origin, "OPTIONS", [("Access-Control-Request-Method", "PUT")])
    assert func.calls == [origin, origin]
    # The function has answered before the app runs (refused preflights reach the app too).
    assert seen_by_app == ([1] if origin == TENANT else [1, 2])


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "origin",
    [
        "",
        "https://a.example\r\nset-cookie: x=1",
        "https://a.example\x00",
        "https://a\x7f.example",
        "https://a\tb.example",
    ],
    ids=["empty", "crlf", "nul", "del", "tab"],
)
def test_origins_no_rule_sees_never_reach_the_function(engine: ModuleType, asynchronous: bool, origin: str) -> None:
    func = AsyncCounter(result=lambda origin: True) if asynchronous else Counter(result=lambda origin: True)
    app = native(engine, allow_origin_func=func)
    assert acao(asgi_call(app, origin)) is None
    assert acao(preflight(app, origin)) is None
    assert func.calls == []


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_over_long_origins_never_reach_the_function(engine: ModuleType, asynchronous: bool) -> None:
    func = AsyncCounter(result=lambda origin: True) if asynchronous else Counter(result=lambda origin: True)
    app = native(engine, allow_origin_func=func, max_origin_length=4096)
    at_cap = "https://" + "a" * (4096 - len("https://.example")) + ".example"
    assert len(at_cap) == 4096
    assert acao(asgi_call(app, at_cap)) == at_cap.encode()
    assert acao(asgi_call(app, at_cap + "x")) is None
    assert acao(preflight(app, at_cap + "x")) is None
    assert func.calls == [at_cap]
    if not asynchronous:
        middleware = wsgi(engine, allow_origin_func=func, max_origin_length=4096)
        assert wsgi_acao(wsgi_call(middleware, at_cap + "x")) is None
        assert func.calls == [at_cap]


ANSWER_OPTIONS = [
    {},
    {"allow_credentials": True, "expose_headers": ["X-Request-Id"]},
    {"allow_methods": ["*"], "allow_headers": ["*"], "allow_private_network": True, "max_age": 60},
    {"allow_headers": ["X-Token"], "allow_methods": ["GET", "PUT"], "allow_credentials": True},
]
REQUESTS = [
    ("GET", ()),
    ("POST", (("content-type", "text/plain"),)),
    ("OPTIONS", PREFLIGHT),
    ("OPTIONS", (("access-control-request-method", "DELETE"), ("access-control-request-private-network", "true"))),
    ("OPTIONS", ()),  # not a preflight
]
APP_HEADER_SETS = [(), ((b"vary", b"Accept-Encoding"),), ((b"access-control-allow-origin", b"https://x.example"),)]


@pytest.mark.parametrize("options", ANSWER_OPTIONS)
@pytest.mark.parametrize("ttl", [0.0, 30.0])
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_answered_exactly_as_a_rule_would(
    engine: ModuleType, options: dict[str, Any], ttl: float, asynchronous: bool
) -> None:
    """Allowed by the function == allowed by a rule; refused by it == refused by the rules (ASGI and WSGI)."""
    func = AsyncCounter() if asynchronous else Counter()
    for app_headers in APP_HEADER_SETS:
        for method, extra in REQUESTS:
            dynamic = native(
                engine, RecordingApp(headers=app_headers), allow_origin_func=func, allow_origin_func_ttl=ttl, **options
            )
            ruled = native(engine, RecordingApp(headers=app_headers), allow_origins=[RULE_ORIGIN, TENANT], **options)
            for origin in (TENANT, STRANGER, None):
                for _ in range(2):  # a cached verdict answers the same
                    assert asgi_call(dynamic, origin, method, extra) == asgi_call(ruled, origin, method, extra)
            if not asynchronous:
                dynamic_wsgi = wsgi(engine, allow_origin_func=func, allow_origin_func_ttl=ttl, **options)
                ruled_wsgi = wsgi(engine, allow_origins=[RULE_ORIGIN, TENANT], **options)
                for origin in (TENANT, STRANGER, None):
                    wsgi_extra = [(name.title(), value) for name, value in extra]
                    assert wsgi_call(dynamic_wsgi, origin, method, wsgi_extra) == wsgi_call(
                        ruled_wsgi, origin, method, wsgi_extra
                    )


def test_allowed_answers_in_full(engine: ModuleType) -> None:
    """The bytes of one allowed simple request and one allowed preflight, spelled out."""
    app = native(
        engine,
        allow_origin_func=Counter(),
        allow_credentials=True,
        expose_headers=["X-Request-Id"],
        allow_headers=["X-Token"],
        allow_methods=["GET", "PUT"],
        max_age=60,
    )
    start = asgi_call(app, TENANT)[0]
    assert start["headers"][-4:] == [
        (b"access-control-allow-origin", TENANT.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", b"X-Request-Id"),
        (b"vary", b"Origin"),
    ]
    start = preflight(app, TENANT)[0]
    assert start["status"] == 200
    assert start["headers"] == [
        (b"access-control-allow-origin", TENANT.encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-methods", b"GET, PUT"),
        (b"access-control-allow-headers", b"X-Token, Accept, Accept-Language, Content-Language, Content-Type"),
        (b"access-control-max-age", b"60"),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    refused = asgi_call(app, STRANGER)[0]
    assert refused["headers"][-1:] == [(b"vary", b"Origin")]
    assert acao([refused]) is None


@pytest.mark.parametrize(
    "result,allowed",
    [(True, True), (False, False), (1, True), (0, False), ("yes", True), ("", False), (None, False), ([0], True)],
    ids=repr,
)
def test_truth_value(engine: ModuleType, result: Any, allowed: bool) -> None:
    app = native(engine, allow_origin_func=lambda origin: result)
    assert (acao(asgi_call(app, TENANT)) is not None) is allowed
    assert wsgi(engine, allow_origin_func=lambda origin: result).policy.is_allowed_origin(TENANT.encode()) is allowed


def test_the_function_gets_the_origin_as_latin1_text(engine: ModuleType) -> None:
    func = Counter(result=lambda origin: True)
    raw = b"https://caf\xe9.example"
    app = native(engine, allow_origin_func=func)
    messages = asgi_messages(app, "GET", [(b"origin", raw)])
    assert func.calls == ["https://caf\xe9.example"]
    assert acao(messages) == raw  # reflected as the bytes that came


def test_policy_api_asks_a_plain_function(engine: ModuleType) -> None:
    func = Counter()
    policy = native(engine, allow_origin_func=func).policy
    assert policy.is_allowed_origin(TENANT.encode()) is True
    assert policy.is_allowed_origin(STRANGER.encode()) is False
    assert policy.lookup(TENANT.encode()).allowed is True
    assert policy.response_headers(TENANT.encode(), [])[0] == (b"access-control-allow-origin", TENANT.encode())
    answer = policy.preflight_response(TENANT.encode(), b"GET", None, None)
    assert answer is not None and answer[0] == 200
    assert policy.preflight_response(STRANGER.encode(), b"GET", None, None) is None
    assert policy.is_allowed_origin(RULE_ORIGIN.encode()) is True
    assert func.calls == [TENANT, STRANGER, TENANT, TENANT, TENANT, STRANGER]


def test_policy_api_cannot_await_an_async_function(engine: ModuleType) -> None:
    policy = native(engine, allow_origin_func=AsyncCounter()).policy
    assert policy.is_allowed_origin(RULE_ORIGIN.encode()) is True  # a rule decides: nothing to await
    with pytest.raises(TypeError, match="coroutine function"):
        policy.is_allowed_origin(TENANT.encode())
    with pytest.raises(TypeError, match="coroutine function"):
        policy.lookup(STRANGER.encode())


def test_no_origin_and_other_scopes_never_ask(engine: ModuleType) -> None:
    func = Counter(result=lambda origin: True)
    recording = RecordingApp()
    app = native(engine, recording, allow_origin_func=func)
    asgi_call(app, None)
    asgi_call(app, None, "OPTIONS", PREFLIGHT)
    seen: list[Any] = []

    async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    run_sync(native(engine, lifespan_app, allow_origin_func=func)({"type": "lifespan"}, None, None))
    assert func.calls == [] and seen == ["lifespan"]


# -- the fast path stays the app's own awaitable -------------------------------------------


class Awaited:
    """What the app returns: an awaitable the middleware must hand back untouched."""

    def __await__(self) -> Iterator[None]:
        return iter(())


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_only_an_async_verdict_costs_a_coroutine(engine: ModuleType, asynchronous: bool) -> None:
    returned = Awaited()
    func = AsyncCounter() if asynchronous else Counter()

    def app(scope: Any, receive: Any, send: Any) -> Awaited:
        return returned

    middleware = native(engine, app, allow_origin_func=func, allow_origin_func_ttl=60)
    receive = send = None
    assert middleware(http_scope("GET", headers_for(RULE_ORIGIN)), receive, send) is returned
    assert middleware(http_scope("GET", headers_for(None)), receive, send) is returned
    result = middleware(http_scope("GET", headers_for(TENANT)), receive, send)
    if asynchronous:
        assert result is not returned
        asyncio.run(_await(result))
        # Its verdict is cached now: the next request takes the fast path.
        assert middleware(http_scope("GET", headers_for(TENANT)), receive, send) is returned
    else:
        assert result is returned
    assert func.calls == [TENANT]


async def _await(awaitable: Any) -> Any:
    return await awaitable


# -- ttl and the cache ------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_ttl_keeps_verdicts_until_they_expire(engine: ModuleType, asynchronous: bool) -> None:
    func = AsyncCounter() if asynchronous else Counter()
    app = native(engine, allow_origin_func=func, allow_origin_func_ttl=10)
    clock = Clock()
    app.policy._clock = clock
    for origin in (TENANT, STRANGER):
        asgi_call(app, origin)
    assert func.calls == [TENANT, STRANGER]
    clock.now += 9.5
    for origin in (TENANT, STRANGER):
        asgi_call(app, origin)
        preflight(app, origin)
    assert func.calls == [TENANT, STRANGER]  # both verdicts kept, the refusal too
    func.allowed = {STRANGER}  # the database changed
    clock.now += 0.5  # exactly the ttl: stale
    assert acao(asgi_call(app, TENANT)) is None
    assert acao(asgi_call(app, STRANGER)) == STRANGER.encode()
    assert func.calls == [TENANT, STRANGER, TENANT, STRANGER]
    assert acao(preflight(app, STRANGER)) == STRANGER.encode()
    assert len(func.calls) == 4


def test_wsgi_ttl(engine: ModuleType) -> None:
    func = Counter()
    middleware = wsgi(engine, allow_origin_func=func, allow_origin_func_ttl=5)
    clock = Clock()
    middleware.policy._clock = clock
    for _ in range(3):
        assert wsgi_acao(wsgi_call(middleware, TENANT)) == TENANT
    clock.now += 5
    assert wsgi_acao(wsgi_call(middleware, TENANT)) == TENANT
    assert func.calls == [TENANT, TENANT]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_without_ttl_asked_every_time(engine: ModuleType, asynchronous: bool) -> None:
    func = AsyncCounter() if asynchronous else Counter()
    app = native(engine, allow_origin_func=func)
    for _ in range(3):
        assert acao(asgi_call(app, TENANT)) == TENANT.encode()
        assert acao(asgi_call(app, STRANGER)) is None
    assert func.calls == [TENANT, STRANGER] * 3
    func.allowed = set()
    assert acao(asgi_call(app, TENANT)) is None  # a revoked tenant is refused at once


def test_ttl_with_a_real_clock(engine: ModuleType) -> None:
    """The default clock (time.monotonic), with a short sleep: bounded, no injection."""
    import time

    func = Counter()
    app = native(engine, allow_origin_func=func, allow_origin_func_ttl=0.05)
    asgi_call(app, TENANT)
    asgi_call(app, TENANT)
    assert func.calls == [TENANT]
    time.sleep(0.06)
    asgi_call(app, TENANT)
    assert func.calls == [TENANT, TENANT]


@pytest.mark.parametrize("ttl", [0.0, 60.0])
def test_cache_bound(engine: ModuleType, ttl: float) -> None:
    """Verdicts share the origin cache and its bound; a full cache is cleared, answers stay right."""
    func = Counter(result=lambda origin: origin.endswith(".tenant.example"))
    app = native(engine, allow_origin_func=func, allow_origin_func_ttl=ttl, cache_size=8)
    sizes = []
    for index in range(100):
        origin = f"https://t{index}.tenant.example" if index % 2 else f"https://s{index}.stranger.example"
        assert (acao(asgi_call(app, origin)) is not None) is (index % 2 == 1)
        sizes.append(app.cache_info().currsize)
    assert max(sizes) == 8
    assert len(func.calls) == 100
    # A verdict still in the cache is not asked again (with a ttl); without one it always is.
    asgi_call(app, "https://t99.tenant.example")
    assert len(func.calls) == (100 if ttl else 101)


def test_cache_size_zero_asks_every_time(engine: ModuleType) -> None:
    func = Counter()
    with pytest.warns(CORSConfigWarning, match="cache_size=0"):
        app = native(engine, allow_origin_func=func, allow_origin_func_ttl=60, cache_size=0)
    for _ in range(3):
        assert acao(asgi_call(app, TENANT)) == TENANT.encode()
    assert func.calls == [TENANT] * 3
    assert app.cache_info().currsize == 0


def test_cache_clear_forgets_verdicts(engine: ModuleType) -> None:
    func = Counter()
    app = native(engine, allow_origin_func=func, allow_origin_func_ttl=60)
    asgi_call(app, TENANT)
    asgi_call(app, TENANT)
    app.cache_clear()
    asgi_call(app, TENANT)
    assert func.calls == [TENANT, TENANT]


# -- exceptions ---------------------------------------------------------------------------------


class Boom(Exception):
    pass


def _raise(origin: str) -> Any:
    raise Boom(origin)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("ttl", [0.0, 60.0])
def test_an_exception_refuses_for_that_request_only(
    engine: ModuleType, asynchronous: bool, ttl: float, caplog: pytest.LogCaptureFixture
) -> None:
    func = AsyncCounter(result=_raise) if asynchronous else Counter(result=_raise)
    recording = RecordingApp()
    app = native(engine, recording, allow_origin_func=func, allow_origin_func_ttl=ttl)
    caplog.set_level(logging.ERROR, logger="corsfast")
    simple = asgi_call(app, TENANT)
    assert simple[0]["status"] == 200 and acao(simple) is None
    assert (b"vary", b"Origin") in simple[0]["headers"]
    refused_preflight = preflight(app, TENANT)
    assert refused_preflight[0]["status"] == 200 and acao(refused_preflight) is None
    assert len(recording.calls) == 2  # answered by the app, as for a refused origin
    # Never cached: the next request asks again, and an answer that works now is used.
    func.result = None
    assert acao(asgi_call(app, TENANT)) == TENANT.encode()
    assert func.calls == [TENANT] * 3
    records = [r for r in caplog.records if r.name == "corsfast"]
    assert len(records) == 2
    for record in records:
        assert record.levelno == logging.ERROR
        assert TENANT in record.getMessage() and "refused" in record.getMessage()
        assert record.exc_info is not None and isinstance(record.exc_info[1], Boom)
        assert "Boom" in caplog.text and "Traceback" in caplog.text


def test_wsgi_exception(engine: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="corsfast")
    middleware = wsgi(engine, allow_origin_func=_raise, allow_origin_func_ttl=5)
    status, headers, body = wsgi_call(middleware, TENANT)
    assert (status, body) == ("200 OK", b"app")
    assert wsgi_acao((status, headers, body)) is None
    status, headers, body = wsgi_call(middleware, TENANT, "OPTIONS", [("Access-Control-Request-Method", "PUT")])
    assert (status, body) == ("200 OK", b"app")
    assert [r.levelno for r in caplog.records if r.name == "corsfast"] == [logging.ERROR, logging.ERROR]


def test_a_failing_truth_value_is_an_exception(engine: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    class NoTruth:
        def __bool__(self) -> bool:
            raise Boom("no truth")

    caplog.set_level(logging.ERROR, logger="corsfast")
    app = native(engine, allow_origin_func=lambda origin: NoTruth())
    assert acao(asgi_call(app, TENANT)) is None
    assert len([r for r in caplog.records if r.name == "corsfast"]) == 1


def test_a_plain_function_returning_an_awaitable_is_refused(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """A lambda around an async function is not awaited (it was not declared async): refused,
    logged, and the coroutine is closed (no 'never awaited' warning, which would be an error)."""

    async def check(origin: str) -> bool:
        return True

    caplog.set_level(logging.ERROR, logger="corsfast")
    app = native(engine, allow_origin_func=lambda origin: check(origin))
    assert acao(asgi_call(app, TENANT)) is None
    [record] = [r for r in caplog.records if r.name == "corsfast"]
    assert record.exc_info is not None and "async def" in str(record.exc_info[1])


def test_cancellation_is_not_swallowed(engine: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    """A request task cancelled while the async function runs is cancelled, not refused and logged."""
    started = asyncio.Event()

    async def slow(origin: str) -> bool:
        started.set()
        await asyncio.sleep(60)
        return True

    app = native(engine, allow_origin_func=slow)

    async def main() -> None:
        async def send(message: Any) -> None:
            raise AssertionError("nothing is sent")

        task = asyncio.ensure_future(app(http_scope("GET", headers_for(TENANT)), None, send))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    caplog.set_level(logging.ERROR, logger="corsfast")
    asyncio.run(main())
    assert [r for r in caplog.records if r.name == "corsfast"] == []


# -- async: the request's own task ---------------------------------------------------------------

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


def with_request_id(app: Any) -> Any:
    """An outer middleware that sets a context variable per request (as a tracing layer does)."""

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        REQUEST_ID.set(dict(scope["headers"])[b"x-request-id"].decode())
        await app(scope, receive, send)

    return outer


@pytest.mark.parametrize("ttl", [0.0, 60.0])
def test_concurrent_requests_share_one_async_function(engine: ModuleType, ttl: float) -> None:
    in_flight = 0
    most_in_flight = 0
    seen: list[tuple[str, str]] = []
    gate = asyncio.Event()

    async def tenant_origin(origin: str) -> bool:
        nonlocal in_flight, most_in_flight
        in_flight += 1
        most_in_flight = max(most_in_flight, in_flight)
        seen.append((REQUEST_ID.get(), origin))
        await gate.wait()  # every request is inside the function before any answers
        in_flight -= 1
        return origin.endswith(".tenant.example")

    middleware = native(engine, allow_origin_func=tenant_origin, allow_origin_func_ttl=ttl)
    app = with_request_id(middleware)
    count = 20

    async def one(index: int) -> list[Any]:
        origin = f"https://t{index % 5}.tenant.example" if index % 2 else f"https://s{index}.stranger.example"
        messages: list[Any] = []

        async def send(message: Any) -> None:
            messages.append(message)

        extra = (("x-request-id", str(index)),) + (PREFLIGHT if index % 3 == 0 else ())
        method = "OPTIONS" if index % 3 == 0 else "GET"
        await app(http_scope(method, headers_for(origin, extra)), None, send)
        return [origin, messages]

    async def main() -> list[Any]:
        tasks = [asyncio.ensure_future(one(index)) for index in range(count)]
        for _ in range(10 * count):
            if len(seen) == count:
                break
            await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(main())
    assert most_in_flight == count
    # Each call ran in its own request's context.
    assert sorted(seen) == sorted((str(i), r[0]) for i, r in enumerate(results))
    for origin, messages in results:
        expected = origin.encode() if ".tenant." in origin else None
        assert acao(messages) == expected, origin


def test_contextvars_reach_a_plain_function_too(engine: ModuleType) -> None:
    seen: list[str] = []

    def tenant_origin(origin: str) -> bool:
        seen.append(REQUEST_ID.get())
        return True

    app = with_request_id(native(engine, allow_origin_func=tenant_origin))
    for index in range(3):
        asgi_call(app, TENANT, extra=(("x-request-id", f"r{index}"),))
    assert seen == ["r0", "r1", "r2"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: functools.partial(AsyncCounter().__call__),
        AsyncCounter,
        lambda: functools.partial(functools.partial(AsyncCounter())),
    ],
    ids=["partial-of-async-method", "async-callable-object", "nested-partials"],
)
def test_async_callables_are_recognised(engine: ModuleType, make: Callable[[], Any]) -> None:
    app = native(engine, allow_origin_func=make())
    assert acao(asgi_call(app, TENANT)) == TENANT.encode()
    with pytest.raises(TypeError, match=r"coroutine function: the WSGI middleware cannot await it"):
        wsgi(engine, allow_origin_func=make())


# -- construction -------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [native, wsgi], ids=["asgi", "wsgi"])
@pytest.mark.parametrize(
    "options,error,message",
    [
        ({"allow_origin_func": 5}, TypeError, r"^allow_origin_func must be callable .*got int \(5\)"),
        ({"allow_origin_func": "https://a.example"}, TypeError, r"^allow_origin_func must be callable"),
        (
            {"allow_origin_func": Counter(), "allow_origin_func_ttl": -1},
            ValueError,
            r"^allow_origin_func_ttl must be >= 0",
        ),
        (
            {"allow_origin_func": Counter(), "allow_origin_func_ttl": float("nan")},
            ValueError,
            r"^allow_origin_func_ttl must be >= 0",
        ),
        (
            {"allow_origin_func": Counter(), "allow_origin_func_ttl": "60"},
            TypeError,
            r"^allow_origin_func_ttl must be a number",
        ),
        (
            {"allow_origin_func": Counter(), "allow_origin_func_ttl": True},
            TypeError,
            r"^allow_origin_func_ttl must be a number",
        ),
        (
            {"allow_origin_func": Counter(), "allow_origin_func_ttl": None},
            TypeError,
            r"^allow_origin_func_ttl must be a number",
        ),
        (
            {"allow_origin_func": Counter(), "allow_origins": ["https://a.example", "*"]},
            ValueError,
            r"^allow_origin_func is never asked when allow_origins holds '\*'",
        ),
    ],
)
def test_construction_errors(
    engine: ModuleType, factory: Callable[..., Any], options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        factory(engine, **options)


def test_async_function_on_wsgi_is_a_type_error(engine: ModuleType) -> None:
    async def tenant_origin(origin: str) -> bool:
        return True

    with pytest.raises(TypeError, match=r"^allow_origin_func .* is a coroutine function: the WSGI middleware"):
        wsgi(engine, allow_origin_func=tenant_origin)


@pytest.mark.parametrize("factory", [native, wsgi], ids=["asgi", "wsgi"])
def test_dead_ttl_warns(engine: ModuleType, factory: Callable[..., Any]) -> None:
    with pytest.warns(CORSConfigWarning, match="allow_origin_func_ttl has no effect without allow_origin_func"):
        factory(engine, allow_origin_func_ttl=5)
    with pytest.raises(ValueError, match="allow_origin_func_ttl has no effect with cache_size=0"):
        factory(engine, allow_origin_func=Counter(), allow_origin_func_ttl=5, cache_size=0, strict=True)


@pytest.mark.parametrize("ttl", [0, 0.0, 1, 2.5, float("inf"), 10**400])
def test_good_ttls(engine: ModuleType, ttl: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app = native(engine, allow_origin_func=Counter(), allow_origin_func_ttl=ttl)
    asgi_call(app, TENANT)
    asgi_call(app, TENANT)
    assert len(app.policy.options.origin_func.calls) == (2 if ttl == 0 else 1)


def test_defaults_leave_everything_as_it_was(engine: ModuleType) -> None:
    options = native(engine).policy.options
    assert (options.origin_func, options.origin_func_async, options.origin_func_ttl) == (None, False, 0.0)


# -- parity of the engines -----------------------------------------------------------------------

ORIGINS = st.one_of(
    st.sampled_from([TENANT, STRANGER, RULE_ORIGIN, "", "null", "https://a.example\r\n"]),
    st.builds(
        lambda label, tld: f"https://{label}.{tld}",
        st.sampled_from(["t1", "t2", "x", "a-b"]),
        st.sampled_from(["tenant.example", "example.com"]),
    ),
)


@pytest.mark.c_extension
@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(st.tuples(ORIGINS, st.floats(0, 20), st.booleans()), min_size=1, max_size=30),
    ttl=st.sampled_from([0.0, 5.0, 10.0]),
    cache_size=st.sampled_from([0, 2, 64]),
)
def test_engines_agree(steps: list[tuple[str, float, bool]], ttl: float, cache_size: int) -> None:
    """The same requests against the same function on both engines: the same calls, answers,
    log records and cache statistics, step by step (the clock moves, the function fails)."""
    from corsfast import _engine_c, _engine_py

    runs = []
    failing: set[str] = set()

    def result(origin: str) -> bool:
        if origin in failing:
            raise Boom(origin)
        return origin.startswith("https://t") or origin.endswith(".tenant.example")

    for engine in (_engine_c, _engine_py):
        func = Counter(result=result)
        clock = Clock()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CORSConfigWarning)
            app = native(engine, allow_origin_func=func, allow_origin_func_ttl=ttl, cache_size=cache_size)
        app.policy._clock = clock
        answers = []
        logger = logging.getLogger("corsfast")
        disabled = logger.disabled
        logger.disabled = True
        try:
            for origin, advance, fails in steps:
                clock.now += advance
                failing.clear()
                if fails:
                    failing.add(origin)
                answers.append((asgi_messages(app, "GET", headers_for(origin)), tuple(app.cache_info())))
        finally:
            logger.disabled = disabled
        runs.append((answers, func.calls))
    assert runs[0] == runs[1]


# -- the bench table ------------------------------------------------------------------------------


def test_bench_table_rows_answer_as_the_rule() -> None:
    """`corsfast bench --suite dynamic-origins`: every row's answers are checked, and each
    function row answers exactly as the row listing the origin as a rule (twin check)."""
    from corsfast.bench import Selection, measure
    from corsfast.bench.suites import dynamic_origins

    suite = dynamic_origins.SUITE
    contenders, _ = suite.available_contenders()
    raw = measure([Selection(suite, list(suite.scenarios), contenders)], rounds=1, sample_ms=0.05)[suite.id]
    assert raw["failures"] == []
    checked = {key[1] for key in raw["entries"]}
    engines = ["py"] if corsfast.NO_EXTENSIONS else ["c", "py"]
    for engine_name in engines:
        for key, *_ in dynamic_origins.FUNCTIONS:
            assert f"corsfast-{engine_name}+{key}" in checked
    assert {"starlette+verdict", "bare"} <= checked
    assert len(raw["entries"]) == len(suite.scenarios) * len(checked)


# -- a real server --------------------------------------------------------------------------------


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not shut down"


@pytest.mark.server
def test_uvicorn_with_an_async_function(engine: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    """Concurrent requests through uvicorn, an async function that really waits, one that
    raises: every request is answered, with the right CORS headers, and the error is logged."""
    import httpx

    async def tenant_origin(origin: str) -> bool:
        await asyncio.sleep(0.01)  # a database round trip
        if origin == "https://broken.tenant.example":
            raise Boom(origin)
        return origin.endswith(".tenant.example")

    caplog.set_level(logging.ERROR, logger="corsfast")
    app = native(engine, RecordingApp(), allow_origin_func=tenant_origin)
    origins = [f"https://t{i}.tenant.example" for i in range(6)] + [STRANGER, "https://broken.tenant.example"]

    async def client_run(base_url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=10) as client:
            simple = [client.get("/", headers={"Origin": origin}) for origin in origins]
            preflights = [
                client.options("/", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"})
                for origin in origins
            ]
            return list(await asyncio.gather(*simple, *preflights))

    with serve(app) as base_url:
        responses = asyncio.run(client_run(base_url))
    for response, origin in zip(responses, origins * 2):
        assert response.status_code == 200, origin
        allowed = origin.endswith(".tenant.example") and "broken" not in origin
        assert response.headers.get("access-control-allow-origin") == (origin if allowed else None), origin
        assert "Origin" in response.headers["vary"]
    records = [r for r in caplog.records if r.name == "corsfast"]
    assert len(records) == 2 and all("broken.tenant.example" in r.getMessage() for r in records)
