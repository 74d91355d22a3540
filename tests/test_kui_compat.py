"""corsfast.kui against Kui 1.15's own allow_cors: real Kui apps, request by request, ASGI and WSGI.

Every comparison builds the same Kui app twice, once with `kui.*.allow_cors` and once with
`corsfast.kui.*.allow_cors` (on each engine), sends both the same request and compares the
status, the body and the header list. Kui joins Access-Control-Allow-Headers from a set, so
that value is compared as a set (corsfast's is sorted). The documented deviations are
checked by their own tests: `Vary: Origin` on every response of a wrapped endpoint,
control characters and over-long Origins refused, generator origins, construction errors.
"""

from __future__ import annotations

import asyncio
import functools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Optional

import httpx
import kui.asgi
import kui.wsgi
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast.kui.asgi
import corsfast.kui.wsgi
from corsfast import CORSConfigWarning

# Kui's default `.*` and the seed's `https://.*\.example\.com` draw a CORSConfigWarning from
# corsfast's option checks; these tests are about answers, not about those warnings.
pytestmark = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")

Header = tuple[bytes, bytes]
Answer = tuple[int, list[Header], bytes]

ACAH = b"access-control-allow-headers"
ACAO = b"access-control-allow-origin"
VARY = b"vary"

SEED_CONFIG = {
    "allow_origins": [re.compile(r"https://example\.com")],
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["Authorization", "Content-Type"],
    "expose_headers": ["X-Request-Id"],
    "allow_credentials": False,
    "max_age": 600,
}


# -- building the same Kui app around either allow_cors ---------------------------------


@dataclass(frozen=True)
class Side:
    """One Kui flavour: its framework module, Kui's own CORS and corsfast's drop-in."""

    name: str
    kui: ModuleType
    drop_in: ModuleType

    @property
    def is_asgi(self) -> bool:
        return self.name == "asgi"


ASGI = Side("asgi", kui.asgi, corsfast.kui.asgi)
WSGI = Side("wsgi", kui.wsgi, corsfast.kui.wsgi)
SIDES = [pytest.param(ASGI, id="asgi"), pytest.param(WSGI, id="wsgi")]

PATHS = ("/str", "/dict", "/tuple", "/resp", "/vary-origin", "/raise", "/get-only", "/view", "/missing")
"""Endpoints of the test app; /missing is a 404 (no route)."""


def _endpoint(side: Side, produce: Callable[[], Any]) -> Callable[[], Any]:
    """Return an endpoint without parameters (Kui binds an endpoint's parameters to the request)."""
    if side.is_asgi:

        async def endpoint() -> Any:
            return produce()

        return endpoint

    def sync_endpoint() -> Any:
        return produce()

    return sync_endpoint


def _endpoints(side: Side) -> dict[str, Any]:
    """Return fresh endpoints (attaching CORS mutates HttpView classes and route objects)."""
    m = side.kui
    values: dict[str, Callable[[], Any]] = {
        "/str": lambda: "text",
        "/dict": lambda: {"a": 1},
        "/tuple": lambda: ("created", 201),
        "/resp": lambda: m.HttpResponse(
            202, headers={"Vary": "Accept", "X-App": "1", "Access-Control-Allow-Origin": "app-set"}
        ),
        "/vary-origin": lambda: m.HttpResponse(headers={"Vary": "origin"}),
        "/get-only": lambda: "only GET",
    }

    def raising() -> Any:
        raise m.HTTPException(418, headers={"X-Teapot": "1"})

    values["/raise"] = raising
    endpoints = {path: _endpoint(side, produce) for path, produce in values.items()}
    endpoints["/get-only"] = m.required_method("GET")(endpoints["/get-only"])
    if side.is_asgi:

        class View(kui.asgi.HttpView):
            @classmethod
            async def get(cls) -> str:
                return "view get"

            @classmethod
            async def post(cls) -> Any:
                return {"view": "post"}

    else:

        class View(kui.wsgi.HttpView):  # type: ignore[no-redef]
            @classmethod
            def get(cls) -> str:
                return "view get"

            @classmethod
            def post(cls) -> Any:
                return {"view": "post"}

    endpoints["/view"] = View
    return endpoints


def _routes(side: Side) -> list[Any]:
    return [side.kui.HttpRoute(path, endpoint, name=path[1:]) for path, endpoint in _endpoints(side).items()]


