"""corsfast.flask: the documented differences from flask-cors, the warnings, live config, the
engines' parity, bounded caches and the header write, each checked against flask-cors 6.0.5.

tests/test_flask_compat.py compares random apps and requests with flask-cors; this file
pins what that comparison leaves out on purpose (the three security differences) and the
parts of the implementation that must not change an answer (caches, the direct write into
Werkzeug's header list, the decorator's recompilation, the fallback to Flask's proxies).
"""

from __future__ import annotations

import re
import threading
import warnings
from datetime import timedelta
from types import ModuleType
from typing import Any

import flask_cors
import flask_cors.core
import pytest
from flask import Blueprint, Flask, Response
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import EnvironHeaders, Headers, MultiDict

import corsfast.flask
import corsfast.flask.core
from corsfast import CORSConfigWarning

ACAO = "Access-Control-Allow-Origin"
ACAH = "Access-Control-Allow-Headers"
quiet = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")


def make_app(
    cors: ModuleType, engine: ModuleType | None, *, decorate: dict[str, Any] | None = None, **kwargs: Any
) -> Flask:
    """Return an app with one route `/api/x` (and `/<path>`), CORS'd by `cors` with `kwargs`."""
    extra = {} if engine is None else {"_engine": engine}
    app = Flask(__name__)
    if decorate is None:
        cors.CORS(app, **kwargs, **extra)

        @app.route("/api/x", methods=["GET", "POST"])
        def api() -> str:
            return "api"

        @app.route("/<path:rest>")
        def anything(rest: str) -> str:
            return rest

    else:

        @app.route("/api/x", methods=["GET", "POST"])
        @cors.cross_origin(**decorate, **extra)
        def api() -> str:
            return "api"

    return app


def both(engine: ModuleType, **kwargs: Any) -> tuple[Flask, Flask]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return make_app(flask_cors, None, **kwargs), make_app(corsfast.flask, engine, **kwargs)


def headers_of(app: Flask, path: str = "/api/x", method: str = "GET", **headers: str) -> list[tuple[str, str]]:
    names = {key.replace("_", "-"): value for key, value in headers.items()}
    return app.test_client().open(path, method=method, headers=names).headers.to_wsgi_list()


def cors_part(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.startswith("Access-Control-") or k == "Vary"]


# -- the documented differences --------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["extension", "decorator"])
def test_origin_patterns_are_full_matched(engine: ModuleType, mode: str) -> None:
    """flask-cors runs `https?://example\\.com` with re.match: it allows `https://example.com.attacker.net`."""
    options = {"origins": r"https?://example\.com"}
    reference, drop_in = both(engine, **({"decorate": options} if mode == "decorator" else options))
    attacker = "https://example.com.attacker.net"
    assert dict(headers_of(reference, Origin=attacker))[ACAO] == attacker
    assert ACAO not in dict(headers_of(drop_in, Origin=attacker))
    for good in ("https://example.com", "http://EXAMPLE.com"):
        assert headers_of(drop_in, Origin=good) == headers_of(reference, Origin=good)
        assert dict(headers_of(drop_in, Origin=good))[ACAO] == good


def test_path_is_decoded_once(engine: ModuleType) -> None:
    """flask-cors unquotes the already-decoded path again: `/%2561pi/x` matches `/api/*`."""
    reference, drop_in = both(engine, resources={r"/api/*": {"origins": "https://app.example.com"}})
    sneaky = "/%2561pi/x"  # the server decodes it to /%61pi/x; flask-cors then to /api/x
    assert dict(headers_of(reference, sneaky, Origin="https://app.example.com"))[ACAO] == "https://app.example.com"
    assert ACAO not in dict(headers_of(drop_in, sneaky, Origin="https://app.example.com"))
    # Without a second decoding the two agree, `%61` (decoded by the server) included.
    for path in ("/api/x", "/%61pi/x", "/apiary", "/API/x", "/api%2Fx"):
        assert headers_of(drop_in, path, Origin="https://app.example.com") == headers_of(
            reference, path, Origin="https://app.example.com"
        ), path


