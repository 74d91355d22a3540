"""Unit tests for `corsfast.check.fetch`: one Fetch standard rule per test, each citing its section.

Section anchors are those of https://fetch.spec.whatwg.org/ (and mimesniff for MIME types).
Where Chromium is known to differ, the test says so; tests/test_check_chromium.py checks
the agreement with a real browser.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings, strategies as st

from corsfast.check import fetch
from corsfast.check.fetch import FAILURE

ORIGIN = "https://app.example.com"


# -- #concept-method, #forbidden-method, #concept-method-normalize, #cors-safelisted-method ------


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_safelisted_methods(method: str) -> None:
    """#cors-safelisted-method: `GET`, `HEAD` or `POST`."""
    assert fetch.is_cors_safelisted_method(method)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "QUERY", "get", "Post"])
def test_other_methods_are_not_safelisted(method: str) -> None:
    """#cors-safelisted-method is a byte comparison: only normalized upper-case names match."""
    assert not fetch.is_cors_safelisted_method(method)


@pytest.mark.parametrize(
    ("method", "normalized"),
    [
        ("get", "GET"),
        ("dElEtE", "DELETE"),
        ("options", "OPTIONS"),
        ("put", "PUT"),
        ("patch", "patch"),
        ("Patch", "Patch"),
        ("M-SEARCH", "M-SEARCH"),
    ],
)
def test_normalize_method(method: str, normalized: str) -> None:
    """#concept-method-normalize: only DELETE, GET, HEAD, OPTIONS, POST and PUT are upper-cased."""
    assert fetch.normalize_method(method) == normalized


@pytest.mark.parametrize(
    ("method", "forbidden"), [("CONNECT", True), ("trace", True), ("Track", True), ("PATCH", False)]
)
def test_forbidden_methods(method: str, forbidden: bool) -> None:
    """#forbidden-method: a byte-case-insensitive match for CONNECT, TRACE or TRACK."""
    assert fetch.is_forbidden_method(method) is forbidden


@pytest.mark.parametrize(
    ("method", "valid"),
    [("GET", True), ("M-SEARCH", True), ("PU T", False), ("", False), ("GET\n", False), ("GÉT", False)],
)
def test_method_is_a_token(method: str, valid: bool) -> None:
    """#concept-method: a method is a byte sequence matching the `method` token production."""
    assert fetch.is_method(method) is valid


# -- #cors-safelisted-request-header ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Accept", "*/*"),
        ("accept", "application/json, text/plain;q=0.9"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Content-Language", "de-DE, en"),
        ("Content-Type", "text/plain"),
        ("CONTENT-TYPE", "application/x-www-form-urlencoded"),
        ("Content-Type", "multipart/form-data; boundary=abc"),
        ("Range", "bytes=0-99"),
    ],
)
def test_safelisted_request_headers(name: str, value: str) -> None:
    """#cors-safelisted-request-header: the five names with acceptable values, any name case."""
    assert fetch.is_cors_safelisted_request_header(name, value)


@pytest.mark.parametrize("name", ["X-Token", "Authorization", "Cache-Control", "If-None-Match", "DPR", "Save-Data"])
def test_other_request_headers_are_not_safelisted(name: str) -> None:
    """#cors-safelisted-request-header: every other name is unsafe (Chromium also safelists
    the client hints DPR, Save-Data, Width, Viewport-Width, Device-Memory; the standard does not)."""
    assert not fetch.is_cors_safelisted_request_header(name, "1")


@pytest.mark.parametrize("name", ["Accept", "Accept-Language", "Content-Language", "Content-Type"])
def test_value_length_limit_is_128_bytes(name: str) -> None:
    """#cors-safelisted-request-header step 1: a value longer than 128 bytes is never safelisted."""
    fill = "text/plain;a=" if name == "Content-Type" else ""
    at_limit = fill + "a" * (128 - len(fill))
    assert fetch.is_cors_safelisted_request_header(name, at_limit)
    assert not fetch.is_cors_safelisted_request_header(name, at_limit + "a")


