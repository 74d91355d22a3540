"""django-cors-headers' settings, read once and compiled for the engine.

`Snapshot.read()` takes every setting through `conf` (defaults and legacy names included)
and evaluates django-cors-headers' expressions on the values it read, exceptions included:
the middleware's methods (`is_enabled`, `origin_found_in_white_lists`, ...) run on it.
`compile_spec` turns a snapshot into the `Spec` the engine's `DjangoPolicy` is built from,
when every setting has the shape django-cors-headers' checks accept; any other snapshot
is served by the methods, which answer as django-cors-headers does with those values.

One `DjangoState` per engine holds the current policy, and the report-only policy of
`CORSFAST_REPORT_ONLY` (the same settings with some replaced, compiled alike); Django's
`setting_changed` signal (which `override_settings` sends) marks them stale for any `CORS_*`
or `CORSFAST_*` setting, and the next request compiles again.
"""

from __future__ import annotations

import functools
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.http.response import BadHeaderError, HttpResponseBase, ResponseHeaders
from django.utils.cache import patch_vary_headers

from .._engine_py.django import (
    URL_ANY,
    URL_END,
    URL_END_STRICT,
    URL_LINE,
    URL_LINE_STRICT,
    URL_MATCH,
    django_vary,
)
from .._options import DEFAULT_CACHE_SIZE, DEFAULT_MAX_ORIGIN_LENGTH
from .._options.base import _TCHARS
from .._options.lint import _sre_constants, _sre_parse
from .conf import conf
from .signals import check_request_enabled

__all__ = (
    "ACCESS_CONTROL_ALLOW_CREDENTIALS",
    "ACCESS_CONTROL_ALLOW_HEADERS",
    "ACCESS_CONTROL_ALLOW_METHODS",
    "ACCESS_CONTROL_ALLOW_ORIGIN",
    "ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK",
    "ACCESS_CONTROL_EXPOSE_HEADERS",
    "ACCESS_CONTROL_MAX_AGE",
    "ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
    "REPORT_ONLY_SETTINGS",
    "VARY_PROBES",
    "VARY_SPLIT",
    "VARY_SPLITS",
    "Snapshot",
    "Spec",
    "browser_list",
    "compile_spec",
    "has_control",
    "state_for",
    "url_rule",
)

ACCESS_CONTROL_ALLOW_ORIGIN = "access-control-allow-origin"
ACCESS_CONTROL_EXPOSE_HEADERS = "access-control-expose-headers"
ACCESS_CONTROL_ALLOW_CREDENTIALS = "access-control-allow-credentials"
ACCESS_CONTROL_ALLOW_HEADERS = "access-control-allow-headers"
ACCESS_CONTROL_ALLOW_METHODS = "access-control-allow-methods"
ACCESS_CONTROL_MAX_AGE = "access-control-max-age"
ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK = "access-control-request-private-network"
ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK = "access-control-allow-private-network"

Item = tuple[str, str]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
# In a header value: control characters but tab (which a field value may hold).
_VALUE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADERS = ResponseHeaders({})
_HEADER_METHODS = ("__setitem__", "__getitem__", "__contains__", "has_header")


# -- Vary: how the installed Django's patch_vary_headers splits an existing value ----------


def _vary_items(value: str) -> list[str]:
    """Return the comma-separated items of `value`, stripped, empty ones dropped (Django 6.1's
    `django.utils.http.split_header_value`)."""
    return [item for item in map(str.strip, value.split(",")) if item]


VARY_SPLITS: dict[str, Callable[[str], list[str]]] = {
    # django.utils.cache.cc_delim_re.split: empty items and the value's outer whitespace stay.
    "Django 4.2 to 6.0": re.compile(r"\s*,\s*").split,
    "Django 6.1": _vary_items,
}
"""How each known `patch_vary_headers` splits the Vary value a response already has, by the
Django versions that split it so. The engine's Vary patch (`django_vary`) takes one of these;
the rest (an "origin" in any case kept, "*" makes the whole value "*", items joined with
", ") is the same in every version."""

VARY_PROBES = ("Accept", "", "Origin,", " Accept , Cookie ", "a,,b", ",\t", "ORIGIN", "x, *", " * ", "X-\xe9")
"""Vary values whose patched forms tell the known splits apart (and agree where they agree)."""