ATTACH = ("route", "routes", "app", "cors_config")
"""`HttpRoute(...) @ cors`; `Routes(..., http_middlewares=[cors])`; `Kui(http_middlewares=[cors])`;
`Kui(cors_config=...)` (Kui's own class against `corsfast.kui.*.Kui`)."""


def build(side: Side, attach: str, config: dict[str, Any], engine: Optional[ModuleType]) -> Any:
    """Return a Kui app with Kui's CORS (engine None) or corsfast's (on `engine`), attached as `attach`."""
    with warnings.catch_warnings():
        # Kui's default `.*` also allows `Origin: null`; corsfast says so (CORSConfigWarning).
        warnings.simplefilter("ignore", CORSConfigWarning)
        if attach == "cors_config":
            if engine is None:
                return side.kui.Kui(routes=_routes(side), cors_config=config)
            return side.drop_in.Kui(routes=_routes(side), cors_config=config, _engine=engine)
        if engine is None:
            cors = side.kui.allow_cors(**config)
        else:
            cors = side.drop_in.allow_cors(**config, _engine=engine)
    if attach == "route":
        return side.kui.Kui(routes=[route @ cors for route in _routes(side)])
    if attach == "routes":
        app = side.kui.Kui()
        app.router <<= side.kui.Routes(*_routes(side), http_middlewares=[cors])
        return app
    assert attach == "app"
    return side.kui.Kui(routes=_routes(side), http_middlewares=[cors])


def wrapper_runs(attach: str, method: str, path: str) -> bool:
    """Return True when the CORS wrapper answers this request (so corsfast adds `Vary: Origin`).

    False when the wrapper is never reached or the endpoint's exception goes through it;
    a preflight from a matching origin is answered by the wrapper anyway (see `compare`).
    """
    if path == "/missing":
        return False  # 404: no route, no endpoint, no wrapper
    if path == "/view" and method not in ("GET", "POST", "OPTIONS"):
        return False  # HttpView answers 405 itself, outside the per-method wrappers
    if path == "/raise":
        # The exception middleware sits outside user middlewares but inside cors_config's.
        return attach == "cors_config"
    return True


# -- driving apps directly (raw header lists, no client normalisation) ----------------------


_LOOP = asyncio.new_event_loop()


def asgi_request(app: Any, method: str, path: str, headers: list[Header]) -> Answer:
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
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    _LOOP.run_until_complete(app(scope, receive, send))
    start = sent[0]
    assert start["type"] == "http.response.start"
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], [(bytes(k), bytes(v)) for k, v in start["headers"]], body


def wsgi_request(app: Any, method: str, path: str, headers: list[Header]) -> Answer:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": __import__("io").BytesIO(b""),
        "wsgi.errors": __import__("io").StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        # What a WSGI server does with repeated headers.
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    started: list[Any] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, response_headers]
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, response_headers = started
    return (
        int(status.split()[0]),
        [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers],
        body,
    )


def send(side: Side, app: Any, method: str, path: str, headers: list[Header]) -> Answer:
    return (asgi_request if side.is_asgi else wsgi_request)(app, method, path, headers)


# -- comparing ---------------------------------------------------------------------------


def _names_origin(vary: bytes) -> bool:
    return any(t.strip().lower() in (b"origin", b"*") for t in vary.split(b","))


def assert_same(kui_answer: Answer, ours: Answer, vary_expected: bool) -> None:
    """Assert corsfast's answer is Kui's, but for ACAH order and the documented Vary: Origin."""
    k_status, k_headers, k_body = kui_answer
    c_status, c_headers, c_body = ours
    assert (c_status, c_body) == (k_status, k_body)

    def strip(headers: list[Header]) -> list[Header]:
        return [(k, b"" if k == ACAH else v) for k, v in headers if k != VARY]

    assert strip(c_headers) == strip(k_headers)
    k_acah = [v for k, v in k_headers if k == ACAH]
    c_acah = [v for k, v in c_headers if k == ACAH]
    assert len(c_acah) == len(k_acah) <= 1
    if k_acah:
        expected = set(k_acah[0].split(b", "))
        assert set(c_acah[0].split(b", ")) == expected
        assert c_acah[0] == b", ".join(sorted(expected, key=lambda b: b.decode("latin-1")))  # deterministic

    k_vary = [v for k, v in k_headers if k == VARY]
    c_vary = [v for k, v in c_headers if k == VARY]
    assert len(k_vary) <= 1 and len(c_vary) <= 1
    if not vary_expected:
        assert c_vary == k_vary
    elif k_vary:
        # Merged into the app's Vary, in its position, Origin never twice.
        assert c_headers.index((VARY, c_vary[0])) == k_headers.index((VARY, k_vary[0]))
        assert c_vary == ([k_vary[0]] if _names_origin(k_vary[0]) else [k_vary[0] + b", Origin"])
    else:
        assert c_vary == [b"Origin"]


