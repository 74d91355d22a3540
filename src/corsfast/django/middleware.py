"""`CorsMiddleware`: django-cors-headers 4.9's middleware, compiled (sync and async).

    MIDDLEWARE = ["corsfast.django.middleware.CorsMiddleware", ...]

The engine runs the whole request (`__call__` and `__acall__` are the engine's functions)
on the settings compiled once. The methods of django-cors-headers' class are here too,
with its signatures and behaviour: a subclass that overrides any of them
(`origin_found_in_white_lists` to consult a database, `is_enabled`, ...) is served by
these methods, so its override runs exactly where and as often as under
django-cors-headers. They also serve settings of a shape django-cors-headers' system
checks refuse, with the answers (and the errors) django-cors-headers gives for them.
"""

from __future__ import annotations

from collections.abc import Awaitable
from types import ModuleType
from typing import Any, Callable, ClassVar, Union
from urllib.parse import SplitResult, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers

from .._engine import engine as _default_engine
from .._observe.observer import Observer, observer_options
from .._observe.reasons import ALLOWED, NO_ORIGIN, PREFLIGHT, SIMPLE
from .._observe.stats import CORSStats
from ._compile import (
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK,
    Snapshot,
    has_control,
    state_for,
)
from ._observe import answer_reason
from .conf import conf
from .signals import check_request_enabled

__all__ = (
    "ACCESS_CONTROL_ALLOW_CREDENTIALS",
    "ACCESS_CONTROL_ALLOW_HEADERS",
    "ACCESS_CONTROL_ALLOW_METHODS",
    "ACCESS_CONTROL_ALLOW_ORIGIN",
    "ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK",
    "ACCESS_CONTROL_EXPOSE_HEADERS",
    "ACCESS_CONTROL_MAX_AGE",
    "ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
    "CorsMiddleware",
    "check_request_enabled",
    "conf",
)

GetResponse = Union[
    Callable[[HttpRequest], HttpResponseBase],
    Callable[[HttpRequest], Awaitable[HttpResponseBase]],
]

# The methods django-cors-headers' requests go through; overriding one selects them.
_HOOKS = (
    "check_preflight",
    "add_response_headers",
    "origin_found_in_white_lists",
    "regex_domain_match",
    "is_enabled",
    "check_signal",
    "_url_in_whitelist",
)


