"""Benchmark corsfast against the bare app, Starlette, Kui and others, side by side in one process.

Every contender answers the same ASGI requests in one process. A timing sample is one
event-loop task that awaits `app(scope, receive, send)` N times in a tight loop (timed with
`perf_counter_ns`); a round takes one sample of every contender for every scenario, in a
shuffled order, and many rounds give medians. A contender's *overhead* is the median over
rounds of (its ns/request minus its floor's ns/request in the same round): the bare ASGI
app for middlewares, the same Kui app without CORS for Kui's middlewares. Every
contender's answers are checked before it is timed.

The building blocks (scenarios, contenders, `build_app`, `check_messages`) are reused by
the pytest-benchmark suites in `benchmarks/`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Optional

__all__ = (
    "CONTENDERS",
    "SCENARIOS",
    "Contender",
    "Scenario",
    "Unsupported",
    "add_arguments",
    "available_contenders",
    "bare_app",
    "build_app",
    "call_once",
    "check_messages",
    "drive",
    "make_scope",
    "run",
)

Message = dict[str, Any]
Scope = dict[str, Any]

# ---------------------------------------------------------------------------------------
# Requests: what a browser sends (Chromium 13x, lower-case names as servers hand them over)
# ---------------------------------------------------------------------------------------

ALLOWED_ORIGIN = b"https://app.example.com"
DISALLOWED_ORIGIN = b"https://evil.example.net"
REGEX_ORIGIN = b"https://tenant-42.example.io"
EXACT_ORIGINS = ("https://app.example.com", "https://admin.example.com", "https://www.example.org")
ORIGIN_REGEX = r"https://[a-z0-9-]+\.example\.io"
ALLOW_METHODS = ("GET", "POST", "PUT", "DELETE")
ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Requested-With")
REQUESTED_HEADERS = b"authorization,content-type,x-requested-with"

_USER_AGENT = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"
_SEC_CH_UA = b'"Chromium";v="134", "Not:A-Brand";v="24", "Google Chrome";v="134"'


def _get_headers(origin: Optional[bytes], cookie: bool = False) -> list[tuple[bytes, bytes]]:
    """Return the headers of a `fetch()` GET: same-origin (no Origin) or cross-origin."""
    headers = [
        (b"host", b"api.example.com"),
        (b"connection", b"keep-alive"),
        (b"sec-ch-ua-platform", b'"Linux"'),
        (b"user-agent", _USER_AGENT),
        (b"sec-ch-ua", _SEC_CH_UA),
        (b"sec-ch-ua-mobile", b"?0"),
        (b"accept", b"application/json, text/plain, */*"),
    ]
    if origin is not None:
        headers.append((b"origin", origin))
    headers += [
        (b"sec-fetch-site", b"cross-site" if origin is not None else b"same-origin"),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-dest", b"empty"),
        (b"referer", (origin or b"https://api.example.com") + b"/dashboard"),
        (b"accept-encoding", b"gzip, deflate, br, zstd"),
        (b"accept-language", b"en-GB,en;q=0.9,fr;q=0.8"),
    ]
    if cookie:
        headers.append((b"cookie", b"session=6f1c2a9e3b; theme=dark"))
    return headers


def _preflight_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """Return the headers of Chromium's preflight for a PUT with three non-safelisted headers."""
    return [
        (b"host", b"api.example.com"),
        (b"connection", b"keep-alive"),
        (b"accept", b"*/*"),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", REQUESTED_HEADERS),
        (b"origin", origin),
        (b"user-agent", _USER_AGENT),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-site", b"cross-site"),
        (b"sec-fetch-dest", b"empty"),
        (b"referer", origin + b"/dashboard"),
        (b"accept-encoding", b"gzip, deflate, br, zstd"),
        (b"accept-language", b"en-GB,en;q=0.9,fr;q=0.8"),
    ]


@dataclass(frozen=True)
class Scenario:
    """One kind of request and the CORS configuration it meets."""

    id: str
    title: str
    method: str
    headers: tuple[tuple[bytes, bytes], ...]
    origin: Optional[bytes]
    config: str
    """"base" (three exact origins), "regex" (the same plus a regex) or "any-credentials"."""
    expect: str
    """"pass" (no CORS answer), "allow" (ACAO == origin), "preflight" (2xx + ACAO), "deny"."""

    @property
    def simple(self) -> bool:
        """True for requests a browser sends without a preflight."""
        return self.method != "OPTIONS"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("a", "GET, no Origin", "GET", tuple(_get_headers(None)), None, "base", "pass"),
    Scenario("b", "GET, allowed origin", "GET", tuple(_get_headers(ALLOWED_ORIGIN)), ALLOWED_ORIGIN, "base", "allow"),
    Scenario(
        "c", "GET, disallowed origin", "GET", tuple(_get_headers(DISALLOWED_ORIGIN)), DISALLOWED_ORIGIN, "base", "deny"
    ),
    Scenario(
        "d",
        "preflight, allowed, 3 headers",
        "OPTIONS",
        tuple(_preflight_headers(ALLOWED_ORIGIN)),
        ALLOWED_ORIGIN,
        "base",
        "preflight",
    ),
    Scenario(
        "e",
        "preflight, disallowed origin",
        "OPTIONS",
        tuple(_preflight_headers(DISALLOWED_ORIGIN)),
        DISALLOWED_ORIGIN,
        "base",
        "deny",
    ),
    Scenario(
        "f", "GET, origin matched by regex", "GET", tuple(_get_headers(REGEX_ORIGIN)), REGEX_ORIGIN, "regex", "allow"
    ),
    Scenario(
        "g",
        "GET, allow-all + credentials",
        "GET",
        tuple(_get_headers(ALLOWED_ORIGIN, cookie=True)),
        ALLOWED_ORIGIN,
        "any-credentials",
        "allow",
    ),
)
SCENARIO_IDS = "".join(s.id for s in SCENARIOS)


