"""Option validation and normalisation, written once and shared by both engines.

Every public entry point (the native middleware, the Starlette and Kui drop-ins, the
WSGI middleware) turns its user-facing arguments into one frozen `CORSOptions` here.
All the checks run at construction, so a bad configuration fails at start-up with a
message that names the option and the value, never at the first request.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Union

__all__ = (
    "ALL_METHODS",
    "CORSConfigWarning",
    "CORSOptions",
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_ORIGIN_LENGTH",
    "KUI_DEFAULT_METHODS",
    "SAFELISTED_HEADERS",
    "Dialect",
    "OriginRule",
    "kui_options",
    "native_options",
    "starlette_options",
)

Dialect = Literal["native", "starlette", "kui"]
OriginRule = Union[str, "re.Pattern[str]"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
"""What `allow_methods=["*"]` expands to in the Starlette dialect (Starlette 1.10)."""

KUI_DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
"""Kui 1.15's `allow_cors` default methods, which the native API shares (the seed)."""

SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
"""CORS-safelisted request headers, always listed in Access-Control-Allow-Headers."""

DEFAULT_CACHE_SIZE = 4096
"""Origin-match cache entries per policy; a full cache is cleared, so memory stays bounded."""

DEFAULT_MAX_ORIGIN_LENGTH = 2048
"""Longer Origin values are refused before any rule runs (a browser origin is far shorter)."""

_TCHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WILDCARD_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)\*(?P<suffix>(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::[0-9]{1,5})?)")
_HOST_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?")


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class CORSConfigWarning(UserWarning):
    """A valid configuration that is dangerous or that cannot work as written."""


@dataclass(frozen=True)
class CORSOptions:
    """Validated, normalised options: the only input either engine accepts."""

    dialect: Dialect
    allow_all_origins: bool
    exact_origins: frozenset[bytes]
    """Origins compared byte for byte with the raw request header (a hash lookup)."""
    wildcard_origins: tuple[tuple[bytes, bytes], ...]
    """`(prefix, suffix)` pairs: the Origin is prefix + exactly one DNS label + suffix."""
    origin_patterns: tuple[re.Pattern[str], ...]
    """Patterns run with `fullmatch` on the latin-1 decoded Origin."""
    allow_methods: tuple[str, ...]
    allow_all_methods: bool
    allow_headers: tuple[str, ...]
    allow_all_headers: bool
    expose_headers: tuple[str, ...]
    allow_credentials: bool
    max_age: int
    allow_private_network: bool
    cache_size: int
    max_origin_length: int


def _user_stacklevel() -> int:
    """Return the stacklevel of the first frame outside corsfast: the user's constructor call."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def _warn(message: str, strict: bool) -> None:
    if strict:
        raise ValueError(message + " (strict=True turns this warning into an error)")
    warnings.warn(message, CORSConfigWarning, stacklevel=_user_stacklevel())


def _sequence(name: str, value: object) -> tuple[object, ...]:
    """Return `value` as a tuple, refusing a bare str or bytes (a classic mistake)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(
            f"{name} must be a collection of items, not a bare {type(value).__name__} ({value!r}); "
            f"write [{value!r}]"
        )
    if isinstance(value, re.Pattern):
        raise TypeError(f"{name} must be a collection, not a single pattern; write [{value!r}]")
    try:
        return tuple(value)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name} must be an iterable, got {type(value).__name__} ({value!r})") from None


def _tokens(name: str, value: object, *, allow_star: bool) -> tuple[str, ...]:
    """Return the items of `value`, each checked to be an HTTP token (RFC 9110 section 5.6.2)."""
    items = _sequence(name, value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"{name} items must be str, got {type(item).__name__} ({item!r})")
        if allow_star and item == "*":
            continue
        if not item or not item.isascii() or not _TCHARS.issuperset(item.encode("ascii")):
            raise ValueError(f"{name} item {item!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)")
    return items  # type: ignore[return-value]


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} ({value!r})")
    return value