@pytest.mark.parametrize("byte", [*'"():<>?@[\\]{}', "\x7f", "\x00", "\x1f", "\n"])
@pytest.mark.parametrize("name", ["Accept", "Content-Type"])
def test_cors_unsafe_request_header_bytes(name: str, byte: str) -> None:
    """#cors-unsafe-request-header-byte: control bytes but HT, `"():<>?@[\\]{}` and DEL make
    Accept and Content-Type unsafe."""
    assert fetch.is_cors_unsafe_request_header_byte(byte)
    assert not fetch.is_cors_safelisted_request_header(name, f"text/plain{byte}")


def test_horizontal_tab_is_not_an_unsafe_byte() -> None:
    """#cors-unsafe-request-header-byte: 0x09 HT is the one control byte allowed."""
    assert not fetch.is_cors_unsafe_request_header_byte("\t")
    assert fetch.is_cors_safelisted_request_header("Accept", "a/b;\tq=1")


def test_quoted_content_type_parameter_is_unsafe() -> None:
    """#cors-unsafe-request-header-byte: `"` is unsafe, so even a valid quoted charset preflights."""
    assert not fetch.is_cors_safelisted_request_header("Content-Type", 'text/plain; charset="utf-8"')


@pytest.mark.parametrize(
    ("value", "safe"),
    [("en-US", True), ("*", True), ("en;q=0.5, de", True), ("en_US", False), ("fr/CA", False), ("é", False)],
)
@pytest.mark.parametrize("name", ["Accept-Language", "Content-Language"])
def test_language_header_bytes(name: str, value: str, safe: bool) -> None:
    """#cors-safelisted-request-header: language values may only use 0-9 A-Z a-z, space and *,-.;=."""
    assert fetch.is_cors_safelisted_request_header(name, value) is safe


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("text/plain", True),
        ("TEXT/Plain", True),
        ("text/plain;charset=utf-8", True),
        ("text/plain ; charset=utf-8", True),
        (" text/plain ", True),
        ("text/plain;", True),
        ("multipart/form-data", True),
        ("application/json", False),
        ("text/html", False),
        ("text/plain garbage", False),
        ("text/", False),
        ("/plain", False),
        ("text", False),
        ("", False),
    ],
)
def test_content_type_essence_rule(value: str, safe: bool) -> None:
    """#cors-safelisted-request-header (`content-type`): the parsed MIME type's essence must be
    application/x-www-form-urlencoded, multipart/form-data or text/plain (mimesniff #parse-a-mime-type)."""
    assert fetch.is_cors_safelisted_request_header("Content-Type", value) is safe


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes=0-", (0, None)),
        ("bytes=0-99", (0, 99)),
        ("bytes=-5", (None, 5)),
        ("bytes=5-4", FAILURE),
        ("bytes=-", FAILURE),
        ("bytes = 0-1", FAILURE),
        ("bytes=0-1,3-4", FAILURE),
        ("Bytes=0-1", FAILURE),
        ("items=0-1", FAILURE),
    ],
)
def test_parse_single_range_header_value(value: str, parsed: object) -> None:
    """#simple-range-header-value: `bytes=` then an optional start, `-`, an optional end."""
    assert fetch.parse_single_range_header_value(value) == parsed


@pytest.mark.parametrize(
    ("value", "safe"), [("bytes=0-", True), ("bytes=10-20", True), ("bytes=-10", False), ("bytes=0-1,3-4", False)]
)
def test_range_rule(value: str, safe: bool) -> None:
    """#cors-safelisted-request-header (`range`): a single range with a start; suffix ranges preflight."""
    assert fetch.is_cors_safelisted_request_header("Range", value) is safe


# -- #cors-unsafe-request-header-names ----------------------------------------------------


def test_unsafe_names_are_a_sorted_lowercase_set() -> None:
    """#cors-unsafe-request-header-names: convert header names to a sorted-lowercase set."""
    headers = [("X-B", "1"), ("x-a", "1"), ("X-A", "2"), ("Accept", "*/*"), ("Content-Type", "application/json")]
    assert fetch.cors_unsafe_request_header_names(headers) == ["content-type", "x-a", "x-b"]


def test_safelisted_values_over_1024_bytes_make_them_unsafe() -> None:
    """#cors-unsafe-request-header-names step 5: safelisted values adding up to more than 1024
    bytes turn every safelisted name into an unsafe one."""
    at_limit = [("Accept", "a" * 128)] * 8
    assert fetch.cors_unsafe_request_header_names(at_limit) == []
    over = [*at_limit, ("Content-Language", "x")]
    assert fetch.cors_unsafe_request_header_names(over) == ["accept", "content-language"]
    reasons = fetch.unsafe_header_reasons(over)
    assert "1025 bytes" in reasons["accept"]


