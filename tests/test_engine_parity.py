"""Hypothesis parity: the compiled engine and the pure twin give identical answers.

Random configurations (every option, `*` variants, exact, wildcard and pattern rules) and
random near-miss requests go through both engines, for the native, Starlette and Kui
dialects: the origin verdict and header blocks, `response_headers`, `preflight_response`,
the cache statistics, and the complete list of ASGI messages through the middleware.
"""

from __future__ import annotations

import inspect
import re
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from cases import run_sync
from conftest import C_ENGINE, PY_ENGINE
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast.starlette
from corsfast import CORSConfigWarning
from corsfast._engine import engine as default_engine
from corsfast._options import KUI_DEFAULT_METHODS, kui_options
from corsfast.asgi import ASGIShim

pytestmark = pytest.mark.c_extension

PARITY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Header = tuple[bytes, bytes]


class KuiDialectMiddleware(ASGIShim, default_engine.ASGIMiddlewareBase):  # type: ignore[misc,name-defined]
    """The engine's ASGI hot path on a Kui-dialect policy (the Kui shim itself wraps routes)."""

    __call__ = default_engine.asgi_call

    def __init__(
        self,
        app: Any,
        allow_origins: Any = (re.compile(".*"),),
        allow_methods: Any = KUI_DEFAULT_METHODS,
        allow_headers: Any = (),
        expose_headers: Any = (),
        allow_credentials: bool = False,
        max_age: int = 600,
        *,
        _engine: Optional[ModuleType] = None,
    ) -> None:
        self._bind(
            app, kui_options(allow_origins, allow_methods, allow_headers, expose_headers, allow_credentials, max_age)
        )


FACTORIES: dict[str, Callable[..., Any]] = {
    "native": corsfast.CORSMiddleware,
    "starlette": corsfast.starlette.CORSMiddleware,
    "kui": KuiDialectMiddleware,
}

# -- configurations ----------------------------------------------------------------------

BASE_ORIGINS = [
    "https://example.com",
    "http://example.com",
    "https://api.example.com",
    "https://a.b.example.com",
    "https://example.org:8443",
    "https://x.example.org:8443",
    "https://xn--bcher-kva.example.com",
    "http://localhost:3000",
    "https://x.example.com.evil.com",
    "null",
]
WILDCARDS = ["https://*.example.com", "http://*.example.com", "https://*.example.org:8443", "https://*.com"]
PATTERNS = [
    re.compile(r"https://example\.com"),
    re.compile(r"https://[a-z]+\.example\.com"),
    re.compile(r"https://EXAMPLE\.com", re.I),
    re.compile(r"(?i)https://api\.example\.com"),
    re.compile(r".*"),
    re.compile(r"https://.*"),
    re.compile(r"null"),
    re.compile(r"https?://(www\.)?example\.(com|org)(:\d+)?"),
    re.compile(r"https://caf\xe9\.com"),
]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "X-CUSTOM", "get"]
HEADER_NAMES = ["X-A", "x-b", "Content-Type", "authorization", "X-Request-Id"]

methods = st.one_of(
    st.just(["*"]),
    st.lists(st.sampled_from(METHODS), max_size=4),
    st.lists(st.sampled_from(METHODS), max_size=3).map(lambda m: [*m, "*"]),
)
headers = st.one_of(st.just(["*"]), st.lists(st.sampled_from(HEADER_NAMES), max_size=4))
expose = st.lists(st.sampled_from(["X-E", "X-F", "X-Request-Id", "X-E"]), max_size=3)
max_age = st.one_of(st.sampled_from([0, 1, 600, 86400]), st.integers(0, 10**6))
exact_origins = st.sampled_from([*BASE_ORIGINS, "https://EXAMPLE.com", "https://example.com/", "*"])

