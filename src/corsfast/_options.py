"""Option validation and normalisation, written once and shared by both engines.

Every public entry point (the native middleware, the Starlette and Kui drop-ins, the
WSGI middleware) turns its user-facing arguments into one frozen `CORSOptions` here.
All the checks run at construction, so a bad configuration fails at start-up with a
message that names the option and the value, never at the first request.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Union

__all__ = (
    "ALL_METHODS",
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_ORIGIN_LENGTH",
    "KUI_DEFAULT_METHODS",
    "SAFELISTED_HEADERS",
    "CORSConfigWarning",
    "CORSOptions",
    "Dialect",
    "OriginRule",
    "StarletteTables",
    "kui_options",
    "native_options",
    "starlette_attributes",
    "starlette_options",
    "starlette_state_options",
    "starlette_tables",
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
_WILDCARD_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)\*(?P<suffix>(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::[0-9]{1,5})?)"
)
_HOST_ORIGIN = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<host>[a-z0-9._~-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
)


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
    starlette: StarletteTables | None = None
    """The Starlette dialect's request-time state (None for the other dialects)."""


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
    watched: tuple[tuple[int, object, tuple[object, ...], object], ...] = ()
    """`(kind, container, items, copy)` for the mutable built-in containers the tables were
    compiled from: an in-place change (a `list.append` at run time) makes them stale."""


WATCH_LIST = 1
"""A `list`, unchanged while its items are the same objects in the same order."""
WATCH_DICT = 2
"""A `dict`, unchanged while its keys and values are the same objects in the same order."""
WATCH_SET = 3
"""A `set`, unchanged while it equals its snapshot."""


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
    exact: dict[str, None] = {}
    wildcards: list[tuple[bytes, bytes]] = []
    patterns: list[re.Pattern[str]] = []
    allow_all = False
    for rule in _sequence("allow_origins", allow_origins):
        if isinstance(rule, re.Pattern):
            patterns.append(_pattern("allow_origins", rule))
        elif not isinstance(rule, str):
            raise TypeError(f"allow_origins items must be str or re.Pattern, got {type(rule).__name__} ({rule!r})")
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
            exact[rule] = None
    options = CORSOptions(
        dialect="native",
        allow_all_origins=allow_all,
        exact_origins=frozenset(_encoded_origins(exact)),
        wildcard_origins=tuple(dict.fromkeys(wildcards)),
        origin_patterns=tuple(patterns),
        **_common(
            allow_methods,
            allow_headers,
            expose_headers,
            allow_credentials,
            max_age,
            allow_private_network,
            cache_size,
            max_origin_length,
        ),
    )
    _lint(options, exact, strict)
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
    exact: dict[str, None] = {}
    allow_all = False
    for origin in _sequence("allow_origins", allow_origins):
        if not isinstance(origin, str):
            raise TypeError(f"allow_origins items must be str, got {type(origin).__name__} ({origin!r})")
        if origin == "*":
            allow_all = True
        else:
            # Starlette compares with `in`: exact strings, a `*` inside one included.
            exact[origin] = None
    patterns = () if allow_origin_regex is None else (_pattern("allow_origin_regex", allow_origin_regex),)
    common = _common(
        allow_methods,
        allow_headers,
        expose_headers,
        allow_credentials,
        max_age,
        allow_private_network,
        cache_size,
        max_origin_length,
    )
    if common["allow_all_methods"]:
        common["allow_methods"] = ALL_METHODS
    attributes = starlette_attributes(
        allow_origins,
        common["allow_methods"],
        common["allow_headers"],
        allow_credentials,
        patterns[0] if patterns else None,
        allow_private_network,
        common["expose_headers"],
        max_age,
    )
    options = CORSOptions(
        dialect="starlette",
        allow_all_origins=allow_all,
        exact_origins=frozenset(_encoded_origins(exact)),
        wildcard_origins=(),
        origin_patterns=patterns,
        starlette=starlette_tables(attributes),
        **common,
    )
    _lint(options, exact, strict=False)
    return options


