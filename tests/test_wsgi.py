"""corsfast.wsgi.CORSMiddleware: the native middleware's answers for WSGI apps, on both engines.

Unit tests drive raw WSGI apps and compare every answer with the native ASGI middleware's
for the same options, request and app response. Server tests put a real Flask app and a
real Django view behind the middleware, served by waitress on 127.0.0.1, and check them
with real HTTP requests, including 8 client threads against the 8-thread server.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sys
import threading
import types
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Optional
from wsgiref.validate import validator

import httpx
import pytest
from cases import wsgi_environ
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast.wsgi
from corsfast import CORSConfigWarning

StrHeaders = list[tuple[str, str]]
Answer = tuple[int, StrHeaders, bytes]


# -- raw apps and calls --------------------------------------------------------------------


class RawApp:
    """A WSGI app and an ASGI app answering the same status, headers and body; counts calls."""

    def __init__(self, status: int = 200, headers: Optional[StrHeaders] = None, body: bytes = b"app body") -> None:
        self.status = status
        self.headers = headers if headers is not None else [("content-type", "text/plain")]
        self.body = body
        self.calls = 0

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        self.calls += 1
        start_response(f"{self.status} Whatever", list(self.headers))
        return [self.body]

    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def call_wsgi(app: Any, method: str, headers: StrHeaders) -> tuple[str, StrHeaders, bytes]:
    started: list[Any] = []

    def start_response(status: str, response_headers: StrHeaders, exc_info: Any = None) -> Callable[[bytes], None]:
        started[:] = [status, response_headers]
        return lambda data: None

    result = app(wsgi_environ(method, headers), start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started[0], started[1], body


def call_asgi(app: Any, method: str, headers: StrHeaders) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], [(k.decode("latin-1"), v.decode("latin-1")) for k, v in sent[0]["headers"]], body


def both(options: dict[str, Any], engine: ModuleType, raw: RawApp) -> tuple[Any, Any]:
    """Return (WSGI middleware, native ASGI middleware) around `raw`, same options and engine."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return (
            corsfast.wsgi.CORSMiddleware(raw.wsgi, **options, _engine=engine),
            corsfast.CORSMiddleware(raw.asgi, **options, _engine=engine),
        )


def assert_same_as_asgi(
    options: dict[str, Any], engine: ModuleType, raw: RawApp, method: str, headers: StrHeaders
) -> None:
    wsgi_app, asgi_app = both(options, engine, raw)
    raw.calls = 0
    status_line, wsgi_headers, wsgi_body = call_wsgi(wsgi_app, method, headers)
    wsgi_calls = raw.calls
    status, asgi_headers, asgi_body = call_asgi(asgi_app, method, headers)
    assert raw.calls - wsgi_calls == wsgi_calls  # the app is called by both or by neither
    assert int(status_line.split()[0]) == status
    if not wsgi_calls:
        assert status_line == "200 OK"
    assert all(type(k) is str and type(v) is str for k, v in wsgi_headers)
    assert wsgi_headers == asgi_headers
    assert wsgi_body == asgi_body


# -- same answers as the native ASGI middleware ------------------------------------------

OPTION_SETS = [
    {},
    {"allow_origins": ["https://a.com", "https://b.com"], "allow_credentials": True, "expose_headers": ["X-Total"]},
    {
        "allow_origins": ["https://*.example.com"],
        "allow_methods": ["GET", "POST"],
        "allow_headers": ["X-Token"],
        "max_age": 60,
    },
    {"allow_origins": [re.compile(r"https://[a-z]+\.org")], "allow_private_network": True},
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "allow_credentials": True},
    {"allow_origins": []},
]
ORIGINS = [
    None,
    "https://a.com",
    "https://b.com",
    "https://app.example.com",
    "https://x.org",
    "null",
    "https://evil.com",
    "",
]
APP_HEADERS: list[StrHeaders] = [
    [],
    [("content-type", "text/plain")],
    [("content-type", "text/html"), ("vary", "accept-encoding")],
    [("vary", "Origin")],
    [("access-control-allow-origin", "app-set"), ("x-app", "1")],
]


