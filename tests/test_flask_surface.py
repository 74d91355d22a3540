"""corsfast.flask's modules and helpers against flask-cors': every name, the same answers.

Every public name of the installed flask-cors (6.0.5) and of its submodules is in the
matching `corsfast.flask` module, and so are those of flask-cors 5.0.1 and 4.0.2 (their
sdists fetched at test time, their packages imported under other names), which code
written before 6.0 imports (`serialize_option`, `try_match`, `try_match_any`,
`flask_cors.version`). Each helper is compared with the real one on the same inputs,
random ones where they vary; the request-time helpers on both engines, with the
documented security differences (origin patterns full-matched, control characters never
matched) applied to the reference's options or pinned separately.
"""

from __future__ import annotations

import ast
import importlib
import logging
import re
import sys
import tarfile
from datetime import timedelta
from importlib.metadata import version as installed_version
from pathlib import Path
from types import ModuleType
from typing import Any

import flask_cors
import flask_cors.core
import flask_cors.decorator
import flask_cors.extension
import peer_suite
import pytest
from flask import Flask, Response
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from werkzeug.datastructures import Headers, MultiDict

import corsfast.flask
import corsfast.flask.core
import corsfast.flask.decorator
import corsfast.flask.extension
import corsfast.flask.version

SUBMODULES = ("", ".core", ".extension", ".decorator")
LEGACY_RELEASES = ("5.0.1", "4.0.2")
quiet = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")


def public_names(module: ModuleType) -> set[str]:
    return {name for name in dir(module) if not name.startswith("_")}