def starlette_attributes(
    allow_origins: Any,
    allow_methods: Any,
    allow_headers: Any,
    allow_credentials: Any,
    allow_origin_regex: Any,
    allow_private_network: Any,
    expose_headers: Any,
    max_age: Any,
) -> dict[str, Any]:
    """Return the attributes Starlette 1.10's `CORSMiddleware.__init__` sets, in its order (but `app`).

    The same expressions as Starlette's: the caller's `allow_origins` object itself,
    `ALL_METHODS` for a `*` method, the safelisted headers merged in, the two header dicts.
    """
    if "*" in allow_methods:
        allow_methods = ALL_METHODS
    allow_all_origins = "*" in allow_origins
    allow_all_headers = "*" in allow_headers
    preflight_explicit_allow_origin = not allow_all_origins or allow_credentials
    simple_headers: dict[str, str] = {}
    if allow_all_origins:
        simple_headers["Access-Control-Allow-Origin"] = "*"
    if allow_credentials:
        simple_headers["Access-Control-Allow-Credentials"] = "true"
    if expose_headers:
        simple_headers["Access-Control-Expose-Headers"] = ", ".join(expose_headers)
    preflight_headers: dict[str, str] = {"Vary": STARLETTE_PREFLIGHT_VARY}
    if not preflight_explicit_allow_origin:
        preflight_headers["Access-Control-Allow-Origin"] = "*"
    preflight_headers["Access-Control-Allow-Methods"] = ", ".join(allow_methods)
    preflight_headers["Access-Control-Max-Age"] = str(max_age)
    merged_headers = sorted(set(SAFELISTED_HEADERS) | set(allow_headers))
    if merged_headers and not allow_all_headers:
        preflight_headers["Access-Control-Allow-Headers"] = ", ".join(merged_headers)
    if allow_credentials:
        preflight_headers["Access-Control-Allow-Credentials"] = "true"
    return {
        "allow_origins": allow_origins,
        "allow_methods": allow_methods,
        "allow_headers": [h.lower() for h in merged_headers],
        "allow_all_origins": allow_all_origins,
        "allow_all_headers": allow_all_headers,
        "allow_credentials": allow_credentials,
        "preflight_explicit_allow_origin": preflight_explicit_allow_origin,
        "allow_origin_regex": allow_origin_regex,
        "allow_private_network": allow_private_network,
        "simple_headers": simple_headers,
        "preflight_headers": preflight_headers,
    }


STARLETTE_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)
STARLETTE_ATTRIBUTES = (
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "allow_all_origins",
    "allow_all_headers",
    "allow_credentials",
    "preflight_explicit_allow_origin",
    "allow_origin_regex",
    "allow_private_network",
    "simple_headers",
    "preflight_headers",
)
"""The attributes Starlette's `CORSMiddleware` reads at request time (all but `app`)."""
_PREFLIGHT_SLOT_KEYS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Private-Network",
)
_MEMBERSHIP_CONTAINERS = (list, tuple, set, frozenset, dict)
_MISSING = object()


def _members(value: Any) -> tuple[str, ...] | None:
    """Return what `x in value` is true for, when `value` is a built-in container of str; else None."""
    if type(value) not in _MEMBERSHIP_CONTAINERS:
        return None  # a str (substring tests), a custom container: only Starlette's own code knows
    items = tuple(value)
    if any(item.__class__ is not str for item in items):
        return None
    return items


def _latin1(items: Iterable[str]) -> frozenset[bytes]:
    """Return the items a latin-1 decoded request header can equal, encoded (others never match)."""
    return frozenset(_encoded_origins(items))


def _watch(value: Any) -> tuple[int, object, tuple[object, ...], object] | None:
    """Return how to notice an in-place change of `value`, or None when it cannot change.

    `(kind, container, items, copy)`: the compiled engine compares `items` (the list's
    items, the dict's keys and values in order) by identity; the pure twin compares `copy`
    by equality (a set only ever by equality).
    """
    kind = type(value)
    if kind is list:
        return (WATCH_LIST, value, tuple(value), list(value))
    if kind is dict:
        return (WATCH_DICT, value, tuple(x for item in value.items() for x in item), list(value.items()))
    if kind is set:
        return (WATCH_SET, value, (), frozenset(value))
    return None


