"""`corsfast.flask.extension`: flask-cors 6.0.5's `CORS` extension (`flask_cors.extension`).

`CORS(app, **options)` registers one `after_request` function whose resources and options
are resolved once into the engine's `FlaskResources`; each request then runs one compiled
function that appends the ready header tuples to the Werkzeug response.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, Optional, cast
from urllib.parse import unquote as unquote, unquote_plus as unquote_plus

from flask import Blueprint, Flask, Response, request as request

from .._observe.observer import Observer
from .._observe.stats import CORSStats
from ._hooks import _context, _pop_engine
from ._observe import config_options, empty_stats, pop_options, resolve
from .core import (
    ACL_ORIGIN as ACL_ORIGIN,
    CorsKeywords,
    CorsOptionsInput as CorsOptionsInput,
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

    corsfast's own options say how the extension is observed: `name` (default "flask"), the
    name `stats()` and `corsfast.stats()` give it; `log_interval` (60 seconds), how often
    one refusal is logged at most on the `corsfast.refusals` logger; `top_refused_size`
    (32), how many refused origins `stats()` keeps. They are keyword arguments of the
    constructor or of the first `init_app`, or the first app's `CORSFAST_NAME`,
    `CORSFAST_LOG_INTERVAL` and `CORSFAST_TOP_REFUSED_SIZE` config, in that order; a bad value
    raises TypeError or ValueError there.
    """

    def __init__(self, app: Flask | Blueprint | None = None, **kwargs: Unpack[CorsKeywords]) -> None:
        options = cast("dict[str, Any]", kwargs)
        self._engine = _pop_engine(options)
        self._corsfast_observe = pop_options(options, "CORS()")
        self._corsfast_observer: Optional[Observer] = None
        self._corsfast_counts: list[Any] = []
        self._corsfast_since = time.time()
        self._options = options
        if app is not None:
            self.init_app(app, **kwargs)

    def stats(self) -> CORSStats:
        """Return the extension's counts of its CORS decisions since counting began: every
        request its hooks answered, on every app and blueprint it was initialised on."""
        observer = self._corsfast_observer
        if observer is None:  # not initialised on an app yet
            return empty_stats(resolve(self._corsfast_observe)[0] or "flask", self._corsfast_since)
        return observer.stats([counts.counts() for counts in list(self._corsfast_counts)])

    def reset_stats(self) -> None:
        """Set every count back to zero, forget the refused origins and restart the clock."""
        for counts in list(self._corsfast_counts):
            counts.reset()
        if self._corsfast_observer is not None:
            self._corsfast_observer.reset()
        self._corsfast_since = time.time()

    def init_app(self, app: Flask | Blueprint, **kwargs: Unpack[CorsKeywords]) -> None:
        """Register the after-request hook on `app` (and, for an app, wrap its exception handlers)."""
        extra = cast("dict[str, Any]", kwargs)
        extra.pop("_engine", None)
        observe = pop_options(extra, "init_app()")
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
        observer = self._corsfast_observer
        if observer is None:
            options_observed = resolve(self._corsfast_observe, observe, config_options(app))
            observer = self._corsfast_observer = Observer(self, engine, "flask", *options_observed)
        elif observe:
            raise ValueError(
                f"init_app(): {', '.join(sorted(observe))} can only be given to CORS() or to the first "
                f"init_app() (the extension is already observed as {observer.name!r})"
            )
        counts = engine.DecisionCounts()
        self._corsfast_counts.append(counts)
        cors_after_request = make_after_request_function(
            resolved, _engine=engine, _counts=counts, _refused=observer.refused
        )
        # The app keeps its hook, and the hook keeps the extension: stats() and
        # corsfast.stats() work for `CORS(app)` as written, without a reference to it.
        cast(Any, cors_after_request)._corsfast_extension = self
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
    resources: list[tuple[ResourcePattern, FlaskOptions]],
    *,
    _engine: ModuleType | None = None,
    _counts: Any = None,
    _refused: Any = None,
) -> Callable[[Response], Response]:
    """Return the `after_request` function for resolved `(pattern, options)` resources, in order.

    flask-cors' function of that name: a response that already carries
    Access-Control-Allow-Origin is left alone; otherwise the first resource whose pattern
    matches the request path gives the headers. The path is matched as Flask routes it
    (decoded once), a documented difference from flask-cors. The function is a plain
    function (what Flask's `ensure_sync` checks fastest) around the engine's compiled hook.
    `CORS` passes the engine's `DecisionCounts` and `RefusedOrigins` its requests are counted
    and noted in; without them they are not counted.
    """
    engine = _engine if _engine is not None else _pop_engine({})
    state = engine.FlaskResources(
        [(p, engine.FlaskPolicy(o)) for p, o in resources], _context(engine), counts=_counts, refused=_refused
    )
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
