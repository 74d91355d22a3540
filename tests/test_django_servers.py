"""One Django ASGI project under uvicorn, with django-cors-headers and with `corsfast.django`.

Three uvicorn processes on 127.0.0.1 serve the same project (`django_site`'s views behind
the CORS middleware, CommonMiddleware and GZipMiddleware, the same CORS settings): one with
django-cors-headers, one with corsfast on each engine. Real HTTP requests (httpx) must get
the same status, header lines (order and values, but `date` and `server`) and body.
"""

from __future__ import annotations

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

ASGI_MODULE = '''
"""The project the servers run (written to a temporary directory by test_django_servers.py)."""
import os

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="corsfast-tests",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF="django_site",
    DEBUG=False,
    USE_TZ=True,
    INSTALLED_APPS=[os.environ["CORSFAST_TEST_APP"]],
    MIDDLEWARE=[
        os.environ["CORSFAST_TEST_MIDDLEWARE"],
        "django.middleware.common.CommonMiddleware",
        "django.middleware.gzip.GZipMiddleware",
    ],
    CORS_ALLOWED_ORIGINS=["https://app.example.com", "null"],
    CORS_ALLOWED_ORIGIN_REGEXES=[r"^https://\\\\w+\\\\.example\\\\.org$"],
    CORS_ALLOW_CREDENTIALS=True,
    CORS_EXPOSE_HEADERS=["X-Status", "Content-Length"],
    CORS_ALLOW_PRIVATE_NETWORK=True,
    CORS_PREFLIGHT_MAX_AGE=600,
)
django.setup()

from django.core.asgi import get_asgi_application

application = get_asgi_application()
'''

