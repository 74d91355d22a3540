"""What corsfast.aiohttp counts and logs, on both engines: the drop-in (`setup()`'s
`CorsConfig`) and the native middleware (`cors_middleware`) count every request they treat
as CORS once, by kind and reason, note each refused origin, and log it escaped.

The answers themselves are compared with aiohttp-cors and the native ASGI middleware in
tests/test_aiohttp_compat.py, tests/test_aiohttp_suite.py and tests/test_aiohttp_native.py,
which run with the counting on (it always is).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import logging
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Callable, ClassVar, Optional

import pytest

pytest.importorskip("aiohttp")
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from multidict import CIMultiDict, CIMultiDictProxy

import corsfast
import corsfast.aiohttp
from corsfast._observe.reasons import REASON_IDS
from corsfast.aiohttp.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

APP = "https://app.test"
EVIL = "https://evil.test"
LONG = "https://" + "a" * 3000 + ".test"
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
ACRPN = "Access-Control-Request-Private-Network"

# One request of a table: (method, path, headers, kind, reason); kind None: not counted.
Row = tuple[str, str, dict[str, str], Optional[str], Optional[str]]


def expected_counts(rows: Iterable[Row], times: int = 1) -> dict[str, dict[str, int]]:
    """Return the stats' `simple` and `preflight` mappings the rows should give."""
    counts = {kind: dict.fromkeys(REASON_IDS, 0) for kind in ("simple", "preflight")}
    for _, _, _, kind, reason in rows:
        if kind is not None:
            assert reason is not None
            counts[kind][reason] += times
    return counts


def counted(stats: Any) -> dict[str, dict[str, int]]:
    return {"simple": dict(stats.simple), "preflight": dict(stats.preflight)}


def refused_by_origin(rows: Iterable[Row], times: int = 1) -> dict[str, int]:
    tally: collections.Counter[str] = collections.Counter()
    for _, _, headers, kind, reason in rows:
        if kind is not None and reason not in ("allowed", "no_origin"):
            tally[headers["Origin"]] += times
    return dict(tally)


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


async def own_cors(request: web.Request) -> web.StreamResponse:
    # A handler that answers CORS itself: corsfast adds nothing, its header decides.
    return web.Response(text="ok", headers={"Access-Control-Allow-Origin": request.headers.get("Origin", "")})


# -- the drop-in --------------------------------------------------------------------------


def view_class(package: Any) -> Any:
    class View(web.View, package.CorsViewMixin):  # type: ignore[misc,name-defined]
        cors_config: ClassVar[dict[str, Any]] = {APP: package.ResourceOptions()}

        async def get(self) -> web.StreamResponse:
            return web.Response(text="ok")

    return View


def dropin_app(
    engine: ModuleType, custom_adapter: bool = False, package: Any = corsfast.aiohttp, **observe: Any
) -> tuple[web.Application, Any]:
    """Return an app with `package` (corsfast.aiohttp or aiohttp_cors) on /api (APP allowed,
    X-Token allowed), /own (a handler with its own CORS header), /none (CORS enabled, no
    origin), /view (a CorsViewMixin view) and /plain (no CORS), and its `CorsConfig`."""
    app = web.Application()
    options = package.ResourceOptions(allow_headers=["X-Token"])
    if package is not corsfast.aiohttp:
        cors = package.setup(app)
    elif custom_adapter:

        class Adapter(ResourcesUrlDispatcherRouterAdapter):
            pass

        adapter = Adapter(app.router, {}, _engine=engine)
        cors = corsfast.aiohttp.CorsConfig(app, router_adapter=adapter, _engine=engine, **observe)
        app[corsfast.aiohttp.APP_CONFIG_KEY] = cors
    else:
        cors = corsfast.aiohttp.setup(app, _engine=engine, **observe)
    cors.add(app.router.add_get("/api", ok), {APP: options})
    cors.add(app.router.add_get("/own", own_cors), {APP: options})
    cors.add(app.router.add_get("/none", ok))
    cors.add(app.router.add_view("/view", view_class(package)))
    app.router.add_get("/plain", ok)
    return app, cors


