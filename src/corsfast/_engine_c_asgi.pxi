# Included by _engine_c.pyx (one extension module):
# the request-header scan and the ASGI call; twin: _engine_py/asgi.py.

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


cdef int _pin(RequestHeaders* out, list kept) except -1:
    """Append the values noted so far to `kept`, which then holds them."""
    if out.origin is not NULL:
        kept.append(<object>out.origin)
    if out.method is not NULL:
        kept.append(<object>out.method)
    if out.names is not NULL:
        kept.append(<object>out.names)
    if out.private_network is not NULL:
        kept.append(<object>out.private_network)
    return 0


cdef inline bint _plain_item(PyObject* item) noexcept:
    """Return True when `item` is a 2-tuple or 2-list of exactly bytes (what servers send)."""
    cdef PyObject* key
    cdef PyObject* value
    if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
        key = PyTuple_GET_ITEM(<object>item, 0)
        value = PyTuple_GET_ITEM(<object>item, 1)
    elif PyList_CheckExact(<object>item) and PyList_GET_SIZE(<object>item) == 2:
        key = PyList_GET_ITEM(<object>item, 0)
        value = PyList_GET_ITEM(<object>item, 1)
    else:
        return False
    return PyBytes_CheckExact(<object>key) and PyBytes_CheckExact(<object>value)


cdef bint _scan_plain(list headers, RequestHeaders* out) noexcept:
    """Fill `out` as `_scan` does and return True, or return False when an item is not plain.

    The Starlette drop-in's scan: Starlette's `Headers` reads any item it can unpack, with
    the item's own `==` and `decode`, so a list holding anything but pairs of exactly bytes
    is left to Starlette's own code. No item's code runs here, so the references borrow
    from `headers` alone.
    """
    cdef Py_ssize_t i
    cdef PyObject* item
    out.origin = out.method = out.names = out.private_network = NULL
    for i in range(PyList_GET_SIZE(headers)):
        item = PyList_GET_ITEM(headers, i)
        if not _plain_item(item):
            return False
        if PyTuple_CheckExact(<object>item):
            _note(out, PyTuple_GET_ITEM(<object>item, 0), PyTuple_GET_ITEM(<object>item, 1))
        else:
            _note(out, PyList_GET_ITEM(<object>item, 0), PyList_GET_ITEM(<object>item, 1))
    return True


cdef list _scan(object headers, RequestHeaders* out):
    """Fill `out` with borrowed references to the first values of the four CORS headers.

    The references borrow from `headers`, which the caller keeps alive (it is the scope's).
    Unpacking an item that is not a tuple runs the item's own code, which may make new
    objects that nothing else holds, or change `headers` and drop what it held: then the
    values noted so far and the item's go into the list returned (None when no such item
    was met), which the caller keeps alive for as long as it reads `out`, and the list's
    length is read again at every step, as a Python loop over it would.
    """
    cdef Py_ssize_t i = 0
    cdef PyObject* item
    cdef list kept = None
    out.origin = out.method = out.names = out.private_network = NULL
    if not PyList_CheckExact(headers):
        raise TypeError("headers must be a list")
    while i < PyList_GET_SIZE(headers):
        item = PyList_GET_ITEM(headers, i)
        i += 1
        if PyTuple_CheckExact(<object>item) and PyTuple_GET_SIZE(<object>item) == 2:
            _note(out, PyTuple_GET_ITEM(<object>item, 0), PyTuple_GET_ITEM(<object>item, 1))
        else:
            if kept is None:
                kept = []
            _pin(out, kept)
            pair = <object>item
            key, value = pair
            kept.append(value)
            _note(out, <PyObject*>key, <PyObject*>value)
    return kept


def scan_request_headers(headers):
    """Return the first Origin, Access-Control-Request-Method, -Headers and -Private-Network values."""
    cdef RequestHeaders found
    if not PyList_CheckExact(headers):
        headers = list(headers)
    kept = _scan(headers, &found)  # noqa: F841 - holds what `found` borrows
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


