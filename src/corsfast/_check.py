"""Check a cross-origin request the way a browser's fetch() would, against an ASGI app or a URL.

`corsfast check TARGET --origin ORIGIN [--method M] [--header NAME:VALUE ...]
[--credentials] [--path /p] [--json]`

TARGET is an ASGI application as `module:attribute` (imported with the current directory
importable and driven in-process) or an http:// or https:// URL. The command decides
whether a browser would send a preflight, sends it, applies the Fetch standard's preflight
checks, sends the actual request, applies the CORS check, and prints ALLOWED or BLOCKED
with the first rule that blocked the request, the header lines it saw and a hint at the fix.
Exit status: 0 allowed, 1 blocked, 2 usage error (bad method, bad origin, unimportable
target, unreachable URL).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib
import json
import os
import ssl
import sys
import threading
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypeVar
from urllib.parse import unquote, urlsplit

from . import _fetch
from .__version__ import __version__

__all__ = ("CheckRequest", "UsageError", "add_arguments", "check", "run")

SPEC_URL = "https://fetch.spec.whatwg.org/#"
JSON_VERSION = 1
USER_AGENT = f"corsfast-check/{__version__}"
BODY_LIMIT = 65536
CHROMIUM_SAFELISTED_CLIENT_HINTS = ("device-memory", "dpr", "save-data", "viewport-width", "width")

T = TypeVar("T")
Headers = list[tuple[str, str]]


class UsageError(Exception):
    """A problem with the command line or the target (exit status 2)."""


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Check a cross-origin request the way a browser's fetch() would (Fetch standard)."
    parser.epilog = "Exit status: 0 allowed, 1 blocked, 2 usage error."
    parser.add_argument("target", metavar="TARGET", help="ASGI app as module:attribute, or an http(s):// URL")
    parser.add_argument(
        "--origin", required=True, help="the page's origin, serialized as a browser sends it (https://app.example.com)"
    )
    parser.add_argument("--method", default="GET", help="request method (default GET)")
    parser.add_argument(
        "--header",
        "-H",
        dest="headers",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header the script sets (repeatable); Cookie is sent only with --credentials",
    )
    parser.add_argument(
        "--credentials",
        action="store_true",
        help="credentials mode 'include' (fetch(..., {credentials: 'include'}), XHR withCredentials)",
    )
    parser.add_argument("--path", help="request path and query (default: the URL's, or /)")
    parser.add_argument("--data", help="body of the actual request (does not change the CORS decision)")
    parser.add_argument("--json", action="store_true", help="print a JSON report (keys documented in the README)")
    parser.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="do not send extra preflights with near-miss origins when the origin is refused",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--insecure", action="store_true", help="do not verify https certificates")


@dataclass
class CheckRequest:
    """A validated request as a script would make it."""

    origin: str
    method: str
    headers: Headers
    """Headers the script sets and fetch() keeps (forbidden ones removed), normalized."""
    credentials: bool
    path: str
    body: Optional[bytes] = None
    cookie: Optional[str] = None
    """A Cookie value standing in for the browser's cookie jar (sent only with credentials)."""
    notes: list[str] = field(default_factory=list)


