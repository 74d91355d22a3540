"""Subclasses of `corsfast.starlette.CORSMiddleware` against the same subclasses of Starlette's class.

Public code subclasses Starlette's `CORSMiddleware` far more often than it re-implements it
(ANCHORS.md section 6 lists the ways). Every test here writes one subclass *body* once, as
a function of its base class, and builds it on Starlette's class and on corsfast's (on both
engines); then it drives both with the same requests and compares everything observable:
the ASGI messages, the calls the protocol makes into the overrides (names, arguments,
keyword names, order), the exceptions, the results of direct method calls and the
attributes, also after the attributes change at run time.
"""

from __future__ import annotations

import contextvars
import copy
import functools
import inspect
import json
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.responses import JSONResponse, PlainTextResponse, Response

import corsfast.starlette
from corsfast import CORSConfigWarning
from corsfast.asgi import _on_engine

Message = dict[str, Any]
Body = Callable[[type], type]
"""A subclass body: given a base class, return the subclass defined on it."""

ALLOWED = "https://app.example.com"
REFUSED = "https://evil.example.net"
TENANT = "https://acme.tenant.example"
REVOKED = "https://revoked.example"
PREVIEW = "https://pr-7.preview.example"

CONFIG: dict[str, Any] = {
    "allow_origins": [ALLOWED, REVOKED],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["X-Token"],
    "allow_credentials": True,
    "expose_headers": ["X-Total"],
    "allow_origin_regex": r"https://[a-z0-9-]+\.regex\.example",
}


@pytest.fixture
def base(engine: ModuleType) -> type:
    """corsfast's class on each engine (a subclass body is defined on it, so `super()` works)."""
    return _on_engine(corsfast.starlette.CORSMiddleware, engine)


# -- requests and a recording app ----------------------------------------------------------


@dataclass(frozen=True)
class Req:
    method: str = "GET"
    origin: str | None = None
    path: str = "/"
    extra: tuple[tuple[bytes, bytes], ...] = ()

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [(b"host", b"testserver"), (b"accept", b"*/*")]
        if self.origin is not None:
            headers.append((b"origin", self.origin.encode("latin-1")))
        return headers + list(self.extra)


def preflight(origin: str, method: str = "GET", headers: str | None = None, **extra: str) -> Req:
    fields = [(b"access-control-request-method", method.encode())]
    if headers is not None:
        fields.append((b"access-control-request-headers", headers.encode()))
    for name, value in extra.items():
        fields.append((name.replace("_", "-").encode(), value.encode()))
    return Req("OPTIONS", origin, extra=tuple(fields))


REQUESTS = [
    Req("GET"),
    Req("GET", ALLOWED),
    Req("GET", REFUSED),
    Req("GET", TENANT),
    Req("GET", REVOKED),
    Req("POST", "https://a-1.regex.example"),
    Req("GET", ALLOWED, "/internal/health"),
    Req("GET", PREVIEW),
    Req("GET", "null"),
    Req("OPTIONS", ALLOWED),  # no Access-Control-Request-Method: a simple request
    preflight(ALLOWED),
    preflight(ALLOWED, "POST", "x-token, content-type"),
    preflight(ALLOWED, "DELETE"),
    preflight(ALLOWED, "GET", "x-forbidden"),
    preflight(REFUSED, "PUT", "x-forbidden"),
    preflight(TENANT, "GET"),
    preflight(REVOKED, "GET"),
    preflight(ALLOWED, "GET", None, access_control_request_private_network="true"),
    preflight(PREVIEW, "GET", "x-token"),
    Req("GET", ALLOWED, "/error"),
    Req("GET", ALLOWED, "/status-500"),
    Req("GET", ALLOWED, "/app-cors"),
]


