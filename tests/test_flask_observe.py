"""corsfast.flask's counts of its decisions, on both engines: `CORS.stats()` and a decorated
view's `corsfast_stats`, by kind and reason; the refused origins and the refusal log; the
options that name and tune them; `corsfast.stats()`.

A preflight is counted as flask-cors tells one apart (OPTIONS with an
Access-Control-Request-Method); flask-cors answers every preflight alike, so a preflight's
reason is what a browser concludes from the answer, which the table below checks against
corsfast check's Fetch rules on the very response sent.
"""

from __future__ import annotations

import gc
import logging
import threading
import tracemalloc
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import flask_cors
import pytest
from flask import Flask, abort
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast.flask
from corsfast._observe.reasons import REASON_IDS
from corsfast.check.fetch.checks import cors_check, preflight_check
from corsfast.flask._observe import CrossOriginStats

ORIGIN = "https://app.example"
EVIL = "https://evil.example"
OPTIONS = {"origins": [ORIGIN], "methods": ["GET", "PUT"], "allow_headers": ["X-A"]}
ACRM = "Access-Control-Request-Method"
ACRH = "Access-Control-Request-Headers"
ACRPN = "Access-Control-Request-Private-Network"
ACRM_ENV = "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
ACRH_ENV = "HTTP_ACCESS_CONTROL_REQUEST_HEADERS"


def nonzero(stats: corsfast.CORSStats) -> dict[str, int]:
    """Return the counts that are not zero, as {"kind/reason": n}."""
    return {
        f"{kind}/{reason}": n
        for kind, counts in (("simple", stats.simple), ("preflight", stats.preflight))
        for reason, n in counts.items()
        if n
    }


def extension_app(engine: ModuleType, **options: Any) -> tuple[Flask, corsfast.flask.CORS]:
    app = Flask(__name__)
    extension = corsfast.flask.CORS(app, **{**OPTIONS, **options}, _engine=engine)
    add_routes(app)
    return app, extension


def add_routes(app: Flask) -> None:
    @app.route("/api/x", methods=["GET", "PUT", "DELETE"])
    def api() -> str:
        return "api"

    @app.route("/api/bad")
    def bad() -> str:
        abort(400)

    @app.route("/api/boom")
    def boom() -> str:
        raise RuntimeError("boom")


def decorated_app(engine: ModuleType, **options: Any) -> tuple[Flask, Any]:
    app = Flask(__name__)

    @app.route("/api/x", methods=["GET", "PUT", "DELETE"])
    @corsfast.flask.cross_origin(**{**OPTIONS, **options}, _engine=engine)
    def api() -> str:
        return "api"

    return app, api


# (method, request headers, the count it adds, the refusal's log detail)
TABLE: list[tuple[str, dict[str, str], str, str | None]] = [
    ("GET", {}, "simple/no_origin", None),
    ("GET", {"Origin": ORIGIN}, "simple/allowed", None),
    ("GET", {"Origin": EVIL}, "simple/origin_not_allowed", None),
    ("GET", {"Origin": "https://app.example\x1b[31m"}, "simple/origin_invalid", None),
    ("OPTIONS", {"Origin": ORIGIN}, "simple/allowed", None),  # no Access-Control-Request-Method
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "PUT"}, "preflight/allowed", None),
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "POST"}, "preflight/allowed", None),  # safelisted, not listed
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "PUT", ACRH: "x-a"}, "preflight/allowed", None),
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "DELETE"}, "preflight/method_not_allowed", "method=DELETE"),
    # flask-cors' substring test sends Allow-Methods "GET, PUT"; a browser compares "put" exactly.
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "put"}, "preflight/method_not_allowed", "method=put"),
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "PUT", ACRH: "x-a,x-b"}, "preflight/header_not_allowed", "header=x-b"),
    # No Allow-Headers at all for a method flask-cors does not list: x-a is refused too.
    ("OPTIONS", {"Origin": ORIGIN, ACRM: "POST", ACRH: "x-a"}, "preflight/header_not_allowed", "header=x-a"),
    (
        "OPTIONS",
        {"Origin": ORIGIN, ACRM: "PUT", ACRPN: "true"},
        "preflight/private_network_not_allowed",
        None,
    ),
    ("OPTIONS", {"Origin": EVIL, ACRM: "PUT"}, "preflight/origin_not_allowed", None),
    ("OPTIONS", {ACRM: "PUT"}, "preflight/no_origin", None),
]


