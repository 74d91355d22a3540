"""The `corsfast bench` command line: options, the selection of suites, scenarios and
contenders, the run, and the report printed and written (--json, --plot)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional

from .measure import Selection, measure
from .report import format_report, machine_info, versions
from .suite import Suite, registered_suites, skipped_suite_modules
from .summary import evaluate_targets, summarise

__all__ = ("add_arguments", "main", "run", "select")

_QUICK_ROUNDS = 5
_QUICK_SAMPLE_MS = 1.0
_DEFAULT_ROUNDS = 50
_DEFAULT_SAMPLE_MS = 5.0


def _scenario_help(suites: Sequence[Suite]) -> str:
    letters = {suite.id: "".join(s.id for s in suite.scenarios) for suite in suites}
    if len(letters) == 1:
        only = next(iter(letters.values()))
        return f"scenario letters to run (default {only})"
    known = "; ".join(f"{suite_id}: {ids}" for suite_id, ids in letters.items())
    return f"scenario letters to run in every suite, or SUITE:LETTERS (default: all; {known})"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `corsfast bench`'s options to `parser`."""
    from .. import bench

    suites = registered_suites()
    parser.description = bench.__doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short run ({_QUICK_ROUNDS} rounds of {_QUICK_SAMPLE_MS:g} ms samples; for CI)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help=f"interleaved rounds (default {_DEFAULT_ROUNDS}, --quick {_QUICK_ROUNDS})",
    )
    parser.add_argument(
        "--sample-ms",
        type=float,
        default=None,
        help=f"target duration of one timing sample (default {_DEFAULT_SAMPLE_MS:g})",
    )
    parser.add_argument(
        "--suite",
        dest="suites",
        action="append",
        default=None,
        metavar="NAME[,NAME...]",
        help="tables to run (repeatable; default: every available one); known: "
        + ", ".join(f"{s.id} ({s.title})" for s in suites),
    )
    parser.add_argument("--scenarios", default=None, metavar="IDS", help=_scenario_help(suites))
    known = list(dict.fromkeys(c.id for suite in suites for c in suite.contenders()))
    parser.add_argument(
        "--contenders",
        default=None,
        metavar="ID,...",
        help="contender ids to run, or SUITE:ID (floors are added as needed); known: " + ", ".join(known),
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for the shuffled order")
    parser.add_argument("--json", metavar="FILE", help="also write every result as JSON")
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="draw one chart per table into DIR: DIR/SUITE.png, and DIR/SUITE-kui.png for Kui rows measured "
        "above a Kui app (needs matplotlib: corsfast[bench])",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def _split(values: Optional[str]) -> tuple[set[str], dict[str, set[str]]]:
    """Split "a,b,asgi:c" into ({"a", "b"}, {"asgi": {"c"}})."""
    plain: set[str] = set()
    scoped: dict[str, set[str]] = {}
    for item in (values or "").split(","):
        item = item.strip()
        if not item:
            continue
        suite_id, colon, rest = item.partition(":")
        if colon:
            scoped.setdefault(suite_id.strip(), set()).add(rest.strip())
        else:
            plain.add(item)
    return plain, scoped


def select(
    arguments: argparse.Namespace,
) -> tuple[list[Selection], dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    """Return what to measure, the skipped contenders per suite, and (suite, reason) for skipped suites."""
    suites = registered_suites()
    by_id = {suite.id: suite for suite in suites}
    if arguments.suites:
        wanted_suites = [name.strip() for value in arguments.suites for name in value.split(",") if name.strip()]
        unknown_suites = sorted(set(wanted_suites) - set(by_id))
        if unknown_suites:
            raise SystemExit(f"corsfast bench: unknown suites {unknown_suites}; known: {', '.join(by_id)}")
        suites = [suite for suite in suites if suite.id in wanted_suites]
    skipped_suites = [(f"module {name}", reason) for name, reason in skipped_suite_modules()]
    available = []
    for suite in suites:
        reason = suite.unavailable()
        if reason is None:
            available.append(suite)
        else:
            skipped_suites.append((suite.id, reason))

    # Scenarios: letters for every suite ("bd", "b,d"), or SUITE:LETTERS for one.
    plain_tokens, scoped_tokens = _split(arguments.scenarios)
    letters = set("".join(plain_tokens)) - set(" ")
    scoped = {suite_id: set("".join(values)) - set(" ") for suite_id, values in scoped_tokens.items()}
    all_letters = {suite.id: {s.id for s in suite.scenarios} for suite in suites}
    unknown = letters - set().union(*all_letters.values())
    for suite_id, chosen in scoped.items():
        unknown |= {f"{suite_id}:{c}" for c in chosen - all_letters.get(suite_id, set())}
    chosen_scenarios = {}
    for suite in available:
        if arguments.scenarios is None:
            chosen_scenarios[suite.id] = list(suite.scenarios)
        else:
            wanted = letters | scoped.get(suite.id, set())
            chosen_scenarios[suite.id] = [s for s in suite.scenarios if s.id in wanted]
    if unknown or (available and not any(chosen_scenarios.values())):
        choices = "; ".join(f"{suite_id}: {''.join(sorted(ids))}" for suite_id, ids in all_letters.items())
        if len(all_letters) == 1:
            choices = "".join(s.id for s in suites[0].scenarios)
        shown = repr("".join(sorted(unknown)) or arguments.scenarios)
        raise SystemExit(f"corsfast bench: unknown scenarios {shown}; choose from {choices}")

    # Contenders: ids in any suite, or SUITE:ID; floors are added as needed.
    plain_ids, scoped_ids = _split(arguments.contenders)
    if arguments.contenders:
        known = [(suite.id, c.id) for suite in suites for c in suite.contenders()]
        unknown_ids = {i for i in plain_ids if not any(c == i for _, c in known)}
        unknown_ids |= {f"{s}:{i}" for s, ids in scoped_ids.items() for i in ids if (s, i) not in known}
        if unknown_ids:
            raise SystemExit(
                f"corsfast bench: unknown contenders {sorted(unknown_ids)}; "
                f"known: {', '.join(dict.fromkeys(c for _, c in known))}"
            )
    selections: list[Selection] = []
    skipped: dict[str, list[tuple[str, str]]] = {}
    for suite in available:
        contenders, suite_skipped = suite.available_contenders()
        if arguments.contenders:
            wanted = plain_ids | scoped_ids.get(suite.id, set())
            in_suite = {c.id: c for c in contenders}
            for contender_id in list(wanted):
                contender = in_suite.get(contender_id)
                while contender is not None and contender.floor:
                    wanted.add(contender.floor)
                    contender = in_suite.get(contender.floor)
            contenders = [c for c in contenders if c.id in wanted]
            suite_skipped = [(i, r) for i, r in suite_skipped if i in wanted]
            if not contenders and not suite_skipped:
                continue
        if not chosen_scenarios[suite.id]:
            continue
        selections.append(Selection(suite, chosen_scenarios[suite.id], contenders))
        skipped[suite.id] = suite_skipped
    if not selections:
        reasons = "; ".join(f"{s} ({r})" for s, r in skipped_suites)
        raise SystemExit("corsfast bench: no suite to run" + (f": {reasons}" if reasons else ""))
    return selections, skipped, skipped_suites


def _section(selection: Selection, raw: dict[str, Any], skipped: list[tuple[str, str]]) -> dict[str, Any]:
    """Return one suite's part of the report (the JSON's `suites[id]`)."""
    suite, scenarios, contenders = selection.suite, selection.scenarios, selection.contenders
    results = summarise(suite, scenarios, contenders, raw)
    measured = {r["contender"] for r in results}
    return {
        "id": suite.id,
        "title": suite.title,
        "kind": suite.kind,
        "method": suite.method,
        "floor_note": suite.floor_note,
        "baseline": suite.baseline,
        "baseline_label": suite.baseline_label,
        "ratio_note": suite.ratio_note,
        "ratio_method": f"median overhead / the row's baseline's median overhead (default {suite.baseline}), "
        "same scenario",
        "targets_title": suite.targets_title,
        "scenarios": [
            {"id": s.id, "title": s.title, "method": s.method, "config": s.config, "request_headers": len(s.headers)}
            for s in scenarios
        ],
        "contenders": [
            {
                "id": c.id,
                "label": c.label,
                "floor": c.floor,
                "family": c.family,
                "baseline": suite.effective_baseline(c),
            }
            for c in contenders
            if c.id in measured
        ],
        "results": results,
        "targets": evaluate_targets(suite, results, scenarios),
        "unsupported": raw["unsupported"],
        "failures": raw["failures"],
        "skipped": [{"contender": i, "reason": r} for i, r in skipped],
    }


# The ASGI table's part is also written at the top level, where readers of the first
# format (one table) find it.
_LEGACY_KEYS = ("scenarios", "contenders", "results", "targets", "unsupported", "failures", "skipped")


def run(arguments: argparse.Namespace) -> int:
    """Run the benchmark, print the tables, write --json / --plot; return 1 when a check failed."""
    if arguments.plot and arguments.plot.lower().endswith(".png"):
        print(
            f"corsfast bench: --plot takes a directory (one chart per table: DIR/asgi.png, ...), "
            f"not a file: {arguments.plot}",
            file=sys.stderr,
        )
        return 2
    if arguments.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "corsfast bench: --plot needs matplotlib; install it with `pip install 'corsfast[bench]'` "
                "(or `pip install matplotlib`)",
                file=sys.stderr,
            )
            return 2
    rounds = arguments.rounds or (_QUICK_ROUNDS if arguments.quick else _DEFAULT_ROUNDS)
    sample_ms = arguments.sample_ms or (_QUICK_SAMPLE_MS if arguments.quick else _DEFAULT_SAMPLE_MS)
    if rounds < 1 or sample_ms <= 0:
        print("corsfast bench: --rounds must be >= 1 and --sample-ms > 0", file=sys.stderr)
        return 2
    selections, skipped, skipped_suites = select(arguments)
    machine = machine_info()
    report_versions = versions()
    started = time.time()
    raw = measure(selections, rounds, sample_ms, seed=arguments.seed, progress=not arguments.no_progress)
    sections = {s.suite.id: _section(s, raw[s.suite.id], skipped[s.suite.id]) for s in selections}
    asgi = sections.get("asgi")
    report: dict[str, Any] = {
        "argv": sys.argv[1:],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "duration_s": round(time.time() - started, 1),
        "machine": machine,
        "load_average_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "versions": report_versions,
        "settings": {
            "rounds": rounds,
            "sample_ms": sample_ms,
            "quick": bool(arguments.quick),
            "seed": arguments.seed,
            "gc": "enabled (allocation costs count)",
        },
        "overhead_method": "median of per-round differences (contender - floor, same round)",
        "ratio_method": "median overhead / Starlette's median overhead, same scenario",
        **{key: asgi[key] if asgi else [] for key in _LEGACY_KEYS},
        "suites": sections,
        "skipped_suites": [{"suite": s, "reason": r} for s, r in skipped_suites],
    }
    print(format_report(report))
    if arguments.json:
        with open(arguments.json, "w", encoding="utf-8") as output:
            json.dump(report, output, indent=2)
            output.write("\n")
    if arguments.plot:
        from .plot import plot

        charts = plot(report, arguments.plot)
        print(f"\ncharts written: {', '.join(charts)}")
    return 1 if any(section["failures"] for section in sections.values()) else 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run `corsfast bench` with `argv` (for `python -m corsfast.bench`)."""
    parser = argparse.ArgumentParser(prog="corsfast bench")
    add_arguments(parser)
    gc.collect()
    return run(parser.parse_args(argv))
