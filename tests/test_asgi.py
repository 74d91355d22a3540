"""The native middleware, `corsfast.CORSMiddleware`, through raw ASGI on both engines."""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import warnings
from types import ModuleType
from typing import Any

import pytest
from cases import RecordingApp, request_headers, run_sync
from conftest import C_ENGINE, PY_ENGINE

import corsfast
import corsfast.starlette

ACAO = b"access-control-allow-origin"
ACEH = b"access-control-expose-headers"
VARY = b"vary"


def http_scope(method: str = "GET", headers: Any = ()) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": "/api/data",
        "raw_path": b"/api/data",
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 443),
    }


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def call(middleware: Any, scope: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    run_sync(middleware(scope, receive, send))
    return messages


def start_headers(messages: list[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    assert messages[0]["type"] == "http.response.start"
    return [tuple(h) for h in messages[0]["headers"]]  # type: ignore[misc]


# -- the seed document's examples --------------------------------------------------------


def seed_cors_config() -> dict[str, Any]:
    # Verbatim from the seed's "App-Level CORS" example.
    return {
        "allow_origins": [re.compile(r"https://example\.com")],
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["X-Request-Id"],
        "allow_credentials": False,
        "max_age": 600,
    }


def test_seed_app_level_cors(engine: ModuleType) -> None:
    app = RecordingApp(headers=[(b"content-type", b"application/json"), (b"x-request-id", b"42")])
    middleware = corsfast.CORSMiddleware(app, **seed_cors_config(), _engine=engine)

    # "For OPTIONS preflight requests, returns an empty 200 response with CORS headers"
    messages = call(
        middleware,
        http_scope("OPTIONS", request_headers(b"https://example.com", b"PUT", b"authorization, content-type")),
    )
    assert messages[0]["status"] == 200 and messages[1]["body"] == b""
    assert dict(start_headers(messages)) == {
        ACAO: b"https://example.com",
        b"access-control-allow-methods": b"GET, POST, PUT, DELETE",
        b"access-control-allow-headers": b"Authorization, Content-Type, Accept, Accept-Language, Content-Language",
        b"access-control-max-age": b"600",
        VARY: b"Origin",
        b"content-length": b"0",
    }
    assert app.calls == []

    # "For normal requests, calls the endpoint and adds CORS headers to the response"
    messages = call(middleware, http_scope("POST", request_headers(b"https://example.com")))
    assert len(app.calls) == 1
    assert start_headers(messages) == [
        (b"content-type", b"application/json"),
        (b"x-request-id", b"42"),
        (ACAO, b"https://example.com"),
        (ACEH, b"X-Request-Id"),
        (VARY, b"Origin"),
    ]
    assert b"access-control-allow-credentials" not in dict(start_headers(messages))  # allow_credentials=False

    # "If the origin does not match (or no Origin header), the request passes through"
    for headers in (
        request_headers(b"https://example.com.evil.com"),
        request_headers(b"https://sub.example.com"),
        request_headers(),
    ):
        messages = call(middleware, http_scope("GET", headers))
        assert start_headers(messages) == [
            (b"content-type", b"application/json"),
            (b"x-request-id", b"42"),
            (VARY, b"Origin"),
        ]
    # ... and so does a preflight from an origin that does not match.
    messages = call(middleware, http_scope("OPTIONS", request_headers(b"http://example.com", b"PUT")))
    assert messages[1]["body"] == app.body and not any(
        k.startswith(b"access-control-") for k, _ in start_headers(messages)
    )
    assert len(app.calls) == 5


def test_seed_per_route_cors(engine: ModuleType) -> None:
    # The seed's "Per-Route CORS" example: allow_cors(...) with a subdomain pattern.
    app = RecordingApp()
    middleware = _quiet(
        corsfast.CORSMiddleware,
        app,
        allow_origins=[re.compile(r"https://.*\.example\.com")],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization"],
        max_age=3600,
        _engine=engine,
    )
    messages = call(middleware, http_scope("OPTIONS", request_headers(b"https://app.example.com", b"POST")))
    assert dict(start_headers(messages)) == {
        ACAO: b"https://app.example.com",
        b"access-control-allow-methods": b"GET, POST",
        b"access-control-allow-headers": b"Authorization, Accept, Accept-Language, Content-Language, Content-Type",
        b"access-control-max-age": b"3600",
        VARY: b"Origin",
        b"content-length": b"0",
    }
    # Defaults the example leaves out: no credentials, nothing exposed.
    messages = call(middleware, http_scope("GET", request_headers(b"https://app.example.com")))
    assert start_headers(messages)[-2:] == [(ACAO, b"https://app.example.com"), (VARY, b"Origin")]
    assert b"access-control-allow-credentials" not in dict(start_headers(messages))
    assert ACEH not in dict(start_headers(messages))
    for refused in (b"https://example.com", b"http://app.example.com", b"https://app.example.com.evil.com"):
        messages = call(middleware, http_scope("GET", request_headers(refused)))
        assert ACAO not in dict(start_headers(messages))


def _quiet(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Build a middleware whose pattern the lint may flag (the seed's `.*` spans `/`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", corsfast.CORSConfigWarning)
        return factory(*args, **kwargs)


def test_defaults_allow_no_origin_and_warn(engine: ModuleType) -> None:
    # Safe by default: nothing named, nothing allowed; the warning says how to allow some.
    app = RecordingApp()
    with pytest.warns(corsfast.CORSConfigWarning, match=r"no origin is allowed .* allow_origins=\["):
        middleware = corsfast.CORSMiddleware(app, _engine=engine)
    for scope in (
        http_scope("GET", request_headers(b"https://anywhere.test")),
        http_scope("OPTIONS", request_headers(b"https://anywhere.test", b"GET")),
    ):
        messages = call(middleware, scope)
        assert not any(name.startswith(b"access-control-") for name, _ in start_headers(messages))
        assert start_headers(messages)[-1] == (VARY, b"Origin")
    assert len(app.calls) == 2  # the refused preflight is the app's business
    with pytest.raises(ValueError, match="no origin is allowed"):
        corsfast.CORSMiddleware(app, strict=True, _engine=engine)


@pytest.mark.parametrize("options", [{"allow_origins": ["https://a.test"]}, {"allow_origin_func": str.islower}])
def test_an_origin_rule_or_function_is_enough_to_stay_quiet(engine: ModuleType, options: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corsfast.CORSMiddleware(RecordingApp(), **options, _engine=engine)


def test_default_methods_are_the_safelisted_ones_and_api_verbs(engine: ModuleType) -> None:
    middleware = corsfast.CORSMiddleware(RecordingApp(), allow_origins=["*"], _engine=engine)
    messages = call(middleware, http_scope("OPTIONS", request_headers(b"https://anywhere.test", b"DELETE")))
    assert start_headers(messages) == [
        (ACAO, b"*"),
        (b"access-control-allow-methods", b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        (b"access-control-allow-headers", b"Accept, Accept-Language, Content-Language, Content-Type"),
        (b"access-control-max-age", b"600"),
        (b"content-length", b"0"),
    ]
    methods = dict(start_headers(messages))[b"access-control-allow-methods"].split(b", ")
    assert methods[:3] == [b"GET", b"HEAD", b"POST"]  # the CORS-safelisted methods come first
    assert b"TRACE" not in methods and b"CONNECT" not in methods  # methods browsers never send


# -- preflights and the app ------------------------------------------------------------------


def test_allowed_preflight_does_not_call_app(engine: ModuleType) -> None:
    app = RecordingApp()
    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    messages = call(middleware, http_scope("OPTIONS", request_headers(b"https://example.com", b"GET")))
    assert app.calls == []
    assert [m["type"] for m in messages] == ["http.response.start", "http.response.body"]
    assert messages[0]["status"] == 200 and messages[1]["body"] == b""
    assert messages[1].get("more_body", False) is False


def test_refused_preflight_calls_app(engine: ModuleType) -> None:
    app = RecordingApp(status=405, body=b"Method Not Allowed")
    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    scope = http_scope("OPTIONS", request_headers(b"https://evil.com", b"GET"))
    messages = call(middleware, scope)
    assert app.calls == [scope]
    assert messages[0]["status"] == 405 and messages[1]["body"] == b"Method Not Allowed"
    assert start_headers(messages)[-1] == (VARY, b"Origin")


def test_options_without_acrm_calls_app(engine: ModuleType) -> None:
    app = RecordingApp(status=204, body=b"")
    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    messages = call(middleware, http_scope("OPTIONS", request_headers(b"https://example.com")))
    assert len(app.calls) == 1
    assert messages[0]["status"] == 204
    assert (ACAO, b"https://example.com") in start_headers(messages)


# -- pass-through -------------------------------------------------------------------------------


class PassThroughApp:
    """Records exactly what it was called with and returns a sentinel awaitable."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any, Any]] = []

    def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        self.calls.append((scope, receive, send))
        return self.awaitable(scope, send)

    async def awaitable(self, scope: Any, send: Any) -> str:
        if scope["type"] == "lifespan":
            await send({"type": "lifespan.startup.complete"})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.accept", "headers": [(b"x-ws", b"1")]})
        return "done"


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
def test_non_http_scopes_pass_straight_through(engine: ModuleType, scope_type: str) -> None:
    app = PassThroughApp()
    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    scope: dict[str, Any] = {"type": scope_type, "asgi": {"version": "3.0"}}
    if scope_type == "websocket":
        scope.update(path="/ws", headers=[(b"origin", b"https://example.com")], subprotocols=[])
    snapshot = {**scope}
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    awaitable = middleware(scope, receive, send)
    # The app's own awaitable: no wrapper, no extra coroutine frame.
    assert inspect.iscoroutine(awaitable) and awaitable.cr_code is PassThroughApp.awaitable.__code__
    assert run_sync(awaitable) == "done"
    ((called_scope, called_receive, called_send),) = app.calls
    assert called_scope is scope and called_receive is receive and called_send is send
    assert scope == snapshot
    if scope_type == "websocket":
        assert messages == [{"type": "websocket.accept", "headers": [(b"x-ws", b"1")]}]
    else:
        assert messages == [{"type": "lifespan.startup.complete"}]
    assert middleware.cache_info().misses == 0


def test_http_returns_the_apps_awaitable(engine: ModuleType) -> None:
    app = PassThroughApp()
    middleware = corsfast.CORSMiddleware(app, allow_origins=["*"], _engine=engine)
    scope = http_scope("GET", request_headers(b"https://a.test"))
    awaitable = middleware(scope, receive, lambda message: None)
    assert inspect.iscoroutine(awaitable) and awaitable.cr_code is PassThroughApp.awaitable.__code__
    awaitable.close()
    ((called_scope, called_receive, _),) = app.calls
    assert called_scope is scope and called_receive is receive


def test_streaming_body_untouched(engine: ModuleType) -> None:
    chunks = [{"type": "http.response.body", "body": b"chunk %d" % i, "more_body": True} for i in range(3)]
    final = {"type": "http.response.body", "body": b"", "more_body": False}
    trailers = {"type": "http.response.trailers", "headers": [(b"x-checksum", b"1")], "more_trailers": False}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"transfer-encoding", b"chunked")],
                "trailers": True,
            }
        )
        for chunk in chunks:
            await send(chunk)
        await send(final)
        await send(trailers)

    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    messages = call(middleware, http_scope("GET", request_headers(b"https://example.com")))
    assert messages[0] == {
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"transfer-encoding", b"chunked"), (ACAO, b"https://example.com"), (VARY, b"Origin")],
        "trailers": True,
    }
    assert len(messages) == 6
    for sent, original in zip(messages[1:], [*chunks, final, trailers]):
        assert sent is original
    assert trailers["headers"] == [(b"x-checksum", b"1")]


def test_second_start_message_is_not_edited(engine: ModuleType) -> None:
    # Only the first start is a response start; anything after it is forwarded as it is.
    second = {"type": "http.response.start", "status": 200, "headers": [(b"x", b"y")]}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(second)

    middleware = corsfast.CORSMiddleware(app, allow_origins=["*"], _engine=engine)
    messages = call(middleware, http_scope("GET", request_headers(b"https://a.test")))
    assert messages[0]["headers"] == [(ACAO, b"*")]
    assert messages[1] is second and second["headers"] == [(b"x", b"y")]


def test_start_without_headers_key(engine: ModuleType) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204})
        await send({"type": "http.response.body"})

    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    messages = call(middleware, http_scope("GET", request_headers(b"https://example.com")))
    assert messages[0] == {
        "type": "http.response.start",
        "status": 204,
        "headers": [(ACAO, b"https://example.com"), (VARY, b"Origin")],
    }
    messages = call(middleware, http_scope("GET", request_headers()))
    assert messages[0]["headers"] == [(VARY, b"Origin")]


def test_header_list_sent_twice_is_not_accumulated(engine: ModuleType) -> None:
    # A response object may keep one header list and send it on every request.
    shared_headers = [(b"content-type", b"text/plain")]
    shared_tuple = ((b"content-type", b"text/plain"), (VARY, b"Accept"))

    async def app(scope: Any, receive: Any, send: Any) -> None:
        headers = shared_tuple if scope["path"] == "/tuple" else shared_headers
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x"})

    middleware = corsfast.CORSMiddleware(
        app, allow_origins=["https://example.com"], allow_credentials=True, _engine=engine
    )
    for _ in range(3):
        for origin in (b"https://example.com", b"https://evil.com", None):
            messages = call(middleware, http_scope("GET", request_headers(origin)))
            headers = start_headers(messages)
            assert sum(1 for k, _ in headers if k == VARY) == 1
            assert sum(1 for k, _ in headers if k == ACAO) == (1 if origin == b"https://example.com" else 0)
            assert messages[0]["headers"] is not shared_headers
    assert shared_headers == [(b"content-type", b"text/plain")]
    scope = http_scope("GET", request_headers(b"https://example.com"))
    scope["path"] = "/tuple"
    for _ in range(2):
        assert start_headers(call(middleware, scope)) == [
            (b"content-type", b"text/plain"),
            (VARY, b"Accept, Origin"),
            (ACAO, b"https://example.com"),
            (b"access-control-allow-credentials", b"true"),
        ]


class Boom(Exception):
    pass


@pytest.mark.parametrize("when", ["before-start", "after-start"])
def test_app_exceptions_propagate(engine: ModuleType, when: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        if when == "after-start":
            await send({"type": "http.response.start", "status": 200, "headers": []})
        raise Boom(when)

    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    with pytest.raises(Boom, match=when):
        run_sync(middleware(http_scope("GET", request_headers(b"https://example.com")), receive, send))
    if when == "after-start":
        assert messages[0]["headers"] == [(ACAO, b"https://example.com"), (VARY, b"Origin")]
    # The next request is unaffected.
    ok = corsfast.CORSMiddleware(RecordingApp(), allow_origins=["https://example.com"], _engine=engine)
    assert start_headers(call(ok, http_scope("GET", request_headers(b"https://evil.com"))))[-1] == (VARY, b"Origin")


def test_send_exceptions_propagate(engine: ModuleType) -> None:
    middleware = corsfast.CORSMiddleware(RecordingApp(), allow_origins=["*"], _engine=engine)

    async def send(message: Any) -> None:
        raise OSError("client went away")

    for scope in (
        http_scope("GET", request_headers(b"https://a.test")),
        http_scope("OPTIONS", request_headers(b"https://a.test", b"GET")),
    ):
        with pytest.raises(OSError, match="client went away"):
            run_sync(middleware(scope, receive, send))


def test_concurrent_requests_do_not_leak(engine: ModuleType) -> None:
    """Interleaved requests on one instance each get their own origin's headers."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-path", scope["path"].encode())]})
        await asyncio.sleep(0)
        await send({"type": "http.response.body", "body": b""})

    middleware = corsfast.CORSMiddleware(
        app, allow_origins=["https://a.test", "https://b.test"], allow_credentials=True, _engine=engine
    )
    origins = [b"https://a.test", b"https://evil.test", b"https://b.test", None] * 25

    async def one(index: int, origin: Any) -> tuple[Any, list[Any]]:
        messages: list[Any] = []

        async def send(message: Any) -> None:
            await asyncio.sleep(0)
            messages.append(message)

        scope = http_scope("GET", request_headers(origin))
        scope["path"] = f"/{index}"
        await middleware(scope, receive, send)
        return origin, messages

    async def main() -> list[tuple[Any, list[Any]]]:
        return await asyncio.gather(*(one(i, origin) for i, origin in enumerate(origins)))

    for index, (origin, messages) in enumerate(asyncio.run(main())):
        headers = start_headers(messages)
        assert headers[0] == (b"x-path", f"/{index}".encode())
        if origin in (b"https://a.test", b"https://b.test"):
            assert headers[1:] == [(ACAO, origin), (b"access-control-allow-credentials", b"true"), (VARY, b"Origin")]
        else:
            assert headers[1:] == [(VARY, b"Origin")]


# -- both engines give the same messages ---------------------------------------------------

ENGINE_REQUESTS = [
    ("GET", request_headers()),
    ("GET", request_headers(b"https://example.com")),
    ("GET", request_headers(b"https://api.example.org")),
    ("GET", request_headers(b"https://evil.com")),
    ("OPTIONS", request_headers(b"https://example.com", b"PUT", b"x-a, x-b", b"true")),
    ("OPTIONS", request_headers(b"https://evil.com", b"PUT")),
    ("OPTIONS", request_headers(b"https://example.com")),
    ("POST", request_headers(b"https://example.com", extra=[(b"origin", b"https://evil.com")])),
    ("GET", request_headers(b"https://example.com\r\n")),
]


@pytest.mark.c_extension
@pytest.mark.parametrize("credentials", [False, True])
def test_engines_send_identical_messages(credentials: bool) -> None:
    engines = {"c": C_ENGINE.module, "py": PY_ENGINE.module}
    assert engines["c"] is corsfast._engine_c and engines["py"] is corsfast._engine_py  # type: ignore[attr-defined]
    results: dict[str, list[Any]] = {}
    for name, engine in engines.items():
        app = RecordingApp(headers=[(b"content-type", b"text/plain"), (VARY, b"Accept-Encoding")])
        middleware = corsfast.CORSMiddleware(
            app,
            allow_origins=["https://example.com", "https://*.example.org", re.compile(r"https://x+\.test")],
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Id"],
            allow_credentials=credentials,
            allow_private_network=True,
            _engine=engine,
        )
        assert type(middleware.policy) is engine.CORSPolicy
        results[name] = [
            (call(middleware, http_scope(method, headers)), len(app.calls)) for method, headers in ENGINE_REQUESTS
        ]
        results[name].append(tuple(middleware.cache_info()))
    assert results["c"] == results["py"]


# -- ASGI 3 detection ------------------------------------------------------------------------

SHIMS = {
    "native": lambda app, engine: corsfast.CORSMiddleware(app, allow_origins=["*"], _engine=engine),
    "starlette": lambda app, engine: corsfast.starlette.CORSMiddleware(app, _engine=engine),
}


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_asgi3_detection_inspect_and_asyncio(engine: ModuleType, shim: str) -> None:
    middleware = SHIMS[shim](RecordingApp(), engine)
    assert inspect.iscoroutinefunction(middleware.__call__)
    with pytest.warns(DeprecationWarning) if _asyncio_warns() else _nothing():
        assert asyncio.iscoroutinefunction(middleware.__call__)


def _asyncio_warns() -> bool:
    return sys.version_info >= (3, 14)  # asyncio.iscoroutinefunction is deprecated there


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_asgi3_detection_uvicorn(engine: ModuleType, shim: str) -> None:
    from uvicorn.config import Config

    middleware = SHIMS[shim](RecordingApp(), engine)
    config = Config(app=middleware)
    assert config.interface == "auto"
    config.load()
    assert config.interface == "asgi3"


@pytest.mark.parametrize("shim", sorted(SHIMS))
def test_asgi3_detection_hypercorn(engine: ModuleType, shim: str) -> None:
    from hypercorn.utils import is_asgi

    assert is_asgi(SHIMS[shim](RecordingApp(), engine)) is True


def test_detection_attribute_answers_requests_too(engine: ModuleType) -> None:
    # A server that calls `app.__call__(...)` explicitly gets the same answer as `app(...)`.
    app = RecordingApp()
    middleware = corsfast.CORSMiddleware(app, allow_origins=["https://example.com"], _engine=engine)
    scope = http_scope("GET", request_headers(b"https://example.com"))
    via_type = call(middleware, scope)
    messages: list[Any] = []

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(middleware.__call__(scope, receive, send))
    assert messages == via_type


def test_engine_keyword_picks_the_engine(engine: ModuleType) -> None:
    middleware = corsfast.CORSMiddleware(RecordingApp(), allow_origins=["*"], _engine=engine)
    assert type(middleware.policy) is engine.CORSPolicy
    assert isinstance(middleware, engine.ASGIMiddlewareBase)
    assert type(middleware).__call__ is engine.asgi_call
