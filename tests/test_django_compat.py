"""`corsfast.django` against django-cors-headers 4.9, in the same run.

First the behaviours django-cors-headers' own test suite pins (its repository's
`tests/test_middleware.py`), each asserted on django-cors-headers itself and on corsfast
(both engines, and a subclass that overrides one of its methods). Then hypothesis: random
settings x requests x views, sync and async, where every implementation must give the
same status, body, header list (names, values, order), `request._cors_enabled` and number
of signal calls as django-cors-headers with corsfast's two documented differences
(`django_site.Reference`). Last, those two differences against the unpatched package.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any

import pytest
from django.test import Client
from django.test.utils import override_settings
from django_site import (
    CORSFAST,
    HOOKED,
    ORIGINAL,
    REFERENCE,
    SHARED_PATHS,
    receiver,
    request,
    site,
)
from hypothesis import HealthCheck, given, settings, strategies as st

from corsfast.django.middleware import (
    ACCESS_CONTROL_ALLOW_CREDENTIALS,
    ACCESS_CONTROL_ALLOW_HEADERS,
    ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK,
    ACCESS_CONTROL_EXPOSE_HEADERS,
    ACCESS_CONTROL_MAX_AGE,
)

IMPLEMENTATIONS = [
    pytest.param(ORIGINAL, id="corsheaders"),
    pytest.param(CORSFAST["c"], id="c", marks=pytest.mark.c_extension),
    pytest.param(CORSFAST["py"], id="py"),
    pytest.param(HOOKED["c"], id="c-hooked", marks=pytest.mark.c_extension),
    pytest.param(HOOKED["py"], id="py-hooked"),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest) -> str:
    """Each middleware in turn: django-cors-headers, then corsfast's."""
    return request.param  # type: ignore[no-any-return]


