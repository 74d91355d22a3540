"""What the native ASGI and WSGI middlewares, the Starlette drop-in and the Kui drop-ins count
of their decisions (`stats()`), on both engines.

Every counted reason is checked against what a browser concludes from the answer the
middleware actually sent (`corsfast._observe.browser.browser_reason`, which reads only the
response), so the counts are proven by the bytes on the wire, not by the engine's own word.
The reasons a browser cannot see (the origin was refused by `allow_origin_func`, or it raised)
are checked by their own tests.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
import tracemalloc
import warnings
from types import ModuleType
from typing import Any, Optional

import pytest
from cases import http_scope, wsgi_environ
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast._options
import corsfast.kui.asgi
import corsfast.kui.wsgi
import corsfast.starlette
import corsfast.wsgi
from corsfast import CORSConfigWarning, CORSStats
from corsfast._observe.browser import browser_reason
from corsfast._observe.reasons import FUNC_ERROR, FUNC_REFUSED, KINDS, ORIGIN_NOT_ALLOWED, REASON_IDS

Header = tuple[bytes, bytes]
Answer = tuple[int, list[Header], bytes]

pytestmark = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")

ALLOWED_ORIGIN = b"https://a.test"
ORIGINS: list[Optional[bytes]] = [
    None,
    ALLOWED_ORIGIN,
    b"https://x.b.test",
    b"https://c.test",
    b"null",
    b"https://a.test\r\nX-Forged: 1",
    b"https://a.test\x1b[31m",
    b"https://" + b"a" * 3000 + b".test",
    b"https://x.f.test",
    b"https://boom.f.test",
]
PREFLIGHTS: list[Optional[tuple[bytes, Optional[bytes], Optional[bytes]]]] = [
    None,  # a simple GET
    (b"PUT", None, None),
    (b"GET", b"x-a", None),
    (b"DELETE", b"x-b", None),
    (b"PATCH", b"x-a, content-type", None),
    (b"GET", None, b"true"),
    (b"PUT", b"x-a", b"true"),
    (b"PUT", b"Authorization", None),  # a "*" a browser reads as a wildcard leaves it out
]


def decide(origin: str) -> bool:
    """An allow_origin_func: *.f.test, except boom.f.test, on which it raises."""
    if origin.startswith("https://boom."):
        raise RuntimeError("the origin service is down")
    return origin.endswith(".f.test")


NATIVE_CONFIGS: dict[str, dict[str, Any]] = {
    "list": {"allow_origins": ["https://a.test"], "allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]},
    "wildcard-credentials": {
        "allow_origins": ["https://a.test", "https://*.b.test"],
        "allow_methods": ["*"],
        "allow_headers": ["*"],
        "allow_credentials": True,
        "allow_private_network": True,
    },
    "any": {"allow_origins": ["*"], "allow_headers": ["x-a"]},
    "func": {"allow_origins": [re.compile(r"https://a\.test")], "allow_origin_func": decide},
    "func-ttl": {"allow_origins": ["https://a.test"], "allow_origin_func": decide, "allow_origin_func_ttl": 30},
}


def request_headers(origin: Optional[bytes], preflight: Optional[tuple[bytes, Optional[bytes], Optional[bytes]]]):
    headers: list[Header] = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if preflight is not None:
        method, names, private_network = preflight
        headers.append((b"access-control-request-method", method))
        if names is not None:
            headers.append((b"access-control-request-headers", names))
        if private_network is not None:
            headers.append((b"access-control-request-private-network", private_network))
    return headers


# -- driving apps ------------------------------------------------------------------------


async def plain_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def plain_wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


_LOOP = asyncio.new_event_loop()


def asgi_answer(app: Any, method: str, headers: list[Header]) -> Answer:
    scope = http_scope(method, headers)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _LOOP.run_until_complete(app(scope, receive, send))
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], [(bytes(k).lower(), bytes(v)) for k, v in start["headers"]], body


def wsgi_answer(app: Any, method: str, headers: list[Header]) -> Answer:
    environ = wsgi_environ(method, [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers])
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, response_headers]
        return lambda data: None

    body = b"".join(app(environ, start_response))
    status, response_headers = started
    return int(status.split()[0]), [(k.lower().encode(), v.encode("latin-1")) for k, v in response_headers], body


def counts_of(stats: CORSStats) -> dict[tuple[str, str], int]:
    """Return a stats object's counts as {(kind, reason): n}, zeros left out."""
    return {
        (kind, reason): n
        for kind, table in (("simple", stats.simple), ("preflight", stats.preflight))
        for reason, n in table.items()
        if n
    }