def _header_block(name: str, headers: object) -> tuple[Header, ...] | None:
    """Return `headers` (a dict of str) as the raw header list Starlette writes, or None."""
    if type(headers) is not dict:
        return None
    block = []
    for key, value in headers.items():
        if key.__class__ is not str or value.__class__ is not str:
            return None  # Starlette fails on it at request time, and so does its own code here
        try:
            raw = (key.lower().encode("latin-1"), value.encode("latin-1"))
        except UnicodeEncodeError:
            return None
        if not raw[0] or not _TCHARS.issuperset(raw[0]) or _has_control_bytes(raw[1]):
            raise ValueError(
                f"{name}[{key!r}] = {value!r} cannot be sent: a header name is an HTTP token and a "
                "value holds no control characters (corsfast never writes CR, LF or NUL into a response)"
            )
        block.append(raw)
    return tuple(block)


def _has_control_bytes(value: bytes) -> bool:
    return any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in value)


def _regex(value: object) -> tuple[Any, ...] | None:
    """Return the patterns `allow_origin_regex` stands for, or None when only Starlette's code can run it."""
    if value is None:
        return ()
    if isinstance(value, re.Pattern):
        return (value,) if isinstance(value.pattern, str) else None
    if isinstance(value, (str, bytes)) or not callable(getattr(value, "fullmatch", None)):
        return None
    return (value,)  # an object with its own fullmatch: called as Starlette calls it


def starlette_tables(
    attributes: Any,
    *,
    verdict_hook: bool = False,
    protocol_preflight: bool = False,
    protocol_simple: bool = False,
) -> StarletteTables:
    """Return Starlette's request-time state compiled from its attributes (a mapping or an object)."""
    get = attributes.get if isinstance(attributes, dict) else functools.partial(getattr, attributes)
    values = {name: get(name, _MISSING) for name in STARLETTE_ATTRIBUTES}
    methods = _members(values["allow_methods"])
    header_names = _members(values["allow_headers"])
    simple = _header_block("simple_headers", values["simple_headers"])
    preflight = _header_block("preflight_headers", values["preflight_headers"])
    if (
        _MISSING in values.values()  # deleted: Starlette fails where it reads it, and so does its code
        or methods is None
        or header_names is None
        or simple is None
        or preflight is None
        or _members(values["allow_origins"]) is None
        or _regex(values["allow_origin_regex"]) is None
    ):
        return StarletteTables(
            simple=(),
            preflight=(),
            preflight_slots=(-1, -1, -1),
            preflight_content_length=True,
            preflight_content_type=True,
            methods=frozenset(),
            header_names=frozenset(),
            explicit_preflight_origin=False,
            verdict_hook=verdict_hook,
            protocol_preflight=True,
            protocol_simple=True,
            faithful=True,
        )
    keys = list(values["preflight_headers"])
    lowered = {name for name, _ in preflight}
    watched = (
        _watch(values[name])
        for name in ("allow_origins", "allow_methods", "allow_headers", "simple_headers", "preflight_headers")
    )
    return StarletteTables(
        simple=simple,
        preflight=preflight,
        preflight_slots=tuple(keys.index(k) if k in keys else -1 for k in _PREFLIGHT_SLOT_KEYS),  # type: ignore[arg-type]
        preflight_content_length=b"content-length" not in lowered,
        preflight_content_type=b"content-type" not in lowered,
        methods=_latin1(methods),
        header_names=_latin1(header_names),
        explicit_preflight_origin=bool(values["preflight_explicit_allow_origin"]),
        verdict_hook=verdict_hook,
        protocol_preflight=protocol_preflight,
        protocol_simple=protocol_simple,
        watched=tuple(w for w in watched if w is not None),
    )


