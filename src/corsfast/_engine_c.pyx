# cython: language_level=3, freethreading_compatible=True, embedsignature=True
# cython: boundscheck=False, wraparound=False, cdivision=True
"""The compiled CORS engine: the same names and behaviour as `_engine_py`, in C.

Read `_engine_py.py` for the specification; this file keeps its structure and moves the
per-request work (header scan, cache lookup, origin checks, header-list assembly) into
typed C. Cold paths (compilation, the merge of app-set CORS headers) stay Python-level.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_SetItem
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeLatin1
from libc.string cimport memcmp

import inspect
import sys
from collections import namedtuple

from ._options import SAFELISTED_HEADERS, CORSOptions

__all__ = (
    "ASGIMiddlewareBase",
    "CORSPolicy",
    "CacheInfo",
    "OriginEntry",
    "asgi_call",
    "asgi_call_async",
    "kui_origin",
    "scan_request_headers",
)

cdef extern from *:
    """
    /* Return a new reference to d[key], or NULL (an error is set only on failure).
       On free-threaded builds another thread may clear the cache at any time, so a
       borrowed reference could die before it is used: take ownership in one step. */
    static PyObject* corsfast_dict_get_ref(PyObject* d, PyObject* key) {
    #if PY_VERSION_HEX >= 0x030D0000
        PyObject* value = NULL;
        (void)PyDict_GetItemRef(d, key, &value);
        return value;
    #else
        PyObject* value = PyDict_GetItemWithError(d, key);
        Py_XINCREF(value);
        return value;
    #endif
    }
    """
    PyObject* corsfast_dict_get_ref(object d, object key) except? NULL

cdef extern from "Python.h":
    ctypedef PyObject* (*vectorcallfunc)(PyObject* callable, PyObject* const* args, size_t nargsf, PyObject* kwnames)
    ctypedef struct PyTypeObject:
        Py_ssize_t tp_vectorcall_offset
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)
    void PyType_Modified(PyTypeObject* type)
    PyObject* PyDict_GetItemWithError(object d, object key) except? NULL
    bint PyList_CheckExact(object o)
    bint PyTuple_CheckExact(object o)
    bint PyDict_CheckExact(object o)

CacheInfo = namedtuple("CacheInfo", ["hits", "misses", "maxsize", "currsize"])
CacheInfo.__doc__ = "Origin-match cache statistics, as `functools.lru_cache` reports them."

cdef bytes ORIGIN = b"origin"
cdef bytes ACRM = b"access-control-request-method"
cdef bytes ACRH = b"access-control-request-headers"
cdef bytes ACRPN = b"access-control-request-private-network"
cdef bytes ACAO = b"access-control-allow-origin"
cdef bytes ACAC = b"access-control-allow-credentials"
cdef bytes ACEH = b"access-control-expose-headers"
cdef bytes ACAM = b"access-control-allow-methods"
cdef bytes ACAH = b"access-control-allow-headers"
cdef bytes ACMA = b"access-control-max-age"
cdef bytes ACAPN = b"access-control-allow-private-network"
cdef bytes VARY = b"vary"
cdef bytes CONTENT_LENGTH = b"content-length"
cdef bytes CONTENT_TYPE = b"content-type"
cdef str HTTP = "http"
cdef str OPTIONS = "OPTIONS"
cdef str RESPONSE_START = "http.response.start"
cdef str RESPONSE_BODY = "http.response.body"
cdef bytes STARLETTE_PREFLIGHT_VARY = (
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    b"Access-Control-Request-Private-Network"
)
cdef tuple STARLETTE_FAILURES = (b"origin", b"method", b"headers", b"private-network")
cdef Py_ssize_t MAX_MIRRORED_LENGTH = 8192
cdef bytes _STRIP = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0"
cdef object _NO_TOUCH = frozenset()


# -- byte classes -------------------------------------------------------------------------

cdef inline bint _is_tchar(unsigned char c) noexcept nogil:
    if c >= b'a' and c <= b'z':
        return True
    if c >= b'A' and c <= b'Z':
        return True
    if c >= b'0' and c <= b'9':
        return True
    return c in b"!#$%&'*+-.^_`|~"


cdef inline bint _is_label_char(unsigned char c) noexcept nogil:
    return (c >= b'a' and c <= b'z') or (c >= b'0' and c <= b'9') or c == b'-'


cdef inline bint _is_strip(unsigned char c) noexcept nogil:
    # What str.strip() removes from a latin-1 decoded header.
    return (c >= 0x09 and c <= 0x0D) or (c >= 0x1C and c <= 0x20) or c == 0x85 or c == 0xA0


cdef inline unsigned char _ascii_lower(unsigned char c) noexcept nogil:
    if c >= b'A' and c <= b'Z':
        return c + 32
    return c


cdef inline bint _has_control(const unsigned char* s, Py_ssize_t n, bint allow_tab) noexcept nogil:
    cdef Py_ssize_t i
    cdef unsigned char c
    for i in range(n):
        c = s[i]
        if c < 0x20 or c == 0x7F:
            if allow_tab and c == 0x09:
                continue
            return True
    return False


cdef inline bint _is_token(bytes value) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(value)
    cdef Py_ssize_t i
    if n == 0:
        return False
    for i in range(n):
        if not _is_tchar(s[i]):
            return False
    return True


cdef bint _is_token_list(bytes value) noexcept:
    """Return True when `value` is a comma-separated list of tokens with optional spaces."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
    cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(value)
    cdef Py_ssize_t i = 0, start, end
    if n == 0 or n > MAX_MIRRORED_LENGTH:
        return False
    while True:
        start = i
        while i < n and s[i] != b',':
            i += 1
        end = i
        while start < end and (s[start] == b' ' or s[start] == b'\t'):
            start += 1
        while end > start and (s[end - 1] == b' ' or s[end - 1] == b'\t'):
            end -= 1
        if start == end:
            return False
        while start < end:
            if not _is_tchar(s[start]):
                return False
            start += 1
        if i == n:
            return True
        i += 1


