# Included by _engine_c.pyx (one extension module), before the policy:
# header operations and origin entries; twin: the same in _engine_py/policy.py.

# -- header operations (the cold path, kept identical to the pure twin) -------------------

cdef inline int _set_slot(list headers, Py_ssize_t slot, tuple header) except -1:
    """Put `header` where Starlette's dict assignment puts it: at its key's index, or last."""
    if slot >= 0:
        headers[slot] = header
    else:
        headers.append(header)
    return 0


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


@cython.final
cdef class OriginEntry:
    """The verdict for one Origin value and the header tuples that follow from it."""

    cdef readonly bint allowed
    cdef readonly tuple ops
    cdef readonly tuple block
    cdef readonly tuple preflight_head
    cdef readonly double expires
    """When a cached verdict of `allow_origin_func` goes stale (the policy's clock); `NEVER`
    for every other entry."""
    cdef PyObject* _wsgi_block
    """`block` as a list of latin-1 str pairs, made on first use (the WSGI path) and then
    never replaced: written once through `corsfast_publish`, so threads may race to make it."""

    def __init__(self, bint allowed, tuple ops, tuple preflight_head):
        self.allowed = allowed
        self.ops = ops
        self.block = tuple(_apply_ops([], ops, True))
        self.preflight_head = preflight_head
        self.expires = INFINITY

    def __dealloc__(self):
        Py_XDECREF(self._wsgi_block)


# -- the names the engine sets -----------------------------------------------------------

cdef inline bint _is_touched(object key) noexcept:
    """Return True for the response header names the engine sets (ACAO, ACAC, ACEH, Vary)."""
    if not PyBytes_CheckExact(key):
        return key == ACAO or key == ACAC or key == ACEH or key == VARY
    return _bytes_touched(key)


cdef inline bint _bytes_touched(object key) noexcept:
    """`_is_touched` for a name that is exactly bytes."""
    cdef Py_ssize_t n
    cdef const char* s
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
