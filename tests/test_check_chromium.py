"""`corsfast check` against real headless Chromium: same servers, same requests, same verdicts.

One uvicorn server on 127.0.0.1 serves every app of the matrix (the first path segment
picks the app) and a blank page for any host. Chromium opens that page from
`http://<label>.localhost:<port>` (Chromium resolves every *.localhost name to loopback,
so each label is its own origin) and runs `fetch()` to `http://api.localhost:<port>/...`;
the checker sends the same request to `http://127.0.0.1:<port>/...` over HTTP. For every
case the test asserts that both say the same (allowed or blocked), that both send (or do not
send) the same preflight with the same Access-Control-Request-Method and -Headers values,
when allowed, that the response headers a script can read are the same, and that the
checker's reason id is the one Chromium's console message names (`CHROMIUM_REASONS`).

Rows in `KNOWN_DIVERGENCES` are where Chromium departs from the Fetch standard and the
checker follows the standard; the test pins both sides so a change in Chromium shows up.

Needs /usr/bin/chromium, /usr/bin/chromedriver and selenium (`apt-get install -y chromium
chromium-driver`, `pip install selenium`); skipped if missing, failed if missing under CI=true.
This is a self-contained harness; tests/browser/ has the full browser suite.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

import corsfast
import corsfast.starlette
from corsfast.cli import main

pytestmark = pytest.mark.server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = "apt-get install -y chromium chromium-driver && pip install selenium"
MARKER = "CORSFAST_CHECK_CHROMIUM_SESSION"
ENGINES = ("c", "py")
"""Each corsfast app runs on both engines: `corsfast._engine_c` and `corsfast._engine_py`."""


@dataclass(frozen=True)
class Case:
    app: str
    page: str
    """Label of the page origin: http://<page>.localhost:<port>."""
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    credentials: bool = False
    allowed: bool = True
    """The verdict both must reach."""

    @property
    def id(self) -> str:
        parts = [self.app, self.page, self.method]
        parts += [f"{name}={value if len(value) < 20 else f'<{len(value)} bytes>'}" for name, value in self.headers]
        if self.credentials:
            parts.append("cred")
        return "-".join(parts)


def each_engine(app: str, *args: Any, **kwargs: Any) -> list[Case]:
    return [Case(f"{app}_{engine}", *args, **kwargs) for engine in ENGINES]


TOKEN = (("X-Token", "1"),)
CASES: list[Case] = [
    # corsfast native: exact, one-label wildcard and regex origins; no credentials
    *each_engine("native", "app"),
    *each_engine("native", "evil", allowed=False),
    *each_engine("native", "app", "PUT", TOKEN),
    *each_engine("native", "app", "DELETE", allowed=False),
    *each_engine("native", "app", "POST", (("Content-Type", "application/json"),)),
    *each_engine("native", "app", "POST", (("Content-Type", "text/plain;charset=UTF-8"),)),
    *each_engine("native", "app", "GET", (("X-Other", "1"),), allowed=False),
    *each_engine("native", "app", "GET", (("Range", "bytes=0-1"),)),
    *each_engine("native", "app", "GET", (("Range", "bytes=-1"),), allowed=False),
    *each_engine("native", "app", "GET", (("Accept", "a" * 129),)),
    *each_engine("native", "app", credentials=True, allowed=False),
    *each_engine("native", "a.wild"),
    *each_engine("native", "a.b.wild", allowed=False),
    *each_engine("native", "abc.re", "PUT", TOKEN),
    *each_engine("native", "abc.re.evil", "PUT", TOKEN, allowed=False),
    # corsfast native with credentials
    *each_engine("nativecred", "app", credentials=True),
    *each_engine("nativecred", "abc.re", "PUT", TOKEN, credentials=True),
    *each_engine("nativecred", "app", "PUT", (("X-Other", "1"),), credentials=True, allowed=False),
    # Starlette's own middleware and corsfast's drop-in, same configuration
    *[
        case
        for app in ("starlette", *(f"starletteshim_{e}" for e in ENGINES))
        for case in (
            Case(app, "app", credentials=True),
            Case(app, "app", "PATCH", allowed=False),
            Case(app, "app", "PUT", (("X-Other", "1"),), allowed=False),
            Case(app, "abc.re", "DELETE", TOKEN, credentials=True),
            Case(app, "a.b.re", allowed=False),
            Case(app, "evil", "PUT", TOKEN, allowed=False),
        )
    ],
    Case("starletteall", "evil", "PUT", (("X-Anything", "1"),)),
    Case("starletteall", "evil", credentials=True, allowed=False),
    Case("starletteall", "evil", "patch", allowed=False),
    # Kui's own allow_cors
    Case("kui", "app", "PUT", TOKEN),
    Case("kui", "app", credentials=True, allowed=False),
    Case("kui", "evil", "PUT", allowed=False),
    # no CORS at all
    Case("none", "app", allowed=False),
    Case("none", "app", "PUT", allowed=False),
    # literal `*` in ACAM/ACAH/ACEH with a reflected origin and ACAC: true
    Case("star", "app", "PUT", (("X-A", "1"),)),
    Case("star", "app", "PUT", (("X-A", "1"),), credentials=True, allowed=False),
    Case("star", "app", "GET", (("X-A", "1"),), credentials=True, allowed=False),
    Case("star", "app"),
    Case("star", "app", credentials=True),
    # near-miss Access-Control-Allow-Origin values
    Case("upper", "app", allowed=False),
    Case("slash", "app", allowed=False),
    Case("twice", "app", allowed=False),
    Case("acactrue", "app", credentials=True, allowed=False),
]
KNOWN_DIVERGENCES = {
    # The Fetch standard never lets `*` cover Authorization (CORS non-wildcard request-header
    # name); Chromium 156 still allows it and only logs a deprecation warning.
    Case("star", "app", "GET", (("Authorization", "Bearer x"),)): {"checker": False, "chromium": True},
}


