"""`corsfast.flask`: flask-cors 6.0.5's `CORS` and `cross_origin`, compiled.

Change `from flask_cors import CORS, cross_origin` to
`from corsfast.flask import CORS, cross_origin`; the options, their defaults, accepted
types and precedence, the hooks Flask runs and the headers they write are flask-cors',
but for the security fixes listed in the README's "Differences from flask-cors" (origin
patterns are full-matched, the path is decoded once, control characters never match).

    app = Flask(__name__)
    CORS(app, resources={r"/api/*": {"origins": ["https://app.example.com"]}})

    @app.route("/public")
    @cross_origin(origins="*", max_age=600)
    def public(): ...

The options are resolved once (per resource, per decorated view and app config) into the
engine's `FlaskPolicy`; each request then runs one compiled function that appends the
ready header tuples to the Werkzeug response.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, Callable, TypeVar, cast

import flask
import flask.globals
from werkzeug.datastructures import EnvironHeaders, Headers, MultiDict

from .._engine import engine as _default_engine
from .core import (
    CONFIG_OPTIONS,
    check_given_options as _check_given_options,
    get_cors_options,
    lint_option_names,
    lint_options,
    lint_resources,
    merge_options,
    parse_resources,
    serialize_options,
)

if TYPE_CHECKING:
    from types import ModuleType

    from flask import Blueprint, Flask, Response
    from typing_extensions import Unpack

    from .core import CorsOptionsInput, CrossOriginOptionsInput

__all__ = ("CORS", "cross_origin")

F = TypeVar("F", bound=Callable[..., Any])

_CONTEXTS: dict[str, Any] = {}


def _context(engine: ModuleType) -> Any:
    """Return the engine's `FlaskContext` for this Flask: its context variables when it has them."""
    context = _CONTEXTS.get(engine.__name__)
    if context is None:
        app_var = getattr(flask.globals, "_cv_app", None)
        request_var = getattr(flask.globals, "_cv_request", None)
        if app_var is None or request_var is None:  # pragma: no cover - a Flask without them
            app_var = request_var = None
        context = engine.FlaskContext(
            app_var,
            request_var,
            flask.current_app._get_current_object,  # type: ignore[attr-defined]
            flask.request._get_current_object,  # type: ignore[attr-defined]
            Headers,
            MultiDict,
            EnvironHeaders,
        )
        _CONTEXTS[engine.__name__] = context
    return context


def _pop_engine(kwargs: dict[str, Any]) -> ModuleType:
    engine = kwargs.pop("_engine", None)
    return engine if engine is not None else _default_engine


class CORS:
    """Cross-origin resource sharing for a Flask app or blueprint, as flask-cors' `CORS` does it.

    `CORS(app, **options)`, or `CORS(**options)` and later `init_app(app, **options)`. The
    options are `cross_origin`'s plus `resources` (a path pattern, a list of them, or a dict
    of pattern -> options; default `r"/*"`) and `intercept_exceptions` (default True: error
    handlers' responses get the headers too). Settings come from, first to last: resource
    options, keyword arguments (of `init_app`, then of the constructor), `CORS_*` app
    config, defaults.
    """

    def __init__(self, app: Flask | Blueprint | None = None, **kwargs: Unpack[CorsOptionsInput]) -> None:
        options = cast("dict[str, Any]", kwargs)
        self._engine = _pop_engine(options)
        self._options = options
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Flask | Blueprint, **kwargs: Unpack[CorsOptionsInput]) -> None:
        """Register the after-request hook on `app` (and, for an app, wrap its exception handlers)."""
        extra = cast("dict[str, Any]", kwargs)
        extra.pop("_engine", None)
        engine = self._engine
        merged = merge_options(app, self._options, extra)
        options = serialize_options(merged)
        resources = parse_resources(merged.get("resources", r"/*"))
        resolved = [(pattern, get_cors_options(app, self._options, extra, opts)) for pattern, opts in resources]
        warned: set[str] = set()
        lint_option_names([*self._options, *extra], warned)
        for _, opts in resources:
            lint_option_names(opts, warned)
        lint_resources(resources, warned)
        for _, resource_options in resolved:
            lint_options(resource_options, warned=warned)
        context = _context(engine)
        state = engine.FlaskResources([(p, engine.FlaskPolicy(o)) for p, o in resolved], context)
        cors_after_request = _after_request_function(engine, state)
        app.after_request(cors_after_request)

        # As flask-cors: error handlers' responses get the headers too. Blueprints have no
        # handle_exception, so only apps are wrapped.
        if options.intercept_exceptions and hasattr(app, "handle_exception"):
            app_any: Any = app

            def _after_request_decorator(f: Callable[..., Any]) -> Callable[..., Response]:
                def wrapped_function(*args: Any, **kwargs: Any) -> Response:
                    return cors_after_request(app_any.make_response(f(*args, **kwargs)))

                return wrapped_function

            app_any.handle_exception = _after_request_decorator(app_any.handle_exception)
            app_any.handle_user_exception = _after_request_decorator(app_any.handle_user_exception)


