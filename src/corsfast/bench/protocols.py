"""How the benchmark calls apps: ASGI (scope built, messages recorded or discarded, driven by
hand) and WSGI (environ built, start_response, the body iterated and closed), and answers
turned into plain data that compares equal when two apps answered the same bytes.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any, Callable, Optional

from .suite import Scenario

__all__ = (
    "Message",
    "Scope",
    "call_once",
    "comparable",
    "discard",
    "drive",
    "make_scope",
    "receive",
    "record_asgi",
    "wsgi_call",
    "wsgi_environ",
)

Message = dict[str, Any]
Scope = dict[str, Any]
WSGIAnswer = tuple[int, list[tuple[str, str]], bytes]

PATH = "/api/data"

# ---------------------------------------------------------------------------------------
# ASGI
# ---------------------------------------------------------------------------------------


def make_scope(scenario: Scenario, path: str = PATH) -> dict[str, Any]:
    """Return the ASGI HTTP scope a server would build for `scenario` (reused by every call)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 51234),
        "scheme": "http",
        "method": scenario.method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode("ascii"),
        "query_string": b"",
        "headers": list(scenario.headers),
        "state": {},
    }


async def receive() -> Message:
    """The `receive` of every timed call: an empty request body."""
    return {"type": "http.request", "body": b"", "more_body": False}


async def discard(message: Message) -> None:
    """The `send` of every timed call: stores nothing."""
    return None


async def _record(app: Any, scope: Scope) -> list[Message]:
    messages: list[Message] = []

    async def send(message: Message) -> None:
        messages.append({k: (list(v) if k == "headers" else v) for k, v in message.items()})

    await app(scope, receive, send)
    return messages


def comparable(messages: list[Message]) -> list[Message]:
    """Return ASGI messages with every header as a (bytes, bytes) tuple (equal when the bytes are)."""
    return [
        {k: ([(bytes(n), bytes(v)) for n, v in val] if k == "headers" else val) for k, val in m.items()}
        for m in messages
    ]


async def record_asgi(app: Any, scope: Scope) -> list[Message]:
    """Run one request through `app` and return its messages as `comparable` data (an asgi
    suite's `record`)."""
    return comparable(await _record(app, dict(scope)))


def call_once(app: Any, scope: Scope, loop: Optional[asyncio.AbstractEventLoop] = None) -> list[Message]:
    """Run one request through `app` and return the messages it sent (header lists copied)."""
    if loop is not None:
        return loop.run_until_complete(_record(app, dict(scope)))
    return asyncio.run(_record(app, dict(scope)))


def drive(app: Any, scope: Scope, receive: Any = receive, send: Any = discard) -> None:
    """Run one ASGI call to completion by hand, without the event loop scheduling anything.

    For the pytest-benchmark suites: every benchmarked app finishes without suspending
    (its send stores nothing); one that does suspend raises RuntimeError.
    """
    iterator = app(scope, receive, send).__await__()
    try:
        iterator.send(None)
    except StopIteration:
        return
    raise RuntimeError("the app suspended; it cannot be driven without an event loop")


# ---------------------------------------------------------------------------------------
# WSGI (for "sync" suites)
# ---------------------------------------------------------------------------------------


def wsgi_environ(scenario: Scenario, path: str = PATH) -> dict[str, Any]:
    """Return the WSGI environ a server would build for `scenario` (PEP 3333: latin-1 str).

    Its `HTTP_*` keys are also what Django's `RequestFactory` takes as extra environ.
    """
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scenario.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in scenario.headers:
        key = name.decode("latin-1").upper().replace("-", "_")
        text = value.decode("latin-1")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = text
        elif "HTTP_" + key in environ:
            environ["HTTP_" + key] += "," + text
        else:
            environ["HTTP_" + key] = text
    return environ


def _write(data: bytes) -> None:  # pragma: no cover - the apps benchmarked return their body
    return None


def wsgi_call(app: Any) -> Callable[[dict[str, Any]], WSGIAnswer]:
    """Return `call(environ) -> (status, headers, body)`: one WSGI request run as a server runs
    it (start_response, the body iterated, `close()` called). A sync suite's contender
    returns `wsgi_call(app)` from `build`; the floor pays the same adapter."""

    def call(environ: dict[str, Any]) -> WSGIAnswer:
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = (status, headers)
            return _write

        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return int(started[0].split(" ", 1)[0]), list(started[1]), body

    return call
