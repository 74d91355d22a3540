"""Load, leak, concurrency and fault tests on both engines (SECURITY.md 5.2 R10, 5.4 H5, 5.5 T1-T3).

- R10: a million unique attacker origins through a wildcard + pattern configuration with a
  small cache: every verdict equals an independent reference, the cache never holds more
  than its size, and memory (tracemalloc bytes, allocator blocks) stays at one full cache.
- Leaks: hundreds of thousands of complete ASGI requests through the native middleware and
  the Starlette drop-in on a warm cache leave no bytes, blocks or references behind.
- T1: one policy (and one WSGI middleware) shared by 32 threads on a tiny cache.
- T2: 10 000 concurrent asyncio requests on one middleware, each with its own origin.
- T3/H5: exceptions from inside origin matching, from `send` and from the app propagate
  unchanged and leave the cache consistent for the next request.

The measured numbers are printed: run with `pytest -s` to see them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import random
import re
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from cases import http_scope, wsgi_environ
from test_starlette_compat import INSTALLED

import corsfast.wsgi
from corsfast._options import DEFAULT_MAX_ORIGIN_LENGTH, native_options
from corsfast.asgi import CORSMiddleware as NativeCORSMiddleware
from corsfast.starlette import CORSMiddleware as FastStarletteCORSMiddleware

ORIGIN = b"origin"
ACRM = b"access-control-request-method"
ACRH = b"access-control-request-headers"
ACAO = b"access-control-allow-origin"
ACAC = b"access-control-allow-credentials"
VARY = b"vary"
KiB = 1024
MAX_ORIGIN = DEFAULT_MAX_ORIGIN_LENGTH
CONTROL = bytes([*range(0x20), 0x7F])
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()


def native(rules: Any, cache_size: int) -> Any:
    """Return native-dialect options for `rules`, with credentials (so allowed origins are reflected)."""
    return native_options(rules, ("GET", "POST"), (), (), True, 600, False, cache_size, MAX_ORIGIN, False)


@contextmanager
def traced() -> Iterator[None]:
    """Trace Python's allocator (the compiled engine's bytes, tuples and entries too)."""
    gc.collect()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


def blocks() -> int:
    """Return the number of live blocks in Python's small-object allocator, after a collection."""
    gc.collect()
    return sys.getallocatedblocks()


# -- R10: a million unique origins -------------------------------------------------------------

FLOOD_PATTERN = re.compile(r"https://[0-9]+\.test(?::[0-9]{1,5})?")
FLOOD_RULES = ("https://*.example.com", FLOOD_PATTERN)
FLOOD_SIZE = 1_000_000
FLOOD_CACHE = 1024
TRACED_WINDOW = 16 * FLOOD_CACHE
"""tracemalloc costs ~15 us per cached entry built, so it traces the first fill and a last window of
16 fills; the allocator's block count covers the whole flood."""
_LABEL_CHARS = b"abcdefghijklmnopqrstuvwxyz0123456789-"
_HAS_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")
_EDGES = b"-a0Z_.\xe9~"


def flood_reference(origin: bytes) -> bool:
    """Return the verdict of FLOOD_RULES for `origin`, written without the engines' code or the pattern.

    An Origin over the length cap or with a control byte is refused; otherwise
    `https://<one DNS label>.example.com` (the wildcard) or `https://<digits>.test[:<1-5 digits>]`.
    """
    if len(origin) > MAX_ORIGIN or _HAS_CONTROL.search(origin) or not origin.startswith(b"https://"):
        return False
    rest = origin[8:]
    if rest.endswith(b".example.com"):
        label = rest[:-12]
        if 0 < len(label) <= 63 and not label.strip(_LABEL_CHARS) and label[:1] != b"-" and label[-1:] != b"-":
            return True
    host, dot, port = rest.partition(b".test")
    return (
        bool(dot)
        and host.isdigit()
        and (not port or (port[:1] == b":" and 1 <= len(port) - 1 <= 5 and port[1:].isdigit()))
    )