def browser_reason(response: Any, method: str, headers: dict[str, str]) -> str:
    """Return the reason a browser gives for this answer, by corsfast check's Fetch rules."""
    origin = headers.get("Origin")
    if origin is None:
        return "no_origin"
    answer = response.headers.to_wsgi_list()
    if ACRM not in headers or method != "OPTIONS":
        return "allowed" if not cors_check(answer, origin, False) else "origin_not_allowed"
    requested = [(name, "1") for name in headers.get(ACRH, "").split(",") if name]
    result = preflight_check(200, answer, origin, headers[ACRM], requested, False)
    rules = {failure.rule for failure in result.failures}
    if any(rule.startswith("allow-origin") for rule in rules):
        return "origin_not_allowed"
    if any(rule.startswith("method") for rule in rules):
        return "method_not_allowed"
    if any(rule.startswith("header") for rule in rules):
        return "header_not_allowed"
    assert not rules, rules
    if headers.get(ACRPN) == "true" and response.headers.get("Access-Control-Allow-Private-Network") != "true":
        return "private_network_not_allowed"
    return "allowed"


@pytest.mark.parametrize("form", ["extension", "decorator"])
def test_a_request_table_counts_every_reason(engine: ModuleType, form: str, caplog: pytest.LogCaptureFixture) -> None:
    app, owner = (extension_app if form == "extension" else decorated_app)(engine)
    observed = owner if form == "extension" else owner.corsfast_stats
    client = app.test_client()
    expected: dict[str, int] = {}
    details = []
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for method, headers, count, detail in TABLE:
            response = client.open("/api/x", method=method, headers=headers)
            assert response.status_code == 200
            if "\x1b" not in headers.get("Origin", ""):  # a browser never sends that Origin
                assert count.endswith("/" + browser_reason(response, method, headers)), (method, headers)
            expected[count] = expected.get(count, 0) + 1
            if detail is not None:
                details.append(detail)
    stats = observed.stats()
    assert nonzero(stats) == expected
    assert list(stats.simple) == list(stats.preflight) == list(REASON_IDS)
    assert stats.refused == sum(n for key, n in expected.items() if not key.endswith(("/allowed", "/no_origin")))
    assert dict(stats.top_refused) == {ORIGIN: 5, EVIL: 2, "https://app.example\\x1b[31m": 1}
    lines = [record.getMessage() for record in caplog.records if record.name == "corsfast.refusals"]
    for detail in details:
        assert any(detail in line for line in lines), (detail, lines)
    assert any("origin_invalid: origin=https://app.example\\x1b[31m" in line for line in lines)


def test_requests_the_extension_ignores_are_not_counted(engine: ModuleType) -> None:
    app, extension = extension_app(engine, resources={r"/api/*": {}})

    @app.route("/other")
    def other() -> str:
        return "other"

    @app.route("/api/own")
    def own() -> Any:
        return "own", 200, {"Access-Control-Allow-Origin": "https://own.example"}

    client = app.test_client()
    client.get("/other", headers={"Origin": EVIL})  # no resource matches
    client.get("/api/own", headers={"Origin": EVIL})  # the view answered CORS itself
    assert nonzero(extension.stats()) == {}
    client.get("/api/x", headers={"Origin": EVIL})
    assert nonzero(extension.stats()) == {"simple/origin_not_allowed": 1}


