"""Every public entry point of corsfast, used as the README shows it; checked by `mypy --strict`.

This module is type-checked, never run (pytest does not collect it: its name does not start
with `test_`). `test_typing.py` runs mypy over it and over `src/`. A change that breaks
a user's type-checked code (a renamed keyword, a narrowed parameter, a return type that no
longer fits Starlette's `ASGIApp`) shows up there as an error in this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import SplitResult

import opentelemetry.metrics
import prometheus_client
from fastapi import FastAPI
from flask import Blueprint, Flask
from kui.asgi import HttpRoute, Kui as PlainKui
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send
from typing_extensions import assert_type

import corsfast
import corsfast.aiohttp.native
import corsfast.flask
import corsfast.flask.core
import corsfast.flask.decorator
import corsfast.flask.extension
import corsfast.kui.asgi
import corsfast.kui.wsgi
from corsfast import NO_EXTENSIONS, CacheInfo, CORSConfigWarning, CORSMiddleware, __version__
from corsfast.bench import Contender, Scenario, Suite, register_suite, registered_suites
from corsfast.check import CheckRequest, Report, UsageError, check, parse_request
from corsfast.check.runner import ASGITransport
from corsfast.cli import main, version_line
from corsfast.django.checks import check_deploy_settings, check_settings
from corsfast.django.conf import Settings, conf as django_conf
from corsfast.django.defaults import default_headers, default_methods
from corsfast.django.middleware import ACCESS_CONTROL_ALLOW_ORIGIN, CorsMiddleware as DjangoCorsMiddleware
from corsfast.django.signals import check_request_enabled
from corsfast.metrics import PrometheusCollector, instrument
from corsfast.starlette import CORSMiddleware as StarletteCORSMiddleware
from corsfast.wsgi import CORSMiddleware as WSGICORSMiddleware

# -- the package ----------------------------------------------------------------------------
assert_type(NO_EXTENSIONS, bool)
assert_type(__version__, str)
public_names: tuple[str, ...] = corsfast.__all__
warning: type[UserWarning] = CORSConfigWarning


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


# -- corsfast.CORSMiddleware: the native ASGI middleware ---------------------------------------
native = CORSMiddleware(
    endpoint,
    allow_origins=["https://example.com", "https://*.example.org", re.compile(r"https://.*\.example\.net")],
    allow_methods=["GET", "POST"],
    allow_headers=["Authorization", "Content-Type"],
    expose_headers=["X-Request-Id"],
    allow_credentials=True,
    max_age=3600,
    allow_private_network=False,
    cache_size=4096,
    max_origin_length=2048,
    strict=True,
)
defaults = CORSMiddleware(endpoint)
as_asgi: ASGIApp = native  # servers and frameworks take it as any ASGI app
native.cache_clear()
hits, misses, maxsize, currsize = native.cache_info()
assert_type(native.cache_info(), CacheInfo)
assert_type(native.cache_info().currsize, int)

starlette_app = Starlette(middleware=[Middleware(CORSMiddleware, allow_origins=["https://example.com"])])


async def tenant_origin(origin: str) -> bool:
    return origin.endswith(".tenant.example")


def tenant_origin_sync(origin: str) -> bool:
    return origin.endswith(".tenant.example")


dynamic = CORSMiddleware(
    endpoint, allow_origins=["http://localhost:*"], allow_origin_func=tenant_origin, allow_origin_func_ttl=60
)
dynamic_sync = CORSMiddleware(endpoint, allow_origins=[], allow_origin_func=lambda origin: origin.endswith(".example"))

# -- corsfast.starlette.CORSMiddleware: Starlette's signature, checked by Starlette's types ------
fastapi_app = FastAPI()
fastapi_app.add_middleware(
    StarletteCORSMiddleware,
    allow_origins=["https://example.com"],
    allow_methods=["*"],
    allow_headers=["*"],
    allow_credentials=True,
    allow_origin_regex=r"https://.*\.example\.com",
    allow_private_network=True,
    expose_headers=["X-Request-Id"],
    max_age=600,
)
starlette_drop_in = Starlette(
    middleware=[Middleware(StarletteCORSMiddleware, allow_origins=["*"], allow_origin_regex=re.compile("https://.*"))]
)
direct: ASGIApp = StarletteCORSMiddleware(endpoint, allow_origins=["https://example.com"])

# -- corsfast.wsgi.CORSMiddleware: Flask's app.wsgi_app, Django's application ------------------


def wsgi_endpoint(environ: dict[str, Any], start_response: Callable[..., Callable[[bytes], Any]]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


wsgi_app = WSGICORSMiddleware(
    wsgi_endpoint,
    allow_origins=["https://example.com", re.compile(r"https://.*\.example\.org")],
    allow_methods=["GET"],
    allow_headers=["X-Token"],
    expose_headers=["X-Request-Id"],
    allow_credentials=True,
    max_age=60,
    allow_private_network=True,
    cache_size=128,
    max_origin_length=1024,
    strict=False,
)
assert_type(wsgi_app.cache_info(), CacheInfo)
dynamic_wsgi = WSGICORSMiddleware(wsgi_endpoint, allow_origin_func=tenant_origin_sync, allow_origin_func_ttl=0.5)
body: Iterable[bytes] = wsgi_app({"REQUEST_METHOD": "GET"}, lambda status, headers, exc_info=None: lambda data: None)

# -- corsfast.kui: Kui's allow_cors / cors_config ----------------------------------------------
cors = corsfast.kui.asgi.allow_cors(
    allow_origins=[re.compile(r"https://.*\.example\.com")],
    allow_methods=["GET", "POST"],
    allow_headers=["Authorization"],
    expose_headers=["X-Request-Id"],
    allow_credentials=False,
    max_age=3600,
)


async def kui_handler() -> str:
    return "hello"


kui_app = PlainKui(http_middlewares=[cors])
kui_app.router <<= HttpRoute("/data", kui_handler) @ cors
kui_cors_config_app = corsfast.kui.asgi.Kui(cors_config={"allow_origins": [re.compile(".*")], "max_age": 600})
kui_route_middleware = corsfast.kui.asgi.cors_middleware({"allow_origins": [re.compile("https://example.com")]})
kui_wsgi_cors = corsfast.kui.wsgi.allow_cors(allow_origins=[re.compile(".*")], allow_credentials=True)
kui_wsgi_app = corsfast.kui.wsgi.Kui(cors_config={"allow_origins": [re.compile(".*")]})
kui_wsgi_middleware = corsfast.kui.wsgi.cors_middleware({"max_age": 60})

# -- corsfast.django: django-cors-headers' modules, in a settings file and a subclass ------------
CORS_ALLOW_HEADERS = (*default_headers, "x-token")
CORS_ALLOW_METHODS = [*default_methods]
assert_type(ACCESS_CONTROL_ALLOW_ORIGIN, str)
django_checks: list[Any] = check_settings()
django_deploy_checks: list[Any] = check_deploy_settings()


def django_view(request: Any) -> Any:
    return None


django_middleware = DjangoCorsMiddleware(django_view)
assert_type(django_middleware.async_mode, bool)


class DatabaseOrigins(DjangoCorsMiddleware):
    def origin_found_in_white_lists(self, origin: str, url: SplitResult) -> bool:
        return super().origin_found_in_white_lists(origin, url) or origin.endswith(".example.com")


def allow_api(sender: Any, request: Any, **kwargs: Any) -> bool:
    return bool(request.path.startswith("/api/"))


check_request_enabled.connect(allow_api)

# -- corsfast.flask: flask-cors' CORS and cross_origin (a Flask app or a Blueprint) ------------
flask_app = Flask(__name__)
flask_cors_extension = corsfast.flask.CORS(
    flask_app,
    resources={r"/api/*": {"origins": ["https://app.example.com", re.compile(r"https://.*\.example\.org")]}},
    supports_credentials=True,
    max_age=timedelta(minutes=10),
    expose_headers=["X-Total"],
)
corsfast.flask.CORS().init_app(Blueprint("api", __name__), origins="https://app.example.com", max_age="600")
corsfast.flask.CORS(intercept_exceptions=False, allow_private_network=True).init_app(flask_app)


@flask_app.route("/public")
@corsfast.flask.cross_origin(origins="*", methods=["GET"], allow_headers="*", vary_header=True)
def flask_view() -> str:
    return "hello"


assert_type(flask_view, Callable[[], str])
flask_allowed: str | None = corsfast.flask.core.get_allow_headers(
    corsfast.flask.core.serialize_options(corsfast.flask.core.DEFAULT_OPTIONS), "X-A"
)
flask_options = corsfast.flask.core.get_cors_options(flask_app, {"origins": ["http://localhost:*"]})
flask_origins: list[str] | None = corsfast.flask.core.get_cors_origins(flask_options, "http://localhost:3000")
flask_headers = corsfast.flask.core.get_cors_headers(flask_options, {"Origin": "http://localhost:3000"}, "GET")
assert_type(corsfast.flask.extension.CORS, type[corsfast.flask.CORS])
observed_extension = corsfast.flask.CORS(flask_app, name="typed-flask", log_interval=30.0, top_refused_size=8)
assert_type(observed_extension.stats(), corsfast.CORSStats)
observed_extension.reset_stats()
corsfast.flask.CORS().init_app(Blueprint("observed", __name__), name="typed-blueprint", log_interval=5)
observed_view = corsfast.flask.cross_origin(name="typed-view", top_refused_size=4)(lambda: "x")
assert corsfast.flask.decorator.cross_origin is corsfast.flask.cross_origin
assert_type(corsfast.flask.__version__, str)

# -- the command line -------------------------------------------------------------------------
assert_type(main(["demo", "--help"]), int)
assert_type(main(), int)
assert_type(version_line(), str)
assert_type(__version__, str)

# -- corsfast.check in a project's own tests ----------------------------------------------------
check_request: CheckRequest = parse_request(
    "https://app.example.com", "PUT", ["Content-Type: application/json"], credentials=False, path="/"
)
check_transport = ASGITransport(native, timeout=10, name="app")
check_report: Report = check(check_transport, check_request)
check_allowed: bool = check_report.allowed
check_reason: str = check_report.reason
check_text: str = check_report.to_text()
check_transport.close()
usage_error: type[Exception] = UsageError

# -- corsfast.bench: the suite registry ---------------------------------------------------------
suites: list[Suite] = registered_suites()
bench_types: tuple[type[Any], ...] = (Contender, Scenario, Suite)
bench_register: Callable[[Suite], Suite] = register_suite

# -- corsfast.django.conf: django-cors-headers' settings object ---------------------------------
django_settings: Settings = django_conf
django_allow_all: bool = django_conf.CORS_ALLOW_ALL_ORIGINS

# -- corsfast.aiohttp: the native middleware, the selected engine's class -----------------------
aiohttp_native = corsfast.aiohttp.native.cors_middleware(allow_origins=["https://app.example.com"])
assert_type(aiohttp_native, corsfast.aiohttp.native.AiohttpCORSMiddleware)
assert_type(aiohttp_native.cache_info(), CacheInfo)
aiohttp_native_version: int = aiohttp_native.__middleware_version__

# -- corsfast.metrics: the exporters, as the Operating page registers them ----------------------
prometheus_registry = prometheus_client.CollectorRegistry()
prometheus_registry.register(PrometheusCollector())
prometheus_registry.register(PrometheusCollector(names=["api"]))
otel_requests, otel_report_only = instrument(opentelemetry.metrics.get_meter("corsfast"), names=("api",))
assert_type(otel_requests, opentelemetry.metrics.ObservableCounter)
