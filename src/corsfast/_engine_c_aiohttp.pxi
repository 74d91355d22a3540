# Included by _engine_c.pyx (one extension module):
# the aiohttp-cors dialect (corsfast.aiohttp); twin: _engine_py/aiohttp.py (read it for the spec).

_AIOHTTP_ALL = (
    "AiohttpConfig",
    "AiohttpEntry",
    "AiohttpRoute",
    "AiohttpRoutes",
    "aiohttp_add_vary",
    "aiohttp_eligible",
    "aiohttp_entry",
    "aiohttp_keep_preflight",
    "aiohttp_keep_refusal",
    "aiohttp_known_preflight",
    "aiohttp_mapping_entry",
    "aiohttp_prepare",
    "aiohttp_preflight",
    "aiohttp_refusal_reason",
    "aiohttp_request_headers",
    "aiohttp_respond",
)

cdef str A_ACAO = "Access-Control-Allow-Origin"
cdef str A_ACAC = "Access-Control-Allow-Credentials"
cdef str A_ACEH = "Access-Control-Expose-Headers"
cdef str A_ACMA = "Access-Control-Max-Age"
cdef str A_ACAM = "Access-Control-Allow-Methods"
cdef str A_ACAH = "Access-Control-Allow-Headers"
cdef str A_ORIGIN = "Origin"
cdef str A_VARY = "Vary"
cdef str A_TRUE = "true"
cdef str A_STAR = "*"
cdef str A_OPTIONS = "OPTIONS"
cdef str A_COMMA = ","
cdef tuple A_NONE = ()
# aiohttp-cors' _SIMPLE_RESPONSE_HEADERS (an `istr` equals and hashes as its str).
cdef frozenset A_SIMPLE_RESPONSE_HEADERS = frozenset(
    ["Cache-Control", "Content-Language", "Content-Type", "Expires", "Last-Modified", "Pragma"]
)
cdef str A_ACRH = "Access-Control-Request-Headers"
cdef str A_STRIP = " \t"
# The same names as multidict's `istr`, looked up without case-folding: made when the first
# `AiohttpRoutes` is (aiohttp is in use then), before any request; never changed after.
cdef object I_ACAO = A_ACAO, I_ACAC = A_ACAC, I_ACEH = A_ACEH, I_ACMA = A_ACMA, I_ACAM = A_ACAM
cdef object I_ACAH = A_ACAH, I_ORIGIN = A_ORIGIN, I_VARY = A_VARY
cdef object I_ACRM = "Access-Control-Request-Method", I_ACRH = "Access-Control-Request-Headers"
cdef object I_ACRPN = "Access-Control-Request-Private-Network"
cdef Py_ssize_t A_MAX_PREFLIGHTS = 1024  # allowed preflight answers kept per route
cdef bint _a_named = False
cdef Py_ssize_t A_MAX_ORIGIN = _DEFAULT_MAX_ORIGIN_LENGTH
cdef Py_ssize_t A_MAX_ENTRIES = 4096


cdef int _a_names() except -1:
    global I_ACAO, I_ACAC, I_ACEH, I_ACMA, I_ACAM, I_ACAH, I_ORIGIN, I_VARY, I_ACRM, I_ACRH, I_ACRPN, _a_named
    if _a_named:
        return 0
    from multidict import istr

    I_ACAO, I_ACAC, I_ACEH, I_ACMA = istr(A_ACAO), istr(A_ACAC), istr(A_ACEH), istr(A_ACMA)
    I_ACAM, I_ACAH, I_ORIGIN, I_VARY = istr(A_ACAM), istr(A_ACAH), istr(A_ORIGIN), istr(A_VARY)
    I_ACRM, I_ACRH, I_ACRPN = istr(I_ACRM), istr(I_ACRH), istr(I_ACRPN)
    _a_named = True
    return 0


cdef bint _a_eligible(str origin) noexcept:
    return PyUnicode_GET_LENGTH(origin) <= A_MAX_ORIGIN and not _str_has_control(origin)


def aiohttp_eligible(str origin not None):
    """Return True for an Origin value that may be reflected: at most the documented length,
    no control character."""
    return _a_eligible(origin)