@pytest.mark.parametrize(
    "origin", ["https://a.example.com\tx", "https://a\x01.example.com", "https://a.example.com\x7f"]
)
def test_origin_with_control_characters_is_never_reflected(engine: ModuleType, origin: str) -> None:
    reference, drop_in = both(engine)
    assert dict(headers_of(reference, Origin=origin))[ACAO] == origin  # flask-cors reflects it
    assert cors_part(headers_of(drop_in, Origin=origin)) == []  # the answer to a refused origin
    # With send_wildcard the answer does not depend on the Origin: both send `*`.
    reference, drop_in = both(engine, send_wildcard=True)
    assert headers_of(drop_in, Origin=origin) == headers_of(reference, Origin=origin)


def test_origin_with_a_newline_is_refused_not_a_crash(engine: ModuleType) -> None:
    """Werkzeug refuses the header flask-cors reflects: flask-cors' app raises; corsfast answers."""
    reference, drop_in = both(engine)
    environ = {"HTTP_ORIGIN": "https://a.example.com\r\nSet-Cookie: s=1"}
    with pytest.raises(ValueError, match="newline"):
        reference.test_client().get("/api/x", environ_overrides=environ)
    response = drop_in.test_client().get("/api/x", environ_overrides=environ)
    assert response.status_code == 200
    assert cors_part(response.headers.to_wsgi_list()) == []


def test_requested_header_with_control_characters_is_not_echoed(engine: ModuleType) -> None:
    reference, drop_in = both(engine)
    request = {"Origin": "https://a.example.com", "Access-Control-Request-Method": "GET"}
    names = "X-Ok, X-Bad\x01Name, X-Tab\tInside"
    ref = dict(headers_of(reference, method="OPTIONS", **request, Access_Control_Request_Headers=names))
    ours = dict(headers_of(drop_in, method="OPTIONS", **request, Access_Control_Request_Headers=names))
    assert ref[ACAH] == "X-Bad\x01Name, X-Ok, X-Tab\tInside"
    assert ours[ACAH] == "X-Ok"


@pytest.mark.parametrize(
    "option",
    [
        {"expose_headers": "X-A\r\nSet-Cookie: s=1"},
        {"methods": "GET\nX"},
        {"max_age": "60\r\n"},
        {"origins": "a\nb"},
        {"expose_headers": "X-A\x00B"},
        {"max_age": "6\x0b0"},
        {"origins": "https://a.example\x7f"},
    ],
    ids=["expose_headers", "methods", "max_age", "origins", "expose_headers-nul", "max_age-vt", "origins-del"],
)
def test_header_values_with_control_characters_fail_at_start_up(engine: ModuleType, option: dict[str, Any]) -> None:
    app = Flask(__name__)
    with pytest.raises(ValueError, match="control character"):
        corsfast.flask.CORS(app, **option, _engine=engine)
    with pytest.raises(ValueError, match="control character"):
        corsfast.flask.cross_origin(**option, _engine=engine)


def test_control_characters_other_than_cr_lf_are_what_flask_cors_sends() -> None:
    """The difference is real: flask-cors accepts a NUL or VT in an option and writes it into responses."""
    app = Flask(__name__)
    flask_cors.CORS(app, expose_headers="X-A\x00B", max_age="6\x0b0")
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    simple = client.get("/", headers={"Origin": "https://a.example"})
    assert simple.headers["Access-Control-Expose-Headers"] == "X-A\x00B"
    preflight = client.options("/", headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"})
    assert preflight.headers["Access-Control-Max-Age"] == "6\x0b0"


def test_tab_in_a_header_value_is_accepted(engine: ModuleType) -> None:
    """A field value may hold a tab (RFC 9110): accepted and sent, as flask-cors sends it."""
    ours, ref = Flask(__name__), Flask(__name__)
    corsfast.flask.CORS(ours, expose_headers="X-A,\tX-B", _engine=engine)
    flask_cors.CORS(ref, expose_headers="X-A,\tX-B")
    for app in (ours, ref):
        app.add_url_rule("/", "index", lambda: "ok")
    got = [app.test_client().get("/", headers={"Origin": "https://a.example"}).headers for app in (ours, ref)]
    assert got[0]["Access-Control-Expose-Headers"] == got[1]["Access-Control-Expose-Headers"] == "X-A,\tX-B"


def test_invalid_regex_fails_at_decoration(engine: ModuleType) -> None:
    """flask-cors raises the same ValueError, but on each request (a 500); corsfast at start-up."""
    with pytest.raises(ValueError, match="Invalid regular expression"):
        corsfast.flask.cross_origin(origins="https://(", _engine=engine)
    with pytest.raises(ValueError, match="Invalid regular expression"):
        corsfast.flask.CORS(Flask(__name__), allow_headers="X-(", _engine=engine)
    with pytest.raises(TypeError, match="bytes pattern"):
        corsfast.flask.CORS(Flask(__name__), origins=re.compile(b"x"), _engine=engine)


# -- construction errors flask-cors has too ------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"resources": 5}, ValueError),
        ({"supports_credentials": True, "send_wildcard": True}, ValueError),
        ({"origins": "*", "supports_credentials": True, "send_wildcard": True}, ValueError),
        ({"resources": "/api/("}, ValueError),
    ],
)
def test_construction_errors_as_flask_cors(engine: ModuleType, kwargs: dict[str, Any], error: type) -> None:
    with pytest.raises(error) as expected:
        flask_cors.CORS(Flask(__name__), **kwargs)
    with pytest.raises(error) as got:
        corsfast.flask.CORS(Flask(__name__), **kwargs, _engine=engine)
    assert str(got.value) == str(expected.value)


