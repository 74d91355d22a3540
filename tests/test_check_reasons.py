"""`corsfast check` prints a reason id for every request it checks, in the vocabulary of
corsfast's counters and refusal logs: each rule it applies maps to its reason, shown by real
checks of real apps (corsfast's ASGI, WSGI, Starlette and Flask middlewares on both engines,
Starlette's and Kui's own CORS, and hand-written servers for the answers no CORS library
gives), in the JSON output and in the text report.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from corsfast._observe.reasons import REASON_IDS
from corsfast.check import fetch
from corsfast.check.reasons import PRECEDENCE, RULE_REASONS, STATUS_ONLY_REASON, origin_is_invalid, request_reason
from corsfast.cli import main

APPS_SOURCE = textwrap.dedent(
    '''
    import importlib
    import os
    import re

    from flask import Flask
    from kui.asgi import HttpView, Kui
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    import corsfast
    import corsfast.flask
    import corsfast.starlette
    import corsfast.wsgi

    ENGINE = importlib.import_module(os.environ["CORSFAST_CHECK_TEST_ENGINE"])
    APP = "https://app.example.com"


    async def plain(scope, receive, send):
        """No CORS of its own: 200 for all, OPTIONS 405."""
        if scope["type"] != "http":
            return
        status = 405 if scope["method"] == "OPTIONS" else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


    native = corsfast.CORSMiddleware(
        plain, allow_origins=[APP], allow_methods=["GET", "PUT"], allow_headers=["X-Token"], _engine=ENGINE
    )
    native_star = corsfast.CORSMiddleware(plain, allow_origins=["*"], _engine=ENGINE)
    native_credentials = corsfast.CORSMiddleware(plain, allow_origins=[APP], allow_credentials=True, _engine=ENGINE)


    def refuse(origin):
        return False


    def fail(origin):
        raise RuntimeError("the origin store is down")


    native_func_refused = corsfast.CORSMiddleware(plain, allow_origin_func=refuse, _engine=ENGINE)
    native_func_error = corsfast.CORSMiddleware(plain, allow_origin_func=fail, _engine=ENGINE)


    def plain_wsgi(environ, start_response):
        status = "405 Method Not Allowed" if environ["REQUEST_METHOD"] == "OPTIONS" else "200 OK"
        start_response(status, [("Content-Length", "2")])
        return [b"ok"]


    native_wsgi = corsfast.wsgi.CORSMiddleware(
        plain_wsgi, allow_origins=[APP], allow_methods=["GET", "PUT"], allow_headers=["X-Token"], _engine=ENGINE
    )

    flask_app = Flask(__name__)
    corsfast.flask.CORS(flask_app, origins=[APP], methods=["GET", "PUT"], allow_headers=["X-Token"], _engine=ENGINE)


    @flask_app.route("/", methods=["GET", "PUT", "DELETE"])
    def index():
        return "ok"


    async def endpoint(request):
        return PlainTextResponse("ok")


    def starlette(cls, **options):
        routes = [Route("/", endpoint, methods=["GET", "PUT", "DELETE"])]
        return Starlette(routes=routes, middleware=[Middleware(cls, **options)])


    starlette_shim = starlette(
        corsfast.starlette.CORSMiddleware,
        allow_origins=[APP],
        allow_methods=["GET", "PUT"],
        allow_headers=["X-Token"],
        _engine=ENGINE,
    )
    starlette_shim_star = starlette(corsfast.starlette.CORSMiddleware, allow_origins=["*"], _engine=ENGINE)
    starlette_own_star = starlette(StarletteCORSMiddleware, allow_origins=["*"])
    kui_app = Kui(cors_config={"allow_origins": [re.compile(re.escape(APP))]})


    @kui_app.router.http("/")
    class Index(HttpView):
        @classmethod
        async def get(cls):
            return "ok"


    # Hand-written servers: the answers of a misconfigured proxy or a CORS layer written by hand.
    FIXED = {
        # Access-Control-Allow-Origin set twice (by the app and by a proxy).
        "/twice": (200, [("access-control-allow-origin", APP), ("access-control-allow-origin", APP)]),
        # Another origin than the page's.
        "/other": (200, [("access-control-allow-origin", "https://other.example")]),
        # Lists that are not comma-separated tokens.
        "/bad-methods": (204, [("access-control-allow-origin", APP), ("access-control-allow-methods", "GET PUT")]),
        "/bad-headers": (
            204,
            [
                ("access-control-allow-origin", APP),
                ("access-control-allow-methods", "PUT"),
                ("access-control-allow-headers", "X-A X-B"),
            ],
        ),
        # Wildcards, which a credentialed request (and Authorization) does not get.
        "/wildcards": (
            204,
            [
                ("access-control-allow-origin", APP),
                ("access-control-allow-credentials", "true"),
                ("access-control-allow-methods", "*"),
                ("access-control-allow-headers", "*"),
            ],
        ),
        # Everything allowed but the status: a layer behind the CORS headers answered 403.
        "/forbidden": (
            403,
            [
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", "*"),
                ("access-control-allow-headers", "*"),
            ],
        ),
    }


    async def fixed(scope, receive, send):
        if scope["type"] != "http":
            return
        status, headers = FIXED[scope["path"]]
        raw = [(name.encode(), value.encode()) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b""})
    '''
)

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
LONG = "https://" + "a" * 2100 + ".example.com"
CONTROL = "https://a\x01b.example.com"
_counter = iter(range(10**9))

# (app, arguments, the rules that fail (None: any), the reason). Every rule of RULE_REASONS
# appears in at least one case (test_every_rule_is_checked_end_to_end).
CASES: list[tuple[str, list[str], list[str] | None, str]] = [
    # allowed, simple and preflighted, on every kind of app
    ("native", ["--origin", APP], [], "allowed"),
    ("native", ["--origin", APP, "--method", "PUT", "-H", "X-Token: 1"], [], "allowed"),
    ("native_wsgi", ["--origin", APP, "--method", "PUT"], [], "allowed"),
    ("flask_app", ["--origin", APP, "--method", "PUT", "-H", "X-Token: 1"], [], "allowed"),
    ("starlette_shim", ["--origin", APP, "--method", "PUT"], [], "allowed"),
    ("kui_app", ["--origin", APP], [], "allowed"),
    # the origin
    ("native", ["--origin", EVIL], ["allow-origin-missing"], "origin_not_allowed"),
    (
        "native",
        ["--origin", EVIL, "--method", "PUT"],
        ["preflight-status", "allow-origin-missing", "method-not-allowed"],
        "origin_not_allowed",
    ),
    ("native_wsgi", ["--origin", EVIL], ["allow-origin-missing"], "origin_not_allowed"),
    ("flask_app", ["--origin", EVIL, "--method", "PUT"], None, "origin_not_allowed"),
    ("kui_app", ["--origin", EVIL], ["allow-origin-missing"], "origin_not_allowed"),
    ("plain", ["--origin", APP], ["allow-origin-missing"], "origin_not_allowed"),
    ("fixed", ["--origin", APP, "--path", "/twice"], ["allow-origin-multiple"], "origin_not_allowed"),
    ("fixed", ["--origin", APP, "--path", "/other"], ["allow-origin-mismatch"], "origin_not_allowed"),
    (
        "starlette_shim_star",
        ["--origin", APP, "--credentials"],
        ["allow-origin-wildcard-credentials"],
        "origin_not_allowed",
    ),
    ("native", ["--origin", APP, "--credentials"], ["allow-credentials-missing"], "origin_not_allowed"),
    ("kui_app", ["--origin", APP, "--credentials"], ["allow-credentials-invalid"], "origin_not_allowed"),
    # allow_origin_func's refusals answer as any refused origin: a browser cannot tell them apart
    ("native_func_refused", ["--origin", APP], ["allow-origin-missing"], "origin_not_allowed"),
    ("native_func_error", ["--origin", APP, "--method", "PUT"], None, "origin_not_allowed"),
    # an Origin corsfast refuses before any rule: over 2048 bytes, or a control character
    ("native_star", ["--origin", LONG], ["allow-origin-missing"], "origin_invalid"),
    ("native_star", ["--origin", CONTROL, "--method", "PUT"], None, "origin_invalid"),
    ("starlette_shim", ["--origin", LONG], ["allow-origin-missing"], "origin_invalid"),
    ("native_wsgi", ["--origin", CONTROL], ["allow-origin-missing"], "origin_invalid"),
    # ... which a server that never reads it (`*`), or has no such limit, allows
    ("starlette_shim_star", ["--origin", LONG], [], "allowed"),
    ("starlette_own_star", ["--origin", LONG], [], "allowed"),
    # the method
    ("native", ["--origin", APP, "--method", "DELETE"], ["method-not-allowed"], "method_not_allowed"),
    ("native_wsgi", ["--origin", APP, "--method", "DELETE"], ["method-not-allowed"], "method_not_allowed"),
    ("flask_app", ["--origin", APP, "--method", "DELETE"], ["method-not-allowed"], "method_not_allowed"),
    (
        "starlette_shim",
        ["--origin", APP, "--method", "DELETE"],
        ["preflight-status", "method-not-allowed"],
        "method_not_allowed",
    ),
    (
        "fixed",
        ["--origin", APP, "--method", "PUT", "--path", "/bad-methods"],
        ["allow-methods-invalid"],
        "method_not_allowed",
    ),
    (
        "fixed",
        ["--origin", APP, "--method", "PATCH", "--credentials", "--path", "/wildcards"],
        ["method-wildcard-credentials"],
        "method_not_allowed",
    ),
    # the headers
    ("native", ["--origin", APP, "-H", "X-Other: 1"], ["header-not-allowed"], "header_not_allowed"),
    ("native_wsgi", ["--origin", APP, "-H", "Authorization: Bearer x"], ["header-not-allowed"], "header_not_allowed"),
    ("flask_app", ["--origin", APP, "-H", "X-Other: 1"], ["header-not-allowed"], "header_not_allowed"),
    (
        "starlette_shim",
        ["--origin", APP, "-H", "X-Other: 1"],
        ["preflight-status", "header-not-allowed"],
        "header_not_allowed",
    ),
    (
        "fixed",
        ["--origin", APP, "--method", "PUT", "-H", "X-A: 1", "--path", "/bad-headers"],
        ["allow-headers-invalid"],
        "header_not_allowed",
    ),
    (
        "fixed",
        ["--origin", APP, "-H", "Authorization: Bearer x", "--path", "/wildcards"],
        ["header-authorization-wildcard"],
        "header_not_allowed",
    ),
    (
        "fixed",
        ["--origin", APP, "-H", "X-A: 1", "--credentials", "--path", "/wildcards"],
        ["header-wildcard-credentials"],
        "header_not_allowed",
    ),
    # several causes: the origin first, then the method, then the headers
    ("native", ["--origin", EVIL, "--method", "DELETE", "-H", "X-Other: 1"], None, "origin_not_allowed"),
    (
        "native",
        ["--origin", APP, "--method", "DELETE", "-H", "X-Other: 1"],
        ["method-not-allowed", "header-not-allowed"],
        "method_not_allowed",
    ),
    (
        "starlette_shim",
        ["--origin", APP, "--method", "DELETE", "-H", "X-Other: 1"],
        ["preflight-status", "method-not-allowed", "header-not-allowed"],
        "method_not_allowed",
    ),
    # a preflight refused by its status: with the origin's failure, or on its own
    (
        "plain",
        ["--origin", APP, "--method", "PUT"],
        ["preflight-status", "allow-origin-missing", "method-not-allowed"],
        "origin_not_allowed",
    ),
    ("fixed", ["--origin", APP, "--method", "PUT", "--path", "/forbidden"], ["preflight-status"], "origin_not_allowed"),
]


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: ModuleType) -> Iterator[str]:
    """Write the example apps as a fresh module in a temporary current directory; return its name."""
    name = f"reasonapps_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(APPS_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORSFAST_CHECK_TEST_ENGINE", engine.__name__)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    try:
        yield name
    finally:
        sys.modules.pop(name, None)


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["check", *args, "--no-probe"])
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


def case_id(case: tuple[str, list[str], list[str] | None, str]) -> str:
    app, args, _, reason = case
    shown = " ".join(arg if len(arg) < 40 else "LONG" for arg in args).replace("\x01", "^A")
    return f"{app} {shown} -> {reason}"


@pytest.mark.parametrize(("app", "args", "failed", "reason"), CASES, ids=[case_id(case) for case in CASES])
def test_each_request_gets_its_reason(
    apps: str,
    capsys: pytest.CaptureFixture[str],
    app: str,
    args: list[str],
    failed: list[str] | None,
    reason: str,
) -> None:
    """The JSON `reason` and the text report's `reason:` line name the reason of the rules that failed."""
    status, out = run_check(capsys, f"{apps}:{app}", *args, "--json")
    report: dict[str, Any] = json.loads(out)
    rules = [failure["rule"] for failure in report["failures"]]
    if failed is not None:
        assert rules == failed, report["failures"]
    assert report["reason"] == reason, rules
    assert report["verdict"] == ("allowed" if reason == "allowed" else "blocked")
    assert status == report["exit_status"] == (0 if reason == "allowed" else 1)

    text_status, text = run_check(capsys, f"{apps}:{app}", *args)
    assert text_status == status
    label = "  reason:               " if reason == "allowed" else "  reason:      "
    assert text.splitlines().count(label + reason) == 1, text


