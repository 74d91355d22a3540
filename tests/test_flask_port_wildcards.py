"""Glob-style port origins in corsfast.flask: `origins=["http://localhost:*"]`, against flask-cors 6.0.5.

flask-cors reads `http://localhost:*` as a regular expression (`:*` is "any number of
colons") run with `re.match`, a prefix: it allows `http://localhost:3000`, and also
`http://localhost.evil.example`, with credentials too. corsfast reads `scheme://host:*`
as its port wildcard: that scheme and host with an explicit port 1-65535, and nothing
else, and warns once where `CORS()` or `@cross_origin` is written. Checked against real
flask-cors (the ports match in both, the look-alike hosts only in flask-cors), against the
independent oracle of tests/cases.py and against the native API's port wildcard, on both
engines.
"""

from __future__ import annotations

import re
import warnings
from types import ModuleType
from typing import Any

import flask_cors
import pytest
from cases import port_rule_allows
from flask import Flask
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast.flask
import corsfast.flask.core
from corsfast import CORSConfigWarning

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"

GLOB_PORTS = ["http://localhost:*", "http://127.0.0.1:*", "https://localhost:*"]


def build(cors: ModuleType, engine: ModuleType | None, mode: str, origins: Any, **more: Any) -> Flask:
    """Return an app whose `/x` is CORS'd by `cors` with `origins` (the extension, the decorator or the config)."""
    extra = {} if engine is None else {"_engine": engine}
    app = Flask(__name__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        if mode == "config":
            app.config["CORS_ORIGINS"] = origins
            cors.CORS(app, **more, **extra)
        elif mode == "resource":
            cors.CORS(app, resources={"/x": {"origins": origins}}, **more, **extra)
        if mode == "decorator":

            @app.route("/x")
            @cors.cross_origin(origins=origins, **more, **extra)
            def decorated() -> str:
                return "x"

        else:

            @app.route("/x")
            def plain() -> str:
                return "x"

    return app


def allowed(app: Flask, origin: str) -> dict[str, str]:
    """Return the CORS headers `app` answers a GET from `origin` with (empty when refused)."""
    headers = app.test_client().get("/x", headers={"Origin": origin}).headers
    return {name: value for name, value in headers.items() if name.startswith("Access-Control-")}


@pytest.mark.parametrize("mode", ["extension", "decorator", "config", "resource"])
@pytest.mark.parametrize("rule", GLOB_PORTS)
@pytest.mark.parametrize("as_list", [True, False], ids=["list", "str"])
def test_ports_match_in_both_look_alike_hosts_only_in_flask_cors(
    engine: ModuleType, mode: str, rule: str, as_list: bool
) -> None:
    origins = [rule, "https://app.example.com"] if as_list else rule
    if mode == "extension":
        ours_app = build(corsfast.flask, engine, "resource", origins, supports_credentials=True)
        theirs_app = build(flask_cors, None, "resource", origins, supports_credentials=True)
    else:
        ours_app = build(corsfast.flask, engine, mode, origins, supports_credentials=True)
        theirs_app = build(flask_cors, None, mode, origins, supports_credentials=True)
    head = rule[: -len(":*")]
    for port in ("3000", "8080", "1", "65535", "80"):
        origin = f"{head}:{port}"
        theirs = allowed(theirs_app, origin)
        assert theirs[ACAO] == origin and theirs[ACAC] == "true"
        assert allowed(ours_app, origin) == theirs
    # What flask-cors' prefix match allows besides the ports, credentials included: only there.
    for origin in (f"{head}.evil.example", f"{head}evil.example:3000", f"{head}::3000"):
        theirs = allowed(theirs_app, origin)
        assert theirs[ACAO] == origin and theirs[ACAC] == "true"
        assert allowed(ours_app, origin) == {}
    # Without a port: flask-cors' prefix allows it, the port wildcard never stands for no port.
    assert allowed(theirs_app, head)[ACAO] == head
    assert allowed(ours_app, head) == {}
    # A port out of range or spelled oddly: flask-cors still allows the prefix; corsfast refuses.
    for origin in (f"{head}:0", f"{head}:65536", f"{head}:08080", f"{head}:80/"):
        assert allowed(theirs_app, origin)[ACAO] == origin
        assert allowed(ours_app, origin) == {}
    # The other scheme: refused by both.
    other = head.replace("http", "https", 1) if head.startswith("http:") else head.replace("https", "http", 1)
    assert allowed(theirs_app, other + ":3000") == allowed(ours_app, other + ":3000") == {}


def test_an_ipv6_literal_is_a_port_wildcard_too(engine: ModuleType) -> None:
    """In flask-cors' regular expression the brackets of `[::1]` are a set of characters: it never
    allows `http://[::1]:3000`, and allows hosts that start with `:` or `1`."""
    ours_app = build(corsfast.flask, engine, "decorator", ["http://[::1]:*"])
    theirs_app = build(flask_cors, None, "decorator", ["http://[::1]:*"])
    assert allowed(theirs_app, "http://[::1]:3000") == {}
    assert allowed(ours_app, "http://[::1]:3000")[ACAO] == "http://[::1]:3000"
    assert allowed(theirs_app, "http://1.evil.example")[ACAO] == "http://1.evil.example"
    assert allowed(ours_app, "http://1.evil.example") == {}


@pytest.mark.parametrize("rule", [*GLOB_PORTS, "http://[::1]:*", "HTTP://LocalHost:*"])
def test_one_warning_says_what_flask_cors_made_of_it(engine: ModuleType, rule: str) -> None:
    for mode in ("extension", "decorator"):
        app = Flask(__name__)
        with pytest.warns(CORSConfigWarning) as caught:
            if mode == "extension":
                corsfast.flask.CORS(app, resources={"/a/*": {}, "/b/*": {}}, origins=[rule], _engine=engine)
            else:
                corsfast.flask.cross_origin(origins=rule, _engine=engine)
        messages = [str(w.message) for w in caught if issubclass(w.category, CORSConfigWarning)]
        assert len(messages) == 1, messages
        assert "port wildcard" in messages[0] and "flask-cors" in messages[0], messages[0]
        # The example of what flask-cors allows is allowed by the real flask-cors.
        example = re.search(r"such as '([^']+)'", messages[0])
        assert example is not None, messages[0]
        assert allowed(build(flask_cors, None, "decorator", rule), example[1])[ACAO] == example[1]
        assert allowed(build(corsfast.flask, engine, "decorator", rule), example[1]) == {}


def test_other_forms_stay_regular_expressions(engine: ModuleType) -> None:
    """Only `scheme://host:*` is a port wildcard; `*.domain:*`, a path or no scheme stay flask-cors'
    regular expressions (full-matched, as every corsfast origin pattern)."""
    for rule in ("https://*.example.com:*", "localhost:*", "http://localhost:*/", "http://local host:*"):
        assert corsfast.flask.core.port_wildcard_pattern(rule) is None, rule
        resolved = corsfast.flask.core.serialize_options({"origins": rule})
        assert resolved.port_wildcards == ()
        assert [getattr(p, "pattern", p) for p in resolved.origins] == [rule]


ORIGINS = st.one_of(
    st.builds(
        lambda scheme, host, port: f"{scheme}://{host}{port}",
        st.sampled_from(["http", "https", "HTTP", "ws"]),
        st.sampled_from(["localhost", "LOCALHOST", "127.0.0.1", "localhost.evil", "[::1]", "127.0.0.10", "evil"]),
        st.one_of(
            st.just(""),
            st.integers(0, 70000).map(lambda p: f":{p}"),
            st.sampled_from([":", ":08080", ":+80", ": 80", ":80x", ":80:80", ":3000\r\n"]),
        ),
    ),
    st.text(max_size=24),
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rule=st.sampled_from([*GLOB_PORTS, "http://[::1]:*"]), origin=ORIGINS)
def test_same_origins_as_the_native_port_wildcard(engine: ModuleType, rule: str, origin: str) -> None:
    """The origins allowed are the oracle's (compared case-insensitively, as flask-cors compares
    origins), and, for a lower-case Origin, the native API's `:*`."""
    options = corsfast.flask.core.serialize_options({**corsfast.flask.core.DEFAULT_OPTIONS, "origins": [rule]})
    ours = engine.FlaskPolicy(options, 0).is_allowed_origin(origin)
    assert ours == (origin.isascii() and port_rule_allows(rule, origin.lower()))
    if origin == origin.lower() and origin.isascii():
        native = corsfast.CORSMiddleware(None, allow_origins=[rule], _engine=engine).policy
        assert ours == native.is_allowed_origin(origin.encode("ascii"))
