"""What every dialect shares: `CORSOptions`, constants, the checks of single values, the warning."""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Callable, Literal, Union

Dialect = Literal["native", "starlette", "kui"]
OriginRule = Union[str, "re.Pattern[str]"]

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
"""What `allow_methods=["*"]` expands to in the Starlette dialect (Starlette 1.7 and newer;
`StarletteRelease.all_methods` for each release)."""

KUI_DEFAULT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
"""Kui 1.15's `allow_cors` default methods, which the Kui drop-in keeps."""

NATIVE_DEFAULT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
"""The native middlewares' default methods: the CORS-safelisted GET, HEAD and POST, then the
usual API verbs (flask-cors' default set). Never TRACE or CONNECT, which browsers refuse to send."""

SAFELISTED_HEADERS = ("Accept", "Accept-Language", "Content-Language", "Content-Type")
"""CORS-safelisted request headers, always listed in Access-Control-Allow-Headers."""

DEFAULT_CACHE_SIZE = 4096
"""Origin-match cache entries per policy; a full cache is cleared, so memory stays bounded."""

DEFAULT_MAX_ORIGIN_LENGTH = 2048
"""Longer Origin values are refused before any rule runs (a browser origin is far shorter)."""

_TCHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_WILDCARD_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)\*(?P<suffix>(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::[0-9]{1,5})?)"
)
_PORT_WILDCARD_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)"
    r"(?:\*(?P<suffix>(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)|(?P<host>[a-z0-9._~-]+|\[[0-9a-f:.]+\])):\*"
)
_HOST_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""The corsfast package: frames in it are not the user's."""


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
    starlette: StarletteTables | None = None
    """The Starlette dialect's request-time state (None for the other dialects)."""
    port_wildcard_origins: tuple[tuple[bytes, bytes], ...] = ()
    """`(prefix, suffix)` pairs of port wildcards: the Origin is prefix, then (when suffix is
    not empty) exactly one DNS label and suffix, then ':' and a decimal port 1-65535 (no
    sign, no leading zero)."""
    origin_func: Callable[[str], Any] | None = None
    """Asked with the decoded Origin for the eligible origins the rules refuse (native only)."""
    origin_func_async: bool = False
    """`origin_func` is a coroutine function: awaited in the request's task (ASGI only)."""
    origin_func_ttl: float = 0.0
    """Seconds each verdict of `origin_func` is kept in the origin cache; 0: asked every time."""


Header = tuple[bytes, bytes]


@dataclass(frozen=True)
class StarletteTables:
    """What Starlette's `CORSMiddleware` reads at request time, from its attributes, compiled.

    Starlette keeps its configuration in plain attributes that code may change after
    `__init__` (ANCHORS.md section 6); the drop-in compiles them into these tables, and
    compiles again when they change. Every field is what one of Starlette's request-time
    expressions evaluates to.
    """

    simple: tuple[Header, ...]
    """`simple_headers`, as `MutableHeaders.update` writes it (lower-cased latin-1 names)."""
    preflight: tuple[Header, ...]
    """`preflight_headers`, as `PlainTextResponse(headers=...)` writes it."""
    preflight_slots: tuple[int, int, int]
    """Where the preflight's per-request Access-Control-Allow-Origin, -Allow-Headers and
    -Allow-Private-Network go: the index of that exact dict key in `preflight`, or -1 (appended)."""
    preflight_content_length: bool
    """False when `preflight_headers` has its own content-length (the response keeps it)."""
    preflight_content_type: bool
    methods: frozenset[bytes]
    """`allow_methods`: what `requested_method in self.allow_methods` is true for."""
    header_names: frozenset[bytes]
    """`allow_headers`: the names `header.strip() in self.allow_headers` is true for."""
    explicit_preflight_origin: bool
    """`preflight_explicit_allow_origin`: a preflight from an allowed origin reflects it."""
    verdict_hook: bool = False
    """A subclass overrides `is_allowed_origin`: ask it where Starlette does, never cache."""
    protocol_preflight: bool = False
    """Preflights go through Starlette's Python protocol (`preflight_response` overridden)."""
    protocol_simple: bool = False
    """Other requests go through it (`simple_response`, `send` or `allow_explicit_origin`
    overridden)."""
    faithful: bool = False
    """The attributes hold something these tables cannot express (a custom container, a
    `str` where Starlette does substring tests, a non-str header value): every request runs
    Starlette's own code on the live attributes."""
    watched: tuple[tuple[int, object, tuple[object, ...], object, int], ...] = ()
    """`(kind, container, items, copy, uses)` for the mutable built-in containers the tables
    were compiled from: an in-place change (a `list.append` at run time) makes them stale.
    `uses` says which requests read the container (WATCH_SIMPLE, WATCH_PREFLIGHT)."""
    # The installed release's switches (`_options.starlette_releases`); the defaults are the newest's.
    vary_always: bool = True
    """Every response but a preflight gets Origin joined to all its Vary values (requests
    without an Origin too). False (before 1.7): only a reflected origin adds Origin, to the
    first Vary value (the others are dropped), and requests without an Origin reach the app
    untouched."""
    private_network_header: bool = True
    """A preflight's Access-Control-Request-Private-Network is answered or refused. False
    (before 0.51): it is ignored."""
    cookie_reflect: bool = False
    """Allow-all simple responses reflect the Origin of a request that has a Cookie header,
    and only those (before 1.0)."""


WATCH_LIST = 1
"""A `list`, unchanged while its items are the same objects in the same order."""
WATCH_DICT = 2
"""A `dict`, unchanged while its keys and values are the same objects in the same order."""
WATCH_SET = 3
"""A `set`, unchanged while it equals its snapshot."""
WATCH_SIMPLE = 1
"""The container is read by requests that are not preflights."""
WATCH_PREFLIGHT = 2
"""The container is read by preflights."""


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
            f"{name} must be a collection of items, not a bare {type(value).__name__} ({value!r}); write [{value!r}]"
        )
    if isinstance(value, re.Pattern):
        raise TypeError(f"{name} must be a collection, not a single pattern; write [{value!r}]")
    try:
        return tuple(value)  # type: ignore[arg-type]
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


def _common(
    allow_methods: object,
    allow_headers: object,
    expose_headers: object,
    allow_credentials: object,
    max_age: object,
    allow_private_network: object,
    cache_size: object,
    max_origin_length: object,
) -> dict[str, Any]:
    methods = _tokens("allow_methods", allow_methods, allow_star=True)
    headers = _tokens("allow_headers", allow_headers, allow_star=True)
    expose = _tokens("expose_headers", expose_headers, allow_star=False)
    max_origin = _size("max_origin_length", max_origin_length)
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
        "cache_size": _size("cache_size", cache_size),
        "max_origin_length": max_origin,
    }


def _size(name: str, value: object) -> int:
    """Return a non-negative int that fits a C `Py_ssize_t` (the compiled engine stores it so)."""
    size = _non_negative_int(name, value)
    if size > sys.maxsize:
        raise ValueError(f"{name} must be <= {sys.maxsize}, got {size!r}")
    return size


def _encoded_origins(origins: Iterable[str]) -> list[bytes]:
    """Return the bytes each exact origin is compared with (raw header bytes are latin-1)."""
    encoded = []
    for origin in origins:
        try:
            encoded.append(origin.encode("latin-1"))
        except UnicodeEncodeError:
            pass  # no request header can hold it: it can never match (the lint says so)
    return encoded
