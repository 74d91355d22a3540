"""The building blocks of what corsfast observes: the reasons, the bounded top-K of refused
origins, escaping, and the rate-limited refusal log (plain Python, shared by both engines)."""

from __future__ import annotations

import logging
import threading
import tracemalloc
from types import ModuleType
from typing import Any

import pytest

from corsfast._observe.log import RefusalLog, escape
from corsfast._observe.reasons import REASON_IDS, REASONS


def test_reason_ids_are_unique_identifiers() -> None:
    assert len(set(REASON_IDS)) == len(REASONS) == 9
    assert all(reason.isidentifier() and reason.islower() for reason in REASON_IDS)
    assert REASON_IDS[0] == "allowed"


# -- RefusedOrigins (both engines) --------------------------------------------------------


def test_refused_origins_are_exact_below_k(engine: ModuleType) -> None:
    lines: list[tuple[Any, ...]] = []
    tally = engine.RefusedOrigins(4, 256, logging.getLogger("corsfast.tests.off"), lambda *a: lines.append(a))
    for key, times in ((b"a", 3), ("b", 1), (b"c", 5)):
        for _ in range(times):
            tally.note(2, key)
    assert tally.items() == ((b"c", 5), (b"a", 3), ("b", 1))
    assert tally.k == 4 and lines == []
    tally.clear()
    assert tally.items() == ()


def test_refused_origins_keep_heavy_hitters_in_a_flood_of_a_million(engine: ModuleType) -> None:
    # A million unique origins, one sent as every tenth: k kept, the heavy one first, its
    # count never below its true count, the counts adding up to every note, memory flat.
    tally = engine.RefusedOrigins(32, 256, logging.getLogger("corsfast.tests.off"), print)
    tracemalloc.start()
    heavy = 0
    for n in range(1_000_000):
        if n % 10 == 0:
            tally.note(2, b"https://heavy.test")
            heavy += 1
        else:
            tally.note(2, b"https://%d.test" % n)
        if n == 1000:
            early, _ = tracemalloc.get_traced_memory()
    late, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    items = tally.items()
    assert len(items) == 32
    assert items[0][0] == b"https://heavy.test" and items[0][1] >= heavy
    assert sum(count for _, count in items) == 1_000_000
    assert late - early < 64 * 1024


def test_refused_origins_are_cut_to_the_limit(engine: ModuleType) -> None:
    tally = engine.RefusedOrigins(4, 20, logging.getLogger("corsfast.tests.off"), print)
    tally.note(3, b"https://" + b"a" * 5000)
    tally.note(3, "https://" + "a" * 30)
    assert tally.items() == ((b"https://aaaaaaaaaaaa", 1), ("https://aaaaaaaaaaaa", 1))


def test_refused_origins_count_exactly_under_threads(engine: ModuleType) -> None:
    # Few places and many new origins: nearly every call evicts, the step threads must not
    # interleave (a free-threaded build once lost counts and raised KeyError here). The
    # space-saving sum is exact: a new origin inherits the count of the one it replaces.
    def work(tally: Any, barrier: threading.Barrier, thread: int, errors: list[BaseException]) -> None:
        barrier.wait()
        try:
            for n in range(20_000):
                tally.note(2, b"%d" % (n % 4) if n % 2 else b"%d-%d" % (thread, n))
        except BaseException as error:  # pragma: no cover - reported by the assertion below
            errors.append(error)

    for _ in range(4):
        tally = engine.RefusedOrigins(4, 256, logging.getLogger("corsfast.tests.off"), print)
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []
        threads = [threading.Thread(target=work, args=(tally, barrier, t, errors)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        items = tally.items()
        assert errors == []
        assert len(items) == 4
        assert sum(count for _, count in items) == 8 * 20_000


def test_refused_origins_call_the_log_only_when_the_logger_takes_info(engine: ModuleType) -> None:
    logger = logging.getLogger("corsfast.tests.gate")
    lines: list[tuple[Any, ...]] = []
    tally = engine.RefusedOrigins(4, 256, logger, lambda *a: lines.append(a))
    logger.setLevel(logging.WARNING)
    tally.note(2, b"https://a.test")
    assert lines == []
    logger.setLevel(logging.INFO)
    tally.note(4, b"https://a.test", "method", b"PUT")
    assert lines == [(4, b"https://a.test", "method", b"PUT", 0)]
    logger.disabled = True  # as logging.config does to the loggers it did not name
    tally.note(2, b"https://a.test")
    logger.disabled = False
    logger.setLevel(logging.NOTSET)
    assert len(lines) == 1


@pytest.mark.parametrize("k", [0, -1])
def test_refused_origins_refuse_a_bad_k(engine: ModuleType, k: int) -> None:
    with pytest.raises(ValueError, match="k and limit"):
        engine.RefusedOrigins(k, 256, logging.getLogger("corsfast.tests.off"), print)


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


def test_refused_origins_hold_back_repeats_and_the_log_still_counts_them(
    engine: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    # With the logger on, a repeat of a refusal offered less than the interval ago stops in
    # the engine (one lookup), counted; the next line the log writes still says how many.
    clock = Clock()
    logger = logging.getLogger("corsfast.refusals")
    log = RefusalLog(logger, interval=60, clock=clock)
    calls: list[tuple[Any, ...]] = []

    def offered(reason: int, origin: Any, detail_name: Any, detail: Any, held: int) -> None:
        calls.append((reason, origin, detail_name, detail, held))
        log.note(REASON_IDS[reason], origin, detail_name, detail, held)

    tally = engine.RefusedOrigins(4, 256, logger, offered, 60)
    tally._clock = clock
    with caplog.at_level(logging.INFO, logger="corsfast.refusals"):
        for _ in range(50):
            tally.note(2, b"https://evil.test")
        tally.note(4, b"https://evil.test", "method", b"PUT")
        clock.now += 59.9
        tally.note(2, b"https://evil.test")
        clock.now += 0.2
        tally.note(2, b"https://evil.test")
        tally.note(2, b"https://evil.test")
    assert calls == [
        (2, b"https://evil.test", None, None, 0),
        (4, b"https://evil.test", "method", b"PUT", 0),
        (2, b"https://evil.test", None, None, 50),
    ]
    assert [record.getMessage() for record in caplog.records] == [
        "CORS refused origin_not_allowed: origin=https://evil.test (0 more since the last line)",
        "CORS refused method_not_allowed: origin=https://evil.test method=PUT (0 more since the last line)",
        "CORS refused origin_not_allowed: origin=https://evil.test (50 more since the last line)",
    ]
    assert tally.items() == ((b"https://evil.test", 54),)


@pytest.mark.parametrize("interval", [-1.0, float("nan")])
def test_refused_origins_refuse_a_bad_interval(engine: ModuleType, interval: float) -> None:
    with pytest.raises(ValueError, match="interval"):
        engine.RefusedOrigins(4, 256, logging.getLogger("corsfast.tests.off"), print, interval)


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
