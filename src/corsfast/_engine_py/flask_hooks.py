"""The flask-cors dialect's Flask hooks: the twin of `_engine_c_flask_hooks.pxi`.

They answer with a `FlaskPolicy` (`flask.py`, read it for the dialect):

- `FlaskResources` + `flask_after_request`: the extension's ordered resources, with the
  request path's resource cached.
- `FlaskView` + `flask_view_call`: the decorator's view and options, compiled again only when
  the `CORS_*` app config or a mutable option value changes.
- `FlaskContext`: how to reach Flask's current app and request and Werkzeug's header
  classes, given by the shim (the engine imports neither Flask nor Werkzeug).
"""

from __future__ import annotations

import copy
import itertools
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any, Optional

from .._observe.reasons import NO_ORIGIN, PREFLIGHT, SIMPLE
from .._options import DEFAULT_CACHE_SIZE, DEFAULT_MAX_ORIGIN_LENGTH
from .counts import DecisionCounts, RefusedOrigins
from .flask import (
    _NOTHING,
    ACL_MAX_AGE,
    ACL_ORIGIN,
    FLASK_CORS_EVALUATED,
    FlaskPolicy,
    StrHeader,
    _BoundedCache,
    _check_cache_size,
    _counted_headers,
)

__all__ = (
    "FlaskContext",
    "FlaskResources",
    "FlaskView",
    "flask_after_request",
    "flask_view_call",
)

_MARKS = itertools.count(1)


# -- Flask glue ------------------------------------------------------------------------------


class FlaskContext:
    """How the hooks reach Flask's current app and request, and Werkzeug's header classes.

    `app_var` and `request_var` are Flask's context variables (`flask.globals._cv_app`,
    `_cv_request`, holding contexts with `.app` and `.request`), or None when this Flask
    has none; then `get_app` and `get_request` (no arguments) are called instead.
    """

    def __init__(
        self,
        app_var: Any,
        request_var: Any,
        get_app: Callable[[], Any],
        get_request: Callable[[], Any],
        headers_type: Any,
        multidict_type: Any,
        environ_headers_type: Any,
    ) -> None:
        self.app_var = app_var
        self.request_var = request_var
        self.get_app = get_app
        self.get_request = get_request
        self.headers_type = headers_type
        self.multidict_type = multidict_type
        self.environ_headers_type = environ_headers_type

    def current_app(self) -> Any:
        if self.app_var is not None:
            return self.app_var.get().app
        return self.get_app()

    def current_request(self) -> Any:
        if self.request_var is not None:
            return self.request_var.get().request
        return self.get_request()


def _request_cors_headers(
    policy: FlaskPolicy,
    request: Any,
    context: FlaskContext,
    counts: Optional[DecisionCounts],
    refused: Optional[RefusedOrigins],
) -> tuple[StrHeader, ...]:
    """Return `policy`'s headers for a Flask request, reading its header values as flask-cors
    does, and count it in `counts` (None: not counted)."""
    headers = request.headers
    if headers.__class__ is context.environ_headers_type and headers.environ.__class__ is dict:
        # Werkzeug's EnvironHeaders.get(name) is environ["HTTP_" + NAME]: read it directly,
        # and only what the answer and the count need (a refused origin, only the method).
        environ = headers.environ
        origin = environ.get("HTTP_ORIGIN")
        entry = policy.lookup(origin)
        if not entry.active:
            # `_counted_headers` for an origin that gets no header, inlined: the refusal path.
            if counts is not None:
                reason = entry.reason
                preflight = request.method == "OPTIONS" and environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
                counts.count(PREFLIGHT if preflight else SIMPLE, reason)
                if reason > NO_ORIGIN and refused is not None and origin is not None:
                    refused.note(reason, origin)
            return _NOTHING
        method = request.method
        if method == "OPTIONS":
            request_method = environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")
            request_headers = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        else:
            request_method = request_headers = None
        private_network = environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")
        return _counted_headers(
            policy, counts, refused, entry, origin, method, request_method, request_headers, private_network
        )
    method = request.method
    origin = headers.get("Origin")
    request_method = headers.get("Access-Control-Request-Method")
    request_headers = headers.get("Access-Control-Request-Headers")
    private_network = headers.get("Access-Control-Request-Private-Network")
    return _counted_headers(
        policy, counts, refused, policy.lookup(origin), origin, method, request_method, request_headers, private_network
    )


def _first_count(request: Any, counts: Optional[DecisionCounts], mark: Optional[str]) -> Optional[DecisionCounts]:
    """Return `counts` unless the request already carries the attribute `mark` (the hook that
    marks it ran on it before: error handlers run the extension's hook twice), marking it."""
    if mark is None or counts is None:
        return counts
    if getattr(request, mark, None) is not None:
        return None
    try:
        setattr(request, mark, True)
    except AttributeError:
        pass  # a request object without attributes of its own: counted on each pass
    return counts


