"""The building blocks of what corsfast observes: the reasons, the bounded top-K of refused
origins, escaping, and the rate-limited refusal log (plain Python, shared by both engines)."""

from __future__ import annotations

import logging
import threading
import tracemalloc

import pytest

from corsfast._observe.log import RefusalLog, escape
from corsfast._observe.reasons import REASON_IDS, REASONS
from corsfast._observe.topk import TopK


def test_reason_ids_are_unique_identifiers() -> None:
    assert len(set(REASON_IDS)) == len(REASONS) == 9
    assert all(reason.isidentifier() and reason.islower() for reason in REASON_IDS)
    assert REASON_IDS[0] == "allowed"


# -- TopK ---------------------------------------------------------------------------------


def test_topk_is_exact_below_k() -> None:
    top: TopK[str] = TopK(4)
    for key, times in (("a", 3), ("b", 1), ("c", 5)):
        for _ in range(times):
            top.add(key)
    assert top.items() == (("c", 5), ("a", 3), ("b", 1))
    top.clear()
    assert top.items() == () and len(top) == 0


def test_topk_keeps_heavy_hitters_in_a_flood() -> None:
    # A million unique keys, and one key sent as every tenth: k keys kept, the heavy one
    # first, its count never below its true count, and the counts add up to every add.
    top: TopK[bytes] = TopK(32)
    tracemalloc.start()
    heavy = 0
    for n in range(1_000_000):
        if n % 10 == 0:
            top.add(b"https://heavy.test")
            heavy += 1
        else:
            top.add(b"https://%d.test" % n)
        if n == 1000:
            early, _ = tracemalloc.get_traced_memory()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    items = top.items()
    assert len(items) == 32
    assert items[0][0] == b"https://heavy.test" and items[0][1] >= heavy
    assert sum(count for _, count in items) == 1_000_000
    assert late - early < 64 * 1024  # flat: no growth with the number of unique keys


def test_topk_counts_are_exact_under_threads() -> None:
    top: TopK[int] = TopK(8)
    barrier = threading.Barrier(8)

    def work(thread: int) -> None:
        barrier.wait()
        for n in range(20_000):
            top.add(n % 4 if n % 2 else thread * 100_000 + n)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(count for _, count in top.items()) == 8 * 20_000
    assert len(top) == 8


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "3"])
def test_topk_refuses_a_bad_k(k: object) -> None:
    with pytest.raises(ValueError, match="k must be a positive int"):
        TopK(k)  # type: ignore[arg-type]


# -- escape -------------------------------------------------------------------------------

HOSTILE = [
    b"https://a.test\r\nX-Forged: 1",
    b"https://a.test\n2026-12-05 INFO corsfast.refusals CORS refused allowed",
    b"https://a.test\x00",
    b"https://a.test\x1b[31mred\x1b[0m",
    b"https://a.test\\x0d",
    "https://a.test\u2028\u2029\x85".encode(),
    b"https://\xff\xfe.test",
]


@pytest.mark.parametrize("value", HOSTILE + [v.decode("latin-1") for v in HOSTILE])
def test_escape_leaves_printable_ascii_only(value: bytes | str) -> None:
    text = escape(value, 2048)
    assert text.isascii() and text.isprintable()
    assert "\r" not in text and "\n" not in text and "\x1b" not in text
    # Nothing is lost: the escapes read back to the original.
    raw = value if isinstance(value, bytes) else value.encode("latin-1", "backslashreplace")
    assert text.encode("ascii").decode("unicode_escape").encode("latin-1", "backslashreplace") == raw


def test_escape_cuts_to_the_limit() -> None:
    assert escape(b"https://" + b"a" * 100, 20) == "https://aaaaaaaaaaaa..."
    assert escape("https://a.test", 20) == "https://a.test"


# -- RefusalLog ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_refusal_log_rate_limits_each_distinct_refusal(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = RefusalLog(logging.getLogger("corsfast.refusals"), interval=60, clock=clock)
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for _ in range(5):
            log.note("origin_not_allowed", b"https://evil.test")
        log.note("method_not_allowed", b"https://evil.test", "method", b"PUT")
        log.note("method_not_allowed", b"https://evil.test", "method", b"DELETE")
        clock.now += 59.9
        log.note("origin_not_allowed", b"https://evil.test")
        clock.now += 0.2
        log.note("origin_not_allowed", b"https://evil.test")
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "CORS refused origin_not_allowed: origin=https://evil.test (0 more since the last line)",
        "CORS refused method_not_allowed: origin=https://evil.test method=PUT (0 more since the last line)",
        "CORS refused method_not_allowed: origin=https://evil.test method=DELETE (0 more since the last line)",
        "CORS refused origin_not_allowed: origin=https://evil.test (5 more since the last line)",
    ]
    assert all(record.levelno == logging.INFO for record in caplog.records)


@pytest.mark.parametrize("origin", HOSTILE)
def test_no_request_forges_a_log_line(caplog: pytest.LogCaptureFixture, origin: bytes) -> None:
    log = RefusalLog(logging.getLogger("corsfast.refusals"))
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        log.note("origin_invalid", origin, "header", origin)
    (record,) = caplog.records
    line = record.getMessage()
    assert line.isascii() and line.isprintable()


def test_refusal_log_costs_one_check_when_off(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("corsfast.refusals.off")
    logger.setLevel(logging.WARNING)
    log = RefusalLog(logger)
    log.note("origin_not_allowed", b"https://evil.test")
    assert log._seen == {} and caplog.records == []


def test_refusal_log_memory_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    log = RefusalLog(logging.getLogger("corsfast.refusals"))
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for n in range(10_000):
            log.note("origin_not_allowed", b"https://%d.test" % n)
        log.note("origin_not_allowed", b"https://" + b"a" * 100_000)
    assert len(log._seen) <= 4096
    assert max(len(key[1]) for key in log._seen) <= 2048


@pytest.mark.parametrize("interval", [-1, "60", None, True, float("nan")])
def test_refusal_log_refuses_a_bad_interval(interval: object) -> None:
    with pytest.raises(ValueError, match="log interval"):
        RefusalLog(logging.getLogger("corsfast.refusals"), interval=interval)  # type: ignore[arg-type]
