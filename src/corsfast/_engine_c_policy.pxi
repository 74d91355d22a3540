# Included by _engine_c.pyx (one extension module):
# the compiled policy (origin matching, cache, header blocks); twin: _engine_py/policy.py.

NEVER = INFINITY


cdef tuple _preflight_key(object method, object names, object private_network, int reason):
    """Return the memo of one preflight's fields and reason (see `CORSPolicy._preflight_reason`)."""
    return (
        method if PyBytes_CheckExact(method) else None,
        names if PyBytes_CheckExact(names) else None,
        private_network is not None and private_network == b"true",
        reason,
    )


cdef inline bint _same_bytes(object a, object b) noexcept:
    if a is b:
        return True
    if not PyBytes_CheckExact(a) or not PyBytes_CheckExact(b):
        return False
    return PyBytes_GET_SIZE(a) == PyBytes_GET_SIZE(b) and memcmp(
        PyBytes_AS_STRING(a), PyBytes_AS_STRING(b), PyBytes_GET_SIZE(a)) == 0


cdef inline bint _same_preflight(tuple memo, object method, object names, object private_network) noexcept:
    """Return True when a preflight's fields are those `memo` remembers."""
    if not _same_bytes(<object>PyTuple_GET_ITEM(memo, 0), method if PyBytes_CheckExact(method) else None):
        return False
    if not _same_bytes(<object>PyTuple_GET_ITEM(memo, 1), names if PyBytes_CheckExact(names) else None):
        return False
    asked = private_network is not None and private_network == b"true"
    return (<object>PyTuple_GET_ITEM(memo, 2) is True) == asked


cdef object _authorization_asked(bytes names):
    """Return the name `Authorization` as an Access-Control-Request-Headers value spells it,
    or None when it does not ask for it."""
    for name in names.split(b","):
        name = name.strip(b" \t")
        if name.lower() == b"authorization":
            return name
    return None


cdef inline bint _bytes_listed(bytes value, tuple listed) noexcept:
    """Return True when `value` equals one of the bytes in `listed` (no hashing)."""
    cdef Py_ssize_t i, n = PyBytes_GET_SIZE(value)
    cdef bytes item
    for i in range(PyTuple_GET_SIZE(listed)):
        item = <bytes>PyTuple_GET_ITEM(listed, i)
        if PyBytes_GET_SIZE(item) == n and memcmp(PyBytes_AS_STRING(item), PyBytes_AS_STRING(value), n) == 0:
            return True
    return False
"""The `expires` of an entry that a rule decided: it never goes stale."""

cdef object _MONOTONIC = time.monotonic


