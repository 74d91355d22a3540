"""`corsfast check` on in-process WSGI and ASGI apps, its fix ordering, wrapping and colours.

Each in-process verdict is compared with what the same app object answers when it is
served for real (wsgiref for WSGI apps, uvicorn for ASGI apps) and checked over HTTP.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from cases import serve_asgi

from corsfast.check import fetch
from corsfast.check._terminal import wrap
from corsfast.check.report import Problem, Report, check
from corsfast.check.request import parse_request
from corsfast.check.runner import app_interface, open_transport
from corsfast.cli import main

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
ESCAPE = "\033["

APPS_SOURCE = '''
import threading

from flask import Flask, jsonify
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from corsfast.flask import CORS
from corsfast.starlette import CORSMiddleware

ALLOWED = "https://app.example.com"

flask_app = Flask(__name__)
CORS(flask_app, origins=[ALLOWED], methods=["GET", "POST"], allow_headers=["Content-Type"])


@flask_app.route("/api/data", methods=["GET", "POST", "PUT"])
def data():
    return jsonify(ok=True)


def bare(environ, start_response):
    """A WSGI function that does CORS by hand: GET and POST from ALLOWED, JSON bodies."""
    origin = environ.get("HTTP_ORIGIN")
    cors = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")] if origin == ALLOWED else []
    if environ["REQUEST_METHOD"] == "OPTIONS":
        cors += [("Access-Control-Allow-Methods", "GET, POST"), ("Access-Control-Allow-Headers", "Content-Type")]
        start_response("204 No Content", cors)
        return [b""]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), *cors])
    return [b"got ", body]


async def endpoint(request):
    return JSONResponse({"ok": True})


asgi_app = CORSMiddleware(
    Starlette(routes=[Route("/api/data", endpoint, methods=["GET", "POST", "PUT"])]),
    allow_origins=[ALLOWED],
    allow_methods=["GET", "POST"],
    allow_headers=["Content-Type"],
)


async def asgi_function(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"access-control-allow-origin", b"*")]})
    await send({"type": "http.response.body", "body": b"ok"})


def raising(environ, start_response):
    raise RuntimeError("the database is down")


release = threading.Event()


def hanging(environ, start_response):
    release.wait(30)
    start_response("200 OK", [])
    return [b""]


def typeless(*args):
    return None


not_an_app = 42
'''

DJANGO_SOURCE = """
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
"""

# (arguments, expected verdict, a rule the blocked verdict must name)
SCENARIOS = [
    (["--origin", APP], "allowed", None),
    (["--origin", APP, "--method", "POST", "-H", "Content-Type: application/json", "--data", "{}"], "allowed", None),
    (["--origin", APP, "--method", "PUT", "-H", "Content-Type: application/json"], "blocked", "method-not-allowed"),
    (["--origin", EVIL], "blocked", "allow-origin-missing"),
]
_counter = iter(range(10**9))


@pytest.fixture
def apps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Write the example apps as a fresh module in a temporary current directory; return its name."""
    name = f"wsgiapps_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(APPS_SOURCE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    try:
        yield name
    finally:
        sys.modules.pop(name, None)


def run_check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    status, out, err = run_check(capsys, *args, "--json", "--no-probe")
    assert err == ""
    report: dict[str, Any] = json.loads(out)
    assert report["exit_status"] == status
    return report


def cors_headers(exchange: dict[str, Any] | None) -> tuple[int, list[tuple[str, str]]]:
    """Return the status and the access-control-* headers of an exchange's response."""
    if exchange is None:
        return 0, []
    response = exchange["response"]
    headers = sorted((n.lower(), v) for n, v in response["headers"] if n.lower().startswith("access-control-"))
    return response["status"], headers


def check_both_ways(
    capsys: pytest.CaptureFixture[str], target: str, base: str, path: str
) -> list[tuple[list[str], dict[str, Any]]]:
    """Check every scenario in-process (`target`) and served (`base`): the expected verdict,
    the same answers both ways. Return each scenario's arguments and in-process report."""
    reports = []
    for args, verdict, rule in SCENARIOS:
        in_process = run_json(capsys, target, "--path", path, *args)
        served = run_json(capsys, base + path, *args)
        assert in_process["verdict"] == verdict, (args, in_process["failures"])
        assert rule is None or rule in [f["rule"] for f in in_process["failures"]]
        assert_same_answers(in_process, served)
        reports.append((args, in_process))
    return reports


