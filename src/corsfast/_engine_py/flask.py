"""The flask-cors dialect (`corsfast.flask`): the twin of `_engine_c_flask.pxi`.

flask-cors 6.0.5 adds its headers to Werkzeug responses from two hooks: an `after_request`
function (the `CORS` extension, one per `init_app`) and a view wrapper (`@cross_origin`).
Both resolve their options into a `FlaskPolicy` once, instead of flask-cors' per-request
work (the decorator rebuilds its options on every request); a request then costs a few
dictionary lookups and one `list.extend` on the response's header list.

- `FlaskPolicy`: one resolved option set (a resource's, or a decorated view's). Given the
  request's method and its four CORS header values it returns the `(name, value)` tuples
  flask-cors would add, in its order. Origin verdicts, Access-Control-Request-Method checks
  and Access-Control-Request-Headers answers are cached per value (bounded, cleared when
  full).
- `FlaskResources` + `flask_after_request`: the extension's ordered resources, with the
  request path's resource cached.
- `FlaskView` + `flask_view_call`: the decorator's view and options; the options are
  compiled again only when the `CORS_*` app config or a mutable option value changes, which
  is when flask-cors' per-request rebuild would give a different answer.
- `FlaskContext`: how to reach Flask's current app and request and Werkzeug's header
  classes, given by the shim (the engine imports neither Flask nor Werkzeug).

The answers differ from flask-cors only where the README's "Differences from flask-cors"
says: origin patterns are full-matched; the path is matched as Flask decoded it (once); an
Origin or requested header name holding control characters never matches.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterable
from typing import Any, Optional

from .._observe.reasons import (
    ALLOWED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PREFLIGHT,
    PRIVATE_NETWORK_NOT_ALLOWED,
    REASONS,
    SIMPLE,
)
from .._options import DEFAULT_CACHE_SIZE, DEFAULT_MAX_ORIGIN_LENGTH
from .counts import DecisionCounts, RefusedOrigins, counted
from .policy import CacheInfo

__all__ = ("FlaskEntry", "FlaskPolicy")

StrHeader = tuple[str, str]

ACL_ORIGIN = "Access-Control-Allow-Origin"
ACL_METHODS = "Access-Control-Allow-Methods"
ACL_ALLOW_HEADERS = "Access-Control-Allow-Headers"
ACL_EXPOSE_HEADERS = "Access-Control-Expose-Headers"
ACL_CREDENTIALS = "Access-Control-Allow-Credentials"
ACL_MAX_AGE = "Access-Control-Max-Age"
ACL_RESPONSE_PRIVATE_NETWORK = "Access-Control-Allow-Private-Network"
FLASK_CORS_EVALUATED = "_FLASK_CORS_EVALUATED"
"""The response attribute flask-cors' decorator sets; both libraries skip a response that has it."""

_VARY_ORIGIN: tuple[StrHeader, ...] = (("Vary", "Origin"),)
_NOTHING: tuple[StrHeader, ...] = ()
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_CACHED_LENGTH = 8192
"""Longer Access-Control-Request-Headers values (and longer paths than DEFAULT_MAX_ORIGIN_LENGTH)
are answered without being cached, so a cache's memory stays bounded by entries times length."""
_SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))
METHOD_SENT = 1
"""A cached Access-Control-Request-Method verdict's bit: flask-cors' test passes, the preflight headers are sent."""
METHOD_REFUSED = 2
"""Its other bit: a browser refuses the method given that answer."""


def _check_cache_size(cache_size: object) -> None:
    """Raise as the compiled engine's `Py_ssize_t cache_size` argument does."""
    if isinstance(cache_size, bool) or not isinstance(cache_size, int):
        raise TypeError(f"cache_size must be an int, got {type(cache_size).__name__}")
    if cache_size < 0:
        raise ValueError(f"cache_size must be >= 0, got {cache_size!r}")


def _require_str(value: object) -> None:
    if value.__class__ is not str:
        raise TypeError(f"Expected str, got {type(value).__name__}")


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


def _header_value(value: object) -> str:
    """Return `value` as Werkzeug's `Headers.add` stores it (`str()` unless it is a str)."""
    return value if isinstance(value, str) else str(value)


