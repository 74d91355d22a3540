"""Plumbing for the real-browser CORS tests: page servers, the API server, the API apps, Chromium.

Everything binds 127.0.0.1 on free ports. The API origin is one uvicorn server whose ASGI app
is a `Dispatcher`: it records every request that reaches the server (before any CORS
middleware sees it) and forwards it to whichever middleware the current test installed, so
one running server serves every configuration. An aiohttp app is served by `AiohttpServers`
instead: its own event loop in a thread, one app at a time on a fresh port, recording into
the same `Dispatcher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]

CHROMIUM = os.environ.get("CORSFAST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CORSFAST_CHROMEDRIVER", "/usr/bin/chromedriver")
"""Debian's `chromium` and `chromium-driver` packages; the environment variables point elsewhere."""
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = (
    "install it with `apt-get update && apt-get install -y chromium chromium-driver` and "
    "`pip install selenium` (with CI=true a missing browser fails the run)"
)
SESSION_MARKER = "CORSFAST_BROWSER_SESSION"
"""Environment variable given to chromedriver; Chromium and all its children inherit it, so
the leftover check finds exactly this session's processes and never another run's."""

COOKIE = "sid=browser"
DATA_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"x-exposed", b"yes"),
    (b"x-hidden", b"secret"),
    (b"cache-control", b"no-store"),
]
CACHEABLE_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"max-age=600")]
STREAM_CHUNKS = (b"chunk0 ", b"chunk1 ", b"chunk2")


# -- the API app (what sits behind the middleware under test) ----------------------------


def api_answer(method: str, path: str, cookie: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Return the API's answer; shared by the raw ASGI app and the Kui app so both say the same."""
    if method == "OPTIONS":
        # Only the middleware may answer a preflight successfully.
        return 405, [(b"allow", b"GET, POST, PUT, DELETE"), (b"content-type", b"text/plain; charset=utf-8")], b""
    if path == "/api/data":
        return 200, list(DATA_HEADERS), f"data {method}".encode()
    if path == "/api/cacheable":
        return 200, list(CACHEABLE_HEADERS), b"cacheable"
    if path == "/api/whoami":
        return 200, list(DATA_HEADERS), f"cookie={cookie}".encode()
    if path == "/api/error":
        return 500, list(DATA_HEADERS), b"boom"
    return 404, list(DATA_HEADERS), b"not found"


async def api_app(scope: Scope, receive: Any, send: Any) -> None:
    """The raw ASGI API: answers OPTIONS with 405, streams /api/stream, 404 for unknown paths."""
    assert scope["type"] == "http"
    while True:  # drain the request body
        message = await receive()
        if not message.get("more_body"):
            break
    cookie = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"cookie"), "")
    if scope["path"] == "/api/stream" and scope["method"] != "OPTIONS":
        await send({"type": "http.response.start", "status": 200, "headers": list(DATA_HEADERS)})
        for chunk in STREAM_CHUNKS:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    status, headers, body = api_answer(scope["method"], scope["path"], cookie)
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _kui_response(cls: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
    plain = {k.decode(): v.decode() for k, v in headers if k not in (b"content-type", b"content-length")}
    return cls(body.decode(), status_code=status, headers=plain)


def kui_api_app(kui_class: Any, **kwargs: Any) -> Any:
    """Return `kui_class(routes=..., **kwargs)`: a Kui app with the same routes as `api_app`.

    CORS is attached app-wide by the caller, either as `http_middlewares=[allow_cors(...)]` or
    as `cors_config={...}`, identically for the peer and the drop-in.
    """
    from kui.asgi import HttpRoute, PlainTextResponse, StreamResponse, request

    def endpoint(path: str) -> Any:
        async def view() -> Any:
            status, headers, body = api_answer(request.method, path, request.headers.get("cookie", ""))
            return _kui_response(PlainTextResponse, status, headers, body)

        view.__name__ = "view_" + path.rsplit("/", 1)[-1]
        return view

    async def stream() -> Any:
        if request.method == "OPTIONS":
            status, headers, body = api_answer("OPTIONS", "/api/stream", "")
            return _kui_response(PlainTextResponse, status, headers, body)

        async def chunks() -> Any:
            for chunk in STREAM_CHUNKS:
                yield chunk
                await asyncio.sleep(0.01)

        plain = {k.decode(): v.decode() for k, v in DATA_HEADERS if k != b"content-type"}
        return StreamResponse(chunks(), headers=plain, content_type="text/plain; charset=utf-8")

    routes = [HttpRoute(path, endpoint(path)) for path in ("/api/data", "/api/cacheable", "/api/whoami", "/api/error")]
    routes.append(HttpRoute("/api/stream", stream))
    return kui_class(routes=routes, **kwargs)


# -- the API server ---------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """One request as it reached the API server, before any middleware."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]


class Dispatcher:
    """The uvicorn app: record each request, then hand it to the currently installed app."""

    def __init__(self) -> None:
        self.current: ASGIApp | None = None
        self.arrivals: list[Arrival] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.arrivals.append(
            Arrival(
                scope["method"],
                scope["path"],
                scope["query_string"].decode("latin-1"),
                tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]),
            )
        )
        if scope["path"] == "/__set_cookie":
            body = b"<!doctype html><title>cookie</title>"
            headers = [
                (b"content-type", b"text/html"),
                (b"set-cookie", f"{COOKIE}; Path=/; SameSite=Lax".encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        app = self.current
        if app is None:
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b"no app installed"})
            return
        await app(scope, receive, send)

    def count(self, nonce: str) -> dict[str, int]:
        """Return how many requests of each method arrived for one case run."""
        return dict(Counter(a.method for a in self.arrivals if f"n={nonce}" in a.query.split("&")))

    def for_nonce(self, nonce: str) -> list[Arrival]:
        return [a for a in self.arrivals if f"n={nonce}" in a.query.split("&")]


