"""Header operations, origin entries and the policy: the twin of `_engine_c_policy.pxi`.

A `CORSPolicy` is compiled once from validated `CORSOptions`. Per request it does one
cache lookup keyed on the raw Origin bytes, and then either answers a preflight from
prebuilt header tuples or gives the block of `(bytes, bytes)` header tuples that the
app's response start gets.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Union

from .._cache_info import CacheInfo
from .._observe.reasons import (
    ALLOWED,
    FUNC_ERROR,
    FUNC_REFUSED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PRIVATE_NETWORK_NOT_ALLOWED,
    REASONS,
)
from .._options import SAFELISTED_HEADERS, WATCH_DICT, WATCH_PREFLIGHT, WATCH_SIMPLE, CORSOptions
from .counts import DecisionCounts, RefusedOrigins, counted
from .origins import _label_between, _log_failure, _port_start, _truth

__all__ = ("CORSPolicy", "CacheInfo", "OriginEntry")

N_REASONS = len(REASONS)

Header = tuple[bytes, bytes]
Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Op = tuple[bytes, Union[bytes, str, None]]
"""A header operation: set `name` to `value`, or merge Origin into Vary when value is None
or `VARY_FIRST`."""

ORIGIN = b"origin"
ACRM = b"access-control-request-method"
ACRH = b"access-control-request-headers"
ACRPN = b"access-control-request-private-network"
ACAO = b"access-control-allow-origin"
ACAC = b"access-control-allow-credentials"
ACEH = b"access-control-expose-headers"
ACAM = b"access-control-allow-methods"
ACAH = b"access-control-allow-headers"
ACMA = b"access-control-max-age"
ACAPN = b"access-control-allow-private-network"
VARY = b"vary"
CONTENT_LENGTH = b"content-length"
CONTENT_TYPE = b"content-type"

TOUCHED_RESPONSE_HEADERS = frozenset((ACAO, ACAC, ACEH, VARY))
"""Response headers the engine sets on an app's response; when the app set one itself,
the slow path merges instead of appending."""

VARY_FIRST = "first"
"""The value of a Vary operation that joins Origin to the first Vary value only and drops the
others, as Starlette's `add_vary_header` did before 1.7 (None: to every Vary value)."""
STARLETTE_FAILURES = (b"origin", b"method", b"headers", b"private-network")

MAX_MIRRORED_LENGTH = 8192
"""Longest Access-Control-Request-Headers value the native dialect mirrors back."""
MAX_REMEMBERED_HEADER_NAMES = 512
"""Longest Access-Control-Request-Headers value whose verdict the Starlette dialect remembers."""
MAX_REMEMBERED_HEADER_LISTS = 1024
"""Remembered Access-Control-Request-Headers verdicts per policy (cleared when full)."""

_STRIP = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0"
"""What `str.strip()` removes from a latin-1 decoded header (Starlette strips str)."""
_CONTROL = bytes(range(0x20)) + b"\x7f"
_TCHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
NEVER = float("inf")
"""The `expires` of an entry that a rule decided: it never goes stale."""


def _origin_refusal(refused: OriginEntry, origin: bytes) -> OriginEntry:
    """Return a refused entry answering as `refused`, for `origin` alone: its refusals are
    counted on it (one step, no lookup), as the origin cache holds it."""
    entry = OriginEntry.__new__(OriginEntry)
    for name in ("allowed", "ops", "block", "preflight_head", "expires", "reason", "simple_reason", "undecided"):
        setattr(entry, name, getattr(refused, name))
    entry._wsgi_block = None
    entry.origin = origin
    entry.refusals = itertools.count()
    return entry


class OriginEntry:
    """The verdict for one Origin value and the header tuples that follow from it."""

    __slots__ = (
        "_wsgi_block",
        "allowed",
        "block",
        "expires",
        "ops",
        "origin",
        "preflight_head",
        "reason",
        "refusals",
        "simple_reason",
        "undecided",
    )

    allowed: bool
    ops: tuple[Op, ...]
    """What an actual response gets, as operations on the app's header list."""
    block: tuple[Header, ...]
    """The same operations applied to an empty list: appended when the app set none of them."""
    preflight_head: tuple[Header, ...]
    """The first headers of a preflight answer for this origin."""
    expires: float
    """When a cached verdict of `allow_origin_func` goes stale (the policy's clock); `NEVER`
    for every other entry."""
    reason: int
    """The reason number of this verdict (`corsfast._observe.reasons`): allowed, or why not."""
    simple_reason: int
    """The reason a browser gives a simple response with these headers: `reason`, but allowed
    for a refused entry that still answers `Access-Control-Allow-Origin: *` (Starlette's
    allow-all answers every origin so)."""

    def __init__(
        self, allowed: bool, ops: tuple[Op, ...], preflight_head: tuple[Header, ...], reason: int = -1
    ) -> None:
        if not isinstance(reason, int):
            raise TypeError(f"reason must be an int, got {type(reason).__name__}")
        if reason < 0:
            reason = ALLOWED if allowed else ORIGIN_NOT_ALLOWED
        elif reason >= N_REASONS or (reason == ALLOWED) != bool(allowed):
            raise ValueError(f"reason {reason} does not go with allowed={allowed}")
        self.reason = reason
        self.simple_reason = reason
        if not allowed and any(op[0] == ACAO and op[1] == b"*" for op in ops):
            self.simple_reason = ALLOWED
        self.allowed = allowed
        self.ops = ops
        self.block = tuple(_apply_ops([], ops, dedupe_vary=True))
        self.preflight_head = preflight_head
        self.expires = NEVER
        self._wsgi_block: list[tuple[str, str]] | None = None
        """`block` as latin-1 str pairs, made on first use (the WSGI path)."""
        self.origin: bytes | None = None
        """The Origin a refused entry of the origin cache stands for, whose refusals it counts
        (`refusals`, folded into the top refused origins when the cache is cleared); None for
        an entry shared by many origins."""
        self.refusals: itertools.count[int] | None = itertools.count()
        """The refusals counted on this entry; None once it left the cache (retired)."""
        self.undecided = False
        """True for the entry `allow_origin_func` must decide (the rules refused its origin)."""


