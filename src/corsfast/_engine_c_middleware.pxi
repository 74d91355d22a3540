# Included by _engine_c.pyx (one extension module):
# the state every engine middleware keeps, and its threads' views; twin: _engine_py/middleware.py.

cdef extern from *:
    """
    /* Thread views (see `_ThreadView`) pay off only without the GIL. */
    #ifdef Py_GIL_DISABLED
    #define CORSFAST_THREAD_VIEWS 1
    #else
    #define CORSFAST_THREAD_VIEWS 0
    #endif
    /* Return f(a, b) or f(a, b, c) through vectorcall, from a borrowed reference to f that
       the caller keeps alive. Taking a reference of its own would be, without the GIL, an
       atomic update of a count that every thread calling the same app writes. */
    static PyObject* corsfast_call2(PyObject* f, PyObject* a, PyObject* b) {
        PyObject* args[2] = {a, b};
        return PyObject_Vectorcall(f, args, 2, NULL);
    }
    static PyObject* corsfast_call3(PyObject* f, PyObject* a, PyObject* b, PyObject* c) {
        PyObject* args[3] = {a, b, c};
        return PyObject_Vectorcall(f, args, 3, NULL);
    }
    """
    bint CORSFAST_THREAD_VIEWS
    object corsfast_call2(PyObject* f, object a, object b)
    object corsfast_call3(PyObject* f, object a, object b, object c)

# Threads served by one middleware that keep views of their own; past it, all are dropped.
cdef Py_ssize_t MAX_THREAD_VIEWS = 256


@cython.final
cdef class _ThreadView:
    """One thread's view of a middleware: its policy, compiled by that thread, and its app.

    Without the GIL, every reference taken to an object another thread made is an atomic
    update of a count both threads write, and threads sharing one policy (its cache, its
    entries, their header tuples) spend their time passing those counts' cache lines back
    and forth. A thread's own copy of the policy makes every such object its own.
    """

    cdef CORSPolicy source  # the middleware's policy when the view was made
    cdef CORSPolicy policy  # `source` itself in the thread that compiled it, else a copy
    cdef CORSPolicy report_source  # the middleware's report-only policy (or None) then
    cdef CORSPolicy report  # `report_source` itself or a copy, likewise
    cdef object app
    cdef Py_ssize_t generation


