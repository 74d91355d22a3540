# Included by _engine_c.pyx (one extension module):
# the django-cors-headers dialect (corsfast.django); twin: _engine_py/django.py.
#
# Read the twin for the specification. The per-request flow (URL rule, signal, preflight
# short-circuit, Vary, header writes) runs here on Django's request and response objects;
# the cold paths (computing an origin's entry, odd response types) call back into the
# shim's Python, which knows Django. This file never imports Django.

cdef extern from "Python.h":
    bint PyUnicode_CheckExact(object o)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_KIND(object o)
    int PyUnicode_1BYTE_KIND
    Py_UCS4 PyUnicode_READ_CHAR(object o, Py_ssize_t index)
    Py_ssize_t PyUnicode_FindChar(object s, Py_UCS4 ch, Py_ssize_t start, Py_ssize_t end,
                                  int direction) except -2
    Py_ssize_t PyUnicode_Tailmatch(object s, object substr, Py_ssize_t start, Py_ssize_t end,
                                   int direction) except -1
    int PySet_Contains(object anyset, object key) except -1

_DJANGO_ALL = (
    "DjangoMiddlewareBase",
    "DjangoOriginEntry",
    "DjangoPolicy",
    "DjangoState",
    "django_acall",
    "django_call",
    "django_vary",
)

cdef enum:
    # `url_tail` values, as in the twin (URL_MATCH ... URL_END_STRICT).
    DJ_URL_MATCH = 0
    DJ_URL_ANY = 1
    DJ_URL_LINE = 2
    DJ_URL_LINE_STRICT = 3
    DJ_URL_END = 4
    DJ_URL_END_STRICT = 5
    DJ_KNOWN_TYPES_BOUND = 256

cdef str DJ_CORS_ENABLED = "_cors_enabled"
cdef str DJ_VARY_KEY = "vary"
cdef str DJ_VARY_NAME = "Vary"
cdef tuple DJ_VARY_ITEM = ("Vary", "origin")
cdef str DJ_ORIGIN = "origin"
cdef tuple DJ_ORIGIN_ONLY = ("origin",)
cdef str DJ_META_ORIGIN = "HTTP_ORIGIN"
cdef str DJ_META_REQUEST_METHOD = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
cdef str DJ_META_PRIVATE_NETWORK = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"
cdef str DJ_META_REQUEST_HEADERS = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
cdef str DJ_REQUEST_METHOD = "access-control-request-method"
cdef str DJ_REQUEST_HEADERS = "access-control-request-headers"
cdef str DJ_PRIVATE_NETWORK = "access-control-request-private-network"
cdef str DJ_TRUE = "true"
cdef str DJ_STAR = "*"
cdef str DJ_AUTHORIZATION = "authorization"
cdef str DJ_METHOD = "method"
cdef str DJ_HEADER = "header"
cdef str DJ_TAB_OR_SPACE = " \t"
cdef str DJ_EMPTY = ""

cdef enum:
    DJ_REQUESTED_HEADERS_BOUND = 64  # twin: REQUESTED_HEADERS_BOUND
    DJ_REQUESTED_HEADERS_LENGTH = 1024  # twin: REQUESTED_HEADERS_LENGTH


@cython.final
cdef class DjangoOriginEntry:
    """The verdict for one Origin value and the response headers that follow from it.

    Its reason when refused follows from the two flags: an entry that asks the signal is
    refused as `origin_not_allowed` when no receiver says yes; one refused outright
    (`allowed` False) holds an Origin corsfast refuses itself (`origin_invalid`).
    """

    cdef readonly bint allowed
    cdef readonly bint ask_signal
    cdef readonly tuple simple
    cdef readonly tuple options

    def __init__(self, bint allowed, bint ask_signal, tuple simple not None, tuple options not None):
        self.allowed = allowed
        self.ask_signal = ask_signal
        self.simple = simple
        self.options = options


def django_vary(str value not None, split):
    """Return the Vary value `patch_vary_headers(response, ("origin",))` makes of `value`."""
    return _django_vary(value, split)


