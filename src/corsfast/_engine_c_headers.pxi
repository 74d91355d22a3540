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
    cdef readonly int reason
    """The reason number of this verdict (`corsfast._observe.reasons`): allowed, or why not."""
    cdef readonly int simple_reason
    """The reason a browser gives a simple response with these headers: `reason`, but allowed
    for a refused entry that still answers `Access-Control-Allow-Origin: *` (Starlette's
    allow-all answers every origin so)."""
    cdef readonly bint undecided
    """True for the entry `allow_origin_func` must decide (the rules refused its origin)."""
    cdef readonly bytes origin
    """The Origin a refused entry of the origin cache stands for, whose refusals it counts
    (`refusals`, folded into the top refused origins when the cache is cleared); None for an
    entry shared by many origins."""
    cdef Py_ssize_t refusals
    cdef PyObject* _preflight_memo
    """The first preflight asked of an allowed entry and its reason, a tuple (see
    `CORSPolicy._preflight_reason`), written once through `corsfast_publish`."""
    cdef PyObject* _wsgi_block
    """`block` as a list of latin-1 str pairs, made on first use (the WSGI path) and then
    never replaced: written once through `corsfast_publish`, so threads may race to make it."""

    def __init__(self, bint allowed, tuple ops, tuple preflight_head, int reason=-1):
        if reason < 0:
            reason = R_ALLOWED if allowed else R_ORIGIN_NOT_ALLOWED
        elif reason >= N_REASONS or (reason == R_ALLOWED) != allowed:
            raise ValueError(f"reason {reason} does not go with allowed={allowed}")
        self.reason = reason
        self.simple_reason = reason
        if not allowed and any(op[0] == ACAO and op[1] == b"*" for op in ops):
            self.simple_reason = R_ALLOWED
        self.allowed = allowed
        self.ops = ops
        self.block = tuple(_apply_ops([], ops, True))
        self.preflight_head = preflight_head
        self.expires = INFINITY

    def __dealloc__(self):
        Py_XDECREF(self._wsgi_block)
        Py_XDECREF(self._preflight_memo)


cdef OriginEntry _origin_refusal(OriginEntry refused, bytes origin):
    """Return a refused entry answering as `refused`, for `origin` alone: its refusals are
    counted on it (one increment, no lookup), as the origin cache holds it."""
    cdef OriginEntry entry = OriginEntry.__new__(OriginEntry)
    entry.allowed = False
    entry.ops = refused.ops
    entry.block = refused.block
    entry.preflight_head = refused.preflight_head
    entry.expires = refused.expires
    entry.reason = refused.reason
    entry.simple_reason = refused.simple_reason
    entry.undecided = refused.undecided
    entry.origin = origin
    return entry


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