class _BoundedCache(dict):  # type: ignore[type-arg]
    """A dict bounded by `maxsize` entries: a full cache is cleared before the next store.

    Lookups are plain `dict.get`; a store takes a lock, so that no thread switch between the
    size check and the store lets the cache grow past its bound.
    """

    __slots__ = ("_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.maxsize = maxsize

    def store(self, key: Any, value: Any) -> None:
        if self.maxsize:
            with self._lock:
                if len(self) >= self.maxsize:
                    self.clear()
                self[key] = value


class FlaskEntry:
    """The headers one Origin value gets (flask-cors' `get_cors_headers` for that origin), and
    the reason counted for it (allowed, no_origin, origin_not_allowed or origin_invalid)."""

    __slots__ = ("active", "head", "reason", "simple", "tail")

    active: bool
    """False when flask-cors adds no header at all (origin refused, or no Origin and not `always_send`)."""
    head: tuple[StrHeader, ...]
    """Access-Control-Allow-Origin, -Expose-Headers, -Allow-Credentials (those that apply)."""
    tail: tuple[StrHeader, ...]
    """`Vary: Origin` when flask-cors adds it, else empty."""
    simple: tuple[StrHeader, ...]
    """`head + tail`: the whole answer to a request that is neither OPTIONS nor private-network."""
    reason: int
    """The reason number counted for a request with this Origin (a preflight's may be another)."""

    def __init__(
        self, active: bool, head: tuple[StrHeader, ...], tail: tuple[StrHeader, ...], reason: int = ALLOWED
    ) -> None:
        if not 0 <= reason < len(REASONS):
            raise ValueError(f"no such reason: {reason}")
        self.active = bool(active)
        self.head = head
        self.tail = tail
        self.simple = head + tail
        self.reason = reason


_NOT_ALLOWED = FlaskEntry(False, (), (), ORIGIN_NOT_ALLOWED)
_INVALID = FlaskEntry(False, (), (), ORIGIN_INVALID)
_NO_ORIGIN = FlaskEntry(False, (), (), NO_ORIGIN)


def _split_rules(rules: Iterable[Any]) -> tuple[frozenset[str], tuple[Any, ...], tuple[re.Pattern[str], ...]]:
    """Return flask-cors' resolved patterns as (casefolded literals, other objects, compiled patterns).

    flask-cors compares a literal `p` with `str(value).casefold() == str(p).casefold()`, and
    falls back to `value == p` when `str()` raises.
    """
    literals = set()
    others = []
    patterns = []
    for rule in rules:
        if isinstance(rule, re.Pattern):
            patterns.append(rule)
            continue
        try:
            literals.add(str(rule).casefold())
        except Exception:
            others.append(rule)
    return frozenset(literals), tuple(others), tuple(patterns)


class FlaskPolicy:
    """Return the headers flask-cors 6.0.5 adds for one resolved option set.

    `options` has the attributes of `corsfast.flask.core.FlaskOptions` (flask-cors'
    `_ComputedCorsOptions`): origin and header rules already resolved into literals and
    compiled patterns, `methods` and `expose_headers` joined into strings.
    """

    def __init__(self, options: Any, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        _check_cache_size(cache_size)
        self.options = options
        self.automatic_options = bool(options.automatic_options)
        origins = list(options.origins)
        self._allow_all = bool(options.allow_all_origins)
        self._send_wildcard = bool(options.send_wildcard)
        self._credentials = bool(options.supports_credentials)
        self._always_send = bool(options.always_send)
        self._vary_header = bool(options.vary_header)
        self._literals, self._others, self._patterns = _split_rules(origins)
        self._header_literals, self._header_others, self._header_patterns = _split_rules(options.allow_headers)
        # Vary: Origin needs an answer that is not `*` and an origin set that can vary.
        self._vary_static = len(origins) > 1 or bool(self._patterns)
        tail: list[StrHeader] = []
        if self._credentials:
            tail.append((ACL_CREDENTIALS, "true"))
        self._expose: tuple[StrHeader, ...] = ()
        if options.expose_headers:
            self._expose = ((ACL_EXPOSE_HEADERS, _header_value(options.expose_headers)),)
        self._credentials_header: tuple[StrHeader, ...] = tuple(tail)
        self._methods: Optional[str] = options.methods or None
        # Access-Control-Allow-Methods as a browser reads it: a comma-separated list.
        self._method_tokens = frozenset(
            token.strip(" \t") for token in (self._methods.split(",") if isinstance(self._methods, str) else ())
        )
        self._private_network_allowed = bool(options.allow_private_network)
        self._raw_max_age = options.max_age
        preflight: list[StrHeader] = []
        if options.max_age:
            preflight.append((ACL_MAX_AGE, _header_value(options.max_age)))
        if self._methods is not None:
            preflight.append((ACL_METHODS, _header_value(self._methods)))
        self._preflight_tail = tuple(preflight)
        self._private_network = (ACL_RESPONSE_PRIVATE_NETWORK, "true" if options.allow_private_network else "false")
        self._maxsize = cache_size
        self._cache = _BoundedCache(cache_size)
        self._method_cache = _BoundedCache(cache_size)
        self._names_cache = _BoundedCache(cache_size)
        self._hits = itertools.count()
        self._misses = itertools.count()
        self._no_origin = self._make_entry(None)

    # -- origins -----------------------------------------------------------------------

    def _origin_matches(self, origin: str) -> bool:
        """Return True when a rule allows `origin` (one without control characters)."""
        if self._allow_all:
            return True  # the compiled `.*` full-matches any string without a newline
        if origin.casefold() in self._literals:
            return True
        for other in self._others:
            if origin == other:
                return True
        for pattern in self._patterns:
            if pattern.fullmatch(origin) is not None:
                return True
        return False

    def _make_entry(self, origin: Optional[str]) -> FlaskEntry:
        """Return flask-cors' `get_cors_origins` + `get_cors_headers` answer for `origin`, as an entry."""
        to_set: list[str]
        if origin:
            if self._allow_all and self._send_wildcard:
                to_set = ["*"]
            elif _has_control(origin):
                return _INVALID  # never reflect a value that breaks or changes header framing
            elif self._origin_matches(origin):
                to_set = [origin]
            else:
                return _NOT_ALLOWED
        elif self._always_send:
            if self._allow_all:
                if self._credentials:
                    return _NO_ORIGIN
                to_set = ["*"]
            else:
                to_set = sorted(o for o in self.options.origins if isinstance(o, str))
                if not to_set:
                    return _NO_ORIGIN
        else:
            return _NO_ORIGIN
        # flask-cors keeps the first value of a header and drops empty ones.
        first = to_set[0]
        head: tuple[StrHeader, ...] = ((ACL_ORIGIN, first),) if first else ()
        head += self._expose + self._credentials_header
        vary = self._vary_header and first != "*" and (self._vary_static or len(to_set) > 1)
        return FlaskEntry(True, head, _VARY_ORIGIN if vary else (), ALLOWED if origin else NO_ORIGIN)

    def lookup(self, origin: Optional[str]) -> FlaskEntry:
        """Return the entry for a request's Origin value (None or "" when it has none)."""
        if origin is None:
            return self._no_origin
        _require_str(origin)
        if not origin:
            return self._no_origin
        entry = self._cache.get(origin)
        if entry is not None:
            next(self._hits)
            return entry  # type: ignore[no-any-return]
        return self._miss(origin)

    def _miss(self, origin: str) -> FlaskEntry:
        """Return the entry for an Origin not in the cache, and cache it (bounded, short values only)."""
        next(self._misses)
        entry = self._make_entry(origin)
        if len(origin) <= DEFAULT_MAX_ORIGIN_LENGTH:
            self._cache.store(origin, entry)
        return entry

    def is_allowed_origin(self, origin: str) -> bool:
        """Return True when a request with this Origin gets CORS headers."""
        return self.lookup(origin).active

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(counted(self._hits), counted(self._misses), self._maxsize, len(self._cache))

    def cache_clear(self) -> None:
        """Empty the caches and reset the origin cache's statistics."""
        self._cache.clear()
        self._method_cache.clear()
        self._names_cache.clear()
        self._hits = itertools.count()
        self._misses = itertools.count()

    # -- preflights --------------------------------------------------------------------

    def _method_verdict(self, request_method: str) -> int:
        """Return METHOD_SENT when flask-cors' test passes (the upper-cased method is a
        *substring* of the methods string), plus METHOD_REFUSED when a browser refuses the
        method given that answer: not safelisted and not listed (`*` counts only without
        credentials)."""
        found: Optional[int] = self._method_cache.get(request_method)
        if found is None:
            upper = request_method.upper()
            sent = bool(upper) and self._methods is not None and upper in self._methods
            found = METHOD_SENT if sent else 0
            tokens = self._method_tokens
            if request_method not in _SAFELISTED_METHODS and not (
                sent and (request_method in tokens or (not self._credentials and "*" in tokens))
            ):
                found |= METHOD_REFUSED
            if len(request_method) <= MAX_CACHED_LENGTH:
                self._method_cache.store(request_method, found)
        return found

    def _header_name_allowed(self, name: str) -> bool:
        if _has_control(name):
            return False
        if name.casefold() in self._header_literals:
            return True
        for other in self._header_others:
            if name == other:
                return True
        for pattern in self._header_patterns:
            # flask-cors runs header patterns with `match` (a prefix): kept, it only widens
            # which requested names are echoed.
            if pattern.match(name) is not None:
                return True
        return False

    def allow_headers(self, request_headers: str) -> Optional[str]:
        """Return Access-Control-Allow-Headers for an Access-Control-Request-Headers value, or None.

        flask-cors' `get_allow_headers`: the requested names that match, stripped, sorted and
        joined with ", "; None for an empty value. Answers are cached per value.
        """
        if not request_headers:
            return None
        _require_str(request_headers)
        return self._headers_answer(request_headers)[0]

    def _headers_answer(self, request_headers: str) -> tuple[str, Optional[str]]:
        """Return `(Access-Control-Allow-Headers, the first requested name a browser finds
        missing from it or None)` for a non-empty Access-Control-Request-Headers value."""
        found: Optional[tuple[str, Optional[str]]] = self._names_cache.get(request_headers)
        if found is None:
            names = [name.strip() for name in request_headers.split(",")]
            allowed = [name for name in names if self._header_name_allowed(name)]
            found = (", ".join(sorted(allowed)), _missing_header(names, allowed, self._credentials))
            if len(request_headers) <= MAX_CACHED_LENGTH:
                self._names_cache.store(request_headers, found)
        return found

    def _refused_header(self, request_method: object, request_headers: object) -> Optional[str]:
        """Return the first requested header name a browser finds not allowed (a refusal's detail)."""
        if request_headers.__class__ is not str or not request_headers:
            return None
        if request_method.__class__ is str and self._method_verdict(request_method) & METHOD_SENT:
            return self._headers_answer(request_headers)[1]
        return _missing_header([name.strip() for name in request_headers.split(",")], (), self._credentials)

    # -- requests ----------------------------------------------------------------------

    def cors_headers(
        self,
        method: str,
        origin: Optional[str],
        request_method: Optional[str],
        request_headers: Optional[str],
        private_network: Optional[str],
    ) -> tuple[StrHeader, ...]:
        """Return the `(name, value)` headers flask-cors adds to the response, in its order.

        `method` is the request's method; the others are the request's Origin,
        Access-Control-Request-Method, -Request-Headers and -Request-Private-Network values
        (None when absent).
        """
        return self.entry_headers(self.lookup(origin), method, request_method, request_headers, private_network)

    def entry_headers(
        self,
        entry: FlaskEntry,
        method: str,
        request_method: Optional[str],
        request_headers: Optional[str],
        private_network: Optional[str],
    ) -> tuple[StrHeader, ...]:
        """Return `cors_headers` for an origin already looked up (`lookup`): the request's
        other values are only read, and checked to be str, when the origin gets headers."""
        return self._entry_headers(entry, method, request_method, request_headers, private_network)[0]

    def counted_headers(
        self,
        counts: DecisionCounts,
        refused: Optional[RefusedOrigins],
        method: str,
        origin: Optional[str],
        request_method: Optional[str],
        request_headers: Optional[str],
        private_network: Optional[str],
    ) -> tuple[StrHeader, ...]:
        """Return `cors_headers(...)`, after counting the request in `counts` by kind and
        reason, and noting a refusal in `refused` (None: not noted), as the hooks do."""
        if counts.__class__ is not DecisionCounts:
            raise TypeError(f"Expected DecisionCounts, got {type(counts).__name__}")
        if refused is not None and refused.__class__ is not RefusedOrigins:
            raise TypeError(f"Expected RefusedOrigins, got {type(refused).__name__}")
        return _counted_headers(
            self, counts, refused, self.lookup(origin), origin, method, request_method, request_headers, private_network
        )

    def _entry_headers(
        self,
        entry: FlaskEntry,
        method: str,
        request_method: Optional[str],
        request_headers: Optional[str],
        private_network: Optional[str],
    ) -> tuple[tuple[StrHeader, ...], int]:
        """Return the headers for an origin already looked up, and the reason counted for the
        request (for a preflight, the browser's verdict on this answer)."""
        if entry.__class__ is not FlaskEntry:
            raise TypeError(f"Expected FlaskEntry, got {type(entry).__name__}")
        reason = entry.reason
        if not entry.active:
            return _NOTHING, reason
        if private_network is not None:
            _require_str(private_network)
        pna = private_network == "true"
        preflight = method == "OPTIONS"
        if not pna and not preflight:
            return entry.simple, reason
        headers = list(entry.head)
        if pna:
            headers.append(self._private_network)
        if preflight and request_method is not None:
            _require_str(request_method)
            if request_method:
                verdict = self._method_verdict(request_method)
                header_refused = False
                if verdict & METHOD_SENT:
                    if request_headers is not None:
                        _require_str(request_headers)
                        if request_headers:
                            allowed, missing = self._headers_answer(request_headers)
                            if allowed:
                                headers.append((ACL_ALLOW_HEADERS, allowed))
                            header_refused = missing is not None
                    headers.extend(self._preflight_tail)
                else:
                    # No Access-Control-Allow-Headers: every requested name is refused.
                    header_refused = self._refused_header(request_method, request_headers) is not None
                if reason == ALLOWED:
                    if verdict & METHOD_REFUSED:
                        reason = METHOD_NOT_ALLOWED
                    elif header_refused:
                        reason = HEADER_NOT_ALLOWED
                    elif pna and not self._private_network_allowed:
                        reason = PRIVATE_NETWORK_NOT_ALLOWED
        headers.extend(entry.tail)
        return tuple(headers), reason


def _missing_header(names: list[str], allowed: Iterable[str], credentials: bool) -> Optional[str]:
    """Return the first of the requested `names` a browser finds missing from the answered
    `allowed` names (compared case-insensitively; `*` covers all but Authorization, and only
    without credentials), or None."""
    listed = {name.lower() for name in allowed}
    wildcard = not credentials and "*" in listed
    for name in names:
        if not name:
            continue
        lowered = name.lower()
        if lowered in listed or (wildcard and lowered != "authorization"):
            continue
        return name
    return None


def _counted_headers(
    policy: FlaskPolicy,
    counts: Optional[DecisionCounts],
    refused: Optional[RefusedOrigins],
    entry: FlaskEntry,
    origin: Any,
    method: Any,
    request_method: Any,
    request_headers: Any,
    private_network: Any,
) -> tuple[StrHeader, ...]:
    """Return `policy`'s headers for a looked-up origin, counting the request in `counts`
    (None: not counted): a preflight is OPTIONS with an Access-Control-Request-Method, as
    flask-cors tells it apart."""
    block, reason = policy._entry_headers(entry, method, request_method, request_headers, private_network)
    if counts is not None:
        kind = PREFLIGHT if request_method is not None and method == "OPTIONS" and request_method else SIMPLE
        counts.count(kind, reason)
        if reason > NO_ORIGIN and refused is not None:
            _note_refusal(policy, refused, reason, origin, request_method, request_headers)
    return block


def _note_refusal(
    policy: FlaskPolicy,
    refused: RefusedOrigins,
    reason: int,
    origin: Any,
    request_method: Any,
    request_headers: Any,
) -> None:
    """Note a refused request: its origin, and the method or first header name refused."""
    if reason == METHOD_NOT_ALLOWED:
        refused.note(reason, origin, "method", request_method)
    elif reason == HEADER_NOT_ALLOWED:
        refused.note(reason, origin, "header", policy._refused_header(request_method, request_headers))
    else:
        refused.note(reason, origin)
