"""Requests per second with 1 and 2 threads sharing one middleware, beside the bare app.

    PYTHON_GIL=0 .venv-ft/bin/python benchmarks/free_threading.py [--seconds 1] [--rounds 5]

On a free-threaded CPython (3.14t) threads run in parallel, so a middleware that scales adds
no serialisation of its own: its 2-thread rate over its 1-thread rate should be close to the
bare app's. Each contender is called directly (ASGI: a coroutine driven by an event loop per
thread; WSGI: the call and its `start_response`), with a request from an allowed origin, for
`--seconds` per round; rounds interleave the contenders, and the table gives medians. With
the GIL the 2-thread figures show the GIL, not corsfast.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import corsfast
import corsfast.wsgi

ORIGINS = ["https://app.example.com", "https://*.example.org"]
SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/",
    "headers": [(b"host", b"api.example.com"), (b"origin", b"https://app.example.com"), (b"accept", b"*/*")],
}
ENVIRON = {
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/",
    "HTTP_HOST": "api.example.com",
    "HTTP_ORIGIN": "https://app.example.com",
}


async def bare_asgi(scope: Any, receive: Any, send: Any) -> None:
    # A new message each response, as every framework sends: a message shared between
    # threads would make any middleware that adds headers to it lock it.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def bare_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


async def _receive() -> dict[str, Any]:
    return {"type": "http.request"}


async def _send(message: Any) -> None:
    pass


def _own(value: Any) -> Any:
    """Return a deep copy of `value` made by the calling thread: objects a thread creates
    are counted by that thread alone (biased reference counting), so the request data adds
    no contention between threads; only the middleware under test is shared."""
    if isinstance(value, dict):
        return {_own(k): _own(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_own(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_own(item) for item in value)
    if isinstance(value, bytes):
        return bytes(bytearray(value))
    if isinstance(value, str):
        return "".join(list(value))
    return value


def asgi_loop(app: Any, seconds: float) -> int:
    """Return how many requests `app` answered in `seconds`, on an event loop of this thread's."""

    scope = _own(SCOPE)

    async def run() -> int:
        count = 0
        deadline = time.perf_counter() + seconds
        while True:
            for _ in range(200):
                await app(scope, _receive, _send)
            count += 200
            if time.perf_counter() > deadline:
                return count

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
    return None


def wsgi_loop(app: Any, seconds: float) -> int:
    """Return how many requests `app` answered in `seconds`."""
    environ = _own(ENVIRON)
    count = 0
    deadline = time.perf_counter() + seconds
    while True:
        for _ in range(200):
            app(dict(environ), _start_response)
        count += 200
        if time.perf_counter() > deadline:
            return count


def rate(loop: Callable[[Any, float], int], app: Any, threads: int, seconds: float) -> float:
    """Return the requests per second of `threads` threads running `loop` on one `app`."""
    counts = [0] * threads
    barrier = threading.Barrier(threads + 1)

    def work(index: int) -> None:
        barrier.wait()
        counts[index] = loop(app, seconds)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per contender, thread count and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    contenders: dict[str, tuple[Callable[[Any, float], int], Any]] = {
        "bare ASGI app": (asgi_loop, bare_asgi),
        "corsfast.CORSMiddleware": (asgi_loop, corsfast.CORSMiddleware(bare_asgi, allow_origins=ORIGINS)),
        "bare WSGI app": (wsgi_loop, bare_wsgi),
        "corsfast.wsgi.CORSMiddleware": (wsgi_loop, corsfast.wsgi.CORSMiddleware(bare_wsgi, allow_origins=ORIGINS)),
    }
    results: dict[tuple[str, int], list[float]] = {(name, n): [] for name in contenders for n in (1, 2)}
    for _ in range(args.rounds):
        for name, (loop, app) in contenders.items():
            for threads in (1, 2):
                results[(name, threads)].append(rate(loop, app, threads, args.seconds))
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    engine = "pure-Python" if corsfast.NO_EXTENSIONS else "compiled"
    print(f"Python {sys.version.split()[0]}, GIL {'enabled' if gil else 'disabled'}, {engine} engine, ")
    print(f"medians of {args.rounds} interleaved rounds of {args.seconds:g} s\n")
    print("| contender | 1 thread, req/s | 2 threads, req/s | 2 threads / 1 thread |")
    print("|---|---|---|---|")
    for name in contenders:
        one = statistics.median(results[(name, 1)])
        two = statistics.median(results[(name, 2)])
        print(f"| {name} | {one:,.0f} | {two:,.0f} | {two / one:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