cdef class MiddlewareBase:
    """The state an engine middleware keeps: the wrapped app and the compiled policy.

    Both are read and replaced under the object's critical section (no-ops with the GIL):
    without the GIL a thread replacing the policy (the Starlette drop-in, when an attribute
    changes) could otherwise free it between another thread's read and its reference. A
    class that sets `_views_per_thread = True` (the native middlewares) serves each thread,
    on free-threaded CPython, through a `_ThreadView` of its own.
    """

    cdef object _app
    cdef CORSPolicy _policy
    cdef CORSPolicy _report  # the report-only policy, or None
    cdef Py_ssize_t _generation  # changed with every new app or policy (an atomic counter)
    cdef bint _thread_views
    cdef dict _views  # thread ident -> _ThreadView
    cdef Py_ssize_t _dropped_hits  # the statistics of views dropped past MAX_THREAD_VIEWS
    cdef Py_ssize_t _dropped_misses
    # What is counted: every policy the middleware is given counts in `_counts` (a thread's
    # copy in counts of its own); `_dropped_counts` keeps the counts of views dropped before
    # the last drop, `_retired` those of the last one (folded one drop later, once no request
    # can still be counting in them).
    cdef DecisionCounts _counts
    cdef DecisionCounts _dropped_counts
    cdef list _retired
    cdef object _observer
    cdef RefusedOrigins _refused
    cdef RefusedOrigins _report_refused

    def __cinit__(self, *args, **kwargs):
        # Set before any other thread can see the instance, and never changed: read unlocked.
        self._thread_views = CORSFAST_THREAD_VIEWS and getattr(type(self), "_views_per_thread", False)
        self._views = {}
        self._counts = DecisionCounts()
        self._dropped_counts = DecisionCounts()
        self._retired = []

    @property
    def app(self):
        with cython.critical_section(self):
            return self._app

    @app.setter
    def app(self, value):
        with cython.critical_section(self):
            self._app = value
            corsfast_count(&self._generation)

    @property
    def policy(self):
        with cython.critical_section(self):
            return self._policy

    @policy.setter
    def policy(self, CORSPolicy value):
        if value is not None:
            value.observe(self._counts, self._refused)
        with cython.critical_section(self):
            self._policy = value
            corsfast_count(&self._generation)

    @property
    def report_policy(self):
        """Return the report-only policy: evaluated on every request with an Origin, counted
        where its verdict differs, never changing a response (None: none)."""
        with cython.critical_section(self):
            return self._report

    @report_policy.setter
    def report_policy(self, CORSPolicy value):
        if value is not None:
            value.observe(DecisionCounts(), self._report_refused)
        with cython.critical_section(self):
            self._report = value
            corsfast_count(&self._generation)

    def _set_observer(self, observer):
        """Count this middleware's requests for `observer` (an `Observer`): its refused
        origins noted in `observer.refused`, report-only differences in `observer.report`."""
        self._observer = observer
        self._refused = observer.refused
        self._report_refused = observer.report
        policy = self.policy
        if policy is not None:
            policy.observe(self._counts, self._refused)
        report = self.report_policy
        if report is not None:
            report.observe(DecisionCounts(), self._report_refused)

    def _count(self, int kind, int reason, origin=None, detail_name=None, detail=None):
        """Count one request this middleware answered outside the engine (a subclass's own
        code): of `kind` for `reason`; a refusal's `origin` is also noted, with its detail."""
        if not (0 <= kind < 2 and 0 <= reason < N_REASONS):
            raise ValueError(f"no such count: kind {kind}, reason {reason}")
        self._counts.count(kind, reason)
        if reason > R_NO_ORIGIN and self._refused is not None and origin is not None:
            self._refused._note(reason, origin, detail_name, detail)

    cdef list _all_counts(self):
        """Return every `DecisionCounts` this middleware's requests were counted in, once each."""
        cdef _ThreadView view
        cdef list found = [self._counts, self._dropped_counts]
        with cython.critical_section(self):
            found.extend(self._retired)
        for view in list(self._views.values()):
            if not any(view.policy.counts is known for known in found):
                found.append(view.policy.counts)
        return found

    cdef list _all_policies(self):
        """Return the policy and every thread's copy of it, once each."""
        cdef _ThreadView view
        cdef list found = []
        policy = self.policy
        if policy is not None:
            found.append(policy)
        for view in list(self._views.values()):
            if view.policy is not None and not any(view.policy is known for known in found):
                found.append(view.policy)
        return found

    def stats(self):
        """Return the `corsfast.CORSStats` of every request counted since counting began."""
        if self._observer is None:
            raise RuntimeError("this middleware was built without an observer")
        everything = self._all_counts()
        report = [counts.report() for counts in everything] if self.report_policy is not None else None
        pending = [pair for policy in self._all_policies() for pair in policy.pending_refusals()]
        return self._observer.stats([counts.counts() for counts in everything], report, pending)

    def reset_stats(self):
        """Start counting again from zero: the counts, the refused origins kept and `since`."""
        for counts in self._all_counts():
            (<DecisionCounts>counts).reset()
        for policy in self._all_policies():
            policy.reset_refusals()
        if self._observer is not None:
            self._observer.reset()

    def _cache_info(self):
        """Return the origin cache's statistics, every thread's cache added up."""
        cdef _ThreadView view
        policy = self.policy
        hits, misses, maxsize, currsize = policy.cache_info()
        caches = 1
        for view in self._current_views(policy):
            if view.policy is not policy:
                info = view.policy.cache_info()
                hits += info.hits
                misses += info.misses
                currsize += info.currsize
                caches += 1
        hits += corsfast_counted(&self._dropped_hits)
        misses += corsfast_counted(&self._dropped_misses)
        return CacheInfo(hits, misses, maxsize * caches, currsize)

    def _cache_clear(self):
        """Empty every thread's origin cache and reset their statistics."""
        cdef _ThreadView view
        policy = self.policy
        policy.cache_clear()
        for view in self._current_views(policy):
            view.policy.cache_clear()
        corsfast_count_reset(&self._dropped_hits)
        corsfast_count_reset(&self._dropped_misses)

    cdef list _current_views(self, CORSPolicy policy):
        cdef _ThreadView view
        return [view for view in list(self._views.values()) if view.source is policy]

    cdef _ThreadView _view(self):
        """Return the calling thread's view, made or brought up to date first if needed."""
        cdef PyObject* found
        cdef _ThreadView view = None
        key = PyLong_FromUnsignedLong(PyThread_get_thread_ident())
        found = corsfast_dict_get_ref(self._views, key)
        if found is not NULL:
            view = <_ThreadView>found
            Py_DECREF(view)  # the cast took its own reference
            if view.generation == corsfast_counted(&self._generation):
                return view
        return self._new_view(key, view)

    cdef _ThreadView _new_view(self, key, _ThreadView old):
        cdef _ThreadView view = _ThreadView.__new__(_ThreadView)
        with cython.critical_section(self):
            view.source = self._policy
            view.app = self._app
            view.generation = corsfast_counted(&self._generation)
        with cython.critical_section(self):
            report = self._report
        if old is not None and old.source is view.source:
            view.policy = old.policy  # only the app changed: keep this thread's cache
        elif view.source is None or view.source._owner == PyThread_get_thread_ident():
            view.policy = view.source
        else:
            view.policy = view.source._copy()
        if old is not None and old.policy is not old.source and old.policy is not view.policy:
            with cython.critical_section(self):
                self._retired.append(old.policy.counts)  # counted in until now
        view.report_source = report
        if old is not None and old.report_source is report:
            view.report = old.report
        elif report is None or report._owner == PyThread_get_thread_ident():
            view.report = report
        else:
            view.report = report._copy()
        if len(self._views) >= MAX_THREAD_VIEWS and old is None:
            self._drop_views()
        self._views[key] = view
        return view

    cdef void _drop_views(self) except *:
        # Many threads came and went (a server with a thread per request): the views start
        # again, their statistics kept. A thread still serving through a dropped view holds
        # its own reference, so nothing is freed under it.
        cdef _ThreadView view
        cdef DecisionCounts counts
        views = self._views.copy()
        self._views.clear()
        retiring = [view.policy.counts for view in views.values() if view.policy is not view.source]
        with cython.critical_section(self):
            retired = self._retired
            self._retired = retiring
        for counts in retired:
            _fold_counts(self._dropped_counts, counts)
        for view in views.values():
            if view.policy is not view.source and view.source is self.policy:
                info = view.policy.cache_info()
                corsfast_count_add(&self._dropped_hits, info.hits)
                corsfast_count_add(&self._dropped_misses, info.misses)


