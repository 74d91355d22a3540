"""Real-browser CORS matrix: headless Chromium runs cross-origin fetch() against each middleware.

Only a browser enforces CORS, so each case below writes down what the Fetch standard says the
browser must do (fetch resolves and the page can read the response, or fetch rejects with a
TypeError), and the servers record which requests reached the API (a preflight the browser
refused means the actual request is never sent). The API app answers OPTIONS with 405 itself,
so only the middleware can make a preflight succeed.

Implementations:
- native (`corsfast.CORSMiddleware`) on the compiled engine and on the pure twin;
- Starlette 1.10's own `CORSMiddleware` (the peer) and `corsfast.starlette.CORSMiddleware`,
  whose outcomes must be identical to the peer's in every case;
- Kui 1.15's own `allow_cors` (the peer) and `corsfast.kui`'s, identical to Kui's except the
  documented deviation: corsfast adds `Vary: Origin`, which keeps the browser cache honest;
- aiohttp-cors 0.8.1 (the peer) and `corsfast.aiohttp` on both engines, each an aiohttp app
  served on an origin of its own, identical to aiohttp-cors's except the same `Vary: Origin`.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any, Optional

import pytest

from ._cors_browser import COOKIE, STREAM_CHUNKS, aiohttp_api_app, api_app, kui_api_app

pytestmark = [pytest.mark.browser, pytest.mark.server]

# -- configurations, written once and translated to each dialect ------------------------


@dataclass(frozen=True)
class Config:
    origins: tuple[str, ...] = ("A", "B")
    """Page keys allowed exactly (see `browser_env.pages`)."""
    regex: Optional[str] = None
    wildcard: bool = False
    """Native only: allow `http://*.localhost:<port of page A>`."""
    allow_all: bool = False
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE")
    headers: tuple[str, ...] = ("X-Token",)
    expose: tuple[str, ...] = ("X-Exposed",)
    credentials: bool = False
    max_age: int = 600


EXACT = Config()
NARROW = Config(methods=("GET", "POST"), headers=(), expose=())
CREDENTIALS = Config(credentials=True)
REGEX = Config(origins=(), regex=r"http://[a-z]+\.localhost(:[0-9]+)?")
WILDCARD = Config(origins=(), wildcard=True)
ALL = Config(origins=(), allow_all=True)
ALL_CREDENTIALS = Config(origins=(), allow_all=True, credentials=True)


# -- expectations -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What the browser must do, per fetch, and which requests must reach the server."""

    readable: bool
    """True: fetch() resolves (the CORS check passed). False: it rejects with a TypeError."""
    arrivals: dict[str, int]
    """Requests per method that reached the API server during the case."""
    status: Optional[int] = None
    body: Optional[str] = None
    headers: Optional[dict[str, Optional[str]]] = None
    """Response headers as JavaScript reads them (None: not exposed to the page)."""


def ok(arrivals: dict[str, int], status: int = 200, body: Optional[str] = None, **kw: Any) -> Expect:
    return Expect(True, arrivals, status, body, **kw)


def blocked(arrivals: dict[str, int]) -> Expect:
    return Expect(False, arrivals)


@dataclass(frozen=True)
class Case:
    id: str
    config: Config
    page: str
    reason: str
    """One line from the Fetch standard saying why the browser must behave as expected."""
    expect: Expect
    method: str = "GET"
    path: str = "/api/data"
    headers: dict[str, str] = field(default_factory=dict)
    body: Optional[str] = None
    credentials: str = "same-origin"
    repeat: int = 1
    prime: Optional[str] = None
    """Before the fetch: "navigate" loads the URL as a page; a page key fetches it from that page."""
    dialects: tuple[str, ...] = ("native", "starlette", "kui", "aiohttp")
    overrides: dict[str, Expect] = field(default_factory=dict)
    """Expectations that differ, keyed by implementation name, role ("kui-peer") or dialect ("kui")."""


PATTERN_DIALECTS = ("native", "starlette", "kui")
"""The dialects with origin patterns (aiohttp-cors has none)."""
JSON = {"Content-Type": "application/json"}
G1 = {"GET": 1}
PRE = {"OPTIONS": 1}

