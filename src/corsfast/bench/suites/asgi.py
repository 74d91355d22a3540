"""The ASGI table: corsfast against the bare app, Starlette, Kui, asgi-cors and Litestar.

Every contender answers the same ASGI requests (`corsfast.bench.browser.SCENARIOS`) in one
process. Overhead is measured above the contender's floor: the bare ASGI app for
middlewares, the same Kui app without CORS for Kui's middlewares; ratios are taken against
Starlette's `CORSMiddleware` (a row may name another baseline: `Contender.baseline`).

Rows for this table from another module: `SUITE.add_contenders(Contender(...), after=...)`
with the builders below (`bare_app`, `native_kwargs`, `starlette_kwargs`, `kui_app`, ...).
The building blocks are also used by the pytest-benchmark suites in `benchmarks/`.
"""

from __future__ import annotations

import importlib
import re
import warnings
from types import ModuleType
from typing import Any, Callable, Optional

from ...asgi import _on_engine
from ..browser import ALLOW_HEADERS, ALLOW_METHODS, EXACT_ORIGINS, ORIGIN_REGEX, SCENARIOS, answer_problem
from ..protocols import Message, make_scope, record_asgi
from ..suite import Contender, Scenario, Suite, Target, Unsupported, register_suite

__all__ = (
    "SUITE",
    "SendWrapperFloor",
    "bare_app",
    "build_app",
    "check_messages",
    "engine_module",
    "kui_app",
    "kui_kwargs",
    "native_kwargs",
    "quiet",
    "scope_for",
    "starlette_kwargs",
)

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


# ---------------------------------------------------------------------------------------
# Contenders
# ---------------------------------------------------------------------------------------


def quiet(factory: Callable[[], Any]) -> Any:
    """Build without configuration warnings (allow-all + credentials is warned about on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory()


def native_kwargs(config: str) -> dict[str, Any]:
    """Return `corsfast.CORSMiddleware`'s options for a scenario's config."""
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


def starlette_kwargs(config: str) -> dict[str, Any]:
    """Return Starlette `CORSMiddleware`'s options (and its drop-in's) for a scenario's config."""
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


def kui_kwargs(config: str) -> dict[str, Any]:
    """Return Kui `allow_cors`'s options (and its drop-in's) for a scenario's config."""
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


def engine_module(name: str) -> ModuleType:
    """Return corsfast's engine module "c" (compiled) or "py" (the pure twin)."""
    return importlib.import_module(f"corsfast._engine_{name}")


def _corsfast_native(engine: str) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast import CORSMiddleware

        variant = _on_engine(CORSMiddleware, engine_module(engine))
        return quiet(lambda: variant(bare_app, **native_kwargs(scenario.config)))

    return build


def _corsfast_starlette(engine: str) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast.starlette import CORSMiddleware

        variant = _on_engine(CORSMiddleware, engine_module(engine))
        return quiet(lambda: variant(bare_app, **starlette_kwargs(scenario.config)))

    return build


def _starlette(scenario: Scenario) -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(bare_app, **starlette_kwargs(scenario.config))


async def _kui_endpoint() -> Any:
    from kui.asgi import PlainTextResponse

    return PlainTextResponse(_BODY.decode(), media_type="application/json")


def kui_app(middleware: Any = None) -> Any:
    """Return a Kui app answering /api/data, with `middleware` as its one HTTP middleware."""
    from kui.asgi import HttpRoute, Kui

    return Kui(routes=[HttpRoute("/api/data", _kui_endpoint)], http_middlewares=[middleware] if middleware else [])


def _kui_bare(scenario: Scenario) -> Any:
    return kui_app()


def _kui(scenario: Scenario) -> Any:
    from kui.asgi import allow_cors

    return kui_app(allow_cors(**kui_kwargs(scenario.config)))


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

        extra: dict[str, Any] = {} if engine is None else {"_engine": engine_module(engine)}
        return kui_app(quiet(lambda: allow_cors(**kui_kwargs(scenario.config), **extra)))

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
        # Only what Litestar's middleware reads from the scope. Without logging_config=None
        # Litestar sets up logging for the whole process (the root logger at INFO), which
        # would time every other contender with its logging on.
        _LITESTAR_APP = importlib.import_module("litestar").Litestar(logging_config=None)
    return {"litestar_app": _LITESTAR_APP}