class _VaryProbe:
    """The part of a response `patch_vary_headers` uses: Django's own header mapping."""

    def __init__(self, vary: str) -> None:
        self.headers = ResponseHeaders({"Vary": vary})

    def has_header(self, name: str) -> bool:
        return name in self.headers


def vary_split_of(patch: Callable[[Any, Sequence[str]], None]) -> Optional[Callable[[str], list[str]]]:
    """Return the split of `VARY_SPLITS` with which `django_vary` answers as `patch` does on
    every probe, or None when none does (the engine then calls `patch` for every response)."""
    for split in VARY_SPLITS.values():
        for value in VARY_PROBES:
            probe = _VaryProbe(value)
            patch(probe, ("origin",))
            if probe.headers["Vary"] != django_vary(value, split):
                break
        else:
            return split
    return None


VARY_SPLIT = vary_split_of(patch_vary_headers)
"""The split of the installed Django's `patch_vary_headers`, found once by probing it."""


def has_control(origin: object) -> bool:
    """Return True when `origin` holds a control character (corsfast never allows it)."""
    if isinstance(origin, str):
        return _CONTROL.search(origin) is not None
    if isinstance(origin, bytes):
        return _CONTROL_BYTES.search(origin) is not None
    return False


@dataclass(frozen=True)
class Snapshot:
    """django-cors-headers' settings as read once, and its expressions evaluated on them."""

    allow_headers: Any
    allow_methods: Any
    allow_credentials: Any
    allow_private_network: Any
    preflight_max_age: Any
    allow_all_origins: Any
    allowed_origins: Any
    allowed_origin_regexes: Any
    expose_headers: Any
    urls_regex: Any
    origin_keys: Optional[tuple[tuple[Any, Any], ...]]
    """`(scheme, netloc)` of every allowed origin, when all of them split; else None."""

    @classmethod
    def read(cls, replaced: Optional[dict[str, Any]] = None) -> Snapshot:
        """Return the settings as `conf` reads them now, those named in `replaced` (a
        `CORSFAST_REPORT_ONLY` value) taken from it instead."""

        def setting(name: str) -> Any:
            return replaced[name] if replaced is not None and name in replaced else getattr(conf, name)

        allowed_origins = setting("CORS_ALLOWED_ORIGINS")
        keys: Optional[tuple[tuple[Any, Any], ...]] = None
        if isinstance(allowed_origins, (list, tuple)):
            try:
                keys = tuple((url.scheme, url.netloc) for url in map(urlsplit, allowed_origins))
            except Exception:
                keys = None  # split on every request, as django-cors-headers does, and fail there
        return cls(
            allow_headers=setting("CORS_ALLOW_HEADERS"),
            allow_methods=setting("CORS_ALLOW_METHODS"),
            allow_credentials=setting("CORS_ALLOW_CREDENTIALS"),
            allow_private_network=setting("CORS_ALLOW_PRIVATE_NETWORK"),
            preflight_max_age=conf.CORS_PREFLIGHT_MAX_AGE,
            allow_all_origins=setting("CORS_ALLOW_ALL_ORIGINS"),
            allowed_origins=allowed_origins,
            allowed_origin_regexes=setting("CORS_ALLOWED_ORIGIN_REGEXES"),
            expose_headers=conf.CORS_EXPOSE_HEADERS,
            urls_regex=conf.CORS_URLS_REGEX,
            origin_keys=keys,
        )

    # django-cors-headers' expressions, on the values read (its errors included).

    def url_enabled(self, path: Any) -> bool:
        return bool(re.match(self.urls_regex, path))

    def null_listed(self, origin: Any) -> bool:
        return origin == "null" and origin in self.allowed_origins

    def url_in_whitelist(self, url: Any) -> bool:
        if self.origin_keys is not None:
            return any(scheme == url.scheme and netloc == url.netloc for scheme, netloc in self.origin_keys)
        origins = [urlsplit(origin) for origin in self.allowed_origins]
        return any(origin.scheme == url.scheme and origin.netloc == url.netloc for origin in origins)

    def regex_match(self, origin: Any) -> bool:
        # corsfast: the whole Origin must match (django-cors-headers uses re.match).
        return any(re.fullmatch(pattern, origin) for pattern in self.allowed_origin_regexes)


class _NotCompiled(Exception):
    """A setting has a shape the engine does not take: the methods serve the requests."""