def test_unsafe_reasons_explain_each_name() -> None:
    """#cors-unsafe-request-header-names: the reason names the rule that made the header unsafe."""
    reasons = fetch.unsafe_header_reasons(
        [("Content-Type", "application/json"), ("X-Token", "1"), ("Accept", "a" * 129)]
    )
    assert list(reasons) == ["accept", "content-type", "x-token"]
    assert "129 bytes" in reasons["accept"]
    assert "application/json" in reasons["content-type"]
    assert "not one of" in reasons["x-token"]


@given(
    st.lists(
        st.tuples(
            st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=12),
            st.text(alphabet=string.printable, max_size=40),
        ),
        max_size=8,
    )
)
@settings(max_examples=60, deadline=None)
def test_unsafe_names_property(headers: list[tuple[str, str]]) -> None:
    """#cors-unsafe-request-header-names: the result is sorted, lower-cased, unique, and holds
    exactly the names with a non-safelisted value (all values here stay under 1024 bytes)."""
    names = fetch.cors_unsafe_request_header_names(headers)
    assert names == sorted(set(names))
    assert all(name == name.lower() for name in names)
    expected = {n.lower() for n, v in headers if not fetch.is_cors_safelisted_request_header(n, v)}
    assert set(names) == expected


# -- #forbidden-request-header, #cors-non-wildcard-request-header-name ----------------------


@pytest.mark.parametrize(
    ("name", "value", "forbidden"),
    [
        ("Cookie", "a=b", True),
        ("Host", "x", True),
        ("origin", "x", True),
        ("Content-Length", "0", True),
        ("Access-Control-Request-Headers", "x", True),
        ("Sec-Fetch-Mode", "cors", True),
        ("Proxy-Authorization", "x", True),
        ("X-HTTP-Method-Override", "TRACE", True),
        ("X-Method-Override", "get, connect", True),
        ("X-HTTP-Method-Override", "PATCH", False),
        ("Authorization", "Bearer x", False),
        ("Content-Type", "text/plain", False),
        ("X-Token", "1", False),
    ],
)
def test_forbidden_request_headers(name: str, value: str, forbidden: bool) -> None:
    """#forbidden-request-header: fixed names, `proxy-`/`sec-` prefixes, and method overrides
    naming a forbidden method; fetch() silently drops them."""
    assert fetch.is_forbidden_request_header(name, value) is forbidden


@pytest.mark.parametrize(
    ("name", "expected"), [("Authorization", True), ("AUTHORIZATION", True), ("X-Authorization", False)]
)
def test_non_wildcard_request_header_name(name: str, expected: bool) -> None:
    """#cors-non-wildcard-request-header-name: `Authorization`, matched case-insensitively."""
    assert fetch.is_cors_non_wildcard_request_header_name(name) is expected


# -- #cors-preflight-fetch steps 1-4: the preflight request ----------------------------------


def test_preflight_request_headers_match_chromium_format() -> None:
    """#cors-preflight-fetch steps 2-4: `Accept: */*`, ACRM = the method, ACRH = the unsafe names
    joined by "," with no space (deliberately not the "combine" separator)."""
    headers = [("X-B", "1"), ("Authorization", "x"), ("Content-Type", "application/json")]
    assert fetch.preflight_request_headers("PUT", headers) == [
        ("accept", "*/*"),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "authorization,content-type,x-b"),
    ]


def test_preflight_without_unsafe_headers_has_no_acrh() -> None:
    """#cors-preflight-fetch step 4: no Access-Control-Request-Headers when no name is unsafe."""
    assert fetch.preflight_request_headers("DELETE", [("Accept", "*/*")]) == [
        ("accept", "*/*"),
        ("access-control-request-method", "DELETE"),
    ]


# -- #concept-header-list-get, #extract-header-list-values, #ok-status -----------------------