def test_decorator_combination_error_is_raised_per_request_as_flask_cors(engine: ModuleType) -> None:
    """`*` + credentials + send_wildcard depends on the app config: both raise when the view runs."""
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)
        app.config["CORS_SUPPORTS_CREDENTIALS"] = True

        @app.route("/")
        @cors.cross_origin(send_wildcard=True, **extra)
        def index() -> str:
            return "x"

        assert app.test_client().get("/").status_code == 500
        app.config["CORS_ORIGINS"] = "https://app.example.com"
        assert app.test_client().get("/", headers={"Origin": "https://app.example.com"}).status_code == 200


# -- warnings at construction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"supports_credentials": True}, "reflects every Origin with credentials"),
        ({"origins": r"https://.*example\.com", "supports_credentials": True}, "also matches"),
        ({"origins": ["https://app.example.com", "null"]}, "'null' is sent by sandboxed iframes"),
        ({"origins": "https://app.example.com/"}, "trailing slash"),
        ({"origins": r"https://api.example\.com"}, "unescaped '.'"),
        ({"origins": r"https://(a+)+\.example\.com"}, "ReDoS"),
        ({"max_age": timedelta(days=3)}, "more than browsers keep"),
        ({"expose_headers": ["*"], "origins": "https://app.example.com", "supports_credentials": True}, "'*'"),
        ({"orgins": "https://app.example.com"}, "did you mean 'origins'"),
        ({"resources": {r"/api/(a+)+": {}}}, "crafted path"),
    ],
)
def test_dangerous_options_warn_where_flask_cors_is_silent(
    engine: ModuleType, kwargs: dict[str, Any], message: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flask_cors.CORS(Flask(__name__), **kwargs)
    with pytest.warns(CORSConfigWarning, match=re.escape(message)) as caught:
        corsfast.flask.CORS(Flask(__name__), **kwargs, _engine=engine)
    assert caught[0].filename == __file__  # points at the CORS(...) line
    # Answers are unchanged: the same requests get the same headers (tests/test_flask_compat.py).


def test_decorator_warns_about_what_its_own_options_decide(engine: ModuleType) -> None:
    with pytest.warns(CORSConfigWarning, match="reflects every Origin") as caught:
        corsfast.flask.cross_origin(origins="*", supports_credentials=True, _engine=engine)
    assert caught[0].filename == __file__
    with pytest.warns(CORSConfigWarning, match="unescaped"):
        corsfast.flask.cross_origin(origins=r"https://app.example\.com", _engine=engine)
    with warnings.catch_warnings():
        # Credentials without origins: CORS_ORIGINS in the app config may narrow them.
        warnings.simplefilter("error")
        corsfast.flask.cross_origin(supports_credentials=True, _engine=engine)


def test_safe_configurations_do_not_warn(engine: ModuleType) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corsfast.flask.CORS(Flask(__name__), _engine=engine)
        corsfast.flask.CORS(
            Flask(__name__),
            resources={r"/api/*": {"origins": ["https://app.example.com", r"https://[a-z]+\.example\.org"]}},
            supports_credentials=True,
            max_age=600,
            expose_headers=["X-Total"],
            _engine=engine,
        )
        corsfast.flask.cross_origin(origins="HTTPS://App.Example.com", allow_private_network=True, _engine=engine)


# -- the decorator follows the app config and its options, as flask-cors' per-request rebuild ----------


def test_decorator_follows_config_and_option_changes(engine: ModuleType) -> None:
    origins = ["https://a.example.com"]
    apps = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)

        @app.route("/")
        @cors.cross_origin(origins=origins, **extra)
        def index() -> str:
            return "x"

        @app.route("/config")
        @cors.cross_origin(**extra)
        def config() -> str:
            return "x"

        apps.append(app)

    def same(path: str, origin: str) -> list[tuple[str, str]]:
        answers = [headers_of(app, path, Origin=origin) for app in apps]
        assert answers[1] == answers[0], (path, origin)
        return answers[0]

    assert ACAO in dict(same("/", "https://a.example.com"))
    assert ACAO not in dict(same("/", "https://b.example.com"))
    origins.append("https://b.example.com")  # mutated in place: flask-cors sees it on the next request
    assert ACAO in dict(same("/", "https://b.example.com"))
    for app in apps:
        app.config["CORS_ORIGINS"] = ["https://c.example.com"]
        app.config["CORS_MAX_AGE"] = 60
    assert ACAO in dict(same("/config", "https://c.example.com"))
    assert ACAO not in dict(same("/config", "https://a.example.com"))
    for app in apps:
        app.config["CORS_ORIGINS"].append("https://d.example.com")
    assert ACAO in dict(same("/config", "https://d.example.com"))
    for app in apps:
        del app.config["CORS_ORIGINS"]
        app.config["CORS_VARY_HEADER"] = False
        app.config["CORS_ALWAYS_SEND"] = None  # None values are skipped by flask-cors
    same("/config", "https://z.example.com")
    same("/config", "")
    assert same("/", "https://b.example.com") == same("/", "https://b.example.com")