def _non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _pattern(name: str, value: object) -> re.Pattern[str]:
    if isinstance(value, re.Pattern):
        if not isinstance(value.pattern, str):
            raise TypeError(f"{name}: {value!r} is a bytes pattern; origins are matched as str")
        return value
    if isinstance(value, str):
        try:
            return re.compile(value)
        except re.error as exc:
            raise re.error(f"{name}: {value!r} does not compile: {exc.msg}", exc.pattern, exc.pos) from None
    raise TypeError(f"{name} must be a str or a compiled re.Pattern, got {type(value).__name__} ({value!r})")


def _exact_origin(name: str, origin: str, strict: bool) -> bytes | None:
    """Return the bytes an exact origin is compared with, warning when no browser can send it."""
    if origin == "null":
        _warn(f"{name}: 'null' is sent by sandboxed iframes, file: pages and redirects; any site can produce it", strict)
    elif not _HOST_ORIGIN.fullmatch(origin):
        _warn(
            f"{name}: {origin!r} can never equal a browser's Origin header "
            "(expected scheme://host[:port] in lower case, no path, no trailing slash)",
            strict,
        )
    try:
        return origin.encode("latin-1")
    except UnicodeEncodeError:
        return None  # no request header can hold it: it can never match


def _credentials_warning(allow_credentials: bool, any_origin: bool, strict: bool) -> None:
    if allow_credentials and any_origin:
        _warn(
            "allow_credentials=True with an allow-any origin rule reflects every Origin with "
            "credentials: any web site can read responses with the user's cookies",
            strict,
        )


def native_options(
    allow_origins: Iterable[OriginRule],
    allow_methods: Iterable[str],
    allow_headers: Iterable[str],
    expose_headers: Iterable[str],
    allow_credentials: bool,
    max_age: int,
    allow_private_network: bool,
    cache_size: int,
    max_origin_length: int,
    strict: bool,
) -> CORSOptions:
    """Return the options of the native API: patterns, exact origins, `*.` wildcards and `*`."""
    _bool("strict", strict)
    exact: list[bytes] = []
    wildcards: list[tuple[bytes, bytes]] = []
    patterns: list[re.Pattern[str]] = []
    allow_all = False
    for rule in _sequence("allow_origins", allow_origins):
        if isinstance(rule, re.Pattern):
            patterns.append(_pattern("allow_origins", rule))
        elif not isinstance(rule, str):
            raise TypeError(
                f"allow_origins items must be str or re.Pattern, got {type(rule).__name__} ({rule!r})"
            )
        elif rule == "*":
            allow_all = True
        elif "*" in rule:
            match = _WILDCARD_ORIGIN.fullmatch(rule)
            if match is None:
                raise ValueError(
                    f"allow_origins: {rule!r} is not a wildcard-subdomain origin; "
                    "the only wildcard form is scheme://*.domain[:port], such as 'https://*.example.com'"
                )
            wildcards.append((match["scheme"].encode("ascii"), match["suffix"].encode("ascii")))
        else:
            encoded = _exact_origin("allow_origins", rule, strict)
            if encoded is not None:
                exact.append(encoded)
    options = CORSOptions(
        dialect="native",
        allow_all_origins=allow_all,
        exact_origins=frozenset(exact),
        wildcard_origins=tuple(dict.fromkeys(wildcards)),
        origin_patterns=tuple(patterns),
        **_common(allow_methods, allow_headers, expose_headers, allow_credentials, max_age,
                  allow_private_network, cache_size, max_origin_length),
    )
    _lint_patterns(options, strict)
    return options


def _common(
    allow_methods: object,
    allow_headers: object,
    expose_headers: object,
    allow_credentials: object,
    max_age: object,
    allow_private_network: object,
    cache_size: object,
    max_origin_length: object,
) -> dict[str, object]:
    methods = _tokens("allow_methods", allow_methods, allow_star=True)
    headers = _tokens("allow_headers", allow_headers, allow_star=True)
    expose = _tokens("expose_headers", expose_headers, allow_star=False)
    max_origin = _non_negative_int("max_origin_length", max_origin_length)
    if max_origin < 2048:
        raise ValueError(f"max_origin_length must be >= 2048, got {max_origin!r}")
    return {
        "allow_methods": methods,
        "allow_all_methods": "*" in methods,
        "allow_headers": headers,
        "allow_all_headers": "*" in headers,
        "expose_headers": expose,
        "allow_credentials": _bool("allow_credentials", allow_credentials),
        "max_age": _non_negative_int("max_age", max_age),
        "allow_private_network": _bool("allow_private_network", allow_private_network),
        "cache_size": _non_negative_int("cache_size", cache_size),
        "max_origin_length": max_origin,
    }


