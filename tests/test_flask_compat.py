"""corsfast.flask against the installed flask-cors 6.0.5: real Flask apps, request by request.

Every comparison builds the same Flask app twice, once with `flask_cors` and once with
`corsfast.flask` (on each engine), sends both the same requests through Werkzeug's test
client and compares the status, the body and the whole header list, in order.

Two documented differences are taken out of the comparison, so that it covers everything
else: the reference app gets each origin regex `p` as `(?:p)\\Z`, which flask-cors' prefix
`match` then runs as the full match corsfast does (literal origins, `*` and `.*` are left as
they are), and a glob-style port origin such as `http://localhost:*` as the port wildcard
corsfast reads it as; and no request path holds a `%` once decoded, where flask-cors decodes
a second time. These differences, and the third (control characters), have their own tests
in tests/test_flask.py and tests/test_flask_port_wildcards.py, against flask-cors too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from datetime import timedelta
from types import ModuleType
from typing import Any, Callable, Optional

import flask_cors
import pytest
from flask import Blueprint, Flask, Response, abort
from hypothesis import HealthCheck, event, given, settings, strategies as st
from hypothesis.control import currently_in_test_context

import corsfast.flask
from corsfast import CORSConfigWarning
from corsfast.flask.core import probably_regex

pytestmark = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")

Answer = tuple[int, bytes, list[tuple[str, str]]]


class Handled(Exception):
    """Raised by a view; an app error handler turns it into a 418."""


# -- the reference's view of an origin rule ----------------------------------------------------


def full_match_rule(rule: Any) -> Any:
    """Return `rule` as flask-cors must see it to full-match: `(?:p)\\Z` for a regex `p`, and for
    a glob-style port origin (`http://localhost:*`) a regex of that host with a port 1-65535."""
    if isinstance(rule, str) and re.fullmatch(r"https?://[a-z0-9.]+:\*", rule):
        return (
            re.escape(rule[:-2])
            + r":(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\Z"
        )
    if isinstance(rule, re.Pattern):
        return re.compile(f"(?:{rule.pattern})\\Z", rule.flags)
    if isinstance(rule, str) and rule not in ("*", ".*") and probably_regex(rule):
        return f"(?:{rule})\\Z"
    return rule


def full_match_origins(value: Any) -> Any:
    if isinstance(value, (str, re.Pattern)):
        return full_match_rule(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(full_match_rule(rule) for rule in value)
    return value


def for_reference(options: dict[str, Any]) -> dict[str, Any]:
    """Return options with every origin regex anchored at the end (resource options too)."""
    result = dict(options)
    if "origins" in result:
        result["origins"] = full_match_origins(result["origins"])
    if isinstance(result.get("resources"), dict):
        result["resources"] = {key: for_reference(value) for key, value in result["resources"].items()}
    return result


def config_for_reference(config: dict[str, Any]) -> dict[str, Any]:
    result = dict(config)
    if "CORS_ORIGINS" in result:
        result["CORS_ORIGINS"] = full_match_origins(result["CORS_ORIGINS"])
    if isinstance(result.get("CORS_RESOURCES"), dict):
        result["CORS_RESOURCES"] = {k: for_reference(v) for k, v in result["CORS_RESOURCES"].items()}
    return result


# -- the app ---------------------------------------------------------------------------------------

PATHS = (
    "/api/x",
    "/api/v1/items/3",
    "/public",
    "/err",
    "/abort/404",
    "/abort/500",
    "/abort/403",
    "/own-acao",
    "/own-empty-acao",
    "/own-vary",
    "/options-view",
    "/handled",
    "/bp/api/ping",
    "/bp/plain",
    "/missing",
    "/api/missing",
    "/API/x",
    "/apiary",
    "/api/x/",
    "/a+b",
    "/a b",
)


def add_routes(target: Flask | Blueprint, decorate: Callable[[Any], Any]) -> None:
    """Register the test views on `target`, each wrapped by `decorate` (identity or cross_origin)."""

    @target.route("/api/x", methods=["GET", "POST", "PUT"])
    @decorate
    def api_x() -> str:
        return "api"

    @target.route("/api/v1/items/<int:item>")
    @decorate
    def item(item: int) -> Any:
        return {"item": item}

    @target.route("/public")
    @decorate
    def public() -> tuple[str, int, dict[str, str]]:
        return "public", 201, {"X-Extra": "1"}

    @target.route("/err")
    @decorate
    def err() -> str:
        raise RuntimeError("boom")

    @target.route("/abort/<int:code>")
    @decorate
    def aborting(code: int) -> str:
        abort(code)

    @target.route("/own-acao")
    @decorate
    def own_acao() -> Response:
        return Response("own", headers={"Access-Control-Allow-Origin": "https://own.example"})

    @target.route("/own-empty-acao")
    @decorate
    def own_empty_acao() -> Response:
        return Response("own", headers={"access-control-allow-origin": ""})

    @target.route("/own-vary")
    @decorate
    def own_vary() -> Response:
        return Response("vary", headers={"Vary": "Accept-Encoding"})

    @target.route("/options-view", methods=["GET", "OPTIONS"])
    @decorate
    def options_view() -> str:
        return "view answered"

    @target.route("/handled")
    @decorate
    def handled() -> str:
        raise Handled()

    @target.route("/a+b")
    @decorate
    def plus() -> str:
        return "plus"

    @target.route("/a b")
    @decorate
    def space() -> str:
        return "space"


def build_app(
    cors: ModuleType,
    *,
    mode: str,
    config: dict[str, Any],
    kwargs: dict[str, Any],
    init_kwargs: dict[str, Any],
    view_kwargs: dict[str, Any],
    error_handlers: bool,
    engine: Optional[ModuleType],
) -> Flask:
    """Return a Flask app with `cors` (flask_cors or corsfast.flask) attached the way `mode` says."""
    extra: dict[str, Any] = {} if engine is None else {"_engine": engine}
    reference = cors is flask_cors
    app = Flask(__name__)
    app.config.update(config_for_reference(config) if reference else config)
    kw = for_reference(kwargs) if reference else kwargs
    init_kw = for_reference(init_kwargs) if reference else init_kwargs
    view_kw = for_reference(view_kwargs) if reference else view_kwargs

    def identity(view: Any) -> Any:
        return view

    decorate = identity
    if mode in ("decorator", "both"):
        decorate = cors.cross_origin(**view_kw, **extra)
    add_routes(app, decorate)
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.route("/api/ping")
    def ping() -> str:
        return "pong"

    @bp.route("/plain")
    @decorate
    def plain() -> str:
        return "plain"

    if mode == "blueprint":
        cors.CORS(bp, **kw, **extra)
    app.register_blueprint(bp)
    if mode in ("extension", "both"):
        cors.CORS(app, **kw, **extra)
    elif mode == "init_app":
        cors.CORS(**kw, **extra).init_app(app, **init_kw)

    @app.errorhandler(Handled)
    def on_handled(error: Exception) -> tuple[str, int]:
        return "handled", 418

    if error_handlers:

        @app.errorhandler(404)
        def not_found(error: Exception) -> tuple[str, int]:
            return "not found here", 404

        @app.errorhandler(500)
        def server_error(error: Exception) -> Response:
            return Response("oops", status=500, headers={"Vary": "Cookie"})

    app.logger.disabled = True  # the 500s are expected
    return app


def answer(app: Flask, method: str, path: str, headers: dict[str, str]) -> Answer:
    response = app.test_client().open(path, method=method, headers=headers)
    return response.status_code, response.get_data(), response.headers.to_wsgi_list()


def build_both(engine: ModuleType, **spec: Any) -> tuple[Any, Any]:
    """Return (reference app or its exception, corsfast app or its exception)."""
    results = []
    for cors, eng in ((flask_cors, None), (corsfast.flask, engine)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CORSConfigWarning)
                results.append(build_app(cors, engine=eng, **spec))
        except Exception as exc:
            results.append(exc)
    return results[0], results[1]


COVERAGE_EVENTS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Private-Network",
    "Access-Control-Max-Age",
    "Vary",
)


def assert_same_answers(engine: ModuleType, requests: Iterable[tuple[str, str, dict[str, str]]], **spec: Any) -> None:
    reference, drop_in = build_both(engine, **spec)
    if isinstance(reference, Exception) or isinstance(drop_in, Exception):
        assert type(reference) is type(drop_in), (reference, drop_in)
        assert str(reference) == str(drop_in)
        return
    for method, path, headers in requests:
        expected = answer(reference, method, path, headers)
        assert answer(drop_in, method, path, headers) == expected, (method, path, headers)
        if currently_in_test_context():  # what the hypothesis test covered (--hypothesis-show-statistics)
            names = {name for name, _ in expected[2]}
            for name in COVERAGE_EVENTS:
                if name in names:
                    event(f"answer has {name}")
            event(f"status {expected[0]}")


# -- strategies ---------------------------------------------------------------------------------

ORIGIN_RULES = st.sampled_from(
    [
        "*",
        ".*",
        "https://app.example.com",
        "HTTPS://App.Example.com",
        "http://foo.com",
        "null",
        "www.example.com",
        r"https://.*\.example\.com",
        r"https?://foo\.com",
        r".*\.example\.org",
        r"http?://\w*\.?example\.com:?\d*/?.*",
        re.compile(r"https://x\.example\.org"),
        re.compile(r"HTTPS://(a|b)\.example\.com", re.IGNORECASE),
        re.compile(r"https://app\.example\.com"),
        "http://localhost:*",
        "http://127.0.0.1:*",
    ]
)
origins_option = st.one_of(
    ORIGIN_RULES,
    st.sampled_from([None, 5, ["https://app.example.com", None]]),  # flask-cors compares str(rule)
    st.lists(ORIGIN_RULES, max_size=4),
    st.lists(ORIGIN_RULES, max_size=3).map(tuple),
    st.sets(st.sampled_from(["https://app.example.com", "http://foo.com", "https://b.example.com"]), max_size=3),
)
methods_option = st.sampled_from(
    [["GET", "POST"], "GET, POST", ["get", "put"], "POST", [], {"DELETE", "GET"}, "*", ["OPTIONS"], None]
)
allow_headers_option = st.sampled_from(
    ["*", ["Content-Type", "X-Custom"], r"X-COMPANY-.*", ["content-type", r"X-.*"], "X-Custom", [], None]
)
expose_option = st.sampled_from([None, "X-Total", ["X-B", "X-A"], {"X-C", "X-A"}, "", []])
max_age_option = st.sampled_from([None, 600, "3600", timedelta(minutes=10), 0, "0", 172800, 1.5])
BOOLEAN_OPTIONS = (
    "supports_credentials",
    "send_wildcard",
    "vary_header",
    "always_send",
    "automatic_options",
    "allow_private_network",
)


@st.composite
def cors_options(draw: st.DrawFn, *, extension: bool) -> dict[str, Any]:
    """Return a random subset of the options, each with one of its accepted types."""
    options: dict[str, Any] = {}
    for name, strategy in (
        ("origins", origins_option),
        ("methods", methods_option),
        ("allow_headers", allow_headers_option),
        ("expose_headers", expose_option),
        ("max_age", max_age_option),
    ):
        if draw(st.booleans()):
            options[name] = draw(strategy)
    for name in BOOLEAN_OPTIONS:
        if draw(st.integers(0, 3)) == 0:
            options[name] = draw(st.booleans())
    if extension:
        if draw(st.booleans()):
            options["intercept_exceptions"] = draw(st.booleans())
        if draw(st.booleans()):
            options["resources"] = draw(resources_option())
    return options


RESOURCE_PATTERNS = st.sampled_from(
    [
        "/*",
        r"/api/*",
        "/api/x",
        r"/api/v1/.*",
        "/public",
        r"/err*",
        r"/abort/.*",
        re.compile(r"/api/.*"),
        re.compile(r"/own-.*"),
        "/a+b",
        r"/a\+b",
        "/a b",
        r"/bp/api/*",
        "*",
        "/options-view",
        "/handled",
    ]
)


@st.composite
def resources_option(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["str", "list", "dict", "compiled"]))
    if kind == "str":
        return draw(RESOURCE_PATTERNS.filter(lambda p: isinstance(p, str)))
    if kind == "compiled":
        return draw(st.sampled_from([re.compile(r"/api/.*"), re.compile(r"/(public|err)")]))
    patterns = draw(st.lists(RESOURCE_PATTERNS, min_size=1, max_size=4, unique_by=lambda p: str(p)))
    if kind == "list":
        return patterns
    return {pattern: draw(cors_options(extension=False)) for pattern in patterns}


CONFIG_VALUES: dict[str, Any] = {
    "CORS_ORIGINS": origins_option,
    "CORS_METHODS": methods_option,
    "CORS_ALLOW_HEADERS": allow_headers_option,
    "CORS_EXPOSE_HEADERS": expose_option,
    "CORS_MAX_AGE": max_age_option,
    "CORS_SUPPORTS_CREDENTIALS": st.booleans(),
    "CORS_SEND_WILDCARD": st.booleans(),
    "CORS_AUTOMATIC_OPTIONS": st.booleans(),
    "CORS_VARY_HEADER": st.booleans(),
    "CORS_ALWAYS_SEND": st.booleans(),
    "CORS_ALLOW_PRIVATE_NETWORK": st.booleans(),
    "CORS_INTERCEPT_EXCEPTIONS": st.booleans(),
    "CORS_RESOURCES": resources_option(),
}


@st.composite
def app_config(draw: st.DrawFn) -> dict[str, Any]:
    keys = draw(st.lists(st.sampled_from(sorted(CONFIG_VALUES)), max_size=3, unique=True))
    return {key: draw(CONFIG_VALUES[key]) for key in keys}


REQUEST_ORIGINS = st.sampled_from(
    [
        None,
        "https://app.example.com",
        "https://APP.example.com",
        "http://foo.com",
        "https://foo.com",
        "https://evil.com",
        "null",
        "",
        "https://a.example.com",
        "https://a.example.com.evil.net",
        "https://x.example.org",
        "http://a.example.org",
        "www.example.com",
        "https://b.example.com",
        "*",
        "None",
        "5",
        "http://localhost:3000",
        "http://localhost.evil.example",
        "http://127.0.0.1:65536",
        "http://127.0.0.1:8080",
    ]
)
REQUEST_METHODS = st.sampled_from([None, "GET", "post", "ET", "", "PATCH", "OPTIONS", "X", "delete"])
REQUEST_HEADER_LISTS = st.sampled_from(
    [None, "", "content-type", "X-Custom, Content-Type", "x-company-foo,  X-Other ", "X-B,,x-a", " ,", "AUTHORIZATION"]
)
PRIVATE_NETWORK = st.sampled_from([None, None, "true", "false", "TRUE"])


@st.composite
def request_specs(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """Return (method, path, headers): a browser-like preflight, a simple request, or anything."""
    path = draw(st.sampled_from(PATHS))
    kind = draw(st.sampled_from(["preflight", "simple", "any"]))
    headers: dict[str, str] = {}
    if kind == "preflight":
        method = "OPTIONS"
        headers["Origin"] = draw(REQUEST_ORIGINS.filter(bool))
        headers["Access-Control-Request-Method"] = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "get"]))
        value = draw(REQUEST_HEADER_LISTS)
        if value is not None:
            headers["Access-Control-Request-Headers"] = value
        value = draw(PRIVATE_NETWORK)
        if value is not None:
            headers["Access-Control-Request-Private-Network"] = value
        return method, path, headers
    if kind == "simple":
        method = draw(st.sampled_from(["GET", "HEAD"] if path != "/api/x" else ["GET", "POST", "PUT"]))
        value = draw(REQUEST_ORIGINS)
        if value is not None:
            headers["Origin"] = value
        return method, path, headers
    method = draw(st.sampled_from(["GET", "OPTIONS", "POST", "PUT", "HEAD", "DELETE"]))
    for name, strategy in (
        ("Origin", REQUEST_ORIGINS),
        ("Access-Control-Request-Method", REQUEST_METHODS),
        ("Access-Control-Request-Headers", REQUEST_HEADER_LISTS),
        ("Access-Control-Request-Private-Network", PRIVATE_NETWORK),
    ):
        value = draw(strategy)
        if value is not None:
            headers[name] = value
    return method, path, headers


@st.composite
def app_specs(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(st.sampled_from(["extension", "decorator", "both", "init_app", "blueprint"]))
    return {
        "mode": mode,
        "config": draw(app_config()),
        "kwargs": draw(cors_options(extension=True)),
        "init_kwargs": draw(cors_options(extension=True)) if mode == "init_app" else {},
        "view_kwargs": draw(cors_options(extension=False)),
        "error_handlers": draw(st.booleans()),
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(spec=app_specs(), requests=st.lists(request_specs(), min_size=1, max_size=8))
def test_same_answers_as_flask_cors(engine: ModuleType, spec: dict[str, Any], requests: list[Any]) -> None:
    assert_same_answers(engine, requests, **spec)


# -- the paths every spec is asked about, for a few fixed specs --------------------------------------

FIXED_SPECS = {
    "defaults": {"mode": "extension", "kwargs": {}},
    "defaults-decorator": {"mode": "decorator", "view_kwargs": {}},
    "api-list": {
        "mode": "extension",
        "kwargs": {"resources": {r"/api/*": {"origins": ["https://app.example.com", "http://foo.com"]}}},
    },
    "credentials-regex": {
        "mode": "both",
        "kwargs": {"origins": r"https://.*\.example\.com", "supports_credentials": True, "max_age": 600},
        "view_kwargs": {"origins": "http://foo.com", "expose_headers": ["X-B", "X-A"]},
    },
    "config-driven": {
        "mode": "decorator",
        "config": {"CORS_ORIGINS": ["http://foo.com", "https://app.example.com"], "CORS_MAX_AGE": 60},
        "view_kwargs": {"allow_private_network": True},
    },
    "no-always-send": {"mode": "extension", "kwargs": {"always_send": False, "send_wildcard": True}},
    "blueprint": {"mode": "blueprint", "kwargs": {"resources": {r"/bp/api/*": {"origins": "http://foo.com"}}}},
    "star-credentials-wildcard": {
        "mode": "extension",
        "kwargs": {"supports_credentials": True, "send_wildcard": True},
    },
}


@pytest.mark.parametrize("name", sorted(FIXED_SPECS))
def test_fixed_specs_every_path(engine: ModuleType, name: str) -> None:
    spec = {"config": {}, "kwargs": {}, "init_kwargs": {}, "view_kwargs": {}, "error_handlers": False}
    spec.update(FIXED_SPECS[name])
    requests = []
    for path in PATHS:
        for method in ("GET", "OPTIONS", "POST"):
            requests.append((method, path, {"Origin": "http://foo.com"}))
            requests.append(
                (
                    method,
                    path,
                    {
                        "Origin": "https://a.example.com",
                        "Access-Control-Request-Method": "get",
                        "Access-Control-Request-Headers": "X-Custom, content-type",
                        "Access-Control-Request-Private-Network": "true",
                    },
                )
            )
        requests.append(("GET", path, {}))
    for error_handlers in (False, True):
        assert_same_answers(engine, requests, **{**spec, "error_handlers": error_handlers})
