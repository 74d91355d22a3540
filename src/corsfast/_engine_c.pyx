# cython: language_level=3, freethreading_compatible=True, embedsignature=True
# cython: boundscheck=False, wraparound=False, cdivision=True
"""The compiled CORS engine: the same names and behaviour as `_engine_py`, in C.

Read `_engine_py/` for the specification; this file keeps its structure and moves the
per-request work (header scan, cache lookup, origin checks, header-list assembly) into
typed C. Cold paths (compilation, the merge of app-set CORS headers) stay Python-level.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_SetItem
from cpython.long cimport PyLong_AsLong, PyLong_FromUnsignedLong
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.unicode cimport PyUnicode_AsLatin1String, PyUnicode_CheckExact, PyUnicode_DecodeLatin1
from libc.math cimport INFINITY
from libc.string cimport memcmp

import inspect
import logging
from http import HTTPStatus
import sys
import time

from ._cache_info import CacheInfo
from ._options import SAFELISTED_HEADERS, WATCH_DICT, WATCH_LIST, WATCH_PREFLIGHT, WATCH_SIMPLE, CORSOptions

_CORE_ALL = (
    "ASGIMiddlewareBase",
    "CORSPolicy",
    "CacheInfo",
    "OriginEntry",
    "asgi_call",
    "asgi_call_async",
    "kui_origin",
    "scan_plain_request_headers",
    "scan_request_headers",
    "starlette_entry",
    "starlette_preflight",
    "wrap_send",
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
    /* Store value as d[key] unless d already holds the key; return a new reference to
       what d holds then, or NULL with an error set. Two threads storing the same origin's
       entry keep the first, which one of them may already have counted on. */
    static PyObject* corsfast_dict_setdefault_ref(PyObject* d, PyObject* key, PyObject* value) {
    #if PY_VERSION_HEX >= 0x030D0000
        PyObject* result = NULL;
        if (PyDict_SetDefaultRef(d, key, value, &result) < 0) {
            return NULL;
        }
        return result;
    #else
        PyObject* result = PyDict_SetDefault(d, key, value);
        Py_XINCREF(result);
        return result;
    #endif
    }
    """
    PyObject* corsfast_dict_get_ref(object d, object key) except? NULL
    PyObject* corsfast_dict_setdefault_ref(object d, object key, object value) except NULL

cdef extern from *:
    """
    /* Return 1 while `container` (a list, or a dict of n/2 items) still holds exactly the
       objects `items` lists (a dict's keys and values in order), 0 once it changed in place.
       Pointer comparisons only: the Starlette drop-in's watched attributes, per request.
       Before 3.12 a dict carries a version tag that every change bumps (PEP 509): while it
       equals `*version` (the tag last seen unchanged) the items are not compared at all. */
    static int corsfast_same_items(PyObject* container, int is_dict, PyObject* const* items, Py_ssize_t n,
                                   unsigned long long* version) {
        int same = 1;
    #if PY_VERSION_HEX < 0x030C0000
        if (is_dict && ((PyDictObject*)container)->ma_version_tag == *version) {
            return 1;
        }
    #endif
    #ifdef Py_GIL_DISABLED
        Py_BEGIN_CRITICAL_SECTION(container);
    #endif
        if (is_dict) {
            Py_ssize_t position = 0, k = 0;
            PyObject *key, *value;
            if (2 * PyDict_GET_SIZE(container) != n) {
                same = 0;
            } else {
                while (PyDict_Next(container, &position, &key, &value)) {
                    if (key != items[k] || value != items[k + 1]) { same = 0; break; }
                    k += 2;
                }
            }
    #if PY_VERSION_HEX < 0x030C0000
            if (same) {
                *version = ((PyDictObject*)container)->ma_version_tag;
            }
    #endif
        } else if (PyList_GET_SIZE(container) != n) {
            same = 0;
        } else {
            for (Py_ssize_t i = 0; i < n; i++) {
                if (PyList_GET_ITEM(container, i) != items[i]) { same = 0; break; }
            }
        }
    #ifdef Py_GIL_DISABLED
        Py_END_CRITICAL_SECTION();
    #endif
        return same;
    }
    static PyObject* const* corsfast_tuple_items(PyObject* tuple) {
        return &PyTuple_GET_ITEM(tuple, 0);
    }
    """
    int corsfast_same_items(PyObject* container, int is_dict, PyObject* const* items, Py_ssize_t n,
                            unsigned long long* version) noexcept
    PyObject* const* corsfast_tuple_items(PyObject* tuple) noexcept

