"""Request header lists that are not pairs of exactly `bytes`, against the installed peers.

No ASGI server sends anything but `(bytes, bytes)` pairs, but a scope built by hand (a test
client, a middleware above) may hold `bytes` subclasses, `bytearray`, `str`, lists or items
of the wrong length. Starlette's `Headers` reads such a list with each item's own `==` and
`decode`, and Kui's (baize's) decodes every item; both raise where an item cannot be read.
The drop-ins leave such a list to the peer's own code, so every answer here, or the
exception raised, is the peer's: Starlette's for its class, for a subclass whose attributes
the engine cannot compile and for one that overrides `is_allowed_origin`; Kui's for
`allow_cors` (but for the documented `Vary: Origin` and the order of a set); on both engines.
The fuzz finding behind this file is `fuzz/findings/starlette_subclass/bytes-subclass-origin`.
"""

from __future__ import annotations

import copy
import functools
import re
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import kui.asgi
import pytest
from cases import asgi_messages
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

import corsfast.kui.asgi
import corsfast.starlette
from corsfast import CORSConfigWarning
from corsfast.asgi import _on_engine

ALLOWED = b"https://app.example.com"
REFUSED = b"https://evil.example.net"


class Sub(bytes):
    """Bytes, but not exactly: Starlette's `Headers` reads it as bytes."""


class Shouting(bytes):
    """A value whose `decode` Starlette calls: the answer must carry what it returns."""

    def decode(self, *args: Any, **kwargs: Any) -> str:
        return bytes(self).decode(*args, **kwargs).upper().replace("HTTPS://", "https://")


