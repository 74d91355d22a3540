"""Many threads sharing one middleware: no crash, no exception, exact answers and statistics.

Each test runs 2, 4 and 8 threads against ONE middleware of a kind (the native ASGI one with
an event loop per thread, the WSGI one, the native one with `allow_origin_func` and a ttl,
the Starlette drop-in while another thread changes `allow_origins`, the Django and Flask
drop-ins), with unique origins that churn the origin cache past its bound. Every answer is
then compared with the answer a fresh middleware of the same configuration gives the same
request in one thread (with a runtime change: the answer of the old or of the new
configuration, never a mix), and the cache statistics must count every lookup.

With the GIL these prove the answers under thread switches; on a free-threaded CPython
(3.14t, `PYTHON_GIL=0`) they are the stress suite of the free-threaded job, where a race
would crash, raise or mix answers. Loops are bounded in count and in time.
`CORSFAST_STRESS_REPORT=FILE` appends a JSON line per threaded run (test, threads, requests).
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, Optional

import pytest
from cases import http_scope, wsgi_environ

import corsfast
import corsfast.starlette
import corsfast.wsgi
from corsfast import CORSConfigWarning

pytestmark = pytest.mark.threads

THREADS = (2, 4, 8)
REQUESTS = 1500
"""Requests per thread (fewer for the Django and Flask drop-ins, whose frameworks cost more)."""
SECONDS = 20.0
"""A thread stops early after this long: a bound on a slow or loaded machine."""
CACHE_SIZE = 64

Request = tuple[str, str, Optional[str]]
"""(method, Origin, Access-Control-Request-Method)."""
Answer = tuple[Any, ...]


def requests_of(thread: int, count: int) -> list[Request]:
    """Return a thread's requests: allowed, refused and unique origins, simple and preflight."""
    result: list[Request] = []
    for i in range(count):
        kind = i % 6
        if kind == 0:
            result.append(("GET", "https://a.test", None))
        elif kind == 1:
            result.append(("OPTIONS", "https://a.test", "PUT"))
        elif kind == 2:
            result.append(("GET", "https://evil.test", None))
        elif kind == 3:
            # A unique origin each time: the cache fills past CACHE_SIZE and is cleared.
            result.append(("GET", f"https://u{thread}-{i}.example.com", None))
        elif kind == 4:
            result.append(("OPTIONS", f"https://p{thread}-{i}.example.com", "DELETE"))
        else:
            result.append(("GET", f"https://t{i % 50}.tenant.test", None))
    return result


def run_threads(count: int, work: Callable[[int], list[tuple[Request, Answer]]]) -> list[tuple[Request, Answer]]:
    """Run `work(thread)` on `count` threads started together; return every answer, or raise
    the first exception a thread raised."""
    barrier = threading.Barrier(count)
    results: list[list[tuple[Request, Answer]]] = [[] for _ in range(count)]
    errors: list[BaseException] = []

    def target(thread: int) -> None:
        try:
            barrier.wait()
            results[thread] = work(thread)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS * 3)
        assert not thread.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]
    answers = [pair for result in results for pair in result]
    report = os.environ.get("CORSFAST_STRESS_REPORT")
    if report:  # a line per run, to total the requests a stress run made
        with open(report, "a", encoding="utf-8") as out:
            test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
            out.write(json.dumps({"test": test, "threads": count, "requests": len(answers)}) + "\n")
    return answers


# -- ASGI ---------------------------------------------------------------------------------------


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b""}


def asgi_scope(request: Request) -> dict[str, Any]:
    method, origin, acrm = request
    headers = [(b"host", b"api.test"), (b"origin", origin.encode("latin-1"))]
    if acrm is not None:
        headers.append((b"access-control-request-method", acrm.encode("latin-1")))
    return http_scope(method, headers)


async def asgi_answer(middleware: Any, request: Request) -> Answer:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await middleware(asgi_scope(request), receive, send)
    start = sent[0]
    return (start["status"], tuple(tuple(header) for header in start["headers"]))


def asgi_work(middleware: Any, count: int) -> Callable[[int], list[tuple[Request, Answer]]]:
    """Return a thread's work: its requests through `middleware`, on an event loop of its own."""

    def work(thread: int) -> list[tuple[Request, Answer]]:
        async def batch() -> list[tuple[Request, Answer]]:
            deadline = time.monotonic() + SECONDS
            answers = []
            for request in requests_of(thread, count):
                answers.append((request, await asgi_answer(middleware, request)))
                if time.monotonic() > deadline:
                    break
            return answers

        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(batch())
        finally:
            loop.close()

    return work


def asgi_reference(middleware: Any, request: Request) -> Answer:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(asgi_answer(middleware, request))
    finally:
        loop.close()