def make_scope(scenario: Scenario) -> dict[str, Any]:
    """Return the ASGI HTTP scope a server would build for `scenario` (reused by every call)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51234),
        "scheme": "http",
        "method": scenario.method,
        "root_path": "",
        "path": "/api/data",
        "raw_path": b"/api/data",
        "query_string": b"",
        "headers": list(scenario.headers),
        "state": {},
    }


# ---------------------------------------------------------------------------------------
# The apps
# ---------------------------------------------------------------------------------------

_BODY = b'{"hello": "world"}'
_BODY_MESSAGE = {"type": "http.response.body", "body": _BODY, "more_body": False}


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    """The floor: answer every request with a small JSON body (a fresh start message each time)."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"18")],
        }
    )
    await send(_BODY_MESSAGE)


_FLOOR_HEADER = (b"x-floor", b"1")


class SendWrapperFloor:
    """The cheapest pure-Python middleware that wraps `send` to add one prebuilt header.

    A class with `__slots__`, an `async def __call__`, and a plain closure that appends
    one header tuple to the start message and returns `send`'s own awaitable (no extra
    coroutine frame). Any pure-Python middleware that edits the response costs at least this.
    """

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        def wrapped(message: Message) -> Any:
            if message["type"] == "http.response.start":
                message["headers"].append(_FLOOR_HEADER)
            return send(message)

        await self.app(scope, receive, wrapped)


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _discard(message: Message) -> None:
    return None


# ---------------------------------------------------------------------------------------
# Contenders
# ---------------------------------------------------------------------------------------


class Unsupported(Exception):
    """The contender cannot express a scenario's configuration (left out of that column)."""


@dataclass(frozen=True)
class Contender:
    """One ASGI app builder: a floor or a middleware over a floor."""

    id: str
    label: str
    build: Callable[[Scenario], Any]
    floor: Optional[str]
    """The contender whose time is subtracted ("bare" or "kui-bare"); None for floors."""
    twin_of: Optional[str] = None
    """A contender whose ASGI messages this one must reproduce exactly."""
    family: str = "other"
    """"corsfast-c", "corsfast-py", "starlette", "kui", "floor" or "other" (for targets and plots)."""
    module: str = ""
    """What must be importable for this contender."""


def _quiet(factory: Callable[[], Any]) -> Any:
    """Build without configuration warnings (allow-all + credentials is warned about on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory()


def _native_kwargs(config: str) -> dict[str, Any]:
    if config == "any-credentials":
        return {
            "allow_origins": ["*"],
            "allow_credentials": True,
            "allow_methods": ALLOW_METHODS,
            "allow_headers": ALLOW_HEADERS,
        }
    origins: list[Any] = list(EXACT_ORIGINS)
    if config == "regex":
        origins.append(re.compile(ORIGIN_REGEX))
    return {"allow_origins": origins, "allow_methods": ALLOW_METHODS, "allow_headers": ALLOW_HEADERS}


def _starlette_kwargs(config: str) -> dict[str, Any]:
    if config == "any-credentials":
        return {
            "allow_origins": ["*"],
            "allow_credentials": True,
            "allow_methods": ALLOW_METHODS,
            "allow_headers": ALLOW_HEADERS,
        }
    kwargs: dict[str, Any] = {
        "allow_origins": list(EXACT_ORIGINS),
        "allow_methods": ALLOW_METHODS,
        "allow_headers": ALLOW_HEADERS,
    }
    if config == "regex":
        kwargs["allow_origin_regex"] = ORIGIN_REGEX
    return kwargs


def _kui_kwargs(config: str) -> dict[str, Any]:
    if config == "any-credentials":
        return {
            "allow_origins": [re.compile(".*")],
            "allow_credentials": True,
            "allow_methods": ALLOW_METHODS,
            "allow_headers": ALLOW_HEADERS,
        }
    origins = [re.compile(re.escape(origin)) for origin in EXACT_ORIGINS]
    if config == "regex":
        origins.append(re.compile(ORIGIN_REGEX))
    return {"allow_origins": origins, "allow_methods": ALLOW_METHODS, "allow_headers": ALLOW_HEADERS}


def _engine(name: str) -> ModuleType:
    return importlib.import_module(f"corsfast._engine_{name}")


def _corsfast_native(engine: str) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast import CORSMiddleware

        return _quiet(lambda: CORSMiddleware(bare_app, **_native_kwargs(scenario.config), _engine=_engine(engine)))  # type: ignore[call-arg]

    return build


def _corsfast_starlette(engine: str) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast.starlette import CORSMiddleware

        return _quiet(lambda: CORSMiddleware(bare_app, **_starlette_kwargs(scenario.config), _engine=_engine(engine)))  # type: ignore[call-arg]

    return build


def _starlette(scenario: Scenario) -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(bare_app, **_starlette_kwargs(scenario.config))


async def _kui_endpoint() -> Any:
    from kui.asgi import PlainTextResponse

    return PlainTextResponse(_BODY.decode(), media_type="application/json")


def _kui_app(middleware: Any = None) -> Any:
    from kui.asgi import HttpRoute, Kui

    return Kui(routes=[HttpRoute("/api/data", _kui_endpoint)], http_middlewares=[middleware] if middleware else [])


def _kui_bare(scenario: Scenario) -> Any:
    return _kui_app()


def _kui(scenario: Scenario) -> Any:
    from kui.asgi import allow_cors

    return _kui_app(allow_cors(**_kui_kwargs(scenario.config)))


def _corsfast_kui_engines() -> tuple[Optional[str], ...]:
    """Return the engines corsfast's Kui middleware can be built on (None: its default only)."""
    import inspect

    from corsfast.kui.asgi import allow_cors

    try:
        parameters = inspect.signature(allow_cors).parameters
    except (TypeError, ValueError):  # pragma: no cover - a compiled callable without a signature
        return (None,)
    if "_engine" in parameters:
        return ("c", "py")
    return (None,)