_CANARY_ORIGINS = ("null", "https://corsfast-canary.invalid")


def _lint_patterns(options: CORSOptions, strict: bool) -> None:
    """Warn about patterns that allow far more than their author meant."""
    any_origin = options.allow_all_origins
    for pattern in options.origin_patterns:
        for canary in _CANARY_ORIGINS:
            if pattern.fullmatch(canary):
                any_origin = True
                _warn(
                    f"origin pattern {pattern.pattern!r} also matches {canary!r}: it allows "
                    "origins its author probably did not mean",
                    strict,
                )
                break
    _credentials_warning(options.allow_credentials, any_origin, strict)


def starlette_options(
    allow_origins: object,
    allow_methods: object,
    allow_headers: object,
    allow_credentials: object,
    allow_origin_regex: object,
    allow_private_network: object,
    expose_headers: object,
    max_age: object,
    cache_size: object = DEFAULT_CACHE_SIZE,
    max_origin_length: object = DEFAULT_MAX_ORIGIN_LENGTH,
) -> CORSOptions:
    """Return the options of Starlette 1.10's `CORSMiddleware`, validated up front."""
    exact: list[bytes] = []
    allow_all = False
    for origin in _sequence("allow_origins", allow_origins):
        if not isinstance(origin, str):
            raise TypeError(f"allow_origins items must be str, got {type(origin).__name__} ({origin!r})")
        if origin == "*":
            allow_all = True
            continue
        # Starlette compares with `in`: a str that is not latin-1 can never equal a header.
        try:
            exact.append(origin.encode("latin-1"))
        except UnicodeEncodeError:
            pass
    patterns = () if allow_origin_regex is None else (_pattern("allow_origin_regex", allow_origin_regex),)
    common = _common(allow_methods, allow_headers, expose_headers, allow_credentials, max_age,
                     allow_private_network, cache_size, max_origin_length)
    if common["allow_all_methods"]:
        common["allow_methods"] = ALL_METHODS
    options = CORSOptions(
        dialect="starlette",
        allow_all_origins=allow_all,
        exact_origins=frozenset(exact),
        wildcard_origins=(),
        origin_patterns=patterns,
        **common,  # type: ignore[arg-type]
    )
    _lint_patterns(options, strict=False)
    return options


def kui_options(
    allow_origins: object,
    allow_methods: object,
    allow_headers: object,
    expose_headers: object,
    allow_credentials: object,
    max_age: object,
    cache_size: object = DEFAULT_CACHE_SIZE,
    max_origin_length: object = DEFAULT_MAX_ORIGIN_LENGTH,
) -> CORSOptions:
    """Return the options of Kui 1.15's `allow_cors`: compiled patterns only, read once."""
    patterns = []
    for pattern in _sequence("allow_origins", allow_origins):
        if not isinstance(pattern, re.Pattern):
            raise TypeError(
                f"allow_origins items must be compiled re.Pattern objects (Kui calls .fullmatch), "
                f"got {type(pattern).__name__} ({pattern!r})"
            )
        patterns.append(_pattern("allow_origins", pattern))
    options = CORSOptions(
        dialect="kui",
        allow_all_origins=False,
        exact_origins=frozenset(),
        wildcard_origins=(),
        origin_patterns=tuple(patterns),
        **_common(allow_methods, allow_headers, expose_headers, allow_credentials, max_age,
                  False, cache_size, max_origin_length),  # type: ignore[arg-type]
    )
    _lint_patterns(options, strict=False)
    return options
