"""`corsfast.flask.extension`: flask-cors 6.0.5's `CORS` extension (`flask_cors.extension`).

`CORS(app, **options)` registers one `after_request` function whose resources and options
are resolved once into the engine's `FlaskResources`; each request then runs one compiled
function that appends the ready header tuples to the Werkzeug response.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote as unquote, unquote_plus as unquote_plus

from flask import Blueprint, Flask, Response, request as request

from ._hooks import _context, _pop_engine
from .core import (
    ACL_ORIGIN as ACL_ORIGIN,
    CorsOptionsInput,
    ResourcePattern,
    get_cors_options,
    get_regexp_pattern,
    lint_option_names,
    lint_options,
    lint_resources,
    merge_options,
    parse_resources,
    serialize_options,
    set_cors_headers as set_cors_headers,
    try_match as try_match,
    try_match_pattern as try_match_pattern,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from typing_extensions import Unpack

    from .core import FlaskOptions

# The `x as x` imports re-export names flask_cors.extension has (flask-cors 5.x's `unquote_plus`
# and `try_match` too), for code that imports them from it.

LOG = logging.getLogger("flask_cors.extension")
"""flask-cors' logger: `init_app` logs its resources on it at DEBUG level, as flask-cors does."""


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
        LOG.debug(
            "Configuring CORS with resources: %s", {get_regexp_pattern(pattern): opts for pattern, opts in resolved}
        )
        warned: set[str] = set()
        lint_option_names([*self._options, *extra], warned)
        for _, opts in resources:
            lint_option_names(opts, warned)
        lint_resources(resources, warned)
        for _, resource_options in resolved:
            lint_options(resource_options, warned=warned)
        cors_after_request = make_after_request_function(resolved, _engine=engine)
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


def make_after_request_function(
    resources: list[tuple[ResourcePattern, FlaskOptions]], *, _engine: ModuleType | None = None
) -> Callable[[Response], Response]:
    """Return the `after_request` function for resolved `(pattern, options)` resources, in order.

    flask-cors' function of that name: a response that already carries
    Access-Control-Allow-Origin is left alone; otherwise the first resource whose pattern
    matches the request path gives the headers. The path is matched as Flask routes it
    (decoded once), a documented difference from flask-cors. The function is a plain
    function (what Flask's `ensure_sync` checks fastest) around the engine's compiled hook.
    """
    engine = _engine if _engine is not None else _pop_engine({})
    state = engine.FlaskResources([(p, engine.FlaskPolicy(o)) for p, o in resources], _context(engine))
    after_request = engine.flask_after_request

    def cors_after_request(resp: Response) -> Response:
        return after_request(state, resp)  # type: ignore[no-any-return]

    return cors_after_request


def __getattr__(name: str) -> Any:
    """Return the `corsfast.flask.core` name flask-cors 3.x re-exported here with `from .core import *`."""
    if not name.startswith("_"):
        from . import core

        if hasattr(core, name):
            return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