def dropin_rows(custom_adapter: bool = False) -> list[Row]:
    """Every reason the drop-in gives (it has no allow_origin_func: no func_* reasons)."""
    return [
        ("GET", "/api", {}, "simple", "no_origin"),
        ("GET", "/api", {"Origin": APP}, "simple", "allowed"),
        ("GET", "/api", {"Origin": EVIL}, "simple", "origin_not_allowed"),
        ("GET", "/api", {"Origin": LONG}, "simple", "origin_invalid"),
        ("GET", "/own", {"Origin": EVIL}, "simple", "allowed"),
        ("GET", "/none", {"Origin": APP}, "simple", "origin_not_allowed"),
        ("GET", "/none", {}, "simple", "no_origin"),
        ("GET", "/view", {"Origin": APP}, "simple", "allowed"),
        ("GET", "/view", {"Origin": EVIL}, "simple", "origin_not_allowed"),
        ("GET", "/plain", {"Origin": EVIL}, None, None),
        ("POST", "/api", {"Origin": EVIL}, None, None),  # aiohttp's 405: not a CORS answer
        ("OPTIONS", "/api", {}, "preflight", "no_origin"),
        ("OPTIONS", "/api", {"Origin": APP}, "preflight", "method_not_allowed"),
        ("OPTIONS", "/api", {"Origin": APP, ACRM: "GET"}, "preflight", "allowed"),
        ("OPTIONS", "/api", {"Origin": APP, ACRM: "GET", ACRH: "x-token"}, "preflight", "allowed"),
        ("OPTIONS", "/api", {"Origin": APP, ACRM: "GET", ACRH: "X-Token, X-Other"}, "preflight", "header_not_allowed"),
        ("OPTIONS", "/api", {"Origin": APP, ACRM: "PUT"}, "preflight", "method_not_allowed"),
        ("OPTIONS", "/api", {"Origin": EVIL, ACRM: "GET"}, "preflight", "origin_not_allowed"),
        # aiohttp-cors' "method 'PUT' is not allowed for origin" 403, to an origin no
        # configuration of the route knows: corsfast's own adapter tells it is the origin.
        (
            "OPTIONS",
            "/api",
            {"Origin": EVIL, ACRM: "PUT"},
            "preflight",
            "method_not_allowed" if custom_adapter else "origin_not_allowed",
        ),
        ("OPTIONS", "/api", {"Origin": LONG, ACRM: "GET"}, "preflight", "origin_invalid"),
        ("OPTIONS", "/api", {"Origin": APP, ACRM: "GET", ACRPN: "true"}, "preflight", "private_network_not_allowed"),
        ("OPTIONS", "/none", {"Origin": APP, ACRM: "GET"}, "preflight", "origin_not_allowed"),
        ("OPTIONS", "/view", {"Origin": APP, ACRM: "GET"}, "preflight", "allowed"),
        ("OPTIONS", "/view", {"Origin": APP, ACRM: "DELETE"}, "preflight", "method_not_allowed"),
        ("OPTIONS", "/view", {"Origin": EVIL, ACRM: "GET"}, "preflight", "origin_not_allowed"),
    ]


async def send_all(app: web.Application, rows: Iterable[Row], times: int = 1) -> list[tuple[int, Optional[str]]]:
    """Return each answer's status and Access-Control-Allow-Origin."""
    answers = []
    async with TestClient(TestServer(app)) as client:
        for _ in range(times):
            for method, path, headers, _, _ in rows:
                async with client.request(method, path, headers=headers) as response:
                    await response.read()
                    answers.append((response.status, response.headers.get("Access-Control-Allow-Origin")))
    return answers