def _set_cors_headers(
    response: Any,
    policy: FlaskPolicy,
    request: Any,
    context: FlaskContext,
    counts: Optional[DecisionCounts],
    refused: Optional[RefusedOrigins],
    mark: Optional[str],
) -> None:
    """flask-cors' `set_cors_headers`: add `policy`'s headers unless the decorator already ran,
    and count the request in `counts` once (see `_first_count` for `mark`)."""
    if hasattr(response, FLASK_CORS_EVALUATED):
        return
    if mark is not None and counts is not None:
        counts = _first_count(request, counts, mark)
    headers = response.headers
    if headers.__class__ is context.headers_type:
        items = headers._list
        if items.__class__ is list:
            # What Headers.add appends, all at once (values are checked strings).
            items.extend(_request_cors_headers(policy, request, context, counts, refused))
            return
    if not isinstance(headers, (context.headers_type, context.multidict_type)):
        response.headers = headers = context.multidict_type(headers)
    for name, value in _request_cors_headers(policy, request, context, counts, refused):
        # Headers.add stores str(max_age); a MultiDict keeps the object itself, as flask-cors added it.
        headers.add(name, policy._raw_max_age if name is ACL_MAX_AGE else value)


_MATCH_ALL_SOURCES = frozenset(("", "/*", ".*"))
"""Resource patterns whose `match` succeeds on every path (an empty match at its start)."""


def _check_observed(counts: object, refused: object) -> None:
    """Raise as the compiled engine's typed `counts` and `refused` arguments do."""
    if counts is not None and not isinstance(counts, DecisionCounts):
        raise TypeError(f"Argument 'counts' has incorrect type (expected DecisionCounts, got {type(counts).__name__})")
    if refused is not None and not isinstance(refused, RefusedOrigins):
        raise TypeError(
            f"Argument 'refused' has incorrect type (expected RefusedOrigins, got {type(refused).__name__})"
        )


class FlaskResources:
    """The extension's resources, in flask-cors' order: `(pattern, policy)` pairs.

    A pattern is a compiled `re.Pattern` (run with `match` on the path, a prefix, as
    flask-cors does) or a literal compared with `==` after `str()`. The resource of each
    path is cached (bounded).
    """

    def __init__(
        self,
        resources: Iterable[tuple[Any, FlaskPolicy]],
        context: FlaskContext,
        cache_size: int = DEFAULT_CACHE_SIZE,
        counts: Optional[DecisionCounts] = None,
        refused: Optional[RefusedOrigins] = None,
    ) -> None:
        _check_cache_size(cache_size)
        if not isinstance(context, FlaskContext):
            raise TypeError(f"context must be a FlaskContext, got {type(context).__name__}")
        _check_observed(counts, refused)
        self.resources = tuple(resources)
        self.context = context
        self.counts = counts
        """Where the requests this hook answers are counted (None: not counted)."""
        self.refused = refused
        """Where its refusals are noted (None: not noted)."""
        self.mark = f"_corsfast_counted_{next(_MARKS)}"
        """The attribute set on a request once counted, so that a second pass is not."""
        self._cache = _BoundedCache(cache_size)
        self._matchers: list[tuple[bool, Any, FlaskPolicy]] = []
        for pattern, policy in self.resources:
            if not isinstance(policy, FlaskPolicy):
                raise TypeError(f"resources take FlaskPolicy objects, got {type(policy).__name__}")
            if isinstance(pattern, re.Pattern):
                self._matchers.append((True, pattern, policy))
            else:
                try:
                    literal = str(pattern)
                except Exception:
                    literal = pattern
                self._matchers.append((False, literal, policy))
        self._match_all: Optional[FlaskPolicy] = None
        if self._matchers:
            is_pattern, matcher, policy = self._matchers[0]
            if is_pattern and isinstance(matcher.pattern, str) and matcher.pattern in _MATCH_ALL_SOURCES:
                self._match_all = policy

    def policy_for(self, path: str) -> Optional[FlaskPolicy]:
        """Return the policy of the first resource matching `path`, or None."""
        if self._match_all is not None:
            return self._match_all
        cacheable = path.__class__ is str and len(path) <= DEFAULT_MAX_ORIGIN_LENGTH
        if cacheable:
            found = self._cache.get(path)
            if found is not None:
                return found or None
        result: Any = False
        for is_pattern, matcher, policy in self._matchers:
            if (matcher.match(path) is not None) if is_pattern else (path == matcher):
                result = policy
                break
        if cacheable:
            self._cache.store(path, result)
        return result or None


def flask_after_request(resources: FlaskResources, response: Any) -> Any:
    """Return `response` with the extension's CORS headers: flask-cors' `cors_after_request`."""
    if resources.__class__ is not FlaskResources and not isinstance(resources, FlaskResources):
        raise TypeError(f"Expected FlaskResources, got {type(resources).__name__}")
    context = resources.context
    headers = response.headers
    items = None
    if headers is not None:
        # `headers.get("Access-Control-Allow-Origin")`: Werkzeug compares `key.lower()` with
        # each name; only a str of 27 characters can lower to it (no character lowers to a
        # longer all-ASCII string), so the others are not lowered.
        items = headers._list if headers.__class__ is context.headers_type else None
        if items.__class__ is list:
            for name, value in items:
                if (name.__class__ is not str or len(name) == 27) and name.lower() == "access-control-allow-origin":
                    if value:
                        return response  # the view (or the decorator) set it already
                    break
        elif headers.get(ACL_ORIGIN):
            return response
    var = context.request_var
    request = var.get().request if var is not None else context.get_request()
    policy = resources._match_all or resources.policy_for(request.path)
    if policy is None:
        return response
    if items.__class__ is list:
        # `_set_cors_headers` for Werkzeug's own Headers, inlined: this runs on every request.
        if not hasattr(response, FLASK_CORS_EVALUATED):
            counts = _first_count(request, resources.counts, resources.mark)
            items.extend(_request_cors_headers(policy, request, context, counts, resources.refused))
        return response
    _set_cors_headers(response, policy, request, context, resources.counts, resources.refused, resources.mark)
    return response


