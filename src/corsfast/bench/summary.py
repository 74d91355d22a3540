"""From raw samples to results: medians, overhead above the floor, ratio to the baseline, and
the speed targets' verdicts."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any, Optional

from .measure import Entry, percentile
from .suite import Contender, Scenario, Suite

__all__ = ("evaluate_targets", "summarise")


def summarise(
    suite: Suite, scenarios: Sequence[Scenario], contenders: Sequence[Contender], raw: dict[str, Any]
) -> list[dict[str, Any]]:
    """Return one result per (scenario, contender): medians, overhead, spread, ratio to its baseline.

    overhead = the median over rounds of (contender - floor) in the same round; ratio =
    overhead / the baseline's overhead in the same scenario (None without a baseline, or
    when the baseline's overhead is zero or was not measured).
    """
    entries: dict[tuple[str, str], Entry] = raw["entries"]
    results: list[dict[str, Any]] = []
    for scenario in scenarios:
        overheads: dict[str, float] = {}
        rows = []
        for contender in contenders:
            entry = entries.get((scenario.id, contender.id))
            if entry is None:
                continue
            row: dict[str, Any] = {
                "scenario": scenario.id,
                "contender": contender.id,
                "floor": contender.floor,
                "calls_per_sample": entry.n,
                "rounds": len(entry.samples),
                "ns_per_request": statistics.median(entry.samples),
                "ns_per_request_iqr": percentile(entry.samples, 0.75) - percentile(entry.samples, 0.25),
                "overhead_ns": None,
                "overhead_iqr_ns": None,
                "overhead_difference_of_medians_ns": None,
            }
            if suite.ratio_key:
                row[suite.ratio_key] = None
            row["baseline"] = suite.effective_baseline(contender)
            row["ratio_to_baseline"] = None
            if contender.floor:
                floor = entries[(scenario.id, contender.floor)]
                differences = [a - b for a, b in zip(entry.samples, floor.samples)]
                row["overhead_ns"] = statistics.median(differences)
                row["overhead_iqr_ns"] = percentile(differences, 0.75) - percentile(differences, 0.25)
                row["overhead_difference_of_medians_ns"] = statistics.median(entry.samples) - statistics.median(
                    floor.samples
                )
                overheads[contender.id] = row["overhead_ns"]
            rows.append(row)
        for row in rows:
            baseline: Optional[float] = overheads.get(row["baseline"]) if row["baseline"] else None
            if row["overhead_ns"] is not None and baseline:
                row["ratio_to_baseline"] = row["overhead_ns"] / baseline
                if suite.ratio_key:
                    row[suite.ratio_key] = row["ratio_to_baseline"]
        results += rows
    return results


def evaluate_targets(
    suite: Suite, results: list[dict[str, Any]], scenarios: Sequence[Scenario]
) -> list[dict[str, Any]]:
    """Check the suite's speed targets (ratios within this run); one verdict per target and scenario."""
    overhead = {(r["scenario"], r["contender"]): r["overhead_ns"] for r in results if r["overhead_ns"] is not None}
    verdicts: list[dict[str, Any]] = []
    for scenario in scenarios:
        sid = scenario.id
        for target in suite.targets:
            value = overhead.get((sid, target.contender))
            reference = overhead.get((sid, target.reference))
            if value is None or reference is None or (target.simple_only and not scenario.simple):
                continue
            if target.scenarios and sid not in target.scenarios:
                continue
            if target.unit == "ns":
                shown, limit = value, target.limit * reference
            elif reference > 0:
                shown, limit = value / reference, target.limit
            else:
                continue
            met = shown <= limit
            verdicts.append(
                {
                    "target": target.describe(),
                    "scenario": sid,
                    "value": shown,
                    "limit": limit,
                    "unit": target.unit,
                    "met": met,
                    "missed_by": None if met else shown - limit,
                }
            )
    return verdicts
