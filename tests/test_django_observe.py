"""What `corsfast.django`'s middleware observes of its decisions, on both engines.

Every request CORS applies to is counted once, by kind and by the reason a browser concludes
from the answer; each expected reason in the table below is also checked against the Fetch
standard's checks (`corsfast.check.fetch`) run on the very answer. The engine's path and the
methods' path (a subclass overriding one of django-cors-headers' methods) count alike.
Then: exact counts under threads and asyncio, the bounded top-K under a flood, log lines
that no Origin can forge, `corsfast.stats()`, the settings and their system checks, and the
report-only policy (byte-identical answers, counted differences).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import tracemalloc
from types import ModuleType
from typing import Any, Optional

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.test.utils import override_settings
from django_site import CORSFAST, HOOKED, receiver, site
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
from corsfast._observe.reasons import REASON_IDS
from corsfast.check import fetch
from corsfast.django import checks as django_checks
from corsfast.django._compile import state_for
from corsfast.django._observe import answer_reason
from corsfast.django.middleware import CorsMiddleware, _on_engine

IMPLEMENTATIONS = [
    pytest.param(CORSFAST["c"], id="c", marks=pytest.mark.c_extension),
    pytest.param(CORSFAST["py"], id="py"),
    pytest.param(HOOKED["c"], id="c-hooked", marks=pytest.mark.c_extension),
    pytest.param(HOOKED["py"], id="py-hooked"),
]
RF = RequestFactory()
A = "https://a.test"


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> str:
    """Each of corsfast's middlewares in turn (a dotted path for MIDDLEWARE)."""
    return request.param  # type: ignore[no-any-return]


def middleware_of(client: Client) -> Any:
    """Return the CORS middleware instance a test client's handler built (it is alone)."""
    client.get("/_engine/")  # the handler builds its middleware on its first request
    return client.handler._middleware_chain.__wrapped__


def zeros() -> dict[str, int]:
    return dict.fromkeys(REASON_IDS, 0)


# -- what a browser concludes, by the Fetch standard's checks ------------------------------

_METHOD_RULES = ("method-not-allowed", "method-wildcard-credentials", "allow-methods-invalid")
_HEADER_RULES = (
    "header-not-allowed",
    "header-wildcard-credentials",
    "header-authorization-wildcard",
    "allow-headers-invalid",
)


def browser_refusal(headers: dict[str, str], response: Any) -> Optional[str]:
    """Return what a browser refuses in `response` to a request with these headers: None
    (nothing), "origin", or a reason id for a preflight's method, headers or private network."""
    origin = headers["Origin"]
    answer = [(name, value) for name, value in response.items()]
    credentials = response.get("Access-Control-Allow-Credentials") == "true"
    method = headers.get("Access-Control-Request-Method")
    if method is None:
        return "origin" if fetch.cors_check(answer, origin, credentials) else None
    requested = [(name, "\x01") for name in headers.get("Access-Control-Request-Headers", "").split(",") if name]
    result = fetch.preflight_check(response.status_code, answer, origin, method, requested, credentials)
    for failure in result.failures:
        if failure.rule in _METHOD_RULES:
            return "method_not_allowed"
        if failure.rule in _HEADER_RULES:
            return "header_not_allowed"
        return "origin"
    if headers.get("Access-Control-Request-Private-Network") == "true":
        if response.get("Access-Control-Allow-Private-Network") != "true":
            return "private_network_not_allowed"
    return None


def browser_reason(headers: dict[str, str], response: Any, origin_reason: str) -> str:
    """Return the reason id a browser's conclusion gives (`origin_reason` for an origin refusal)."""
    refusal = browser_refusal(headers, response)
    return "allowed" if refusal is None else origin_reason if refusal == "origin" else refusal


# -- every reason, counted exactly ----------------------------------------------------------

TABLE_SETTINGS = {
    "CORS_URLS_REGEX": r"^/api/",
    "CORS_ALLOWED_ORIGINS": [A, "https://c.test"],
    "CORS_ALLOW_METHODS": ["GET", "PUT", "DELETE"],
    "CORS_ALLOW_HEADERS": ["content-type", "authorization"],
    "CORS_ALLOW_CREDENTIALS": True,
}


