# Included by _engine_c.pyx (one extension module), after _engine_c_aiohttp.pxi (whose header
# names and aiohttp readers it uses): corsfast's native API on aiohttp
# (corsfast.aiohttp.cors_middleware); twin: _engine_py/aiohttp_native.py (read it for the spec).

from cpython.unicode cimport PyUnicode_AsEncodedString

_AIOHTTP_NATIVE_ALL = ("AiohttpCORSMiddleware", "aiohttp_native_preflight_reason")

cdef extern from *:
    """
    /* Run a native coroutine to its first suspension without `await`'s machinery (from a
       Cython coroutine, `await` goes through `__await__`'s wrapper and a StopIteration for
       the result): 1 and *result its return value when it finished, 0 and *result the value
       it yielded when it suspended (new references), -1 with the exception it raised; 2 when
       `coro` is not a native coroutine or the interpreter has no PyIter_Send (before 3.10):
       then it was not run. */
    static int corsfast_coro_start(PyObject* coro, PyObject** result) {
    #if PY_VERSION_HEX >= 0x030A0000 && !defined(PYPY_VERSION)
        if (!PyCoro_CheckExact(coro)) {
            return 2;
        }
        switch (PyIter_Send(coro, Py_None, result)) {
            case PYGEN_RETURN: return 1;
            case PYGEN_NEXT: return 0;
            default: return -1;
        }
    #else
        (void)coro;
        (void)result;
        return 2;
    #endif
    }
    """
    int corsfast_coro_start(object coro, PyObject** result) except -1

cdef Py_ssize_t N_BLOCKS_PER_ENTRY_CACHE = 64  # room beyond the origin cache (refused, static entries)
cdef Py_ssize_t N_MAX_PREFLIGHTS = 1024  # preflight answers kept (cleared when full: browsers repeat theirs)
# aiohttp's classes, imported when the first middleware is made (the engine imports without them).
cdef object _N_RESPONSE = None
cdef object _N_HTTP_EXCEPTION = None
cdef object _N_CIMULTIDICT = None
cdef object _N_ISTR = None
cdef object _N_MISSING = object()
cdef frozenset _N_TOUCHED_LOWER = frozenset(["vary", "access-control-allow-origin",
                                             "access-control-allow-credentials", "access-control-expose-headers"])


cdef int _n_load() except -1:
    global _N_RESPONSE, _N_HTTP_EXCEPTION, _N_CIMULTIDICT, _N_ISTR
    if _N_RESPONSE is not None:
        return 0
    _a_names()
    from aiohttp import web
    from multidict import CIMultiDict, istr

    _N_HTTP_EXCEPTION, _N_CIMULTIDICT, _N_ISTR = web.HTTPException, CIMultiDict, istr
    _N_RESPONSE = web.Response
    return 0


cdef object _n_name(bytes raw):
    # A header name the engine gives in lower case (ASGI's), as aiohttp apps write it.
    return _N_ISTR("-".join([part.capitalize() for part in raw.decode("latin-1").split("-")]))


cdef inline bytes _n_wire(str text):
    # The bytes aiohttp read a request header `text` from (or writes for it).
    return PyUnicode_AsEncodedString(text, "utf-8", "surrogateescape")


cdef inline str _n_text(bytes raw):
    # The str aiohttp writes as `raw`, a byte that is not UTF-8 kept as a surrogate.
    return raw.decode("utf-8", "surrogateescape")


cdef bint _n_writable(str text) except -1:
    # True when aiohttp can write `text` (no surrogate standing for a non-UTF-8 byte).
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@cython.final
@cython.no_gc
cdef class _NativeBlock:
    """An entry's block as the str pairs aiohttp writes."""

    cdef tuple pairs
    cdef bint assign
    """Every name one the engine sets, each once: on headers holding none of them, item
    assignment (a C slot) adds each as `extend` would (a method call, several times dearer)."""

    def __init__(self, tuple pairs):
        names = [name.lower() for name, _ in pairs]
        self.pairs = pairs
        self.assign = len(set(names)) == len(names) and _N_TOUCHED_LOWER.issuperset(names)


cdef _NativeBlock _n_block(tuple pairs):
    # `pairs` as a block, or None when aiohttp cannot write one of its values.
    for _, value in pairs:
        if not _n_writable(value):
            return None
    return _NativeBlock(pairs)


cdef tuple _N_SAFELISTED_METHODS = (b"GET", b"HEAD", b"POST")


cdef set _n_list(list pairs, bytes name, bint lower):
    # The items of every `name` header in an engine answer's `pairs`, stripped (lower-cased).
    cdef set items = set()
    for header, value in pairs:
        if header == name:
            for item in (<bytes>value).split(b","):
                item = item.strip(b" \t")
                if item:
                    items.add(item.lower() if lower else item)
    return items


