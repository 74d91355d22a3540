# Included by _engine_c.pyx (one extension module):
# the WSGI call of the native middleware; twin: _engine_py/wsgi.py.

# PyUnicode_KIND, PyUnicode_DATA and PyUnicode_GET_LENGTH come with the Django and Flask seams.


cdef class WSGIMiddlewareBase(MiddlewareBase):
    """The state the WSGI shim needs (`MiddlewareBase`); `wsgi_call` is its `__call__`."""


cdef object _environ_bytes(object environ, str key):
    """Return a request header from `environ` as the bytes the client sent (PEP 3333: latin-1
    str), or None when it is absent or not a header any client could send."""
    cdef PyObject* found
    if PyDict_CheckExact(environ):
        found = PyDict_GetItemWithError(environ, key)
        if found is NULL:
            return None
        value = <object>found
    else:
        value = environ.get(key)
        if value is None:
            return None
    if PyUnicode_CheckExact(value) and PyUnicode_KIND(value) == PyUnicode_1BYTE_KIND:
        return PyUnicode_AsLatin1String(value)
    try:
        return value.encode("latin-1")
    except (AttributeError, UnicodeEncodeError):
        return None


cdef dict _STATUS_LINES = {}


cdef str _status_line(int status):
    """Return the WSGI status line for `status`, such as "200 OK" (made once per status)."""
    line = _STATUS_LINES.get(status)
    if line is None:
        line = _STATUS_LINES[status] = f"{status} {HTTPStatus(status).phrase}"
    return line


cdef inline str _latin1_str(bytes raw):
    return PyUnicode_DecodeLatin1(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw), NULL)


cdef list _str_headers(headers):
    """Return the engine's bytes header pairs as latin-1 str pairs."""
    cdef list result = []
    for name, value in headers:
        if PyBytes_CheckExact(name) and PyBytes_CheckExact(value):
            result.append((_latin1_str(<bytes>name), _latin1_str(<bytes>value)))
        else:
            result.append((name.decode("latin-1"), value.decode("latin-1")))
    return result


cdef tuple _str_block(OriginEntry entry):
    """Return `entry.block` as latin-1 str pairs, decoded once per entry and kept on it.

    A tuple, not a list: threads read it with no lock (a list would be locked by every
    concatenation, and threads sharing the entry would wait on each other)."""
    cdef PyObject* block = corsfast_published(&entry._wsgi_block)
    cdef tuple made
    if block is NULL:
        made = tuple(_str_headers(entry.block))
        Py_INCREF(made)  # the slot's own reference
        block = corsfast_publish(&entry._wsgi_block, <PyObject*>made)
    return <tuple>block