@pytest.mark.parametrize("custom_adapter", [False, True], ids=["own-adapter", "custom-adapter"])
def test_dropin_counts_every_reason_exactly(
    engine: ModuleType, custom_adapter: bool, caplog: pytest.LogCaptureFixture
) -> None:
    # Sent three times: the first answers, then the preflight answers the routes keep.
    app, cors = dropin_app(engine, custom_adapter, name=f"dropin-table-{engine.__name__[-2:]}-{custom_adapter}")
    rows = dropin_rows(custom_adapter)
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        asyncio.run(send_all(app, rows, times=3))
    stats = cors.stats()
    assert counted(stats) == expected_counts(rows, 3)
    # An origin is kept cut to 256 characters, the cut marked with "...".
    assert dict(stats.top_refused) == {
        origin if len(origin) <= 256 else origin[:256] + "...": n for origin, n in refused_by_origin(rows, 3).items()
    }
    assert stats.refused == sum(refused_by_origin(rows, 3).values())
    lines = {record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"}
    assert f"CORS refused header_not_allowed: origin={APP} header=X-Other (0 more since the last line)" in lines
    assert f"CORS refused method_not_allowed: origin={APP} method=PUT (0 more since the last line)" in lines
    assert f"CORS refused private_network_not_allowed: origin={APP} (0 more since the last line)" in lines


def test_dropin_answers_as_aiohttp_cors_with_the_log_on(engine: ModuleType) -> None:
    # The table's answers, counted and logged, are aiohttp-cors' (but for its documented
    # differences: the over-long Origin, the handler with its own CORS header).
    aiohttp_cors = pytest.importorskip("aiohttp_cors")
    rows = [row for row in dropin_rows() if row[1] != "/own" and row[2].get("Origin") != LONG]
    theirs_app, _ = dropin_app(engine, package=aiohttp_cors)
    theirs = asyncio.run(send_all(theirs_app, rows))
    logger = logging.getLogger("corsfast.refusals")
    logger.setLevel(logging.INFO)
    try:
        app, _ = dropin_app(engine)
        ours = asyncio.run(send_all(app, rows))
    finally:
        logger.setLevel(logging.NOTSET)
    assert ours == theirs
    assert {status for status, _ in ours} == {200, 403, 405}


def test_dropin_counts_exactly_under_asyncio(engine: ModuleType) -> None:
    # Many requests in flight at once, on one connection pool: every one counted once.
    app, cors = dropin_app(engine)
    rows = [row for row in dropin_rows() if row[1] != "/own"]

    async def run() -> None:
        async with TestClient(TestServer(app)) as client:

            async def one(row: Row) -> None:
                method, path, headers, _, _ = row
                async with client.request(method, path, headers=headers) as response:
                    await response.read()

            await asyncio.gather(*(one(row) for row in rows * 25))

    asyncio.run(run())
    assert counted(cors.stats()) == expected_counts(rows, 25)


def test_dropin_flood_of_refused_origins_keeps_k(engine: ModuleType) -> None:
    # 1,500 unique refused origins, simple and preflight (past the 1,024 refused preflight
    # answers a route keeps): every one counted, top_refused never past K.
    app, cors = dropin_app(engine, top_refused_size=4)

    async def run() -> None:
        async with TestClient(TestServer(app)) as client:
            for n in range(1500):
                headers = {"Origin": f"https://{n}.evil.test"}
                if n % 2:
                    headers[ACRM] = "GET"
                async with client.request("OPTIONS" if n % 2 else "GET", "/api", headers=headers) as response:
                    await response.read()
                    assert response.status == (403 if n % 2 else 200)

    asyncio.run(run())
    stats = cors.stats()
    assert stats.simple["origin_not_allowed"] == stats.preflight["origin_not_allowed"] == 750
    assert len(stats.top_refused) == 4
    assert sum(n for _, n in stats.top_refused) == 1500


def test_dropin_reset_stats_and_registry(engine: ModuleType) -> None:
    gc.collect()  # the last test's app, held in reference cycles, took the name until collected
    app, cors = dropin_app(engine, name="aiohttp-observe-test")
    _, default_cors = dropin_app(engine)
    rows = dropin_rows()

    async def run() -> None:
        async with TestClient(TestServer(app)) as client:
            for round in range(2):
                for method, path, headers, _, _ in rows:
                    async with client.request(method, path, headers=headers) as response:
                        await response.read()
                assert counted(cors.stats()) == expected_counts(rows)
                if round == 0:
                    listed = corsfast.stats()
                    assert counted(listed["aiohttp-observe-test"]) == expected_counts(rows)
                    assert default_cors.stats().name in listed
                    assert default_cors.stats().name.startswith("aiohttp")
                    before = cors.stats().since
                    cors.reset_stats()
                    stats = cors.stats()
                    assert counted(stats) == expected_counts([])
                    assert stats.top_refused == () and stats.since >= before

    asyncio.run(run())


def test_dropin_hostile_origins_never_reach_a_log_line_unescaped(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # Values no HTTP parser passes are given to the hook and the preflight handler directly.
    app, cors = dropin_app(engine)
    hook = cors._cors_impl._routes
    hostile = [EVIL + suffix for suffix in ("\r\nX-Forged: 1", "\n2026 INFO forged", "\x00", "\x1b[31mred\x1b[0m")]

    async def run() -> list[int]:
        statuses = []
        for origin in hostile:
            for method, headers in (("GET", {"Origin": origin}), ("OPTIONS", {"Origin": origin, ACRM: "GET"})):
                request = make_mocked_request(method, "/api", headers=headers, app=app)
                match = await app.router.resolve(request)
                request._match_info = match
                if method == "GET":
                    response = web.Response(text="ok")
                    await hook(request, response)
                    assert "Access-Control-Allow-Origin" not in response.headers
                    statuses.append(response.status)
                else:
                    try:
                        response = await match.handler(request)
                    except web.HTTPForbidden as error:
                        response = error
                    statuses.append(response.status)
        return statuses

    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        assert asyncio.run(run()) == [200, 403] * len(hostile)
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert len(lines) == len(hostile)  # one per origin: the preflight's is the same refusal
    for line in lines:
        assert line.isascii() and line.isprintable(), line
    stats = cors.stats()
    assert stats.simple["origin_invalid"] == stats.preflight["origin_invalid"] == len(hostile)
    assert all(origin.isprintable() for origin, _ in stats.top_refused)


def test_dropin_counts_exactly_under_threads(engine: ModuleType) -> None:
    # The response hook and the preflight handler of one configuration, called by 8 threads
    # at once (each with its own event loop), on requests routed as aiohttp routes them.
    app, cors = dropin_app(engine)
    rows = [row for row in dropin_rows() if row[1] in ("/api", "/none") and row[0] in ("GET", "OPTIONS")]
    hook = cors._cors_impl._routes

    async def routed() -> list[tuple[str, Any, Any]]:
        requests = []
        for method, path, headers, _, _ in rows:
            request = make_mocked_request(method, path, headers=headers, app=app)
            match = await app.router.resolve(request)
            request._match_info = match
            requests.append((method, request, match.handler))
        return requests

    requests = asyncio.run(routed())

    async def answer_all(times: int) -> None:
        for _ in range(times):
            for method, request, route_handler in requests:
                if method == "GET":
                    await hook(request, web.Response(text="ok"))
                else:
                    try:
                        await route_handler(request)
                    except web.HTTPForbidden:
                        pass

    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            asyncio.run(answer_all(100))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert counted(cors.stats()) == expected_counts(rows, 8 * 100)
    assert sum(n for _, n in cors.stats().top_refused) == sum(refused_by_origin(rows, 8 * 100).values())


@pytest.mark.parametrize("interval", [0, 60])
def test_log_interval_is_each_apis_own(engine: ModuleType, interval: float, caplog: pytest.LogCaptureFixture) -> None:
    # Three identical refusals: three lines without an interval, else one (and the count of
    # those left out goes with the next line).
    app, _ = dropin_app(engine, log_interval=interval)
    middleware = native(engine, log_interval=interval)
    rows: list[Row] = [("GET", "/api", {"Origin": EVIL}, None, None)] * 3
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        asyncio.run(send_all(app, rows))
        asyncio.run(call_all(middleware, rows))
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert len(lines) == (6 if interval == 0 else 2)


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("name", "", ValueError),
        ("name", "a name with spaces", ValueError),
        ("name", 1, TypeError),
        ("log_interval", -1, ValueError),
        ("log_interval", "60", ValueError),
        ("top_refused_size", 0, ValueError),
        ("top_refused_size", 2.0, ValueError),
    ],
)
def test_bad_options_fail_at_construction(engine: ModuleType, option: str, value: Any, error: type) -> None:
    with pytest.raises(error, match=option):
        corsfast.aiohttp.setup(web.Application(), _engine=engine, **{option: value})
    with pytest.raises(error, match=option):
        corsfast.aiohttp.cors_middleware(allow_origins=[APP], _engine=engine, **{option: value})