cdef str _django_vary(str value, object split):
    cdef list tokens = split(value)
    for token in tokens:
        if token.lower() == DJ_ORIGIN:
            break
    else:
        tokens.append(DJ_ORIGIN)
    if DJ_STAR in tokens:
        return DJ_STAR
    return ", ".join(tokens)


cdef inline bint _dj_plain_latin1(str value) except -1:
    # Joined with ", origin", such a value is stored as is (what _convert_to_charset checks).
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    if PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND:
        return False
    return PyUnicode_FindChar(value, 10, 0, n, 1) < 0 and PyUnicode_FindChar(value, 13, 0, n, 1) < 0


cdef inline object _dj_cached_headers(object request):
    # `request.headers` once built wins over META (it is what corsheaders reads).
    cdef PyObject* found
    namespace = getattr(request, "__dict__", None)
    if namespace is None:
        return None
    if PyDict_CheckExact(namespace):
        found = PyDict_GetItemWithError(namespace, "headers")
        return <object>found if found is not NULL else None
    return namespace.get("headers")


cdef inline object _dj_meta_get(object request, str key):
    cdef PyObject* found
    meta = request.META
    if PyDict_CheckExact(meta):
        found = PyDict_GetItemWithError(meta, key)
        return <object>found if found is not NULL else None
    return meta.get(key)


cdef inline object _dj_header(object request, object headers, str meta_key, str key):
    # A request header as corsheaders reads it: `request.headers` once built, else META.
    if headers is None:
        return _dj_meta_get(request, meta_key)
    return headers.get(key)


cdef inline object _dj_lookup(object source, bint meta, str meta_key, str key):
    # A request header from `source`: request.META (`meta`) or the request.headers built.
    cdef PyObject* found
    if meta:
        if PyDict_CheckExact(source):
            found = PyDict_GetItemWithError(source, meta_key)
            return <object>found if found is not NULL else None
        return source.get(meta_key)
    return source.get(key)


