"""Each thread's own copy of the native middlewares' policy on free-threaded CPython.

Without the GIL, threads that share one compiled policy (its origin cache, its entries, their
header tuples) all write the reference counts of the same objects, so they wait on each
other's cache lines; the native middlewares give each thread that serves requests a copy
of the policy, compiled by that thread. With the GIL there is one policy. Either way the
answers are the same, `cache_info()` adds every thread's cache up and counts every lookup,
and a new policy, a new app or `cache_clear()` reaches every thread.
"""

from __future__ import annotations

import asyncio
import sysconfig
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from cases import http_scope, wsgi_environ

import corsfast
import corsfast.starlette
import corsfast.wsgi

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
CACHE_SIZE = 16
MAX_THREAD_VIEWS = 256


async def asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"one")]})
    await send({"type": "http.response.body", "body": b""})


async def other_asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"two")]})
    await send({"type": "http.response.body", "body": b""})


def wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("X-App", "one")])
    return [b""]


def other_wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("X-App", "two")])
    return [b""]


def asgi_get(middleware: Any, origin: str) -> dict[str, str]:
    """Return the response headers `middleware` answers a GET from `origin` with."""
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(middleware(http_scope("GET", [(b"origin", origin.encode())]), receive, send))
    return {k.decode(): v.decode() for k, v in sent[0]["headers"]}


def wsgi_get(middleware: Any, origin: str) -> dict[str, str]:
    """Return the response headers `middleware` answers a GET from `origin` with."""
    started: list[Any] = []
    middleware(
        wsgi_environ("GET", [("Origin", origin)]), lambda status, headers, exc_info=None: started.append(headers)
    )
    return {k.lower(): v for k, v in started[0]}


KINDS = {
    "asgi": (corsfast.CORSMiddleware, asgi_app, other_asgi_app, asgi_get),
    "wsgi": (corsfast.wsgi.CORSMiddleware, wsgi_app, other_wsgi_app, wsgi_get),
}


