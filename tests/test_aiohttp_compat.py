"""corsfast.aiohttp against the real aiohttp-cors, in the same process, on both engines.

Each case builds the same aiohttp app twice, once with `aiohttp_cors` and once with
`corsfast.aiohttp` (`import corsfast.aiohttp as aiohttp_cors`), serves both on 127.0.0.1 and
sends both the same requests: the status, the body and every response header, in order, must
be the same, but for the documented differences (docs/frameworks/aiohttp.md), which are
checked for what they are rather than ignored: corsfast adds `Vary: Origin` to the answers of
CORS-enabled resources whose configuration names an origin, and nothing else.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Optional

import pytest

aiohttp = pytest.importorskip("aiohttp")
aiohttp_cors = pytest.importorskip("aiohttp_cors")
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
    strategies as st,
)

import corsfast.aiohttp  # noqa: E402
from corsfast import CORSConfigWarning  # noqa: E402

# aiohttp 3.9 and later warn when aiohttp-cors 0.7.0 (and corsfast.aiohttp answering as it)
# stores its configuration under a str key; tests/test_aiohttp_versions.py checks that both warn alike.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.AppKey instances for keys:UserWarning")

VOLATILE = {b"date", b"server"}  # differ between any two responses
STATIC = Path(__file__).parent
STATIC_FILE = "/static/" + Path(__file__).name


async def handler(request: web.Request) -> web.StreamResponse:
    response = web.Response(text="hello")
    response.headers["X-Custom"] = "1"
    response.headers["Cache-Control"] = "no-store"
    return response


async def streaming(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.headers["X-Stream"] = "yes"
    await response.prepare(request)
    await response.write(b"chunk")
    await response.write_eof()
    return response


async def failing(request: web.Request) -> web.StreamResponse:
    raise web.HTTPBadRequest(text="no")


def view_class(package: Any, class_config: Any) -> type:
    class View(web.View, package.CorsViewMixin):
        cors_config = class_config

        async def get(self) -> web.StreamResponse:
            return web.Response(text="view get")

        @package.custom_cors({"https://custom.test": package.ResourceOptions(expose_headers=["X-View"])})
        async def post(self) -> web.StreamResponse:
            response = web.Response(text="view post")
            response.headers["X-View"] = "1"
            return response

    return View


def build(package: Any, spec: dict[str, Any], engine: Optional[ModuleType]) -> web.Application:
    """Return the app `spec` describes, its CORS set up with `package`."""
    app = web.Application()
    kwargs: dict[str, Any] = {} if engine is None else {"_engine": engine}
    cors = package.setup(app, defaults=options(package, spec["defaults"]), **kwargs)
    resource = cors.add(app.router.add_resource("/resource"), options(package, spec["resource"]))
    cors.add(resource.add_route("GET", handler), options(package, spec["get"]))
    cors.add(resource.add_route("POST", handler))
    cors.add(app.router.add_route("PUT", "/route", handler), options(package, spec["route"]))
    cors.add(app.router.add_route("GET", "/stream", streaming))
    cors.add(app.router.add_route("GET", "/fail", failing))
    cors.add(app.router.add_route("*", "/view", view_class(package, options(package, spec["view"]))))
    cors.add(app.router.add_static("/static", STATIC))  # serves this file as /static/ + its name
    app.router.add_route("GET", "/plain", handler)  # no CORS at all
    return app


def options(package: Any, config: Optional[dict[str, dict[str, Any]]]) -> Optional[dict[str, Any]]:
    if config is None:
        return None
    return {origin: package.ResourceOptions(**kwargs) for origin, kwargs in config.items()}


HEADER_NAMES = ["X-Custom", "X-Requested-With", "Content-Type", "Authorization"]
ORIGINS = ["https://a.test", "https://b.test", "https://custom.test", "null"]

resource_options = st.fixed_dictionaries(
    {},
    optional={
        "allow_credentials": st.booleans(),
        "expose_headers": st.one_of(st.just("*"), st.lists(st.sampled_from(HEADER_NAMES), max_size=3)),
        "allow_headers": st.one_of(st.just("*"), st.lists(st.sampled_from(HEADER_NAMES), max_size=3)),
        "max_age": st.one_of(st.none(), st.integers(0, 1000)),
        "allow_methods": st.one_of(
            st.none(), st.just("*"), st.lists(st.sampled_from(["GET", "PUT", "post"]), max_size=2)
        ),
    },
)
configs = st.one_of(st.none(), st.dictionaries(st.sampled_from([*ORIGINS, "*"]), resource_options, max_size=3))
specs = st.fixed_dictionaries(
    {"defaults": configs, "resource": configs, "get": configs, "route": configs, "view": configs}
)
requests = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "DELETE"]),
        st.sampled_from(["/resource", "/route", "/stream", "/fail", "/view", "/plain", "/missing", STATIC_FILE]),
        st.one_of(st.none(), st.sampled_from([*ORIGINS, "https://A.test", "https://a.test:443"])),
        st.one_of(st.none(), st.sampled_from(["GET", "PUT", "POST", "get", "DELETE"])),
        st.one_of(
            st.none(), st.sampled_from(["X-Custom", "x-custom, content-type", "Authorization,X-Requested-With", " , "])
        ),
    ),
    min_size=1,
    max_size=6,
)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def send(client: TestClient, request: tuple[Any, ...]) -> Optional[Answer]:
    """Return the answer to `request`: status, headers in order (but Date and Server), body;
    None when the server closed the connection without one."""
    method, path, origin, acrm, acrh = request
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if acrm is not None:
        headers["Access-Control-Request-Method"] = acrm
    if acrh is not None:
        headers["Access-Control-Request-Headers"] = acrh
    try:
        async with client.request(method, path, headers=headers) as response:
            body = await response.read()
            raw = [(k, v) for k, v in response.raw_headers if k.lower() not in VOLATILE]
            return response.status, raw, body
    except aiohttp.ServerDisconnectedError:
        return None


def without_vary(answer: Answer) -> tuple[Answer, list[bytes]]:
    """Return the answer without its Vary headers, and their values."""
    status, raw, body = answer
    return (status, [(k, v) for k, v in raw if k.lower() != b"vary"], body), [v for k, v in raw if k.lower() == b"vary"]


def setup_both(spec: dict[str, Any], engine: ModuleType) -> tuple[Any, Any]:
    """Return (aiohttp-cors' app, corsfast's app), or the exception each raised (they must agree)."""
    results = []
    for package, kwargs in ((aiohttp_cors, None), (corsfast.aiohttp, engine)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CORSConfigWarning)
                results.append(build(package, spec, kwargs))
        except Exception as error:  # compared below
            results.append(error)
    return results[0], results[1]


async def served(
    apps: tuple[web.Application, web.Application], run: Callable[[TestClient, TestClient], Awaitable[None]]
) -> None:
    clients = [TestClient(TestServer(app, host="127.0.0.1")) for app in apps]
    for client in clients:
        await client.start_server()
    try:
        await run(*clients)
    finally:
        for client in clients:
            await client.close()


def expect_vary(spec: dict[str, Any], request: tuple[Any, ...]) -> bool:
    """Return True when corsfast adds `Vary: Origin` to the answer: every preflight answer of a
    CORS-enabled resource; any other answer of one whose configuration for the request's
    method names an origin (`build` says which configurations apply where)."""
    method, path = request[0], request[1]
    if path in ("/plain", "/missing"):
        return False
    if method == "OPTIONS":
        return True
    applied: list[Any]
    if path == "/resource" and method in ("GET", "POST"):
        applied = [spec["get"] if method == "GET" else None, spec["resource"], spec["defaults"]]
    elif path == "/route" and method == "PUT":
        applied = [spec["route"], spec["defaults"]]
    elif path in ("/stream", "/fail", STATIC_FILE) and method == "GET":
        applied = [spec["defaults"]]
    elif path == "/view" and method in ("GET", "POST"):
        applied = [{"https://custom.test": {}} if method == "POST" else None, spec["view"], spec["defaults"]]
    else:
        return False  # aiohttp's 405, or a view without the method
    return any(applied)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(spec=specs, requests=requests)
def test_same_answers_as_aiohttp_cors(
    engine: ModuleType, spec: dict[str, Any], requests: list[tuple[Any, ...]]
) -> None:
    theirs, ours = setup_both(spec, engine)
    if isinstance(theirs, Exception) or isinstance(ours, Exception):
        assert type(ours) is type(theirs) and str(ours) == str(theirs), (theirs, ours)
        return

    async def run(their_client: TestClient, our_client: TestClient) -> None:
        for request in requests:
            their_answer = await send(their_client, request)
            our_answer = await send(our_client, request)
            assert our_answer is not None, request  # corsfast always answers
            if their_answer is None:
                # aiohttp-cors drops the connection when a view lacks the method (docs: differences).
                assert request[1] == "/view" and request[0] not in ("GET", "POST", "OPTIONS"), request
                assert our_answer[0] == 405 and not [k for k, _ in our_answer[1] if k.startswith(b"Access-Control")]
                continue
            stripped, varies = without_vary(our_answer)
            their_stripped, their_varies = without_vary(their_answer)
            assert stripped == their_stripped, request
            assert their_varies == []
            assert varies == ([b"Origin"] if expect_vary(spec, request) else []), (request, varies)
            if request[0] == "OPTIONS":
                # A preflight like one already answered gets the answer corsfast kept for it.
                assert await send(our_client, request) == our_answer, request

    asyncio.run(served((theirs, ours), run))


TABLE_SPECS = {
    "credentials-and-expose": {
        "defaults": {"https://a.test": {"allow_credentials": True, "expose_headers": ["X-Custom"]}},
        "resource": {"https://b.test": {"expose_headers": "*", "allow_headers": ["X-Custom"], "max_age": 60}},
        "get": {"*": {"allow_credentials": True, "allow_headers": "*", "allow_methods": "*"}},
        "route": {"null": {"allow_credentials": True, "allow_methods": ["PUT", "GET"]}},
        "view": {"https://a.test": {"expose_headers": "*", "allow_methods": ["get"]}},
    },
    "star-defaults": {
        "defaults": {"*": {"allow_methods": "*", "allow_headers": ["x-custom", "Content-Type"], "max_age": 0}},
        "resource": None,
        "get": None,
        "route": {"https://b.test": {"allow_credentials": True}},
        "view": None,
    },
    "nothing": {"defaults": None, "resource": None, "get": None, "route": None, "view": None},
}
TABLE_REQUESTS = [
    (method, path, origin, acrm, acrh)
    for method in ("GET", "POST", "PUT", "OPTIONS")
    for path in ("/resource", "/route", "/stream", "/fail", "/view", "/plain", STATIC_FILE)
    for origin in (None, "https://a.test", "https://b.test", "null", "https://custom.test")
    for acrm, acrh in ((None, None), ("GET", None), ("PUT", "X-Custom, content-type"))
    if method == "OPTIONS" or acrm is None
]


@pytest.mark.parametrize("name", sorted(TABLE_SPECS))
def test_table_of_answers(engine: ModuleType, name: str) -> None:
    # Every request of the table on a few configurations that use every option: what the
    # random cases above may miss.
    test_same_answers_as_aiohttp_cors.hypothesis.inner_test(engine, TABLE_SPECS[name], TABLE_REQUESTS)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------
# Refused preflights: kept per route, raised where something could see the difference
# ---------------------------------------------------------------------------------------

REFUSED = ("OPTIONS", "/route", "https://evil.test", "PUT", None)
ALLOWED = ("OPTIONS", "/route", "https://a.test", "PUT", "X-Custom")
REFUSAL_SPEC: dict[str, Any] = {
    "defaults": {"https://a.test": {"allow_headers": ["X-Custom"]}},
    "resource": None,
    "get": None,
    "route": None,
    "view": None,
}


def observed_app(package: Any, engine: Optional[ModuleType], seen: list[str], where: str) -> web.Application:
    """Return REFUSAL_SPEC's app with an observer of the handler's outcome in `where`: a
    middleware noting the `HTTPException` it catches (and raising it on), or an
    `on_response_prepare` handler noting the response's type."""
    app = build(package, REFUSAL_SPEC, engine)
    if where == "middleware":

        @web.middleware
        async def notes(request: web.Request, handler: Any) -> web.StreamResponse:
            try:
                return await handler(request)  # type: ignore[no-any-return]
            except web.HTTPException as error:
                seen.append(type(error).__name__)
                raise

        app.middlewares.append(notes)
    else:

        async def note(request: web.Request, response: web.StreamResponse) -> None:
            seen.append(type(response).__name__)

        app.on_response_prepare.append(note)
    return app