def _corsfast_kui(engine: Optional[str]) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast.kui.asgi import allow_cors

        extra: dict[str, Any] = {} if engine is None else {"_engine": _engine(engine)}
        return _kui_app(_quiet(lambda: allow_cors(**_kui_kwargs(scenario.config), **extra)))

    return build


def _asgi_cors(scenario: Scenario) -> Any:
    asgi_cors = importlib.import_module("asgi_cors").asgi_cors  # untyped

    if scenario.config == "any-credentials":
        raise Unsupported("asgi-cors cannot send Access-Control-Allow-Credentials")
    pattern = re.compile(ORIGIN_REGEX.encode())
    callback = (lambda origin: pattern.fullmatch(origin) is not None) if scenario.config == "regex" else None
    return asgi_cors(
        bare_app, hosts=list(EXACT_ORIGINS), callback=callback, headers=list(ALLOW_HEADERS), methods=list(ALLOW_METHODS)
    )


_LITESTAR_APP: Any = None


def _litestar(scenario: Scenario) -> Any:
    # The public name is a deprecated alias of this class (Litestar 2.9+); Litestar apps
    # install it from `cors_config`. Its preflight path reads scope["litestar_app"].
    CORSConfig = importlib.import_module("litestar.config.cors").CORSConfig
    CORSMiddleware = importlib.import_module("litestar.middleware._internal.cors").CORSMiddleware

    if scenario.config == "any-credentials":
        config = CORSConfig(
            allow_origins=["*"],
            allow_credentials=True,
            allow_methods=list(ALLOW_METHODS),
            allow_headers=list(ALLOW_HEADERS),
        )
    else:
        config = CORSConfig(
            allow_origins=list(EXACT_ORIGINS),
            allow_methods=list(ALLOW_METHODS),
            allow_headers=list(ALLOW_HEADERS),
            allow_origin_regex=ORIGIN_REGEX if scenario.config == "regex" else None,
        )
    return CORSMiddleware(bare_app, config)


def _litestar_scope_extra() -> dict[str, Any]:
    global _LITESTAR_APP
    if _LITESTAR_APP is None:
        _LITESTAR_APP = importlib.import_module("litestar").Litestar()
    return {"litestar_app": _LITESTAR_APP}


def _all_contenders() -> list[Contender]:
    contenders = [
        Contender("bare", "bare ASGI app (floor)", lambda s: bare_app, None, family="floor"),
        Contender(
            "corsfast-c",
            "corsfast compiled",
            _corsfast_native("c"),
            "bare",
            family="corsfast-c",
            module="corsfast._engine_c",
        ),
        Contender(
            "corsfast-py",
            "corsfast pure twin",
            _corsfast_native("py"),
            "bare",
            twin_of="corsfast-c",
            family="corsfast-py",
        ),
        Contender(
            "corsfast.starlette-c",
            "corsfast.starlette compiled",
            _corsfast_starlette("c"),
            "bare",
            twin_of="starlette",
            family="corsfast-c",
            module="corsfast._engine_c",
        ),
        Contender(
            "corsfast.starlette-py",
            "corsfast.starlette pure twin",
            _corsfast_starlette("py"),
            "bare",
            twin_of="starlette",
            family="corsfast-py",
        ),
        Contender("starlette", "Starlette CORSMiddleware", _starlette, "bare", family="starlette", module="starlette"),
        Contender(
            "send-wrapper",
            "pure-Python send wrapper (1 header)",
            lambda s: SendWrapperFloor(bare_app),
            "bare",
            family="floor",
        ),
        Contender("kui-bare", "Kui app (floor for Kui)", _kui_bare, None, family="floor", module="kui"),
        Contender("kui", "Kui allow_cors", _kui, "kui-bare", family="kui", module="kui"),
    ]
    try:
        engines = _corsfast_kui_engines()
    except ImportError:
        engines = ()
    for engine in engines:
        if engine is None:
            contenders.append(
                Contender(
                    "corsfast.kui",
                    "corsfast.kui allow_cors",
                    _corsfast_kui(None),
                    "kui-bare",
                    family="corsfast-c",
                    module="corsfast.kui.asgi",
                )
            )
        else:
            contenders.append(
                Contender(
                    f"corsfast.kui-{engine}",
                    f"corsfast.kui allow_cors {'compiled' if engine == 'c' else 'pure twin'}",
                    _corsfast_kui(engine),
                    "kui-bare",
                    family=f"corsfast-{engine}",
                    module="corsfast._engine_c" if engine == "c" else "corsfast.kui.asgi",
                )
            )
    contenders += [
        Contender("asgi-cors", "asgi-cors", _asgi_cors, "bare", module="asgi_cors"),
        Contender("litestar", "Litestar CORSMiddleware", _litestar, "bare", module="litestar"),
    ]
    return contenders