NATIVE = {
    "allow_origins": ["https://a.test", "https://*.example.com"],
    "allow_credentials": True,
    "expose_headers": ["X-Request-Id"],
    "cache_size": CACHE_SIZE,
}


def _tenant(origin: str) -> bool:
    return origin.endswith(".tenant.test")


FUNC = {
    "allow_origins": ["https://a.test", "https://*.example.com"],
    "allow_origin_func": _tenant,
    "allow_origin_func_ttl": 60,
    "cache_size": CACHE_SIZE,
}


def check(answers: Sequence[tuple[Request, Answer]], reference: Callable[[Request], Answer]) -> None:
    """Assert every answer equals the reference's for the same request (computed once each)."""
    expected: dict[Request, Answer] = {}
    wrong = 0
    for request, answer in answers:
        if request not in expected:
            expected[request] = reference(request)
        wrong += answer != expected[request]
    assert wrong == 0, f"{wrong} of {len(answers)} answers differ from one thread's answers"


@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("options", [NATIVE, FUNC], ids=["rules", "allow_origin_func-ttl"])
def test_native_asgi(engine: ModuleType, threads: int, options: dict[str, Any]) -> None:
    middleware = corsfast.CORSMiddleware(app, **options, _engine=engine)
    answers = run_threads(threads, asgi_work(middleware, REQUESTS))
    fresh = corsfast.CORSMiddleware(app, **options, _engine=engine)
    check(answers, lambda request: asgi_reference(fresh, request))
    info = middleware.cache_info()
    if "allow_origin_func" not in options:
        # One cache lookup per request, every one counted: no increment lost between threads.
        assert info.hits + info.misses == len(answers)
    assert info.currsize <= info.maxsize and info.maxsize % CACHE_SIZE == 0  # a cache per thread (3.14t)


@pytest.mark.parametrize("threads", THREADS)
def test_starlette_drop_in_while_allow_origins_changes(engine: ModuleType, threads: int) -> None:
    before = ["https://a.test", "https://evil.test"]
    after = ["https://a.test"]
    middleware = corsfast.starlette.CORSMiddleware(app, allow_origins=before, allow_methods=["*"], _engine=engine)
    done = threading.Event()
    changes = 0

    def change() -> None:
        nonlocal changes
        while not done.is_set() and changes < 100_000:
            middleware.allow_origins = after if changes % 2 else before
            changes += 1
            time.sleep(0)  # let the request threads run: each change makes them compile a new policy

    changer = threading.Thread(target=change)
    changer.start()
    try:
        answers = run_threads(threads, asgi_work(middleware, REQUESTS))
    finally:
        done.set()
        changer.join()
    assert changes > 0
    old = corsfast.starlette.CORSMiddleware(app, allow_origins=before, allow_methods=["*"], _engine=engine)
    new = corsfast.starlette.CORSMiddleware(app, allow_origins=after, allow_methods=["*"], _engine=engine)
    expected: dict[Request, tuple[Answer, Answer]] = {}
    mixed = 0
    for request, answer in answers:
        if request not in expected:
            expected[request] = (asgi_reference(old, request), asgi_reference(new, request))
        mixed += answer not in expected[request]
    assert mixed == 0, f"{mixed} of {len(answers)} answers are neither the old nor the new configuration's"


SHARED_START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
SHARED_BODY = {"type": "http.response.body", "body": b"ok"}


async def sharing_app(scope: Any, receive: Any, send: Any) -> None:
    # An app that sends the same message dicts from every thread (a bug, but not one that
    # may crash a server): the middleware replaces `headers` in a dict other threads read.
    await send(SHARED_START)
    await send(SHARED_BODY)


@pytest.mark.parametrize("threads", THREADS)
def test_an_app_sharing_its_messages_between_threads_crashes_nothing(engine: ModuleType, threads: int) -> None:
    middleware = corsfast.CORSMiddleware(sharing_app, **NATIVE, _engine=engine)
    answers = run_threads(threads, asgi_work(middleware, REQUESTS))
    assert answers and all(answer[0] == 200 for request, answer in answers if request[0] == "GET")


# -- WSGI ---------------------------------------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def request_environ(request: Request) -> dict[str, Any]:
    method, origin, acrm = request
    headers = [("Host", "api.test"), ("Origin", origin)]
    if acrm is not None:
        headers.append(("Access-Control-Request-Method", acrm))
    return wsgi_environ(method, headers)


def wsgi_answer(middleware: Any, request: Request) -> Answer:
    started: list[Any] = []
    body = b"".join(
        middleware(request_environ(request), lambda status, headers, *exc: started.append((status, headers)))
    )
    status, headers = started[0]
    return (status, tuple(headers), body)