cdef extern from *:
    """
    /* Shared counters and write-once slots that stay exact without the GIL.
       corsfast_count: one relaxed atomic increment (cache hits and misses are statistics:
       no ordering is needed, only that no increment is lost).
       corsfast_publish: store a new reference in an empty slot unless another thread stored
       one first; returns the slot's value (a borrowed reference the slot keeps until its
       owner dies) and drops `value` when it lost. A slot is never replaced once set, so a
       reader of a non-NULL slot can never see it freed. */
    static inline void corsfast_count(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        _Py_atomic_add_ssize(counter, 1);
    #else
        (*counter)++;
    #endif
    }
    static inline void corsfast_count_add(Py_ssize_t* counter, Py_ssize_t n) {
    #ifdef Py_GIL_DISABLED
        _Py_atomic_add_ssize(counter, n);
    #else
        *counter += n;
    #endif
    }
    static inline Py_ssize_t corsfast_counted(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        return _Py_atomic_load_ssize_relaxed(counter);
    #else
        return *counter;
    #endif
    }
    /* A counter whose owner left the cache or the top refused origins is retired: set to
       CORSFAST_RETIRED, far below zero, in one atomic step that takes the count so far.
       corsfast_count_live adds to a counter unless it was retired (then the caller counts
       elsewhere), so no increment racing with the retirement is lost. */
    #define CORSFAST_RETIRED (PY_SSIZE_T_MIN / 2)
    static inline int corsfast_count_live(Py_ssize_t* counter, Py_ssize_t n) {
    #ifdef Py_GIL_DISABLED
        return _Py_atomic_add_ssize(counter, n) >= 0;
    #else
        if (*counter < 0) {
            return 0;
        }
        *counter += n;
        return 1;
    #endif
    }
    static inline Py_ssize_t corsfast_count_retire(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        Py_ssize_t n = _Py_atomic_exchange_ssize(counter, CORSFAST_RETIRED);
    #else
        Py_ssize_t n = *counter;
        *counter = CORSFAST_RETIRED;
    #endif
        return n > 0 ? n : 0;
    }
    static inline void corsfast_count_reset_live(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        Py_ssize_t n = _Py_atomic_load_ssize_relaxed(counter);
        while (n > 0 && !_Py_atomic_compare_exchange_ssize(counter, &n, 0)) {
        }
    #else
        if (*counter > 0) {
            *counter = 0;
        }
    #endif
    }
    static inline Py_ssize_t corsfast_count_take(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        return _Py_atomic_exchange_ssize(counter, 0);
    #else
        Py_ssize_t n = *counter;
        *counter = 0;
        return n;
    #endif
    }
    static inline void corsfast_count_set(Py_ssize_t* counter, Py_ssize_t value) {
    #ifdef Py_GIL_DISABLED
        _Py_atomic_store_ssize_relaxed(counter, value);
    #else
        *counter = value;
    #endif
    }
    static inline void corsfast_count_reset(Py_ssize_t* counter) {
    #ifdef Py_GIL_DISABLED
        _Py_atomic_store_ssize_relaxed(counter, 0);
    #else
        *counter = 0;
    #endif
    }
    static inline PyObject* corsfast_published(PyObject** slot) {
    #ifdef Py_GIL_DISABLED
        return (PyObject*)_Py_atomic_load_ptr_acquire(slot);
    #else
        return *slot;
    #endif
    }
    static inline PyObject* corsfast_publish(PyObject** slot, PyObject* value) {
    #ifdef Py_GIL_DISABLED
        PyObject* expected = NULL;
        if (_Py_atomic_compare_exchange_ptr(slot, &expected, value)) {
            return value;
        }
        Py_DECREF(value);
        return expected;
    #else
        if (*slot == NULL) {
            *slot = value;
            return value;
        }
        Py_DECREF(value);
        return *slot;
    #endif
    }
    """
    void corsfast_count(Py_ssize_t* counter) noexcept nogil
    void corsfast_count_add(Py_ssize_t* counter, Py_ssize_t n) noexcept nogil
    Py_ssize_t corsfast_counted(Py_ssize_t* counter) noexcept nogil
    void corsfast_count_reset(Py_ssize_t* counter) noexcept nogil
    Py_ssize_t corsfast_count_take(Py_ssize_t* counter) noexcept nogil
    void corsfast_count_set(Py_ssize_t* counter, Py_ssize_t value) noexcept nogil
    bint corsfast_count_live(Py_ssize_t* counter, Py_ssize_t n) noexcept nogil
    Py_ssize_t corsfast_count_retire(Py_ssize_t* counter) noexcept nogil
    void corsfast_count_reset_live(Py_ssize_t* counter) noexcept nogil
    PyObject* corsfast_published(PyObject** slot) noexcept nogil
    PyObject* corsfast_publish(PyObject** slot, PyObject* value) noexcept