class CorsMiddleware(_default_engine.DjangoMiddlewareBase):
    """Add CORS headers to responses as django-cors-headers' `CorsMiddleware` does.

    - On every response of a URL that `CORS_URLS_REGEX` (or a `check_request_enabled`
      receiver) enables, `Vary` gets `origin`, as `patch_vary_headers` adds it.
    - An OPTIONS request with Access-Control-Request-Method to such a URL is answered
      here, 200 and empty, whatever its Origin; the view is not called.
    - When the Origin is allowed (`CORS_ALLOW_ALL_ORIGINS`, `CORS_ALLOWED_ORIGINS`,
      `CORS_ALLOWED_ORIGIN_REGEXES` matching the whole Origin, or a receiver), the response
      gets Access-Control-Allow-Origin and the headers the settings ask for.

    corsfast's addition: `stats()` counts every request CORS applies to by kind and by the
    reason a browser concludes from the answer, and `reset_stats()` starts again; the
    `CORSFAST_*` settings name the middleware, pace the refusal log and set a report-only
    policy (read when the middleware is created, as Django does at start-up).
    """

    sync_capable = True
    async_capable = True

    __call__ = _default_engine.django_call
    __acall__ = _default_engine.django_acall

    _corsfast_engine: ClassVar[ModuleType] = _default_engine

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(self.get_response)
        if self.async_mode:
            # Mark the instance as async-capable; __call__ switches to __acall__ itself.
            markcoroutinefunction(self)
        engine = type(self)._corsfast_engine
        self._corsfast_state = state_for(engine)
        self._corsfast_fast = _runs_in_engine(type(self))
        if self._corsfast_state.compiled != self._corsfast_state.generation:
            self._corsfast_state.refresh()
        try:
            name, log_interval, top_refused_size = observer_options(
                conf.CORSFAST_NAME, conf.CORSFAST_LOG_INTERVAL, conf.CORSFAST_TOP_REFUSED_SIZE
            )
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"CORSFAST_* settings: {exc} (run manage.py check)") from None
        self._corsfast_observer = Observer(self, engine, "django", name, log_interval, top_refused_size)
        self._corsfast_counts = engine.DecisionCounts()
        self._corsfast_refused = self._corsfast_observer.refused
        self._corsfast_report = self._corsfast_observer.report

    # -- corsfast's observations ----------------------------------------------------------

    def stats(self) -> CORSStats:
        """Return the counts of this middleware's CORS decisions since it was created or
        last reset: `simple` and `preflight` by reason, the most refused origins, and with
        `CORSFAST_REPORT_ONLY` set, what the report-only policy would have changed."""
        counts: Any = self._corsfast_counts
        report = None if conf.CORSFAST_REPORT_ONLY is None else [counts.report()]
        return self._corsfast_observer.stats([counts.counts()], report)

    def reset_stats(self) -> None:
        """Set every count to zero, forget the refused origins kept, and restart `since`."""
        counts: Any = self._corsfast_counts
        counts.reset()
        self._corsfast_observer.reset()

    def _corsfast_count(self, request: HttpRequest, response: HttpResponseBase) -> None:
        """Count a request the methods answered, by what a browser concludes from `response`."""
        counts: Any = getattr(self, "_corsfast_counts", None)
        refused: Any = self._corsfast_refused
        if counts is None:
            return
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            # The view removed the flag, so add_response_headers asked is_enabled again; its
            # answer shows in Vary, which patch_vary_headers extended only when it said yes.
            vary = response.get("Vary", "") if isinstance(response, HttpResponseBase) else ""
            enabled = "origin" in (item.strip().lower() for item in vary.split(","))
        if not enabled:
            return
        headers = request.headers
        method = headers.get("access-control-request-method") if request.method == "OPTIONS" else None
        kind = SIMPLE if method is None else PREFLIGHT
        origin = headers.get("origin")
        if not origin:
            counts.add(kind, NO_ORIGIN)
            return
        reason, detail_name, detail = answer_reason(origin, method, headers, response)
        counts.add(kind, reason)
        if reason != ALLOWED:
            refused.note(reason, origin, detail_name, detail)
        report = (self._corsfast_state or state_for(type(self)._corsfast_engine)).report
        if report is not None:
            verdict, detail_name, detail = report.judge(request)
            if (verdict == ALLOWED) != (reason == ALLOWED):
                counts.add_report(reason == ALLOWED)
                report_origins: Any = self._corsfast_report
                report_origins.note(verdict, origin, detail_name, detail)

    # -- django-cors-headers' methods (used when a subclass overrides one of them) --------

    def _corsfast_call(self, request: HttpRequest) -> HttpResponseBase:
        response = self.check_preflight(request)
        if response is None:
            result = self.get_response(request)
            assert isinstance(result, HttpResponseBase)
            response = result
        self.add_response_headers(request, response)
        self._corsfast_count(request, response)
        return response

    async def _corsfast_acall(self, request: HttpRequest) -> HttpResponseBase:
        response = self.check_preflight(request)
        if response is None:
            result = self.get_response(request)
            assert not isinstance(result, HttpResponseBase)
            response = await result
        self.add_response_headers(request, response)
        self._corsfast_count(request, response)
        return response

    def _corsfast_settings(self) -> Snapshot:
        state = self._corsfast_state or state_for(type(self)._corsfast_engine)
        if state.compiled != state.generation:
            state.refresh()
        return state.snapshot  # type: ignore[no-any-return]

    def check_preflight(self, request: HttpRequest) -> HttpResponseBase | None:
        """Return the answer to a CORS preflight for an enabled URL, else None."""
        request._cors_enabled = self.is_enabled(request)
        if request._cors_enabled and request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            return HttpResponse(headers={"content-length": "0"})
        return None

    def add_response_headers(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """Add the CORS headers to `response` and return it."""
        settings = self._corsfast_settings()
        enabled = getattr(request, "_cors_enabled", None)
        if enabled is None:
            enabled = self.is_enabled(request)
        if not enabled:
            return response

        patch_vary_headers(response, ("origin",))

        origin = request.headers.get("origin")
        if not origin:
            return response
        try:
            url = urlsplit(origin)
        except ValueError:
            return response

        if (
            not settings.allow_all_origins
            and not self.origin_found_in_white_lists(origin, url)
            and not self.check_signal(request)
        ):
            return response
        if has_control(origin):
            return response  # corsfast: never allowed, never reflected

        if settings.allow_all_origins and not settings.allow_credentials:
            response[ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
        else:
            response[ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        if settings.allow_credentials:
            response[ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
        if len(settings.expose_headers):
            response[ACCESS_CONTROL_EXPOSE_HEADERS] = ", ".join(settings.expose_headers)
        if request.method == "OPTIONS":
            response[ACCESS_CONTROL_ALLOW_HEADERS] = ", ".join(settings.allow_headers)
            response[ACCESS_CONTROL_ALLOW_METHODS] = ", ".join(settings.allow_methods)
            if settings.preflight_max_age:
                response[ACCESS_CONTROL_MAX_AGE] = str(settings.preflight_max_age)
        if settings.allow_private_network and request.headers.get(ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK) == "true":
            response[ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK] = "true"
        return response

    def origin_found_in_white_lists(self, origin: str, url: SplitResult) -> bool:
        """Return True when the settings allow `origin` (`url` is its `urlsplit`)."""
        settings = self._corsfast_settings()
        return settings.null_listed(origin) or self._url_in_whitelist(url) or self.regex_domain_match(origin)

    def regex_domain_match(self, origin: str) -> bool:
        """Return True when a `CORS_ALLOWED_ORIGIN_REGEXES` pattern matches the whole `origin`."""
        return self._corsfast_settings().regex_match(origin)

    def is_enabled(self, request: HttpRequest) -> bool:
        """Return True when CORS applies to the request: `CORS_URLS_REGEX` or the signal."""
        return self._corsfast_settings().url_enabled(request.path_info) or self.check_signal(request)

    def check_signal(self, request: HttpRequest) -> bool:
        """Return True when a `check_request_enabled` receiver returns a truthy value."""
        signal_responses = check_request_enabled.send(sender=None, request=request)
        return any(return_value for function, return_value in signal_responses)

    def _url_in_whitelist(self, url: SplitResult) -> bool:
        return self._corsfast_settings().url_in_whitelist(url)


def _runs_in_engine(kind: type) -> bool:
    """Return True when `kind` overrides none of django-cors-headers' methods."""
    fast = _FAST.get(kind)
    if fast is None:
        fast = all(getattr(kind, name) is getattr(CorsMiddleware, name) for name in _HOOKS)
        _FAST[kind] = fast
    return fast


_FAST: dict[type, bool] = {}


_VARIANTS: dict[ModuleType, type[CorsMiddleware]] = {}


def _on_engine(engine: ModuleType) -> type[CorsMiddleware]:
    """Return `CorsMiddleware` rebuilt on `engine` (tests and benchmarks compare engines)."""
    if engine is _default_engine:
        return CorsMiddleware
    variant = _VARIANTS.get(engine)
    if variant is None:
        namespace = {k: v for k, v in vars(CorsMiddleware).items() if k not in ("__dict__", "__weakref__")}
        namespace.update(
            __call__=engine.django_call,
            __acall__=engine.django_acall,
            _corsfast_engine=engine,
        )
        variant = type("CorsMiddleware", (engine.DjangoMiddlewareBase,), namespace)
        _VARIANTS[engine] = variant
    return variant
