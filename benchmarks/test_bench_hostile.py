"""Hostile input: a preflight whose Access-Control-Request-Headers is 2 MB long.

    pytest benchmarks/test_bench_hostile.py

Starlette splits the value into a list of strings; corsfast checks it in one pass without
building a list (SECURITY.md P5). Two shapes: 2 MB of commas (refused: corsfast stops at the
first empty name) and 2 MB of an allowed name repeated (accepted: the whole value is read).
Every contender answers the same preflight, and the Starlette drop-in's answer is checked
against Starlette's before it is timed.
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable

import pytest
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

from corsfast.bench import browser, protocols
from corsfast.bench.suites import asgi
from corsfast.starlette import CORSMiddleware as FastStarletteCORSMiddleware

TWO_MB = 2 * 1024 * 1024
VALUES = {
    "commas": b"," * TWO_MB,
    "allowed-names": b"x-token, " * (TWO_MB // 9) + b"x-token",
}
OPTIONS = {"allow_origins": ["https://app.example.com"], "allow_headers": ["X-Token"]}


def _build(contender: str) -> Any:
    if contender == "starlette":
        return StarletteCORSMiddleware(asgi.bare_app, **OPTIONS)
    engine_id = contender.rsplit("-", 1)[1]
    if engine_id == "c" and os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0"):
        pytest.skip("CORSFAST_NO_EXTENSIONS is set")
    engine = importlib.import_module(f"corsfast._engine_{engine_id}")
    return FastStarletteCORSMiddleware(asgi.bare_app, **OPTIONS, _engine=engine)


def _scope(value: bytes) -> dict[str, Any]:
    scope = protocols.make_scope(next(s for s in browser.SCENARIOS if s.id == "d"))
    scope["headers"] = [
        (b"origin", b"https://app.example.com"),
        (b"access-control-request-method", b"GET"),
        (b"access-control-request-headers", value),
    ]
    return scope


@pytest.mark.parametrize("contender", ["starlette", "corsfast.starlette-c", "corsfast.starlette-py"])
@pytest.mark.parametrize(
    "shape",
    [pytest.param(shape, marks=pytest.mark.benchmark(group=f"2 MB request headers: {shape}")) for shape in VALUES],
)
def test_huge_request_headers(
    benchmark: Any, in_running_loop: Callable[[Callable[[], Any]], Any], shape: str, contender: str
) -> None:
    app = _build(contender)
    scope = _scope(VALUES[shape])
    reference = protocols.call_once(StarletteCORSMiddleware(asgi.bare_app, **OPTIONS), scope)
    messages = protocols.call_once(app, scope)
    assert messages == reference
    expected = (400, b"Disallowed CORS headers") if shape == "commas" else (200, b"OK")
    assert (messages[0]["status"], messages[-1]["body"]) == expected
    in_running_loop(lambda: benchmark.pedantic(protocols.drive, (app, scope), rounds=7, iterations=1))