@pytest.fixture(scope="session")
def legacy_flask_cors(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return {release: package name} for flask-cors 5.0.1 and 4.0.2, importable as `flask_cors_5_0_1`, ..."""
    root = tmp_path_factory.mktemp("legacy-flask-cors")
    packages = {}
    for release in LEGACY_RELEASES:
        package = "flask_cors_" + release.replace(".", "_")
        prefix = f"flask_cors-{release}/flask_cors/"
        with tarfile.open(peer_suite.sdist(request, tmp_path_factory, "flask-cors", release)) as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.startswith(prefix) and member.name.endswith(".py"):
                    target = root / package / member.name[len(prefix) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
        packages[release] = package
    sys.path.insert(0, str(root))
    return packages


def legacy(packages: dict[str, str], release: str, submodule: str = "") -> ModuleType:
    return importlib.import_module(packages[release] + submodule)


# -- every name ----------------------------------------------------------------------------------


@pytest.mark.parametrize("submodule", SUBMODULES)
def test_every_public_name_of_flask_cors_is_in_corsfast_flask(submodule: str) -> None:
    theirs = importlib.import_module("flask_cors" + submodule)
    ours = importlib.import_module("corsfast.flask" + submodule)
    assert public_names(theirs) <= public_names(ours), sorted(public_names(theirs) - public_names(ours))
    # Constants are flask-cors' values; names from the same library are the same objects.
    for name in public_names(theirs):
        value = getattr(theirs, name)
        if isinstance(value, (str, int, list, dict, tuple, logging.Logger)):
            assert getattr(ours, name) == value, name
        elif isinstance(value, ModuleType) and not value.__name__.startswith("flask_cors"):
            assert getattr(ours, name) is value, name
    assert getattr(ours, "__all__", None) == getattr(theirs, "__all__", None) or submodule == ""
    star_theirs: dict[str, Any] = {}
    star_ours: dict[str, Any] = {}
    exec(f"from flask_cors{submodule} import *", star_theirs)
    exec(f"from corsfast.flask{submodule} import *", star_ours)
    assert set(star_theirs) <= set(star_ours)


def test_package_all_and_version_are_flask_cors() -> None:
    assert corsfast.flask.__all__ == flask_cors.__all__
    # The version whose behaviour corsfast.flask reproduces; the tests prove it against that release.
    assert corsfast.flask.__version__ == "6.0.5" == flask_cors.__version__ == installed_version("flask-cors")
    from corsfast.flask.version import __version__

    assert __version__ == corsfast.flask.__version__
    # flask-cors 6.0.5's `flask_cors.version` is importlib.metadata.version: callable the same way.
    assert corsfast.flask.version("flask-cors") == flask_cors.version("flask-cors")  # type: ignore[operator]
    assert corsfast.flask.version("flask") == flask_cors.version("flask")  # type: ignore[operator]


@pytest.mark.parametrize("release", LEGACY_RELEASES)
@pytest.mark.parametrize("submodule", [*SUBMODULES, ".version"])
def test_names_of_flask_cors_before_6_are_in_corsfast_flask(
    legacy_flask_cors: dict[str, str], release: str, submodule: str
) -> None:
    theirs = legacy(legacy_flask_cors, release, submodule)
    ours = importlib.import_module("corsfast.flask" + submodule)
    assert public_names(theirs) <= public_names(ours), sorted(public_names(theirs) - public_names(ours))
    # Constants unchanged since (DEFAULT_OPTIONS changed: 4.x allows private networks by default).
    for name in public_names(theirs):
        if name.startswith("ACL_") or name in ("ALL_METHODS", "CONFIG_OPTIONS", "FLASK_CORS_EVALUATED"):
            assert getattr(ours, name) == getattr(theirs, name), name


def module_names(source: str, star: set[str]) -> set[str]:
    """Return the public names a module's source binds at its top level (`import *` binds `star`)."""
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.update(star if alias.name == "*" else {(alias.asname or alias.name).split(".")[0]})
    return {name for name in names if not name.startswith("_")}


def test_names_of_flask_cors_3_are_in_corsfast_flask(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """flask-cors 3.0.10 imports `six`, so its modules' names are read from their source; its
    extension and decorator took every name of its core with `from .core import *`."""
    with tarfile.open(peer_suite.sdist(request, tmp_path_factory, "flask-cors", "3.0.10")) as archive:
        sources = {
            Path(member.name).stem: archive.extractfile(member).read().decode()  # type: ignore[union-attr]
            for member in archive.getmembers()
            if member.isfile() and re.fullmatch(r"Flask-Cors-3\.0\.10/flask_cors/\w+\.py", member.name)
        }
    core_names = module_names(sources["core"], set())
    for stem, submodule in (
        ("__init__", ""),
        ("core", ".core"),
        ("extension", ".extension"),
        ("decorator", ".decorator"),
    ):
        ours = importlib.import_module("corsfast.flask" + submodule)
        missing = {n for n in module_names(sources[stem], core_names) if not hasattr(ours, n)} - {"six"}
        assert not missing, (stem, sorted(missing))
    assert corsfast.flask.extension.try_match is corsfast.flask.core.try_match


# -- the helpers, on the same inputs ------------------------------------------------------------

PATTERN_TEXTS = st.sampled_from(
    ["*", ".*", "/api/*", "/a", "/a/b", r"https?://a\.example\.com", "HTTPS://A.example.com", "x-a", "X-*", "", "a(b"]
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 700),
    st.text(max_size=8),
    PATTERN_TEXTS,
    st.lists(st.one_of(PATTERN_TEXTS, st.text(max_size=4)), max_size=3),
    st.sets(st.sampled_from(["GET", "post", "X-B", "X-A"]), max_size=3),
    st.just(timedelta(seconds=90)),
)


def same_outcome(ours: Any, theirs: Any, *args: Any, **kwargs: Any) -> Any:
    """Return the value both functions give, asserting they give the same value or raise the same type."""
    results = []
    for function in (ours, theirs):
        try:
            value = function(*args, **kwargs)
            # Match objects compare by identity: compare what they matched.
            results.append(("match", value.span(), value.re) if isinstance(value, re.Match) else ("value", value))
        except Exception as exc:
            results.append(("raises", type(exc)))
    assert results[0] == results[1], (args, kwargs, results)
    return results[0][-1]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES)
