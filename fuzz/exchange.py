"""One ASGI exchange, end to end, on both engines: what the dialect harnesses share.

`request(inp)` reads a scope (type, method, header list in any container) and `script(inp)`
what the app behind the middleware does (response starts with or without headers, in dicts
or other mappings, app-set headers, bodies, a second start, an exception). `exchange` runs a
middleware built on each engine around that app with `run_sync` (nothing here suspends) and
compares everything observable: the messages sent, in order and in full, whether and how the
app was called, and the outcome. `check_exchange` then asserts the invariants on the answer.
"""

from __future__ import annotations

import re
from collections import UserDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Optional

from cases import Case, http_scope, run_sync

from fuzz.common import (
    CONTAINERS,
    PY,
    REQUEST_NAMES,
    RESPONSE_NAMES,
    Built,
    C,
    Input,
    StrSubclass,
    Violation,
    Writer,
    check_emitted,
    compare,
    container,
    header_list,
    options as read_options,
    options_key,
    outcome,
    plain,
    quiet,
    short,
    write_header_list,
    write_options,
)

SCOPE_TYPES = ("http", "http", "http", "http", "websocket", "lifespan", "strsub", "HTTP")
METHODS = ("GET", "OPTIONS", "OPTIONS", "POST", "HEAD", "options", "PUT", "fuzzed")
STATUSES = (200, 204, 304, 404, 500)
ACTIONS = ("start", "start", "body", "body", "raise")


class AppError(Exception):
    """Raised by the app: must reach the caller unchanged on both engines."""


@dataclass
class Request:
    scope_type: str
    method: str
    container: str
    headers: list[Callable[[], Any]]

    def scope(self) -> dict[str, Any]:
        kind: Any = StrSubclass("http") if self.scope_type == "strsub" else self.scope_type
        scope = http_scope(self.method, container(self.container, self.headers))
        scope["type"] = kind
        return scope

    def items(self) -> list[Any]:
        """Return fresh header items as the engines read them (any container read into a list first)."""
        items = container(self.container, self.headers)
        return items if type(items) is list else list(items)

    def origin(self) -> Optional[bytes]:
        for item in self.items():
            try:
                key, value = item
            except (TypeError, ValueError):
                return None  # the scan fails on this item: no answer to check
            if type(key) is bytes and type(value) is bytes and key == b"origin":
                return value
        return None

    def starlette_origin(self) -> Optional[bytes]:
        """Return the Origin as Starlette's `Headers` reads it: the first item whose name is
        `== b"origin"` (its own `==`), its value's latin-1 text as bytes (None if it cannot be read).

        The Starlette drop-in leaves a list that is not plain to Starlette's own code, which
        reads `bytes` subclasses, `bytearray` and items of any type that unpack in two.
        """
        try:
            # `Headers(scope=scope)` reads a copy of the list (an item that empties the
            # scope's list when read does not cut Starlette's reading short).
            for key, value in list(self.items()):
                if key == b"origin":
                    return value.decode("latin-1").encode("latin-1")  # type: ignore[no-any-return]
        except Exception:  # Starlette raises too: no answer to check
            return None
        return None

    def kui_origin(self) -> Optional[bytes]:
        """Return the Origin as Kui's (baize's) `request.headers` reads it: every item decoded,
        names lower-cased, repeated fields joined with ", "; as bytes (None if it cannot be read)."""
        try:
            # baize iterates the scope's own container, as it is.
            headers = container(self.container, self.headers)
            values = [v.decode("latin-1") for k, v in headers if k.decode("latin-1").lower() == "origin"]
            return ", ".join(values).encode("latin-1") if values else None
        except Exception:  # Kui raises too: no answer to check
            return None


@dataclass
class Action:
    kind: str
    status: int = 200
    with_headers: bool = True
    mapping: bool = False
    container: str = "list"
    headers: list[Callable[[], Any]] = field(default_factory=list)
    body: bytes = b""

    def message(self) -> Any:
        if self.kind == "body":
            return {"type": "http.response.body", "body": self.body, "more_body": bool(self.body)}
        message: dict[str, Any] = {"type": "http.response.start", "status": self.status}
        if self.with_headers:
            message["headers"] = container(self.container, self.headers)
        return UserDict(message) if self.mapping else message


def request(inp: Input) -> Request:
    scope_type = inp.pick(SCOPE_TYPES)
    method = inp.pick(METHODS)
    if method == "fuzzed":
        method = inp.text()
    kind = inp.pick(CONTAINERS[:2]) if inp.below(4) else inp.pick(CONTAINERS)
    return Request(scope_type, method, kind, header_list(inp, REQUEST_NAMES, 10))


def script(inp: Input) -> list[Action]:
    actions = []
    for _ in range(inp.below(4) + 1):
        kind = inp.pick(ACTIONS)
        if kind == "start":
            actions.append(
                Action(
                    "start",
                    status=inp.pick(STATUSES),
                    with_headers=inp.below(4) != 0,
                    mapping=inp.below(8) == 0,
                    container=inp.pick(CONTAINERS[:2]) if inp.below(4) else inp.pick(CONTAINERS),
                    headers=header_list(inp, RESPONSE_NAMES, 8),
                )
            )
        elif kind == "body":
            actions.append(Action("body", body=inp.blob()))
        else:
            actions.append(Action("raise"))
    return actions


def write_request(w: Writer, method: str, headers: Sequence[tuple[bytes, bytes]]) -> None:
    w.pick(SCOPE_TYPES, "http")
    if method in METHODS:
        w.pick(METHODS, method)
    else:
        w.pick(METHODS, "fuzzed").text(method)
    w.below(4, 1).pick(CONTAINERS[:2], "list")
    write_header_list(w, 10, headers, REQUEST_NAMES)