def parse_request(
    origin: str,
    method: str,
    headers: Sequence[str],
    credentials: bool,
    path: str,
    data: Optional[str] = None,
) -> CheckRequest:
    """Validate the user's request the way fetch() would, raising UsageError where it would throw."""
    try:
        origin = _fetch.serialize_origin(origin)
    except _fetch.OriginError as error:
        raise UsageError(f"--origin: {error}") from None
    if not _fetch.is_method(method):
        raise UsageError(f"--method: {method!r} is not an HTTP method token (fetch() throws a TypeError)")
    if _fetch.is_forbidden_method(method):
        raise UsageError(f"--method: fetch() refuses {method.upper()} (a forbidden method) with a TypeError")
    normalized = _fetch.normalize_method(method)
    notes: list[str] = []
    if normalized != method:
        notes.append(f"fetch() normalizes the method {method!r} to {normalized!r}")
    parsed: Headers = []
    cookie: Optional[str] = None
    for item in headers:
        name, colon, value = item.partition(":")
        name = name.strip()
        if not colon or not _fetch.is_token(name):
            raise UsageError(f"--header: {item!r} is not NAME:VALUE with NAME a header-name token")
        value = _fetch.normalize_header_value(value)
        if any(c in value for c in "\0\r\n"):
            raise UsageError(f"--header: the value of {name} contains NUL, CR or LF (fetch() throws a TypeError)")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise UsageError(
                f"--header: the value of {name} has characters beyond U+00FF (fetch() throws a TypeError)"
            ) from None
        if name.lower() == "cookie":
            cookie = value if cookie is None else f"{cookie}; {value}"
            continue
        if _fetch.is_forbidden_request_header(name, value):
            notes.append(f"{name} is a forbidden request header: fetch() silently drops it, so it is not sent")
            continue
        parsed.append((name, value))
    if cookie is not None and not credentials:
        notes.append("Cookie is not sent: a browser sends cookies cross-origin only with credentials (--credentials)")
    if credentials and cookie is None:
        notes.append("no cookie is sent (pass --header 'Cookie: ...' to send one); the CORS rules are the same")
    if not path.startswith("/"):
        raise UsageError(f"--path: {path!r} must start with /")
    if any(c in path for c in " \t\r\n\0"):
        raise UsageError(f"--path: {path!r} contains whitespace or control characters")
    if data is not None and normalized in ("GET", "HEAD"):
        raise UsageError(f"--data: fetch() refuses a body with {normalized} (a TypeError)")
    body = None if data is None else data.encode("utf-8")
    return CheckRequest(origin, normalized, parsed, credentials, path, body, cookie, notes)


def run(arguments: argparse.Namespace) -> int:
    """Run `corsfast check` and return its exit status (0 allowed, 1 blocked, 2 usage error)."""
    try:
        target = arguments.target
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            default_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            default_path = "/"
        request = parse_request(
            arguments.origin,
            arguments.method,
            arguments.headers,
            arguments.credentials,
            arguments.path or default_path,
            arguments.data,
        )
        transport = open_transport(target, timeout=arguments.timeout, insecure=arguments.insecure)
        try:
            report = check(transport, request, probe=arguments.probe, target=target)
        finally:
            transport.close()
    except UsageError as error:
        print(f"corsfast check: error: {error}", file=sys.stderr)
        return 2
    if arguments.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_text())
    return report.exit_status


# ---------------------------------------------------------------------------------------
# Transports
# ---------------------------------------------------------------------------------------


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


def open_transport(target: str, *, timeout: float = 10.0, insecure: bool = False) -> Transport:
    """Return the transport for an http(s):// URL or a `module:attribute` ASGI app."""
    if target.startswith(("http://", "https://")):
        return HTTPTransport(target, timeout=timeout, insecure=insecure)
    if "://" in target:
        raise UsageError(f"TARGET {target!r}: only http:// and https:// URLs are supported")
    return ASGITransport(load_app(target), timeout=timeout, name=target)


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
        raise UsageError(f"{target!r} is not an ASGI application (not callable)")
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


# ---------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------


@dataclass
class Problem:
    """A failed rule with the stage it failed in."""

    stage: str
    failure: _fetch.Failure

    def to_json(self) -> dict[str, Any]:
        f = self.failure
        return {
            "stage": self.stage,
            "rule": f.rule,
            "message": f.message,
            "headers": list(f.lines),
            "hint": f.hint,
            "spec": SPEC_URL + f.spec if f.spec else None,
        }