cdef inline bint _key_is(object key, bytes name) noexcept:
    """Return True when the header name `key` is exactly the bytes `name`."""
    cdef Py_ssize_t n
    if not PyBytes_CheckExact(key):
        return key == name
    n = PyBytes_GET_SIZE(name)
    return PyBytes_GET_SIZE(key) == n and memcmp(PyBytes_AS_STRING(key), PyBytes_AS_STRING(name), n) == 0


# -- header operations (the cold path, kept identical to the pure twin) -------------------

def _vary_has_origin(list values):
    for value in values:
        for token in value.split(b","):
            token = token.strip(b" \t").lower()
            if token == b"origin" or token == b"*":
                return True
    return False


def _apply_ops(list headers, ops, bint dedupe_vary):
    """Return `headers` with `ops` applied in place, as Starlette's `MutableHeaders` would."""
    for name, value in ops:
        if value is None:
            existing = [v for k, v in headers if k == VARY]
            if dedupe_vary and _vary_has_origin(existing):
                continue
            value = b", ".join([*existing, b"Origin"])
        found = [index for index, (key, _) in enumerate(headers) if key == name]
        for index in reversed(found[1:]):
            del headers[index]
        if found:
            headers[found[0]] = (name, value)
        else:
            headers.append((name, value))
    return headers


@cython.final
cdef class OriginEntry:
    """The verdict for one Origin value and the header tuples that follow from it."""

    cdef readonly bint allowed
    cdef readonly tuple ops
    cdef readonly tuple block
    cdef readonly tuple preflight_head

    def __init__(self, bint allowed, tuple ops, tuple preflight_head):
        self.allowed = allowed
        self.ops = ops
        self.block = tuple(_apply_ops([], ops, True))
        self.preflight_head = preflight_head


