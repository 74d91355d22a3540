"""What `CORS` and `cross_origin` share: the engine they run on, and its view of Flask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flask
import flask.globals
from werkzeug.datastructures import EnvironHeaders, Headers, MultiDict

from .._engine import engine as _default_engine

if TYPE_CHECKING:
    from types import ModuleType

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
    """Return the engine named by the `_engine` option (taken out of `kwargs`), else the default one."""
    engine = kwargs.pop("_engine", None)
    return engine if engine is not None else _default_engine