@cython.final
cdef class AiohttpEntry:
    """The headers one `ResourceOptions` answers with."""

    cdef readonly object options
    cdef readonly bint credentials
    cdef readonly bint expose_all
    cdef readonly object expose
    cdef readonly bint allow_all_headers
    cdef readonly object allow_headers
    cdef readonly object max_age

    def __init__(self, options):
        self.options = options
        self.credentials = bool(options.allow_credentials)
        self.expose_all = options.expose_headers == A_STAR
        # aiohttp-cors joins the frozenset each time; joined once here, in the same order.
        self.expose = None if self.expose_all or not options.expose_headers else A_COMMA.join(options.expose_headers)
        self.allow_all_headers = options.allow_headers == A_STAR
        self.allow_headers = None if self.allow_all_headers else options.allow_headers
        self.max_age = None if options.max_age is None else str(options.max_age)


cdef dict _A_ENTRIES = {}


cdef AiohttpEntry _a_entry(object options):
    cdef PyObject* found
    cdef AiohttpEntry entry
    # Keyed with max_age's type too: `True == 1`, but aiohttp-cors sends "True" for one.
    key = (options, type(options.max_age))
    found = corsfast_dict_get_ref(_A_ENTRIES, key)
    if found is not NULL:
        entry = <AiohttpEntry>found
        Py_DECREF(entry)  # the cast took its own reference
        return entry
    if len(_A_ENTRIES) >= A_MAX_ENTRIES:  # only configurations build them; bound it all the same
        _A_ENTRIES.clear()
    entry = AiohttpEntry(options)
    _A_ENTRIES[key] = entry
    return entry


def aiohttp_entry(options):
    """Return the entry of a `ResourceOptions` (made once per distinct options)."""
    return _a_entry(options)


@cython.final
cdef class AiohttpConfig:
    """A configuration aiohttp-cors would build per request (its `ChainMap`), resolved once:
    origin -> entry, and the entry for "*"."""

    cdef readonly dict entries
    cdef readonly AiohttpEntry star
    cdef readonly bint empty

    def __init__(self, mapping):
        self.entries = {origin: _a_entry(options) for origin, options in mapping.items()}
        self.star = self.entries.get(A_STAR)
        self.empty = not self.entries

    cdef AiohttpEntry _lookup(self, str origin):
        cdef PyObject* found
        cdef AiohttpEntry entry
        if not _a_eligible(origin):
            return None
        found = corsfast_dict_get_ref(self.entries, origin)
        if found is NULL:
            return self.star
        entry = <AiohttpEntry>found
        Py_DECREF(entry)  # the cast took its own reference
        return entry

    def lookup(self, str origin not None):
        """Return the entry for `origin` (its own, else "*"'s), None when it has none or may not
        be reflected."""
        return self._lookup(origin)


@cython.final
cdef class AiohttpRoute:
    """What the hook needs to know of one route, resolved once by the shim."""

    cdef readonly bint enabled
    cdef readonly bint preflight
    cdef readonly bint view
    cdef readonly dict configs
    cdef readonly AiohttpConfig default
    cdef readonly object view_config
    cdef readonly dict preflights  # (Origin, -Request-Method, -Request-Headers) -> an allowed answer
    cdef readonly dict refusals  # the same keys -> (a refused preflight's 403 text, reason, detail name, detail)

    def __init__(self, bint enabled, bint preflight, bint view, dict configs not None, AiohttpConfig default,
                 view_config):
        if enabled and not view and default is None:
            raise ValueError("an enabled route that is not a view needs a default configuration")
        self.enabled = enabled
        self.preflight = preflight
        self.view = view
        self.configs = configs
        self.default = default
        self.view_config = view_config
        self.preflights = {}
        self.refusals = {}


@cython.final
cdef class _Done:
    """An awaitable that is already done: the hook's result, so aiohttp's `await` costs no
    coroutine (its own iterator, which stops at once)."""

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        raise StopIteration


cdef _Done _A_DONE = _Done()