@dataclass
class Report:
    """Everything `corsfast check` found; `to_text` and `to_json` render it."""

    target: str
    url: str
    request: CheckRequest
    preflight_reasons: list[str] = field(default_factory=list)
    preflight: Optional[Exchange] = None
    preflight_result: Optional[_fetch.PreflightResult] = None
    actual: Optional[Exchange] = None
    problems: list[Problem] = field(default_factory=list)
    readable: Optional[list[str]] = None
    hidden: Optional[list[str]] = None
    probes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.problems

    @property
    def exit_status(self) -> int:
        return 0 if self.allowed else 1

    def to_json(self) -> dict[str, Any]:
        result = self.preflight_result
        preflight: dict[str, Any] = {
            "needed": bool(self.preflight_reasons),
            "reasons": list(self.preflight_reasons),
            "exchange": self.preflight.to_json() if self.preflight else None,
            "passed": None if result is None else result.ok,
            "allow_methods": None if result is None else _listed(result.methods),
            "allow_headers": None if result is None else _listed(result.header_names),
            "max_age": None if result is None else result.max_age,
        }
        return {
            "corsfast_check": JSON_VERSION,
            "verdict": "allowed" if self.allowed else "blocked",
            "exit_status": self.exit_status,
            "target": self.target,
            "url": self.url,
            "origin": self.request.origin,
            "method": self.request.method,
            "credentials": self.request.credentials,
            "request_headers": [[name, value] for name, value in self.request.headers],
            "preflight": preflight,
            "actual": None
            if self.actual is None
            else {**self.actual.to_json(), "passed": not any(p.stage == "actual" for p in self.problems)},
            "blocked_by": self.problems[0].to_json() if self.problems else None,
            "failures": [problem.to_json() for problem in self.problems],
            "readable_headers": self.readable,
            "hidden_headers": self.hidden,
            "probes": self.probes,
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        r = self.request
        mode = "include" if r.credentials else "omit"
        out = [
            f"{'ALLOWED' if self.allowed else 'BLOCKED'}  {r.method} {self.url}  from {r.origin}  (credentials: {mode})"
        ]
        if self.problems:
            first = self.problems[0]
            out.append(f"  blocked by:  {first.stage}: {first.failure.message}  [{first.failure.rule}]")
            seen = first.failure.lines or ("(header absent)",)
            if first.failure.rule == "preflight-status":
                seen = ()
            for line in seen:
                out.append(f"  seen:        < {line}")
            if first.failure.hint:
                out.append(f"  fix:         {first.failure.hint}")
            for problem in self.problems[1:]:
                out.append(f"  also:        {problem.stage}: {problem.failure.message}  [{problem.failure.rule}]")
                if problem.failure.hint:
                    out.append(f"               fix: {problem.failure.hint}")
        elif self.readable is not None:
            out.append(f"  JavaScript can read:  {', '.join(self.readable) or '(no headers)'}")
            if self.hidden:
                out.append(f"  hidden from it:       {', '.join(self.hidden)}")
        out.append("")
        if self.preflight_reasons:
            out.append("Preflight: needed, because")
            out.extend(f"  - {reason}" for reason in self.preflight_reasons)
            if self.preflight is not None:
                out.extend(_exchange_lines(self.preflight))
            if self.preflight_result is not None and self.preflight_result.ok:
                out.append(f"  passed; a browser may cache this result for {self.preflight_result.max_age} s")
        else:
            out.append(f"Preflight: not needed ({r.method} with CORS-safelisted headers only)")
        if self.actual is not None:
            out.append("Actual request:")
            out.extend(_exchange_lines(self.actual))
        else:
            out.append("Actual request: not sent (a browser stops at a failed preflight)")
        if self.probes:
            out.append(
                "Near-miss origins tried: "
                + ", ".join(f"{p['origin']} {'ALLOWED' if p['allowed'] else 'refused'}" for p in self.probes)
            )
        for note in self.notes:
            out.append(f"note: {note}")
        return "\n".join(out)


def _listed(value: Any) -> Any:
    if value is _fetch.FAILURE:
        return "invalid"
    return value


def _exchange_lines(exchange: Exchange) -> list[str]:
    lines = [f"  > {exchange.method} {exchange.path}"]
    lines += [f"  > {name}: {value}" for name, value in exchange.request_headers]
    lines.append(f"  < {exchange.status} {exchange.reason}".rstrip())
    lines += [f"  < {name}: {value}" for name, value in exchange.headers]
    text = exchange.text.strip()
    if text:
        shown = text if len(text) <= 200 else text[:200] + "..."
        lines.append(f"  < (body) {shown!r}" if "\n" in shown else f"  < (body) {shown}")
    return lines


def check(transport: Transport, request: CheckRequest, *, probe: bool = True, target: str = "") -> Report:
    """Do what a browser's fetch() does for `request` and report every rule that failed."""
    report = Report(target or getattr(transport, "name", "") or transport.url(""), transport.url(request.path), request)
    report.notes.extend(request.notes)
    reasons = []
    if not _fetch.is_cors_safelisted_method(request.method):
        reasons.append(f"method {request.method} is not CORS-safelisted (GET, HEAD, POST)")
    for name, why in _fetch.unsafe_header_reasons(request.headers).items():
        reasons.append(f"header {name} is not CORS-safelisted ({why})")
    report.preflight_reasons = reasons
    chromium_safelisted = sorted({name.lower() for name, _ in request.headers} & set(CHROMIUM_SAFELISTED_CLIENT_HINTS))
    if chromium_safelisted:
        report.notes.append(
            "Chromium treats " + ", ".join(chromium_safelisted) + " as safelisted client hints and does "
            "not preflight for them; the Fetch standard (and other browsers) do"
        )

    base = [("origin", request.origin), ("user-agent", USER_AGENT)]
    if reasons:
        preflight_headers = _fetch.preflight_request_headers(request.method, request.headers) + base
        exchange = transport.request("OPTIONS", request.path, preflight_headers, None)
        report.preflight = exchange
        result = _fetch.preflight_check(
            exchange.status,
            exchange.headers,
            request.origin,
            request.method,
            request.headers,
            request.credentials,
            exchange.reason,
            exchange.text,
        )
        report.preflight_result = result
        report.problems.extend(Problem("preflight", f) for f in result.failures)
        if result.ok and result.max_age > _fetch.CHROMIUM_MAX_AGE_LIMIT:
            report.notes.append(
                f"Access-Control-Max-Age {result.max_age} exceeds Chromium's limit; it caches for "
                f"{_fetch.CHROMIUM_MAX_AGE_LIMIT} s"
            )
    if not report.problems:
        headers = list(request.headers)
        if not any(name.lower() == "accept" for name, _ in headers):
            headers.append(("accept", "*/*"))
        headers += base
        if request.credentials and request.cookie is not None:
            headers.append(("cookie", request.cookie))
        if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("content-length", str(len(request.body or b""))))
        exchange = transport.request(request.method, request.path, headers, request.body)
        report.actual = exchange
        failures = _fetch.cors_check(exchange.headers, request.origin, request.credentials)
        report.problems.extend(Problem("actual", _explain_actual(f, exchange)) for f in failures)
        if not failures:
            report.readable, report.hidden = _fetch.readable_response_headers(exchange.headers, request.credentials)
        location = _fetch.combine(exchange.headers, "location")
        if 300 <= exchange.status <= 399 and location:
            report.notes.append(
                f"the response redirects to {location!r}; a browser applies the CORS check to this "
                "response and then follows the redirect, which this check does not"
            )
    origin_problems = [
        index
        for index, problem in enumerate(report.problems)
        if problem.failure.rule in ("allow-origin-missing", "allow-origin-mismatch")
    ]
    if origin_problems:
        _origin_hints(transport, report, origin_problems[0], probe)
    report.notes.extend(getattr(transport, "notes", ()))
    return report


