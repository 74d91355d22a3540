"""The WSGI table: `corsfast.wsgi.CORSMiddleware` above a bare WSGI app, and Kui's WSGI `allow_cors`.

Every contender is called as a WSGI server calls it (`protocols.wsgi_call`) on the environ of
the scenario's browser request (a fresh copy per call). The native middleware's overhead is
taken above the bare WSGI app and set beside the cheapest pure-Python WSGI middleware that
adds one header (a `start_response` wrapper), since no package it replaces runs there; the
Kui rows are taken above the same Kui WSGI app without CORS and divided by Kui's own.
"""

from __future__ import annotations

from typing import Any, Callable

from ..browser import SCENARIOS, answer_problem
from ..protocols import WSGIAnswer, wsgi_call, wsgi_environ
from ..suite import Contender, Scenario, Suite, Target, register_suite
from .asgi import engine_module, kui_kwargs, native_kwargs, quiet

__all__ = ("SUITE", "bare_wsgi")

_BODY = b'{"hello": "world"}'
_HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(_BODY)))]
_FLOOR_HEADER = ("X-Floor", "1")


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The floor: answer every request with a small JSON body (a fresh header list each time)."""
    start_response("200 OK", list(_HEADERS))
    return [_BODY]


class StartResponseFloor:
    """The cheapest pure-Python WSGI middleware that adds one prebuilt header: a closure
    around `start_response` that appends it. Any pure-Python middleware that edits the
    response costs at least this."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        def wrapped(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(_FLOOR_HEADER)
            return start_response(status, headers, exc_info)

        return self.app(environ, wrapped)


def _native(engine: str) -> Callable[[Scenario], Callable[[dict[str, Any]], WSGIAnswer]]:
    def build(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
        from corsfast.asgi import _on_engine
        from corsfast.wsgi import CORSMiddleware

        variant = _on_engine(CORSMiddleware, engine_module(engine))
        return wsgi_call(quiet(lambda: variant(bare_wsgi, **native_kwargs(scenario.config))))

    return build


def _kui_endpoint() -> Any:
    from kui.wsgi import PlainTextResponse

    return PlainTextResponse(_BODY.decode(), media_type="application/json")


def kui_wsgi_app(middleware: Any = None) -> Any:
    """Return a Kui WSGI app answering /api/data, with `middleware` as its one HTTP middleware."""
    from kui.wsgi import HttpRoute, Kui

    return Kui(routes=[HttpRoute("/api/data", _kui_endpoint)], http_middlewares=[middleware] if middleware else [])


def _kui(package: str, engine: str = "") -> Callable[[Scenario], Callable[[dict[str, Any]], WSGIAnswer]]:
    def build(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
        import importlib

        allow_cors = importlib.import_module(package).allow_cors
        extra: dict[str, Any] = {"_engine": engine_module(engine)} if engine else {}
        return wsgi_call(kui_wsgi_app(quiet(lambda: allow_cors(**kui_kwargs(scenario.config), **extra))))

    return build


def _fresh(build: Callable[[Scenario], Callable[[dict[str, Any]], WSGIAnswer]]) -> Callable[[Scenario], Any]:
    """Return `build` whose calls take a copy of the environ (Kui and the body reader write into it)."""

    def fresh(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
        call = build(scenario)
        return lambda environ: call(environ.copy())

    return fresh


def check_answer(contender: Contender, scenario: Scenario, answer: WSGIAnswer) -> Any:
    """Return why a WSGI answer is wrong for `scenario`, or None."""
    status, headers, body = answer
    if scenario.simple and body != _BODY:
        return f"unexpected body {body[:60]!r}"
    return answer_problem(scenario, status, headers, floor=contender.family == "floor")


def _contenders() -> list[Contender]:
    floor = (lambda s: wsgi_call(bare_wsgi)), (lambda s: wsgi_call(StartResponseFloor(bare_wsgi)))
    return [
        Contender("bare", "bare WSGI app (floor)", _fresh(floor[0]), None, family="floor"),
        Contender("corsfast.wsgi-c", "corsfast.wsgi compiled", _fresh(_native("c")), "bare", family="corsfast-c",
                  module="corsfast._engine_c"),
        Contender("corsfast.wsgi-py", "corsfast.wsgi pure twin", _fresh(_native("py")), "bare",
                  twin_of="corsfast.wsgi-c", family="corsfast-py"),
        Contender("start-response-wrapper", "pure-Python start_response wrapper (1 header)", _fresh(floor[1]), "bare",
                  family="floor"),
        Contender("kui-bare", "Kui WSGI app (floor for Kui)", _fresh(lambda s: wsgi_call(kui_wsgi_app())), None,
                  family="floor", module="kui"),
        Contender("kui", "Kui allow_cors (WSGI)", _fresh(_kui("kui.wsgi")), "kui-bare", family="kui", module="kui",
                  baseline="kui"),
        Contender("corsfast.kui-c", "corsfast.kui.wsgi allow_cors compiled", _fresh(_kui("corsfast.kui.wsgi", "c")),
                  "kui-bare", family="corsfast-c", module="corsfast._engine_c", baseline="kui"),
        Contender("corsfast.kui-py", "corsfast.kui.wsgi allow_cors pure twin",
                  _fresh(_kui("corsfast.kui.wsgi", "py")), "kui-bare", twin_of="corsfast.kui-c",
                  family="corsfast-py", module="kui", baseline="kui"),
    ]  # fmt: skip


SUITE = register_suite(
    Suite(
        "wsgi",
        "WSGI middleware cost",
        "sync",
        scenarios=SCENARIOS,
        make_request=lambda contender, scenario: wsgi_environ(scenario),
        check=check_answer,
        contenders=_contenders(),
        baseline="start-response-wrapper",
        baseline_label="start_response wrapper",
        targets=[
            Target("corsfast.wsgi-c", "start-response-wrapper", 2.0, simple_only=True),
            Target("corsfast.kui-c", "kui", 0.25),
            Target("corsfast.kui-py", "kui", 0.5),
        ],
        targets_title=(
            "targets (ratios within this run): corsfast.wsgi's overhead at most 2x the start_response "
            "wrapper's on simple requests; the Kui drop-in's at most 0.25 (compiled) and 0.5 (pure-Python) of Kui's"
        ),
        versions=("kui",),
        method="one loop calling the app as a WSGI server does (environ copied, body joined, close())",
        floor_note="floor = the bare WSGI app, or the same Kui WSGI app without CORS for Kui's allow_cors.",
        ratio_note="native rows: overhead / the pure-Python start_response wrapper's overhead; Kui rows: "
        "overhead / Kui allow_cors' overhead, in the same scenario.",
    )
)