native_configs = st.fixed_dictionaries(
    {
        "allow_origins": st.lists(
            st.one_of(exact_origins, st.sampled_from(WILDCARDS), st.sampled_from(PATTERNS)), min_size=1, max_size=4
        ),
        "allow_methods": methods,
        "allow_headers": headers,
        "expose_headers": expose,
        "allow_credentials": st.booleans(),
        "max_age": max_age,
        "allow_private_network": st.booleans(),
        "cache_size": st.sampled_from([0, 1, 2, 4096]),
    }
)
# Starlette before 0.51 has no allow_private_network: the drop-in then refuses it, as Starlette does.
STARLETTE_PRIVATE_NETWORK = "allow_private_network" in inspect.signature(corsfast.starlette.CORSMiddleware).parameters
starlette_configs = st.fixed_dictionaries(
    {
        "allow_origins": st.lists(exact_origins, max_size=3),
        "allow_methods": methods,
        "allow_headers": headers,
        "allow_credentials": st.booleans(),
        "allow_origin_regex": st.one_of(st.none(), st.sampled_from([p.pattern for p in PATTERNS] + PATTERNS[2:4])),
        **({"allow_private_network": st.booleans()} if STARLETTE_PRIVATE_NETWORK else {}),
        "expose_headers": expose,
        "max_age": max_age,
    }
)
kui_configs = st.fixed_dictionaries(
    {
        "allow_origins": st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=3),
        "allow_methods": st.lists(st.sampled_from(METHODS[:7]), max_size=4),
        "allow_headers": st.lists(st.sampled_from(HEADER_NAMES), max_size=4),
        "expose_headers": expose,
        "allow_credentials": st.booleans(),
        "max_age": max_age,
    }
)
CONFIGS = {"native": native_configs, "starlette": starlette_configs, "kui": kui_configs}

# -- requests ------------------------------------------------------------------------------

ODD_BYTES = [b"\x00", b"\t", b"\n", b"\r", b"\r\n", b"\x7f", b" ", b"\xe9", b"\xff", b"\x85", b",", b"*", b"."]
SUFFIXES = [b".evil.com", b":1", b":443", b"/", b".", b"-evil.com", b"\n", b"evil", b"#x", b"?x", b", https://a.com"]
PREFIXES = [b"evil", b"x.", b"https://evil.com#", b" ", b"evil-", b"https://"]


@st.composite
def near_miss(draw: st.DrawFn, base: bytes) -> bytes:
    """Return `base` or a small mutation of it: the inputs where matchers go wrong."""
    kind = draw(st.integers(-10, 7))
    if kind <= 0 or not base:
        return base
    index = draw(st.integers(0, len(base) - 1))
    if kind == 1:  # flip the case of one byte
        return base[:index] + bytes([base[index] ^ 0x20]) + base[index + 1 :] if chr(base[index]).isalpha() else base
    if kind == 2:  # insert an odd or ordinary byte
        extra = draw(st.one_of(st.sampled_from(ODD_BYTES), st.binary(min_size=1, max_size=1)))
        return base[:index] + extra + base[index:]
    if kind == 3:  # drop a byte
        return base[:index] + base[index + 1 :]
    if kind == 4:
        return base + draw(st.sampled_from(SUFFIXES))
    if kind == 5:
        return draw(st.sampled_from(PREFIXES)) + base
    if kind == 6:  # around the length limit
        return base + b"a" * draw(st.sampled_from([2048 - len(base), 2049 - len(base), 3000]))
    return base.upper()


ORIGIN_BYTES = [o.encode("latin-1") for o in BASE_ORIGINS] + [b"https://caf\xe9.com", b"https://EXAMPLE.COM"]
origins = st.one_of(
    st.none(),
    st.sampled_from(ORIGIN_BYTES).flatmap(near_miss),
    st.binary(max_size=40),
    st.just(b""),
)


def candidate_origins(config: dict[str, Any]) -> list[bytes]:
    """Return origins that the config's own rules allow (or nearly), to mutate into near misses."""
    rules = list(config.get("allow_origins", ()))
    if config.get("allow_origin_regex") is not None:
        rules.append(re.compile(config["allow_origin_regex"]))
    found = []
    for rule in rules:
        if isinstance(rule, re.Pattern):
            found.extend(o for o in ORIGIN_BYTES if rule.fullmatch(o.decode("latin-1")))
        elif "*" in rule and rule != "*":
            found.extend(rule.replace("*", label).encode() for label in ("a", "api", "x-1", "xn--bcher-kva"))
        else:
            found.append(rule.encode("latin-1"))
    return found or ORIGIN_BYTES