@pytest.mark.parametrize("path", ["/api/bad", "/api/boom", "/api/missing"])
@pytest.mark.parametrize("origin", [ORIGIN, EVIL, None])
def test_error_responses_are_counted_once(engine: ModuleType, path: str, origin: str | None) -> None:
    # The extension's hook runs twice on these (after the error handler, and as an
    # after_request function): the request is counted once, and answered as flask-cors does.
    app, extension = extension_app(engine)
    reference = Flask(__name__)
    flask_cors.CORS(reference, **OPTIONS)
    add_routes(reference)
    headers = {} if origin is None else {"Origin": origin}
    response = app.test_client().get(path, headers=headers)
    assert response.status_code in (400, 404, 500)
    reason = {ORIGIN: "allowed", EVIL: "origin_not_allowed", None: "no_origin"}[origin]
    assert nonzero(extension.stats()) == {f"simple/{reason}": 1}
    theirs = reference.test_client().get(path, headers=headers)
    assert response.headers.to_wsgi_list() == theirs.headers.to_wsgi_list()


def test_a_decorated_view_inside_the_extension_is_counted_by_the_view(engine: ModuleType) -> None:
    app, extension = extension_app(engine)

    @app.route("/decorated")
    @corsfast.flask.cross_origin(origins=[EVIL], _engine=engine)
    def decorated() -> str:
        return "decorated"

    client = app.test_client()
    client.get("/decorated", headers={"Origin": EVIL})
    client.get("/decorated", headers={"Origin": ORIGIN})
    assert nonzero(decorated.corsfast_stats.stats()) == {"simple/allowed": 1, "simple/origin_not_allowed": 1}
    assert nonzero(extension.stats()) == {}  # the extension leaves what the decorator answered alone


# -- threads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["extension", "decorator"])
def test_counts_are_exact_under_8_threads(engine: ModuleType, form: str) -> None:
    app, owner = (extension_app if form == "extension" else decorated_app)(engine)
    observed = owner if form == "extension" else owner.corsfast_stats
    rounds = 60
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            client = app.test_client()
            barrier.wait(timeout=60)
            for n in range(rounds):
                client.get("/api/x", headers={"Origin": ORIGIN})
                client.get("/api/x", headers={"Origin": f"https://{thread}-{n % 7}.evil.example"})
                client.options("/api/x", headers={"Origin": ORIGIN, ACRM: "DELETE"})
                client.options("/api/x", headers={"Origin": ORIGIN, ACRM: "PUT", ACRH: "x-a"})
        except BaseException as error:  # pragma: no cover - reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    total = 8 * rounds
    stats = observed.stats()
    assert nonzero(stats) == {
        "simple/allowed": total,
        "simple/origin_not_allowed": total,
        "preflight/method_not_allowed": total,
        "preflight/allowed": total,
    }
    assert sum(n for _, n in stats.top_refused) == 2 * total


# -- floods of refused origins -------------------------------------------------------------------------


def test_a_million_unique_refused_origins_keep_top_refused_at_k(engine: ModuleType) -> None:
    # The hooks' own counting path (FlaskPolicy.counted_headers), without Flask around it.
    observed = CrossOriginStats(engine, "flask:flood", (None, 60.0, 16))
    policy = engine.FlaskPolicy(corsfast.flask.core.get_cors_options(Flask(__name__), OPTIONS))
    counts, refused = observed.counts, observed.refused
    tracemalloc.start()
    for n in range(1_000_000):
        if n == 10_000:
            early, _ = tracemalloc.get_traced_memory()
        assert policy.counted_headers(counts, refused, "GET", f"https://{n}.evil.example", None, None, None) == ()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stats = observed.stats()
    assert nonzero(stats) == {"simple/origin_not_allowed": 1_000_000}
    assert len(stats.top_refused) == 16
    assert sum(n for _, n in stats.top_refused) == 1_000_000
    assert late - early < 256 * 1024  # the origin cache is bounded; the top-K holds 16