ALLOWED = "https://app.example.com"
REGEX_MATCH = "https://sub.example.org"
EVIL = "https://evil.example"
Request = tuple[str, str, list[tuple[str, bytes]], bytes]
REQUESTS: list[Request] = [
    ("GET", "/", [], b""),
    ("GET", "/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/", [("Origin", EVIL.encode())], b""),
    ("GET", "/", [("Origin", REGEX_MATCH.encode())], b""),
    ("GET", "/", [("Origin", b"null")], b""),
    ("GET", "/", [("Origin", b"foo")], b""),  # allowed: "null" is listed, and compared by scheme+host
    ("GET", "/", [("Origin", b"https://app.example.com]")], b""),  # urlsplit refuses it
    ("GET", "/", [("Origin", b"https://b\xfccher.example")], b""),
    ("GET", "/", [("Origin", EVIL.encode()), ("Origin", ALLOWED.encode())], b""),
    (
        "OPTIONS",
        "/",
        [
            ("Origin", ALLOWED.encode()),
            ("Access-Control-Request-Method", b"PUT"),
            ("Access-Control-Request-Headers", b"x-token,content-type"),
        ],
        b"",
    ),
    ("OPTIONS", "/", [("Origin", EVIL.encode()), ("Access-Control-Request-Method", b"PUT")], b""),
    (
        "OPTIONS",
        "/plain/",
        [
            ("Origin", REGEX_MATCH.encode()),
            ("Access-Control-Request-Method", b"GET"),
            ("Access-Control-Request-Private-Network", b"true"),
        ],
        b"",
    ),
    ("OPTIONS", "/", [("Origin", ALLOWED.encode())], b""),  # no ACRM: the view answers 405
    ("GET", "/plain", [("Origin", ALLOWED.encode())], b""),  # CommonMiddleware's redirect
    ("POST", "/plain/", [("Origin", REGEX_MATCH.encode()), ("Content-Type", b"application/json")], b'{"a": 1}'),
    ("HEAD", "/plain/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/missing/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/error/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/unauthorized/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/vary/mixed/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/vary/star/", [("Origin", EVIL.encode())], b""),
    ("GET", "/vary/empty-item/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/app-cors/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/app-cors/", [("Origin", EVIL.encode())], b""),
    ("GET", "/async/", [("Origin", REGEX_MATCH.encode())], b""),
    ("GET", "/async-stream/", [("Origin", ALLOWED.encode())], b""),
    ("GET", "/long/", [("Origin", ALLOWED.encode()), ("Accept-Encoding", b"gzip")], b""),
    ("GET", "/long/", [("Origin", ALLOWED.encode()), ("Accept-Encoding", b"identity")], b""),
]
IGNORED_HEADERS = frozenset({b"date", b"server"})
STARTUP_TIMEOUT = 45.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One uvicorn subprocess serving the project."""

    def __init__(self, label: str, env: dict[str, str], directory: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = directory / f"{label}.log"
        command = [sys.executable, "-m", "uvicorn", "corsfast_django_asgi:application"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, deadline: float) -> str:
        """Return the engine module the server's corsfast runs on (from the `_engine/` view)."""
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"uvicorn exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                response = httpx.get(self.base + "/_engine/", timeout=1.0)
                if response.status_code == 200:
                    return response.text
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"uvicorn not ready after {STARTUP_TIMEOUT}s:\n{self.log.read_text()}")
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
    directory = tmp_path_factory.mktemp("django_servers")
    (directory / "corsfast_django_asgi.py").write_text(ASGI_MODULE, encoding="utf-8")
    tests = Path(__file__).parent
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("CORSFAST_", "PYTEST_", "DJANGO_"))}
    base_env.update(PYTHONPATH=f"{directory}{os.pathsep}{tests}", PYTHONDONTWRITEBYTECODE="1")
    configs = {
        "corsheaders": ("corsheaders", "corsheaders.middleware.CorsMiddleware", {}),
        "py": ("corsfast.django", "corsfast.django.middleware.CorsMiddleware", {"CORSFAST_NO_EXTENSIONS": "1"}),
    }
    if request.config.getoption("--c-extensions"):
        configs["c"] = ("corsfast.django", "corsfast.django.middleware.CorsMiddleware", {})
    started: dict[str, Server] = {}
    try:
        for label, (app, middleware, extra) in configs.items():
            env = {**base_env, **extra, "CORSFAST_TEST_APP": app, "CORSFAST_TEST_MIDDLEWARE": middleware}
            started[label] = Server(label, env, directory)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        engines = {label: server.wait_ready(deadline) for label, server in started.items()}
        assert engines.get("c", "corsfast._engine_c") == "corsfast._engine_c"
        assert engines["py"] == "corsfast._engine_py"
        yield started
    finally:
        for server in started.values():
            server.stop()


def _fetch(client: httpx.Client, base: str, request: Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    method, path, headers, body = request
    response = client.request(method, base + path, headers=headers, content=body or None)
    kept = [(k, v) for k, v in response.headers.raw if k.lower() not in IGNORED_HEADERS]
    if any(k.lower() == b"content-encoding" and v == b"gzip" for k, v in kept):
        # Django's gzip adds random padding (against BREACH): the length varies per response.
        # (Django 4.2 and 6.1 name the headers Content-Encoding and Content-Length.)
        kept = [(k, b"<gzip>" if k.lower() == b"content-length" else v) for k, v in kept]
    return response.status_code, kept, response.content


ENGINES = [pytest.param("c", marks=pytest.mark.c_extension, id="c"), pytest.param("py", id="py")]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_same_answers_as_django_cors_headers_under_uvicorn(servers: dict[str, Server], engine_name: str) -> None:
    ours, theirs = servers[engine_name], servers["corsheaders"]
    statuses = set()
    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        for request in REQUESTS:
            answer = _fetch(client, ours.base, request)
            assert answer == _fetch(client, theirs.base, request), request
            statuses.add(answer[0])
            if request[2] and request[2][0] == ("Origin", ALLOWED.encode()) and request[1] != "/plain":
                assert (b"access-control-allow-origin", ALLOWED.encode()) in answer[1], request
    assert {200, 301, 401, 404, 405, 500} <= statuses
