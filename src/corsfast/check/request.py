"""What `corsfast check` sends: the user's request validated the way fetch() would, and the
constants every part of the check shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

from ..__version__ import __version__
from . import fetch

__all__ = ("CheckRequest", "Headers", "UsageError", "parse_request")

SPEC_URL = "https://fetch.spec.whatwg.org/#"
JSON_VERSION = 1
USER_AGENT = f"corsfast-check/{__version__}"
BODY_LIMIT = 65536
CHROMIUM_SAFELISTED_CLIENT_HINTS = ("device-memory", "dpr", "save-data", "viewport-width", "width")

Headers = list[tuple[str, str]]


class UsageError(Exception):
    """A problem with the command line or the target (exit status 2)."""


@dataclass
class CheckRequest:
    """A validated request as a script would make it."""

    origin: str
    method: str
    headers: Headers
    """Headers the script sets and fetch() keeps (forbidden ones removed), normalized."""
    credentials: bool
    path: str
    body: Optional[bytes] = None
    cookie: Optional[str] = None
    """A Cookie value standing in for the browser's cookie jar (sent only with credentials)."""
    notes: list[str] = field(default_factory=list)


def parse_request(
    origin: str,
    method: str,
    headers: Sequence[str],
    credentials: bool,
    path: str,
    data: Optional[str] = None,
) -> CheckRequest:
    """Validate the user's request the way fetch() would, raising UsageError where it would throw."""
    try:
        origin = fetch.serialize_origin(origin)
    except fetch.OriginError as error:
        raise UsageError(f"--origin: {error}") from None
    if not fetch.is_method(method):
        raise UsageError(f"--method: {method!r} is not an HTTP method token (fetch() throws a TypeError)")
    if fetch.is_forbidden_method(method):
        raise UsageError(f"--method: fetch() refuses {method.upper()} (a forbidden method) with a TypeError")
    normalized = fetch.normalize_method(method)
    notes: list[str] = []
    if normalized != method:
        notes.append(f"fetch() normalizes the method {method!r} to {normalized!r}")
    parsed: Headers = []
    cookie: Optional[str] = None
    for item in headers:
        name, colon, value = item.partition(":")
        name = name.strip()
        if not colon or not fetch.is_token(name):
            raise UsageError(f"--header: {item!r} is not NAME:VALUE with NAME a header-name token")
        value = fetch.normalize_header_value(value)
        if any(c in value for c in "\0\r\n"):
            raise UsageError(f"--header: the value of {name} contains NUL, CR or LF (fetch() throws a TypeError)")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise UsageError(
                f"--header: the value of {name} has characters beyond U+00FF (fetch() throws a TypeError)"
            ) from None
        if name.lower() == "cookie":
            cookie = value if cookie is None else f"{cookie}; {value}"
            continue
        if fetch.is_forbidden_request_header(name, value):
            notes.append(f"{name} is a forbidden request header: fetch() silently drops it, so it is not sent")
            continue
        parsed.append((name, value))
    if cookie is not None and not credentials:
        notes.append("Cookie is not sent: a browser sends cookies cross-origin only with credentials (--credentials)")
    if credentials and cookie is None:
        notes.append("no cookie is sent (pass --header 'Cookie: ...' to send one); the CORS rules are the same")
    if not path.startswith("/"):
        raise UsageError(f"--path: {path!r} must start with /")
    if any(c in path for c in " \t\r\n\0"):
        raise UsageError(f"--path: {path!r} contains whitespace or control characters")
    if data is not None and normalized in ("GET", "HEAD"):
        raise UsageError(f"--data: fetch() refuses a body with {normalized} (a TypeError)")
    body = None if data is None else data.encode("utf-8")
    return CheckRequest(origin, normalized, parsed, credentials, path, body, cookie, notes)