def _corsfast_kui_contenders() -> list[Contender]:
    """Return corsfast.kui's rows: one per engine it can be built on, or its default only."""
    try:
        engines = _corsfast_kui_engines()
    except ImportError:
        return []
    contenders = []
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
    return contenders


def build_app(contender: Contender, scenario: Scenario) -> Any:
    """Return `contender`'s app for `scenario` (raises Unsupported)."""
    return contender.build(scenario)


def scope_for(contender: Contender, scenario: Scenario) -> dict[str, Any]:
    """Return the scope `contender` is timed with (Litestar's middleware needs its app in it)."""
    scope = make_scope(scenario)
    if contender.id == "litestar":
        scope.update(_litestar_scope_extra())
    return scope


def check_messages(contender: Contender, scenario: Scenario, messages: list[Message]) -> Optional[str]:
    """Return why `messages` are a wrong answer to `scenario`, or None when they are right."""
    if len(messages) < 2 or messages[0].get("type") != "http.response.start":
        return f"expected a response start and body, got {messages!r}"
    if messages[-1].get("type") != "http.response.body" or messages[-1].get("more_body"):
        return "the response has no final body message"
    headers = messages[0].get("headers", ())
    floor = contender.family == "floor"
    problem = answer_problem(scenario, messages[0]["status"], headers, floor=floor)
    if problem is None and contender.id == "send-wrapper":
        added = [bytes(value) for name, value in headers if bytes(name).lower() == _FLOOR_HEADER[0]]
        if added[:1] != [_FLOOR_HEADER[1]]:
            return "the send wrapper did not add its header"
    return problem


# ---------------------------------------------------------------------------------------
# The suite
# ---------------------------------------------------------------------------------------

SUITE = register_suite(
    Suite(
        "asgi",
        "ASGI middleware cost",
        "asgi",
        scenarios=SCENARIOS,
        make_request=scope_for,
        record=record_asgi,
        check=check_messages,
        baseline="starlette",
        baseline_label="Starlette",
        versions=("starlette", "kui", "litestar", "asgi-cors"),
        floor_note="floor = the bare ASGI app, or the same Kui app without CORS for Kui middlewares.",
        ratio_note="x Starlette = overhead / Starlette CORSMiddleware's overhead in the same scenario.",
        ratio_key="ratio_to_starlette",
        targets_title=(
            "targets (ratios within this run): corsfast's overhead at most 0.10 of Starlette's and 0.5 of the "
            "pure-Python engine's, and below the send wrapper's on simple requests; the Kui drop-in's at most 0.25 "
            "of Kui's"
        ),
    )
)

SUITE.add_contenders(
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
    _corsfast_kui_contenders,
    Contender("asgi-cors", "asgi-cors", _asgi_cors, "bare", module="asgi_cors"),
    Contender("litestar", "Litestar CORSMiddleware", _litestar, "bare", module="litestar"),
)

# The speed targets, checked per scenario in this order.
for _shim in ("corsfast-c", "corsfast.starlette-c"):
    SUITE.add_targets(
        Target(_shim, "starlette", 0.10, label=f"{_shim} overhead <= 0.10 x Starlette's"),
        Target(_shim, _shim[:-2] + "-py", 0.5, label=f"{_shim} overhead <= 0.5 x pure twin's"),
        Target(
            _shim,
            "send-wrapper",
            1.0,
            "ns",
            label=f"{_shim} overhead < pure-Python send-wrapper floor",
            simple_only=True,
        ),
    )
for _drop_in in ("corsfast.kui-c", "corsfast.kui"):
    SUITE.add_targets(Target(_drop_in, "kui", 0.25, label=f"{_drop_in} overhead <= 0.25 x Kui's"))