@dataclass(frozen=True)
class Spec:
    """What `engine.DjangoPolicy` is built from (the engine reads these attributes)."""

    url_match: Callable[[Any], Any]
    url_prefix: Optional[str]
    url_tail: int
    signal: Any
    private_network: bool
    private_network_item: Item
    preflight: Callable[[], HttpResponseBase]
    response_base: type
    headers_type: type
    patch_vary: Callable[[Any, Sequence[str]], None]
    vary_split: Optional[Callable[[str], list[str]]]
    """How `patch_vary` splits an existing Vary value (`VARY_SPLITS`); None: call it always."""
    make_entry: Callable[[Any], Any]
    known_response_type: Callable[[type], bool]
    assertions: bool
    cache_size: int
    max_origin_length: int
    preflight_methods: Optional[frozenset[str]]
    """The methods a browser lets through after a preflight answer (Access-Control-Allow-Methods
    as it reads the header, and GET, HEAD and POST); None when it refuses the header."""
    any_method: bool
    """Access-Control-Allow-Methods lists `*` and credentials are off."""
    preflight_headers: Optional[frozenset[str]]
    """The lower-case header names a browser lets through; None when it refuses the header."""
    any_header: bool
    """Access-Control-Allow-Headers lists `*` and credentials are off (Authorization aside)."""
    report: Any
    """The report-only policy (the engine's `DjangoPolicy`), or None."""


def _stored(value: Any) -> str:
    """Return `value` as `response[name] = value` stores it (MIME-encoded when not latin-1)."""
    try:
        return _HEADERS._convert_to_charset(value, "latin-1", mime_encode=True)  # type: ignore[no-any-return]
    except BadHeaderError:
        raise _NotCompiled from None


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _NotCompiled
    return value


def _strings(value: Any) -> Sequence[str]:
    if not isinstance(value, (list, tuple, str)) or not all(isinstance(item, str) for item in value):
        raise _NotCompiled
    return value


def _patterns(value: Any) -> list[re.Pattern[str]]:
    if not isinstance(value, (list, tuple, str)):
        raise _NotCompiled
    compiled = []
    for pattern in value:
        if isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
            compiled.append(pattern)
        elif isinstance(pattern, str):
            try:
                compiled.append(re.compile(pattern))
            except re.error:
                raise _NotCompiled from None
        else:
            raise _NotCompiled
    return compiled


_AT = _sre_constants.AT
_LITERAL = _sre_constants.LITERAL
_ANY = _sre_constants.ANY
_STARTS = (_sre_constants.AT_BEGINNING, _sre_constants.AT_BEGINNING_STRING)
_REPEATS = (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT)
_TAILS = {
    (False, None): URL_ANY,
    (True, None): URL_ANY,
    (True, _sre_constants.AT_END): URL_LINE,
    (True, _sre_constants.AT_END_STRING): URL_LINE_STRICT,
    (False, _sre_constants.AT_END): URL_END,
    (False, _sre_constants.AT_END_STRING): URL_END_STRICT,
}


def url_rule(regex: Any) -> tuple[Callable[[Any], Any], Optional[str], int]:
    """Return `(match, prefix, tail)` for `CORS_URLS_REGEX`: its `match`, and for the forms
    `^literal`, `^literal.*`, `^literal.*$` and `^literal$` (`\\A`, `\\Z` too) the literal and
    what the rest of the path must be, which the engine checks without running the pattern."""
    if isinstance(regex, str):
        try:
            pattern = re.compile(regex)
        except re.error:
            raise _NotCompiled from None
    elif isinstance(regex, re.Pattern) and isinstance(regex.pattern, str):
        pattern = regex
    else:
        raise _NotCompiled
    if pattern.flags != re.UNICODE:
        return pattern.match, None, URL_MATCH
    items = list(_sre_parse.parse(pattern.pattern, pattern.flags).data)
    index = 0
    if items and items[0][0] is _AT and items[0][1] in _STARTS:
        index = 1
    prefix = []
    while index < len(items) and items[index][0] is _LITERAL:
        prefix.append(chr(items[index][1]))
        index += 1
    repeat = False
    if index < len(items) and items[index][0] in _REPEATS:
        low, high, body = items[index][1]
        if low == 0 and high == _sre_constants.MAXREPEAT and list(body) == [(_ANY, None)]:
            repeat = True
            index += 1
    end = None
    if index < len(items) and items[index][0] is _AT and (repeat, items[index][1]) in _TAILS:
        end = items[index][1]
        index += 1
    if index != len(items):
        return pattern.match, None, URL_MATCH
    return pattern.match, "".join(prefix), _TAILS[repeat, end]


