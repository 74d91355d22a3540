# Included by _engine_c.pyx (one extension module):
# the flask-cors dialect (corsfast.flask): its compiled policy; the Flask hooks that use it are
# _engine_c_flask_hooks.pxi. Twin: _engine_py/flask.py (read it for the spec).

from cpython.contextvars cimport PyContextVar_Get
from cpython.long cimport PyLong_AsLong
from cpython.object cimport PyObject_IsTrue
from cpython.unicode cimport PyUnicode_1BYTE_DATA, PyUnicode_DATA, PyUnicode_GET_LENGTH, PyUnicode_KIND, PyUnicode_READ

import copy as _copy
import itertools
import re as _re

from ._options import DEFAULT_CACHE_SIZE as _DEFAULT_CACHE_SIZE
from ._options import DEFAULT_MAX_ORIGIN_LENGTH as _DEFAULT_MAX_ORIGIN_LENGTH

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object o)
    bint PyUnicode_CheckExact(object o)
    bint PyDict_Check(object o)
    int PyUnicode_1BYTE_KIND

_FLASK_ALL = ("FlaskEntry", "FlaskPolicy")

cdef str F_ACAO = "Access-Control-Allow-Origin"
cdef str F_ACAM = "Access-Control-Allow-Methods"
cdef str F_ACAH = "Access-Control-Allow-Headers"
cdef str F_ACEH = "Access-Control-Expose-Headers"
cdef str F_ACAC = "Access-Control-Allow-Credentials"
cdef str F_ACMA = "Access-Control-Max-Age"
cdef str F_ACAPN = "Access-Control-Allow-Private-Network"
cdef str FLASK_CORS_EVALUATED = "_FLASK_CORS_EVALUATED"
cdef str F_OPTIONS = "OPTIONS"
cdef str F_TRUE = "true"
cdef str F_STAR = "*"
cdef str ENV_ORIGIN = "HTTP_ORIGIN"
cdef str ENV_ACRM = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
cdef str ENV_ACRH = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"
cdef str ENV_ACRPN = "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"
cdef const char* LOWER_ACAO = b"access-control-allow-origin"
cdef tuple _VARY_ORIGIN = (("Vary", "Origin"),)
cdef tuple _NOTHING = ()
cdef Py_ssize_t MAX_CACHED_LENGTH = 8192
cdef Py_ssize_t MAX_CACHED_ORIGIN = _DEFAULT_MAX_ORIGIN_LENGTH
cdef object _ZERO = 0
cdef dict _NO_CONFIG = {}
cdef object _VOLATILE = object()
cdef frozenset _MATCH_ALL_SOURCES = frozenset(("", "/*", ".*"))
cdef frozenset _SAFELISTED_METHODS = frozenset(("GET", "HEAD", "POST"))
cdef str F_AUTHORIZATION = "authorization"
cdef str F_DETAIL_METHOD = "method"
cdef str F_DETAIL_HEADER = "header"
_DICT_GET = dict.get
_MARKS = itertools.count(1)

cdef enum:
    # Bits of a cached Access-Control-Request-Method verdict.
    METHOD_SENT = 1  # flask-cors' substring test passes: the preflight headers are sent
    METHOD_REFUSED = 2  # the browser refuses the method given that answer


# -- helpers ------------------------------------------------------------------------------

cdef bint _str_has_control(str value) noexcept:
    """Return True when `value` holds a character below 0x20 or 0x7F."""
    cdef Py_ssize_t i, n = PyUnicode_GET_LENGTH(value)
    cdef int kind = PyUnicode_KIND(value)
    cdef void* data = PyUnicode_DATA(value)
    cdef Py_UCS4 c
    for i in range(n):
        c = PyUnicode_READ(kind, data, i)
        if c < 0x20 or c == 0x7F:
            return True
    return False


cdef inline bint _is_lower_acao(str name) noexcept:
    """Return True when `name.lower() == "access-control-allow-origin"` (an exact str)."""
    cdef Py_ssize_t i
    cdef const unsigned char* s
    if PyUnicode_GET_LENGTH(name) != 27 or PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND:
        # A wider character never lowers to an ASCII letter of this name (only U+212A lowers to 'k').
        return False
    s = <const unsigned char*>PyUnicode_1BYTE_DATA(name)
    for i in range(27):
        if _ascii_lower(s[i]) != <unsigned char>LOWER_ACAO[i]:
            return False
    return True


