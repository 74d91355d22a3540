# Included by _engine_c.pyx (one extension module), after _engine_c_flask.pxi:
# the flask-cors dialect's Flask hooks (the extension's after_request, the decorator's view),
# which answer with a FlaskPolicy. Twin: _engine_py/flask_hooks.py.

_FLASK_HOOKS_ALL = (
    "FlaskContext",
    "FlaskResources",
    "FlaskView",
    "flask_after_request",
    "flask_view_call",
)


# -- Flask glue -----------------------------------------------------------------------------

@cython.final
cdef class FlaskContext:
    """How the hooks reach Flask's current app and request, and Werkzeug's header classes."""

    cdef readonly object app_var
    cdef readonly object request_var
    cdef readonly object get_app
    cdef readonly object get_request
    cdef readonly object headers_type
    cdef readonly object multidict_type
    cdef readonly object environ_headers_type

    def __init__(self, app_var, request_var, get_app, get_request, headers_type, multidict_type,
                 environ_headers_type):
        self.app_var = app_var
        self.request_var = request_var
        self.get_app = get_app
        self.get_request = get_request
        self.headers_type = headers_type
        self.multidict_type = multidict_type
        self.environ_headers_type = environ_headers_type

    cdef object _var_value(self, object var):
        cdef PyObject* value = NULL
        PyContextVar_Get(var, NULL, &value)
        if value is NULL:
            raise LookupError(var)
        result = <object>value
        Py_DECREF(result)  # PyContextVar_Get returned an owned reference
        return result

    cdef object _current_app(self):
        if self.app_var is not None:
            return self._var_value(self.app_var).app
        return self.get_app()

    cdef object _current_request(self):
        if self.request_var is not None:
            return self._var_value(self.request_var).request
        return self.get_request()

    def current_app(self):
        return self._current_app()

    def current_request(self):
        return self._current_request()


cdef inline object _environ_value(dict environ, str key):
    cdef PyObject* found = corsfast_dict_get_ref(environ, key)
    if found is NULL:
        return None
    value = <object>found
    Py_DECREF(value)
    return value


cdef tuple _request_cors_headers(FlaskPolicy policy, object request, FlaskContext context,
                                 DecisionCounts counts, RefusedOrigins refused):
    """Return `policy`'s headers for a Flask request, reading its header values as flask-cors
    does, and count it in `counts` (None: not counted)."""
    cdef object headers = request.headers
    cdef object environ, method, origin
    cdef object request_method = None, request_headers = None
    cdef FlaskEntry entry
    if type(headers) is context.environ_headers_type:
        environ = headers.environ
        if PyDict_CheckExact(environ):
            # Werkzeug's EnvironHeaders.get(name) is environ["HTTP_" + NAME]: read it directly,
            # and only what the answer and the count need (a refused origin, only the method).
            origin = _environ_value(environ, ENV_ORIGIN)
            entry = policy._lookup(origin)
            if not entry.active and counts is None:
                return _NOTHING
            method = request.method
            if _is_options(method):
                request_method = _environ_value(environ, ENV_ACRM)
                request_headers = _environ_value(environ, ENV_ACRH)
            return _counted_headers(
                policy, counts, refused, entry, origin, method, request_method, request_headers,
                _environ_value(environ, ENV_ACRPN) if entry.active else None
            )
    method = request.method
    origin = headers.get("Origin")
    request_method = headers.get("Access-Control-Request-Method")
    request_headers = headers.get("Access-Control-Request-Headers")
    private_network = headers.get("Access-Control-Request-Private-Network")
    return _counted_headers(
        policy, counts, refused, policy._lookup(origin), origin, method, request_method, request_headers,
        private_network
    )


cdef int _set_cors_headers(object response, FlaskPolicy policy, object request, FlaskContext context,
                           DecisionCounts counts, RefusedOrigins refused, object mark) except -1:
    """flask-cors' `set_cors_headers`: add `policy`'s headers unless the decorator already ran,
    and count the request in `counts` once: when `mark` is given, the request is marked with
    that attribute, so that a second pass of the same hook (error handlers run it twice) is
    not counted again."""
    cdef object headers, items
    cdef tuple block
    if hasattr(response, FLASK_CORS_EVALUATED):
        return 0
    if mark is not None and counts is not None:
        if getattr(request, mark, None) is not None:
            counts = None
        else:
            try:
                setattr(request, mark, True)
            except AttributeError:
                pass  # a request object without attributes of its own: counted on each pass
    headers = response.headers
    if type(headers) is context.headers_type:
        items = headers._list
        if PyList_CheckExact(items):
            # What Headers.add appends, all at once (the values are checked strings).
            block = _request_cors_headers(policy, request, context, counts, refused)
            if PyTuple_GET_SIZE(block):
                (<list>items).extend(block)
            return 0
    if not isinstance(headers, (context.headers_type, context.multidict_type)):
        headers = context.multidict_type(headers)
        response.headers = headers
    for name, value in _request_cors_headers(policy, request, context, counts, refused):
        # Headers.add stores str(max_age); a MultiDict keeps the object itself, as flask-cors added it.
        headers.add(name, policy._raw_max_age if name is F_ACMA else value)
    return 0