def write_script(w: Writer, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> None:
    w.below(4, 1)
    w.pick(ACTIONS, "start").pick(STATUSES, status if status in STATUSES else 200)
    w.below(4, 1).below(8, 1).below(4, 1).pick(CONTAINERS[:2], "list")
    write_header_list(w, 8, headers, RESPONSE_NAMES)
    w.pick(ACTIONS, "body").blob(body)


class App:
    """The app behind the middleware: plays its script, records how it was called."""

    def __init__(self, actions: list[Action]) -> None:
        self.actions = actions
        self.calls: list[tuple[Any, Any, Any]] = []
        self.app_headers: Optional[list[Any]] = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append((scope, receive, send))
        for action in self.actions:
            if action.kind == "raise":
                raise AppError("the app failed")
            message = action.message()
            if action.kind == "start" and self.app_headers is None:
                self.app_headers = container("list", action.headers) if action.with_headers else []
            await send(message)


def snapshot(message: Any) -> dict[str, Any]:
    """Return a comparable copy of a sent message (header containers read as lists)."""
    copy = dict(message)
    headers = copy.get("headers")
    if headers is not None and type(headers) not in (list, tuple):
        copy["headers"] = ("read", list(headers))
    copy["<mapping>"] = type(message).__name__
    return copy


@dataclass
class Run:
    messages: list[dict[str, Any]]
    outcome: tuple[str, Any]
    app: App
    scope: dict[str, Any]
    send: Any

    def observed(self) -> dict[str, Any]:
        calls = [(s is self.scope, send is self.send) for s, _, send in self.app.calls]
        return {"messages": self.messages, "outcome": self.outcome, "calls": calls}


def run(make: Callable[[ModuleType, App], Any], engine: ModuleType, req: Request, actions: list[Action]) -> Run:
    app = App(actions)
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(snapshot(message))

    scope = req.scope()
    built = outcome(make, engine, app)
    if built[0] == "raised":
        return Run(messages, ("refused", built[1]), app, scope, send)
    result = outcome(lambda: run_sync(built[1](scope, receive, send)))
    return Run(messages, result, app, scope, send)


def middlewares(factory: Callable[..., Any], kwargs: dict[str, Any]) -> Optional[Callable[[ModuleType, Any], Any]]:
    """Return a maker of `factory(app, **kwargs)` on each engine (built once, then reused with
    the new app and empty caches), or None when both engines refuse the options alike."""
    key = options_key(factory.__module__, factory.__qualname__, kwargs)
    built = Built.get(key, lambda engine: quiet(factory, None, **kwargs, _engine=engine))
    if built is None:
        return None
    by_engine = dict(zip((C, PY), built))

    def make(engine: ModuleType, app: Any) -> Any:
        middleware = by_engine[engine]
        middleware.app = app
        middleware.cache_clear()
        return middleware

    return make


def exchange(make: Callable[[ModuleType, App], Any], req: Request, actions: list[Action]) -> Run:
    """Return the compiled engine's run after checking the pure twin's is the same."""
    compiled = run(make, C, req, actions)
    pure = run(make, PY, req, actions)
    compare(f"ASGI exchange for {short(req.scope())}", compiled.observed(), pure.observed())
    return compiled


def check_exchange(result: Run, req: Request, origin: Optional[bytes] = None) -> None:
    """Assert the invariants on one exchange's messages."""
    if result.outcome[0] == "refused":
        if result.outcome[1] not in (TypeError, ValueError, re.error):
            raise Violation(f"construction raised {result.outcome[1].__name__}")
        return
    if result.outcome[0] == "raised" and result.outcome[1] is not AppError:
        if plain(container("list", req.headers)) is not None and req.container in ("list", "tuple"):
            # Well-formed requests never make the middleware fail; only the app's errors pass.
            app_plain = all(plain(container("list", a.headers)) is not None for a in result.app.actions)
            if app_plain and not any(a.mapping for a in result.app.actions):
                raise Violation(f"the exchange raised {result.outcome[1].__name__}")
    if req.scope_type not in ("http", "strsub"):
        if result.app.calls and not all(s is result.scope and send is result.send for s, _, send in result.app.calls):
            raise Violation(f"a {req.scope_type} scope was not passed through untouched")
        return
    starts = [m for m in result.messages if m.get("type") == "http.response.start"]
    if not starts:
        return
    headers = starts[0].get("headers", [])
    if isinstance(headers, tuple) and headers[:1] == ("read",):
        headers = headers[1]
    origin = req.origin() if origin is None else origin
    if not result.app.calls:
        check_emitted(headers, origin, "answered request")
    else:
        check_emitted(headers, origin, "app response", result.app.app_headers or [])


# -- a dialect's middleware class, end to end --------------------------------------------------


def middleware_exchange(
    data: bytes,
    dialect: str,
    factory: Callable[..., Any],
    origin: Callable[[Request], Optional[bytes]] = Request.origin,
) -> None:
    """Fuzz one input through the middleware class `factory` of `dialect`: a fuzzed configuration,
    request and app, the same on both engines, the invariants kept for the Origin `origin` reads
    (as the dialect's peer reads it)."""
    inp = Input(data)
    kwargs = read_options(inp, dialect)
    make = middlewares(factory, kwargs)
    if make is None:
        return
    req = request(inp)
    actions = script(inp)
    result = exchange(make, req, actions)
    check_exchange(result, req, origin(req))


def write_exchange(w: Writer, dialect: str, options: dict[str, Any], case: Case) -> None:
    """Write the input `middleware_exchange` reads as `options`, then `case`'s request and app headers."""
    write_options(w, dialect, options)
    write_request(w, case.method, case.headers)
    write_script(w, 200, case.app_headers, b"Hello, world")