def test_value_helpers_are_flask_cors(value: Any) -> None:
    ours, theirs = corsfast.flask.core, flask_cors.core
    for name in ("re_fix", "get_regexp_pattern", "flexible_str", "sanitize_regex_param", "probably_regex"):
        same_outcome(getattr(ours, name), getattr(theirs, name), value)
    assert list(ours.ensure_iterable(value)) == list(theirs.ensure_iterable(value))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=st.one_of(st.text(max_size=12), st.sampled_from(["/api/x", "/API/x", "https://a.example.com", "X-A"])),
    pattern=st.one_of(
        st.text(max_size=6),
        st.sampled_from(["/api/x", "/api/.*", "https://A.example.com", "x-a", "5", re.compile("/api/.*")]),
        st.integers(0, 9),
    ),
    case_sensitive=st.booleans(),
)
def test_pattern_matching_is_flask_cors(value: str, pattern: Any, case_sensitive: bool) -> None:
    ours, theirs = corsfast.flask.core, flask_cors.core
    resolved = same_outcome(ours._resolve_pattern, theirs._resolve_pattern, pattern, ignore_case=not case_sensitive)
    if isinstance(resolved, type):
        return  # both refuse the pattern (an invalid regular expression)
    same_outcome(ours.try_match_pattern, theirs.try_match_pattern, value, resolved, case_sensitive)
    same_outcome(ours.try_match_any_pattern, theirs.try_match_any_pattern, value, [resolved, "/x"], case_sensitive)


CONFIG_KEYS = st.sampled_from(["CORS_ORIGINS", "CORS_MAX_AGE", "CORS_SUPPORTS_CREDENTIALS", "CORS_SEND_WILDCARD"])
OPTION_KEYS = st.sampled_from(
    ["origins", "methods", "expose_headers", "allow_headers", "max_age", "supports_credentials", "vary_header"]
)


def comparable(options: Any) -> dict[str, Any]:
    """Return resolved options as a dict of plain values (patterns as their source and flags)."""
    fields = {}
    for name in flask_cors.core._ComputedCorsOptions.__dataclass_fields__:
        value = getattr(options, name)
        if isinstance(value, list):
            value = [(p.pattern, p.flags) if isinstance(p, re.Pattern) else p for p in value]
        fields[name] = value
    return fields


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=st.dictionaries(CONFIG_KEYS, VALUES, max_size=3),
    first=st.dictionaries(OPTION_KEYS, VALUES, max_size=3),
    second=st.dictionaries(OPTION_KEYS, VALUES, max_size=2),
)
def test_option_helpers_are_flask_cors(config: dict[str, Any], first: dict[str, Any], second: dict[str, Any]) -> None:
    ours, theirs = corsfast.flask.core, flask_cors.core
    app = Flask(__name__)
    app.config.update(config)
    assert ours.get_app_kwarg_dict(app) == theirs.get_app_kwarg_dict(app)
    with app.app_context():
        assert ours.get_app_kwarg_dict() == theirs.get_app_kwarg_dict()
    merged = ours.merge_options(app, first, second)
    assert merged == theirs.merge_options(app, first, second)
    rules = ours.sanitize_regex_param(merged["origins"])
    assume(not any(ours.port_wildcard_pattern(rule) for rule in rules))  # tests/test_flask_port_wildcards.py
    results = []
    for module in (ours, theirs):
        try:
            results.append(comparable(module.get_cors_options(app, first, second)))
        except Exception as exc:
            results.append(type(exc))
    if results[0] is ValueError and results[1] is not ValueError:
        # corsfast's one refusal flask-cors does not make: a control character (but tab) in a header value.
        texts = [ours.flexible_str(merged[key]) or "" for key in ("methods", "expose_headers", "max_age")]
        texts += [rule for rule in rules if isinstance(rule, str)]
        assert any(re.search("[\x00-\x08\x0a-\x1f\x7f]", text) for text in texts), merged
        return
    assert results[0] == results[1]


# -- the request-time helpers --------------------------------------------------------------------

