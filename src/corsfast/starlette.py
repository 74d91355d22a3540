"""`corsfast.starlette.CORSMiddleware`: the installed Starlette's `CORSMiddleware`, byte for byte, compiled.

Change `from starlette.middleware.cors import CORSMiddleware` to
`from corsfast.starlette import CORSMiddleware`; the constructor, the attributes, the methods
and the ASGI messages are those of the Starlette release installed next to it, from 0.37 to
1.10 (see the README's "Differences from Starlette" for the few refusals), and so is
subclassing:

- The attributes Starlette's class reads at request time (`allow_origins`, `simple_headers`,
  `preflight_headers`, ...) are plain attributes here too. The engine compiles them, and
  compiles them again when one is assigned or deleted, or when a list, dict or set among
  them (the caller's `allow_origins` list, say) changes in place. Until then a request pays
  one pointer check per watched item.
- A subclass's overrides are called where Starlette calls them, with its arguments.
  Overriding `is_allowed_origin` keeps everything else compiled: the engine asks the
  override on every request where Starlette asks it, inside the request's own task.
  Overriding `preflight_response`, `simple_response`, `send` or `allow_explicit_origin`
  runs Starlette's protocol (`Headers`, `Response` objects), whose base methods are
  compiled where Starlette's objects allow it.
- Attribute values the engine cannot compile (a custom container, a `str` where Starlette
  tests substrings, a non-str header value) run Starlette's own code on the live
  attributes, with corsfast's security differences.

The release is read once per middleware, at construction (`_options.starlette_releases`
says what changed when); a newer release than 1.10 answers as 1.10, with a warning.
Starlette is needed only by the protocol: the compiled path runs without it installed, and
answers as the newest release then.
"""

from __future__ import annotations

import functools
import inspect
import re
import warnings
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Optional, Union

from ._cache_info import CacheInfo
from ._engine import engine as _default_engine
from ._observe.browser import browser_reason
from ._observe.reasons import NO_ORIGIN
from ._options import (
    DEFAULT_MAX_ORIGIN_LENGTH,
    STARLETTE_ATTRIBUTES,
    starlette_attributes,
    starlette_options,
    starlette_state_options,
)
from ._options.starlette_releases import StarletteRelease, installed_release, installed_version, release_for
from .asgi import ASGIShim

if TYPE_CHECKING:
    from starlette.datastructures import Headers, MutableHeaders
    from starlette.responses import Response

__all__ = ("CORSMiddleware",)

Message = Any
Send = Any

HOOKS = ("is_allowed_origin", "preflight_response", "simple_response", "send", "allow_explicit_origin")
"""The methods Starlette's protocol calls through `self`, so that a subclass may override them."""
_SEND_HOOKS = frozenset(("send", "allow_explicit_origin"))
_SIMPLE_HOOKS = frozenset(("simple_response", "send", "allow_explicit_origin"))
_STALE_ON = frozenset((*STARLETTE_ATTRIBUTES, *HOOKS))
"""Assigning or deleting one of these makes the compiled policy stale."""
_CONTROL = frozenset((*range(0x20), 0x7F))
_NOT_IN_MIRROR = _CONTROL - {0x09}


