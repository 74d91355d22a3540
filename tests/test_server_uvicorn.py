"""`corsfast.CORSMiddleware` served by real uvicorn (default `--interface auto`), real HTTP via httpx."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

import corsfast

pytestmark = pytest.mark.server

ORIGIN = "https://example.com"


class Endpoint:
    """A plain ASGI app with lifespan support that records the requests it answers."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.lifespan: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.lifespan.append(message["type"])
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert scope["type"] == "http"
        self.requests.append((scope["method"], scope["path"]))
        body = b'{"hello": "world"}'
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", b"42"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class Served:
    def __init__(self, server: uvicorn.Server, endpoint: Endpoint, base_url: str) -> None:
        self.server = server
        self.endpoint = endpoint
        self.base_url = base_url


@pytest.fixture
def served(engine: ModuleType) -> Iterator[Served]:
    endpoint = Endpoint()
    app = corsfast.CORSMiddleware(
        endpoint,
        allow_origins=[ORIGIN, "https://*.example.org"],
        allow_methods=["GET", "POST", "PUT"],
        allow_headers=["X-Token"],
        expose_headers=["X-Request-Id"],
        max_age=120,
        _engine=engine,
    )
    # Default interface ("auto"): uvicorn must recognise the middleware as ASGI 3 by itself.
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # a free port, loopback only
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "uvicorn exited during start-up"
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            time.sleep(0.02)
        yield Served(server, endpoint, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not shut down"
    assert endpoint.lifespan == ["lifespan.startup", "lifespan.shutdown"]


def cors_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The response's CORS-relevant header lines, in the order they were sent."""
    names = (b"access-control-", b"vary", b"content-length")
    return [(k.lower(), v) for k, v in response.headers.raw if k.lower().startswith(names)]


def test_uvicorn_detects_asgi3(served: Served) -> None:
    assert served.server.config.interface == "asgi3"


def test_preflight_allowed(served: Served) -> None:
    with httpx.Client(base_url=served.base_url, trust_env=False, timeout=10) as client:
        response = client.options(
            "/items",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-token",
            },
        )
    assert response.status_code == 200
    assert response.content == b""
    assert cors_headers(response) == [
        (b"access-control-allow-origin", ORIGIN.encode()),
        (b"access-control-allow-methods", b"GET, POST, PUT"),
        (b"access-control-allow-headers", b"X-Token, Accept, Accept-Language, Content-Language, Content-Type"),
        (b"access-control-max-age", b"120"),
        (b"vary", b"Origin"),
        (b"content-length", b"0"),
    ]
    assert served.endpoint.requests == []  # answered by the middleware, the app never ran


def test_simple_allowed(served: Served) -> None:
    with httpx.Client(base_url=served.base_url, trust_env=False, timeout=10) as client:
        response = client.get("/items", headers={"Origin": "https://api.example.org"})
    assert response.status_code == 200
    assert response.json() == {"hello": "world"}
    assert response.headers["access-control-allow-origin"] == "https://api.example.org"
    assert response.headers["access-control-expose-headers"] == "X-Request-Id"
    assert response.headers["vary"] == "Origin"
    assert "access-control-allow-credentials" not in response.headers
    assert served.endpoint.requests == [("GET", "/items")]


def test_disallowed(served: Served) -> None:
    with httpx.Client(base_url=served.base_url, trust_env=False, timeout=10) as client:
        simple = client.get("/items", headers={"Origin": "https://evil.example.com"})
        preflight = client.options(
            "/items", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "PUT"}
        )
        no_origin = client.get("/items")
    for response in (simple, preflight, no_origin):
        assert response.status_code == 200
        assert response.json() == {"hello": "world"}
        assert "access-control-allow-origin" not in response.headers
        assert not any(k.startswith(b"access-control-") for k, _ in cors_headers(response))
        assert response.headers.get_list("vary") == ["Origin"]
    assert served.endpoint.requests == [("GET", "/items"), ("OPTIONS", "/items"), ("GET", "/items")]