cdef tuple _n_preflight_reason(list pairs, bytes request_method, object names, object private_network):
    # (reason number, detail name, detail) a browser concludes from the engine's answer
    # `pairs` to an allowed origin's preflight: the method, each requested header and private
    # network access must be granted (`*` counts only without credentials, never for
    # Authorization). See the twin's `preflight_reason`.
    cdef set granted
    cdef bint credentials = (ACAC, b"true") in pairs
    if request_method not in _N_SAFELISTED_METHODS:
        granted = _n_list(pairs, ACAM, False)
        if request_method not in granted and (credentials or b"*" not in granted):
            return (R_METHOD_NOT_ALLOWED, "method", _n_text(request_method))
    if names is not None:
        granted = _n_list(pairs, ACAH, True)
        for name in (<bytes>names).split(b","):
            name = name.strip(b" \t")
            if not name or name.lower() in granted:
                continue
            if b"*" in granted and not credentials and name.lower() != b"authorization":
                continue
            return (R_HEADER_NOT_ALLOWED, "header", _n_text(name))
    if private_network == b"true" and (ACAPN, b"true") not in pairs:
        return (R_PRIVATE_NETWORK_NOT_ALLOWED, None, None)
    return (R_ALLOWED, None, None)


def aiohttp_native_preflight_reason(list pairs not None, bytes request_method not None, names, private_network):
    """Return (reason number, detail name, detail): what a browser concludes from the engine's
    answer `pairs` ((name, value) bytes, names lower-cased) to a preflight from an allowed
    origin asking for `request_method`, the Access-Control-Request-Headers value `names` and
    the -Private-Network value `private_network` (bytes, or None when absent)."""
    return _n_preflight_reason(pairs, request_method, names, private_network)


cdef inline bint _n_prepared(object response) except -1:
    # True once `response` has sent its headers: `response.prepared`, read through aiohttp's
    # own attributes behind the property for its `Response` (a property call costs more than
    # the rest of the check); or finished (`_eof_sent`), which before aiohttp 3.10 makes
    # `prepared` False again.
    eof = getattr(response, "_eof_sent", None)
    if eof is True:
        return True
    if eof is False and type(response) is _N_RESPONSE:
        writer = getattr(response, "_payload_writer", _N_MISSING)
        if writer is not _N_MISSING:
            return writer is not None
    return bool(response.prepared)


@cython.final
cdef class _Resumed:
    """The rest of `await coro` for a native coroutine that `corsfast_coro_start` ran to its
    first suspension: yields the value it yielded then, and hands every later send, throw
    and close to it."""

    cdef object coro
    cdef object first
    cdef bint started

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        if not self.started:
            self.started = True
            first, self.first = self.first, None
            return first
        return self.coro.send(value)

    def throw(self, *args):
        return self.coro.throw(*args)

    def close(self):
        return self.coro.close()


cdef _Resumed _n_resumed(object coro, object first):
    cdef _Resumed resumed = _Resumed.__new__(_Resumed)
    resumed.coro = coro
    resumed.first = first
    return resumed