ORIGIN_RULES = st.sampled_from(
    ["*", "https://app.example.com", "HTTP://Foo.com", r"https://.*\.example\.org", re.compile(r"https://x\.example")]
)
REQUEST_ORIGINS = st.sampled_from(
    [None, "", "https://app.example.com", "http://foo.com", "https://a.example.org", "https://x.example", "null"]
)
REQUEST_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Origin": REQUEST_ORIGINS,
        "Access-Control-Request-Method": st.sampled_from(["GET", "put", "", "PATCH", "X"]),
        "Access-Control-Request-Headers": st.sampled_from(["", "X-A", "x-a, Content-Type", "X-B,,x-c"]),
        "Access-Control-Request-Private-Network": st.sampled_from(["true", "false", "TRUE"]),
    },
)
REQUEST_OPTIONS = st.fixed_dictionaries(
    {},
    optional={
        "origins": st.one_of(ORIGIN_RULES, st.lists(ORIGIN_RULES, max_size=3)),
        "methods": st.sampled_from([["GET", "PUT"], "GET", None, []]),
        "allow_headers": st.sampled_from(["*", ["X-A", "content-type"], r"X-.*"]),
        "expose_headers": st.sampled_from([None, ["X-E", "X-D"], "X-E"]),
        "supports_credentials": st.booleans(),
        "send_wildcard": st.booleans(),
        "vary_header": st.booleans(),
        "always_send": st.booleans(),
        "allow_private_network": st.booleans(),
        "max_age": st.sampled_from([None, 600, "60", timedelta(minutes=2), 0]),
    },
)


def anchored(options: dict[str, Any]) -> dict[str, Any]:
    """Return options for flask-cors whose origin patterns match as corsfast's do: in full."""
    result = dict(options)
    rules = result.get("origins")
    rules_list = rules if isinstance(rules, list) else [rules] if "origins" in result else []
    fixed = []
    for rule in rules_list:
        if isinstance(rule, re.Pattern):
            rule = re.compile(rf"(?:{rule.pattern})\Z", rule.flags)
        elif rule != "*" and flask_cors.core.probably_regex(rule):
            rule = rf"(?:{rule})\Z"
        fixed.append(rule)
    if "origins" in result:
        result["origins"] = fixed if isinstance(rules, list) else fixed[0]
    return result


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(options=REQUEST_OPTIONS, headers=REQUEST_HEADERS, method=st.sampled_from(["GET", "OPTIONS", "POST"]))
def test_request_helpers_are_flask_cors(
    engine: ModuleType, options: dict[str, Any], headers: dict[str, str], method: str
) -> None:
    try:
        theirs_options = flask_cors.core.serialize_options({**flask_cors.core.DEFAULT_OPTIONS, **anchored(options)})
    except ValueError:
        return  # `*` with credentials and send_wildcard: refused by both (test_option_helpers_are_flask_cors)
    ours_options = corsfast.flask.core.serialize_options({**corsfast.flask.core.DEFAULT_OPTIONS, **options})
    origin = headers.get("Origin")
    assert corsfast.flask.core.get_cors_origins(ours_options, origin, _engine=engine) == (
        flask_cors.core.get_cors_origins(theirs_options, origin)
    )
    for request_headers in (Headers(headers), headers):
        ours = corsfast.flask.core.get_cors_headers(ours_options, request_headers, method, _engine=engine)
        theirs = flask_cors.core.get_cors_headers(theirs_options, request_headers, method)
        assert isinstance(ours, MultiDict)
        assert list(ours.items(multi=True)) == list(theirs.items(multi=True))
    app = Flask(__name__)
    for response_headers in ({"X-Own": "1"}, None):
        answers = []
        for module, resolved in ((corsfast.flask.core, ours_options), (flask_cors.core, theirs_options)):
            response = Response("x", headers=response_headers)
            extra = {"_engine": engine} if module is corsfast.flask.core else {}
            with app.test_request_context("/", method=method, headers=headers):
                returned = module.set_cors_headers(response, resolved, **extra)
            assert returned is response
            answers.append(list(response.headers.items()))
        assert answers[0] == answers[1]


def test_request_helpers_keep_the_security_differences(engine: ModuleType) -> None:
    """What `CORS` does differently, the helpers do too: a prefix is not enough, CR LF never matches."""
    for options, origin in (
        ({"origins": r"https://.*\.example\.com"}, "https://a.example.com.evil.net"),
        ({"origins": "*"}, "https://a.example.com\r\nSet-Cookie: x=1"),
        ({"origins": [r"https://a\.example\.com.?"]}, "https://a.example.com\x00"),
    ):
        theirs = flask_cors.core.get_cors_origins(flask_cors.core.get_cors_options(Flask(__name__), options), origin)
        assert theirs == [origin]
        ours_options = corsfast.flask.core.get_cors_options(Flask(__name__), options)
        assert corsfast.flask.core.get_cors_origins(ours_options, origin, _engine=engine) is None
        assert not corsfast.flask.core.get_cors_headers(ours_options, {"Origin": origin}, "GET", _engine=engine)