cdef void _fold_counts(DecisionCounts into, DecisionCounts counts) except *:
    """Add every count of `counts` to `into` (`counts` is no longer counted in)."""
    cdef int kind, reason
    for kind in range(2):
        for reason in range(N_REASONS):
            corsfast_count_add(&into._counts[kind][reason], corsfast_counted(&counts._counts[kind][reason]))
    corsfast_count_add(&into._report[0], corsfast_counted(&counts._report[0]))
    corsfast_count_add(&into._report[1], corsfast_counted(&counts._report[1]))


_MIDDLEWARE_ALL = ("MiddlewareBase",)


cdef int _report_only(CORSPolicy policy, CORSPolicy report, int kind, int enforced, object origin,
                      object method, object names, object private_network) except -1:
    """Evaluate the report-only policy `report` on a request with an Origin that `policy`
    answered for reason `enforced`; where their verdicts differ, count it in `policy`'s counts
    and note the origin in `report`'s (top-K and the `corsfast.report_only` log)."""
    cdef OriginEntry entry
    cdef int reason
    if not PyBytes_CheckExact(origin):
        origin = bytes(origin)
    entry = report._lookup(origin)
    if entry.undecided:
        entry = report._ask(origin, entry)
    reason = entry.simple_reason if kind == K_SIMPLE else entry.reason
    if kind == K_PREFLIGHT and entry.allowed:
        reason = report._preflight_reason(entry, method, names, private_network)
    if (reason == R_ALLOWED) == (enforced == R_ALLOWED):
        return 0
    policy._counts.count_report(reason != R_ALLOWED)
    if report._refused is not None:
        if reason != R_ALLOWED:
            report._refused._note(reason, origin, "verdict", "would_refuse")
        else:
            report._refused._note(enforced, origin, "verdict", "would_allow")
    return 0
