"""Instructions per request of every `corsfast bench` cell, counted by callgrind.

    .venv/bin/python benchmarks/instructions.py [--suite ID ...] [--contender ID ...]
        [--family NAME ...] [--scenarios LETTERS] [--requests N] [--warmup N] [--json FILE]
    .venv/bin/python benchmarks/instructions.py --compare BEFORE.json AFTER.json [--limit PERCENT]

Timings on a shared machine move by several percent from run to run; the number of machine
instructions a request executes does not. This script counts each row of each suite of
`corsfast bench` in a Python process of its own under valgrind's callgrind (the script starts
it itself): it builds and checks the row's cells (and its floor's) as `corsfast bench` does,
then for each scenario sends `--warmup` requests outside the count and counts two windows of
`--requests` requests each. A window is counted by a tiny C helper compiled here with gcc
against `valgrind/callgrind.h` and loaded with ctypes: it zeroes callgrind's counters and
turns collection on before the window's loop, turns it off after, and dumps the counters
under the window's name; the dump's total Ir divided by the requests is the cell's figure.

Reported per cell: instructions per request (the mean of the two windows), and the overhead
above the cell's floor (the contender's `floor`, same scenario). Nothing is subtracted from
either: the fixed cost of opening and closing a window (the ctypes calls, measured on an
empty window and written in the JSON) is in every cell alike, so it cancels in the overhead.
The two windows must agree within 0.5%; a cell where they do not is marked `*`.

By default: the corsfast rows of every suite, compiled and pure (families "corsfast-c" and
"corsfast-py"), and their floors; `--family` picks other families (a peer's name),
`--contender` ids (their floors are added). Python runs with PYTHONHASHSEED=0, so that two
builds compare on the same string hashes. Needs valgrind, its headers (valgrind/callgrind.h)
and gcc. `--compare` prints two reports side by side, cell by cell.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import hashlib
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional

from corsfast.bench.measure import Selection, _check_cells
from corsfast.bench.protocols import discard, receive
from corsfast.bench.report import versions
from corsfast.bench.suite import Contender, Suite, registered_suites

REPO = Path(__file__).resolve().parent.parent
DEFAULT_REQUESTS = 300
DEFAULT_WARMUP = 200
TOLERANCE = 0.005
"""How far the two windows of a cell may differ (relative) before it is marked unstable."""
DEFAULT_FAMILIES = ("corsfast-c", "corsfast-py")

HELPER_SOURCE = r"""
#include <valgrind/callgrind.h>

/* Start counting a window: forget what was counted so far, turn collection on. */
void window_open(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
/* Stop counting and write the window's counts to a dump named `label`. */
void window_close(const char *label) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT(label); }
void instrument(void) { CALLGRIND_START_INSTRUMENTATION; }
int on_valgrind(void) { return RUNNING_ON_VALGRIND; }
"""

# ---------------------------------------------------------------------------------------
# Inside valgrind: build, check and count the cells of one suite
# ---------------------------------------------------------------------------------------


class _Windows:
    """The compiled helper, loaded with ctypes."""

    def __init__(self, library: str) -> None:
        lib = ctypes.CDLL(library)
        lib.window_close.argtypes = [ctypes.c_char_p]
        if not lib.on_valgrind():
            raise SystemExit("instructions.py: --under-valgrind but not running under valgrind")
        self.open: Callable[[], Any] = lib.window_open
        self._close: Callable[[bytes], Any] = lib.window_close
        self.instrument: Callable[[], Any] = lib.instrument

    def close(self, label: str) -> None:
        """Stop counting; dump the window's counts under `label`."""
        self._close(label.encode())


_WINDOW_SOURCE = """
async def asgi_window(app, request, n, windows, label, receive_, send):
    if windows is not None:
        windows.open()
    for _ in range(n):
        await app(request, receive_, send)
    if windows is not None:
        windows.close(label)


def sync_window(app, request, n, windows, label):
    if windows is not None:
        windows.open()
    for _ in range(n):
        app(request)
    if windows is not None:
        windows.close(label)
"""


