"""Metrics exporters: every live middleware's counts (`corsfast.stats()`) for Prometheus and
OpenTelemetry. Each needs its library, an optional extra: `corsfast[prometheus]` installs
`prometheus_client`, `corsfast[opentelemetry]` the OpenTelemetry API.

Both export the same two counters, labelled by the middleware's name, never by an origin:

- requests, by `middleware`, `kind` (`simple` or `preflight`) and `reason` (every reason id,
  zeros included);
- report-only differences, by `middleware` and `verdict` (`would_refuse` or `would_allow`),
  for the middlewares that have a report-only policy.

A count restarts from zero when its middleware's `reset_stats()` is called, as a counter
does when a process restarts; a middleware that is garbage-collected is no longer exported.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Optional

from ._observe.samples import counts, middleware_names

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Meter, ObservableCounter, Observation
    from prometheus_client.metrics_core import Metric

__all__ = ("PrometheusCollector", "instrument")

_REQUESTS_HELP = "Requests seen by each corsfast middleware, by kind and by the reason of its CORS decision"
_REPORT_ONLY_HELP = "Requests whose report-only policy's verdict differs from the enforced one"


def _needs(module: str, extra: str, user: str) -> Any:
    """Return the imported `module`; an ImportError naming the extra to install when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{user} needs {module.split('.')[0]}, which is not installed: pip install 'corsfast[{extra}]'"
        ) from error


class PrometheusCollector:
    """A prometheus_client collector of every live corsfast middleware's counts:
    `REGISTRY.register(PrometheusCollector())`.

    Each scrape reads `corsfast.stats()` and exports two counters:
    `corsfast_requests_total{middleware, kind, reason}` (`kind` is `simple` or `preflight`,
    `reason` every reason id, zeros included) and `corsfast_report_only_total{middleware,
    verdict}` (`verdict` is `would_refuse` or `would_allow`; only the middlewares with a
    report-only policy). No label ever holds an origin. Each sample's `_created` time is when
    its middleware began counting (its creation or last `reset_stats()`); prometheus_client's
    `disable_created_metrics()` leaves those out, as it does from its own counters.

    `names`: the middleware names to export (default: every live middleware). Needs
    prometheus_client (`pip install 'corsfast[prometheus]'`): without it, making one raises
    ImportError.
    """

    def __init__(self, names: Optional[Iterable[str]] = None) -> None:
        core = _needs("prometheus_client.core", "prometheus", "corsfast.metrics.PrometheusCollector")
        self._family = core.CounterMetricFamily
        self._metrics = _needs("prometheus_client.metrics", "prometheus", "corsfast.metrics.PrometheusCollector")
        self._names = middleware_names(names)

    def describe(self) -> list[Metric]:
        """Return the two counter families, without samples: a registry refuses a second
        collector of the same metric names."""
        return self._families()

    def collect(self) -> Iterator[Metric]:
        """Return the two counter families with every exported middleware's counts."""
        requests, report_only = self._families()
        request_counts, report_only_counts = counts(self._names)
        # prometheus_client's disable_created_metrics() (or PROMETHEUS_DISABLE_CREATED_SERIES)
        # leaves the `_created` samples out of its own counters: these follow the same setting.
        created = getattr(self._metrics, "_use_created", True)
        for sample in request_counts:
            labels = [sample.middleware, sample.kind, sample.reason]
            requests.add_metric(labels, sample.value, created=sample.since if created else None)
        for diff in report_only_counts:
            report_only.add_metric([diff.middleware, diff.verdict], diff.value, created=diff.since if created else None)
        yield requests
        yield report_only

    def _families(self) -> list[Any]:
        return [
            self._family("corsfast_requests", _REQUESTS_HELP, labels=("middleware", "kind", "reason")),
            self._family("corsfast_report_only", _REPORT_ONLY_HELP, labels=("middleware", "verdict")),
        ]


def instrument(meter: Meter, names: Optional[Iterable[str]] = None) -> tuple[ObservableCounter, ObservableCounter]:
    """Return the two observable counters registered on the OpenTelemetry `meter`:
    `corsfast.requests` (attributes `middleware`, `kind`, `reason`) and `corsfast.report_only`
    (attributes `middleware`, `verdict`), read from `corsfast.stats()` at each collection.

    `names`: the middleware names to export (default: every live middleware). Needs the
    OpenTelemetry API (`pip install 'corsfast[opentelemetry]'`); `meter` is one it made, such
    as `opentelemetry.metrics.get_meter("corsfast")`.
    """
    otel = _needs("opentelemetry.metrics", "opentelemetry", "corsfast.metrics.instrument")
    only = middleware_names(names)
    observation = otel.Observation

    def observe_requests(options: CallbackOptions) -> Iterator[Observation]:
        for sample in counts(only)[0]:
            yield observation(
                sample.value, {"middleware": sample.middleware, "kind": sample.kind, "reason": sample.reason}
            )

    def observe_report_only(options: CallbackOptions) -> Iterator[Observation]:
        for sample in counts(only)[1]:
            yield observation(sample.value, {"middleware": sample.middleware, "verdict": sample.verdict})

    requests = meter.create_observable_counter(
        "corsfast.requests",
        callbacks=[observe_requests],
        unit="{request}",
        description=_REQUESTS_HELP,
    )
    report_only = meter.create_observable_counter(
        "corsfast.report_only",
        callbacks=[observe_report_only],
        unit="{request}",
        description=_REPORT_ONLY_HELP,
    )
    return requests, report_only
