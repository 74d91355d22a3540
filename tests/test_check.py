"""`corsfast check`: CLI behaviour over example apps (corsfast native and Starlette drop-in on
both engines, Starlette's and Kui's own CORS, no CORS), in-process and in a subprocess, plus
an HTTP-URL check against a real uvicorn server.

The example apps live in `APPS_SOURCE`, written into a temporary directory that becomes
the current directory, the way a user runs `corsfast check myapp:app`. The corsfast apps
pick their engine from the `CORSFAST_CHECK_TEST_ENGINE` environment variable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cases import serve_asgi

from corsfast.check import report as check_report, request as check_request
from corsfast.cli import main

APPS_SOURCE = textwrap.dedent(
    '''
    import contextlib
    import importlib
    import os
    import re

    from kui.asgi import HttpView, Kui
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    import corsfast
    import corsfast.starlette

    ENGINE = importlib.import_module(os.environ.get("CORSFAST_CHECK_TEST_ENGINE", "corsfast._engine_py"))
    APP = "https://app.example.com"


    async def raw(scope, receive, send):
        """The app behind the corsfast native middleware: 200 for all, OPTIONS 405 (no CORS of its own)."""
        if scope["type"] != "http":
            return
        if scope["method"] == "OPTIONS":
            headers = [(b"allow", b"GET, POST, PUT"), (b"content-length", b"0")]
            await send({"type": "http.response.start", "status": 405, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"5")]
        headers += [(b"x-request-id", b"42"), (b"x-internal", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"hello"})


    native = corsfast.CORSMiddleware(
        raw,
        allow_origins=[APP, "https://*.example.org", re.compile(r"https://[a-z]+\\.regex\\.example")],
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["X-Token", "Content-Type"],
        expose_headers=["X-Request-Id"],
        allow_credentials=True,
        _engine=ENGINE,
    )
    native_no_credentials = corsfast.CORSMiddleware(raw, allow_origins=[APP], _engine=ENGINE)


    async def endpoint(request):
        return PlainTextResponse(f"hello {request.method}", headers={"x-request-id": "42", "x-internal": "1"})


    async def boom(request):
        raise RuntimeError("boom")


    ROUTES = [Route("/boom", boom), Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
    STARLETTE_OPTIONS = dict(
        allow_origins=[APP],
        allow_methods=["GET", "PUT"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Request-Id"],
    )
    def starlette(cls, **options):
        return Starlette(routes=ROUTES, middleware=[Middleware(cls, **options)])


    starlette_shim = starlette(corsfast.starlette.CORSMiddleware, **STARLETTE_OPTIONS, _engine=ENGINE)
    starlette_own = starlette(StarletteCORSMiddleware, **STARLETTE_OPTIONS)
    starlette_slash = starlette(StarletteCORSMiddleware, allow_origins=[APP + "/"])
    starlette_star = starlette(StarletteCORSMiddleware, allow_origins=["*"], allow_headers=["*"], allow_methods=["*"])
    none = Starlette(routes=ROUTES)

    kui_app = Kui(
        cors_config={
            "allow_origins": [re.compile(re.escape(APP))],
            "allow_headers": ["X-Token"],
            "expose_headers": ["X-Request-Id"],
        }
    )


    @kui_app.router.http("/{path:any}")
    class Items(HttpView):
        @classmethod
        async def get(cls):
            return "hello", 200, {"x-request-id": "42"}

        @classmethod
        async def put(cls):
            return "put", 200, {"x-request-id": "42"}


    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"greeting": "started"}


    async def greet(request):
        return PlainTextResponse(request.state.greeting)


    with_lifespan = Starlette(
        routes=[Route("/", greet)],
        lifespan=lifespan,
        middleware=[Middleware(StarletteCORSMiddleware, allow_origins=[APP])],
    )


    @contextlib.asynccontextmanager
    async def failing_lifespan(app):
        raise RuntimeError("database is down")
        yield


    broken_lifespan = Starlette(routes=ROUTES, lifespan=failing_lifespan)
    not_an_app = 42
    '''
)

APP = "https://app.example.com"
TOP_LEVEL_KEYS = {
    "corsfast_check",
    "verdict",
    "reason",
    "exit_status",
    "target",
    "url",
    "origin",
    "method",
    "credentials",
    "request_headers",
    "preflight",
    "actual",
    "blocked_by",
    "failures",
    "readable_headers",
    "hidden_headers",
    "probes",
    "notes",
}
FAILURE_KEYS = {"stage", "rule", "message", "headers", "hint", "spec"}
_counter = iter(range(10**9))


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: ModuleType) -> Iterator[str]:
    """Write the example apps as a fresh module in a temporary current directory; return its name."""
    name = f"checkapps_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(APPS_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CORSFAST_CHECK_TEST_ENGINE", engine.__name__)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        yield name
    finally:
        sys.modules.pop(name, None)


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    status, out, _ = run_check(capsys, *args, "--json")
    report = json.loads(out)
    assert report["exit_status"] == status
    return status, report


def rules(report: dict[str, Any]) -> list[str]:
    return [failure["rule"] for failure in report["failures"]]


# -- corsfast native ------------------------------------------------------------------------


def test_native_simple_get_allowed(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, report = run_json(capsys, f"{apps}:native", "--origin", APP)
    assert status == 0
    assert report["verdict"] == "allowed"
    assert report["preflight"]["needed"] is False and report["preflight"]["exchange"] is None
    assert report["blocked_by"] is None and report["failures"] == []
    assert report["readable_headers"] == ["content-length", "content-type", "x-request-id"]
    assert "x-internal" in report["hidden_headers"]
    sent = dict(report["actual"]["request"]["headers"])
    assert sent["origin"] == APP and "access-control-request-method" not in sent


def test_native_text_output(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_check(capsys, f"{apps}:native", "--origin", APP, "--method", "DELETE")
    assert status == 1
    first, second, seen, fix = out.splitlines()[:4]
    assert first.startswith("BLOCKED  DELETE http://testserver/  from https://app.example.com")
    assert "DELETE is not in Access-Control-Allow-Methods  [method-not-allowed]" in second
    assert seen == "  seen:        < access-control-allow-methods: GET, POST, PUT"
    assert "add 'DELETE'" in fix
    assert "Actual request: not sent" in out


@pytest.mark.parametrize(
    ("args", "status", "rule"),
    [
        (["--method", "PUT", "-H", "X-Token: 1"], 0, None),
        (["--method", "POST", "-H", "Content-Type: application/json"], 0, None),
        (["--method", "POST", "-H", "Content-Type: text/plain;charset=utf-8"], 0, None),
        (["--credentials"], 0, None),
        (["--method", "DELETE"], 1, "method-not-allowed"),
        (["-H", "X-Other: 1"], 1, "header-not-allowed"),
        (["-H", "Authorization: Bearer x"], 1, "header-not-allowed"),
    ],
)
def test_native_cases(
    apps: str, capsys: pytest.CaptureFixture[str], args: list[str], status: int, rule: str | None
) -> None:
    code, report = run_json(capsys, f"{apps}:native", "--origin", APP, *args)
    assert code == status
    assert (report["blocked_by"] or {}).get("rule") == rule


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://api.example.org", True),
        ("https://a.b.example.org", False),
        ("https://abc.regex.example", True),
        ("https://abc.regex.example.evil", False),
        ("https://evil.example", False),
        ("null", False),
    ],
)
def test_native_origin_rules(apps: str, capsys: pytest.CaptureFixture[str], origin: str, allowed: bool) -> None:
    code, report = run_json(capsys, f"{apps}:native", "--origin", origin, "--no-probe")
    assert code == (0 if allowed else 1)
    if not allowed:
        assert report["blocked_by"]["rule"] == "allow-origin-missing"
        assert report["blocked_by"]["stage"] == "actual"
        assert "did not allow this origin" in report["blocked_by"]["hint"]


def test_native_preflight_request_is_what_chromium_sends(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(
        capsys,
        f"{apps}:native",
        "--origin",
        APP,
        "--method",
        "put",
        "-H",
        "X-Token:1",
        "-H",
        "content-type: application/json",
        "-H",
        "Accept: */*",
    )
    assert report["method"] == "PUT"
    assert any("normalizes the method 'put' to 'PUT'" in note for note in report["notes"])
    sent = report["preflight"]["exchange"]["request"]
    assert sent["method"] == "OPTIONS"
    headers = dict(sent["headers"])
    assert headers["access-control-request-method"] == "PUT"
    assert headers["access-control-request-headers"] == "content-type,x-token"
    assert headers["origin"] == APP and headers["accept"] == "*/*"
    assert report["preflight"]["max_age"] == 600
    assert report["verdict"] == "allowed"


def test_data_is_the_actual_request_body(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    body = '{"a": 1}'
    code, report = run_json(
        capsys,
        f"{apps}:native",
        "--origin",
        APP,
        "--method",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data",
        body,
    )
    assert code == 0
    assert dict(report["actual"]["request"]["headers"])["content-length"] == str(len(body))
    assert "content-length" not in dict(report["preflight"]["exchange"]["request"]["headers"])


def test_native_credentials_refused_without_allow_credentials(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:native_no_credentials", "--origin", APP, "--credentials")
    assert code == 1
    assert report["blocked_by"]["rule"] == "allow-credentials-missing"
    assert "allow_credentials=True" in report["blocked_by"]["hint"]
    assert run_json(capsys, f"{apps}:native_no_credentials", "--origin", APP)[0] == 0


def test_cookie_is_sent_only_with_credentials(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(capsys, f"{apps}:native", "--origin", APP, "-H", "Cookie: session=1", "--credentials")
    assert dict(report["actual"]["request"]["headers"])["cookie"] == "session=1"
    assert report["request_headers"] == []
    _, report = run_json(capsys, f"{apps}:native", "--origin", APP, "-H", "Cookie: session=1")
    assert "cookie" not in dict(report["actual"]["request"]["headers"])
    assert any("only with credentials" in note for note in report["notes"])


def test_forbidden_headers_are_dropped_like_fetch(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(
        capsys, f"{apps}:native", "--origin", APP, "-H", "Origin: https://evil.example", "-H", "Sec-Fetch-Site: none"
    )
    assert report["verdict"] == "allowed"
    assert dict(report["actual"]["request"]["headers"])["origin"] == APP
    assert sum("forbidden request header" in note for note in report["notes"]) == 2


# -- corsfast.starlette against Starlette's own CORSMiddleware ------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--origin", APP],
        ["--origin", APP, "--credentials", "--method", "PUT", "-H", "X-Token: 1"],
        ["--origin", APP, "--method", "DELETE"],
        ["--origin", APP, "-H", "X-Other: 1"],
        ["--origin", "https://evil.example", "--method", "PUT"],
        ["--origin", "https://evil.example"],
        ["--origin", APP, "--path", "/boom"],
    ],
)
def test_starlette_shim_agrees_with_starlette(apps: str, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    own_status, own = run_json(capsys, f"{apps}:starlette_own", *args)
    shim_status, shim = run_json(capsys, f"{apps}:starlette_shim", *args)
    assert shim_status == own_status
    for key in ("verdict", "failures", "readable_headers", "hidden_headers", "preflight", "actual"):
        assert shim[key] == own[key], key


def test_starlette_refused_preflight(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:starlette_own", "--origin", APP, "--method", "DELETE", "-H", "X-Other: 1")
    assert code == 1
    assert rules(report) == ["preflight-status", "method-not-allowed", "header-not-allowed"]
    assert report["preflight"]["exchange"]["response"]["body"] == "Disallowed CORS method, headers"
    assert "Disallowed CORS method, headers" in report["blocked_by"]["message"]
    assert report["actual"] is None


def test_starlette_error_response_has_no_cors_headers(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Starlette's ServerErrorMiddleware answers 500 outside CORSMiddleware: the browser says CORS."""
    code, report = run_json(capsys, f"{apps}:starlette_own", "--origin", APP, "--path", "/boom", "--no-probe")
    assert code == 1
    assert report["actual"]["response"]["status"] == 500
    assert report["blocked_by"]["rule"] == "allow-origin-missing"
    assert "500" in report["blocked_by"]["hint"]


