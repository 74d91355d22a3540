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
_MAX_ORIGIN_LENGTH = 2048

Detail = tuple[int, Optional[str], Optional[bytes]]


def _values(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key.lower() == name]


def _names(value: bytes) -> list[bytes]:
    return [name.strip(b" \t") for name in value.split(b",") if name.strip(b" \t")]


def browser_reason(
    preflight: bool,
    origin: Optional[bytes],
    request_method: Optional[bytes],
    request_headers: Optional[bytes],
    request_private_network: Optional[bytes],
    status: int,
    response_headers: Iterable[tuple[Union[bytes, str], Union[bytes, str]]],
) -> Detail:
    """Return `(reason, detail_name, detail)`: the reason number a browser gives this answer
    to a request from `origin` (None: no Origin header), with what it refused (the method or
    the first header) for a method or header refusal."""
    if origin is None:
        return NO_ORIGIN, None, None
    headers = [
        (
            (key if isinstance(key, bytes) else key.encode("latin-1")).lower(),
            value if isinstance(value, bytes) else value.encode("latin-1"),
        )
        for key, value in response_headers
    ]
    invalid = len(origin) > _MAX_ORIGIN_LENGTH or any(c < 0x20 or c == 0x7F for c in origin)
    refused_origin = ORIGIN_INVALID if invalid else ORIGIN_NOT_ALLOWED
    allowed_origin = _values(headers, b"access-control-allow-origin")
    if len(allowed_origin) != 1 or allowed_origin[0] not in (b"*", origin):
        return refused_origin, None, None
    if not preflight:
        return ALLOWED, None, None
    credentials = _values(headers, b"access-control-allow-credentials") == [b"true"]
    methods = {name for value in _values(headers, b"access-control-allow-methods") for name in _names(value)}
    if (
        request_method is not None
        and request_method not in _SAFELISTED_METHODS
        and request_method not in methods
        and (credentials or b"*" not in methods)
    ):
        return METHOD_NOT_ALLOWED, "method", request_method
    allowed = {name.lower() for value in _values(headers, b"access-control-allow-headers") for name in _names(value)}
    wildcard = b"*" in allowed and not credentials  # every header but Authorization
    if request_headers:
        for name in _names(request_headers):
            lowered = name.lower()
            if lowered not in allowed and not (wildcard and lowered != b"authorization"):
                return HEADER_NOT_ALLOWED, "header", name
    if request_private_network == b"true" and _values(headers, b"access-control-allow-private-network") != [b"true"]:
        return PRIVATE_NETWORK_NOT_ALLOWED, None, None
    if not 200 <= status < 300:
        return refused_origin, None, None
    return ALLOWED, None, None