def known_response_type(kind: type) -> bool:
    """Return True when `kind`'s header methods are Django's own: the engine may then write
    `response.headers._store` as `response[name] = value` would."""
    if not issubclass(kind, HttpResponseBase):
        return False
    if any(getattr(kind, name) is not getattr(HttpResponseBase, name) for name in _HEADER_METHODS):
        return False
    return not any("headers" in vars(klass) for klass in kind.__mro__)


REPORT_ONLY_SETTINGS = (
    "CORS_ALLOWED_ORIGINS",
    "CORS_ALLOWED_ORIGIN_REGEXES",
    "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ALLOW_CREDENTIALS",
    "CORS_ALLOW_HEADERS",
    "CORS_ALLOW_METHODS",
    "CORS_ALLOW_PRIVATE_NETWORK",
)
"""The settings `CORSFAST_REPORT_ONLY` may replace: those that decide whether a browser
allows a request."""

_SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))


def browser_list(value: str) -> Optional[list[str]]:
    """Return the items a browser reads from a comma-separated header value such as
    Access-Control-Allow-Methods (empty items left out), or None when it refuses the
    whole header because an item is not an HTTP token."""
    items = []
    for part in value.split(","):
        item = part.strip(" \t")
        if not item:
            continue
        if not item.isascii() or not _TCHARS.issuperset(item.encode("ascii")):
            return None
        items.append(item)
    return items


def compile_spec(snapshot: Snapshot, engine: ModuleType, report: Any = None) -> Optional[Spec]:
    """Return the engine spec of `snapshot`, or None when a setting has a shape that
    django-cors-headers' checks refuse (the middleware's methods then answer).

    Raise ImproperlyConfigured for a header name or method holding a control character
    (CR, LF, NUL, ...; tab aside): django-cors-headers writes it into responses (or, for CR
    and LF, fails on every one), corsfast never writes CR, LF or NUL into a response.
    """
    try:
        return _compile(snapshot, engine, report)
    except _NotCompiled:
        return None