@cython.final
cdef class AiohttpRoutes:
    """A `CorsConfig`'s routes, each resolved on its first request by `resolve(route)`; called,
    the `on_response_prepare` hook (`aiohttp_prepare`). It counts the decisions of the hook and
    of the kept preflight answers in `counts`, and notes each refused origin in `refused`."""

    cdef object _resolve
    cdef dict _states
    cdef DecisionCounts _counts
    cdef RefusedOrigins _refused

    def __init__(self, resolve):
        self._resolve = resolve
        self._states = {}
        self._counts = DecisionCounts()
        self._refused = None
        _a_names()

    def observe(self, DecisionCounts counts not None, RefusedOrigins refused):
        """Count the decisions in `counts` from now on, and note refused origins in `refused`
        (None: not noted)."""
        self._counts = counts
        self._refused = refused

    @property
    def counts(self):
        """Return the `DecisionCounts` the decisions are counted in."""
        return self._counts

    def __call__(self, request, response):
        return _a_prepare(self, request, response)

    def clear(self):
        """Forget every resolved route (the configuration changed)."""
        self._states = {}

    cdef AiohttpRoute _route(self, object route):
        cdef dict states = self._states  # replaced whole by clear(): read once
        cdef PyObject* found = corsfast_dict_get_ref(states, route)
        cdef AiohttpRoute state
        if found is not NULL:
            state = <AiohttpRoute>found
            Py_DECREF(state)  # the cast took its own reference
            return state
        state = self._resolve(route)
        if state is not None and route.resource is not None:
            states[route] = state
        return state

    def route(self, route):
        """Return the resolved state of `route`; None for a route that is not the router's own
        (aiohttp's 404 and 405 answers), which is never kept."""
        return self._route(route)


cdef object _a_route(object request):
    # aiohttp's own attributes behind its public properties (`match_info.route`): a
    # property call each costs more than the rest of a lookup; the public names otherwise.
    match_info = getattr(request, "_match_info", None)
    if match_info is None:
        match_info = request.match_info
    route = getattr(match_info, "_route", None)
    return route if route is not None else match_info.route


cdef object _a_method(object request):
    method = getattr(request, "_method", None)
    return method if PyUnicode_CheckExact(method) else request.method


cdef object _a_headers(object message):
    # A request's CIMultiDictProxy or a response's CIMultiDict (`headers`).
    headers = getattr(message, "_headers", None)
    return headers if headers is not None else message.headers


cdef inline object _a_get(object headers, object name):
    # `headers.get(name)` through the mapping's C slots: a method call costs several times more.
    return headers[name] if name in headers else None


cdef inline int _a_counted(AiohttpRoutes routes, int kind, int reason, object origin,
                           object detail_name, object detail) except -1:
    # One decision counted; a refusal's origin noted (and logged, rate-limited).
    routes._counts.count(kind, reason)
    if reason > R_NO_ORIGIN and routes._refused is not None:
        routes._refused._note(reason, origin, detail_name, detail)
    return 0


def aiohttp_add_vary(headers):
    """Add `Vary: Origin` to `headers` unless a Vary header already names Origin or "*"."""
    _a_add_vary(headers)


cdef int _a_add_vary(object headers) except -1:
    cdef str token
    if I_VARY not in headers:
        headers[I_VARY] = A_ORIGIN  # absent: the same as `add`, through a C slot
        return 0
    for value in headers.getall(I_VARY, A_NONE):
        for token in value.split(A_COMMA):
            token = token.strip().lower()
            if token == "origin" or token == A_STAR:
                return 0
    headers.add(I_VARY, A_ORIGIN)
    return 0


cdef AiohttpEntry _a_mapping_entry(object mapping, str origin):
    options = mapping.get(origin, mapping.get(A_STAR))
    if options is None or not _a_eligible(origin):
        return None
    return _a_entry(options)


def aiohttp_mapping_entry(mapping, str origin not None):
    """Return the entry for `origin` in a configuration aiohttp-cors builds per request (a
    mapping such as its `ChainMap`): its own options, else "*"'s; None when it has none or may
    not be reflected."""
    return _a_mapping_entry(mapping, origin)