def scan_plain_request_headers(headers):
    """Return what `scan_request_headers` returns, or None unless `headers` is a list of
    2-tuples or 2-lists of exactly bytes (then only Starlette's own code reads it as Starlette does)."""
    cdef RequestHeaders found
    if not PyList_CheckExact(headers) or not _scan_plain(<list>headers, &found):
        return None
    return (
        <object>found.origin if found.origin is not NULL else None,
        <object>found.method if found.method is not NULL else None,
        <object>found.names if found.names is not NULL else None,
        <object>found.private_network if found.private_network is not NULL else None,
    )


def kui_origin(headers):
    """Return the Origin as Kui reads it: every `origin` field (any case), joined with ", ";
    or False unless `headers` is a list of 2-tuples or 2-lists of exactly bytes.

    Kui (baize) decodes every item with its own `decode`, so any other list is left to Kui's
    own `request.headers`. No item's code runs here.
    """
    cdef Py_ssize_t i
    cdef PyObject* item
    cdef PyObject* key
    cdef list values = None
    first = None
    if not PyList_CheckExact(headers):
        return False
    for i in range(PyList_GET_SIZE(headers)):
        item = PyList_GET_ITEM(headers, i)
        if not _plain_item(item):
            return False
        if PyTuple_CheckExact(<object>item):
            key = PyTuple_GET_ITEM(<object>item, 0)
        else:
            key = PyList_GET_ITEM(<object>item, 0)
        if not _is_origin_any_case(key):
            continue
        if PyTuple_CheckExact(<object>item):
            value = <object>PyTuple_GET_ITEM(<object>item, 1)
        else:
            value = <object>PyList_GET_ITEM(<object>item, 1)
        if first is None:
            first = value
        elif values is None:
            values = [first, value]
        else:
            values.append(value)
    if values is not None:
        return b", ".join(values)
    return first


# -- ASGI ---------------------------------------------------------------------------------

cdef class ASGIMiddlewareBase(MiddlewareBase):
    """The state an ASGI shim needs (`MiddlewareBase`); `asgi_call` is its `__call__`."""


@cython.final
@cython.freelist(64)
cdef class _CORSSend:
    """Wrap `send`: add the CORS headers to the response start, forward everything else.

    Called twice per request, so it is called through vectorcall (see `_enable_vectorcall`):
    no argument tuple is built per message. `__call__` is the same code for other callers.
    With no `entry`, the verdict is the middleware's own `is_allowed_origin`, asked when the
    response starts, as Starlette's `send` asks it (a subclass's override; never cached).
    """

    cdef vectorcallfunc vectorcall
    cdef object send
    cdef CORSPolicy policy
    cdef OriginEntry entry
    cdef object middleware
    cdef bytes origin
    cdef bint started
    cdef bint counting  # count the request when the deferred verdict is taken

    def __call__(self, message):
        return self._forward(message)

    cdef object _forward(self, object message):
        cdef PyObject* found
        if self.started:
            return self.send(message)
        # New references in one step: an app may send one message dict from many threads,
        # and without the GIL another thread's `message["headers"] = ...` could free a
        # borrowed value before it is used.
        if PyDict_CheckExact(message):
            found = corsfast_dict_get_ref(message, "type")
            if found is not NULL:
                kind = <object>found
                Py_DECREF(kind)  # the cast took its own reference
            else:
                kind = message["type"]
        else:
            kind = message["type"]
        if kind is RESPONSE_START or kind == RESPONSE_START:
            self.started = True
            if PyDict_CheckExact(message):
                found = corsfast_dict_get_ref(message, "headers")
                if found is not NULL:
                    headers = <object>found
                    Py_DECREF(headers)
                else:
                    headers = ()
            else:
                headers = message.get("headers", ())
            entry = self.entry
            if entry is None:
                entry = _hooked_entry(self.middleware, self.policy, self.origin)
                if self.counting:
                    self.policy._note(K_SIMPLE, entry.simple_reason, entry, self.origin, None, None)
            message["headers"] = self.policy._entry_headers(entry, headers)
        return self.send(message)