def test_a_flood_of_refused_requests_keeps_top_refused_at_k(engine: ModuleType) -> None:
    app, extension = extension_app(engine, top_refused_size=8)
    client = app.test_client()
    for n in range(3000):
        client.get("/api/x", headers={"Origin": ORIGIN if n % 3 == 0 else f"https://{n}.evil.example"})
    stats = extension.stats()
    assert nonzero(stats) == {"simple/allowed": 1000, "simple/origin_not_allowed": 2000}
    assert len(stats.top_refused) == 8
    assert sum(n for _, n in stats.top_refused) == 2000


# -- hostile origins -----------------------------------------------------------------------------------

HOSTILE = [
    "https://a.example\r\nX-Forged: 1",
    "https://a.example\nCORS refused origin_not_allowed: origin=https://forged",
    "https://a.example\x00",
    "\x1b[2J\x1b[31mhttps://a.example",
    "https://a.example\u2028x",
    "https://a.example\\x0d",
]


@pytest.mark.parametrize("form", ["extension", "decorator"])
def test_hostile_origins_never_reach_a_log_line_unescaped(engine: ModuleType, form: str) -> None:
    app, owner = (extension_app if form == "extension" else decorated_app)(engine, log_interval=0)
    observed = owner if form == "extension" else owner.corsfast_stats
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.emit = lambda record: lines.append(handler.format(record))  # type: ignore[method-assign]
    logger = logging.getLogger("corsfast.refusals")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        client = app.test_client()
        for origin in HOSTILE:
            for method, extra in (("GET", {}), ("OPTIONS", {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"})):
                response = client.open("/api/x", method=method, environ_overrides={"HTTP_ORIGIN": origin, **extra})
                assert response.headers.get("Access-Control-Allow-Origin") is None
        client.options("/api/x", headers={"Origin": ORIGIN}, environ_overrides={ACRM_ENV: "DELETE\r\nX: 1"})
        client.options(
            "/api/x", headers={"Origin": ORIGIN, ACRM: "PUT"}, environ_overrides={ACRH_ENV: "x-a,x-\x1b[31m\u2028y"}
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert len(lines) == 2 * len(HOSTILE) + 2
    for line in lines:
        assert line.isprintable() and line.isascii(), repr(line)
        assert line.startswith("corsfast.refusals INFO CORS refused ")
    assert "method_not_allowed: origin=https://app.example method=DELETE\\r\\nX: 1 (" in lines[-2]
    assert "header_not_allowed: origin=https://app.example header=x-\\x1b[31m\\u2028y (" in lines[-1]
    assert "origin=https://a.example\\\\x0d" in "\n".join(lines)  # a backslash is escaped too
    for origin, _ in observed.stats().top_refused:
        assert origin.isprintable() and origin.isascii(), repr(origin)


# -- names, options, corsfast.stats(), reset ---------------------------------------------------------------


@pytest.fixture
def clean_registry() -> Iterator[None]:
    gc.collect()  # apps of earlier tests: their names are free again
    yield
    gc.collect()


def test_corsfast_stats_lists_the_extension_and_decorated_views(engine: ModuleType, clean_registry: None) -> None:
    app, extension = extension_app(engine)

    @app.route("/view")
    @corsfast.flask.cross_origin(_engine=engine)
    def view() -> str:
        return "view"

    @app.route("/named")
    @corsfast.flask.cross_origin(name="public-api", _engine=engine)
    def named() -> str:
        return "named"

    app.test_client().get("/view", headers={"Origin": EVIL})
    everything = corsfast.stats()
    assert extension.stats().name == "flask" and everything["flask"] == extension.stats()
    assert view.corsfast_stats.name == "flask:view"
    assert nonzero(everything["flask:view"]) == {"simple/allowed": 1}
    assert named.corsfast_stats.name == "public-api" and "public-api" in everything
    second = corsfast.flask.CORS(Flask(__name__), _engine=engine)
    assert second.stats().name == "flask-2"


def test_the_app_keeps_the_extension_listed(engine: ModuleType, clean_registry: None) -> None:
    app = Flask(__name__)
    corsfast.flask.CORS(app, name="kept-by-app", _engine=engine)  # no reference kept, as usually written
    gc.collect()
    assert "kept-by-app" in corsfast.stats()
    del app
    gc.collect()
    assert "kept-by-app" not in corsfast.stats()


def test_a_lambda_view_gets_a_valid_name(engine: ModuleType) -> None:
    view = corsfast.flask.cross_origin(_engine=engine)(lambda: "x")
    assert view.corsfast_stats.name.startswith("flask:_lambda_")


def test_options_from_keyword_arguments_and_app_config(engine: ModuleType, clean_registry: None) -> None:
    config = {"CORSFAST_NAME": "from-config", "CORSFAST_TOP_REFUSED_SIZE": 2, "CORSFAST_LOG_INTERVAL": 0}
    app = Flask(__name__)
    app.config.update(config)
    extension = corsfast.flask.CORS(app, origins=[ORIGIN], _engine=engine)
    assert extension.stats().name == "from-config"
    client = app.test_client()
    for n in range(5):
        client.get("/", headers={"Origin": f"https://{n}.example"})
    assert len(extension.stats().top_refused) == 2
    other = Flask(__name__)
    other.config.update(config)
    keyword = corsfast.flask.CORS(other, origins=[ORIGIN], name="from-keywords", top_refused_size=3, _engine=engine)
    for n in range(5):
        other.test_client().get("/", headers={"Origin": f"https://{n}.example"})
    assert keyword.stats().name == "from-keywords" and len(keyword.stats().top_refused) == 3
    later = corsfast.flask.CORS(name="factory", _engine=engine)
    assert later.stats().name == "factory" and "factory" not in corsfast.stats()  # until init_app
    later.init_app(Flask(__name__))
    assert "factory" in corsfast.stats()
    with pytest.raises(ValueError, match="can only be given to CORS"):
        later.init_app(Flask(__name__), name="again")
    factory = corsfast.flask.CORS(_engine=engine)
    factory.init_app(Flask(__name__), name="at-init-app")
    assert factory.stats().name == "at-init-app"


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"name": "has space"}, ValueError, "CORS\\(\\) name: name must be 1 to 64"),
        ({"name": 5}, TypeError, "name must be a str"),
        ({"log_interval": -1}, ValueError, "log_interval must be a number of seconds >= 0"),
        ({"log_interval": "60"}, ValueError, "log_interval"),
        ({"top_refused_size": 0}, ValueError, "top_refused_size must be an int from 1 to 10000"),
        ({"top_refused_size": 3.0}, ValueError, "top_refused_size"),
    ],
)
def test_bad_options_raise_at_construction(
    engine: ModuleType, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        corsfast.flask.CORS(**options, _engine=engine)  # before any app
    with pytest.raises(error, match=message.replace("CORS\\(\\)", "cross_origin\\(\\)")):
        corsfast.flask.cross_origin(**options, _engine=engine)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("CORSFAST_NAME", "bad name!", r"app.config\['CORSFAST_NAME'\]: name must be"),
        ("CORSFAST_LOG_INTERVAL", -5, r"app.config\['CORSFAST_LOG_INTERVAL'\]: log_interval"),
        ("CORSFAST_TOP_REFUSED_SIZE", "32", r"app.config\['CORSFAST_TOP_REFUSED_SIZE'\]: top_refused_size"),
    ],
)
def test_bad_config_raises_at_init_app(engine: ModuleType, key: str, value: Any, message: str) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises((TypeError, ValueError), match=message):
        corsfast.flask.CORS(app, _engine=engine)


