"""What a browser concludes from a finished answer, for the requests the middleware's methods
answer (a subclass that overrides one of them, or settings the engine does not compile).

The engine judges its own answers from the compiled settings; here the answer itself is
read, since an overridden method may have written anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

from .._observe.reasons import (
    ALLOWED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PRIVATE_NETWORK_NOT_ALLOWED,
)
from ._compile import (
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
    ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK,
    browser_list,
    has_control,
)

__all__ = ("answer_reason",)

_SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))

Refusal = tuple[int, Optional[str], Optional[str]]


def answer_reason(origin: str, method: Optional[str], headers: Mapping[str, str], response: Any) -> Refusal:
    """Return `(reason, detail_name, detail)` for the answer `response` to a request from
    `origin` (a preflight when `method`, its Access-Control-Request-Method, is not None):
    the reason number a browser's CORS checks give, and for a refused method or header
    ("method", it) or ("header", the first refused name)."""
    credentials = response.get(ACCESS_CONTROL_ALLOW_CREDENTIALS) == "true"
    allow_origin = response.get(ACCESS_CONTROL_ALLOW_ORIGIN)
    if allow_origin != origin and (allow_origin != "*" or credentials):
        return (ORIGIN_INVALID if _invalid(origin) else ORIGIN_NOT_ALLOWED), None, None
    if method is None:
        return ALLOWED, None, None
    value = response.get(ACCESS_CONTROL_ALLOW_METHODS)
    methods = [] if value is None else browser_list(value)
    if methods is None:
        return METHOD_NOT_ALLOWED, "method", method
    value = response.get(ACCESS_CONTROL_ALLOW_HEADERS)
    listed = [] if value is None else browser_list(value)
    names = None if listed is None else {name.lower() for name in listed}
    # A browser refuses a list it cannot parse before it looks for the method in it.
    if names is not None and not (
        method in methods or method in _SAFELISTED_METHODS or ("*" in methods and not credentials)
    ):
        return METHOD_NOT_ALLOWED, "method", method
    for part in (headers.get("access-control-request-headers") or "").split(","):
        name = part.strip(" \t").lower()
        if not name:
            continue
        if names is None or not (name in names or ("*" in names and not credentials and name != "authorization")):
            return HEADER_NOT_ALLOWED, "header", name
    if names is None:
        return HEADER_NOT_ALLOWED, None, None
    if (
        headers.get(ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK) == "true"
        and response.get(ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK) != "true"
    ):
        return PRIVATE_NETWORK_NOT_ALLOWED, None, None
    return ALLOWED, None, None


def _invalid(origin: str) -> bool:
    """Return True for an Origin corsfast refuses itself: control characters, or unparsable."""
    if has_control(origin):
        return True
    try:
        urlsplit(origin)
    except ValueError:
        return True
    return False