cdef object _send_vectorcall(object wrapper, PyObject* const* args, size_t nargsf, PyObject* kwnames):
    # The vectorcall ABI: a new reference, or NULL with an exception set (Cython's `object`).
    if PyVectorcall_NARGS(nargsf) != 1 or (kwnames is not NULL and PyTuple_GET_SIZE(<object>kwnames) != 0):
        raise TypeError("send() takes exactly one positional argument (the message)")
    return (<_CORSSend>wrapper)._forward(<object>args[0])


cdef inline _CORSSend _wrap_send(object send, CORSPolicy policy, OriginEntry entry):
    # `middleware` and `origin` stay None (as `__new__` leaves them): the entry is decided.
    cdef _CORSSend wrapper = _CORSSend.__new__(_CORSSend)
    wrapper.vectorcall = <vectorcallfunc>_send_vectorcall
    wrapper.send = send
    wrapper.policy = policy
    wrapper.entry = entry
    wrapper.started = False
    wrapper.counting = False
    return wrapper


cdef inline _CORSSend _wrap_send_deferred(object send, CORSPolicy policy, object middleware, bytes origin):
    # No entry yet: the middleware's own is_allowed_origin decides when the response starts.
    cdef _CORSSend wrapper = _wrap_send(send, policy, None)
    wrapper.middleware = middleware
    wrapper.origin = origin
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


cdef OriginEntry _hooked_entry(object middleware, CORSPolicy policy, bytes origin):
    """Return the entry for `origin` once the middleware's `is_allowed_origin` has decided.

    An Origin no rule may allow (control characters, over the cap) never reaches it.
    """
    cdef OriginEntry entry = policy._granted_entry(origin)
    if entry is policy._invalid:
        return entry
    text = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(origin), PyBytes_GET_SIZE(origin), NULL)
    if middleware.is_allowed_origin(origin=text):
        return entry
    return policy._denied


cdef bint _has_cookie(list headers) noexcept:
    """Return True when a request header list has a Cookie header among its pairs of exactly bytes.

    Other items are skipped (the Starlette drop-in scanned the list plain; a subclass's code
    may have changed it since). No item's code runs here.
    """
    cdef Py_ssize_t i
    cdef PyObject* item
    cdef PyObject* key
    for i in range(PyList_GET_SIZE(headers)):
        item = PyList_GET_ITEM(headers, i)
        if not _plain_item(item):
            continue
        if PyTuple_CheckExact(<object>item):
            key = PyTuple_GET_ITEM(<object>item, 0)
        else:
            key = PyList_GET_ITEM(<object>item, 0)
        if PyBytes_GET_SIZE(<object>key) == 6 and memcmp(PyBytes_AS_STRING(<object>key), b"cookie", 6) == 0:
            return True
    return False


cdef inline OriginEntry _starlette_entry(object middleware, CORSPolicy policy, bytes origin, bint cookie):
    if origin is None:
        return policy._no_origin
    if cookie and policy._cookie_reflect:
        return policy._cookie_entry(origin)
    if policy._hooked and not policy._allow_all:
        return _hooked_entry(middleware, policy, origin)
    return policy._lookup(origin)


def starlette_entry(middleware, CORSPolicy policy not None, bytes origin, bint cookie=False):
    """Return the entry a Starlette simple response gets for `origin` (None: no Origin header);
    `cookie`: the request has a Cookie header (read only before Starlette 1.0).

    A subclass's `is_allowed_origin` is asked where Starlette's `send` asks it: for a
    present Origin, unless `allow_all_origins`.
    """
    return _starlette_entry(middleware, policy, origin, cookie)


def starlette_preflight(middleware, CORSPolicy policy not None, bytes origin not None, bytes request_method not None,
                        request_headers, request_private_network, bint count=False):
    """Return `(status, headers, body)` of Starlette's preflight answer, asking a subclass's
    `is_allowed_origin` (always, as Starlette's `preflight_response` does) when it has one;
    `count`: count the request in the policy's counts."""
    cdef OriginEntry entry = _hooked_entry(middleware, policy, origin) if policy._hooked else policy._lookup(origin)
    cdef int reason
    answer = policy._preflight_answer(entry, request_method, request_headers, request_private_network, &reason)
    if count:
        policy._note(K_PREFLIGHT, reason, entry, origin, request_method, request_headers)
    return answer