# -- the native middleware ----------------------------------------------------------------


def native(engine: ModuleType, **options: Any) -> Any:
    return corsfast.aiohttp.cors_middleware(
        allow_origins=[APP],
        allow_methods=["GET", "PUT"],
        allow_headers=["X-Token"],
        _engine=engine,
        **options,
    )


def is_allowed_sync(origin: str) -> bool:
    if origin == "https://boom.test":
        raise RuntimeError("the origin store is down")
    return origin == "https://yes.test"


async def is_allowed_async(origin: str) -> bool:
    await asyncio.sleep(0)
    return is_allowed_sync(origin)


NATIVE_ROWS: list[Row] = [
    ("GET", "/", {}, "simple", "no_origin"),
    ("GET", "/", {"Origin": APP}, "simple", "allowed"),
    ("GET", "/", {"Origin": EVIL}, "simple", "origin_not_allowed"),
    ("GET", "/", {"Origin": LONG}, "simple", "origin_invalid"),
    ("GET", "/", {"Origin": "https://app.test\t"}, "simple", "origin_invalid"),
    ("OPTIONS", "/", {}, "simple", "no_origin"),
    ("OPTIONS", "/", {"Origin": APP}, "simple", "allowed"),  # no -Request-Method: not a preflight
    ("OPTIONS", "/", {"Origin": APP, ACRM: "GET"}, "preflight", "allowed"),
    ("OPTIONS", "/", {"Origin": APP, ACRM: "PUT", ACRH: "x-token"}, "preflight", "allowed"),
    ("OPTIONS", "/", {"Origin": APP, ACRM: "DELETE"}, "preflight", "method_not_allowed"),
    ("OPTIONS", "/", {"Origin": APP, ACRM: "PUT", ACRH: "X-Token, X-Other"}, "preflight", "header_not_allowed"),
    ("OPTIONS", "/", {"Origin": APP, ACRM: "GET", ACRPN: "true"}, "preflight", "private_network_not_allowed"),
    ("OPTIONS", "/", {"Origin": EVIL, ACRM: "GET"}, "preflight", "origin_not_allowed"),
    ("OPTIONS", "/", {"Origin": LONG, ACRM: "GET"}, "preflight", "origin_invalid"),
]