cdef extern from *:
    """
    /* A monotonic clock in seconds without a Python call, for the ttl of allow_origin_func's
       verdicts (read on every cached verdict). Linux: CLOCK_MONOTONIC_COARSE, a few ns per
       read and a few ms resolution (CLOCK_MONOTONIC can cost a system call on VMs);
       elsewhere time.monotonic's clock through CPython's C API (public from 3.13).
       Negative when it fails (then the caller asks time.monotonic). */
    #include <time.h>
    static double corsfast_monotonic(void) {
    #if defined(__linux__) && defined(CLOCK_MONOTONIC_COARSE)
        struct timespec ts;
        if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) {
            return -1.0;
        }
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    #elif PY_VERSION_HEX >= 0x030D0000
        PyTime_t t;
        if (PyTime_MonotonicRaw(&t) < 0) {
            return -1.0;
        }
        return PyTime_AsSecondsDouble(t);
    #else
        return _PyTime_AsSecondsDouble(_PyTime_GetMonotonicClock());
    #endif
    }
    """
    double corsfast_monotonic() noexcept nogil

cdef extern from "pythread.h":
    unsigned long PyThread_get_thread_ident() nogil

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
cdef str VARY_FIRST = "first"  # a Vary operation joining Origin to the first Vary value only
cdef tuple STARLETTE_FAILURES = (b"origin", b"method", b"headers", b"private-network")
cdef Py_ssize_t MAX_MIRRORED_LENGTH = 8192
cdef Py_ssize_t MAX_REMEMBERED_HEADER_NAMES = 512
cdef Py_ssize_t MAX_REMEMBERED_HEADER_LISTS = 1024
cdef int _WATCH_LIST = WATCH_LIST
cdef int _WATCH_DICT = WATCH_DICT
cdef int _WATCH_SIMPLE = WATCH_SIMPLE
cdef int _WATCH_PREFLIGHT = WATCH_PREFLIGHT
cdef enum:
    _MAX_WATCHED = 8  # the Starlette drop-in watches at most five containers
# Response headers the engine sets on an app's response (unless a Starlette drop-in's
# `simple_headers` names others); when the app set one itself, the slow path merges.
cdef frozenset TOUCHED_RESPONSE_HEADERS = frozenset((ACAO, ACAC, ACEH, VARY))


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


cdef inline bint _is_digit(unsigned char c) noexcept nogil:
    return c >= b'0' and c <= b'9'


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


# The engine is one extension module; its seams are separate files, included in order.
include "_engine_c_counts.pxi"
include "_engine_c_headers.pxi"
include "_engine_c_origins.pxi"
include "_engine_c_policy.pxi"
include "_engine_c_middleware.pxi"
include "_engine_c_asgi.pxi"
include "_engine_c_django.pxi"
include "_engine_c_flask.pxi"
include "_engine_c_flask_hooks.pxi"
include "_engine_c_aiohttp.pxi"
include "_engine_c_aiohttp_native.pxi"
include "_engine_c_wsgi.pxi"

__all__ = (
    _CORE_ALL + _COUNTS_ALL + _MIDDLEWARE_ALL + _AIOHTTP_ALL + _AIOHTTP_NATIVE_ALL
    + _DJANGO_ALL + _FLASK_ALL + _FLASK_HOOKS_ALL + _WSGI_ALL
)