cdef inline bint _is_options(object method) except -1:
    """Return `method == "OPTIONS"` (a C comparison for the exact str Werkzeug gives)."""
    if PyUnicode_CheckExact(method):
        return (PyUnicode_GET_LENGTH(method) == 7 and PyUnicode_KIND(method) == PyUnicode_1BYTE_KIND
                and memcmp(PyUnicode_1BYTE_DATA(method), b"OPTIONS", 7) == 0)
    return method == F_OPTIONS


cdef inline int _cache_store(dict cache, Py_ssize_t maxsize, object key, object value) except -1:
    if maxsize:
        if PyDict_GET_SIZE(cache) >= maxsize:
            cache.clear()  # keeps the bound exact; costs nothing per hit
        PyDict_SetItem(cache, key, value)
    return 0


cdef str _header_value(object value):
    return value if isinstance(value, str) else str(value)


def _split_rules(rules):
    literals = set()
    others = []
    patterns = []
    for rule in rules:
        if isinstance(rule, _re.Pattern):
            patterns.append(rule)
            continue
        try:
            literals.add(str(rule).casefold())
        except Exception:
            others.append(rule)
    return frozenset(literals), tuple(others), tuple(patterns)


# -- the policy ---------------------------------------------------------------------------

@cython.final
cdef class FlaskEntry:
    """The headers one Origin value gets (flask-cors' `get_cors_headers` for that origin), and
    the reason counted for it (allowed, no_origin, origin_not_allowed or origin_invalid)."""

    cdef readonly bint active
    cdef readonly tuple head
    cdef readonly tuple tail
    cdef readonly tuple simple
    cdef readonly int reason

    def __init__(self, bint active, tuple head, tuple tail, int reason=R_ALLOWED):
        if not 0 <= reason < N_REASONS:
            raise ValueError(f"no such reason: {reason}")
        self.active = active
        self.head = head
        self.tail = tail
        self.simple = head + tail
        self.reason = reason


cdef FlaskEntry _NOT_ALLOWED = FlaskEntry(False, (), (), R_ORIGIN_NOT_ALLOWED)
cdef FlaskEntry _INVALID = FlaskEntry(False, (), (), R_ORIGIN_INVALID)
cdef FlaskEntry _NO_ORIGIN = FlaskEntry(False, (), (), R_NO_ORIGIN)


