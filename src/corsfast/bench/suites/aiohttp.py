"""The aiohttp table: corsfast.aiohttp against the installed aiohttp-cors, on aiohttp's own request path.

The path measured is a server's: every contender is an `aiohttp.web.Application` made ready
by `web.AppRunner(app, access_log=None).setup()` (frozen, started), whose `web.Server` makes
the connection's `aiohttp.web_protocol.RequestHandler`, exactly as `loop.create_server`
does for an accepted socket. The connection is handed a fake transport (`connection_made`:
aiohttp starts its keep-alive task) and each request is fed as raw HTTP/1.1 bytes to
`data_received`: aiohttp's own parser builds the message, its keep-alive task makes the
`web.Request` and runs `Application._handle` (router, middlewares, handler) in a new task,
then `finish_response`: `prepare` (`on_response_prepare` hooks, the headers serialized) and
`write_eof` into the transport. The timed call returns when the transport has received the
whole response (its Content-Length). No socket and no access log: what is left is aiohttp's
own per-request work, the same for every row, plus what CORS adds to it.

Rows: the bare app (the floor: one JSON handler for GET and PUT, and for OPTIONS, so that a
preflight gets the app's own 200), aiohttp-cors 0.8.1 (`aiohttp_cors.setup(app,
defaults=...)` and `cors.add(route)` for every route), the same code on corsfast.aiohttp
(`import corsfast.aiohttp as aiohttp_cors`) on each engine, two reference floors (an
`on_response_prepare` hook, an ordinary `async def`, and an aiohttp middleware, each setting
one header), and corsfast.aiohttp's native `cors_middleware` when the installed corsfast has
it. The drop-in apps do not route OPTIONS themselves: aiohttp-cors adds the preflight
routes; the native middleware runs on the floors' app, whose OPTIONS route gets the
preflights it passes on.

Every answer is checked before timing, and every corsfast.aiohttp row must answer byte for
byte as its aiohttp-cors row (the Date header left out) but for the documented difference:
corsfast adds `Vary: Origin` to every answer of a CORS-enabled route. aiohttp-cors has no
origin regex, so (f) has no aiohttp-cors or drop-in cell.

Targets (ratios of overheads above the bare app, within one run): the drop-in adds at most
0.25x aiohttp-cors' overhead in (b), (d), (e) and (g), and at most 0.4x in (a) and (c); the
native middleware's overhead is within 1.5x of the middleware that only sets one header.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..browser import ALLOW_HEADERS, ALLOW_METHODS, EXACT_ORIGINS, SCENARIOS, answer_problem
from ..protocols import PATH
from ..suite import Contender, Scenario, Suite, Target, Unsupported, register_suite
from .asgi import engine_module, native_kwargs, quiet

__all__ = ("SUITE", "AiohttpAnswer", "AiohttpConnection", "aiohttp_app", "cors_defaults", "raw_request")

_BODY = b'{"hello": "world"}'
_FLOOR_HEADER = ("X-Floor", "1")
_VARY_ORIGIN = ("Vary", "Origin")


# ---------------------------------------------------------------------------------------
# The connection: aiohttp's RequestHandler on a fake transport
# ---------------------------------------------------------------------------------------


def raw_request(scenario: Scenario, path: str = PATH) -> bytes:
    """Return the bytes a browser sends for `scenario` (HTTP/1.1, keep-alive, no body)."""
    lines = [f"{scenario.method} {path} HTTP/1.1".encode("ascii")]
    lines += [name + b": " + value for name, value in scenario.headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _Transport(asyncio.Transport):
    """What aiohttp writes a response to: collects the bytes and resolves `done` once the
    whole response (headers and Content-Length bytes of body) has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.received = bytearray()
        self.expected = -1
        self.done: Optional[asyncio.Future[None]] = None

    def expect(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """Forget the last response; return the future of the next one."""
        self.received = bytearray()
        self.expected = -1
        self.done = loop.create_future()
        return self.done

    def write(self, data: Any) -> None:
        self.received += data
        if self.expected < 0:
            end = self.received.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.received[:end]).lower()
            start = head.find(b"\r\ncontent-length:")
            length = 0 if start < 0 else int(head[start + 17 :].split(b"\r\n", 1)[0])
            self.expected = end + 4 + length
        if len(self.received) >= self.expected and self.done is not None and not self.done.done():
            self.done.set_result(None)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:  # pragma: no cover - a keep-alive connection is never closed here
        return None

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 51234), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:  # pragma: no cover - one request at a time never fills the queue
        return None

    def resume_reading(self) -> None:  # pragma: no cover
        return None