FUNC_ROWS: list[Row] = [
    ("GET", "/", {"Origin": "https://yes.test"}, "simple", "allowed"),
    ("GET", "/", {"Origin": "https://no.test"}, "simple", "func_refused"),
    ("GET", "/", {"Origin": "https://boom.test"}, "simple", "func_error"),
    ("OPTIONS", "/", {"Origin": "https://yes.test", ACRM: "PUT"}, "preflight", "allowed"),
    ("OPTIONS", "/", {"Origin": "https://no.test", ACRM: "PUT"}, "preflight", "func_refused"),
    ("OPTIONS", "/", {"Origin": "https://boom.test", ACRM: "PUT"}, "preflight", "func_error"),
    ("GET", "/", {"Origin": LONG}, "simple", "origin_invalid"),  # never asked
]


async def handler(request: Any) -> web.StreamResponse:
    await asyncio.sleep(0)
    return web.Response(text="ok")


class ParsedRequest:
    """What the middleware reads of an aiohttp request: its method and headers, as aiohttp's
    parser gives them (any value, a byte that is not UTF-8 kept as a surrogate), which
    `make_mocked_request` cannot all hold."""

    def __init__(self, method: str, headers: dict[str, str]) -> None:
        self.method = method
        self.headers = CIMultiDictProxy(CIMultiDict(headers))