@cython.final
cdef class FlaskPolicy:
    """Return the headers flask-cors 6.0.5 adds for one resolved option set."""

    cdef readonly object options
    cdef readonly bint automatic_options
    cdef bint _allow_all
    cdef bint _send_wildcard
    cdef bint _credentials
    cdef bint _always_send
    cdef bint _vary_header
    cdef bint _vary_static
    cdef bint _private_network_allowed
    cdef frozenset _method_tokens
    cdef frozenset _literals
    cdef tuple _others
    cdef tuple _patterns
    cdef frozenset _header_literals
    cdef tuple _header_others
    cdef tuple _header_patterns
    cdef tuple _expose
    cdef tuple _credentials_header
    cdef object _methods
    cdef tuple _preflight_tail
    cdef tuple _private_network
    cdef object _raw_max_age
    cdef Py_ssize_t _maxsize
    cdef dict _cache
    cdef dict _method_cache
    cdef dict _names_cache
    cdef Py_ssize_t _hits
    cdef Py_ssize_t _misses
    cdef FlaskEntry _no_origin

    def __init__(self, options, Py_ssize_t cache_size=_DEFAULT_CACHE_SIZE):
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size!r}")
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
        self._vary_static = len(origins) > 1 or bool(self._patterns)
        self._credentials_header = ((F_ACAC, F_TRUE),) if self._credentials else ()
        self._expose = ()
        if options.expose_headers:
            self._expose = ((F_ACEH, _header_value(options.expose_headers)),)
        self._methods = options.methods or None
        # Access-Control-Allow-Methods as a browser reads it: a comma-separated list.
        self._method_tokens = frozenset(
            [token.strip(" \t") for token in self._methods.split(",")] if isinstance(self._methods, str) else ()
        )
        self._private_network_allowed = bool(options.allow_private_network)
        self._raw_max_age = options.max_age
        preflight = []
        if options.max_age:
            preflight.append((F_ACMA, _header_value(options.max_age)))
        if self._methods is not None:
            preflight.append((F_ACAM, _header_value(self._methods)))
        self._preflight_tail = tuple(preflight)
        self._private_network = (F_ACAPN, "true" if options.allow_private_network else "false")
        self._maxsize = cache_size
        self._cache = {}
        self._method_cache = {}
        self._names_cache = {}
        self._hits = 0
        self._misses = 0
        self._no_origin = self._make_entry(None)

    # -- origins (cold: once per Origin value) ---------------------------------------------

    cdef bint _origin_matches(self, str origin) except -1:
        """Return True when a rule allows `origin` (one without control characters)."""
        if self._allow_all:
            return True
        if origin.casefold() in self._literals:
            return True
        for other in self._others:
            if origin == other:
                return True
        for pattern in self._patterns:
            if pattern.fullmatch(origin) is not None:
                return True
        return False

    cdef FlaskEntry _make_entry(self, object origin):
        cdef list to_set
        if origin:
            if self._allow_all and self._send_wildcard:
                to_set = [F_STAR]
            elif _str_has_control(origin):
                return _INVALID  # never reflect a value that breaks or changes header framing
            elif self._origin_matches(origin):
                to_set = [origin]
            else:
                return _NOT_ALLOWED
        elif self._always_send:
            if self._allow_all:
                if self._credentials:
                    return _NO_ORIGIN
                to_set = [F_STAR]
            else:
                to_set = sorted([o for o in self.options.origins if isinstance(o, str)])
                if not to_set:
                    return _NO_ORIGIN
        else:
            return _NO_ORIGIN
        first = to_set[0]
        head = ((F_ACAO, first),) if first else ()
        head = head + self._expose + self._credentials_header
        vary = self._vary_header and first != F_STAR and (self._vary_static or len(to_set) > 1)
        return FlaskEntry(True, head, _VARY_ORIGIN if vary else (), R_ALLOWED if origin else R_NO_ORIGIN)

    cdef FlaskEntry _lookup(self, object origin):
        cdef PyObject* found
        cdef FlaskEntry entry
        if origin is None:
            return self._no_origin
        if not PyUnicode_CheckExact(origin):
            raise TypeError(f"Expected str, got {type(origin).__name__}")
        if PyUnicode_GET_LENGTH(origin) == 0:
            return self._no_origin
        found = corsfast_dict_get_ref(self._cache, origin)
        if found is not NULL:
            corsfast_count(&self._hits)
            entry = <FlaskEntry>found
            Py_DECREF(entry)  # the cast took its own reference
            return entry
        corsfast_count(&self._misses)
        entry = self._make_entry(origin)
        if PyUnicode_GET_LENGTH(origin) <= MAX_CACHED_ORIGIN:
            _cache_store(self._cache, self._maxsize, origin, entry)
        return entry

    def lookup(self, origin):
        """Return the entry for a request's Origin value (None or "" when it has none)."""
        return self._lookup(origin)

    def is_allowed_origin(self, origin):
        """Return True when a request with this Origin gets CORS headers."""
        return self._lookup(origin).active

    def cache_info(self):
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(
            corsfast_counted(&self._hits), corsfast_counted(&self._misses), self._maxsize, len(self._cache)
        )

    def cache_clear(self):
        """Empty the caches and reset the origin cache's statistics."""
        self._cache.clear()
        self._method_cache.clear()
        self._names_cache.clear()
        corsfast_count_reset(&self._hits)
        corsfast_count_reset(&self._misses)

    # -- preflights ----------------------------------------------------------------------

    cdef int _method_verdict(self, str request_method) except -1:
        """Return METHOD_SENT when flask-cors' test passes (the upper-cased method is a
        substring of the methods), plus METHOD_REFUSED when a browser refuses the method given
        that answer: not safelisted and not listed (`*` counts only without credentials)."""
        cdef PyObject* found = corsfast_dict_get_ref(self._method_cache, request_method)
        cdef int verdict
        cdef frozenset tokens
        if found is not NULL:
            result = <object>found
            Py_DECREF(result)
            return <int>PyLong_AsLong(result)
        upper = request_method.upper()
        sent = bool(upper) and self._methods is not None and upper in self._methods
        verdict = METHOD_SENT if sent else 0
        tokens = self._method_tokens
        if request_method not in _SAFELISTED_METHODS and not (
            sent and (request_method in tokens or (not self._credentials and F_STAR in tokens))
        ):
            verdict |= METHOD_REFUSED
        if PyUnicode_GET_LENGTH(request_method) <= MAX_CACHED_LENGTH:
            _cache_store(self._method_cache, self._maxsize, request_method, verdict)
        return verdict

    cdef bint _header_name_allowed(self, str name) except -1:
        if _str_has_control(name):
            return False
        if name.casefold() in self._header_literals:
            return True
        for other in self._header_others:
            if name == other:
                return True
        for pattern in self._header_patterns:
            # flask-cors runs header patterns with `match` (a prefix): kept.
            if pattern.match(name) is not None:
                return True
        return False

    cdef tuple _headers_answer(self, str request_headers):
        """Return `(Access-Control-Allow-Headers, the first requested name a browser finds
        missing from it or None)` for a non-empty Access-Control-Request-Headers value."""
        cdef PyObject* found
        found = corsfast_dict_get_ref(self._names_cache, request_headers)
        if found is not NULL:
            result = <object>found
            Py_DECREF(result)
            return <tuple>result
        names = [name.strip() for name in request_headers.split(",")]
        allowed = [name for name in names if self._header_name_allowed(name)]
        result = (", ".join(sorted(allowed)), _missing_header(names, allowed, self._credentials))
        if PyUnicode_GET_LENGTH(request_headers) <= MAX_CACHED_LENGTH:
            _cache_store(self._names_cache, self._maxsize, request_headers, result)
        return result

    cdef object _allow_headers(self, str request_headers):
        cdef tuple answer
        if PyUnicode_GET_LENGTH(request_headers) == 0:
            return None
        answer = self._headers_answer(request_headers)  # held: the item is borrowed
        return <object>PyTuple_GET_ITEM(answer, 0)

    cdef object _refused_header(self, object request_method, object request_headers):
        """Return the first requested header name a browser finds not allowed (a refusal's detail)."""
        cdef tuple answer
        if not PyUnicode_CheckExact(request_headers) or PyUnicode_GET_LENGTH(request_headers) == 0:
            return None
        if PyUnicode_CheckExact(request_method) and self._method_verdict(request_method) & METHOD_SENT:
            answer = self._headers_answer(request_headers)  # held: the item is borrowed
            return <object>PyTuple_GET_ITEM(answer, 1)
        return _missing_header([name.strip() for name in request_headers.split(",")], (), self._credentials)

    def allow_headers(self, request_headers):
        """Return Access-Control-Allow-Headers for an Access-Control-Request-Headers value, or None."""
        if not request_headers:
            return None
        if not PyUnicode_CheckExact(request_headers):
            raise TypeError(f"Expected str, got {type(request_headers).__name__}")
        return self._allow_headers(request_headers)

    # -- requests ------------------------------------------------------------------------

    cdef tuple _entry_headers(self, FlaskEntry entry, object method, object request_method,
                              object request_headers, object private_network, int* reason):
        """Return the headers for an origin already looked up; set `reason[0]` to the reason
        counted for the request (for a preflight, the browser's verdict on this answer)."""
        cdef bint pna, preflight, header_refused = False
        cdef int verdict
        cdef list headers
        cdef tuple answer
        reason[0] = entry.reason
        if not entry.active:
            return _NOTHING
        if private_network is not None and not PyUnicode_CheckExact(private_network):
            raise TypeError(f"Expected str, got {type(private_network).__name__}")
        pna = private_network is not None and private_network == F_TRUE
        preflight = _is_options(method)
        if not pna and not preflight:
            return entry.simple
        headers = list(entry.head)
        if pna:
            headers.append(self._private_network)
        if preflight and request_method is not None:
            if not PyUnicode_CheckExact(request_method):
                raise TypeError(f"Expected str, got {type(request_method).__name__}")
            if PyUnicode_GET_LENGTH(request_method):
                verdict = self._method_verdict(request_method)
                if verdict & METHOD_SENT:
                    if request_headers is not None:
                        if not PyUnicode_CheckExact(request_headers):
                            raise TypeError(f"Expected str, got {type(request_headers).__name__}")
                        if PyUnicode_GET_LENGTH(request_headers):
                            answer = self._headers_answer(request_headers)
                            allowed = <object>PyTuple_GET_ITEM(answer, 0)
                            if allowed:
                                headers.append((F_ACAH, allowed))
                            header_refused = <object>PyTuple_GET_ITEM(answer, 1) is not None
                    headers.extend(self._preflight_tail)
                else:
                    # No Access-Control-Allow-Headers: every requested name is refused.
                    header_refused = self._refused_header(request_method, request_headers) is not None
                if reason[0] == R_ALLOWED:
                    if verdict & METHOD_REFUSED:
                        reason[0] = R_METHOD_NOT_ALLOWED
                    elif header_refused:
                        reason[0] = R_HEADER_NOT_ALLOWED
                    elif pna and not self._private_network_allowed:
                        reason[0] = R_PRIVATE_NETWORK_NOT_ALLOWED
        headers.extend(entry.tail)
        return tuple(headers)

    def cors_headers(self, method, origin, request_method, request_headers, private_network):
        """Return the `(name, value)` headers flask-cors adds to the response, in its order."""
        cdef int reason
        return self._entry_headers(
            self._lookup(origin), method, request_method, request_headers, private_network, &reason
        )

    def entry_headers(self, FlaskEntry entry not None, method, request_method, request_headers, private_network):
        """Return `cors_headers` for an origin already looked up (`lookup`)."""
        cdef int reason
        return self._entry_headers(entry, method, request_method, request_headers, private_network, &reason)

    def counted_headers(self, DecisionCounts counts not None, RefusedOrigins refused, method, origin,
                        request_method, request_headers, private_network):
        """Return `cors_headers(...)`, after counting the request in `counts` by kind and
        reason, and noting a refusal in `refused` (None: not noted), as the hooks do."""
        return _counted_headers(
            self, counts, refused, self._lookup(origin), origin, method, request_method, request_headers,
            private_network
        )