@quiet
def test_decorator_with_a_generator_rebuilds_per_request_as_flask_cors(engine: ModuleType) -> None:
    """A generator is consumed by flask-cors' first rebuild: later requests see no origins."""
    apps = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)

        @app.route("/")
        @cors.cross_origin(origins=(o for o in ["https://a.example.com"]), **extra)
        def index() -> str:
            return "x"

        apps.append(app)
    for _ in range(3):
        answers = [headers_of(app, "/", Origin="https://a.example.com") for app in apps]
        assert answers[1] == answers[0]


def test_one_decorated_view_in_two_apps(engine: ModuleType) -> None:
    for_both = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):

        @cors.cross_origin(**extra)
        def shared() -> str:
            return "x"

        first, second = Flask("first"), Flask("second")
        first.config["CORS_ORIGINS"] = "https://first.example.com"
        second.config["CORS_ORIGINS"] = "https://second.example.com"
        first.add_url_rule("/", view_func=shared)
        second.add_url_rule("/", view_func=shared)
        for_both.append(
            [
                headers_of(app, "/", Origin=origin)
                for _ in range(2)
                for app in (first, second)
                for origin in ("https://first.example.com", "https://second.example.com")
            ]
        )
    assert for_both[1] == for_both[0]


def test_positional_arguments_of_cross_origin_are_ignored(engine: ModuleType) -> None:
    answers = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)

        @app.route("/")
        @cors.cross_origin("https://ignored.example.com", **extra)
        def index() -> str:
            return "x"

        answers.append(headers_of(app, "/", Origin="https://any.example.com"))
    assert answers[1] == answers[0]


