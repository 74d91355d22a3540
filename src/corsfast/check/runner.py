"""How `corsfast check` sends its requests: over HTTP(S) to a URL, or in-process to an app
(`module:attribute`): an ASGI app driven with raw messages as a server would, lifespan
included, or a WSGI (PEP 3333) app called with an environ and `start_response`."""

from __future__ import annotations

import asyncio
import http.client
import importlib
import inspect
import io
import os
import ssl
import sys
import threading
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from .request import BODY_LIMIT, Headers, UsageError

__all__ = (
    "INTERFACES",
    "ASGITransport",
    "Exchange",
    "HTTPTransport",
    "Transport",
    "WSGITransport",
    "app_interface",
    "load_app",
    "open_transport",
)

INTERFACES = ("auto", "asgi", "wsgi")
"""Values of `--interface`: detect the kind of in-process app, or say it."""

EXPECTED_APP = (
    "an ASGI app (async def app(scope, receive, send), e.g. Starlette or FastAPI) or a WSGI app "
    "(def app(environ, start_response), e.g. Flask's app or Django's wsgi.application)"
)

T = TypeVar("T")


@dataclass
class Exchange:
    """One request sent and the response received."""

    method: str
    path: str
    request_headers: Headers
    status: int = 0
    reason: str = ""
    headers: Headers = field(default_factory=list)
    body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def to_json(self) -> dict[str, Any]:
        return {
            "request": {
                "method": self.method,
                "path": self.path,
                "headers": [[name, value] for name, value in self.request_headers],
            },
            "response": {
                "status": self.status,
                "reason": self.reason,
                "headers": [[name, value] for name, value in self.headers],
                "body": self.text[:500],
            },
        }


class Transport:
    """Sends one request and returns the response; `describe` names the URL."""

    def request(self, method: str, path: str, headers: Headers, body: Optional[bytes]) -> Exchange:
        raise NotImplementedError

    def url(self, path: str) -> str:
        raise NotImplementedError

    def configured_origins(self) -> list[str]:
        """Origins the server is configured with, when it can be read (in-process apps)."""
        return []

    def close(self) -> None:
        pass


def open_transport(target: str, *, timeout: float = 10.0, insecure: bool = False, interface: str = "auto") -> Transport:
    """Return the transport for an http(s):// URL or a `module:attribute` ASGI or WSGI app.

    `interface` is "auto" (detected by `app_interface`), "asgi" or "wsgi"; it applies to
    `module:attribute` targets only.
    """
    if target.startswith(("http://", "https://")):
        return HTTPTransport(target, timeout=timeout, insecure=insecure)
    if "://" in target:
        raise UsageError(f"TARGET {target!r}: only http:// and https:// URLs are supported")
    if interface not in INTERFACES:
        raise UsageError(f"--interface: {interface!r} is not one of {', '.join(INTERFACES)}")
    app = load_app(target)
    kind = interface
    if kind == "auto":
        detected = app_interface(app)
        if detected is None:
            raise UsageError(
                f"{target!r} ({_describe(app)}) is callable but its signature does not say whether it is "
                f"{EXPECTED_APP}; pass --interface asgi or --interface wsgi"
            )
        kind = detected
    if kind == "wsgi":
        return WSGITransport(app, name=target, timeout=timeout)
    return ASGITransport(app, timeout=timeout, name=target)