def make_app(log: list[Any]) -> Callable[..., Awaitable[None]]:
    """An app that records its calls and answers by path (errors and app-set CORS headers too)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        log.append(("app", scope["method"], scope["path"]))
        if scope["path"] == "/error":
            raise RuntimeError("the app failed")
        headers: list[Any] = [(b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding")]
        if scope["path"] == "/app-cors":
            headers += [(b"access-control-allow-origin", b"https://app.set"), (b"x-total", b"3")]
        status = 500 if scope["path"] == "/status-500" else 200
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})

    return app


def scope_for(request: Req) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "https",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": request.headers(),
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 443),
    }


def normalise(value: Any, send: Any) -> Any:
    """Return `value` comparable across the two classes (Headers by content, the server's send by role)."""
    if value is send:
        return "<server send>"
    if isinstance(value, Headers):
        return (type(value).__name__, list(value.raw))
    if isinstance(value, Response):
        return (type(value).__name__, value.status_code, bytes(value.body), list(value.raw_headers))
    if isinstance(value, dict):
        if value.get("type") == "http":
            return ("scope", value["method"], value["path"])
        return copy.deepcopy(value)
    if callable(value):
        return "<callable>"
    return value


def run(middleware: Any, request: Req, log: list[Any]) -> tuple[list[Message], str | None]:
    """Return the messages sent for `request` and the exception raised (as text), if any."""
    sent: list[Message] = []
    chunks = [b""]

    async def receive() -> Message:
        return {"type": "http.request", "body": chunks.pop() if chunks else b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(copy.deepcopy(message))

    middleware._test_send = send
    error = None
    coroutine = _main(middleware, scope_for(request), receive, send)
    try:
        coroutine.send(None)
    except StopIteration:
        pass
    except Exception as exc:  # the same exception must come out of both
        error = f"{type(exc).__name__}: {exc}"
    else:  # pragma: no cover - nothing here suspends
        coroutine.close()
        raise AssertionError("suspended")
    return sent, error


async def _main(middleware: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
    await middleware(scope, receive, send)


def record(log: list[Any], name: str, middleware: Any, *args: Any, **kwargs: Any) -> None:
    send = getattr(middleware, "_test_send", None)
    log.append(
        (
            name,
            tuple(normalise(a, send) for a in args),
            {k: normalise(v, send) for k, v in sorted(kwargs.items())},
        )
    )


def build(cls: type, log: list[Any], *args: Any, **config: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return cls(make_app(log), *args, **config)


def compare(body: Body, base: type, requests: list[Req] = REQUESTS, config: dict[str, Any] | None = None) -> None:
    """Drive the same subclass body on both bases with `requests`; everything must be equal."""
    config = CONFIG if config is None else config
    theirs_log: list[Any] = []
    ours_log: list[Any] = []
    theirs = build(body(StarletteCORSMiddleware), theirs_log, **config)
    ours = build(body(base), ours_log, **config)
    theirs._log = theirs_log
    ours._log = ours_log
    assert attributes(ours) == attributes(theirs)
    for request in requests:
        expected = run(theirs, request, theirs_log)
        actual = run(ours, request, ours_log)
        assert actual == expected, request
        assert ours_log == theirs_log, request
        assert attributes(ours) == attributes(theirs), request


def attributes(middleware: Any) -> dict[str, Any]:
    """Return the Starlette attributes of `middleware`, as values (types included)."""
    values = {}
    for name in (
        "allow_origins",
        "allow_methods",
        "allow_headers",
        "allow_all_origins",
        "allow_all_headers",
        "allow_credentials",
        "preflight_explicit_allow_origin",
        "allow_origin_regex",
        "allow_private_network",
        "simple_headers",
        "preflight_headers",
    ):
        value = getattr(middleware, name, "<missing>")
        values[name] = (type(value).__name__, value)
    return values


# -- the subclass bodies found in public code ------------------------------------------------


def rename(base: type) -> type:
    class Renamed(base):  # type: ignore[misc, valid-type]
        pass

    return Renamed


def preset_init(base: type) -> type:
    class Preset(base):  # type: ignore[misc, valid-type]
        def __init__(self, app: Any, **ignored: Any) -> None:
            super().__init__(app, allow_origins=[ALLOWED], allow_methods=["*"], allow_headers=["*"], max_age=86400)

    return Preset


def extra_keywords(base: type) -> type:
    class Extra(base):  # type: ignore[misc, valid-type]
        def __init__(self, app: Any, *, tenant_suffix: str = ".tenant.example", **kwargs: Any) -> None:
            self.tenant_suffix = tenant_suffix
            super().__init__(app, **kwargs)
            self.origins_seen_at_init = list(self.allow_origins)

    return Extra


def own_verdict(base: type) -> type:
    class OwnVerdict(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> bool:
            record(self._log, "is_allowed_origin", self, origin=origin)
            return origin.endswith(".tenant.example")

    return OwnVerdict


def widening_verdict(base: type) -> type:
    class Tenant(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> bool:
            record(self._log, "is_allowed_origin", self, origin=origin)
            return origin.endswith(".tenant.example") or super().is_allowed_origin(origin)

    return Tenant


def narrowing_verdict(base: type) -> type:
    class Narrow(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> bool:
            record(self._log, "is_allowed_origin", self, origin=origin)
            return origin != REVOKED and super().is_allowed_origin(origin=origin)

    return Narrow


REQUEST_TENANT: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenant", default=None)


def context_verdict(base: type) -> type:
    class FromContext(base):  # type: ignore[misc, valid-type]
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            token = REQUEST_TENANT.set(scope["path"])
            try:
                await super().__call__(scope, receive, send)
            finally:
                REQUEST_TENANT.reset(token)

        def is_allowed_origin(self, origin: str) -> bool:
            path = REQUEST_TENANT.get()
            record(self._log, "is_allowed_origin", self, origin=origin, path=path)
            return path is not None and path != "/internal/health" and super().is_allowed_origin(origin)

    return FromContext


def json_preflight_errors(base: type) -> type:
    class JSONErrors(base):  # type: ignore[misc, valid-type]
        def preflight_response(self, request_headers: Headers) -> Response:
            record(self._log, "preflight_response", self, request_headers=request_headers)
            response = super().preflight_response(request_headers=request_headers)
            if response.status_code == 400:
                headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
                return JSONResponse({"error": bytes(response.body).decode()}, status_code=400, headers=headers)
            return response

    return JSONErrors


def preflight_204(base: type) -> type:
    class NoContent(base):  # type: ignore[misc, valid-type]
        def preflight_response(self, request_headers: Headers) -> Response:
            response = super().preflight_response(request_headers)
            record(self._log, "preflight_response", self, request_headers, result=response)
            if response.status_code == 200:
                del response.headers["content-type"]
                del response.headers["content-length"]
                response.status_code = 204
                response.body = b""
            return response

    return NoContent


def hand_made_private_network(base: type) -> type:
    class PrivateNetwork(base):  # type: ignore[misc, valid-type]
        def preflight_response(self, request_headers: Headers) -> Response:
            wants = request_headers.get("access-control-request-private-network")
            stripped = Headers(
                raw=[(k, v) for k, v in request_headers.raw if k != b"access-control-request-private-network"]
            )
            response = super().preflight_response(request_headers=stripped)
            if wants == "true":
                response.headers["Access-Control-Allow-Private-Network"] = "true"
            return response

    return PrivateNetwork


def gated_simple_response(base: type) -> type:
    class Gated(base):  # type: ignore[misc, valid-type]
        async def simple_response(self, scope: Any, receive: Any, send: Any, request_headers: Headers) -> None:
            record(self._log, "simple_response", self, scope, receive, send, request_headers=request_headers)
            if scope["path"].startswith("/internal"):
                await self.app(scope, receive, send)
                return
            await super().simple_response(scope, receive, send, request_headers)

    return Gated


def send_adds_header(base: type) -> type:
    class Marked(base):  # type: ignore[misc, valid-type]
        async def send(self, message: Any, send: Any, request_headers: Headers) -> None:
            record(self._log, "send", self, message, send=send, request_headers=request_headers)
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-cors-layer", b"corsfast"))
            await super().send(message, send, request_headers)

    return Marked


def send_after_super(base: type) -> type:
    class Logged(base):  # type: ignore[misc, valid-type]
        async def send(self, message: Any, send: Any, request_headers: Headers) -> None:
            seen: list[Message] = []

            async def capture(message: Message) -> None:
                seen.append(copy.deepcopy(message))
                await send(message)

            await super().send(message, send=capture, request_headers=request_headers)
            record(self._log, "sent", self, seen)

    return Logged


def gated_call(base: type) -> type:
    class GatedCall(base):  # type: ignore[misc, valid-type]
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith("/internal"):
                await self.app(scope, receive, send)
                return
            await super().__call__(scope, receive, send)

    return GatedCall


def previews_appended(base: type) -> type:
    class Previews(base):  # type: ignore[misc, valid-type]
        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            origin = dict(scope["headers"]).get(b"origin", b"").decode("latin-1")
            if origin.endswith(".preview.example") and origin not in self.allow_origins:
                self.allow_origins.append(origin)
            await super().__call__(scope, receive, send)

    return Previews


def rewritten_attributes(base: type) -> type:
    class Rewritten(base):  # type: ignore[misc, valid-type]
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            self.allow_private_network = True
            self.simple_headers["Access-Control-Expose-Headers"] = "X-Total, X-Page"
            self.preflight_headers["Access-Control-Max-Age"] = "60"
            self.preflight_headers.pop("Vary", None)
            self.preflight_headers["X-Preflight"] = "handled"
            self.allow_origins = [*self.allow_origins, TENANT]

    return Rewritten


def explicit_origin_override(base: type) -> type:
    class ExplicitVaryCookie(base):  # type: ignore[misc, valid-type]
        @staticmethod
        def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
            headers["Access-Control-Allow-Origin"] = origin
            headers.add_vary_header("Origin")
            headers.add_vary_header("Cookie")

    return ExplicitVaryCookie


def reads_attributes(base: type) -> type:
    class Reader(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> bool:
            record(
                self._log,
                "reads",
                self,
                app=self.app is not None,
                all=self.allow_all_origins,
                origins=list(self.allow_origins),
                simple=dict(self.simple_headers),
                preflight=dict(self.preflight_headers),
            )
            return origin in self.allow_origins

        def preflight_response(self, request_headers: Headers) -> Response:
            response = super().preflight_response(request_headers)
            headers = MutableHeaders(raw=response.raw_headers)
            self.allow_explicit_origin(headers, "https://explicit.example")
            return response

    return Reader


BODIES = [
    rename,
    preset_init,
    extra_keywords,
    own_verdict,
    widening_verdict,
    narrowing_verdict,
    context_verdict,
    json_preflight_errors,
    preflight_204,
    hand_made_private_network,
    gated_simple_response,
    send_adds_header,
    send_after_super,
    gated_call,
    previews_appended,
    rewritten_attributes,
    explicit_origin_override,
    reads_attributes,
]

CONFIGS = {
    "explicit": CONFIG,
    "allow-all": {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"]},
    "allow-all-credentials": {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-Total"]},
    "defaults": {},
}


@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
@pytest.mark.parametrize("body", BODIES, ids=[b.__name__ for b in BODIES])
def test_subclass_body_behaves_as_on_starlette(body: Body, config: str, base: type) -> None:
    compare(body, base, config=copy.deepcopy(CONFIGS[config]))


# -- the surface: signature, attributes, direct calls ----------------------------------------


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    """Return a callable's parameters as (name, kind, default): what a caller can rely on."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_signature_is_starlettes() -> None:
    assert parameters(corsfast.starlette.CORSMiddleware) == parameters(StarletteCORSMiddleware)
    assert parameters(corsfast.starlette.CORSMiddleware.__init__) == parameters(StarletteCORSMiddleware.__init__)
    for name in ("is_allowed_origin", "preflight_response", "simple_response", "send", "allow_explicit_origin"):
        ours = getattr(corsfast.starlette.CORSMiddleware, name)
        theirs = getattr(StarletteCORSMiddleware, name)
        assert parameters(ours) == parameters(theirs), name
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs), name
    assert isinstance(inspect.getattr_static(corsfast.starlette.CORSMiddleware, "allow_explicit_origin"), staticmethod)


def test_app_by_keyword_and_every_parameter_positional(base: type) -> None:
    log: list[Any] = []
    app = make_app(log)
    values = {
        "app": app,
        "allow_origins": [ALLOWED],
        "allow_methods": ["GET"],
        "allow_headers": ["X-A"],
        "allow_credentials": True,
        "allow_origin_regex": r"https://x\.example",
        "allow_private_network": True,
        "expose_headers": ["X-B"],
        "max_age": 60,
    }
    # In the installed Starlette's order (before 0.51 it has no allow_private_network).
    names = inspect.signature(StarletteCORSMiddleware.__init__).parameters
    args = tuple(values[name] for name in names if name != "self")
    assert len(args) in (8, 9)
    theirs = StarletteCORSMiddleware(*args)
    ours = base(*args)
    assert attributes(ours) == attributes(theirs)
    assert base(app=app).app is app


@pytest.mark.parametrize("config", [*CONFIGS.values(), {"allow_origin_regex": re.compile("https://.*")}])
def test_attributes_are_starlettes_in_its_order(config: dict[str, Any], base: type) -> None:
    origins = config.get("allow_origins", ())
    theirs = build(StarletteCORSMiddleware, [], **config)
    ours = build(base, [], **config)
    assert attributes(ours) == attributes(theirs)
    assert ours.allow_origins is origins or "allow_origins" not in config
    if "allow_origins" in config:
        assert ours.allow_origins is config["allow_origins"]  # the caller's object itself
    theirs_order = [k for k in vars(theirs) if k in attributes(theirs)]
    ours_order = [k for k in vars(ours) if k in attributes(ours)]
    assert ours_order == theirs_order


@pytest.mark.parametrize("config", list(CONFIGS), ids=list(CONFIGS))
def test_direct_calls_give_starlettes_results(config: str, base: type) -> None:
    theirs = build(StarletteCORSMiddleware, [], **CONFIGS[config])
    ours = build(base, [], **CONFIGS[config])
    for origin in (
        ALLOWED,
        REFUSED,
        "null",
        "",
        "https://a.regex.example",
        "https://\u4f8b.jp",
        "https://\xe9.example",
    ):
        assert ours.is_allowed_origin(origin) == theirs.is_allowed_origin(origin), origin
        assert ours.is_allowed_origin(origin=origin) == theirs.is_allowed_origin(origin=origin), origin
    for request in REQUESTS:
        if request.method != "OPTIONS" or request.origin is None or len(request.extra) == 0:
            continue
        headers = Headers(scope=scope_for(request))
        expected = theirs.preflight_response(request_headers=headers)
        actual = ours.preflight_response(headers)
        assert type(actual) is type(expected) is PlainTextResponse
        assert vars(actual) == vars(expected)
        assert actual.headers == expected.headers
    for origin in (None, ALLOWED, REFUSED):
        for start in (
            {"type": "http.response.start", "status": 200},
            {"type": "http.response.start", "status": 200, "headers": [(b"vary", b"Cookie")]},
            {"type": "http.response.body", "body": b"x"},
        ):
            request_headers = Headers(headers={} if origin is None else {"Origin": origin})
            got: list[tuple[list[Message], Message, str]] = []
            for middleware in (theirs, ours):
                sent: list[Message] = []

                async def send(message: Message, sent: list[Message] = sent) -> None:
                    sent.append(message)

                message = copy.deepcopy(start)
                try:
                    drive(middleware.send(message, send, request_headers))
                    raised = ""
                except KeyError as error:  # before 1.7, Starlette's `send` reads the Origin with [...]
                    raised = repr(error)
                got.append((sent, message, raised))
            assert got[0] == got[1], (origin, start)
    for headers_in in ([], [(b"vary", b"Accept")], [(b"access-control-allow-origin", b"*")]):
        expected_headers = MutableHeaders(raw=list(headers_in))
        actual_headers = MutableHeaders(raw=list(headers_in))
        StarletteCORSMiddleware.allow_explicit_origin(expected_headers, ALLOWED)
        ours.allow_explicit_origin(actual_headers, ALLOWED)
        assert actual_headers.raw == expected_headers.raw


def drive(awaitable: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await awaitable

    coroutine = main()
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("suspended")  # pragma: no cover


def test_simple_response_called_directly(base: type) -> None:
    for origin in (None, ALLOWED, REFUSED):
        results = []
        for cls in (StarletteCORSMiddleware, base):
            log: list[Any] = []
            middleware = build(cls, log, **CONFIG)
            sent: list[Message] = []

            async def send(message: Message, sent: list[Message] = sent) -> None:
                sent.append(copy.deepcopy(message))

            request = Req("GET", origin)
            scope = scope_for(request)
            try:
                drive(middleware.simple_response(scope, None, send, request_headers=Headers(scope=scope)))
                raised = ""
            except KeyError as error:  # before 1.7, Starlette's `send` reads the Origin with [...]
                raised = repr(error)
            results.append((sent, log, raised))
        assert results[0] == results[1], origin


# -- runtime changes ----------------------------------------------------------------------------


CHANGES: list[tuple[str, Callable[[Any], None]]] = [
    ("append an origin", lambda m: m.allow_origins.append(REFUSED)),
    ("remove an origin", lambda m: m.allow_origins.remove(ALLOWED)),
    ("replace an origin in place", lambda m: m.allow_origins.__setitem__(0, TENANT)),
    ("reassign allow_origins with '*' (allow_all_origins stays)", lambda m: setattr(m, "allow_origins", ["*"])),
    ("reassign allow_all_origins", lambda m: setattr(m, "allow_all_origins", True)),
    ("append a method", lambda m: m.allow_methods.append("DELETE")),
    ("append a header name", lambda m: m.allow_headers.append("x-forbidden")),
    ("upper-case header name", lambda m: m.allow_headers.append("X-Forbidden")),
    ("private network on", lambda m: setattr(m, "allow_private_network", True)),
    ("credentials off", lambda m: setattr(m, "allow_credentials", False)),
    ("explicit preflight origin off", lambda m: setattr(m, "preflight_explicit_allow_origin", False)),
    ("regex replaced", lambda m: setattr(m, "allow_origin_regex", re.compile(r"https://evil\.example\.net"))),
    ("regex removed", lambda m: setattr(m, "allow_origin_regex", None)),
    ("regex deleted", lambda m: delattr(m, "allow_origin_regex")),
    ("simple header added", lambda m: m.simple_headers.__setitem__("X-Simple", "1")),
    ("simple header named as the app's", lambda m: m.simple_headers.__setitem__("Content-Type", "text/csv")),
    ("simple header removed", lambda m: m.simple_headers.pop("Access-Control-Allow-Credentials")),
    (
        "simple headers reordered",
        lambda m: m.simple_headers.update({k: m.simple_headers.pop(k) for k in [*m.simple_headers][:1]}),
    ),
    (
        "preflight header added",
        lambda m: m.preflight_headers.__setitem__("Access-Control-Allow-Private-Network", "false"),
    ),
    ("preflight origin key present", lambda m: m.preflight_headers.__setitem__("Access-Control-Allow-Origin", "x")),
    ("preflight content-type set", lambda m: m.preflight_headers.__setitem__("Content-Type", "text/html")),
    ("preflight lower-case duplicate", lambda m: m.preflight_headers.__setitem__("vary", "Origin")),
    ("preflight header deleted", lambda m: m.preflight_headers.pop("Access-Control-Max-Age")),
    ("preflight headers cleared", lambda m: m.preflight_headers.clear()),
    ("simple_headers replaced", lambda m: setattr(m, "simple_headers", {"Access-Control-Allow-Origin": "*"})),
    ("origins as a set", lambda m: setattr(m, "allow_origins", {ALLOWED, TENANT})),
    (
        "origins as a set, then added to",
        lambda m: (setattr(m, "allow_origins", {ALLOWED}), m.allow_origins.add(REFUSED)),
    ),
    ("origins as a dict", lambda m: setattr(m, "allow_origins", {REFUSED: 1})),
    ("origins as a str (substring tests)", lambda m: setattr(m, "allow_origins", "https://app.example.com.evil")),
    ("origins as a custom container", lambda m: setattr(m, "allow_origins", Suffixes(".example.net"))),
    ("methods as a str", lambda m: setattr(m, "allow_methods", "GET, POS")),
    ("headers as a tuple", lambda m: setattr(m, "allow_headers", ("x-forbidden", "accept"))),
    ("regex as an object with fullmatch", lambda m: setattr(m, "allow_origin_regex", Suffixes(".example.net"))),
    ("is_allowed_origin on the instance", lambda m: setattr(m, "is_allowed_origin", lambda origin: True)),
]


class Suffixes:
    """A container and a pattern-like object at once: matches origins ending with a suffix."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __contains__(self, origin: object) -> bool:
        return isinstance(origin, str) and origin.endswith(self.suffix)

    def fullmatch(self, origin: str) -> bool:
        return origin.endswith(self.suffix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Suffixes) and other.suffix == self.suffix

    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_runtime_changes_take_effect_as_under_starlette(change: Callable[[Any], None], base: type) -> None:
    theirs_log: list[Any] = []
    ours_log: list[Any] = []
    config = copy.deepcopy(CONFIG)
    theirs = build(StarletteCORSMiddleware, theirs_log, **config)
    ours = build(base, ours_log, **copy.deepcopy(CONFIG))
    # One round before the change: the policy is compiled and its cache warm.
    for request in REQUESTS:
        assert run(ours, request, ours_log) == run(theirs, request, theirs_log), request
    change(theirs)
    change(ours)
    assert attributes(ours) == attributes(theirs)
    for request in REQUESTS:
        assert run(ours, request, ours_log) == run(theirs, request, theirs_log), request
    assert ours_log == theirs_log
    for origin in (ALLOWED, REFUSED, TENANT):
        assert outcome(ours.is_allowed_origin, origin) == outcome(theirs.is_allowed_origin, origin)


def outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Return ("returned", value) or ("raised", exception type name) for a call."""
    try:
        return ("returned", function(*args))
    except Exception as exc:
        return ("raised", type(exc).__name__)


def test_in_place_change_at_request_time_with_the_callers_list(base: type) -> None:
    origins = [ALLOWED]
    ours = build(base, [], allow_origins=origins)
    theirs = build(StarletteCORSMiddleware, [], allow_origins=list(origins))
    assert ours.allow_origins is origins
    request = Req("GET", REFUSED)
    assert run(ours, request, []) == run(theirs, request, [])
    origins.append(REFUSED)
    theirs.allow_origins.append(REFUSED)
    first = run(ours, request, [])
    assert first == run(theirs, request, [])
    assert (b"access-control-allow-origin", REFUSED.encode()) in first[0][0]["headers"]
    origins.remove(REFUSED)
    theirs.allow_origins.remove(REFUSED)
    assert run(ours, request, []) == run(theirs, request, [])


def test_unchanged_containers_keep_the_compiled_policy(base: type) -> None:
    ours = build(base, [], **CONFIG)
    policy = ours.policy
    for request in REQUESTS * 3:
        run(ours, request, [])
    assert ours.policy is policy  # nothing recompiled: a pointer check per watched item
    ours.allow_origins.append(TENANT)
    run(ours, Req("GET", TENANT), [])
    assert ours.policy is not policy
    ours.allow_credentials = True
    assert ours.policy is None  # stale until the next request compiles it again


def test_invalid_header_written_at_run_time_is_refused(base: type) -> None:
    ours = build(base, [], **CONFIG)
    ours.simple_headers["X-Injected"] = "a\r\nSet-Cookie: s=1"
    with pytest.raises(ValueError, match="cannot be sent"):
        run_raising(ours, Req("GET", ALLOWED))
    del ours.simple_headers["X-Injected"]
    assert run(ours, Req("GET", ALLOWED), [])[1] is None


def run_raising(middleware: Any, request: Req) -> None:
    _, error = run(middleware, request, [])
    if error is not None:
        kind, _, text = error.partition(": ")
        raise {"ValueError": ValueError}.get(kind, RuntimeError)(text)


# -- overrides that raise, and the protocol's call counts -----------------------------------------


def raising_verdict(base: type) -> type:
    class Raising(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> bool:
            record(self._log, "is_allowed_origin", self, origin=origin)
            raise LookupError(f"no tenant for {origin}")

    return Raising


def raising_preflight(base: type) -> type:
    class RaisingPreflight(base):  # type: ignore[misc, valid-type]
        def preflight_response(self, request_headers: Headers) -> Response:
            raise PermissionError("preflights are closed")

    return RaisingPreflight


def raising_send(base: type) -> type:
    class RaisingSend(base):  # type: ignore[misc, valid-type]
        async def send(self, message: Any, send: Any, request_headers: Headers) -> None:
            if message["type"] == "http.response.body":
                raise ConnectionError("client went away")
            await super().send(message, send, request_headers)

    return RaisingSend


@pytest.mark.parametrize("body", [raising_verdict, raising_preflight, raising_send])
def test_raising_overrides_propagate_as_under_starlette(body: Body, base: type) -> None:
    compare(body, base)
    log: list[Any] = []
    middleware = build(body(base), log, **CONFIG)
    middleware._log = log
    errors = {run(middleware, request, log)[1] for request in REQUESTS}
    assert len(errors - {None}) >= 1


def test_is_allowed_origin_is_asked_every_time_never_cached(base: type) -> None:
    def flipping(base: type) -> type:
        class Flipping(base):  # type: ignore[misc, valid-type]
            def is_allowed_origin(self, origin: str) -> bool:
                record(self._log, "is_allowed_origin", self, origin=origin)
                return next(self._answers)

        return Flipping

    for cls in (flipping(StarletteCORSMiddleware), flipping(base)):
        log: list[Any] = []
        middleware = build(cls, log, **CONFIG)
        middleware._log = log
        middleware._answers = iter([True, False, True, True, False])
        reflected = []
        for request in [
            Req("GET", TENANT),
            Req("GET", TENANT),
            preflight(TENANT),
            Req("GET", TENANT),
            preflight(TENANT),
        ]:
            sent, _ = run(middleware, request, log)
            reflected.append(any(k == b"access-control-allow-origin" for k, _ in sent[0]["headers"]))
        assert reflected == [True, False, True, True, False]
        assert [entry[0] for entry in log if entry[0] != "app"] == ["is_allowed_origin"] * 5


def test_verdict_override_not_asked_for_origins_never_allowed(base: type) -> None:
    """An Origin with control characters never reaches a rule, nor the override (documented)."""
    log: list[Any] = []
    middleware = build(own_verdict(base), log, **CONFIG)
    middleware._log = log
    for request in (Req("GET", "https://x.tenant.example\r"), preflight("https://x.tenant.example\x00")):
        sent, error = run(middleware, request, log)
        assert error is None
        assert not any(k == b"access-control-allow-origin" for k, _ in sent[0]["headers"])
    assert [entry for entry in log if entry[0] == "is_allowed_origin"] == []


def test_context_variable_set_by_call_is_seen_by_the_override(base: type) -> None:
    log: list[Any] = []
    middleware = build(context_verdict(base), log, **CONFIG)
    middleware._log = log
    run(middleware, Req("GET", ALLOWED, "/tenant-a"), log)
    run(middleware, preflight(ALLOWED), log)
    paths = [entry[2]["path"] for entry in log if entry[0] == "is_allowed_origin"]
    assert paths == ["/tenant-a", "/"]


# -- a subclass that overrides nothing keeps the compiled path ----------------------------------


def test_rename_and_preset_init_keep_the_compiled_fast_path(base: type, engine: ModuleType) -> None:
    for body in (rename, preset_init):
        middleware = build(body(base), [], **CONFIG)
        options = middleware.policy.options.starlette
        assert not (options.protocol_preflight or options.protocol_simple or options.verdict_hook or options.faithful)
        assert type(middleware).__call__ is engine.asgi_call


def test_starlette_is_not_imported_on_the_compiled_path(tmp_path: Any) -> None:
    import subprocess
    import sys

    code = """
import sys, asyncio
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "starlette" or name.startswith("starlette."):
            raise ImportError("starlette is not installed")
sys.meta_path.insert(0, Block())
from corsfast.starlette import CORSMiddleware

async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})

class Renamed(CORSMiddleware):
    def is_allowed_origin(self, origin):
        return origin.endswith(".tenant.example") or super().is_allowed_origin(origin)

sent = []
async def main():
    for cls in (CORSMiddleware, Renamed):
        mw = cls(app, allow_origins=["https://a.example"], allow_methods=["GET"])
        for origin in (b"https://a.example", b"https://b.tenant.example"):
            for method, extra in (("GET", []), ("OPTIONS", [(b"access-control-request-method", b"GET")])):
                scope = {"type": "http", "method": method, "path": "/", "headers": [(b"origin", origin), *extra]}
                async def send(m):
                    sent.append(m)
                async def receive():
                    return {"type": "http.request"}
                await mw(scope, receive, send)
asyncio.run(main())
assert "starlette" not in sys.modules
print(len(sent))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "16"


# -- random combinations of overrides -------------------------------------------------------------


def combined(flags: frozenset[str], verdict: str) -> Body:
    def body(base: type) -> type:
        namespace: dict[str, Any] = {}
        if "is_allowed_origin" in flags:

            def is_allowed_origin(self: Any, origin: str) -> bool:
                record(self._log, "is_allowed_origin", self, origin=origin)
                if verdict == "tenant":
                    return origin.endswith(".tenant.example") or base.is_allowed_origin(self, origin)
                if verdict == "narrow":
                    return origin != REVOKED and base.is_allowed_origin(self, origin=origin)
                return verdict == "all"

            namespace["is_allowed_origin"] = is_allowed_origin
        if "preflight_response" in flags:

            def preflight_response(self: Any, request_headers: Headers) -> Response:
                record(self._log, "preflight_response", self, request_headers=request_headers)
                response = base.preflight_response(self, request_headers=request_headers)
                response.headers["X-Preflight"] = str(response.status_code)
                return response  # type: ignore[no-any-return]

            namespace["preflight_response"] = preflight_response
        if "simple_response" in flags:

            async def simple_response(self: Any, scope: Any, receive: Any, send: Any, request_headers: Headers) -> None:
                record(self._log, "simple_response", self, scope, receive, send, request_headers=request_headers)
                await base.simple_response(self, scope, receive, send, request_headers=request_headers)

            namespace["simple_response"] = simple_response
        if "send" in flags:

            async def send(self: Any, message: Any, send: Any, request_headers: Headers) -> None:
                record(self._log, "send", self, message, send=send, request_headers=request_headers)
                await base.send(self, message, send, request_headers)

            namespace["send"] = send
        if "allow_explicit_origin" in flags:

            def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
                headers["Access-Control-Allow-Origin"] = origin
                headers.add_vary_header("Origin")

            namespace["allow_explicit_origin"] = staticmethod(allow_explicit_origin)
        if "__call__" in flags:

            async def __call__(self: Any, scope: Any, receive: Any, send: Any) -> None:
                record(self._log, "__call__", self, scope)
                await base.__call__(self, scope, receive, send)

            namespace["__call__"] = __call__
        return type("Combined", (base,), namespace)

    return body


HOOK_NAMES = ["is_allowed_origin", "preflight_response", "simple_response", "send", "allow_explicit_origin", "__call__"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flags=st.frozensets(st.sampled_from(HOOK_NAMES)),
    verdict=st.sampled_from(["tenant", "narrow", "all", "none"]),
    config=st.sampled_from(list(CONFIGS)),
    requests=st.lists(st.sampled_from(REQUESTS), min_size=1, max_size=6),
    change=st.sampled_from([None, *range(len(CHANGES))]),
)
def test_random_override_combinations(
    flags: frozenset[str], verdict: str, config: str, requests: list[Req], change: int | None, base: type
) -> None:
    body = combined(flags, verdict)
    theirs_log: list[Any] = []
    ours_log: list[Any] = []
    theirs = build(body(StarletteCORSMiddleware), theirs_log, **copy.deepcopy(CONFIGS[config]))
    ours = build(body(base), ours_log, **copy.deepcopy(CONFIGS[config]))
    theirs._log, ours._log = theirs_log, ours_log
    for index, request in enumerate(requests):
        if change is not None and index == len(requests) // 2:
            try:
                CHANGES[change][1](theirs)
            except (AttributeError, KeyError, ValueError):
                continue  # the change does not apply to this configuration
            CHANGES[change][1](ours)
        assert run(ours, request, ours_log) == run(theirs, request, theirs_log), request
        assert ours_log == theirs_log
    assert attributes(ours) == attributes(theirs)


def test_json_body_of_the_json_errors_example(base: type) -> None:
    log: list[Any] = []
    middleware = build(json_preflight_errors(base), log, **CONFIG)
    middleware._log = log
    sent, _ = run(middleware, preflight(REFUSED, "PUT"), log)
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {"error": "Disallowed CORS origin, method"}


def test_partial_of_send_is_what_the_app_gets_when_send_is_overridden(base: type) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(send)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    middleware = send_adds_header(base)(app, **CONFIG)
    middleware._log = []
    run(middleware, Req("GET", ALLOWED), [])
    assert isinstance(seen[0], functools.partial)
    assert seen[0].func == middleware.send
    assert set(seen[0].keywords) == {"send", "request_headers"}