@cython.final
cdef class DjangoPolicy:
    """django-cors-headers' settings, compiled: one instance serves every request until a
    setting changes. Built from a spec (`corsfast.django._compile.Spec`)."""

    cdef readonly object spec
    cdef object _url_match
    cdef object _url_prefix
    cdef int _url_tail
    cdef object _signal
    cdef bint _private_network
    cdef tuple _private_network_item
    cdef object _preflight
    cdef object _response_base
    cdef object _headers_type
    cdef object _patch_vary
    cdef object _vary_split
    cdef object _make_entry
    cdef object _known_response_type
    cdef bint _assertions
    cdef Py_ssize_t _maxsize
    cdef Py_ssize_t _max_origin_length
    cdef dict _cache
    cdef dict _known
    cdef Py_ssize_t _hits
    cdef Py_ssize_t _misses
    cdef object _preflight_methods  # frozenset, or None: a browser refuses the header
    cdef bint _any_method
    cdef object _preflight_headers  # frozenset of lower-case names, or None
    cdef bint _any_header
    cdef DjangoPolicy _report
    cdef dict _refused_headers

    def __init__(self, spec):
        self.spec = spec
        self._url_match = spec.url_match
        self._url_prefix = spec.url_prefix
        self._url_tail = spec.url_tail
        if self._url_prefix is None:
            self._url_tail = DJ_URL_MATCH
        elif not PyUnicode_CheckExact(self._url_prefix):
            raise TypeError(f"url_prefix must be a str or None, got {type(self._url_prefix).__name__}")
        self._signal = spec.signal
        self._private_network = spec.private_network
        self._private_network_item = <tuple?>spec.private_network_item
        self._preflight = spec.preflight
        self._response_base = spec.response_base
        self._headers_type = spec.headers_type
        self._patch_vary = spec.patch_vary
        self._vary_split = spec.vary_split
        self._make_entry = spec.make_entry
        self._known_response_type = spec.known_response_type
        self._assertions = spec.assertions
        self._maxsize = spec.cache_size
        self._max_origin_length = spec.max_origin_length
        self._cache = {}
        self._known = {}
        self._hits = 0
        self._misses = 0
        self._preflight_methods = spec.preflight_methods
        if self._preflight_methods is not None and type(self._preflight_methods) is not frozenset:
            raise TypeError("preflight_methods must be a frozenset or None")
        self._any_method = spec.any_method
        self._preflight_headers = spec.preflight_headers
        if self._preflight_headers is not None and type(self._preflight_headers) is not frozenset:
            raise TypeError("preflight_headers must be a frozenset or None")
        self._any_header = spec.any_header
        self._report = spec.report
        self._refused_headers = {}

    # -- the parts of a request ----------------------------------------------------------

    def url_enabled(self, path):
        """Return True when `re.match(CORS_URLS_REGEX, path)` matches."""
        return self._url_enabled(path)

    cdef bint _url_enabled(self, object path) except -1:
        cdef Py_ssize_t start, n, newline
        cdef int tail = self._url_tail
        if tail == DJ_URL_MATCH or not PyUnicode_CheckExact(path):
            return self._url_match(path) is not None
        start = PyUnicode_GET_LENGTH(self._url_prefix)
        n = PyUnicode_GET_LENGTH(path)
        if start and (n < start or not PyUnicode_Tailmatch(path, self._url_prefix, 0, n, -1)):
            return False
        if tail == DJ_URL_ANY:
            return True
        if tail == DJ_URL_END_STRICT:
            return n == start
        if tail == DJ_URL_END:
            return n == start or (n == start + 1 and PyUnicode_READ_CHAR(path, start) == 10)
        newline = PyUnicode_FindChar(path, 10, start, n, 1)
        if tail == DJ_URL_LINE_STRICT:
            return newline < 0
        return newline < 0 or newline == n - 1

    def ask_signal(self, request):
        """Return True when a `check_request_enabled` receiver returns a truthy value."""
        return self._ask(request)

    cdef bint _ask(self, object request) except -1:
        signal = self._signal
        if not signal.receivers:
            return False  # what `send` would return: no call, no answers
        for item in signal.send(sender=None, request=request):
            _function, value = item
            if value:
                return True
        return False

    def lookup(self, origin):
        """Return the entry for an Origin string, computing and caching it on a miss."""
        return self._lookup(origin)

    cdef DjangoOriginEntry _lookup(self, object origin):
        cdef PyObject* found
        cdef DjangoOriginEntry entry
        if not PyUnicode_CheckExact(origin) or PyUnicode_GET_LENGTH(origin) > self._max_origin_length:
            # Computed, never cached: a str subclass may hash as it likes, and long keys
            # would let a client fill the cache with megabytes.
            corsfast_count(&self._misses)
            return <DjangoOriginEntry?>self._make_entry(origin)
        found = corsfast_dict_get_ref(self._cache, origin)
        if found is not NULL:
            corsfast_count(&self._hits)
            entry = <DjangoOriginEntry>found
            Py_DECREF(entry)  # the cast took its own reference
            return entry
        corsfast_count(&self._misses)
        entry = <DjangoOriginEntry?>self._make_entry(origin)
        if self._maxsize:
            if len(self._cache) >= self._maxsize:
                self._cache.clear()  # keeps the bound exact and costs nothing per hit
            PyDict_SetItem(self._cache, origin, entry)
        return entry

    def cache_info(self):
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(
            corsfast_counted(&self._hits), corsfast_counted(&self._misses), self._maxsize, len(self._cache)
        )

    def cache_clear(self):
        """Empty the origin cache and reset its statistics."""
        self._cache.clear()
        corsfast_count_reset(&self._hits)
        corsfast_count_reset(&self._misses)

    def before(self, request):
        """Return the preflight answer for `request`, or None to call the view."""
        return self._before(request)

    cdef object _before(self, object request):
        cdef bint enabled = self._url_enabled(request.path_info) or self._ask(request)
        setattr(request, DJ_CORS_ENABLED, enabled)
        if enabled and request.method == OPTIONS:
            headers = _dj_cached_headers(request)
            if headers is None:
                asked = DJ_META_REQUEST_METHOD in request.META
            else:
                asked = DJ_REQUEST_METHOD in headers
            if asked:
                return self._preflight()
        return None

    def check_response(self, response):
        """Raise AssertionError for a view result that is not a response (as corsheaders' assert)."""
        if self._assertions and not isinstance(response, self._response_base):
            raise AssertionError

    def check_awaitable(self, result):
        """Raise AssertionError for an async view result that is a response already."""
        if self._assertions and isinstance(result, self._response_base):
            raise AssertionError

    def after(self, request, response):
        """Add the CORS headers to `response`: django-cors-headers' `add_response_headers`."""
        self._after(request, response, None, None, None)

    def answer(self, request, response, DecisionCounts counts, RefusedOrigins refused, RefusedOrigins report_origins):
        """Add the CORS headers as `after` does and count the request in `counts` (see the twin)."""
        self._after(request, response, counts, refused, report_origins)

    def judge(self, request):
        """Return `(reason, detail_name, detail)`: what a browser concludes from this policy's
        answer to `request` (its signal asked when its settings do not allow the Origin)."""
        cdef DjangoOriginEntry entry
        cdef int kind = K_SIMPLE
        cdef int reason
        headers = _dj_cached_headers(request)
        cdef bint meta = headers is None
        source = request.META if meta else headers
        origin = _dj_lookup(source, meta, DJ_META_ORIGIN, DJ_ORIGIN)
        method = None
        if request.method == OPTIONS:
            method = _dj_lookup(source, meta, DJ_META_REQUEST_METHOD, DJ_REQUEST_METHOD)
            if method is not None:
                kind = K_PREFLIGHT
        if not origin:
            return R_NO_ORIGIN, None, None
        entry = self._lookup(origin)
        allowed = entry.allowed and (not entry.ask_signal or self._ask(request))
        reason = self._reason(source, meta, entry, allowed, kind, method)
        return (reason,) + self._detail(source, meta, reason, method)

    cdef int _after(
        self, object request, object response, DecisionCounts counts, RefusedOrigins refused,
        RefusedOrigins report_origins
    ) except -1:
        cdef DjangoOriginEntry entry
        cdef tuple items
        cdef object item
        cdef Py_ssize_t i
        cdef bint options, allowed
        cdef int reason, kind
        cdef int signal = -1  # the signal's answer: -1 not asked, else 0 or 1
        enabled = getattr(request, DJ_CORS_ENABLED, None)
        if enabled is None:
            if not (self._url_enabled(request.path_info) or self._ask(request)):
                return 0
        elif not enabled:
            return 0
        store = self._store_of(response)
        self._vary(response, store)
        headers = _dj_cached_headers(request)
        if headers is None:
            origin = _dj_meta_get(request, DJ_META_ORIGIN)
        else:
            origin = headers.get(DJ_ORIGIN)
        options = request.method == OPTIONS
        if not origin:
            if counts is not None:
                counts.count(
                    K_PREFLIGHT
                    if options and _dj_header(request, headers, DJ_META_REQUEST_METHOD, DJ_REQUEST_METHOD) is not None
                    else K_SIMPLE,
                    R_NO_ORIGIN,
                )
            return 0
        entry = self._lookup(origin)
        if entry.ask_signal:
            # Asked exactly when django-cors-headers asks; an Origin that corsfast never
            # allows (control characters) is refused whatever the answer.
            signal = self._ask(request)
            allowed = signal and entry.allowed
        else:
            allowed = entry.allowed
        if allowed:
            items = entry.options if options else entry.simple
            if store is not None:
                for i in range(PyTuple_GET_SIZE(items)):
                    item = <object>PyTuple_GET_ITEM(items, i)
                    PyDict_SetItem(store, <object>PyTuple_GET_ITEM(item, 0), item)
            else:
                for name, value in items:
                    response[name] = value
            if self._private_network:
                if headers is None:
                    asked = _dj_meta_get(request, DJ_META_PRIVATE_NETWORK)
                else:
                    asked = headers.get(DJ_PRIVATE_NETWORK)
                if asked == DJ_TRUE:
                    item = self._private_network_item
                    if store is not None:
                        PyDict_SetItem(store, <object>PyTuple_GET_ITEM(item, 0), item)
                    else:
                        response[<object>PyTuple_GET_ITEM(item, 0)] = <object>PyTuple_GET_ITEM(item, 1)
        if counts is not None:
            if self._report is None and not (allowed and options):
                # A simple request or a refused origin, judged without a call.
                if allowed:
                    counts.count(K_SIMPLE, R_ALLOWED)
                else:
                    reason = R_ORIGIN_NOT_ALLOWED if entry.allowed else R_ORIGIN_INVALID
                    kind = K_SIMPLE
                    if options and _dj_header(request, headers, DJ_META_REQUEST_METHOD, DJ_REQUEST_METHOD) is not None:
                        kind = K_PREFLIGHT
                    counts.count(kind, reason)
                    if refused is not None:
                        refused._note(reason, origin, None, None)
            else:
                self._observe(
                    request, headers, origin, entry, allowed, options, signal, counts, refused, report_origins
                )
        return 0

    # -- what a browser concludes, counted (see the twin) ----------------------------------

    cdef int _observe(
        self, object request, object headers, object origin, DjangoOriginEntry entry, bint allowed, bint options,
        int signal, DecisionCounts counts, RefusedOrigins refused, RefusedOrigins report_origins
    ) except -1:
        cdef int kind = K_SIMPLE
        cdef int reason, verdict
        cdef DjangoPolicy report
        cdef bint meta = headers is None
        source = None  # where the request's headers are read: only a preflight reads more
        method = None
        if options:
            source = request.META if meta else headers
            method = _dj_lookup(source, meta, DJ_META_REQUEST_METHOD, DJ_REQUEST_METHOD)
            if method is not None:
                kind = K_PREFLIGHT
        reason = self._reason(source, meta, entry, allowed, kind, method)
        counts.count(kind, reason)
        if reason != R_ALLOWED and refused is not None:
            if reason == R_METHOD_NOT_ALLOWED or reason == R_HEADER_NOT_ALLOWED:
                detail_name, detail = self._detail(source, meta, reason, method)
                refused._note(reason, origin, detail_name, detail)
            else:
                refused._note(reason, origin, None, None)
        report = self._report
        if report is None:
            return 0
        entry = report._lookup(origin)
        if entry.ask_signal:
            if signal < 0:
                signal = report._ask(request)
            allowed = signal == 1 and entry.allowed
        else:
            allowed = entry.allowed
        verdict = report._reason(source, meta, entry, allowed, kind, method)
        if (verdict == R_ALLOWED) == (reason == R_ALLOWED):
            return 0
        counts.count_report(reason == R_ALLOWED)
        if report_origins is not None:
            if verdict == R_ALLOWED:
                report_origins._note(R_ALLOWED, origin, None, None)
            else:
                detail_name, detail = report._detail(source, meta, verdict, method)
                report_origins._note(verdict, origin, detail_name, detail)
        return 0

    cdef int _reason(
        self, object source, bint meta, DjangoOriginEntry entry, bint allowed, int kind, object method
    ) except -1:
        if not allowed:
            return R_ORIGIN_NOT_ALLOWED if entry.allowed else R_ORIGIN_INVALID
        if kind == K_SIMPLE:
            return R_ALLOWED
        # A browser refuses a list it cannot parse before it looks for the method in it.
        if self._preflight_methods is None:
            return R_METHOD_NOT_ALLOWED
        if self._preflight_headers is None:
            return R_HEADER_NOT_ALLOWED
        if not self._any_method and not PySet_Contains(self._preflight_methods, method):
            return R_METHOD_NOT_ALLOWED
        if self._refused_header(source, meta) is not None:
            return R_HEADER_NOT_ALLOWED
        if not self._private_network:
            if _dj_lookup(source, meta, DJ_META_PRIVATE_NETWORK, DJ_PRIVATE_NETWORK) == DJ_TRUE:
                return R_PRIVATE_NETWORK_NOT_ALLOWED
        return R_ALLOWED

    cdef tuple _detail(self, object source, bint meta, int reason, object method):
        if reason == R_METHOD_NOT_ALLOWED:
            return DJ_METHOD, method
        if reason == R_HEADER_NOT_ALLOWED:
            name = self._refused_header(source, meta)
            if name:
                return DJ_HEADER, name
        return None, None

    cdef object _refused_header(self, object source, bint meta):
        cdef PyObject* found
        value = _dj_lookup(source, meta, DJ_META_REQUEST_HEADERS, DJ_REQUEST_HEADERS)
        if not value:
            return None if self._preflight_headers is not None else DJ_EMPTY
        if not PyUnicode_CheckExact(value) or PyUnicode_GET_LENGTH(value) > DJ_REQUESTED_HEADERS_LENGTH:
            return self._first_refused(value)
        found = corsfast_dict_get_ref(self._refused_headers, value)
        if found is not NULL:
            name = <object>found
            Py_DECREF(name)  # the cast took its own reference
            return name
        name = self._first_refused(value)
        with cython.critical_section(self._refused_headers):
            if len(self._refused_headers) >= DJ_REQUESTED_HEADERS_BOUND:
                self._refused_headers.clear()
            self._refused_headers[value] = name
        return name

    cdef object _first_refused(self, object value):
        names = self._preflight_headers
        for part in value.split(","):
            name = part.strip(DJ_TAB_OR_SPACE).lower()
            if not name:
                continue
            if names is None:
                return name
            if name in names or (self._any_header and name != DJ_AUTHORIZATION):
                continue
            return name
        return DJ_EMPTY if names is None else None

    # -- response headers ----------------------------------------------------------------

    cdef object _store_of(self, object response):
        # The header store of a response whose header methods are Django's, else None.
        cdef object kind = type(response)
        cdef PyObject* found = corsfast_dict_get_ref(self._known, kind)
        if found is NULL:
            known = self._known_response_type(kind)
            if len(self._known) >= DJ_KNOWN_TYPES_BOUND:
                self._known.clear()
            self._known[kind] = known
        else:
            known = <object>found
            Py_DECREF(known)  # the cast took its own reference
        if not known:
            return None
        headers = response.headers
        if type(headers) is not self._headers_type:
            return None
        store = headers._store
        return store if PyDict_CheckExact(store) else None

    cdef int _vary(self, object response, object store) except -1:
        cdef PyObject* found
        # No split: a Django whose patch_vary_headers the engine does not know; it is called.
        if store is not None and self._vary_split is not None:
            found = PyDict_GetItemWithError(store, DJ_VARY_KEY)
            if found is NULL:
                PyDict_SetItem(store, DJ_VARY_KEY, DJ_VARY_ITEM)
                return 0
            current = <object>found
            if PyTuple_CheckExact(current) and PyTuple_GET_SIZE(current) == 2:
                value = <object>PyTuple_GET_ITEM(current, 1)
                if PyUnicode_CheckExact(value) and _dj_plain_latin1(<str>value):
                    PyDict_SetItem(store, DJ_VARY_KEY, (DJ_VARY_NAME, _django_vary(<str>value, self._vary_split)))
                    return 0
        self._patch_vary(response, DJ_ORIGIN_ONLY)
        return 0