cdef int _has_allow_origin(object headers, FlaskContext context) except -1:
    """Return `bool(headers.get("Access-Control-Allow-Origin"))`, as the extension tests it."""
    cdef object items, item, name, value
    cdef Py_ssize_t i
    if type(headers) is context.headers_type:
        items = headers._list
        if PyList_CheckExact(items):
            i = 0
            while i < PyList_GET_SIZE(items):
                item = <object>PyList_GET_ITEM(items, i)
                i += 1
                if PyTuple_CheckExact(item) and PyTuple_GET_SIZE(item) == 2:
                    name = <object>PyTuple_GET_ITEM(item, 0)
                    value = <object>PyTuple_GET_ITEM(item, 1)
                else:
                    name, value = item
                if PyUnicode_CheckExact(name):
                    if _is_lower_acao(name):
                        return PyObject_IsTrue(value)
                elif name.lower() == "access-control-allow-origin":
                    return PyObject_IsTrue(value)
            return False
    return PyObject_IsTrue(headers.get(F_ACAO))


@cython.final
cdef class FlaskResources:
    """The extension's resources, in flask-cors' order: `(pattern, policy)` pairs."""

    cdef readonly tuple resources
    cdef readonly FlaskContext context
    cdef readonly DecisionCounts counts
    cdef readonly RefusedOrigins refused
    cdef readonly str mark
    cdef tuple _matchers
    cdef FlaskPolicy _match_all
    cdef dict _cache
    cdef Py_ssize_t _maxsize

    def __init__(self, resources, FlaskContext context not None, Py_ssize_t cache_size=_DEFAULT_CACHE_SIZE,
                 DecisionCounts counts=None, RefusedOrigins refused=None):
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size!r}")
        self.resources = tuple(resources)
        self.context = context
        self.counts = counts
        self.refused = refused
        self.mark = f"_corsfast_counted_{next(_MARKS)}"
        self._cache = {}
        self._maxsize = cache_size
        matchers = []
        for pattern, policy in self.resources:
            if not isinstance(policy, FlaskPolicy):
                raise TypeError(f"resources take FlaskPolicy objects, got {type(policy).__name__}")
            if isinstance(pattern, _re.Pattern):
                matchers.append((True, pattern, policy))
            else:
                try:
                    literal = str(pattern)
                except Exception:
                    literal = pattern
                matchers.append((False, literal, policy))
        self._matchers = tuple(matchers)
        self._match_all = None
        if matchers:
            is_pattern, matcher, policy = matchers[0]
            if is_pattern and isinstance(matcher.pattern, str) and matcher.pattern in _MATCH_ALL_SOURCES:
                self._match_all = policy

    cdef FlaskPolicy _policy_for(self, object path):
        cdef PyObject* found
        cdef bint cacheable
        if self._match_all is not None:
            return self._match_all
        cacheable = PyUnicode_CheckExact(path) and PyUnicode_GET_LENGTH(path) <= MAX_CACHED_ORIGIN
        if cacheable:
            found = corsfast_dict_get_ref(self._cache, path)
            if found is not NULL:
                result = <object>found
                Py_DECREF(result)
                return result if result is not False else None
        result = False
        for is_pattern, matcher, policy in self._matchers:
            if (matcher.match(path) is not None) if is_pattern else (path == matcher):
                result = policy
                break
        if cacheable:
            _cache_store(self._cache, self._maxsize, path, result)
        return result if result is not False else None

    def policy_for(self, path):
        """Return the policy of the first resource matching `path`, or None."""
        return self._policy_for(path)


def flask_after_request(FlaskResources resources not None, response):
    """Return `response` with the extension's CORS headers: flask-cors' `cors_after_request`."""
    cdef FlaskContext context = resources.context
    cdef object headers = response.headers
    cdef FlaskPolicy policy
    if headers is not None and _has_allow_origin(headers, context):
        return response  # the view (or the decorator) set it already
    request = context._current_request()
    policy = resources._policy_for(request.path)
    if policy is not None:
        _set_cors_headers(response, policy, request, context, resources.counts, resources.refused, resources.mark)
    return response


# -- the decorator --------------------------------------------------------------------------