class AiohttpConnection:
    """One keep-alive connection to an aiohttp app, served by aiohttp's own `RequestHandler`.

    Awaiting `connection(request_bytes)` feeds the bytes to the handler and returns the bytes
    of the response once all of it was written. The app is set up (`AppRunner.setup()`) and
    the connection made on the first call, in the event loop that runs it (a new loop gets a
    new connection). `(receive, send)` are accepted and ignored, so the table's timing loop
    calls it as it calls an ASGI app.
    """

    def __init__(self, app: Any, documented: tuple[tuple[str, str], ...] = ()) -> None:
        self.app = app
        self.documented = documented
        """Headers this row adds by design over its peer (left out of the comparison)."""
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Any = None
        self._protocol: Any = None
        self._transport = _Transport()

    async def _connect(self) -> None:
        from aiohttp import web

        if self._loop is None:
            runner = web.AppRunner(self.app, access_log=None)
            await runner.setup()
            self._server = runner.server
        else:  # a later event loop: a new server on it, the app already frozen
            self._server = web.Server(self.app._handle, request_factory=self.app._make_request, access_log=None)
        self._loop = asyncio.get_running_loop()
        self._transport = _Transport()
        self._protocol = self._server()
        self._protocol.connection_made(self._transport)
        # The connection stays open as a browser's would; its idle keep-alive task is not
        # reported as pending when the benchmark's event loop is closed.
        task = self._protocol._task_handler
        if task is not None:
            task._log_destroy_pending = False

    async def __call__(self, request: bytes, receive: Any = None, send: Any = None) -> bytearray:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            await self._connect()
        done = self._transport.expect(loop)
        self._protocol.data_received(request)
        await done
        return self._transport.received


@dataclass(frozen=True)
class AiohttpAnswer:
    """A response as compared between rows: status, headers in wire order (no Date), body;
    `added` holds the documented headers the row adds, left out of the comparison."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    added: tuple[tuple[str, str], ...] = field(default=(), compare=False)


def parse_answer(raw: bytes, documented: tuple[tuple[str, str], ...] = ()) -> AiohttpAnswer:
    """Return the `AiohttpAnswer` of a raw HTTP/1.1 response; each `documented` header line
    found is moved from `headers` to `added`."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines]
    kept: list[tuple[str, str]] = []
    added: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() == "date":
            continue
        if (name, value) in documented and (name, value) not in added:
            added.append((name, value))
        else:
            kept.append((name, value))
    return AiohttpAnswer(int(status_line.split(" ", 2)[1]), tuple(kept), body, tuple(added))


async def record_answer(app: AiohttpConnection, request: bytes) -> AiohttpAnswer:
    """Run one request through `app` and return its answer as comparable data."""
    return parse_answer(bytes(await app(request)), app.documented)


# ---------------------------------------------------------------------------------------
# The apps
# ---------------------------------------------------------------------------------------


def _data_handler() -> Callable[[Any], Any]:
    """Return the table's handler: a small JSON answer (aiohttp imported once, not per request)."""
    from aiohttp.web import Response

    async def data(request: Any) -> Any:
        return Response(body=_BODY, content_type="application/json")

    return data


async def _one_header_hook(request: Any, response: Any) -> None:
    response.headers[_FLOOR_HEADER[0]] = _FLOOR_HEADER[1]


def _one_header_middleware() -> Any:
    from aiohttp import web

    @web.middleware
    async def one_header(request: Any, handler: Any) -> Any:
        response = await handler(request)
        response.headers[_FLOOR_HEADER[0]] = _FLOOR_HEADER[1]
        return response

    return one_header


def aiohttp_app(options_route: bool = True, middlewares: tuple[Any, ...] = ()) -> Any:
    """Return the table's app: one JSON handler for GET (and HEAD) and PUT at PATH, and for OPTIONS when
    `options_route` (the floors: a preflight gets the app's own 200)."""
    from aiohttp import web

    app = web.Application(middlewares=list(middlewares))
    data = _data_handler()
    app.router.add_get(PATH, data)
    app.router.add_put(PATH, data)
    if options_route:
        app.router.add_route("OPTIONS", PATH, data)
    return app


