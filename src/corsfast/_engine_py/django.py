"""The django-cors-headers dialect (`corsfast.django`): the twin of `_engine_c_django.pxi`.

A `DjangoPolicy` holds django-cors-headers' settings compiled once (by
`corsfast.django._compile`, which knows Django; this module never imports it): the URL rule,
the signal, the header blocks as ready `(name, value)` tuples, and a bounded cache of
verdicts keyed on the Origin string. `django_call` and `django_acall` are the middleware's
`__call__` and `__acall__`: the whole per-request flow of django-cors-headers 4.9's
`CorsMiddleware` (preflight short-circuit, `patch_vary_headers`, header writes) with no
settings read and no `request.headers` built. They also count each request CORS applies to
in the middleware's `DecisionCounts`, by kind and by the reason a browser concludes from the
answer (read from the compiled settings, never from the response), and judge it by the
report-only policy when there is one.

Header writes go straight into Django's `ResponseHeaders._store` (`{lower name: (name, value)}`,
what `response[name] = value` stores after `_convert_to_charset`) for response types whose
header methods are Django's own; any other response gets the public API.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Optional, cast

from .._cache_info import CacheInfo
from .._observe.reasons import (
    ALLOWED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PREFLIGHT,
    PRIVATE_NETWORK_NOT_ALLOWED,
    SIMPLE,
)
from .counts import DecisionCounts, RefusedOrigins, counted

__all__ = (
    "DjangoMiddlewareBase",
    "DjangoOriginEntry",
    "DjangoPolicy",
    "DjangoState",
    "django_acall",
    "django_call",
    "django_vary",
)

Item = tuple[str, str]
"""A response header as Django stores it under its lower-case name: `(name, value)`."""

OPTIONS = "OPTIONS"
VARY_KEY = "vary"
VARY_ITEM: Item = ("Vary", "origin")
"""What `patch_vary_headers(response, ("origin",))` stores on a response without Vary."""

META_ORIGIN = "HTTP_ORIGIN"
META_REQUEST_METHOD = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
META_PRIVATE_NETWORK = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"
META_REQUEST_HEADERS = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
ORIGIN = "origin"
REQUEST_METHOD = "access-control-request-method"
REQUEST_HEADERS = "access-control-request-headers"
PRIVATE_NETWORK = "access-control-request-private-network"
TRUE = "true"
AUTHORIZATION = "authorization"

REQUESTED_HEADERS_BOUND = 64
"""Access-Control-Request-Headers values whose verdict is remembered; cleared when full."""
REQUESTED_HEADERS_LENGTH = 1024
"""Longer Access-Control-Request-Headers values are judged every time, never remembered."""

URL_MATCH = 0
"""`url_tail` values. URL_MATCH: run the pattern's `match`; the others need `path_info` to
start with `url_prefix`, and then the rest of it to be:"""
URL_ANY = 1
"""anything (`^/api/`, `^/api/.*`)"""
URL_LINE = 2
"""free of newlines but for a last one (`^/api/.*$`, the default `^.*$`)"""
URL_LINE_STRICT = 3
"""free of newlines (`^/api/.*\\Z`)"""
URL_END = 4
"""empty or one newline (`^/api/$`)"""
URL_END_STRICT = 5
"""empty (`^/api/\\Z`)"""

_UNSEEN: Any = object()
"""What a cache lookup returns for a value not seen yet."""

KNOWN_TYPES_BOUND = 256
"""Response types remembered as "Django's own header methods" (or not); cleared when full."""


class DjangoOriginEntry:
    """The verdict for one Origin value and the response headers that follow from it.

    Its reason when refused follows from the two flags: an entry that asks the signal is
    refused as `origin_not_allowed` when no receiver says yes; one refused outright
    (`allowed` False) holds an Origin corsfast refuses itself (`origin_invalid`).
    """

    __slots__ = ("allowed", "ask_signal", "options", "simple")

    allowed: bool
    """Allowed by the settings; with `ask_signal`, allowed when a signal receiver says yes."""
    ask_signal: bool
    """The settings do not allow it: django-cors-headers asks `check_request_enabled`."""
    simple: tuple[Item, ...]
    """The CORS headers of an allowed answer, in django-cors-headers' order."""
    options: tuple[Item, ...]
    """The same for an OPTIONS request (Allow-Headers, -Methods and Max-Age follow)."""

    def __init__(self, allowed: bool, ask_signal: bool, simple: tuple[Item, ...], options: tuple[Item, ...]) -> None:
        self.allowed = allowed
        self.ask_signal = ask_signal
        self.simple = simple
        self.options = options