def preflight(origin: str, method: str = "PUT", **more: str) -> dict[str, str]:
    return {"Origin": origin, "Access-Control-Request-Method": method, **more}


TABLE: list[tuple[str, str, dict[str, str], Optional[tuple[str, str]]]] = [
    # (method, path, headers, (kind, reason) counted, or None: not counted)
    ("GET", "/api/plain/", {}, ("simple", "no_origin")),
    ("POST", "/api/plain/", {}, ("simple", "no_origin")),
    ("GET", "/api/plain/", {"Origin": A}, ("simple", "allowed")),
    ("OPTIONS", "/api/plain/", {"Origin": A}, ("simple", "allowed")),  # an OPTIONS but no preflight
    ("GET", "/api/plain/", {"Origin": "https://b.test"}, ("simple", "origin_not_allowed")),
    ("GET", "/api/plain/", {"Origin": "https://a.test]"}, ("simple", "origin_invalid")),  # urlsplit fails
    ("GET", "/api/plain/", {"Origin": A + "\x00"}, ("simple", "origin_invalid")),
    ("GET", "/api/plain/", {"Origin": "https://signal.test"}, ("simple", "allowed")),  # a receiver says yes
    ("GET", "/plain/", {"Origin": A}, None),  # outside CORS_URLS_REGEX
    ("OPTIONS", "/plain/", preflight(A), None),
    ("OPTIONS", "/api/plain/", {"Access-Control-Request-Method": "PUT"}, ("preflight", "no_origin")),
    ("OPTIONS", "/api/plain/", preflight(A), ("preflight", "allowed")),
    ("OPTIONS", "/api/plain/", preflight(A, "POST"), ("preflight", "allowed")),  # safelisted
    ("OPTIONS", "/api/plain/", preflight("https://signal.test"), ("preflight", "allowed")),
    ("OPTIONS", "/api/plain/", preflight(A, "PATCH"), ("preflight", "method_not_allowed")),
    ("OPTIONS", "/api/plain/", preflight(A, "put"), ("preflight", "method_not_allowed")),  # case-sensitive
    (
        "OPTIONS",
        "/api/plain/",
        preflight(A, **{"Access-Control-Request-Headers": "content-type,x-token"}),
        ("preflight", "header_not_allowed"),
    ),
    (
        "OPTIONS",
        "/api/plain/",
        preflight(A, **{"Access-Control-Request-Headers": "authorization,Content-Type"}),
        ("preflight", "allowed"),
    ),
    (
        "OPTIONS",
        "/api/plain/",
        preflight(A, **{"Access-Control-Request-Private-Network": "true"}),
        ("preflight", "private_network_not_allowed"),
    ),
    ("OPTIONS", "/api/plain/", preflight("https://b.test"), ("preflight", "origin_not_allowed")),
    ("OPTIONS", "/api/plain/", preflight("https://a.test]"), ("preflight", "origin_invalid")),
]


def signal_yes(sender: Any, request: Any, **kwargs: Any) -> bool:
    return request.headers.get("origin") in ("https://signal.test",)


def test_every_reason_is_counted_once_as_a_browser_concludes(impl: str) -> None:
    expected = {"simple": zeros(), "preflight": zeros()}
    gc.collect()  # the last test's middleware, which took the name
    with site(impl, CORSFAST_NAME="table", **TABLE_SETTINGS), receiver(signal_yes):
        client = Client()
        middleware = middleware_of(client)
        middleware.reset_stats()
        for method, path, headers, counted in TABLE:
            response = client.generic(method, path, headers=headers)
            if counted is not None:
                kind, reason = counted
                expected[kind][reason] += 1
                if "Origin" in headers:
                    origin_reason = reason if reason.startswith("origin_") else "origin_not_allowed"
                    assert browser_reason(headers, response, origin_reason) == reason, (method, headers)
            stats = middleware.stats()
            assert (dict(stats.simple), dict(stats.preflight)) == (expected["simple"], expected["preflight"]), (
                method,
                path,
                headers,
            )
        stats = middleware.stats()
        assert stats.name == "table" and stats.report_only is None
        assert stats.refused == 9
        assert dict(stats.top_refused) == {
            "https://a.test": 4,
            "https://b.test": 2,
            "https://a.test]": 2,
            "https://a.test\\x00": 1,
        }
        before = stats.since
        middleware.reset_stats()
        cleared = middleware.stats()
        assert dict(cleared.simple) == dict(cleared.preflight) == zeros()
        assert cleared.top_refused == () and cleared.since >= before


