"""The metrics exporters (`corsfast.metrics`) against the real libraries: the Prometheus
exposition is parsed back with prometheus_client's own parser, the OpenTelemetry counters are
read through the SDK's in-memory reader, and both equal `corsfast.stats()`.

The middlewares exported here are real owners of counts: each has the engine's
`DecisionCounts` and an `Observer` (which registers it in `corsfast.stats()`), as every
middleware has."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any, Optional

import pytest
from cases import RecordingApp, run_sync

import corsfast
from corsfast._observe.observer import Observer
from corsfast._observe.reasons import KINDS, REASON_IDS
from corsfast.metrics import PrometheusCollector, instrument

prometheus_client = pytest.importorskip("prometheus_client")
parser = pytest.importorskip("prometheus_client.parser")
otel_metrics = pytest.importorskip("opentelemetry.metrics")
sdk_metrics = pytest.importorskip("opentelemetry.sdk.metrics")
sdk_export = pytest.importorskip("opentelemetry.sdk.metrics.export")

VERDICTS = ("would_refuse", "would_allow")

HOSTILE_ORIGINS = (
    b"https://evil.test\r\nX-Injected: 1",
    b'https://evil.test"} 1e9\n# HELP corsfast_requests_total forged',
    b"https://evil.test\x00\x1b[31mred",
    "https://\u00e9vil.test/\u202e".encode(),
    b"https://" + b"a" * 5000 + b".test",
    b"null",
)


class Counted:
    """A minimal real middleware as far as its counts go: the engine's DecisionCounts and an
    Observer, whose `stats()` adds them up as a middleware's does."""

    def __init__(self, engine: ModuleType, name: str, report_only: bool = False) -> None:
        self.counts = engine.DecisionCounts()
        self.report_only = report_only
        self.observer = Observer(self, engine, "metrics-test", name=name)

    @property
    def name(self) -> str:
        return str(self.observer.name)

    def stats(self) -> corsfast.CORSStats:
        report = [self.counts.report()] if self.report_only else None
        return self.observer.stats([self.counts.counts()], report)

    def reset_stats(self) -> None:
        self.counts.reset()
        self.observer.reset()

    def refuse(self, reason: str, origin: bytes, kind: int = 0) -> None:
        number = REASON_IDS.index(reason)
        self.counts.add(kind, number, 1)
        self.observer.refused.note(number, origin)
        if self.report_only:
            self.counts.add_report(False, 1)
            self.observer.report.note(number, origin)


def fill(middleware: Counted, seed: int) -> None:
    """Count a different number of requests for every (kind, reason), zero for some."""
    for kind in range(len(KINDS)):
        for reason in range(len(REASON_IDS)):
            n = (seed * 7 + kind * 11 + reason * 3) % 13
            if n:
                middleware.counts.add(kind, reason, n)
    if middleware.report_only:
        middleware.counts.add_report(True, seed + 2)
        middleware.counts.add_report(False, seed + 5)


def scrape(registry: Any) -> tuple[str, dict[str, dict[tuple[tuple[str, str], ...], float]]]:
    """Return the exposition text of `registry` and its samples parsed back, by sample name
    then by sorted label pairs."""
    text = prometheus_client.generate_latest(registry).decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return text, samples


def expected_requests(names: Optional[set[str]] = None) -> dict[tuple[tuple[str, str], ...], float]:
    """Return what `corsfast_requests_total` must hold, read from `corsfast.stats()`."""
    expected = {}
    for name, stats in corsfast.stats().items():
        if names is None or name in names:
            for kind, counts in zip(KINDS, (stats.simple, stats.preflight)):
                for reason, n in counts.items():
                    expected[(("kind", kind), ("middleware", name), ("reason", reason))] = float(n)
    return expected


def expected_report_only(names: Optional[set[str]] = None) -> dict[tuple[tuple[str, str], ...], float]:
    expected = {}
    for name, stats in corsfast.stats().items():
        if (names is None or name in names) and stats.report_only is not None:
            for verdict, n in zip(VERDICTS, (stats.report_only.would_refuse, stats.report_only.would_allow)):
                expected[(("middleware", name), ("verdict", verdict))] = float(n)
    return expected