def test_combine_joins_repeated_headers() -> None:
    """#concept-header-list-get: values of all same-named headers joined with ", "."""
    headers = [("Vary", "Origin"), ("x", "1"), ("vary", " Accept ")]
    assert fetch.combine(headers, "VARY") == "Origin, Accept"
    assert fetch.combine(headers, "missing") is None


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        (["GET, PUT"], ["GET", "PUT"]),
        (["GET,PUT"], ["GET", "PUT"]),
        (["GET,, PUT ,"], ["GET", "PUT"]),
        ([""], []),
        (["GET", "PUT, PATCH"], ["GET", "PUT", "PATCH"]),
        (["GET PUT"], FAILURE),
        (["GET;PUT"], FAILURE),
        (["GET", "P/T"], FAILURE),
    ],
)
def test_extract_header_list_values(lines: list[str], expected: object) -> None:
    """#extract-header-list-values: null when absent, failure when a line is not a `#token`
    list (empty elements allowed), else every value across all lines."""
    headers = [("Access-Control-Allow-Methods", line) for line in lines]
    assert fetch.extract_header_list_values(headers, "access-control-allow-methods") == expected


def test_extract_single_header_repeated_is_failure() -> None:
    """#extract-header-list-values step 2: a header whose ABNF allows one value, repeated, fails."""
    headers = [("x", "a"), ("x", "b")]
    assert fetch.extract_header_list_values(headers, "x", single=True) is FAILURE


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], None),
        (["600"], 600),
        ([" 60 "], 60),
        (["0"], 0),
        (["-1"], FAILURE),
        (["1.5"], FAILURE),
        (["10", "20"], FAILURE),
        (["١٢"], FAILURE),
    ],
)
def test_max_age_parsing(lines: list[str], expected: object) -> None:
    """#http-access-control-max-age: `delta-seconds`, one header; failure or absence means 5 s."""
    headers = [("Access-Control-Max-Age", line) for line in lines]
    assert fetch.parse_max_age(headers) == expected


@pytest.mark.parametrize(
    ("status", "ok"), [(199, False), (200, True), (204, True), (299, True), (300, False), (400, False)]
)
def test_ok_status(status: int, ok: bool) -> None:
    """#ok-status: 200 to 299 inclusive."""
    assert fetch.is_ok_status(status) is ok


# -- #cors-check --------------------------------------------------------------------------


def rules(failures: list[fetch.Failure]) -> list[str]:
    return [failure.rule for failure in failures]


def test_cors_check_requires_allow_origin() -> None:
    """#cors-check steps 1-2: no Access-Control-Allow-Origin is a failure."""
    assert rules(fetch.cors_check([("Vary", "Origin")], ORIGIN, False)) == ["allow-origin-missing"]


def test_cors_check_star_without_credentials() -> None:
    """#cors-check step 3: `*` passes when credentials mode is not "include"."""
    assert fetch.cors_check([("Access-Control-Allow-Origin", "*")], ORIGIN, False) == []