class EqualsEverything(bytes):
    """A name equal to every name Starlette looks up (its own `==` runs, not the bytes')."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = bytes.__hash__


class EmptiesItsList:
    """An item that empties the list holding it when it is unpacked (Starlette reads a copy;
    Kui's baize reads the list itself, and stops there)."""

    def __init__(self, holder: list[Any], pair: tuple[bytes, bytes]) -> None:
        self.holder = holder
        self.pair = pair

    def __iter__(self) -> Any:
        self.holder.clear()
        return iter(self.pair)


def _emptied_when_read() -> list[Any]:
    headers: list[Any] = []
    headers += [EmptiesItsList(headers, (b"x-a", b"1")), (b"origin", ALLOWED)]
    return headers


PREFLIGHT = ((b"access-control-request-method", b"GET"), (b"access-control-request-headers", b"x-a"))

LISTS: list[tuple[str, Callable[[], Any]]] = [
    ("bytes-subclass value", lambda: [(b"origin", Sub(ALLOWED))]),
    ("bytes-subclass refused value", lambda: [(b"origin", Sub(REFUSED))]),
    ("bytes-subclass name", lambda: [(Sub(b"origin"), ALLOWED)]),
    ("bytes-subclass empty value", lambda: [(b"origin", Sub(b""))]),
    ("bytearray name", lambda: [(bytearray(b"origin"), ALLOWED)]),
    ("bytearray value", lambda: [(b"origin", bytearray(ALLOWED))]),
    ("odd value before a plain one", lambda: [(b"origin", Sub(REFUSED)), (b"origin", ALLOWED)]),
    ("odd item elsewhere", lambda: [(b"host", Sub(b"testserver")), (b"origin", ALLOWED)]),
    ("str name elsewhere", lambda: [("x-note", b"1"), (b"origin", ALLOWED)]),
    ("decode of its own", lambda: [(b"origin", Shouting(b"https://app.example.com"))]),
    ("a name equal to everything", lambda: [(EqualsEverything(b"x"), ALLOWED)]),
    ("a list item", lambda: [[b"origin", ALLOWED]]),
    ("a three-item tuple after the origin", lambda: [(b"origin", ALLOWED), (b"x", b"y", b"z")]),
    ("a one-item tuple before the origin", lambda: [(b"x",), (b"origin", ALLOWED)]),
    ("a None value for the origin", lambda: [(b"origin", None), (b"origin", ALLOWED)]),
    ("a str value for the origin", lambda: [(b"origin", ALLOWED.decode())]),
    ("headers as a tuple", lambda: ((b"origin", ALLOWED),)),
    ("headers as an iterator", lambda: iter([(b"origin", ALLOWED)])),
    ("control characters in a subclass value", lambda: [(b"origin", Sub(ALLOWED + b"\r\nx: y"))]),
    ("an item that empties the list when read", _emptied_when_read),
]

CONFIGS = {
    "specific": {
        "allow_origins": [ALLOWED.decode()],
        "allow_methods": ["GET"],
        "allow_headers": ["x-a"],
        "allow_credentials": True,
        "expose_headers": ["X-Total"],
    },
    "any, with credentials": {"allow_origins": ["*"], "allow_headers": ["*"], "allow_credentials": True},
    "regex": {"allow_origin_regex": r"https://[a-z]+\.example\.com", "allow_methods": ["*"]},
}


class Suffixes:
    """A container the engine cannot compile (Starlette's own code then answers)."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    def __contains__(self, origin: object) -> bool:
        return isinstance(origin, str) and origin.endswith(self.suffix)

    def __iter__(self) -> Any:
        return iter(())


def _variants(base: type) -> dict[str, type]:
    """Return the class itself and two subclasses of `base`, each body written once."""

    class Uncompilable(base):  # type: ignore[valid-type, misc]
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(app, **kwargs)
            if not self.allow_all_origins:
                self.allow_origins = Suffixes(".example.com")

    class Hooked(base):  # type: ignore[valid-type, misc]
        def is_allowed_origin(self, origin: str) -> bool:
            return origin.startswith("https://app.") or super().is_allowed_origin(origin)

    return {"itself": base, "uncompilable attributes": Uncompilable, "is_allowed_origin": Hooked}


def _answer(middleware: Any, method: str, headers: Any) -> Any:
    """Return the ASGI messages sent, or the type and text of the exception raised."""
    try:
        return asgi_messages(middleware, method, headers)
    except Exception as error:  # the exception is the answer compared
        return ("raised", type(error), str(error))


def _app() -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen = [item if isinstance(item, (tuple, list)) else type(item).__name__ for item in scope["headers"]]
        headers = [(b"content-type", b"text/plain"), (b"x-seen", repr(seen).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def _build(cls: type, config: dict[str, Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return cls(_app(), **copy.deepcopy(config))


@pytest.mark.parametrize("preflight", [False, True], ids=["simple", "preflight"])
@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("variant", ["itself", "uncompilable attributes", "is_allowed_origin"])
@pytest.mark.parametrize("make", [m for _, m in LISTS], ids=[name for name, _ in LISTS])
def test_odd_header_lists_answer_as_starlette(
    engine: ModuleType, make: Callable[[], Any], variant: str, config: dict[str, Any], preflight: bool
) -> None:
    ours_class = _variants(_on_engine(corsfast.starlette.CORSMiddleware, engine))[variant]
    theirs_class = _variants(StarletteCORSMiddleware)[variant]
    method = "OPTIONS" if preflight else "GET"

    def headers() -> Any:
        made = make()
        if not preflight:
            return made
        return [*made, *PREFLIGHT] if isinstance(made, list) else iter([*made, *PREFLIGHT])

    expected = _answer(_build(theirs_class, config), method, headers())
    actual = _answer(_build(ours_class, config), method, headers())
    ours_emitted = _emitted(actual)
    assert not any(b"\r" in value or b"\n" in value for value in ours_emitted), ours_emitted
    if any(b"\r" in value or b"\n" in value for value in _emitted(expected)):
        # The documented difference: Starlette reflects an Origin with CR LF, corsfast never does.
        return
    assert actual == expected


def _emitted(answer: Any) -> list[bytes]:
    """Return every header value in the messages of `answer` (none when it raised)."""
    if answer[0] == "raised":
        return []
    return [value for message in answer for _, value in message.get("headers", ())]


def _scope_headers_seen(middleware_class: type, method: str, headers: list[Any]) -> Any:
    """Return the `scope["headers"]` object the app behind `middleware_class` is given."""
    seen = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["headers"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        middleware = middleware_class(app, **copy.deepcopy(CONFIGS["regex"]))
    asgi_messages(middleware, method, headers)
    return seen[0]


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_which_path_answers(engine: ModuleType, method: str) -> None:
    # Starlette's `Headers(scope=scope)` puts a copy of the list into the scope; the compiled
    # path reads the list in place. So the app's list shows which one answered.
    ours = _on_engine(corsfast.starlette.CORSMiddleware, engine)
    plain = [(b"origin", ALLOWED), [b"x-list-item", b"1"]]
    assert _scope_headers_seen(ours, method, plain) is plain
    odd = [(b"origin", Sub(ALLOWED))]
    seen = _scope_headers_seen(ours, method, odd)
    assert seen is not odd and seen == odd
    assert _scope_headers_seen(StarletteCORSMiddleware, method, list(odd)) == seen


# -- Kui ------------------------------------------------------------------------------------

KUI_LISTS = [
    *LISTS,
    ("upper-case names, repeated", lambda: [(Sub(b"ORIGIN"), ALLOWED), (b"Origin", b"https://other.example.com")]),
    ("latin-1 origin in a subclass", lambda: [(b"origin", Sub("https://caf\xe9.example.com".encode("latin-1")))]),
]
KUI_CONFIGS = {
    "one origin": {"allow_origins": [re.compile(r"https://app\.example\.com")], "allow_headers": ["X-A"]},
    "any": {},
    "latin-1, or repeats joined": {
        "allow_origins": [re.compile(r"https://[a-z\xe9]+\.example\.com(, .*)?")],
        "allow_credentials": True,
    },
}


def _kui_app(allow_cors: Callable[..., Any], config: dict[str, Any]) -> Any:
    app = kui.asgi.Kui()

    async def endpoint() -> str:
        return "ok"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        app.router << kui.asgi.HttpRoute("/", endpoint) @ allow_cors(**config)
    return app


def _kui_normal(answer: Any) -> Any:
    """Return `answer` with Access-Control-Allow-Headers as a set (Kui joins a set) and without
    Vary (corsfast adds `Vary: Origin` to every answer of a wrapped endpoint, as documented)."""
    if answer[0] == "raised":
        return answer
    start, *rest = answer
    headers = []
    for name, value in start.get("headers", ()):
        if name == b"vary":
            assert value == b"Origin", value
            continue
        if name == b"access-control-allow-headers":
            value = frozenset(value.split(b", "))
        headers.append((name, value))
    return start["status"], headers, [m.get("body") for m in rest]


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
@pytest.mark.parametrize("config", KUI_CONFIGS.values(), ids=KUI_CONFIGS.keys())
@pytest.mark.parametrize("make", [m for _, m in KUI_LISTS], ids=[name for name, _ in KUI_LISTS])
def test_odd_header_lists_answer_as_kui(
    engine: ModuleType, make: Callable[[], Any], config: dict[str, Any], method: str
) -> None:
    theirs = _kui_app(kui.asgi.allow_cors, config)
    ours = _kui_app(functools.partial(corsfast.kui.asgi.allow_cors, _engine=engine), config)
    expected = _answer(theirs, method, make())
    actual = _answer(ours, method, make())
    ours_emitted = _emitted(actual)
    assert not any(b"\r" in value or b"\n" in value for value in ours_emitted), ours_emitted
    if any(b"\r" in value or b"\n" in value for value in _emitted(expected)):
        return  # the documented difference: an Origin with control characters is never reflected
    assert _kui_normal(actual) == _kui_normal(expected)