def test_async_requests_are_counted_alike(impl: str) -> None:
    async def run() -> Any:
        from django.test import AsyncClient

        client = AsyncClient()
        await client.get("/_engine/")
        middleware = client.handler._middleware_chain.__wrapped__
        middleware.reset_stats()
        await client.get("/async/", headers={"Origin": A})
        await client.get("/async/", headers={"Origin": "https://b.test"})
        await client.options("/async/", headers=preflight(A, "PATCH"))
        return middleware.stats()

    with site(impl, **{**TABLE_SETTINGS, "CORS_URLS_REGEX": r"^/async/|^/_engine/"}):
        stats = asyncio.run(run())
    assert stats.simple["allowed"] == 1 and stats.simple["origin_not_allowed"] == 1
    assert stats.preflight["method_not_allowed"] == 1 and stats.refused == 2


def test_answer_reason_reads_the_answer() -> None:
    """The methods' path judges the finished answer: each rule of it, on made-up answers."""

    def answer(**headers: str) -> HttpResponse:
        response = HttpResponse()
        for name, value in headers.items():
            response[name.replace("_", "-")] = value
        return response

    origin = A
    assert answer_reason(origin, None, {}, answer(Access_Control_Allow_Origin=origin))[0] == 0
    assert answer_reason(origin, None, {}, answer(Access_Control_Allow_Origin="*"))[0] == 0
    # Read as a request without credentials (a browser's default across origins), as every
    # engine counts it: `*` allows it, whatever Access-Control-Allow-Credentials says.
    credentials_star = answer(Access_Control_Allow_Origin="*", Access_Control_Allow_Credentials="true")
    assert REASON_IDS[answer_reason(origin, None, {}, credentials_star)[0]] == "allowed"
    assert REASON_IDS[answer_reason("https://x\x7f", None, {}, answer())[0]] == "origin_invalid"
    allowed = {"Access_Control_Allow_Origin": origin}
    assert answer_reason(origin, "PUT", {}, answer(**allowed, Access_Control_Allow_Methods="GET")) == (
        4,
        "method",
        "PUT",
    )
    star = answer(**allowed, Access_Control_Allow_Methods="*", Access_Control_Allow_Headers="*")
    assert answer_reason(origin, "PUT", {"access-control-request-headers": "x-a"}, star)[0] == 0
    assert answer_reason(origin, "PUT", {"access-control-request-headers": "Authorization"}, star) == (
        5,
        "header",
        "Authorization",
    )
    bad_list = answer(**allowed, Access_Control_Allow_Methods="GET", Access_Control_Allow_Headers="a b")
    assert answer_reason(origin, "GET", {}, bad_list) == (5, None, None)
    private = {"access-control-request-private-network": "true"}
    assert REASON_IDS[answer_reason(origin, "GET", private, answer(**allowed))[0]] == "private_network_not_allowed"
    assert answer_reason(origin, "GET", private, answer(**allowed, Access_Control_Allow_Private_Network="true"))[0] == 0


@pytest.mark.parametrize(
    ("allow_methods", "allow_headers", "credentials"),
    [
        (["*"], ["*"], False),
        (["*"], ["*"], True),
        (["GET", "a b"], ["x-a"], False),  # a browser refuses the method list
        (["GET"], ["x-a", "b\u00e9"], False),  # ... and the header list
        ([], [], False),
    ],
)
def test_odd_lists_are_judged_as_a_browser_reads_them(
    impl: str, allow_methods: list[str], allow_headers: list[str], credentials: bool
) -> None:
    requests = [
        preflight(A, method, **({"Access-Control-Request-Headers": asked} if asked else {}))
        for method in ("GET", "PUT", "QUERY")
        for asked in ("", "x-a", "authorization", "x-a,x-b")
    ]
    with site(
        impl,
        CORS_ALLOWED_ORIGINS=[A],
        CORS_ALLOW_METHODS=allow_methods,
        CORS_ALLOW_HEADERS=allow_headers,
        CORS_ALLOW_CREDENTIALS=credentials,
    ):
        client = Client()
        middleware = middleware_of(client)
        for headers in requests:
            middleware.reset_stats()
            response = client.options("/plain/", headers=headers)
            counted = [reason for reason, n in middleware.stats().preflight.items() if n]
            assert counted == [browser_reason(headers, response, "origin_not_allowed")], headers