# -- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def data_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """What sits behind each middleware: 200 with a body, OPTIONS 405."""
    if scope["method"] == "OPTIONS":
        await send(
            {
                "type": "http.response.start",
                "status": 405,
                "headers": [(b"allow", b"GET, POST, PUT, DELETE"), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"content-length", b"2"),
                (b"x-request-id", b"42"),
                (b"x-internal", b"1"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def fixed_headers_app(make: Any) -> Any:
    """An app that answers every request itself with `make(origin)` as CORS headers."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        origin = dict(scope["headers"]).get(b"origin", b"").decode("latin-1")
        headers = [(k.encode(), v.encode()) for k, v in make(origin)]
        if scope["method"] == "OPTIONS":
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*headers, (b"content-length", b"2"), (b"x-request-id", b"42")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def available_engines() -> dict[str, Any]:
    """Import both engines; a missing compiled engine leaves its apps out (and its rows fail
    loudly unless deselected with --no-c-extensions)."""
    engines = {}
    for name in ENGINES:
        try:
            engines[name] = importlib.import_module(f"corsfast._engine_{name}")
        except ImportError:
            if name != "c":
                raise
    return engines


def build_apps(port: int) -> dict[str, Any]:
    from kui.asgi import HttpView, Kui
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    def origin(label: str) -> str:
        return f"http://{label}.localhost:{port}"

    regex = rf"http://[a-z]+\.re\.localhost:{port}"
    apps: dict[str, Any] = {}
    engines = available_engines()
    for name, engine in engines.items():
        for credentials in (False, True):
            apps[f"native{'cred' if credentials else ''}_{name}"] = corsfast.CORSMiddleware(
                data_app,
                allow_origins=[origin("app"), f"http://*.wild.localhost:{port}", re.compile(regex)],
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["X-Token", "Content-Type"],
                expose_headers=["X-Request-Id"],
                allow_credentials=credentials,
                _engine=engine,
            )

    async def endpoint(request: Any) -> Any:
        return PlainTextResponse("ok", headers={"x-request-id": "42", "x-internal": "1"})

    routes = [Route("/{path:path}", endpoint, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])]
    starlette_options = dict(
        allow_origins=[origin("app")],
        allow_origin_regex=regex,
        allow_methods=["GET", "PUT", "DELETE"],
        allow_headers=["X-Token"],
        allow_credentials=True,
        expose_headers=["X-Request-Id"],
    )
    apps["starlette"] = Starlette(routes=routes, middleware=[Middleware(StarletteCORSMiddleware, **starlette_options)])
    for name, engine in engines.items():
        apps[f"starletteshim_{name}"] = Starlette(
            routes=routes,
            middleware=[Middleware(corsfast.starlette.CORSMiddleware, **starlette_options, _engine=engine)],
        )
    apps["starletteall"] = Starlette(
        routes=routes,
        middleware=[Middleware(StarletteCORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])],
    )
    apps["none"] = Starlette(routes=routes)
    kui = Kui(
        cors_config={
            "allow_origins": [re.compile(re.escape(origin("app")))],
            "allow_headers": ["X-Token"],
            "expose_headers": ["X-Request-Id"],
        }
    )

    @kui.router.http("/{path:any}")
    class Items(HttpView):
        @classmethod
        async def get(cls) -> Any:
            return "ok", 200, {"x-request-id": "42"}

        @classmethod
        async def put(cls) -> Any:
            return "ok", 200, {"x-request-id": "42"}

    apps["kui"] = kui
    credentialed = [("access-control-allow-credentials", "true")]
    apps["star"] = fixed_headers_app(
        lambda o: [
            ("access-control-allow-origin", o),
            *credentialed,
            ("access-control-allow-methods", "*"),
            ("access-control-allow-headers", "*"),
            ("access-control-expose-headers", "*"),
        ]
    )
    apps["upper"] = fixed_headers_app(lambda o: [("access-control-allow-origin", o.replace("app.", "APP."))])
    apps["slash"] = fixed_headers_app(lambda o: [("access-control-allow-origin", o + "/")])
    apps["twice"] = fixed_headers_app(
        lambda o: [("access-control-allow-origin", o), ("access-control-allow-origin", o)]
    )
    apps["acactrue"] = fixed_headers_app(
        lambda o: [("access-control-allow-origin", o), ("access-control-allow-credentials", "True")]
    )
    return apps


@dataclass
class Recorder:
    """Requests that reached the server, by path: (method, ACRM, ACRH)."""

    seen: dict[str, list[tuple[str, Optional[str], Optional[str]]]] = field(default_factory=dict)

    def add(self, scope: dict[str, Any]) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        entry = (
            scope["method"],
            headers.get("access-control-request-method"),
            headers.get("access-control-request-headers"),
        )
        self.seen.setdefault(scope["path"], []).append(entry)


@dataclass
class Environment:
    port: int
    driver: Any
    recorder: Recorder
    page: str = ""


def start_server(apps: dict[str, Any], port: int, recorder: Recorder) -> tuple[Any, threading.Thread]:
    import uvicorn

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        recorder.add(scope)
        if scope["path"] == "/page":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
            await send({"type": "http.response.body", "body": b"<!doctype html><title>page</title>"})
            return
        await apps[scope["path"].split("/")[1]](scope, receive, send)

    server = uvicorn.Server(
        uvicorn.Config(dispatch, host="127.0.0.1", port=port, log_level="error", lifespan="off", interface="asgi3")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    return server, thread


def marked_processes(token: str) -> list[int]:
    """Live processes whose environment carries this session's marker (chromedriver's children)."""
    needle = f"{MARKER}={token}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in environ and state not in (b"Z", b"X"):
            pids.append(int(entry))
    return pids


def browser_missing() -> Optional[str]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} not found"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


@pytest.fixture(scope="module")
def env() -> Iterator[Environment]:
    missing = browser_missing()
    if missing:
        message = f"{missing}; install with: {INSTALL_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    port = free_port()
    recorder = Recorder()
    server, thread = start_server(build_apps(port), port, recorder)
    token = uuid.uuid4().hex
    profile = tempfile.mkdtemp(prefix="corsfast-check-chromium-")
    driver = None
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(CHROMEDRIVER, env={**os.environ, MARKER: token})
        driver = webdriver.Chrome(options=options, service=service)
        driver.set_script_timeout(15)
        driver.set_page_load_timeout(15)
        yield Environment(port, driver, recorder)
    finally:
        try:
            if driver is not None:
                driver.quit()
        finally:
            deadline = time.monotonic() + 10
            while marked_processes(token) and time.monotonic() < deadline:
                time.sleep(0.1)
            for pid in marked_processes(token):  # ours: they carry this session's marker
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            server.should_exit = True
            thread.join(timeout=10)
            shutil.rmtree(profile, ignore_errors=True)
    assert not marked_processes(token), "Chromium processes left behind"
    assert not thread.is_alive(), "uvicorn left running"


FETCH = """
const [url, method, headers, credentials, done] = arguments;
const init = {method, headers, mode: "cors"};
if (credentials) init.credentials = "include";
fetch(url, init).then(
  r => {
    const names = [];
    for (const [name] of r.headers) names.push(name);
    done({allowed: true, status: r.status, names});
  },
  e => done({allowed: false, error: String(e)}));
"""


def browser_fetch(env: Environment, case: Case, path: str) -> dict[str, Any]:
    page = f"http://{case.page}.localhost:{env.port}"
    if env.page != page:
        env.driver.get(f"{page}/page")
        env.page = page
    url = f"http://api.localhost:{env.port}{path}"
    return dict(env.driver.execute_async_script(FETCH, url, case.method, dict(case.headers), case.credentials))


CHROMIUM_REASONS: tuple[tuple[re.Pattern[str], Optional[str]], ...] = (
    (re.compile(r"Method \S+ is not allowed by Access-Control-Allow-Methods"), "method_not_allowed"),
    (re.compile(r"Request header field \S+ is not allowed by Access-Control-Allow-Headers"), "header_not_allowed"),
    # Chromium stops at the status, where the checker goes on to the rules that say why.
    (re.compile(r"It does not have HTTP ok status"), None),
    (re.compile(r"'Access-Control-Allow-(?:Origin|Credentials)'"), "origin_not_allowed"),
)
"""How Chromium's console words each refusal -> the reason id (None: it names no cause)."""


def chromium_refusal(env: Environment, path: str) -> Optional[str]:
    """Return Chromium's console message refusing the fetch of `path`, or None (clears the log)."""
    messages = [entry["message"] for entry in env.driver.get_log("browser")]
    refusals = [m for m in messages if f"{path}' from origin" in m and "blocked by CORS policy" in m]
    assert len(refusals) <= 1, refusals
    return refusals[0] if refusals else None


def checker(env: Environment, case: Case, path: str) -> tuple[int, dict[str, Any]]:
    args = [
        "check",
        f"http://127.0.0.1:{env.port}{path}",
        "--origin",
        f"http://{case.page}.localhost:{env.port}",
        "--method",
        case.method,
        "--json",
        "--no-probe",
    ]
    for name, value in case.headers:
        args += ["--header", f"{name}: {value}"]
    if case.credentials:
        args.append("--credentials")
    out = io.StringIO()
    with redirect_stdout(out):
        status = main(args)
    return status, json.loads(out.getvalue())


ALL_CASES = [*CASES, *KNOWN_DIVERGENCES]


def params(cases: list[Case]) -> list[Any]:
    """One param per case, sorted by page origin (fewer navigations); compiled-engine rows marked."""
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.c_extension] if case.app.endswith("_c") else [])
        for case in sorted(cases, key=lambda c: c.page)
    ]