def test_starlette_configured_origin_with_trailing_slash(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_check(capsys, f"{apps}:starlette_slash", "--origin", APP)
    assert code == 1
    assert "the server allows 'https://app.example.com/'" in out
    assert "trailing slash" in out


def test_starlette_star_with_credentials(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:starlette_star", "--origin", APP, "--method", "PUT", "-H", "X-Anything: 1")
    assert code == 0
    code, report = run_json(capsys, f"{apps}:starlette_star", "--origin", APP, "--credentials")
    assert code == 1
    assert report["blocked_by"]["rule"] == "allow-origin-wildcard-credentials"
    assert report["blocked_by"]["headers"] == ["access-control-allow-origin: *"]


def test_lifespan_runs_before_requests(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:with_lifespan", "--origin", APP)
    assert code == 0
    assert report["actual"]["response"]["body"] == "started"


# -- Kui's own allow_cors, and no CORS at all ------------------------------------------------


def test_kui_preflight_allowed(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(
        capsys, f"{apps}:kui_app", "--origin", APP, "--method", "PUT", "-H", "X-Token: 1", "--path", "/items"
    )
    assert code == 0
    assert report["preflight"]["passed"] is True
    assert report["readable_headers"] == ["content-length", "content-type", "x-request-id"]


def test_kui_credentials_false(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:kui_app", "--origin", APP, "--credentials", "--path", "/items")
    assert code == 1
    assert report["blocked_by"]["rule"] == "allow-credentials-invalid"
    assert report["blocked_by"]["headers"] == ["access-control-allow-credentials: false"]


def test_kui_refused_origin(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(
        capsys,
        f"{apps}:kui_app",
        "--origin",
        "https://evil.example",
        "--method",
        "PUT",
        "--path",
        "/items",
        "--no-probe",
    )
    assert code == 1
    assert report["blocked_by"]["stage"] == "preflight"
    assert "allow-origin-missing" in rules(report)


def test_no_cors_simple_request(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(capsys, f"{apps}:none", "--origin", APP, "--no-probe")
    assert code == 1
    assert report["blocked_by"]["rule"] == "allow-origin-missing"
    assert "no CORS headers at all" in report["blocked_by"]["hint"]


def test_no_cors_preflight_405(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_check(capsys, f"{apps}:none", "--origin", APP, "--method", "PUT", "--no-probe")
    assert code == 1
    assert "status 405 Method Not Allowed" in out
    assert "no CORS layer answered the preflight" in out


# -- JSON shape -------------------------------------------------------------------------------


def test_json_keys_are_stable(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, allowed = run_json(capsys, f"{apps}:native", "--origin", APP, "--method", "PUT")
    _, blocked = run_json(capsys, f"{apps}:native", "--origin", APP, "--method", "DELETE")
    for report in (allowed, blocked):
        assert set(report) == TOP_LEVEL_KEYS
        assert report["corsfast_check"] == 1
        assert set(report["preflight"]) == {
            "needed",
            "reasons",
            "exchange",
            "passed",
            "allow_methods",
            "allow_headers",
            "max_age",
        }
        assert set(report["preflight"]["exchange"]) == {"request", "response"}
        assert set(report["preflight"]["exchange"]["response"]) == {"status", "reason", "headers", "body"}
    assert set(allowed["actual"]) == {"request", "response", "passed"}
    assert set(blocked["blocked_by"]) == FAILURE_KEYS
    assert blocked["blocked_by"]["spec"] == "https://fetch.spec.whatwg.org/#cors-preflight-fetch"
    assert blocked["actual"] is None and blocked["readable_headers"] is None


# -- usage errors (exit status 2) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--origin", APP, "--method", "PU T"], "not an HTTP method token"),
        (["--origin", APP, "--method", "TRACE"], "forbidden method"),
        (["--origin", APP + "/"], "a browser sends 'https://app.example.com'"),
        (["--origin", "app.example.com"], "is not an origin"),
        (["--origin", APP, "-H", "X Token: 1"], "NAME:VALUE"),
        (["--origin", APP, "-H", "X-Token"], "NAME:VALUE"),
        (["--origin", APP, "--path", "items"], "must start with /"),
        (["--origin", APP, "--data", "x"], "refuses a body with GET"),
    ],
)
def test_usage_errors(apps: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    status, out, err = run_check(capsys, f"{apps}:native", *args)
    assert status == 2
    assert out == ""
    assert message in err


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz:app", "cannot import 'no_such_module_xyz'"),
        ("{apps}:missing", "has no attribute 'missing'"),
        ("{apps}:not_an_app", "not callable"),
        ("{apps}", "neither an http(s):// URL nor module:attribute"),
        ("ftp://example.com/", "only http:// and https://"),
        ("{apps}:broken_lifespan", "lifespan startup failed"),
    ],
)
def test_bad_targets(apps: str, capsys: pytest.CaptureFixture[str], target: str, message: str) -> None:
    status, _, err = run_check(capsys, target.format(apps=apps), "--origin", APP)
    assert status == 2
    assert message in err


def test_unreachable_url(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, _, err = run_check(capsys, f"http://127.0.0.1:{port}/", "--origin", APP, "--timeout", "5")
    assert status == 2
    assert "cannot reach" in err


def test_runs_inside_a_running_event_loop(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The checker's own event loop moves to a helper thread when the caller's loop is running."""
    import asyncio

    async def inside() -> int:
        return main(["check", f"{apps}:native", "--origin", APP])

    assert asyncio.run(inside()) == 0
    assert capsys.readouterr().out.startswith("ALLOWED")


# -- subprocess: `python -m corsfast check` and the `corsfast` script ---------------------------


def subprocess_env(engine: ModuleType) -> dict[str, str]:
    env = dict(os.environ)
    env["CORSFAST_CHECK_TEST_ENGINE"] = engine.__name__
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.parametrize(
    ("args", "status", "first_line"),
    [
        (["{apps}:native", "--origin", APP, "--method", "PUT", "-H", "X-Token: 1"], 0, "ALLOWED  PUT"),
        (["{apps}:native", "--origin", APP, "--method", "PATCH"], 1, "BLOCKED  PATCH"),
        (["{apps}:kui_app", "--origin", APP, "--credentials"], 1, "BLOCKED  GET"),
        (["{apps}:none", "--origin", APP, "--no-probe"], 1, "BLOCKED  GET"),
        (["{apps}:native", "--origin", "HTTPS://APP.example.com"], 2, ""),
    ],
)
def test_subprocess(apps: str, engine: ModuleType, args: list[str], status: int, first_line: str) -> None:
    command = [sys.executable, "-m", "corsfast", "check", *(a.format(apps=apps) for a in args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=subprocess_env(engine), check=False)
    assert done.returncode == status, done.stderr
    if first_line:
        assert done.stdout.startswith(first_line)
    else:
        assert done.stdout == "" and "a browser sends 'https://app.example.com'" in done.stderr


def test_console_script_json(apps: str, engine: ModuleType) -> None:
    script = shutil.which("corsfast", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the corsfast console script is not installed next to this interpreter")
    done = subprocess.run(
        [script, "check", f"{apps}:starlette_shim", "--origin", APP, "--method", "DELETE", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(engine),
        check=False,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["blocked_by"]["rule"] == "preflight-status"
    assert "method-not-allowed" in rules(report)


# -- over HTTP, against uvicorn -----------------------------------------------------------------


@pytest.fixture
def http_server(apps: str) -> Iterator[str]:
    """Serve the example apps under uvicorn on 127.0.0.1 (dispatch on the first path segment)."""
    import importlib

    sys.path.insert(0, os.getcwd())
    module = importlib.import_module(apps)

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await getattr(module, scope["path"].split("/")[1])(scope, receive, send)

    yield from serve_asgi(dispatch)


@pytest.mark.server
def test_http_url_allowed_and_blocked(http_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_json(
        capsys, f"{http_server}/native/items", "--origin", APP, "--method", "PUT", "-H", "X-Token: 1"
    )
    assert code == 0
    assert report["url"] == f"{http_server}/native/items"
    assert report["preflight"]["exchange"]["request"]["path"] == "/native/items"
    # uvicorn adds date and server: a script cannot read them.
    assert {"date", "server"} <= set(report["hidden_headers"])
    assert "x-request-id" in report["readable_headers"]
    code, report = run_json(capsys, f"{http_server}/native/items", "--origin", APP, "--method", "DELETE")
    assert code == 1
    assert report["blocked_by"]["rule"] == "method-not-allowed"


@pytest.mark.server
def test_http_url_path_option_and_probes(http_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Over HTTP the server's configuration is unknown: near-miss origins are probed instead."""
    code, out, _ = run_check(capsys, http_server, "--path", "/starlette_slash/x?q=1", "--origin", APP)
    assert code == 1
    assert f"GET {http_server}/starlette_slash/x?q=1" in out
    assert "the server allows 'https://app.example.com/' (with a trailing slash)" in out
    assert "Near-miss origins tried: https://app.example.com/ ALLOWED" in out
    code, report = run_json(capsys, http_server, "--path", "/starlette_slash/x", "--origin", APP, "--no-probe")
    assert report["probes"] == []


# -- the pieces, directly ------------------------------------------------------------------------


def test_parse_request_validates_like_fetch() -> None:
    request = check_request.parse_request(
        "https://a.example", "delete", ["X-A:  1  ", "Host: x", "Cookie: a=1", "Cookie: b=2"], True, "/"
    )
    assert request.method == "DELETE"
    assert request.headers == [("X-A", "1")]
    assert request.cookie == "a=1; b=2"
    with pytest.raises(check_request.UsageError, match="beyond U\\+00FF"):
        check_request.parse_request("https://a.example", "GET", ["X-A: \u20ac"], False, "/")


def test_origin_variants() -> None:
    assert [v for v, _ in check_report._origin_variants("https://app.example.com")] == [
        "https://app.example.com/",
        "https://app.example.com:443",
        "http://app.example.com",
        "https://www.app.example.com",
    ]
    assert [v for v, _ in check_report._origin_variants("http://127.0.0.1:8000")] == [
        "http://127.0.0.1:8000/",
        "https://127.0.0.1:8000",
    ]
    assert check_report._origin_variants("null") == []


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--origin" in out and "Exit status: 0 allowed, 1 blocked, 2 usage error." in out
    assert re.search(r"--credentials", out)