def starlette_state_options(
    middleware: Any,
    *,
    verdict_hook: bool,
    protocol_preflight: bool,
    protocol_simple: bool,
    cache_size: int = DEFAULT_CACHE_SIZE,
    max_origin_length: int = DEFAULT_MAX_ORIGIN_LENGTH,
) -> CORSOptions:
    """Return options compiled from a Starlette middleware's current attributes (no lint: request time)."""
    tables = starlette_tables(
        middleware,
        verdict_hook=verdict_hook,
        protocol_preflight=protocol_preflight,
        protocol_simple=protocol_simple,
    )
    origins = () if tables.faithful else _members(middleware.allow_origins)
    patterns = () if tables.faithful else _regex(middleware.allow_origin_regex)
    return CORSOptions(
        dialect="starlette",
        allow_all_origins=not tables.faithful and bool(middleware.allow_all_origins),
        exact_origins=_latin1(origins or ()),
        wildcard_origins=(),
        origin_patterns=patterns or (),
        allow_methods=(),
        allow_all_methods=False,
        allow_headers=(),
        allow_all_headers=not tables.faithful and bool(middleware.allow_all_headers),
        expose_headers=(),
        allow_credentials=not tables.faithful and bool(middleware.allow_credentials),
        max_age=0,
        allow_private_network=not tables.faithful and bool(middleware.allow_private_network),
        cache_size=cache_size,
        max_origin_length=max_origin_length,
        starlette=tables,
    )


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
        **_common(
            allow_methods,
            allow_headers,
            expose_headers,
            allow_credentials,
            max_age,
            False,
            cache_size,
            max_origin_length,
        ),
    )
    _lint(options, {}, strict=False)
    return options


# -- lint: valid configurations that are dangerous or cannot work as written ----------------
#
# Every check below runs once, at construction, on the validated options. A finding is a
# `CORSConfigWarning` pointing at the user's constructor call; the native middleware's
# `strict=True` turns it into a ValueError. Starlette and Kui drop-ins only ever warn.

MAX_AGE_CAP = 86400
"""Browsers cap Access-Control-Max-Age (Firefox at 86400 s, Chromium at 7200 s); more is ignored."""

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_STANDARD_METHODS = frozenset(("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"))
_SPLIT_ORIGIN = re.compile(r"(?P<scheme>[^:/?#]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_AUTHORITY = re.compile(r"(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>.*))?", re.DOTALL)

_CANARY_HOST = "corsfast-canary.invalid"
_CANARY_ORIGINS = ("null", "https://" + _CANARY_HOST)
_ANY_ORIGIN_PROBES = ("null", "https://" + _CANARY_HOST, "http://" + _CANARY_HOST + ":8080", "x")
"""A pattern that fullmatches all of these is the "any origin" idiom (`.*`), judged like `*`."""


def _lint(options: CORSOptions, exact: Iterable[str], strict: bool) -> None:
    """Warn (or, with `strict`, raise ValueError) about every dangerous or dead setting."""
    for origin in exact:
        _lint_exact_origin(origin, options.dialect, strict)
    any_origin = options.allow_all_origins
    for pattern in options.origin_patterns:
        any_origin |= _lint_pattern(_pattern_option(options.dialect), pattern, strict)
    if options.allow_credentials and any_origin:
        _warn(
            "allow_credentials=True with an allow-any origin rule reflects every Origin with "
            "credentials: any web site can read responses with the user's cookies",
            strict,
        )
    for method in options.allow_methods:
        upper = method.upper()
        if method != upper and upper in _STANDARD_METHODS:
            _warn(
                f"allow_methods: {method!r} never matches what browsers send: methods are "
                f"case-sensitive and browsers send {upper!r}",
                strict,
            )
    if options.max_age > MAX_AGE_CAP:
        _warn(
            f"max_age={options.max_age!r} is more than browsers keep a preflight answer "
            f"(Firefox caps it at {MAX_AGE_CAP}, Chromium at 7200 seconds); the extra is ignored",
            strict,
        )
    if options.allow_credentials and "*" in options.expose_headers:
        _warn(
            "expose_headers: '*' is a wildcard only without credentials; with "
            "allow_credentials=True browsers read it as a header named '*'",
            strict,
        )


def _pattern_option(dialect: str) -> str:
    return "allow_origin_regex" if dialect == "starlette" else "allow_origins"


def _lint_exact_origin(origin: str, dialect: str, strict: bool) -> None:
    if origin == "null":
        _warn(
            "allow_origins: 'null' is sent by sandboxed iframes, file: pages and redirects; any site can produce it",
            strict,
        )
        return
    if "*" in origin and dialect == "starlette":
        _warn(
            f"allow_origins: {origin!r} is compared literally (only a lone '*' is a wildcard), "
            "so it never matches; use allow_origin_regex for subdomains",
            strict,
        )
        return
    problem = _origin_problem(origin)
    if problem is not None:
        _warn(f"allow_origins: {origin!r} can never equal a browser's Origin header: {problem}", strict)