# -- the policy ---------------------------------------------------------------------------

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
    cdef tuple _patterns
    cdef Py_ssize_t _max_origin_length
    cdef Py_ssize_t _maxsize
    cdef dict _cache
    cdef Py_ssize_t _hits
    cdef Py_ssize_t _misses
    cdef frozenset _methods
    cdef OriginEntry _no_origin
    cdef OriginEntry _denied
    cdef OriginEntry _static_allowed
    # native dialect
    cdef tuple _simple_tail
    cdef tuple _preflight_credentials
    cdef object _preflight_methods
    cdef object _preflight_headers
    cdef tuple _preflight_max_age
    # starlette dialect
    cdef tuple _simple_ops
    # kui dialect
    cdef tuple _kui_block
    cdef tuple _preflight_prefix
    cdef list _preflight_bodies
    cdef frozenset _allowed_header_names
    cdef Py_ssize_t _longest_header_name

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
        self._patterns = options.origin_patterns
        self._max_origin_length = options.max_origin_length
        self._maxsize = options.cache_size
        self._cache = {}
        self._hits = 0
        self._misses = 0
        self._explicit = not self._allow_all or options.allow_credentials
        self._methods = frozenset(m.encode("latin-1") for m in options.allow_methods)
        self._allow_all_headers = options.allow_all_headers
        self._allow_all_methods = options.allow_all_methods
        self._allow_private_network = options.allow_private_network
        if self._native:
            self._compile_native(options)
        elif self._kui:
            self._compile_kui(options)
        else:
            self._compile_starlette(options)

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
        simple = []
        if self._allow_all:
            simple.append((ACAO, b"*"))
        if options.allow_credentials:
            simple.append((ACAC, b"true"))
        if options.expose_headers:
            simple.append((ACEH, ", ".join(options.expose_headers).encode("latin-1")))
        self._simple_ops = tuple(simple)
        self._no_origin = OriginEntry(False, ((VARY, None),), ())
        head = [(VARY, STARLETTE_PREFLIGHT_VARY)]
        if not self._explicit:
            head.append((ACAO, b"*"))
        head.append((ACAM, ", ".join(options.allow_methods).encode("latin-1")))
        head.append((ACMA, str(options.max_age).encode("ascii")))
        allow_headers = sorted(set(SAFELISTED_HEADERS) | set(options.allow_headers))
        if allow_headers and not self._allow_all_headers:
            head.append((ACAH, ", ".join(allow_headers).encode("latin-1")))
        if options.allow_credentials:
            head.append((ACAC, b"true"))
        self._preflight_prefix = tuple(head)
        self._allowed_header_names = frozenset(h.lower().encode("latin-1") for h in allow_headers)
        self._longest_header_name = max([len(h) for h in self._allowed_header_names] or [0])
        self._denied = OriginEntry(False, self._simple_ops + ((VARY, None),), self._preflight_prefix)
        self._static_allowed = None
        if self._allow_all and not options.allow_credentials:
            self._static_allowed = OriginEntry(True, self._denied.ops, self._preflight_prefix)
        self._preflight_bodies = []
        for mask in range(16):
            failures = [name for bit, name in enumerate(STARLETTE_FAILURES) if mask & (1 << bit)]
            body = b"Disallowed CORS " + b", ".join(failures) if failures else b"OK"
            self._preflight_bodies.append((body, (CONTENT_LENGTH, str(len(body)).encode("ascii"))))

    cdef OriginEntry _make_entry(self, bytes origin, bint allowed):
        if not allowed:
            return self._denied
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
        return OriginEntry(
            True,
            self._simple_ops + (reflected, (VARY, None)),
            self._preflight_prefix + (reflected,),
        )

    cdef inline bint _starlette_rules(self) noexcept:
        return not self._native and not self._kui

    # -- origin matching -----------------------------------------------------------------

    cdef bint _match(self, bytes origin) except -1:
        cdef const unsigned char* s = <const unsigned char*>PyBytes_AS_STRING(origin)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(origin)
        cdef Py_ssize_t i, label_start, label_end, plen, slen
        cdef bytes prefix, suffix
        # Never reflect bytes that a server refuses or that change framing.
        if _has_control(s, n, False):
            return False
        if n == 0 and not self._starlette_rules():
            return False
        if self._allow_all or origin in self._exact:
            return True
        for prefix, suffix in self._wildcards:
            plen = PyBytes_GET_SIZE(prefix)
            slen = PyBytes_GET_SIZE(suffix)
            label_start = plen
            label_end = n - slen
            if label_end <= label_start or label_end - label_start > 63:
                continue
            if memcmp(s, PyBytes_AS_STRING(prefix), plen) != 0:
                continue
            if memcmp(s + label_end, PyBytes_AS_STRING(suffix), slen) != 0:
                continue
            if s[label_start] == b'-' or s[label_end - 1] == b'-':
                continue
            for i in range(label_start, label_end):
                if not _is_label_char(s[i]):
                    break
            else:
                return True
        if self._patterns:
            text = PyUnicode_DecodeLatin1(<const char*>s, n, NULL)
            for pattern in self._patterns:
                if pattern.fullmatch(text) is not None:
                    return True
        return False

    cdef OriginEntry _lookup(self, bytes origin):
        cdef PyObject* found
        cdef OriginEntry entry
        if PyBytes_GET_SIZE(origin) > self._max_origin_length:
            # Refused before hashing, caching or running any rule on it.
            self._misses += 1
            return self._denied
        found = corsfast_dict_get_ref(self._cache, origin)
        if found is not NULL:
            self._hits += 1
            entry = <OriginEntry>found
            Py_DECREF(entry)  # the cast took its own reference
            return entry
        self._misses += 1
        entry = self._make_entry(origin, self._match(origin))
        if self._maxsize:
            if len(self._cache) >= self._maxsize:
                # Clearing keeps the bound exact and costs nothing per hit.
                self._cache.clear()
            PyDict_SetItem(self._cache, origin, entry)
        return entry

    def lookup(self, bytes origin not None):
        """Return the cached entry for a raw Origin value, computing it on a miss."""
        return self._lookup(origin)

    def is_allowed_origin(self, bytes origin not None):
        """Return True when the raw Origin header value is allowed by this policy."""
        return self._lookup(origin).allowed

    def cache_info(self):
        """Return the origin cache's hits, misses, maximum and current size."""
        return CacheInfo(self._hits, self._misses, self._maxsize, len(self._cache))

    def cache_clear(self):
        """Empty the origin cache and reset its statistics."""
        self._cache.clear()
        self._hits = 0
        self._misses = 0

    # -- requests ------------------------------------------------------------------------

    def is_preflight(self, str method, origin, request_method):
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
        cdef OriginEntry entry = self._no_origin if origin is None else self._lookup(origin)
        return self._entry_headers(entry, headers)

    cdef list _entry_headers(self, OriginEntry entry, object headers):
        cdef Py_ssize_t n, m, i
        cdef list result
        cdef tuple block = entry.block
        cdef object item, key
        if not PyList_CheckExact(headers):
            headers = list(headers)
        n = PyList_GET_SIZE(headers)
        for i in range(n):
            item = <object>PyList_GET_ITEM(headers, i)
            if PyTuple_CheckExact(item) and PyTuple_GET_SIZE(item) == 2:
                key = <object>PyTuple_GET_ITEM(item, 0)
            else:
                key = item[0]
            if _is_touched(key):
                return _apply_ops(list(headers), entry.ops, self._native or self._kui)  # only Starlette repeats Origin
        # Copy, never extend the app's list: a response object may send it again.
        m = PyTuple_GET_SIZE(block)
        result = PyList_New(n + m)
        for i in range(n):
            item = <object>PyList_GET_ITEM(headers, i)
            Py_INCREF(item)
            PyList_SET_ITEM(result, i, item)
        for i in range(m):
            item = <object>PyTuple_GET_ITEM(block, i)
            Py_INCREF(item)
            PyList_SET_ITEM(result, n + i, item)
        return result

    def preflight_response(self, bytes origin not None, request_method,
                           request_headers, request_private_network):
        """Return `(status, headers, body)` answering a preflight, or None to pass it to the app."""
        return self._preflight(origin, request_method, request_headers, request_private_network)

    cdef object _preflight(self, bytes origin, object request_method, object request_headers,
                           object request_private_network):
        cdef OriginEntry entry = self._lookup(origin)
        if self._kui:
            return (200, list(entry.block), b"") if entry.allowed else None
        if self._native:
            return self._native_preflight(entry, <bytes?>request_method, request_headers, request_private_network)
        return self._starlette_preflight(entry, <bytes?>request_method, request_headers, request_private_network)

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
                                    object request_headers, object request_private_network):
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
                    headers.append((ACAH, names))
                else:
                    failures |= 4
            elif not self._header_names_allowed(names):
                failures |= 4
        if request_private_network is not None:
            if self._allow_private_network:
                headers.append((ACAPN, b"true"))
            else:
                failures |= 8
        body, content_length = self._preflight_bodies[failures]
        headers.append(content_length)
        headers.append((CONTENT_TYPE, b"text/plain; charset=utf-8"))
        return (400 if failures else 200), headers, body

    cdef bint _header_names_allowed(self, bytes value) except -1:
        """Return True when every comma-separated name is allowed; stops at the first refusal.

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
            if end == start or end - start > longest:
                return False  # longer than every allowed name
            if end - start > 256:
                name = value[start:end].lower()
            else:
                for j in range(end - start):
                    buffer[j] = _ascii_lower(s[start + j])
                name = (<char*>buffer)[:end - start]
            if name not in self._allowed_header_names:
                return False
            if i == n:
                return True
            i += 1


cdef inline bint _is_touched(object key) noexcept:
    """Return True for the response header names the engine sets (ACAO, ACAC, ACEH, Vary)."""
    cdef Py_ssize_t n
    cdef const char* s
    if not PyBytes_CheckExact(key):
        return key == ACAO or key == ACAC or key == ACEH or key == VARY
    n = PyBytes_GET_SIZE(key)
    s = PyBytes_AS_STRING(key)
    if n == 4:
        return memcmp(s, b"vary", 4) == 0
    if n == 27:
        return memcmp(s, b"access-control-allow-origin", 27) == 0
    if n == 32:
        return memcmp(s, b"access-control-allow-credentials", 32) == 0
    if n == 29:
        return memcmp(s, b"access-control-expose-headers", 29) == 0
    return False


# -- request header scan ------------------------------------------------------------------

cdef struct RequestHeaders:
    PyObject* origin
    PyObject* method
    PyObject* names
    PyObject* private_network


cdef inline void _note(RequestHeaders* out, PyObject* key, PyObject* value) noexcept:
    # Only the key's length is read for most headers; the value is checked on a match.
    cdef Py_ssize_t n
    cdef const char* s
    if not PyBytes_CheckExact(<object>key):
        return
    n = PyBytes_GET_SIZE(<object>key)
    if n != 6 and n != 29 and n != 30 and n != 38:
        return
    if not PyBytes_CheckExact(<object>value):
        return
    s = PyBytes_AS_STRING(<object>key)
    if n == 6:
        if out.origin is NULL and memcmp(s, b"origin", 6) == 0:
            out.origin = value
    elif n == 29:
        if out.method is NULL and memcmp(s, b"access-control-request-method", 29) == 0:
            out.method = value
    elif n == 30:
        if out.names is NULL and memcmp(s, b"access-control-request-headers", 30) == 0:
            out.names = value
    elif out.private_network is NULL and memcmp(s, b"access-control-request-private-network", 38) == 0:
        out.private_network = value


cdef int _scan(object headers, RequestHeaders* out) except -1:
    """Fill `out` with borrowed references to the first values of the four CORS headers.

    The references borrow from `headers`, which the caller keeps alive (it is the scope's).
    """
    cdef Py_ssize_t i, n
    cdef PyObject* item
    out.origin = out.method = out.names = out.private_network = NULL
    if not PyList_CheckExact(headers):
        raise TypeError("headers must be a list")
    n = PyList_GET_SIZE(headers)
    for i in range(n):
        item = PyList_GET_ITEM(headers, i)
        if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
            _note(out, PyTuple_GET_ITEM(<object>item, 0), PyTuple_GET_ITEM(<object>item, 1))
        else:
            key, value = <object>item
            _note(out, <PyObject*>key, <PyObject*>value)
    return 0


def scan_request_headers(headers):
    """Return the first Origin, Access-Control-Request-Method, -Headers and -Private-Network values."""
    cdef RequestHeaders found
    if not PyList_CheckExact(headers):
        headers = list(headers)
    _scan(headers, &found)
    return (
        <object>found.origin if found.origin is not NULL else None,
        <object>found.method if found.method is not NULL else None,
        <object>found.names if found.names is not NULL else None,
        <object>found.private_network if found.private_network is not NULL else None,
    )


cdef inline bint _is_origin_any_case(PyObject* key) noexcept:
    cdef const unsigned char* s
    if not PyBytes_CheckExact(<object>key) or PyBytes_GET_SIZE(<object>key) != 6:
        return False
    s = <const unsigned char*>PyBytes_AS_STRING(<object>key)
    return (_ascii_lower(s[0]) == b'o' and _ascii_lower(s[1]) == b'r' and _ascii_lower(s[2]) == b'i'
            and _ascii_lower(s[3]) == b'g' and _ascii_lower(s[4]) == b'i' and _ascii_lower(s[5]) == b'n')


def kui_origin(headers):
    """Return the Origin as Kui reads it: every `origin` field (any case), joined with ", "."""
    cdef Py_ssize_t i, n
    cdef PyObject* item
    cdef list values = None
    cdef bint found = False
    first = None
    if not PyList_CheckExact(headers):
        headers = list(headers)
    n = PyList_GET_SIZE(headers)
    for i in range(n):
        item = PyList_GET_ITEM(headers, i)
        if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
            key = <object>PyTuple_GET_ITEM(<object>item, 0)
            value = <object>PyTuple_GET_ITEM(<object>item, 1)
        else:
            key, value = <object>item
        if not _is_origin_any_case(<PyObject*>key):
            continue
        if not found:
            # A flag, not `first is None`: a None value is a field too (joining it raises, as in the twin).
            found = True
            first = value
        elif values is None:
            values = [first, value]
        else:
            values.append(value)
    if values is not None:
        return b", ".join(values)
    return first


# -- ASGI ---------------------------------------------------------------------------------

cdef class ASGIMiddlewareBase:
    """The state an ASGI shim needs: the wrapped app and the compiled policy."""

    cdef public object app
    cdef public CORSPolicy policy


@cython.final
@cython.freelist(64)
cdef class _CORSSend:
    """Wrap `send`: add the CORS headers to the response start, forward everything else.

    Called twice per request, so it is called through vectorcall (see `_enable_vectorcall`):
    no argument tuple is built per message. `__call__` is the same code for other callers.
    """

    cdef vectorcallfunc vectorcall
    cdef object send
    cdef CORSPolicy policy
    cdef OriginEntry entry
    cdef bint started

    def __call__(self, message):
        return self._forward(message)

    cdef object _forward(self, object message):
        cdef PyObject* found
        if self.started:
            return self.send(message)
        if PyDict_CheckExact(message):
            found = PyDict_GetItemWithError(message, "type")
            kind = <object>found if found is not NULL else message["type"]
        else:
            kind = message["type"]
        if kind is RESPONSE_START or kind == RESPONSE_START:
            self.started = True
            if PyDict_CheckExact(message):
                found = PyDict_GetItemWithError(message, "headers")
                headers = <object>found if found is not NULL else ()
            else:
                headers = message.get("headers", ())
            message["headers"] = self.policy._entry_headers(self.entry, headers)
        return self.send(message)


cdef object _send_vectorcall(object wrapper, PyObject* const* args, size_t nargsf, PyObject* kwnames):
    # The vectorcall ABI: a new reference, or NULL with an exception set (Cython's `object`).
    if PyVectorcall_NARGS(nargsf) != 1 or (kwnames is not NULL and PyTuple_GET_SIZE(<object>kwnames) != 0):
        raise TypeError("send() takes exactly one positional argument (the message)")
    return (<_CORSSend>wrapper)._forward(<object>args[0])


cdef inline _CORSSend _wrap_send(object send, CORSPolicy policy, OriginEntry entry):
    cdef _CORSSend wrapper = _CORSSend.__new__(_CORSSend)
    wrapper.vectorcall = <vectorcallfunc>_send_vectorcall
    wrapper.send = send
    wrapper.policy = policy
    wrapper.entry = entry
    wrapper.started = False
    return wrapper


cdef void _enable_vectorcall() except *:
    """Point `_CORSSend`'s type at its `vectorcall` field (PEP 590), once, at import."""
    cdef _CORSSend probe = _CORSSend.__new__(_CORSSend)
    cdef PyTypeObject* kind = <PyTypeObject*>_CORSSend
    kind.tp_vectorcall_offset = <Py_ssize_t>(<char*>&probe.vectorcall - <char*><PyObject*>probe)
    kind.tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL
    PyType_Modified(kind)


_enable_vectorcall()


async def _answer(send, tuple answer):
    status, headers, body = answer
    await send({"type": RESPONSE_START, "status": status, "headers": headers})
    await send({"type": RESPONSE_BODY, "body": body})


def asgi_call(self, scope, receive, send):
    """Return the awaitable that answers one ASGI call through the policy of `self`.

    A plain function that returns the app's own awaitable, so the pass-through path costs
    no extra coroutine frame; it is marked as a coroutine function for servers' detection.
    """
    cdef ASGIMiddlewareBase middleware = <ASGIMiddlewareBase?>self
    cdef CORSPolicy policy = middleware.policy
    cdef RequestHeaders found
    cdef PyObject* item
    cdef OriginEntry entry
    cdef bytes origin
    if PyDict_CheckExact(scope):
        item = PyDict_GetItemWithError(scope, "type")
        kind = <object>item if item is not NULL else scope["type"]
    else:
        kind = scope["type"]
    if kind is not HTTP and kind != HTTP:
        return middleware.app(scope, receive, send)
    headers = scope["headers"]
    if not PyList_CheckExact(headers):
        headers = list(headers)
    _scan(headers, &found)
    if found.origin is NULL:
        entry = policy._no_origin
    else:
        origin = <bytes>found.origin
        if policy._is_preflight(scope["method"], origin, found.method):
            answer = policy._preflight(
                origin,
                <object>found.method if found.method is not NULL else None,
                <object>found.names if found.names is not NULL else None,
                <object>found.private_network if found.private_network is not NULL else None,
            )
            if answer is not None:
                return _answer(send, <tuple>answer)
        entry = policy._lookup(origin)
    return middleware.app(scope, receive, _wrap_send(send, policy, entry))


async def asgi_call_async(self, scope, receive, send):
    """Answer one ASGI call through the policy of `self` (a real coroutine function)."""
    await asgi_call(self, scope, receive, send)


if sys.version_info >= (3, 12):
    # Servers take `app.__call__` for ASGI 3 only when it looks like a coroutine function.
    inspect.markcoroutinefunction(asgi_call)
