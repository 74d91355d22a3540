"""The run's context (machine, versions) and the text report of a finished run.

`format_report` reads only the report dict that `corsfast bench --json` writes: the machine,
versions and settings, then one section per suite (`report["suites"]`). With one suite the
report is that suite's table under the run's header; with several, each suite's table
follows under its own heading.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import math
import os
import platform
from collections.abc import Sequence
from typing import Any, Optional

__all__ = ("format_report", "machine_info", "versions")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(distribution: str) -> Optional[str]:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """Return the CPU, core count, OS, Python and load average this run was measured on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        usable = os.cpu_count() or 0
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        pass
    return info


def versions(distributions: Optional[Sequence[str]] = None) -> dict[str, Optional[str]]:
    """Return the versions of corsfast, Cython, `distributions` (default: the peers every
    registered suite compares with) and matplotlib."""
    import corsfast

    if distributions is None:
        from .suite import registered_suites

        distributions = [name for suite in registered_suites() for name in suite.versions]

    result: dict[str, Optional[str]] = {"corsfast": corsfast.__version__}
    try:
        importlib.import_module("corsfast._engine_c")
        result["corsfast engine"] = "compiled available" + (" (default: pure)" if corsfast.NO_EXTENSIONS else "")
    except ImportError:
        result["corsfast engine"] = "pure only (no compiled extension)"
    for name in dict.fromkeys(("Cython", *distributions, "matplotlib")):
        result[name] = _version(name)
    return result


def _fmt_ns(value: Optional[float]) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.0f}"


def _fmt_ratio(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def format_report(report: dict[str, Any]) -> str:
    """Return the text tables of a finished run."""
    lines: list[str] = []
    machine, vers, settings = report["machine"], report["versions"], report["settings"]
    sections = list(report["suites"].values())
    if len(sections) == 1:
        heading = sections[0]["title"]
    else:
        heading = f"CORS middleware cost in {len(sections)} tables ({', '.join(s['id'] for s in sections)})"
    lines.append(f"corsfast bench: {heading}, every contender measured side by side in one process")
    lines.append(
        f"machine: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"{machine['os']}; load average at start {machine.get('load_average', '?')}, "
        f"at end {report.get('load_average_end', '?')}"
    )
    lines.append(f"python:  {machine['python']}")
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v is not None))
    overhead = "overhead = median over rounds of (contender ns/request - its floor's ns/request in the same round)"
    if len(sections) == 1:
        section = sections[0]
        lines.append(
            f"method: {settings['rounds']} interleaved rounds (contender order shuffled per round); one sample = "
            f"{section['method']} N times (~{settings['sample_ms']:g} ms); medians over rounds."
        )
        lines.append(f"{overhead}; {section['floor_note']}")
        lines.append(f"{section['ratio_note']}  IQR = spread of the per-round overhead.")
        _format_suite(lines, section)
    else:
        lines.append(
            f"method: {settings['rounds']} interleaved rounds (scenario and contender order shuffled per round); "
            f"one sample = N calls of one app (~{settings['sample_ms']:g} ms); medians over rounds."
        )
        lines.append(f"{overhead}.  IQR = spread of the per-round overhead.")
        for section in sections:
            lines.append("")
            lines.append(f"== {section['title']} ({section['id']}) ==")
            lines.append(f"one sample = {section['method']} N times; {section['floor_note']}")
            lines.append(section["ratio_note"])
            _format_suite(lines, section)
    skipped = report.get("skipped_suites") or []
    if skipped:
        lines.append("")
        lines.append("skipped suites: " + "; ".join(f"{s['suite']} ({s['reason']})" for s in skipped))
    return "\n".join(lines)


def _format_suite(lines: list[str], section: dict[str, Any]) -> None:
    """Append one suite's tables: per scenario, the summary matrix, targets and notes."""
    ratio_header = f"x {section['baseline_label']}"
    labels = {c["id"]: c["label"] for c in section["contenders"]}
    width = max([len(label) for label in labels.values()] + [10])
    by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
    order = [c["id"] for c in section["contenders"]]
    for scenario in section["scenarios"]:
        lines.append("")
        lines.append(f"({scenario['id']}) {scenario['title']}")
        lines.append(f"  {'contender':<{width}}  {'ns/req':>8}  {'overhead':>9}  {'IQR':>7}  {ratio_header:>11}")
        for contender_id in order:
            row = by_key.get((scenario["id"], contender_id))
            if row is None:
                continue
            lines.append(
                f"  {labels[contender_id]:<{width}}  {_fmt_ns(row['ns_per_request']):>8}  "
                f"{_fmt_ns(row['overhead_ns']):>9}  {_fmt_ns(row['overhead_iqr_ns']):>7}  "
                f"{_fmt_ratio(row['ratio_to_baseline']):>11}"
            )
    # Summary matrix: overhead (ns) and ratio to the baseline per scenario.
    ids = [s["id"] for s in section["scenarios"]]
    lines.append("")
    lines.append(f"overhead above the floor, ns/request ({ratio_header}'s overhead)")
    header = f"  {'contender':<{width}}" + "".join(f"  {'(' + i + ')':>15}" for i in ids)
    lines.append(header)
    for contender_id in order:
        cells = []
        any_value = False
        for sid in ids:
            row = by_key.get((sid, contender_id))
            if row is None or row["overhead_ns"] is None:
                cells.append(f"  {'-':>15}")
                continue
            any_value = True
            cell = _fmt_ns(row["overhead_ns"])
            if row["ratio_to_baseline"] is not None:
                cell += f" ({_fmt_ratio(row['ratio_to_baseline'])})"
            cells.append(f"  {cell:>15}")
        if any_value:
            lines.append(f"  {labels[contender_id]:<{width}}" + "".join(cells))
    if section["targets"]:
        lines.append("")
        lines.append(section["targets_title"])
        for target in section["targets"]:
            value, limit = target["value"], target["limit"]
            if target["unit"] == "ns":
                shown = f"{value:,.0f} ns vs {limit:,.0f} ns"
                miss = f"missed by {value - limit:,.0f} ns"
            else:
                shown = f"{value:.3f} vs {limit:g}"
                miss = f"missed by {value - limit:.3f} ({value / limit:.1f}x the limit)"
            status = "met" if target["met"] else miss
            lines.append(f"  ({target['scenario']}) {target['target']:<66} {shown:<24} {status}")
    for title, items in (("not supported", section["unsupported"]), ("FAILED CHECKS (not timed)", section["failures"])):
        if items:
            lines.append("")
            lines.append(title + ":")
            for item in items:
                lines.append(f"  ({item['scenario']}) {item['contender']}: {item['reason']}")
    if section["skipped"]:
        lines.append("")
        lines.append(
            "skipped contenders: " + "; ".join(f"{s['contender']} ({s['reason']})" for s in section["skipped"])
        )