def flood_origin(i: int, r: int, rng: random.Random) -> bytes:
    """Return the i-th flood origin: unique (i is in it, after a fixed-width random part), mostly hostile."""
    kind = i & 7
    if kind == 0:  # a fresh subdomain under the wildcard
        return b"https://%012x%x.example.com" % (r, i)
    if kind == 1:  # a fresh numeric host for the pattern, sometimes with a (too long) port
        if r & 1:
            return b"https://%015d%d.test:%d" % (r, i, r % 2_000_000)
        return b"https://%015d%d.test" % (r, i)
    if kind == 2:  # a label with odd first/last bytes: hyphens, upper case, '_', '.', latin-1
        return b"https://%c%012x%x%c.example.com" % (_EDGES[r % 8], r, i, _EDGES[(r >> 3) % 8])
    if kind == 3:  # the classic bypasses: two labels, suffix and scheme tricks
        variant = r % 5
        if variant == 0:
            return b"https://%012x.%x.example.com" % (r, i)
        if variant == 1:
            return b"https://%012x%x.example.com.evil.com" % (r, i)
        if variant == 2:
            return b"https://%015d%d.test.evil" % (r, i)
        if variant == 3:
            return b"http://%015d%d.test" % (r, i)
        return b"https://%015d%d.testx" % (r, i)
    if kind == 4:  # random bytes (control, latin-1, anything) in the host
        return b"https://" + rng.randbytes(r % 24) + b"|%x.test" % i
    if kind == 5:  # a control byte anywhere in an otherwise allowed origin
        allowed = b"https://%015d%d.test" % (r, i)
        position = (r >> 8) % (len(allowed) + 1)
        return (
            allowed[:position] + CONTROL[(r >> 16) % len(CONTROL) : (r >> 16) % len(CONTROL) + 1] + allowed[position:]
        )
    if kind == 6:  # label length 62-65 around the DNS limit of 63
        return b"https://" + (b"z%x" % i).rjust(62 + (r & 3), b"a") + b".example.com"
    if i & 0x3F8 == 0:  # every 1024th: around the Origin length cap (2047-2110 bytes, zero-padded i)
        return b"https://%0*d.test" % (MAX_ORIGIN - 14 + (r & 63), i)
    return b"https://%012x%x.example.com:443" % (r, i)


@dataclasses.dataclass
class FloodStats:
    mismatches: int = 0
    first_mismatch: Optional[tuple[bytes, bool]] = None
    allowed: int = 0
    denied: int = 0
    over_cap: int = 0
    largest_currsize: int = 0


def run_flood(policy: Any, start: int, stop: int, rng: random.Random, stats: FloodStats) -> None:
    """Look up origins start..stop-1, checking every verdict and the cache size after each."""
    is_allowed = policy.is_allowed_origin
    cache_info = policy.cache_info
    maxsize = policy.options.cache_size
    bits = rng.getrandbits
    for i in range(start, stop):
        origin = flood_origin(i, bits(48), rng)
        verdict = is_allowed(origin)
        if verdict is not flood_reference(origin):
            stats.mismatches += 1
            if stats.first_mismatch is None:
                stats.first_mismatch = (origin, verdict)
        if verdict:
            stats.allowed += 1
        else:
            stats.denied += 1
        if len(origin) > MAX_ORIGIN:
            stats.over_cap += 1
        currsize = cache_info()[3]
        if currsize > stats.largest_currsize:
            stats.largest_currsize = currsize
            assert currsize <= maxsize, (i, currsize, maxsize)


def fill_cache(policy: Any, start: int, rng: random.Random, stats: FloodStats) -> int:
    """Look up fresh flood origins until the cache is exactly full; return the next index."""
    maxsize = policy.options.cache_size
    while policy.cache_info().currsize < maxsize:
        run_flood(policy, start, start + 1, rng, stats)
        start += 1
    return start