cdef class DjangoState:
    """The policy the middleware of one engine uses, recompiled when a setting changes.

    `generation` is bumped by Django's `setting_changed` signal; `refresh()` compiles the
    settings and records the generation it read, so a change during a compilation is
    never lost.
    """

    cdef public object refresh
    cdef DjangoPolicy _policy
    cdef DjangoPolicy _report
    cdef object _snapshot
    cdef Py_ssize_t _generation
    cdef Py_ssize_t _compiled

    def __init__(self, refresh):
        self.refresh = refresh
        self._policy = None
        self._report = None
        self._snapshot = None
        self._generation = 0
        self._compiled = -1

    # Read and written under the object's critical section (no-ops with the GIL): without
    # the GIL a request reading the policy while a setting change replaces it could
    # otherwise take a reference to a freed policy.

    @property
    def policy(self):
        with cython.critical_section(self):
            return self._policy

    @policy.setter
    def policy(self, DjangoPolicy value):
        with cython.critical_section(self):
            self._policy = value

    @property
    def report(self):
        """The report-only policy (also the policy's own, when the settings compile)."""
        with cython.critical_section(self):
            return self._report

    @report.setter
    def report(self, DjangoPolicy value):
        with cython.critical_section(self):
            self._report = value

    @property
    def snapshot(self):
        with cython.critical_section(self):
            return self._snapshot

    @snapshot.setter
    def snapshot(self, value):
        with cython.critical_section(self):
            self._snapshot = value

    @property
    def generation(self):
        with cython.critical_section(self):
            return self._generation

    @generation.setter
    def generation(self, Py_ssize_t value):
        with cython.critical_section(self):
            self._generation = value

    @property
    def compiled(self):
        with cython.critical_section(self):
            return self._compiled

    @compiled.setter
    def compiled(self, Py_ssize_t value):
        with cython.critical_section(self):
            self._compiled = value

    def bump(self):
        """Count one setting change (a step of its own, so no concurrent change is lost)."""
        with cython.critical_section(self):
            self._generation += 1