def aiohttp_api_app(setup: Callable[[Any], Any], dispatcher: Dispatcher) -> Any:
    """Return an aiohttp app with the routes of `api_app`, CORS enabled on each resource.

    `setup(app)` returns the CORS configuration (`aiohttp_cors.setup(app, defaults=...)` or the
    drop-in's); each resource is added whole, so a preflight is answered only for the methods
    the options allow. aiohttp-cors answers OPTIONS itself; a middleware records each request
    that reaches a handler (the preflight handler and aiohttp's 404 among them) in `dispatcher`.
    """
    from aiohttp import web

    @web.middleware
    async def record(request: web.Request, handler: Any) -> Any:
        headers = tuple(request.headers.items())
        dispatcher.arrivals.append(Arrival(request.method, request.path, request.query_string, headers))
        return await handler(request)

    def endpoint(path: str) -> Any:
        async def view(request: web.Request) -> web.Response:
            status, headers, body = api_answer(request.method, path, request.headers.get("Cookie", ""))
            return web.Response(status=status, body=body, headers=[(k.decode(), v.decode()) for k, v in headers])

        return view

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=[(k.decode(), v.decode()) for k, v in DATA_HEADERS])
        await response.prepare(request)
        for chunk in STREAM_CHUNKS:
            await response.write(chunk)
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response

    app = web.Application(middlewares=[record])
    cors = setup(app)
    for path in ("/api/data", "/api/cacheable", "/api/whoami", "/api/error", "/api/stream"):
        resource = app.router.add_resource(path)
        for method in ("GET", "POST", "PUT", "DELETE"):
            resource.add_route(method, stream if path == "/api/stream" else endpoint(path))
        cors.add(resource)
    return app


class AiohttpServers:
    """An event loop in a thread of this process that serves one aiohttp app at a time on
    127.0.0.1 (a fresh port each, so no connection or cache entry outlives its app)."""

    TIMEOUT = 10.0

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(self.TIMEOUT)
        if self.thread.is_alive():
            raise RuntimeError("the aiohttp event loop did not stop")
        self.loop.close()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.TIMEOUT)

    @contextlib.contextmanager
    def serve(self, app: Any) -> Iterator[str]:
        """Serve `app` for the block; yield its origin (`http://127.0.0.1:PORT`)."""
        from aiohttp import web

        async def start() -> Any:
            runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return runner

        runner = self._run(start())
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            self._run(runner.cleanup())


