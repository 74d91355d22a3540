"""`corsfast.starlette.CORSMiddleware` under real servers: uvicorn, hypercorn and granian.

Each server runs as a subprocess on 127.0.0.1 (free ports) serving the same apps twice,
once with Starlette's `CORSMiddleware` and once with corsfast's, added the ways users add
them: FastAPI's `app.add_middleware(...)`, Starlette's `Middleware(...)`, and corsfast's
class wrapping a raw ASGI app as the server's top-level app (so the server's own ASGI 2/3
detection sees corsfast's class; uvicorn runs with its default `--interface auto`).
Real HTTP requests (httpx) must get the same status, headers (order and values, but
`date` and `server`) and body from both.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.server

APPS_MODULE = r'''
"""The apps the servers run (written to a temporary directory by test_starlette_servers.py)."""
import inspect
import os

from fastapi import FastAPI, Request as FastAPIRequest
from fastapi.responses import PlainTextResponse as FastAPIPlainText, StreamingResponse as FastAPIStreaming
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

import corsfast.starlette
from corsfast import _engine

CONFIGS = {
    "specific": dict(
        allow_origins=["https://app.example.com"],
        allow_origin_regex=r"https://.*\.example\.org",
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["X-Example", "Content-Type"],
        allow_credentials=True,
        expose_headers=["X-Status"],
        max_age=300,
        # Starlette before 0.51 has no such option (the drop-in then refuses it too).
        **(
            {"allow_private_network": True}
            if "allow_private_network" in inspect.signature(StarletteCORSMiddleware.__init__).parameters
            else {}
        ),
    ),
    "wildcard": dict(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], expose_headers=["X-Status"]),
}


def middleware_classes():
    """(name, class, extra kwargs) for Starlette's class and corsfast's on each engine asked for."""
    yield "starlette", StarletteCORSMiddleware, {}
    for name in os.environ["CORSFAST_TEST_ENGINES"].split(","):
        module = __import__(f"corsfast._engine_{name}", fromlist=["_"])
        yield name, corsfast.starlette.CORSMiddleware, {"_engine": module}


async def chunks():
    for part in (b"one,", b"two,", b"three"):
        yield part


def make_fastapi(cls, kwargs):
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(cls, **kwargs)

    @app.api_route("/items", methods=["GET", "POST", "PUT", "HEAD"])
    async def items(request: FastAPIRequest):
        body = await request.body()
        return FastAPIPlainText(f"items {request.method} {len(body)}", headers={"X-Status": "ok"})

    @app.get("/stream")
    async def stream():
        return FastAPIStreaming(chunks(), media_type="text/plain")

    @app.get("/vary")
    async def vary():
        return FastAPIPlainText(
            "vary", headers={"Vary": "Accept-Encoding", "Access-Control-Allow-Origin": "https://app-set.example"}
        )

    return app


async def items(request):
    body = await request.body()
    return PlainTextResponse(f"items {request.method} {len(body)}", headers={"X-Status": "ok"})


async def stream(request):
    return StreamingResponse(chunks(), media_type="text/plain")


async def vary(request):
    return PlainTextResponse(
        "vary", headers={"Vary": "Accept-Encoding", "Access-Control-Allow-Origin": "https://app-set.example"}
    )


def make_starlette(cls, kwargs):
    return Starlette(
        routes=[
            Route("/items", items, methods=["GET", "POST", "PUT", "HEAD"]),
            Route("/stream", stream),
            Route("/vary", vary),
        ],
        middleware=[Middleware(cls, **kwargs)],
    )


async def raw(scope, receive, send):
    """A raw ASGI app: answers every path, reads the body, handles lifespan."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    if scope["path"] == "/_engine":
        body = _engine.engine.__name__.encode()
    else:
        body = f"raw {scope['method']} {size}".encode()
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [(b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding"), (b"x-status", b"ok"),
                    (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


APPS = {}
for config_name, config in CONFIGS.items():
    for cls_name, cls, extra in middleware_classes():
        APPS[f"fastapi-{cls_name}-{config_name}"] = make_fastapi(cls, {**config, **extra})
        APPS[f"starlette-{cls_name}-{config_name}"] = make_starlette(cls, {**config, **extra})
        APPS[f"raw-{cls_name}-{config_name}"] = cls(raw, **config, **extra)


async def mux(scope, receive, send):
    """Route /<app name>/<path> to one of APPS with the prefix stripped; /_ready answers 200."""
    if scope["type"] == "lifespan":
        await raw(scope, receive, send)
        return
    if scope["path"] == "/_ready":
        await PlainTextResponse("ready")(scope, receive, send)
        return
    _, name, *rest = scope["path"].split("/", 2)
    path = "/" + (rest[0] if rest else "")
    await APPS[name](dict(scope, path=path, raw_path=path.encode()), receive, send)


# The server's top-level app is corsfast's class itself, on the default engine.
top = corsfast.starlette.CORSMiddleware(raw, **CONFIGS["specific"])
'''

SERVER_COMMANDS = {
    "uvicorn": lambda port, app: [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ],
    "hypercorn": lambda port, app: [
        sys.executable,
        "-m",
        "hypercorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "WARNING",
    ],
    "granian": lambda port, app: [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-ws",
        app,
    ],
}
STARTUP_TIMEOUT = 45.0

SPECIFIC = "https://app.example.com"
REGEX_MATCH = "https://sub.example.org"
EVIL = "https://evil.example"
Request = tuple[str, str, list[tuple[str, str]], bytes]
REQUESTS: dict[str, list[Request]] = {
    "specific": [
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", SPECIFIC),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "x-example,content-type"),
            ],
            b"",
        ),
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", REGEX_MATCH),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Private-Network", "true"),
            ],
            b"",
        ),
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", EVIL),
                ("Access-Control-Request-Method", "DELETE"),
                ("Access-Control-Request-Headers", "X-Other"),
            ],
            b"",
        ),
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", SPECIFIC),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Headers", "X-Example, ,"),
            ],
            b"",
        ),
        ("OPTIONS", "/items", [("Origin", SPECIFIC)], b""),  # no ACRM: not a preflight, the app answers
        ("GET", "/items", [("Origin", SPECIFIC), ("Cookie", "session=abc")], b""),
        ("GET", "/items", [("Origin", REGEX_MATCH)], b""),
        ("GET", "/items", [("Origin", EVIL)], b""),
        ("GET", "/items", [("Origin", EVIL), ("Origin", SPECIFIC)], b""),  # only the first Origin counts
        ("GET", "/items", [], b""),
        ("POST", "/items", [("Origin", REGEX_MATCH), ("Content-Type", "application/json")], b'{"a": 1}'),
        ("HEAD", "/items", [("Origin", SPECIFIC)], b""),
        ("GET", "/stream", [("Origin", SPECIFIC)], b""),
        ("GET", "/vary", [("Origin", SPECIFIC)], b""),
        ("GET", "/vary", [("Origin", EVIL)], b""),
        ("GET", "/missing", [("Origin", SPECIFIC)], b""),
    ],
    "wildcard": [
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", EVIL),
                ("Access-Control-Request-Method", "QUERY"),
                ("Access-Control-Request-Headers", "X-Anything, Authorization"),
            ],
            b"",
        ),
        (
            "OPTIONS",
            "/items",
            [
                ("Origin", "null"),
                ("Access-Control-Request-Method", "GET"),
                ("Access-Control-Request-Private-Network", "true"),
            ],
            b"",
        ),
        ("GET", "/items", [("Origin", EVIL)], b""),
        ("GET", "/items", [], b""),
        ("GET", "/stream", [("Origin", "null")], b""),
        ("GET", "/vary", [("Origin", SPECIFIC)], b""),
    ],
}
IGNORED_HEADERS = frozenset({"date", "server"})


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server subprocess in its own process group (granian forks workers)."""

    def __init__(self, name: str, app: str, env: dict[str, str], directory: Path, label: str) -> None:
        self.command = functools.partial(SERVER_COMMANDS[name], app=app)
        self.env = env
        self.directory = directory
        self.log = directory / f"{label}.log"
        self.launches = 0
        self._launch()

    def _launch(self) -> None:
        # The port is free when picked, but another process (a parallel test worker's
        # server) may bind it before this server does: `wait_ready` then launches again.
        self.launches += 1
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                self.command(self.port),
                cwd=self.directory,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, path: str, deadline: float) -> None:
        while True:
            if self.process.poll() is not None:
                output = self.log.read_text()
                if "address already in use" in output.lower() and self.launches < 3:
                    self._launch()
                    continue
                raise AssertionError(f"server exited with {self.process.returncode}:\n{output}")
            try:
                if httpx.get(self.base + path, timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready after {STARTUP_TIMEOUT}s:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:  # pragma: no cover
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a server ignoring SIGTERM
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Start every server at once: per server kind a mux of all apps, and corsfast at top level per engine."""
    directory = tmp_path_factory.mktemp("servers")
    (directory / "corsfast_server_apps.py").write_text(APPS_MODULE, encoding="utf-8")
    engines = ["c", "py"] if request.config.getoption("--c-extensions") else ["py"]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("CORSFAST_", "PYTEST_"))}
    base_env.update(PYTHONPATH=str(directory), PYTHONDONTWRITEBYTECODE="1", CORSFAST_TEST_ENGINES=",".join(engines))
    started: dict[str, Server] = {}
    try:
        for name in SERVER_COMMANDS:
            started[f"{name}-mux"] = Server(name, "corsfast_server_apps:mux", base_env, directory, f"{name}-mux")
            for engine in engines:
                env = dict(base_env)
                if engine == "py":
                    env["CORSFAST_NO_EXTENSIONS"] = "1"
                started[f"{name}-top-{engine}"] = Server(
                    name, "corsfast_server_apps:top", env, directory, f"{name}-top-{engine}"
                )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for label, server in started.items():
            server.wait_ready("/_ready" if label.endswith("-mux") else "/_engine", deadline)
        yield started
    finally:
        for server in started.values():
            server.stop()


def _fetch(client: httpx.Client, base: str, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
    method, path, headers, body = request
    response = client.request(method, base + path, headers=headers, content=body or None)
    kept = [(k, v) for k, v in response.headers.multi_items() if k not in IGNORED_HEADERS]
    return response.status_code, kept, response.content


ENGINES = [pytest.param("c", marks=pytest.mark.c_extension, id="c"), pytest.param("py", id="py")]


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize("framework", ["fastapi", "starlette", "raw"])
@pytest.mark.parametrize("server_name", list(SERVER_COMMANDS))
def test_same_answers_as_starlette(
    servers: dict[str, Server], server_name: str, framework: str, engine_name: str
) -> None:
    mux = servers[f"{server_name}-mux"]
    with httpx.Client(timeout=10.0) as client:
        if framework == "raw":
            # corsfast's class is the server's top-level app: the server detected it as ASGI 3.
            top = servers[f"{server_name}-top-{engine_name}"]
            engine_module = client.get(top.base + "/_engine").text
            assert engine_module == f"corsfast._engine_{engine_name}"
            pairs = [(top.base, f"{mux.base}/raw-starlette-specific", REQUESTS["specific"])]
        else:
            pairs = [
                (
                    f"{mux.base}/{framework}-{engine_name}-{config}",
                    f"{mux.base}/{framework}-starlette-{config}",
                    requests,
                )
                for config, requests in REQUESTS.items()
            ]
        compared = 0
        statuses = set()
        for ours_base, theirs_base, requests in pairs:
            for request in requests:
                ours = _fetch(client, ours_base, request)
                theirs = _fetch(client, theirs_base, request)
                assert ours == theirs, request
                compared += 1
                statuses.add(ours[0])
    # The requests did reach both kinds of answer: preflights passed and failed, apps answered.
    assert {200, 400} <= statuses
    assert compared >= len(REQUESTS["specific"])
