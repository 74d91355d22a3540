"""The engine's Django dialect on both engines: what it does without running Django's code.

It checks `CORS_URLS_REGEX` without the pattern for common forms, patches Vary and writes
header values straight into `ResponseHeaders._store`, and caches verdicts per Origin. Each
shortcut is checked against the Django code it stands for (`re.match`,
`patch_vary_headers`, `response[name] = value`), and django-cors-headers is run beside it
on requests built with `RequestFactory`.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from types import ModuleType
from typing import Any

import corsheaders.middleware
import django
import django_site
import pytest
from cases import DJANGO_URL_REGEXES
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.test import RequestFactory
from django.test.utils import override_settings
from django.utils.cache import patch_vary_headers
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast
from corsfast.django import _compile
from corsfast.django.middleware import CorsMiddleware, _on_engine

RF = RequestFactory()


def middleware(engine: ModuleType, view: Any = None) -> CorsMiddleware:
    return _on_engine(engine)(view or (lambda request: HttpResponse("ok")))


def policy(engine: ModuleType) -> Any:
    state = _compile.state_for(engine)
    if state.compiled != state.generation:
        state.refresh()
    assert isinstance(state.policy, engine.DjangoPolicy)
    return state.policy


# -- CORS_URLS_REGEX without running it -----------------------------------------------------

URL_REGEXES = DJANGO_URL_REGEXES


@pytest.mark.parametrize("regex", URL_REGEXES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.one_of(
        st.text(alphabet="/api\n.bcv2AéX", max_size=12),
        st.sampled_from(["", "/", "/api/", "/api/\n", "/api/x\n", "/api/\nx", "/API/", "\n", "/café/x"]),
    )
)
def test_url_rule_is_re_match(engine: ModuleType, regex: str, path: str) -> None:
    expected = re.match(regex, path) is not None
    with override_settings(CORS_URLS_REGEX=regex):
        assert policy(engine).url_enabled(path) is expected
    with override_settings(CORS_URLS_REGEX=re.compile(regex)):
        assert policy(engine).url_enabled(path) is expected


def test_url_rule_forms() -> None:
    assert _compile.url_rule(r"^.*$")[1:] == ("", _compile.URL_LINE)
    assert _compile.url_rule(r"^/api/")[1:] == ("/api/", _compile.URL_ANY)
    assert _compile.url_rule(r"^/api/$")[1:] == ("/api/", _compile.URL_END)
    assert _compile.url_rule(r"^/api/.*\Z")[1:] == ("/api/", _compile.URL_LINE_STRICT)
    assert _compile.url_rule(r"^/api/\Z")[1:] == ("/api/", _compile.URL_END_STRICT)
    for general in (r"^/(a|b)/", r"(?i)^/api/", r"^/api/.+$", r"(?s)^.*$"):
        assert _compile.url_rule(general)[1:] == (None, _compile.URL_MATCH)


# -- Vary, as patch_vary_headers writes it ------------------------------------------------

VARY_TOKENS = st.sampled_from(["Origin", "origin", "ORIGIN", "Accept", "Cookie", "*", "", " ", "x-\xe9", "a b"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(VARY_TOKENS, st.sampled_from([",", ", ", " ,", " , ", ",\t"])), max_size=5))
def test_vary_as_patch_vary_headers(engine: ModuleType, parts: list[tuple[str, str]]) -> None:
    value = "".join(token + separator for token, separator in parts)[:-1] if parts else "Accept"
    expected = HttpResponse()
    expected["Vary"] = value
    patch_vary_headers(expected, ("origin",))
    got = HttpResponse()
    got["Vary"] = value
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True):
        got = HttpResponse()
        got["Vary"] = value
        policy(engine).after(RF.get("/"), got)
    assert list(got.items()) == list(expected.items())
    assert engine.django_vary(value, _compile.VARY_SPLIT) == expected["Vary"]


def test_vary_split_is_the_installed_djangos(engine: ModuleType) -> None:
    """The probe of the installed `patch_vary_headers` finds the split its version uses,
    and the engine gets it."""
    expected = "Django 6.1" if django.VERSION >= (6, 1) else "Django 4.2 to 6.0"
    assert _compile.VARY_SPLIT is _compile.VARY_SPLITS[expected]
    assert policy(engine).spec.vary_split is _compile.VARY_SPLIT


def test_vary_probes_tell_the_known_splits_apart(engine: ModuleType) -> None:
    """A `patch_vary_headers` that splits as one known version does is recognised as it."""
    for name, split in _compile.VARY_SPLITS.items():

        def patch(response: Any, newheaders: Any, split: Any = split) -> None:
            response.headers["Vary"] = engine.django_vary(response.headers["Vary"], split)

        assert _compile.vary_split_of(patch) is split, name
    assert _compile.vary_split_of(lambda response, newheaders: None) is None


def _vary_view(value: str) -> Any:
    def view(request: Any) -> HttpResponse:
        response = HttpResponse("ok")
        response["Vary"] = value
        return response

    return view


def _vary_answers(engine: ModuleType, value: str) -> tuple[str, str]:
    """Return the Vary header corsfast's middleware and django-cors-headers' send after a view set `value`."""
    request = {"HTTP_ORIGIN": "https://a.example"}
    with override_settings(CORS_ALLOWED_ORIGINS=["https://a.example"]):
        ours = middleware(engine, _vary_view(value))(RF.get("/", **request))
        theirs = corsheaders.middleware.CorsMiddleware(_vary_view(value))(RF.get("/", **request))
    assert list(ours.items()) == list(theirs.items())
    return ours["Vary"], theirs["Vary"]


# A view's Vary value, and the value the installed Django's patch_vary_headers makes of it.
VARY_BEFORE_6_1 = [
    ("Origin,", "Origin, "),
    ("", ", origin"),
    ("Accept,,Cookie", "Accept, , Cookie, origin"),
    (" Accept ", " Accept , origin"),
]
VARY_SINCE_6_1 = [
    ("Origin,", "Origin"),
    ("", "origin"),
    ("Accept,,Cookie", "Accept, Cookie, origin"),
    (" Accept ", "Accept, origin"),
]


@pytest.mark.skipif(django.VERSION >= (6, 1), reason="Django 6.1 drops empty Vary items")
@pytest.mark.parametrize(("value", "patched"), VARY_BEFORE_6_1)
def test_vary_empty_items_kept_before_django_6_1(engine: ModuleType, value: str, patched: str) -> None:
    assert _vary_answers(engine, value) == (patched, patched)


@pytest.mark.skipif(django.VERSION < (6, 1), reason="Django 4.2 to 6.0 keep empty Vary items")
@pytest.mark.parametrize(("value", "patched"), VARY_SINCE_6_1)
def test_vary_empty_items_dropped_since_django_6_1(engine: ModuleType, value: str, patched: str) -> None:
    assert _vary_answers(engine, value) == (patched, patched)


def test_unknown_patch_vary_headers_is_called_for_every_response(engine: ModuleType) -> None:
    """With no known split (a Django the engine does not know), Django's own patch runs."""
    calls = []

    def patch(response: Any, newheaders: Any) -> None:
        calls.append(response)
        patch_vary_headers(response, newheaders)

    with override_settings(CORS_ALLOW_ALL_ORIGINS=True):
        unknown = engine.DjangoPolicy(dataclasses.replace(policy(engine).spec, patch_vary=patch, vary_split=None))
        for vary in (None, "Accept", "Origin,"):
            got, expected = HttpResponse(), HttpResponse()
            if vary is not None:
                got["Vary"] = expected["Vary"] = vary
            unknown.after(RF.get("/", HTTP_ORIGIN="https://a.example"), got)
            patch_vary_headers(expected, ("origin",))
            assert got["Vary"] == expected["Vary"]
    assert len(calls) == 3