def _authorization_asked(names: bytes) -> bytes | None:
    """Return the name `Authorization` as an Access-Control-Request-Headers value spells it,
    or None when it does not ask for it."""
    for name in names.split(b","):
        name = name.strip(b" \t")
        if name.lower() == b"authorization":
            return name
    return None


def _is_token(value: bytes) -> bool:
    return bool(value) and _TCHARS.issuperset(value)


def _require_bytes(value: object) -> None:
    """Raise TypeError unless `value` is exactly `bytes` (what the compiled engine's typed arguments take)."""
    if value.__class__ is not bytes:
        raise TypeError(f"Expected bytes, got {type(value).__name__}")


def _is_token_list(value: bytes) -> bool:
    """Return True when `value` is a comma-separated list of tokens with optional spaces."""
    _require_bytes(value)
    if not value or len(value) > MAX_MIRRORED_LENGTH:
        return False
    for element in value.split(b","):
        if not _is_token(element.strip(b" \t")):
            return False
    return True


def _set_slot(headers: list[Header], slot: int, header: Header) -> None:
    """Put `header` where Starlette's dict assignment puts it: at its key's index, or last."""
    if slot >= 0:
        headers[slot] = header
    else:
        headers.append(header)


def _vary_has_origin(values: list[bytes]) -> bool:
    for value in values:
        for token in value.split(b","):
            token = token.strip(b" \t").lower()
            if token == b"origin" or token == b"*":
                return True
    return False


def _apply_ops(headers: list[Any], ops: Iterable[Op], dedupe_vary: bool) -> list[Any]:
    """Return `headers` with `ops` applied in place, as Starlette's `MutableHeaders` would.

    Setting a name replaces its first occurrence in place and drops the others, or appends
    it. The Vary operation joins every Vary value and "Origin" into one line (the native
    dialect leaves Vary alone when it already names Origin or `*`), or with `VARY_FIRST` the
    first Vary value and "Origin".
    """
    for name, value in ops:
        if value is None:
            existing = [v for k, v in headers if k == VARY]
            if dedupe_vary and _vary_has_origin(existing):
                continue
            value = b", ".join([*existing, b"Origin"])
        elif value is VARY_FIRST:
            first = next((v for k, v in headers if k == VARY), None)
            value = b"Origin" if first is None else first + b", Origin"
        found = [index for index, (key, _) in enumerate(headers) if key == name]
        for index in reversed(found[1:]):
            del headers[index]
        if found:
            headers[found[0]] = (name, value)
        else:
            headers.append((name, value))
    return headers