# -- threads, asyncio, floods -------------------------------------------------------------


def view(request: Any) -> HttpResponse:
    return HttpResponse("ok")


async def async_view(request: Any) -> HttpResponse:
    return HttpResponse("ok")


def mixed_request(n: int) -> Any:
    """Return the n-th of a cycle of four requests: allowed, refused, preflight, no Origin."""
    if n % 4 == 0:
        return RF.get("/", HTTP_ORIGIN=A)
    if n % 4 == 1:
        return RF.get("/", HTTP_ORIGIN=f"https://{n % 7}.refused.test")
    if n % 4 == 2:
        return RF.options("/", HTTP_ORIGIN=A, HTTP_ACCESS_CONTROL_REQUEST_METHOD="QUERY")
    return RF.get("/")


def middleware_class(engine: ModuleType, hooked: bool) -> type[CorsMiddleware]:
    base = _on_engine(engine)
    if not hooked:
        return base

    class Hooked(base):  # type: ignore[valid-type,misc]
        def is_enabled(self, request: Any) -> bool:
            return super().is_enabled(request)  # type: ignore[no-any-return]

    return Hooked


@pytest.mark.parametrize("hooked", [False, True], ids=["engine", "methods"])
def test_counts_are_exact_under_8_threads(engine: ModuleType, hooked: bool) -> None:
    per_thread = 2000
    with override_settings(CORS_ALLOWED_ORIGINS=[A]):
        middleware = middleware_class(engine, hooked)(view)
        barrier = threading.Barrier(8)

        def work() -> None:
            requests = [mixed_request(n) for n in range(per_thread)]
            barrier.wait()
            for request in requests:
                middleware(request)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = middleware.stats()
    quarter = 8 * per_thread // 4
    assert stats.simple == {**zeros(), "allowed": quarter, "origin_not_allowed": quarter, "no_origin": quarter}
    assert stats.preflight == {**zeros(), "method_not_allowed": quarter}
    assert sum(n for _, n in stats.top_refused) == 2 * quarter


@pytest.mark.parametrize("hooked", [False, True], ids=["engine", "methods"])
def test_counts_are_exact_under_asyncio(engine: ModuleType, hooked: bool) -> None:
    total = 2000

    async def run(middleware: Any) -> None:
        await asyncio.gather(*(middleware(mixed_request(n)) for n in range(total)))

    with override_settings(CORS_ALLOWED_ORIGINS=[A]):
        middleware = middleware_class(engine, hooked)(async_view)
        assert middleware.async_mode
        asyncio.run(run(middleware))
        stats = middleware.stats()
    quarter = total // 4
    assert stats.simple == {**zeros(), "allowed": quarter, "origin_not_allowed": quarter, "no_origin": quarter}
    assert stats.preflight == {**zeros(), "method_not_allowed": quarter}


class _Request:
    """The parts of a request the engine reads: a flood costs no Django request per origin."""

    def __init__(self) -> None:
        self.META: dict[str, str] = {}
        self._cors_enabled = True
        self.method = "GET"
        self.path_info = "/"


def test_a_million_unique_refused_origins_keep_top_refused_at_k(engine: ModuleType) -> None:
    """A flood through the engine's policy (20,000 origins, each judged and noted as a request
    would be), then a million more noted where the policy notes them: K kept, memory flat."""
    with override_settings(CORS_ALLOWED_ORIGINS=[A], CORSFAST_TOP_REFUSED_SIZE=16):
        middleware = _on_engine(engine)(view)
        policy = state_for(engine).policy
        request = _Request()
        response = HttpResponse()
        counts, refused = middleware._corsfast_counts, middleware._corsfast_refused
        for n in range(20_000):
            request.META["HTTP_ORIGIN"] = f"https://{n}.flood.test"
            policy.answer(request, response, counts, refused, None)
        tracemalloc.start()
        for n in range(1_000_000):
            refused.note(2, f"https://{n}.more.flood.test")
            if n == 10_000:
                early, _ = tracemalloc.get_traced_memory()
        late, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stats = middleware.stats()
    assert stats.simple["origin_not_allowed"] == 20_000
    assert len(stats.top_refused) == 16
    assert sum(n for _, n in stats.top_refused) == 1_020_000
    assert late - early < 64 * 1024


