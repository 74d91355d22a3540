"""A small Django site for the `corsfast.django` tests: settings, views, URLs and middlewares.

It is the URLconf itself (`ROOT_URLCONF = "django_site"`). Django's settings are global to
the process and other test modules configure Django too, so `site()` pins what these
tests need with `override_settings` and undoes it after.

The middlewares under test, by dotted path (`MIDDLEWARE` takes paths):
- `corsheaders.middleware.CorsMiddleware`: django-cors-headers 4.9 itself;
- `django_site.Reference`: django-cors-headers with corsfast's two documented differences
  (whole-Origin regex matching; Origins with control characters never allowed) and nothing
  else: the oracle of the differential tests;
- `django_site.CorsfastC` / `CorsfastPy`: `corsfast.django.middleware.CorsMiddleware` on the
  compiled engine and on the pure twin;
- `django_site.HookedC` / `HookedPy`: subclasses that override one of django-cors-headers'
  methods (calling `super()`), so the middleware's methods answer instead of the engine.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        SECRET_KEY="corsfast-tests",
        INSTALLED_APPS=[],
        USE_TZ=True,
        ROOT_URLCONF="django_site",
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[],
        DEBUG=False,
    )
    django.setup()

import corsheaders.middleware
import corsheaders.signals
from corsheaders.conf import conf as corsheaders_conf
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import AsyncClient, Client
from django.test.utils import override_settings
from django.urls import path
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.http import require_GET

import corsfast.django.signals
from corsfast import _engine, _engine_py
from corsfast.django.middleware import CorsMiddleware, _on_engine

ORIGINAL = "corsheaders.middleware.CorsMiddleware"
REFERENCE = "django_site.Reference"
CORSFAST = {"c": "django_site.CorsfastC", "py": "django_site.CorsfastPy"}
HOOKED = {"c": "django_site.HookedC", "py": "django_site.HookedPy"}

CORS_RESPONSE_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-headers",
    "access-control-allow-methods",
    "access-control-max-age",
    "access-control-allow-private-network",
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Reference(corsheaders.middleware.CorsMiddleware):
    """django-cors-headers 4.9 plus corsfast's two documented differences, nothing else."""

    def regex_domain_match(self, origin: str) -> bool:
        return any(re.fullmatch(pattern, origin) for pattern in corsheaders_conf.CORS_ALLOWED_ORIGIN_REGEXES)

    def add_response_headers(self, request: Any, response: Any) -> Any:
        origin = request.headers.get("origin")
        if not isinstance(origin, str) or not _CONTROL.search(origin):
            return super().add_response_headers(request, response)
        # Run it all (the signal is asked as often), then undo the CORS headers it wrote.
        store = response.headers._store
        before = {name: store.get(name) for name in CORS_RESPONSE_HEADERS}
        super().add_response_headers(request, response)
        for name, item in before.items():
            if item is None:
                store.pop(name, None)
            else:
                store[name] = item
        return response


try:
    from corsfast import _engine_c
except ImportError:  # pragma: no cover - a pure install: the "c" tests are deselected
    _engine_c = _engine_py
CorsfastC = _on_engine(_engine_c)
CorsfastPy = _on_engine(_engine_py)


def _hooked(base: type[CorsMiddleware]) -> type[CorsMiddleware]:
    class Hooked(base):  # type: ignore[valid-type,misc]
        def origin_found_in_white_lists(self, origin: str, url: Any) -> bool:
            return super().origin_found_in_white_lists(origin, url)  # type: ignore[no-any-return]

    return Hooked


HookedC = _hooked(CorsfastC)
HookedPy = _hooked(CorsfastPy)