class CORSPolicy:
    """Return CORS answers for one compiled configuration; built once, shared by all requests."""

    _no_origin: OriginEntry
    _denied: OriginEntry  # refused by the rules (origin_not_allowed)
    _invalid: OriginEntry  # an Origin no rule may allow (origin_invalid)
    _func_refused: OriginEntry  # refused by allow_origin_func, for one request
    _func_failed: OriginEntry  # allow_origin_func raised, for one request

    def __init__(self, options: CORSOptions) -> None:
        if not isinstance(options, CORSOptions):
            raise TypeError(f"CORSPolicy takes CORSOptions, got {type(options).__name__}")
        if options.dialect not in ("native", "starlette", "kui"):
            raise ValueError(f"unsupported dialect {options.dialect!r}")
        self.options = options
        self._native = options.dialect == "native"
        self._kui = options.dialect == "kui"
        self._allow_all = options.allow_all_origins
        self._exact = options.exact_origins
        self._wildcards = options.wildcard_origins
        self._port_wildcards = options.port_wildcard_origins
        self._patterns = options.origin_patterns
        self._max_origin_length = options.max_origin_length
        self._maxsize = options.cache_size
        self._cache: dict[bytes, OriginEntry] = {}
        self._granted: dict[bytes, OriginEntry] = {}
        self._names_verdicts: dict[bytes, bool] = {}
        """Access-Control-Request-Headers value -> every name allowed (the Starlette dialect)."""
        # The dynamic origin check (native dialect): asked for the eligible origins the rules
        # refuse, which the cache holds as `_undecided`; with a ttl its verdicts are cached
        # too, as entries that expire (`_timed`: only such a policy reads the clock).
        self._func = options.origin_func
        self._func_async = options.origin_func_async
        self._ttl = options.origin_func_ttl
        self._timed = self._func is not None and self._ttl > 0 and self._maxsize > 0
        self._clock: Callable[[], float] = time.monotonic
        self._undecided: OriginEntry | None = None
        self._owner = threading.get_ident()  # the thread that compiled it (see `_ThreadView`)
        # Held only on a miss, between the size check and the store, so that no thread switch
        # there lets the cache grow past its bound (hits take no lock).
        self._store_lock = threading.Lock()
        self._hits = itertools.count()
        self._misses = itertools.count()
        # Starlette reflects the origin instead of `*` when credentials are allowed.
        self._explicit = not self._allow_all or options.allow_credentials
        self._methods = frozenset(m.encode("latin-1") for m in options.allow_methods)
        self._allow_all_headers = options.allow_all_headers
        self._allow_all_methods = options.allow_all_methods
        self._allow_private_network = options.allow_private_network
        # Only the Starlette dialect reads state that code may change (its attributes).
        self._touched = TOUCHED_RESPONSE_HEADERS
        self._hooked = False
        self._protocol_preflight = False
        self._protocol_simple = False
        self._faithful = False
        self._watched: tuple[tuple[int, Any, tuple[Any, ...], Any, int], ...] = ()
        # The installed Starlette release's switches (the Starlette dialect; see StarletteTables).
        self._no_origin_passthrough = False
        self._cookie_reflect = False
        self._private_network_header = True
        self._cookie_entries: dict[bytes, OriginEntry] = {}
        self._counts = DecisionCounts()
        self._refused: RefusedOrigins | None = None
        if self._native:
            self._compile_native(options)
        elif self._kui:
            self._compile_kui(options)
        else:
            self._compile_starlette(options)
        self._compile_refusals(options)

    def _compile_refusals(self, options: CORSOptions) -> None:
        # One refused entry per reason, all answering alike (the rules' refusal).
        denied: OriginEntry = self._denied
        no_origin: OriginEntry = self._no_origin
        self._no_origin = OriginEntry(False, no_origin.ops, no_origin.preflight_head, NO_ORIGIN)
        self._denied = OriginEntry(False, denied.ops, denied.preflight_head, ORIGIN_NOT_ALLOWED)
        self._invalid = OriginEntry(False, denied.ops, denied.preflight_head, ORIGIN_INVALID)
        self._func_refused = OriginEntry(False, denied.ops, denied.preflight_head, FUNC_REFUSED)
        self._func_failed = OriginEntry(False, denied.ops, denied.preflight_head, FUNC_ERROR)
        if self._func is not None:
            # Answered as refused wherever it is not decided (it never is, but a leak is safe).
            self._undecided = OriginEntry(False, denied.ops, denied.preflight_head, FUNC_REFUSED)
            self._undecided.undecided = True
        if self._starlette_rules():
            return
        # A native or Kui preflight answer never refuses a method or a header itself; the
        # browser does, from the lists the answer carries: the counts say what it concludes.
        # A native answer to "*" mirrors what was asked for; Kui writes "*" itself, which a
        # browser reads as a wildcard only without credentials, and never for Authorization.
        credentials = options.allow_credentials
        mirrors = not self._kui
        self._any_method = (self._allow_all_methods and mirrors) or ("*" in options.allow_methods and not credentials)
        self._any_header = (self._allow_all_headers and mirrors) or ("*" in options.allow_headers and not credentials)
        self._browser_methods = frozenset(self._methods | {b"GET", b"HEAD", b"POST"})
        self._allowed_header_names = frozenset(
            [h.lower().encode("latin-1") for h in options.allow_headers]
            + [h.lower().encode("latin-1") for h in SAFELISTED_HEADERS]
        )
        self._authorization_unlisted = (
            self._any_header and not mirrors and b"authorization" not in self._allowed_header_names
        )
        """True when "*" allows every header but Authorization (Kui's literal "*")."""

    def _starlette_rules(self) -> bool:
        return not self._native and not self._kui

    # -- compilation -------------------------------------------------------------------

    def _compile_native(self, options: CORSOptions) -> None:
        credentials: tuple[Op, ...] = ((ACAC, b"true"),) if options.allow_credentials else ()
        expose: tuple[Op, ...] = ()
        if options.expose_headers:
            expose = ((ACEH, ", ".join(dict.fromkeys(options.expose_headers)).encode("latin-1")),)
        self._simple_tail = credentials + expose
        self._no_origin = OriginEntry(False, ((VARY, None),), ())
        self._denied = self._no_origin
        self._static_allowed: OriginEntry | None = None
        if self._allow_all and not options.allow_credentials:
            # Answering `*` to every origin does not depend on the Origin: no Vary.
            self._static_allowed = OriginEntry(True, ((ACAO, b"*"), *self._simple_tail), ((ACAO, b"*"),))
        allow_headers = list(dict.fromkeys(h for h in options.allow_headers))
        lowered = {h.lower() for h in allow_headers}
        allow_headers += [h for h in SAFELISTED_HEADERS if h.lower() not in lowered]
        self._preflight_methods: Header | None = None
        if not self._allow_all_methods and options.allow_methods:
            self._preflight_methods = (ACAM, ", ".join(dict.fromkeys(options.allow_methods)).encode("latin-1"))
        self._preflight_headers: Header | None = None
        if not self._allow_all_headers:
            self._preflight_headers = (ACAH, ", ".join(allow_headers).encode("latin-1"))
        self._preflight_max_age: Header = (ACMA, str(options.max_age).encode("ascii"))
        self._preflight_credentials = ((ACAC, b"true"),) if options.allow_credentials else ()

    def _compile_kui(self, options: CORSOptions) -> None:
        # Kui's config_dict order; empty values are left out, as Kui does. Kui joins
        # allow_headers from a set (its order varies per process); this one is sorted.
        block: list[Header] = [
            (ACAM, ", ".join(options.allow_methods).encode("latin-1")),
            (ACAH, ", ".join(sorted(set(SAFELISTED_HEADERS) | set(options.allow_headers))).encode("latin-1")),
            (ACEH, ", ".join(options.expose_headers).encode("latin-1")),
            (ACAC, b"true" if options.allow_credentials else b"false"),
            (ACMA, str(options.max_age).encode("ascii")),
        ]
        self._kui_block = tuple((name, value) for name, value in block if value)
        self._no_origin = OriginEntry(False, ((VARY, None),), ())
        self._denied = self._no_origin
        self._static_allowed = None

    def _compile_starlette(self, options: CORSOptions) -> None:
        tables = options.starlette
        if tables is None:
            raise ValueError("the starlette dialect needs CORSOptions.starlette (see _options.starlette_tables)")
        self._hooked = tables.verdict_hook
        self._protocol_preflight = tables.protocol_preflight
        self._protocol_simple = tables.protocol_simple
        self._faithful = tables.faithful
        self._watched = tables.watched
        self._methods = tables.methods
        self._allowed_header_names = tables.header_names
        self._simple_ops: tuple[Op, ...] = tables.simple
        self._touched = frozenset((*(name for name, _ in tables.simple), ACAO, VARY))
        if self._touched <= TOUCHED_RESPONSE_HEADERS:
            # As the compiled engine: the default names then (a superset: the merge of a name
            # no operation sets keeps it as it is), so both take the same path.
            self._touched = TOUCHED_RESPONSE_HEADERS
        # A simple response reflects the origin when it is allowed, or for any origin with
        # allow-all and credentials (Starlette's two `allow_explicit_origin` branches).
        self._simple_reflect = not self._allow_all or options.allow_credentials
        self._preflight_reflect = tables.explicit_preflight_origin
        self._preflight_prefix = tables.preflight
        self._origin_slot, self._headers_slot, self._private_network_slot = tables.preflight_slots
        self._preflight_content_length = tables.preflight_content_length
        self._preflight_content_type = tables.preflight_content_type
        self._no_origin_passthrough = not tables.vary_always
        self._cookie_reflect = tables.cookie_reflect
        self._private_network_header = tables.private_network_header
        self._reflect_vary: Op = (VARY, None) if tables.vary_always else (VARY, VARY_FIRST)
        refused_vary: tuple[Op, ...] = ((VARY, None),) if tables.vary_always else ()
        self._no_origin = OriginEntry(False, refused_vary, ())
        self._denied = OriginEntry(False, (*self._simple_ops, *refused_vary), self._preflight_prefix)
        self._static_allowed = None
        if not self._simple_reflect and not self._preflight_reflect:
            self._static_allowed = OriginEntry(True, self._denied.ops, self._preflight_prefix)
        # Preflight answers differ only by which checks failed: prebuild the bodies.
        self._preflight_bodies: list[tuple[bytes, Header]] = []
        for mask in range(16):
            failures = [name for bit, name in enumerate(STARLETTE_FAILURES) if mask & (1 << bit)]
            body = b"Disallowed CORS " + b", ".join(failures) if failures else b"OK"
            self._preflight_bodies.append((body, (CONTENT_LENGTH, str(len(body)).encode("ascii"))))

    def _make_entry(self, origin: bytes, allowed: bool) -> OriginEntry:
        if not allowed:
            return self._denied if self._eligible(origin) else self._invalid
        if self._static_allowed is not None:
            return self._static_allowed
        reflected = (ACAO, origin)
        if self._kui:
            return OriginEntry(True, (*self._kui_block, reflected, (VARY, None)), (*self._kui_block, reflected))
        if self._native:
            return OriginEntry(
                True,
                (reflected, *self._simple_tail, (VARY, None)),
                (reflected, *self._preflight_credentials),
            )
        ops = (*self._simple_ops, reflected, self._reflect_vary) if self._simple_reflect else self._denied.ops
        head = self._preflight_prefix
        if self._preflight_reflect:
            slot = self._origin_slot
            head = (*head[:slot], reflected, *head[slot + 1 :]) if slot >= 0 else (*head, reflected)
        return OriginEntry(True, ops, head)

    # -- origin matching ---------------------------------------------------------------

    def _eligible(self, origin: bytes) -> bool:
        """Return False for an Origin no rule may allow (the length cap is checked before)."""
        # Never reflect bytes that a server refuses or that change framing.
        if origin.translate(None, _CONTROL) != origin:
            return False
        # Browsers never send an empty Origin; only Starlette compares it like any string.
        return bool(origin) or not (self._native or self._kui)

    def _match(self, origin: bytes) -> bool:
        if not self._eligible(origin):
            return False
        if self._allow_all or origin in self._exact:
            return True
        for prefix, suffix in self._wildcards:
            if _label_between(origin, prefix, suffix):
                return True
        if self._port_wildcards:
            colon = _port_start(origin)
            if colon > 0:
                host = origin[:colon]
                for prefix, suffix in self._port_wildcards:
                    if host == prefix if not suffix else _label_between(host, prefix, suffix):
                        return True
        if self._patterns:
            text = origin.decode("latin-1")
            for pattern in self._patterns:
                if pattern.fullmatch(text):  # truthiness, as Starlette tests it
                    return True
        return False

    def lookup(self, origin: bytes) -> OriginEntry:
        """Return the entry for a raw Origin value: cached, computed on a miss, and asked of a
        plain `allow_origin_func` when the rules refuse the origin.

        An async `allow_origin_func` cannot be awaited here: TypeError when it would be asked
        (the ASGI middleware awaits it).
        """
        entry = self._lookup(origin)
        if entry.undecided:
            if self._func_async:
                raise TypeError("allow_origin_func is a coroutine function: only the ASGI middleware can await it")
            entry = self._ask(origin, entry)
        return entry

    def _lookup(self, origin: bytes) -> OriginEntry:
        """Return the cached entry for a raw Origin value, computing it on a miss; `_undecided`
        when `allow_origin_func` must decide (the rules refused it, or its verdict expired)."""
        if origin.__class__ is not bytes:  # exactly bytes, as the compiled engine's typed argument
            raise TypeError(f"Expected bytes, got {type(origin).__name__}")
        if len(origin) > self._max_origin_length:
            # Refused before hashing, caching or running any rule on it.
            next(self._misses)
            return self._invalid
        entry = self._cache.get(origin)
        if entry is not None:
            if self._timed and entry.expires != NEVER and not self._clock() < entry.expires:
                next(self._misses)
                return self._undecided  # type: ignore[return-value]  # a stale verdict: ask again
            next(self._hits)
            return entry
        next(self._misses)
        if not self._eligible(origin):
            entry = self._invalid
        elif self._match(origin):
            entry = self._make_entry(origin, True)
        elif self._undecided is not None:
            entry = self._undecided
        else:
            entry = self._denied
        if self._maxsize:
            if not entry.allowed:
                entry = _origin_refusal(entry, origin)
            with self._store_lock:
                if len(self._cache) >= self._maxsize:
                    # Clearing keeps the bound exact and costs nothing per hit; a flood of
                    # unique origins only costs the pattern runs it would cost anyway.
                    self._clear_cache()
                # Another thread may have stored this origin's entry first, and counted on it.
                entry = self._cache.setdefault(origin, entry)
        return entry

    def _retire(self, entry: OriginEntry) -> None:
        """Fold the refusals counted on an entry leaving the cache into the top refused; a
        request still holding it then counts in the top refused directly (under `_store_lock`)."""
        counter = entry.refusals
        if entry.origin is not None and counter is not None:
            entry.refusals = None
            n = counted(counter)
            if n and self._refused is not None:
                self._refused.add(entry.origin, n)

    def _clear_cache(self) -> None:
        """Empty the origin cache, its entries' refusal counts kept in the top refused
        (under `_store_lock`)."""
        for entry in list(self._cache.values()):
            self._retire(entry)
        self._cache.clear()

    def pending_refusals(self) -> list[tuple[bytes, int]]:
        """Return the refusals counted on the origin cache's entries, as (origin, count)
        pairs: the top refused origins still to be added to the `RefusedOrigins`."""
        pending = []
        for entry in list(self._cache.values()):
            counter = entry.refusals
            if entry.origin is not None and counter is not None:
                n = counted(counter)
                if n:
                    pending.append((entry.origin, n))
        return pending

    def reset_refusals(self) -> None:
        """Set the refusals counted on the origin cache's entries to zero."""
        with self._store_lock:
            for entry in list(self._cache.values()):
                if entry.refusals is not None:  # a retired entry stays retired
                    entry.refusals = itertools.count()

    def pending_lookup(self, origin: bytes) -> OriginEntry | None:
        """Return the entry `lookup` returns for a raw Origin value, or None when an async
        `allow_origin_func` must decide it: await it, then take `func_verdict`'s entry."""
        entry = self._lookup(origin)
        if entry.undecided:
            if self._func_async:
                return None
            entry = self._ask(origin, entry)
        return entry

    def func_verdict(self, origin: bytes, result: object, error: BaseException | None = None) -> OriginEntry:
        """Return the entry for `origin` once an awaited `allow_origin_func` returned `result`
        (cached for the ttl), or the refused entry, logged and not cached, when it raised
        `error` or `result` has no truth value to take."""
        _require_bytes(origin)
        allowed = False
        if error is None:
            try:
                allowed = _truth(result)
            except Exception as failure:
                error = failure
        if error is not None:
            _log_failure(origin, error)
            return self._func_failed
        return self._verdict(origin, allowed, None)

    def _ask(self, origin: bytes, pending: OriginEntry | None = None) -> OriginEntry:
        """Return the entry a plain `allow_origin_func`'s verdict gives `origin` (refused, not
        cached and logged when it raises)."""
        try:
            allowed = _truth(self._func(origin.decode("latin-1")))  # type: ignore[misc]
        except Exception as error:
            _log_failure(origin, error)
            return self._func_failed
        return self._verdict(origin, allowed, pending)

    def _verdict(self, origin: bytes, allowed: bool, pending: OriginEntry | None = None) -> OriginEntry:
        """Return the entry for `allow_origin_func`'s verdict on `origin`, cached until the
        ttl runs out when there is one. Without a ttl a refusal answers with `pending` (the
        origin's own undecided entry, which counts its refusals) when there is one."""
        if not self._timed:
            if allowed:
                return self.granted_entry(origin)
            return pending if pending is not None and pending.origin is not None else self._func_refused
        if allowed:
            entry = self._make_entry(origin, True)
        else:
            entry = OriginEntry(False, self._denied.ops, self._denied.preflight_head, FUNC_REFUSED)
            entry.origin = origin
        entry.expires = self._clock() + self._ttl
        with self._store_lock:
            stale = self._cache.pop(origin, None)
            if stale is not None:  # the verdict it replaces: its refusals kept
                self._retire(stale)
            if len(self._cache) >= self._maxsize:
                self._clear_cache()
            return self._cache.setdefault(origin, entry)

    def is_allowed_origin(self, origin: bytes) -> bool:
        """Return True when the raw Origin header value is allowed by this policy."""
        return self.lookup(origin).allowed

    def text_verdict(self, origin: object) -> int:
        """Return 1 when the str `origin` is allowed, 0 when it is refused, and -1 when this
        policy cannot tell: a container it was compiled from changed, its state is beyond it,
        or `origin` is not text a header can hold (Starlette's `is_allowed_origin`, compiled)."""
        if self._faithful or origin.__class__ is not str or (self._watched and not self.is_current()):
            return -1
        try:
            raw = origin.encode("latin-1")
        except UnicodeEncodeError:
            return -1
        return 1 if self.lookup(raw).allowed else 0

    def granted_entry(self, origin: bytes) -> OriginEntry:
        """Return the entry an allowed `origin` gets whatever the rules say (a hook decided), cached.

        An Origin that never reaches a rule (control characters, over the length cap) gets
        the refused entry: no hook can grant it.
        """
        return self._remembered_entry(self._granted, origin, cookie=False)

    def cookie_entry(self, origin: bytes) -> OriginEntry:
        """Return the entry an allow-all simple response to a request with a Cookie header gets
        before Starlette 1.0: the Origin reflected (cached); the refused entry for an Origin
        that never reaches a rule."""
        return self._remembered_entry(self._cookie_entries, origin, cookie=True)

    def _remembered_entry(self, store: dict[bytes, OriginEntry], origin: bytes, cookie: bool) -> OriginEntry:
        """Return `store`'s entry reflecting `origin` (made on first use, the store bounded by
        the cache size): granted by a hook, or (`cookie`) reflected for a Cookie before
        Starlette 1.0; the refused entry for an Origin that never reaches a rule."""
        _require_bytes(origin)
        if len(origin) > self._max_origin_length:
            return self._invalid
        entry = store.get(origin)
        if entry is not None:
            return entry
        if not self._eligible(origin):
            return self._invalid
        if cookie:
            entry = OriginEntry(True, (*self._simple_ops, (ACAO, origin), self._reflect_vary), self._preflight_prefix)
        else:
            entry = self._make_entry(origin, True)
        if self._maxsize:
            with self._store_lock:
                if len(store) >= self._maxsize:
                    store.clear()
                store[origin] = entry
        return entry

    def is_current(self, uses: int = WATCH_SIMPLE | WATCH_PREFLIGHT) -> bool:
        """Return False when a container read by `uses` requests (all by default) changed in place since."""
        # Equality, not identity as in the compiled engine: equal items are the same header
        # bytes and the same membership, so either test keeps the answers right.
        for kind, container, _, copy, read_by in self._watched:
            if not read_by & uses:
                continue
            if kind == WATCH_DICT:
                if list(container.items()) != copy:
                    return False
            elif container != copy:
                return False
        return True

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(counted(self._hits), counted(self._misses), self._maxsize, len(self._cache))

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        with self._store_lock:
            self._clear_cache()
        self._hits = itertools.count()
        self._misses = itertools.count()

    def _copy(self) -> CORSPolicy:
        """Return the same policy compiled again, by the calling thread, with an empty cache
        and counts of its own (its refusals noted where this policy notes them)."""
        copy = CORSPolicy(self.options)
        copy._clock = self._clock
        copy._refused = self._refused
        return copy

    # -- what is counted ---------------------------------------------------------------

    @property
    def counts(self) -> DecisionCounts:
        """Return the `DecisionCounts` this policy counts its requests in."""
        return self._counts

    def observe(self, counts: DecisionCounts, refused: RefusedOrigins | None) -> None:
        """Count requests in `counts` from now on, and note refused origins in `refused`
        (None: not noted)."""
        if not isinstance(counts, DecisionCounts):
            raise TypeError(
                f"Argument 'counts' has incorrect type (expected DecisionCounts, got {type(counts).__name__})"
            )
        if refused is not None and not isinstance(refused, RefusedOrigins):
            raise TypeError(
                f"Argument 'refused' has incorrect type (expected RefusedOrigins, got {type(refused).__name__})"
            )
        self._counts = counts
        self._refused = refused

    def note_preflight(
        self,
        entry: OriginEntry,
        origin: object,
        request_method: object,
        request_headers: object,
        request_private_network: object,
    ) -> None:
        """Count one preflight answered with `entry`'s verdict (a Kui dialect's answer, which
        refuses no method or header itself), for the reason a browser gives that answer."""
        if not isinstance(entry, OriginEntry):
            raise TypeError(f"Argument 'entry' has incorrect type (expected OriginEntry, got {type(entry).__name__})")
        reason = entry.reason
        if entry.allowed and not self._starlette_rules():
            reason = self._preflight_reason(request_method, request_headers, request_private_network)
        self._note(1, reason, entry, origin, request_method, request_headers)

    def note_simple(self, entry: OriginEntry, origin: object) -> None:
        """Count one request but a preflight answered with `entry`'s verdict."""
        if not isinstance(entry, OriginEntry):
            raise TypeError(f"Argument 'entry' has incorrect type (expected OriginEntry, got {type(entry).__name__})")
        self._note(0, entry.simple_reason, entry, origin, None, None)

    def note(self, kind: int, reason: int, origin: object = None, method: object = None, names: object = None) -> None:
        """Count one request of `kind` (0 simple, 1 preflight) for `reason` (a number); a
        refusal's `origin` is also noted, with the preflight's `method` or header `names`."""
        if not (0 <= kind < 2 and 0 <= reason < N_REASONS):
            raise ValueError(f"no such count: kind {kind}, reason {reason}")
        self._note(kind, reason, None, origin, method, names)

    def _note(self, kind: int, reason: int, entry: OriginEntry | None, origin: Any, method: Any, names: Any) -> None:
        """Count one request answered with `entry` (None: no entry of the cache); a refusal's
        origin is also counted (on the entry when it stands for that origin alone) and logged."""
        self._counts.count(kind, reason)
        if reason > NO_ORIGIN and self._refused is not None:
            counter = None
            if entry is not None and entry.origin is not None and reason == entry.reason:
                with self._store_lock:  # where the cache's clearing retires the entry's count
                    counter = entry.refusals
                    if counter is not None:
                        next(counter)
            if counter is None:  # shared entry, other reason, or the entry left the cache
                self._refused.add(origin)
            if not self._refused.logs():
                return
            if reason == METHOD_NOT_ALLOWED:
                self._refused.log_if_enabled(reason, origin, "method", method)
            elif reason == HEADER_NOT_ALLOWED:
                self._refused.log_if_enabled(reason, origin, "header", self._first_refused_header(names))
            else:
                self._refused.log_if_enabled(reason, origin, None, None)

    def _first_refused_header(self, names: bytes) -> bytes:
        """Return the first name of an Access-Control-Request-Headers value this policy does
        not allow, cut to 256 bytes (the whole value, cut, when its names cannot be told
        apart); found as the verdict finds it (`_first_refused_name`)."""
        if type(names) is not bytes:
            return names[:256]
        if not self._starlette_rules() and self._any_header:
            asked = _authorization_asked(names) if self._authorization_unlisted else None
            return names[:256] if asked is None else asked
        name = self._first_refused_name(names)
        return (names if name is None else name)[:256]

    # -- requests ----------------------------------------------------------------------

    def is_preflight(self, method: str, origin: bytes | None, request_method: bytes | None) -> bool:
        """Return True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
        if self._kui:
            # Kui answers every OPTIONS from a matching origin itself.
            return bool(origin) and method == "OPTIONS"
        return origin is not None and request_method is not None and method == "OPTIONS"

    def response_headers(self, origin: bytes | None, headers: Iterable[Any]) -> list[Any]:
        """Return a new header list: the app's `headers` plus the CORS headers for `origin`."""
        entry = self._no_origin if origin is None else self.lookup(origin)
        return self._entry_headers(entry, headers)

    def entry_headers(self, entry: OriginEntry, headers: Iterable[Any]) -> list[Any]:
        """Return a new header list: the app's `headers` with `entry`'s CORS headers applied."""
        return self._entry_headers(entry, headers)

    def _entry_headers(self, entry: OriginEntry, headers: Iterable[Any]) -> list[Any]:
        result = list(headers)
        touched = self._touched
        for key, _ in result:
            if key in touched if key.__class__ is bytes else any(key == name for name in touched):
                return _apply_ops(
                    result, entry.ops, dedupe_vary=self._native or self._kui
                )  # only Starlette repeats Origin
        result.extend(entry.block)
        return result

    def preflight_response(
        self,
        origin: bytes,
        request_method: bytes | None,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[int, list[Header], bytes] | None:
        """Return `(status, headers, body)` answering a preflight, or None to pass it to the app."""
        entry = self.lookup(origin)
        return self._preflight(entry, origin, request_method, request_headers, request_private_network)

    def entry_preflight(
        self,
        entry: OriginEntry,
        request_method: bytes | None,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[int, list[Header], bytes] | None:
        """Return `(status, headers, body)` answering a preflight with `entry`'s verdict, or
        None to pass it to the app."""
        if not isinstance(entry, OriginEntry):
            raise TypeError(f"Argument 'entry' has incorrect type (expected OriginEntry, got {type(entry).__name__})")
        return self._preflight(entry, b"", request_method, request_headers, request_private_network)

    def _preflight(
        self,
        entry: OriginEntry,
        origin: bytes,
        request_method: bytes | None,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[int, list[Header], bytes] | None:
        return self._preflight_answer(entry, request_method, request_headers, request_private_network)[0]

    def entry_preflight_reason(
        self,
        entry: OriginEntry,
        request_method: bytes | None,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[tuple[int, list[Header], bytes] | None, int]:
        """Return `(answer, reason)`: `entry_preflight`'s answer and the reason number a
        browser gives it (the origin's own reason when it is refused)."""
        if not isinstance(entry, OriginEntry):
            raise TypeError(f"Argument 'entry' has incorrect type (expected OriginEntry, got {type(entry).__name__})")
        return self._preflight_answer(entry, request_method, request_headers, request_private_network)

    def _preflight_answer(
        self,
        entry: OriginEntry,
        request_method: bytes | None,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[tuple[int, list[Header], bytes] | None, int]:
        """Return `(status, headers, body)` answering a preflight with `entry`'s verdict (or
        None to pass it to the app), and the reason number a browser gives it."""
        reason = entry.reason
        if entry.allowed and not self._starlette_rules():
            reason = self._preflight_reason(request_method, request_headers, request_private_network)
        if self._kui:
            return ((200, list(entry.block), b"") if entry.allowed else None), reason
        if type(request_method) is not bytes:  # exactly bytes, as the compiled engine's typed argument
            raise TypeError(f"Expected bytes, got {type(request_method).__name__}")
        if self._native:
            return self._native_preflight(entry, request_method, request_headers, request_private_network), reason
        return self._starlette_preflight(entry, request_method, request_headers, request_private_network)

    def _preflight_reason(
        self, request_method: object, request_headers: object, request_private_network: object
    ) -> int:
        """Return the reason number a browser gives a native or Kui preflight answer for an
        allowed origin: the method, then the headers, then private network access."""
        # Values that are not exactly bytes come from no server: they are not read here.
        if type(request_method) is bytes:
            if self._any_method:
                if not _is_token(request_method):
                    return METHOD_NOT_ALLOWED
            elif request_method not in self._browser_methods:
                return METHOD_NOT_ALLOWED
        if type(request_headers) is bytes and request_headers:
            if self._any_header:
                if not _is_token_list(request_headers):
                    return HEADER_NOT_ALLOWED
                if self._authorization_unlisted and _authorization_asked(request_headers) is not None:
                    return HEADER_NOT_ALLOWED
            elif not self._header_names_verdict(request_headers):
                return HEADER_NOT_ALLOWED
        if (
            request_private_network is not None
            and not self._allow_private_network
            and request_private_network == b"true"
        ):
            return PRIVATE_NETWORK_NOT_ALLOWED
        return ALLOWED

    def _native_preflight(
        self,
        entry: OriginEntry,
        request_method: bytes,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[int, list[Header], bytes] | None:
        if not entry.allowed:
            return None
        headers = list(entry.preflight_head)
        vary = [b"Origin"] if entry is not self._static_allowed else []
        if self._preflight_methods is not None:
            headers.append(self._preflight_methods)
        elif self._allow_all_methods:
            vary.append(b"Access-Control-Request-Method")
            if _is_token(request_method):
                headers.append((ACAM, request_method))
        if self._preflight_headers is not None:
            headers.append(self._preflight_headers)
        else:
            vary.append(b"Access-Control-Request-Headers")
            if request_headers is not None and _is_token_list(request_headers):
                headers.append((ACAH, request_headers))
        headers.append(self._preflight_max_age)
        if self._allow_private_network:
            vary.append(b"Access-Control-Request-Private-Network")
            # Browsers ask with "true"; anything else is not a private-network request.
            if request_private_network == b"true":
                headers.append((ACAPN, b"true"))
        if vary:
            headers.append((VARY, b", ".join(vary)))
        headers.append((CONTENT_LENGTH, b"0"))
        return 200, headers, b""

    def _starlette_preflight(
        self,
        entry: OriginEntry,
        request_method: bytes,
        request_headers: bytes | None,
        request_private_network: bytes | None,
    ) -> tuple[tuple[int, list[Header], bytes], int]:
        headers = list(entry.preflight_head)
        failures = 0 if entry.allowed else 1
        if request_method not in self._methods:
            failures |= 2
        if request_headers is not None:
            _require_bytes(request_headers)
            if self._allow_all_headers:
                # Mirror what was asked for, but never bytes that would break framing.
                if request_headers.translate(None, _CONTROL.replace(b"\t", b"")) == request_headers:
                    _set_slot(headers, self._headers_slot, (ACAH, request_headers))
                else:
                    failures |= 4
            elif not self._header_names_verdict(request_headers):
                failures |= 4
        if request_private_network is not None and self._private_network_header:
            if self._allow_private_network:
                _set_slot(headers, self._private_network_slot, (ACAPN, b"true"))
            else:
                failures |= 8
        # The first failure in Starlette's order names the reason (its body lists them all);
        # an origin refused while the answer still says `*` is refused by the status alone.
        reason = ALLOWED
        if failures & 1 and entry.simple_reason != ALLOWED:
            reason = entry.reason
        elif failures & 2:
            reason = METHOD_NOT_ALLOWED
        elif failures & 4:
            reason = HEADER_NOT_ALLOWED
        elif failures & 8:
            reason = PRIVATE_NETWORK_NOT_ALLOWED
        elif failures & 1:
            reason = entry.reason
        body, content_length = self._preflight_bodies[failures]
        if self._preflight_content_length:
            headers.append(content_length)
        if self._preflight_content_type:
            headers.append((CONTENT_TYPE, b"text/plain; charset=utf-8"))
        return ((400 if failures else 200), headers, body), reason

    def _header_names_verdict(self, value: bytes) -> bool:
        """Return `_header_names_allowed(value)`, remembered per value (browsers repeat theirs)."""
        if len(value) > MAX_REMEMBERED_HEADER_NAMES:
            return self._header_names_allowed(value)
        verdict = self._names_verdicts.get(value)
        if verdict is None:
            verdict = self._header_names_allowed(value)
            with self._store_lock:
                if len(self._names_verdicts) >= MAX_REMEMBERED_HEADER_LISTS:
                    self._names_verdicts.clear()
                self._names_verdicts[value] = verdict
        return verdict

    def _header_names_allowed(self, value: bytes) -> bool:
        """Return True when every comma-separated name is allowed; stops at the first refusal."""
        return self._first_refused_name(value) is None

    def _first_refused_name(self, value: bytes) -> bytes | None:
        """Return the first comma-separated name of `value` this policy does not allow,
        stripped as str.strip() strips; None when all are allowed."""
        allowed = self._allowed_header_names
        start = 0
        end = len(value)
        while True:
            comma = value.find(b",", start)
            name = value[start : end if comma < 0 else comma].strip(_STRIP)
            if name.lower() not in allowed:
                return name
            if comma < 0:
                return None
            start = comma + 1