def test_vary_needing_django_goes_through_patch_vary_headers(engine: ModuleType) -> None:
    response = HttpResponse()
    response.headers._store["vary"] = ("vary", "\u0100ccept")  # stored raw: not latin-1
    expected = HttpResponse()
    expected.headers._store["vary"] = ("vary", "\u0100ccept")
    patch_vary_headers(expected, ("origin",))
    policy(engine).after(RF.get("/"), response)
    assert list(response.items()) == list(expected.items())
    assert expected["Vary"].startswith("=?utf-8?")  # Django MIME-encoded it, and so it is here


# -- header writes: the store as `response[name] = value` leaves it ---------------------------

RESPONSES = [
    lambda: HttpResponse("ok"),
    lambda: HttpResponse("ok", headers={"Vary": "Cookie", "Access-Control-Allow-Origin": "x", "X-A": "1"}),
    lambda: StreamingHttpResponse(iter([b"a"])),
    lambda: django_site.OwnSetItemResponse("own"),
]


@pytest.mark.parametrize("make", RESPONSES)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_writes_equal_the_public_api(engine: ModuleType, make: Any, method: str) -> None:
    cors = {
        "CORS_ALLOWED_ORIGINS": ["https://a.example"],
        "CORS_ALLOW_CREDENTIALS": True,
        "CORS_EXPOSE_HEADERS": ["X-A", "X-\xe9"],
        "CORS_ALLOW_PRIVATE_NETWORK": True,
    }
    headers = {"HTTP_ORIGIN": "https://a.example", "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK": "true"}
    with override_settings(**cors):
        ours = middleware(engine, lambda request: make())(RF.generic(method, "/", **headers))
        theirs = corsheaders.middleware.CorsMiddleware(lambda request: make())(RF.generic(method, "/", **headers))
    assert type(ours) is type(theirs)
    assert list(ours.items()) == list(theirs.items())
    assert ours.headers._store == theirs.headers._store
    assert ours.serialize_headers() == theirs.serialize_headers()
    if isinstance(ours, django_site.OwnSetItemResponse):
        # Its own __setitem__ saw every write, as under django-cors-headers.
        assert ours.writes == theirs.writes and "access-control-allow-origin" in ours.writes