def assert_same_answers(in_process: dict[str, Any], served: dict[str, Any]) -> None:
    assert in_process["verdict"] == served["verdict"]
    assert [f["rule"] for f in in_process["failures"]] == [f["rule"] for f in served["failures"]]
    assert cors_headers(in_process["preflight"]["exchange"]) == cors_headers(served["preflight"]["exchange"])
    assert cors_headers(in_process["actual"]) == cors_headers(served["actual"])
    assert in_process["readable_headers"] is None or "content-type" in in_process["readable_headers"]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app with wsgiref on 127.0.0.1 in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- in-process verdicts equal served ones ----------------------------------------------------


@pytest.mark.server
@pytest.mark.parametrize(("attribute", "path"), [("flask_app", "/api/data"), ("bare", "/api/data")])
def test_wsgi_app_in_process_answers_as_served(
    apps: str, capsys: pytest.CaptureFixture[str], attribute: str, path: str
) -> None:
    import importlib

    app = getattr(importlib.import_module(apps), attribute)
    assert app_interface(app) == "wsgi"
    for base in serve_wsgi(app):
        for args, in_process in check_both_ways(capsys, f"{apps}:{attribute}", base, path):
            if "--data" in args and attribute == "bare":
                assert in_process["actual"]["response"]["body"] == "got {}"


