"""Port wildcards in native origins (issue 16): `http://localhost:*` and `https://*.example.com:*`.

`:*` stands for a decimal port 1-65535 (no sign, no leading zero) and never for the absence
of a port; it combines with the one-label subdomain wildcard. Every other use of `:*` is a
ValueError naming the option. Both engines are checked against an independent oracle (a
regular expression and an int comparison) on hand-picked and on random origins.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Any

import pytest
from cases import asgi_request, port_rule_allows as oracle
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
import corsfast.wsgi


def policy(engine: ModuleType, *rules: Any) -> Any:
    return corsfast.CORSMiddleware(None, allow_origins=list(rules), _engine=engine).policy


LOCALHOST = [
    ("http://localhost:1", True),
    ("http://localhost:80", True),
    ("http://localhost:3000", True),
    ("http://localhost:65535", True),
    ("http://localhost:9", True),
    ("http://localhost", False),
    ("http://localhost:", False),
    ("http://localhost:0", False),
    ("http://localhost:00", False),
    ("http://localhost:08080", False),
    ("http://localhost:65536", False),
    ("http://localhost:99999", False),
    ("http://localhost:123456", False),
    ("http://localhost:+80", False),
    ("http://localhost:-1", False),
    ("http://localhost: 80", False),
    ("http://localhost:80 ", False),
    ("http://localhost:80/", False),
    ("http://localhost:8080x", False),
    ("http://localhost:8o80", False),
    ("http://localhost:\uff18\uff10".encode().decode("latin-1"), False),  # full-width digits, as UTF-8 bytes
    ("http://localhost:80:80", False),
    ("https://localhost:3000", False),
    ("http://LOCALHOST:3000", False),
    ("http://localhost.evil.example:3000", False),
    ("http://evil.localhost:3000", False),
    ("http://xlocalhost:3000", False),
    ("http://localhost@evil.example:3000", False),
    ("http://localhost:3000\r\n", False),
]

SUBDOMAINS = [
    ("https://a.example.com:8443", True),
    ("https://app-1.example.com:1", True),
    ("https://" + "a" * 63 + ".example.com:443", True),
    ("https://" + "a" * 64 + ".example.com:443", False),
    ("https://a.example.com", False),
    ("https://example.com:8443", False),
    ("https://.example.com:8443", False),
    ("https://a.b.example.com:8443", False),
    ("https://-a.example.com:8443", False),
    ("https://a-.example.com:8443", False),
    ("https://A.example.com:8443", False),
    ("https://a_b.example.com:8443", False),
    ("https://a.example.com:0", False),
    ("https://a.example.com:65536", False),
    ("https://a.example.com.evil:8443", False),
    ("https://aexample.com:8443", False),
    ("http://a.example.com:8443", False),
]


@pytest.mark.parametrize("origin,allowed", LOCALHOST, ids=[repr(o) for o, _ in LOCALHOST])
def test_any_port_on_a_host(engine: ModuleType, origin: str, allowed: bool) -> None:
    assert policy(engine, "http://localhost:*").is_allowed_origin(origin.encode("latin-1")) is allowed


@pytest.mark.parametrize("origin,allowed", SUBDOMAINS, ids=[repr(o) for o, _ in SUBDOMAINS])
def test_any_port_on_one_label(engine: ModuleType, origin: str, allowed: bool) -> None:
    assert policy(engine, "https://*.example.com:*").is_allowed_origin(origin.encode("latin-1")) is allowed


@pytest.mark.parametrize(
    "rule,origin,allowed",
    [
        ("http://[::1]:*", "http://[::1]:5173", True),
        ("http://[::1]:*", "http://[::1]", False),
        ("http://[::1]:*", "http://[::2]:5173", False),
        ("http://127.0.0.1:*", "http://127.0.0.1:8000", True),
        ("http://127.0.0.1:*", "http://127.0.0.10:8000", False),
        ("app+dev://local.test:*", "app+dev://local.test:7", True),
    ],
)
def test_other_hosts(engine: ModuleType, rule: str, origin: str, allowed: bool) -> None:
    assert policy(engine, rule).is_allowed_origin(origin.encode()) is allowed


def test_port_wildcards_beside_other_rules(engine: ModuleType) -> None:
    checker = policy(
        engine, "http://localhost", "https://*.example.com:8443", "https://*.example.com:*", "http://localhost:*"
    )
    assert checker.is_allowed_origin(b"http://localhost") is True  # the exact rule
    assert checker.is_allowed_origin(b"http://localhost:5173") is True
    assert checker.is_allowed_origin(b"https://a.example.com:8443") is True
    assert checker.is_allowed_origin(b"https://a.example.com:9000") is True
    assert checker.is_allowed_origin(b"https://a.example.com") is False
    assert len(checker.options.port_wildcard_origins) == 2
    assert checker.options.wildcard_origins == ((b"https://", b".example.com:8443"),)


def test_answers_reflect_the_origin(engine: ModuleType) -> None:
    """A port-wildcard origin is answered like an exact one: reflected, with Vary, on ASGI and WSGI."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = corsfast.CORSMiddleware(app, allow_origins=["http://localhost:*"], _engine=engine)
    status, headers, _ = asgi_request(middleware, "GET", [(b"origin", b"http://localhost:5173")])
    assert headers == [(b"access-control-allow-origin", b"http://localhost:5173"), (b"vary", b"Origin")]
    status, headers, _ = asgi_request(
        middleware, "OPTIONS", [(b"origin", b"http://localhost:5173"), (b"access-control-request-method", b"GET")]
    )
    assert status == 200 and headers[0] == (b"access-control-allow-origin", b"http://localhost:5173")
    status, headers, _ = asgi_request(middleware, "GET", [(b"origin", b"http://localhost")])
    assert headers == [(b"vary", b"Origin")]
    wsgi_policy = corsfast.wsgi.CORSMiddleware(
        lambda e, s: [], allow_origins=["http://localhost:*"], _engine=engine
    ).policy
    assert wsgi_policy.is_allowed_origin(b"http://localhost:5173") is True