def available_contenders() -> tuple[list[Contender], list[tuple[str, str]]]:
    """Return the contenders whose packages import here, and (id, reason) for the others."""
    from . import NO_EXTENSIONS

    found, skipped = [], []
    for contender in _all_contenders():
        if contender.module == "corsfast._engine_c" and NO_EXTENSIONS:
            skipped.append((contender.id, "the pure engine is selected (CORSFAST_NO_EXTENSIONS or not CPython)"))
            continue
        if contender.module:
            try:
                importlib.import_module(contender.module)
            except ImportError as error:
                skipped.append((contender.id, f"{contender.module} not importable ({error})"))
                continue
        found.append(contender)
    return found, skipped


CONTENDERS = tuple(c.id for c in _all_contenders())


def build_app(contender: Contender, scenario: Scenario) -> Any:
    """Return `contender`'s app for `scenario` (raises Unsupported)."""
    return contender.build(scenario)


def scope_for(contender: Contender, scenario: Scenario) -> dict[str, Any]:
    """Return the scope `contender` is timed with (Litestar's middleware needs its app in it)."""
    scope = make_scope(scenario)
    if contender.id == "litestar":
        scope.update(_litestar_scope_extra())
    return scope


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


async def _record(app: Any, scope: Scope) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append({k: (list(v) if k == "headers" else v) for k, v in message.items()})

    await app(scope, _receive, send)
    return messages


def call_once(app: Any, scope: Scope, loop: Optional[asyncio.AbstractEventLoop] = None) -> list[Message]:
    """Run one request through `app` and return the messages it sent (header lists copied)."""
    if loop is not None:
        return loop.run_until_complete(_record(app, dict(scope)))
    return asyncio.run(_record(app, dict(scope)))


def _header(messages: list[Message], name: bytes) -> Optional[bytes]:
    for key, value in messages[0].get("headers", ()):
        if bytes(key).lower() == name:
            return bytes(value)
    return None


def check_messages(contender: Contender, scenario: Scenario, messages: list[Message]) -> Optional[str]:
    """Return why `messages` are a wrong answer to `scenario`, or None when they are right."""
    if len(messages) < 2 or messages[0].get("type") != "http.response.start":
        return f"expected a response start and body, got {messages!r}"
    if messages[-1].get("type") != "http.response.body" or messages[-1].get("more_body"):
        return "the response has no final body message"
    status = messages[0]["status"]
    acao = _header(messages, b"access-control-allow-origin")
    if contender.family == "floor":
        if status != 200 or acao is not None:
            return f"a floor app answered {status} with ACAO {acao!r}"
        if contender.id == "send-wrapper" and _header(messages, _FLOOR_HEADER[0]) != _FLOOR_HEADER[1]:
            return "the send wrapper did not add its header"
        return None
    if scenario.expect == "pass":
        if status != 200 or acao is not None:
            return f"no Origin: expected the app's 200 without ACAO, got {status} with ACAO {acao!r}"
    elif scenario.expect == "allow":
        if status != 200 or acao != scenario.origin:
            return f"allowed origin: expected 200 with ACAO {scenario.origin!r}, got {status} with ACAO {acao!r}"
        if scenario.config == "any-credentials" and _header(messages, b"access-control-allow-credentials") != b"true":
            return "credentials allowed: expected Access-Control-Allow-Credentials: true"
    elif scenario.expect == "preflight":
        if status not in (200, 204) or acao != scenario.origin:
            return f"allowed preflight: expected 2xx with ACAO {scenario.origin!r}, got {status} with ACAO {acao!r}"
        if _header(messages, b"access-control-allow-methods") is None:
            return "allowed preflight: no Access-Control-Allow-Methods"
    elif scenario.expect == "deny":
        if acao is not None:
            return f"disallowed origin: expected no ACAO, got {acao!r}"
        if scenario.simple and status != 200:
            return f"disallowed origin on a GET: expected the app's 200, got {status}"
    return None


def drive(app: Any, scope: Scope, receive: Any = _receive, send: Any = _discard) -> None:
    """Run one ASGI call to completion by hand, without the event loop scheduling anything.

    For the pytest-benchmark suites: every benchmarked app finishes without suspending
    (its send stores nothing); one that does suspend raises RuntimeError.
    """
    iterator = app(scope, receive, send).__await__()
    try:
        iterator.send(None)
    except StopIteration:
        return
    raise RuntimeError("the app suspended; it cannot be driven without an event loop")


def _comparable(messages: list[Message]) -> list[Message]:
    return [
        {k: ([(bytes(n), bytes(v)) for n, v in val] if k == "headers" else val) for k, val in m.items()}
        for m in messages
    ]


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------


async def _batch(app: Any, scope: Scope, n: int) -> int:
    receive, send = _receive, _discard
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(n):
        await app(scope, receive, send)
    return clock() - start


@dataclass
class _Entry:
    contender: Contender
    scenario: Scenario
    app: Any
    scope: Scope
    n: int = 0
    samples: list[float] = field(default_factory=list)
    """ns per request, one per round."""