def test_every_rule_is_checked_end_to_end() -> None:
    """Every rule `corsfast check` applies has a reason, and a case above makes it fail for real."""
    source = Path(fetch.checks.__file__).read_text(encoding="utf-8")
    applied = set(re.findall(r'Failure\(\s*"([a-z]+(?:-[a-z]+)+)"', source))
    assert len(applied) >= 14
    assert applied == set(RULE_REASONS)
    exercised = {rule for _, _, failed, _ in CASES for rule in failed or ()}
    assert exercised == set(RULE_REASONS)


def test_the_table_speaks_the_shared_vocabulary() -> None:
    """Every reason the check can give is one of the counters' ids, the origin's first."""
    assert set(PRECEDENCE) <= set(REASON_IDS)
    assert PRECEDENCE[:2] == ("origin_invalid", "origin_not_allowed")
    assert {reason for reason in RULE_REASONS.values() if reason is not None} <= set(PRECEDENCE)
    assert STATUS_ONLY_REASON in REASON_IDS
    given = {reason for _, _, _, reason in CASES}
    # The ids a browser cannot tell apart (or that check never sends) are not printed.
    assert given == set(REASON_IDS) - {"no_origin", "private_network_not_allowed", "func_refused", "func_error"}


@pytest.mark.parametrize(
    ("origin", "invalid"),
    [
        (APP, False),
        ("null", False),
        ("https://" + "a" * (2048 - len("https://")), False),
        ("https://" + "a" * (2049 - len("https://")), True),
        ("https://a\x00b.example", True),
        ("https://a\x1fb.example", True),
        ("https://a\x7fb.example", True),
        ("https://a b.example", False),
    ],
)
def test_origin_is_invalid_as_the_engine_says(origin: str, invalid: bool) -> None:
    assert origin_is_invalid(origin) is invalid
    assert request_reason(["allow-origin-missing"], origin) == ("origin_invalid" if invalid else "origin_not_allowed")
    # A refusal for another cause keeps its reason: the server admitted the origin.
    assert request_reason(["method-not-allowed"], origin) == "method_not_allowed"
    assert request_reason(["preflight-status"], origin) == STATUS_ONLY_REASON
    assert request_reason([], origin) == "allowed"