def _explain_actual(failure: _fetch.Failure, exchange: Exchange) -> _fetch.Failure:
    """Add a hint to an actual-response failure from what the response looks like."""
    if failure.rule != "allow-origin-missing" or failure.hint:
        return failure
    names = {name.lower() for name, _ in exchange.headers}
    vary = (_fetch.combine(exchange.headers, "vary") or "").lower()
    if exchange.status >= 500:
        hint = (
            f"the app answered {exchange.status} and that error response carries no CORS headers, so "
            "the browser reports a CORS error: fix the server error first (error responses produced "
            "outside the CORS middleware, e.g. by Starlette's ServerErrorMiddleware, never get CORS headers)"
        )
    elif any(name.startswith("access-control-") for name in names) or "origin" in vary:
        hint = "a CORS layer answered but did not allow this origin: add it to the server's allowed origins"
    else:
        hint = (
            "the response has no CORS headers at all: no CORS layer handled this request, or it "
            "refused the origin without a trace; add the origin to the allowed origins"
        )
    return _fetch.Failure(failure.rule, failure.message, failure.lines, hint, failure.spec)


def _origin_variants(origin: str) -> list[tuple[str, str]]:
    if origin == "null":
        return []
    scheme, _, rest = origin.partition("://")
    host, colon, port = rest.partition(":")
    if host.startswith("["):
        host, colon, port = rest, "", ""
    variants = [(origin + "/", "with a trailing slash")]
    default = {"http": "80", "https": "443"}.get(scheme)
    if default and not colon:
        variants.append((f"{origin}:{default}", "with the default port written out"))
    other = {"http": "https", "https": "http"}.get(scheme)
    if other:
        variants.append((f"{other}://{rest}", f"over {other}://"))
    if host.count(".") >= 1 and not host.replace(".", "").isdigit():
        flipped = host[4:] if host.startswith("www.") else f"www.{host}"
        variants.append((f"{scheme}://{flipped}{colon}{port}", "with the www. prefix toggled"))
    return variants


