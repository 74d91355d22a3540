"""`corsfast.starlette.CORSMiddleware` against the installed Starlette's own `CORSMiddleware`.

Every test runs both classes on the same request in the same test and compares the full
lists of ASGI messages they send (status, header list with order and bytes, body chunks,
`more_body`), on both engines. Where one of the documented differences from Starlette
applies, the expectation is `StarletteWithDeviations` below: the real Starlette class with
exactly those differences applied, and no other change.

The tests pass with any Starlette from 0.37 to 1.10 installed (the version matrix runs them
under several): what a release does differently is read from the installed package itself
(`INSTALLED` below), never from corsfast's own table of releases.
"""

from __future__ import annotations

import copy
import inspect
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.responses import PlainTextResponse, Response

import corsfast.starlette
from corsfast import CORSConfigWarning

Message = dict[str, Any]
Header = tuple[bytes, bytes]

MAX_ORIGIN_LENGTH = 2048
"""corsfast's documented cap on the Origin length (`DEFAULT_MAX_ORIGIN_LENGTH`)."""
TCHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
FAILURE_ORDER = (b"origin", b"method", b"headers", b"private-network")
PREFLIGHT_VARY = (
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)


@dataclass(frozen=True)
class InstalledStarlette:
    """What the installed Starlette's `CORSMiddleware` does, read from the package itself."""

    version: str
    private_network: bool
    """It takes `allow_private_network` (0.51 and newer)."""
    credentials_attribute: bool
    """It keeps `allow_credentials`, which decides allow-all reflection (1.0 and newer;
    before, a Cookie request header decides it)."""
    all_methods: tuple[str, ...]
    """What `allow_methods=["*"]` expands to."""
    vary_always: bool
    """A response to a request without Origin gets `Vary: Origin` (1.7 and newer)."""


def _installed() -> InstalledStarlette:
    import starlette

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    probe = StarletteCORSMiddleware(app, allow_origins=["https://example.org"])
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "headers": [], "path": "/"}
    _drive(probe(scope, None, send))  # type: ignore[arg-type]
    return InstalledStarlette(
        version=starlette.__version__,
        private_network="allow_private_network" in inspect.signature(StarletteCORSMiddleware.__init__).parameters,
        credentials_attribute="allow_credentials" in vars(probe),
        all_methods=tuple(starlette.middleware.cors.ALL_METHODS),
        vary_always=any(key == b"vary" for key, _ in sent[0]["headers"]),
    )


# -- running ASGI apps without an event loop ------------------------------------------------


def _drive(awaitable: Awaitable[None]) -> None:
    """Run a coroutine whose awaits never suspend (every receive/send here is immediate)."""

    async def main() -> None:
        await awaitable

    coroutine = main()
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise AssertionError("the middleware suspended on a non-suspending receive/send")


INSTALLED = _installed()


@dataclass(frozen=True)
class AppSpec:
    """What the wrapped app answers; it builds fresh message dicts on every call."""

    status: int = 200
    headers: tuple[tuple[bytes, bytes, bool], ...] = ((b"content-type", b"text/plain", False),)
    """(name, value, as_list): as_list sends the pair as a list instead of a tuple."""
    omit_headers: bool = False
    """Send `http.response.start` without a "headers" key at all."""
    chunks: tuple[bytes, ...] = (b"Homepage",)
    """Body chunks; every one but the last is sent with more_body=True."""
    read_body: bool = False
    """Read the request body first (all chunks) and report its length in x-request-bytes."""