@pytest.fixture
def still() -> Iterator[None]:
    """Hold the set of live middlewares still while a test compares a scrape with
    `corsfast.stats()`: those of earlier tests, in reference cycles, are collected first and
    none in the middle (a middleware collected between the two would differ)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.fixture
def registry() -> Any:
    """A registry of its own holding a PrometheusCollector (the global one is left alone)."""
    registry = prometheus_client.CollectorRegistry()
    registry.register(PrometheusCollector())
    return registry


# -- Prometheus ----------------------------------------------------------------------------


def test_prometheus_exposition_equals_stats(engine: ModuleType, registry: Any, still: None) -> None:
    quiet, busy, watched = Counted(engine, "quiet"), Counted(engine, "busy"), Counted(engine, "watched", True)
    fill(busy, 1)
    fill(watched, 2)
    for origin in HOSTILE_ORIGINS:
        busy.refuse("origin_not_allowed", origin)
        watched.refuse("header_not_allowed", origin, kind=1)

    _, samples = scrape(registry)
    requests = samples["corsfast_requests_total"]
    assert requests == expected_requests()
    for middleware in (quiet, busy, watched):
        mine = {labels: n for labels, n in requests.items() if ("middleware", middleware.name) in labels}
        assert len(mine) == len(KINDS) * len(REASON_IDS)  # every reason, zeros included
    assert sum(n for labels, n in requests.items() if ("middleware", "quiet") in labels) == 0
    assert (
        requests[(("kind", "simple"), ("middleware", "busy"), ("reason", "origin_not_allowed"))]
        == (busy.stats().simple["origin_not_allowed"])
    )
    # Only the middleware with a report-only policy has the report-only counter.
    assert samples["corsfast_report_only_total"] == expected_report_only()
    reporting = {dict(labels)["middleware"] for labels in samples["corsfast_report_only_total"]}
    assert "watched" in reporting and not {"quiet", "busy"} & reporting
    assert samples["corsfast_report_only_total"][(("middleware", "watched"), ("verdict", "would_allow"))] == 7 + 6


def test_prometheus_counters_are_typed_and_described(registry: Any) -> None:
    text, _ = scrape(registry)
    families = {family.name: family for family in parser.text_string_to_metric_families(text)}
    assert families["corsfast_requests"].type == "counter"
    assert families["corsfast_report_only"].type == "counter"
    assert "# HELP corsfast_requests_total Requests seen by each corsfast middleware" in text


def test_prometheus_created_is_when_counting_began(engine: ModuleType, registry: Any) -> None:
    middleware = Counted(engine, "created")
    fill(middleware, 3)
    _, samples = scrape(registry)
    created = {v for labels, v in samples["corsfast_requests_created"].items() if ("middleware", "created") in labels}
    assert created == {middleware.stats().since}
    middleware.reset_stats()
    _, samples = scrape(registry)
    mine = [v for labels, v in samples["corsfast_requests_total"].items() if ("middleware", "created") in labels]
    assert set(mine) == {0.0}
    created = {v for labels, v in samples["corsfast_requests_created"].items() if ("middleware", "created") in labels}
    assert created == {middleware.stats().since}


def test_created_samples_follow_prometheus_clients_setting(engine: ModuleType, registry: Any) -> None:
    middleware = Counted(engine, "uncreated")
    prometheus_client.disable_created_metrics()
    try:
        text, samples = scrape(registry)
    finally:
        prometheus_client.enable_created_metrics()
    assert "_created" not in text
    assert any(("middleware", "uncreated") in labels for labels in samples["corsfast_requests_total"])
    assert "corsfast_requests_created" in scrape(registry)[0]
    del middleware


def test_no_label_holds_an_origin(engine: ModuleType, registry: Any, still: None) -> None:
    hostile = Counted(engine, "hostile", report_only=True)
    for origin in HOSTILE_ORIGINS:
        for reason in REASON_IDS[2:]:
            hostile.refuse(reason, origin)
    assert hostile.stats().top_refused  # the origins are kept, for stats() only
    text, samples = scrape(registry)
    names = set(corsfast.stats())
    allowed = {"middleware": names, "kind": set(KINDS), "reason": set(REASON_IDS), "verdict": set(VERDICTS)}
    for by_labels in samples.values():
        for labels in by_labels:
            for key, value in labels:
                assert value in allowed[key], (key, value)
    for part in ("evil", "Injected", "forged", "aaaaaaaa", "null", "\\x", "\u00e9"):
        assert part not in text, part


def test_prometheus_names_filter(engine: ModuleType) -> None:
    shown, hidden = Counted(engine, "shown", report_only=True), Counted(engine, "hidden", report_only=True)
    fill(shown, 4)
    fill(hidden, 5)
    registry = prometheus_client.CollectorRegistry()
    registry.register(PrometheusCollector(names=["shown", "not-yet-there"]))
    _, samples = scrape(registry)
    assert samples["corsfast_requests_total"] == expected_requests({"shown"})
    assert samples["corsfast_report_only_total"] == expected_report_only({"shown"})
    assert hidden.name not in str(samples)


@pytest.mark.parametrize(
    ("names", "error"),
    [
        ("shown", TypeError),
        ([b"shown"], TypeError),
        ([None], TypeError),
        (["has space"], ValueError),
        ([""], ValueError),
        (3, TypeError),
    ],
)
def test_a_bad_names_filter_is_refused(names: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="names"):
        PrometheusCollector(names=names)
    with pytest.raises(error, match="names"):
        instrument(sdk_metrics.MeterProvider().get_meter("test"), names=names)


def test_a_garbage_collected_middleware_leaves_the_exposition(engine: ModuleType, registry: Any) -> None:
    gone = Counted(engine, "gone-soon")
    fill(gone, 6)
    _, samples = scrape(registry)
    assert any(("middleware", "gone-soon") in labels for labels in samples["corsfast_requests_total"])
    del gone
    gc.collect()
    text, samples = scrape(registry)
    assert "gone-soon" not in text
    assert samples.get("corsfast_requests_total", {}) == expected_requests()


def test_scrapes_while_eight_threads_count(engine: ModuleType, registry: Any) -> None:
    # Every scrape sees each count no lower than the one before; the last one sees them all.
    middleware = Counted(engine, "threaded")
    key = (("kind", "preflight"), ("middleware", "threaded"), ("reason", "header_not_allowed"))
    start = threading.Barrier(9)

    def count() -> None:
        start.wait()
        for _ in range(20_000):
            middleware.counts.add(1, REASON_IDS.index("header_not_allowed"), 1)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    seen = []
    while any(thread.is_alive() for thread in threads):
        seen.append(scrape(registry)[1]["corsfast_requests_total"][key])
    for thread in threads:
        thread.join()
    seen.append(scrape(registry)[1]["corsfast_requests_total"][key])
    assert seen == sorted(seen) and seen[-1] == 8 * 20_000 == middleware.stats().preflight["header_not_allowed"]


def test_a_registry_refuses_a_second_collector(registry: Any) -> None:
    with pytest.raises(ValueError, match="corsfast_requests"):
        registry.register(PrometheusCollector())


# -- a real middleware driven by real requests ---------------------------------------------

COUNTING = hasattr(corsfast.CORSMiddleware, "stats")


def asgi_request(middleware: Any, method: str, headers: tuple[tuple[bytes, bytes], ...]) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": "/api",
        "raw_path": b"/api",
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    run_sync(middleware(scope, receive, send))


@pytest.mark.skipif(not COUNTING, reason="corsfast.CORSMiddleware does not count its decisions in this build")
def test_a_real_middleware_is_exported_as_it_counts(engine: ModuleType, registry: Any) -> None:
    reader = sdk_export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    instrument(provider.get_meter("corsfast-test"), names=["real-asgi"])
    middleware = corsfast.CORSMiddleware(
        RecordingApp(),
        allow_origins=["https://app.example.com"],
        allow_methods=["GET", "PUT"],
        report_only={"allow_origins": ["https://other.example.com"]},
        name="real-asgi",
        _engine=engine,
    )
    host = (b"host", b"api.test")
    for origin in (b"https://app.example.com", *HOSTILE_ORIGINS):
        asgi_request(middleware, "GET", (host, (b"origin", origin)))
        asgi_request(middleware, "OPTIONS", (host, (b"origin", origin), (b"access-control-request-method", b"PUT")))
    asgi_request(middleware, "GET", (host,))
    stats = middleware.stats()
    assert stats.name == "real-asgi"
    assert stats.simple["allowed"] == stats.preflight["allowed"] == stats.simple["no_origin"] == 1
    assert stats.refused == 2 * len(HOSTILE_ORIGINS)
    assert stats.report_only is not None and stats.report_only.would_refuse == 2

    text, samples = scrape(registry)
    assert samples["corsfast_requests_total"] == expected_requests()
    assert samples["corsfast_report_only_total"] == expected_report_only()
    mine = {
        dict(labels)["reason"]: n
        for labels, n in samples["corsfast_requests_total"].items()
        if ("middleware", "real-asgi") in labels and ("kind", "simple") in labels
    }
    assert mine == dict(stats.simple)
    points = read_otel(reader)
    assert points["corsfast.requests"] == expected_requests({"real-asgi"})
    assert points["corsfast.report_only"] == expected_report_only({"real-asgi"})
    assert "evil" not in text and "evil" not in repr(points)
    provider.shutdown()

    middleware.reset_stats()
    _, samples = scrape(registry)
    counts = [n for labels, n in samples["corsfast_requests_total"].items() if ("middleware", "real-asgi") in labels]
    assert set(counts) == {0}
    del middleware
    gc.collect()
    assert "real-asgi" not in scrape(registry)[0]


# -- OpenTelemetry -------------------------------------------------------------------------


def read_otel(reader: Any) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Return the in-memory reader's points, by instrument name then by sorted attributes."""
    points: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                assert metric.data.is_monotonic
                for point in metric.data.data_points:
                    points.setdefault(metric.name, {})[tuple(sorted(point.attributes.items()))] = point.value
    return points


