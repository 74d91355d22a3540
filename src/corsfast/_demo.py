"""Serve an example app behind corsfast on 127.0.0.1 and show a preflight and a simple request."""

from __future__ import annotations

import argparse
import http.client
import re
import socket
import threading
import time

from . import NO_EXTENSIONS, CORSMiddleware


async def example_app(scope, receive, send):  # type: ignore[no-untyped-def]
    """Answer every HTTP request with a small JSON body (the app behind the middleware)."""
    if scope["type"] != "http":
        return
    body = b'{"hello": "world"}'
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", b"demo-1"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")


def _request(port: int, method: str, headers: dict[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, "/api/data", headers=headers)
    response = connection.getresponse()
    body = response.read()
    print(f"> {method} /api/data")
    for name, value in headers.items():
        print(f"> {name}: {value}")
    print(f"< {response.status} {response.reason}")
    for name, value in response.getheaders():
        print(f"< {name}: {value}")
    print(f"< {body.decode(errors='replace')}\n")
    connection.close()


def run(arguments: argparse.Namespace) -> int:
    """Serve the example app under uvicorn, make three requests, print them, stop the server."""
    import uvicorn

    app = CORSMiddleware(
        example_app,
        allow_origins=[re.compile(r"https://example\.com"), "https://*.example.org"],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["X-Request-Id"],
        max_age=600,
    )
    port = arguments.port
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    print(f"corsfast demo: {'pure-Python' if NO_EXTENSIONS else 'compiled'} engine, uvicorn on 127.0.0.1:{port}\n")
    try:
        _request(
            port,
            "OPTIONS",
            {
                "Origin": "https://example.com",
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        _request(port, "GET", {"Origin": "https://api.example.org"})
        _request(port, "GET", {"Origin": "https://evil.example.com"})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return 0