class APIServer:
    """uvicorn on 127.0.0.1, a free port, in a thread of this process."""

    def __init__(self, app: ASGIApp) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, interface="asgi3", ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        if self.thread.is_alive():
            raise RuntimeError("uvicorn did not stop")


class _PageHandler(http.server.BaseHTTPRequestHandler):
    """Serve one blank HTML page for any path: a document whose origin is this server's."""

    def do_GET(self) -> None:
        if self.path.startswith("/favicon"):
            self.send_error(404)
            return
        body = b"<!doctype html><meta charset=utf-8><title>corsfast browser test page</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class PageServer:
    """A tiny static server on 127.0.0.1 (HTTP/1.0, one thread per connection)."""

    def __init__(self) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


# -- the browser ------------------------------------------------------------------------

FETCH_SCRIPT = """
const [url, init, readHeaders, repeat] = arguments;
const done = arguments[arguments.length - 1];
(async () => {
  const results = [];
  for (let i = 0; i < repeat; i++) {
    try {
      const response = await fetch(url, init);
      const headers = {};
      for (const name of readHeaders) headers[name] = response.headers.get(name);
      const body = await response.text();
      results.push({ok: response.ok, status: response.status, headers, body, error: null});
    } catch (error) {
      results.push({ok: false, status: null, headers: null, body: null, error: String(error)});
    }
  }
  done(results);
})();
"""


def browser_processes(token: str) -> list[int]:
    """Return the live (non-zombie) processes started by this session's chromedriver."""
    needle = f"{SESSION_MARKER}={token}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read()
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X") and needle in environ.split(b"\0"):
            found.append(int(entry))
    return found


def pgrep_chromium() -> list[str]:
    """Return `pgrep -fa chromium` lines of live processes (zombies waiting for init excluded)."""
    if shutil.which("pgrep") is None:
        return []
    out = subprocess.run(["pgrep", "-fa", "chromium"], capture_output=True, text=True, check=False).stdout
    live = []
    for line in out.splitlines():
        pid = line.split(maxsplit=1)[0]
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in (b"Z", b"X"):
            live.append(line)
    return live


@dataclass
class Browser:
    """One headless Chromium driven by selenium, with a fresh profile directory."""

    driver: Any
    profile: str
    token: str
    current_origin: str | None = field(default=None)

    def goto(self, origin: str) -> None:
        """Make a blank page of `origin` the current document (skipped when it already is)."""
        if self.current_origin != origin:
            self.driver.get(origin + "/")
            self.current_origin = origin

    def navigate(self, url: str) -> None:
        """Load `url` as a top-level document."""
        self.driver.get(url)
        self.current_origin = None

    def fetch(
        self, origin: str, url: str, init: dict[str, Any], read_headers: list[str], repeat: int
    ) -> list[dict[str, Any]]:
        """Run `repeat` fetch() calls from a page of `origin`; return what the page saw of each."""
        self.goto(origin)
        results: list[dict[str, Any]] = self.driver.execute_async_script(FETCH_SCRIPT, url, init, read_headers, repeat)
        return results

    def quit(self) -> list[int]:
        """Quit Chromium and chromedriver and wait for every process of this session to go.

        Returns the pids still running 10 s after quit (they are killed: the session marker
        in their environment proves they are ours). Exited children that only wait for init
        to reap them are waited for too, so `pgrep -f chromium` comes back empty afterwards.
        """
        ours = set(browser_processes(self.token))
        try:
            self.driver.quit()
        finally:
            deadline = time.monotonic() + 10
            while True:
                live = set(browser_processes(self.token))
                remaining = {pid for pid in ours | live if os.path.exists(f"/proc/{pid}")}
                if not remaining or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            for pid in live:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)
        return sorted(live)


def start_browser(profile: str, token: str) -> Browser:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(
        executable_path=CHROMEDRIVER,
        env={**os.environ, SESSION_MARKER: token},
        log_output=subprocess.DEVNULL,
    )
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(15)
    driver.set_page_load_timeout(15)
    return Browser(driver, profile, token)