def _snapshot(value):
    """Return a deep copy that compares equal to `value`, or the volatile marker."""
    try:
        copied = _copy.deepcopy(value)
        if copied is value or bool(copied == value):
            return copied
    except Exception:
        pass
    return _VOLATILE


cdef bint _same_contents(tuple pairs) except -1:
    """Return True when every `(value, snapshot)` pair still compares equal."""
    cdef tuple pair
    for pair in pairs:
        copied = <object>PyTuple_GET_ITEM(pair, 1)
        if copied is _VOLATILE:
            return False
        try:
            if not (copied == <object>PyTuple_GET_ITEM(pair, 0)):
                return False
        except Exception:
            return False
    return True


@cython.final
cdef class _ViewState:
    cdef object app
    cdef object config
    cdef bint config_is_dict
    cdef tuple config_values
    cdef tuple mutable_values
    cdef tuple option_values
    cdef FlaskPolicy policy


@cython.final
cdef class FlaskView:
    """A view wrapped by `@cross_origin`, with its options compiled per app and app config."""

    cdef readonly object view
    cdef readonly dict options
    cdef readonly tuple config_keys
    cdef readonly object compile
    cdef readonly FlaskContext context
    cdef readonly DecisionCounts counts
    cdef readonly RefusedOrigins refused
    cdef dict _box

    def __init__(self, view, dict options not None, config_keys, compile, FlaskContext context not None,
                 DecisionCounts counts=None, RefusedOrigins refused=None):
        self.view = view
        self.options = options
        self.config_keys = tuple(config_keys)
        self.compile = compile
        self.context = context
        self.counts = counts
        self.refused = refused
        self._box = {}

    cdef FlaskPolicy _policy_for(self, object app):
        cdef PyObject* found = corsfast_dict_get_ref(self._box, _ZERO)
        cdef _ViewState state
        if found is not NULL:
            state = <_ViewState>found
            Py_DECREF(state)
            if state.app is app:
                config = getattr(app, "config", _NO_CONFIG)
                if (config is state.config and self._same_config(state, config)
                        and _same_contents(state.mutable_values) and _same_contents(state.option_values)):
                    return state.policy
        return self._recompile(app)

    cdef bint _same_config(self, _ViewState state, object config) except -1:
        """Return True when each `config.get(key)` is the object it was when compiled."""
        cdef Py_ssize_t i
        cdef PyObject* found
        cdef PyObject* value
        for i in range(PyTuple_GET_SIZE(self.config_keys)):
            key = <object>PyTuple_GET_ITEM(self.config_keys, i)
            if state.config_is_dict:
                found = corsfast_dict_get_ref(config, key)
                value = found if found is not NULL else <PyObject*>None
                if found is not NULL:
                    Py_DECREF(<object>found)  # only its identity is compared
            else:
                current = config.get(key)
                value = <PyObject*>current
            if value is not PyTuple_GET_ITEM(state.config_values, i):
                return False
        return True

    cdef FlaskPolicy _recompile(self, object app):
        cdef _ViewState state = _ViewState.__new__(_ViewState)
        config = getattr(app, "config", _NO_CONFIG)
        values = tuple([config.get(key) for key in self.config_keys])
        mutable = []
        for value in values:
            copied = _snapshot(value)
            if copied is not value:  # immutable values cannot change in place
                mutable.append((value, copied))
        options = []
        for value in self.options.values():
            copied = _snapshot(value)
            if copied is not value:
                options.append((value, copied))
        policy = self.compile(app)
        if not isinstance(policy, FlaskPolicy):
            raise TypeError(f"compile must return a FlaskPolicy, got {type(policy).__name__}")
        state.app = app
        state.config = config
        # dict.get is a plain lookup: read such configs without a method call.
        state.config_is_dict = PyDict_Check(config) and type(config).get is _DICT_GET
        state.config_values = values
        state.mutable_values = tuple(mutable)
        state.option_values = tuple(options)
        state.policy = policy
        self._box[_ZERO] = state
        return policy

    def policy_for(self, app):
        """Return the policy for `app`'s current config, compiling it when something changed."""
        return self._policy_for(app)


def flask_view_call(FlaskView view not None, tuple args not None, dict kwargs not None):
    """Return the response of a `@cross_origin` view: flask-cors' `wrapped_function`."""
    cdef FlaskContext context = view.context
    cdef FlaskPolicy policy
    app = context._current_app()
    policy = view._policy_for(app)
    request = context._current_request()
    if policy.automatic_options and _is_options(request.method):
        response = app.make_default_options_response()
    else:
        response = app.make_response(view.view(*args, **kwargs))
    _set_cors_headers(response, policy, request, context, view.counts, view.refused, None)
    setattr(response, FLASK_CORS_EVALUATED, True)
    return response