@pytest.mark.server
def test_asgi_app_in_process_answers_as_served(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    app = importlib.import_module(apps).asgi_app
    assert app_interface(app) == "asgi"
    for base in serve_asgi(app):
        check_both_ways(capsys, f"{apps}:asgi_app", base, "/api/data")


@pytest.mark.server
def test_django_wsgi_application_in_process_answers_as_served(
    apps: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import django_site
    from django.core.handlers.wsgi import WSGIHandler

    middleware = django_site.CORSFAST["py" if os.environ.get("CORSFAST_NO_EXTENSIONS") else "c"]
    name = f"djangowsgi_{os.getpid()}_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(DJANGO_SOURCE)
    settings = {"CORS_ALLOWED_ORIGINS": [APP], "CORS_ALLOW_METHODS": ["GET", "POST"]}
    try:
        with django_site.site(middleware, **settings):
            import importlib

            application = importlib.import_module(name).application
            assert isinstance(application, WSGIHandler) and app_interface(application) == "wsgi"
            for base in serve_wsgi(application):
                check_both_ways(capsys, f"{name}:application", base, "/api/plain/")
    finally:
        sys.modules.pop(name, None)


# -- telling ASGI from WSGI -------------------------------------------------------------------


def test_app_interface_detection(apps: str) -> None:
    import importlib

    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler

    module = importlib.import_module(apps)
    assert app_interface(module.flask_app) == "wsgi"
    assert app_interface(module.bare) == "wsgi"
    assert app_interface(object.__new__(WSGIHandler)) == "wsgi"  # Django's wsgi.application
    assert app_interface(module.asgi_app) == "asgi"
    assert app_interface(module.asgi_app.app) == "asgi"  # the Starlette app inside
    assert app_interface(module.asgi_function) == "asgi"
    assert ASGIHandler.__call__ and app_interface(object.__new__(ASGIHandler)) == "asgi"
    assert app_interface(module.typeless) is None


def test_neither_asgi_nor_wsgi_is_one_clear_line(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_check(capsys, f"{apps}:typeless", "--origin", APP)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ASGI app (async def app(scope, receive, send)" in err
    assert "WSGI app (def app(environ, start_response)" in err
    assert "--interface asgi or --interface wsgi" in err
    status, out, err = run_check(capsys, f"{apps}:not_an_app", "--origin", APP)
    assert status == 2 and err.count("\n") == 1 and "(not callable): expected an ASGI app" in err


def test_interface_option_forces_the_kind(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_check(capsys, f"{apps}:bare", "--origin", APP, "--interface", "wsgi")
    assert status == 0 and out.startswith("ALLOWED")
    # Forced to the wrong kind, the app fails on every request: the failure is said once.
    status, out, _ = run_check(capsys, f"{apps}:flask_app", "--origin", APP, "--interface", "asgi")
    assert status == 1
    assert out.count("TypeError") == 1, out


def test_wsgi_app_that_raises_is_a_500_said_once(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_check(capsys, f"{apps}:raising", "--origin", APP)
    assert status == 1 and err == ""
    assert "< 500 Internal Server Error" in out and "fix the server error first" in out
    assert out.count("RuntimeError: the database is down") == 1


def test_wsgi_app_that_never_answers_times_out(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    try:
        status, out, err = run_check(capsys, f"{apps}:hanging", "--origin", APP, "--timeout", "0.2")
        assert status == 2 and out == ""
        assert "the app did not answer GET / within 0.2 s" in err
    finally:
        importlib.import_module(apps).release.set()


def test_wsgi_environ_is_pep_3333(apps: str) -> None:
    transport = open_transport(f"{apps}:bare")
    environ = transport.environ(  # type: ignore[attr-defined]
        "POST",
        "/a%20b/c?x=1&y=%20",
        [("host", "testserver"), ("content-type", "text/plain"), ("content-length", "2"), ("x-a", "1"), ("x-a", "2")],
        b"hi",
    )
    assert environ["PATH_INFO"] == "/a b/c" and environ["QUERY_STRING"] == "x=1&y=%20"
    assert environ["CONTENT_TYPE"] == "text/plain" and environ["CONTENT_LENGTH"] == "2"
    assert "HTTP_CONTENT_TYPE" not in environ and environ["HTTP_X_A"] == "1,2"
    assert environ["wsgi.input"].read() == b"hi" and environ["wsgi.version"] == (1, 0)
    from wsgiref.validate import validator

    found: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        found.append(environ["REQUEST_METHOD"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    environ.pop("REMOTE_ADDR")
    checked = validator(app)
    result = checked(environ, lambda status, headers, exc_info=None: lambda data: None)
    list(result)
    result.close()
    assert found == ["POST"]


# -- the first fix is the actionable one ------------------------------------------------------


def _failure(rule: str, hint: str, refers: bool = False) -> Problem:
    return Problem("preflight", fetch.Failure(rule, f"{rule} failed", (), hint, "", refers))


def test_fixes_put_actionable_hints_first() -> None:
    report = Report("t", "u", parse_request(APP, "PUT", [], False, "/", None))
    report.problems = [
        _failure("preflight-status", "the middleware refused it; see below", refers=True),
        _failure("method-not-allowed", "add 'PUT'"),
        _failure("headers-not-allowed", "add 'x-token'"),
    ]
    assert [p.failure.rule for p in report.fixes()] == ["method-not-allowed", "headers-not-allowed", "preflight-status"]
    lines = report.to_text().splitlines()
    assert lines[2] == "  fix:         add 'PUT'"
    assert lines[3] == "  why:         the middleware refused it; see below"
    assert "add 'PUT'" not in "\n".join(lines[4:])  # shown once
    # With no actionable hint, the referring one is still shown as the fix.
    report.problems = report.problems[:1]
    assert report.to_text().splitlines()[2] == "  fix:         the middleware refused it; see below"


def test_blocked_starlette_preflight_shows_the_actionable_fix_first(
    apps: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--origin", APP, "--method", "PUT", "-H", "Content-Type: application/json", "--path", "/api/data"]
    status, out, _ = run_check(capsys, f"{apps}:asgi_app", *args)
    assert status == 1
    fixes = [line for line in out.splitlines() if line.strip().startswith("fix:")]
    assert fixes[0] == "  fix:         add 'PUT' to the server's allowed methods (allow_methods)"
    assert "preflight-status" in out.splitlines()[1]


# -- wrapping and colour ----------------------------------------------------------------------


def blocked_text(apps: str, width: int | None, color: bool = False) -> str:
    transport = open_transport(f"{apps}:asgi_app")
    try:
        request = parse_request(
            APP, "PUT", ["Content-Type: application/json", "X-Token: 1"], True, "/api/data?q=a-very-long-query", None
        )
        return check(transport, request, probe=False).to_text(width, color)
    finally:
        transport.close()


@pytest.mark.parametrize("width", [60, 80, 100])
def test_wrapping_never_splits_a_word(apps: str, width: int) -> None:
    whole = blocked_text(apps, None)
    wrapped = blocked_text(apps, width)
    assert max(map(len, whole.splitlines())) > 100  # the test has something to wrap
    for line in wrapped.splitlines():
        assert len(line) <= width or " " not in line.strip(), line
    # Same words in the same order: no word was cut or joined.
    assert wrapped.split() == whole.split()
    # Continuation lines sit under the text after their label.
    lines = wrapped.splitlines()
    fix = next(i for i, line in enumerate(lines) if line.startswith("  fix:"))
    if len(lines[fix + 1]) - len(lines[fix + 1].lstrip()) != 0:
        assert lines[fix + 1].startswith(" " * len("  fix:         "))


def test_wrap_keeps_long_words_whole() -> None:
    word = "https://example.com/" + "a" * 80
    assert wrap(f"  seen:        < location: {word} next", 60) == [
        "  seen:        < location:",
        f"               {word}",
        "               next",
    ]


def test_no_escape_codes_without_a_terminal(apps: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_check(capsys, f"{apps}:asgi_app", "--origin", EVIL, "--no-probe")
    assert ESCAPE not in out
    _, out, _ = run_check(capsys, f"{apps}:asgi_app", "--origin", EVIL, "--no-probe", "--color", "always")
    assert out.startswith("\033[1;31mBLOCKED\033[0m  GET")
    plain = run_check(capsys, f"{apps}:asgi_app", "--origin", EVIL, "--no-probe")[1]
    assert re.sub(r"\033\[[0-9;]*m", "", out) == plain


def run_in_pty(apps: str, extra_env: dict[str, str], *args: str) -> str:
    """Run `corsfast check` with its output on a pseudo-terminal 70 columns wide; return what it wrote."""
    import fcntl
    import pty
    import struct
    import termios

    parent, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 70, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "PYTHONPATH")}
    env.update(extra_env)
    command = [sys.executable, "-m", "corsfast", "check", f"{apps}:asgi_app", *args]
    process = subprocess.Popen(command, stdout=child, stderr=child, stdin=subprocess.DEVNULL, env=env)
    os.close(child)
    output = b""
    while True:
        try:
            data = os.read(parent, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        output += data
    os.close(parent)
    assert process.wait(timeout=60) in (0, 1)
    return output.decode().replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_terminal_gets_colour_and_wrapping_unless_no_color(apps: str) -> None:
    args = ("--origin", APP, "--method", "PUT", "-H", "Content-Type: application/json", "--path", "/api/data")
    coloured = run_in_pty(apps, {}, *args)
    assert "\033[1;31mBLOCKED\033[0m" in coloured and "\033[1;32m  fix:\033[0m" in coloured
    plain = re.sub(r"\033\[[0-9;]*m", "", coloured)
    assert all(len(line) <= 70 or " " not in line.strip() for line in plain.splitlines())
    assert ESCAPE not in run_in_pty(apps, {"NO_COLOR": "1"}, *args)
    assert ESCAPE not in run_in_pty(apps, {}, *args, "--color", "never")
    assert ESCAPE in run_in_pty(apps, {"NO_COLOR": ""}, *args)  # empty: colour stays on (no-color.org)
    assert ESCAPE in run_in_pty(apps, {"NO_COLOR": "1"}, *args, "--color", "always")


# -- --help -----------------------------------------------------------------------------------


def test_help_stands_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "README" not in text
    for option in (
        "--origin", "--method", "--header", "--credentials", "--path", "--data", "--json", "--no-probe",
        "--interface", "--color", "--width", "--timeout", "--insecure",
    ):  # fmt: skip
        assert option in text
    for key in (
        "corsfast_check", "verdict", "reason", "exit_status", "target", "url", "origin", "method", "credentials",
        "request_headers", "preflight", "actual", "blocked_by", "failures", "readable_headers",
        "hidden_headers", "probes", "notes",
    ):  # fmt: skip
        assert re.search(rf"\b{key}\b", text), key
    assert "corsfast check: why is my CORS failing?" in text
    assert "corsfast check flaskapp:app" in text and "WSGI" in text and "NO_COLOR" in text