@st.composite
def request_headers(draw: st.DrawFn) -> StrHeaders:
    headers: StrHeaders = []
    origin = draw(st.sampled_from(ORIGINS))
    if origin is not None:
        headers.append(("origin", origin))
    if draw(st.booleans()):
        headers.append(("access-control-request-method", draw(st.sampled_from(["GET", "PUT", "DELETE", "G T"]))))
    if draw(st.booleans()):
        headers.append(
            ("access-control-request-headers", draw(st.sampled_from(["x-token", "x-token, x-other", "a b"])))
        )
    if draw(st.booleans()):
        headers.append(("access-control-request-private-network", "true"))
    return headers


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    options=st.sampled_from(OPTION_SETS),
    method=st.sampled_from(["GET", "POST", "OPTIONS", "OPTIONS", "PUT"]),
    headers=request_headers(),
    app_headers=st.sampled_from(APP_HEADERS),
    status=st.sampled_from([200, 204, 404, 500]),
)
def test_same_answers_as_native_asgi(
    engine: ModuleType, options: dict[str, Any], method: str, headers: StrHeaders, app_headers: StrHeaders, status: int
) -> None:
    assert_same_as_asgi(options, engine, RawApp(status, app_headers), method, headers)


def test_preflight_answered_without_the_app(engine: ModuleType) -> None:
    raw = RawApp()
    app = corsfast.wsgi.CORSMiddleware(
        raw.wsgi, allow_origins=["https://a.com"], allow_headers=["X-Token"], max_age=60, _engine=engine
    )
    status, headers, body = call_wsgi(
        app, "OPTIONS", [("Origin", "https://a.com"), ("Access-Control-Request-Method", "PUT")]
    )
    assert (status, body, raw.calls) == ("200 OK", b"", 0)
    assert headers == [
        ("access-control-allow-origin", "https://a.com"),
        ("access-control-allow-methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        ("access-control-allow-headers", "X-Token, Accept, Accept-Language, Content-Language, Content-Type"),
        ("access-control-max-age", "60"),
        ("vary", "Origin"),
        ("content-length", "0"),
    ]
    # Refused origin, or no Access-Control-Request-Method: the app answers.
    call_wsgi(app, "OPTIONS", [("Origin", "https://evil.com"), ("Access-Control-Request-Method", "PUT")])
    call_wsgi(app, "OPTIONS", [("Origin", "https://a.com")])
    assert raw.calls == 2


def test_app_header_spelling_kept_and_merged(engine: ModuleType) -> None:
    """WSGI apps spell names as they like; the engine merges by name, the app's spelling stays."""
    raw = RawApp(
        headers=[("Content-Type", "text/plain"), ("Vary", "Accept-Encoding"), ("Access-Control-Allow-Origin", "x")]
    )
    app = corsfast.wsgi.CORSMiddleware(raw.wsgi, allow_origins=["https://a.com"], _engine=engine)
    _, headers, _ = call_wsgi(app, "GET", [("Origin", "https://a.com")])
    assert headers == [
        ("Content-Type", "text/plain"),
        ("Vary", "Accept-Encoding, Origin"),
        ("Access-Control-Allow-Origin", "https://a.com"),
    ]
    _, headers, _ = call_wsgi(app, "GET", [("Origin", "https://evil.com")])
    assert headers == [
        ("Content-Type", "text/plain"),
        ("Vary", "Accept-Encoding, Origin"),
        ("Access-Control-Allow-Origin", "x"),
    ]


class StreamingBody:
    """An app iterable that streams lazily, calls start_response on first iteration, and records close()."""

    def __init__(self, start_response: Callable[..., Any]) -> None:
        self.start_response = start_response
        self.closed = False
        self.chunks = [b"one", b"two", b"three"]

    def __iter__(self) -> Iterator[bytes]:
        self.start_response("200 OK", [("Content-Type", "text/plain")])
        yield from self.chunks

    def close(self) -> None:
        self.closed = True


def test_streaming_body_and_close_pass_through(engine: ModuleType) -> None:
    bodies: list[StreamingBody] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> StreamingBody:
        bodies.append(StreamingBody(start_response))
        return bodies[-1]

    middleware = corsfast.wsgi.CORSMiddleware(app, allow_origins=["https://a.com"], _engine=engine)
    started: list[Any] = []
    result = middleware(wsgi_environ("GET", [("Origin", "https://a.com")]), lambda s, h, e=None: started.append((s, h)))
    assert result is bodies[0]  # the app's own iterable: nothing buffered, nothing wrapped
    assert started == []  # start_response not called yet: the app starts lazily
    assert list(result) == [b"one", b"two", b"three"]
    assert started == [
        (
            "200 OK",
            [("Content-Type", "text/plain"), ("access-control-allow-origin", "https://a.com"), ("vary", "Origin")],
        )
    ]
    result.close()
    assert bodies[0].closed


def test_exc_info_and_write_callable_passed_along(engine: ModuleType) -> None:
    written: list[bytes] = []
    calls: list[tuple[Any, ...]] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            write = start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        write(b"written ")
        return [b"failed"]

    def start_response(status: str, headers: StrHeaders, exc_info: Any = None) -> Callable[[bytes], None]:
        calls.append((status, headers, exc_info))
        return written.append

    middleware = corsfast.wsgi.CORSMiddleware(app, allow_origins=["https://a.com"], _engine=engine)
    assert b"".join(middleware(wsgi_environ("GET", [("Origin", "https://a.com")]), start_response)) == b"failed"
    assert written == [b"written "]
    assert [c[0] for c in calls] == ["200 OK", "500 Internal Server Error"]
    assert calls[0][2] is None and len(calls[0]) == 3
    assert calls[1][2][0] is RuntimeError
    assert ("access-control-allow-origin", "https://a.com") in calls[1][1]


def test_pep3333_validator(engine: ModuleType) -> None:
    """wsgiref's validator on both sides of the middleware: types, status line, close()."""
    raw = RawApp(headers=[("Content-Type", "text/plain")])
    middleware = corsfast.wsgi.CORSMiddleware(validator(raw.wsgi), allow_origins=["https://a.com"], _engine=engine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method, headers in [
            ("GET", [("Origin", "https://a.com")]),
            ("GET", []),
            ("OPTIONS", [("Origin", "https://evil.com"), ("Access-Control-Request-Method", "GET")]),
        ]:
            call_wsgi(validator(middleware), method, headers)
        # The validator wants a Content-Type on every 200; an empty preflight answer has none
        # (as the native ASGI middleware's, Kui's and django-cors-headers' have none).
        preflight = [("Origin", "https://a.com"), ("Access-Control-Request-Method", "GET")]
        with pytest.raises(AssertionError, match="No Content-Type"):
            call_wsgi(validator(middleware), "OPTIONS", preflight)
        assert call_wsgi(middleware, "OPTIONS", preflight)[0] == "200 OK"


def test_options_and_defaults_match_the_native_middleware() -> None:
    import inspect

    native = dict(inspect.signature(corsfast.CORSMiddleware.__init__).parameters)
    ours = dict(inspect.signature(corsfast.wsgi.CORSMiddleware.__init__).parameters)
    assert list(ours) == list(native)
    for name, parameter in native.items():
        assert (ours[name].default, ours[name].kind) == (parameter.default, parameter.kind), name


def test_bad_options_raise_at_construction(engine: ModuleType) -> None:
    with pytest.raises(TypeError, match="bare str"):
        corsfast.wsgi.CORSMiddleware(RawApp().wsgi, allow_origins="https://a.com", _engine=engine)
    with pytest.raises(ValueError, match="wildcard"):
        corsfast.wsgi.CORSMiddleware(RawApp().wsgi, allow_origins=["https://*"], _engine=engine)
    with pytest.raises(ValueError, match="strict"):
        corsfast.wsgi.CORSMiddleware(
            RawApp().wsgi, allow_origins=["*"], allow_credentials=True, strict=True, _engine=engine
        )


def test_engine_keyword_and_cache(engine: ModuleType) -> None:
    app = corsfast.wsgi.CORSMiddleware(RawApp().wsgi, allow_origins=["https://a.com"], cache_size=8, _engine=engine)
    assert type(app.policy) is engine.CORSPolicy
    for _ in range(3):
        call_wsgi(app, "GET", [("Origin", "https://a.com")])
    assert app.cache_info() == (2, 1, 8, 1)
    app.cache_clear()
    assert app.cache_info() == (0, 0, 8, 0)


def test_control_characters_and_long_origins_refused(engine: ModuleType) -> None:
    app = corsfast.wsgi.CORSMiddleware(RawApp().wsgi, allow_origins=[re.compile(".*", re.S)], _engine=engine)
    for origin in ("https://a.com\r\nSet-Cookie: x", "https://a.com\x00", "https://" + "a" * 3000 + ".com"):
        _, headers, _ = call_wsgi(app, "GET", [("Origin", origin)])
        assert headers == [("content-type", "text/plain"), ("vary", "Origin")]


def test_kui_wsgi_app_behind_the_middleware(engine: ModuleType) -> None:
    import kui.wsgi

    def hello() -> str:
        return "hello"

    kui_app = kui.wsgi.Kui(routes=[kui.wsgi.HttpRoute("/", hello)])
    app = corsfast.wsgi.CORSMiddleware(kui_app, allow_origins=["https://a.com"], _engine=engine)
    status, headers, body = call_wsgi(app, "GET", [("Origin", "https://a.com")])
    assert (status, body) == ("200 OK", b"hello")
    assert headers[-2:] == [("access-control-allow-origin", "https://a.com"), ("vary", "Origin")]


# -- real Flask and Django apps under waitress -------------------------------------------


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` with waitress (8 threads) on a free 127.0.0.1 port; always stopped."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=8)
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        # Close every socket from the loop's own thread: closing them from here races the
        # loop's select() on them ("Bad file descriptor" in the server thread under load).
        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        try:
            server.trigger.pull_trigger(close_all)
        except OSError:
            # The loop, woken by a request ending meanwhile, ran close_all (which closes the
            # trigger too) before the wake-up byte was written: stopped all the same (below).
            pass
        thread.join(10)
        server.task_dispatcher.shutdown()
        assert not thread.is_alive()


def flask_app(engine: ModuleType, calls: list[str]) -> Any:
    from flask import Flask, Response, jsonify

    app = Flask("corsfast_test_flask")

    @app.route("/api", methods=["GET", "POST", "PUT"])
    def api() -> Any:
        calls.append("api")
        return jsonify(ok=True)

    @app.route("/stream")
    def stream() -> Any:
        return Response((chunk for chunk in (b"a", b"b", b"c")), mimetype="text/plain")

    app.wsgi_app = corsfast.wsgi.CORSMiddleware(  # type: ignore[method-assign]
        app.wsgi_app,
        allow_origins=["https://app.example.com", "https://*.example.org"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Total"],
        _engine=engine,
    )
    return app


_DJANGO_URLS = "corsfast_test_django_urls"


def django_app(engine: ModuleType, calls: list[str]) -> Any:
    """Return a Django view behind the middleware; call inside `django_settings()`."""
    from django.core.wsgi import get_wsgi_application
    from django.http import JsonResponse
    from django.urls import path

    def api(request: Any) -> Any:
        calls.append("api")
        response = JsonResponse({"ok": True, "method": request.method})
        response["Vary"] = "Accept-Encoding"
        return response

    urls = types.ModuleType(_DJANGO_URLS)
    urls.urlpatterns = [path("api", api)]  # type: ignore[attr-defined]
    sys.modules[_DJANGO_URLS] = urls
    return corsfast.wsgi.CORSMiddleware(
        get_wsgi_application(),
        allow_origins=["https://app.example.com", "https://*.example.org"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Total"],
        _engine=engine,
    )


@contextmanager
def django_settings() -> Iterator[None]:
    """Minimal Django settings (configured once per process), pinned for the duration."""
    import django
    from django.conf import settings
    from django.test.utils import override_settings

    if not settings.configured:
        settings.configure(SECRET_KEY="corsfast-tests", INSTALLED_APPS=[], USE_TZ=True)
        django.setup()
    # Another test module may have configured Django: pin what this one needs.
    with override_settings(ROOT_URLCONF=_DJANGO_URLS, ALLOWED_HOSTS=["127.0.0.1"], MIDDLEWARE=[], DEBUG=False):
        try:
            yield
        finally:
            sys.modules.pop(_DJANGO_URLS, None)


@contextmanager
def framework_server(framework: str, engine: ModuleType, calls: list[str]) -> Iterator[str]:
    if framework == "flask":
        with serve(flask_app(engine, calls)) as url:
            yield url
        return
    with django_settings(), serve(django_app(engine, calls)) as url:
        yield url


PREFLIGHT = {
    "Origin": "https://app.example.com",
    "Access-Control-Request-Method": "PUT",
    "Access-Control-Request-Headers": "x-token",
}


def check_preflight(response: httpx.Response) -> None:
    assert response.status_code == 200 and response.content == b""
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-allow-methods"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert (
        response.headers["access-control-allow-headers"]
        == "X-Token, Accept, Accept-Language, Content-Language, Content-Type"
    )
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"
    assert response.headers["content-length"] == "0"


def check_allowed(response: httpx.Response, origin: str) -> None:
    assert response.status_code == 200 and response.json()["ok"] is True
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == "X-Total"
    assert "origin" in response.headers["vary"].lower()
    assert "access-control-allow-methods" not in response.headers


def check_refused(response: httpx.Response) -> None:
    assert response.status_code == 200 and response.json()["ok"] is True
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers
    assert "origin" in response.headers["vary"].lower()


@pytest.mark.server
@pytest.mark.parametrize("framework", ["flask", "django"])
def test_framework_behind_waitress(engine: ModuleType, framework: str) -> None:
    calls: list[str] = []
    with framework_server(framework, engine, calls) as url, httpx.Client(base_url=url, timeout=10) as client:
        check_preflight(client.options("/api", headers=PREFLIGHT))
        assert calls == []  # answered by the middleware
        check_allowed(client.get("/api", headers={"Origin": "https://app.example.com"}), "https://app.example.com")
        check_allowed(client.post("/api", headers={"Origin": "https://shop.example.org"}), "https://shop.example.org")
        check_refused(client.get("/api", headers={"Origin": "https://evil.com"}))
        check_refused(client.get("/api"))
        refused_preflight = client.options("/api", headers={**PREFLIGHT, "Origin": "https://evil.com"})
        assert "access-control-allow-origin" not in refused_preflight.headers  # the framework answered it
        assert len(calls) == 4 + (framework == "django")  # Flask answers OPTIONS without the view
        if framework == "django":
            vary = client.get("/api", headers={"Origin": "https://app.example.com"}).headers.get_list("vary")
            assert vary == ["Accept-Encoding, Origin"]  # merged into Django's header, its spelling kept
        else:
            streamed = client.get("/stream", headers={"Origin": "https://app.example.com"})
            assert streamed.content == b"abc"
            assert streamed.headers["access-control-allow-origin"] == "https://app.example.com"


@pytest.mark.server
@pytest.mark.parametrize("framework", ["flask", "django"])
def test_thread_pool_under_concurrent_requests(engine: ModuleType, framework: str) -> None:
    """8 client threads x 200 requests (allowed, refused, preflight) against 8 server threads."""
    kinds = ("allowed", "allowed-wildcard", "refused", "preflight", "no-origin")

    def worker(index: int, url: str) -> int:
        checked = 0
        with httpx.Client(base_url=url, timeout=10) as client:
            for i in range(200):
                kind = kinds[(index + i) % len(kinds)]
                if kind == "preflight":
                    check_preflight(client.options("/api", headers=PREFLIGHT))
                elif kind == "allowed":
                    check_allowed(
                        client.get("/api", headers={"Origin": "https://app.example.com"}), "https://app.example.com"
                    )
                elif kind == "allowed-wildcard":
                    origin = f"https://t{index}x{i}.example.org"  # many distinct origins: cache misses too
                    check_allowed(client.get("/api", headers={"Origin": origin}), origin)
                elif kind == "refused":
                    check_refused(client.get("/api", headers={"Origin": f"https://evil{i}.com"}))
                else:
                    check_refused(client.get("/api"))
                checked += 1
        return checked

    calls: list[str] = []
    with framework_server(framework, engine, calls) as url, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(worker, range(8), [url] * 8))
    assert results == [200] * 8
    assert len(calls) == 8 * 200 * 4 // 5  # every request but the preflights reached the view


# -- the header merge of the WSGI call, compiled against the twin ------------------------------

WSGI_NAMES = st.sampled_from(
    [
        "Content-Type",
        "content-type",
        "Vary",
        "VARY",
        "vary",
        "Access-Control-Allow-Origin",
        "access-control-allow-origin",
        "Access-Control-Allow-Credentials",
        "ACCESS-CONTROL-EXPOSE-HEADERS",
        "X-Ä",
        "x-ä",
        "X-\u0100",
        "Varz",
    ]
)
WSGI_VALUES = st.one_of(
    st.sampled_from(["text/plain", "Origin", "Accept, Origin", "*", "https://a.example", "é", "\u20ac", ""]),
    st.text(alphabet="aB, *\té\u0100", max_size=8),
)


def _reference_merge(policy: Any, entry: Any, headers: list[Any]) -> list[tuple[str, str]]:
    """What the WSGI middleware wrote before it had a fast path: every header through the
    engine as lower-cased bytes, each kept name in the app's first spelling of it."""
    spelling: dict[str, str] = {}
    encoded = []
    for name, value in headers:
        lowered = name.lower()
        if lowered != name:
            spelling.setdefault(lowered, name)
        encoded.append((lowered.encode("latin-1"), value.encode("latin-1")))
    return [
        (spelling.get(n.decode("latin-1"), n.decode("latin-1")), v.decode("latin-1"))
        for n, v in policy.entry_headers(entry, encoded)
    ]


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", call())
    except Exception as error:  # the exception type is the answer compared
        return ("raised", type(error))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    headers=st.lists(st.tuples(WSGI_NAMES, WSGI_VALUES), max_size=6),
    origin=st.sampled_from([b"https://a.example", b"https://evil.example"]),
    credentials=st.booleans(),
)
def test_wsgi_headers_equal_the_twin_and_the_reference(
    engine: ModuleType, headers: list[tuple[str, str]], origin: bytes, credentials: bool
) -> None:
    from conftest import PY_ENGINE

    answers = []
    for each in (engine, PY_ENGINE.module):
        policy = corsfast.wsgi.CORSMiddleware(
            RawApp().wsgi,
            allow_origins=["https://a.example"],
            allow_credentials=credentials,
            expose_headers=["X-E"],
            _engine=each,
        ).policy
        entry = policy.lookup(origin)
        answers.append(_outcome(functools.partial(each.wsgi_headers, policy, entry, list(headers))))
        expected = _outcome(functools.partial(_reference_merge, policy, entry, list(headers)))
    got = answers[0]
    assert got == answers[1]  # the compiled engine's fast path gives the twin's answer
    names = [name.lower() for name, _ in headers]
    if len(set(names)) == len(names) or got[0] == "raised":
        assert got == expected, (headers, got, expected)
    else:
        # Names repeated in other cases: the reference respells the later ones as the first;
        # when no CORS header is among them the app's own spellings are kept.
        assert got == expected or got[1][: len(headers)] == headers, (headers, got, expected)