class _Progress:
    """A tiny progress bar on stderr: redrawn in place on a terminal, appended to in a log."""

    def __init__(self, total: int, enabled: bool, width: int = 40) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.width = width
        self.tty = enabled and sys.stderr.isatty()
        self.drawn = 0
        self.started = time.monotonic()
        if enabled and not self.tty:
            sys.stderr.write("corsfast bench: [")
            sys.stderr.flush()

    def advance(self, label: str = "") -> None:
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        if self.tty:
            elapsed = time.monotonic() - self.started
            eta = elapsed / self.done * (self.total - self.done)
            sys.stderr.write(
                f"\r\033[Kcorsfast bench [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{100 * self.done // self.total:3d}%  {label}  eta {eta:4.0f}s"
            )
        elif filled > self.drawn:
            sys.stderr.write("#" * (filled - self.drawn))
        self.drawn = filled
        sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write("\r\033[K")
        else:
            sys.stderr.write("#" * (self.width - self.drawn) + "]\n")
        sys.stderr.flush()


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# ---------------------------------------------------------------------------------------
# Machine and versions
# ---------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Return the CPU, core count, OS, Python and load average this run was measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        pass
    return info


def versions() -> dict[str, Optional[str]]:
    """Return the versions of corsfast and of the packages it is compared with."""
    import corsfast

    result: dict[str, Optional[str]] = {"corsfast": corsfast.__version__}
    try:
        _engine("c")
        result["corsfast engine"] = "compiled available" + (" (default: pure)" if corsfast.NO_EXTENSIONS else "")
    except ImportError:
        result["corsfast engine"] = "pure only (no compiled extension)"
    for name in ("Cython", "starlette", "kui", "litestar", "asgi-cors", "matplotlib"):
        result[name] = _version(name)
    return result


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------

