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
    cdef Py_ssize_t _generation  # changed with every new app or policy (an atomic counter)
    cdef bint _thread_views
    cdef dict _views  # thread ident -> _ThreadView
    cdef Py_ssize_t _dropped_hits  # the statistics of views dropped past MAX_THREAD_VIEWS
    cdef Py_ssize_t _dropped_misses

    def __cinit__(self, *args, **kwargs):
        # Set before any other thread can see the instance, and never changed: read unlocked.
        self._thread_views = CORSFAST_THREAD_VIEWS and getattr(type(self), "_views_per_thread", False)
        self._views = {}

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
        with cython.critical_section(self):
            self._policy = value
            corsfast_count(&self._generation)

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
        if old is not None and old.source is view.source:
            view.policy = old.policy  # only the app changed: keep this thread's cache
        elif view.source is None or view.source._owner == PyThread_get_thread_ident():
            view.policy = view.source
        else:
            view.policy = view.source._copy()
        if len(self._views) >= MAX_THREAD_VIEWS and old is None:
            self._drop_views()
        self._views[key] = view
        return view

    cdef void _drop_views(self) except *:
        # Many threads came and went (a server with a thread per request): the views start
        # again, their statistics kept. A thread still serving through a dropped view holds
        # its own reference, so nothing is freed under it.
        cdef _ThreadView view
        views = self._views.copy()
        self._views.clear()
        for view in views.values():
            if view.policy is not view.source and view.source is self.policy:
                info = view.policy.cache_info()
                corsfast_count_add(&self._dropped_hits, info.hits)
                corsfast_count_add(&self._dropped_misses, info.misses)


_MIDDLEWARE_ALL = ("MiddlewareBase",)