@pytest.fixture
def reader() -> Iterator[Any]:
    """An in-memory reader on a MeterProvider of its own, with corsfast's counters instrumented."""
    reader = sdk_export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    instruments = instrument(provider.get_meter("corsfast-test"))
    assert [i.name for i in instruments] == ["corsfast.requests", "corsfast.report_only"]
    assert all(isinstance(i, otel_metrics.ObservableCounter) for i in instruments)
    yield reader
    provider.shutdown()


def test_opentelemetry_values_equal_stats(engine: ModuleType, reader: Any, still: None) -> None:
    quiet, busy, watched = Counted(engine, "quiet"), Counted(engine, "busy"), Counted(engine, "watched", True)
    fill(busy, 7)
    fill(watched, 8)
    for origin in HOSTILE_ORIGINS:
        busy.refuse("origin_invalid", origin)
    points = read_otel(reader)
    assert points["corsfast.requests"] == expected_requests()
    assert points["corsfast.report_only"] == expected_report_only()
    assert len([labels for labels in points["corsfast.requests"] if ("middleware", quiet.name) in labels]) == 18
    assert "evil" not in repr(points)
    # Each collection reads the counts afresh.
    busy.refuse("func_error", b"https://evil.test")
    assert read_otel(reader)["corsfast.requests"] == expected_requests()