cdef class DjangoMiddlewareBase:
    """The state `corsfast.django.middleware.CorsMiddleware` keeps per instance."""

    cdef public object get_response
    cdef public bint async_mode
    cdef public DjangoState _corsfast_state
    cdef public bint _corsfast_fast
    cdef public DecisionCounts _corsfast_counts
    cdef public RefusedOrigins _corsfast_refused
    cdef public RefusedOrigins _corsfast_report


cdef inline DjangoPolicy _dj_current(DjangoMiddlewareBase middleware):
    cdef DjangoState state = middleware._corsfast_state
    cdef DjangoPolicy policy
    cdef bint stale
    if state is None or not middleware._corsfast_fast:
        return None
    with cython.critical_section(state):
        stale = state._compiled != state._generation
        policy = state._policy
    if stale:
        state.refresh()
        with cython.critical_section(state):
            policy = state._policy
    return policy


def django_call(self, request):
    """Answer one request as django-cors-headers' `CorsMiddleware.__call__`."""
    cdef DjangoMiddlewareBase middleware = <DjangoMiddlewareBase?>self
    cdef DjangoPolicy policy
    if middleware.async_mode:
        return self.__acall__(request)
    policy = _dj_current(middleware)
    if policy is None:
        # A subclass overrides a hook, or the settings are not compiled: corsheaders' methods.
        return self._corsfast_call(request)
    response = policy._before(request)
    if response is None:
        response = middleware.get_response(request)
        if policy._assertions and not isinstance(response, policy._response_base):
            raise AssertionError
    policy._after(request, response, middleware._corsfast_counts, middleware._corsfast_refused,
                  middleware._corsfast_report)
    return response


async def django_acall(self, request):
    """Answer one request as django-cors-headers' `CorsMiddleware.__acall__`."""
    cdef DjangoMiddlewareBase middleware = <DjangoMiddlewareBase?>self
    cdef DjangoPolicy policy = _dj_current(middleware)
    if policy is None:
        return await self._corsfast_acall(request)
    response = policy._before(request)
    if response is None:
        result = middleware.get_response(request)
        if policy._assertions and isinstance(result, policy._response_base):
            raise AssertionError
        response = await result
    policy._after(request, response, middleware._corsfast_counts, middleware._corsfast_refused,
                  middleware._corsfast_report)
    return response