def django_vary(value: str, split: Callable[[str], list[str]]) -> str:
    """Return the Vary value `patch_vary_headers(response, ("origin",))` makes of `value`.

    `split` is how the installed Django splits an existing value into items (one of
    `corsfast.django._compile.VARY_SPLITS`: Django 4.2 to 6.0 split at commas with the
    whitespace around them, Django 6.1 strips each item and drops empty ones); an existing
    "origin" in any case is kept, and a "*" item makes the whole value "*".
    """
    tokens = split(value)
    for token in tokens:
        if token.lower() == ORIGIN:
            break
    else:
        tokens.append(ORIGIN)
    if "*" in tokens:
        return "*"
    return ", ".join(tokens)


class DjangoPolicy:
    """django-cors-headers' settings, compiled: one instance serves every request until a
    setting changes. Built from a spec (`corsfast.django._compile.Spec`)."""

    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self._url_match: Callable[[Any], Any] = spec.url_match
        self._url_prefix: Optional[str] = spec.url_prefix
        self._url_tail: int = spec.url_tail
        self._url_any_line = self._url_prefix == "" and self._url_tail == URL_LINE
        """The default `^.*$`: a path matches unless it has a newline before its last character."""
        self._signal: Any = spec.signal
        self._private_network: bool = spec.private_network
        self._private_network_item: Item = spec.private_network_item
        self._preflight: Callable[[], Any] = spec.preflight
        self._response_base: type = spec.response_base
        self._headers_type: type = spec.headers_type
        self._patch_vary: Callable[[Any, tuple[str, ...]], None] = spec.patch_vary
        self._vary_split: Optional[Callable[[str], list[str]]] = spec.vary_split
        """None: a Django whose `patch_vary_headers` the engine does not know; it is called."""
        self._make_entry: Callable[[Any], DjangoOriginEntry] = spec.make_entry
        self._known_response_type: Callable[[type], bool] = spec.known_response_type
        self._assertions: bool = spec.assertions
        self._maxsize: int = spec.cache_size
        self._max_origin_length: int = spec.max_origin_length
        self._cache: dict[str, DjangoOriginEntry] = {}
        self._store_lock = threading.Lock()
        self._known: dict[type, bool] = {}
        self._hits = itertools.count()
        self._misses = itertools.count()
        self._preflight_methods: Optional[frozenset[str]] = spec.preflight_methods
        """The methods a browser lets through after this policy's preflight answer (the
        safelisted ones included); None: a browser refuses its Access-Control-Allow-Methods."""
        self._any_method: bool = spec.any_method
        """Access-Control-Allow-Methods lists `*` and credentials are off: any method passes."""
        self._preflight_headers: Optional[frozenset[str]] = spec.preflight_headers
        """The lower-case header names a browser lets through; None: it refuses the list."""
        self._any_header: bool = spec.any_header
        """Access-Control-Allow-Headers lists `*` and credentials are off: any name but
        Authorization passes."""
        self._report: Optional[DjangoPolicy] = spec.report
        """The report-only policy, judged beside this one; None without one."""
        self._refused_headers: dict[str, Any] = {}
        """Access-Control-Request-Headers value -> its first refused name, or None."""

    # -- the parts of a request ----------------------------------------------------------

    def url_enabled(self, path: Any) -> bool:
        """Return True when `re.match(CORS_URLS_REGEX, path)` matches."""
        prefix = self._url_prefix
        if prefix is None or path.__class__ is not str:
            return self._url_match(path) is not None
        if not path.startswith(prefix):
            return False
        tail = self._url_tail
        if tail == URL_ANY:
            return True
        start = len(prefix)
        if tail == URL_END_STRICT:
            return len(path) == start
        if tail == URL_END:
            return len(path) == start or (len(path) == start + 1 and path[start] == "\n")
        newline = path.find("\n", start)
        if tail == URL_LINE_STRICT:
            return newline < 0
        return newline < 0 or newline == len(path) - 1

    def ask_signal(self, request: Any) -> bool:
        """Return True when a `check_request_enabled` receiver returns a truthy value."""
        signal = self._signal
        if not signal.receivers:
            return False  # what `send` would return: no call, no answers
        for _function, value in signal.send(sender=None, request=request):
            if value:
                return True
        return False

    def lookup(self, origin: str) -> DjangoOriginEntry:
        """Return the entry for an Origin string, computing and caching it on a miss."""
        if origin.__class__ is not str or len(origin) > self._max_origin_length:
            # Computed, never cached: a str subclass may hash as it likes, and long keys
            # would let a client fill the cache with megabytes.
            next(self._misses)
            return self._make_entry(origin)
        entry = self._cache.get(origin)
        if entry is not None:
            next(self._hits)
            return entry
        next(self._misses)
        entry = self._make_entry(origin)
        if self._maxsize:
            with self._store_lock:
                if len(self._cache) >= self._maxsize:
                    self._cache.clear()  # keeps the bound exact and costs nothing per hit
                self._cache[origin] = entry
        return entry

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(counted(self._hits), counted(self._misses), self._maxsize, len(self._cache))

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        self._cache.clear()
        self._hits = itertools.count()
        self._misses = itertools.count()

    def before(self, request: Any) -> Any:
        """Return the preflight answer for `request`, or None to call the view.

        django-cors-headers' `check_preflight`: sets `request._cors_enabled` first.
        """
        path = request.path_info
        if self._url_any_line and path.__class__ is str and ("\n" not in path or path.find("\n") == len(path) - 1):
            enabled = True  # the default `^.*$`, without running it
        else:
            enabled = self.url_enabled(path) or self.ask_signal(request)
        request._cors_enabled = enabled
        if enabled and request.method == OPTIONS:
            headers = _cached_headers(request)
            if (REQUEST_METHOD in headers) if headers is not None else (META_REQUEST_METHOD in request.META):
                return self._preflight()
        return None

    def check_response(self, response: Any) -> None:
        """Raise AssertionError for a view result that is not a response (as corsheaders' assert)."""
        if self._assertions and not isinstance(response, self._response_base):
            raise AssertionError

    def check_awaitable(self, result: Any) -> None:
        """Raise AssertionError for an async view result that is a response already."""
        if self._assertions and isinstance(result, self._response_base):
            raise AssertionError

    def after(self, request: Any, response: Any) -> None:
        """Add the CORS headers to `response`: django-cors-headers' `add_response_headers`."""
        self.answer(request, response, None, None, None)

    def answer(
        self,
        request: Any,
        response: Any,
        counts: Optional[DecisionCounts],
        refused: Optional[RefusedOrigins],
        report_origins: Optional[RefusedOrigins],
    ) -> None:
        """Add the CORS headers to `response` as `after` does, and count the request in
        `counts` (a request CORS does not apply to is not counted): its kind, and the reason
        a browser concludes from the answer. A refused origin is noted in `refused`; where
        the report-only policy would decide otherwise, the request is counted as a report
        and its origin noted in `report_origins`. Counting never changes the answer."""
        try:
            enabled = request._cors_enabled
        except AttributeError:
            enabled = None
        if enabled is None:  # deleted by the view, or set to None: asked again (corsheaders' getattr)
            enabled = self.url_enabled(request.path_info) or self.ask_signal(request)
        if not enabled:
            return
        store = self._store_of(response)
        if store is not None and VARY_KEY not in store and self._vary_split is not None:
            store[VARY_KEY] = VARY_ITEM
        else:
            self._vary(response, store)
        headers = _cached_headers(request)
        origin = request.META.get(META_ORIGIN) if headers is None else headers.get(ORIGIN)
        options = request.method == OPTIONS
        if not origin:
            if counts is not None:
                preflight = options and _requested_method(request, headers) is not None
                counts.count(PREFLIGHT if preflight else SIMPLE, NO_ORIGIN)
            return
        entry = self.lookup(origin)
        signal = -1  # the signal's answer: -1 not asked, else 0 or 1
        if entry.ask_signal:
            # Asked exactly when django-cors-headers asks; an Origin that corsfast never
            # allows (control characters) is refused whatever the answer.
            signal = 1 if self.ask_signal(request) else 0
            allowed = signal == 1 and entry.allowed
        else:
            allowed = entry.allowed
        if allowed:
            items = entry.options if options else entry.simple
            if store is not None:
                for item in items:
                    store[item[0]] = item
            else:
                for name, value in items:
                    response[name] = value
            if self._private_network:
                asked = request.META.get(META_PRIVATE_NETWORK) if headers is None else headers.get(PRIVATE_NETWORK)
                if asked == TRUE:
                    item = self._private_network_item
                    if store is not None:
                        store[item[0]] = item
                    else:
                        response[item[0]] = item[1]
        if counts is not None:
            if self._report is None and not (allowed and options):
                # A simple request or a refused origin, judged without a call.
                if allowed:
                    counts.count(SIMPLE, ALLOWED)
                else:
                    reason = ORIGIN_NOT_ALLOWED if entry.allowed else ORIGIN_INVALID
                    preflight = options and _requested_method(request, headers) is not None
                    counts.count(PREFLIGHT if preflight else SIMPLE, reason)
                    if refused is not None:
                        refused.note(reason, origin, None, None)
            else:
                self._observe(
                    request, headers, origin, entry, allowed, options, signal, counts, refused, report_origins
                )

    def judge(self, request: Any) -> tuple[int, Optional[str], Any]:
        """Return `(reason, detail_name, detail)`: what a browser concludes from this policy's
        answer to `request` (its signal asked when its settings do not allow the Origin)."""
        headers = _cached_headers(request)
        meta = headers is None
        source = request.META if meta else headers
        origin = source.get(META_ORIGIN if meta else ORIGIN)
        kind = SIMPLE
        method = None
        if request.method == OPTIONS:
            method = source.get(META_REQUEST_METHOD if meta else REQUEST_METHOD)
            if method is not None:
                kind = PREFLIGHT
        if not origin:
            return NO_ORIGIN, None, None
        entry = self.lookup(origin)
        allowed = entry.allowed and (not entry.ask_signal or self.ask_signal(request))
        reason = self._reason(source, meta, entry, allowed, kind, method)
        return (reason, *self._detail(source, meta, reason, method))

    # -- what a browser concludes, counted -----------------------------------------------

    def _observe(
        self,
        request: Any,
        headers: Any,
        origin: str,
        entry: DjangoOriginEntry,
        allowed: bool,
        options: bool,
        signal: int,
        counts: DecisionCounts,
        refused: Optional[RefusedOrigins],
        report_origins: Optional[RefusedOrigins],
    ) -> None:
        meta = headers is None
        source = None  # where the request's headers are read: only a preflight reads more
        kind = SIMPLE
        method = None
        if options:
            source = request.META if meta else headers
            method = source.get(META_REQUEST_METHOD if meta else REQUEST_METHOD)
            if method is not None:
                kind = PREFLIGHT
        reason = self._reason(source, meta, entry, allowed, kind, method)
        counts.count(kind, reason)
        if reason != ALLOWED and refused is not None:
            if reason == METHOD_NOT_ALLOWED or reason == HEADER_NOT_ALLOWED:
                refused.note(reason, origin, *self._detail(source, meta, reason, method))
            else:
                refused.note(reason, origin, None, None)
        report = self._report
        if report is None:
            return
        entry = report.lookup(origin)
        if entry.ask_signal:
            if signal < 0:
                signal = 1 if report.ask_signal(request) else 0
            allowed = signal == 1 and entry.allowed
        else:
            allowed = entry.allowed
        verdict = report._reason(source, meta, entry, allowed, kind, method)
        if (verdict == ALLOWED) == (reason == ALLOWED):
            return
        counts.count_report(reason == ALLOWED)
        if report_origins is not None:
            if verdict == ALLOWED:
                report_origins.note(ALLOWED, origin, None, None)
            else:
                report_origins.note(verdict, origin, *report._detail(source, meta, verdict, method))

    def _reason(
        self, source: Any, meta: bool, entry: DjangoOriginEntry, allowed: bool, kind: int, method: Optional[str]
    ) -> int:
        """Return the reason number of the answer: allowed, or why a browser refuses it.
        `source` holds the request's headers (request.META when `meta`), read for a preflight."""
        if not allowed:
            return ORIGIN_NOT_ALLOWED if entry.allowed else ORIGIN_INVALID
        if kind == SIMPLE:
            return ALLOWED
        # A browser refuses a list it cannot parse before it looks for the method in it.
        methods = self._preflight_methods
        if methods is None:
            return METHOD_NOT_ALLOWED
        if self._preflight_headers is None:
            return HEADER_NOT_ALLOWED
        if not self._any_method and method not in methods:
            return METHOD_NOT_ALLOWED
        value = source.get(META_REQUEST_HEADERS if meta else REQUEST_HEADERS)
        if value:
            refused = self._refused_headers.get(value, _UNSEEN)  # the verdict remembered, without a call
            if refused is _UNSEEN:
                refused = self._refused_header(source, meta)
            if refused is not None:
                return HEADER_NOT_ALLOWED
        if not self._private_network and source.get(META_PRIVATE_NETWORK if meta else PRIVATE_NETWORK) == TRUE:
            return PRIVATE_NETWORK_NOT_ALLOWED
        return ALLOWED

    def _detail(self, source: Any, meta: bool, reason: int, method: Optional[str]) -> tuple[Optional[str], Any]:
        """Return what a refusal names: ("method", it), ("header", the first refused), or None twice."""
        if reason == METHOD_NOT_ALLOWED:
            return "method", method
        if reason == HEADER_NOT_ALLOWED:
            name = self._refused_header(source, meta)
            if name:
                return "header", name
        return None, None

    def _refused_header(self, source: Any, meta: bool) -> Optional[str]:
        """Return the first name in Access-Control-Request-Headers that the answer does not
        allow (or "" when a browser refuses the answer's list whatever is asked), else None."""
        value = source.get(META_REQUEST_HEADERS if meta else REQUEST_HEADERS)
        if not value:
            return None if self._preflight_headers is not None else ""
        if value.__class__ is not str or len(value) > REQUESTED_HEADERS_LENGTH:
            return self._first_refused(value)
        cache = self._refused_headers
        seen = cache.get(value, _UNSEEN)
        if seen is not _UNSEEN:
            remembered: Optional[str] = seen
            return remembered
        found = self._first_refused(value)
        with self._store_lock:
            if len(cache) >= REQUESTED_HEADERS_BOUND:
                cache.clear()
            cache[value] = found
        return found

    def _first_refused(self, value: str) -> Optional[str]:
        names = self._preflight_headers
        for part in value.split(","):
            name = part.strip(" \t").lower()
            if not name:
                continue
            if names is None:
                return name
            if name in names or (self._any_header and name != AUTHORIZATION):
                continue
            return name
        return "" if names is None else None

    # -- response headers ----------------------------------------------------------------

    def _store_of(self, response: Any) -> Optional[dict[str, Item]]:
        """Return the header store of a response whose header methods are Django's, else None."""
        kind = type(response)
        known = self._known.get(kind)
        if known is None:
            known = self._known_response_type(kind)
            if len(self._known) >= KNOWN_TYPES_BOUND:
                self._known.clear()
            self._known[kind] = known
        if not known:
            return None
        headers = response.headers
        if headers.__class__ is not self._headers_type:
            return None
        store = cast(Any, headers)._store
        return store if store.__class__ is dict else None

    def _vary(self, response: Any, store: Optional[dict[str, Item]]) -> None:
        if store is not None and self._vary_split is not None:
            current = store.get(VARY_KEY)
            if current is None:
                store[VARY_KEY] = VARY_ITEM
                return
            if current.__class__ is tuple and len(current) == 2:
                value = current[1]
                if value.__class__ is str and _plain_latin1(value):
                    store[VARY_KEY] = ("Vary", django_vary(value, self._vary_split))
                    return
        self._patch_vary(response, (ORIGIN,))