@cython.final
cdef class CORSPolicy:
    """Return CORS answers for one compiled configuration; built once, shared by all requests."""

    cdef readonly object options
    cdef bint _native
    cdef bint _kui
    cdef bint _allow_all
    cdef bint _explicit
    cdef bint _allow_all_headers
    cdef bint _allow_all_methods
    cdef bint _allow_private_network
    cdef frozenset _exact
    cdef tuple _wildcards
    cdef tuple _port_wildcards
    cdef tuple _patterns
    cdef Py_ssize_t _max_origin_length
    cdef Py_ssize_t _maxsize
    cdef dict _cache
    cdef Py_ssize_t _hits
    cdef Py_ssize_t _misses
    cdef frozenset _methods
    cdef OriginEntry _no_origin
    cdef OriginEntry _denied  # refused by the rules (origin_not_allowed)
    cdef OriginEntry _invalid  # an Origin no rule may allow (origin_invalid)
    cdef OriginEntry _func_refused  # refused by allow_origin_func, for one request
    cdef OriginEntry _func_failed  # allow_origin_func raised, for one request
    cdef OriginEntry _static_allowed
    # what is counted of every request (see `observe`)
    cdef DecisionCounts _counts
    cdef RefusedOrigins _refused
    # what a browser concludes from a native or Kui preflight answer (see `_preflight_reason`)
    cdef tuple _browser_methods  # few: compared byte by byte, cheaper than hashing the request's
    cdef bint _any_method
    cdef bint _any_header
    cdef bint _authorization_unlisted  # "*" allows every header but Authorization (Kui's literal "*")
    # native dialect
    cdef tuple _simple_tail
    cdef tuple _preflight_credentials
    cdef object _preflight_methods
    cdef object _preflight_headers
    cdef tuple _preflight_max_age
    # kui dialect
    cdef tuple _kui_block
    # starlette dialect
    cdef tuple _simple_ops
    cdef tuple _preflight_prefix
    cdef list _preflight_bodies
    cdef frozenset _allowed_header_names
    cdef Py_ssize_t _longest_header_name
    cdef bint _simple_reflect
    cdef bint _preflight_reflect
    cdef Py_ssize_t _origin_slot
    cdef Py_ssize_t _headers_slot
    cdef Py_ssize_t _private_network_slot
    cdef bint _preflight_content_length
    cdef bint _preflight_content_type
    cdef bint _no_origin_passthrough  # the installed Starlette release's switches (StarletteTables)
    cdef bint _cookie_reflect
    cdef bint _private_network_header
    cdef tuple _reflect_vary
    cdef dict _cookie_entries
    cdef dict _granted
    cdef readonly dict _names_verdicts  # Access-Control-Request-Headers value -> every name allowed
    # the Starlette drop-in's attributes and overrides (false and empty for the others)
    cdef frozenset _touched
    cdef bint _touched_default
    cdef bint _hooked
    cdef bint _protocol_preflight
    cdef bint _protocol_simple
    cdef bint _faithful
    cdef tuple _watched  # keeps the watched containers and their snapshots alive
    cdef int _watch_count
    cdef int _watch_uses_all
    cdef int _watch_kind[_MAX_WATCHED]
    cdef int _watch_uses[_MAX_WATCHED]
    cdef PyObject* _watch_container[_MAX_WATCHED]
    cdef PyObject* const* _watch_items[_MAX_WATCHED]
    cdef Py_ssize_t _watch_size[_MAX_WATCHED]
    cdef unsigned long long _watch_version[_MAX_WATCHED]  # a dict's version tag last seen unchanged
    cdef PyObject* _watch_copy[_MAX_WATCHED]
    # the native dialect's allow_origin_func (None for the others); see __init__
    cdef object _func
    cdef bint _func_async
    cdef double _ttl
    cdef bint _timed
    cdef public object _clock
    cdef OriginEntry _undecided
    cdef unsigned long _owner  # the thread that compiled it (see `_ThreadView`)

    def __init__(self, options):
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
        self._cache = {}
        # The dynamic origin check (native dialect): asked for the eligible origins the rules
        # refuse, which the cache holds as `_undecided`; with a ttl its verdicts are cached
        # too, as entries that expire (`_timed`: only such a policy reads the clock).
        self._func = options.origin_func
        self._func_async = options.origin_func_async
        self._ttl = options.origin_func_ttl
        self._timed = self._func is not None and self._ttl > 0 and self._maxsize > 0
        self._clock = time.monotonic
        self._undecided = None
        self._owner = PyThread_get_thread_ident()
        self._hits = 0
        self._misses = 0
        self._explicit = not self._allow_all or options.allow_credentials
        self._methods = frozenset(m.encode("latin-1") for m in options.allow_methods)
        self._allow_all_headers = options.allow_all_headers
        self._allow_all_methods = options.allow_all_methods
        self._allow_private_network = options.allow_private_network
        # Only the Starlette dialect reads state that code may change (its attributes).
        self._touched = TOUCHED_RESPONSE_HEADERS
        self._touched_default = True
        self._hooked = False
        self._protocol_preflight = False
        self._protocol_simple = False
        self._faithful = False
        self._watched = ()
        self._watch_count = 0
        self._watch_uses_all = 0
        self._granted = {}
        self._names_verdicts = {}
        self._no_origin_passthrough = False
        self._cookie_reflect = False
        self._private_network_header = True
        self._cookie_entries = {}
        self._counts = DecisionCounts()
        self._refused = None
        if self._native:
            self._compile_native(options)
        elif self._kui:
            self._compile_kui(options)
        else:
            self._compile_starlette(options)
        self._compile_refusals(options)

    cdef _compile_refusals(self, options):
        # One refused entry per reason, all answering alike (the rules' refusal).
        cdef OriginEntry denied = self._denied
        self._no_origin = OriginEntry(False, self._no_origin.ops, self._no_origin.preflight_head, R_NO_ORIGIN)
        self._denied = OriginEntry(False, denied.ops, denied.preflight_head, R_ORIGIN_NOT_ALLOWED)
        self._invalid = OriginEntry(False, denied.ops, denied.preflight_head, R_ORIGIN_INVALID)
        self._func_refused = OriginEntry(False, denied.ops, denied.preflight_head, R_FUNC_REFUSED)
        self._func_failed = OriginEntry(False, denied.ops, denied.preflight_head, R_FUNC_ERROR)
        if self._func is not None:
            # Answered as refused wherever it is not decided (it never is, but a leak is safe).
            self._undecided = OriginEntry(False, denied.ops, denied.preflight_head, R_FUNC_REFUSED)
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
        self._browser_methods = tuple(self._methods | {b"GET", b"HEAD", b"POST"})
        self._allowed_header_names = frozenset(
            [h.lower().encode("latin-1") for h in options.allow_headers]
            + [h.lower().encode("latin-1") for h in SAFELISTED_HEADERS]
        )
        self._authorization_unlisted = (
            self._any_header and not mirrors and b"authorization" not in self._allowed_header_names
        )
        self._longest_header_name = max([len(h) for h in self._allowed_header_names] or [0])

    # -- compilation ---------------------------------------------------------------------

    cdef _compile_native(self, options):
        cdef tuple credentials = ((ACAC, b"true"),) if options.allow_credentials else ()
        cdef tuple expose = ()
        if options.expose_headers:
            expose = ((ACEH, ", ".join(dict.fromkeys(options.expose_headers)).encode("latin-1")),)
        self._simple_tail = credentials + expose
        self._no_origin = OriginEntry(False, ((VARY, None),), ())
        self._denied = self._no_origin
        self._static_allowed = None
        if self._allow_all and not options.allow_credentials:
            self._static_allowed = OriginEntry(True, ((ACAO, b"*"),) + self._simple_tail, ((ACAO, b"*"),))
        allow_headers = list(dict.fromkeys(h for h in options.allow_headers))
        lowered = {h.lower() for h in allow_headers}
        allow_headers += [h for h in SAFELISTED_HEADERS if h.lower() not in lowered]
        self._preflight_methods = None
        if not self._allow_all_methods and options.allow_methods:
            self._preflight_methods = (ACAM, ", ".join(dict.fromkeys(options.allow_methods)).encode("latin-1"))
        self._preflight_headers = None
        if not self._allow_all_headers:
            self._preflight_headers = (ACAH, ", ".join(allow_headers).encode("latin-1"))
        self._preflight_max_age = (ACMA, str(options.max_age).encode("ascii"))
        self._preflight_credentials = ((ACAC, b"true"),) if options.allow_credentials else ()

    cdef _compile_kui(self, options):
        # Kui's config_dict order; empty values are left out, as Kui does. Kui joins
        # allow_headers from a set (its order varies per process); this one is sorted.
        block = [
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

    cdef _compile_starlette(self, options):
        tables = options.starlette
        if tables is None:
            raise ValueError("the starlette dialect needs CORSOptions.starlette (see _options.starlette_tables)")
        self._hooked = tables.verdict_hook
        self._protocol_preflight = tables.protocol_preflight
        self._protocol_simple = tables.protocol_simple
        self._faithful = tables.faithful
        self._watched = tables.watched
        if len(self._watched) > _MAX_WATCHED:
            raise ValueError(f"at most {_MAX_WATCHED} watched containers")
        for i, (kind, container, items, copy, uses) in enumerate(self._watched):
            # Borrowed pointers: `self._watched` owns every object they point to.
            self._watch_kind[i] = kind
            self._watch_uses[i] = uses
            self._watch_container[i] = <PyObject*>container
            self._watch_items[i] = corsfast_tuple_items(<PyObject*>items)
            self._watch_size[i] = len(items)
            self._watch_copy[i] = <PyObject*>copy
            self._watch_version[i] = 0  # compared on the first request, then known by its tag
            self._watch_uses_all |= uses
        self._watch_count = len(self._watched)
        self._methods = tables.methods
        self._allowed_header_names = tables.header_names
        self._longest_header_name = max([len(h) for h in self._allowed_header_names] or [0])
        self._simple_ops = tables.simple
        self._touched = frozenset([name for name, _ in tables.simple] + [ACAO, VARY])
        self._touched_default = self._touched <= TOUCHED_RESPONSE_HEADERS
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
        self._reflect_vary = (VARY, None) if tables.vary_always else (VARY, VARY_FIRST)
        refused_vary = ((VARY, None),) if tables.vary_always else ()
        self._no_origin = OriginEntry(False, refused_vary, ())
        self._denied = OriginEntry(False, self._simple_ops + refused_vary, self._preflight_prefix)
        self._static_allowed = None
        if not self._simple_reflect and not self._preflight_reflect:
            self._static_allowed = OriginEntry(True, self._denied.ops, self._preflight_prefix)
        # Preflight answers differ only by which checks failed: prebuild the bodies.
        self._preflight_bodies = []
        for mask in range(16):
            failures = [name for bit, name in enumerate(STARLETTE_FAILURES) if mask & (1 << bit)]
            body = b"Disallowed CORS " + b", ".join(failures) if failures else b"OK"
            self._preflight_bodies.append((body, (CONTENT_LENGTH, str(len(body)).encode("ascii"))))

    cdef OriginEntry _make_entry(self, bytes origin, bint allowed):
        if not allowed:
            return self._denied if self._eligible(origin) else self._invalid
        if self._static_allowed is not None:
            return self._static_allowed
        reflected = (ACAO, origin)
        if self._kui:
            return OriginEntry(True, self._kui_block + (reflected, (VARY, None)), self._kui_block + (reflected,))
        if self._native:
            return OriginEntry(
                True,
                (reflected,) + self._simple_tail + ((VARY, None),),
                (reflected,) + self._preflight_credentials,
            )
        ops = self._simple_ops + (reflected, self._reflect_vary) if self._simple_reflect else self._denied.ops
        head = self._preflight_prefix
        if self._preflight_reflect:
            slot = self._origin_slot
            head = head[:slot] + (reflected,) + head[slot + 1:] if slot >= 0 else head + (reflected,)
        return OriginEntry(True, ops, head)

    cdef inline bint _starlette_rules(self) noexcept:
        return not self._native and not self._kui

    # -- origin matching -----------------------------------------------------------------

    cdef inline bint _eligible(self, bytes origin) noexcept:
        """Return False for an Origin no rule may allow (the length cap is checked before)."""
        cdef Py_ssize_t n = PyBytes_GET_SIZE(origin)
        # Never reflect bytes that a server refuses or that change framing.
        if _has_control(<const unsigned char*>PyBytes_AS_STRING(origin), n, False):
            return False
        # Browsers never send an empty Origin; only Starlette compares it like any string.
        return n > 0 or self._starlette_rules()

    cdef bint _match(self, bytes origin) except -1:
        cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(origin)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(origin)
        cdef Py_ssize_t i, colon
        cdef tuple pair
        cdef bytes prefix, suffix
        if not self._eligible(origin):
            return False
        if self._allow_all or origin in self._exact:
            return True
        for i in range(PyTuple_GET_SIZE(self._wildcards)):
            pair = <tuple>PyTuple_GET_ITEM(self._wildcards, i)
            if _label_between(s, n, <bytes>PyTuple_GET_ITEM(pair, 0), <bytes>PyTuple_GET_ITEM(pair, 1)):
                return True
        if PyTuple_GET_SIZE(self._port_wildcards):
            colon = _port_start(s, n)
            if colon > 0:
                for i in range(PyTuple_GET_SIZE(self._port_wildcards)):
                    pair = <tuple>PyTuple_GET_ITEM(self._port_wildcards, i)
                    prefix = <bytes>PyTuple_GET_ITEM(pair, 0)
                    suffix = <bytes>PyTuple_GET_ITEM(pair, 1)
                    if PyBytes_GET_SIZE(suffix) == 0:
                        if (colon == PyBytes_GET_SIZE(prefix)
                                and memcmp(s, PyBytes_AS_STRING(prefix), colon) == 0):
                            return True
                    elif _label_between(s, colon, prefix, suffix):
                        return True
        if self._patterns:
            text = PyUnicode_DecodeLatin1(<const char*>s, n, NULL)
            for pattern in self._patterns:
                if pattern.fullmatch(text):  # truthiness, as Starlette tests it
                    return True
        return False

    cdef OriginEntry _lookup(self, bytes origin):
        """Return the cached entry for a raw Origin value, computing it on a miss; `_undecided`
        when `allow_origin_func` must decide (the rules refused it, or its verdict expired)."""
        cdef PyObject* found
        cdef OriginEntry entry
        if PyBytes_GET_SIZE(origin) > self._max_origin_length:
            # Refused before hashing, caching or running any rule on it.
            corsfast_count(&self._misses)
            return self._invalid
        found = corsfast_dict_get_ref(self._cache, origin)
        if found is not NULL:
            entry = <OriginEntry>found
            Py_DECREF(entry)  # the cast took its own reference
            if self._timed and entry.expires != INFINITY and self._stale(entry):
                corsfast_count(&self._misses)
                return self._undecided  # a stale verdict: ask again
            corsfast_count(&self._hits)
            return entry
        corsfast_count(&self._misses)
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
            if len(self._cache) >= self._maxsize:
                # Clearing keeps the bound exact and costs nothing per hit.
                self._clear_cache()
            entry = self._store(origin, entry)
        return entry

    cdef OriginEntry _store(self, bytes origin, OriginEntry entry):
        """Return the entry the cache holds for `origin` once `entry` is offered: `entry`,
        or the one another thread stored first (which it may already have counted on)."""
        cdef PyObject* found = corsfast_dict_setdefault_ref(self._cache, origin, entry)
        entry = <OriginEntry>found
        Py_DECREF(entry)  # the cast took its own reference
        return entry

    cdef void _retire(self, OriginEntry entry) except *:
        """Fold the refusals counted on an entry leaving the cache into the top refused;
        a request still holding it then counts in the top refused directly."""
        cdef Py_ssize_t n
        if entry.origin is not None:
            n = corsfast_count_retire(&entry.refusals)
            if n and self._refused is not None:
                self._refused._count(entry.origin, n)

    cdef void _clear_cache(self) except *:
        """Empty the origin cache, its entries' refusal counts kept in the top refused."""
        cdef Py_ssize_t n = len(self._cache)
        # Entry by entry, not a copy of the values and then clear(): an entry another thread
        # stores meanwhile is either taken and retired here or left in the cache, never
        # dropped with its count. Bounded: entries stored meanwhile may stay.
        while n > 0:
            n -= 1
            try:
                _, value = self._cache.popitem()
            except KeyError:  # another thread emptied it first
                break
            self._retire(<OriginEntry>value)

    def pending_refusals(self):
        """Return the refusals counted on the origin cache's entries, as (origin, count)
        pairs: the top refused origins still to be added to the `RefusedOrigins`."""
        cdef OriginEntry entry
        cdef list pending = []
        cdef Py_ssize_t n
        for value in list(self._cache.values()):
            entry = <OriginEntry>value
            n = corsfast_counted(&entry.refusals)
            if entry.origin is not None and n > 0:  # a retired entry's count is below zero
                pending.append((entry.origin, n))
        return pending

    def reset_refusals(self):
        """Set the refusals counted on the origin cache's entries to zero."""
        cdef OriginEntry entry
        for value in list(self._cache.values()):
            entry = <OriginEntry>value
            corsfast_count_reset_live(&entry.refusals)  # a retired entry stays retired

    cdef double _now(self) except? -1.0:
        # The policy's clock: a monotonic clock read in C (see corsfast_monotonic), unless
        # `_clock` was replaced (tests inject one); stored and read expiries use the same.
        cdef double now
        if self._clock is _MONOTONIC:
            now = corsfast_monotonic()
            if now >= 0.0:
                return now
        return self._clock()

    cdef bint _stale(self, OriginEntry entry) except -1:
        return not self._now() < entry.expires

    cdef OriginEntry _decide(self, bytes origin):
        # lookup(), for the engine's callers.
        cdef OriginEntry entry = self._lookup(origin)
        if entry.undecided:
            if self._func_async:
                raise TypeError("allow_origin_func is a coroutine function: only the ASGI middleware can await it")
            entry = self._ask(origin, entry)
        return entry

    def lookup(self, bytes origin not None):
        """Return the entry for a raw Origin value: cached, computed on a miss, and asked of a
        plain `allow_origin_func` when the rules refuse the origin.

        An async `allow_origin_func` cannot be awaited here: TypeError when it would be asked
        (the ASGI middleware awaits it).
        """
        return self._decide(origin)

    def pending_lookup(self, bytes origin not None):
        """Return the entry `lookup` returns for a raw Origin value, or None when an async
        `allow_origin_func` must decide it: await it, then take `func_verdict`'s entry."""
        cdef OriginEntry entry = self._lookup(origin)
        if entry.undecided:
            if self._func_async:
                return None
            entry = self._ask(origin, entry)
        return entry

    def func_verdict(self, bytes origin not None, result, error=None):
        """Return the entry for `origin` once an awaited `allow_origin_func` returned `result`
        (cached for the ttl), or the refused entry, logged and not cached, when it raised
        `error` or `result` has no truth value to take."""
        cdef bint allowed = False
        if error is None:
            try:
                allowed = _truth(result)
            except Exception as failure:
                error = failure
        if error is not None:
            _log_failure(origin, error)
            return self._func_failed
        return self._verdict(origin, allowed, None)

    cdef OriginEntry _ask(self, bytes origin, OriginEntry pending):
        """Return the entry a plain `allow_origin_func`'s verdict gives `origin` (refused, not
        cached and logged when it raises)."""
        cdef bint allowed
        try:
            allowed = _truth(self._func(PyUnicode_DecodeLatin1(PyBytes_AS_STRING(origin),
                                                               PyBytes_GET_SIZE(origin), NULL)))
        except Exception as error:
            _log_failure(origin, error)
            return self._func_failed
        return self._verdict(origin, allowed, pending)

    cdef OriginEntry _verdict(self, bytes origin, bint allowed, OriginEntry pending):
        """Return the entry for `allow_origin_func`'s verdict on `origin`, cached until the
        ttl runs out when there is one. Without a ttl a refusal answers with `pending` (the
        origin's own undecided entry, which counts its refusals) when there is one."""
        cdef OriginEntry entry
        if not self._timed:
            if allowed:
                return self._granted_entry(origin)
            return pending if pending is not None and pending.origin is not None else self._func_refused
        if allowed:
            entry = self._make_entry(origin, True)
        else:
            entry = OriginEntry(False, self._denied.ops, self._denied.preflight_head, R_FUNC_REFUSED)
            entry.origin = origin
        entry.expires = self._now() + self._ttl
        stale = self._cache.pop(origin, None)
        if stale is not None:  # the verdict it replaces: its refusals kept
            self._retire(<OriginEntry>stale)
        if len(self._cache) >= self._maxsize:
            self._clear_cache()
        return self._store(origin, entry)

    def is_allowed_origin(self, bytes origin not None):
        """Return True when the raw Origin header value is allowed by this policy."""
        return self._decide(origin).allowed

    def text_verdict(self, origin):
        """Return 1 when the str `origin` is allowed, 0 when it is refused, and -1 when this
        policy cannot tell: a container it was compiled from changed, its state is beyond it,
        or `origin` is not text a header can hold (Starlette's `is_allowed_origin`, compiled)."""
        cdef bytes raw
        if self._faithful or not PyUnicode_CheckExact(origin) or not self._is_current(_WATCH_SIMPLE | _WATCH_PREFLIGHT):
            return -1
        try:
            raw = PyUnicode_AsLatin1String(origin)
        except UnicodeEncodeError:
            return -1
        return 1 if self._decide(raw).allowed else 0

    cdef inline OriginEntry _granted_entry(self, bytes origin):
        return self._remembered_entry(self._granted, origin, False)

    cdef inline OriginEntry _cookie_entry(self, bytes origin):
        return self._remembered_entry(self._cookie_entries, origin, True)

    cdef OriginEntry _remembered_entry(self, dict store, bytes origin, bint cookie):
        """Return `store`'s entry reflecting `origin` (made on first use, the store bounded by
        the cache size): granted by a hook, or (`cookie`) reflected for a Cookie before
        Starlette 1.0; the refused entry for an Origin that never reaches a rule."""
        cdef PyObject* found
        cdef OriginEntry entry
        if PyBytes_GET_SIZE(origin) > self._max_origin_length:
            return self._invalid
        found = corsfast_dict_get_ref(store, origin)
        if found is not NULL:
            entry = <OriginEntry>found
            Py_DECREF(entry)  # the cast took its own reference
            return entry
        if not self._eligible(origin):
            return self._invalid
        if cookie:
            entry = OriginEntry(True, self._simple_ops + ((ACAO, origin), self._reflect_vary), self._preflight_prefix)
        else:
            entry = self._make_entry(origin, True)
        if self._maxsize:
            if len(store) >= self._maxsize:
                store.clear()
            PyDict_SetItem(store, origin, entry)
        return entry

    def cookie_entry(self, bytes origin not None):
        """Return the entry an allow-all simple response to a request with a Cookie header gets
        before Starlette 1.0: the Origin reflected (cached); the refused entry for an Origin
        that never reaches a rule."""
        return self._cookie_entry(origin)

    def granted_entry(self, bytes origin not None):
        """Return the entry an allowed `origin` gets whatever the rules say (a hook decided), cached.

        An Origin that never reaches a rule (control characters, over the length cap) gets
        the refused entry: no hook can grant it.
        """
        return self._granted_entry(origin)

    cdef inline bint _is_current(self, int uses) except -1:
        """Return False when a container read by `uses` requests changed in place since."""
        cdef int i, kind
        if not (self._watch_uses_all & uses):
            return True
        for i in range(self._watch_count):
            if not (self._watch_uses[i] & uses):
                continue
            kind = self._watch_kind[i]
            if kind == _WATCH_LIST or kind == _WATCH_DICT:
                if not corsfast_same_items(self._watch_container[i], kind == _WATCH_DICT,
                                           self._watch_items[i], self._watch_size[i], &self._watch_version[i]):
                    return False
            elif <object>self._watch_container[i] != <object>self._watch_copy[i]:
                return False
        return True

    def is_current(self):
        """Return False when a container the policy was compiled from changed in place since."""
        return self._is_current(_WATCH_SIMPLE | _WATCH_PREFLIGHT)

    def cache_info(self):
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(
            corsfast_counted(&self._hits), corsfast_counted(&self._misses), self._maxsize, len(self._cache)
        )

    def cache_clear(self):
        """Empty the origin cache and reset its statistics."""
        self._clear_cache()
        corsfast_count_reset(&self._hits)
        corsfast_count_reset(&self._misses)

    cdef CORSPolicy _copy(self):
        """Return the same policy compiled again, by the calling thread, with an empty cache
        and counts of its own (its refusals noted where this policy notes them)."""
        cdef CORSPolicy copy = CORSPolicy(self.options)
        copy._clock = self._clock
        copy._refused = self._refused
        return copy

    # -- what is counted -------------------------------------------------------------------

    @property
    def counts(self):
        """Return the `DecisionCounts` this policy counts its requests in."""
        return self._counts

    def observe(self, DecisionCounts counts not None, RefusedOrigins refused):
        """Count requests in `counts` from now on, and note refused origins in `refused`
        (None: not noted)."""
        self._counts = counts
        self._refused = refused

    cdef inline int _note(self, int kind, int reason, OriginEntry entry, object origin, object method,
                          object names) except -1:
        """Count one request answered with `entry` (None: no entry of the cache); a refusal's
        origin is also counted (on the entry when it stands for that origin alone) and logged."""
        cdef RefusedOrigins refused
        self._counts.count(kind, reason)
        if reason > R_NO_ORIGIN:
            refused = self._refused
            if refused is None:
                return 0
            if not (entry is not None and entry.origin is not None and reason == entry.reason
                    and corsfast_count_live(&entry.refusals, 1)):  # the origin's own entry: no lookup
                refused._count(origin, 1)  # shared entry, other reason, or the entry left the cache
            if refused._log_enabled():
                self._log_refusal(reason, origin, method, names)
        return 0

    cdef int _log_refusal(self, int reason, object origin, object method, object names) except -1:
        if reason == R_METHOD_NOT_ALLOWED:
            return self._refused._log_if_enabled(reason, origin, "method", method)
        if reason == R_HEADER_NOT_ALLOWED:
            return self._refused._log_if_enabled(reason, origin, "header", self._first_refused_header(names))
        return self._refused._log_if_enabled(reason, origin, None, None)

    cdef object _first_refused_header(self, object names):
        """Return the first name of an Access-Control-Request-Headers value this policy does
        not allow, cut to 256 bytes (the whole value, cut, when its names cannot be told
        apart); found as the verdict finds it (`_first_refused_name`)."""
        cdef Py_ssize_t start, end
        if type(names) is not bytes:
            return names[:256]
        if not self._starlette_rules() and self._any_header:
            asked = _authorization_asked(names) if self._authorization_unlisted else None
            return names[:256] if asked is None else asked
        start = self._first_refused_name(<bytes>names, &end)
        if start < 0:
            return names[:256]
        return names[start:min(end, start + 256)]

    def note_preflight(self, OriginEntry entry not None, origin, request_method, request_headers,
                       request_private_network):
        """Count one preflight answered with `entry`'s verdict (a Kui dialect's answer, which
        refuses no method or header itself), for the reason a browser gives that answer."""
        cdef int reason = entry.reason
        if entry.allowed and not self._starlette_rules():
            reason = self._preflight_reason(entry, request_method, request_headers, request_private_network)
        self._note(K_PREFLIGHT, reason, entry, origin, request_method, request_headers)

    def note_simple(self, OriginEntry entry not None, origin):
        """Count one request but a preflight answered with `entry`'s verdict."""
        self._note(K_SIMPLE, entry.simple_reason, entry, origin, None, None)

    def note(self, int kind, int reason, origin=None, method=None, names=None):
        """Count one request of `kind` (0 simple, 1 preflight) for `reason` (a number); a
        refusal's `origin` is also noted, with the preflight's `method` or header `names`."""
        if not (0 <= kind < 2 and 0 <= reason < N_REASONS):
            raise ValueError(f"no such count: kind {kind}, reason {reason}")
        self._note(kind, reason, None, origin, method, names)

    cdef int _preflight_reason(self, OriginEntry entry, object request_method, object request_headers,
                               object request_private_network) except -1:
        """Return the reason number a browser gives a native or Kui preflight answer for the
        allowed `entry`: the method, then the headers, then private network access.

        The entry remembers the first (method, headers, private network) it was asked about,
        with its reason: a front end repeats its preflights, and comparing bytes costs less
        than the lookups below.
        """
        cdef PyObject* memo = corsfast_published(&entry._preflight_memo)
        cdef int reason
        if memo is not NULL and _same_preflight(<tuple>memo, request_method, request_headers,
                                                request_private_network):
            return <int>PyLong_AsLong(<object>PyTuple_GET_ITEM(<tuple>memo, 3))
        reason = self._browser_preflight_reason(request_method, request_headers, request_private_network)
        if memo is NULL:
            key = _preflight_key(request_method, request_headers, request_private_network, reason)
            Py_INCREF(key)  # the slot's own reference (dropped by corsfast_publish when it loses)
            corsfast_publish(&entry._preflight_memo, <PyObject*>key)
        return reason

    cdef int _browser_preflight_reason(self, object request_method, object request_headers,
                                       object request_private_network) except -1:
        # Values that are not exactly bytes come from no server: they are not read here.
        if PyBytes_CheckExact(request_method):
            if self._any_method:
                if not _is_token(<bytes>request_method):
                    return R_METHOD_NOT_ALLOWED
            elif not _bytes_listed(<bytes>request_method, self._browser_methods):
                return R_METHOD_NOT_ALLOWED
        if PyBytes_CheckExact(request_headers) and PyBytes_GET_SIZE(request_headers):
            if self._any_header:
                if not _is_token_list(request_headers):
                    return R_HEADER_NOT_ALLOWED
                if self._authorization_unlisted and _authorization_asked(request_headers) is not None:
                    return R_HEADER_NOT_ALLOWED
            elif not self._header_names_verdict(request_headers):
                return R_HEADER_NOT_ALLOWED
        if request_private_network is not None and not self._allow_private_network:
            if request_private_network == b"true":
                return R_PRIVATE_NETWORK_NOT_ALLOWED
        return R_ALLOWED

    # -- requests ------------------------------------------------------------------------

    def is_preflight(self, method, origin, request_method):
        """Return True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method."""
        if self._kui:
            # Kui answers every OPTIONS from a matching origin itself.
            return bool(origin) and method == OPTIONS
        return origin is not None and request_method is not None and method == OPTIONS

    cdef inline bint _is_preflight(self, object method, bytes origin, PyObject* request_method) except -1:
        # The same rule as is_preflight, for a present Origin and a borrowed ACRM.
        if self._kui:
            return PyBytes_GET_SIZE(origin) > 0 and method == OPTIONS
        return request_method is not NULL and method == OPTIONS

    def response_headers(self, origin, headers):
        """Return a new header list: the app's `headers` plus the CORS headers for `origin`."""
        cdef OriginEntry entry = self._no_origin if origin is None else self._decide(origin)
        return self._entry_headers(entry, headers)

    def entry_headers(self, OriginEntry entry not None, headers):
        """Return a new header list: the app's `headers` with `entry`'s CORS headers applied."""
        return self._entry_headers(entry, headers)

    cdef inline bint _touches(self, object key) except -1:
        if self._touched_default:
            return _is_touched(key)
        if PyBytes_CheckExact(key):
            return key in self._touched
        for name in self._touched:
            if key == name:
                return True
        return False

    cdef list _entry_headers(self, OriginEntry entry, object headers):
        cdef Py_ssize_t n, m, i
        cdef list result
        cdef tuple block = entry.block
        cdef object item, key
        cdef PyObject* found
        cdef PyObject* name
        if not PyList_CheckExact(headers):
            headers = list(headers)
        # Copy first, never extend the app's list: a response object may send it again, and
        # the checks below may run an odd item's own code, which must not change what is read.
        m = PyTuple_GET_SIZE(block)
        # Under the list's critical section (a no-op with the GIL): without the GIL another
        # thread changing a list the app shares could otherwise free an item being copied.
        with cython.critical_section(headers):
            n = PyList_GET_SIZE(headers)
            result = PyList_New(n + m)
            for i in range(n):
                found = PyList_GET_ITEM(headers, i)
                Py_INCREF(<object>found)
                PyList_SET_ITEM(result, i, <object>found)
        # Borrowed pointers, not `object` locals: each reference taken is one more atomic
        # update, without the GIL, of a count the threads sharing the entry all write.
        for i in range(m):
            found = PyTuple_GET_ITEM(block, i)
            Py_INCREF(<object>found)
            PyList_SET_ITEM(result, n + i, <object>found)
        for i in range(n):
            found = PyList_GET_ITEM(result, i)
            if PyTuple_CheckExact(<object>found) and PyTuple_GET_SIZE(<object>found) == 2:
                name = PyTuple_GET_ITEM(<object>found, 0)
                if self._touched_default and PyBytes_CheckExact(<object>name):
                    # The usual case, without a reference taken: bytes names, the four defaults.
                    if not _bytes_touched(<object>name):
                        continue
                elif not self._touches(<object>name):
                    continue
            else:
                item = <object>found
                key, _ = item  # a pair, or ValueError/TypeError as in the twin
                if not self._touches(key):
                    continue
            del result[n:]
            return _apply_ops(result, entry.ops, self._native or self._kui)  # only Starlette repeats Origin
        return result

    def preflight_response(self, bytes origin not None, request_method,
                           request_headers, request_private_network):
        """Return `(status, headers, body)` answering a preflight, or None to pass it to the app."""
        return self._preflight_entry(self._decide(origin), request_method, request_headers, request_private_network)

    def entry_preflight(self, OriginEntry entry not None, request_method,
                        request_headers, request_private_network):
        """Return `(status, headers, body)` answering a preflight with `entry`'s verdict, or
        None to pass it to the app."""
        return self._preflight_entry(entry, request_method, request_headers, request_private_network)

    def entry_preflight_reason(self, OriginEntry entry not None, request_method,
                               request_headers, request_private_network):
        """Return `(answer, reason)`: `entry_preflight`'s answer and the reason number a
        browser gives it (the origin's own reason when it is refused)."""
        cdef int reason
        answer = self._preflight_answer(entry, request_method, request_headers, request_private_network, &reason)
        return answer, reason

    cdef object _preflight_entry(self, OriginEntry entry, object request_method, object request_headers,
                                 object request_private_network):
        cdef int reason
        return self._preflight_answer(entry, request_method, request_headers, request_private_network, &reason)

    cdef object _preflight_answer(self, OriginEntry entry, object request_method, object request_headers,
                                  object request_private_network, int* reason):
        """Return `(status, headers, body)` answering a preflight with `entry`'s verdict, or
        None to pass it to the app; set `reason` to the reason number a browser gives it."""
        if not entry.allowed:
            reason[0] = entry.reason
            if self._kui:
                return None
        elif not self._starlette_rules():
            reason[0] = self._preflight_reason(entry, request_method, request_headers, request_private_network)
            if self._kui:
                return 200, list(entry.block), b""
        if self._native:
            return self._native_preflight(entry, <bytes?>request_method, request_headers, request_private_network)
        return self._starlette_preflight(entry, <bytes?>request_method, request_headers, request_private_network,
                                         reason)

    cdef object _native_preflight(self, OriginEntry entry, bytes request_method,
                                  object request_headers, object request_private_network):
        if not entry.allowed:
            return None
        cdef list headers = list(entry.preflight_head)
        cdef list vary = [b"Origin"] if entry is not self._static_allowed else []
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

    cdef tuple _starlette_preflight(self, OriginEntry entry, bytes request_method,
                                    object request_headers, object request_private_network, int* reason):
        cdef list headers = list(entry.preflight_head)
        cdef int failures = 0 if entry.allowed else 1
        cdef bytes names
        if request_method not in self._methods:
            failures |= 2
        if request_headers is not None:
            names = request_headers
            if self._allow_all_headers:
                # Mirror what was asked for, but never bytes that would break framing.
                if not _has_control(<const unsigned char*>PyBytes_AS_STRING(names),
                                    PyBytes_GET_SIZE(names), True):
                    _set_slot(headers, self._headers_slot, (ACAH, names))
                else:
                    failures |= 4
            elif not self._header_names_verdict(names):
                failures |= 4
        if request_private_network is not None and self._private_network_header:
            if self._allow_private_network:
                _set_slot(headers, self._private_network_slot, (ACAPN, b"true"))
            else:
                failures |= 8
        # The first failure in Starlette's order names the reason (its body lists them all);
        # an origin refused while the answer still says `*` is refused by the status alone.
        if failures & 1 and entry.simple_reason != R_ALLOWED:
            reason[0] = entry.reason
        elif failures & 2:
            reason[0] = R_METHOD_NOT_ALLOWED
        elif failures & 4:
            reason[0] = R_HEADER_NOT_ALLOWED
        elif failures & 8:
            reason[0] = R_PRIVATE_NETWORK_NOT_ALLOWED
        elif failures & 1:
            reason[0] = entry.reason
        else:
            reason[0] = R_ALLOWED
        body, content_length = self._preflight_bodies[failures]
        if self._preflight_content_length:
            headers.append(content_length)
        if self._preflight_content_type:
            headers.append((CONTENT_TYPE, b"text/plain; charset=utf-8"))
        return (400 if failures else 200), headers, body

    cdef bint _header_names_verdict(self, bytes value) except -1:
        """Return `_header_names_allowed(value)`, remembered per value (browsers repeat theirs)."""
        cdef PyObject* found
        cdef bint verdict
        if PyBytes_GET_SIZE(value) > MAX_REMEMBERED_HEADER_NAMES:
            return self._header_names_allowed(value)
        found = corsfast_dict_get_ref(self._names_verdicts, value)
        if found is not NULL:
            cached = <object>found
            Py_DECREF(cached)  # the cast took its own reference
            return cached is True
        verdict = self._header_names_allowed(value)
        if len(self._names_verdicts) >= MAX_REMEMBERED_HEADER_LISTS:
            self._names_verdicts.clear()
        PyDict_SetItem(self._names_verdicts, value, True if verdict else False)
        return verdict

    cdef inline bint _header_names_allowed(self, bytes value) except -1:
        """Return True when every comma-separated name is allowed; stops at the first refusal."""
        cdef Py_ssize_t end
        return self._first_refused_name(value, &end) < 0

    cdef Py_ssize_t _first_refused_name(self, bytes value, Py_ssize_t* stop) except -2:
        """Return where the first comma-separated name this policy does not allow starts in
        `value`, its end in `stop` (stripped as str.strip() strips); -1 when all are allowed.

        One pass over the bytes; each name is lower-cased into a small buffer and looked up,
        so a hostile value costs time linear in its length and no allocation beyond one name.
        """
        cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(value)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
        cdef Py_ssize_t i = 0, start, end, j
        cdef unsigned char buffer[256]
        cdef Py_ssize_t longest = self._longest_header_name
        while True:
            start = i
            while i < n and s[i] != b',':
                i += 1
            end = i
            while start < end and _is_strip(s[start]):
                start += 1
            while end > start and _is_strip(s[end - 1]):
                end -= 1
            if end == start or end - start > longest:  # empty, or longer than every allowed name
                stop[0] = end
                return start
            if end - start > 256:
                name = value[start:end].lower()
            else:
                for j in range(end - start):
                    buffer[j] = _ascii_lower(s[start + j])
                name = (<char*>buffer)[:end - start]
            if name not in self._allowed_header_names:
                stop[0] = end
                return start
            if i == n:
                return -1
            i += 1
