"""`fuzz.campaign.parse`: how a harness's libFuzzer log becomes its line in the summary."""

from __future__ import annotations

from fuzz.campaign import parse

STATS = """#2\tINITED cov: 100 ft: 200 corp: 5/1kb exec/s: 0 rss: 90Mb
#4096\tpulse  cov: 150 ft: 400 corp: 9/2kb exec/s: 2048 rss: 91Mb
stat::number_of_executed_units: 5000
"""


def test_a_clean_run_counts_its_executions_and_growth() -> None:
    result = parse("scan", STATS, 0)
    assert (result.outcome, result.executions, result.seed_ft, result.ft, result.grew) == ("ok", 5000, 200, 400, True)
    assert result.artifact is None and result.slow == []


def test_a_crash_keeps_its_input() -> None:
    log = STATS + "==1== ERROR: AddressSanitizer: heap-use-after-free\n"
    log += "Test unit written to /w/crashes/scan/crash-ab12\n"
    result = parse("scan", log, 1)
    assert (result.outcome, result.artifact) == ("crash", "/w/crashes/scan/crash-ab12")


def test_a_difference_is_told_apart_from_a_crash() -> None:
    log = STATS + "fuzz.common.Difference: compiled 1, pure 2\nTest unit written to /w/crashes/merge/crash-cd34\n"
    assert parse("merge", log, 1).outcome == "difference"


def test_a_slow_unit_is_reported_not_counted_as_a_crash() -> None:
    # libFuzzer keeps an input that ran over 10 s as slow-unit-*, and the run goes on;
    # a fuzzer process stopped for a while (SIGSTOP, a loaded machine) makes one.
    slow = "Slowest unit: 26 s:\nTest unit written to /w/crashes/preflight/slow-unit-ef56\n"
    log = STATS.replace("stat::", slow + "stat::")
    result = parse("preflight", log, 0)
    assert (result.outcome, result.artifact, result.slow) == ("ok", None, ["/w/crashes/preflight/slow-unit-ef56"])
    crashed = parse("preflight", log + "Test unit written to /w/crashes/preflight/timeout-0011\n", 1)
    assert (crashed.outcome, crashed.artifact) == ("crash", "/w/crashes/preflight/timeout-0011")