def test_cors_check_star_with_credentials_fails() -> None:
    """#cors-check steps 3-4: with credentials `*` is compared as an origin, and fails."""
    failures = fetch.cors_check(
        [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Credentials", "true")], ORIGIN, True
    )
    assert rules(failures) == ["allow-origin-wildcard-credentials"]
    assert failures[0].lines == ("Access-Control-Allow-Origin: *",)


def test_cors_check_exact_origin() -> None:
    """#cors-check step 4: the value must equal the byte-serialized request origin."""
    assert fetch.cors_check([("access-control-allow-origin", ORIGIN)], ORIGIN, False) == []
    assert fetch.cors_check([("access-control-allow-origin", "null")], "null", False) == []


@pytest.mark.parametrize(
    ("seen", "hint_word"),
    [
        ("https://App.example.com", "letter case"),
        ("https://app.example.com/", "trailing slash"),
        ("http://app.example.com", "scheme"),
        ("https://app.example.com:8443", "port"),
        ("https://app.example.com, https://b.example", "several values"),
        ("https://other.example", None),
    ],
)
def test_cors_check_near_miss_origins(seen: str, hint_word: str | None) -> None:
    """#cors-check step 4: any byte difference fails; the hint names the near miss."""
    failures = fetch.cors_check([("Access-Control-Allow-Origin", seen)], ORIGIN, False)
    assert rules(failures) == ["allow-origin-mismatch"]
    if hint_word is None:
        assert failures[0].hint is None
    else:
        assert failures[0].hint is not None and hint_word in failures[0].hint


def test_cors_check_repeated_allow_origin() -> None:
    """#cors-check step 1 uses "get", which combines repeated headers: two lines never match."""
    headers = [("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Origin", ORIGIN)]
    failures = fetch.cors_check(headers, ORIGIN, False)
    assert rules(failures) == ["allow-origin-multiple"]
    assert len(failures[0].lines) == 2


@pytest.mark.parametrize(
    ("credential_lines", "expected"),
    [
        ([], ["allow-credentials-missing"]),
        (["true"], []),
        (["True"], ["allow-credentials-invalid"]),
        (["false"], ["allow-credentials-invalid"]),
        (["true", "true"], ["allow-credentials-invalid"]),
    ],
)
def test_cors_check_credentials(credential_lines: list[str], expected: list[str]) -> None:
    """#cors-check steps 5-8: with credentials, Access-Control-Allow-Credentials must be exactly `true`."""
    headers = [("Access-Control-Allow-Origin", ORIGIN)] + [
        ("Access-Control-Allow-Credentials", v) for v in credential_lines
    ]
    assert rules(fetch.cors_check(headers, ORIGIN, True)) == expected
    assert fetch.cors_check(headers, ORIGIN, False) == []


# -- #cors-preflight-fetch step 7: the preflight response ------------------------------------


def preflight(
    headers: list[tuple[str, str]],
    method: str = "PUT",
    request_headers: list[tuple[str, str]] | None = None,
    credentials: bool = False,
    status: int = 200,
) -> fetch.PreflightResult:
    base = [("Access-Control-Allow-Origin", ORIGIN)]
    if credentials:
        base.append(("Access-Control-Allow-Credentials", "true"))
    return fetch.preflight_check(status, base + headers, ORIGIN, method, request_headers or [], credentials)


@pytest.mark.parametrize(
    ("status", "word"),
    [(405, "no CORS layer"), (404, "no route"), (401, "authentication"), (400, "2xx"), (500, "error log")],
)
def test_preflight_needs_ok_status(status: int, word: str) -> None:
    """#cors-preflight-fetch step 7: the response must have an ok status; the hint reads the status."""
    result = preflight([("Access-Control-Allow-Methods", "PUT")], status=status)
    assert rules(result.failures) == ["preflight-status"]
    assert word in (result.failures[0].hint or "")


def test_preflight_redirect_is_not_ok() -> None:
    """#cors-preflight-fetch step 7: a 3xx is not an ok status (preflights are never redirected)."""
    result = preflight([("Location", "/items/")], status=307)
    assert rules(result.failures)[0] == "preflight-status"
    assert "/items/" in (result.failures[0].hint or "")


def test_preflight_status_comes_before_cors_check() -> None:
    """#cors-preflight-fetch step 7: both conditions are reported, the status first."""
    result = fetch.preflight_check(400, [], ORIGIN, "PUT", [], False, "Bad Request", "Disallowed CORS origin")
    assert rules(result.failures) == ["preflight-status", "allow-origin-missing", "method-not-allowed"]
    assert "Disallowed CORS origin" in result.failures[0].message


def test_preflight_method_listed() -> None:
    """#cors-preflight-fetch step 7.5: the method must be in Access-Control-Allow-Methods."""
    assert preflight([("Access-Control-Allow-Methods", "GET, PUT")]).ok
    result = preflight([("Access-Control-Allow-Methods", "GET, POST")])
    assert rules(result.failures) == ["method-not-allowed"]
    assert result.failures[0].lines == ("Access-Control-Allow-Methods: GET, POST",)


def test_preflight_safelisted_method_needs_no_listing() -> None:
    """#cors-preflight-fetch step 7.5: a CORS-safelisted method passes even when not listed."""
    assert preflight(
        [("Access-Control-Allow-Headers", "x-token")], method="POST", request_headers=[("X-Token", "1")]
    ).ok
    assert preflight(
        [("Access-Control-Allow-Headers", "x-token")], method="DELETE", request_headers=[("X-Token", "1")]
    ).failures


def test_preflight_missing_allow_methods() -> None:
    """#cors-preflight-fetch step 7.5: no Access-Control-Allow-Methods allows only safelisted methods."""
    result = preflight([])
    assert rules(result.failures) == ["method-not-allowed"]
    assert "no Access-Control-Allow-Methods" in result.failures[0].message


def test_preflight_methods_compare_case_sensitively() -> None:
    """#cors-preflight-fetch step 7.5: methods are byte sequences: `put` does not list PUT, and a
    `patch` request (not normalized by fetch) is not allowed by `PATCH`."""
    result = preflight([("Access-Control-Allow-Methods", "put")])
    assert rules(result.failures) == ["method-not-allowed"]
    assert "case-sensitively" in (result.failures[0].hint or "")
    result = preflight([("Access-Control-Allow-Methods", "PATCH")], method="patch")
    assert rules(result.failures) == ["method-not-allowed"]
    assert "upper-cases only" in (result.failures[0].hint or "")


def test_preflight_method_wildcard() -> None:
    """#cors-preflight-fetch step 7.5: `*` allows any method only without credentials."""
    assert preflight([("Access-Control-Allow-Methods", "*")]).ok
    result = preflight([("Access-Control-Allow-Methods", "*")], credentials=True)
    assert rules(result.failures) == ["method-wildcard-credentials"]


def test_preflight_headers_compare_case_insensitively() -> None:
    """#cors-preflight-fetch step 7.7: each unsafe name must be a byte-case-insensitive match."""
    result = preflight(
        [("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "X-TOKEN, content-type")],
        request_headers=[("x-token", "1"), ("Content-Type", "application/json")],
    )
    assert result.ok


def test_preflight_header_not_listed() -> None:
    """#cors-preflight-fetch step 7.7: an unsafe request header not listed fails, once per name."""
    result = preflight(
        [("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "X-Token")],
        request_headers=[("X-Token", "1"), ("X-Other", "1"), ("X-Third", "1")],
    )
    assert rules(result.failures) == ["header-not-allowed", "header-not-allowed"]
    assert "x-other" in result.failures[0].message and "x-third" in result.failures[1].message


def test_preflight_header_wildcard() -> None:
    """#cors-preflight-fetch step 7.7: `*` covers every unsafe name only without credentials."""
    headers = [("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "*")]
    assert preflight(headers, request_headers=[("X-Token", "1")]).ok
    result = preflight(headers, request_headers=[("X-Token", "1")], credentials=True)
    assert rules(result.failures) == ["header-wildcard-credentials"]


def test_preflight_authorization_is_never_covered_by_wildcard() -> None:
    """#cors-preflight-fetch step 7.6 with #cors-non-wildcard-request-header-name: Authorization
    must be listed by name; `*` is not enough (Chromium 156 still allows it, with a warning)."""
    headers = [("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "*")]
    result = preflight(headers, request_headers=[("Authorization", "Bearer x"), ("X-Token", "1")])
    assert rules(result.failures) == ["header-authorization-wildcard"]
    listed = [("Access-Control-Allow-Methods", "PUT"), ("Access-Control-Allow-Headers", "*, Authorization")]
    assert preflight(listed, request_headers=[("Authorization", "Bearer x"), ("X-Token", "1")]).ok


def test_preflight_unparsable_lists_fail() -> None:
    """#cors-preflight-fetch step 7.3: a failure extracting ACAM or ACAH is a network error."""
    result = preflight([("Access-Control-Allow-Methods", "GET PUT"), ("Access-Control-Allow-Headers", "a b")])
    assert rules(result.failures) == ["allow-methods-invalid", "allow-headers-invalid"]


def test_preflight_repeated_allow_lists_are_combined() -> None:
    """#extract-header-list-values: values from every ACAM/ACAH line count."""
    result = preflight(
        [
            ("Access-Control-Allow-Methods", "GET"),
            ("Access-Control-Allow-Methods", "PUT"),
            ("Access-Control-Allow-Headers", "x-a"),
            ("Access-Control-Allow-Headers", "x-b"),
        ],
        request_headers=[("X-A", "1"), ("X-B", "1")],
    )
    assert result.ok
    assert result.methods == ["GET", "PUT"]
    assert result.header_names == ["x-a", "x-b"]


@pytest.mark.parametrize(
    ("lines", "max_age"), [([], 5), (["600"], 600), (["x"], 5), (["1", "2"], 5), (["86400"], 86400)]
)
def test_preflight_max_age(lines: list[str], max_age: int) -> None:
    """#cors-preflight-fetch step 7.8: max-age is the parsed value, or 5 when absent or invalid."""
    headers = [("Access-Control-Allow-Methods", "PUT")] + [("Access-Control-Max-Age", v) for v in lines]
    assert preflight(headers).max_age == max_age


def test_preflight_credentials_need_allow_credentials() -> None:
    """#cors-preflight-fetch step 7 runs the CORS check, credentials rules included, on the preflight."""
    result = fetch.preflight_check(
        200, [("Access-Control-Allow-Origin", ORIGIN), ("Access-Control-Allow-Methods", "PUT")], ORIGIN, "PUT", [], True
    )
    assert rules(result.failures) == ["allow-credentials-missing"]


# -- #cors-safelisted-response-header-name, #concept-response-cors-exposed-header-name-list ---


def test_safelisted_response_headers_are_always_readable() -> None:
    """#cors-safelisted-response-header-name: the seven names, readable without any exposure."""
    names = [
        "Cache-Control",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Last-Modified",
        "Pragma",
    ]
    readable, hidden = fetch.readable_response_headers(
        [(n, "1") for n in names] + [("X-Other", "1"), ("Date", "x")], False
    )
    assert readable == sorted(n.lower() for n in names)
    assert hidden == ["date", "x-other"]


def test_exposed_headers_are_readable() -> None:
    """#cors-safelisted-response-header-name: names in Access-Control-Expose-Headers (any case)."""
    headers = [("X-Request-Id", "1"), ("X-Internal", "1"), ("Access-Control-Expose-Headers", "x-request-ID")]
    assert fetch.readable_response_headers(headers, False)[0] == ["x-request-id"]
    assert fetch.readable_response_headers(headers, True)[0] == ["x-request-id"]


def test_set_cookie_is_never_readable() -> None:
    """#forbidden-response-header-name: Set-Cookie and Set-Cookie2 stay hidden even when exposed."""
    headers = [
        ("Set-Cookie", "a=b"),
        ("Set-Cookie2", "x"),
        ("Access-Control-Expose-Headers", "Set-Cookie, Set-Cookie2, *"),
    ]
    assert fetch.readable_response_headers(headers, False)[0] == ["access-control-expose-headers"]


def test_expose_wildcard_without_credentials() -> None:
    """HTTP fetch step 4.2.2 (#concept-response-cors-exposed-header-name-list): `*` exposes every
    response header name when credentials mode is not "include"."""
    headers = [("X-A", "1"), ("Date", "x"), ("Access-Control-Expose-Headers", "*")]
    assert fetch.readable_response_headers(headers, False)[0] == ["access-control-expose-headers", "date", "x-a"]


def test_expose_wildcard_with_credentials_is_a_name() -> None:
    """HTTP fetch step 4.2.3: with credentials `*` is just a header name, exposing nothing more."""
    headers = [("X-A", "1"), ("Access-Control-Expose-Headers", "*")]
    assert fetch.readable_response_headers(headers, True)[0] == []
    assert fetch.exposed_header_names(headers, True) == ["*"]


def test_unparsable_expose_headers_expose_nothing() -> None:
    """HTTP fetch step 4.2: a failure extracting Access-Control-Expose-Headers leaves the list empty."""
    headers = [("X-A", "1"), ("Access-Control-Expose-Headers", "X-A X-B")]
    assert fetch.exposed_header_names(headers, False) == []


# -- #ascii-serialisation-of-an-origin (the Origin header value) -----------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",
        "http://localhost:8000",
        "http://127.0.0.1:5173",
        "http://[::1]:8080",
        "null",
        "https://xn--bcher-kva.example",
    ],
)
def test_serialized_origins(origin: str) -> None:
    """#ascii-serialisation-of-an-origin: scheme "://" host [":" port], or `null`."""
    assert fetch.serialize_origin(origin) == origin


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("https://example.com/", "https://example.com"),
        ("HTTPS://Example.com", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://example.com:80/path?q", "http://example.com"),
        ("https://user@example.com", "https://example.com"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("example.com", None),
        ("https://", None),
        ("", None),
    ],
)
def test_not_serialized_origins(text: str, suggestion: str | None) -> None:
    """#ascii-serialisation-of-an-origin: lower-case, no default port, no path, user info or slash."""
    with pytest.raises(fetch.OriginError) as caught:
        fetch.serialize_origin(text)
    assert caught.value.suggestion == suggestion
