"""The measurement core every table shares: check, calibrate, then time in interleaved rounds.

Every cell (suite, scenario, contender) is built and its answer checked twice before it is
timed. A timing sample calls the app N times in a tight loop (timed with `perf_counter_ns`):
for an "asgi" suite one event-loop task awaiting `app(scope, receive, send)` N times, for a
"sync" suite a plain loop calling `app(request)` N times. N is calibrated per cell to about
`sample_ms`. A round takes one sample of every cell, the (suite, scenario) groups in a
shuffled order and the contenders of each group shuffled; many rounds give medians. A
suite's `context` is entered around everything done with a cell (outside the clock).
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .protocols import Scope, discard, receive
from .suite import Contender, Scenario, Suite, Unsupported

__all__ = ("Entry", "Selection", "measure")


@dataclass
class Selection:
    """What to measure of one suite: some of its scenarios and contenders."""

    suite: Suite
    scenarios: Sequence[Scenario]
    contenders: Sequence[Contender]


@dataclass
class Entry:
    """One timed cell: a contender's app answering one scenario."""

    suite: Suite
    contender: Contender
    scenario: Scenario
    app: Any
    request: Any
    n: int = 0
    samples: list[float] = field(default_factory=list)
    """ns per request, one per round."""


async def _asgi_batch(app: Any, scope: Scope, n: int) -> int:
    receive_, send = receive, discard
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(n):
        await app(scope, receive_, send)
    return clock() - start


def _sync_batch(app: Any, request: Any, n: int) -> int:
    clock = time.perf_counter_ns
    start = clock()
    for _ in range(n):
        app(request)
    return clock() - start


class _Progress:
    """A tiny progress bar on stderr: redrawn in place on a terminal, appended to in a log."""

    def __init__(self, total: int, enabled: bool, width: int = 40) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.width = width
        self.tty = enabled and sys.stderr.isatty()
        self.drawn = 0
        self.started = time.monotonic()
        if enabled and not self.tty:
            sys.stderr.write("corsfast bench: [")
            sys.stderr.flush()

    def advance(self, label: str = "") -> None:
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        if self.tty:
            elapsed = time.monotonic() - self.started
            eta = elapsed / self.done * (self.total - self.done)
            sys.stderr.write(
                f"\r\033[Kcorsfast bench [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{100 * self.done // self.total:3d}%  {label}  eta {eta:4.0f}s"
            )
        elif filled > self.drawn:
            sys.stderr.write("#" * (filled - self.drawn))
        self.drawn = filled
        sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            sys.stderr.write("\r\033[K")
        else:
            sys.stderr.write("#" * (self.width - self.drawn) + "]\n")
        sys.stderr.flush()


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` quantile of `values` (linear interpolation; NaN when empty)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _check_cells(selection: Selection, loop: asyncio.AbstractEventLoop, raw: dict[str, Any]) -> None:
    """Build and check every cell of `selection`; keep the right ones in raw["entries"]."""
    suite = selection.suite
    entries: dict[tuple[str, str], Entry] = raw["entries"]
    unsupported: list[dict[str, str]] = raw["unsupported"]
    failures: list[dict[str, str]] = raw["failures"]

    def answer(app: Any, request: Any) -> Any:
        if suite.kind == "asgi":
            return loop.run_until_complete(suite.record(app, request))
        return suite.record(app, request)

    for scenario in selection.scenarios:
        answers: dict[str, Any] = {}
        for contender in selection.contenders:
            with suite.cell(contender, scenario):
                try:
                    app = contender.build(scenario)
                except Unsupported as reason:
                    unsupported.append({"scenario": scenario.id, "contender": contender.id, "reason": str(reason)})
                    continue
                request = suite.make_request(contender, scenario)
                try:
                    first = answer(app, request)
                    second = answer(app, request)
                except Exception as error:
                    failures.append(
                        {
                            "scenario": scenario.id,
                            "contender": contender.id,
                            "reason": f"raised {type(error).__name__}: {error}",
                        }
                    )
                    continue
            problem = suite.check(contender, scenario, first)
            if problem is None and first != second:
                problem = "the second identical request got a different answer"
            if problem is not None:
                failures.append({"scenario": scenario.id, "contender": contender.id, "reason": problem})
                continue
            answers[contender.id] = first
            entries[(scenario.id, contender.id)] = Entry(suite, contender, scenario, app, request)
        for contender in selection.contenders:
            key = (scenario.id, contender.id)
            twin = contender.twin_of
            if key in entries and twin in answers and answers[contender.id] != answers[twin]:
                failures.append(
                    {
                        "scenario": scenario.id,
                        "contender": contender.id,
                        "reason": f"messages differ from {twin}'s: {answers[contender.id]!r} != {answers[twin]!r}",
                    }
                )
                del entries[key]
        # A middleware without its floor in this scenario cannot be reported.
        for key, entry in list(entries.items()):
            floor = entry.contender.floor
            if key[0] == scenario.id and floor and (scenario.id, floor) not in entries:
                del entries[key]


def measure(
    selections: Sequence[Selection],
    rounds: int,
    sample_ms: float,
    seed: Optional[int] = None,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """Check, calibrate and time every selected cell; return the raw results per suite id:
    {"entries": {(scenario id, contender id): Entry}, "unsupported": [...], "failures": [...]}."""
    rng = random.Random(seed)
    loop = asyncio.new_event_loop()
    raw: dict[str, dict[str, Any]] = {}
    try:
        for selection in selections:
            result: dict[str, Any] = {"entries": {}, "unsupported": [], "failures": []}
            raw[selection.suite.id] = result
            _check_cells(selection, loop, result)

        def sample(entry: Entry, n: int) -> int:
            suite = entry.suite
            with suite.cell(entry.contender, entry.scenario):
                if suite.kind == "asgi":
                    return loop.run_until_complete(_asgi_batch(entry.app, entry.request, n))
                return _sync_batch(entry.app, entry.request, n)

        groups: list[list[Entry]] = []
        for selection in selections:
            entries: dict[tuple[str, str], Entry] = raw[selection.suite.id]["entries"]
            for scenario in selection.scenarios:
                groups.append([e for (sid, _), e in entries.items() if sid == scenario.id])
        cells = [entry for result in raw.values() for entry in result["entries"].values()]
        bar = _Progress(len(cells) * 2 + rounds * len(groups), progress)
        target_ns = sample_ms * 1e6
        for entry in cells:
            # Calibrate (and warm up): N calls of about `sample_ms`.
            n = 20
            for _ in range(2):
                elapsed = sample(entry, n)
                per_call = max(elapsed / n, 1.0)
                n = max(20, min(200_000, int(target_ns / per_call)))
                bar.advance(f"calibrating {entry.contender.id} ({entry.scenario.id})")
            entry.n = n

        for round_number in range(rounds):
            order = list(groups)
            rng.shuffle(order)
            for group in order:
                group = group[:]
                rng.shuffle(group)
                for entry in group:
                    entry.samples.append(sample(entry, entry.n) / entry.n)
                bar.advance(f"round {round_number + 1}/{rounds}")
        bar.close()
    finally:
        loop.close()
    return raw