@pytest.mark.slow
def test_r10_million_unique_origins_bounded_cache_and_memory(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(FLOOD_RULES, FLOOD_CACHE))
    rng = random.Random(20260601)
    stats = FloodStats()
    began = time.perf_counter()
    # 1. The first fill, traced: what one full cache costs (entries, keys, the dict's table).
    with traced():
        empty_bytes = tracemalloc.get_traced_memory()[0]
        empty_blocks = blocks()
        index = fill_cache(policy, 0, rng, stats)
        full_bytes = tracemalloc.get_traced_memory()[0] - empty_bytes
        full_blocks = blocks() - empty_blocks
    per_entry = full_bytes / FLOOD_CACHE
    # 2. The flood, untraced (tracemalloc would make it 10x slower); the allocator's block count
    # still sees every object left behind.
    run_flood(policy, index, FLOOD_SIZE - TRACED_WINDOW, rng, stats)
    # 3. The last window, traced: its peak, and what it leaves once the cache is full again.
    with traced():
        window_start = tracemalloc.get_traced_memory()[0]
        run_flood(policy, FLOOD_SIZE - TRACED_WINDOW, FLOOD_SIZE, rng, stats)
        index = fill_cache(policy, FLOOD_SIZE, rng, stats)
        window_bytes, window_peak = (size - window_start for size in tracemalloc.get_traced_memory())
    after_blocks = blocks() - empty_blocks
    elapsed = time.perf_counter() - began
    info = policy.cache_info()
    print(
        f"\n[R10 {engine.__name__}] {index:,} unique origins in {elapsed:.1f}s: "
        f"{stats.allowed:,} allowed, {stats.denied:,} refused ({stats.over_cap:,} over the cap); {info}\n"
        f"  one full cache ({FLOOD_CACHE} entries): {full_bytes:,} B traced ({per_entry:.0f} B/entry), "
        f"{full_blocks:,} blocks\n"
        f"  last {index - FLOOD_SIZE + TRACED_WINDOW:,} lookups: peak +{window_peak:,} B, "
        f"+{window_bytes:,} B at the end (cache full again)\n"
        f"  after all {index:,} lookups: {after_blocks:,} blocks (cache full again; first fill: {full_blocks:,})"
    )
    assert stats.mismatches == 0, f"{stats.mismatches} wrong verdicts, first: {stats.first_mismatch!r}"
    assert stats.allowed > index // 5 and stats.denied > index // 3 and stats.over_cap > 500
    assert stats.largest_currsize == info.currsize == info.maxsize == FLOOD_CACHE
    # Every origin was new: a million misses, and the cache never answered for another origin.
    assert (info.hits, info.misses) == (0, index)
    # A cache entry is a handful of small objects (the key, the entry, its header tuples).
    assert per_entry < 1.5 * KiB
    # Memory is one full cache, whatever the number of origins seen: no growth with the flood.
    # (The traced window can show less than the first fill: entries rebuilt after a clear reuse
    # the freed tuples from the interpreter's free lists, which tracemalloc does not see again.
    # A leak cannot hide there: leaked objects never return to a free list.)
    slack = full_bytes // 8
    assert window_peak <= full_bytes + slack
    assert window_bytes <= full_bytes + slack
    assert abs(after_blocks - full_blocks) <= full_blocks // 8
    # Still correct and still caching after the flood.
    assert policy.is_allowed_origin(b"https://after.example.com") is True
    assert policy.lookup(b"https://after.example.com").block[0] == (ACAO, b"https://after.example.com")
    assert policy.cache_info().hits == 1


def test_r10_flood_without_a_cache(engine: ModuleType) -> None:
    """cache_size=0: nothing is ever stored, every answer is still right, and nothing is retained."""
    policy = engine.CORSPolicy(native(FLOOD_RULES, 0))
    rng = random.Random(7)
    stats = FloodStats()
    run_flood(policy, 0, 20_000, rng, stats)  # warm-up: the pattern's and the allocator's own caches
    with traced():
        before = tracemalloc.get_traced_memory()[0]
        # No automatic collection in the window: a free-threaded build's collector allocates
        # working memory in proportion to every live object of the process, which the peak
        # would count (hundreds of KiB late in a test run).
        gc.disable()
        try:
            run_flood(policy, 20_000, 20_000 + TRACED_WINDOW, rng, stats)
        finally:
            gc.enable()
        grown, peak = (size - before for size in tracemalloc.get_traced_memory())
    print(
        f"\n[R10 cache_size=0 {engine.__name__}] {TRACED_WINDOW:,} traced lookups: peak +{peak:,} B, end +{grown:,} B"
    )
    assert stats.mismatches == 0, stats.first_mismatch
    assert stats.allowed > 0 and stats.denied > 0
    info = policy.cache_info()
    assert (info.hits, info.misses, info.maxsize, info.currsize) == (0, 20_000 + TRACED_WINDOW, 0, 0)
    assert stats.largest_currsize == 0
    # Nothing retained per lookup: one object kept per lookup would be over 500 KiB. The slack is
    # the interpreter's free lists, which keep up to 100 freed ints (4.7 KiB on a free-threaded
    # build, where an int takes 48 bytes).
    assert grown < 16 * KiB
    assert peak < 2 * MAX_ORIGIN + 16 * KiB  # one lookup's temporaries (an origin at the cap)


# -- leaks: complete ASGI requests on a warm cache ---------------------------------------------

APP_HEADERS = ((b"content-type", b"text/plain"),)
ALLOWED = [b"https://a.example", b"https://b.example", b"https://42.test"]


async def leak_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": list(APP_HEADERS)})
    await send({"type": "http.response.body", "body": b"app"})