def test_a_flood_of_real_requests_keeps_top_refused_at_k(impl: str) -> None:
    with site(impl, CORS_ALLOWED_ORIGINS=[A], CORSFAST_TOP_REFUSED_SIZE=8):
        client = Client()
        middleware = middleware_of(client)
        for n in range(500):
            client.get("/plain/", headers={"Origin": f"https://{n}.flood.test"})
        stats = middleware.stats()
    assert stats.simple["origin_not_allowed"] == 500 and len(stats.top_refused) == 8


# -- logs -----------------------------------------------------------------------------------

HOSTILE = [
    "https://a.test\r\nINFO forged line",
    "https://a.test\nCORS refused allowed: origin=https://ok.test",
    "https://x.test\x00",
    "\x1b[31mhttps://red.test\x1b[0m",
    "https://a.test\u2028x",
]


def test_hostile_origins_never_reach_a_log_line_unescaped(impl: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="corsfast.refusals")
    with site(impl, CORS_ALLOWED_ORIGINS=[A], CORS_ALLOW_HEADERS=["x-a"], CORSFAST_LOG_INTERVAL=0):
        client = Client()
        for origin in HOSTILE:
            client.get("/plain/", headers={"Origin": origin})
        client.options("/plain/", headers=preflight(A, "PUT\x1b[2J"))
        client.options("/plain/", headers=preflight(A, **{"Access-Control-Request-Headers": "x-b\r\nforged"}))
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert len(lines) == len(HOSTILE) + 2
    for line in lines:
        assert line.isascii() and line.isprintable(), line
    assert "origin=https://a.test\\r\\nINFO forged line" in lines[0]
    assert "origin_invalid" in lines[0]
    assert lines[-2].startswith("CORS refused method_not_allowed") and "method=PUT\\x1b[2J" in lines[-2]
    assert lines[-1].startswith("CORS refused header_not_allowed") and "header=x-b\\r\\nforged" in lines[-1]


def test_the_refusal_log_is_rate_limited(impl: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="corsfast.refusals")
    with site(impl, CORS_ALLOWED_ORIGINS=[A]):
        client = Client()
        for _ in range(5):
            client.get("/plain/", headers={"Origin": "https://b.test"})
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert lines == ["CORS refused origin_not_allowed: origin=https://b.test (0 more since the last line)"]


# -- names, settings and their checks ---------------------------------------------------------


def test_corsfast_stats_names_the_middleware(engine: ModuleType) -> None:
    gc.collect()
    with override_settings(CORS_ALLOWED_ORIGINS=[A]):
        first = _on_engine(engine)(view)
        first(RF.get("/", HTTP_ORIGIN=A))
        assert corsfast.stats()["django"] == first.stats()
        with override_settings(CORSFAST_NAME="api"):
            second = _on_engine(engine)(view)
        second(RF.get("/", HTTP_ORIGIN="https://b.test"))
        everything = corsfast.stats()
        assert everything["api"].simple["origin_not_allowed"] == 1
        assert everything["django"].simple["allowed"] == 1
        del first, second
        gc.collect()
        assert "api" not in corsfast.stats()


def test_counts_survive_a_settings_change(engine: ModuleType) -> None:
    with override_settings(CORS_ALLOWED_ORIGINS=[A]):
        middleware = _on_engine(engine)(view)
        middleware(RF.get("/", HTTP_ORIGIN=A))
        with override_settings(CORS_ALLOWED_ORIGINS=["https://b.test"]):
            middleware(RF.get("/", HTTP_ORIGIN=A))
        stats = middleware.stats()
    assert stats.simple["allowed"] == 1 and stats.simple["origin_not_allowed"] == 1