def compare(
    side: Side,
    attach: str,
    config: dict[str, Any],
    engine: ModuleType,
    requests: list[tuple[str, str, list[Header]]],
) -> None:
    compare_apps(side, attach, build(side, attach, config, None), build(side, attach, config, engine), requests)


def compare_apps(
    side: Side, attach: str, theirs: Any, ours: Any, requests: list[tuple[str, str, list[Header]]]
) -> None:
    for method, path, headers in requests:
        expected = send(side, theirs, method, path, headers)
        got = send(side, ours, method, path, headers)
        # A preflight from a matching origin is answered before the endpoint could raise.
        answered = any(name == ACAO for name, _ in expected[1])
        assert_same(expected, got, answered or wrapper_runs(attach, method, path))


# -- hypothesis over configurations, requests, endpoints and attachments ----------------

PATTERNS = [
    re.compile(r"https://a\.com"),
    re.compile(r"https://.*\.example\.com"),
    re.compile(".*"),
    re.compile(r"https?://x\.org(:\d+)?"),
    re.compile("null"),
    re.compile(r"(?i)https://a\.com"),
    re.compile("https://a.com"),  # unescaped dot: also https://aXcom
]
ORIGINS: list[Optional[list[bytes]]] = [
    None,
    [b""],
    [b"https://a.com"],
    [b"https://aXcom"],
    [b"HTTPS://A.COM"],
    [b"https://sub.example.com"],
    [b"https://example.com"],
    [b"http://x.org:8080"],
    [b"null"],
    [b"https://a.com.evil.io"],
    [b"https://a.com", b"https://evil.com"],  # two Origin headers: Kui joins them
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "QUERY"]
HEADER_NAMES = ["X-Token", "Authorization", "content-type", "Accept", "X-Requested-With"]
EXPOSE_NAMES = ["X-Request-Id", "X-Total", "ETag"]

configs = st.fixed_dictionaries(
    {},
    optional={
        "allow_origins": st.lists(st.sampled_from(PATTERNS), max_size=3),
        "allow_methods": st.lists(st.sampled_from(METHODS), max_size=4),
        "allow_headers": st.lists(st.sampled_from(HEADER_NAMES), max_size=3),
        "expose_headers": st.lists(st.sampled_from(EXPOSE_NAMES), max_size=3),
        "allow_credentials": st.booleans(),
        "max_age": st.integers(0, 10**7),
    },
)


@st.composite
def requests_(draw: st.DrawFn) -> tuple[str, str, list[Header]]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "OPTIONS", "OPTIONS", "HEAD", "DELETE"]))
    path = draw(st.sampled_from(PATHS))
    headers: list[Header] = [(b"origin", origin) for origin in draw(st.sampled_from(ORIGINS)) or ()]
    if draw(st.booleans()):
        headers.append((b"access-control-request-method", draw(st.sampled_from([b"GET", b"PUT", b"X"]))))
    if draw(st.booleans()):
        headers.append((b"access-control-request-headers", b"x-token, content-type"))
    return method, path, headers


@pytest.mark.parametrize("side", SIDES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    config=configs,
    attach=st.sampled_from(ATTACH),
    requests=st.lists(requests_(), min_size=1, max_size=8),
)
def test_same_answers_as_kui(
    engine: ModuleType, side: Side, config: dict[str, Any], attach: str, requests: list[Any]
) -> None:
    compare(side, attach, config, engine, requests)


ALL_REQUESTS = [
    (method, path, [(b"origin", origin) for origin in origins or ()] + acrm)
    for method in ("GET", "POST", "PUT", "OPTIONS")
    for path in PATHS
    for origins in (None, [b"https://example.com"], [b"https://evil.com"])
    for acrm in ([], [(b"access-control-request-method", b"PUT")])
    if not (acrm and method != "OPTIONS")
]