def test_set_cors_headers_skips_a_decorated_response_and_replaces_odd_headers(engine: ModuleType) -> None:
    app = Flask(__name__)
    options = corsfast.flask.core.get_cors_options(app, {"origins": "https://a.example.com"})
    with app.test_request_context("/", headers={"Origin": "https://a.example.com"}):
        response = Response("x")
        setattr(response, corsfast.flask.core.FLASK_CORS_EVALUATED, True)
        assert not corsfast.flask.core.set_cors_headers(response, options, _engine=engine).headers.get(
            "Access-Control-Allow-Origin"
        )
        odd = Response("x")
        odd.headers = {"X-Own": "1"}  # type: ignore[assignment]
        corsfast.flask.core.set_cors_headers(odd, options, _engine=engine)
        assert isinstance(odd.headers, MultiDict)
        assert list(odd.headers.items(multi=True)) == [
            ("X-Own", "1"),
            ("Access-Control-Allow-Origin", "https://a.example.com"),
        ]


def test_make_after_request_function_is_flask_cors(engine: ModuleType) -> None:
    answers = []
    for core, extension in ((flask_cors.core, flask_cors.extension), (corsfast.flask.core, corsfast.flask.extension)):
        app = Flask(__name__)
        resources = [(p, core.get_cors_options(app, o)) for p, o in core.parse_resources({r"/api/.*": {}})]
        extra = {"_engine": engine} if core is corsfast.flask.core else {}
        hook = extension.make_after_request_function(resources, **extra)
        seen = []
        for path in ("/api/x", "/other"):
            with app.test_request_context(path, headers={"Origin": "https://a.example.com"}):
                seen.append(list(hook(Response("x")).headers.items()))
        answers.append(seen)
    assert answers[0] == answers[1]
    assert ("Access-Control-Allow-Origin", "https://a.example.com") in answers[0][0]


# -- flask-cors 5.x's helpers ---------------------------------------------------------------------

LEGACY_PATTERNS = st.one_of(
    st.sampled_from(["*", ".*", "https://A.example.com", r"https?://a\.example\.com", "/api/.*", "x-a", "a(", None]),
    st.sampled_from([re.compile("/api/.*"), re.compile("X-A"), 5]),
    st.text(max_size=6),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    value=st.one_of(st.text(max_size=10), st.sampled_from(["https://a.example.com", "/API/x", "X-A", "/api/x"])),
    pattern=LEGACY_PATTERNS,
    release=st.sampled_from(LEGACY_RELEASES),
)
def test_try_match_is_flask_cors_before_6(
    legacy_flask_cors: dict[str, str], value: str, pattern: Any, release: str
) -> None:
    theirs = legacy(legacy_flask_cors, release, ".core")
    ours = corsfast.flask.core
    same_outcome(ours.try_match, theirs.try_match, value, pattern)
    same_outcome(ours.try_match_any, theirs.try_match_any, value, [pattern, "/x"])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    options=st.dictionaries(st.sampled_from(["methods", "expose_headers", "origins"]), VALUES, max_size=3),
    key=st.sampled_from(["methods", "expose_headers", "origins", "absent"]),
    upper=st.booleans(),
    release=st.sampled_from(LEGACY_RELEASES),
)
def test_serialize_option_is_flask_cors_before_6(
    legacy_flask_cors: dict[str, str], options: dict[str, Any], key: str, upper: bool, release: str
) -> None:
    theirs = legacy(legacy_flask_cors, release, ".core")
    ours_dict, theirs_dict = dict(options), dict(options)
    same_outcome(
        lambda: corsfast.flask.core.serialize_option(ours_dict, key, upper),
        lambda: theirs.serialize_option(theirs_dict, key, upper),
    )
    assert ours_dict == theirs_dict


# -- the loggers -----------------------------------------------------------------------------------


def test_loggers_are_flask_cors() -> None:
    for submodule in (".core", ".extension", ".decorator"):
        ours = importlib.import_module("corsfast.flask" + submodule).LOG
        assert ours is importlib.import_module("flask_cors" + submodule).LOG
    assert corsfast.flask.rootlogger is flask_cors.rootlogger
    assert any(isinstance(h, logging.NullHandler) for h in corsfast.flask.rootlogger.handlers)