@pytest.mark.parametrize(
    ("setting", "value", "error_id", "stops"),
    [
        ("CORSFAST_NAME", "no spaces", "corsfast.E001", True),
        ("CORSFAST_NAME", 3, "corsfast.E001", True),
        ("CORSFAST_LOG_INTERVAL", -1, "corsfast.E002", True),
        ("CORSFAST_LOG_INTERVAL", "60", "corsfast.E002", True),
        ("CORSFAST_TOP_REFUSED_SIZE", 0, "corsfast.E003", True),
        ("CORSFAST_TOP_REFUSED_SIZE", 3.0, "corsfast.E003", True),
        ("CORSFAST_REPORT_ONLY", ["CORS_ALLOWED_ORIGINS"], "corsfast.E004", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_URLS_REGEX": "^/api/"}, "corsfast.E005", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ORIGIN_WHITELIST": [A]}, "corsfast.E005", True),
        # A value django-cors-headers' checks refuse but its expressions still run on.
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOWED_ORIGINS": ["a.test"]}, "corsfast.E006", False),
        # Values the report-only policy cannot be compiled with.
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOWED_ORIGINS": "https://a.test"}, "corsfast.E006", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOWED_ORIGINS": ["https://a.test]"]}, "corsfast.E006", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOW_ALL_ORIGINS": 1}, "corsfast.E006", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOW_METHODS": [1]}, "corsfast.E006", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOWED_ORIGIN_REGEXES": ["("]}, "corsfast.E006", True),
        ("CORSFAST_REPORT_ONLY", {"CORS_ALLOW_HEADERS": ["x\r\ny"]}, "corsfast.E006", True),
    ],
)
def test_bad_settings_are_check_errors(
    engine: ModuleType, setting: str, value: Any, error_id: str, stops: bool
) -> None:
    """Each is an error of `manage.py check`; those the middleware cannot run with also stop
    it from being created (Django creates it at start-up)."""
    with override_settings(**{setting: value}):
        found = django_checks.check_corsfast_settings()
        assert found and {message.id for message in found} == {error_id}, found
        assert all(message.is_serious() for message in found)
        if stops:
            with pytest.raises(ImproperlyConfigured):
                _on_engine(engine)(view)
        else:
            _on_engine(engine)(view)(RF.get("/", HTTP_ORIGIN=A))


def test_good_settings_pass_the_checks() -> None:
    with override_settings(
        INSTALLED_APPS=["corsfast.django"],
        CORSFAST_NAME="api:v2",
        CORSFAST_LOG_INTERVAL=0.5,
        CORSFAST_TOP_REFUSED_SIZE=100,
        CORSFAST_REPORT_ONLY={"CORS_ALLOWED_ORIGINS": [A], "CORS_ALLOW_CREDENTIALS": False},
    ):
        assert django_checks.check_corsfast_settings() == []
        assert [m for m in run_checks(tags=["security"]) if m.id.startswith("corsfast.")] == []
    with override_settings(INSTALLED_APPS=["corsfast.django"], CORSFAST_NAME=""):
        assert [m.id for m in run_checks(tags=["security"]) if m.id.startswith("corsfast.")] == ["corsfast.E001"]


# -- report-only ------------------------------------------------------------------------------

B, C = "https://b.test", "https://c.test"


