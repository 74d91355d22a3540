"""Configuration hardening: SECURITY.md section 5.1 (C1-C18) for every dialect.

A configuration is refused at construction (TypeError, ValueError or re.error naming the
option and the value) when it cannot work; it is accepted with a `CORSConfigWarning`, which
`strict=True` turns into a ValueError in the native middleware, when it works but is
dangerous or can never match what a browser sends. Where a refusal is a deviation from a
peer, the peer's behaviour is shown in the same test with the installed Starlette or Kui.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import warnings
from types import ModuleType
from typing import Any

import pytest
from cases import asgi_request
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

import corsfast
from corsfast import CORSConfigWarning
from corsfast._options import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    KUI_DEFAULT_METHODS,
    kui_options,
    native_options,
    starlette_options,
)
from corsfast.asgi import CORSMiddleware as NativeCORSMiddleware
from corsfast.starlette import CORSMiddleware as FastStarletteCORSMiddleware

ENGINES = [
    pytest.param("corsfast._engine_c", marks=pytest.mark.c_extension, id="c"),
    pytest.param("corsfast._engine_py", id="py"),
]


@pytest.fixture(params=ENGINES)
def engine_module(request: pytest.FixtureRequest) -> ModuleType:
    """Return each engine module (compiled, then pure) for the shims' `_engine=` keyword."""
    import importlib

    return importlib.import_module(request.param)


# -- helpers ---------------------------------------------------------------------------------


def native(**kwargs: Any) -> Any:
    """Return native options built from the middleware's defaults overridden by `kwargs`."""
    arguments: dict[str, Any] = dict(
        allow_origins=("*",),
        allow_methods=KUI_DEFAULT_METHODS,
        allow_headers=(),
        expose_headers=(),
        allow_credentials=False,
        max_age=600,
        allow_private_network=False,
        cache_size=DEFAULT_CACHE_SIZE,
        max_origin_length=DEFAULT_MAX_ORIGIN_LENGTH,
        strict=False,
    )
    arguments.update(kwargs)
    return native_options(**arguments)


def starlette(**kwargs: Any) -> Any:
    """Return Starlette-dialect options built from Starlette's defaults overridden by `kwargs`."""
    arguments: dict[str, Any] = dict(
        allow_origins=(),
        allow_methods=("GET",),
        allow_headers=(),
        allow_credentials=False,
        allow_origin_regex=None,
        allow_private_network=False,
        expose_headers=(),
        max_age=600,
    )
    arguments.update(kwargs)
    return starlette_options(**arguments)


def kui(**kwargs: Any) -> Any:
    """Return Kui-dialect options built from Kui's `allow_cors` defaults overridden by `kwargs`."""
    arguments: dict[str, Any] = dict(
        allow_origins=(re.compile(".*"),),
        allow_methods=KUI_DEFAULT_METHODS,
        allow_headers=(),
        expose_headers=(),
        allow_credentials=False,
        max_age=600,
    )
    arguments.update(kwargs)
    return kui_options(**arguments)


DIALECTS = {"native": native, "starlette": starlette, "kui": kui}


def no_warnings() -> Any:
    """Return a context in which any warning is an error (pytest's config does it too)."""
    context = warnings.catch_warnings()

    class _Strict:
        def __enter__(self) -> None:
            context.__enter__()
            warnings.simplefilter("error")

        def __exit__(self, *exc: object) -> None:
            context.__exit__(*exc)

    return _Strict()


def warned(build: Any, **kwargs: Any) -> list[str]:
    """Return the messages of the CORSConfigWarnings that `build(**kwargs)` emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(**kwargs)
    for item in caught:
        assert item.category is CORSConfigWarning, item
    return [str(item.message) for item in caught]


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"app"})


def both(peer_kwargs: dict[str, Any], engine_module: ModuleType, method: str, headers: list[Any]) -> tuple[Any, Any]:
    """Return Starlette's and the drop-in's answers to the same request."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        ours = FastStarletteCORSMiddleware(_app, **peer_kwargs, _engine=engine_module)
    theirs = StarletteCORSMiddleware(_app, **peer_kwargs)
    return asgi_request(theirs, method, headers), asgi_request(ours, method, headers)