def leak_middlewares(engine: ModuleType) -> dict[str, Any]:
    return {
        "native": NativeCORSMiddleware(
            leak_app,
            allow_origins=["https://a.example", "https://b.example", re.compile(r"https://[0-9]+\.test")],
            allow_headers=["X-A"],
            allow_credentials=True,
            cache_size=64,
            _engine=engine,
        ),
        "starlette": FastStarletteCORSMiddleware(
            leak_app,
            allow_origins=["https://a.example", "https://b.example"],
            allow_origin_regex=r"https://[0-9]+\.test",
            allow_headers=["X-A"],
            allow_credentials=True,
            _engine=engine,
        ),
    }


LEAK_REQUESTS = 204_000
"""Six request shapes in turn: a multiple of 6."""


@pytest.mark.parametrize("shim", ["native", "starlette"])
def test_no_leak_over_many_requests_on_a_warm_cache(engine: ModuleType, shim: str) -> None:
    middleware = leak_middlewares(engine)[shim]
    # Each request shape with the scope it is sent with; the same objects every time, so their
    # reference counts show whether anything keeps them.
    scopes = [
        http_scope("GET", [(b"host", b"api.test"), (ORIGIN, ALLOWED[0])]),
        http_scope("GET", [(ORIGIN, ALLOWED[2]), (b"accept", b"*/*")]),
        http_scope("GET", [(ORIGIN, b"https://evil.example")]),
        http_scope("OPTIONS", [(ORIGIN, ALLOWED[1]), (ACRM, b"GET"), (ACRH, b"x-a")]),
        http_scope("OPTIONS", [(ORIGIN, b"https://evil.example"), (ACRM, b"GET")]),
        http_scope("GET", [(b"host", b"api.test")]),
    ]
    expected_acao = [[ALLOWED[0]], [ALLOWED[2]], [], [ALLOWED[1]], [], []]
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    def run(count: int) -> None:
        for i in range(count):
            which = i % 6
            sent.clear()
            coroutine = middleware(scopes[which], receive, send)
            try:
                coroutine.send(None)
            except StopIteration:
                pass
            else:  # pragma: no cover
                raise AssertionError("the ASGI call suspended")
            acao = [value for key, value in sent[0]["headers"] if key == ACAO]
            assert acao == expected_acao[which], (which, sent)
        sent.clear()

    run(6_000)  # warm-up: the cache, freelists, the interpreter's specialisations
    watched = [
        scopes,
        *scopes,
        *(s["headers"] for s in scopes),
        *ALLOWED,
        APP_HEADERS,
        middleware.policy,
        send,
        receive,
    ]
    watched += [middleware.policy.lookup(origin) for origin in ALLOWED]
    gc.collect()  # garbage from earlier tests may hold some of these; the counts are compared after a collection
    refcounts = [sys.getrefcount(obj) for obj in watched]
    hits_before = middleware.cache_info().hits
    began = time.perf_counter()
    blocks_before = blocks()
    with traced():
        before = tracemalloc.get_traced_memory()[0]
        # No automatic collection during the run: a free-threaded build's collector allocates
        # working memory in proportion to every live object of the process (hundreds of KiB late
        # in a test run), which the peak would count. A reference cycle made per request would
        # now pile up in the peak instead.
        gc.disable()
        try:
            run(LEAK_REQUESTS)
            traced_peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            gc.enable()
        gc.collect()
        traced_grown = tracemalloc.get_traced_memory()[0] - before
    blocks_grown = blocks() - blocks_before
    elapsed = time.perf_counter() - began
    print(
        f"\n[leak {shim} {engine.__name__}] {LEAK_REQUESTS:,} traced requests after a warm-up in {elapsed:.1f}s: "
        f"{traced_grown:+,} B (peak +{traced_peak:,} B), {blocks_grown:+,} allocator blocks"
    )
    assert [sys.getrefcount(obj) for obj in watched] == refcounts
    # One object kept per request would be 200 000 blocks; the slack is for other threads of the run.
    assert abs(blocks_grown) < 1024
    assert traced_grown < 64 * KiB
    assert traced_peak < 64 * KiB  # one request's temporaries, never an accumulation
    info = middleware.cache_info()
    assert info.currsize == 4  # the three allowed origins and the refused one, warm since the warm-up
    # Every lookup a hit: one per Origin-bearing request (a refused preflight passed on to the
    # app included: its origin is looked up once).
    assert info.hits - hits_before == LEAK_REQUESTS * 5 // 6


# -- T1: threads sharing one policy and one WSGI middleware ------------------------------------

THREADS = 32
CALLS_PER_THREAD = 4_000
T1_CACHE = 8
T1_RULES = ("https://a.example", "https://*.example.com", FLOOD_PATTERN)