@pytest.mark.parametrize("where", ["middleware", "on_response_prepare"])
def test_a_refused_preflight_is_raised_where_it_can_be_seen(engine: ModuleType, where: str) -> None:
    # aiohttp-cors raises its 403s as `HTTPForbidden`; a middleware or a response hook can tell,
    # so corsfast raises them too whenever the app has either (and returns the same bytes
    # otherwise, which test_same_answers_as_aiohttp_cors compares).
    their_seen: list[str] = []
    our_seen: list[str] = []
    theirs = observed_app(aiohttp_cors, None, their_seen, where)
    apps = (theirs, observed_app(corsfast.aiohttp, engine, our_seen, where))

    async def run(their_client: TestClient, our_client: TestClient) -> None:
        for _ in range(2):  # the second one is answered from the refusal kept
            theirs, ours = await send(their_client, REFUSED), await send(our_client, REFUSED)
            assert theirs is not None and ours is not None
            assert theirs[0] == 403
            assert without_vary(ours)[0] == without_vary(theirs)[0]

    asyncio.run(served(apps, run))
    assert our_seen == their_seen == ["HTTPForbidden"] * 2


def test_a_refused_preflight_is_raised_to_a_wrapped_request_handler(
    engine: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Error trackers (Sentry's aiohttp integration) put a wrapper in the place of
    # `Application._handle` that sees the exceptions it raises: corsfast raises there too.
    seen: list[str] = []
    original = web.Application._handle

    async def tracked(self: web.Application, request: web.Request) -> web.StreamResponse:
        try:
            return await original(self, request)
        except web.HTTPException as error:
            seen.append(type(error).__name__)
            raise

    monkeypatch.setattr(web.Application, "_handle", tracked)
    apps = (build(aiohttp_cors, REFUSAL_SPEC, None), build(corsfast.aiohttp, REFUSAL_SPEC, engine))

    async def run(their_client: TestClient, our_client: TestClient) -> None:
        for _ in range(2):
            theirs, ours = await send(their_client, REFUSED), await send(our_client, REFUSED)
            assert theirs is not None and ours is not None and theirs[0] == ours[0] == 403

    asyncio.run(served(apps, run))
    assert seen == ["HTTPForbidden"] * 4  # both packages, twice each


def test_refusals_follow_the_defaults_changed_in_place(engine: ModuleType) -> None:
    # A refusal kept for a route is forgotten when the configuration changes, as an allowed
    # answer is: aiohttp-cors reads `cors.defaults` on every request.
    async def statuses(package: Any, engine: Optional[ModuleType]) -> list[int]:
        app = web.Application()
        kwargs: dict[str, Any] = {} if engine is None else {"_engine": engine}
        cors = package.setup(app, defaults={"https://a.test": package.ResourceOptions()}, **kwargs)
        cors.add(app.router.add_route("PUT", "/route", handler))
        seen: list[int] = []

        async def run(client: TestClient, _: TestClient) -> None:
            request = ("OPTIONS", "/route", "https://evil.test", "PUT", None)
            for change in (None, None, "add", "delete"):
                if change == "add":
                    cors.defaults["https://evil.test"] = package.ResourceOptions()
                elif change == "delete":
                    del cors.defaults["https://evil.test"]
                answer = await send(client, request)
                assert answer is not None
                seen.append(answer[0])

        await served((app, web.Application()), run)
        return seen

    assert asyncio.run(statuses(aiohttp_cors, None)) == [403, 403, 200, 403]
    assert asyncio.run(statuses(corsfast.aiohttp, engine)) == [403, 403, 200, 403]


def test_kept_refusals_are_bounded(engine: ModuleType) -> None:
    # A flood of refused origins keeps at most the bound per route, never pushes the allowed
    # answers out, and an Origin corsfast never reflects is never kept.
    app = build(corsfast.aiohttp, REFUSAL_SPEC, engine)
    bound = 1024
    floods = [("OPTIONS", "/route", f"https://{n}.evil.test", "PUT", None) for n in range(bound + 200)]
    long_origin = ("OPTIONS", "/route", "https://" + "a" * 5000 + ".test", "PUT", None)

    async def run(client: TestClient, _: TestClient) -> None:
        allowed = await send(client, ALLOWED)
        assert allowed is not None and allowed[0] == 200
        for request in [*floods, long_origin]:
            answer = await send(client, request)
            assert answer is not None and answer[0] == 403
        assert await send(client, ALLOWED) == allowed

    asyncio.run(served((app, web.Application()), run))
    route = next(r for r in app.router.routes() if r.method == "OPTIONS" and r.resource.canonical == "/route")
    (routes,) = [hook for hook in app.on_response_prepare if isinstance(hook, engine.AiohttpRoutes)]
    state = routes.route(route)
    assert 0 < len(state.refusals) <= bound
    assert all(len(key[0]) < 100 for key in state.refusals)
    assert len(state.preflights) == 1