def delta(before: CORSStats, after: CORSStats) -> dict[tuple[str, str], int]:
    old = counts_of(before)
    return {key: n - old.get(key, 0) for key, n in counts_of(after).items() if n != old.get(key, 0)}


def browser_saw(origin: Optional[bytes], preflight: Any, answer: Answer) -> str:
    method, names, private_network = preflight or (None, None, None)
    reason, _, _ = browser_reason(preflight is not None, origin, method, names, private_network, answer[0], answer[1])
    return REASON_IDS[reason]


def visible(reason: str) -> str:
    """Return the reason as a browser can tell it: allow_origin_func's refusals look like any."""
    return REASON_IDS[ORIGIN_NOT_ALLOWED] if reason in (REASON_IDS[FUNC_REFUSED], REASON_IDS[FUNC_ERROR]) else reason


def exchange(kind: str, middleware: Any, origin: Optional[bytes], preflight: Any) -> tuple[Answer, tuple[str, str]]:
    """Send one request; return the answer and the one (kind, reason) it was counted under."""
    before = middleware.stats()
    method = "OPTIONS" if preflight is not None else "GET"
    headers = request_headers(origin, preflight)
    answer = (asgi_answer if kind == "asgi" else wsgi_answer)(middleware, method, headers)
    counted = delta(before, middleware.stats())
    assert list(counted.values()) == [1], counted
    return answer, next(iter(counted))


def native(kind: str, engine: ModuleType, **options: Any) -> Any:
    if kind == "asgi":
        return corsfast.CORSMiddleware(plain_asgi_app, **options, _engine=engine)
    return corsfast.wsgi.CORSMiddleware(plain_wsgi_app, **options, _engine=engine)


# -- the native middlewares --------------------------------------------------------------


@pytest.mark.parametrize("config", list(NATIVE_CONFIGS))
@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_every_request_is_counted_once_for_the_reason_the_browser_sees(
    engine: ModuleType, kind: str, config: str
) -> None:
    middleware = native(kind, engine, **NATIVE_CONFIGS[config])
    for origin in ORIGINS:
        for preflight in PREFLIGHTS:
            answer, (counted_kind, reason) = exchange(kind, middleware, origin, preflight)
            expected_kind = "preflight" if preflight is not None and origin is not None else "simple"
            assert counted_kind == expected_kind, (origin, preflight)
            assert visible(reason) == browser_saw(origin, preflight if origin else None, answer), (origin, preflight)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_reasons_the_browser_cannot_tell_apart(engine: ModuleType, kind: str, caplog: Any) -> None:
    middleware = native(kind, engine, **NATIVE_CONFIGS["func"])
    expected = {
        b"https://x.f.test": "allowed",
        b"https://c.test": "func_refused",
        b"https://boom.f.test": "func_error",
        b"https://a.test\r\n": "origin_invalid",
        b"https://" + b"a" * 3000: "origin_invalid",
    }
    with caplog.at_level(logging.ERROR, logger="corsfast"):
        for origin, reason in expected.items():
            assert exchange(kind, middleware, origin, None)[1] == ("simple", reason)
            assert exchange(kind, middleware, origin, (b"GET", None, None))[1] == ("preflight", reason)