def t1_origin(thread: int, i: int) -> tuple[bytes, bool]:
    """Return a mix of shared allowed, shared refused and per-thread unique origins, and the verdict."""
    kind = i % 6
    if kind == 0:
        return b"https://a.example", True
    if kind == 1:
        return b"https://evil.example", False
    if kind == 2:
        return b"https://t%dc%d.example.com" % (thread, i), True
    if kind == 3:
        return b"https://%d0%d.test" % (thread, i), True
    if kind == 4:
        return b"https://t%dc%d.example.com.evil" % (thread, i), False
    return b"https://%d0%d.test\n" % (thread, i), False


@contextmanager
def frequent_thread_switches() -> Iterator[None]:
    """Make the GIL switch threads every few microseconds, so races have a chance to happen."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def run_threads(target: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(thread: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(thread)
        except BaseException as exc:  # reported by the test, never swallowed
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,), name=f"t1-{n}") for n in range(THREADS)]
    with frequent_thread_switches():
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return errors


def test_t1_threads_share_one_policy_on_a_tiny_cache(engine: ModuleType) -> None:
    policy = engine.CORSPolicy(native(T1_RULES, T1_CACHE))
    largest = [0] * THREADS
    lookups = [0] * THREADS

    def hammer(thread: int) -> None:
        for i in range(CALLS_PER_THREAD):
            origin, allowed = t1_origin(thread, i)
            entry = policy.lookup(origin)
            assert entry.allowed is allowed, (origin, entry.allowed)
            if allowed:  # the entry is this origin's, never one another thread stored
                assert entry.block == ((ACAO, origin), (ACAC, b"true"), (VARY, b"Origin")), (origin, entry.block)
                assert policy.response_headers(origin, [])[0] == (ACAO, origin)
                lookups[thread] += 1
            else:
                assert entry.block == ((VARY, b"Origin"),)
            assert policy.is_allowed_origin(origin) is allowed
            lookups[thread] += 2
            largest[thread] = max(largest[thread], policy.cache_info().currsize)

    began = time.perf_counter()
    errors = run_threads(hammer)
    elapsed = time.perf_counter() - began
    info = policy.cache_info()
    print(f"\n[T1 {engine.__name__}] {THREADS}x{CALLS_PER_THREAD} in {elapsed:.2f}s: {info}, largest {max(largest)}")
    assert errors == []
    assert info.hits > 0 and info.misses >= THREADS * CALLS_PER_THREAD * 4 // 6  # every unique origin missed once
    if GIL_ENABLED:
        # Under the GIL the statistics lose no update on either engine.
        assert info.hits + info.misses == sum(lookups)
    if engine.__name__.endswith("_py") or GIL_ENABLED:
        # The pure twin stores under a lock; the compiled engine checks the size, clears and
        # stores with no Python code in between: under the GIL the bound is exact.
        assert max(largest) <= T1_CACHE
    else:
        # A free-threaded build runs the compiled size check and store concurrently: each
        # thread may add one entry past the bound, never more.
        assert max(largest) <= T1_CACHE + THREADS - 1
    for thread in range(2):  # still right afterwards
        for i in range(12):
            origin, allowed = t1_origin(thread, i)
            assert policy.is_allowed_origin(origin) is allowed


def wsgi_call(middleware: Any, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Return `(status, headers, body)` of one WSGI call; the app must call start_response once."""
    answers: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answers.append((status, headers))

    body = b"".join(middleware(environ, start_response))
    ((status, headers),) = answers
    return status, headers, body