def _origin_problem(origin: str) -> str | None:
    """Return why no browser sends `origin` as its Origin header, or None when one can."""
    generic = "an Origin is scheme://host[:port], in lower case, with no path and no trailing slash"
    if not origin:
        return "it is empty"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in origin):
        return "it contains whitespace or control characters"
    split = _SPLIT_ORIGIN.fullmatch(origin)
    if split is None:
        return f"it has no scheme (write 'https://{origin}' or 'http://{origin}')"
    scheme, authority, rest = split["scheme"], split["authority"], split["rest"]
    if rest:
        fixed = f"{scheme}://{authority}".lower()
        what = "a trailing slash" if rest == "/" else f"a path, query or fragment ({rest!r})"
        return f"it has {what}; write {fixed!r}"
    if origin != origin.lower() and origin.isascii():
        return f"browsers send it in lower case: write {origin.lower()!r}"
    parts = _AUTHORITY.fullmatch(authority)
    host, port = (parts["host"], parts["port"]) if parts else (authority, None)
    if not host.isascii():
        hint = ""
        try:
            ascii_host = host.lower().encode("idna").decode("ascii")
        except UnicodeError:
            pass
        else:
            hint = f"; write {f'{scheme}://{ascii_host}' + (f':{port}' if port is not None else '')!r}"
        return f"browsers send international host names in punycode (xn--){hint}"
    if port is not None and _DEFAULT_PORTS.get(scheme) == port:
        return f"browsers leave out the default port :{port}; write {f'{scheme}://{host}'!r}"
    if port is not None and (not port.isdigit() or not port.isascii() or int(port) > 65535):
        return f"its port {port!r} is not a number from 0 to 65535"
    if _HOST_ORIGIN.fullmatch(origin) is None:
        return generic
    return None


def _lint_pattern(name: str, pattern: re.Pattern[str], strict: bool) -> bool:
    """Warn about one origin pattern; return True when it is the "any origin" idiom.

    The structural checks read the parsed pattern and never run it. The canary probes do
    run it, on a few short strings, and only when no nested repeat could make even those
    backtrack for long.
    """
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - it compiled, so it parses; never fail a lint
        return False
    dot = _unescaped_dot(parsed.data)
    if dot is not None:
        head, tail = dot
        _warn(
            f"{name}: pattern {pattern.pattern!r} has an unescaped '.' in {head + '.' + tail!r}: it "
            f"matches any character (so {head + 'X' + tail!r} matches too); write '\\.' for a literal dot",
            strict,
        )
    if _nested_repeat(parsed.data):
        _warn(
            f"{name}: pattern {pattern.pattern!r} nests a repeat inside a repeat without a separator, "
            "so a crafted Origin can make it backtrack for seconds (ReDoS); use a possessive "
            "quantifier ('++') or an atomic group, or a wildcard origin such as 'https://*.example.com'",
            strict,
        )
        return False  # not probed: `(.*)*` takes seconds even on a 30-character canary
    if all(pattern.fullmatch(probe) for probe in _ANY_ORIGIN_PROBES):
        # `.*` allows any origin, as `*` does: only dangerous with credentials (checked there).
        return True
    for canary in _canaries(pattern, parsed):
        if pattern.fullmatch(canary):
            _warn(
                f"{name}: pattern {pattern.pattern!r} also matches {canary!r}: it allows origins "
                "its author probably did not mean",
                strict,
            )
            break
    return False


try:  # Python 3.11+ (the old names warn there, and are gone from 3.13 on)
    _sre_parse = importlib.import_module("re._parser")
    _sre_constants = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parse = importlib.import_module("sre_parse")
    _sre_constants = importlib.import_module("sre_constants")