CASES = [
    # simple requests: no preflight, the request always reaches the server
    Case(
        "simple_get_allowed",
        EXACT,
        "A",
        "no preflight; ACAO equals the page origin, so the CORS check passes",
        ok(G1, body="data GET"),
    ),
    Case(
        "simple_get_second_origin",
        EXACT,
        "B",
        "the second listed origin is reflected in ACAO just the same",
        ok(G1, body="data GET"),
    ),
    Case(
        "simple_get_refused",
        EXACT,
        "C",
        "the GET is sent (no preflight) but no ACAO for C: the response is hidden",
        blocked(G1),
    ),
    # preflighted methods
    Case(
        "post_json_allowed",
        EXACT,
        "A",
        "application/json is not safelisted: preflight OK, then the POST is sent",
        ok({"OPTIONS": 1, "POST": 1}, body="data POST"),
        method="POST",
        headers=JSON,
        body='{"a": 1}',
    ),
    Case(
        "post_json_refused_origin",
        EXACT,
        "C",
        "preflight without ACAO fails: the POST is never sent",
        blocked(PRE),
        method="POST",
        headers=JSON,
        body='{"a": 1}',
    ),
    Case(
        "put_allowed",
        EXACT,
        "A",
        "PUT is listed in Access-Control-Allow-Methods",
        ok({"OPTIONS": 1, "PUT": 1}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
    ),
    Case(
        "put_refused_method",
        NARROW,
        "A",
        "PUT is not in Access-Control-Allow-Methods: preflight fails, no PUT",
        blocked(PRE),
        method="PUT",
        headers=JSON,
        body="{}",
    ),
    Case(
        "put_refused_origin",
        EXACT,
        "C",
        "preflight for a refused origin has no ACAO: no PUT is sent",
        blocked(PRE),
        method="PUT",
        headers=JSON,
        body="{}",
    ),
    Case(
        "delete_allowed",
        EXACT,
        "A",
        "DELETE is listed in Access-Control-Allow-Methods",
        ok({"OPTIONS": 1, "DELETE": 1}, body="data DELETE"),
        method="DELETE",
    ),
    Case(
        "delete_refused_method",
        NARROW,
        "A",
        "DELETE is not in Access-Control-Allow-Methods: no DELETE is sent",
        blocked(PRE),
        method="DELETE",
    ),
    Case(
        "delete_refused_origin",
        EXACT,
        "C",
        "preflight for a refused origin has no ACAO: no DELETE is sent",
        blocked(PRE),
        method="DELETE",
    ),
    # request headers
    Case(
        "custom_header_allowed",
        EXACT,
        "A",
        "X-Token is not safelisted, so it is preflighted; ACAH lists it",
        ok({"OPTIONS": 1, "GET": 1}, body="data GET"),
        headers={"X-Token": "t"},
    ),
    Case(
        "custom_header_refused",
        EXACT,
        "A",
        "X-Other is missing from Access-Control-Allow-Headers: no GET is sent",
        blocked(PRE),
        headers={"X-Other": "t"},
    ),
    # credentials
    Case(
        "credentials_allowed",
        CREDENTIALS,
        "A",
        "a credentialed fetch needs ACAO = origin and ACAC: true",
        ok(G1, body=f"cookie={COOKIE}"),
        path="/api/whoami",
        credentials="include",
    ),
    Case(
        "credentials_not_allowed",
        EXACT,
        "A",
        "without ACAC: true a credentialed response is hidden",
        blocked(G1),
        path="/api/whoami",
        credentials="include",
    ),
    Case(
        "credentials_preflight_allowed",
        CREDENTIALS,
        "A",
        "the preflight of a credentialed PUT needs ACAC: true too",
        ok({"OPTIONS": 1, "PUT": 1}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
        credentials="include",
    ),
    Case(
        "credentials_preflight_not_allowed",
        EXACT,
        "A",
        "preflight without ACAC: true fails for a credentialed PUT",
        blocked(PRE),
        method="PUT",
        headers=JSON,
        body="{}",
        credentials="include",
    ),
    Case(
        "uncredentialed_under_credentials",
        CREDENTIALS,
        "A",
        "an omit-credentials fetch sends no cookie",
        ok(G1, body="cookie="),
        path="/api/whoami",
        credentials="omit",
    ),
    # response headers visible to JavaScript
    Case(
        "exposed_header_readable",
        EXACT,
        "A",
        "X-Exposed is in Access-Control-Expose-Headers, X-Hidden is not",
        ok(G1, headers={"x-exposed": "yes", "x-hidden": None}),
    ),
    Case(
        "nothing_exposed",
        NARROW,
        "A",
        "without Access-Control-Expose-Headers only safelisted headers are readable",
        ok(G1, headers={"x-exposed": None, "x-hidden": None}),
    ),
    # preflight cache
    Case(
        "max_age_caches_preflight",
        EXACT,
        "A",
        "max-age 600 caches the preflight: one OPTIONS, two PUTs",
        ok({"OPTIONS": 1, "PUT": 2}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
        repeat=2,
    ),
    Case(
        "max_age_zero",
        replace(EXACT, max_age=0),
        "A",
        "max-age 0 caches nothing: each PUT is preflighted",
        ok({"OPTIONS": 2, "PUT": 2}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
        repeat=2,
    ),
    # regex origins (fullmatch)
    Case(
        "regex_allowed",
        REGEX,
        "sub",
        "http://a.localhost:<port> fully matches the pattern",
        ok(G1, body="data GET"),
        dialects=PATTERN_DIALECTS,
    ),
    Case(
        "regex_preflight_allowed",
        REGEX,
        "sub",
        "the pattern decides the preflight too",
        ok({"OPTIONS": 1, "PUT": 1}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
        dialects=PATTERN_DIALECTS,
    ),
    Case(
        "regex_near_miss_two_labels",
        REGEX,
        "subsub",
        "[a-z]+ cannot span a dot: a.b.localhost is refused",
        blocked(G1),
        dialects=PATTERN_DIALECTS,
    ),
    Case(
        "regex_near_miss_prefix",
        REGEX,
        "prefix",
        "the pattern matches only a prefix of a.localhost.evil.localhost",
        blocked(G1),
        dialects=PATTERN_DIALECTS,
    ),
    Case(
        "regex_near_miss_prefix_preflight",
        REGEX,
        "prefix",
        "a prefix match must not pass a preflight either",
        blocked(PRE),
        method="PUT",
        headers=JSON,
        body="{}",
        dialects=PATTERN_DIALECTS,
    ),
    Case(
        "regex_near_miss_bare",
        REGEX,
        "bare",
        "the pattern needs a label before .localhost",
        blocked(G1),
        dialects=PATTERN_DIALECTS,
    ),
    # wildcard-subdomain origins (native only)
    Case(
        "wildcard_allowed",
        WILDCARD,
        "sub",
        "http://*.localhost:<port A> allows one label: a.localhost",
        ok(G1, body="data GET"),
        dialects=("native",),
    ),
    Case(
        "wildcard_preflight_allowed",
        WILDCARD,
        "sub",
        "the wildcard decides the preflight too",
        ok({"OPTIONS": 1, "PUT": 1}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
        dialects=("native",),
    ),
    Case("wildcard_two_labels", WILDCARD, "subsub", "a.b is two labels: refused", blocked(G1), dialects=("native",)),
    Case(
        "wildcard_bare",
        WILDCARD,
        "bare",
        "the wildcard needs exactly one label: localhost itself is refused",
        blocked(G1),
        dialects=("native",),
    ),
    Case(
        "wildcard_other_port",
        WILDCARD,
        "sub_other_port",
        "the port is part of the origin: another port is refused",
        blocked(G1),
        dialects=("native",),
    ),
    Case(
        "wildcard_prefix",
        WILDCARD,
        "prefix",
        "a.localhost.evil is not one label: refused",
        blocked(G1),
        dialects=("native",),
    ),
    # allow-all
    Case(
        "allow_all_simple", ALL, "C", "ACAO: * (or the reflected origin) lets any page read it", ok(G1, body="data GET")
    ),
    Case(
        "allow_all_preflight",
        ALL,
        "C",
        "allow-all answers the preflight for any origin",
        ok({"OPTIONS": 1, "PUT": 1}, body="data PUT"),
        method="PUT",
        headers=JSON,
        body="{}",
    ),
    Case(
        "allow_all_credentials_refused",
        ALL,
        "C",
        "a credentialed fetch rejects ACAO: * (Kui: ACAC: false)",
        blocked(G1),
        path="/api/whoami",
        credentials="include",
    ),
    Case(
        "allow_all_with_credentials",
        ALL_CREDENTIALS,
        "C",
        "with credentials the origin is reflected plus ACAC: true",
        ok(G1, body=f"cookie={COOKIE}"),
        path="/api/whoami",
        credentials="include",
    ),
    # error answers and streaming
    Case(
        "error_500_keeps_cors",
        EXACT,
        "A",
        "the CORS check ignores the status: a 500 with ACAO is readable",
        ok(G1, status=500, body="boom"),
        path="/api/error",
    ),
    Case(
        "not_found_404_keeps_cors",
        EXACT,
        "A",
        "a 404 with ACAO is readable",
        ok(G1, status=404, body="not found"),
        path="/api/missing",
        overrides={"kui": blocked(G1), "aiohttp": blocked(G1)},
    ),  # Kui's router answers unknown paths before its middlewares; aiohttp-cors is per resource
    Case(
        "streaming_response",
        EXACT,
        "A",
        "the CORS headers ride on the response start; the body streams after",
        ok(G1, body="".join(c.decode() for c in STREAM_CHUNKS)),
        path="/api/stream",
    ),
    # Vary: Origin and the browser's HTTP cache
    Case(
        "vary_navigation_then_fetch",
        EXACT,
        "A",
        "the page-load copy (no ACAO) is cached with Vary: Origin, so the fetch (with Origin) must go to the network",
        ok({"GET": 2}, body="cacheable"),
        path="/api/cacheable",
        prime="navigate",
        overrides={"kui-peer": blocked({"GET": 1}), "aiohttp-peer": blocked({"GET": 1})},
    ),  # Kui and aiohttp-cors send no Vary: the cached copy fails the check
    Case(
        "vary_two_origins",
        EXACT,
        "B",
        "A's cached copy carries ACAO: A and Vary: Origin, so B's fetch must go to the network",
        ok({"GET": 2}, body="cacheable"),
        path="/api/cacheable",
        prime="A",
        overrides={"kui-peer": blocked({"GET": 1}), "aiohttp-peer": blocked({"GET": 1})},
    ),
]


# -- implementations --------------------------------------------------------------------


def _origins(config: Config, pages: dict[str, str]) -> list[str]:
    return [pages[key] for key in config.origins]


def _engine_kwargs(engine: Optional[str]) -> dict[str, Any]:
    return {} if engine is None else {"_engine": importlib.import_module(engine)}


def _build_native(engine: Optional[str]) -> Callable[[Config, Any], Any]:
    def build(config: Config, env: Any) -> Any:
        from corsfast import CORSMiddleware

        rules: list[Any] = _origins(config, env.pages)
        if config.regex:
            rules.append(re.compile(config.regex))
        if config.wildcard:
            rules.append(f"http://*.localhost:{env.port_a}")
        if config.allow_all:
            rules.append("*")
        return CORSMiddleware(
            api_app,
            allow_origins=rules,
            allow_methods=config.methods,
            allow_headers=config.headers,
            expose_headers=config.expose,
            allow_credentials=config.credentials,
            max_age=config.max_age,
            **_engine_kwargs(engine),
        )

    return build


def _build_starlette(module: str, engine: Optional[str] = None) -> Callable[[Config, Any], Any]:
    def build(config: Config, env: Any) -> Any:
        middleware = importlib.import_module(module).CORSMiddleware
        return middleware(
            api_app,
            allow_origins=_origins(config, env.pages) + (["*"] if config.allow_all else []),
            allow_methods=config.methods,
            allow_headers=config.headers,
            allow_credentials=config.credentials,
            allow_origin_regex=config.regex,
            expose_headers=config.expose,
            max_age=config.max_age,
            **_engine_kwargs(engine),
        )

    return build


def kui_dropin() -> Optional[ModuleType]:
    """Return corsfast's Kui ASGI module, or None while it does not exist yet."""
    try:
        return importlib.import_module("corsfast.kui.asgi")
    except ImportError:
        return None


def _kui_config(config: Config, env: Any) -> dict[str, Any]:
    """The six keys of Kui's `cors_config`; origins become fully matched compiled patterns."""
    patterns = [re.compile(re.escape(origin)) for origin in _origins(config, env.pages)]
    if config.regex:
        patterns.append(re.compile(config.regex))
    if config.allow_all:
        patterns.append(re.compile(".*"))
    return {
        "allow_origins": patterns,
        "allow_methods": config.methods,
        "allow_headers": config.headers,
        "expose_headers": config.expose,
        "allow_credentials": config.credentials,
        "max_age": config.max_age,
    }


def _build_kui(module: str, engine: Optional[str] = None) -> Callable[[Config, Any], Any]:
    """Kui app-wide CORS as `Kui(http_middlewares=[allow_cors(**cors_config)])`."""

    def build(config: Config, env: Any) -> Any:
        from kui.asgi import Kui

        allow_cors = importlib.import_module(module).allow_cors
        return kui_api_app(Kui, http_middlewares=[allow_cors(**_kui_config(config, env), **_engine_kwargs(engine))])

    return build


def _build_kui_cors_config(module: str) -> Callable[[Config, Any], Any]:
    """Kui app-wide CORS as `Kui(cors_config={...})` (corsfast.kui.asgi.Kui for the drop-in)."""

    def build(config: Config, env: Any) -> Any:
        return kui_api_app(importlib.import_module(module).Kui, cors_config=_kui_config(config, env))

    return build


def _build_aiohttp(module: str, engine: Optional[str] = None) -> Callable[[Config, Any], Any]:
    """An aiohttp app whose resources all take `defaults={origin: ResourceOptions(...)}`.

    aiohttp-cors allows only the request headers listed (Starlette and Kui always allow the
    CORS-safelisted ones), so Content-Type is listed for the JSON requests.
    """

    def build(config: Config, env: Any) -> Any:
        cors = importlib.import_module(module)
        options = cors.ResourceOptions(
            allow_credentials=config.credentials,
            expose_headers=config.expose,
            allow_headers=(*config.headers, "Content-Type"),
            max_age=config.max_age,
            allow_methods=config.methods,
        )
        defaults = {key: options for key in (["*"] if config.allow_all else _origins(config, env.pages))}
        return aiohttp_api_app(lambda app: cors.setup(app, defaults=defaults, **_engine_kwargs(engine)), env.dispatcher)

    return build


@dataclass(frozen=True)
class Impl:
    name: str
    dialect: str
    build: Callable[[Config, Any], Any]
    peer: Optional[str] = None
    """For a drop-in: the peer implementation whose browser outcomes it must reproduce."""
    deviations: tuple[str, ...] = ()
    """Case ids where the drop-in documents a different (safer) answer than its peer."""

    @property
    def keys(self) -> tuple[str, ...]:
        """Keys of `Case.overrides` that apply, most specific first."""
        role = f"{self.dialect}-peer" if self.peer is None else f"{self.dialect}-corsfast"
        return (self.name, role, self.dialect)


VARY_CASES = ("vary_navigation_then_fetch", "vary_two_origins")
IMPLS = {
    impl.name: impl
    for impl in (
        Impl("native-c", "native", _build_native("corsfast._engine_c")),
        Impl("native-py", "native", _build_native("corsfast._engine_py")),
        Impl("starlette-peer", "starlette", _build_starlette("starlette.middleware.cors")),
        Impl(
            "starlette-corsfast-c",
            "starlette",
            _build_starlette("corsfast.starlette", "corsfast._engine_c"),
            peer="starlette-peer",
        ),
        Impl(
            "starlette-corsfast-py",
            "starlette",
            _build_starlette("corsfast.starlette", "corsfast._engine_py"),
            peer="starlette-peer",
        ),
        Impl("kui-peer", "kui", _build_kui("kui.asgi")),
        Impl(
            "kui-corsfast-c",
            "kui",
            _build_kui("corsfast.kui.asgi", "corsfast._engine_c"),
            peer="kui-peer",
            deviations=VARY_CASES,
        ),
        Impl(
            "kui-corsfast-py",
            "kui",
            _build_kui("corsfast.kui.asgi", "corsfast._engine_py"),
            peer="kui-peer",
            deviations=VARY_CASES,
        ),
        Impl("kui-config-peer", "kui", _build_kui_cors_config("kui.asgi")),
        Impl(
            "kui-config-corsfast",
            "kui",
            _build_kui_cors_config("corsfast.kui.asgi"),
            peer="kui-config-peer",
            deviations=VARY_CASES,
        ),
        Impl("aiohttp-peer", "aiohttp", _build_aiohttp("aiohttp_cors")),
        Impl(
            "aiohttp-corsfast-c",
            "aiohttp",
            _build_aiohttp("corsfast.aiohttp", "corsfast._engine_c"),
            peer="aiohttp-peer",
            deviations=VARY_CASES,
        ),
        Impl(
            "aiohttp-corsfast-py",
            "aiohttp",
            _build_aiohttp("corsfast.aiohttp", "corsfast._engine_py"),
            peer="aiohttp-peer",
            deviations=VARY_CASES,
        ),
    )
}


def expected(case: Case, impl: Impl) -> Expect:
    for key in impl.keys:
        if key in case.overrides:
            return case.overrides[key]
    return case.expect


# -- running a case ---------------------------------------------------------------------

READ_HEADERS = ["x-exposed", "x-hidden"]


@dataclass(frozen=True)
class Outcome:
    fetches: tuple[dict[str, Any], ...]
    arrivals: dict[str, int]


def run_case(env: Any, impl: Impl, case: Case) -> Outcome:
    """Install `impl` configured for `case` on the running API server and let Chromium run the case."""
    from corsfast import CORSConfigWarning

    with warnings.catch_warnings():
        # allow-all with credentials warns by design; the warnings have their own tests.
        warnings.simplefilter("ignore", CORSConfigWarning)
        app = impl.build(case.config, env)
    nonce = env.nonce()  # a fresh URL: no preflight-cache or HTTP-cache entry of another run applies
    with _serving(env, impl, app) as api:
        url = f"{api}{case.path}?n={nonce}"
        fetches = _fetch(env, case, url)
    return Outcome(tuple(fetches), env.dispatcher.count(nonce))


@contextlib.contextmanager
def _serving(env: Any, impl: Impl, app: Any) -> Iterator[str]:
    """Serve `app` for the block (an aiohttp app on its own origin, else through the
    dispatcher of the ASGI API server); yield the API origin."""
    if impl.dialect == "aiohttp":
        with env.aiohttp.serve(app) as origin:
            yield origin
        return
    env.dispatcher.current = app
    try:
        yield env.api
    finally:
        env.dispatcher.current = None


def _fetch(env: Any, case: Case, url: str) -> list[dict[str, Any]]:
    browser = env.browser
    if case.prime == "navigate":
        browser.navigate(url)
    elif case.prime is not None:
        primed = browser.fetch(env.pages[case.prime], url, {}, READ_HEADERS, 1)
        assert primed[0]["error"] is None, f"priming fetch from {case.prime} failed: {primed}"
    init: dict[str, Any] = {"method": case.method, "headers": case.headers, "credentials": case.credentials}
    if case.body is not None:
        init["body"] = case.body
    return browser.fetch(env.pages[case.page], url, init, READ_HEADERS, case.repeat)


def check(outcome: Outcome, expect: Expect, case: Case) -> None:
    for result in outcome.fetches:
        if expect.readable:
            assert result["error"] is None, f"fetch rejected, expected readable ({case.reason})"
            assert result["status"] == expect.status
            if expect.body is not None:
                assert result["body"] == expect.body
            if expect.headers is not None:
                assert result["headers"] == expect.headers
        else:
            assert result["error"] is not None and result["error"].startswith("TypeError"), (
                f"expected the browser to refuse ({case.reason}), got {result}"
            )
    assert outcome.arrivals == expect.arrivals, "requests that reached the server"


def _params() -> list[Any]:
    params = []
    for impl in IMPLS.values():
        marks: list[Any] = []
        if impl.name.endswith("-c"):
            marks.append(pytest.mark.c_extension)
        for case in CASES:
            if impl.dialect in case.dialects:
                params.append(pytest.param(impl.name, case, id=f"{impl.name}-{case.id}", marks=marks))
    return params


@pytest.mark.parametrize(("impl_name", "case"), _params())
def test_browser_matrix(browser_env: Any, impl_name: str, case: Case) -> None:
    impl = IMPLS[impl_name]
    if impl.dialect == "kui" and impl.peer is not None and kui_dropin() is None:
        pytest.skip("corsfast.kui.asgi is not importable yet (the Kui drop-in is issue 4)")
    outcome = run_case(browser_env, impl, case)
    browser_env.outcomes[(impl.name, case.id)] = outcome
    detail = f"{impl.name} / {case.id}: {outcome}"
    try:
        check(outcome, expected(case, impl), case)
    except AssertionError as exc:
        raise AssertionError(f"{detail}\n{exc}") from None
    if impl.peer is not None:
        peer = IMPLS[impl.peer]
        peer_outcome = browser_env.outcomes.get((peer.name, case.id))
        if peer_outcome is None:
            peer_outcome = run_case(browser_env, peer, case)
            browser_env.outcomes[(peer.name, case.id)] = peer_outcome
        if case.id not in impl.deviations:
            assert outcome == peer_outcome, f"{impl.name} differs from {peer.name} in a real browser"
        else:
            assert outcome != peer_outcome, f"documented deviation of {impl.name} from {peer.name} disappeared"


def test_expectations_are_documented() -> None:
    """Every case names its reason, and ids are unique (the table is the specification)."""
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        assert case.reason and len(case.reason) <= 120, case.id
