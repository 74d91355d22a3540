# Included by _engine_c.pyx (one extension module), before the policy that uses it:
# origin matching helpers and the verdict of an `allow_origin_func`; twin:
# _engine_py/origins.py.

LOGGER = logging.getLogger("corsfast")

# -- origin matching helpers --------------------------------------------------------------

cdef inline bint _label_between(const unsigned char* s, Py_ssize_t n, bytes prefix, bytes suffix) noexcept:
    """Return True when `s[:n]` is `prefix`, one DNS label (at most 63 letters, digits and
    inner hyphens) and `suffix`."""
    cdef Py_ssize_t i
    cdef Py_ssize_t label_start = PyBytes_GET_SIZE(prefix)
    cdef Py_ssize_t slen = PyBytes_GET_SIZE(suffix)
    cdef Py_ssize_t label_end = n - slen
    if label_end <= label_start or label_end - label_start > 63:
        return False
    if memcmp(s, PyBytes_AS_STRING(prefix), label_start) != 0:
        return False
    if memcmp(s + label_end, PyBytes_AS_STRING(suffix), slen) != 0:
        return False
    if s[label_start] == b'-' or s[label_end - 1] == b'-':
        return False
    for i in range(label_start, label_end):
        if not _is_label_char(s[i]):
            return False
    return True


cdef inline Py_ssize_t _port_start(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Return the index of the ':' before the port when `s[:n]` ends with a decimal port
    1-65535 (no sign, no leading zero), else -1."""
    cdef Py_ssize_t start = n
    cdef Py_ssize_t i
    cdef long port = 0
    while start > 0 and n - start <= 5 and _is_digit(s[start - 1]):
        start -= 1
    if start == n or n - start > 5 or start == 0 or s[start - 1] != b':' or s[start] == b'0':
        return -1
    for i in range(start, n):
        port = port * 10 + (s[i] - c'0')
    return start - 1 if port <= 65535 else -1


cdef bint _truth(object result) except -1:
    """Return the truth of an `allow_origin_func` result; an awaitable (an async function
    taken for a plain one) is closed and refused with TypeError, never taken as true."""
    if result is True:
        return True
    if result is False:
        return False
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if close is not None:
            close()  # no "never awaited" warning
        raise TypeError(
            f"allow_origin_func returned an awaitable ({type(result).__name__}); "
            "declare the function with async def so that it is awaited"
        )
    return bool(result)


cdef _log_failure(bytes origin, object error):
    """Log an exception of `allow_origin_func` (the origin is refused for this request only)."""
    LOGGER.error(
        "allow_origin_func raised for Origin %r; the origin is refused for this request",
        origin.decode("latin-1"),
        exc_info=error,
    )