def wsgi_work(middleware: Any, count: int) -> Callable[[int], list[tuple[Request, Answer]]]:
    def work(thread: int) -> list[tuple[Request, Answer]]:
        deadline = time.monotonic() + SECONDS
        answers = []
        for request in requests_of(thread, count):
            answers.append((request, wsgi_answer(middleware, request)))
            if time.monotonic() > deadline:
                break
        return answers

    return work


@pytest.mark.parametrize("threads", THREADS)
def test_native_wsgi(engine: ModuleType, threads: int) -> None:
    middleware = corsfast.wsgi.CORSMiddleware(wsgi_app, **NATIVE, _engine=engine)
    answers = run_threads(threads, wsgi_work(middleware, REQUESTS))
    fresh = corsfast.wsgi.CORSMiddleware(wsgi_app, **NATIVE, _engine=engine)
    check(answers, lambda request: wsgi_answer(fresh, request))
    info = middleware.cache_info()
    assert info.hits + info.misses == len(answers)
    assert info.currsize <= info.maxsize and info.maxsize % CACHE_SIZE == 0  # a cache per thread (3.14t)


# -- the Flask and Django drop-ins ---------------------------------------------------------------


@pytest.mark.parametrize("threads", THREADS)
def test_flask_drop_in(engine: ModuleType, threads: int) -> None:
    flask = pytest.importorskip("flask")
    import corsfast.flask

    def make() -> Any:
        application = flask.Flask(__name__)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CORSConfigWarning)
            corsfast.flask.CORS(
                application,
                origins=["https://a.test", r"https://.*\.example\.com"],
                supports_credentials=True,
                _engine=engine,
            )

        @application.route("/", methods=["GET", "PUT", "DELETE"])
        def index() -> str:
            return "ok"

        return application

    shared = make()
    answers = run_threads(threads, wsgi_work(shared.wsgi_app, REQUESTS // 5))
    fresh = make()
    check(answers, lambda request: wsgi_answer(fresh.wsgi_app, request))


@pytest.mark.parametrize("threads", THREADS)
def test_django_drop_in(engine: ModuleType, threads: int) -> None:
    pytest.importorskip("django")
    pytest.importorskip("corsheaders")
    import django_site  # noqa: F401 - configures Django for the tests, once per process
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from corsfast.django.middleware import _on_engine

    factory = RequestFactory()

    def answer(middleware: Any, request: Request) -> Answer:
        method, origin, acrm = request
        headers = {"HTTP_ORIGIN": origin}
        if acrm is not None:
            headers["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = acrm
        response = middleware(factory.generic(method, "/", **headers))
        return (response.status_code, tuple(response.items()))

    def work(thread: int) -> list[tuple[Request, Answer]]:
        deadline = time.monotonic() + SECONDS
        answers = []
        for request in requests_of(thread, REQUESTS // 5):
            answers.append((request, answer(shared, request)))
            if time.monotonic() > deadline:
                break
        return answers

    settings = {
        "CORS_ALLOWED_ORIGINS": ["https://a.test"],
        "CORS_ALLOWED_ORIGIN_REGEXES": [r"^https://\w+-\d+\.example\.com$"],
        "CORS_ALLOW_CREDENTIALS": True,
    }
    with override_settings(**settings):
        shared = _on_engine(engine)(lambda request: HttpResponse("ok"))
        answers = run_threads(threads, work)
        fresh = _on_engine(engine)(lambda request: HttpResponse("ok"))
        check(answers, lambda request: answer(fresh, request))


# -- memory ------------------------------------------------------------------------------------


def _rss_kib() -> Optional[int]:
    """Return this process's resident set size in KiB (Linux), or None elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return None
    import resource

    return pages * resource.getpagesize() // 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
@pytest.mark.skipif(
    "--with-thread-sanitizer" in (sysconfig.get_config_var("CONFIG_ARGS") or ""),
    reason="ThreadSanitizer's own memory grows with the run",
)
def test_memory_stays_flat_under_threads(engine: ModuleType) -> None:
    # Unique origins churn the bounded cache: after a warm-up round, more rounds of the same
    # load must not grow the process (a leak of one entry per request would add megabytes).
    middleware = corsfast.CORSMiddleware(app, **NATIVE, _engine=engine)
    work = asgi_work(middleware, REQUESTS)
    run_threads(4, work)
    gc.collect()
    start = _rss_kib()
    for _ in range(3):
        run_threads(4, work)
    gc.collect()
    end = _rss_kib()
    assert start is not None and end is not None
    assert end - start < 8 * 1024, f"RSS grew {end - start} KiB over 3 rounds of {4 * REQUESTS} requests"
