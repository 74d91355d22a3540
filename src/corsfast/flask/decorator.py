"""`corsfast.flask.decorator`: flask-cors 6.0.5's `cross_origin` (`flask_cors.decorator`).

The decorated view's options are compiled once per app and app config into the engine's
`FlaskPolicy` (flask-cors rebuilds them on every request), and compiled again only when a
`CORS_*` value or a list among the decorator's own options changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import update_wrapper
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import Response, current_app as current_app, make_response as make_response, request as request

from ._hooks import _context, _pop_engine
from ._observe import CrossOriginStats, pop_options, resolve, view_name
from .core import (
    CONFIG_OPTIONS,
    FLASK_CORS_EVALUATED as FLASK_CORS_EVALUATED,
    CrossOriginKeywords,
    CrossOriginOptionsInput as CrossOriginOptionsInput,
    check_given_options,
    get_cors_options,
    lint_option_names,
    lint_options,
    merge_options,
    serialize_options,
    set_cors_headers as set_cors_headers,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

# The `x as x` imports re-export names flask_cors.decorator has, for code that imports them from it.

LOG = logging.getLogger("flask_cors.decorator")
"""flask-cors' logger: `cross_origin` logs each decorated view on it at DEBUG level, as flask-cors does."""

F = TypeVar("F", bound=Callable[..., Any])


def cross_origin(*args: Any, **kwargs: Unpack[CrossOriginKeywords]) -> Callable[[F], F]:
    """Return a view decorator that adds CORS headers to the view's responses, as flask-cors' does.

    Options (all optional; the app's `CORS_*` config and the defaults fill the rest):
    `origins` (`"*"`: strings, compiled patterns, or a list; a string holding any of
    `*\\]?$^[]()` is a regex, full-matched case-insensitively; `scheme://host:*` is any
    port of that host), `methods` (GET, HEAD, POST, OPTIONS, PUT, PATCH, DELETE),
    `expose_headers` (None), `allow_headers` (`"*"`), `supports_credentials` (False),
    `max_age` (None: an int, str or timedelta), `send_wildcard` (False), `vary_header`
    (True), `automatic_options` (True: the decorator answers OPTIONS itself, with Flask's
    default OPTIONS response), `always_send` (True), `allow_private_network` (False).
    Positional arguments are ignored, as flask-cors does.

    corsfast's own options say how the view is observed: `name` (default "flask:" and the
    view function's name), `log_interval` (60 seconds) and `top_refused_size` (32), as for
    `CORS`; a bad value raises TypeError or ValueError here. The decorated view has a
    `corsfast_stats` attribute whose `stats()` returns its counts of CORS decisions and
    `reset_stats()` sets them back to zero.
    """
    options = cast("dict[str, Any]", kwargs)
    engine = _pop_engine(options)
    observed = resolve(pop_options(options, "cross_origin()"))
    lint_option_names(options)
    # A one-shot iterator (a generator) is read by flask-cors on the first request, and found
    # empty afterwards: it is not read here, so that stays as flask-cors does it.
    if not any(isinstance(value, Iterator) for value in options.values()):
        check_given_options(options)
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
        LOG.debug("Enabling %s for cross_origin using options:%s", f, options)
        # As flask-cors: with automatic_options, the view answers OPTIONS itself instead of
        # Flask's automatic OPTIONS handling, so that answer gets the CORS headers.
        if options.get("automatic_options", True):
            view_func: Any = f
            required_methods = set(getattr(f, "required_methods", set()))
            required_methods.add("OPTIONS")
            view_func.required_methods = required_methods
            view_func.provide_automatic_options = False
        stats = CrossOriginStats(engine, view_name(f), observed)
        view = engine.FlaskView(f, options, CONFIG_OPTIONS, compile_policy, context, stats.counts, stats.refused)
        view_call = engine.flask_view_call

        def wrapped_function(*args: Any, **kwargs: Any) -> Response:
            return view_call(view, args, kwargs)  # type: ignore[no-any-return]

        wrapped: Any = update_wrapper(wrapped_function, f)
        wrapped.corsfast_stats = stats  # after update_wrapper, which copies a wrapped view's own
        return cast(F, wrapped)

    return decorator


class _NoConfigApp:
    """An app without `CORS_*` config: the decorator's options are linted over the defaults."""

    config: dict[str, Any] = {}  # noqa: RUF012


_NO_CONFIG: Any = _NoConfigApp()


def __getattr__(name: str) -> Any:
    """Return the `corsfast.flask.core` name flask-cors 3.x re-exported here with `from .core import *`."""
    if not name.startswith("_"):
        from . import core

        if hasattr(core, name):
            return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