def get(impl: str, path: str = "/", **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", {})
    return request(impl, "GET", path, headers, **kwargs)


def options(impl: str, path: str = "/", **kwargs: Any) -> Any:
    headers = kwargs.pop("headers", {})
    return request(impl, "OPTIONS", path, headers, **kwargs)


PREFLIGHT = {"Origin": "https://example.com", "Access-Control-Request-Method": "GET"}


# -- the behaviours django-cors-headers' own tests pin ------------------------------------


def test_get_no_origin(impl: str) -> None:
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in get(impl)


def test_get_origin_vary_by_default(impl: str) -> None:
    assert get(impl)["vary"] == "origin"


def test_get_invalid_origin(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.com]"}, CORS_ALLOW_ALL_ORIGINS=True)
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in response


def test_get_not_in_allowed_origins(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.org"}, CORS_ALLOWED_ORIGINS=["https://example.com"])
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in response


def test_get_not_in_allowed_origins_due_to_wrong_scheme(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.org"}, CORS_ALLOWED_ORIGINS=["http://example.org"])
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in response


def test_get_in_allowed_origins(impl: str) -> None:
    response = get(
        impl,
        headers={"Origin": "https://example.org"},
        CORS_ALLOWED_ORIGINS=["https://example.com", "https://example.org"],
    )
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.org"


def test_async_get_in_allowed_origins(impl: str) -> None:
    response = get(
        impl,
        "/async/",
        headers={"Origin": "https://example.org"},
        asynchronous=True,
        CORS_ALLOWED_ORIGINS=["https://example.org"],
    )
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.org"


def test_null_in_allowed_origins(impl: str) -> None:
    response = get(impl, headers={"Origin": "null"}, CORS_ALLOWED_ORIGINS=["https://example.com", "null"])
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "null"


def test_file_in_allowed_origins(impl: str) -> None:
    # 'file://' is allowed: Chrome on Android sends it.
    response = get(impl, headers={"Origin": "file://"}, CORS_ALLOWED_ORIGINS=["https://example.com", "file://"])
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "file://"


def test_get_expose_headers(impl: str) -> None:
    response = get(
        impl,
        headers={"Origin": "https://example.com"},
        CORS_ALLOW_ALL_ORIGINS=True,
        CORS_EXPOSE_HEADERS=["accept", "content-type"],
    )
    assert response[ACCESS_CONTROL_EXPOSE_HEADERS] == "accept, content-type"


def test_get_dont_expose_headers(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.com"}, CORS_ALLOW_ALL_ORIGINS=True)
    assert ACCESS_CONTROL_EXPOSE_HEADERS not in response


def test_get_allow_credentials(impl: str) -> None:
    response = get(
        impl,
        headers={"Origin": "https://example.com"},
        CORS_ALLOWED_ORIGINS=["https://example.com"],
        CORS_ALLOW_CREDENTIALS=True,
    )
    assert response[ACCESS_CONTROL_ALLOW_CREDENTIALS] == "true"


def test_get_allow_credentials_bad_origin(impl: str) -> None:
    response = get(
        impl,
        headers={"Origin": "https://example.org"},
        CORS_ALLOWED_ORIGINS=["https://example.com"],
        CORS_ALLOW_CREDENTIALS=True,
    )
    assert ACCESS_CONTROL_ALLOW_CREDENTIALS not in response


def test_get_allow_credentials_disabled(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.com"}, CORS_ALLOWED_ORIGINS=["https://example.com"])
    assert ACCESS_CONTROL_ALLOW_CREDENTIALS not in response


@pytest.mark.parametrize(
    ("enabled", "asked", "allowed_origins", "expected"),
    [
        (True, "true", None, True),  # enabled and requested
        (True, None, None, False),  # enabled, not requested
        (True, "true", ["http://example.com"], False),  # enabled, Origin not allowed
        (False, "true", None, False),  # disabled and requested
    ],
)
def test_allow_private_network(
    impl: str, enabled: bool, asked: str | None, allowed_origins: list[str] | None, expected: bool
) -> None:
    headers = {"Origin": "http://example.org" if allowed_origins else "http://example.com"}
    if asked is not None:
        headers["Access-Control-Request-Private-Network"] = asked
    origins: dict[str, Any] = (
        {"CORS_ALLOWED_ORIGINS": allowed_origins} if allowed_origins else {"CORS_ALLOW_ALL_ORIGINS": True}
    )
    response = get(impl, headers=headers, CORS_ALLOW_PRIVATE_NETWORK=enabled, **origins)
    assert (response.get(ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK) == "true") is expected
    assert expected or ACCESS_CONTROL_ALLOW_PRIVATE_NETWORK not in response


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_options_allowed_origin(impl: str, asynchronous: bool) -> None:
    response = options(
        impl,
        "/async/" if asynchronous else "/",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "GET"},
        asynchronous=asynchronous,
        CORS_ALLOW_HEADERS=["content-type"],
        CORS_ALLOW_METHODS=["GET", "OPTIONS"],
        CORS_PREFLIGHT_MAX_AGE=1002,
        CORS_ALLOW_ALL_ORIGINS=True,
    )
    assert response.status_code == HTTPStatus.OK
    assert response[ACCESS_CONTROL_ALLOW_HEADERS] == "content-type"
    assert response[ACCESS_CONTROL_ALLOW_METHODS] == "GET, OPTIONS"
    assert response[ACCESS_CONTROL_MAX_AGE] == "1002"


def test_options_no_max_age(impl: str) -> None:
    response = options(
        impl,
        headers=PREFLIGHT,
        CORS_ALLOW_HEADERS=["content-type"],
        CORS_ALLOW_METHODS=["GET", "OPTIONS"],
        CORS_PREFLIGHT_MAX_AGE=0,
        CORS_ALLOW_ALL_ORIGINS=True,
    )
    assert response[ACCESS_CONTROL_ALLOW_HEADERS] == "content-type"
    assert response[ACCESS_CONTROL_ALLOW_METHODS] == "GET, OPTIONS"
    assert ACCESS_CONTROL_MAX_AGE not in response


def test_options_allowed_origins_with_port(impl: str) -> None:
    response = options(
        impl,
        headers={**PREFLIGHT, "Origin": "https://localhost:9000"},
        CORS_ALLOWED_ORIGINS=["https://localhost:9000"],
    )
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://localhost:9000"


@pytest.mark.parametrize(
    ("regexes", "allowed"),
    [
        ([r"^https://\w+\.example\.com$"], True),
        ([r"^https://\w+\.example\.org$", r"^https://\w+\.example\.com$"], True),  # the second
        ([r"^https://\w+\.example\.org$"], False),
    ],
)
def test_options_origin_regexes(impl: str, regexes: list[str], allowed: bool) -> None:
    response = options(
        impl, headers={**PREFLIGHT, "Origin": "https://foo.example.com"}, CORS_ALLOWED_ORIGIN_REGEXES=regexes
    )
    assert response.get(ACCESS_CONTROL_ALLOW_ORIGIN) == ("https://foo.example.com" if allowed else None)


def test_options_empty_request_method(impl: str) -> None:
    response = options(impl, headers={"Origin": "https://example.com", "Access-Control-Request-Method": ""})
    assert response.status_code == HTTPStatus.OK


def test_options_no_headers(impl: str) -> None:
    assert options(impl).status_code == HTTPStatus.METHOD_NOT_ALLOWED  # the view answered


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_allow_all_origins_with_credentials(impl: str, method: str) -> None:
    response = request(impl, method, "/", PREFLIGHT, CORS_ALLOW_CREDENTIALS=True, CORS_ALLOW_ALL_ORIGINS=True)
    assert response.status_code == HTTPStatus.OK
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.com"
    assert response["vary"] == "origin"


def test_non_200_headers_still_set(impl: str) -> None:
    response = get(
        impl,
        "/unauthorized/",
        headers={"Origin": "https://example.com"},
        CORS_ALLOW_CREDENTIALS=True,
        CORS_ALLOW_ALL_ORIGINS=True,
    )
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.com"


def test_auth_view_options(impl: str) -> None:
    response = options(
        impl, "/unauthorized/", headers=PREFLIGHT, CORS_ALLOW_CREDENTIALS=True, CORS_ALLOW_ALL_ORIGINS=True
    )
    assert response.status_code == HTTPStatus.OK
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.com"
    assert response["Content-Length"] == "0"


@pytest.mark.parametrize("answer", [False, True])
def test_signal_handler(impl: str, answer: bool) -> None:
    with receiver(lambda *args, **kwargs: answer):
        response = options(impl, headers=PREFLIGHT)
    assert response.status_code == HTTPStatus.OK
    assert response.get(ACCESS_CONTROL_ALLOW_ORIGIN) == ("https://example.com" if answer else None)


def test_signal_handler_allow_some_urls_to_everyone(impl: str) -> None:
    def allow_api_to_all(sender: Any, request: Any, **kwargs: Any) -> bool:
        return request.path.startswith("/api/")  # type: ignore[no-any-return]

    with receiver(allow_api_to_all):
        other = options(
            impl, headers={**PREFLIGHT, "Origin": "https://example.org"}, CORS_ALLOWED_ORIGINS=["https://example.com"]
        )
        api = options(
            impl,
            "/api/plain/",
            headers={**PREFLIGHT, "Origin": "https://example.org"},
            CORS_ALLOWED_ORIGINS=["https://example.com"],
        )
    assert other.status_code == api.status_code == HTTPStatus.OK
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in other
    assert api[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.org"


def test_signal_called_once_during_normal_flow(impl: str) -> None:
    calls = []
    with receiver(lambda sender, request, **kwargs: calls.append(request.path) or True):
        get(impl, headers={"Origin": "https://example.org"}, CORS_ALLOWED_ORIGINS=["https://example.com"])
    assert calls == ["/"]


@pytest.mark.parametrize("urls_regex", [None, r"^/foo/$"])
def test_get_short_circuit(impl: str, urls_regex: str | None) -> None:
    # A middleware before the CORS one answers: the CORS middleware never sees the request.
    regex = {} if urls_regex is None else {"CORS_URLS_REGEX": urls_regex}
    response = get(
        impl,
        headers={"Origin": "https://example.com"},
        prepend=("django_site.ShortCircuitMiddleware",),
        CORS_ALLOWED_ORIGINS=["https://example.com"],
        **regex,
    )
    assert response.content == b"short-circuit-middleware-response"
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in response
    assert "vary" not in response


@pytest.mark.parametrize(("urls_regex", "enabled"), [(r"^/plain/$", True), (r"^/not-plain/$", False)])
def test_get_urls_regex(impl: str, urls_regex: str, enabled: bool) -> None:
    response = get(
        impl,
        "/plain/",
        headers={"Origin": "https://example.com"},
        CORS_ALLOWED_ORIGINS=["https://example.com"],
        CORS_URLS_REGEX=urls_regex,
    )
    assert (ACCESS_CONTROL_ALLOW_ORIGIN in response) is enabled
    assert response.wsgi_request._cors_enabled is enabled


def test_get_regex_matches_path_info(impl: str) -> None:
    response = get(
        impl,
        "/plain/",
        headers={"Origin": "https://example.com"},
        extra={"SCRIPT_NAME": "/prefix/"},
        CORS_ALLOWED_ORIGINS=["https://example.com"],
        CORS_URLS_REGEX=r"^/plain/$",
    )
    assert ACCESS_CONTROL_ALLOW_ORIGIN in response


def test_cors_enabled_is_attached_and_bool(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.com"}, CORS_ALLOWED_ORIGINS=["https://example.com"])
    assert response.wsgi_request._cors_enabled is True


def test_works_if_view_deletes_cors_enabled(impl: str) -> None:
    response = get(
        impl,
        "/delete-enabled/",
        headers={"Origin": "https://example.com"},
        CORS_ALLOWED_ORIGINS=["https://example.com"],
    )
    assert ACCESS_CONTROL_ALLOW_ORIGIN in response


# -- beyond its suite: behaviours its tests leave open, checked the same way ---------------


def test_view_that_disables_cors(impl: str) -> None:
    response = get(impl, "/disable/", headers={"Origin": "https://example.com"}, CORS_ALLOW_ALL_ORIGINS=True)
    assert "vary" not in response and ACCESS_CONTROL_ALLOW_ORIGIN not in response


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_error_and_missing_pages_get_cors_headers(impl: str, asynchronous: bool) -> None:
    for path, status in (("/error/", 500), ("/missing/", 404)):
        response = get(
            impl,
            path,
            headers={"Origin": "https://example.com"},
            asynchronous=asynchronous,
            CORS_ALLOWED_ORIGINS=["https://example.com"],
        )
        assert response.status_code == status
        assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.com"
        assert response["vary"] == "origin"


def test_app_set_vary_is_merged(impl: str) -> None:
    response = get(impl, "/vary/mixed/", headers={"Origin": "https://example.com"}, CORS_ALLOW_ALL_ORIGINS=True)
    assert response["Vary"] == "accept, ORIGIN, Cookie"  # patch_vary_headers keeps the app's ORIGIN
    assert [name for name, _ in response.items()][1] == "Vary"


def test_app_set_cors_headers_are_overwritten_in_place(impl: str) -> None:
    response = get(impl, "/app-cors/", headers={"Origin": "https://example.com"}, CORS_ALLOW_ALL_ORIGINS=True)
    assert list(response.items()) == [
        ("Content-Type", "application/json"),
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET"),
        ("X-After", "1"),
        ("Vary", "origin"),
    ]


def test_scheme_compared_case_insensitively_host_case_sensitively(impl: str) -> None:
    allowed = {"CORS_ALLOWED_ORIGINS": ["HTTPS://Example.com"]}
    assert get(impl, headers={"Origin": "https://Example.com"}, **allowed)[ACCESS_CONTROL_ALLOW_ORIGIN] == (
        "https://Example.com"
    )
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in get(impl, headers={"Origin": "https://example.com"}, **allowed)


def test_origin_with_a_path_is_echoed(impl: str) -> None:
    response = get(impl, headers={"Origin": "https://example.com/path?q"}, CORS_ALLOWED_ORIGINS=["https://example.com"])
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://example.com/path?q"


def test_null_listed_allows_origins_without_scheme(impl: str) -> None:
    # urlsplit("null") and urlsplit("foo") both have an empty scheme and netloc.
    response = get(impl, headers={"Origin": "foo"}, CORS_ALLOWED_ORIGINS=["null"])
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "foo"


def test_non_latin1_origin_is_mime_encoded(impl: str) -> None:
    response = get(
        impl, headers={"Origin": "https://例え.jp"}, CORS_ALLOW_ALL_ORIGINS=True, CORS_ALLOW_CREDENTIALS=True
    )
    assert response[ACCESS_CONTROL_ALLOW_ORIGIN] == "=?utf-8?b?aHR0cHM6Ly/kvovjgYguanA=?="


# -- settings changes: seen by the next request, nothing re-read per request ---------------


def test_override_settings_reaches_a_running_middleware(impl: str) -> None:
    with site(impl, CORS_ALLOWED_ORIGINS=["https://a.example"]):
        client = Client()  # one handler, one middleware instance, for all four requests
        assert (
            client.get("/", headers={"Origin": "https://a.example"})[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://a.example"
        )
        with override_settings(CORS_ALLOWED_ORIGINS=["https://b.example"]):
            assert ACCESS_CONTROL_ALLOW_ORIGIN not in client.get("/", headers={"Origin": "https://a.example"})
            assert client.get("/", headers={"Origin": "https://b.example"})[ACCESS_CONTROL_ALLOW_ORIGIN]
            with override_settings(CORS_URLS_REGEX=r"^/api/"):
                assert "vary" not in client.get("/", headers={"Origin": "https://b.example"})
        assert (
            client.get("/", headers={"Origin": "https://a.example"})[ACCESS_CONTROL_ALLOW_ORIGIN] == "https://a.example"
        )


# -- hypothesis: random settings x requests x views, sync and async ------------------------

ORIGINS = (
    "https://app.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://App.example.com",
    "HTTPS://upper.example.com",
    "https://foo.example.org",
    "null",
    "file://",
    "https://xn--bcher-kva.example",
)
REQUEST_ORIGINS = (
    *ORIGINS,
    "",
    "https://evil.example.net",
    "https://foo.example.org.evil.net",
    "https://app.example.com]",
    "https://[::1",
    "foo",
    "https://app.example.com/path",
    "https://app.example.com\t",
    "https://foo.example.org\x01",
    "null\x7f",
    "https://bücher.example",
)
REGEXES = (
    r"^https://\w+\.example\.org$",
    r"^https://\w+\.example\.org",
    r"https://.*\.example\.net",
    r"^null$",
    r".*",
    re.compile(r"^HTTPS://APP\.EXAMPLE\.COM$", re.IGNORECASE),
    re.compile(r"https://[a-z]+\.example\.com"),
)
URLS_REGEXES = (
    r"^.*$",
    r"^/api/.*$",
    r"^/api/",
    r"^/(plain|vary|async)/",
    r"^/plain/\Z",
    r"^/plain/$",
    r"/",
    re.compile(r"^/PLAIN/", re.IGNORECASE),
    "(?s)^.*$",
)
HEADER_NAMES = ("accept", "authorization", "content-type", "x-token", "X-Requested-With", "*")
METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")


@st.composite
def cors_settings(draw: st.DrawFn) -> dict[str, Any]:
    """Django settings for django-cors-headers: new and legacy names, defaults left out."""
    chosen: dict[str, Any] = {}

    def maybe(name: str, strategy: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            chosen[name] = draw(strategy)

    sequence = st.sampled_from([list, tuple])

    def listed(pool: tuple[Any, ...], size: int = 4) -> st.SearchStrategy[Any]:
        return st.builds(lambda kind, items: kind(items), sequence, st.lists(st.sampled_from(pool), max_size=size))

    maybe(draw(st.sampled_from(["CORS_ALLOWED_ORIGINS", "CORS_ORIGIN_WHITELIST"])), listed(ORIGINS))
    maybe(draw(st.sampled_from(["CORS_ALLOWED_ORIGIN_REGEXES", "CORS_ORIGIN_REGEX_WHITELIST"])), listed(REGEXES, 2))
    maybe(draw(st.sampled_from(["CORS_ALLOW_ALL_ORIGINS", "CORS_ORIGIN_ALLOW_ALL"])), st.booleans())
    maybe("CORS_ALLOW_CREDENTIALS", st.booleans())
    maybe("CORS_ALLOW_PRIVATE_NETWORK", st.booleans())
    maybe("CORS_URLS_REGEX", st.sampled_from(URLS_REGEXES))
    maybe("CORS_ALLOW_HEADERS", listed(HEADER_NAMES))
    maybe("CORS_ALLOW_METHODS", listed(METHODS))
    maybe("CORS_EXPOSE_HEADERS", listed(HEADER_NAMES, 2))
    maybe("CORS_PREFLIGHT_MAX_AGE", st.sampled_from([0, 1002, 86400]))
    if draw(st.integers(0, 9)) == 0:
        # Shapes django-cors-headers' checks refuse but its middleware still serves.
        odd = draw(
            st.sampled_from(
                [
                    ("CORS_ALLOW_CREDENTIALS", 1),
                    ("CORS_PREFLIGHT_MAX_AGE", "600"),
                    ("CORS_ALLOW_HEADERS", "x-token"),
                    ("CORS_EXPOSE_HEADERS", {"x-one"}),
                    ("CORS_ALLOWED_ORIGINS", "https://app.example.com"),
                    ("CORS_ALLOWED_ORIGIN_REGEXES", r"^https://app"),
                    ("CORS_ALLOW_ALL_ORIGINS", "yes"),
                    ("CORS_ALLOWED_ORIGIN_REGEXES", ["("]),
                    ("CORS_URLS_REGEX", "("),
                ]
            )
        )
        chosen[odd[0]] = odd[1]
    return chosen


@st.composite
def cors_requests(draw: st.DrawFn, asynchronous: bool) -> tuple[str, str, dict[str, str]]:
    method = draw(st.sampled_from(["GET", "POST", "OPTIONS", "OPTIONS", "PUT", "HEAD"]))
    paths = SHARED_PATHS + (("/async-stream/",) if asynchronous else ("/stream/",))
    path = draw(st.sampled_from(paths))
    headers = {}
    origin = draw(st.one_of(st.none(), st.sampled_from(REQUEST_ORIGINS)))
    if origin is not None and not (asynchronous and not origin.isascii() and max(origin) > "\xff"):
        headers["Origin"] = origin
    request_method = draw(st.sampled_from([None, None, "", "GET", "PUT"]))
    if request_method is not None:
        headers["Access-Control-Request-Method"] = request_method
    private_network = draw(st.sampled_from([None, None, "true", "false"]))
    if private_network is not None:
        headers["Access-Control-Request-Private-Network"] = private_network
    return method, path, headers


def answer(response: Any) -> tuple[Any, ...]:
    """Return what a client sees of a response, and what the request was left with."""
    if response.streaming:
        body = b"".join(response.streaming_content) if not response.is_async else b"<async stream>"
    else:
        body = response.content
    exc = response.exc_info
    return (
        response.status_code,
        body,
        list(response.items()),
        response.serialize_headers(),
        getattr(
            response.wsgi_request if hasattr(response, "wsgi_request") else response.asgi_request,
            "_cors_enabled",
            "unset",
        ),
        None if exc is None else (type(exc[1]), str(exc[1])),
    )


SIGNAL_ANSWERS = (None, False, True, "yes", 0)


@pytest.fixture(scope="module")
def quiet_request_logging() -> Iterator[None]:
    """500s log an error (django.request); keep the test output readable."""
    import logging

    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("quiet_request_logging")
@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_same_answers_as_django_cors_headers(asynchronous: bool, data: st.DataObject) -> None:
    cors = data.draw(cors_settings(), label="settings")
    method, path, headers = data.draw(cors_requests(asynchronous), label="request")
    signal_answer = data.draw(st.sampled_from(SIGNAL_ANSWERS), label="signal answer")
    implementations = [REFERENCE, CORSFAST["py"], HOOKED["py"]]
    from corsfast._engine import NO_EXTENSIONS

    if not NO_EXTENSIONS:
        implementations += [CORSFAST["c"], HOOKED["c"]]
    seen = []
    for implementation in implementations:
        calls: list[str] = []

        def handler(sender: Any, request: Any, **kwargs: Any) -> Any:
            calls.append(request.path)  # noqa: B023 - called before the next iteration
            return signal_answer

        with receiver(handler):
            response = request(implementation, method, path, headers, asynchronous=asynchronous, **cors)
        seen.append((implementation, answer(response), len(calls)))
    expected = seen[0]
    for implementation, got, calls_made in seen[1:]:
        assert (got, calls_made) == expected[1:], implementation


# -- the two documented differences, against the unpatched package -------------------------


@pytest.mark.parametrize("implementation", [CORSFAST["c"], CORSFAST["py"], HOOKED["c"], HOOKED["py"]])
def test_origin_regexes_match_the_whole_origin(implementation: str) -> None:
    """django-cors-headers uses `re.match`: a pattern without `$` also allows any suffix."""
    if implementation.endswith("C"):
        pytest.importorskip("corsfast._engine_c")
    regexes = {"CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://\w+\.example\.com"], "CORS_ALLOW_CREDENTIALS": True}
    evil = {"Origin": "https://foo.example.com.evil.net"}
    assert get(ORIGINAL, headers=evil, **regexes)[ACCESS_CONTROL_ALLOW_ORIGIN] == evil["Origin"]
    refused = get(implementation, headers=evil, **regexes)
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in refused and ACCESS_CONTROL_ALLOW_CREDENTIALS not in refused
    good = {"Origin": "https://foo.example.com"}
    assert get(implementation, headers=good, **regexes)[ACCESS_CONTROL_ALLOW_ORIGIN] == good["Origin"]


@pytest.mark.parametrize("implementation", [CORSFAST["c"], CORSFAST["py"], HOOKED["c"], HOOKED["py"]])
@pytest.mark.parametrize("origin", ["https://example.com\t", "https://example.com\x00", "\x1bhttps://example.com"])
def test_origin_with_control_characters_is_never_allowed(implementation: str, origin: str) -> None:
    """django-cors-headers reflects them (urlsplit strips tabs and leading controls)."""
    if implementation.endswith("C"):
        pytest.importorskip("corsfast._engine_c")
    allowings: list[dict[str, Any]] = [{"CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": True}]
    if "\x00" not in origin:  # urlsplit drops tabs and leading controls: the list matches
        allowings.append({"CORS_ALLOWED_ORIGINS": ["https://example.com"]})
    for allowing in allowings:
        original = get(ORIGINAL, headers={"Origin": origin}, **allowing)
        assert original[ACCESS_CONTROL_ALLOW_ORIGIN] == origin
        ours = get(implementation, headers={"Origin": origin}, **allowing)
        assert ACCESS_CONTROL_ALLOW_ORIGIN not in ours and ACCESS_CONTROL_ALLOW_CREDENTIALS not in ours
        assert ours["vary"] == "origin"
    # The signal is still asked as often as django-cors-headers asks it; its yes is not followed.
    calls: list[str] = []
    with receiver(lambda sender, request, **kwargs: calls.append("ours") or True):
        ours = get(implementation, headers={"Origin": origin})
    with receiver(lambda sender, request, **kwargs: calls.append("original") or True):
        original = get(ORIGINAL, headers={"Origin": origin})
    assert calls == ["ours", "original"]
    assert ACCESS_CONTROL_ALLOW_ORIGIN not in ours and original[ACCESS_CONTROL_ALLOW_ORIGIN] == origin


# -- subclasses: overridden methods run where and as often as under django-cors-headers ----


class _Counting:
    """Counts calls of every django-cors-headers method a subclass overrides."""

    calls: list[str] = []  # noqa: RUF012 - reset by each test


def _counting_subclass(base: type) -> type:
    def counted(name: str) -> Any:
        def method(self: Any, *args: Any) -> Any:
            _Counting.calls.append(name)
            return getattr(super(subclass, self), name)(*args)

        return method

    names = (
        "check_preflight",
        "add_response_headers",
        "origin_found_in_white_lists",
        "regex_domain_match",
        "is_enabled",
        "check_signal",
        "_url_in_whitelist",
    )
    subclass = type("Counting", (base,), {name: counted(name) for name in names})
    return subclass


def test_overridden_methods_are_called_as_by_django_cors_headers() -> None:
    import corsheaders.middleware
    import django_site

    from corsfast import _engine_py
    from corsfast.django.middleware import _on_engine

    django_site.CountingOriginal = _counting_subclass(corsheaders.middleware.CorsMiddleware)  # type: ignore[attr-defined]
    django_site.CountingPy = _counting_subclass(_on_engine(_engine_py))  # type: ignore[attr-defined]
    engines = ["django_site.CountingOriginal", "django_site.CountingPy"]
    try:
        from corsfast import _engine_c

        django_site.CountingC = _counting_subclass(_on_engine(_engine_c))  # type: ignore[attr-defined]
        engines.append("django_site.CountingC")
    except ImportError:  # pragma: no cover - pure run
        pass
    cases = [
        ("GET", "/", {"Origin": "https://a.example"}, {"CORS_ALLOWED_ORIGINS": ["https://a.example"]}),
        ("GET", "/", {"Origin": "https://b.example"}, {"CORS_ALLOWED_ORIGIN_REGEXES": [r"https://b\.example"]}),
        ("OPTIONS", "/plain/", PREFLIGHT, {"CORS_URLS_REGEX": r"^/api/"}),
        ("GET", "/delete-enabled/", {"Origin": "https://c.example"}, {}),
    ]
    for method, path, headers, cors in cases:
        seen = []
        for implementation in engines:
            _Counting.calls = []
            response = request(implementation, method, path, headers, **cors)
            seen.append((_Counting.calls, list(response.items())))
        assert seen[0][0], "the original called its methods"
        assert all(one == seen[0] for one in seen[1:]), (method, path, seen)
