# Included by _engine_c.pyx (one extension module):
# the per-request counts of CORS decisions; twin: _engine_py/counts.py.

cdef enum:
    N_REASONS = 9  # len(corsfast._observe.reasons.REASONS)
    R_ALLOWED = 0
    R_NO_ORIGIN = 1
    R_ORIGIN_NOT_ALLOWED = 2
    R_ORIGIN_INVALID = 3
    R_METHOD_NOT_ALLOWED = 4
    R_HEADER_NOT_ALLOWED = 5
    R_PRIVATE_NETWORK_NOT_ALLOWED = 6
    R_FUNC_REFUSED = 7
    R_FUNC_ERROR = 8
    K_SIMPLE = 0
    K_PREFLIGHT = 1


@cython.final
cdef class DecisionCounts:
    """Counts of CORS decisions by kind (0 simple, 1 preflight) and reason number, and of a
    report-only policy's differences (0 would refuse, 1 would allow).

    Each count is one relaxed atomic increment without the GIL (a plain one with it): exact
    under threads, and cheap enough for every request. A free-threaded middleware keeps one
    per thread, so that threads never write the same cache line; `stats()` adds them up.
    """

    cdef Py_ssize_t _counts[2][N_REASONS]
    cdef Py_ssize_t _report[2]

    cdef inline void count(self, int kind, int reason) noexcept:
        corsfast_count(&self._counts[kind][reason])

    cdef inline void count_report(self, bint refuse) noexcept:
        corsfast_count(&self._report[0 if refuse else 1])

    def add(self, int kind, int reason, Py_ssize_t n=1):
        """Count `n` more decisions of `kind` for `reason`."""
        if not (0 <= kind < 2 and 0 <= reason < N_REASONS) or n < 0:
            raise ValueError(f"no such count: kind {kind}, reason {reason}, n {n}")
        corsfast_count_add(&self._counts[kind][reason], n)

    def add_report(self, bint refuse, Py_ssize_t n=1):
        """Count `n` more requests the report-only policy would refuse (or, not `refuse`, allow)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        corsfast_count_add(&self._report[0 if refuse else 1], n)

    def counts(self):
        """Return `(simple, preflight)`: each a tuple of counts indexed by reason number."""
        cdef int kind, reason
        return tuple(
            tuple(corsfast_counted(&self._counts[kind][reason]) for reason in range(N_REASONS))
            for kind in range(2)
        )

    def report(self):
        """Return `(would_refuse, would_allow)`."""
        return corsfast_counted(&self._report[0]), corsfast_counted(&self._report[1])

    def reset(self):
        """Set every count to zero."""
        cdef int kind, reason
        for kind in range(2):
            for reason in range(N_REASONS):
                corsfast_count_reset(&self._counts[kind][reason])
        corsfast_count_reset(&self._report[0])
        corsfast_count_reset(&self._report[1])


cdef object _LOGGER_TYPE = logging.Logger
cdef object _INFO = logging.INFO


@cython.final
@cython.freelist(64)
cdef class _OriginCount:
    cdef Py_ssize_t n


@cython.final
@cython.freelist(64)
cdef class _Quiet:
    cdef Py_ssize_t until  # microseconds of the monotonic clock
    cdef Py_ssize_t held  # refusals held back since the log was last called for the key


cdef enum:
    MAX_QUIET_KEYS = 4096  # as the log's own table (corsfast._observe.log)


@cython.final
cdef class RefusedOrigins:
    """The refused origins seen most often, with their counts, in memory that never grows past
    `k` origins (space-saving: a new origin takes the place of the least counted one and
    inherits its count), and the gate of the rate-limited refusal log.

    `note()` is the refusal path: one dict lookup and one atomic increment for an origin
    already kept; a new one takes the object's lock. Then one check of whether `logger` takes
    INFO lines, made in C for a plain `logging.Logger` (the two reads its `isEnabledFor`
    makes), and only when it does is `log(reason, origin, detail_name, detail, held)` called:
    once per (reason, origin, detail) per `interval` seconds (0: every time), `held` saying
    how many like it were held back since, so a logger that is on costs one lookup per
    refusal the log would leave out anyway.
    """

    cdef dict _counts  # origin (cut to `limit`) -> _OriginCount
    cdef Py_ssize_t _k
    cdef Py_ssize_t _limit
    cdef object _logger
    cdef dict _logger_dict  # the logger's __dict__ (its `disabled` flag), or None: ask the logger
    cdef dict _logger_cache  # the logger's level cache, read as isEnabledFor reads it
    cdef object _log
    # A real lock, not the object's critical section: a critical section is let go whenever
    # its thread blocks (on the dict's own lock, say), and a new origin's eviction is several
    # steps that no other thread may interleave with.
    cdef cython.pymutex _lock
    cdef Py_ssize_t _interval  # microseconds
    cdef dict _quiet  # (reason, origin, detail_name, detail) -> _Quiet
    cdef public object _clock  # None: the monotonic clock read in C; tests inject one

    def __init__(self, Py_ssize_t k, Py_ssize_t limit, logger not None, log not None, double interval=0.0):
        if k < 1 or limit < 1:
            raise ValueError(f"k and limit must be >= 1, got {k} and {limit}")
        if not interval >= 0.0:
            raise ValueError(f"interval must be >= 0, got {interval}")
        self._interval = <Py_ssize_t>(interval * 1e6) if interval < 1e9 else <Py_ssize_t>(1e15)
        self._quiet = {}
        self._clock = None
        self._counts = {}
        self._k = k
        self._limit = limit
        self._logger = logger
        self._log = log
        self._logger_dict = None
        self._logger_cache = None
        if type(logger) is _LOGGER_TYPE and isinstance(getattr(logger, "_cache", None), dict):
            self._logger_dict = logger.__dict__
            self._logger_cache = logger._cache  # cleared in place by logging, never replaced

    @property
    def k(self):
        """Return how many origins are kept at most."""
        return self._k

    cdef inline bint _log_enabled(self) except -1:
        # What Logger.isEnabledFor(INFO) answers, from the two reads it makes, its level cache
        # first: a logger that is off (the usual case) costs one dict lookup.
        cdef PyObject* found
        if self._logger_dict is not None:
            found = PyDict_GetItemWithError(self._logger_cache, _INFO)
            if found is not NULL:
                if <object>found is not True:
                    return False
                found = PyDict_GetItemWithError(self._logger_dict, "disabled")
                return found is NULL or <object>found is not True
        return bool(self._logger.isEnabledFor(_INFO))

    cdef inline int _log_if_enabled(self, int reason, object origin, object detail_name, object detail) except -1:
        if self._log_enabled():
            if len(origin) > self._limit:
                origin = origin[:self._limit]
            self._offer(reason, origin, detail_name, detail)
        return 0

    cdef int _offer(self, int reason, object origin, object detail_name, object detail) except -1:
        # Calls the log at most once per key per interval; the log keeps its own interval
        # too (keyed on what its line shows), so the calls held back here are only counted.
        cdef PyObject* found
        cdef _Quiet quiet
        cdef Py_ssize_t now, held = 0
        if self._interval == 0:
            self._log(reason, origin, detail_name, detail, 0)
            return 0
        key = (reason, origin, detail_name, detail)
        now = self._now()
        found = corsfast_dict_get_ref(self._quiet, key)
        if found is not NULL:
            quiet = <_Quiet>found
            Py_DECREF(quiet)  # the cast took its own reference
            if now < corsfast_counted(&quiet.until):
                corsfast_count(&quiet.held)
                return 0
            corsfast_count_set(&quiet.until, now + self._interval)
            held = corsfast_count_take(&quiet.held)
        else:
            quiet = _Quiet.__new__(_Quiet)
            quiet.until = now + self._interval
            if len(self._quiet) >= MAX_QUIET_KEYS:
                self._quiet.clear()
            self._quiet[key] = quiet
        self._log(reason, origin, detail_name, detail, held)
        return 0

    cdef Py_ssize_t _now(self) except? -1:
        cdef double now = -1.0
        if self._clock is None:
            now = corsfast_monotonic()
        if now < 0.0:
            now = (time.monotonic if self._clock is None else self._clock)()
        return <Py_ssize_t>(now * 1e6)

    cdef int _note(self, int reason, object origin, object detail_name, object detail) except -1:
        self._count(origin, 1)
        return self._log_if_enabled(reason, origin, detail_name, detail)

    cdef int _count(self, object origin, Py_ssize_t n) except -1:
        cdef PyObject* found
        cdef _OriginCount count
        if len(origin) > self._limit:
            origin = origin[:self._limit]
        found = corsfast_dict_get_ref(self._counts, origin)
        if found is not NULL:
            count = <_OriginCount>found
            Py_DECREF(count)  # the cast took its own reference
            if corsfast_count_live(&count.n, n):
                return 0
            # Evicted since it was read (its count already inherited): count it afresh.
        self._add(origin, n)
        return 0

    cdef void _add(self, object origin, Py_ssize_t n) except *:
        cdef _OriginCount count, smallest = None
        cdef Py_ssize_t inherited = 0
        with self._lock:
            found = self._counts.get(origin)
            if found is not None:  # kept, so live: only an eviction retires, under the lock
                corsfast_count_add(&(<_OriginCount>found).n, n)
                return
            if len(self._counts) >= self._k:
                least = None
                for key, value in self._counts.items():
                    count = <_OriginCount>value
                    if smallest is None or corsfast_counted(&count.n) < corsfast_counted(&smallest.n):
                        smallest = count
                        least = key
                # Retired in the step that reads it: an add racing with the eviction is
                # either inherited here or sees the count retired and comes back here.
                inherited = corsfast_count_retire(&smallest.n)
                del self._counts[least]
            count = _OriginCount.__new__(_OriginCount)
            count.n = inherited + n
            self._counts[origin] = count

    def note(self, int reason, origin not None, detail_name=None, detail=None):
        """Count one refusal of `origin` (bytes or str) for `reason` (a number), and log it
        (rate-limited) when the logger takes INFO lines."""
        self._note(reason, origin, detail_name, detail)

    def logs(self):
        """Return True when the logger takes INFO lines (a refusal would be logged)."""
        return self._log_enabled()

    def log_if_enabled(self, int reason, origin not None, detail_name=None, detail=None):
        """Log one refusal (rate-limited) when the logger takes INFO lines; count nothing."""
        self._log_if_enabled(reason, origin, detail_name, detail)

    def add(self, origin not None, Py_ssize_t n=1):
        """Count `n` more refusals of `origin` (bytes or str), without logging them."""
        if n > 0:
            self._count(origin, n)

    def items(self):
        """Return the kept origins and their counts, the most counted first."""
        with self._lock:
            kept = [(key, corsfast_counted(&(<_OriginCount>value).n)) for key, value in self._counts.items()]
        kept.sort(key=_second_descending)
        return tuple(kept)

    def clear(self):
        """Forget every origin."""
        with self._lock:
            for value in self._counts.values():
                corsfast_count_retire(&(<_OriginCount>value).n)
            self._counts.clear()  # in place: `_note` reads the dict without the lock


def _second_descending(item):
    return -item[1]


_COUNTS_ALL = ("DecisionCounts", "RefusedOrigins")