acrm_values = st.one_of(
    st.none(),
    st.sampled_from([b"GET", b"POST", b"PUT"]),
    st.sampled_from(
        [b"GET", b"PUT", b"PATCH", b"get", b"X-CUSTOM", b"GET POST", b"", b"GET\r\n", b"\xe9", b"M-SEARCH"]
    ),
    st.binary(max_size=8),
)


@st.composite
def acrh_values(draw: st.DrawFn) -> Optional[bytes]:
    if draw(st.integers(0, 4)) == 0:
        return None
    if draw(st.integers(0, 6)) == 0:
        return draw(st.binary(max_size=30))
    names = draw(
        st.lists(
            st.sampled_from(
                [b"x-a", b"X-B", b"content-type", b"ACCEPT", b"authorization", b"x a", b"", b"x-request-id", b"x\xe9"]
            ),
            max_size=4,
        )
    )
    separators = st.sampled_from([b",", b", ", b" , ", b",,", b"\t,", b" ,\t"])
    value = b""
    for position, name in enumerate(names):
        value += (draw(separators) if position else b"") + name
    return draw(st.sampled_from([b"", b" ", b"\t"])) + value + draw(st.sampled_from([b"", b" ", b","]))


APP_HEADER_POOL: list[Header] = [
    (b"content-type", b"text/plain"),
    (b"vary", b"Accept-Encoding"),
    (b"vary", b"Origin"),
    (b"vary", b"accept, ORIGIN"),
    (b"vary", b"*"),
    (b"vary", b"Cookie"),
    (b"access-control-allow-origin", b"https://app.test"),
    (b"access-control-allow-credentials", b"true"),
    (b"access-control-expose-headers", b"X-App"),
    (b"content-length", b"5"),
]


@st.composite
def requests(draw: st.DrawFn, config: dict[str, Any]) -> dict[str, Any]:
    candidates = st.sampled_from(candidate_origins(config))
    origin = draw(st.one_of(candidates, candidates, candidates.flatmap(near_miss), origins))
    cors: list[Header] = []
    if origin is not None:
        cors.append((b"origin", origin))
    for name, strategy in (
        (b"access-control-request-method", acrm_values),
        (b"access-control-request-headers", acrh_values()),
        (b"access-control-request-private-network", st.one_of(st.none(), st.sampled_from([b"true", b"false", b""]))),
    ):
        value = draw(strategy)
        if value is not None:
            cors.append((name, value))
    cors = draw(st.permutations(cors))
    if draw(st.integers(0, 5)) == 0:  # a second, later Origin header never counts
        cors.append((b"origin", draw(st.sampled_from([b"https://example.com", b"https://evil.com", b""]))))
    return {
        "method": draw(st.sampled_from(["OPTIONS"] * 6 + ["GET", "POST", "PUT", "HEAD", "options"])),
        "headers": [(b"host", b"api.test"), *cors, (b"accept", b"*/*")],
        "app_headers": draw(st.lists(st.sampled_from(APP_HEADER_POOL), max_size=4)),
        "app_headers_key": draw(st.booleans()),
    }


# -- running both engines ------------------------------------------------------------------