@pytest.mark.parametrize("attach", ATTACH)
@pytest.mark.parametrize("side", SIDES)
def test_seed_config_every_request(engine: ModuleType, side: Side, attach: str) -> None:
    """The seed's cors_config, every method x endpoint x origin, each way of attaching it."""
    compare(side, attach, SEED_CONFIG, engine, ALL_REQUESTS)


@pytest.mark.parametrize("side", SIDES)
def test_defaults(engine: ModuleType, side: Side) -> None:
    """`allow_cors()` with Kui's defaults (`.*`, eight methods, max_age 600, credentials false)."""
    compare(side, "route", {}, engine, ALL_REQUESTS)


# -- the seed's set-ups, through real HTTP clients --------------------------------------


def _client(side: Side, app: Any) -> Any:
    if side.is_asgi:
        return _AsyncClient(app)
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver")


class _AsyncClient:
    """A synchronous face on httpx.AsyncClient + ASGITransport, on the module's event loop."""

    def __init__(self, app: Any) -> None:
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return _LOOP.run_until_complete(self._client.request(method, url, **kwargs))

    def close(self) -> None:
        _LOOP.run_until_complete(self._client.aclose())


def _seed_apps(side: Side, engine: Optional[ModuleType]) -> Any:
    """The seed's per-route and Routes set-ups in one app, with Kui's or corsfast's allow_cors."""
    m = side.kui
    allow_cors = m.allow_cors if engine is None else functools.partial(side.drop_in.allow_cors, _engine=engine)
    if side.is_asgi:

        async def handler() -> Any:
            return {"data": 1}

        async def list_users() -> Any:
            return ["ann"]

        async def list_posts() -> Any:
            return m.HttpResponse(headers={"Vary": "Accept-Encoding"})

    else:

        def handler() -> Any:
            return {"data": 1}

        def list_users() -> Any:
            return ["ann"]

        def list_posts() -> Any:
            return m.HttpResponse(headers={"Vary": "Accept-Encoding"})

    cors = allow_cors(
        allow_origins=[re.compile(r"https://.*\.example\.com")],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization"],
        max_age=3600,
    )
    app = m.Kui()
    app.router <<= m.HttpRoute("/api/data", handler) @ cors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        app.router <<= m.Routes(
            m.HttpRoute("/users", list_users),
            m.HttpRoute("/posts", list_posts),
            http_middlewares=[allow_cors()],
        )
    return app


SEED_REQUESTS = [
    ("GET", "/api/data", {"Origin": "https://app.example.com"}),
    ("GET", "/api/data", {"Origin": "https://example.com"}),
    ("OPTIONS", "/api/data", {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}),
    ("OPTIONS", "/api/data", {"Origin": "https://evil.com", "Access-Control-Request-Method": "POST"}),
    ("POST", "/api/data", {}),
    ("GET", "/users", {"Origin": "https://anything.test"}),
    ("OPTIONS", "/users", {"Origin": "https://anything.test"}),
    ("GET", "/posts", {"Origin": "https://anything.test"}),
    ("GET", "/posts", {}),
    ("GET", "/nowhere", {"Origin": "https://app.example.com"}),
]


def _answer(response: httpx.Response) -> Answer:
    return response.status_code, list(response.headers.raw), response.content


@pytest.mark.parametrize("side", SIDES)
def test_seed_set_ups_through_httpx(engine: ModuleType, side: Side) -> None:
    theirs, ours = _client(side, _seed_apps(side, None)), _client(side, _seed_apps(side, engine))
    try:
        for method, path, headers in SEED_REQUESTS:
            expected = _answer(theirs.request(method, path, headers=headers))
            got = _answer(ours.request(method, path, headers=headers))
            assert_same(expected, got, vary_expected=path != "/nowhere")
        preflight = ours.request(*SEED_REQUESTS[2][:2], headers=SEED_REQUESTS[2][2])
        assert preflight.status_code == 200 and preflight.content == b""
        assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
        assert preflight.headers["access-control-allow-methods"] == "GET, POST"
        assert preflight.headers["access-control-allow-headers"] == (
            "Accept, Accept-Language, Authorization, Content-Language, Content-Type"
        )
        assert preflight.headers["access-control-max-age"] == "3600"
        assert preflight.headers["access-control-allow-credentials"] == "false"
        assert preflight.headers["vary"] == "Origin"
    finally:
        theirs.close()
        ours.close()