def in_thread(call: Callable[[], Any]) -> Any:
    """Return what `call` returns when run on a new thread (which then ends)."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(call())
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    return result[0]


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def build(engine: ModuleType, kind: str, **options: Any) -> Any:
    cls, app, _, _ = KINDS[kind]
    options.setdefault("allow_origins", ["https://a.test", "https://*.tenant.test"])
    return cls(app, cache_size=CACHE_SIZE, **options, _engine=engine)


def test_one_cache_per_serving_thread_added_up(engine: ModuleType, kind: str) -> None:
    middleware = build(engine, kind)
    get = KINDS[kind][3]
    assert get(middleware, "https://a.test")["access-control-allow-origin"] == "https://a.test"
    # The thread that built the middleware serves from its policy: one cache.
    assert middleware.cache_info() == (0, 1, CACHE_SIZE, 1)
    for _ in range(3):
        answer = in_thread(lambda: (get(middleware, "https://a.test"), get(middleware, "https://a.test")))
        assert [headers.get("access-control-allow-origin") for headers in answer] == ["https://a.test"] * 2
    info = middleware.cache_info()
    # Every lookup counted. Threads that end hand their ident on, so later threads may
    # reuse an earlier one's copy: with the GIL, or when they do, fewer caches.
    assert info.hits + info.misses == 7
    caches = info.maxsize // CACHE_SIZE
    assert info.maxsize == CACHE_SIZE * caches and info.currsize == caches
    assert info.misses == caches  # one miss per cache: its first lookup
    assert caches == 1 if not FREE_THREADED else 2 <= caches <= 4


def test_threads_serve_the_same_answers(engine: ModuleType, kind: str) -> None:
    middleware = build(engine, kind, allow_credentials=True, expose_headers=["X-Total"])
    fresh = build(engine, kind, allow_credentials=True, expose_headers=["X-Total"])
    get = KINDS[kind][3]
    origins = ["https://a.test", "https://x.tenant.test", "https://evil.test", "null", "https://a.test:1"]
    for origin in origins:
        assert in_thread(lambda origin=origin: get(middleware, origin)) == get(fresh, origin), origin


def answers_across(
    middleware: Any, get: Callable[[Any, str], dict[str, str]], origin: str, change: Callable[[], None]
) -> list[dict[str, str]]:
    """Return the answers a thread gets to `origin` before and after `change()` runs in this
    one, the thread serving (its view made) all along."""
    started = threading.Barrier(2)
    changed = threading.Event()
    answers: list[dict[str, str]] = []

    def serve() -> None:
        answers.append(get(middleware, origin))
        started.wait(30)
        changed.wait(30)
        answers.append(get(middleware, origin))

    thread = threading.Thread(target=serve)
    thread.start()
    started.wait(30)
    change()
    changed.set()
    thread.join(30)
    return answers


def test_a_new_policy_reaches_every_thread(engine: ModuleType, kind: str) -> None:
    middleware = build(engine, kind)
    get = KINDS[kind][3]

    def change() -> None:
        middleware.policy = build(engine, kind, allow_origins=["https://b.test"]).policy

    answers = answers_across(middleware, get, "https://b.test", change)
    assert [a.get("access-control-allow-origin") for a in answers] == [None, "https://b.test"]
    assert get(middleware, "https://b.test")["access-control-allow-origin"] == "https://b.test"


def test_a_new_app_reaches_every_thread_and_keeps_its_cache(engine: ModuleType, kind: str) -> None:
    middleware = build(engine, kind)
    _, _, other_app, get = KINDS[kind]

    def change() -> None:
        middleware.app = other_app

    answers = answers_across(middleware, get, "https://a.test", change)
    assert [a["x-app"] for a in answers] == ["one", "two"]
    assert all(a["access-control-allow-origin"] == "https://a.test" for a in answers)
    info = middleware.cache_info()
    assert (info.hits, info.misses) == (1, 1)  # the thread's second request hit its cache


def test_cache_clear_empties_every_thread_cache(engine: ModuleType, kind: str) -> None:
    middleware = build(engine, kind)
    get = KINDS[kind][3]
    get(middleware, "https://a.test")
    in_thread(lambda: get(middleware, "https://x.tenant.test"))
    assert middleware.cache_info().currsize == 2
    middleware.cache_clear()
    info = middleware.cache_info()
    assert (info.hits, info.misses, info.currsize) == (0, 0, 0)


def test_many_threads_keep_every_lookup_counted(engine: ModuleType, kind: str) -> None:
    # Past MAX_THREAD_VIEWS live threads the views start again (a server with a thread per
    # request must not keep one per thread it ever ran); their statistics are kept.
    middleware = build(engine, kind)
    get = KINDS[kind][3]
    release = threading.Event()
    served = threading.Semaphore(0)
    answers: list[str] = []

    def serve() -> None:
        answers.append(get(middleware, "https://a.test")["access-control-allow-origin"])
        served.release()
        release.wait(60)

    count = MAX_THREAD_VIEWS + 20
    threads = [threading.Thread(target=serve) for _ in range(count)]
    try:
        for thread in threads:  # one at a time, each alive until the end: distinct idents
            thread.start()
            assert served.acquire(timeout=30)
    finally:
        release.set()
        for thread in threads:
            thread.join(30)
    assert answers == ["https://a.test"] * count
    info = middleware.cache_info()
    assert info.hits + info.misses == count
    assert info.currsize <= info.maxsize <= CACHE_SIZE * (MAX_THREAD_VIEWS + 1)


def test_the_starlette_drop_in_shares_one_policy(engine: ModuleType) -> None:
    # Its policy follows its attributes as they change; every thread reads the one policy.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        middleware = corsfast.starlette.CORSMiddleware(asgi_app, allow_origins=["https://a.test"], _engine=engine)
    for _ in range(3):
        in_thread(lambda: asgi_get(middleware, "https://a.test"))
    info = middleware.cache_info()
    assert info.maxsize == middleware.policy.options.cache_size
    assert info.hits + info.misses == 3
