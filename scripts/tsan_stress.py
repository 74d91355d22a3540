"""Drive corsfast's compiled middlewares from several threads at once, for ThreadSanitizer.

`bash scripts/tsan.sh scripts/tsan_stress.py` runs it on a free-threaded CPython built with
ThreadSanitizer, the engine built with it too; TSan then reports every access to shared state
that no lock or atomic orders. This driver makes each piece of the engine's shared state be
read and written by different threads: one middleware of each kind shared by every worker
(the ASGI one with an event loop per thread), Origins that churn the origin cache past its
size, `allow_origin_func` verdicts that expire, `cache_info()` read while requests count,
and a thread that reassigns the Starlette drop-in's `allow_origins` (which recompiles its
policy). It checks the answers it can predict, so a wrong answer fails the run as well.

    PYTHON_GIL=0 .venv-tsan/bin/python scripts/tsan_stress.py [--threads 4] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import corsfast
import corsfast.wsgi
from corsfast import _engine

ALLOWED = "https://app.example.com"
REFUSED = "https://evil.example.net"
CACHE_SIZE = 64
SHARED_ORIGINS = 200  # more than CACHE_SIZE: the cache is cleared and refilled all the time
BURST_EVERY = 8
FUNC_TTL = 0.005  # seconds: verdicts of allow_origin_func go stale during the run


def _dynamic(origin: str) -> bool:
    """Return True for the Origins `allow_origin_func` grants: any subdomain of dyn.test."""
    return origin.endswith(".dyn.test")


def _origin(worker: int, step: int) -> str:
    """Return the Origin of request `step` of `worker`: fixed, shared churn or unique."""
    kind = step % 4
    if kind == 0:
        return ALLOWED
    if kind == 1:
        return REFUSED
    if kind == 2:  # every worker walks the same origins: new entries are shared at once
        return f"https://s{step // 4 % SHARED_ORIGINS}.dyn.test"
    return f"https://w{worker}-{step}.dyn.test"


def _expected_allowed(origin: str) -> bool:
    return origin == ALLOWED or _dynamic(origin)


# -- the apps and middlewares ---------------------------------------------------------


async def _asgi_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _wsgi_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _scope(origin: str, preflight: bool) -> dict[str, Any]:
    headers = [(b"host", b"api.example.com"), (b"origin", origin.encode("latin-1"))]
    if preflight:
        headers.append((b"access-control-request-method", b"PUT"))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "OPTIONS" if preflight else "GET",
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 443),
    }


async def _asgi_request(app: Any, origin: str, preflight: bool) -> dict[bytes, bytes]:
    """Return the response headers `app` answers a request from `origin` with."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(_scope(origin, preflight), receive, send)
    return {name.lower(): value for name, value in messages[0]["headers"]}