def _describe(obj: Any) -> str:
    """Return what `obj` is, for an error message: "a function", "a flask.app.Flask", "an int"."""
    if inspect.isroutine(obj):
        return "a function"
    kind = type(obj)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _positional_count(function: Any) -> Optional[int]:
    """Return how many positional arguments `function` takes (None: unknown, or *args)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    count = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return None
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def app_interface(app: Any) -> Optional[str]:
    """Return "asgi" or "wsgi" for an in-process app, or None when its signature cannot tell.

    ASGI 3: a coroutine function, or an object whose `__call__` is one (Starlette, FastAPI,
    corsfast's middlewares, Django's ASGIHandler), or any callable taking exactly three
    positional arguments (scope, receive, send). WSGI (PEP 3333): a plain callable taking
    exactly two (environ, start_response), such as Flask's app or Django's WSGIHandler.
    """
    # The class's own __call__ (looked up on the type, as a call does), not a bound method.
    call = None
    if not (inspect.isroutine(app) or inspect.isclass(app)):
        call = next((vars(klass)["__call__"] for klass in type(app).__mro__ if "__call__" in vars(klass)), None)
    for candidate in (app, call):
        if candidate is not None and (
            inspect.iscoroutinefunction(candidate) or inspect.iscoroutinefunction(getattr(candidate, "__func__", None))
        ):
            return "asgi"
    count = _positional_count(app)
    if count == 3:
        return "asgi"
    if count == 2:
        return "wsgi"
    return None


def load_app(target: str) -> Any:
    """Import `module:attribute` (dotted attribute allowed) with the current directory importable."""
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise UsageError(f"TARGET {target!r} is neither an http(s):// URL nor module:attribute")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as error:  # the user's module may raise anything at import
        raise UsageError(f"cannot import {module_name!r}: {type(error).__name__}: {error}") from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"module {module_name!r} has no attribute {attribute!r}") from None
    if not callable(obj):
        raise UsageError(f"{target!r} is {_describe(obj)}, not an app (not callable): expected {EXPECTED_APP}")
    return obj


class HTTPTransport(Transport):
    """Requests over HTTP/1.1 with http.client: one connection per request, headers as given."""

    def __init__(self, url: str, *, timeout: float, insecure: bool) -> None:
        parts = urlsplit(url)
        if not parts.hostname:
            raise UsageError(f"TARGET {url!r} has no host")
        try:
            self.port = parts.port
        except ValueError:
            raise UsageError(f"TARGET {url!r} has a bad port") from None
        self.name = url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.netloc = parts.netloc.rpartition("@")[2]
        self.timeout = timeout
        self.context: Optional[ssl.SSLContext] = None
        if self.scheme == "https":
            self.context = ssl.create_default_context()
            if insecure:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.netloc}{path}"

    def request(self, method: str, path: str, headers: Headers, body: Optional[bytes]) -> Exchange:
        if self.scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        sent = [("Host", self.netloc), *headers]
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in sent:
                connection.putheader(name, value.encode("latin-1"))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read(BODY_LIMIT)
            return Exchange(method, path, sent, response.status, response.reason, list(response.getheaders()), data)
        except (OSError, http.client.HTTPException) as error:
            raise UsageError(f"cannot reach {self.url(path)}: {type(error).__name__}: {error}") from None
        finally:
            connection.close()


class _Runner:
    """An event loop of our own: in this thread, or in a helper thread when one is running here."""

    def __init__(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.loop = asyncio.new_event_loop()
            self.thread: Optional[threading.Thread] = None
        else:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, name="corsfast-check", daemon=True)
            self.thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(coroutine, timeout)

        if self.thread is None:
            return self.loop.run_until_complete(bounded())
        return asyncio.run_coroutine_threadsafe(bounded(), self.loop).result()

    def close(self) -> None:
        async def cleanup() -> None:
            current = asyncio.current_task()
            pending = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await asyncio.get_running_loop().shutdown_asyncgens()

        if self.thread is None:
            self.loop.run_until_complete(cleanup())
        else:
            asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
        self.loop.close()


class ASGITransport(Transport):
    """Drives an ASGI 3 app in-process with raw messages, as a server would (lifespan included)."""

    host = "testserver"

    def __init__(self, app: Any, *, timeout: float, name: str) -> None:
        self.app = app
        self.name = name
        self.timeout = timeout
        self.runner = _Runner()
        self.state: dict[str, Any] = {}
        self.notes: list[str] = []
        self._lifespan_task: Optional[asyncio.Task[None]] = None
        self._lifespan_queue: Optional[asyncio.Queue[dict[str, Any]]] = None
        self._lifespan_event: dict[str, asyncio.Future[dict[str, Any]]] = {}
        try:
            self.runner.run(self._startup(), timeout)
        except asyncio.TimeoutError:
            self.runner.close()
            raise UsageError(f"{name}: lifespan startup did not finish within {timeout:g} s") from None
        except UsageError:
            self.runner.close()
            raise

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    async def _startup(self) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._lifespan_queue = queue
        startup = loop.create_future()
        shutdown = loop.create_future()
        self._lifespan_event = {"startup": startup, "shutdown": shutdown}

        async def receive() -> dict[str, Any]:
            return await queue.get()

        async def send(message: dict[str, Any]) -> None:
            kind = message.get("type", "")
            for stage, future in (("startup", startup), ("shutdown", shutdown)):
                if kind.startswith(f"lifespan.{stage}.") and not future.done():
                    future.set_result(message)

        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def lifespan() -> None:
            await self.app(scope, receive, send)

        task = loop.create_task(lifespan())
        self._lifespan_task = task
        queue.put_nowait({"type": "lifespan.startup"})
        waiters: list[asyncio.Future[Any]] = [task, startup]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if startup.done():
            message = startup.result()
            if message["type"] == "lifespan.startup.failed":
                raise UsageError(f"{self.name}: lifespan startup failed: {message.get('message', '')}")
            return
        # The app returned or raised on the lifespan scope: it does not support lifespan
        # (uvicorn's "auto" mode carries on the same way).
        self._lifespan_task = None
        if not task.cancelled():
            task.exception()  # retrieve it so asyncio does not log it

    async def _shutdown(self) -> None:
        task = self._lifespan_task
        if task is None or task.done() or self._lifespan_queue is None:
            return
        self._lifespan_queue.put_nowait({"type": "lifespan.shutdown"})
        waiters: list[asyncio.Future[Any]] = [task, self._lifespan_event["shutdown"]]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)

    def close(self) -> None:
        try:
            self.runner.run(self._shutdown(), 5.0)
        except (asyncio.TimeoutError, Exception):  # a failing shutdown must not hide the verdict
            pass
        finally:
            self.runner.close()

    def request(self, method: str, path: str, headers: Headers, body: Optional[bytes]) -> Exchange:
        sent = [("host", self.host), *((name.lower(), value) for name, value in headers)]
        exchange = Exchange(method, path, sent)
        try:
            self.runner.run(self._call(exchange, body or b""), self.timeout)
        except asyncio.TimeoutError:
            if exchange.status == 0:
                raise UsageError(
                    f"{self.name}: the app did not answer {method} {path} within {self.timeout:g} s"
                ) from None
        return exchange

    async def _call(self, exchange: Exchange, body: bytes) -> None:
        raw_path, _, query = exchange.path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "method": exchange.method,
            "scheme": "http",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in exchange.request_headers],
            "client": ("127.0.0.1", 50000),
            "server": (self.host, 80),
            "state": dict(self.state),
        }
        done = asyncio.Event()
        received = False
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal received
            if not received:
                received = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            kind = message.get("type")
            if kind == "http.response.start" and exchange.status == 0:
                exchange.status = int(message["status"])
                exchange.reason = http.client.responses.get(exchange.status, "")
                exchange.headers = [
                    (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                    for name, value in message.get("headers", ())
                ]
            elif kind == "http.response.body":
                if sum(map(len, chunks)) < BODY_LIMIT:
                    chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        except Exception as error:  # a server answers 500 when the app raises before responding
            if exchange.status == 0:
                exchange.status = 500
                exchange.reason = "Internal Server Error"
                exchange.body = b"Internal Server Error"
                self.notes.append(
                    f"the app raised {type(error).__name__}: {error} on {exchange.method} {exchange.path}; "
                    "a server answers 500 with no CORS headers"
                )
                return
        finally:
            done.set()
        exchange.body = b"".join(chunks)
        if exchange.status == 0:
            exchange.status = 500
            exchange.reason = "Internal Server Error"
            self.notes.append(f"the app returned without a response to {exchange.method} {exchange.path}")

    def configured_origins(self) -> list[str]:
        return _configured_origins(self.app)


def _configured_origins(app: Any) -> list[str]:
    """Collect the allowed-origin strings of the CORS middleware found around `app`.

    Knows corsfast's middleware (`policy.options`), Starlette's `CORSMiddleware`
    (`allow_origins`) and Starlette apps' `user_middleware`; anything else yields nothing.
    """
    found: list[str] = []
    seen: set[int] = set()
    stack = [app]
    while stack and len(seen) < 200:
        obj = stack.pop()
        if obj is None or id(obj) in seen:
            continue
        seen.add(id(obj))
        try:
            origins = getattr(obj, "allow_origins", None)
            if isinstance(origins, (list, tuple, set, frozenset)):
                found.extend(o for o in origins if isinstance(o, str))
            options = getattr(getattr(obj, "policy", None), "options", None)
            exact = getattr(options, "exact_origins", None)
            if isinstance(exact, (set, frozenset)):
                found.extend(o.decode("latin-1") for o in exact if isinstance(o, bytes))
            for middleware in getattr(obj, "user_middleware", None) or ():
                kwargs = getattr(middleware, "kwargs", None) or {}
                if isinstance(kwargs, dict) and isinstance(kwargs.get("allow_origins"), (list, tuple, set)):
                    found.extend(o for o in kwargs["allow_origins"] if isinstance(o, str))
            for attribute in ("app", "middleware_stack", "_app"):
                child = getattr(obj, attribute, None)
                if child is not None and not isinstance(child, (str, bytes, int, float)):
                    stack.append(child)
        except Exception:  # introspection is best effort; never let it break a check
            continue
    return list(dict.fromkeys(found))


class WSGITransport(Transport):
    """Calls a WSGI (PEP 3333) app in-process with an environ as a server builds it, and
    collects the status, headers and body it answers."""

    host = "testserver"

    def __init__(self, app: Any, *, name: str, timeout: float = 10.0) -> None:
        self.app = app
        self.name = name
        self.timeout = timeout
        self.notes: list[str] = []

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def environ(self, method: str, path: str, headers: Headers, body: bytes) -> dict[str, Any]:
        """Return the PEP 3333 environ for one request (headers as `(name, value)` strings)."""
        raw_path, _, query = path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            # PEP 3333: PATH_INFO is the decoded path, its bytes carried as latin-1 characters.
            "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            # A server joins repeated header lines with a comma (PEP 3333 leaves it to the server).
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def request(self, method: str, path: str, headers: Headers, body: Optional[bytes]) -> Exchange:
        sent = [("host", self.host), *((name.lower(), value) for name, value in headers)]
        exchange = Exchange(method, path, sent)
        environ = self.environ(method, path, sent, body or b"")
        started: list[tuple[str, list[tuple[str, str]]]] = []
        chunks: list[bytes] = []

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if started and exc_info is None:
                raise AssertionError("start_response called twice without exc_info (PEP 3333)")
            started[:] = [(status, list(response_headers))]
            return chunks.append

        raised: list[Exception] = []

        def call() -> None:
            try:
                result = self.app(environ, start_response)
                try:
                    for chunk in result:
                        if sum(map(len, chunks)) < BODY_LIMIT:
                            chunks.append(bytes(chunk))
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except Exception as error:  # the user's app may raise anything
                raised.append(error)

        # In a helper thread, so that an app that never answers cannot hang the check.
        worker = threading.Thread(target=call, name="corsfast-check-wsgi", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise UsageError(f"{self.name}: the app did not answer {method} {path} within {self.timeout:g} s")
        for error in raised:  # a server answers 500 when the app raises before responding
            if not started or not chunks:
                exchange.status, exchange.reason = 500, "Internal Server Error"
                exchange.body = b"Internal Server Error"
                self.notes.append(
                    f"the app raised {type(error).__name__}: {error} on {method} {path}; "
                    "a server answers 500 with no CORS headers"
                )
                return exchange
        if not started:
            exchange.status, exchange.reason = 500, "Internal Server Error"
            self.notes.append(f"the app returned without calling start_response for {method} {path}")
            return exchange
        status, response_headers = started[0]
        code, _, reason = status.partition(" ")
        try:
            exchange.status = int(code)
        except ValueError:
            exchange.status = 500
            self.notes.append(f"the app answered the status line {status!r}, which is not 'NNN Reason'")
        exchange.reason = reason or http.client.responses.get(exchange.status, "")
        exchange.headers = [(str(name), str(value)) for name, value in response_headers]
        exchange.body = b"".join(chunks)[:BODY_LIMIT]
        return exchange

    def configured_origins(self) -> list[str]:
        return _configured_origins(self.app)
