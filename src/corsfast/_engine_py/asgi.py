"""The request-header scan and the ASGI call: the twin of `_engine_c_asgi.pxi`."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from .._observe.reasons import NO_ORIGIN
from .._options import WATCH_PREFLIGHT, WATCH_SIMPLE
from .middleware import MiddlewareBase, _report_only
from .origins import _log_failure, _truth
from .policy import (
    ACRH,
    ACRM,
    ACRPN,
    ORIGIN,
    CORSPolicy,
    Header,
    Message,
    OriginEntry,
    Receive,
    Scope,
    Send,
)

__all__ = (
    "ASGIMiddlewareBase",
    "asgi_call",
    "asgi_call_async",
    "kui_origin",
    "scan_plain_request_headers",
    "scan_request_headers",
    "starlette_entry",
    "starlette_preflight",
    "wrap_send",
)


def scan_request_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """Return the first Origin, Access-Control-Request-Method, -Headers and -Private-Network values."""
    if headers.__class__ is not list:
        headers = list(headers)  # read all of any other iterable first, as the compiled engine does
    origin = method = names = private_network = None
    for key, value in headers:
        if key.__class__ is not bytes or value.__class__ is not bytes:
            continue
        if key == ORIGIN:
            if origin is None:
                origin = value
        elif key == ACRM:
            if method is None:
                method = value
        elif key == ACRH:
            if names is None:
                names = value
        elif key == ACRPN:
            if private_network is None:
                private_network = value
    return origin, method, names, private_network


def _plain(headers: Any) -> bool:
    """Return True when `headers` is a list of 2-tuples or 2-lists of exactly bytes (what servers send).

    No item's code runs here: nothing is unpacked before its type is known.
    """
    if headers.__class__ is not list:
        return False
    for item in headers:
        if (item.__class__ is not tuple and item.__class__ is not list) or len(item) != 2:
            return False
        if item[0].__class__ is not bytes or item[1].__class__ is not bytes:
            return False
    return True


def scan_plain_request_headers(
    headers: Any,
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None] | None:
    """Return what `scan_request_headers` returns, or None unless `headers` is a list of
    2-tuples or 2-lists of exactly bytes (then only Starlette's own code reads it as Starlette does).

    The Starlette drop-in's scan: Starlette's `Headers` reads any item it can unpack, with the
    item's own `==` and `decode`, so a list holding anything else is left to Starlette's code.
    """
    return scan_request_headers(headers) if _plain(headers) else None


def kui_origin(headers: Any) -> bytes | bool | None:
    """Return the Origin as Kui reads it: every `origin` field (any case), joined with ", ";
    or False unless `headers` is a list of 2-tuples or 2-lists of exactly bytes.

    Kui (baize) decodes every item with its own `decode`, so any other list is left to Kui's
    own `request.headers`.
    """
    if not _plain(headers):
        return False
    values = [value for key, value in headers if key.lower() == ORIGIN]
    if not values:
        return None
    return values[0] if len(values) == 1 else b", ".join(values)


class ASGIMiddlewareBase(MiddlewareBase):
    """The state an ASGI shim needs (`MiddlewareBase`); `asgi_call` is its `__call__`."""

    __slots__ = ()


class _CORSSend:
    """Wrap `send`: add the CORS headers to the response start, forward everything else.

    With no `entry`, the verdict is the middleware's own `is_allowed_origin`, asked when the
    response starts, as Starlette's `send` asks it (a subclass's override; never cached).
    """

    __slots__ = ("counting", "entry", "middleware", "origin", "policy", "send", "started")

    def __init__(
        self,
        send: Send,
        policy: CORSPolicy,
        entry: OriginEntry | None,
        middleware: Any = None,
        origin: bytes | None = None,
    ) -> None:
        self.send = send
        self.policy = policy
        self.entry = entry
        self.middleware = middleware
        self.origin = origin
        self.started = False
        self.counting = False  # count the request when the deferred verdict is taken

    def __call__(self, message: Message) -> Awaitable[None]:
        if not self.started and message["type"] == "http.response.start":
            self.started = True
            entry = self.entry
            if entry is None:
                entry = _hooked_entry(self.middleware, self.policy, self.origin)  # type: ignore[arg-type]
                if self.counting:
                    self.policy._note(0, entry.simple_reason, entry, self.origin, None, None)
            message["headers"] = self.policy._entry_headers(entry, message.get("headers", ()))
        return self.send(message)


async def _answer(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _hooked_entry(middleware: Any, policy: CORSPolicy, origin: bytes) -> OriginEntry:
    """Return the entry for `origin` once the middleware's `is_allowed_origin` has decided.

    An Origin no rule may allow (control characters, over the cap) never reaches it.
    """
    entry = policy.granted_entry(origin)
    if entry is policy._invalid:
        return entry
    if middleware.is_allowed_origin(origin=origin.decode("latin-1")):
        return entry
    return policy._denied


def _has_cookie(headers: list[Any]) -> bool:
    """Return True when a request header list has a Cookie header among its pairs of exactly bytes.

    Other items are skipped (the Starlette drop-in scanned the list plain; a subclass's code
    may have changed it since). No item's code runs here.
    """
    for item in headers:
        if (item.__class__ is tuple or item.__class__ is list) and len(item) == 2:
            key = item[0]
            if key.__class__ is bytes and key == b"cookie" and item[1].__class__ is bytes:
                return True
    return False


def starlette_entry(middleware: Any, policy: CORSPolicy, origin: bytes | None, cookie: bool = False) -> OriginEntry:
    """Return the entry a Starlette simple response gets for `origin` (None: no Origin header);
    `cookie`: the request has a Cookie header (read only before Starlette 1.0).

    A subclass's `is_allowed_origin` is asked where Starlette's `send` asks it: for a
    present Origin, unless `allow_all_origins`.
    """
    if origin is None:
        return policy._no_origin
    if cookie and policy._cookie_reflect:
        return policy.cookie_entry(origin)
    if policy._hooked and not policy._allow_all:
        return _hooked_entry(middleware, policy, origin)
    return policy.lookup(origin)


def starlette_preflight(
    middleware: Any,
    policy: CORSPolicy,
    origin: bytes,
    request_method: bytes,
    request_headers: bytes | None,
    request_private_network: bytes | None,
    count: bool = False,
) -> tuple[int, list[Header], bytes]:
    """Return `(status, headers, body)` of Starlette's preflight answer, asking a subclass's
    `is_allowed_origin` (always, as Starlette's `preflight_response` does) when it has one;
    `count`: count the request in the policy's counts."""
    entry = _hooked_entry(middleware, policy, origin) if policy._hooked else policy.lookup(origin)
    answer, reason = policy._preflight_answer(entry, request_method, request_headers, request_private_network)
    if count:
        policy._note(1, reason, entry, origin, request_method, request_headers)
    return answer  # type: ignore[return-value]


def wrap_send(
    middleware: Any, policy: CORSPolicy, send: Send, origin: bytes | None, cookie: bool = False, count: bool = False
) -> Send:
    """Return `send` wrapped to give a Starlette simple response its CORS headers for `origin`
    (`cookie`: as `starlette_entry`; `count`: count the request, when its verdict is taken)."""
    if origin is not None and policy._hooked and not policy._allow_all:
        wrapped = _CORSSend(send, policy, None, middleware, origin)
        wrapped.counting = count
        return wrapped
    entry = starlette_entry(middleware, policy, origin, cookie)
    if count:
        policy._note(0, entry.simple_reason, entry, origin, None, None)
    return _CORSSend(send, policy, entry)


def asgi_call(self: ASGIMiddlewareBase, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
    """Return the awaitable that answers one ASGI call through the policy of `self`.

    A plain function that returns the app's own awaitable, so the pass-through path costs
    no extra coroutine frame; it is marked as a coroutine function for servers' detection.
    The Starlette drop-in's policy may be stale (None after an attribute changed, or a
    watched container changed in place): it is compiled again first. Requests whose
    answer a subclass's override decides go through Starlette's own protocol
    (`_starlette_call`). An origin the rules refuse goes to the native middleware's
    `allow_origin_func` (once per request); an async one is awaited in a coroutine of its own
    (`_asgi_decide`), so only those requests pay for a coroutine frame. The Starlette
    drop-in leaves a header list that is not pairs of exactly bytes to Starlette's own code.
    """
    app: Callable[[Scope, Receive, Send], Awaitable[None]]
    policy: CORSPolicy | None
    report: CORSPolicy | None
    if self._thread_views:
        view = self._view()
        policy, report, app = view.policy, view.report, view.app
    else:
        policy, report, app = self._policy, self._report, self._app
    if scope["type"] != "http":
        return app(scope, receive, send)
    if policy is None:
        policy = self._compile_policy()  # type: ignore[attr-defined]
    if policy._native:
        origin, method, names, private_network = scan_request_headers(scope["headers"])
    else:
        # Starlette's `Headers` reads odd items its own way: its code answers those requests.
        found = scan_plain_request_headers(scope["headers"])
        if found is None:
            return self._starlette_call(scope, receive, send, None)  # type: ignore[attr-defined, no-any-return]
        origin, method, names, private_network = found
    counted = False
    if origin is None:
        if policy._no_origin_passthrough:
            policy._note(0, NO_ORIGIN, None, None, None, None)
            return app(scope, receive, send)
        if policy._protocol_simple:
            return self._starlette_call(scope, receive, send, False)  # type: ignore[attr-defined, no-any-return]
        entry = policy._no_origin
        policy._note(0, NO_ORIGIN, None, None, None, None)
    else:
        preflight = policy.is_preflight(scope["method"], origin, method)
        if policy._watched and not policy.is_current(WATCH_PREFLIGHT if preflight else WATCH_SIMPLE):
            policy = self._compile_policy()  # type: ignore[attr-defined]
        if preflight:
            if policy._protocol_preflight:
                return self._starlette_call(scope, receive, send, True)  # type: ignore[attr-defined, no-any-return]
            if policy._hooked:
                hooked, reason = policy._preflight_answer(
                    _hooked_entry(self, policy, origin), method, names, private_network
                )
                policy._note(1, reason, None, origin, method, names)
                counted = True
                if hooked is not None:
                    return _answer(send, *hooked)
        elif policy._protocol_simple:
            return self._starlette_call(scope, receive, send, False)  # type: ignore[attr-defined, no-any-return]
        if policy._hooked and not policy._allow_all:
            wrapped = _CORSSend(send, policy, None, self, origin)
            wrapped.counting = not counted
            return app(scope, receive, wrapped)
        entry = policy._lookup(origin)
        if entry.undecided:
            if policy._func_async:
                return _asgi_decide(
                    self, policy, report, entry, scope, receive, send, origin, preflight, method, names, private_network
                )
            entry = policy._ask(origin, entry)
        if policy._cookie_reflect and not preflight and _has_cookie(scope["headers"]):
            entry = policy.cookie_entry(origin)
        if preflight and not policy._hooked:
            answer, reason = policy._preflight_answer(entry, method, names, private_network)
            policy._note(1, reason, entry, origin, method, names)
            if report is not None:
                _report_only(policy, report, 1, reason, origin, method, names, private_network)
            if answer is not None:
                return _answer(send, *answer)
            counted = True
        if not counted:
            policy._note(0, entry.simple_reason, entry, origin, None, None)
            if report is not None:
                _report_only(policy, report, 0, entry.simple_reason, origin, None, None, None)
    return app(scope, receive, _CORSSend(send, policy, entry))


async def _asgi_decide(
    self: ASGIMiddlewareBase,
    policy: CORSPolicy,
    report: CORSPolicy | None,
    pending: OriginEntry,
    scope: Scope,
    receive: Receive,
    send: Send,
    origin: bytes,
    preflight: bool,
    method: bytes | None,
    names: bytes | None,
    private_network: bytes | None,
) -> None:
    """Answer one request whose origin the rules refused, once the async `allow_origin_func`
    has decided: awaited here, in the request's own task (its context variables), and
    refused for this request only (logged, not cached) when it raises."""
    try:
        allowed = _truth(await policy._func(origin.decode("latin-1")))  # type: ignore[misc]
    except Exception as error:
        _log_failure(origin, error)
        entry = policy._func_failed
    else:
        entry = policy._verdict(origin, allowed, pending)
    if preflight:
        answer, reason = policy._preflight_answer(entry, method, names, private_network)
        policy._note(1, reason, entry, origin, method, names)
        if report is not None:
            _report_only(policy, report, 1, reason, origin, method, names, private_network)
        if answer is not None:
            await _answer(send, *answer)
            return
    else:
        policy._note(0, entry.simple_reason, entry, origin, None, None)
        if report is not None:
            _report_only(policy, report, 0, entry.simple_reason, origin, None, None, None)
    await self.app(scope, receive, _CORSSend(send, policy, entry))


async def asgi_call_async(self: ASGIMiddlewareBase, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one ASGI call through the policy of `self` (a real coroutine function)."""
    await asgi_call(self, scope, receive, send)


if sys.version_info >= (3, 12):
    # Servers take `app.__call__` for ASGI 3 only when it looks like a coroutine function.
    inspect.markcoroutinefunction(asgi_call)