def _plain_latin1(value: str) -> bool:
    """Return True when `value` is latin-1 with no CR or LF: joined with ", origin" it is
    stored as is (what `_convert_to_charset` checks)."""
    return "\n" not in value and "\r" not in value and (value.isascii() or max(value) <= "\xff")


def _requested_method(request: Any, headers: Any) -> Optional[str]:
    """Return Access-Control-Request-Method (a preflight's, as django-cors-headers tells one), or None."""
    method: Optional[str] = request.META.get(META_REQUEST_METHOD) if headers is None else headers.get(REQUEST_METHOD)
    return method


def _cached_headers(request: Any) -> Any:
    """Return `request.headers` when it was built already (it then wins over META), else None."""
    try:
        return request.__dict__.get("headers")
    except AttributeError:
        return None


class DjangoState:
    """The policy the middleware of one engine uses, recompiled when a setting changes.

    `generation` is bumped by Django's `setting_changed` signal; `refresh()` compiles the
    settings and records the generation it read, so a change during a compilation is
    never lost.
    """

    __slots__ = ("_bumping", "compiled", "generation", "policy", "refresh", "report", "snapshot")

    def __init__(self, refresh: Callable[[], None]) -> None:
        self.refresh = refresh
        self.policy: Optional[DjangoPolicy] = None
        self.report: Optional[DjangoPolicy] = None
        """The report-only policy (also the policy's own, when the settings compile)."""
        self.snapshot: Any = None
        self.generation = 0
        self.compiled = -1
        self._bumping = threading.Lock()

    def bump(self) -> None:
        """Count one setting change (a step of its own, so no concurrent change is lost)."""
        with self._bumping:
            self.generation += 1


