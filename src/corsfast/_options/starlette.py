"""The options of Starlette's `CORSMiddleware`: its constructor, its attributes, their compiled tables."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from .base import (
    _TCHARS,
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    SAFELISTED_HEADERS,
    WATCH_DICT,
    WATCH_LIST,
    WATCH_PREFLIGHT,
    WATCH_SET,
    WATCH_SIMPLE,
    CORSOptions,
    Header,
    StarletteTables,
    _common,
    _encoded_origins,
    _pattern,
    _sequence,
)
from .lint import _lint
from .starlette_releases import NEWEST, StarletteRelease


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
    release: StarletteRelease = NEWEST,
) -> CORSOptions:
    """Return the options of `release`'s `CORSMiddleware`, validated up front.

    A bare `"*"` (for origins, methods, headers or exposed headers) means what `["*"]`
    means, as in Starlette; any other bare string is refused (Starlette tests it by substring).
    """
    allow_origins, allow_methods, allow_headers, expose_headers = (
        _star_as_list(allow_origins),
        _star_as_list(allow_methods),
        _star_as_list(allow_headers),
        _star_as_list(expose_headers),
    )
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
        common["allow_methods"] = release.all_methods
    attributes = starlette_attributes(
        allow_origins,
        common["allow_methods"],
        common["allow_headers"],
        allow_credentials,
        patterns[0] if patterns else None,
        allow_private_network,
        common["expose_headers"],
        max_age,
        release,
    )
    options = CORSOptions(
        dialect="starlette",
        allow_all_origins=allow_all,
        exact_origins=frozenset(_encoded_origins(exact)),
        wildcard_origins=(),
        origin_patterns=patterns,
        starlette=starlette_tables(attributes, release),
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
    release: StarletteRelease = NEWEST,
) -> dict[str, Any]:
    """Return the attributes `release`'s `CORSMiddleware.__init__` sets, in its order (but `app`).

    The same expressions as Starlette's: the caller's `allow_origins` object itself,
    `ALL_METHODS` for a `*` method, the safelisted headers merged in, the two header dicts.
    """
    if "*" in allow_methods:
        allow_methods = release.all_methods
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
    preflight_headers: dict[str, str] = {}
    if release.vary_always:
        preflight_headers["Vary"] = release.preflight_vary
    if not preflight_explicit_allow_origin:
        preflight_headers["Access-Control-Allow-Origin"] = "*"
    elif not release.vary_always:
        preflight_headers["Vary"] = release.preflight_vary  # "Origin": the origin is reflected
    preflight_headers["Access-Control-Allow-Methods"] = ", ".join(allow_methods)
    preflight_headers["Access-Control-Max-Age"] = str(max_age)
    merged_headers = sorted(set(SAFELISTED_HEADERS) | set(allow_headers))
    if merged_headers and not allow_all_headers:
        preflight_headers["Access-Control-Allow-Headers"] = ", ".join(merged_headers)
    if allow_credentials:
        preflight_headers["Access-Control-Allow-Credentials"] = "true"
    values = {
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
    return {name: values[name] for name in release.attributes}


def _star_as_list(value: object) -> object:
    """Return `["*"]` for a bare `"*"` (Starlette's `"*" in value` is true for both), else `value`."""
    return ["*"] if value == "*" and value.__class__ is str else value


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
"""The attributes Starlette's `CORSMiddleware` reads at request time (all but `app`), in the
newest release; older ones lack some (`StarletteRelease.attributes`)."""
_PREFLIGHT_SLOT_KEYS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Private-Network",
)
_MEMBERSHIP_CONTAINERS = (list, tuple, set, frozenset, dict)
_MISSING = object()


def _members(value: Any) -> tuple[str, ...] | None:
    """Return what `x in value` is true for, when `value` is a built-in container of str or a str
    of at most one character (`"*"`: its substrings); else None."""
    if value.__class__ is str and len(value) <= 1:
        return ("", value)
    if type(value) not in _MEMBERSHIP_CONTAINERS:
        return None  # a str (substring tests), a custom container: only Starlette's own code knows
    items = tuple(value)
    if any(item.__class__ is not str for item in items):
        return None
    return items


def _latin1(items: Iterable[str]) -> frozenset[bytes]:
    """Return the items a latin-1 decoded request header can equal, encoded (others never match)."""
    return frozenset(_encoded_origins(items))


def _watch(value: Any, uses: int) -> tuple[int, object, tuple[object, ...], object, int] | None:
    """Return how to notice an in-place change of `value`, or None when it cannot change.

    `(kind, container, items, copy, uses)`: the compiled engine compares `items` (the list's
    items, the dict's keys and values in order) by identity; the pure twin compares `copy`
    by equality (a set only ever by equality). `uses` says which requests read it.
    """
    kind = type(value)
    if not uses:
        return None
    if kind is list:
        return (WATCH_LIST, value, tuple(value), list(value), uses)
    if kind is dict:
        return (WATCH_DICT, value, tuple(x for item in value.items() for x in item), list(value.items()), uses)
    if kind is set:
        return (WATCH_SET, value, (), frozenset(value), uses)
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
    release: StarletteRelease = NEWEST,
    *,
    verdict_hook: bool = False,
    protocol_preflight: bool = False,
    protocol_simple: bool = False,
) -> StarletteTables:
    """Return `release`'s request-time state compiled from its attributes (a mapping or an object)."""
    get = attributes.get if isinstance(attributes, dict) else functools.partial(getattr, attributes)
    values = {name: get(name, _MISSING) for name in release.attributes}
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
            **_switches(release, values),
        )
    keys = list(values["preflight_headers"])
    lowered = {name for name, _ in preflight}
    # Which requests read each container: with allow_all_origins, is_allowed_origin never
    # reaches allow_origins.
    uses = {
        "allow_origins": 0 if values["allow_all_origins"] else WATCH_SIMPLE | WATCH_PREFLIGHT,
        "allow_methods": WATCH_PREFLIGHT,
        "allow_headers": WATCH_PREFLIGHT,
        "simple_headers": WATCH_SIMPLE,
        "preflight_headers": WATCH_PREFLIGHT,
    }
    watched = (_watch(values[name], use) for name, use in uses.items())
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
        **_switches(release, values),
    )


def _switches(release: StarletteRelease, values: dict[str, Any]) -> dict[str, Any]:
    """Return the tables' release switches (`StarletteTables.vary_always` and the next two)."""
    return {
        "vary_always": release.vary_always,
        "private_network_header": release.private_network,
        # Before 1.0 an allow-all simple response reflects the Origin of a request with a
        # Cookie header (with credentials allowed or not), and only then.
        "cookie_reflect": not release.credentials_attribute and bool(values["allow_all_origins"]),
    }


def starlette_state_options(
    middleware: Any,
    release: StarletteRelease = NEWEST,
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
        release,
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
        allow_credentials=not tables.faithful and release.credentials_attribute and bool(middleware.allow_credentials),
        max_age=0,
        allow_private_network=(
            not tables.faithful and release.private_network and bool(middleware.allow_private_network)
        ),
        cache_size=cache_size,
        max_origin_length=max_origin_length,
        starlette=tables,
    )