cdef int _a_refusal_reason(object headers, object origin) except -1:
    # See aiohttp_refusal_reason.
    if origin is None:
        return R_NO_ORIGIN
    if I_ACAO in headers:
        allowed = headers.getall(I_ACAO)
        if len(allowed) == 1 and (allowed[0] == origin or allowed[0] == A_STAR):
            return R_ALLOWED
    return R_ORIGIN_NOT_ALLOWED if _a_eligible(<str>origin) else R_ORIGIN_INVALID


def aiohttp_refusal_reason(headers, origin):
    """Return the reason number a browser concludes for a response of `headers` to a request
    with `origin` (None: no Origin) to which corsfast gave no CORS headers: `allowed` when the
    app's own Access-Control-Allow-Origin admits the origin, else `origin_invalid` for an
    Origin never reflected, else `origin_not_allowed`."""
    if origin is not None and not PyUnicode_CheckExact(origin):
        origin = str(origin)
    return _a_refusal_reason(headers, origin)


cdef int _a_respond(object headers, AiohttpEntry entry, object origin) except -1:
    # The response's CORS headers; returns the reason number of the decision.
    if entry is None or origin is None or I_ACAO in headers or I_ACAC in headers or I_ACEH in headers:
        _a_add_vary(headers)
        return _a_refusal_reason(headers, origin)
    # Item assignment, not `extend` or `add`: a C slot call each, where a method call costs
    # several times more.
    if entry.expose_all:
        headers[I_ACEH] = A_COMMA.join(frozenset(headers.keys()) - A_SIMPLE_RESPONSE_HEADERS)
    elif entry.expose is not None:
        headers[I_ACEH] = entry.expose
    headers[I_ACAO] = origin
    if entry.credentials:
        headers[I_ACAC] = A_TRUE
    _a_add_vary(headers)
    return R_ALLOWED


def aiohttp_respond(headers, AiohttpEntry entry, origin):
    """Give a response's `headers` the CORS headers of `entry` for `origin` (none when either is
    None, or the app set one of them itself), then `Vary: Origin`; return the reason number of
    the decision (`allowed`, or `aiohttp_refusal_reason`'s when it gave none)."""
    if origin is not None and not PyUnicode_CheckExact(origin):
        origin = str(origin)
    return _a_respond(headers, entry, origin)


def aiohttp_prepare(AiohttpRoutes routes not None, request, response):
    """Give `response` its CORS headers; return an awaitable that is already done (see the
    twin's docstring for what aiohttp-cors does and the fixes)."""
    return _a_prepare(routes, request, response)


cdef object _a_prepare(AiohttpRoutes routes, object request, object response):
    cdef AiohttpRoute state = routes._route(_a_route(request))
    cdef AiohttpConfig config = None
    cdef AiohttpEntry entry = None
    cdef PyObject* found
    cdef bint empty
    cdef int reason
    if state is None or not state.enabled:
        return _A_DONE
    if state.view:
        if _a_method(request) == A_OPTIONS:
            return _A_DONE
        chained = state.view_config(request)
        empty = not chained
    else:
        if state.preflight:
            return _A_DONE
        found = corsfast_dict_get_ref(state.configs, _a_method(request))
        if found is NULL:
            config = state.default
        else:
            config = <AiohttpConfig>found
            Py_DECREF(config)  # the cast took its own reference
        empty = config.empty
    origin = _a_get(_a_headers(request), I_ORIGIN)
    if origin is not None and not PyUnicode_CheckExact(origin):
        origin = str(origin)  # a str subclass's own methods never run on it
    if empty:
        # No origin has options: aiohttp-cors leaves the response alone, and refuses them all.
        _a_counted(routes, K_SIMPLE, _a_refusal_reason(_a_headers(response), origin), origin, None, None)
        return _A_DONE
    if origin is not None:
        entry = _a_mapping_entry(chained, origin) if state.view else config._lookup(origin)
    reason = _a_respond(_a_headers(response), entry, origin)
    _a_counted(routes, K_SIMPLE, reason, origin, None, None)
    return _A_DONE