def test_report_only_counts_what_it_would_change(impl: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="corsfast.report_only")
    requests = [
        ("GET", {"Origin": A}),
        ("GET", {"Origin": B}),  # allowed, would be refused
        ("GET", {"Origin": C}),  # refused, would be allowed
        ("GET", {"Origin": "https://d.test"}),  # refused by both
        ("OPTIONS", preflight(A, "PUT")),  # allowed, its method would be refused
        ("OPTIONS", preflight(A, "GET")),
        ("GET", {}),
    ]
    enforced = {"CORS_ALLOWED_ORIGINS": [A, B]}
    report = {"CORS_ALLOWED_ORIGINS": [A, C], "CORS_ALLOW_METHODS": ["GET"]}
    seen = []
    for report_only in (None, report):
        with site(impl, CORSFAST_REPORT_ONLY=report_only, **enforced):
            client = Client()
            middleware = middleware_of(client)
            middleware.reset_stats()
            answers = [client.generic(method, "/plain/", headers=headers) for method, headers in requests]
            seen.append(([(a.status_code, list(a.items()), a.content) for a in answers], middleware.stats()))
            middleware.reset_stats()
            reset = None if report_only is None else corsfast.ReportOnlyStats(0, 0, ())
            assert middleware.stats().report_only == reset
    (plain_answers, plain_stats), (answers, stats) = seen
    assert answers == plain_answers
    assert (stats.simple, stats.preflight, stats.top_refused) == (
        plain_stats.simple,
        plain_stats.preflight,
        plain_stats.top_refused,
    )
    assert plain_stats.report_only is None
    assert stats.report_only == corsfast.ReportOnlyStats(
        would_refuse=2, would_allow=1, top_origins=((B, 1), (C, 1), (A, 1))
    )
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.report_only"]
    assert lines == [
        f"CORS report-only origin_not_allowed: origin={B} (0 more since the last line)",
        f"CORS report-only allowed: origin={C} (0 more since the last line)",
        f"CORS report-only method_not_allowed: origin={A} method=PUT (0 more since the last line)",
    ]


def test_report_only_reuses_the_signals_answer(engine: ModuleType) -> None:
    """The signal is asked as often as without report-only when the enforced policy asked it."""
    calls = []

    def handler(sender: Any, request: Any, **kwargs: Any) -> bool:
        calls.append(request)
        return True

    with (
        override_settings(CORS_ALLOWED_ORIGINS=[A], CORSFAST_REPORT_ONLY={"CORS_ALLOWED_ORIGINS": [B]}),
        receiver(handler),
    ):
        middleware = _on_engine(engine)(view)
        response = middleware(RF.get("/", HTTP_ORIGIN=C))  # both ask: the enforced answer is reused
        assert response["Access-Control-Allow-Origin"] == C and len(calls) == 1
        middleware(RF.get("/", HTTP_ORIGIN=A))  # only report-only asks, once
        assert len(calls) == 2
        assert middleware.stats().report_only == corsfast.ReportOnlyStats(0, 0, ())


ORIGINS = [A, B, C, "http://a.test", "https://a.test:8443", "null", "https://x.a.test", "https://a.test]", "x"]
CORS_SETTINGS = {
    "CORS_ALLOW_ALL_ORIGINS": st.booleans(),
    "CORS_ALLOWED_ORIGINS": st.lists(st.sampled_from([o for o in ORIGINS if o != "https://a.test]"]), max_size=3),
    "CORS_ALLOWED_ORIGIN_REGEXES": st.lists(st.sampled_from([r"https://.*\.a\.test", r"https://b\.test"]), max_size=2),
    "CORS_ALLOW_METHODS": st.lists(st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "*"]), max_size=3),
    "CORS_ALLOW_HEADERS": st.lists(st.sampled_from(["content-type", "x-a", "authorization", "*"]), max_size=3),
    "CORS_ALLOW_CREDENTIALS": st.booleans(),
    "CORS_ALLOW_PRIVATE_NETWORK": st.booleans(),
}


@st.composite
def cors_settings(draw: Any, keys: Any = None) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(sorted(CORS_SETTINGS)), unique=True)) if keys is None else keys
    return {name: draw(CORS_SETTINGS[name]) for name in names}


@st.composite
def cors_request(draw: Any) -> tuple[str, dict[str, str]]:
    headers: dict[str, str] = {}
    origin = draw(st.sampled_from([*ORIGINS, None]))
    if origin is not None:
        headers["Origin"] = origin
    method = draw(st.sampled_from(["GET", "OPTIONS"]))
    if method == "OPTIONS" and draw(st.booleans()):
        headers["Access-Control-Request-Method"] = draw(st.sampled_from(["GET", "PUT", "QUERY", "PATCH"]))
        asked = draw(st.sampled_from(["", "x-a", "content-type,x-b", "authorization", "Content-Type"]))
        if asked:
            headers["Access-Control-Request-Headers"] = asked
        if draw(st.booleans()):
            headers["Access-Control-Request-Private-Network"] = "true"
    return method, headers