def _origin_hints(transport: Transport, report: Report, index: int, probe: bool) -> None:
    """Explain a refused origin: configured near-misses, and optionally near-miss probes."""
    request = report.request
    first = report.problems[index]
    hints: list[str] = []
    for configured in transport.configured_origins():
        if configured == request.origin or "*" in configured:
            continue
        if configured.lower().rstrip("/") == request.origin.lower():
            why = []
            if configured.rstrip("/") != configured:
                why.append("a trailing slash")
            if configured.lower() != configured:
                why.append("upper-case letters")
            hints.append(
                f"the server allows {configured!r}, which differs from {request.origin!r} only by "
                f"{' and '.join(why) or 'letter case'}: browsers send origins lower-case without a "
                f"slash, so list {request.origin!r}"
            )
    if probe and not hints:
        stage_exchange = report.preflight if first.stage == "preflight" else report.actual
        for variant, how in _origin_variants(request.origin)[:4]:
            allowed, status = _probe(transport, report, variant, stage_exchange)
            report.probes.append({"origin": variant, "allowed": allowed, "status": status})
            if allowed:
                hints.append(
                    f"the server allows {variant!r} ({how}) but not {request.origin!r}: "
                    + (
                        "an origin never ends with a slash, remove it from the allowed origins"
                        if how == "with a trailing slash"
                        else f"add {request.origin!r} to the allowed origins if the page really is served from there"
                    )
                )
    if hints:
        failure = first.failure
        hint = "; ".join(hints) if not failure.hint else failure.hint + "; " + "; ".join(hints)
        report.problems[index] = Problem(
            first.stage, _fetch.Failure(failure.rule, failure.message, failure.lines, hint, failure.spec)
        )


def _probe(transport: Transport, report: Report, variant: str, like: Optional[Exchange]) -> tuple[bool, int]:
    """Send the failing request again with Origin `variant` (a safe request only) and say
    whether the server reflected that origin in Access-Control-Allow-Origin."""
    request = report.request
    if like is not None and (like.method == "OPTIONS" or like.method in ("GET", "HEAD")):
        headers = [(name, variant if name.lower() == "origin" else value) for name, value in like.request_headers]
        headers = [(name, value) for name, value in headers if name.lower() != "host"]
        exchange = transport.request(like.method, like.path, headers, None)
    else:
        headers = _fetch.preflight_request_headers(request.method, request.headers)
        headers += [("origin", variant), ("user-agent", USER_AGENT)]
        exchange = transport.request("OPTIONS", request.path, headers, None)
    return _fetch.combine(exchange.headers, "access-control-allow-origin") == variant, exchange.status