@pytest.mark.parametrize("side", SIDES)
def test_cors_config_helpers(engine: ModuleType, side: Side) -> None:
    """`Kui(cors_config=...)` = `corsfast.kui.*.Kui(cors_config=...)`; `cors_middleware(cfg)` = `allow_cors(**cfg)`."""
    requests = [r for r in ALL_REQUESTS if r[1] in ("/str", "/raise", "/missing")]
    compare(side, "cors_config", SEED_CONFIG, engine, requests)
    theirs = side.kui.Kui(routes=_routes(side), http_middlewares=[side.kui.allow_cors(**SEED_CONFIG)])
    ours = side.kui.Kui(
        routes=_routes(side), http_middlewares=[side.drop_in.cors_middleware(SEED_CONFIG, _engine=engine)]
    )
    compare_apps(side, "app", theirs, ours, requests)
    # HTTP exceptions: CORS headers with cors_config (outside the exception middleware), none otherwise.
    origin = [(b"origin", b"https://example.com")]
    with_config = send(side, build(side, "cors_config", SEED_CONFIG, engine), "GET", "/raise", origin)
    assert with_config[0] == 418 and (ACAO, b"https://example.com") in with_config[1]
    assert (b"x-teapot", b"1") in with_config[1]
    in_middlewares = send(side, ours, "GET", "/raise", origin)
    assert in_middlewares[0] == 418 and ACAO not in dict(in_middlewares[1])


@pytest.mark.parametrize("side", SIDES)
def test_kui_subclass_without_cors_config_is_kui(side: Side) -> None:
    app = side.drop_in.Kui(routes=_routes(side))
    plain = side.kui.Kui(routes=_routes(side))
    for path in PATHS:
        assert send(side, app, "GET", path, [(b"origin", b"https://a.com")]) == send(
            side, plain, "GET", path, [(b"origin", b"https://a.com")]
        )


@pytest.mark.parametrize("side", SIDES)
def test_http_view_class(engine: ModuleType, side: Side) -> None:
    """`HttpRoute("/v", View) @ cors` wraps each method of the view, as Kui does."""
    config = {"allow_origins": [re.compile(r"https://a\.com")], "expose_headers": ["X-Total"]}
    requests = [
        (method, "/view", [(b"origin", origin)])
        for method in ("GET", "POST", "OPTIONS", "PUT", "DELETE")
        for origin in (b"https://a.com", b"https://b.com")
    ]
    compare(side, "route", config, engine, requests)


# -- the documented deviations -----------------------------------------------------------


@pytest.mark.parametrize("side", SIDES)
def test_vary_origin_where_the_answer_depends_on_it(engine: ModuleType, side: Side) -> None:
    app = build(side, "route", {"allow_origins": [re.compile(r"https://a\.com")]}, engine)
    kui_app = build(side, "route", {"allow_origins": [re.compile(r"https://a\.com")]}, None)
    for origin in (None, b"https://a.com", b"https://b.com"):
        headers = [] if origin is None else [(b"origin", origin)]
        assert dict(send(side, app, "GET", "/str", headers)[1])[VARY] == b"Origin"
        assert VARY not in dict(send(side, kui_app, "GET", "/str", headers)[1])  # Kui never sends Vary
    # Merged, never duplicated.
    assert dict(send(side, app, "GET", "/resp", [(b"origin", b"https://a.com")])[1])[VARY] == b"Accept, Origin"
    assert dict(send(side, app, "GET", "/vary-origin", [(b"origin", b"https://a.com")])[1])[VARY] == b"origin"
    # 404s and unwrapped answers are left alone.
    assert VARY not in dict(send(side, app, "GET", "/missing", [(b"origin", b"https://a.com")])[1])
    assert VARY not in dict(send(side, app, "PUT", "/view", [(b"origin", b"https://a.com")])[1])


@pytest.mark.parametrize("side", SIDES)
def test_allow_headers_order_is_deterministic(engine: ModuleType, side: Side) -> None:
    app = build(side, "route", {"allow_headers": ["X-B", "X-A", "authorization"]}, engine)
    headers = dict(send(side, app, "OPTIONS", "/str", [(b"origin", b"https://a.com")])[1])
    assert headers[ACAH] == b"Accept, Accept-Language, Content-Language, Content-Type, X-A, X-B, authorization"