def test_stats_shape_and_registry(engine: ModuleType) -> None:
    gc.collect()  # middlewares of earlier tests, held in reference cycles until collected
    middleware = native("asgi", engine, allow_origins=["https://a.test"], name="api-edge")
    stats = middleware.stats()
    assert isinstance(stats, CORSStats)
    assert stats.name == "api-edge" and corsfast.stats()["api-edge"] == stats
    assert tuple(stats.simple) == REASON_IDS and tuple(stats.preflight) == REASON_IDS
    assert stats.top_refused == () and stats.report_only is None and stats.refused == 0
    with pytest.raises(TypeError):
        stats.simple["allowed"] = 1  # type: ignore[index]
    twin = native("wsgi", engine, allow_origins=["https://a.test"], name="api-edge")
    assert twin.stats().name == "api-edge-2"
    assert native("wsgi", engine, allow_origins=["https://a.test"]).stats().name.startswith("wsgi")
    del twin
    gc.collect()
    assert "api-edge-2" not in corsfast.stats()


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("name", "has space", ValueError),
        ("name", "", ValueError),
        ("name", 3, TypeError),
        ("log_interval", -1, ValueError),
        ("log_interval", "60", ValueError),
        ("top_refused_size", 0, ValueError),
        ("top_refused_size", 2.5, ValueError),
        ("report_only", ["https://a.test"], TypeError),
        ("report_only", {"allow_origin": ["https://a.test"]}, ValueError),
    ],
)
def test_bad_observation_options_fail_at_construction(engine: ModuleType, option: str, value: Any, error: type) -> None:
    for kind in ("asgi", "wsgi"):
        with pytest.raises(error):
            native(kind, engine, allow_origins=["https://a.test"], **{option: value})


def test_reset_stats_and_since(engine: ModuleType) -> None:
    middleware = native("wsgi", engine, allow_origins=["https://a.test"])
    exchange("wsgi", middleware, b"https://c.test", None)
    first = middleware.stats()
    assert first.simple["origin_not_allowed"] == 1 and first.top_refused == (("https://c.test", 1),)
    middleware.reset_stats()
    again = middleware.stats()
    assert counts_of(again) == {} and again.top_refused == () and again.since >= first.since


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_top_refused_stays_at_k_under_a_flood_of_unique_origins(engine: ModuleType, kind: str) -> None:
    middleware = native(kind, engine, allow_origins=["https://a.test"], top_refused_size=8, cache_size=64)
    heavy = b"https://heavy.test"
    tracemalloc.start()
    answer = asgi_answer if kind == "asgi" else wsgi_answer
    for n in range(20_000):
        # One origin in four: more than 1/k of all, so space-saving must keep it, counted.
        answer(middleware, "GET", [(b"origin", heavy if n % 4 == 0 else b"https://%d.flood.test" % n)])
        if n == 2_000:
            gc.collect()
            early, _ = tracemalloc.get_traced_memory()
    gc.collect()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = middleware.stats()
    assert len(stats.top_refused) == 8
    assert stats.top_refused[0][0] == "https://heavy.test" and stats.top_refused[0][1] >= 5_000
    assert stats.simple["origin_not_allowed"] == 20_000
    assert late - early < 256 * 1024


def test_a_million_unique_refused_origins_keep_k_entries_and_flat_memory(engine: ModuleType) -> None:
    # The WSGI middleware's own path (the engine's wsgi_call), called directly: a million
    # requests, each from a new origin, every tenth from one origin.
    middleware = native("wsgi", engine, allow_origins=["https://a.test"], cache_size=256)

    def start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
        return None

    environ = {"REQUEST_METHOD": "GET", "HTTP_ORIGIN": ""}
    tracemalloc.start()
    for n in range(1_000_000):
        environ["HTTP_ORIGIN"] = "https://heavy.test" if n % 10 == 0 else f"https://{n}.flood.test"
        middleware(environ, start_response)
        if n == 10_000:
            gc.collect()
            early, _ = tracemalloc.get_traced_memory()
    gc.collect()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = middleware.stats()
    assert len(stats.top_refused) == 32
    assert stats.top_refused[0][0] == "https://heavy.test" and stats.top_refused[0][1] >= 100_000
    assert stats.simple["origin_not_allowed"] == 1_000_000
    assert late - early < 256 * 1024