def run_requests(impl: str, requests: list[tuple[str, dict[str, str]]], **chosen: Any) -> tuple[list[Any], list[Any]]:
    """Return each answer (status, headers, body) and whether it was counted as allowed, and
    the middleware's stats after all of them."""
    with site(impl, **chosen):
        client = Client()
        middleware = middleware_of(client)
        answers, verdicts = [], []
        for method, headers in requests:
            before = middleware.stats()
            answer = client.generic(method, "/plain/", headers=headers)
            after = middleware.stats()
            answers.append((answer.status_code, list(answer.items()), answer.content))
            kind = "preflight" if "Access-Control-Request-Method" in headers and method == "OPTIONS" else "simple"
            verdicts.append(after.__getattribute__(kind)["allowed"] > before.__getattribute__(kind)["allowed"])
        return answers, [verdicts, middleware.stats()]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    enforced=cors_settings(),
    report=cors_settings(),
    requests=st.lists(cors_request(), min_size=1, max_size=6),
)
def test_report_only_never_changes_an_answer_and_counts_right(
    impl: str, enforced: dict[str, Any], report: dict[str, Any], requests: list[tuple[str, dict[str, str]]]
) -> None:
    """Differential: the same app without report-only answers byte for byte alike; the app
    enforcing the report-only settings says which verdicts differ, and those are counted."""
    plain_answers, (verdicts, plain_stats) = run_requests(impl, requests, **enforced)
    answers, (same_verdicts, stats) = run_requests(impl, requests, CORSFAST_REPORT_ONLY=report, **enforced)
    _, (report_verdicts, _) = run_requests(impl, requests, **{**enforced, **report})
    assert answers == plain_answers
    assert same_verdicts == verdicts
    assert (stats.simple, stats.preflight) == (plain_stats.simple, plain_stats.preflight)
    with_origin = [i for i, (_, headers) in enumerate(requests) if headers.get("Origin")]
    would_refuse = sum(1 for i in with_origin if verdicts[i] and not report_verdicts[i])
    would_allow = sum(1 for i in with_origin if not verdicts[i] and report_verdicts[i])
    assert stats.report_only is not None
    assert (stats.report_only.would_refuse, stats.report_only.would_allow) == (would_refuse, would_allow)
    assert sum(n for _, n in stats.report_only.top_origins) == would_refuse + would_allow


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(enforced=cors_settings(), requests=st.lists(cors_request(), min_size=1, max_size=6))
def test_counted_reasons_are_what_a_browser_concludes(
    impl: str, enforced: dict[str, Any], requests: list[tuple[str, dict[str, str]]]
) -> None:
    """Random settings and requests: each request is counted once, under the reason the Fetch
    standard's checks give on its answer."""
    with site(impl, **enforced):
        client = Client()
        middleware = middleware_of(client)
        for method, headers in requests:
            middleware.reset_stats()
            answer = client.generic(method, "/plain/", headers=headers)
            stats = middleware.stats()
            counted = [
                (kind, reason) for kind in ("simple", "preflight") for reason, n in getattr(stats, kind).items() if n
            ]
            preflight = method == "OPTIONS" and "Access-Control-Request-Method" in headers
            origin = headers.get("Origin")
            if origin is None:
                expected = "no_origin"
            else:
                invalid = origin == "https://a.test]"
                expected = browser_reason(headers, answer, "origin_invalid" if invalid else "origin_not_allowed")
            assert counted == [("preflight" if preflight else "simple", expected)], (method, headers)


def test_counts_are_exact_under_8_threads_through_djangos_wsgi_handler(impl: str) -> None:
    from django.core.handlers.wsgi import WSGIHandler

    per_thread = 300
    with site(impl, CORS_ALLOWED_ORIGINS=[A]):
        handler = WSGIHandler()
        middleware = handler._middleware_chain.__wrapped__
        barrier = threading.Barrier(8)

        def work() -> None:
            environs = [dict(mixed_request(n).environ) for n in range(per_thread)]
            barrier.wait()
            for environ in environs:
                body = handler(environ, lambda status, headers, exc_info=None: None)
                body.close()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stats = middleware.stats()
    quarter = 8 * per_thread // 4
    assert stats.simple == {**zeros(), "allowed": quarter, "origin_not_allowed": quarter, "no_origin": quarter}
    assert stats.preflight == {**zeros(), "method_not_allowed": quarter}