def wrap_send(middleware, CORSPolicy policy not None, send, bytes origin, bint cookie=False, bint count=False):
    """Return `send` wrapped to give a Starlette simple response its CORS headers for `origin`
    (`cookie`: as `starlette_entry`; `count`: count the request, when its verdict is taken)."""
    cdef _CORSSend wrapped
    cdef OriginEntry entry
    if origin is not None and policy._hooked and not policy._allow_all:
        wrapped = _wrap_send_deferred(send, policy, middleware, origin)
        wrapped.counting = count
        return wrapped
    entry = _starlette_entry(middleware, policy, origin, cookie)
    if count:
        policy._note(K_SIMPLE, entry.simple_reason, entry, origin, None, None)
    return _wrap_send(send, policy, entry)


def asgi_call(self, scope, receive, send):
    """Return the awaitable that answers one ASGI call through the policy of `self`.

    A plain function that returns the app's own awaitable, so the pass-through path costs
    no extra coroutine frame; it is marked as a coroutine function for servers' detection.
    The Starlette drop-in's policy may be stale (None after an attribute changed, or a
    watched container changed in place): it is compiled again first. Requests whose
    answer a subclass's override decides go through Starlette's own protocol
    (`_starlette_call`). An origin the rules refuse goes to the native middleware's
    `allow_origin_func` (once per request); an async one is awaited in a coroutine of its own
    (`_asgi_decide`), so only those requests pay for a coroutine frame. The Starlette
    drop-in leaves a header list that is not pairs of exactly bytes to Starlette's own code.
    """
    cdef CORSPolicy policy
    cdef _ThreadView view  # holds the app `app` borrows, in this thread's view
    cdef object shared_app  # or the middleware's own
    cdef PyObject* app
    cdef RequestHeaders found
    cdef PyObject* item
    cdef OriginEntry entry
    cdef bytes origin
    cdef bint preflight
    cdef bint counted = False
    cdef int reason
    cdef CORSPolicy report
    cdef _CORSSend wrapped
    if not isinstance(self, ASGIMiddlewareBase):
        raise TypeError(f"asgi_call needs an ASGIMiddlewareBase, got {type(self).__name__}")
    # `self` is only ever cast, never held: a reference taken to the one middleware all
    # threads share would be an atomic update, without the GIL, of a count they all write.
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
    if PyDict_CheckExact(scope):
        item = PyDict_GetItemWithError(scope, "type")
        kind = <object>item if item is not NULL else scope["type"]
    else:
        kind = scope["type"]
    if kind is not HTTP and kind != HTTP:
        return corsfast_call3(app, scope, receive, send)
    if policy is None:
        policy = (<ASGIMiddlewareBase>self)._compile_policy()
    headers = scope["headers"]
    if policy._starlette_rules():
        # Starlette's `Headers` reads odd items its own way: its code answers those requests.
        if not PyList_CheckExact(headers) or not _scan_plain(<list>headers, &found):
            return (<ASGIMiddlewareBase>self)._starlette_call(scope, receive, send, None)
    else:
        if not PyList_CheckExact(headers):
            headers = list(headers)
        kept = _scan(headers, &found)  # noqa: F841 - holds what `found` borrows
    if found.origin is NULL:
        if policy._no_origin_passthrough:
            policy._note(K_SIMPLE, R_NO_ORIGIN, None, None, None, None)
            return corsfast_call3(app, scope, receive, send)
        if policy._protocol_simple:
            return (<ASGIMiddlewareBase>self)._starlette_call(scope, receive, send, False)
        entry = policy._no_origin
        policy._note(K_SIMPLE, R_NO_ORIGIN, None, None, None, None)
    else:
        # Owned from here on: the code below may run a subclass's or an `allow_origin_func`'s
        # code, which could empty the list the scan borrowed them from.
        origin = <bytes>found.origin
        method = <object>found.method if found.method is not NULL else None
        names = <object>found.names if found.names is not NULL else None
        private_network = <object>found.private_network if found.private_network is not NULL else None
        preflight = policy._is_preflight(scope["method"], origin, found.method)
        if not policy._is_current(_WATCH_PREFLIGHT if preflight else _WATCH_SIMPLE):
            policy = (<ASGIMiddlewareBase>self)._compile_policy()
        if preflight:
            if policy._protocol_preflight:
                return (<ASGIMiddlewareBase>self)._starlette_call(scope, receive, send, True)
            if policy._hooked:
                answer = policy._preflight_answer(
                    _hooked_entry(<ASGIMiddlewareBase>self, policy, origin), method, names, private_network, &reason
                )
                policy._note(K_PREFLIGHT, reason, None, origin, method, names)
                counted = True
                if answer is not None:
                    return _answer(send, <tuple>answer)
        elif policy._protocol_simple:
            return (<ASGIMiddlewareBase>self)._starlette_call(scope, receive, send, False)
        if policy._hooked and not policy._allow_all:
            wrapped = _wrap_send_deferred(send, policy, <ASGIMiddlewareBase>self, origin)
            wrapped.counting = not counted
            return corsfast_call3(app, scope, receive, wrapped)
        entry = policy._lookup(origin)
        if entry.undecided:
            if policy._func_async:
                return _asgi_decide(<ASGIMiddlewareBase>self, policy, report, entry, scope, receive, send,
                                    origin, preflight, method, names, private_network)
            entry = policy._ask(origin, entry)
        if policy._cookie_reflect and not preflight and _has_cookie(<list>headers):
            entry = policy._cookie_entry(origin)
        if preflight and not policy._hooked:
            answer = policy._preflight_answer(entry, method, names, private_network, &reason)
            policy._note(K_PREFLIGHT, reason, entry, origin, method, names)
            if report is not None:
                _report_only(policy, report, K_PREFLIGHT, reason, origin, method, names, private_network)
            if answer is not None:
                return _answer(send, <tuple>answer)
            counted = True
        if not counted:
            policy._note(K_SIMPLE, entry.simple_reason, entry, origin, None, None)
            if report is not None:
                _report_only(policy, report, K_SIMPLE, entry.simple_reason, origin, None, None, None)
    return corsfast_call3(app, scope, receive, _wrap_send(send, policy, entry))