@pytest.mark.parametrize("side", SIDES)
def test_control_characters_in_origin_pass_through(engine: ModuleType, side: Side) -> None:
    """Kui reflects `\\x01` and raises on `\\n` (baize refuses the header value); corsfast refuses both."""
    config = {"allow_origins": [re.compile(".*", re.S)]}
    ours = build(side, "route", config, engine)
    theirs = build(side, "route", config, None)
    for origin in (b"https://a.com\x01", b"https://a.com\tx", b"https://a.com\x7f"):
        status, headers, body = send(side, ours, "GET", "/str", [(b"origin", origin)])
        assert (status, body) == (200, b"text") and ACAO not in dict(headers)
        assert (ACAO, origin) in send(side, theirs, "GET", "/str", [(b"origin", origin)])[1]
        status, headers, body = send(side, ours, "OPTIONS", "/str", [(b"origin", origin)])
        assert (status, body) == (200, b"text") and ACAO not in dict(headers)  # reached the endpoint
    newline = [(b"origin", b"https://a.com\nx")]
    assert ACAO not in dict(send(side, ours, "GET", "/str", newline)[1])
    with pytest.raises(ValueError, match="control characters"):
        send(side, theirs, "GET", "/str", newline)


@pytest.mark.parametrize("side", SIDES)
def test_overlong_origin_refused(engine: ModuleType, side: Side) -> None:
    config = {"allow_origins": [re.compile(r"https://[a-z.]+")]}
    ours = build(side, "route", config, engine)
    long_origin = b"https://" + b"a" * 2040 + b".com"
    assert ACAO not in dict(send(side, ours, "GET", "/str", [(b"origin", long_origin)])[1])
    just_fits = b"https://" + b"a" * (2048 - 12) + b".com"
    assert (ACAO, just_fits) in send(side, ours, "GET", "/str", [(b"origin", just_fits)])[1]


def _origins() -> Iterator[re.Pattern[str]]:
    yield re.compile(r"https://a\.com")
    yield re.compile(r"https://b\.com")


@pytest.mark.parametrize("side", SIDES)
def test_generator_allow_origins_work_on_every_request(engine: ModuleType, side: Side) -> None:
    ours = build(side, "route", {"allow_origins": _origins()}, engine)
    theirs = build(side, "route", {"allow_origins": _origins()}, None)
    origin = [(b"origin", b"https://a.com")]
    for _ in range(3):
        assert (ACAO, b"https://a.com") in send(side, ours, "GET", "/str", origin)[1]
    assert (ACAO, b"https://b.com") in send(side, ours, "GET", "/str", [(b"origin", b"https://b.com")])[1]
    # Kui's generator is used up: the second request from the same origin gets no CORS headers.
    assert (ACAO, b"https://a.com") in send(side, theirs, "GET", "/str", origin)[1]
    assert ACAO not in dict(send(side, theirs, "GET", "/str", origin)[1])


BAD_CONFIGS = [
    ({"allow_origins": ["https://a.com"]}, TypeError, "compiled re.Pattern"),
    ({"allow_origins": re.compile(".*")}, TypeError, "not a single pattern"),
    ({"allow_origins": "https://a.com"}, TypeError, "bare str"),
    ({"allow_origins": [re.compile(b"x")]}, TypeError, "bytes pattern"),
    ({"allow_methods": ["GET POST"]}, ValueError, "not an HTTP token"),
    ({"allow_methods": "GET"}, TypeError, "bare str"),
    ({"allow_headers": ["X-A\r\nSet-Cookie: x"]}, ValueError, "not an HTTP token"),
    ({"expose_headers": [1]}, TypeError, "must be str"),
    ({"allow_credentials": "yes"}, TypeError, "True or False"),
    ({"max_age": -1}, ValueError, ">= 0"),
    ({"max_age": "600"}, TypeError, "must be an int"),
]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("config", "error", "message"), BAD_CONFIGS)
def test_bad_options_raise_at_construction(
    engine: ModuleType, side: Side, config: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)):
        side.drop_in.allow_cors(**config, _engine=engine)
    with pytest.raises(error, match=re.escape(message)):
        side.drop_in.Kui(cors_config=config, _engine=engine)