def cors_defaults(package: Any, config: str) -> dict[str, Any]:
    """Return `setup(app, defaults=...)` for a scenario's config, with `package`'s `ResourceOptions`."""
    if config == "regex":
        raise Unsupported("aiohttp-cors has no origin regex")
    options = {"allow_methods": list(ALLOW_METHODS), "allow_headers": list(ALLOW_HEADERS)}
    if config == "any-credentials":
        return {"*": package.ResourceOptions(allow_credentials=True, **options)}
    return {origin: package.ResourceOptions(**options) for origin in EXACT_ORIGINS}


def _bare(scenario: Scenario) -> AiohttpConnection:
    return AiohttpConnection(aiohttp_app())


def _hook_floor(scenario: Scenario) -> AiohttpConnection:
    app = aiohttp_app()
    app.on_response_prepare.append(_one_header_hook)
    return AiohttpConnection(app)


def _middleware_floor(scenario: Scenario) -> AiohttpConnection:
    return AiohttpConnection(aiohttp_app(middlewares=(_one_header_middleware(),)))


def _cors(package: str, engine: Optional[str] = None) -> Callable[[Scenario], AiohttpConnection]:
    def build(scenario: Scenario) -> AiohttpConnection:
        aiohttp_cors = importlib.import_module(package)
        defaults = cors_defaults(aiohttp_cors, scenario.config)
        app = aiohttp_app(options_route=False)
        extra: dict[str, Any] = {} if engine is None else {"_engine": engine_module(engine)}
        cors = quiet(lambda: aiohttp_cors.setup(app, defaults=defaults, **extra))
        for route in list(app.router.routes()):
            cors.add(route)
        documented = (_VARY_ORIGIN,) if package == "corsfast.aiohttp" else ()
        return AiohttpConnection(app, documented)

    return build


def _native_middleware() -> Any:
    """Return corsfast.aiohttp's `cors_middleware` (Unsupported when this corsfast has none)."""
    cors_middleware = getattr(importlib.import_module("corsfast.aiohttp"), "cors_middleware", None)
    if cors_middleware is None:
        raise Unsupported("corsfast.aiohttp has no cors_middleware")
    return cors_middleware


def _native(engine: Optional[str]) -> Callable[[Scenario], AiohttpConnection]:
    def build(scenario: Scenario) -> AiohttpConnection:
        cors_middleware = _native_middleware()
        extra: dict[str, Any] = {} if engine is None else {"_engine": engine_module(engine)}
        middleware = quiet(lambda: cors_middleware(**native_kwargs(scenario.config), **extra))
        # The floors' app, OPTIONS route included: without one, aiohttp's router spends about
        # 25 us building its 405 for every preflight before any middleware runs.
        return AiohttpConnection(aiohttp_app(middlewares=(middleware,)))

    return build


_UNKNOWN = ("c", "py")  # rows listed without the middleware: skipped with their reason


def _native_engines() -> tuple[Optional[str], ...]:
    """Return the engines `cors_middleware` can be built on (None: its default only)."""
    try:
        parameters = inspect.signature(_native_middleware()).parameters
    except (ImportError, Unsupported, TypeError, ValueError):
        return _UNKNOWN
    return ("c", "py") if "_engine" in parameters else (None,)


def _native_contenders() -> list[Contender]:
    """Return the native middleware's rows: one per engine, or one on its default engine."""
    engines = _native_engines()
    rows = []
    for engine in engines:
        suffix = "" if engine is None else f"-{engine}"
        label = {None: "", "c": " compiled", "py": " pure twin"}[engine]
        rows.append(
            Contender(
                f"corsfast-native{suffix}",
                f"corsfast.aiohttp cors_middleware{label}",
                _native(engine),
                "bare",
                family="corsfast-py" if engine == "py" else "corsfast-c",
                # Its own module, so that a corsfast without it skips the rows with that note.
                module="corsfast._engine_c" if engine == "c" and engines != _UNKNOWN else "corsfast.aiohttp.native",
                baseline="one-header-middleware",
            )
        )
    return rows