def test_observation_options_leave_flask_cors_behaviour_unchanged(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # Taken out before flask-cors' options are read: no unknown-option warning or log line,
    # and the same answers as flask-cors without them.
    reference = Flask(__name__)
    flask_cors.CORS(reference, **OPTIONS)
    add_routes(reference)
    reference_view = Flask(__name__)
    reference_view.route("/api/x", methods=["GET", "PUT", "DELETE"])(flask_cors.cross_origin(**OPTIONS)(lambda: "api"))
    observe = {"log_interval": 1.5, "top_refused_size": 4}
    with caplog.at_level(logging.DEBUG, logger="flask_cors"):
        app, _ = extension_app(engine, name="quiet", **observe)
        view_app, _ = decorated_app(engine, name="quiet-view", **observe)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    for ours_app, theirs_app in ((app, reference), (view_app, reference_view)):
        for method, headers, _, _ in TABLE:
            ours = ours_app.test_client().open("/api/x", method=method, headers=headers)
            theirs = theirs_app.test_client().open("/api/x", method=method, headers=headers)
            if "\x1b" not in headers.get("Origin", ""):  # flask-cors reflects it; corsfast refuses it
                assert ours.headers.to_wsgi_list() == theirs.headers.to_wsgi_list(), (method, headers)
                assert ours.get_data() == theirs.get_data() and ours.status == theirs.status


@pytest.mark.parametrize("form", ["extension", "decorator"])
def test_reset_stats(engine: ModuleType, form: str) -> None:
    app, owner = (extension_app if form == "extension" else decorated_app)(engine)
    observed = owner if form == "extension" else owner.corsfast_stats
    client = app.test_client()
    client.get("/api/x", headers={"Origin": EVIL})
    client.options("/api/x", headers={"Origin": ORIGIN, ACRM: "PUT"})
    before = observed.stats()
    assert nonzero(before) == {"simple/origin_not_allowed": 1, "preflight/allowed": 1}
    observed.reset_stats()
    after = observed.stats()
    assert nonzero(after) == {} and after.top_refused == () and after.since >= before.since
    client.get("/api/x", headers={"Origin": ORIGIN})
    assert nonzero(observed.stats()) == {"simple/allowed": 1}


# -- the engines agree -----------------------------------------------------------------------------------

NAMES = st.sampled_from(["x-a", "X-A", "x-b", "authorization", "*", "", " x-a ", "x-\x01"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=st.fixed_dictionaries(
        {
            "origins": st.sampled_from(["*", [ORIGIN], [r"https://.*\.example"]]),
            "methods": st.sampled_from([["GET", "PUT"], "*", ["patch", "DELETE"], ""]),
            "allow_headers": st.sampled_from(["*", ["X-A"], [r"x-.*"], ["*", "X-A"]]),
            "supports_credentials": st.booleans(),
            "allow_private_network": st.booleans(),
            "always_send": st.booleans(),
        }
    ),
    requests=st.lists(
        st.tuples(
            st.sampled_from(["GET", "OPTIONS"]),
            st.none() | st.sampled_from([ORIGIN, EVIL, "https://a.example", "https://a.example\x00", ""]),
            st.none() | st.sampled_from(["GET", "PUT", "put", "PATCH", "ATCH", "DELETE", "*", ""]),
            st.none() | st.lists(NAMES, max_size=3).map(",".join),
            st.none() | st.sampled_from(["true", "false"]),
        ),
        max_size=8,
    ),
)
def test_engines_count_alike(options: dict[str, Any], requests: list[tuple[Any, ...]]) -> None:
    from corsfast import _engine_c, _engine_py

    resolved = corsfast.flask.core.serialize_options({**corsfast.flask.core.DEFAULT_OPTIONS, **options})
    results = []
    for engine in (_engine_c, _engine_py):
        observed = CrossOriginStats(engine, "flask:parity", (None, 60.0, 4))
        policy = engine.FlaskPolicy(resolved, 4)
        answers = [policy.counted_headers(observed.counts, observed.refused, *request) for request in requests * 2]
        results.append((answers, nonzero(observed.stats()), observed.stats().top_refused))
    assert results[0] == results[1]