async def _asgi_decide(ASGIMiddlewareBase middleware, CORSPolicy policy, CORSPolicy report, OriginEntry pending,
                       scope, receive, send, bytes origin, bint preflight, method, names, private_network):
    """Answer one request whose origin the rules refused, once the async `allow_origin_func`
    has decided: awaited here, in the request's own task (its context variables), and
    refused for this request only (logged, not cached) when it raises."""
    cdef OriginEntry entry
    cdef bint allowed
    cdef int reason
    try:
        allowed = _truth(await policy._func(PyUnicode_DecodeLatin1(PyBytes_AS_STRING(origin),
                                                                   PyBytes_GET_SIZE(origin), NULL)))
    except Exception as error:
        _log_failure(origin, error)
        entry = policy._func_failed
    else:
        entry = policy._verdict(origin, allowed, pending)
    if preflight:
        answer = policy._preflight_answer(entry, method, names, private_network, &reason)
        policy._note(K_PREFLIGHT, reason, entry, origin, method, names)
        if report is not None:
            _report_only(policy, report, K_PREFLIGHT, reason, origin, method, names, private_network)
        if answer is not None:
            await _answer(send, <tuple>answer)
            return
    else:
        policy._note(K_SIMPLE, entry.simple_reason, entry, origin, None, None)
        if report is not None:
            _report_only(policy, report, K_SIMPLE, entry.simple_reason, origin, None, None, None)
    await middleware.app(scope, receive, _wrap_send(send, policy, entry))


async def asgi_call_async(self, scope, receive, send):
    """Answer one ASGI call through the policy of `self` (a real coroutine function)."""
    await asgi_call(self, scope, receive, send)


if sys.version_info >= (3, 12):
    # Servers take `app.__call__` for ASGI 3 only when it looks like a coroutine function.
    inspect.markcoroutinefunction(asgi_call)