def _after_request_function(engine: ModuleType, state: Any) -> Callable[[Response], Response]:
    """Return the `after_request` function: a plain function (what Flask's `ensure_sync` checks
    fastest) around the engine's compiled hook."""
    after_request = engine.flask_after_request

    def cors_after_request(resp: Response) -> Response:
        return after_request(state, resp)  # type: ignore[no-any-return]

    return cors_after_request


def cross_origin(*args: Any, **kwargs: Unpack[CrossOriginOptionsInput]) -> Callable[[F], F]:
    """Return a view decorator that adds CORS headers to the view's responses, as flask-cors' does.

    Options (all optional; the app's `CORS_*` config and the defaults fill the rest):
    `origins` (`"*"`: strings, compiled patterns, or a list; a string holding any of
    `*\\]?$^[]()` is a regex, full-matched case-insensitively), `methods` (GET, HEAD, POST,
    OPTIONS, PUT, PATCH, DELETE), `expose_headers` (None), `allow_headers` (`"*"`),
    `supports_credentials` (False), `max_age` (None: an int, str or timedelta),
    `send_wildcard` (False), `vary_header` (True), `automatic_options` (True: the decorator
    answers OPTIONS itself, with Flask's default OPTIONS response), `always_send` (True),
    `allow_private_network` (False). Positional arguments are ignored, as flask-cors does.
    """
    options = cast("dict[str, Any]", kwargs)
    engine = _pop_engine(options)
    lint_option_names(options)
    # A one-shot iterator (a generator) is read by flask-cors on the first request, and found
    # empty afterwards: it is not read here, so that stays as flask-cors does it.
    if not any(isinstance(value, Iterator) for value in options.values()):
        _check_given_options(options)
        try:
            defaults_and_given = serialize_options(merge_options(_NO_CONFIG, options))
        except ValueError:
            pass  # `*` + credentials + send_wildcard: whether it holds depends on the app config
        else:
            lint_options(defaults_and_given, given=options)
    context = _context(engine)

    def compile_policy(app: Any) -> Any:
        return engine.FlaskPolicy(get_cors_options(app, options))

    def decorator(f: F) -> F:
        # As flask-cors: with automatic_options, the view answers OPTIONS itself instead of
        # Flask's automatic OPTIONS handling, so that answer gets the CORS headers.
        if options.get("automatic_options", True):
            view_func: Any = f
            required_methods = set(getattr(f, "required_methods", set()))
            required_methods.add("OPTIONS")
            view_func.required_methods = required_methods
            view_func.provide_automatic_options = False
        view = engine.FlaskView(f, options, CONFIG_OPTIONS, compile_policy, context)
        view_call = engine.flask_view_call

        def wrapped_function(*args: Any, **kwargs: Any) -> Response:
            return view_call(view, args, kwargs)  # type: ignore[no-any-return]

        return cast(F, update_wrapper(wrapped_function, f))

    return decorator


class _NoConfigApp:
    """An app without `CORS_*` config: the decorator's options are linted over the defaults."""

    config: dict[str, Any] = {}  # noqa: RUF012


_NO_CONFIG: Any = _NoConfigApp()