def make_app(spec: AppSpec) -> Callable[..., Awaitable[None]]:
    async def app(
        scope: dict[str, Any], receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        assert scope["type"] == "http"
        headers: list[Any] = [[name, value] if as_list else (name, value) for name, value, as_list in spec.headers]
        if spec.read_body:
            total = 0
            while True:
                message = await receive()
                total += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            headers.append((b"x-request-bytes", str(total).encode()))
        start: Message = {"type": "http.response.start", "status": spec.status}
        if not spec.omit_headers:
            start["headers"] = headers
        await send(start)
        for index, chunk in enumerate(spec.chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": index < len(spec.chunks) - 1})

    return app


@dataclass(frozen=True)
class Req:
    method: str = "GET"
    headers: tuple[Header, ...] = ()
    body_chunks: tuple[bytes, ...] = ()

    def first(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    @property
    def origin(self) -> bytes | None:
        return self.first(b"origin")

    @property
    def is_preflight(self) -> bool:
        return (
            self.method == "OPTIONS"
            and self.origin is not None
            and self.first(b"access-control-request-method") is not None
        )


def run(middleware: Any, request: Req) -> list[Message]:
    """Return deep copies of every message `middleware` sends for `request`."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *request.headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    pending = list(request.body_chunks) or [b""]
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            body = pending.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(pending)}
        return {"type": "http.disconnect"}  # pragma: no cover - the apps stop at more_body=False

    async def send(message: Message) -> None:
        sent.append(copy.deepcopy(message))

    _drive(middleware(scope, receive, send))
    return sent


def build(cls: Any, app: Any, config: dict[str, Any], **extra: Any) -> Any:
    # corsfast warns about allow-any origins with credentials; Starlette does not. The warning
    # is tested in test_starlette_suite.py; here only the messages matter.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return cls(app, **config, **extra)


def both(
    config: dict[str, Any], request: Req, engine: ModuleType, spec: AppSpec = AppSpec()
) -> tuple[list[Message], list[Message]]:
    """Return (Starlette's messages, corsfast's messages) for the same app, config and request."""
    starlette = run(build(StarletteCORSMiddleware, make_app(spec), config), request)
    ours = run(build(corsfast.starlette.CORSMiddleware, make_app(spec), config, _engine=engine), request)
    return starlette, ours


def start_headers(messages: list[Message]) -> list[Any]:
    return list(messages[0].get("headers", ()))


def header_values(messages: list[Message], name: bytes) -> list[bytes]:
    return [bytes(value) for key, value in start_headers(messages) if key == name]


# -- the documented differences, as an executable model on top of the real Starlette class --


def deviant_origin(origin: str | bytes) -> bool:
    """An Origin corsfast never allows: control characters, or longer than the cap."""
    raw = origin.encode("latin-1") if isinstance(origin, str) else origin
    return len(raw) > MAX_ORIGIN_LENGTH or any(byte < 0x20 or byte == 0x7F for byte in raw)


def deviant_request_headers(value: str | bytes) -> bool:
    """An Access-Control-Request-Headers value corsfast never mirrors: control chars but tab."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    return any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in raw)


class StarletteWithDeviations(StarletteCORSMiddleware):
    """Starlette's class, except for the documented differences (and nothing else):

    - an Origin with control characters or longer than 2048 bytes is never allowed, so never
      reflected (a preflight from it fails with "origin"; an actual response gets what a
      refused origin gets);
    - with allow_headers=["*"], an Access-Control-Request-Headers value holding control
      characters other than tab is not mirrored, and the preflight fails with "headers".
    """

    def is_allowed_origin(self, origin: str) -> bool:
        return not deviant_origin(origin) and super().is_allowed_origin(origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        requested = request_headers.get("access-control-request-headers")
        if not (self.allow_all_headers and requested is not None and deviant_request_headers(requested)):
            return super().preflight_response(request_headers)
        without = Headers(raw=[(k, v) for k, v in request_headers.raw if k != b"access-control-request-headers"])
        response = super().preflight_response(without)
        failures = set() if response.body == b"OK" else set(response.body[len(b"Disallowed CORS ") :].split(b", "))
        failures.add(b"headers")
        text = "Disallowed CORS " + ", ".join(f.decode() for f in FAILURE_ORDER if f in failures)
        kept = {
            k.decode(): v.decode("latin-1")
            for k, v in response.raw_headers
            if k not in (b"content-length", b"content-type")
        }
        return PlainTextResponse(text, status_code=400, headers=kept)

    async def send(self, message: Message, send: Any, request_headers: Headers) -> None:  # type: ignore[override]
        origin = request_headers.get("Origin")
        if origin is None or not deviant_origin(origin) or message["type"] != "http.response.start":
            await super().send(message, send, request_headers)
            return
        # Starlette's own branch for a refused origin (allow-all + credentials included).
        message.setdefault("headers", [])
        headers = MutableHeaders(scope=message)
        headers.update(self.simple_headers)
        if INSTALLED.vary_always:
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        await send(message)


# -- configurations -----------------------------------------------------------------------


def bad_config(config: dict[str, Any]) -> bool:
    """Return True for the configurations corsfast refuses at construction (documented)."""

    def not_token(item: object) -> bool:
        return not isinstance(item, str) or not item or not TCHARS.issuperset(item)

    for key in ("allow_origins", "allow_methods", "allow_headers", "expose_headers"):
        if isinstance(config.get(key), (str, bytes)) and config[key] != "*":  # a bare "*" means ["*"]
            return True
    for key in ("allow_methods", "allow_headers", "expose_headers"):
        if any(not_token(item) for item in config.get(key, ())):
            return True
    max_age = config.get("max_age", 600)
    return isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0


ORIGIN_RULES = [
    "https://example.org",
    "https://example.org/",
    "https://Example.org",
    "http://example.org",
    "https://example.org:443",
    "https://a.com",
    "https://b.com",
    "https://x.com",
    "null",
    "",
    "*",
    "https://\xe9.example.org",
    "https://\u4f8b.jp",
    "https://a.com ",
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "QUERY", "get", "post", "CUSTOM", "*"]
BAD_METHODS = ["GET POST", "", "G\xc9T"]
HEADER_NAMES = [
    "*",
    "X-Example",
    "x-example",
    "Content-Type",
    "content-type",
    "Authorization",
    "X-Requested-With",
    "X-Custom-Header",
    "accept",
]
BAD_HEADER_NAMES = ["X Bad", "", "Bad:Name", "X-\xc4"]
EXPOSE = ["X-Status", "x-request-id", "Content-Length", "X-Example", "*"]
REGEXES = [
    r"https://.*\.example\.org",
    r"https://(a|b)\.com",
    r"(?i)https://x\.com",
    r"https://.*",
    r".*",
    "null",
    r"https://example\.org|https://a\.com",
    r"https://[^.]+\.example\.org(:\d+)?",
    r"https://\xe9\.example\.org",
]


def collection(items: st.SearchStrategy[list[Any]]) -> st.SearchStrategy[Any]:
    return items.flatmap(lambda xs: st.sampled_from([list(xs), tuple(xs), set(xs), frozenset(xs)]))


def rare(common: st.SearchStrategy[Any], uncommon: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly `common`, about one draw in eighty from `uncommon`."""
    return st.integers(0, 79).flatmap(lambda n: uncommon if n == 0 else common)


OMIT = object()
"""A key drawn as OMIT is left out, so the constructor's default is used."""


def option(strategy: st.SearchStrategy[Any], omitted_one_in: int) -> st.SearchStrategy[Any]:
    return st.integers(0, omitted_one_in - 1).flatmap(lambda n: st.just(OMIT) if n == 0 else strategy)


configs = st.fixed_dictionaries(
    {
        "allow_origins": option(collection(st.lists(st.sampled_from(ORIGIN_RULES), max_size=4)), 8),
        "allow_methods": option(
            collection(st.lists(rare(st.sampled_from(METHODS), st.sampled_from(BAD_METHODS)), max_size=4)), 3
        ),
        "allow_headers": option(
            collection(st.lists(rare(st.sampled_from(HEADER_NAMES), st.sampled_from(BAD_HEADER_NAMES)), max_size=4)), 3
        ),
        "allow_credentials": option(st.booleans(), 2),
        "allow_origin_regex": option(
            st.one_of(st.none(), st.sampled_from(REGEXES), st.sampled_from(REGEXES).map(re.compile)), 2
        ),
        # Starlette before 0.51 has no such keyword: `test_private_network_keyword` covers it there.
        "allow_private_network": option(st.booleans(), 2) if INSTALLED.private_network else st.just(OMIT),
        "expose_headers": option(
            st.lists(rare(st.sampled_from(EXPOSE), st.sampled_from(BAD_HEADER_NAMES)), max_size=3), 2
        ),
        "max_age": option(rare(st.integers(0, 10**6), st.sampled_from([-1, 1.5, "600", True])), 2),
    },
).map(lambda config: {key: value for key, value in config.items() if value is not OMIT})

# -- requests ---------------------------------------------------------------------------

ORIGINS = [
    b"https://example.org",
    b"https://example.org/",
    b"https://Example.org",
    b"HTTPS://EXAMPLE.ORG",
    b"http://example.org",
    b"https://example.org:443",
    b"https://example.org.evil.com",
    b"https://evil-example.org",
    b"https://sub.example.org",
    b"https://a.b.example.org",
    b"https://.example.org",
    b"https://sub.example.org:8443",
    b"https://a.com",
    b"https://b.com",
    b"https://c.com",
    b"https://ab.com",
    b"https://x.com",
    b"HTTPS://X.COM",
    b"https://X.com",
    b"null",
    b"",
    b"*",
    b"https://\xc3\xa9.example.org",
    b"https://\xe9.example.org",
    b"https://example.org\r\nx-injected: 1",
    b"https://a.com\x00",
    b"https://example.org\t",
    b"https://x.com\x7f",
    b"\x1bhttps://a.com",
    b" https://a.com",
    b"https://a.com ",
    b"https://a.com, https://b.com",
    b"https://" + b"a" * (MAX_ORIGIN_LENGTH - 20) + b".example.org",  # exactly the cap
    b"https://" + b"a" * (MAX_ORIGIN_LENGTH - 19) + b".example.org",  # one byte over
]
REQUEST_METHODS = [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"QUERY", b"get", b"CUSTOM", b"", b" GET", b"OPTIONS"]
ACRH_ELEMENTS = [
    b"x-example",
    b"X-Example",
    b"X-EXAMPLE",
    b"content-type",
    b"Content-Type",
    b"accept",
    b"authorization",
    b"x-custom-header",
    b"x-requested-with",
    b"",
    b" ",
    b"\t",
    b"x-example\x0b",
    b"\x1cx-example",
    b"x-\xe9",
    b"x-example\x85",
    b"\xa0accept",
    b"x-example\x00",
    b"x\rbad",
    b"X-Custom-Header ",
]
SEPARATORS = [b",", b", ", b" ,", b" , ", b",\t", b",,"]

origins = st.one_of(st.sampled_from(ORIGINS), st.binary(max_size=12).map(lambda b: b"https://" + b))
request_header_lists = st.one_of(
    st.lists(st.tuples(st.sampled_from(ACRH_ELEMENTS), st.sampled_from(SEPARATORS)), min_size=1, max_size=5).map(
        lambda pairs: b"".join(e + s for e, s in pairs[:-1]) + pairs[-1][0]
    ),
    st.binary(max_size=16),
)


def latin1(items: Any) -> list[bytes]:
    out = []
    for item in () if isinstance(items, str) else items:
        try:
            out.append(item.encode("latin-1"))
        except (UnicodeEncodeError, AttributeError):
            pass
    return out


@st.composite
def requests(draw: st.DrawFn, config: dict[str, Any]) -> Req:
    """Draw a request, often built from the configuration so that preflights can pass."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            starlette = StarletteCORSMiddleware(None, **config)  # type: ignore[arg-type]
    except Exception:
        starlette = None
    configured_origins = [o for o in latin1(config.get("allow_origins", ())) if o != b"*"] + [
        o
        for o in ORIGINS
        if starlette is not None and not deviant_origin(o) and starlette.is_allowed_origin(o.decode("latin-1"))
    ]
    configured_methods = latin1(starlette.allow_methods if starlette is not None else ("GET",))
    configured_names = latin1(starlette.allow_headers if starlette is not None else ())
    configured_names += [n for n in latin1(config.get("allow_headers", ())) if n != b"*"]

    def pick(configured: list[bytes], fallback: st.SearchStrategy[bytes]) -> bytes:
        if configured and draw(st.integers(0, 3)) > 0:
            return draw(st.sampled_from(configured))
        return draw(fallback)

    method = draw(st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "QUERY", "CUSTOM", *["OPTIONS"] * 7]))
    headers: list[Header] = []
    if draw(st.integers(0, 9)) > 0:
        headers.append((b"origin", pick(configured_origins, origins)))
    if draw(st.integers(0, 4)) < (4 if method == "OPTIONS" else 2):
        headers.append((b"access-control-request-method", pick(configured_methods, st.sampled_from(REQUEST_METHODS))))
    if draw(st.booleans()):
        allowed = st.sampled_from([*configured_names, b"Accept", b"content-type"])
        joined = st.lists(st.tuples(allowed, st.sampled_from(SEPARATORS)), min_size=1, max_size=4).map(
            lambda pairs: b"".join(e + s for e, s in pairs[:-1]) + pairs[-1][0]
        )
        headers.append((b"access-control-request-headers", draw(st.one_of(joined, request_header_lists))))
    if draw(st.integers(0, 3)) == 0:
        headers.append((b"access-control-request-private-network", draw(st.sampled_from([b"true", b"false", b""]))))
    if draw(st.booleans()):
        headers.append((b"cookie", b"session=abc; theme=dark"))
    if draw(st.integers(0, 4)) == 0:
        headers.append((b"origin", draw(origins)))  # a duplicate Origin: only the first counts
    if draw(st.integers(0, 6)) == 0:
        headers.append((b"access-control-request-method", draw(st.sampled_from(REQUEST_METHODS))))
    if draw(st.integers(0, 6)) == 0:
        headers.append((b"access-control-request-headers", draw(request_header_lists)))
    headers = draw(st.permutations(headers))
    body = draw(st.lists(st.binary(max_size=6), max_size=3))
    return Req(method, tuple(headers), tuple(body))


APP_HEADERS = [
    (b"content-type", b"text/plain"),
    (b"vary", b"Accept-Encoding"),
    (b"vary", b"Origin"),
    (b"vary", b"Cookie, Accept"),
    (b"vary", b"*"),
    (b"access-control-allow-origin", b"https://app.example"),
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-credentials", b"false"),
    (b"access-control-expose-headers", b"X-App"),
    (b"access-control-allow-methods", b"GET"),
    (b"access-control-max-age", b"1"),
    (b"set-cookie", b"a=b"),
    (b"x-app", b"1"),
    (b"content-length", b"5"),
]

app_specs = st.builds(
    AppSpec,
    status=st.sampled_from([200, 201, 204, 304, 400, 404, 500]),
    headers=st.lists(st.tuples(st.sampled_from(APP_HEADERS), st.booleans()), max_size=5).map(
        lambda items: tuple((name, value, as_list) for (name, value), as_list in items)
    ),
    omit_headers=st.integers(0, 9).map(lambda n: n == 0),
    chunks=st.lists(st.binary(max_size=6), min_size=1, max_size=3).map(tuple),
    read_body=st.booleans(),
)


def expected_and_actual(
    config: dict[str, Any], request: Req, spec: AppSpec, engine: ModuleType
) -> tuple[list[Message], list[Message], bool]:
    """Return (expected messages, corsfast's messages, whether a documented difference applied)."""
    origin = request.origin
    acrh = request.first(b"access-control-request-headers")
    deviation = origin is not None and (
        deviant_origin(origin)
        or (
            request.is_preflight
            and "*" in config.get("allow_headers", ())
            and acrh is not None
            and deviant_request_headers(acrh)
        )
    )
    reference = StarletteWithDeviations if deviation else StarletteCORSMiddleware
    expected = run(build(reference, make_app(spec), config), request)
    actual = run(build(corsfast.starlette.CORSMiddleware, make_app(spec), config, _engine=engine), request)
    return expected, actual, deviation


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=configs.flatmap(lambda config: st.tuples(st.just(config), requests(config))), spec=app_specs)
def test_differential(engine: ModuleType, case: tuple[dict[str, Any], Req], spec: AppSpec) -> None:
    config, request = case
    if bad_config(config):
        # Both "skip": corsfast refuses the configuration at construction, with a clear error.
        event("bad configuration")
        with pytest.raises((TypeError, ValueError)):
            build(corsfast.starlette.CORSMiddleware, make_app(spec), config, _engine=engine)
        return
    expected, actual, deviation = expected_and_actual(config, request, spec, engine)
    event(f"{'preflight' if request.is_preflight else 'actual'}, status {expected[0]['status']}")
    if deviation:
        event("a documented difference applied")
    assert actual == expected
    origin = request.origin
    if deviation and origin is not None and deviant_origin(origin):
        # The point of the difference: the value is never reflected.
        assert origin not in header_values(actual, b"access-control-allow-origin")
        if request.is_preflight:
            assert actual[0]["status"] == 400 and actual[1]["body"].startswith(b"Disallowed CORS origin")


# -- Starlette's quirks, each checked on real Starlette in the same test --------------------


SPECIFIC = {"allow_origins": ["https://example.org"], "allow_methods": ["GET", "POST"], "allow_headers": ["X-Example"]}


@pytest.mark.parametrize(
    "origin", [None, b"https://example.org", b"https://evil.example"], ids=["no-origin", "allowed", "refused"]
)
@pytest.mark.parametrize("config", [SPECIFIC, {"allow_origins": ["*"]}], ids=["specific", "allow-all"])
def test_vary_origin_on_actual_responses(engine: ModuleType, config: dict[str, Any], origin: bytes | None) -> None:
    request = Req("GET", () if origin is None else ((b"origin", origin),))
    starlette, ours = both(config, request, engine)
    if INSTALLED.vary_always:
        assert header_values(starlette, b"vary") == [b"Origin"]  # even without Origin, even with ACAO `*`
    else:
        # Before 1.7 only a reflected origin adds Vary.
        reflected = origin == b"https://example.org" and config is SPECIFIC
        assert header_values(starlette, b"vary") == ([b"Origin"] if reflected else [])
    assert ours == starlette


@pytest.mark.parametrize(
    ("app_vary", "merged"),
    [
        ([b"Accept-Encoding", b"Cookie"], b"Accept-Encoding, Cookie, Origin"),
        ([b"Origin"], b"Origin, Origin"),
        ([b"origin, Accept"], b"origin, Accept, Origin"),
        ([b"*"], b"*, Origin"),
    ],
    ids=["two-lines", "origin-origin", "lowercase", "star"],
)
@pytest.mark.parametrize(
    "origin", [None, b"https://example.org", b"https://evil.example"], ids=["no-origin", "allowed", "refused"]
)
def test_vary_merge(engine: ModuleType, app_vary: list[bytes], merged: bytes, origin: bytes | None) -> None:
    spec = AppSpec(
        headers=(
            (b"content-type", b"text/plain", False),
            *((b"vary", value, False) for value in app_vary),
            (b"x-after", b"1", False),
        )
    )
    request = Req("GET", () if origin is None else ((b"origin", origin),))
    starlette, ours = both(SPECIFIC, request, engine, spec)
    if INSTALLED.vary_always:
        # Several Vary lines collapse into one, at the first one's position; Origin is appended.
        assert [k for k, _ in start_headers(starlette)][:3] == [b"content-type", b"vary", b"x-after"]
        assert header_values(starlette, b"vary") == [merged]
    elif origin == b"https://example.org":
        # Before 1.7 (`add_vary_header`): Origin joins the first line, the others are dropped.
        assert header_values(starlette, b"vary") == [app_vary[0] + b", Origin"]
    else:
        assert header_values(starlette, b"vary") == app_vary  # untouched
    assert ours == starlette


@pytest.mark.parametrize(
    "config",
    [
        {**SPECIFIC, "allow_credentials": True, "expose_headers": ["X-Status", "X-Request-Id"]},
        {"allow_origin_regex": r"https://.*\.example\.org", "allow_credentials": True, "expose_headers": ["X-Status"]},
    ],
    ids=["list", "regex"],
)
def test_credentials_and_expose_headers_sent_to_refused_origins(engine: ModuleType, config: dict[str, Any]) -> None:
    request = Req("GET", ((b"origin", b"https://evil.example"),))
    starlette, ours = both(config, request, engine)
    assert header_values(starlette, b"access-control-allow-credentials") == [b"true"]
    assert header_values(starlette, b"access-control-expose-headers") == [", ".join(config["expose_headers"]).encode()]
    assert header_values(starlette, b"access-control-allow-origin") == []
    assert ours == starlette


@pytest.mark.parametrize("requested", [b"QUERY", b"GET", b"query"])
def test_query_in_the_star_method_list(engine: ModuleType, requested: bytes) -> None:
    config = {"allow_origins": ["https://example.org"], "allow_methods": ["*"]}
    request = Req("OPTIONS", ((b"origin", b"https://example.org"), (b"access-control-request-method", requested)))
    starlette, ours = both(config, request, engine)
    assert header_values(starlette, b"access-control-allow-methods") == [", ".join(INSTALLED.all_methods).encode()]
    assert starlette[0]["status"] == (200 if requested.decode() in INSTALLED.all_methods else 400)
    assert ours == starlette


ALLOW_ALL_PRIVATE_NETWORK = {
    "allow_origins": ["*"],
    **({"allow_private_network": True} if INSTALLED.private_network else {}),
}


@pytest.mark.parametrize("origin", [b"https://example.org", b"https://evil.example"], ids=["allowed", "refused"])
@pytest.mark.parametrize("config", [SPECIFIC, ALLOW_ALL_PRIVATE_NETWORK], ids=["specific", "allow-all"])
def test_fixed_preflight_vary(engine: ModuleType, config: dict[str, Any], origin: bytes) -> None:
    request = Req("OPTIONS", ((b"origin", origin), (b"access-control-request-method", b"GET")))
    spec = AppSpec(headers=((b"vary", b"Accept-Encoding", False),))  # never called for a preflight
    starlette, ours = both(config, request, engine, spec)
    if INSTALLED.vary_always:
        assert start_headers(starlette)[0] == (b"vary", PREFLIGHT_VARY)
        assert header_values(starlette, b"vary") == [PREFLIGHT_VARY]
    elif config is SPECIFIC:
        assert start_headers(starlette)[0] == (b"vary", b"Origin")  # before 1.7: when it may reflect
    else:
        assert header_values(starlette, b"vary") == []  # `*`, the same for every origin
    assert ours == starlette


@pytest.mark.parametrize(
    ("origin", "method", "names", "pna", "body"),
    [
        (
            b"https://evil.example",
            b"DELETE",
            b"X-Other",
            b"true",
            b"Disallowed CORS origin, method, headers, private-network",
        ),
        (b"https://evil.example", b"GET", None, None, b"Disallowed CORS origin"),
        (b"https://example.org", b"DELETE", None, None, b"Disallowed CORS method"),
        (b"https://example.org", b"GET", b"x-example,", None, b"Disallowed CORS headers"),
        (b"https://example.org", b"GET", None, b"true", b"Disallowed CORS private-network"),
        (b"https://evil.example", b"GET", b"X-Other", None, b"Disallowed CORS origin, headers"),
        (b"https://example.org", b"GET", b"X-Example, content-type", None, b"OK"),
    ],
)
def test_preflight_bodies(
    engine: ModuleType, origin: bytes, method: bytes, names: bytes | None, pna: bytes | None, body: bytes
) -> None:
    headers = [(b"origin", origin), (b"access-control-request-method", method)]
    if names is not None:
        headers.append((b"access-control-request-headers", names))
    if pna is not None:
        headers.append((b"access-control-request-private-network", pna))
    starlette, ours = both(SPECIFIC, Req("OPTIONS", tuple(headers)), engine)
    if not INSTALLED.private_network:  # before 0.51 the request header is not read
        body = body.replace(b", private-network", b"").replace(b"Disallowed CORS private-network", b"OK")
    assert starlette[0]["status"] == (200 if body == b"OK" else 400)
    assert starlette[1]["body"] == body
    assert header_values(starlette, b"content-type") == [b"text/plain; charset=utf-8"]
    assert ours == starlette


@pytest.mark.parametrize("origin", [b"https://example.org", b"https://evil.example"], ids=["allowed", "refused"])
@pytest.mark.parametrize(
    "config",
    [
        {**SPECIFIC, "allow_credentials": True, "expose_headers": ["X-Status"]},
        {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-Status"]},
        {"allow_origins": ["*"], "expose_headers": ["X-Status"]},
    ],
    ids=["specific", "star-credentials", "star"],
)
def test_app_set_cors_headers_replaced_in_place(engine: ModuleType, config: dict[str, Any], origin: bytes) -> None:
    spec = AppSpec(
        headers=(
            (b"access-control-allow-origin", b"https://app.example", False),
            (b"x-one", b"1", False),
            (b"access-control-allow-credentials", b"false", True),
            (b"access-control-expose-headers", b"X-App", False),
            (b"access-control-allow-origin", b"https://second.example", False),
            (b"vary", b"Accept", False),
        )
    )
    starlette, ours = both(config, Req("GET", ((b"origin", origin),)), engine, spec)
    names = [k for k, _ in start_headers(starlette)]
    if origin == b"https://example.org" or "*" in config["allow_origins"]:
        # Replaced at the first occurrence's position, later duplicates dropped.
        assert names[:5] == [
            b"access-control-allow-origin",
            b"x-one",
            b"access-control-allow-credentials",
            b"access-control-expose-headers",
            b"vary",
        ]
    else:
        # A refused origin: the app's own ACAO lines are kept as they are.
        assert header_values(starlette, b"access-control-allow-origin") == [
            b"https://app.example",
            b"https://second.example",
        ]
    assert header_values(starlette, b"access-control-expose-headers") == [b"X-Status"]
    assert ours == starlette


@pytest.mark.parametrize("more_body", [1, 3])
def test_streaming_bodies_and_request_body_pass_through(engine: ModuleType, more_body: int) -> None:
    spec = AppSpec(chunks=(*tuple(b"chunk%d" % i for i in range(more_body)), b""), read_body=True)
    request = Req("POST", ((b"origin", b"https://example.org"), (b"cookie", b"a=b")), (b"ab", b"", b"cde"))
    starlette, ours = both(SPECIFIC, request, engine, spec)
    assert [m.get("more_body") for m in starlette[1:]] == [True] * more_body + [False]
    assert (b"x-request-bytes", b"5") in start_headers(starlette)
    assert ours == starlette


def test_non_http_scopes_pass_through(engine: ModuleType) -> None:
    for cls in (StarletteCORSMiddleware, corsfast.starlette.CORSMiddleware):
        seen: list[dict[str, Any]] = []

        async def app(scope: dict[str, Any], receive: Any, send: Any, seen: list[dict[str, Any]] = seen) -> None:
            seen.append(scope)

        kwargs = {"_engine": engine} if cls is corsfast.starlette.CORSMiddleware else {}
        middleware = build(cls, app, SPECIFIC, **kwargs)
        for scope in ({"type": "lifespan"}, {"type": "websocket", "headers": [(b"origin", b"https://evil.example")]}):
            _drive(middleware(scope, None, None))
        assert [s["type"] for s in seen] == ["lifespan", "websocket"]


# -- the documented differences -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"allow_origins": "https://example.org"}, TypeError, "allow_origins.*bare str"),
        ({"allow_methods": "GET"}, TypeError, "allow_methods.*bare str"),
        ({"allow_headers": "X-Example"}, TypeError, "allow_headers.*bare str"),
        ({"expose_headers": "X-Status"}, TypeError, "expose_headers.*bare str"),
        ({"allow_headers": ["X Bad"]}, ValueError, "allow_headers item 'X Bad' is not an HTTP token"),
        ({"allow_headers": ["Bad:Name"]}, ValueError, "allow_headers item 'Bad:Name' is not an HTTP token"),
        ({"expose_headers": ["X-\xc4"]}, ValueError, "expose_headers item .* is not an HTTP token"),
        ({"allow_methods": ["GET POST"]}, ValueError, "allow_methods item 'GET POST' is not an HTTP token"),
        ({"allow_methods": [""]}, ValueError, "allow_methods item '' is not an HTTP token"),
        ({"max_age": -1}, ValueError, "max_age must be >= 0"),
        ({"max_age": 1.5}, TypeError, "max_age must be an int"),
        ({"max_age": "600"}, TypeError, "max_age must be an int"),
    ],
)
def test_broken_configurations_raise(
    engine: ModuleType, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover
        pass

    StarletteCORSMiddleware(app, **kwargs)  # Starlette accepts every one of them
    with pytest.raises(error, match=match):
        corsfast.starlette.CORSMiddleware(app, **kwargs, _engine=engine)


def test_bare_str_is_substring_matching_in_starlette(engine: ModuleType) -> None:
    """Why a bare str is refused: Starlette's `origin in "https://example.org"` is a substring test."""
    request = Req("OPTIONS", ((b"origin", b"https://exam"), (b"access-control-request-method", b"G")))
    starlette = run(
        StarletteCORSMiddleware(make_app(AppSpec()), allow_origins="https://example.org", allow_methods="GET"), request
    )
    assert starlette[0]["status"] == 200
    assert (b"access-control-allow-origin", b"https://exam") in start_headers(starlette)
    with pytest.raises(TypeError):
        corsfast.starlette.CORSMiddleware(make_app(AppSpec()), allow_origins="https://example.org", _engine=engine)


CONTROL_ORIGINS = [
    b"https://a.example.org\r",
    b"https://a.example.org\r\nset-cookie: x=1",
    b"https://a.example.org\x00",
    b"https://a.example.org\x0b",
    b"https://a.example.org\x1f",
    b"https://a.example.org\x7f",
    b"\thttps://a.example.org",
]


@pytest.mark.parametrize("origin", CONTROL_ORIGINS)
@pytest.mark.parametrize(
    "config",
    [
        {"allow_origin_regex": r"https://.*", "allow_credentials": True},
        {"allow_origin_regex": r"(?s)https://.*"},
        {"allow_origins": ["*"], "allow_credentials": True},
    ],
    ids=["regex-credentials", "dotall-regex", "star-credentials"],
)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_control_character_origin_never_reflected(
    engine: ModuleType, config: dict[str, Any], origin: bytes, method: str
) -> None:
    # The Cookie header: before 1.0 it, not allow_credentials, makes an allow-all answer reflect.
    headers: tuple[Header, ...] = ((b"origin", origin), (b"cookie", b"a=b"))
    if method == "OPTIONS":
        headers += ((b"access-control-request-method", b"GET"),)
    request = Req(method, headers)
    starlette = run(build(StarletteCORSMiddleware, make_app(AppSpec()), config), request)
    expected = run(build(StarletteWithDeviations, make_app(AppSpec()), config), request)
    ours = run(build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine), request)
    regex = config.get("allow_origin_regex")
    if regex is None or re.fullmatch(regex, origin.decode("latin-1")):
        assert header_values(starlette, b"access-control-allow-origin") == [origin]  # Starlette reflects it
    assert origin not in header_values(ours, b"access-control-allow-origin")
    assert ours == expected


class SpyPattern:
    """Stands in for a compiled pattern in `CORSOptions.origin_patterns` and counts the calls.

    `re.Pattern.fullmatch` cannot be patched (a C type), so the options the shim builds are
    rewrapped: the engines call `pattern.fullmatch(text)` on whatever the options hold.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls: list[str] = []

    def fullmatch(self, text: str) -> re.Match[str] | None:
        self.calls.append(text)
        return self.pattern.fullmatch(text)


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_over_long_origin_never_allowed_and_never_reaches_the_regex(
    engine: ModuleType, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    import dataclasses

    from corsfast import _options

    spies: list[SpyPattern] = []

    def spying_options(*args: Any, **kwargs: Any) -> Any:
        options = _options.starlette_options(*args, **kwargs)
        spies.extend(SpyPattern(p) for p in options.origin_patterns)
        return dataclasses.replace(options, origin_patterns=tuple(spies))

    monkeypatch.setattr(corsfast.starlette, "starlette_options", spying_options)
    config = {"allow_origin_regex": r"https://.*\.example\.org", "allow_credentials": True}
    middleware = build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine)
    assert len(spies) == 1
    spy = spies[0]

    def request(origin: bytes) -> Req:
        extra = ((b"access-control-request-method", b"GET"),) if method == "OPTIONS" else ()
        return Req(method, ((b"origin", origin), *extra))

    at_cap = b"https://" + b"a" * (MAX_ORIGIN_LENGTH - 20) + b".example.org"
    over = b"https://" + b"a" * (MAX_ORIGIN_LENGTH - 19) + b".example.org"
    assert (len(at_cap), len(over)) == (MAX_ORIGIN_LENGTH, MAX_ORIGIN_LENGTH + 1)
    for origin in (at_cap, over):
        starlette = run(build(StarletteCORSMiddleware, make_app(AppSpec()), config), request(origin))
        assert header_values(starlette, b"access-control-allow-origin") == [origin]  # Starlette allows both

    # At the cap: the regex runs once, the answer is Starlette's.
    ours = run(middleware, request(at_cap))
    assert spy.calls == [at_cap.decode("latin-1")]
    assert ours == run(build(StarletteCORSMiddleware, make_app(AppSpec()), config), request(at_cap))

    # One byte over: never allowed, the regex is never called, nothing is cached.
    size_before = middleware.cache_info().currsize
    for _ in range(3):
        ours = run(middleware, request(over))
        assert over not in header_values(ours, b"access-control-allow-origin")
        assert ours == run(build(StarletteWithDeviations, make_app(AppSpec()), config), request(over))
    assert spy.calls == [at_cap.decode("latin-1")]
    assert middleware.cache_info().currsize == size_before


@pytest.mark.parametrize("names", [b"x-example\r\nset-cookie: a", b"x-example\x00", b"a,\x0bb", b"x\x7f"])
def test_request_headers_with_control_characters_not_mirrored(engine: ModuleType, names: bytes) -> None:
    config = {"allow_origins": ["https://example.org"], "allow_headers": ["*"]}
    request = Req(
        "OPTIONS",
        (
            (b"origin", b"https://example.org"),
            (b"access-control-request-method", b"GET"),
            (b"access-control-request-headers", names),
        ),
    )
    starlette = run(build(StarletteCORSMiddleware, make_app(AppSpec()), config), request)
    assert header_values(starlette, b"access-control-allow-headers") == [names]  # Starlette mirrors
    ours = run(build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine), request)
    assert header_values(ours, b"access-control-allow-headers") == []
    assert (ours[0]["status"], ours[1]["body"]) == (400, b"Disallowed CORS headers")
    assert ours == run(build(StarletteWithDeviations, make_app(AppSpec()), config), request)


def test_tab_in_request_headers_still_mirrored(engine: ModuleType) -> None:
    config = {"allow_origins": ["https://example.org"], "allow_headers": ["*"]}
    request = Req(
        "OPTIONS",
        (
            (b"origin", b"https://example.org"),
            (b"access-control-request-method", b"GET"),
            (b"access-control-request-headers", b"x-a,\tx-b"),
        ),
    )
    starlette, ours = both(config, request, engine)
    assert header_values(starlette, b"access-control-allow-headers") == [b"x-a,\tx-b"]
    assert ours == starlette


PRIVATE_NETWORK_PREFLIGHT = Req(
    "OPTIONS",
    (
        (b"origin", b"https://example.org"),
        (b"access-control-request-method", b"GET"),
        (b"access-control-request-private-network", b"true"),
    ),
)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allow_credentials": 1},
        pytest.param(
            {"allow_private_network": 1},
            marks=pytest.mark.skipif(not INSTALLED.private_network, reason="Starlette before 0.51"),
        ),
    ],
    ids=["credentials", "private-network"],
)
def test_truthy_flags_accepted_like_starlette(engine: ModuleType, kwargs: dict[str, Any]) -> None:
    config = {"allow_origins": ["https://example.org"], **kwargs}
    starlette, ours = both(config, PRIVATE_NETWORK_PREFLIGHT, engine)
    assert ours == starlette


def test_request_header_verdicts_are_remembered_exactly_and_bounded(engine: ModuleType) -> None:
    """A repeated Access-Control-Request-Headers value gets the answer it got the first time
    (the engine remembers verdicts per value), and a flood of values stays bounded."""
    config = {"allow_origins": ["https://example.org"], "allow_headers": ["X-Token"], "allow_methods": ["GET"]}
    ours = build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine)
    theirs = build(StarletteCORSMiddleware, make_app(AppSpec()), config)

    def preflight(names: bytes) -> Req:
        return Req(
            "OPTIONS",
            (
                (b"origin", b"https://example.org"),
                (b"access-control-request-method", b"GET"),
                (b"access-control-request-headers", names),
            ),
        )

    for names in (b"x-token", b"x-token,x-other", b"X-TOKEN , content-type", b"x-other", b"x-token"):
        for _ in range(3):
            assert run(ours, preflight(names)) == run(theirs, preflight(names)), names
    for index in range(2100):
        run(ours, preflight(b"x-token,x-%d" % index))
    assert len(ours.policy._names_verdicts) <= 1024
    assert run(ours, preflight(b"x-token")) == run(theirs, preflight(b"x-token"))


@pytest.mark.parametrize("value", [True, False, 1])
def test_private_network_keyword(engine: ModuleType, value: object) -> None:
    """Starlette before 0.51 has no `allow_private_network`: both classes refuse the keyword;
    from 0.51 both take it."""
    config = {"allow_origins": ["https://example.org"], "allow_private_network": value}
    if INSTALLED.private_network:
        starlette, ours = both(config, PRIVATE_NETWORK_PREFLIGHT, engine)
        assert ours == starlette
        return
    with pytest.raises(TypeError, match="allow_private_network"):
        build(StarletteCORSMiddleware, make_app(AppSpec()), config)
    with pytest.raises(TypeError, match="allow_private_network"):
        build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine)


@pytest.mark.parametrize("cookie", [False, True], ids=["no-cookie", "cookie"])
@pytest.mark.parametrize("credentials", [False, True], ids=["no-credentials", "credentials"])
@pytest.mark.parametrize("app_vary", [(), (b"Accept",), (b"Accept", b"Cookie")], ids=["none", "one", "two"])
def test_allow_all_reflection(engine: ModuleType, cookie: bool, credentials: bool, app_vary: tuple[bytes, ...]) -> None:
    """Whether an allow-all simple response reflects the Origin: from 1.0 `allow_credentials`
    decides, before it a Cookie request header does."""
    config = {"allow_origins": ["*"], "allow_credentials": credentials, "expose_headers": ["X-Status"]}
    spec = AppSpec(headers=((b"content-type", b"text/plain", False), *((b"vary", v, False) for v in app_vary)))
    headers: tuple[Header, ...] = ((b"origin", b"https://any.example"),)
    if cookie:
        headers += ((b"cookie", b"session=1"),)
    starlette, ours = both(config, Req("GET", headers), engine, spec)
    reflects = credentials if INSTALLED.credentials_attribute else cookie
    assert header_values(starlette, b"access-control-allow-origin") == [b"https://any.example" if reflects else b"*"]
    assert ours == starlette


BARE_STAR_REQUESTS = [
    Req("GET"),
    Req("GET", ((b"origin", b"https://any.example"),)),
    Req("GET", ((b"origin", b"https://any.example"), (b"cookie", b"a=b"))),
    Req("GET", ((b"origin", b""),)),
    Req(
        "OPTIONS",
        (
            (b"origin", b"https://any.example"),
            (b"access-control-request-method", b"PATCH"),
            (b"access-control-request-headers", b"X-Token, content-type"),
        ),
    ),
]


@pytest.mark.parametrize(
    "config",
    [
        {"allow_origins": "*"},
        {"allow_origins": "*", "allow_credentials": True},
        {"allow_origins": ["https://any.example"], "allow_methods": "*"},
        {"allow_origins": ["https://any.example"], "allow_headers": "*"},
        {"allow_origins": "*", "allow_methods": "*", "allow_headers": "*", "expose_headers": "*"},
    ],
    ids=["origins", "origins-credentials", "methods", "headers", "all"],
)
def test_bare_star_answers_as_starlette(engine: ModuleType, config: dict[str, Any]) -> None:
    """A bare `"*"` (as public FastAPI projects write it) means what `["*"]` means, in Starlette and here."""
    theirs = build(StarletteCORSMiddleware, make_app(AppSpec()), config)
    ours = build(corsfast.starlette.CORSMiddleware, make_app(AppSpec()), config, _engine=engine)
    for name in ("allow_origins", "allow_methods", "allow_headers", "allow_all_origins", "allow_all_headers"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for request in BARE_STAR_REQUESTS:
        assert run(ours, request) == run(theirs, request), request
    # What `origin in "*"` is true for, when code later turns allow-all off: "" and "*".
    for middleware in (ours, theirs):
        middleware.allow_all_origins = False
    for origin in ("", "*", "https://any.example"):
        assert ours.is_allowed_origin(origin) == theirs.is_allowed_origin(origin), origin
    for request in BARE_STAR_REQUESTS:
        assert run(ours, request) == run(theirs, request), request