def _wsgi_request(app: Any, origin: str, preflight: bool, environ: Any = None) -> dict[str, str]:
    """Return the response headers the WSGI `app` answers a request from `origin` with."""
    environ = environ or {
        "REQUEST_METHOD": "OPTIONS" if preflight else "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "api.example.com",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
        "HTTP_ORIGIN": origin,
    }
    if preflight:
        environ.setdefault("HTTP_ACCESS_CONTROL_REQUEST_METHOD", "PUT")
    started: list[list[tuple[str, str]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started.append(headers)

    body = app(environ, start_response)
    b"".join(body)
    return {name.lower(): value for name, value in started[0]}


def _django_middleware() -> Any:
    """Return corsfast.django's middleware around a view answering "ok", or None without Django."""
    try:
        import django
        from django.conf import settings
    except ImportError:
        return None
    settings.configure(
        SECRET_KEY="corsfast-tsan",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=[],
        CORS_ALLOWED_ORIGINS=[ALLOWED],
        CORS_ALLOWED_ORIGIN_REGEXES=[r"https://[\w.-]+\.dyn\.test"],
        CORS_ALLOW_METHODS=["GET", "PUT"],
    )
    django.setup()
    from django.http import HttpResponse

    from corsfast.django.middleware import CorsMiddleware

    return CorsMiddleware(lambda request: HttpResponse("ok"))


def _flask_app() -> Any:
    """Return a Flask app with corsfast.flask's CORS, or None without Flask."""
    try:
        from flask import Flask
    except ImportError:
        return None
    from corsfast.flask import CORS

    app = Flask("tsan_stress")
    app.add_url_rule("/", "index", lambda: "ok", methods=["GET", "PUT"])
    CORS(app, origins=[ALLOWED, r"https://[\w.-]+\.dyn\.test"], methods=["GET", "PUT"])
    return app


class Stress:
    """The shared middlewares, the workers' loop and the failures they found."""

    def __init__(self, threads: int, seconds: float) -> None:
        self.threads = threads
        self.deadline = time.monotonic() + seconds
        self.failures: list[str] = []
        self.requests = 0
        # Every BURST_EVERY steps all workers answer one new Origin at the same moment, so
        # that the state an entry fills on first use is filled by several threads at once.
        self.burst = threading.Barrier(threads, timeout=60)
        self._lock = threading.Lock()
        options: dict[str, Any] = {
            "allow_origins": [ALLOWED],
            "allow_methods": ["GET", "PUT"],
            "allow_origin_func": _dynamic,
            "allow_origin_func_ttl": FUNC_TTL,
            "cache_size": CACHE_SIZE,
        }
        self.asgi = corsfast.CORSMiddleware(_asgi_app, **options)
        self.wsgi = corsfast.wsgi.CORSMiddleware(_wsgi_app, **options)
        # Without a ttl, verdicts of allow_origin_func go to the policy's granted store.
        self.wsgi_untimed = corsfast.wsgi.CORSMiddleware(
            _wsgi_app, allow_origins=[ALLOWED], allow_origin_func=_dynamic, cache_size=CACHE_SIZE
        )
        self.starlette: Any = None
        self.django: Any = _django_middleware()
        self.flask: Any = _flask_app()
        try:
            starlette_dropin = importlib.import_module("corsfast.starlette")
        except ImportError:  # Starlette is not installed
            pass
        else:
            self.starlette = starlette_dropin.CORSMiddleware(
                _asgi_app, allow_origins=[ALLOWED, REFUSED], allow_methods=["GET", "PUT"]
            )

    def fail(self, message: str) -> None:
        with self._lock:
            if len(self.failures) < 20:
                self.failures.append(message)

    def running(self) -> bool:
        return time.monotonic() < self.deadline and not self.failures

    def worker(self, number: int) -> None:
        """Send requests of every kind until the deadline, on this thread's own event loop."""
        loop = asyncio.new_event_loop()
        step = 0
        try:
            while self.running():
                origin = _origin(number, step)
                preflight = step % 3 == 0
                allowed = _expected_allowed(origin)
                headers = loop.run_until_complete(_asgi_request(self.asgi, origin, preflight))
                self._check("asgi", origin, headers.get(b"access-control-allow-origin"), allowed)
                for name, app in (("wsgi", self.wsgi), ("wsgi untimed", self.wsgi_untimed)):
                    text = _wsgi_request(app, origin, preflight)
                    self._check(name, origin, text.get("access-control-allow-origin"), allowed)
                if self.starlette is not None:
                    headers = loop.run_until_complete(_asgi_request(self.starlette, origin, preflight))
                    if origin == ALLOWED and headers.get(b"access-control-allow-origin") != ALLOWED.encode():
                        self.fail(f"starlette: {origin} not allowed: {headers}")
                if self.django is not None:
                    self._check_django(origin, preflight)
                if self.flask is not None:
                    self._check_flask(origin, preflight)
                if step % BURST_EVERY == 0:
                    self._burst(step)
                if step % 16 == 0:
                    for middleware in (self.asgi, self.wsgi, self.wsgi_untimed):
                        info = middleware.cache_info()
                        if not 0 <= info.currsize <= CACHE_SIZE + self.threads:
                            self.fail(f"cache size out of bounds: {info}")
                step += 1
        except threading.BrokenBarrierError:
            pass  # another worker has stopped
        except Exception as error:  # reported; the run then fails
            self.fail(f"worker {number}: {type(error).__name__}: {error}")
        finally:
            self.burst.abort()
            loop.close()
            with self._lock:
                self.requests += step

    def _check(self, name: str, origin: str, value: Any, allowed: bool) -> None:
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if (value == origin) != allowed:
            self.fail(f"{name}: Origin {origin} answered {value!r}, expected allowed={allowed}")

    def _burst(self, step: int) -> None:
        origin = f"https://b{step}.dyn.test"
        self.burst.wait()
        for name, app in (("wsgi", self.wsgi), ("wsgi untimed", self.wsgi_untimed)):
            text = _wsgi_request(app, origin, False)
            self._check(f"{name} burst", origin, text.get("access-control-allow-origin"), True)

    def _check_django(self, origin: str, preflight: bool) -> None:
        from django.test import RequestFactory

        headers = {"HTTP_ORIGIN": origin}
        if preflight:
            headers["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = "PUT"
        factory = RequestFactory()
        request = factory.options("/", **headers) if preflight else factory.get("/", **headers)
        response = self.django(request)
        self._check("django", origin, response.headers.get("access-control-allow-origin"), _expected_allowed(origin))

    def _check_flask(self, origin: str, preflight: bool) -> None:
        from werkzeug.test import EnvironBuilder

        headers = {"Origin": origin}
        if preflight:
            headers["Access-Control-Request-Method"] = "PUT"
        environ = EnvironBuilder(path="/", method="OPTIONS" if preflight else "GET", headers=headers).get_environ()
        text = _wsgi_request(self.flask, origin, preflight, environ)
        self._check("flask", origin, text.get("access-control-allow-origin"), _expected_allowed(origin))

    def mutator(self) -> None:
        """Change settings while requests run: the Starlette drop-in's allow_origins (each
        change recompiles its policy) and, through Django's setting_changed signal, the
        generation of corsfast.django's settings (the next request compiles them again)."""
        lists = ([ALLOWED, REFUSED], [ALLOWED, "https://other.example.org"])
        flips = 0
        while self.running():
            if self.starlette is not None:
                self.starlette.allow_origins = list(lists[flips % 2])
            if self.django is not None and flips % 4 == 0:
                from django.conf import settings
                from django.test.signals import setting_changed

                setting_changed.send(sender=type(settings), setting="CORS_PREFLIGHT_MAX_AGE", value=86400, enter=True)
            flips += 1
            time.sleep(0.001)

    def run(self) -> int:
        threads = [threading.Thread(target=self.worker, args=(n,)) for n in range(self.threads)]
        if self.starlette is not None or self.django is not None:
            threads.append(threading.Thread(target=self.mutator))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        info = {name: app.cache_info() for name, app in (("asgi", self.asgi), ("wsgi", self.wsgi))}
        print(f"tsan_stress: {self.requests} request rounds on {self.threads} threads; {info}")
        for failure in self.failures:
            print(f"tsan_stress: FAIL {failure}", file=sys.stderr)
        return 1 if self.failures else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    if _engine.NO_EXTENSIONS:
        print("tsan_stress: the compiled engine is not in use", file=sys.stderr)
        return 2
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    print(f"tsan_stress: Python {sys.version.split()[0]}, GIL {'enabled' if gil else 'disabled'}")
    return Stress(args.threads, args.seconds).run()


if __name__ == "__main__":
    sys.exit(main())