# ---------------------------------------------------------------------------------------
# Checks and the suite
# ---------------------------------------------------------------------------------------


def check_answer(contender: Contender, scenario: Scenario, answer: AiohttpAnswer) -> Optional[str]:
    """Return why an aiohttp answer is wrong for `scenario`, or None."""
    if scenario.simple and (answer.status, answer.body) != (200, _BODY):
        return f"expected the app's 200 and body, got {answer.status} with {answer.body[:60]!r}"
    problem = answer_problem(scenario, answer.status, answer.headers, floor=contender.family == "floor")
    if problem is not None:
        return problem
    if contender.id in ("one-header-hook", "one-header-middleware") and _FLOOR_HEADER not in answer.headers:
        return f"the floor did not add {_FLOOR_HEADER[0]}"
    if contender.twin_of is not None and answer.added != (_VARY_ORIGIN,):
        return f"expected the documented Vary: Origin once, found {answer.added!r}"
    return None


def _peer_version() -> str:
    """Return the installed aiohttp-cors' version, as its row is labelled ("?" without it)."""
    try:
        return importlib.metadata.version("aiohttp-cors")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _contenders() -> list[Contender]:
    return [
        Contender("bare", "bare aiohttp app (floor)", _bare, None, family="floor"),
        Contender("aiohttp-cors", f"aiohttp-cors {_peer_version()}", _cors("aiohttp_cors"), "bare",
                  family="aiohttp-cors", module="aiohttp_cors"),
        Contender("corsfast-aiohttp-c", "corsfast.aiohttp compiled", _cors("corsfast.aiohttp", "c"), "bare",
                  twin_of="aiohttp-cors", family="corsfast-c", module="corsfast._engine_c"),
        Contender("corsfast-aiohttp-py", "corsfast.aiohttp pure twin", _cors("corsfast.aiohttp", "py"), "bare",
                  twin_of="aiohttp-cors", family="corsfast-py", module="corsfast.aiohttp"),
        Contender("one-header-hook", "on_response_prepare hook (1 header)", _hook_floor, "bare", family="floor"),
        Contender("one-header-middleware", "aiohttp middleware (1 header)", _middleware_floor, "bare",
                  family="floor"),
    ]  # fmt: skip


_DROP_IN_LIMITS = ((0.25, "bdeg"), (0.4, "ac"))

SUITE = register_suite(
    Suite(
        "aiohttp",
        "aiohttp (aiohttp-cors) cost",
        "asgi",
        scenarios=SCENARIOS,
        make_request=lambda contender, scenario: raw_request(scenario),
        record=record_answer,
        check=check_answer,
        contenders=[*_contenders(), _native_contenders],
        baseline="aiohttp-cors",
        baseline_label="aiohttp-cors",
        targets=[
            *(
                Target(
                    row,
                    "aiohttp-cors",
                    limit,
                    scenarios=letters,
                    label=f"{row} overhead <= {limit:g} x aiohttp-cors' in {', '.join(letters)}",
                )
                for row in ("corsfast-aiohttp-c",)
                for limit, letters in _DROP_IN_LIMITS
            ),
            *(
                Target(row, "one-header-middleware", 1.5, label=f"{row} overhead <= 1.5 x the one-header middleware's")
                for row in ("corsfast-native-c",)
            ),
        ],
        targets_title=(
            "targets (ratios within this run): corsfast.aiohttp's overhead at most 0.25 of aiohttp-cors' in "
            "b, d, e, g and 0.4 in a, c, and the native cors_middleware's within 1.5x of a middleware that "
            "only sets one header, on the compiled engine (the pure twin's rows are shown beside them)"
        ),
        requires=("aiohttp", "aiohttp_cors"),
        versions=("aiohttp", "aiohttp-cors"),
        method="one event-loop task feeding raw HTTP/1.1 requests to aiohttp's RequestHandler (made by an "
        "AppRunner's web.Server, fake transport, no access log) and awaiting each whole response",
        floor_note="floor = the same aiohttp app without CORS (its handler also answers OPTIONS).",
        ratio_note="x aiohttp-cors = overhead / aiohttp-cors' overhead in the same scenario; native "
        "cors_middleware rows: overhead / the one-header middleware's overhead.",
    )
)
