"""What a browser concludes from a finished answer, for the requests the middleware's methods
answer (a subclass that overrides one of them, or settings the engine does not compile).

The engine judges its own answers from the compiled settings; here the answer itself is
read, since an overridden method may have written anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

from .._observe.browser import browser_reason
from ._compile import ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK, has_control

__all__ = ("answer_reason",)

Refusal = tuple[int, Optional[str], Optional[str]]


def answer_reason(origin: str, method: Optional[str], headers: Mapping[str, str], response: Any) -> Refusal:
    """Return `(reason, detail_name, detail)` for the answer `response` to a request from
    `origin` (a preflight when `method`, its Access-Control-Request-Method, is not None):
    the reason number a browser's CORS checks give, and for a refused method or header
    ("method", it) or ("header", the first refused name), read by `browser_reason`."""
    items = response.items() if hasattr(response, "items") else ()
    reason, detail_name, detail = browser_reason(
        method is not None,
        _latin1(origin),
        _latin1(method),
        _latin1(headers.get("access-control-request-headers")),
        _latin1(headers.get(ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK)),
        getattr(response, "status_code", 200),
        items,
        invalid=_invalid(origin),
    )
    return reason, detail_name, None if detail is None else detail.decode("latin-1")


def _latin1(value: Optional[str]) -> Optional[bytes]:
    # Django's request headers are the server's bytes read as latin-1 (WSGI and ASGI alike).
    return None if value is None else value.encode("latin-1", "replace")


def _invalid(origin: str) -> bool:
    """Return True for an Origin corsfast refuses itself: control characters, or unparsable."""
    if has_control(origin):
        return True
    try:
        urlsplit(origin)
    except ValueError:
        return True
    return False