@pytest.mark.parametrize("side", SIDES)
def test_string_origin_fails_only_at_request_time_in_kui(side: Side) -> None:
    """The same bad config is accepted by Kui and fails on the first request with an Origin."""
    app = side.kui.Kui(
        routes=[
            side.kui.HttpRoute("/str", _endpoints(side)["/str"]) @ side.kui.allow_cors(allow_origins=["https://a.com"])
        ]
    )
    with pytest.raises(AttributeError, match="fullmatch"):
        send(side, app, "GET", "/str", [(b"origin", b"https://a.com")])


@pytest.mark.parametrize("side", SIDES)
def test_cors_middleware_refuses_unknown_keys(side: Side) -> None:
    with pytest.raises(TypeError, match="unknown keys"):
        side.drop_in.cors_middleware({"allow_origin": [re.compile("x")]})
    with pytest.raises(TypeError, match="mapping"):
        side.drop_in.cors_middleware([("max_age", 1)])  # type: ignore[arg-type]


@pytest.mark.parametrize("side", SIDES)
def test_engine_keyword_picks_the_engine(engine: ModuleType, side: Side) -> None:
    cors = side.drop_in.allow_cors(allow_origins=[re.compile(r"https://a\.com")], _engine=engine)
    assert type(cors.policy) is engine.CORSPolicy
    app = side.kui.Kui(routes=[side.kui.HttpRoute("/str", _endpoints(side)["/str"]) @ cors])
    for _ in range(3):
        send(side, app, "GET", "/str", [(b"origin", b"https://a.com")])
    assert cors.policy.cache_info().hits == 2


def test_signatures_match_kui() -> None:
    import inspect

    for theirs, ours in (
        (kui.asgi.allow_cors, corsfast.kui.asgi.allow_cors),
        (kui.wsgi.allow_cors, corsfast.kui.wsgi.allow_cors),
    ):
        kui_params = inspect.signature(theirs).parameters
        our_params = dict(inspect.signature(ours).parameters)
        assert our_params.pop("_engine").kind is inspect.Parameter.KEYWORD_ONLY
        # corsfast's own keyword-only options: what stats() is named and keeps, the log's rate.
        for extra in ("name", "log_interval", "top_refused_size"):
            assert our_params.pop(extra).kind is inspect.Parameter.KEYWORD_ONLY, extra
        assert list(our_params) == list(kui_params)
        for name, parameter in kui_params.items():
            assert our_params[name].default == parameter.default, name


def test_header_writer_on_other_mappings() -> None:
    """The block writer gives the same headers on a baize MutableHeaders and on any other mapping."""
    from baize.datastructures import MutableHeaders

    from corsfast.kui import _decode, _write

    class OtherHeaders(MutableHeaders):
        pass

    block = ((b"access-control-allow-origin", b"https://a.com"), (b"vary", b"Origin"))
    for app_headers, vary in (
        ({}, "Origin"),
        ({"Vary": "Accept"}, "Accept, Origin"),
        ({"Vary": "ORIGIN"}, "ORIGIN"),
        ({"Vary": "*"}, "*"),
    ):
        fast, slow = MutableHeaders(app_headers), OtherHeaders(app_headers)
        _write(fast, _decode(block))
        _write(slow, _decode(block))
        assert list(fast.items()) == list(slow.items())
        assert fast["vary"] == vary and fast["access-control-allow-origin"] == "https://a.com"