# -- the decorator -----------------------------------------------------------------------------

_NO_CONFIG: dict[str, Any] = {}
"""What flask-cors reads for an app without a `config` (`getattr(app, "config", {})`)."""
_VOLATILE = object()
"""A snapshot of a value that cannot be copied or compared: the options are rebuilt per request."""


def _snapshot(value: Any) -> Any:
    """Return a deep copy that compares equal to `value`, or `_VOLATILE`."""
    try:
        copied = copy.deepcopy(value)
        if copied is value or bool(copied == value):
            return copied
    except Exception:
        pass
    return _VOLATILE


def _same_contents(pairs: tuple[tuple[Any, Any], ...]) -> bool:
    """Return True when every `(value, snapshot)` pair still compares equal."""
    for value, copied in pairs:
        if copied is _VOLATILE:
            return False
        try:
            if not (copied == value):
                return False
        except Exception:
            return False
    return True


class _ViewState:
    __slots__ = ("app", "config", "config_values", "mutable_values", "option_values", "policy")

    app: Any
    config: Any
    config_values: tuple[Any, ...]
    """The `config.get(key)` of each key when compiled (identity is compared)."""
    mutable_values: tuple[tuple[Any, Any], ...]
    """`(value, deep copy)` for the config values whose contents can change in place."""
    option_values: tuple[tuple[Any, Any], ...]
    """The same for the decorator's keyword options."""
    policy: FlaskPolicy


class FlaskView:
    """A view wrapped by `@cross_origin`, with its options compiled per app and app config.

    flask-cors merges the defaults, the app's `CORS_*` config and the decorator's keyword
    options on every request. Here `compile(app)` builds the policy once; it runs again only
    when the app, its config object, a config value (by identity, or by contents for a
    mutable one) or the contents of a mutable keyword option changed since.
    """

    def __init__(
        self,
        view: Callable[..., Any],
        options: dict[str, Any],
        config_keys: Iterable[str],
        compile: Callable[[Any], FlaskPolicy],
        context: FlaskContext,
        counts: Optional[DecisionCounts] = None,
        refused: Optional[RefusedOrigins] = None,
    ) -> None:
        if not isinstance(options, dict):
            raise TypeError(f"options must be a dict, got {type(options).__name__}")
        if not isinstance(context, FlaskContext):
            raise TypeError(f"context must be a FlaskContext, got {type(context).__name__}")
        _check_observed(counts, refused)
        self.counts = counts
        """Where the view's requests are counted (None: not counted)."""
        self.refused = refused
        """Where its refusals are noted (None: not noted)."""
        self.view = view
        self.options = options
        self.config_keys = tuple(config_keys)
        self.compile = compile
        self.context = context
        self._box: dict[int, _ViewState] = {}

    def policy_for(self, app: Any) -> FlaskPolicy:
        """Return the policy for `app`'s current config, compiling it when something changed."""
        state = self._box.get(0)
        if state is not None and state.app is app:
            config = getattr(app, "config", _NO_CONFIG)
            if (
                config is state.config
                and all(map(operator.is_, map(config.get, self.config_keys), state.config_values))
                and _same_contents(state.mutable_values)
                and _same_contents(state.option_values)
            ):
                return state.policy
        return self._recompile(app)

    def _recompile(self, app: Any) -> FlaskPolicy:
        config = getattr(app, "config", _NO_CONFIG)
        values = tuple(config.get(key) for key in self.config_keys)
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
        state = _ViewState()
        state.app = app
        state.config = config
        state.config_values = values
        state.mutable_values = tuple(mutable)
        state.option_values = tuple(options)
        state.policy = policy
        self._box[0] = state
        return policy


def flask_view_call(view: FlaskView, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Return the response of a `@cross_origin` view: flask-cors' `wrapped_function`."""
    if not isinstance(view, FlaskView):
        raise TypeError(f"Expected FlaskView, got {type(view).__name__}")
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        raise TypeError("flask_view_call takes the view's args tuple and kwargs dict")
    context = view.context
    app = context.current_app()
    policy = view.policy_for(app)
    request = context.current_request()
    if policy.automatic_options and request.method == "OPTIONS":
        response = app.make_default_options_response()
    else:
        response = app.make_response(view.view(*args, **kwargs))
    _set_cors_headers(response, policy, request, context, view.counts, view.refused, None)
    setattr(response, FLASK_CORS_EVALUATED, True)
    return response
