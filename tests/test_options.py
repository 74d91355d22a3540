"""Construction-time validation of the native middleware's options, and its config warnings.

Every bad option fails in the constructor with a `TypeError`/`ValueError` that names the
option; valid but dangerous options warn with `CORSConfigWarning` pointing at the caller's
line, and `strict=True` turns those warnings into `ValueError`.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest

import corsfast
from corsfast import CORSConfigWarning


def build(**options: Any) -> Any:
    return corsfast.CORSMiddleware(None, **options)


# -- types and syntax ------------------------------------------------------------------------


@pytest.mark.parametrize("option", ["allow_origins", "allow_methods", "allow_headers", "expose_headers"])
@pytest.mark.parametrize("value", ["GET", b"GET", "https://example.com"])
def test_bare_string_for_a_collection(option: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"^{option} must be a collection"):
        build(**{option: value})


def test_single_pattern_for_allow_origins() -> None:
    with pytest.raises(TypeError, match=r"^allow_origins must be a collection"):
        build(allow_origins=re.compile(r"https://example\.com"))


@pytest.mark.parametrize("option", ["allow_origins", "allow_methods", "allow_headers", "expose_headers"])
@pytest.mark.parametrize("value", [5, None, object()])
def test_not_iterable(option: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"^{option} must be an iterable"):
        build(**{option: value})


def test_generators_are_read_once() -> None:
    middleware = build(
        allow_origins=(o for o in ["https://example.com"]),
        allow_methods=(m for m in ["GET"]),
        allow_headers=(h for h in ["X-A"]),
        expose_headers=(h for h in ["X-E"]),
    )
    options = middleware.policy.options
    assert options.exact_origins == frozenset([b"https://example.com"])
    assert (options.allow_methods, options.allow_headers, options.expose_headers) == (("GET",), ("X-A",), ("X-E",))
    for _ in range(2):
        assert middleware.policy.is_allowed_origin(b"https://example.com")


BAD_TOKENS = [
    "X-A\r\nSet-Cookie: s=1",
    "X-A\n",
    "X-A\r",
    "X A",
    "X-A,",
    "X-A, X-B",
    "",
    " ",
    "X\x00",
    "X-Caf\xe9",
    "X:A",
    "X/A",
    "(X)",
    '"X"',
]


@pytest.mark.parametrize("option", ["allow_methods", "allow_headers", "expose_headers"])
@pytest.mark.parametrize("value", BAD_TOKENS, ids=repr)
def test_non_token_names(option: str, value: str) -> None:
    with pytest.raises(ValueError, match=f"^{option} item .* is not an HTTP token"):
        build(**{option: ["GET" if option == "allow_methods" else "X-Ok", value]})


@pytest.mark.parametrize("option", ["allow_methods", "allow_headers", "expose_headers"])
@pytest.mark.parametrize("value", [b"GET", None, 1, re.compile("GET")], ids=repr)
def test_non_str_names(option: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"^{option} items must be str"):
        build(**{option: [value]})


def test_token_names_accepted() -> None:
    build(
        allow_origins=["*"],
        allow_methods=["GET", "M-SEARCH", "X_Custom!"],
        allow_headers=["X-A", "x_b", "*"],
        expose_headers=["X~E"],
    )


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, ValueError),
        (-600, ValueError),
        (True, TypeError),
        (False, TypeError),
        ("600", TypeError),
        (600.0, TypeError),
        (1.5, TypeError),
        (None, TypeError),
    ],
    ids=repr,
)
def test_max_age(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^max_age must be"):
        build(max_age=value)


def test_max_age_zero() -> None:
    assert build(allow_origins=["*"], max_age=0).policy.options.max_age == 0


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (True, TypeError), ("8", TypeError), (8.0, TypeError), (None, TypeError)],
    ids=repr,
)
def test_cache_size(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^cache_size must be"):
        build(cache_size=value)


@pytest.mark.parametrize(
    ("value", "error"),
    [(2047, ValueError), (0, ValueError), (-1, ValueError), ("4096", TypeError), (True, TypeError)],
    ids=repr,
)
def test_max_origin_length(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"^max_origin_length must be"):
        build(max_origin_length=value)


@pytest.mark.parametrize("option", ["allow_credentials", "allow_private_network", "strict"])
@pytest.mark.parametrize("value", [1, 0, "true", None], ids=repr)
def test_booleans(option: str, value: Any) -> None:
    with pytest.raises(TypeError, match=f"^{option} must be True or False"):
        build(**{option: value})


# -- origin rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "https://*example.com",
        "https://a.*.com",
        "*.example.com",
        "https://*.*.example.com",
        "https://**.example.com",
        "https://*.example.com/",
        "https://*.example.com/path",
        "https://*",
        "https://*.",
        "*://example.com",
        "https://x*.example.com",
        "https://*-x.example.com",
        "https://*.example.*",
        "https://*.Example.com",
        "https://*.example.com:port",
        "**",
    ],
)
def test_bad_wildcard_forms(rule: str) -> None:
    with pytest.raises(ValueError, match=r"^allow_origins: .* is not a wildcard-subdomain origin"):
        build(allow_origins=["https://ok.example", rule])


@pytest.mark.parametrize("rule", ["https://*.example.com", "http://*.localhost:8000", "https://*.xn--bcher-kva.de"])
def test_good_wildcard_forms(rule: str) -> None:
    options = build(allow_origins=[rule]).policy.options
    assert len(options.wildcard_origins) == 1


@pytest.mark.parametrize("rule", [b"https://example.com", 5, None, ("https://a.com",), ["https://a.com"]], ids=repr)
def test_non_str_non_pattern_origins(rule: Any) -> None:
    with pytest.raises(TypeError, match=r"^allow_origins items must be str or re.Pattern"):
        build(allow_origins=[rule])


def test_bytes_pattern() -> None:
    with pytest.raises(TypeError, match=r"^allow_origins: .* is a bytes pattern"):
        build(allow_origins=[re.compile(rb"https://example\.com")])


def test_valid_configuration_does_not_warn() -> None:
    # filterwarnings = error: any CORSConfigWarning here fails the test.
    middleware = build(
        allow_origins=[
            "https://example.com",
            "http://localhost:8000",
            "https://*.example.org",
            re.compile(r"https://app\.example\.net"),
        ],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-Id"],
        allow_credentials=True,
        max_age=3600,
        allow_private_network=True,
        strict=True,
    )
    assert middleware.policy.is_allowed_origin(b"https://api.example.org")


# -- CORSConfigWarning and strict=True ---------------------------------------------------------

WARNING_CASES = [
    pytest.param({"allow_origins": ["*"], "allow_credentials": True}, "allow_credentials=True", id="star-credentials"),
    pytest.param({"allow_origins": ["*"], "allow_credentials": True}, "allow_credentials=True", id="star-credentials"),
    pytest.param({}, "no origin is allowed", id="defaults-allow-no-origin"),
    pytest.param({"allow_origins": []}, "no origin is allowed", id="empty-origins"),
    pytest.param({"allow_origins": ["null"]}, "'null'", id="null-origin"),
    pytest.param({"allow_origins": ["https://A.com/"]}, "allow_origins: 'https://A.com/'", id="upper-case-slash"),
    pytest.param({"allow_origins": ["example.com"]}, "allow_origins: 'example.com'", id="no-scheme"),
    pytest.param({"allow_origins": ["https://A.com"]}, "lower case", id="upper-case"),
    pytest.param({"allow_origins": ["https://a.com/"]}, "trailing slash", id="trailing-slash"),
    pytest.param({"allow_origins": ["https://a.com/x"]}, "path", id="path"),
    pytest.param({"allow_origins": ["https://a.com:443"]}, "default port", id="default-port-https"),
    pytest.param({"allow_origins": ["http://a.com:80"]}, "default port", id="default-port-http"),
    pytest.param({"allow_origins": ["https://b\xfccher.de"]}, "punycode", id="idna"),
    pytest.param({"allow_origins": [re.compile(r"null|https://a\.com")]}, "'null'", id="pattern-matches-null"),
    pytest.param({"allow_origins": [re.compile(r"[a-z]+|https://a\.com")]}, "'null'", id="pattern-matches-null-too"),
]


@pytest.mark.parametrize(("options", "match"), WARNING_CASES)
def test_config_warning(options: dict[str, Any], match: str) -> None:
    with pytest.warns(CORSConfigWarning, match=re.escape(match)) as record:
        corsfast.CORSMiddleware(None, **options)
    assert record.list
    for warning in record.list:
        assert warning.category is CORSConfigWarning
        assert warning.filename == __file__, "the warning must point at the constructor call"


@pytest.mark.parametrize(("options", "match"), WARNING_CASES)
def test_config_warning_points_at_caller_on_each_engine(
    options: dict[str, Any], match: str, engine: ModuleType
) -> None:
    with pytest.warns(CORSConfigWarning, match=re.escape(match)) as record:
        corsfast.CORSMiddleware(None, **options, _engine=engine)
    assert all(warning.filename == __file__ for warning in record.list)


@pytest.mark.parametrize(("options", "match"), WARNING_CASES)
def test_strict_turns_warnings_into_errors(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=re.escape(match)) as excinfo:
        corsfast.CORSMiddleware(None, **options, strict=True)
    assert "strict=True" in str(excinfo.value)


def test_warned_configuration_still_works() -> None:
    with pytest.warns(CORSConfigWarning):
        middleware = corsfast.CORSMiddleware(None, allow_origins=["null", "https://a.com"])
    assert middleware.policy.is_allowed_origin(b"null")
    assert middleware.policy.is_allowed_origin(b"https://a.com")


def test_config_warning_is_exported() -> None:
    from corsfast._options import CORSConfigWarning as from_options

    assert corsfast.CORSConfigWarning is from_options
    assert issubclass(CORSConfigWarning, UserWarning)