# -- C1-C5: broken configurations are refused at construction ------------------------------


def test_c1_uncompilable_regex_is_re_error_as_in_starlette() -> None:
    with pytest.raises(re.error) as peer:
        StarletteCORSMiddleware(_app, allow_origin_regex="(")
    with pytest.raises(re.error) as ours:
        FastStarletteCORSMiddleware(_app, allow_origin_regex="(")
    assert type(ours.value) is type(peer.value)
    assert "allow_origin_regex" in str(ours.value) and "'('" in str(ours.value)


@pytest.mark.parametrize("value", [b"https://a\\.com", 42, ["https://a\\.com"]])
def test_c1_regex_of_wrong_type_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="allow_origin_regex"):
        starlette(allow_origin_regex=value)


def test_c1_bytes_pattern_is_refused_in_every_dialect() -> None:
    pattern = re.compile(b"https://a\\.com")
    with pytest.raises(TypeError, match="bytes pattern"):
        starlette(allow_origin_regex=pattern)
    with pytest.raises(TypeError, match="bytes pattern"):
        native(allow_origins=[pattern])
    with pytest.raises(TypeError, match="bytes pattern"):
        kui(allow_origins=[pattern])


@pytest.mark.parametrize("item", ["https://a.com", b"x", 1, None])
def test_c2_kui_non_pattern_item_is_type_error_naming_it(item: object) -> None:
    with pytest.raises(TypeError, match=re.escape(repr(item))) as info:
        kui(allow_origins=[re.compile("https://b\\.com"), item])
    assert "allow_origins" in str(info.value)


def test_c3_kui_generator_is_read_once(engine_module: ModuleType) -> None:
    source = ["https://a\\.com", "https://b\\.com"]
    options = kui(allow_origins=(re.compile(p) for p in source), cache_size=0)
    policy = engine_module.CORSPolicy(options)
    # Kui would iterate the exhausted generator per request: request 2 would be refused.
    for _ in range(1000):
        assert policy.is_allowed_origin(b"https://a.com")
        assert policy.is_allowed_origin(b"https://b.com")
        assert not policy.is_allowed_origin(b"https://c.com")


def test_c4_bare_str_is_type_error_where_starlette_does_substring_match() -> None:
    peer = StarletteCORSMiddleware(_app, allow_origins="https://example.com")
    # Why corsfast refuses it: Starlette's `in` on a str allows substrings and "".
    assert peer.is_allowed_origin("https://example.co")
    assert peer.is_allowed_origin("")
    with pytest.raises(TypeError, match=r"allow_origins.*bare str.*'https://example.com'"):
        FastStarletteCORSMiddleware(_app, allow_origins="https://example.com")
    for build in DIALECTS.values():
        with pytest.raises(TypeError, match="allow_origins"):
            build(allow_origins="https://example.com")
    with pytest.raises(TypeError, match="allow_methods"):
        starlette(allow_methods="GET")
    with pytest.raises(TypeError, match="allow_headers"):
        native(allow_headers="X-A")
    with pytest.raises(TypeError, match="expose_headers"):
        kui(expose_headers="X-A")


def test_c5_str_with_star_is_type_error_where_starlette_allows_all() -> None:
    peer = StarletteCORSMiddleware(_app, allow_origins="https://*.example.com")
    assert peer.allow_all_origins  # `"*" in str`
    with pytest.raises(TypeError, match="bare str"):
        FastStarletteCORSMiddleware(_app, allow_origins="https://*.example.com")
    with pytest.raises(TypeError, match="bare str"):
        NativeCORSMiddleware(_app, allow_origins="https://*.example.com")