class App:
    def __init__(self, headers: Sequence[Header], with_headers_key: bool) -> None:
        self.headers = headers
        self.with_headers_key = with_headers_key
        self.calls: list[tuple[Any, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append((scope, receive))
        start: dict[str, Any] = {"type": "http.response.start", "status": 200}
        if self.with_headers_key:
            start["headers"] = list(self.headers)
        await send(start)
        await send({"type": "http.response.body", "body": b"Hello", "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def _build(factory: Callable[..., Any], config: dict[str, Any], app: Any, engine: ModuleType) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return factory(app, **config, _engine=engine)


def _entry(entry: Any) -> tuple[Any, ...]:
    return (entry.allowed, entry.block, entry.ops, entry.preflight_head)


def _outcome(function: Callable[[], Any]) -> Any:
    try:
        return ("ok", function())
    except Exception as exc:  # both engines must fail the same way
        return ("raised", type(exc))


def _answers(dialect: str, config: dict[str, Any], request: dict[str, Any], engine: ModuleType) -> dict[str, Any]:
    """Return everything observable about one request on one engine."""
    factory = FACTORIES[dialect]
    policy = _build(factory, config, None, engine).policy
    assert type(policy) is engine.CORSPolicy
    origin, acrm, acrh, acrpn = engine.scan_request_headers(request["headers"])
    answers: dict[str, Any] = {"scan": (origin, acrm, acrh, acrpn)}
    if origin is not None:
        answers["lookup"] = _entry(policy.lookup(origin))
        answers["lookup-again"] = _entry(policy.lookup(origin))
        answers["allowed"] = policy.is_allowed_origin(origin)
        answers["preflight"] = _outcome(lambda: policy.preflight_response(origin, acrm, acrh, acrpn))
    answers["is_preflight"] = policy.is_preflight(request["method"], origin, acrm)
    answers["response_headers"] = policy.response_headers(origin, list(request["app_headers"]))
    answers["response_headers_tuple"] = policy.response_headers(origin, tuple(request["app_headers"]))
    answers["cache_info"] = tuple(policy.cache_info())

    app = App(request["app_headers"], request["app_headers_key"])
    middleware = _build(factory, config, app, engine)
    messages: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request["method"],
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": list(request["headers"]),
        "client": None,
        "server": None,
    }
    run_sync(middleware(scope, receive, send))
    answers["messages"] = messages
    answers["app_called"] = len(app.calls)
    if app.calls:
        assert app.calls[0][0] is scope and app.calls[0][1] is receive
    answers["middleware_cache_info"] = tuple(middleware.cache_info())
    return answers


def _check_parity(dialect: str, config: dict[str, Any], request: dict[str, Any]) -> None:
    c = _answers(dialect, config, request, C_ENGINE.module)
    py = _answers(dialect, config, request, PY_ENGINE.module)
    assert c == py


@PARITY
@given(data=st.data(), config=native_configs)
def test_parity_native(data: st.DataObject, config: dict[str, Any]) -> None:
    request = data.draw(requests(config), label="request")
    _check_parity("native", config, request)


@PARITY
@given(data=st.data(), config=starlette_configs)
def test_parity_starlette(data: st.DataObject, config: dict[str, Any]) -> None:
    request = data.draw(requests(config), label="request")
    _check_parity("starlette", config, request)


@PARITY
@given(data=st.data(), config=kui_configs)
def test_parity_kui(data: st.DataObject, config: dict[str, Any]) -> None:
    request = data.draw(requests(config), label="request")
    _check_parity("kui", config, request)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", b"https://example.com")],  # Kui: an OPTIONS without ACRM is a preflight too
        [(b"origin", b""), (b"access-control-request-method", b"GET")],  # Kui: an empty Origin is no Origin
    ],
    ids=["no-acrm", "empty-origin"],
)
def test_parity_kui_options_without_acrm(headers: list[Header]) -> None:
    """Regression: the compiled asgi_call once decided "preflight" by ACRM alone, unlike is_preflight."""
    config = {"allow_origins": [re.compile(r"https://example\.com")], "allow_methods": ["GET"]}
    request = {"method": "OPTIONS", "headers": headers, "app_headers": [], "app_headers_key": True}
    _check_parity("kui", config, request)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), config=native_configs)
def test_parity_cache_sequence(data: st.DataObject, config: dict[str, Any]) -> None:
    """A sequence of lookups leaves both caches with the same statistics and verdicts."""
    some_origin = st.sampled_from(candidate_origins(config)).flatmap(near_miss)
    origins_ = data.draw(st.lists(some_origin, min_size=1, max_size=12), label="origins")
    results = []
    for implementation in (C_ENGINE, PY_ENGINE):
        policy = _build(corsfast.CORSMiddleware, config, None, implementation.module).policy
        verdicts = [_entry(policy.lookup(origin)) for origin in origins_ + origins_[::-1]]
        results.append((verdicts, tuple(policy.cache_info())))
        policy.cache_clear()
        assert tuple(policy.cache_info())[:2] == (0, 0)
    assert results[0] == results[1]