cdef tuple _a_preflight_key(object request):
    headers = _a_headers(request)
    return (_a_get(headers, I_ORIGIN), _a_get(headers, I_ACRM), _a_get(headers, I_ACRH))


def aiohttp_known_preflight(AiohttpRoutes routes not None, request):
    """Return what a preflight like `request` got on its route: the headers of an allowed one,
    the 403 text (a str) of a refused one; None when neither is kept (the preflight handler
    then answers, counts and keeps it). A kept answer is counted here, with its reason: an
    allowed one asking for private network access is refused by browsers (aiohttp-cors never
    grants it)."""
    cdef AiohttpRoute state = routes._route(_a_route(request))
    cdef PyObject* found
    cdef tuple refusal
    cdef int reason
    if state is None:
        return None
    key = _a_preflight_key(request)
    found = corsfast_dict_get_ref(state.preflights, key)
    if found is not NULL:
        answer = <object>found
        Py_DECREF(answer)  # the cast took its own reference
        reason = R_ALLOWED
        if _a_get(_a_headers(request), I_ACRPN) == A_TRUE:
            reason = R_PRIVATE_NETWORK_NOT_ALLOWED
        _a_counted(routes, K_PREFLIGHT, reason, key[0], None, None)
        return answer
    found = corsfast_dict_get_ref(state.refusals, key)
    if found is NULL:
        return None
    refusal = <tuple>found
    Py_DECREF(refusal)  # the cast took its own reference
    _a_counted(routes, K_PREFLIGHT, refusal[1], key[0], refusal[2], refusal[3])
    return refusal[0]


def aiohttp_keep_preflight(AiohttpRoutes routes not None, request, pairs):
    """Keep an allowed preflight's headers for the preflights like `request` on its route."""
    cdef AiohttpRoute state = routes._route(_a_route(request))
    if state is not None:
        if len(state.preflights) >= A_MAX_PREFLIGHTS:
            state.preflights.clear()
        state.preflights[_a_preflight_key(request)] = tuple(pairs)


def aiohttp_keep_refusal(AiohttpRoutes routes not None, request, str text not None, int reason,
                         detail_name=None, detail=None):
    """Keep a refused preflight's 403 text, with the reason number (and the method or header
    refused) it is counted under, for the preflights like `request` on its route, unless its
    Origin is one corsfast never reflects (kept apart from the allowed answers, so that a
    flood of refused origins never pushes those out)."""
    cdef AiohttpRoute state = routes._route(_a_route(request))
    if not 0 <= reason < N_REASONS:
        raise ValueError(f"no such reason: {reason}")
    key = _a_preflight_key(request)
    if state is not None and PyUnicode_CheckExact(key[0]) and _a_eligible(<str>key[0]):
        if len(state.refusals) >= A_MAX_PREFLIGHTS:
            state.refusals.clear()
        state.refusals[key] = (text, reason, detail_name, detail)


def aiohttp_request_headers(value):
    """Return an Access-Control-Request-Headers value's names, upper-cased, as aiohttp-cors'
    frozenset (built from the same items in the same order: the same iteration order)."""
    cdef list names
    cdef str name
    if value is None:
        return frozenset()
    names = []
    for name in value.split(A_COMMA):
        name = name.strip(A_STRIP).upper()
        if name:
            names.append(name)
    return frozenset(names)


def aiohttp_preflight(AiohttpEntry entry not None, str origin not None, str request_method not None,
                      frozenset request_headers not None):
    """Return the preflight's headers as (name, value) pairs, or the request header names the
    entry does not allow (a frozenset, aiohttp-cors' order) when it refuses them."""
    _a_names()
    if not entry.allow_all_headers:
        disallowed = request_headers - entry.allow_headers
        if disallowed:
            return disallowed
    pairs = [(I_ACAO, origin)]
    if entry.credentials:
        pairs.append((I_ACAC, A_TRUE))
    if entry.max_age is not None:
        pairs.append((I_ACMA, entry.max_age))
    pairs.append((I_ACAM, request_method))
    if request_headers:
        pairs.append((I_ACAH, A_COMMA.join(request_headers)))
    pairs.append((I_VARY, A_ORIGIN))
    return pairs