def _window_functions() -> dict[str, Any]:
    """Return new `asgi_window` and `sync_window` functions, with code objects of their own.

    Each cell loops in its own copy: CPython specializes a call site for the callable it
    sees, and a loop shared by several apps would count its re-specialization in whichever
    window follows another cell's.
    """
    namespace: dict[str, Any] = {}
    exec(compile(_WINDOW_SOURCE, "<instructions window>", "exec"), namespace)
    return namespace


def _count_row(arguments: argparse.Namespace) -> int:
    """Count one contender's cells (run under callgrind); write what was counted to --result."""
    windows = _Windows(arguments.helper)
    suite = next(s for s in registered_suites() if s.id == arguments.suite[0])
    if suite.unavailable() is not None:
        raise SystemExit(f"instructions.py: suite {suite.id} unavailable: {suite.unavailable()}")
    # The parent chose an available row; importing every row's framework here would only
    # slow the start under valgrind.
    by_id = {c.id: c for c in suite.contenders()}
    counted = by_id[arguments.contender[0]]
    # The floors are built and checked too (a row is only reported beside its floor), not counted.
    chain = [counted]
    while chain[-1].floor is not None and chain[-1].floor in by_id:
        chain.append(by_id[chain[-1].floor])
    selection = Selection(suite, [s for s in suite.scenarios if s.id in arguments.scenarios], chain[::-1])
    loop = asyncio.new_event_loop()
    raw: dict[str, Any] = {"entries": {}, "unsupported": [], "failures": []}
    _check_cells(selection, loop, raw)
    entries = [entry for (_, cid), entry in raw["entries"].items() if cid == counted.id]

    def run(entry: Any, functions: dict[str, Any], requests: int, label: str) -> None:
        """Send `requests` requests to the cell; count them in a window named `label` unless it is empty."""
        with suite.cell(entry.contender, entry.scenario):
            # A collection just before each loop: every window starts at the same point of
            # the collector's allocation count.
            gc.collect()
            chosen = windows if label else None
            if suite.kind == "asgi":
                loop.run_until_complete(
                    functions["asgi_window"](entry.app, entry.request, requests, chosen, label, receive, discard)
                )
            else:
                functions["sync_window"](entry.app, entry.request, requests, chosen, label)

    # What exists now stays: the collector leaves it out of every later collection.
    gc.collect()
    gc.freeze()
    windows.instrument()
    cells: list[dict[str, Any]] = []
    empty: list[str] = []
    started = time.monotonic()
    empty_functions = _window_functions()
    for index, entry in enumerate(entries):
        if index == 0:
            empty.append(f"{suite.id}/empty/{counted.id}/1")
            run(entry, empty_functions, 0, empty[-1])
        functions = _window_functions()
        run(entry, functions, arguments.warmup, "")
        labels = [f"{suite.id}/{entry.scenario.id}/{counted.id}/{repeat}" for repeat in (1, 2)]
        for label in labels:
            run(entry, functions, arguments.requests, label)
        cells.append({"scenario": entry.scenario.id, "contender": counted.id, "windows": labels})
        print(
            f"instructions.py:   {suite.id} ({entry.scenario.id}) {counted.id}  {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    if entries:
        empty.append(f"{suite.id}/empty/{counted.id}/2")
        run(entries[-1], empty_functions, 0, empty[-1])
    loop.close()
    result = {
        "cells": cells,
        "empty": empty,
        "unsupported": [x for x in raw["unsupported"] if x["contender"] == counted.id],
        "failures": [x for x in raw["failures"] if x["contender"] == counted.id],
    }
    Path(arguments.result).write_text(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------------
# Outside: select, start valgrind per suite, read the dumps, report
# ---------------------------------------------------------------------------------------


def _build_helper(directory: Path) -> Path:
    """Return the helper library, compiled into `directory`."""
    source = directory / "callgrind_windows.c"
    library = directory / "callgrind_windows.so"
    source.write_text(HELPER_SOURCE)
    compiler = os.environ.get("CC", "gcc")
    command = [compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(source)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(
            f"instructions.py: could not compile the callgrind helper ({' '.join(command)}):\n{completed.stderr}"
        )
    return library


def read_dumps(directory: Path) -> dict[str, int]:
    """Return the Ir total of every callgrind dump in `directory`, by the name it was dumped under."""
    counts: dict[str, int] = {}
    trigger = re.compile(r"^desc: Trigger: Client Request: (.*)$", re.MULTILINE)
    total = re.compile(r"^(?:totals|summary): (\d+)", re.MULTILINE)
    for path in directory.glob("callgrind.out.*"):
        text = path.read_text(errors="replace")
        named, counted = trigger.search(text), total.search(text)
        if named and counted:
            counts[named.group(1).strip()] = int(counted.group(1))
    return counts


def select(arguments: argparse.Namespace) -> tuple[list[tuple[Suite, list[str], list[Contender]]], list[str]]:
    """Return (suite, scenario letters, contenders with their floors) to count, and notes on what was left out."""
    notes: list[str] = []
    suites = registered_suites()
    wanted_suites = {name for value in arguments.suite for name in value.split(",") if name}
    unknown = wanted_suites - {s.id for s in suites}
    if unknown:
        raise SystemExit(f"instructions.py: unknown suites {sorted(unknown)}; known: {[s.id for s in suites]}")
    wanted_ids = {name for value in arguments.contender for name in value.split(",") if name}
    families = {name for value in arguments.family for name in value.split(",") if name} or set(DEFAULT_FAMILIES)
    chosen: list[tuple[Suite, list[str], list[Contender]]] = []
    for suite in suites:
        if wanted_suites and suite.id not in wanted_suites:
            continue
        reason = suite.unavailable()
        if reason is not None:
            notes.append(f"suite {suite.id} skipped: {reason}")
            continue
        contenders, skipped = suite.available_contenders()
        notes += [f"{suite.id}: {cid} skipped: {why}" for cid, why in skipped]
        by_id = {c.id: c for c in contenders}
        if wanted_ids:
            picked = {c.id for c in contenders if c.id in wanted_ids}
        else:
            picked = {c.id for c in contenders if c.family in families}
        for contender_id in list(picked):
            floor = by_id[contender_id].floor
            while floor is not None and floor in by_id:
                picked.add(floor)
                floor = by_id[floor].floor
        letters = [s.id for s in suite.scenarios if arguments.scenarios is None or s.id in arguments.scenarios]
        rows = [c for c in contenders if c.id in picked]
        if rows and letters and (wanted_ids or any(c.floor is not None for c in rows)):
            chosen.append((suite, letters, rows))
    if not chosen:
        raise SystemExit("instructions.py: nothing to count" + (f" ({'; '.join(notes)})" if notes else ""))
    return chosen, notes


def _engine_digest() -> Optional[str]:
    """Return the sha256 of the compiled engine that is imported, or None without it."""
    spec = importlib.util.find_spec("corsfast._engine_c")
    if spec is None or spec.origin is None:
        return None
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


def _git_commit() -> Optional[str]:
    """Return the checkout's commit (with "+dirty" when it has changes), or None outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _valgrind_version(valgrind: str) -> str:
    return subprocess.run([valgrind, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def _count_in_valgrind(
    valgrind: str,
    helper: Path,
    work: Path,
    suite: Suite,
    letters: Sequence[str],
    row: Contender,
    arguments: argparse.Namespace,
) -> dict[str, Any]:
    """Count one row of a suite in a process of its own under callgrind; return what it
    counted, with each window's Ir. (One process per row: CPython specializes the code it
    runs for the objects it meets, and code shared by two rows, such as a floor app that a
    middleware calls, would count its re-specialization in whichever row runs second.)"""
    dumps = work / f"{suite.id}-{row.id}"
    dumps.mkdir()
    result_file = dumps / "result.json"
    command = [
        valgrind,
        "--tool=callgrind",
        "-q",
        "--instr-atstart=no",
        "--collect-atstart=no",
        "--dump-instr=no",
        f"--callgrind-out-file={dumps / 'callgrind.out.%p'}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--under-valgrind",
        "--helper",
        str(helper),
        "--result",
        str(result_file),
        "--suite",
        suite.id,
        "--scenarios",
        "".join(letters),
        "--requests",
        str(arguments.requests),
        "--warmup",
        str(arguments.warmup),
        "--contender",
        row.id,
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    completed = subprocess.run(command, env=environment, check=False)
    if completed.returncode != 0 or not result_file.exists():
        raise SystemExit(
            f"instructions.py: {suite.id} {row.id}: the run under valgrind failed ({completed.returncode})"
        )
    result: dict[str, Any] = json.loads(result_file.read_text())
    counts = read_dumps(dumps)
    shutil.rmtree(dumps)
    result["counts"] = counts
    return result


def _suite_report(
    suite: Suite, letters: Sequence[str], rows: Sequence[Contender], counted: dict[str, Any], n: int
) -> dict[str, Any]:
    """Return one suite's section of the JSON: every cell's instructions per request and overhead."""
    counts: dict[str, int] = counted["counts"]
    by_id = {row.id: row for row in rows}
    per_request: dict[tuple[str, str], float] = {}
    cells: list[dict[str, Any]] = []
    for cell in counted["cells"]:
        if not all(label in counts for label in cell["windows"]):
            counted["failures"].append({**cell, "reason": "a window's callgrind dump is missing"})
            continue
        totals = [counts[label] for label in cell["windows"]]
        runs = [total / n for total in totals]
        mean = sum(runs) / len(runs)
        spread = (max(runs) - min(runs)) / mean if mean else 0.0
        contender = by_id[cell["contender"]]
        per_request[(cell["scenario"], contender.id)] = mean
        cells.append(
            {
                "scenario": cell["scenario"],
                "contender": contender.id,
                "family": contender.family,
                "floor": contender.floor,
                "instructions_per_request": round(mean, 1),
                "windows": [round(value, 1) for value in runs],
                "window_totals": totals,
                "spread": round(spread, 5),
                "stable": spread <= TOLERANCE,
            }
        )
    for cell in cells:
        floor_value = per_request.get((cell["scenario"], cell["floor"])) if cell["floor"] else None
        cell["overhead"] = None if floor_value is None else round(cell["instructions_per_request"] - floor_value, 1)
    empty = [counts[label] for label in counted["empty"] if label in counts]
    return {
        "title": suite.title,
        "kind": suite.kind,
        "scenarios": {s.id: s.title for s in suite.scenarios if s.id in letters},
        "contenders": {row.id: row.label for row in rows},
        "window_instructions": empty,
        "seconds": counted["seconds"],
        "cells": cells,
        "unsupported": counted["unsupported"],
        "failures": counted["failures"],
    }


def format_tables(report: dict[str, Any]) -> str:
    """Return the text tables: per suite, instructions per request (overhead above the floor)."""
    settings = report["settings"]
    lines = [
        f"instructions per request, counted by callgrind: {settings['requests']} requests per window after "
        f"{settings['warmup']} warm-up, 2 windows per cell (mean shown); (+N) = overhead above the row's floor "
        f"in the same scenario; * = the two windows differ by more than {TOLERANCE:.1%}",
        f"corsfast {report['versions'].get('corsfast')} at {report['commit'] or 'an unknown commit'}, "
        f"{report['python']}, Cython {report['versions'].get('Cython')}, {report['valgrind']}",
    ]
    for suite_id, section in report["suites"].items():
        letters = list(section["scenarios"])
        lines += ["", f"{suite_id}: {section['title']}"]
        lines += [f"  ({letter}) {title}" for letter, title in section["scenarios"].items()]
        by_cell = {(c["scenario"], c["contender"]): c for c in section["cells"]}
        width = max([len(r) for r in section["contenders"]] + [10])
        texts: dict[str, list[str]] = {}
        for contender_id in section["contenders"]:
            row = []
            for letter in letters:
                cell = by_cell.get((letter, contender_id))
                if cell is None:
                    row.append("-")
                    continue
                text = f"{cell['instructions_per_request']:,.0f}"
                if cell["overhead"] is not None:
                    text += f" ({cell['overhead']:+,.0f})"
                row.append(text + ("" if cell["stable"] else " *"))
            texts[contender_id] = row
        column = max([len(t) for row in texts.values() for t in row] + [8])
        lines.append("  " + "contender".ljust(width) + "".join(f"  {f'({x})':>{column}}" for x in letters))
        for contender_id, row in texts.items():
            lines.append("  " + contender_id.ljust(width) + "".join(f"  {t:>{column}}" for t in row))
        empty = section["window_instructions"]
        fixed = f"{min(empty):,} to {max(empty):,}" if empty else "-"
        lines.append(
            f"  a window's fixed cost (an empty window): {fixed} instructions, in every cell alike; "
            f"counted in {section['seconds']:.0f} s"
        )
        for problem in section["unsupported"] + section["failures"]:
            lines.append(f"  not counted: ({problem['scenario']}) {problem['contender']}: {problem['reason']}")
        unstable = [c for c in section["cells"] if not c["stable"]]
        for cell in unstable:
            lines.append(
                f"  unstable: ({cell['scenario']}) {cell['contender']}: windows {cell['windows']} "
                f"differ by {cell['spread']:.2%}"
            )
    for note in report["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def compare(before: dict[str, Any], after: dict[str, Any], limit: Optional[float] = None) -> tuple[str, list[str]]:
    """Return the text comparing two reports cell by cell, and the cells whose instructions per
    request grew by more than `limit` percent (none without a limit)."""
    lines = [
        "instructions per request, before -> after (change); overhead above the floor, before -> after",
        f"before: {before['commit'] or 'an unknown commit'}, engine sha256 {(before['engine_sha256'] or '-')[:12]}",
        f"after:  {after['commit'] or 'an unknown commit'}, engine sha256 {(after['engine_sha256'] or '-')[:12]}",
    ]
    over: list[str] = []
    for suite_id, section in after["suites"].items():
        lines += ["", f"{suite_id}: {section['title']}"]
        prior_cells = {(c["scenario"], c["contender"]): c for c in before["suites"].get(suite_id, {}).get("cells", [])}
        for cell in section["cells"]:
            name = f"  ({cell['scenario']}) {cell['contender']}"
            prior = prior_cells.get((cell["scenario"], cell["contender"]))
            if prior is None:
                lines.append(f"{name}: not in the first report")
                continue
            old, new = prior["instructions_per_request"], cell["instructions_per_request"]
            change = 100 * (new - old) / old
            text = f"{name:<40} {old:>10,.0f} -> {new:>10,.0f}  {change:+6.2f}%"
            if cell["overhead"] is not None and prior["overhead"] is not None:
                text += f"   overhead {prior['overhead']:>8,.0f} -> {cell['overhead']:>8,.0f}"
            if limit is not None and change > limit:
                text += f"   over +{limit:g}%"
                over.append(f"{suite_id} ({cell['scenario']}) {cell['contender']}")
            lines.append(text)
    return "\n".join(lines), over


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Count the instructions per request of `corsfast bench` cells with callgrind."
    )
    parser.add_argument("--suite", action="append", default=[], help="a suite id (repeat or comma-separate)")
    parser.add_argument(
        "--contender", action="append", default=[], help="a contender id (repeat or comma-separate); floors added"
    )
    parser.add_argument(
        "--family",
        action="append",
        default=[],
        help=f"the contender families counted without --contender (default: {', '.join(DEFAULT_FAMILIES)})",
    )
    parser.add_argument("--scenarios", help="scenario letters, e.g. bd (default: every scenario)")
    parser.add_argument("--requests", type=int, default=DEFAULT_REQUESTS, help="requests per counted window")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="requests before a cell is counted")
    parser.add_argument("--json", help="write every cell, the versions and the settings to this file")
    parser.add_argument("--valgrind", default="valgrind", help="the valgrind executable")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="count nothing: compare two --json reports cell by cell",
    )
    parser.add_argument(
        "--limit", type=float, help="with --compare: exit 1 when a cell grew by more than this percentage"
    )
    parser.add_argument("--under-valgrind", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--helper", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.requests < 1 or arguments.warmup < 0:
        raise SystemExit("instructions.py: --requests must be at least 1 and --warmup at least 0")
    if arguments.under_valgrind:
        return _count_row(arguments)
    if arguments.compare:
        before, after = (json.loads(Path(name).read_text()) for name in arguments.compare)
        text, over = compare(before, after, arguments.limit)
        print(text)
        if over:
            print(f"instructions.py: {len(over)} cells grew by more than {arguments.limit:g}%", file=sys.stderr)
        return 1 if over else 0
    valgrind = shutil.which(arguments.valgrind)
    if valgrind is None:
        raise SystemExit("instructions.py: valgrind not found (apt-get install valgrind)")
    chosen, notes = select(arguments)
    started = time.monotonic()
    suites: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="corsfast-instructions-") as temporary:
        work = Path(temporary)
        helper = _build_helper(work)
        for suite, letters, rows in chosen:
            print(
                f"instructions.py: counting {suite.id}: scenarios {''.join(letters)}, {len(rows)} rows "
                f"({', '.join(r.id for r in rows)})",
                file=sys.stderr,
                flush=True,
            )
            counted: dict[str, Any] = {"cells": [], "empty": [], "unsupported": [], "failures": [], "counts": {}}
            suite_started = time.monotonic()
            for row in rows:
                row_counted = _count_in_valgrind(valgrind, helper, work, suite, letters, row, arguments)
                for key in ("cells", "empty", "unsupported", "failures"):
                    counted[key] += row_counted[key]
                counted["counts"].update(row_counted["counts"])
            counted["seconds"] = round(time.monotonic() - suite_started, 1)
            suites[suite.id] = _suite_report(suite, letters, rows, counted, arguments.requests)
    report: dict[str, Any] = {
        "commit": _git_commit(),
        "engine_sha256": _engine_digest(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "valgrind": _valgrind_version(valgrind),
        "versions": versions([name for suite, _, _ in chosen for name in suite.versions]),
        "settings": {
            "requests": arguments.requests,
            "warmup": arguments.warmup,
            "windows_per_cell": 2,
            "tolerance": TOLERANCE,
            "PYTHONHASHSEED": "0",
            "counter": "callgrind Ir (instructions executed), collection on only inside each window",
            "families": sorted({c.family for _, _, rows in chosen for c in rows}),
        },
        "seconds": round(time.monotonic() - started, 1),
        "notes": notes,
        "suites": suites,
    }
    print(format_tables(report))
    print(f"instructions.py: {report['seconds']:.0f} s in all", file=sys.stderr)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(report, indent=1) + "\n")
    unstable = sum(not c["stable"] for s in suites.values() for c in s["cells"])
    if unstable:
        print(
            f"instructions.py: {unstable} cells whose two windows differ by more than {TOLERANCE:.1%}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