class CORSMiddleware(ASGIShim, _default_engine.ASGIMiddlewareBase):
    """Answer CORS exactly as the installed Starlette's `CORSMiddleware`, with the corsfast engine."""

    __call__ = _default_engine.asgi_call

    # Starlette's attributes, set by `__init__` in this order; code may change them later.
    # Starlette before 1.0 has no `allow_credentials`, before 0.51 no `allow_private_network`.
    allow_origins: Collection[str]
    allow_methods: Collection[str]
    allow_headers: list[str]
    allow_all_origins: bool
    allow_all_headers: bool
    allow_credentials: bool
    preflight_explicit_allow_origin: bool
    allow_origin_regex: Optional[re.Pattern[str]]
    allow_private_network: bool
    simple_headers: dict[str, str]
    preflight_headers: dict[str, str]
    _corsfast_engine: Any
    _corsfast_hooks: frozenset[str]
    _corsfast_compiled_send: bool
    _corsfast_compiled_simple: bool
    _corsfast_compiled_preflight: bool
    _corsfast_cookie_reflect: bool
    _corsfast_release: Optional[StarletteRelease] = None
    """The installed Starlette release's switches, read at construction."""

    def _corsfast_init(
        self,
        app: Any,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: Optional[Union[str, re.Pattern[str]]] = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        """Set Starlette's attributes and compile them: the body of `__init__`."""
        release = installed_release()
        object.__setattr__(self, "_corsfast_release", release)
        # corsfast's checks first: a bad configuration fails here, a dangerous one warns.
        # Starlette reads the two flags by truthiness: so does the drop-in.
        options = starlette_options(
            allow_origins,
            allow_methods,
            allow_headers,
            bool(allow_credentials),
            allow_origin_regex,
            bool(allow_private_network),
            expose_headers,
            max_age,
            release=release,
        )
        attributes = starlette_attributes(
            allow_origins,
            allow_methods,
            allow_headers,
            allow_credentials,
            options.origin_patterns[0] if options.origin_patterns else None,
            allow_private_network,
            expose_headers,
            max_age,
            release,
        )
        self.app = app
        for name, value in attributes.items():  # Starlette's order
            setattr(self, name, value)
        self._compile_policy()
        self._mark_coroutine_function()

    if TYPE_CHECKING:
        __init__ = _corsfast_init
    else:

        def __init__(
            self,
            *args: Any,
            name: Optional[str] = None,
            log_interval: float = 60.0,
            top_refused_size: int = 32,
            **kwargs: Any,
        ) -> None:
            # The installed Starlette's parameters: before 0.51 there is no
            # `allow_private_network`, so a positional `expose_headers` is the seventh.
            # corsfast's own keyword-only options (what `stats()` is named and keeps, how often
            # a refusal is logged) are taken apart: the signature shown is Starlette's.
            bound = _INIT_SIGNATURE.bind(self, *args, **kwargs)
            self._corsfast_init(**{k: v for k, v in bound.arguments.items() if k != "self"})
            self._observe("starlette", name, log_interval, top_refused_size)

    # -- compilation (the cold path) ---------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _STALE_ON:
            object.__setattr__(self, "policy", None)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        if name in _STALE_ON:
            object.__setattr__(self, "policy", None)

    def _compile_policy(self) -> Any:
        """Return a policy compiled from the current attributes and overrides, and keep it."""
        hooks = _overridden(self)
        engine = type(self)._engine_module
        options = starlette_state_options(
            self,
            _release(self),
            verdict_hook="is_allowed_origin" in hooks,
            protocol_preflight="preflight_response" in hooks,
            protocol_simple=bool(hooks & _SIMPLE_HOOKS),
        )
        if options.starlette is not None and (
            options.starlette.protocol_preflight or options.starlette.protocol_simple
        ):
            _require_starlette(hooks)
        policy = engine.CORSPolicy(options)
        faithful = options.starlette is not None and options.starlette.faithful
        # What the base methods below may do with the compiled policy instead of Starlette's objects.
        object.__setattr__(self, "_corsfast_engine", engine)
        object.__setattr__(self, "_corsfast_hooks", hooks)
        object.__setattr__(self, "_corsfast_compiled_send", not faithful and "allow_explicit_origin" not in hooks)
        object.__setattr__(self, "_corsfast_compiled_simple", not faithful and not (hooks & _SEND_HOOKS))
        object.__setattr__(self, "_corsfast_compiled_preflight", not faithful)
        cookie_reflect = options.starlette is not None and options.starlette.cookie_reflect
        object.__setattr__(self, "_corsfast_cookie_reflect", cookie_reflect)
        object.__setattr__(self, "policy", policy)
        return policy

    def _current_policy(self) -> Any:
        policy = self.policy
        if policy is None or not policy.is_current():
            policy = self._compile_policy()
        return policy

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's statistics: hits, misses, maximum and current size."""
        return self._current_policy().cache_info()  # type: ignore[no-any-return]

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        self._current_policy().cache_clear()

    # -- Starlette's protocol ----------------------------------------------------------

    async def _starlette_call(self, scope: Any, receive: Any, send: Send, preflight: Optional[bool]) -> None:
        """Answer as Starlette's `__call__` does, through `self`'s (overridable) methods.

        `preflight` is Starlette's test (OPTIONS with Origin and Access-Control-Request-Method)
        from the engine's scan, or None when the header list is not pairs of exactly bytes:
        then `Headers` reads it, as in Starlette.
        """
        headers = (_HEADERS or _starlette().HEADERS)[0](scope=scope)
        if preflight is None:
            origin = headers.get("origin")
            if origin is None and not _release(self).vary_always:
                self._count(0, NO_ORIGIN)
                await self.app(scope, receive, send)  # before 1.7, as Starlette's `__call__`
                return
            preflight = (
                origin is not None and scope["method"] == "OPTIONS" and "access-control-request-method" in headers
            )
        if preflight:
            response = self.preflight_response(request_headers=headers)
            await response(scope, receive, send)
            return
        await self.simple_response(scope, receive, send, request_headers=headers)

    def is_allowed_origin(self, origin: str) -> bool:
        """Return True when `origin` is allowed: any origin, the regex, or one of `allow_origins`."""
        policy = self.policy
        verdict: int
        if policy is not None:
            verdict = policy.text_verdict(origin)
            if verdict >= 0:
                return verdict == 1
        # Stale, or a question only Starlette's own code can answer (a str no header holds).
        verdict = self._current_policy().text_verdict(origin)
        return verdict == 1 if verdict >= 0 else _starlette_is_allowed_origin(self, origin)

    def preflight_response(self, request_headers: Headers) -> Response:
        """Return the preflight answer Starlette gives: 200 `OK`, or 400 `Disallowed CORS ...`."""
        engine = type(self)._engine_module
        policy = self._current_policy()
        raw = None
        if self._corsfast_compiled_preflight and request_headers.__class__ in _starlette().HEADERS:
            # The raw fields, as `request_headers[...]` finds them, without decoding them.
            raw = engine.scan_plain_request_headers(request_headers._list)
        if raw is not None:
            if raw[0] is None:
                raise KeyError("origin")
            if raw[1] is None:
                raise KeyError("access-control-request-method")
            status, headers, body = engine.starlette_preflight(self, policy, *raw, True)  # True: count it
            return _plain_text_response(status, headers, body)
        requested_origin = request_headers["origin"]
        requested_method = request_headers["access-control-request-method"]
        requested_headers = request_headers.get("access-control-request-headers")
        requested_private_network = (
            request_headers.get("access-control-request-private-network") if _release(self).private_network else None
        )
        raw = _encoded(requested_origin, requested_method, requested_headers, requested_private_network)
        if raw is None or not self._corsfast_compiled_preflight:
            response = _starlette_preflight_response(
                self, requested_origin, requested_method, requested_headers, requested_private_network
            )
            _count_answer(self, True, request_headers, response.status_code, response.raw_headers)
            return response
        status, headers, body = engine.starlette_preflight(self, policy, *raw, True)  # True: count it
        return _plain_text_response(status, headers, body)

    async def simple_response(self, scope: Any, receive: Any, send: Send, request_headers: Headers) -> None:
        """Call the app with a `send` that adds the CORS headers to its response."""
        policy = self.policy
        if policy is None or not policy.is_current():
            policy = self._compile_policy()
        if self._corsfast_compiled_simple:
            raw, plain = _request_origin(self, request_headers)
            release = _release(self)
            # Before 1.7 Starlette's `send` reads the Origin with `[...]`, and before 1.0 it
            # reads the Cookie of every request: for those its `send` runs (and fails alike).
            compiled = raw is not False and (raw is not None or release.vary_always)
            if compiled and (plain or release.credentials_attribute):
                cookie = self._corsfast_cookie_reflect and "cookie" in request_headers
                # True: count the request (positional: keywords cost more to pass to the engine)
                wrapped = self._corsfast_engine.wrap_send(self, policy, send, raw, cookie, True)
                await self.app(scope, receive, wrapped)
                return
        send = functools.partial(self.send, send=send, request_headers=request_headers)
        await self.app(scope, receive, send)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        """Add the CORS headers to an `http.response.start` message, then pass it to `send`."""
        if message["type"] != "http.response.start":
            await send(message)
            return
        policy = self.policy
        if policy is None or not policy.is_current():
            policy = self._compile_policy()
        engine = self._corsfast_engine
        if self._corsfast_compiled_send:
            raw, plain = _request_origin(self, request_headers)
            release = _release(self)
            # Before 1.7 Starlette's `send` reads the Origin with `[...]`: its own code fails alike.
            if raw is not False and (raw is not None or release.vary_always):
                # Before 1.0 it reads the Cookie of every request (an odd header list may fail there).
                cookie = (
                    not release.credentials_attribute
                    and (self._corsfast_cookie_reflect or not plain)
                    and ("cookie" in request_headers)
                )
                entry = engine.starlette_entry(self, policy, raw, cookie)
                policy.note(0, entry.simple_reason, raw)
                message["headers"] = policy.entry_headers(entry, message.setdefault("headers", []))
                await send(message)
                return
        await _starlette_send(self, message, send, request_headers)
        _count_answer(self, False, request_headers, message.get("status", 200), message.get("headers") or ())

    @staticmethod
    def allow_explicit_origin(headers: MutableHeaders, origin: str) -> None:
        """Set Access-Control-Allow-Origin to `origin` and add Origin to Vary."""
        headers["Access-Control-Allow-Origin"] = origin
        if _installed_release().vary_always:
            headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
        else:
            headers.add_vary_header("Origin")  # before 1.7: joined to the first Vary value only


_BASE = {name: CORSMiddleware.__dict__[name] for name in HOOKS}


_REQUEST_FIELDS = {
    b"origin": 0,
    b"access-control-request-method": 1,
    b"access-control-request-headers": 2,
    b"access-control-request-private-network": 3,
}


def _count_answer(middleware: CORSMiddleware, preflight: bool, request_headers: Any, status: int, headers: Any) -> None:
    """Count a request Starlette's own code answered (a value the engine cannot compile), for
    the reason a browser gives its answer. The request's fields are read from its raw list,
    items that are not pairs of bytes skipped (Starlette's own reading may raise on them)."""
    values: list[Optional[bytes]] = [None, None, None, None]
    for item in getattr(request_headers, "raw", ()):
        try:
            key, value = item
        except (TypeError, ValueError):
            continue
        if isinstance(key, bytes) and isinstance(value, bytes):
            index = _REQUEST_FIELDS.get(key.lower())
            if index is not None and values[index] is None:
                values[index] = value
    origin, method, names, private_network = values
    reason, detail_name, detail = browser_reason(preflight, origin, method, names, private_network, status, headers)
    middleware._count(1 if preflight else 0, reason, origin, detail_name, detail)


def _release(middleware: CORSMiddleware) -> StarletteRelease:
    """Return the Starlette release `middleware` answers as (read at construction)."""
    return middleware._corsfast_release or _installed_release()


@functools.cache
def _installed_release() -> StarletteRelease:
    """Return the installed Starlette release's switches, without a warning (`__init__` warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return release_for(installed_version())


def _overridden(middleware: CORSMiddleware) -> frozenset[str]:
    """Return the names in HOOKS that `middleware`'s class or instance defines anew."""
    found = set()
    instance = vars(middleware)
    for name in HOOKS:
        if name in instance:
            found.add(name)
            continue
        for klass in type(middleware).__mro__:
            if name in klass.__dict__:
                if klass.__dict__[name] is not _BASE[name]:
                    found.add(name)
                break
    return frozenset(found)


def _require_starlette(hooks: frozenset[str]) -> None:
    try:
        _starlette()
    except ImportError:  # pragma: no cover - Starlette is a test dependency
        overridden = ", ".join(sorted(hooks - {"is_allowed_origin"})) or "nothing compilable"
        raise ImportError(
            f"corsfast.starlette: overriding {overridden} needs Starlette installed: "
            "Starlette's protocol hands those methods its Headers and Response objects"
        ) from None


def _encoded(*values: Any) -> tuple[Any, ...] | None:
    """Return the values as the bytes a client sent (None stays None), or None if one is not latin-1 text."""
    raw: list[bytes | None] = []
    for value in values:
        if value is None:
            raw.append(None)
        elif value.__class__ is not str:
            return None
        else:
            try:
                raw.append(value.encode("latin-1"))
            except UnicodeEncodeError:
                return None
    return tuple(raw)


class _StarletteClasses:
    """Starlette's classes the protocol hands out, imported on first use (never on the compiled path)."""

    def __init__(self) -> None:
        from starlette.datastructures import Headers, MutableHeaders
        from starlette.responses import PlainTextResponse

        self.Headers = Headers
        self.MutableHeaders = MutableHeaders
        self.PlainTextResponse = PlainTextResponse
        self.HEADERS = (Headers, MutableHeaders)
        """The exact types whose raw `_list` the engine can scan as `Headers.get` reads it."""


@functools.cache
def _starlette() -> _StarletteClasses:
    global _HEADERS
    classes = _StarletteClasses()
    _HEADERS = classes.HEADERS
    return classes


_HEADERS: tuple[type, ...] = ()
"""Starlette's `Headers` and `MutableHeaders`, once imported (see `_StarletteClasses.HEADERS`)."""


def _request_origin(middleware: CORSMiddleware, request_headers: Any) -> tuple[bytes | bool | None, bool]:
    """Return the Origin `request_headers.get("Origin")` gives, as raw bytes (None: absent), or
    False when only Starlette's own code can handle it (a value that is not latin-1 text); and
    whether `request_headers` is Starlette's over a list of pairs of exactly bytes (reading it
    runs no item's code)."""
    kind = request_headers.__class__
    if kind in _HEADERS:
        scanned = type(middleware)._engine_module.scan_plain_request_headers(request_headers._list)
        if scanned is not None:
            return scanned[0], True
    raw = _encoded(request_headers.get("Origin"))
    return (False if raw is None else raw[0]), False


def _plain_text_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Response:
    """Return the `PlainTextResponse` Starlette builds for this answer, without re-encoding it."""
    PlainTextResponse = _starlette().PlainTextResponse
    response = PlainTextResponse.__new__(PlainTextResponse)
    # The attributes `Response.__init__` sets, in its order.
    response.status_code = status
    response.background = None
    response.body = body
    response.raw_headers = headers
    return response


# -- Starlette's own code, for attribute values the engine cannot compile ----------------------
# The same statements as the installed Starlette's (its release's switches), on the live
# attributes, with corsfast's security differences: an Origin with control characters or over
# the length cap is never allowed, and a mirrored Access-Control-Request-Headers never holds
# control characters.


def _deviant(origin: Any) -> bool:
    if origin.__class__ is not str:
        return False
    return len(origin) > DEFAULT_MAX_ORIGIN_LENGTH or any(ord(c) in _CONTROL for c in origin)


def _starlette_is_allowed_origin(middleware: CORSMiddleware, origin: Any) -> bool:
    if _deviant(origin):
        return False
    if middleware.allow_all_origins:
        return True
    if middleware.allow_origin_regex is not None and middleware.allow_origin_regex.fullmatch(origin):
        return True
    return origin in middleware.allow_origins


def _starlette_preflight_response(
    middleware: CORSMiddleware,
    requested_origin: Any,
    requested_method: Any,
    requested_headers: Any,
    requested_private_network: Any,
) -> Response:
    PlainTextResponse = _starlette().PlainTextResponse
    headers = dict(middleware.preflight_headers)
    failures: list[str] = []
    if not _deviant(requested_origin) and middleware.is_allowed_origin(origin=requested_origin):
        if middleware.preflight_explicit_allow_origin:
            headers["Access-Control-Allow-Origin"] = requested_origin
    else:
        failures.append("origin")
    if requested_method not in middleware.allow_methods:
        failures.append("method")
    if middleware.allow_all_headers and requested_headers is not None:
        if isinstance(requested_headers, str) and any(ord(c) in _NOT_IN_MIRROR for c in requested_headers):
            failures.append("headers")
        else:
            headers["Access-Control-Allow-Headers"] = requested_headers
    elif requested_headers is not None:
        for header in [h.lower() for h in requested_headers.split(",")]:
            if header.strip() not in middleware.allow_headers:
                failures.append("headers")
                break
    if requested_private_network is not None and _release(middleware).private_network:
        if middleware.allow_private_network:
            headers["Access-Control-Allow-Private-Network"] = "true"
        else:
            failures.append("private-network")
    if failures:
        return PlainTextResponse("Disallowed CORS " + ", ".join(failures), status_code=400, headers=headers)
    return PlainTextResponse("OK", status_code=200, headers=headers)


async def _starlette_send(middleware: CORSMiddleware, message: Message, send: Send, request_headers: Any) -> None:
    release = _release(middleware)
    message.setdefault("headers", [])
    headers = _starlette().MutableHeaders(scope=message)
    if release.vary_always:
        origin = request_headers.get("Origin")
        if origin is not None:
            headers.update(middleware.simple_headers)
    else:
        headers.update(middleware.simple_headers)
        origin = request_headers["Origin"]
    # Before 1.0 a Cookie header (read for every request) decides, not allow_credentials.
    has_cookie = not release.credentials_attribute and "cookie" in request_headers
    if (
        origin is not None
        and not _deviant(origin)
        and middleware.allow_all_origins
        and (middleware.allow_credentials if release.credentials_attribute else has_cookie)
    ):
        middleware.allow_explicit_origin(headers, origin)
    elif (
        origin is not None
        and not _deviant(origin)
        and not middleware.allow_all_origins
        and middleware.is_allowed_origin(origin=origin)
    ):
        middleware.allow_explicit_origin(headers, origin)
    elif release.vary_always:
        headers["Vary"] = ", ".join([*headers.getlist("Vary"), "Origin"])
    await send(message)


def _starlette_signature() -> inspect.Signature:
    """Return `__init__`'s signature as the installed Starlette's: `_corsfast_init`'s, without
    `allow_private_network` before 0.51."""
    signature = inspect.signature(CORSMiddleware._corsfast_init)
    private_network = _installed_release().private_network
    return signature.replace(
        parameters=[p for p in signature.parameters.values() if private_network or p.name != "allow_private_network"]
    )


_INIT_SIGNATURE = _starlette_signature()
CORSMiddleware.__init__.__signature__ = _INIT_SIGNATURE