def test_wrapper_keeps_the_view_attributes(engine: ModuleType) -> None:
    def view() -> str:
        """Doc."""
        return "x"

    view.methods = ["GET"]  # type: ignore[attr-defined]
    wrapped = corsfast.flask.cross_origin(_engine=engine)(view)
    assert wrapped.__name__ == "view" and wrapped.__doc__ == "Doc." and wrapped.__wrapped__ is view  # type: ignore[attr-defined]
    assert wrapped.provide_automatic_options is False  # type: ignore[attr-defined]
    assert wrapped.required_methods == {"OPTIONS"}  # type: ignore[attr-defined]
    assert wrapped.methods == ["GET"]  # type: ignore[attr-defined]
    plain = corsfast.flask.cross_origin(automatic_options=False, _engine=engine)(lambda: "x")
    assert not hasattr(plain, "provide_automatic_options")


# -- the response header write -----------------------------------------------------------------------


class OtherHeaders(Headers):
    """A Headers subclass: corsfast takes Werkzeug's `add` path for it, not the direct write."""


class OtherResponse(Response):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers = OtherHeaders(self.headers)


@pytest.mark.parametrize("mode", ["extension", "decorator"])
@pytest.mark.parametrize("kind", ["headers", "subclass", "dict", "none"])
def test_header_write_equals_werkzeug_add(engine: ModuleType, mode: str, kind: str) -> None:
    """The direct write into `Headers._list` leaves the same `response.headers` as `Headers.add`."""
    requests = [
        {"Origin": "https://a.example.com"},
        {},
        {
            "Origin": "https://b.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-B, x-a",
            "Access-Control-Request-Private-Network": "true",
        },
    ]
    results = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)
        app.response_class = OtherResponse if kind == "subclass" else Response
        options = {"origins": ["https://a.example.com", "https://b.example.com"], "max_age": 5, "expose_headers": "X"}
        decorate = cors.cross_origin(**options, **extra) if mode == "decorator" else (lambda f: f)
        if mode == "extension":
            cors.CORS(app, **options, **extra)

        @app.route("/", methods=["GET", "POST"])
        @decorate
        def index() -> Response:
            return Response("x", headers=[("X-Own", "1"), ("vary", "Cookie")])

        @app.after_request
        def replace_headers(response: Response) -> Response:
            if kind == "dict":
                response.headers = {"X-Dict": "1"}  # type: ignore[assignment]
            elif kind == "none":
                response.headers = None  # type: ignore[assignment]
            return response

        per_request = []
        for headers in requests:
            method = "OPTIONS" if "Access-Control-Request-Method" in headers else "GET"
            with app.test_request_context("/", method=method, headers=headers):
                response = app.full_dispatch_request()
                written = response.headers
                if isinstance(written, MultiDict):
                    items = list(written.items(multi=True))
                else:
                    items = list(written.items()) if written is not None else None
                per_request.append((type(written).__name__, items))
        results.append(per_request)
    assert results[1] == results[0]


# -- the fallback to Flask's proxies (a Flask without the context variables) ------------------------


def test_context_without_context_variables(engine: ModuleType) -> None:
    import flask

    context = engine.FlaskContext(
        None,
        None,
        flask.current_app._get_current_object,
        flask.request._get_current_object,
        Headers,
        MultiDict,
        EnvironHeaders,
    )
    app = Flask(__name__)
    with app.test_request_context("/x", headers={"Origin": "https://a.example.com"}):
        assert context.current_app() is app
        assert context.current_request() is flask.request._get_current_object()
    fast = corsfast.flask._context(engine)
    with app.test_request_context("/x"):
        assert fast.current_app() is context.current_app()
        assert fast.current_request() is context.current_request()
    answers = []
    for ctx in (fast, context):
        policy = engine.FlaskPolicy(corsfast.flask.core.get_cors_options(app, {}))
        resources = engine.FlaskResources([(re.compile("/.*"), policy)], ctx)
        with app.test_request_context("/x", headers={"Origin": "https://a.example.com"}):
            response = engine.flask_after_request(resources, Response("x"))
            answers.append(response.headers.to_wsgi_list())
    assert answers[0] == answers[1]
    assert dict(answers[0])[ACAO] == "https://a.example.com"


# -- engine parity and bounded caches ------------------------------------------------------------------

TEXT = st.text(st.characters(codec="latin-1"), max_size=20) | st.sampled_from(
    ["https://a.example.com", "HTTPS://A.EXAMPLE.COM", "null", "*", "", "https://x.example.org", "\u212aelvin"]
)