HOSTILE = [
    b"https://a.test\r\n2026-12-06 INFO corsfast.refusals CORS refused allowed",
    b"https://a.test\x00",
    b"https://a.test\x1b[31mred\x1b[0m",
    b"https://a.test\\x0d",
    "https://a.test\u2028".encode(),
    b"https://\xff.test",
]


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_no_request_forges_a_log_line(engine: ModuleType, kind: str, caplog: Any) -> None:
    middleware = native(kind, engine, allow_origins=["https://a.test"], allow_headers=["x-a"])
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for origin in HOSTILE:
            for preflight in (None, (b"PUT\r\nX: 1", None, None), (b"GET", b"x-b\x1b[0m", None)):
                if kind == "wsgi" and preflight is not None and b"\r" in preflight[0]:
                    continue  # no WSGI server hands such a header to the app
                exchange(kind, middleware, origin, preflight)
                exchange(kind, middleware, ALLOWED_ORIGIN, preflight)
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert lines and all(line.isascii() and line.isprintable() for line in lines)
    assert any("origin_invalid" in line for line in lines) and any("header=x-b\\x1b[0m" in line for line in lines)


@pytest.mark.parametrize(
    ("names", "logged"),
    [
        (b"x-a, x-b, x-c", "x-b"),
        (b" X-A ,\tX-Long-Name-Refused\t, x-c", "X-Long-Name-Refused"),
        (b"x-a,,x-b", ""),  # an empty name is the first refused
        (b"x-a, " + b"y" * 300, "y" * 256),  # cut to 256 bytes
        (b"x-a, " + b"y" * 300 + b", x-c", "y" * 256),
        (b"x-A\x85, x-b", "x-b"),  # stripped as str.strip() strips a latin-1 value
    ],
)
def test_the_refused_header_logged_is_the_one_refused(
    engine: ModuleType, caplog: Any, names: bytes, logged: str
) -> None:
    middleware = native("wsgi", engine, allow_origins=["https://a.test"], allow_headers=["x-a", "x-c"])
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        exchange("wsgi", middleware, ALLOWED_ORIGIN, (b"GET", names, None))
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert len(lines) == 1 and lines[0].startswith("CORS refused header_not_allowed")
    assert f" header={logged} (" in lines[0]


def test_the_refusal_log_is_rate_limited(engine: ModuleType, caplog: Any) -> None:
    middleware = native("wsgi", engine, allow_origins=["https://a.test"], log_interval=3600)
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for _ in range(50):
            exchange("wsgi", middleware, b"https://c.test", None)
        exchange("wsgi", middleware, b"https://d.test", None)
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert lines == [
        "CORS refused origin_not_allowed: origin=https://c.test (0 more since the last line)",
        "CORS refused origin_not_allowed: origin=https://d.test (0 more since the last line)",
    ]


# -- exact under threads and asyncio -------------------------------------------------------


def test_counts_are_exact_under_8_threads(engine: ModuleType) -> None:
    middleware = native("wsgi", engine, allow_origins=["https://a.test"], allow_headers=["x-a"])
    plan = [(ALLOWED_ORIGIN, None), (b"https://c.test", None), (None, None), (ALLOWED_ORIGIN, (b"GET", b"x-b", None))]
    rounds = 500
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                for origin, preflight in plan:
                    method = "OPTIONS" if preflight else "GET"
                    wsgi_answer(middleware, method, request_headers(origin, preflight))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    n = 8 * rounds
    assert counts_of(middleware.stats()) == {
        ("simple", "allowed"): n,
        ("simple", "origin_not_allowed"): n,
        ("simple", "no_origin"): n,
        ("preflight", "header_not_allowed"): n,
    }