@pytest.mark.parametrize("side", SIDES)
def test_many_origins_through_a_small_memo(engine: ModuleType, side: Side, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoded-block memo is bounded and cleared when full; every answer stays right."""
    import corsfast.kui

    monkeypatch.setattr(corsfast.kui, "MEMO_LIMIT", 3)
    app = build(side, "route", {"allow_origins": [re.compile(r"https://[a-z0-9]+\.example\.com")]}, engine)
    for i in [*range(10), *range(10)]:
        origin = f"https://o{i}.example.com".encode()
        assert dict(send(side, app, "GET", "/str", [(b"origin", origin)])[1])[ACAO] == origin
        assert ACAO not in dict(send(side, app, "GET", "/str", [(b"origin", b"https://evil.com")])[1])


@pytest.mark.parametrize("side", SIDES)
def test_response_converters_apply_as_in_kui(engine: ModuleType, side: Side) -> None:
    """A converter the app registers for an HttpResponse subclass runs as in Kui, also when it
    is registered after the first request (the shim's pass-through memo must not hide it)."""

    class Tagged(side.kui.PlainTextResponse):  # type: ignore[name-defined,misc]
        pass

    class Late(side.kui.PlainTextResponse):  # type: ignore[name-defined,misc]
        pass

    def tag(response: Any) -> Any:
        converted = side.kui.PlainTextResponse(b"converted " + response.content, headers={"X-Converted": "1"})
        return converted

    async def tagged_async() -> Any:
        return Tagged(b"tagged")

    async def late_async() -> Any:
        return Late(b"late")

    def tagged_sync() -> Any:
        return Tagged(b"tagged")

    def late_sync() -> Any:
        return Late(b"late")

    endpoints = (
        {"/tagged": tagged_async, "/late": late_async} if side.is_asgi else {"/tagged": tagged_sync, "/late": late_sync}
    )

    def app(cors: Any) -> Any:
        routes = [side.kui.HttpRoute(path, endpoint) @ cors for path, endpoint in endpoints.items()]
        return side.kui.Kui(routes=routes, response_converters={Tagged: tag})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        theirs = app(side.kui.allow_cors(**SEED_CONFIG))
        ours = app(side.drop_in.allow_cors(**SEED_CONFIG, _engine=engine))
    origin = [(b"origin", b"https://example.com")]
    requests = [("GET", path, headers) for path in ("/tagged", "/late") for headers in ([], origin)]
    compare_apps(side, "route", theirs, ours, requests)
    assert send(side, ours, "GET", "/tagged", origin)[2] == b"converted tagged"
    assert send(side, ours, "GET", "/late", origin)[2] == b"late"
    for kui_app in (theirs, ours):
        kui_app.response_converter.register(Late, tag)
    compare_apps(side, "route", theirs, ours, requests)
    assert send(side, ours, "GET", "/late", origin)[2] == b"converted late"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("when", ["at-construction", "after-first-request"])
def test_http_response_converter_runs_as_often_as_in_kui(engine: ModuleType, side: Side, when: str) -> None:
    """An app-wide converter for HttpResponse itself runs exactly as many times as under Kui's
    CORS: twice for an allowed origin (Kui's wrapper converts, then Kui), once otherwise."""

    def count(response: Any) -> Any:
        response.headers["x-conversions"] = str(int(response.headers.get("x-conversions", "0")) + 1)
        return response

    async def text_async() -> Any:
        return side.kui.PlainTextResponse(b"text")

    async def data_async() -> Any:
        return {"data": 1}

    def text_sync() -> Any:
        return side.kui.PlainTextResponse(b"text")

    def data_sync() -> Any:
        return {"data": 1}

    endpoints = {"/text": text_async, "/data": data_async} if side.is_asgi else {"/text": text_sync, "/data": data_sync}
    converters = {side.kui.HttpResponse: count} if when == "at-construction" else {}

    def app(cors: Any) -> Any:
        routes = [side.kui.HttpRoute(path, endpoint) @ cors for path, endpoint in endpoints.items()]
        return side.kui.Kui(routes=routes, response_converters=converters)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        theirs = app(side.kui.allow_cors(**SEED_CONFIG))
        ours = app(side.drop_in.allow_cors(**SEED_CONFIG, _engine=engine))
    allowed = [(b"origin", b"https://example.com")]
    refused = [(b"origin", b"https://evil.example")]
    preflight = [*allowed, (b"access-control-request-method", b"GET")]
    requests = [("GET", path, headers) for path in endpoints for headers in ([], allowed, refused)]
    requests.append(("OPTIONS", "/text", preflight))

    def compare_all(overridden: bool) -> None:
        for method, path, headers in requests:
            # With HttpResponse's converter replaced, a dict for an origin Kui's CORS passes on
            # is left for Kui to convert (once, as without corsfast): no Vary, as in Kui.
            vary = not (overridden and path == "/data" and headers != allowed)
            assert_same(send(side, theirs, method, path, headers), send(side, ours, method, path, headers), vary)

    compare_all(when == "at-construction")
    if when == "after-first-request":
        for kui_app in (theirs, ours):
            kui_app.response_converter.register(side.kui.HttpResponse, count)
        compare_all(True)
    conversions = {
        name: [v for k, v in send(side, ours, "GET", "/text", headers)[1] if k == b"x-conversions"]
        for name, headers in (("none", []), ("allowed", allowed), ("refused", refused))
    }
    assert conversions == {"none": [b"1"], "allowed": [b"2"], "refused": [b"1"]}