@quiet
def test_configuration_logs_what_flask_cors_logs_and_requests_log_nothing(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    """flask-cors warns about unknown options on `flask_cors.core` while it resolves them, as corsfast
    does; per request it logs at DEBUG level, corsfast never (a documented difference)."""
    records = []
    for cors, extra in ((flask_cors, {}), (corsfast.flask, {"_engine": engine})):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="flask_cors"):
            app = Flask(__name__)
            cors.CORS(app, origin="https://a.example.com", resources={"/api/*": {"maxage": 1}}, **extra)
        records.append([(r.name, r.levelname, r.getMessage()) for r in caplog.records])
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="flask_cors"):
            app.test_client().get("/api/x", headers={"Origin": "https://a.example.com"})
        per_request = [r for r in caplog.records if r.name.startswith("flask_cors")]
        assert bool(per_request) == (cors is flask_cors)
    assert records[0] == records[1]
    assert ("flask_cors.core", "WARNING", "Unknown option passed to Flask-CORS: origin") in records[0]


# -- what flask-cors changed before 6.0 (docs/frameworks/flask.md, "Coming from flask-cors before 6.0") --


def answer(package: Any, engine: ModuleType | None, path: str, headers: dict[str, str], **options: Any) -> Any:
    """Return the CORS headers an app CORS'd by `package` (any flask-cors release, or corsfast.flask) answers."""
    app = Flask(__name__)
    extra = {"_engine": engine} if package is corsfast.flask else {}
    package.CORS(app, **options, **extra)

    @app.route("/<path:rest>", methods=["GET", "OPTIONS"])
    def anything(rest: str) -> str:
        return rest

    response = app.test_client().get(path, headers=headers)
    return {k: v for k, v in response.headers.items() if k.startswith("Access-Control-")}


@quiet
def test_coming_from_flask_cors_before_6(legacy_flask_cors: dict[str, str], engine: ModuleType) -> None:
    """Each row of the page's table: the old release's answer, then flask-cors 6.0.5's, which corsfast gives."""
    v4 = legacy(legacy_flask_cors, "4.0.2")
    v5 = legacy(legacy_flask_cors, "5.0.1")
    origin = {"Origin": "https://a.example.com"}

    def now(path: str, headers: dict[str, str], **options: Any) -> Any:
        theirs = answer(flask_cors, None, path, headers, **options)
        assert answer(corsfast.flask, engine, path, headers, **options) == theirs
        return theirs

    pna = {**origin, "Access-Control-Request-Private-Network": "true"}
    assert answer(v4, None, "/x", pna)["Access-Control-Allow-Private-Network"] == "true"
    assert now("/x", pna)["Access-Control-Allow-Private-Network"] == "false"
    assert now("/x", pna, allow_private_network=True)["Access-Control-Allow-Private-Network"] == "true"

    case = {"resources": {r"/api/*": {"origins": "https://a.example.com"}}, "origins": "https://b.example.com"}
    assert answer(v5, None, "/API/x", origin, **case)
    assert now("/API/x", origin, **case) == {}

    order = {"resources": {r"/api/v1/.*": {"expose_headers": "X-A"}, r"/.*\.(png|jpg|gif)": {"expose_headers": "X-B"}}}
    assert answer(v5, None, "/api/v1/logo.png", origin, **order)["Access-Control-Expose-Headers"] == "X-B"
    assert now("/api/v1/logo.png", origin, **order)["Access-Control-Expose-Headers"] == "X-A"

    plus = {"resources": {"/a b": {"origins": "https://a.example.com"}}}
    assert answer(v5, None, "/a+b", origin, **plus)
    assert now("/a+b", origin, **plus) == {}

    with pytest.raises(ValueError, match="Invalid regular expression"):
        corsfast.flask.CORS(Flask(__name__), origins="https://(a.example.com", _engine=engine)
    with pytest.raises(re.error):
        answer(v5, None, "/x", origin, origins="https://(a.example.com")

    assert corsfast.flask.core.DEFAULT_OPTIONS == flask_cors.core.DEFAULT_OPTIONS != v4.core.DEFAULT_OPTIONS
