"""Engine operations on both engines (and Starlette's equivalent where it has one), grouped per operation.

pytest benchmarks/test_bench_engine.py
"""

from __future__ import annotations

import re
import warnings
from types import ModuleType
from typing import Any

import pytest

from corsfast._options import native_options, starlette_options
from corsfast.bench import browser
from corsfast.bench.suites import asgi

pytestmark = pytest.mark.filterwarnings("ignore::corsfast.CORSConfigWarning")

EXACT = list(browser.EXACT_ORIGINS)
WILDCARD = "https://*.example.dev"
WILDCARD_ORIGIN = b"https://preview-7.example.dev"
GET_HEADERS = list(browser.SCENARIOS[1].headers)
PREFLIGHT_HEADERS = list(browser.SCENARIOS[3].headers)
APP_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"18")]


def _native(engine: ModuleType, cache_size: int = 4096, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "allow_origins": [*EXACT, WILDCARD, re.compile(browser.ORIGIN_REGEX)],
        "allow_methods": browser.ALLOW_METHODS,
        "allow_headers": browser.ALLOW_HEADERS,
        "expose_headers": (),
        "allow_credentials": False,
        "max_age": 600,
        "allow_private_network": False,
        "cache_size": cache_size,
        "max_origin_length": 2048,
        "strict": False,
    }
    arguments.update(overrides)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return engine.CORSPolicy(native_options(**arguments))


def _starlette_dialect(engine: ModuleType) -> Any:
    return engine.CORSPolicy(
        starlette_options(
            EXACT, browser.ALLOW_METHODS, browser.ALLOW_HEADERS, False, browser.ORIGIN_REGEX, False, (), 600
        )
    )


def _starlette_middleware() -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(
        asgi.bare_app,
        allow_origins=EXACT,
        allow_methods=browser.ALLOW_METHODS,
        allow_headers=browser.ALLOW_HEADERS,
        allow_origin_regex=browser.ORIGIN_REGEX,
    )


ORIGINS = {
    "hit": (browser.ALLOWED_ORIGIN, True),
    "miss": (browser.DISALLOWED_ORIGIN, False),
    "regex": (browser.REGEX_ORIGIN, True),
    "wildcard": (WILDCARD_ORIGIN, True),
}
CONTENDERS = ("c", "py", "starlette")


def _origin_params() -> list[Any]:
    params = []
    for kind in ORIGINS:
        for cached in (True, False):
            group = f"origin {kind} ({'cached' if cached else 'cache_size=0: match + entry build'})"
            for contender in CONTENDERS:
                if contender == "starlette" and (kind == "wildcard" or cached):
                    continue  # Starlette has no cache and no one-label wildcard
                params.append(
                    pytest.param(
                        kind,
                        cached,
                        contender,
                        id=f"{kind}-{'cached' if cached else 'uncached'}-{contender}",
                        marks=pytest.mark.benchmark(group=group),
                    )
                )
    return params


@pytest.mark.parametrize(("kind", "cached", "contender"), _origin_params())
def test_origin_check(benchmark: Any, engine_module: Any, kind: str, cached: bool, contender: str) -> None:
    """`policy.is_allowed_origin(origin)`; Starlette: `CORSMiddleware.is_allowed_origin(str)`."""
    origin, allowed = ORIGINS[kind]
    if contender == "starlette":
        function, argument = _starlette_middleware().is_allowed_origin, origin.decode("latin-1")
    else:
        policy = _native(engine_module(contender), cache_size=4096 if cached else 0)
        function, argument = policy.is_allowed_origin, origin
    assert function(argument) is allowed
    assert benchmark(function, argument) is allowed


@pytest.mark.benchmark(group="scan request headers (GET, 13 headers)")
def test_scan_get(benchmark: Any, engine: ModuleType) -> None:
    assert benchmark(engine.scan_request_headers, GET_HEADERS)[0] == browser.ALLOWED_ORIGIN


@pytest.mark.benchmark(group="scan request headers (preflight, 13 headers)")
def test_scan_preflight(benchmark: Any, engine: ModuleType) -> None:
    origin, method, names, _ = benchmark(engine.scan_request_headers, PREFLIGHT_HEADERS)
    assert (origin, method, names) == (browser.ALLOWED_ORIGIN, b"PUT", browser.REQUESTED_HEADERS)


@pytest.mark.benchmark(group="is_preflight")
def test_is_preflight(benchmark: Any, engine: ModuleType) -> None:
    policy = _native(engine)
    assert benchmark(policy.is_preflight, "OPTIONS", browser.ALLOWED_ORIGIN, b"PUT") is True


def _preflight_params() -> list[Any]:
    params = []
    for dialect in ("native", "starlette"):
        for contender in (*("c", "py"), *(("starlette",) if dialect == "starlette" else ())):
            params.append(
                pytest.param(
                    dialect,
                    contender,
                    id=f"{dialect}-{contender}",
                    marks=pytest.mark.benchmark(group=f"preflight answer ({dialect} dialect)"),
                )
            )
    return params


@pytest.mark.parametrize(("dialect", "contender"), _preflight_params())
def test_preflight_response(benchmark: Any, engine_module: Any, dialect: str, contender: str) -> None:
    """`policy.preflight_response(...)`; Starlette: `CORSMiddleware.preflight_response(Headers)`."""
    if contender == "starlette":
        from starlette.datastructures import Headers

        middleware = _starlette_middleware()
        headers = Headers(raw=PREFLIGHT_HEADERS)
        response = benchmark(middleware.preflight_response, headers)
        assert response.status_code == 200
        return
    engine = engine_module(contender)
    policy = _native(engine) if dialect == "native" else _starlette_dialect(engine)
    arguments = (browser.ALLOWED_ORIGIN, b"PUT", browser.REQUESTED_HEADERS, None)
    status, headers, _ = benchmark(policy.preflight_response, *arguments)
    assert status == 200 and (b"access-control-allow-origin", browser.ALLOWED_ORIGIN) in headers


@pytest.mark.parametrize("origin", [browser.ALLOWED_ORIGIN, None], ids=["allowed", "no-origin"])
def test_response_headers(benchmark: Any, engine: ModuleType, origin: bytes | None) -> None:
    """`policy.response_headers(origin, app_headers)`: the header block assembly of an actual response."""
    benchmark.group = f"response header assembly ({'allowed origin' if origin else 'no Origin'})"
    policy = _native(engine)
    headers = benchmark(policy.response_headers, origin, APP_HEADERS)
    assert headers[: len(APP_HEADERS)] == APP_HEADERS
    assert ((b"access-control-allow-origin", origin) in headers) is (origin is not None)


@pytest.mark.benchmark(group="response header assembly (app set Vary: slow path)")
def test_response_headers_merge(benchmark: Any, engine: ModuleType) -> None:
    policy = _native(engine)
    app_headers = [*APP_HEADERS, (b"vary", b"Accept-Encoding")]
    headers = benchmark(policy.response_headers, browser.ALLOWED_ORIGIN, app_headers)
    assert (b"vary", b"Accept-Encoding, Origin") in headers
