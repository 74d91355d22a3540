"""Benchmark corsfast against the bare app, Starlette, Kui and others, side by side in one process.

Every contender answers the same requests in one process. A timing sample calls one app N
times in a tight loop (timed with `perf_counter_ns`): one event-loop task awaiting
`app(scope, receive, send)` N times for an ASGI table, a plain loop for a synchronous one
(WSGI, Django, Flask); a round takes one sample of every contender for every scenario, in a
shuffled order, and many rounds give medians. A contender's *overhead* is the median over
rounds of (its ns/request minus its floor's ns/request in the same round): the bare ASGI
app for middlewares, the same Kui app without CORS for Kui's middlewares (each table names
its floors). Every contender's answers are checked before it is timed.

Each table is a suite (`--suite`), one module each in `corsfast.bench.suites`. The package:
`suite` (the suite API and registry), `browser` (the requests every table reuses),
`protocols` (calling ASGI and WSGI apps), `measure` (the shared measurement core),
`summary` (overheads, ratios, targets), `report` (text), `plot` (the charts, one per table), `cli`.
"""

from __future__ import annotations

from .cli import add_arguments, main, run
from .measure import Selection, measure
from .report import format_report, machine_info, versions
from .suite import Contender, Scenario, Suite, Target, Unsupported, get_suite, register_suite, registered_suites
from .summary import evaluate_targets, summarise

__all__ = (
    "Contender",
    "Scenario",
    "Selection",
    "Suite",
    "Target",
    "Unsupported",
    "add_arguments",
    "evaluate_targets",
    "format_report",
    "get_suite",
    "machine_info",
    "main",
    "measure",
    "register_suite",
    "registered_suites",
    "run",
    "summarise",
    "versions",
)
