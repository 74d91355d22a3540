"""`browser_reason`: the reason a browser gives a CORS answer, read from the answer itself.

The engines know their reasons as they decide; this is for the answers code outside them
gives (a Starlette subclass overriding how a response is made), read as the browser reads
them (the Fetch standard's CORS check and CORS-preflight fetch)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Union

from .reasons import (
    ALLOWED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PRIVATE_NETWORK_NOT_ALLOWED,
)

__all__ = ("browser_reason",)

_SAFELISTED_METHODS = frozenset((b"GET", b"HEAD", b"POST"))
_TCHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MAX_ORIGIN_LENGTH = 2048

Detail = tuple[int, Optional[str], Optional[bytes]]


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


def _names(value: bytes) -> list[bytes]:
    return [name.strip(b" \t") for name in value.split(b",") if name.strip(b" \t")]


def _listed(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> Optional[list[bytes]]:
    """Return the items a browser reads from every `name` header of an answer (comma-separated,
    empty items left out), or None when one is not an HTTP token: the browser then refuses
    the whole answer (the Fetch standard's "extract header list values" fails)."""
    items = [item for value in _values(headers, name) for item in _names(value)]
    return items if all(_TCHARS.issuperset(item) for item in items) else None


def browser_reason(
    preflight: bool,
    origin: Optional[bytes],
    request_method: Optional[bytes],
    request_headers: Optional[bytes],
    request_private_network: Optional[bytes],
    status: int,
    response_headers: Iterable[tuple[Union[bytes, str], Union[bytes, str]]],
    invalid: Optional[bool] = None,
) -> Detail:
    """Return `(reason, detail_name, detail)`: the reason number a browser gives this answer
    to a request from `origin` (None: no Origin header), with what it refused (the method or
    the first header) for a method or header refusal.

    A refused origin counts as `origin_invalid` when `invalid` says so (None: when it is
    longer than any Origin a browser sends or holds a control character). The request is
    read as sent without credentials (a browser's default across origins), so `*` allows it,
    as every engine counts it. Where a browser would refuse for several causes, the first the
    middleware checks names the reason."""
    if origin is None:
        return NO_ORIGIN, None, None
    headers = [
        (
            (key if isinstance(key, bytes) else key.encode("latin-1", "replace")).lower(),
            value if isinstance(value, bytes) else value.encode("latin-1", "replace"),
        )
        for key, value in response_headers
    ]
    if invalid is None:
        invalid = len(origin) > _MAX_ORIGIN_LENGTH or any(c < 0x20 or c == 0x7F for c in origin)
    refused_origin = ORIGIN_INVALID if invalid else ORIGIN_NOT_ALLOWED
    allowed_origin = _values(headers, b"access-control-allow-origin")
    if len(allowed_origin) != 1 or allowed_origin[0] not in (b"*", origin):
        return refused_origin, None, None
    credentials = _values(headers, b"access-control-allow-credentials") == [b"true"]
    if not preflight:
        return ALLOWED, None, None
    methods = _listed(headers, b"access-control-allow-methods")
    if methods is None:
        return METHOD_NOT_ALLOWED, "method", request_method
    listed = _listed(headers, b"access-control-allow-headers")
    allowed = None if listed is None else {name.lower() for name in listed}
    # A browser refuses a list it cannot parse before it looks for the method in it.
    if (
        allowed is not None
        and request_method is not None
        and request_method not in _SAFELISTED_METHODS
        and request_method not in methods
        and (credentials or b"*" not in methods)
    ):
        return METHOD_NOT_ALLOWED, "method", request_method
    wildcard = allowed is not None and b"*" in allowed and not credentials  # every header but Authorization
    for name in _names(request_headers or b""):
        lowered = name.lower()
        if allowed is None or (lowered not in allowed and not (wildcard and lowered != b"authorization")):
            return HEADER_NOT_ALLOWED, "header", name
    if allowed is None:
        return HEADER_NOT_ALLOWED, None, None
    if request_private_network == b"true" and _values(headers, b"access-control-allow-private-network") != [b"true"]:
        return PRIVATE_NETWORK_NOT_ALLOWED, None, None
    if not 200 <= status < 300:
        return refused_origin, None, None
    return ALLOWED, None, None