@pytest.mark.parametrize(
    "rule",
    [
        "http://localhost:*/",
        "http://localhost:*/path",
        "http://localhost:*?",
        "http://localhost:**",
        "http://localhost:*8",
        "http://localhost:*:*",
        "http://*:*",
        "http://:*",
        "http://LOCALHOST:*",
        "localhost:*",
        "http://local host:*",
        "http://user@localhost:*",
        "https://*.*.example.com:*",
        "https://*example.com:*",
        "https://a.*.com:*",
        "https://*.example.com:*/",
    ],
)
def test_bad_port_wildcards(engine: ModuleType, rule: str) -> None:
    with pytest.raises(ValueError, match=r"^allow_origins: .* is not a port-wildcard origin: ':\*' ends the origin"):
        policy(engine, "https://ok.example", rule)
    with pytest.raises(ValueError, match=r"^allow_origins: "):
        corsfast.wsgi.CORSMiddleware(lambda e, s: [], allow_origins=[rule], _engine=engine)


@pytest.mark.parametrize("rule", ["http://localhost:8*", "http://localhost:8*0", "http://localhost:*8*"])
def test_a_star_elsewhere_in_the_port(engine: ModuleType, rule: str) -> None:
    with pytest.raises(ValueError, match=r"^allow_origins: .* is not a (port-)?wildcard.* origin.*scheme://host:\*"):
        policy(engine, rule)


def test_good_port_wildcards_do_not_warn(engine: ModuleType) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        policy(engine, "http://localhost:*", "https://*.example.com:*", "http://[::1]:*", "http://127.0.0.1:*")


# -- random origins against an oracle, both engines ----------------------------------------------

HOSTS = ["localhost", "127.0.0.1", "[::1]", "example.com", "a.example.com", "b-2.example.com", "example.org"]
HOST_RULES = st.sampled_from(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*", "https://example.com:*"])
LABEL_RULES = st.sampled_from(["https://*.example.com:*", "http://*.localhost:*", "https://*.a.example.com:*"])
PORTS = st.one_of(
    st.integers(0, 70000).map(str),
    st.sampled_from(["", "0", "00", "01", "65535", "65536", "+1", "-1", " 1", "1 ", "1/", "٣", "9" * 6]),
    st.text(alphabet="0123456789:x", max_size=7),
)
LABELS = st.one_of(
    st.sampled_from(["a", "app", "b-2", "-a", "a-", "A", "a_b", "a.b", "", "x" * 63, "x" * 64]),
    st.text(alphabet="abc-1.", max_size=6),
)


@st.composite
def origins(draw: Any) -> str:
    scheme = draw(st.sampled_from(["http://", "https://"]))
    if draw(st.booleans()):
        host = draw(st.sampled_from(HOSTS))
    else:
        host = draw(LABELS) + draw(st.sampled_from([".example.com", ".localhost", ".a.example.com", ""]))
    port = draw(st.one_of(st.none(), PORTS))
    return scheme + host + ("" if port is None else ":" + port)


def verdicts(engine: ModuleType, rules: list[str], candidates: list[str]) -> list[bool]:
    checker = policy(engine, *rules)
    return [checker.is_allowed_origin(origin.encode("utf-8")) for origin in candidates]


@pytest.mark.c_extension
@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(st.one_of(HOST_RULES, LABEL_RULES), min_size=1, max_size=3, unique=True),
    candidates=st.lists(origins(), min_size=1, max_size=20),
)
def test_engines_agree_with_the_oracle(rules: list[str], candidates: list[str]) -> None:
    from corsfast import _engine_c, _engine_py

    expected = [any(oracle(rule, origin) for rule in rules) for origin in candidates]
    assert verdicts(_engine_c, rules, candidates) == expected
    assert verdicts(_engine_py, rules, candidates) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(port=st.integers(-10, 70000), zeros=st.integers(0, 2))
def test_every_port_number(engine: ModuleType, port: int, zeros: int) -> None:
    checker = _localhost_policy(engine)
    text = "0" * zeros + str(port)
    expected = 1 <= port <= 65535 and zeros == 0
    assert checker.is_allowed_origin(f"http://localhost:{text}".encode()) is expected


_POLICIES: dict[str, Any] = {}


def _localhost_policy(engine: ModuleType) -> Any:
    if engine.__name__ not in _POLICIES:
        _POLICIES[engine.__name__] = policy(engine, "http://localhost:*")
    return _POLICIES[engine.__name__]