cdef object _missing_header(list names, object allowed, bint credentials):
    """Return the first of the requested `names` a browser finds missing from the answered
    `allowed` names (compared case-insensitively; `*` covers all but Authorization, and only
    without credentials), or None."""
    listed = {name.lower() for name in allowed}
    wildcard = not credentials and F_STAR in listed
    for name in names:
        if not name:
            continue
        lowered = name.lower()
        if lowered in listed or (wildcard and lowered != F_AUTHORIZATION):
            continue
        return name
    return None


cdef tuple _counted_headers(FlaskPolicy policy, DecisionCounts counts, RefusedOrigins refused, FlaskEntry entry,
                            object origin, object method, object request_method, object request_headers,
                            object private_network):
    """Return `policy`'s headers for a looked-up origin, counting the request in `counts`
    (None: not counted): a preflight is OPTIONS with an Access-Control-Request-Method, as
    flask-cors tells it apart."""
    cdef int reason
    cdef int kind = K_SIMPLE
    block = policy._entry_headers(entry, method, request_method, request_headers, private_network, &reason)
    if counts is not None:
        if request_method is not None and _is_options(method) and PyObject_IsTrue(request_method):
            kind = K_PREFLIGHT
        counts.count(kind, reason)
        if reason > R_NO_ORIGIN and refused is not None:
            _note_refusal(policy, refused, reason, origin, request_method, request_headers)
    return block


cdef int _note_refusal(FlaskPolicy policy, RefusedOrigins refused, int reason, object origin,
                       object request_method, object request_headers) except -1:
    """Note a refused request: its origin, and the method or first header name refused."""
    if reason == R_METHOD_NOT_ALLOWED:
        return refused._note(reason, origin, F_DETAIL_METHOD, request_method)
    if reason == R_HEADER_NOT_ALLOWED:
        return refused._note(reason, origin, F_DETAIL_HEADER, policy._refused_header(request_method, request_headers))
    return refused._note(reason, origin, None, None)