@st.composite
def policy_options(draw: st.DrawFn) -> Any:
    raw = {
        "origins": draw(
            st.sampled_from(
                ["*", ["https://a.example.com", "null"], r"https://.*\.example\.org", "https://a.example.com"]
            )
        ),
        "methods": draw(st.sampled_from([None, ["GET", "PUT"], "get, post", ""])),
        "allow_headers": draw(st.sampled_from(["*", ["X-A", r"X-B.*"], "\u212a"])),
        "expose_headers": draw(st.sampled_from([None, "X-E", ["b", "a"]])),
        "max_age": draw(st.sampled_from([None, 0, 5, "7", timedelta(seconds=9)])),
        "supports_credentials": draw(st.booleans()),
        "send_wildcard": False,
        "vary_header": draw(st.booleans()),
        "always_send": draw(st.booleans()),
        "automatic_options": True,
        "allow_private_network": draw(st.booleans()),
    }
    return corsfast.flask.core.serialize_options(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=policy_options(),
    requests=st.lists(
        st.tuples(
            st.sampled_from(["GET", "OPTIONS", "options"]),
            st.none() | TEXT,
            st.none() | TEXT,
            st.none() | TEXT,
            st.none() | st.sampled_from(["true", "false", "TRUE"]) | TEXT,
        ),
        max_size=6,
    ),
)
def test_engines_agree(options: Any, requests: list[tuple[Any, ...]]) -> None:
    from corsfast import _engine_c, _engine_py

    policies = [_engine_c.FlaskPolicy(options, 4), _engine_py.FlaskPolicy(options, 4)]
    for request in requests * 2:  # the second pass answers from the caches
        answers = [policy.cors_headers(*request) for policy in policies]
        assert answers[0] == answers[1], request
        assert all(type(value) is str for answer in answers for pair in answer for value in pair)
    assert policies[0].cache_info() == policies[1].cache_info()


@pytest.mark.parametrize(
    "arguments",
    [
        ("GET", b"https://a.example.com", None, None, None),
        ("OPTIONS", "https://a.example.com", b"GET", None, None),
        ("OPTIONS", "https://a.example.com", "GET", 5, None),
        ("GET", "https://a.example.com", None, None, b"true"),
    ],
)
def test_engines_refuse_the_same_argument_types(engine: ModuleType, arguments: tuple[Any, ...]) -> None:
    options = corsfast.flask.core.get_cors_options(Flask(__name__), {})
    policy = engine.FlaskPolicy(options)
    with pytest.raises(TypeError, match="Expected str"):
        policy.cors_headers(*arguments)
    if isinstance(arguments[1], str):  # the same checks once the origin is looked up
        with pytest.raises(TypeError, match="Expected str"):
            policy.entry_headers(policy.lookup(arguments[1]), arguments[0], *arguments[2:])
    with pytest.raises(TypeError):
        policy.entry_headers(None, "GET", None, None, None)
    # A refused origin needs nothing more from the request: its other values are not read.
    refusing = engine.FlaskPolicy(corsfast.flask.core.get_cors_options(Flask(__name__), {"origins": "https://a.b"}))
    assert refusing.cors_headers("OPTIONS", "https://x.y", b"GET", 5, b"true") == ()


def test_caches_stay_bounded(engine: ModuleType) -> None:
    options = corsfast.flask.core.get_cors_options(Flask(__name__), {"origins": r"https://.*"})
    policy = engine.FlaskPolicy(options, 64)
    for i in range(1000):
        origin = f"https://{i}.example.com"
        assert policy.cors_headers("OPTIONS", origin, f"GET{i}", f"X-{i}", None)[0] == (ACAO, origin)
        assert policy.cache_info().currsize <= 64
    long_origin = "https://" + "a" * 5000 + ".example.com"
    before = policy.cache_info()
    assert policy.is_allowed_origin(long_origin)
    assert policy.cache_info().currsize <= before.currsize  # never cached
    policy.cache_clear()
    assert policy.cache_info() == (0, 0, 64, 0)
    uncached = engine.FlaskPolicy(options, 0)
    assert uncached.is_allowed_origin("https://x") and uncached.cache_info().currsize == 0
    with pytest.raises(ValueError):
        engine.FlaskPolicy(options, -1)