class ShortCircuitMiddleware(MiddlewareMixin):
    """Answers before the CORS middleware runs (django-cors-headers' test of the same name)."""

    def process_request(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("short-circuit-middleware-response")


class OwnSetItemResponse(HttpResponse):
    """A response type with its own header method: the engine must use the public API."""

    def __setitem__(self, header: str, value: str) -> None:
        self.writes = [*getattr(self, "writes", []), header]
        super().__setitem__(header, value)


# -- views --------------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Index")


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


async def async_(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Asynchronous")


def unauthorized(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Unauthorized", status=HTTPStatus.UNAUTHORIZED)


def delete_enabled(request: HttpRequest) -> HttpResponse:
    del request._cors_enabled
    return HttpResponse()


def disable(request: HttpRequest) -> HttpResponse:
    request._cors_enabled = False
    return HttpResponse("disabled")


def error(request: HttpRequest) -> HttpResponse:
    raise ValueError("the view failed")


VARY_VALUES = {
    "accept-encoding": "Accept-Encoding",
    "origin": "Origin",
    "mixed": "accept,  ORIGIN ,Cookie",
    "star": "*",
    "cookie-star": "Cookie, *",
    "latin1": "X-Caf\xe9",
    "empty-item": "Accept,, Cookie,",  # Django 6.1 drops the empty items, earlier versions keep them
}


def vary(request: HttpRequest, name: str) -> HttpResponse:
    response = HttpResponse("vary")
    response["Vary"] = VARY_VALUES[name]
    return response


def app_cors(request: HttpRequest) -> HttpResponse:
    response = JsonResponse({"set": "by the app"})
    response["Access-Control-Allow-Origin"] = "https://set-by.app"
    response["access-control-allow-methods"] = "GET"
    response["X-After"] = "1"
    return response


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a", b"b", b"c"]))


async def async_stream_chunks() -> Any:
    for chunk in (b"a", b"b", b"c"):
        yield chunk


async def async_stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(async_stream_chunks())


def own_setitem(request: HttpRequest) -> HttpResponse:
    return OwnSetItemResponse("own")


def long(request: HttpRequest) -> HttpResponse:
    return HttpResponse("long enough to be compressed " * 40, content_type="text/plain")


def engine_name(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_engine.engine.__name__, content_type="text/plain")


urlpatterns = [
    path("", index),
    path("plain/", plain),
    path("api/plain/", plain),
    path("async/", async_),
    path("unauthorized/", unauthorized),
    path("delete-enabled/", delete_enabled),
    path("disable/", disable),
    path("error/", error),
    path("vary/<str:name>/", vary),
    path("app-cors/", app_cors),
    path("stream/", stream),
    path("async-stream/", async_stream),
    path("own-setitem/", own_setitem),
    path("long/", long),
    path("_engine/", engine_name),
]

SYNC_PATHS = ("/", "/plain/", "/api/plain/", "/unauthorized/", "/delete-enabled/", "/disable/", "/error/")
SHARED_PATHS = (
    *SYNC_PATHS,
    "/async/",
    *(f"/vary/{name}/" for name in VARY_VALUES),
    "/app-cors/",
    "/own-setitem/",
    "/missing/",
    "/plain%0A/",
)


# -- running requests ---------------------------------------------------------------------


@contextmanager
def site(middleware: str, *, prepend: tuple[str, ...] = (), **cors_settings: Any) -> Iterator[None]:
    """Serve this site through `middleware` (a dotted path) with the given CORS settings."""
    with override_settings(
        ROOT_URLCONF="django_site",
        ALLOWED_HOSTS=["*"],
        MIDDLEWARE=[*prepend, middleware],
        DEBUG=False,
        **cors_settings,
    ):
        yield


def request(
    middleware: str,
    method: str,
    path: str,
    headers: dict[str, str],
    *,
    asynchronous: bool = False,
    prepend: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
    **cors_settings: Any,
) -> Any:
    """Return the test client's response to one request served through `middleware`."""
    with site(middleware, prepend=prepend, **cors_settings):
        if asynchronous:
            client: Any = AsyncClient(raise_request_exception=False)
            return asyncio.run(client.generic(method, path, headers=headers, **(extra or {})))
        return Client(raise_request_exception=False).generic(method, path, headers=headers, **(extra or {}))


def signals() -> tuple[Any, Any]:
    """Return django-cors-headers' and corsfast's `check_request_enabled`."""
    return corsheaders.signals.check_request_enabled, corsfast.django.signals.check_request_enabled


@contextmanager
def receiver(handler: Any) -> Iterator[None]:
    """Connect `handler` to both packages' `check_request_enabled` for the duration."""
    for signal in signals():
        signal.connect(handler, weak=False)
    try:
        yield
    finally:
        for signal in signals():
            signal.disconnect(handler)