def test_known_response_types() -> None:
    assert _compile.known_response_type(HttpResponse)
    assert _compile.known_response_type(StreamingHttpResponse)
    assert not _compile.known_response_type(django_site.OwnSetItemResponse)
    assert not _compile.known_response_type(dict)

    class OwnHasHeader(HttpResponse):
        def has_header(self, header: str) -> bool:
            return False

    class HeadersProperty(HttpResponse):
        headers = property(lambda self: {})  # type: ignore[assignment]

    assert not _compile.known_response_type(OwnHasHeader)
    assert not _compile.known_response_type(HeadersProperty)


# -- what the request is read from ----------------------------------------------------------


class _RewriteOrigin:
    """Reads `request.headers` (so it is built), then rewrites META: the built one wins."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        assert request.headers["Origin"] == "https://a.example"
        request.META["HTTP_ORIGIN"] = "https://b.example"
        request.META["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = "GET"
        return self.get_response(request)


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_request_headers_once_built_win_over_meta(engine: ModuleType, method: str) -> None:
    view: Any = lambda request: HttpResponse("ok")  # noqa: E731
    with override_settings(CORS_ALLOWED_ORIGINS=["https://a.example"]):
        ours = _RewriteOrigin(middleware(engine, view))(RF.generic(method, "/", HTTP_ORIGIN="https://a.example"))
        theirs = _RewriteOrigin(corsheaders.middleware.CorsMiddleware(view))(
            RF.generic(method, "/", HTTP_ORIGIN="https://a.example")
        )
    assert list(ours.items()) == list(theirs.items())
    assert ours["access-control-allow-origin"] == "https://a.example"


@pytest.mark.parametrize("origin", [b"https://a.example", b"https://b.example", 0, "https://a.example"])
def test_origin_of_another_type_in_meta(engine: ModuleType, origin: Any) -> None:
    """A hand-built META may hold anything: the same answer, or the same exception."""
    outcomes = []
    for make in (lambda v: middleware(engine, v), lambda v: django_site.Reference(v)):
        with override_settings(CORS_ALLOWED_ORIGINS=["https://a.example"], CORS_ALLOWED_ORIGIN_REGEXES=[r"x"]):
            request = RF.get("/")
            request.META["HTTP_ORIGIN"] = origin
            try:
                response = make(lambda request: HttpResponse("ok"))(request)
                outcomes.append(list(response.items()))
            except Exception as exc:
                outcomes.append([type(exc)])
    assert outcomes[0] == outcomes[1]


def test_view_result_must_be_a_response(engine: ModuleType) -> None:
    for make in (lambda v: middleware(engine, v), corsheaders.middleware.CorsMiddleware):
        with pytest.raises(AssertionError):
            make(lambda request: "not a response")(RF.get("/"))


# -- the origin cache ------------------------------------------------------------------------


def test_cache_is_bounded_and_cleared_when_full(engine: ModuleType) -> None:
    with override_settings(CORS_ALLOWED_ORIGIN_REGEXES=[r"https://[a-z0-9]+\.example"]):
        compiled = policy(engine)
        maxsize = compiled.spec.cache_size
        for i in range(maxsize + 10):
            assert compiled.lookup(f"https://o{i}.example").allowed
        hits, misses, size, current = compiled.cache_info()
        assert (hits, misses, size) == (0, maxsize + 10, maxsize) and current == 10
        compiled.lookup(f"https://o{maxsize + 5}.example")
        assert compiled.cache_info()[0] == 1
        long = "https://" + "a" * compiled.spec.max_origin_length + ".example"
        assert compiled.lookup(long).allowed and compiled.cache_info()[3] == 10  # not cached
        compiled.cache_clear()
        assert compiled.cache_info() == (0, 0, maxsize, 0)
        assert type(compiled.cache_info()) is corsfast.CacheInfo and compiled.cache_info().maxsize == maxsize


def test_str_subclass_origin_is_not_cached(engine: ModuleType) -> None:
    class Origin(str):
        """A str subclass may hash and compare as it likes: its verdict is never cached."""

    with override_settings(CORS_ALLOWED_ORIGINS=["https://a.example"]):
        compiled = policy(engine)
        compiled.cache_clear()
        assert not compiled.lookup(Origin("https://a.example")).ask_signal
        assert compiled.lookup(Origin("https://b.example")).ask_signal  # not allowed by the settings
        assert compiled.cache_info()[1:] == (2, compiled.spec.cache_size, 0)
        assert compiled.lookup("https://a.example").allowed
        assert compiled.cache_info()[3] == 1


@pytest.mark.slow
def test_threads_share_one_policy(engine: ModuleType) -> None:
    """8 threads x 2000 requests, allowed / refused / unique origins, on one middleware."""
    with override_settings(
        CORS_ALLOWED_ORIGINS=["https://a.example"], CORS_ALLOWED_ORIGIN_REGEXES=[r"https://t\d+\.example"]
    ):
        shared = middleware(engine)
        failures: list[str] = []

        def worker(index: int) -> None:
            for i in range(2000):
                kind = (index + i) % 3
                origin = ("https://a.example", f"https://t{index}x{i}.example", f"https://t{index}{i}.example")[kind]
                response = shared(RF.get("/", HTTP_ORIGIN=origin))
                allowed = response.get("access-control-allow-origin")
                if allowed != (None if kind == 1 else origin):
                    failures.append(origin)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


# -- recompiling when settings change -----------------------------------------------------------


def test_a_change_during_compilation_is_not_lost(engine: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    state = _compile.state_for(engine)
    real_read = _compile.Snapshot.read

    def read_then_change() -> Any:
        snapshot = real_read()
        state.generation += 1  # a setting changed while this compilation ran
        return snapshot

    with override_settings(CORS_ALLOWED_ORIGINS=["https://a.example"]):
        monkeypatch.setattr(_compile.Snapshot, "read", staticmethod(read_then_change))
        state.refresh()
        assert state.compiled != state.generation  # so the next request compiles again
        monkeypatch.setattr(_compile.Snapshot, "read", staticmethod(real_read))
        response = middleware(engine)(RF.get("/", HTTP_ORIGIN="https://a.example"))
        assert state.compiled == state.generation
    assert response["access-control-allow-origin"] == "https://a.example"


def test_only_cors_settings_recompile(engine: ModuleType) -> None:
    state = _compile.state_for(engine)
    before = state.generation
    with override_settings(DEBUG=True, USE_TZ=False):
        assert state.generation == before
    with override_settings(CORS_ALLOW_CREDENTIALS=True, CORS_ORIGIN_WHITELIST=[]):
        assert state.generation == before + 2
    assert state.generation == before + 4  # and again when they are put back


def test_settings_of_other_shapes_are_served_by_the_methods(engine: ModuleType) -> None:
    """A shape the checks refuse is not compiled; django-cors-headers' answer, or its error."""
    cases: list[dict[str, Any]] = [
        {"CORS_ALLOW_CREDENTIALS": 1, "CORS_ALLOW_ALL_ORIGINS": True},
        {"CORS_PREFLIGHT_MAX_AGE": "600", "CORS_ALLOW_ALL_ORIGINS": True},
        {"CORS_ALLOWED_ORIGIN_REGEXES": ["("]},
        {"CORS_URLS_REGEX": "("},
    ]
    for cors in cases:
        with override_settings(**cors):
            state = _compile.state_for(engine)
            state.refresh()
            assert state.policy is None and state.snapshot is not None
            outcomes = []
            for make in (lambda v: middleware(engine, v), django_site.Reference):
                try:
                    response = make(lambda request: HttpResponse("ok"))(
                        RF.options("/", HTTP_ORIGIN="https://a.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
                    )
                    outcomes.append(list(response.items()))
                except Exception as exc:
                    outcomes.append([type(exc), str(exc)])
            assert outcomes[0] == outcomes[1], cors


CONTROL_SETTINGS = [
    {"CORS_EXPOSE_HEADERS": ["X-A\x00B"]},
    {"CORS_ALLOW_HEADERS": ["x-a\x0bb"]},
    {"CORS_ALLOW_METHODS": ["GET\x7f"]},
    {"CORS_ALLOW_HEADERS": ["a\nb"]},
    {"CORS_EXPOSE_HEADERS": ["X-A\r\nSet-Cookie: s=1"]},
]


@pytest.mark.parametrize(
    "cors", CONTROL_SETTINGS, ids=["expose-nul", "allow-vt", "method-del", "allow-lf", "expose-crlf"]
)
def test_header_values_with_control_characters_are_improperly_configured(
    engine: ModuleType, cors: dict[str, Any]
) -> None:
    """django-cors-headers writes a NUL, VT or DEL from these settings into responses (and fails on
    every response for CR or LF); corsfast refuses them where the middleware is made."""
    from django.core.exceptions import ImproperlyConfigured

    preflight = RF.options("/", HTTP_ORIGIN="https://a.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True, **cors):
        value = next(iter(cors.values()))[0]
        try:
            answered = corsheaders.middleware.CorsMiddleware(lambda request: HttpResponse("ok"))(preflight)
        except Exception as exc:  # CR or LF: Django refuses the header on the response
            assert "\r" in value or "\n" in value, exc
        else:
            assert any(value in v for _, v in answered.items()), list(answered.items())
        with pytest.raises(ImproperlyConfigured, match="control character"):
            middleware(engine)
    # Put right, the next request compiles again and is answered.
    response = middleware(engine)(RF.get("/", HTTP_ORIGIN="https://a.example"))
    assert response.status_code == 200


def test_a_tab_in_a_header_value_is_sent_as_django_cors_headers_sends_it(engine: ModuleType) -> None:
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True, CORS_EXPOSE_HEADERS=["X-A,\tX-B"]):
        request = RF.get("/", HTTP_ORIGIN="https://a.example")
        ours = middleware(engine)(request)
        theirs = corsheaders.middleware.CorsMiddleware(lambda request: HttpResponse("ok"))(request)
        assert ours["access-control-expose-headers"] == theirs["access-control-expose-headers"] == "X-A,\tX-B"


def test_preflight_response_is_a_fresh_django_response(engine: ModuleType) -> None:
    with override_settings(CORS_ALLOW_ALL_ORIGINS=True):
        first = middleware(engine)(RF.options("/", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"))
        second = middleware(engine)(RF.options("/", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"))
        expected = corsheaders.middleware.CorsMiddleware(lambda r: HttpResponse())(
            RF.options("/", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
        )
    assert first is not second and first.headers._store is not second.headers._store
    assert type(first) is HttpResponse and isinstance(first, HttpResponseBase)
    assert vars(first).keys() == vars(expected).keys()
    assert list(first.items()) == list(expected.items()) and first.content == expected.content == b""