def test_resource_cache_stays_bounded(engine: ModuleType) -> None:
    app = Flask(__name__)
    options = corsfast.flask.core.get_cors_options(app, {})
    policy = engine.FlaskPolicy(options)
    resources = engine.FlaskResources(
        [("/exact", policy), (re.compile("/api/.*"), policy)], corsfast.flask._context(engine), 8
    )
    for i in range(100):
        assert resources.policy_for(f"/api/{i}") is policy
        assert resources.policy_for(f"/other/{i}") is None
    assert resources.policy_for("/exact") is policy
    assert resources.policy_for("/exact/") is None


# -- threads ----------------------------------------------------------------------------------------


def test_one_app_many_threads(engine: ModuleType) -> None:
    reference, drop_in = both(engine, origins=[r"https://.*\.example\.com"], max_age=5)
    origins = [f"https://{i % 50}.example.com" for i in range(400)] + ["https://evil.com"] * 50
    expected = {o: headers_of(reference, Origin=o) for o in set(origins)}
    failures: list[str] = []

    def worker(chunk: list[str]) -> None:
        client = drop_in.test_client()
        for origin in chunk:
            got = client.get("/api/x", headers={"Origin": origin}).headers.to_wsgi_list()
            if got != expected[origin]:
                failures.append(origin)

    threads = [threading.Thread(target=worker, args=(origins[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# -- the core module's names -------------------------------------------------------------------------


def test_core_module_offers_flask_cors_core_names() -> None:
    names = {
        "ACL_ORIGIN", "ACL_METHODS", "ACL_ALLOW_HEADERS", "ACL_EXPOSE_HEADERS", "ACL_CREDENTIALS", "ACL_MAX_AGE",
        "ACL_RESPONSE_PRIVATE_NETWORK", "ACL_REQUEST_METHOD", "ACL_REQUEST_HEADERS",
        "ACL_REQUEST_HEADER_PRIVATE_NETWORK", "ALL_METHODS", "CONFIG_OPTIONS", "FLASK_CORS_EVALUATED",
        "DEFAULT_OPTIONS", "RegexObject",
    }  # fmt: skip
    for name in names:
        assert getattr(corsfast.flask.core, name) == getattr(flask_cors.core, name), name
    for name in (
        "probably_regex", "re_fix", "get_regexp_pattern", "ensure_iterable", "sanitize_regex_param", "flexible_str",
        "try_match_pattern", "try_match_any_pattern", "parse_resources", "get_app_kwarg_dict", "merge_options",
        "serialize_options", "get_cors_options", "get_allow_headers",
    ):  # fmt: skip
        assert callable(getattr(corsfast.flask.core, name)), name


@given(value=st.text(max_size=12) | st.sampled_from(["*", "http://*.example.com", r"a\b", "[x]", "(a)", "?", "$"]))
def test_regex_detection_rule_is_flask_cors(value: str) -> None:
    assert corsfast.flask.core.probably_regex(value) == flask_cors.core.probably_regex(value)


@given(
    resources=st.dictionaries(
        st.sampled_from(
            ["/a", "/a/b", r"/a/*", r"/a/b/.*", "/", "*", r"/x?", "/long/literal/path", re.compile("/r/.*")]
        ),
        st.just({}),
        min_size=1,
        max_size=6,
    )
)
def test_resource_order_is_flask_cors(resources: dict[Any, Any]) -> None:
    ours = [p for p, _ in corsfast.flask.core.parse_resources(resources)]
    theirs = [p for p, _ in flask_cors.core.parse_resources(resources)]
    assert [getattr(p, "pattern", p) for p in ours] == [getattr(p, "pattern", p) for p in theirs]


@given(
    allow=st.sampled_from(["*", ["X-A", "x-b"], r"X-COMPANY-.*", "Content-Type"]),
    requested=st.sampled_from(["", "x-a", "X-A, X-B, content-type", " x-company-foo ,X-COMPANY", ",,", "X-B,X-A"]),
)
def test_get_allow_headers_is_flask_cors(allow: Any, requested: str) -> None:
    ours = corsfast.flask.core.get_allow_headers(
        corsfast.flask.core.serialize_options({"allow_headers": allow}), requested
    )
    theirs = flask_cors.core.get_allow_headers(flask_cors.core.serialize_options({"allow_headers": allow}), requested)
    assert ours == theirs


def test_blueprint_ignores_app_config_and_exceptions(engine: ModuleType) -> None:
    answers = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        bp = Blueprint("bp", __name__)
        cors.CORS(bp, **extra)

        @bp.route("/x")
        def x() -> str:
            return "x"

        @bp.route("/boom")
        def boom() -> str:
            raise RuntimeError

        app = Flask(__name__)
        app.config["CORS_ORIGINS"] = "https://only.example.com"
        app.register_blueprint(bp)
        app.logger.disabled = True
        answers.append([headers_of(app, p, Origin="https://other.example.com") for p in ("/x", "/boom", "/missing")])
    assert answers[1] == answers[0]


def test_init_app_twice_and_constructor_options(engine: ModuleType) -> None:
    answers = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = Flask(__name__)
        app.config["CORS_MAX_AGE"] = 30
        cors_object = cors.CORS(origins="https://a.example.com", **extra)
        cors_object.init_app(app, max_age=60, resources={r"/api/*": {"expose_headers": "X-E"}})
        cors_object.init_app(app, origins="https://b.example.com")

        @app.route("/api/x")
        def x() -> str:
            raise ValueError

        app.logger.disabled = True
        answers.append(
            [
                headers_of(app, "/api/x", method=m, Origin=o, Access_Control_Request_Method="GET")
                for m in ("GET", "OPTIONS")
                for o in ("https://a.example.com", "https://b.example.com")
            ]
        )
    assert answers[1] == answers[0]


def test_star_import_gives_cors_and_cross_origin() -> None:
    namespace: dict[str, Any] = {}
    exec("from corsfast.flask import *", namespace)
    assert namespace["CORS"] is corsfast.flask.CORS and namespace["cross_origin"] is corsfast.flask.cross_origin


@pytest.mark.parametrize("mix", ["flask_cors decorator, corsfast CORS", "corsfast decorator, flask_cors CORS"])
def test_mixing_the_two_libraries_while_migrating(engine: ModuleType, mix: str) -> None:
    """Both mark decorated responses with `_FLASK_CORS_EVALUATED`: the extensions skip them alike."""
    decorator_module, extension_module = (
        (flask_cors, corsfast.flask) if mix.startswith("flask_cors") else (corsfast.flask, flask_cors)
    )
    answers = []
    for decorators, extension in ((flask_cors, flask_cors), (decorator_module, extension_module)):
        app = Flask(__name__)
        extension_extra = {"_engine": engine} if extension is corsfast.flask else {}
        decorator_extra = {"_engine": engine} if decorators is corsfast.flask else {}
        extension.CORS(app, origins="https://a.example.com", expose_headers="X-E", **extension_extra)

        @app.route("/decorated")
        @decorators.cross_origin(origins="https://b.example.com", **decorator_extra)
        def decorated() -> str:
            return "x"

        answers.append(
            [
                headers_of(app, "/decorated", method=method, Origin=origin)
                for method in ("GET", "OPTIONS")
                for origin in ("https://a.example.com", "https://b.example.com")
            ]
        )
    assert answers[1] == answers[0]


def test_decorator_reads_a_config_class_with_its_own_get(engine: ModuleType) -> None:
    """flask-cors reads the app config with `.get`: an overridden `get` is honoured on each request."""
    from flask.config import Config

    class Switching(Config):
        origin = "https://a.example.com"

        def get(self, key: str, default: Any = None) -> Any:
            return self.origin if key == "CORS_ORIGINS" else super().get(key, default)

    class SwitchingApp(Flask):
        config_class = Switching

    answers = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        app = SwitchingApp(__name__)

        @app.route("/")
        @cors.cross_origin(**extra)
        def index() -> str:
            return "x"

        seen = [headers_of(app, "/", Origin="https://b.example.com")]
        Switching.origin = "https://b.example.com"
        seen.append(headers_of(app, "/", Origin="https://b.example.com"))
        Switching.origin = "https://a.example.com"
        answers.append(seen)
    assert answers[1] == answers[0]
    assert ACAO not in dict(answers[0][0]) and dict(answers[0][1])[ACAO] == "https://b.example.com"