@pytest.mark.parametrize("case", params(ALL_CASES))
def test_checker_agrees_with_chromium(env: Environment, case: Case) -> None:
    index = ALL_CASES.index(case)
    browser_path, checker_path = f"/{case.app}/{index}/browser", f"/{case.app}/{index}/checker"
    seen_by_browser = browser_fetch(env, case, browser_path)
    status, report = checker(env, case, checker_path)
    checker_allowed = report["verdict"] == "allowed"
    refusal = chromium_refusal(env, browser_path)
    assert status == (0 if checker_allowed else 1)

    expected = KNOWN_DIVERGENCES.get(case, {"checker": case.allowed, "chromium": case.allowed})
    assert (checker_allowed, seen_by_browser["allowed"]) == (expected["checker"], expected["chromium"]), (
        report["failures"],
        seen_by_browser,
    )

    # The same requests reached the server: the same preflight (byte for byte) and, when the
    # verdicts agree, the same actual request or none.
    browser_requests = env.recorder.seen.get(browser_path, [])
    checker_requests = env.recorder.seen.get(checker_path, [])
    assert browser_requests[:1] == checker_requests[:1]
    if case not in KNOWN_DIVERGENCES:
        assert browser_requests == checker_requests
    assert [r[0] == "OPTIONS" for r in checker_requests[:1]] == [report["preflight"]["needed"]]

    if checker_allowed and seen_by_browser["allowed"]:
        assert report["readable_headers"] == sorted(seen_by_browser["names"])

    # The same reason: the one Chromium's console names, where it names one.
    if case not in KNOWN_DIVERGENCES:
        assert (refusal is None) == seen_by_browser["allowed"], refusal
        if refusal is None:
            assert report["reason"] == "allowed"
        else:
            reasons = [reason for pattern, reason in CHROMIUM_REASONS if pattern.search(refusal)]
            assert reasons, f"a refusal message the table does not know: {refusal}"
            if reasons[0] is None:
                assert report["reason"] != "allowed", refusal
            else:
                assert report["reason"] == reasons[0], (refusal, report["failures"])


def test_matrix_covers_the_brief() -> None:
    """The matrix keeps allowed and blocked rows for each family of cases."""
    verdicts = {(case.app.split("_")[0], case.allowed) for case in CASES}
    for app in ("native", "nativecred", "starlette", "starletteshim", "kui", "star"):
        assert (app, True) in verdicts and (app, False) in verdicts, app
    assert len({case.id for case in ALL_CASES}) == len(ALL_CASES)