def test_single_pattern_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="single pattern"):
        native(allow_origins=re.compile(".*"))
    with pytest.raises(TypeError, match="single pattern"):
        kui(allow_origins=re.compile(".*"))


@pytest.mark.parametrize(
    "rule",
    ["https://*", "https://*.", "*.example.com", "https://a*.example.com", "https://*.Example.com", "https://**.a.com"],
)
def test_native_malformed_wildcard_is_value_error(rule: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(rule))):
        native(allow_origins=[rule])


# -- C6-C8, C10: dangerous but valid origin rules warn ---------------------------------------


def test_c6_any_origin_with_credentials_warns_and_still_reflects_like_starlette(engine_module: ModuleType) -> None:
    for build in (native, starlette):
        (message,) = warned(build, allow_origins=["*"], allow_credentials=True)
        assert "allow_credentials=True" in message and "any web site" in message
    with pytest.raises(ValueError, match="strict=True"):
        NativeCORSMiddleware(_app, allow_origins=["*"], allow_credentials=True, strict=True)
    kwargs = {"allow_origins": ["*"], "allow_credentials": True}
    for origin in (b"null", b"https://evil.example"):
        # With a Cookie header: before Starlette 1.0 it, not allow_credentials, makes `*` reflect.
        theirs, ours = both(kwargs, engine_module, "GET", [(b"origin", origin), (b"cookie", b"a=b")])
        assert ours == theirs
        assert (b"access-control-allow-origin", origin) in ours[1]


def test_c7_kui_default_pattern_warns_only_with_credentials(engine_module: ModuleType) -> None:
    # `.*` is the "any origin" idiom, judged like "*": harmless without credentials.
    with no_warnings():
        kui()
        native(allow_origins=[re.compile(".*")])
        starlette(allow_origin_regex=".*")
    (message,) = warned(kui, allow_credentials=True)
    assert "allow_credentials=True" in message
    with pytest.raises(ValueError, match="strict=True"):
        native(allow_origins=[re.compile(".*")], allow_credentials=True, strict=True)