def _compile(snapshot: Snapshot, engine: ModuleType, report: Any) -> Spec:
    allow_all = _flag(snapshot.allow_all_origins)
    credentials = _flag(snapshot.allow_credentials)
    private_network = _flag(snapshot.allow_private_network)
    max_age = snapshot.preflight_max_age
    if not isinstance(max_age, int):
        raise _NotCompiled
    expose = _strings(snapshot.expose_headers)
    allow_headers = _strings(snapshot.allow_headers)
    allow_methods = _strings(snapshot.allow_methods)
    for name, items in (
        ("CORS_EXPOSE_HEADERS", expose),
        ("CORS_ALLOW_HEADERS", allow_headers),
        ("CORS_ALLOW_METHODS", allow_methods),
    ):
        for item in items:
            if _VALUE_CONTROL.search(item):
                raise ImproperlyConfigured(
                    f"{name} item {item!r} holds a control character (CR, LF, NUL, ...): it would be "
                    "written into responses (system check corsfast.W009 points at it)"
                )
    _strings(snapshot.allowed_origins)
    if snapshot.origin_keys is None:
        raise _NotCompiled
    patterns = _patterns(snapshot.allowed_origin_regexes)
    url_match, url_prefix, url_tail = url_rule(snapshot.urls_regex)

    # The blocks, in django-cors-headers' write order.
    tail: tuple[Item, ...] = ()
    if credentials:
        tail += ((ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"),)
    if len(expose):
        tail += ((ACCESS_CONTROL_EXPOSE_HEADERS, _stored(", ".join(expose))),)
    methods_value = _stored(", ".join(allow_methods))
    headers_value = _stored(", ".join(allow_headers))
    options_tail = (
        *tail,
        (ACCESS_CONTROL_ALLOW_HEADERS, headers_value),
        (ACCESS_CONTROL_ALLOW_METHODS, methods_value),
    )
    # What a browser makes of the preflight answer's lists (a `*` counts without credentials).
    methods = browser_list(methods_value)
    names = browser_list(headers_value)
    if max_age:
        options_tail += ((ACCESS_CONTROL_MAX_AGE, _stored(str(max_age))),)

    entry = engine.DjangoOriginEntry
    refused = entry(False, False, (), ())
    never = entry(False, True, (), ())  # the signal is asked, its yes is not followed
    star = None
    if allow_all and not credentials:
        star_item = (ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        star = entry(True, False, (star_item, *tail), (star_item, *options_tail))
    full = [pattern.fullmatch for pattern in patterns]

    def make_entry(origin: Any) -> Any:
        """Return the entry for one Origin value (a cache miss)."""
        try:
            url = urlsplit(origin)
        except ValueError:
            return refused
        control = has_control(origin)
        if (
            allow_all
            or snapshot.null_listed(origin)
            or snapshot.url_in_whitelist(url)
            or any(match(origin) for match in full)
        ):
            if control:
                return refused
            if star is not None:
                return star
            ask = False
        elif control:
            return never
        else:
            ask = True
        item = (ACCESS_CONTROL_ALLOW_ORIGIN, _HEADERS._convert_to_charset(origin, "latin-1", mime_encode=True))
        return entry(True, ask, (item, *tail), (item, *options_tail))

    return Spec(
        url_match=url_match,
        url_prefix=url_prefix,
        url_tail=url_tail,
        signal=check_request_enabled,
        private_network=private_network,
        private_network_item=(ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK, "true"),
        preflight=functools.partial(HttpResponse, headers={"content-length": "0"}),
        response_base=HttpResponseBase,
        headers_type=ResponseHeaders,
        patch_vary=patch_vary_headers,
        vary_split=VARY_SPLIT,
        make_entry=make_entry,
        known_response_type=known_response_type,
        assertions=not sys.flags.optimize,
        cache_size=DEFAULT_CACHE_SIZE,
        max_origin_length=DEFAULT_MAX_ORIGIN_LENGTH,
        preflight_methods=None if methods is None else frozenset(methods) | _SAFELISTED_METHODS,
        any_method=methods is not None and "*" in methods and not credentials,
        preflight_headers=None if names is None else frozenset(name.lower() for name in names),
        any_header=names is not None and "*" in names and not credentials,
        report=report,
    )


# -- the policy of each engine, and when it goes stale ----------------------------------

_STATES: dict[ModuleType, Any] = {}
_STATES_LOCK = threading.Lock()


def state_for(engine: ModuleType) -> Any:
    """Return the `DjangoState` every middleware on `engine` shares."""
    state = _STATES.get(engine)
    if state is None:
        with _STATES_LOCK:
            state = _STATES.get(engine)
            if state is None:
                state = engine.DjangoState(None)
                state.refresh = functools.partial(_refresh, engine, state)
                _STATES[engine] = state
    return state


def report_policy(engine: ModuleType) -> Any:
    """Return the engine's `DjangoPolicy` of `CORSFAST_REPORT_ONLY`, or None without it.

    Raise ImproperlyConfigured when the setting is not a dict of `REPORT_ONLY_SETTINGS`
    whose values compile (the system checks `corsfast.E004` to `corsfast.E006` say which).
    """
    replaced = conf.CORSFAST_REPORT_ONLY
    if replaced is None:
        return None
    if not isinstance(replaced, dict) or not all(name in REPORT_ONLY_SETTINGS for name in replaced):
        raise ImproperlyConfigured(
            f"CORSFAST_REPORT_ONLY must be a dict whose keys are among {', '.join(REPORT_ONLY_SETTINGS)}, "
            f"got {replaced!r} (run manage.py check)"
        )
    spec = compile_spec(Snapshot.read(replaced), engine)
    if spec is None:
        raise ImproperlyConfigured(
            "CORSFAST_REPORT_ONLY holds a value of a shape the CORS settings do not take (run manage.py check)"
        )
    return engine.DjangoPolicy(spec)


def _refresh(engine: ModuleType, state: Any) -> None:
    generation = state.generation
    report = report_policy(engine)
    snapshot = Snapshot.read()
    spec = compile_spec(snapshot, engine, report)
    state.snapshot = snapshot
    state.policy = None if spec is None else engine.DjangoPolicy(spec)
    state.report = report
    state.compiled = generation


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("CORS_", "CORSFAST_")):
        for state in list(_STATES.values()):
            state.bump()


setting_changed.connect(_setting_changed, weak=False, dispatch_uid="corsfast.django._compile")