def test_t1_wsgi_middleware_from_many_threads(engine: ModuleType) -> None:
    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Request", environ["HTTP_X_REQUEST"])])
        return [b"app"]

    middleware = corsfast.wsgi.CORSMiddleware(
        wsgi_app,
        allow_origins=T1_RULES,
        allow_methods=["GET", "POST"],
        allow_credentials=True,
        cache_size=T1_CACHE,
        _engine=engine,
    )

    def hammer(thread: int) -> None:
        for i in range(CALLS_PER_THREAD // 2):
            origin, allowed = t1_origin(thread, i)
            text = origin.decode("latin-1")
            tag = f"{thread}-{i}"
            preflight = i % 4 == 3
            if preflight:
                environ = wsgi_environ(
                    "OPTIONS", [("Origin", text), ("Access-Control-Request-Method", "POST"), ("X-Request", tag)]
                )
            else:
                environ = wsgi_environ("GET", [("Origin", text), ("X-Request", tag)])
            status, headers, body = wsgi_call(middleware, environ)
            acao = [value for name, value in headers if name.lower() == "access-control-allow-origin"]
            assert acao == ([text] if allowed else []), (tag, origin, headers)
            if preflight and allowed:
                assert (status, body) == ("200 OK", b"")
                assert ("access-control-allow-methods", "GET, POST") in headers
            else:  # the app answered this very request
                assert (status, body) == ("200 OK", b"app")
                assert ("X-Request", tag) in headers
                assert ("vary", "Origin") in headers

    began = time.perf_counter()
    errors = run_threads(hammer)
    print(f"\n[T1 wsgi {engine.__name__}] {THREADS}x{CALLS_PER_THREAD // 2} in {time.perf_counter() - began:.2f}s")
    assert errors == []


# -- T2, R13: 10 000 concurrent requests on one event loop -------------------------------------

T2_REQUESTS = 10_000


@pytest.mark.parametrize("shim", ["native", "starlette"])
def test_t2_ten_thousand_concurrent_requests_never_share_headers(engine: ModuleType, shim: str) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await asyncio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-path", scope["path"].encode())]})
        await asyncio.sleep(0)  # every other request runs between this response's start and body
        await send({"type": "http.response.body", "body": scope["path"].encode()})

    if shim == "native":
        middleware = NativeCORSMiddleware(
            app, allow_origins=T1_RULES, allow_credentials=True, cache_size=T1_CACHE, _engine=engine
        )
    else:
        middleware = FastStarletteCORSMiddleware(
            app,
            allow_origins=["https://a.example"],
            allow_origin_regex=r"https://(t[0-9]+c[0-9]+\.example\.com|[0-9]+\.test)",
            allow_credentials=True,
            _engine=engine,
        )

    async def one(index: int) -> tuple[Optional[bytes], bool, list[Any]]:
        origin: Optional[bytes]
        if index % 7 == 6:
            origin, allowed = None, False
        else:
            origin, allowed = t1_origin(index % THREADS, index)
        messages: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            await asyncio.sleep(0)
            messages.append(message)

        headers = [(b"host", b"api.test")] + ([] if origin is None else [(ORIGIN, origin)])
        scope = http_scope("GET", headers)
        scope["path"] = f"/{index}"
        await middleware(scope, receive, send)
        return origin, allowed, messages

    async def main() -> list[tuple[Optional[bytes], bool, list[Any]]]:
        return await asyncio.gather(*(one(index) for index in range(T2_REQUESTS)))

    began = time.perf_counter()
    results = asyncio.run(main())
    print(f"\n[T2 {shim} {engine.__name__}] {T2_REQUESTS:,} concurrent requests in {time.perf_counter() - began:.2f}s")
    allowed_count = 0
    for index, (origin, allowed, messages) in enumerate(results):
        start, body = messages
        path = f"/{index}".encode()
        assert body["body"] == path
        # Starlette before 1.7 adds Vary only where it reflects, and passes requests
        # without an Origin to the app untouched.
        refused_vary = [(VARY, b"Origin")] if shim == "native" or INSTALLED.vary_always else []
        if allowed:
            allowed_count += 1
            expected = [(ACAO, origin), (ACAC, b"true"), (VARY, b"Origin")]
            if shim == "starlette":
                expected = [(ACAC, b"true"), (ACAO, origin), (VARY, b"Origin")]
        else:
            expected = [(ACAC, b"true"), *refused_vary] if shim == "starlette" and origin is not None else refused_vary
        assert start["headers"] == [(b"x-path", path), *expected], (index, origin)
    assert T2_REQUESTS // 3 < allowed_count < T2_REQUESTS


# -- T3, H5: faults propagate unchanged, the cache stays consistent ----------------------------


class FaultyPattern:
    """Stand in for a compiled pattern and raise a given exception for one armed input.

    `re.Pattern` cannot be subclassed, and options only accept real patterns, so the tests
    rebuild validated options (dataclasses.replace, white-box) with this object in their place:
    the engines only ever call `fullmatch(text)` on it.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.armed: Optional[tuple[str, BaseException]] = None
        self.calls = 0

    def fullmatch(self, text: str) -> Any:
        self.calls += 1
        if self.armed is not None and self.armed[0] == text:
            raise self.armed[1]
        return self.pattern.fullmatch(text)


T3_PATTERN = re.compile(r"https://[0-9]+\.test")
T3_CACHED = [b"https://1.test", b"https://x.example.com", b"https://2.test", b"https://evil.example"]
T3_VICTIM = b"https://666.test"


def faulty_policy(engine: ModuleType, options: Any) -> tuple[Any, FaultyPattern]:
    faulty = FaultyPattern(T3_PATTERN)
    return engine.CORSPolicy(dataclasses.replace(options, origin_patterns=(faulty,))), faulty


@pytest.mark.parametrize("error_type", [MemoryError, RecursionError, KeyboardInterrupt], ids=lambda t: t.__name__)
def test_t3_exception_inside_origin_matching_leaves_the_cache_consistent(engine: ModuleType, error_type: type) -> None:
    policy, faulty = faulty_policy(engine, native(["https://*.example.com", T3_PATTERN], len(T3_CACHED)))
    entries = {origin: policy.lookup(origin) for origin in T3_CACHED}
    assert [entry.allowed for entry in entries.values()] == [True, True, True, False]
    full = policy.cache_info()
    assert full.currsize == full.maxsize  # the next miss would clear the cache: it must not, on a fault
    error = error_type("injected")
    faulty.armed = (T3_VICTIM.decode(), error)
    attempts: list[Callable[[], Any]] = [
        lambda: policy.lookup(T3_VICTIM),
        lambda: policy.is_allowed_origin(T3_VICTIM),
        lambda: policy.response_headers(T3_VICTIM, [(b"content-type", b"text/plain")]),
        lambda: policy.preflight_response(T3_VICTIM, b"GET", None, None),
    ]
    for attempt in attempts:
        with pytest.raises(error_type) as raised:
            attempt()
        assert raised.value is error  # the very exception, not wrapped or replaced
    info = policy.cache_info()
    assert (info.hits, info.misses, info.currsize) == (full.hits, full.misses + len(attempts), full.currsize)
    for origin, entry in entries.items():  # every cached entry survived, unchanged
        assert policy.lookup(origin) is entry
    assert policy.cache_info().hits == full.hits + len(T3_CACHED)
    # Once matching works again, the same origin gets its right answer, and is cached.
    faulty.armed = None
    entry = policy.lookup(T3_VICTIM)
    assert entry.allowed and entry.block[0] == (ACAO, T3_VICTIM)
    assert policy.lookup(T3_VICTIM) is entry
    assert policy.cache_info().currsize == 1  # the full cache was cleared by this (successful) miss


def t3_middlewares(engine: ModuleType, app: Any) -> dict[str, Any]:
    return {
        "native": NativeCORSMiddleware(
            app,
            allow_origins=["https://*.example.com", T3_PATTERN],
            allow_credentials=True,
            cache_size=4,
            _engine=engine,
        ),
        "starlette": FastStarletteCORSMiddleware(
            app,
            allow_origins=["https://x.example.com"],
            allow_origin_regex=T3_PATTERN,
            allow_credentials=True,
            _engine=engine,
        ),
    }


def asgi_request(middleware: Any, method: str, headers: list[tuple[bytes, bytes]], send: Any = None) -> list[Any]:
    messages: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def record(message: Any) -> None:
        messages.append(message)

    coroutine = middleware(http_scope(method, headers), receive, send or record)
    try:
        coroutine.send(None)
    except StopIteration:
        pass
    else:  # pragma: no cover
        coroutine.close()
        raise AssertionError("the ASGI call suspended")
    return messages


def acao_of(messages: list[Any]) -> list[bytes]:
    return [value for key, value in messages[0]["headers"] if key == ACAO]


@pytest.mark.parametrize("shim", ["native", "starlette"])
def test_t3_memory_error_from_matching_through_the_middleware(engine: ModuleType, shim: str) -> None:
    app_calls: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        app_calls.append(scope)
        await leak_app(scope, receive, send)

    middleware = t3_middlewares(engine, app)[shim]
    policy, faulty = faulty_policy(engine, middleware.policy.options)
    middleware.policy = policy  # the same options, with the faulty stand-in for the pattern
    for origin in (b"https://1.test", b"https://x.example.com"):
        assert acao_of(asgi_request(middleware, "GET", [(ORIGIN, origin)])) == [origin]
    warm = middleware.cache_info()
    error = MemoryError("no memory for the verdict")
    faulty.armed = (T3_VICTIM.decode(), error)
    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    calls_before = len(app_calls)
    for method, headers in (("GET", [(ORIGIN, T3_VICTIM)]), ("OPTIONS", [(ORIGIN, T3_VICTIM), (ACRM, b"GET")])):
        with pytest.raises(MemoryError) as raised:
            asgi_request(middleware, method, headers, send)
        assert raised.value is error
    assert sent == [] and len(app_calls) == calls_before  # nothing half-sent, the app never ran
    assert middleware.cache_info().currsize == warm.currsize
    faulty.armed = None
    for origin, allowed in ((T3_VICTIM, True), (b"https://1.test", True), (b"https://evil.example", False)):
        assert acao_of(asgi_request(middleware, "GET", [(ORIGIN, origin)])) == ([origin] if allowed else [])
    assert middleware.cache_info().hits == warm.hits + 1  # https://1.test, still cached


class Boom(Exception):
    pass


@pytest.mark.parametrize("when", ["before-start", "after-start", "after-body", "send-start", "send-body"])
@pytest.mark.parametrize("shim", ["native", "starlette"])
def test_h5_t3_exceptions_around_the_response_propagate_and_the_next_request_is_unaffected(
    engine: ModuleType, shim: str, when: str
) -> None:
    error = MemoryError(when) if when.startswith("send") else Boom(when)
    fail = [True]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        failing = fail[0]
        if failing and when == "before-start":
            raise error
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
        if failing and when == "after-start":
            raise error
        await send({"type": "http.response.body", "body": b"app"})
        if failing and when == "after-body":
            raise error

    middleware = t3_middlewares(engine, app)[shim]
    origin = b"https://x.example.com"
    fail[0] = False
    good = asgi_request(middleware, "GET", [(ORIGIN, origin)])  # warms the cache
    assert acao_of(good) == [origin]
    entry = middleware.policy.lookup(origin)
    fail[0] = True
    sent: list[Any] = []

    async def send(message: Any) -> None:
        if when == "send-start" and message["type"] == "http.response.start":
            raise error
        if when == "send-body" and message["type"] == "http.response.body":
            raise error
        sent.append(message)

    for headers in ([(ORIGIN, origin)], [(ORIGIN, b"https://evil.example")], [(b"host", b"api.test")]):
        sent.clear()
        with pytest.raises(type(error)) as raised:
            asgi_request(middleware, "GET", headers, send)
        assert raised.value is error
        if when in ("after-start", "after-body", "send-body"):  # the start went out with its CORS headers
            expected_acao = [origin] if headers[0] == (ORIGIN, origin) else []
            assert [value for key, value in sent[0]["headers"] if key == ACAO] == expected_acao
    fail[0] = False
    # The same instance answers the next requests exactly as before, from the same cache entry.
    assert asgi_request(middleware, "GET", [(ORIGIN, origin)]) == good
    assert middleware.policy.lookup(origin) is entry
    refused = asgi_request(middleware, "GET", [(ORIGIN, b"https://evil.example")])
    assert acao_of(refused) == []
    if when == "send-start":
        # The preflight's own answer goes through the failing send too.
        with pytest.raises(MemoryError):
            asgi_request(middleware, "OPTIONS", [(ORIGIN, origin), (ACRM, b"GET")], send)
    preflight = asgi_request(middleware, "OPTIONS", [(ORIGIN, origin), (ACRM, b"GET")])
    assert acao_of(preflight) == [origin] and preflight[0]["status"] == 200


def test_h5_t3_wsgi_faults_propagate_and_the_next_request_is_unaffected(engine: ModuleType) -> None:
    error = MemoryError("from the app")
    fail = [True]

    def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if fail[0]:
            raise error
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"app"]

    middleware = corsfast.wsgi.CORSMiddleware(
        wsgi_app, allow_origins=["https://*.example.com", T3_PATTERN], cache_size=4, _engine=engine
    )
    policy, faulty = faulty_policy(engine, middleware.policy.options)
    middleware.policy = policy

    def call(origin: str) -> list[tuple[str, str]]:
        status, headers, body = wsgi_call(middleware, wsgi_environ("GET", [("Origin", origin)]))
        assert (status, body) == ("200 OK", b"app")
        return headers

    with pytest.raises(MemoryError) as raised:
        middleware(wsgi_environ("GET", [("Origin", "https://1.test")]), lambda s, h, e=None: None)
    assert raised.value is error
    fail[0] = False
    match_error = MemoryError("from matching")
    faulty.armed = (T3_VICTIM.decode(), match_error)
    with pytest.raises(MemoryError) as raised:
        call(T3_VICTIM.decode())
    assert raised.value is match_error
    faulty.armed = None
    assert ("access-control-allow-origin", T3_VICTIM.decode()) in call(T3_VICTIM.decode())
    assert ("access-control-allow-origin", "https://1.test") in call("https://1.test")
    assert not any(name == "access-control-allow-origin" for name, _ in call("https://evil.example"))