_QUICK_ROUNDS = 5
_QUICK_SAMPLE_MS = 1.0
_DEFAULT_ROUNDS = 50
_DEFAULT_SAMPLE_MS = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `corsfast bench`'s options to `parser`."""
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run ({_QUICK_ROUNDS} rounds of {_QUICK_SAMPLE_MS:g} ms samples; for CI)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help=f"interleaved rounds (default {_DEFAULT_ROUNDS}, --quick {_QUICK_ROUNDS})",
    )
    parser.add_argument(
        "--sample-ms",
        type=float,
        default=None,
        help=f"target duration of one timing sample (default {_DEFAULT_SAMPLE_MS:g})",
    )
    parser.add_argument(
        "--scenarios", default=SCENARIO_IDS, metavar="IDS", help=f"scenario letters to run (default {SCENARIO_IDS})"
    )
    parser.add_argument(
        "--contenders",
        default=None,
        metavar="ID,...",
        help="contender ids to run (floors are added as needed); known: " + ", ".join(CONTENDERS),
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the shuffled order")
    parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw a grouped bar chart of overhead per scenario (needs matplotlib: corsfast[bench])",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _select(arguments: argparse.Namespace) -> tuple[list[Scenario], list[Contender], list[tuple[str, str]]]:
    scenarios = [s for s in SCENARIOS if s.id in arguments.scenarios]
    unknown = set(arguments.scenarios) - set(SCENARIO_IDS) - set(", ")
    if unknown or not scenarios:
        raise SystemExit(
            f"corsfast bench: unknown scenarios {''.join(sorted(unknown)) or arguments.scenarios!r}; "
            f"choose from {SCENARIO_IDS}"
        )
    contenders, skipped = available_contenders()
    if arguments.contenders:
        wanted = {c.strip() for c in arguments.contenders.split(",") if c.strip()}
        unknown_ids = wanted - set(CONTENDERS)
        if unknown_ids:
            raise SystemExit(
                f"corsfast bench: unknown contenders {sorted(unknown_ids)}; known: {', '.join(CONTENDERS)}"
            )
        by_id = {c.id: c for c in contenders}
        for contender_id in list(wanted):
            contender = by_id.get(contender_id)
            while contender is not None and contender.floor:
                wanted.add(contender.floor)
                contender = by_id.get(contender.floor)
        contenders = [c for c in contenders if c.id in wanted]
        skipped = [(i, r) for i, r in skipped if i in wanted]
    return scenarios, contenders, skipped


def measure(
    scenarios: Sequence[Scenario],
    contenders: Sequence[Contender],
    rounds: int,
    sample_ms: float,
    seed: Optional[int] = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Check, calibrate and time every contender on every scenario; return the raw results."""
    rng = random.Random(seed)
    loop = asyncio.new_event_loop()
    unsupported: list[dict[str, str]] = []
    failures: list[dict[str, str]] = []
    entries: dict[tuple[str, str], _Entry] = {}
    try:
        for scenario in scenarios:
            answers: dict[str, list[Message]] = {}
            for contender in contenders:
                try:
                    app = build_app(contender, scenario)
                except Unsupported as reason:
                    unsupported.append({"scenario": scenario.id, "contender": contender.id, "reason": str(reason)})
                    continue
                scope = scope_for(contender, scenario)
                try:
                    first = call_once(app, scope, loop)
                    second = call_once(app, scope, loop)
                except Exception as error:
                    failures.append(
                        {
                            "scenario": scenario.id,
                            "contender": contender.id,
                            "reason": f"raised {type(error).__name__}: {error}",
                        }
                    )
                    continue
                problem = check_messages(contender, scenario, first)
                if problem is None and _comparable(first) != _comparable(second):
                    problem = "the second identical request got a different answer"
                if problem is not None:
                    failures.append({"scenario": scenario.id, "contender": contender.id, "reason": problem})
                    continue
                answers[contender.id] = _comparable(first)
                entries[(scenario.id, contender.id)] = _Entry(contender, scenario, app, scope)
            for contender in contenders:
                key = (scenario.id, contender.id)
                twin = contender.twin_of
                if key in entries and twin in answers and answers[contender.id] != answers[twin]:
                    failures.append(
                        {
                            "scenario": scenario.id,
                            "contender": contender.id,
                            "reason": f"messages differ from {twin}'s: {answers[contender.id]!r} != {answers[twin]!r}",
                        }
                    )
                    del entries[key]
            # A middleware without its floor in this scenario cannot be reported.
            for key, entry in list(entries.items()):
                floor = entry.contender.floor
                if key[0] == scenario.id and floor and (scenario.id, floor) not in entries:
                    del entries[key]

        bar = _Progress(len(entries) * 2 + rounds * len(scenarios), progress)
        target_ns = sample_ms * 1e6
        for entry in entries.values():
            # Calibrate (and warm up): N calls of about `sample_ms`.
            n = 20
            for _ in range(2):
                elapsed = loop.run_until_complete(_batch(entry.app, entry.scope, n))
                per_call = max(elapsed / n, 1.0)
                n = max(20, min(200_000, int(target_ns / per_call)))
                bar.advance(f"calibrating {entry.contender.id} ({entry.scenario.id})")
            entry.n = n

        by_scenario = {s.id: [e for (sid, _), e in entries.items() if sid == s.id] for s in scenarios}
        for round_number in range(rounds):
            order = list(scenarios)
            rng.shuffle(order)
            for scenario in order:
                group = by_scenario[scenario.id][:]
                rng.shuffle(group)
                for entry in group:
                    elapsed = loop.run_until_complete(_batch(entry.app, entry.scope, entry.n))
                    entry.samples.append(elapsed / entry.n)
                bar.advance(f"round {round_number + 1}/{rounds}")
        bar.close()
    finally:
        loop.close()
    return {"entries": entries, "unsupported": unsupported, "failures": failures}


def summarise(
    scenarios: Sequence[Scenario], contenders: Sequence[Contender], raw: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return one result per (scenario, contender): medians, overhead, spread, ratio to Starlette."""
    entries: dict[tuple[str, str], _Entry] = raw["entries"]
    results: list[dict[str, Any]] = []
    for scenario in scenarios:
        overheads: dict[str, float] = {}
        rows = []
        for contender in contenders:
            entry = entries.get((scenario.id, contender.id))
            if entry is None:
                continue
            row: dict[str, Any] = {
                "scenario": scenario.id,
                "contender": contender.id,
                "floor": contender.floor,
                "calls_per_sample": entry.n,
                "rounds": len(entry.samples),
                "ns_per_request": statistics.median(entry.samples),
                "ns_per_request_iqr": _percentile(entry.samples, 0.75) - _percentile(entry.samples, 0.25),
                "overhead_ns": None,
                "overhead_iqr_ns": None,
                "overhead_difference_of_medians_ns": None,
                "ratio_to_starlette": None,
            }
            if contender.floor:
                floor = entries[(scenario.id, contender.floor)]
                differences = [a - b for a, b in zip(entry.samples, floor.samples)]
                row["overhead_ns"] = statistics.median(differences)
                row["overhead_iqr_ns"] = _percentile(differences, 0.75) - _percentile(differences, 0.25)
                row["overhead_difference_of_medians_ns"] = statistics.median(entry.samples) - statistics.median(
                    floor.samples
                )
                overheads[contender.id] = row["overhead_ns"]
            rows.append(row)
        starlette = overheads.get("starlette")
        for row in rows:
            if row["overhead_ns"] is not None and starlette:
                row["ratio_to_starlette"] = row["overhead_ns"] / starlette
        results += rows
    return results


def evaluate_targets(results: list[dict[str, Any]], scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """Check issue 5's speed targets (ratios within this run); one verdict per target and scenario."""
    overhead = {(r["scenario"], r["contender"]): r["overhead_ns"] for r in results if r["overhead_ns"] is not None}
    verdicts: list[dict[str, Any]] = []

    def verdict(target: str, scenario: str, value: float, limit: float, unit: str) -> None:
        met = value <= limit
        verdicts.append(
            {
                "target": target,
                "scenario": scenario,
                "value": value,
                "limit": limit,
                "unit": unit,
                "met": met,
                "missed_by": None if met else value - limit,
            }
        )

    for scenario in scenarios:
        sid = scenario.id
        starlette = overhead.get((sid, "starlette"))
        for shim in ("corsfast-c", "corsfast.starlette-c"):
            value = overhead.get((sid, shim))
            if value is None:
                continue
            if starlette and starlette > 0:
                verdict(f"{shim} overhead <= 0.10 x Starlette's", sid, value / starlette, 0.10, "x")
            twin = overhead.get((sid, shim[:-2] + "-py"))
            if twin and twin > 0:
                verdict(f"{shim} overhead <= 0.5 x pure twin's", sid, value / twin, 0.5, "x")
            floor = overhead.get((sid, "send-wrapper"))
            if scenario.simple and floor is not None:
                verdict(f"{shim} overhead < pure-Python send-wrapper floor", sid, value, floor, "ns")
        kui = overhead.get((sid, "kui"))
        for drop_in in ("corsfast.kui-c", "corsfast.kui"):
            value = overhead.get((sid, drop_in))
            if value is not None and kui and kui > 0:
                verdict(f"{drop_in} overhead <= 0.25 x Kui's", sid, value / kui, 0.25, "x")
    return verdicts


# ---------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------


def _fmt_ns(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f}"


def _fmt_ratio(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def format_report(report: dict[str, Any]) -> str:
    """Return the text tables of a finished run."""
    lines: list[str] = []
    machine, vers = report["machine"], report["versions"]
    lines.append("corsfast bench: ASGI middleware cost, every contender measured side by side in one process")
    lines.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"{machine['os']}; load average at start {machine.get('load_average', '?')}, "
        f"at end {report.get('load_average_end', '?')}"
    )
    lines.append(f"python:  {machine['python']}")
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v is not None))
    settings = report["settings"]
    lines.append(
        f"method: {settings['rounds']} interleaved rounds (contender order shuffled per round); one sample = "
        f"one event-loop task awaiting app(scope, receive, send) N times (~{settings['sample_ms']:g} ms); "
        "medians over rounds."
    )
    lines.append(
        "overhead = median over rounds of (contender ns/request - its floor's ns/request in the same round); "
        "floor = the bare ASGI app, or the same Kui app without CORS for Kui middlewares."
    )
    lines.append(
        "x Starlette = overhead / Starlette CORSMiddleware's overhead in the same scenario.  "
        "IQR = spread of the per-round overhead."
    )
    labels = {c["id"]: c["label"] for c in report["contenders"]}
    width = max([len(label) for label in labels.values()] + [10])
    by_key = {(r["scenario"], r["contender"]): r for r in report["results"]}
    order = [c["id"] for c in report["contenders"]]
    for scenario in report["scenarios"]:
        lines.append("")
        lines.append(f"({scenario['id']}) {scenario['title']}")
        lines.append(f"  {'contender':<{width}}  {'ns/req':>8}  {'overhead':>9}  {'IQR':>7}  {'x Starlette':>11}")
        for contender_id in order:
            row = by_key.get((scenario["id"], contender_id))
            if row is None:
                continue
            lines.append(
                f"  {labels[contender_id]:<{width}}  {_fmt_ns(row['ns_per_request']):>8}  "
                f"{_fmt_ns(row['overhead_ns']):>9}  {_fmt_ns(row['overhead_iqr_ns']):>7}  "
                f"{_fmt_ratio(row['ratio_to_starlette']):>11}"
            )
    # Summary matrix: overhead (ns) and ratio to Starlette per scenario.
    ids = [s["id"] for s in report["scenarios"]]
    lines.append("")
    lines.append("overhead above the floor, ns/request (x Starlette's overhead)")
    header = f"  {'contender':<{width}}" + "".join(f"  {'(' + i + ')':>15}" for i in ids)
    lines.append(header)
    for contender_id in order:
        cells = []
        any_value = False
        for sid in ids:
            row = by_key.get((sid, contender_id))
            if row is None or row["overhead_ns"] is None:
                cells.append(f"  {'-':>15}")
                continue
            any_value = True
            cell = _fmt_ns(row["overhead_ns"])
            if row["ratio_to_starlette"] is not None:
                cell += f" ({_fmt_ratio(row['ratio_to_starlette'])})"
            cells.append(f"  {cell:>15}")
        if any_value:
            lines.append(f"  {labels[contender_id]:<{width}}" + "".join(cells))
    if report["targets"]:
        lines.append("")
        lines.append("targets of issue 5 (ratios within this run)")
        for target in report["targets"]:
            value, limit = target["value"], target["limit"]
            if target["unit"] == "ns":
                shown = f"{value:,.0f} ns vs {limit:,.0f} ns"
                miss = f"missed by {value - limit:,.0f} ns"
            else:
                shown = f"{value:.3f} vs {limit:g}"
                miss = f"missed by {value - limit:.3f} ({value / limit:.1f}x the limit)"
            status = "met" if target["met"] else miss
            lines.append(f"  ({target['scenario']}) {target['target']:<66} {shown:<24} {status}")
    for title, items in (("not supported", report["unsupported"]), ("FAILED CHECKS (not timed)", report["failures"])):
        if items:
            lines.append("")
            lines.append(title + ":")
            for item in items:
                lines.append(f"  ({item['scenario']}) {item['contender']}: {item['reason']}")
    if report["skipped"]:
        lines.append("")
        lines.append("skipped contenders: " + "; ".join(f"{s['contender']} ({s['reason']})" for s in report["skipped"]))
    return "\n".join(lines)


def plot(report: dict[str, Any], path: str) -> None:
    """Draw a grouped bar chart of overhead per scenario and contender (log scale) into `path`."""
    importlib.import_module("matplotlib").use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    labels = {c["id"]: c["label"] for c in report["contenders"]}
    by_key = {(r["scenario"], r["contender"]): r for r in report["results"]}
    scenario_ids = [s["id"] for s in report["scenarios"]]
    ticks = [f"({s['id']}) {s['title']}" for s in report["scenarios"]]
    shown = [
        c["id"]
        for c in report["contenders"]
        if any(by_key.get((s, c["id"]), {}).get("overhead_ns") is not None for s in scenario_ids)
    ]
    if not shown:
        raise ValueError("nothing to plot")
    fig, ax = plt.subplots(figsize=(max(9.0, 1.6 * len(scenario_ids) + 2), 7.0), dpi=110)
    group_width = 0.86
    bar_width = group_width / len(shown)
    palette = plt.get_cmap("tab20")
    colours = {
        "corsfast-c": palette(0),
        "corsfast-py": palette(1),
        "corsfast.starlette-c": palette(2),
        "corsfast.starlette-py": palette(3),
        "starlette": palette(6),
        "send-wrapper": palette(5),
        "kui": palette(8),
        "corsfast.kui-c": palette(4),
        "corsfast.kui-py": palette(9),
        "corsfast.kui": palette(4),
        "asgi-cors": palette(14),
        "litestar": palette(10),
    }
    smallest = min(
        max(by_key[(s, c)]["overhead_ns"], 1.0)
        for s in scenario_ids
        for c in shown
        if (s, c) in by_key and by_key[(s, c)]["overhead_ns"] is not None
    )
    for index, contender_id in enumerate(shown):
        xs, heights, clipped = [], [], []
        for position, sid in enumerate(scenario_ids):
            row = by_key.get((sid, contender_id))
            if row is None or row["overhead_ns"] is None:
                continue
            xs.append(position - group_width / 2 + (index + 0.5) * bar_width)
            heights.append(max(row["overhead_ns"], 1.0))
            clipped.append(row["overhead_ns"] < 1.0)
        bars = ax.bar(
            xs,
            heights,
            bar_width * 0.92,
            label=labels[contender_id],
            color=colours.get(contender_id, palette(15)),
            edgecolor="black",
            linewidth=0.3,
            hatch="//" if contender_id == "send-wrapper" else None,
        )
        for bar, was_clipped in zip(bars, clipped):
            if was_clipped:
                bar.set_hatch("xx")
        if contender_id == "corsfast-c":
            for bar, sid in zip(bars, [s for s in scenario_ids if by_key.get((s, contender_id))]):
                ratio = by_key[(sid, contender_id)]["ratio_to_starlette"]
                if ratio is not None:
                    ax.annotate(
                        f"{ratio:.2f}x",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                    )
    ax.set_yscale("log")
    ax.set_ylim(bottom=smallest / 2)
    ax.set_xticks(range(len(scenario_ids)))
    ax.set_xticklabels(ticks, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("overhead above the bare app, ns per request (log scale)")
    machine = report["machine"]
    ax.set_title(
        f"CORS middleware overhead per request: medians of {report['settings']['rounds']} interleaved "
        f"rounds, one process\n{machine['cpu']}, {machine['cores']} cores, {machine['python']}, "
        f"corsfast {report['versions'].get('corsfast')}; label on corsfast compiled = its overhead / "
        "Starlette's",
        fontsize=9,
    )
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.text(
        0.01,
        0.01,
        "Kui middlewares: above the same Kui app without CORS. Hatched: the cheapest pure-Python "
        "middleware wrapping send. Overheads <= 1 ns drawn at 1 ns (cross-hatched).",
        fontsize=7,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(arguments: argparse.Namespace) -> int:
    """Run the benchmark, print the tables, write --json / --plot; return 1 when a check failed."""
    if arguments.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "corsfast bench: --plot needs matplotlib; install it with `pip install 'corsfast[bench]'` "
                "(or `pip install matplotlib`)",
                file=sys.stderr,
            )
            return 2
    rounds = arguments.rounds or (_QUICK_ROUNDS if arguments.quick else _DEFAULT_ROUNDS)
    sample_ms = arguments.sample_ms or (_QUICK_SAMPLE_MS if arguments.quick else _DEFAULT_SAMPLE_MS)
    if rounds < 1 or sample_ms <= 0:
        print("corsfast bench: --rounds must be >= 1 and --sample-ms > 0", file=sys.stderr)
        return 2
    scenarios, contenders, skipped = _select(arguments)
    machine = machine_info()
    report_versions = versions()
    started = time.time()
    raw = measure(scenarios, contenders, rounds, sample_ms, seed=arguments.seed, progress=not arguments.no_progress)
    results = summarise(scenarios, contenders, raw)
    measured = {r["contender"] for r in results}
    report: dict[str, Any] = {
        "argv": sys.argv[1:],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": machine,
        "load_average_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": report_versions,
        "settings": {
            "rounds": rounds,
            "sample_ms": sample_ms,
            "quick": bool(arguments.quick),
            "seed": arguments.seed,
            "gc": "enabled (allocation costs count)",
        },
        "overhead_method": "median of per-round differences (contender - floor, same round)",
        "ratio_method": "median overhead / Starlette's median overhead, same scenario",
        "scenarios": [
            {"id": s.id, "title": s.title, "method": s.method, "config": s.config, "request_headers": len(s.headers)}
            for s in scenarios
        ],
        "contenders": [
            {"id": c.id, "label": c.label, "floor": c.floor, "family": c.family} for c in contenders if c.id in measured
        ],
        "results": results,
        "targets": evaluate_targets(results, scenarios),
        "unsupported": raw["unsupported"],
        "failures": raw["failures"],
        "skipped": [{"contender": i, "reason": r} for i, r in skipped],
    }
    print(format_report(report))
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as output:
            json.dump(report, output, indent=2)
            output.write("\n")
    if arguments.plot:
        plot(report, arguments.plot)
        print(f"\nchart written to {arguments.plot}")
    return 1 if raw["failures"] else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `corsfast bench` with `argv` (for `python -m corsfast._bench`)."""
    parser = argparse.ArgumentParser(prog="corsfast bench")
    add_arguments(parser)
    gc.collect()
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
