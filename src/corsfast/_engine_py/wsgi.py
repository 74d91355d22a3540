"""The WSGI call of the native middleware: the twin of `_engine_c_wsgi.pxi`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Optional

from .._observe.reasons import NO_ORIGIN
from .middleware import MiddlewareBase, _report_only
from .policy import CORSPolicy, OriginEntry

__all__ = ("WSGIMiddlewareBase", "environ_preflight_fields", "wsgi_call", "wsgi_headers")

Environ = dict[str, Any]
StrHeaders = list[tuple[str, str]]
StartResponse = Callable[..., Any]


class WSGIMiddlewareBase(MiddlewareBase):
    """The state the WSGI shim needs (`MiddlewareBase`); `wsgi_call` is its `__call__`."""

    __slots__ = ()


def _environ_bytes(environ: Environ, key: str) -> Optional[bytes]:
    """Return a request header from `environ` as the bytes the client sent (PEP 3333: latin-1
    str), or None when it is absent or not a header any client could send."""
    value = environ.get(key)
    if value is None:
        return None
    try:
        return value.encode("latin-1")  # type: ignore[no-any-return]
    except (AttributeError, UnicodeEncodeError):
        return None


_STATUS_LINES: dict[int, str] = {}


def _status_line(status: int) -> str:
    """Return the WSGI status line for `status`, such as "200 OK" (made once per status)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {HTTPStatus(status).phrase}"
    return line


def _str_headers(headers: Iterable[tuple[bytes, bytes]]) -> StrHeaders:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers]


def _str_block(entry: OriginEntry) -> StrHeaders:
    """Return `entry.block` as latin-1 str pairs, decoded once per entry and kept on it."""
    if entry._wsgi_block is None:
        entry._wsgi_block = _str_headers(entry.block)
    return entry._wsgi_block


def _latin1(text: str) -> bool:
    return text.isascii() or max(text) <= "\xff"


def wsgi_headers(policy: CORSPolicy, entry: OriginEntry, headers: Any) -> StrHeaders:
    """Return the app's WSGI `headers` (str pairs) with `entry`'s CORS headers applied.

    A list of str pairs that sets none of the CORS headers gets `entry`'s headers appended;
    any other goes through the engine as bytes, lower-cased, with the app's own spelling of
    each name it kept (PEP 3333 names are case-insensitive, the engine's are ASGI's).
    """
    if not isinstance(policy, CORSPolicy) or not isinstance(entry, OriginEntry):
        raise TypeError("wsgi_headers takes a CORSPolicy and an OriginEntry")
    if headers.__class__ is list and all(
        item.__class__ is tuple
        and len(item) == 2
        and item[0].__class__ is str
        and item[1].__class__ is str
        and _latin1(item[0])
        and _latin1(item[1])
        and item[0].lower().encode() not in policy._touched
        for item in headers
    ):
        return headers + _str_block(entry)
    spelling: dict[str, str] = {}
    encoded = []
    for name, value in headers:
        lowered = name.lower()
        if lowered != name:
            spelling.setdefault(lowered, name)
        encoded.append((lowered.encode("latin-1"), value.encode("latin-1")))
    result = []
    for raw_name, raw_value in policy.entry_headers(entry, encoded):
        name = raw_name.decode("latin-1")
        result.append((spelling.get(name, name), raw_value.decode("latin-1")))
    return result


class _WSGIStart:
    """Wrap `start_response`: give the app's response its CORS headers, then start it."""

    __slots__ = ("entry", "policy", "start_response")

    def __init__(self, start_response: StartResponse, policy: CORSPolicy, entry: OriginEntry) -> None:
        self.start_response = start_response
        self.policy = policy
        self.entry = entry

    def __call__(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        result = wsgi_headers(self.policy, self.entry, headers)
        if exc_info is None:
            return self.start_response(status, result)
        return self.start_response(status, result, exc_info)


def wsgi_call(self: WSGIMiddlewareBase, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Return the app's iterable for one WSGI request, answered through the policy of `self`.

    A preflight from an allowed origin is answered here (the app is not called); every
    other request reaches the app with a `start_response` that adds the CORS headers. The
    verdict is taken once, before the app runs (`allow_origin_func` is asked at most once).
    """
    app: Callable[[Environ, StartResponse], Iterable[bytes]]
    policy: CORSPolicy
    report: CORSPolicy | None
    if self._thread_views:
        view = self._view()
        policy, report, app = view.policy, view.report, view.app
    else:
        policy, report, app = self._policy, self._report, self._app
    entry = policy._no_origin
    origin = _environ_bytes(environ, "HTTP_ORIGIN")
    if origin is None:
        policy._note(0, NO_ORIGIN, None, None, None, None)
    else:
        entry = policy.lookup(origin)
        request_method = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if policy.is_preflight(environ.get("REQUEST_METHOD", ""), origin, request_method):
            names = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            private_network = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
            answer, reason = policy.entry_preflight_reason(entry, request_method, names, private_network)
            policy._note(1, reason, entry, origin, request_method, names)
            if report is not None:
                _report_only(policy, report, 1, reason, origin, request_method, names, private_network)
            if answer is not None:
                status, headers, body = answer
                start_response(_status_line(status), _str_headers(headers))
                return [body] if body else []
        else:
            policy._note(0, entry.simple_reason, entry, origin, None, None)
            if report is not None:
                _report_only(policy, report, 0, entry.simple_reason, origin, None, None, None)
    return app(environ, _WSGIStart(start_response, policy, entry))


def environ_preflight_fields(environ: Environ) -> tuple[Optional[bytes], Optional[bytes], Optional[bytes]]:
    """Return a WSGI request's Access-Control-Request-Method, -Headers and -Private-Network
    as the bytes the client sent (each None when absent or not a header a client could send)."""
    return (
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
    )