cdef inline bint _ascii_is(const unsigned char* s, const char* name, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        if _ascii_lower(s[i]) != <unsigned char>name[i]:
            return False
    return True


cdef inline bint _plain_untouched(object name, object value) noexcept:
    """Return True when `name` and `value` are exactly str of latin-1 characters and `name`
    is none of the four response headers the native engine sets, in any case."""
    cdef Py_ssize_t n
    cdef const unsigned char* s
    if not (PyUnicode_CheckExact(name) and PyUnicode_CheckExact(value)):
        return False
    if PyUnicode_KIND(name) != PyUnicode_1BYTE_KIND or PyUnicode_KIND(value) != PyUnicode_1BYTE_KIND:
        return False
    n = PyUnicode_GET_LENGTH(name)
    s = <const unsigned char*>PyUnicode_DATA(name)
    if n == 4:
        return not _ascii_is(s, b"vary", 4)
    if n == 27:
        return not _ascii_is(s, b"access-control-allow-origin", 27)
    if n == 29:
        return not _ascii_is(s, b"access-control-expose-headers", 29)
    if n == 32:
        return not _ascii_is(s, b"access-control-allow-credentials", 32)
    return True


def wsgi_headers(CORSPolicy policy not None, OriginEntry entry not None, headers):
    """Return the app's WSGI `headers` (str pairs) with `entry`'s CORS headers applied.

    A list of str pairs that sets none of the CORS headers gets `entry`'s headers appended;
    any other goes through the engine as bytes, lower-cased, with the app's own spelling of
    each name it kept (PEP 3333 names are case-insensitive, the engine's are ASGI's).
    """
    return _wsgi_headers(policy, entry, headers)


cdef list _wsgi_headers(CORSPolicy policy, OriginEntry entry, object headers):
    cdef Py_ssize_t i, size
    cdef PyObject* item
    cdef list result
    cdef tuple block
    if policy._touched_default and PyList_CheckExact(headers):
        block = _str_block(entry)
        # Under the list's critical section (a no-op with the GIL): the items are read
        # borrowed, which another thread changing a list the app shares must not free. The
        # new list is filled here too, so the app's list is locked once and the entry's
        # block (a tuple) not at all.
        with cython.critical_section(headers):
            size = PyList_GET_SIZE(headers)
            for i in range(size):
                item = PyList_GET_ITEM(headers, i)
                if not (PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2):
                    break
                if not _plain_untouched(<object>PyTuple_GET_ITEM(<object>item, 0),
                                        <object>PyTuple_GET_ITEM(<object>item, 1)):
                    break
            else:
                result = PyList_New(size + PyTuple_GET_SIZE(block))
                for i in range(size):
                    item = PyList_GET_ITEM(headers, i)
                    Py_INCREF(<object>item)
                    PyList_SET_ITEM(result, i, <object>item)
                for i in range(PyTuple_GET_SIZE(block)):
                    item = PyTuple_GET_ITEM(block, i)
                    Py_INCREF(<object>item)
                    PyList_SET_ITEM(result, size + i, <object>item)
                return result
    spelling = {}
    encoded = []
    for name, value in headers:
        lowered = name.lower()
        if lowered != name:
            spelling.setdefault(lowered, name)
        encoded.append((lowered.encode("latin-1"), value.encode("latin-1")))
    result = []
    for raw_name, raw_value in policy._entry_headers(entry, encoded):
        name = raw_name.decode("latin-1")
        result.append((spelling.get(name, name), raw_value.decode("latin-1")))
    return result


@cython.final
@cython.freelist(64)
cdef class _WSGIStart:
    """Wrap `start_response`: give the app's response its CORS headers, then start it."""

    cdef object start_response
    cdef CORSPolicy policy
    cdef OriginEntry entry

    def __call__(self, status, headers, exc_info=None):
        result = _wsgi_headers(self.policy, self.entry, headers)
        if exc_info is None:
            return self.start_response(status, result)
        return self.start_response(status, result, exc_info)


def wsgi_call(self, environ, start_response):
    """Return the app's iterable for one WSGI request, answered through the policy of `self`.

    A preflight from an allowed origin is answered here (the app is not called); every
    other request reaches the app with a `start_response` that adds the CORS headers. The
    verdict is taken once, before the app runs (`allow_origin_func` is asked at most once).
    """
    cdef CORSPolicy policy
    cdef _ThreadView view  # holds the app `app` borrows, in this thread's view
    cdef object shared_app  # or the middleware's own
    cdef PyObject* app
    cdef OriginEntry entry
    cdef _WSGIStart wrapped
    cdef CORSPolicy report
    cdef int reason
    if not isinstance(self, WSGIMiddlewareBase):
        raise TypeError(f"wsgi_call needs a WSGIMiddlewareBase, got {type(self).__name__}")
    # `self` is only ever cast, never held (see `asgi_call`).
    if (<MiddlewareBase>self)._thread_views:
        view = (<MiddlewareBase>self)._view()
        policy = view.policy
        report = view.report
        app = <PyObject*>view.app
    else:
        with cython.critical_section(self):
            policy = (<MiddlewareBase>self)._policy
            report = (<MiddlewareBase>self)._report
            shared_app = (<MiddlewareBase>self)._app
        app = <PyObject*>shared_app
    entry = policy._no_origin
    origin = _environ_bytes(environ, "HTTP_ORIGIN")
    if origin is None:
        policy._note(K_SIMPLE, R_NO_ORIGIN, None, None, None, None)
    else:
        entry = policy._decide(origin) if PyBytes_CheckExact(origin) else policy.lookup(origin)
        request_method = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_METHOD")
        if policy._is_preflight(
            environ.get("REQUEST_METHOD", ""), origin, <PyObject*>request_method if request_method is not None else NULL
        ):
            names = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            private_network = _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
            answer = policy._preflight_answer(entry, request_method, names, private_network, &reason)
            policy._note(K_PREFLIGHT, reason, entry, origin, request_method, names)
            if report is not None:
                _report_only(policy, report, K_PREFLIGHT, reason, origin, request_method, names, private_network)
            if answer is not None:
                status, headers, body = answer
                start_response(_status_line(status), _str_headers(headers))
                return [body] if body else []
        else:
            policy._note(K_SIMPLE, entry.simple_reason, entry, origin, None, None)
            if report is not None:
                _report_only(policy, report, K_SIMPLE, entry.simple_reason, origin, None, None, None)
    wrapped = _WSGIStart.__new__(_WSGIStart)
    wrapped.start_response = start_response
    wrapped.policy = policy
    wrapped.entry = entry
    return corsfast_call2(app, environ, wrapped)


def environ_preflight_fields(environ):
    """Return a WSGI request's Access-Control-Request-Method, -Headers and -Private-Network
    as the bytes the client sent (each None when absent or not a header a client could send)."""
    return (
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        _environ_bytes(environ, "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"),
    )


_WSGI_ALL = ("WSGIMiddlewareBase", "environ_preflight_fields", "wsgi_call", "wsgi_headers")