_LITERAL = _sre_constants.LITERAL
_NOT_LITERAL = _sre_constants.NOT_LITERAL
_ANY = _sre_constants.ANY
_IN = _sre_constants.IN
_RANGE = _sre_constants.RANGE
_SUBPATTERN = _sre_constants.SUBPATTERN
_BRANCH = _sre_constants.BRANCH
_AT = _sre_constants.AT
_BACKTRACKING_REPEATS = (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT)
_POSSESSIVE_REPEAT = getattr(_sre_constants, "POSSESSIVE_REPEAT", None)
_ATOMIC_GROUP = getattr(_sre_constants, "ATOMIC_GROUP", None)
_REPEATS = tuple(op for op in (*_BACKTRACKING_REPEATS, _POSSESSIVE_REPEAT) if op is not None)
_GROUPS = (_SUBPATTERN, _ATOMIC_GROUP)
_ALNUM = frozenset(map(ord, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_NO_REPEAT_LIMIT = 2  # a repeat that can run its body at least twice can split input two ways


def _literal_run(items: list[tuple[Any, Any]]) -> str:
    """Return the literal characters that `items` starts with (`^`/`\\A` skipped)."""
    chars: list[str] = []
    for op, av in items:
        if op is _AT and not chars:
            continue
        if op is not _LITERAL:
            break
        chars.append(chr(av))
    return "".join(chars)


def _canaries(pattern: re.Pattern[str], parsed: Any) -> list[str]:
    """Return origins that a tight pattern never matches: `null`, an unrelated host, and
    variants of what the pattern itself matches (`<shortest match>.<canary>`,
    `<canary>example.com` for a pattern ending in `example.com`) that catch a `.*` after
    or before a host. Each is an origin a browser can send (no `/`, `@` or `?`): a pattern
    that only over-matches strings no browser sends, such as Starlette's documented
    `https://.*\\.example\\.org`, is fine."""
    canaries = list(_CANARY_ORIGINS)
    items = list(parsed.data)
    prefix = _literal_run(items)
    if len(prefix) == len(items):
        return canaries  # a literal pattern: it matches exactly one string
    shortest = _shortest(items)
    if shortest and "://" in shortest and pattern.fullmatch(shortest):
        canaries.append(f"{shortest}.{_CANARY_HOST}")
    suffix = _literal_run(items[::-1])[::-1]
    if suffix:
        start = prefix if "://" in prefix else "https://"
        canaries.append(f"{start}corsfast-canary{suffix[1:] if suffix.startswith('.') else suffix}")
    return canaries


def _shortest(items: list[tuple[Any, Any]]) -> str | None:
    """Return a short string that `items` matches (fewest repeats, first branch), or None."""
    out = []
    for op, av in items:
        if op is _LITERAL:
            out.append(chr(av))
        elif op is _IN:
            member_op, member = av[0]
            if member_op is _LITERAL:
                out.append(chr(member))
            elif member_op is _RANGE:
                out.append(chr(member[0]))
            else:
                return None
        elif op is _ANY:
            out.append("x")
        elif op in _REPEATS:
            body = _shortest(list(av[2])) if av[0] else ""
            if body is None:
                return None
            out.append(body * av[0])
        elif op is _SUBPATTERN or op is _ATOMIC_GROUP or op is _BRANCH:
            (child, *_) = _children(op, av)
            body = _shortest(child)
            if body is None:
                return None
            out.append(body)
        elif op is _AT:
            continue
        else:  # look-arounds, back-references, conditionals: give up
            return None
    return "".join(out)


def _unescaped_dot(items: list[tuple[Any, Any]]) -> tuple[str, str] | None:
    """Return the literal text before and after the first `.` that sits where a literal dot
    belongs in a host (between letters or digits, or after a group, class or repeat and
    before a letter or digit)."""
    for index, (op, av) in enumerate(items):
        if op is _ANY and 0 < index < len(items) - 1:
            before_op, before = items[index - 1]
            after_op, after = items[index + 1]
            if (
                after_op is _LITERAL
                and after in _ALNUM
                and (
                    (before_op is _LITERAL and before in _ALNUM)
                    or before_op in _REPEATS
                    or before_op in _GROUPS
                    or before_op is _IN
                )
            ):
                head = _literal_run(items[index - 1 :: -1])[::-1]
                return head, _literal_run(items[index + 1 :])
        for child in _children(op, av):
            found = _unescaped_dot(child)
            if found is not None:
                return found
    return None


def _children(op: Any, av: Any) -> list[list[tuple[Any, Any]]]:
    """Return the sub-sequences of one parsed item (repeat bodies, groups, branches, asserts)."""
    if op in _REPEATS:
        return [list(av[2])]
    if op is _SUBPATTERN:
        return [list(av[3])]
    if op is _ATOMIC_GROUP:
        return [list(av)]
    if op is _BRANCH:
        return [list(branch) for branch in av[1]]
    if op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
        return [list(av[1])]
    if op is _sre_constants.GROUPREF_EXISTS:
        return [list(branch) for branch in av[1:] if branch is not None]
    return []


def _nested_repeat(items: list[tuple[Any, Any]]) -> bool:
    """Return True when a backtracking repeat's body holds another repeat that can eat the
    same characters, with no mandatory separator between iterations: `(a+)+`, `([a-z]+-?)+`,
    `(.*)*`. A separator that the inner repeats cannot eat, as in `([a-z0-9-]+\\.)+`,
    makes each split unique and the match linear, so it is not reported."""
    for op, av in items:
        if op in _BACKTRACKING_REPEATS and av[1] >= _NO_REPEAT_LIMIT:
            body = list(av[2])
            inner = _inner_repeats(body)
            if inner and not _has_separator(body, _union(inner)):
                return True
        for child in _children(op, av):
            if _nested_repeat(child):
                return True
    return False


def _inner_repeats(items: list[tuple[Any, Any]]) -> list[list[tuple[Any, Any]]]:
    """Return the bodies of every repeat (any depth) in `items` that can run more than once."""
    found = []
    for op, av in items:
        if op is _POSSESSIVE_REPEAT or op is _ATOMIC_GROUP:
            continue  # matched once, never re-split: no backtracking into it
        if op in _BACKTRACKING_REPEATS and av[1] >= _NO_REPEAT_LIMIT:
            found.append(list(av[2]))
        for child in _children(op, av):
            found.extend(_inner_repeats(child))
    return found


def _union(bodies: list[list[tuple[Any, Any]]]) -> frozenset[int] | None:
    """Return every character the bodies can consume, or None for "any character"."""
    chars: set[int] = set()
    for body in bodies:
        found = _chars(body)
        if found is None:
            return None
        chars |= found
    return frozenset(chars)


def _chars(items: list[tuple[Any, Any]]) -> set[int] | None:
    chars: set[int] = set()
    for op, av in items:
        if op is _LITERAL:
            chars |= _cased(av)
        elif op is _IN:
            found = _class_chars(av)
            if found is None:
                return None
            chars |= found
        elif op is _AT:
            continue
        elif (
            op in _REPEATS
            or op in _GROUPS
            or op is _BRANCH
            or op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT, _sre_constants.GROUPREF_EXISTS)
        ):
            for child in _children(op, av):
                found = _chars(child)
                if found is None:
                    return None
                chars |= found
        else:  # ANY, NOT_LITERAL, back-references and the rest: assume anything
            return None
    return chars


def _cased(code: int) -> set[int]:
    """Return `code` and its case variants (case-insensitive flags may be on: be generous)."""
    char = chr(code)
    return {code, *(ord(c) for c in (char.lower(), char.upper()) if len(c) == 1)}


def _class_chars(members: list[tuple[Any, Any]]) -> set[int] | None:
    chars: set[int] = set()
    for op, av in members:
        if op is _LITERAL:
            chars |= _cased(av)
        elif op is _RANGE and av[1] - av[0] < 512:
            for code in range(av[0], av[1] + 1):
                chars |= _cased(code)
        else:  # NEGATE, CATEGORY (\d, \w, ...), huge ranges: assume anything
            return None
    return chars


def _has_separator(body: list[tuple[Any, Any]], inner: frozenset[int] | None) -> bool:
    """Return True when `body` must match one character that no inner repeat can eat."""
    if inner is None:
        return False
    for op, av in body:
        if op is _LITERAL:
            if not _cased(av) & inner:
                return True
        elif op is _IN:
            found = _class_chars(av)
            if found is not None and not found & inner:
                return True
        elif op is _SUBPATTERN and _has_separator(list(av[3]), inner):
            return True
    return False