cdef class AiohttpCORSMiddleware:
    """An aiohttp middleware answering CORS with one compiled `CORSPolicy` (made by
    `cors_middleware`): `await middleware(request, handler)` returns the response. It counts
    every request by kind and reason (`stats()`), and notes each refused origin."""

    __middleware_version__ = 1  # aiohttp's mark of a new-style middleware

    cdef readonly CORSPolicy policy
    cdef object _func
    cdef _NativeBlock _no_origin_block
    cdef dict _blocks  # OriginEntry -> its _NativeBlock; None for one aiohttp cannot write (refused)
    cdef Py_ssize_t _blocks_limit
    cdef dict _preflights
    """(entry, request method, -headers, -private-network) -> the preflight answer's status,
    headers, reason number, detail name and detail (None: passed on); the engine's answer
    depends on nothing else."""
    cdef DecisionCounts _counts
    cdef RefusedOrigins _refused
    cdef object _observer
    cdef object __weakref__  # corsfast.stats() holds it weakly

    def __init__(self, CORSPolicy policy not None, *, name=None, log_interval=60.0, top_refused_size=32):
        from ._observe.observer import Observer, observer_options

        observed = observer_options(name, log_interval, top_refused_size)
        _n_load()
        self.policy = policy
        self._func = policy.options.origin_func
        self._no_origin_block = _NativeBlock(
            tuple([(_n_name(name), _n_text(value)) for name, value in policy.response_headers(None, [])])
        )
        self._blocks = {}
        self._blocks_limit = policy.options.cache_size + N_BLOCKS_PER_ENTRY_CACHE
        self._preflights = {}
        self._counts = DecisionCounts()
        self._observer = Observer(self, sys.modules[__name__], "aiohttp-native", *observed)
        self._refused = self._observer.refused

    def stats(self):
        """Return the counts of this middleware's CORS decisions since it was made (or since
        `reset_stats()`): every request, by kind (preflight or not) and reason, and the most
        refused origins (a `corsfast.CORSStats`)."""
        return self._observer.stats((self._counts.counts(),))

    def reset_stats(self):
        """Set every count to zero and forget the refused origins."""
        self._counts.reset()
        self._observer.reset()

    def cache_info(self):
        """Return the origin cache's statistics: hits, misses, maximum and current size."""
        return self.policy.cache_info()

    def cache_clear(self):
        """Empty the origin cache and reset its statistics."""
        self.policy.cache_clear()
        self._blocks.clear()
        self._preflights.clear()

    cdef object _block(self, OriginEntry entry):
        # The entry's _NativeBlock (made once per entry), None when aiohttp cannot write it.
        cdef PyObject* found = corsfast_dict_get_ref(self._blocks, entry)
        if found is not NULL:
            block = <object>found
            Py_DECREF(block)  # the cast took its own reference
            return block
        if len(self._blocks) >= self._blocks_limit:
            self._blocks.clear()  # entries the origin cache dropped would stay alive here
        block = _n_block(tuple([(_n_name(name), _n_text(value)) for name, value in entry.block]))
        self._blocks[entry] = block
        return block

    cdef object _preflight(self, OriginEntry entry, object request_method, object headers):
        # The kept answer to a preflight with `entry`'s verdict (see `_preflights`), or None to
        # pass it on.
        cdef PyObject* found
        key = (entry, request_method, _a_get(headers, I_ACRH), _a_get(headers, I_ACRPN))
        found = corsfast_dict_get_ref(self._preflights, key)
        if found is not NULL:
            kept = <object>found
            Py_DECREF(kept)  # the cast took its own reference
        else:
            if len(self._preflights) >= N_MAX_PREFLIGHTS:
                self._preflights.clear()
            kept = self._preflight_answer(entry, request_method, key[2], key[3])
            self._preflights[key] = kept
        return kept

    cdef object _preflight_answer(self, OriginEntry entry, str request_method, object names,
                                  object private_network):
        # The status, headers and reason (number, detail name, detail) of the engine's answer
        # to a preflight, None when it passes the preflight on.
        cdef bytes method = _n_wire(request_method)
        raw_names = None if names is None else _n_wire(names)
        raw_private_network = None if private_network is None else _n_wire(private_network)
        answer = self.policy._preflight_entry(entry, method, raw_names, raw_private_network)
        if answer is None:
            return None
        status, pairs, _ = answer  # the body is empty; aiohttp writes its Content-Length: 0
        response_headers = _N_CIMULTIDICT()
        for name, value in pairs:
            if name != CONTENT_LENGTH:
                response_headers.add(_n_name(name), _n_text(value))
        return (status, response_headers) + _n_preflight_reason(pairs, method, raw_names, raw_private_network)

    cdef inline int _counted(self, int kind, int reason, object origin, object detail_name,
                             object detail) except -1:
        # One decision counted; a refusal's origin noted (and logged, rate-limited).
        self._counts.count(kind, reason)
        if reason > R_NO_ORIGIN:
            self._refused._note(reason, origin, detail_name, detail)
        return 0

    cdef int _origin_reason(self, bytes raw, OriginEntry entry, int asked) except -1:
        # Why the Origin `raw` got the refused `entry`: `asked` when allow_origin_func was
        # just asked (func_refused or func_error), else the engine's reason.
        cdef CORSPolicy policy = self.policy
        if asked:
            return asked  # only an Origin no rule refused as invalid is asked
        if PyBytes_GET_SIZE(raw) > policy._max_origin_length or not policy._eligible(raw):
            return R_ORIGIN_INVALID
        if policy._func is not None and entry is not policy._denied:
            return R_FUNC_REFUSED  # a refusal of allow_origin_func, cached for its ttl
        return R_ORIGIN_NOT_ALLOWED

    cdef tuple _verdict(self, bytes raw, object result, object error):
        # (entry, reason if refused) once allow_origin_func returned `result` or raised
        # `error`: `func_verdict`'s entry, the truth of the result taken here to tell the two.
        cdef bint allowed = False
        if error is None:
            try:
                allowed = _truth(result)
            except Exception as failure:
                error = failure
        if error is not None:
            return self.policy.func_verdict(raw, None, error), R_FUNC_ERROR
        return self.policy.func_verdict(raw, allowed), R_FUNC_REFUSED

    async def __call__(self, request, handler):
        """Return the response to `request`: a preflight's answer, or `handler`'s response
        with its CORS headers."""
        cdef OriginEntry entry = None
        cdef _NativeBlock block = self._no_origin_block
        cdef PyObject* sent
        cdef int state
        cdef int asked = 0
        cdef int kind
        cdef CORSPolicy policy = self.policy
        headers = _a_headers(request)
        if I_ORIGIN not in headers:  # `in` and `[]`: C slots, where `.get` is a method call
            self._counts.count(K_SIMPLE, R_NO_ORIGIN)
        else:
            origin = headers[I_ORIGIN]
            if not PyUnicode_CheckExact(origin):
                origin = str(origin)  # a str subclass's own methods never run on it
            raw = _n_wire(origin)
            entry = policy._lookup(raw)
            if entry.undecided:
                # allow_origin_func decides (an async one awaited in the request's task).
                try:
                    result = self._func(PyUnicode_DecodeLatin1(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw), NULL))
                    if policy._func_async:
                        result = await result
                except Exception as error:
                    entry, asked = self._verdict(raw, None, error)
                else:
                    entry, asked = self._verdict(raw, result, None)
            # The header first: the method is an attribute read, dearer than `in`.
            kind = K_PREFLIGHT if I_ACRM in headers and _a_method(request) == A_OPTIONS else K_SIMPLE
            found = self._block(entry)
            if found is None:
                # A reflection aiohttp cannot write (an Origin that is not UTF-8): refused.
                entry = None
                self._counted(kind, R_ORIGIN_INVALID, origin, None, None)
            else:
                block = <_NativeBlock>found
                # The native engine passes on every preflight it refuses (`_native_preflight`).
                if kind == K_PREFLIGHT and (entry.allowed or not policy._native):
                    kept = self._preflight(entry, headers[I_ACRM], headers)
                    if kept is not None:
                        answer = <tuple>kept
                        if entry.allowed:
                            self._counted(K_PREFLIGHT, answer[2], origin, answer[3], answer[4])
                        else:
                            self._counted(K_PREFLIGHT, self._origin_reason(raw, entry, asked), origin, None, None)
                        return _N_RESPONSE(status=answer[0], headers=answer[1])  # a copy of the kept headers
                if entry.allowed:
                    self._counts.count(kind, R_ALLOWED)
                else:
                    self._counted(kind, self._origin_reason(raw, entry, asked), origin, None, None)
        try:
            awaitable = handler(request)
            state = corsfast_coro_start(awaitable, &sent)
            if state == 2:
                response = await awaitable
            else:
                response = <object>sent
                Py_DECREF(response)  # the cast took its own reference
                if state == 0:  # suspended: await the rest
                    response = await _n_resumed(awaitable, response)
        except _N_HTTP_EXCEPTION as error:
            self._apply(_a_headers(error), entry, block)
            raise
        if not _n_prepared(response):  # a response the handler prepared itself has sent its headers
            self._apply(_a_headers(response), entry, block)
        return response

    cdef int _apply(self, object headers, OriginEntry entry, _NativeBlock block) except -1:
        # Give a response's `headers` (a CIMultiDict) the CORS headers of `entry` (None: no or
        # a refused Origin), as the engine applies them to an ASGI response's headers.
        cdef tuple pairs = block.pairs
        cdef Py_ssize_t i
        cdef PyObject* pair
        if I_VARY in headers or I_ACAO in headers or I_ACAC in headers or I_ACEH in headers:
            return self._merge(headers, entry)
        if not block.assign:
            headers.extend(pairs)
            return 0
        for i in range(PyTuple_GET_SIZE(pairs)):
            pair = PyTuple_GET_ITEM(pairs, i)
            headers[<object>PyTuple_GET_ITEM(<object>pair, 0)] = <object>PyTuple_GET_ITEM(<object>pair, 1)
        return 0

    cdef int _merge(self, object headers, OriginEntry entry) except -1:
        # The app set one of the headers the engine sets: the engine merges, on the headers as
        # bytes, lower-cased, each kept name in the app's own spelling.
        cdef dict spelling = {}
        cdef list encoded = []
        for name, value in headers.items():
            lowered = name.lower()
            spelling.setdefault(lowered, name)
            encoded.append((PyUnicode_AsEncodedString(lowered, "utf-8", "surrogatepass"),
                            PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass")))
        if entry is None:
            merged = self.policy.response_headers(None, encoded)
        else:
            merged = self.policy._entry_headers(entry, encoded)
        headers.clear()
        for raw_name, raw_value in merged:
            name = raw_name.decode("utf-8", "surrogatepass")
            headers.add(spelling.get(name, name), raw_value.decode("utf-8", "surrogatepass"))
        return 0
