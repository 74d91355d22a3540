"""What `CORS` and `cross_origin` observe of their decisions: the three options that name
and tune it (keyword arguments, or `CORSFAST_*` app config for the extension), and the
object behind a decorated view's `corsfast_stats`.

The options are corsfast's own: they are taken out of the keyword arguments before
flask-cors' options are read, so flask-cors' option handling never sees them, and their
config keys are prefixed `CORSFAST_`, which no flask-cors `CORS_*` key can collide with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from types import MappingProxyType, ModuleType
from typing import Any, Callable, Optional

from .._observe.observer import Observer, observer_options
from .._observe.reasons import REASON_IDS
from .._observe.stats import CORSStats

__all__ = (
    "CONFIG_KEYS",
    "OBSERVE_OPTIONS",
    "CrossOriginStats",
    "ObserveOptions",
    "config_options",
    "empty_stats",
    "pop_options",
    "resolve",
    "view_name",
)

OBSERVE_OPTIONS = ("name", "log_interval", "top_refused_size")
"""corsfast's keyword options of `CORS()`, `init_app()` and `cross_origin()`."""

CONFIG_KEYS = {
    "name": "CORSFAST_NAME",
    "log_interval": "CORSFAST_LOG_INTERVAL",
    "top_refused_size": "CORSFAST_TOP_REFUSED_SIZE",
}
"""The app config key of each option, read by `init_app` (as flask-cors reads `CORS_*`)."""

_DEFAULTS: dict[str, Any] = {"name": None, "log_interval": 60.0, "top_refused_size": 32}

ObserveOptions = tuple[Optional[str], float, int]
"""`(name or None for the default, log_interval, top_refused_size)`, checked."""

_NOT_IN_A_NAME = re.compile(r"[^A-Za-z0-9_.:-]")


def _check(given: Mapping[str, Any], label: Callable[[str], str]) -> None:
    """Raise TypeError or ValueError, naming the option as `label(option)`, for a bad value."""
    for option, value in given.items():
        values = {**_DEFAULTS, option: value}
        try:
            observer_options(values["name"], values["log_interval"], values["top_refused_size"])
        except (TypeError, ValueError) as error:
            raise type(error)(f"{label(option)}: {error}") from None


def pop_options(options: MutableMapping[str, Any], where: str) -> dict[str, Any]:
    """Return the observation options taken out of the keyword `options` of `where` (such as
    "CORS()"), checked: TypeError or ValueError for a bad value."""
    given = {option: options.pop(option) for option in OBSERVE_OPTIONS if option in options}
    _check(given, lambda option: f"{where} {option}")
    return given


def config_options(app: Any) -> dict[str, Any]:
    """Return the observation options set in `app.config` (a blueprint has none; None values
    are skipped, as flask-cors skips them), checked."""
    config = getattr(app, "config", {})
    given = {option: value for option, key in CONFIG_KEYS.items() if (value := config.get(key)) is not None}
    _check(given, lambda option: f"app.config[{CONFIG_KEYS[option]!r}]")
    return given


def resolve(*sources: Mapping[str, Any]) -> ObserveOptions:
    """Return the options, each from the first of `sources` that has it, else its default."""
    values = dict(_DEFAULTS)
    for source in reversed(sources):
        values.update(source)
    return observer_options(values["name"], values["log_interval"], values["top_refused_size"])


def view_name(view: Any) -> str:
    """Return a decorated view's default name in `corsfast.stats()`: "flask:" and the view
    function's name, any character a name cannot hold replaced by `_`."""
    name = _NOT_IN_A_NAME.sub("_", str(getattr(view, "__name__", "") or "view"))
    return "flask:" + name[: 64 - len("flask:")]


def empty_stats(name: str, since: float) -> CORSStats:
    """Return the stats of an extension not initialised on any app yet: every count zero."""
    zeros = MappingProxyType(dict.fromkeys(REASON_IDS, 0))
    return CORSStats(name, zeros, zeros, (), since)


class CrossOriginStats:
    """A `@cross_origin` view's counts of its CORS decisions, reached as `view.corsfast_stats`.

    `stats()` returns a `corsfast.CORSStats`; `reset_stats()` sets every count back to zero.
    The view is listed in `corsfast.stats()` under `name` ("flask:" and the view function's
    name unless `cross_origin(name=...)` gave one) for as long as the view function lives.
    """

    __slots__ = ("__weakref__", "_counts", "_observer")

    def __init__(self, engine: ModuleType, default_name: str, options: ObserveOptions) -> None:
        name, log_interval, top_refused_size = options
        self._counts: Any = engine.DecisionCounts()
        self._observer = Observer(self, engine, default_name, name, log_interval, top_refused_size)

    @property
    def name(self) -> str:
        """Return the name the view is listed under in `corsfast.stats()`."""
        return self._observer.name

    @property
    def counts(self) -> Any:
        """Return the engine's `DecisionCounts` the view's requests are counted in."""
        return self._counts

    @property
    def refused(self) -> Any:
        """Return the engine's `RefusedOrigins` the view's refusals are noted in."""
        return self._observer.refused

    def stats(self) -> CORSStats:
        """Return the view's counts of its CORS decisions since counting began."""
        return self._observer.stats((self._counts.counts(),))

    def reset_stats(self) -> None:
        """Set every count back to zero, forget the refused origins and restart the clock."""
        self._counts.reset()
        self._observer.reset()

    def __repr__(self) -> str:
        return f"<CrossOriginStats {self.name!r}>"