@pytest.mark.parametrize(
    ("pattern", "canary"),
    [
        ("h.*", "https://corsfast-canary.invalid"),  # rs/cors#197
        ("https://.*", "https://corsfast-canary.invalid"),
        ("null|https://a\\.com", "null"),
        ("https://.*example\\.com", "https://corsfast-canaryexample.com"),  # pre-domain
        ("https://example\\.com.*", "https://example.com.corsfast-canary.invalid"),  # post-domain
        ("https://(www\\.)?example\\.com(.*)", "https://example.com.corsfast-canary.invalid"),
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_c7_over_broad_pattern_warns_with_the_canary_it_matched(dialect: str, pattern: str, canary: str) -> None:
    compiled = re.compile(pattern)
    assert compiled.fullmatch(canary)
    kwargs = {"allow_origin_regex": pattern} if dialect == "starlette" else {"allow_origins": [compiled]}
    messages = warned(DIALECTS[dialect], **kwargs)
    assert any(repr(canary) in message and repr(pattern) in message for message in messages), messages
    if dialect == "native":
        with pytest.raises(ValueError, match=re.escape(repr(canary))):
            native(allow_origins=[compiled], strict=True)


@pytest.mark.parametrize(
    "pattern",
    [
        "https://a\\.com",
        "https://[a-z0-9-]+\\.example\\.com",
        "https://([a-z0-9-]+\\.)?example\\.com",
        "https://([a-z0-9-]+\\.)+example\\.com",
        "https?://(www\\.)?example\\.com(:\\d+)?",
        "http://localhost:\\d+",
        "http://127\\.0\\.0\\.1(:[0-9]{1,5})?",
        "https://([a-z0-9]+(-[a-z0-9]+)*\\.)+example\\.com",
        "https://(?:[a-z0-9]++-?)+\\.example\\.com",
        "^https://a\\.com$",
        "https://.*\\.example\\.org",  # Starlette's documented example: only subdomains a browser can send
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_tight_patterns_do_not_warn(dialect: str, pattern: str) -> None:
    kwargs = {"allow_origin_regex": pattern} if dialect == "starlette" else {"allow_origins": [re.compile(pattern)]}
    with no_warnings():
        DIALECTS[dialect](**kwargs, allow_credentials=True)


def test_c8_null_origin_warns_in_native_and_starlette() -> None:
    for build in (native, starlette):
        (message,) = warned(build, allow_origins=["null"])
        assert "'null'" in message and "sandboxed" in message
    with pytest.raises(ValueError, match=r"'null'.*strict=True"):
        NativeCORSMiddleware(_app, allow_origins=["null"], strict=True)


def test_c10_starlette_literal_star_origin_warns_and_never_matches_like_starlette(engine_module: ModuleType) -> None:
    (message,) = warned(starlette, allow_origins=["https://*.example.com"])
    assert "literally" in message and "allow_origin_regex" in message
    kwargs = {"allow_origins": ["https://*.example.com"]}
    for origin in (b"https://a.example.com", b"https://*.example.com"):
        theirs, ours = both(kwargs, engine_module, "GET", [(b"origin", origin)])
        assert ours == theirs
    # The native API reads the same string as a one-label wildcard: no warning there.
    with no_warnings():
        native(allow_origins=["https://*.example.com"])


# -- C9: exact origins that no browser sends --------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("example.com", "no scheme"),
        ("https://a.com/", "trailing slash; write 'https://a.com'"),
        ("https://A.com", "lower case: write 'https://a.com'"),
        ("HTTPS://a.com", "lower case: write 'https://a.com'"),
        ("https://a.com:443", "default port :443; write 'https://a.com'"),
        ("http://a.com:80", "default port :80; write 'http://a.com'"),
        ("https://a.com/x", "path, query or fragment ('/x')"),
        ("https://a.com?x", "path, query or fragment"),
        ("https://bücher.de", "punycode (xn--); write 'https://xn--bcher-kva.de'"),
        ("https://bücher.de:8443", "write 'https://xn--bcher-kva.de:8443'"),
        ("https://a.com:99999", "port '99999'"),
        ("https://a.com ", "whitespace or control"),
        ("", "empty"),
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette"])
def test_c9_exact_origin_no_browser_sends_warns_with_a_hint(dialect: str, origin: str, expected: str) -> None:
    (message,) = warned(DIALECTS[dialect], allow_origins=[origin])
    assert repr(origin) in message and "can never equal a browser's Origin" in message
    assert expected in message
    if dialect == "native":
        with pytest.raises(ValueError, match="strict=True"):
            native(allow_origins=[origin], strict=True)


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.com",
        "http://a.com:8080",
        "https://xn--bcher-kva.de",
        "http://[::1]:8000",
        "http://127.0.0.1:3000",
        "https://a.com:8443",
        "chrome-extension://abcdef",
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette"])
def test_c9_browser_origins_do_not_warn(dialect: str, origin: str) -> None:
    with no_warnings():
        DIALECTS[dialect](allow_origins=[origin], allow_credentials=True)


def test_c9_warned_origins_are_still_compared_byte_for_byte_like_starlette(engine_module: ModuleType) -> None:
    kwargs = {"allow_origins": ["https://A.com", "https://a.com/", "https://bücher.de"]}
    for origin in (
        b"https://A.com",
        b"https://a.com",
        b"https://a.com/",
        "https://bücher.de".encode("latin-1"),
        "https://bücher.de".encode(),
    ):
        theirs, ours = both(kwargs, engine_module, "GET", [(b"origin", origin)])
        assert ours == theirs


# -- C11-C13: header names, methods, max_age ---------------------------------------------------


BAD_TOKENS = ["X-A\r\nSet-Cookie: s=1", "X A", "X-A,", "X\x00", "", "X-Ä", "X:A", "X\t"]


@pytest.mark.parametrize("value", BAD_TOKENS)
@pytest.mark.parametrize("option", ["allow_headers", "expose_headers", "allow_methods"])
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_c11_c12_non_token_header_names_and_methods_are_value_errors(dialect: str, option: str, value: str) -> None:
    with pytest.raises(ValueError) as info:
        DIALECTS[dialect](**{option: ["X-Ok", value]})
    assert option in str(info.value) and repr(value) in str(info.value) and "HTTP token" in str(info.value)


@pytest.mark.parametrize("option", ["allow_headers", "expose_headers", "allow_methods"])
def test_c11_non_str_items_are_type_errors(option: str) -> None:
    with pytest.raises(TypeError, match=option):
        native(**{option: [b"X-A"]})


def test_c12_lower_case_standard_method_warns() -> None:
    for build in DIALECTS.values():
        (message,) = warned(build, allow_methods=["GET", "get"])
        assert "'get'" in message and "case-sensitive" in message and "'GET'" in message
    with pytest.raises(ValueError, match="strict=True"):
        native(allow_methods=["post"], strict=True)
    with no_warnings():  # a custom method in lower case is sent as written
        native(allow_methods=["GET", "purge", "*"])
        starlette(allow_methods=["*"])


def test_c12_methods_stay_case_sensitive_at_request_time(engine_module: ModuleType) -> None:
    kwargs = {"allow_origins": ["https://a.com"], "allow_methods": ["GET"]}
    headers = [(b"origin", b"https://a.com"), (b"access-control-request-method", b"get")]
    theirs, ours = both(kwargs, engine_module, "OPTIONS", headers)
    assert ours == theirs and ours[0] == 400 and ours[2] == b"Disallowed CORS method"


@pytest.mark.parametrize(
    ("value", "error"),
    [(-5, ValueError), (True, TypeError), (False, TypeError), ("600", TypeError), (1.5, TypeError), (None, TypeError)],
)
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_c13_bad_max_age_is_refused(dialect: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=rf"max_age.*{re.escape(repr(value))}"):
        DIALECTS[dialect](max_age=value)


def test_c13_starlette_would_emit_the_bad_max_age() -> None:
    # Why refusing is right: Starlette sends these values verbatim in every preflight.
    for value, text in ((-5, "-5"), (True, "True")):
        peer = StarletteCORSMiddleware(_app, allow_origins=["*"], max_age=value)  # type: ignore[arg-type]
        assert peer.preflight_headers["Access-Control-Max-Age"] == text


def test_c13_huge_max_age_warns_but_is_accepted(engine_module: ModuleType) -> None:
    for build in DIALECTS.values():
        (message,) = warned(build, max_age=10**9)
        assert "max_age=1000000000" in message and "86400" in message
    with no_warnings():
        native(max_age=86400)
    with pytest.raises(ValueError, match="strict=True"):
        native(max_age=86401, strict=True)
    theirs, ours = both(
        {"allow_origins": ["*"], "max_age": 10**9},
        engine_module,
        "OPTIONS",
        [(b"origin", b"https://a.com"), (b"access-control-request-method", b"GET")],
    )
    assert ours == theirs


@pytest.mark.parametrize("option", ["allow_credentials", "allow_private_network", "strict"])
def test_flags_must_be_bool(option: str) -> None:
    with pytest.raises(TypeError, match=rf"{option} must be True or False, got str \('yes'\)"):
        native(**{option: "yes"})


@pytest.mark.parametrize(
    ("value", "error"), [(-1, ValueError), (1.0, TypeError), ("10", TypeError), (True, TypeError), (2**64, ValueError)]
)
@pytest.mark.parametrize("option", ["cache_size", "max_origin_length"])
def test_r10_sizes_are_validated(option: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=option):
        native(**{option: value})
    with pytest.raises(error, match=option):
        NativeCORSMiddleware(_app, **{option: value})


def test_max_origin_length_has_a_floor() -> None:
    with pytest.raises(ValueError, match="max_origin_length must be >= 2048, got 100"):
        native(max_origin_length=100)


def test_expose_star_with_credentials_warns() -> None:
    (message,) = warned(starlette, expose_headers=["*"], allow_credentials=True)
    assert "expose_headers" in message and "'*'" in message
    with no_warnings():
        starlette(expose_headers=["*"])


# -- C14, C15: regex lint ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "shown"),
    [
        ("https://api.example.com", "'https://apiXexample'"),
        ("https://[a-z]+.example\\.com", "'Xexample.com'"),
        ("https://(api|www).example\\.com", "'Xexample.com'"),
        ("https://a\\.b.c\\.com", "'https://a.bXc.com'"),
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_c14_unescaped_dot_warns(dialect: str, pattern: str, shown: str) -> None:
    kwargs = {"allow_origin_regex": pattern} if dialect == "starlette" else {"allow_origins": [re.compile(pattern)]}
    messages = warned(DIALECTS[dialect], **kwargs)
    assert any("unescaped '.'" in message and shown in message for message in messages), messages


def test_c14_the_unescaped_dot_really_matches_an_attacker_host(engine_module: ModuleType) -> None:
    with pytest.warns(CORSConfigWarning, match="unescaped"):
        options = starlette(allow_origin_regex="https://api.example.com")
    policy = engine_module.CORSPolicy(options)
    assert policy.is_allowed_origin(b"https://apiXexample.com")  # what the warning is about


@pytest.mark.parametrize(
    "pattern",
    [
        "https://([a-z0-9]+-?)+\\.example\\.com",
        "https://(\\w+)+\\.example\\.com",
        "https://(a+)+\\.com",
        "https://(.*)*\\.com",
        "https://(?:[a-z]+[0-9]*)*\\.com",
        "https://((ab)*c?)+\\.com",
        "https://(?i:(a+)+)\\.com",
        "https://x(?=(a+)+)\\w+\\.com",
        "https://([a-z]+){2,}\\.com",
    ],
)
@pytest.mark.parametrize("dialect", ["native", "starlette", "kui"])
def test_c15_nested_quantifiers_warn(dialect: str, pattern: str) -> None:
    kwargs = {"allow_origin_regex": pattern} if dialect == "starlette" else {"allow_origins": [re.compile(pattern)]}
    messages = warned(DIALECTS[dialect], **kwargs)
    assert any("ReDoS" in message and repr(pattern) in message for message in messages), messages
    if dialect == "native":
        with pytest.raises(ValueError, match="ReDoS"):
            native(allow_origins=[re.compile(pattern)], strict=True)


@pytest.mark.parametrize(
    "pattern",
    [
        "https://([a-z0-9-]+\\.)+example\\.com",  # the separator '.' makes each split unique
        "https://(-[a-z0-9]+)*\\.com",
        "https://(?:[a-z0-9]++-?)+\\.example\\.com",  # possessive inner repeat
        "https://(?>[a-z0-9]+-?)+\\.example\\.com",  # atomic group
        "https://([a-z0-9]+-?)++\\.example\\.com",  # possessive outer repeat
        "https://(a?)+\\.com",
        "https://[a-z]+\\.com",
    ],
)
def test_c15_linear_patterns_do_not_warn(pattern: str) -> None:
    with no_warnings():
        native(allow_origins=[re.compile(pattern)])


@pytest.mark.parametrize("source", ["https://([a-z0-9]+-?)+\\.example\\.com", "https://(.*)*\\.com"])
def test_c15_a_nested_pattern_is_never_run_at_construction(source: str) -> None:
    # The lint reads the parsed pattern, it does not time it, and it skips the canary
    # probes for such a pattern: `(.*)*` backtracks for seconds even on a 30-char canary.
    pattern = re.compile(source)
    probes: list[str] = []

    class Spy:
        """Stand in for the pattern and record every string the lint runs it on."""

        pattern = source
        flags = re.compile(source).flags

        def fullmatch(self, text: str) -> Any:
            probes.append(text)
            return pattern.fullmatch(text)

    from corsfast import _options

    with pytest.warns(CORSConfigWarning, match="ReDoS"):
        _options._lint_pattern("allow_origins", Spy(), strict=False)  # type: ignore[arg-type]
    assert probes == []


def test_canary_probes_run_the_pattern_only_on_short_strings() -> None:
    pattern = re.compile("https://[a-z]+\\.example\\.com")
    probes: list[str] = []

    class Spy:
        """Stand in for the pattern and record every string the lint runs it on."""

        flags = pattern.flags

        def __init__(self) -> None:
            self.pattern = pattern.pattern

        def fullmatch(self, text: str) -> Any:
            probes.append(text)
            return pattern.fullmatch(text)

    from corsfast import _options

    with no_warnings():
        _options._lint_pattern("allow_origins", Spy(), strict=False)  # type: ignore[arg-type]
    assert probes and all(len(probe) < 64 for probe in probes)


# -- C17, C18 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "origins"),
    [
        (re.compile("https://A\\.com", re.I), [b"https://a.com", b"HTTPS://A.COM", b"https://b.com"]),
        (
            re.compile("(?i)https://\xe9\\.com"),
            ["https://\xc9.com".encode("latin-1"), "https://\xe9.com".encode("latin-1"), "https://é.com".encode()],
        ),
        (re.compile("https://\xb5\\.com", re.I), ["https://\xb5.com".encode("latin-1"), b"https://m.com"]),
        (re.compile("https://\\w+\\.com", re.ASCII), [b"https://abc.com", "https://\xe9.com".encode("latin-1")]),
        (re.compile("https://\\w+\\.com"), [b"https://abc.com", "https://\xe9.com".encode("latin-1")]),
        (re.compile("https://k\\.com", re.I), [b"https://K.com", "https://\u212a.com".encode()]),
    ],
)
def test_c17_pattern_flags_are_honoured_by_every_engine_and_dialect(
    engine_module: ModuleType, pattern: re.Pattern[str], origins: list[bytes]
) -> None:
    policies = [
        engine_module.CORSPolicy(native(allow_origins=[pattern])),
        engine_module.CORSPolicy(starlette(allow_origin_regex=pattern)),
        engine_module.CORSPolicy(kui(allow_origins=[pattern])),
    ]
    for origin in origins:
        expected = pattern.fullmatch(origin.decode("latin-1")) is not None
        for policy in policies:
            assert policy.is_allowed_origin(origin) is expected, (policy.options.dialect, origin)
            assert policy.is_allowed_origin(origin) is expected  # cached answer too


C18_SCRIPT = r"""
import json, re, sys, warnings
warnings.simplefilter("ignore")
from corsfast._options import native_options, starlette_options, kui_options
from corsfast import _engine_c, _engine_py
headers = ["X-B", "X-A", "Authorization", "X-Z", "Content-Type", "x-c"]
methods = ["PUT", "GET", "DELETE", "PATCH", "POST"]
options = [
    native_options(["https://a.com", "https://b.com", re.compile("https://c\\.com")],
                   methods, headers, headers, True, 600, True, 16, 2048, False),
    starlette_options(["https://a.com", "https://b.com"],
                      methods, headers, True, "https://c\\.com", True, headers, 600),
    kui_options([re.compile("https://a\\.com")], methods, headers, headers, True, 600),
]
out = []
for engine in (_engine_c, _engine_py) if sys.argv[1] == "c" else (_engine_py,):
    for option in options:
        policy = engine.CORSPolicy(option)
        entry = policy.lookup(b"https://a.com")
        out.append([repr(entry.block), repr(entry.preflight_head),
                    repr(policy.preflight_response(b"https://a.com", b"GET", b"x-a", b"true")),
                    repr(policy.response_headers(b"https://a.com", []))])
print(json.dumps(out))
"""


def test_c18_header_blocks_do_not_depend_on_the_hash_seed(engine_impl: Any) -> None:
    outputs = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", C18_SCRIPT, str(engine_impl)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        outputs.append(json.loads(result.stdout))
    assert outputs[0] == outputs[1] == outputs[2]


# -- where warnings point, what they escape, what stays quiet ---------------------------------


def test_warning_points_at_the_users_line(engine_module: ModuleType) -> None:
    with pytest.warns(CORSConfigWarning) as record:
        line = sys._getframe().f_lineno + 1
        NativeCORSMiddleware(_app, allow_origins=["null"], _engine=engine_module)
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]
    with pytest.warns(CORSConfigWarning) as record:
        line = sys._getframe().f_lineno + 1
        FastStarletteCORSMiddleware(_app, allow_origins=["*"], allow_credentials=True, _engine=engine_module)
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]
    with pytest.warns(CORSConfigWarning) as record:
        line = sys._getframe().f_lineno + 1
        kui(allow_credentials=True)
    # `kui()` is this module's helper: the warning names the helper's call into corsfast.
    assert record[0].filename == __file__


def test_h6_warnings_escape_control_characters() -> None:
    origin = "https://a.com\r\nX-Injected: 1\x1b[31m"
    (message,) = warned(native, allow_origins=[origin])
    assert "\r" not in message and "\n" not in message and "\x1b" not in message
    assert "\\r\\n" in message and "\\x1b" in message
    messages = warned(starlette, allow_origin_regex="h.*\r\n\x1b")
    assert messages and all("\r" not in m and "\x1b" not in m for m in messages)


def test_drop_ins_never_refuse_what_their_peer_handles_and_only_warn() -> None:
    # Valid-but-dangerous configurations construct (with a warning), never raise.
    with pytest.warns(CORSConfigWarning):
        FastStarletteCORSMiddleware(
            _app,
            allow_origins=["*", "null", "https://A.com/"],
            allow_credentials=True,
            allow_methods=["get"],
            max_age=10**6,
            allow_origin_regex="https://(a+)+.com",
        )
    with pytest.warns(CORSConfigWarning):
        kui(
            allow_origins=[re.compile("https://(a+)+.com"), re.compile("null")],
            allow_methods=["get"],
            max_age=10**6,
            allow_credentials=True,
        )
    with pytest.raises(TypeError):
        FastStarletteCORSMiddleware(_app, strict=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "build",
    [
        lambda: NativeCORSMiddleware(_app, allow_origins=["https://app.example.com"]),
        lambda: NativeCORSMiddleware(
            _app,
            allow_origins=["https://a.com", "https://*.b.com", re.compile("https://[a-z]+\\.c\\.com")],
            allow_credentials=True,
            strict=True,
        ),
        lambda: NativeCORSMiddleware(
            _app,
            allow_origins=["*"],
            allow_headers=["*"],
            allow_methods=["*"],
            expose_headers=["X-Total"],
            max_age=86400,
            strict=True,
        ),
        lambda: FastStarletteCORSMiddleware(_app),
        lambda: FastStarletteCORSMiddleware(_app, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]),
        lambda: FastStarletteCORSMiddleware(
            _app,
            allow_origins=["https://example.org"],
            allow_credentials=True,
            allow_origin_regex="https://.*\\.example\\.org",
        ),
        lambda: kui(),
        lambda: kui(allow_origins=[re.compile("https://a\\.com")], allow_credentials=True),
    ],
    ids=[
        "native-one-origin",
        "native-strict-mix",
        "native-star",
        "starlette-defaults",
        "starlette-star",
        "starlette-regex",
        "kui-defaults",
        "kui-creds",
    ],
)
def test_ordinary_configurations_are_quiet(build: Any) -> None:
    with no_warnings():
        build()


def test_corsfast_exports_the_warning_class() -> None:
    assert corsfast.CORSConfigWarning is CORSConfigWarning
    assert issubclass(CORSConfigWarning, UserWarning)
