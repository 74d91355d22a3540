"""The request-header scan and the ASGI call: the twin of `_engine_c_asgi.pxi`."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable, Iterable

from .policy import ACRH, ACRM, ACRPN, ORIGIN, CORSPolicy, Header, Message, OriginEntry, Receive, Scope, Send

__all__ = ("ASGIMiddlewareBase", "asgi_call", "asgi_call_async", "kui_origin", "scan_request_headers")


def scan_request_headers(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[bytes | None, bytes | None, bytes | None, bytes | None]:
    """Return the first Origin, Access-Control-Request-Method, -Headers and -Private-Network values."""
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


def kui_origin(headers: Iterable[tuple[bytes, bytes]]) -> bytes | None:
    """Return the Origin as Kui reads it: every `origin` field (any case), joined with ", "."""
    values = [value for key, value in headers if key.__class__ is bytes and key.lower() == ORIGIN]
    if not values:
        return None
    return values[0] if len(values) == 1 else b", ".join(values)


class ASGIMiddlewareBase:
    """The state an ASGI shim needs: the wrapped app and the compiled policy."""

    __slots__ = ("app", "policy")

    app: Callable[[Scope, Receive, Send], Awaitable[None]]
    policy: CORSPolicy


class _CORSSend:
    """Wrap `send`: add the CORS headers to the response start, forward everything else."""

    __slots__ = ("entry", "policy", "send", "started")

    def __init__(self, send: Send, policy: CORSPolicy, entry: OriginEntry) -> None:
        self.send = send
        self.policy = policy
        self.entry = entry
        self.started = False

    def __call__(self, message: Message) -> Awaitable[None]:
        if not self.started and message["type"] == "http.response.start":
            self.started = True
            message["headers"] = self.policy._entry_headers(self.entry, message.get("headers", ()))
        return self.send(message)


async def _answer(send: Send, status: int, headers: list[Header], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def asgi_call(self: ASGIMiddlewareBase, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
    """Return the awaitable that answers one ASGI call through the policy of `self`.

    A plain function that returns the app's own awaitable, so the pass-through path costs
    no extra coroutine frame; it is marked as a coroutine function for servers' detection.
    """
    if scope["type"] != "http":
        return self.app(scope, receive, send)
    policy = self.policy
    origin, method, names, private_network = scan_request_headers(scope["headers"])
    if origin is None:
        entry = policy._no_origin
    else:
        if policy.is_preflight(scope["method"], origin, method):
            answer = policy.preflight_response(origin, method, names, private_network)
            if answer is not None:
                return _answer(send, *answer)
        entry = policy.lookup(origin)
    return self.app(scope, receive, _CORSSend(send, policy, entry))


async def asgi_call_async(self: ASGIMiddlewareBase, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one ASGI call through the policy of `self` (a real coroutine function)."""
    await asgi_call(self, scope, receive, send)


if sys.version_info >= (3, 12):
    # Servers take `app.__call__` for ASGI 3 only when it looks like a coroutine function.
    inspect.markcoroutinefunction(asgi_call)