def test_opentelemetry_names_filter_and_garbage_collection(engine: ModuleType) -> None:
    reader = sdk_export.InMemoryMetricReader()
    provider = sdk_metrics.MeterProvider(metric_readers=[reader])
    instrument(provider.get_meter("corsfast-test"), names=("kept", "dropped"))
    kept, dropped, other = Counted(engine, "kept", True), Counted(engine, "dropped"), Counted(engine, "other")
    for middleware, seed in ((kept, 1), (dropped, 2), (other, 3)):
        fill(middleware, seed)
    points = read_otel(reader)
    assert points["corsfast.requests"] == expected_requests({"kept", "dropped"})
    assert points["corsfast.report_only"] == expected_report_only({"kept"})
    del dropped
    gc.collect()
    assert read_otel(reader)["corsfast.requests"] == expected_requests({"kept"})
    provider.shutdown()


# -- without the libraries -----------------------------------------------------------------


def test_prometheus_collector_without_prometheus_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # blocks the import
    monkeypatch.setitem(sys.modules, "prometheus_client.core", None)
    needs = r"PrometheusCollector needs prometheus_client, which is not installed: pip install 'corsfast\[prometheus\]'"
    with pytest.raises(ImportError, match=needs):
        PrometheusCollector()


def test_instrument_without_the_opentelemetry_api_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    with pytest.raises(ImportError, match=r"instrument needs opentelemetry.*pip install 'corsfast\[opentelemetry\]'"):
        instrument(object())


def test_corsfast_metrics_imports_without_either_library() -> None:
    # A fresh interpreter in which neither library can be imported.
    script = textwrap.dedent(
        """
        import sys
        sys.modules["prometheus_client"] = sys.modules["opentelemetry"] = None
        import corsfast.metrics
        try:
            corsfast.metrics.PrometheusCollector()
        except ImportError as error:
            print(error)
        try:
            corsfast.metrics.instrument(None)
        except ImportError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == [
        "corsfast.metrics.PrometheusCollector needs prometheus_client, which is not installed: "
        "pip install 'corsfast[prometheus]'",
        "corsfast.metrics.instrument needs opentelemetry, which is not installed: "
        "pip install 'corsfast[opentelemetry]'",
    ]