async def call_all(middleware: Any, rows: Iterable[Row], times: int = 1) -> list[int]:
    statuses = []
    for _ in range(times):
        for method, _, headers, _, _ in rows:
            response = await middleware(ParsedRequest(method, headers), handler)
            statuses.append(response.status)
    return statuses


def test_native_counts_every_reason_exactly(engine: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    middleware = native(engine)
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        statuses = asyncio.run(call_all(middleware, NATIVE_ROWS, times=3))
    assert statuses == [200] * len(NATIVE_ROWS) * 3  # the browser refuses, from the headers
    stats = middleware.stats()
    assert counted(stats) == expected_counts(NATIVE_ROWS, 3)
    assert stats.refused == sum(refused_by_origin(NATIVE_ROWS, 3).values())
    lines = {record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"}
    assert f"CORS refused method_not_allowed: origin={APP} method=DELETE (0 more since the last line)" in lines
    assert f"CORS refused header_not_allowed: origin={APP} header=X-Other (0 more since the last line)" in lines
    assert "CORS refused origin_invalid: origin=https://app.test\\t (0 more since the last line)" in lines


def test_native_private_network_granted_is_allowed(engine: ModuleType) -> None:
    middleware = native(engine, allow_private_network=True)
    asyncio.run(call_all(middleware, [("OPTIONS", "/", {"Origin": APP, ACRM: "GET", ACRPN: "true"}, None, None)]))
    assert middleware.stats().preflight["allowed"] == 1


def test_native_unwritable_origin_is_invalid(engine: ModuleType) -> None:
    # An Origin that is not UTF-8 (aiohttp keeps its bytes as surrogates) cannot be reflected.
    with pytest.warns(corsfast.CORSConfigWarning, match="allow_credentials"):
        middleware = corsfast.aiohttp.cors_middleware(allow_origins=["*"], allow_credentials=True, _engine=engine)
    rows: list[Row] = [
        ("GET", "/", {"Origin": "https://\udcff.test"}, "simple", "origin_invalid"),
        ("OPTIONS", "/", {"Origin": "https://\udcff.test", ACRM: "GET"}, "preflight", "origin_invalid"),
    ]
    asyncio.run(call_all(middleware, rows))
    assert counted(middleware.stats()) == expected_counts(rows)


@pytest.mark.parametrize("func", [is_allowed_sync, is_allowed_async], ids=["sync", "async"])
@pytest.mark.parametrize("ttl", [0, 60])
def test_native_counts_allow_origin_func_verdicts(
    engine: ModuleType, func: Callable[[str], Any], ttl: float, caplog: pytest.LogCaptureFixture
) -> None:
    # With a ttl the second and third rounds take the cached verdicts (but never an error's).
    middleware = native(engine, allow_origin_func=func, allow_origin_func_ttl=ttl)
    with caplog.at_level(logging.CRITICAL, logger="corsfast"):
        asyncio.run(call_all(middleware, FUNC_ROWS, times=3))
    assert counted(middleware.stats()) == expected_counts(FUNC_ROWS, 3)


def test_native_counts_exactly_under_asyncio(engine: ModuleType) -> None:
    # Requests interleaved in one event loop (each handler and allow_origin_func yields).
    middleware = native(engine, allow_origin_func=is_allowed_async)
    rows = FUNC_ROWS + [row for row in NATIVE_ROWS if row[2].get("Origin") != EVIL]

    async def run() -> None:
        await asyncio.gather(*(call_all(middleware, rows) for _ in range(200)))

    logging.getLogger("corsfast").setLevel(logging.CRITICAL)
    try:
        asyncio.run(run())
    finally:
        logging.getLogger("corsfast").setLevel(logging.NOTSET)
    assert counted(middleware.stats()) == expected_counts(rows, 200)


def test_native_counts_exactly_under_threads(engine: ModuleType) -> None:
    # One middleware shared by 8 threads, each running its own event loop.
    middleware = native(engine)
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            asyncio.run(call_all(middleware, NATIVE_ROWS, times=50))
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert counted(middleware.stats()) == expected_counts(NATIVE_ROWS, 8 * 50)


def test_native_flood_of_refused_origins_keeps_k(engine: ModuleType) -> None:
    middleware = native(engine, top_refused_size=8)
    rows: list[Row] = [("GET", "/", {"Origin": f"https://{n}.evil.test"}, None, None) for n in range(20_000)]
    rows += [("GET", "/", {"Origin": EVIL}, None, None)] * 5000
    rows = [row for pair in zip(rows[:5000], rows[20_000:]) for row in pair] + rows[5000:20_000]
    asyncio.run(call_all(middleware, rows))
    stats = middleware.stats()
    assert stats.simple["origin_not_allowed"] == 25_000
    assert len(stats.top_refused) == 8
    assert stats.top_refused[0] == (EVIL, stats.top_refused[0][1]) and stats.top_refused[0][1] >= 5000
    assert sum(n for _, n in stats.top_refused) == 25_000


def test_native_hostile_origins_never_reach_a_log_line_unescaped(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    middleware = native(engine)
    hostile = [EVIL + suffix for suffix in ("\r\nX-Forged: 1", "\n2026 INFO forged", "\x00", "\x1b[31mred\x1b[0m")]
    hostile += ["https://\u2028.test", "https://\udcff\udcfe.test"]
    rows: list[Row] = [("GET", "/", {"Origin": origin}, None, None) for origin in hostile]
    rows += [("OPTIONS", "/", {"Origin": APP, ACRM: "DELETE\x1b[2J", ACRH: "X-A\r\nX-B"}, None, None)]
    rows += [("OPTIONS", "/", {"Origin": APP, ACRM: "PUT", ACRH: "X-\x1b[1m"}, None, None)]
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        asyncio.run(call_all(middleware, rows))
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    assert len(lines) == len(rows)
    for line in lines:
        assert line.isascii() and line.isprintable(), line
    assert all(origin.isascii() and origin.isprintable() for origin, _ in middleware.stats().top_refused)


def test_native_reset_stats_and_registry(engine: ModuleType) -> None:
    middleware = native(engine, name="aiohttp-native-observe-test")
    default = native(engine)
    asyncio.run(call_all(middleware, NATIVE_ROWS))
    listed = corsfast.stats()
    assert counted(listed["aiohttp-native-observe-test"]) == expected_counts(NATIVE_ROWS)
    assert default.stats().name in listed and default.stats().name.startswith("aiohttp-native")
    before = middleware.stats().since
    middleware.reset_stats()
    stats = middleware.stats()
    assert counted(stats) == expected_counts([])
    assert stats.top_refused == () and stats.since >= before
    asyncio.run(call_all(middleware, NATIVE_ROWS))
    assert counted(middleware.stats()) == expected_counts(NATIVE_ROWS)
    del middleware
    gc.collect()
    assert "aiohttp-native-observe-test" not in corsfast.stats()


def test_native_preflight_reason_reads_the_answer(engine: ModuleType) -> None:
    # The Fetch standard's checks on the headers the engine answers with.
    reason = engine.aiohttp_native_preflight_reason
    allow = [(b"access-control-allow-methods", b"GET, PUT"), (b"access-control-allow-headers", b"X-Token, *")]
    credentials = [(b"access-control-allow-credentials", b"true")]
    assert reason(allow, b"PUT", b"x-token", None) == (0, None, None)
    assert reason(allow, b"POST", None, None) == (0, None, None)  # safelisted
    assert reason(allow, b"put", None, None) == (4, "method", "put")  # methods compare byte for byte
    assert reason(allow, b"DELETE", None, None) == (4, "method", "DELETE")
    assert reason(allow, b"GET", b"x-token, X-Other", None) == (0, None, None)  # `*`
    assert reason(allow + credentials, b"GET", b"x-token, X-Other", None) == (5, "header", "X-Other")
    assert reason(allow, b"GET", b"Authorization", None) == (5, "header", "Authorization")
    assert reason(allow, b"GET", None, b"true") == (6, None, None)
    assert reason([*allow, (b"access-control-allow-private-network", b"true")], b"GET", None, b"true") == (
        0,
        None,
        None,
    )
    assert reason([(b"access-control-allow-methods", b"*"), *credentials], b"PATCH", None, None)[0] == 4