def test_refused_origins_are_exact_under_threads_sharing_a_small_cache(engine: ModuleType) -> None:
    # One policy shared by 8 threads (as the Starlette and Kui drop-ins share theirs), its
    # cache of 4 cleared all the time: a refusal counted on an entry while another thread
    # clears the cache (folding the entry's count) must land in the top refused all the same.
    policy = engine.CORSPolicy(
        corsfast._options.native_options(("https://a.test",), ("GET",), (), (), False, 600, False, 4, 4096, False)
    )
    refused = engine.RefusedOrigins(64, 256, logging.getLogger("corsfast.tests.off"), print)
    policy.observe(engine.DecisionCounts(), refused)
    origins = [b"https://%d.test" % n for n in range(16)]
    rounds = 2_000
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            barrier.wait()
            for n in range(rounds):
                origin = origins[(n + thread) % len(origins)]
                policy.note_simple(policy.lookup(origin), origin)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    totals: dict[bytes, int] = {}
    for origin, n in [*refused.items(), *policy.pending_refusals()]:
        totals[origin] = totals.get(origin, 0) + n
    assert totals == {origin: 8 * rounds // len(origins) for origin in origins}
    assert policy.counts.counts()[0][ORIGIN_NOT_ALLOWED] == 8 * rounds


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_refusals_of_an_expired_verdict_stay_counted(engine: ModuleType, kind: str) -> None:
    # allow_origin_func refuses with a ttl: each expiry replaces the origin's cache entry,
    # and the refusals counted on the entry it replaces are kept in the top refused.
    middleware = native(kind, engine, allow_origin_func=lambda origin: False, allow_origin_func_ttl=10)
    now = [0.0]
    middleware.policy._clock = lambda: now[0]
    answer = asgi_answer if kind == "asgi" else wsgi_answer
    for _ in range(3):
        for _ in range(5):
            answer(middleware, "GET", request_headers(b"https://c.test", None))
        now[0] += 11
    stats = middleware.stats()
    assert stats.top_refused == (("https://c.test", 15),)
    assert counts_of(stats) == {("simple", "func_refused"): 15}


def test_counts_are_exact_under_asyncio(engine: ModuleType) -> None:
    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        await plain_asgi_app(scope, receive, send)

    async def func(origin: str) -> bool:
        await asyncio.sleep(0)
        return origin.endswith(".f.test")

    middleware = corsfast.CORSMiddleware(
        slow_app, allow_origins=["https://a.test"], allow_origin_func=func, _engine=engine
    )

    async def one(origin: bytes, method: str, extra: list[Header]) -> None:
        scope = {"type": "http", "method": method, "path": "/", "headers": [(b"origin", origin), *extra]}
        done: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            done.append(message)

        await middleware(scope, receive, send)

    async def main() -> None:
        jobs = []
        for n in range(2_000):
            origin = [ALLOWED_ORIGIN, b"https://x.f.test", b"https://c.test", b"https://%d.f.test" % n][n % 4]
            extra = [(b"access-control-request-method", b"GET")] if n % 3 == 0 else []
            jobs.append(one(origin, "OPTIONS" if extra else "GET", extra))
        await asyncio.gather(*jobs)

    asyncio.run(main())
    stats = middleware.stats()
    total = sum(stats.simple.values()) + sum(stats.preflight.values())
    assert total == 2_000
    assert stats.simple["func_refused"] + stats.preflight["func_refused"] == 500
    assert stats.simple["allowed"] + stats.preflight["allowed"] == 1_500


# -- report-only -----------------------------------------------------------------------------


def test_report_only_counts_what_the_tighter_policy_would_change(engine: ModuleType, caplog: Any) -> None:
    for kind in ("asgi", "wsgi"):
        middleware = native(
            kind,
            engine,
            allow_origins=["*"],
            allow_headers=["x-a"],
            report_only={"allow_origins": ["https://a.test"]},
        )
        with caplog.at_level(logging.INFO, logger="corsfast.report_only"):
            for origin in (ALLOWED_ORIGIN, b"https://c.test", b"https://c.test", b"https://d.test"):
                exchange(kind, middleware, origin, None)
            exchange(kind, middleware, b"https://c.test", (b"GET", b"x-a", None))
            exchange(kind, middleware, ALLOWED_ORIGIN, (b"GET", b"x-b", None))  # both refuse the header
        report = middleware.stats().report_only
        assert report == corsfast.ReportOnlyStats(4, 0, (("https://c.test", 3), ("https://d.test", 1)))
        lines = [r.getMessage() for r in caplog.records if r.name == "corsfast.report_only"]
        assert "CORS report-only origin_not_allowed: origin=https://c.test verdict=would_refuse" in lines[0]
        caplog.clear()


def test_report_only_counts_what_a_looser_policy_would_allow(engine: ModuleType) -> None:
    middleware = native(
        "wsgi", engine, allow_origins=["https://a.test"], report_only={"allow_origins": ["https://*.b.test"]}
    )
    exchange("wsgi", middleware, b"https://x.b.test", None)
    exchange("wsgi", middleware, ALLOWED_ORIGIN, None)
    assert middleware.stats().report_only == corsfast.ReportOnlyStats(
        1, 1, (("https://x.b.test", 1), ("https://a.test", 1))
    )


def test_report_only_refuses_an_async_func_it_cannot_await(engine: ModuleType) -> None:
    async def func(origin: str) -> bool:
        return True

    with pytest.raises(TypeError, match="give report_only an allow_origin_func of its own"):
        native("asgi", engine, allow_origin_func=func, report_only={"allow_origins": ["https://a.test"]})
    middleware = native("asgi", engine, allow_origin_func=func, report_only={"allow_origin_func": None})
    assert middleware.report_policy is not None


NATIVE_OPTION_VALUES = {
    "allow_origins": st.lists(
        st.sampled_from(["https://a.test", "https://*.b.test", "*", "https://c.test", "http://localhost:*"]),
        max_size=3,
    ),
    "allow_methods": st.lists(st.sampled_from(["GET", "PUT", "DELETE", "*"]), max_size=3),
    "allow_headers": st.lists(st.sampled_from(["X-A", "content-type", "*"]), max_size=2),
    "allow_credentials": st.booleans(),
    "allow_private_network": st.booleans(),
}


@st.composite
def native_options(draw: st.DrawFn) -> dict[str, Any]:
    return {name: draw(values) for name, values in NATIVE_OPTION_VALUES.items() if draw(st.booleans())}


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    enforced=native_options(),
    report=native_options(),
    requests=st.lists(
        st.tuples(
            st.sampled_from([o for o in ORIGINS if o is None or len(o) < 100] + [b"http://localhost:8000"]),
            st.sampled_from(PREFLIGHTS),
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_report_only_never_changes_a_byte(
    engine: ModuleType, enforced: dict[str, Any], report: dict[str, Any], requests: list[Any]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        for kind in ("asgi", "wsgi"):
            plain = native(kind, engine, **enforced)
            reporting = native(kind, engine, **enforced, report_only=report)
            checker = native(kind, engine, **{**enforced, **report})
            would_refuse = would_allow = 0
            for origin, preflight in requests:
                method = "OPTIONS" if preflight is not None else "GET"
                headers = request_headers(origin, preflight)
                send = asgi_answer if kind == "asgi" else wsgi_answer
                answer = send(reporting, method, headers)
                assert answer == send(plain, method, headers)
                if origin is not None:
                    enforced_ok = browser_saw(origin, preflight, answer) == "allowed"
                    report_ok = browser_saw(origin, preflight, send(checker, method, headers)) == "allowed"
                    would_refuse += enforced_ok and not report_ok
                    would_allow += report_ok and not enforced_ok
            stats = reporting.stats().report_only
            assert stats is not None and (stats.would_refuse, stats.would_allow) == (would_refuse, would_allow)


# -- Starlette ---------------------------------------------------------------------------------


STARLETTE_CONFIGS: dict[str, dict[str, Any]] = {
    "list": {"allow_origins": ["https://a.test"], "allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]},
    "regex-credentials": {
        "allow_origins": ["https://a.test"],
        "allow_origin_regex": r"https://.*\.b\.test",
        "allow_methods": ["*"],
        "allow_headers": ["*"],
        "allow_credentials": True,
    },
    "any": {"allow_origins": ["*"], "allow_methods": ["GET"]},
}


class SendOverride(corsfast.starlette.CORSMiddleware):
    """A subclass whose `send` runs Starlette's protocol (counted from its answers)."""

    async def send(self, message: Any, send: Any, request_headers: Any) -> None:
        # The base method by name: a zero-argument super() fails on the class rebuilt per engine.
        await corsfast.starlette.CORSMiddleware.send(self, message, send, request_headers)


class VerdictOverride(corsfast.starlette.CORSMiddleware):
    """A subclass deciding origins itself (the engine asks it)."""

    def is_allowed_origin(self, origin: str) -> bool:
        return origin.endswith(".b.test") or corsfast.starlette.CORSMiddleware.is_allowed_origin(self, origin)


@pytest.mark.parametrize("config", list(STARLETTE_CONFIGS))
@pytest.mark.parametrize("cls", [corsfast.starlette.CORSMiddleware, SendOverride, VerdictOverride])
def test_starlette_counts_the_reason_the_browser_sees(engine: ModuleType, cls: type, config: str) -> None:
    if engine.__name__.endswith("_engine_py"):
        cls = corsfast.asgi._on_engine(cls, engine)
    middleware = cls(plain_asgi_app, **STARLETTE_CONFIGS[config])
    assert middleware.stats().name.startswith("starlette")
    for origin in ORIGINS[:8]:
        for preflight in PREFLIGHTS[:5]:
            answer, (counted_kind, reason) = exchange("asgi", middleware, origin, preflight)
            is_preflight = preflight is not None and origin is not None
            assert counted_kind == ("preflight" if is_preflight else "simple")
            assert reason == browser_saw(origin, preflight if origin else None, answer), (origin, preflight, answer)


def test_starlette_counts_survive_a_changed_attribute(engine: ModuleType) -> None:
    gc.collect()  # middlewares of earlier tests, held in reference cycles until collected
    cls = corsfast.asgi._on_engine(corsfast.starlette.CORSMiddleware, engine)
    middleware = cls(plain_asgi_app, allow_origins=["https://a.test"], name="site")
    exchange("asgi", middleware, b"https://c.test", None)
    middleware.allow_origins = ["https://c.test"]  # recompiled on the next request
    exchange("asgi", middleware, b"https://c.test", None)
    stats = middleware.stats()
    assert stats.name == "site" and counts_of(stats) == {("simple", "origin_not_allowed"): 1, ("simple", "allowed"): 1}


# -- Kui ----------------------------------------------------------------------------------------


def kui_app(side: str, engine: ModuleType, **options: Any) -> tuple[Any, Any]:
    module = corsfast.kui.asgi if side == "asgi" else corsfast.kui.wsgi
    framework = __import__(f"kui.{side}", fromlist=["Kui"])
    cors = module.allow_cors(**options, _engine=engine)

    def endpoint() -> str:
        return "ok"

    if side == "asgi":

        async def view() -> str:
            return endpoint()

        route = framework.HttpRoute("/", view, name="root")
    else:
        route = framework.HttpRoute("/", endpoint, name="root")
    return framework.Kui(routes=[route @ cors]), cors


KUI_CONFIGS: dict[str, dict[str, Any]] = {
    "lists": {"allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]},
    # Kui writes "*" itself: a wildcard to a browser without credentials (Authorization aside),
    # a name like any other with them.
    "wildcards": {"allow_methods": ["*"], "allow_headers": ["*"]},
    "wildcards-credentials": {"allow_methods": ["*"], "allow_headers": ["*"], "allow_credentials": True},
}


@pytest.mark.parametrize("config", list(KUI_CONFIGS))
@pytest.mark.parametrize("side", ["asgi", "wsgi"])
def test_kui_counts_the_reason_the_browser_sees(engine: ModuleType, side: str, config: str) -> None:
    gc.collect()  # decorators of earlier tests, held in reference cycles until collected
    app, cors = kui_app(
        side,
        engine,
        allow_origins=[re.compile(r"https://a\.test"), re.compile(r"https://.*\.b\.test")],
        **KUI_CONFIGS[config],
        name="kui-site",
    )
    assert cors.stats().name == "kui-site" and "kui-site" in corsfast.stats()
    for origin in ORIGINS[:8]:
        for preflight in PREFLIGHTS:
            before = cors.stats()
            method = "OPTIONS" if preflight is not None else "GET"
            answer = (asgi_answer if side == "asgi" else wsgi_answer)(app, method, request_headers(origin, preflight))
            counted = delta(before, cors.stats())
            assert list(counted.values()) == [1], (origin, preflight, counted)
            ((counted_kind, reason),) = counted
            # Kui tells a preflight by OPTIONS and an Origin (Access-Control-Request-Method or not).
            assert counted_kind == ("preflight" if origin and preflight is not None else "simple")
            assert reason == browser_saw(origin, preflight if origin else None, answer), (origin, preflight)
    cors.reset_stats()
    assert counts_of(cors.stats()) == {}


def test_every_kind_and_reason_is_a_key() -> None:
    assert KINDS == ("simple", "preflight") and len(REASON_IDS) == 9


def test_stats_of_a_middleware_answering_nothing_yet(engine: ModuleType) -> None:
    middleware = native("asgi", engine, allow_origins=["https://a.test"])
    stats = middleware.stats()
    assert all(n == 0 for n in (*stats.simple.values(), *stats.preflight.values()))


# -- the same reasons as `corsfast check` ----------------------------------------------------

CHECK_APPS = """
from corsfast import CORSMiddleware
from corsfast.starlette import CORSMiddleware as StarletteCORSMiddleware
from corsfast.wsgi import CORSMiddleware as WSGICORSMiddleware


async def asgi_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


OPTIONS = {"allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "PUT"], "allow_headers": ["X-A"]}
native = CORSMiddleware(asgi_app, **OPTIONS, name="check-native")
wsgi = WSGICORSMiddleware(wsgi_app, **OPTIONS, name="check-wsgi")
starlette = StarletteCORSMiddleware(asgi_app, **OPTIONS, name="check-starlette")
"""

CHECK_REQUESTS = [
    ("https://app.example.com", "GET", []),
    ("https://evil.example", "GET", []),
    ("https://app.example.com", "PUT", []),
    ("https://app.example.com", "DELETE", []),
    ("https://app.example.com", "PUT", ["-H", "X-B: 1"]),
    ("https://evil.example", "PUT", ["-H", "X-A: 1"]),
]


@pytest.mark.parametrize("app", ["native", "wsgi", "starlette"])
def test_stats_name_the_reason_corsfast_check_names(
    app: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib
    import json

    from corsfast.cli import main

    (tmp_path / "stats_check_apps.py").write_text(CHECK_APPS)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("stats_check_apps")
    middleware = getattr(module, app)
    for origin, method, extra in CHECK_REQUESTS:
        middleware.reset_stats()
        main(
            ["check", f"stats_check_apps:{app}", "--origin", origin, "--method", method, "--no-probe", "--json", *extra]
        )
        report = json.loads(capsys.readouterr().out)
        stats = middleware.stats()
        # The request a browser stops at is the one counted for the reason check names.
        refusals = {
            reason
            for kind in (stats.simple, stats.preflight)
            for reason, n in kind.items()
            if n and reason != "allowed"
        }
        assert refusals == ({report["reason"]} if report["reason"] != "allowed" else set()), (origin, method, extra)