class DjangoMiddlewareBase:
    """The state `corsfast.django.middleware.CorsMiddleware` keeps per instance."""

    __slots__ = ()  # a mixin for the Python class, which has the __dict__

    get_response: Callable[[Any], Any]
    async_mode: bool = False
    _corsfast_state: Optional[DjangoState] = None
    """The policy holder of this engine (set by `CorsMiddleware.__init__`)."""
    _corsfast_fast: bool = False
    """True when no corsheaders hook is overridden: the engine runs the whole request."""
    _corsfast_counts: Optional[DecisionCounts] = None
    """This middleware's counts (set by `CorsMiddleware.__init__`; None: nothing is counted)."""
    _corsfast_refused: Optional[RefusedOrigins] = None
    """The refused origins it keeps and logs (its observer's)."""
    _corsfast_report: Optional[RefusedOrigins] = None
    """The origins the report-only policy would decide otherwise (its observer's)."""


def _current_policy(self: DjangoMiddlewareBase) -> Optional[DjangoPolicy]:
    state = self._corsfast_state
    if state is None or not self._corsfast_fast:
        return None
    if state.compiled != state.generation:
        state.refresh()
    return state.policy


def django_call(self: Any, request: Any) -> Any:
    """Answer one request as django-cors-headers' `CorsMiddleware.__call__`."""
    if self.async_mode:
        return self.__acall__(request)
    policy = _current_policy(self)
    if policy is None:
        # A subclass overrides a hook, or the settings are not compiled: corsheaders' methods.
        return self._corsfast_call(request)
    response = policy.before(request)
    if response is None:
        response = self.get_response(request)
        policy.check_response(response)
    policy.answer(request, response, self._corsfast_counts, self._corsfast_refused, self._corsfast_report)
    return response


async def django_acall(self: Any, request: Any) -> Any:
    """Answer one request as django-cors-headers' `CorsMiddleware.__acall__`."""
    policy = _current_policy(self)
    if policy is None:
        return await self._corsfast_acall(request)
    response = policy.before(request)
    if response is None:
        result: Awaitable[Any] = self.get_response(request)
        policy.check_awaitable(result)
        response = await result
    policy.answer(request, response, self._corsfast_counts, self._corsfast_refused, self._corsfast_report)
    return response
