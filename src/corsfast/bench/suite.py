"""The suite API: what one table of `corsfast bench` is made of, and the registry of tables.

A *suite* is one table: its scenarios (the requests, one column each), its contenders (the
apps that answer them: floors, the peers, corsfast), how an app is built and called, how an
answer is checked, and the speed targets. Every suite is measured by the same core
(`corsfast.bench.measure`) and printed, written to JSON and drawn by the same code.

A table is a module in `corsfast.bench.suites`: every module there is imported when
`corsfast bench` starts, and registers its suite at import with `register_suite(Suite(...))`,
or adds rows to an existing suite with `get_suite("asgi").add_contenders(...)`. Such a module
imports its framework lazily (inside the builders), so that it imports without it; a suite
whose `requires` do not import (or whose `setup` raises `Unsupported`) is skipped with a
note, and so is a contender whose `module` does not import.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

__all__ = (
    "Contender",
    "Scenario",
    "Suite",
    "Target",
    "Unsupported",
    "get_suite",
    "register_suite",
    "registered_suites",
    "skipped_suite_modules",
)

KINDS = ("asgi", "sync")


class Unsupported(Exception):
    """A contender cannot express a scenario's configuration (its cell is left out), or, raised
    by a suite's `setup`, the suite cannot run here (it is skipped with this note)."""


@dataclass(frozen=True)
class Scenario:
    """One kind of request and the CORS configuration it meets."""

    id: str
    """One lower-case letter, unique within its suite (`--scenarios` selects by letter)."""
    title: str
    method: str
    headers: tuple[tuple[bytes, bytes], ...]
    """The request's headers as a server hands them over (lower-case names, wire order)."""
    origin: Optional[bytes]
    config: str
    """"base" (three exact origins), "regex" (the same plus a regex) or "any-credentials"."""
    expect: str
    """"pass" (no CORS answer), "allow" (ACAO == origin), "preflight" (2xx + ACAO), "deny"."""

    @property
    def simple(self) -> bool:
        """True for requests a browser sends without a preflight."""
        return self.method != "OPTIONS"


@dataclass(frozen=True)
class Contender:
    """One app builder of a suite: a floor, or a middleware over a floor."""

    id: str
    """Unique within its suite (`--contenders` selects by id)."""
    label: str
    """The row's name in the report and the chart."""
    build: Callable[[Scenario], Any]
    """Return the app for a scenario (raise Unsupported when it cannot be configured so).
    For an "asgi" suite: an ASGI app; for a "sync" suite: the callable that is timed,
    called with the suite's request (`suite.make_request(contender, scenario)`)."""
    floor: Optional[str]
    """The contender whose time is subtracted (its overhead's zero); None for floors."""
    twin_of: Optional[str] = None
    """A contender whose answers this one must reproduce exactly (checked before timing)."""
    family: str = "other"
    """"corsfast-c", "corsfast-py", the peer's name, "floor" or "other" (checks, targets, the charts' colours)."""
    module: str = ""
    """What must be importable for this contender ("corsfast._engine_c": the compiled engine,
    skipped with CORSFAST_NO_EXTENSIONS=1); empty: always available."""
    baseline: Optional[str] = None
    """The contender whose overhead this one's is divided by (the ratio column); None: the
    suite's `baseline`; "": no ratio."""


@dataclass(frozen=True)
class Target:
    """A speed target, checked per scenario within one run.

    unit "x": overhead(contender) / overhead(reference) <= limit (needs a positive reference);
    unit "ns": overhead(contender) <= limit * overhead(reference).
    """

    contender: str
    reference: str
    limit: float
    unit: str = "x"
    label: str = ""
    """How the report names the target (default: generated from the ids)."""
    simple_only: bool = False
    """Check it only on scenarios without a preflight."""
    scenarios: str = ""
    """Check it only on these scenario letters ("bdeg"); empty: on every scenario."""

    def describe(self) -> str:
        """Return the target's name in the report."""
        if self.label:
            return self.label
        if self.unit == "ns":
            return f"{self.contender} overhead <= {self.limit:g} x {self.reference}'s (ns)"
        return f"{self.contender} overhead <= {self.limit:g} x {self.reference}'s"


ContenderSource = Union[Contender, Callable[[], Iterable[Contender]]]


def _default_record(app: Any, request: Any) -> Any:
    return app(request)


class Suite:
    """One table of `corsfast bench`.

    kind "asgi": a contender's app is an ASGI app, timed as `await app(request, receive,
    send)` in one event-loop task (request = the ASGI scope); `record(app, request)` is a
    coroutine function. kind "sync": a contender's app is a plain callable, timed as
    `app(request)` in a loop (a WSGI app wrapped by `corsfast.bench.protocols.wsgi_call`,
    a Django middleware called with an HttpRequest, ...); `record(app, request)` is a
    function (default: `app(request)`). `record` returns the answer as plain data (equal
    answers compare equal): the check, the twin comparison and the repeat comparison use
    it. For "asgi" it defaults to `protocols.record_asgi` (the messages, headers as bytes).
    """

    def __init__(
        self,
        id: str,
        title: str,
        kind: str,
        *,
        scenarios: Sequence[Scenario],
        make_request: Callable[[Contender, Scenario], Any],
        check: Callable[[Contender, Scenario, Any], Optional[str]],
        record: Optional[Callable[[Any, Any], Any]] = None,
        context: Optional[Callable[[Contender, Scenario], AbstractContextManager[Any]]] = None,
        contenders: Iterable[ContenderSource] = (),
        baseline: Optional[str] = None,
        baseline_label: str = "baseline",
        targets: Iterable[Target] = (),
        targets_title: str = "targets (ratios within this run)",
        requires: Sequence[str] = (),
        setup: Optional[Callable[[], None]] = None,
        versions: Sequence[str] = (),
        method: str = "",
        floor_note: str = "",
        ratio_note: str = "",
        ratio_key: Optional[str] = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"suite {id!r}: kind must be one of {KINDS}, not {kind!r}")
        if kind == "asgi" and record is None:
            from .protocols import record_asgi

            record = record_asgi
        self.id = id
        self.title = title
        """The table's heading ("ASGI middleware cost")."""
        self.kind = kind
        self.scenarios: list[Scenario] = []
        self.make_request = make_request
        """(contender, scenario) -> the request every timed call gets (ASGI scope, WSGI environ,
        Django HttpRequest); built once per cell and reused, so an app must not consume it."""
        self.check = check
        """(contender, scenario, answer) -> why the answer is wrong, or None."""
        self.record = record or _default_record
        self.context = context
        """(contender, scenario) -> a context manager entered around everything done with that
        cell: building its app and request, recording its answers for the checks, and each
        timed sample (outside the clock). For frameworks configured globally, e.g. Django's
        `override_settings(**settings_for(scenario.config))`; None: no context."""
        self._sources: list[tuple[Optional[str], ContenderSource]] = []
        self.baseline = baseline
        """The default ratio baseline (a contender id), e.g. "starlette"; None: no ratio."""
        self.baseline_label = baseline_label
        """How the ratio column is headed: "x {baseline_label}"."""
        self.targets: list[Target] = []
        self.targets_title = targets_title
        self.requires = tuple(requires)
        """Modules that must import for the suite to run (the framework); else it is skipped."""
        self.setup = setup
        """Called once before the suite is measured (e.g. configure Django settings); must be
        idempotent; raise Unsupported to skip the suite with a note."""
        self.versions = tuple(versions)
        """Distributions whose versions the report lists."""
        self.method = method or (
            "one event-loop task awaiting app(scope, receive, send)"
            if kind == "asgi"
            else "one loop calling app(request)"
        )
        self.floor_note = floor_note or "floor = the same app without CORS."
        self.ratio_note = ratio_note or (
            f"x {baseline_label} = overhead / the baseline's overhead in the same scenario "
            "(the baseline of each row is in the JSON)."
        )
        self.ratio_key = ratio_key
        """Also write each row's ratio under this key (the ASGI table keeps "ratio_to_starlette")."""
        self._ready: Optional[tuple[bool, str]] = None
        self.add_scenarios(*scenarios)
        self.add_contenders(*contenders)
        self.add_targets(*targets)

    def cell(self, contender: Contender, scenario: Scenario) -> AbstractContextManager[Any]:
        """Return the context every use of the (contender, scenario) cell runs in."""
        if self.context is None:
            return nullcontext()
        return self.context(contender, scenario)

    def __repr__(self) -> str:
        return f"<Suite {self.id!r} ({self.kind})>"

    def add_scenarios(self, *scenarios: Scenario) -> None:
        """Append scenarios (one lower-case letter each, not yet used in this suite)."""
        for scenario in scenarios:
            if len(scenario.id) != 1 or not scenario.id.islower():
                raise ValueError(f"suite {self.id!r}: scenario id {scenario.id!r} is not one lower-case letter")
            if any(s.id == scenario.id for s in self.scenarios):
                raise ValueError(f"suite {self.id!r}: scenario {scenario.id!r} is already defined")
            self.scenarios.append(scenario)

    def add_contenders(self, *contenders: ContenderSource, after: Optional[str] = None) -> None:
        """Add contenders, or zero-argument callables returning contenders (called when the
        contenders are listed, e.g. to probe what a package supports). They follow the
        existing rows, or the row `after` (a contender id) when given."""
        for source in contenders:
            self._sources.append((after, source))

    def add_targets(self, *targets: Target) -> None:
        """Append speed targets (checked in order, per scenario)."""
        self.targets.extend(targets)

    def contenders(self) -> list[Contender]:
        """Return every contender of the suite, in report order (duplicate ids refused)."""
        ordered: list[Contender] = []
        last_after: dict[str, str] = {}  # anchor id -> the last row placed after it
        for after, source in self._sources:
            items = [source] if isinstance(source, Contender) else list(source())
            if not items:
                continue
            position = len(ordered)
            if after is not None:
                anchor = last_after.get(after, after)
                for index, existing in enumerate(ordered):
                    if existing.id == anchor:
                        position = index + 1
                        break
                last_after[after] = items[-1].id
            ordered[position:position] = items
        ids = [c.id for c in ordered]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"suite {self.id!r}: contender ids defined twice: {duplicates}")
        return ordered

    def effective_baseline(self, contender: Contender) -> Optional[str]:
        """Return the id whose overhead `contender`'s is divided by, or None."""
        if contender.floor is None:
            return None
        baseline = self.baseline if contender.baseline is None else contender.baseline
        return baseline or None

    def unavailable(self) -> Optional[str]:
        """Return why the suite cannot run here (a missing framework, a failed setup), or None."""
        if self._ready is None:
            reason = ""
            for module in self.requires:
                try:
                    importlib.import_module(module)
                except ImportError as error:
                    reason = f"{module} not importable ({error})"
                    break
            if not reason and self.setup is not None:
                try:
                    self.setup()
                except Unsupported as error:
                    reason = str(error)
            self._ready = (not reason, reason)
        return None if self._ready[0] else self._ready[1]

    def available_contenders(self) -> tuple[list[Contender], list[tuple[str, str]]]:
        """Return the contenders whose packages import here, and (id, reason) for the others."""
        from .. import NO_EXTENSIONS

        found, skipped = [], []
        for contender in self.contenders():
            if contender.module == "corsfast._engine_c" and NO_EXTENSIONS:
                skipped.append((contender.id, "the pure engine is selected (CORSFAST_NO_EXTENSIONS or not CPython)"))
                continue
            if contender.module:
                try:
                    importlib.import_module(contender.module)
                except ImportError as error:
                    skipped.append((contender.id, f"{contender.module} not importable ({error})"))
                    continue
            found.append(contender)
        return found, skipped


# ---------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------

_SUITES: dict[str, Suite] = {}
_SKIPPED_MODULES: list[tuple[str, str]] = []
_loaded = False


def register_suite(suite: Suite) -> Suite:
    """Add `suite` to the tables `corsfast bench` runs (in registration order); return it."""
    if suite.id in _SUITES and _SUITES[suite.id] is not suite:
        raise ValueError(f"a suite {suite.id!r} is already registered")
    _SUITES[suite.id] = suite
    return suite


def unregister_suite(suite_id: str) -> None:
    """Remove a registered suite (for tests that register their own)."""
    _SUITES.pop(suite_id, None)


def _load_suite_modules() -> None:
    """Import every module of `corsfast.bench.suites` once ("asgi" first, then by name)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from . import suites

    names = sorted(info.name for info in pkgutil.iter_modules(suites.__path__) if not info.name.startswith("_"))
    names.sort(key=lambda name: name != "asgi")
    for name in names:
        try:
            importlib.import_module(f"{suites.__name__}.{name}")
        except ImportError as error:
            # A table module must import without its framework; one that does not is
            # reported rather than breaking every other table (a corsfast bug still raises).
            if (error.name or "").startswith("corsfast"):
                raise
            _SKIPPED_MODULES.append((name, f"not importable ({error})"))


def registered_suites() -> list[Suite]:
    """Return every registered suite, after importing the modules of `corsfast.bench.suites`."""
    _load_suite_modules()
    return list(_SUITES.values())


def get_suite(suite_id: str) -> Suite:
    """Return the registered suite `suite_id` (KeyError if there is none)."""
    _load_suite_modules()
    return _SUITES[suite_id]


def skipped_suite_modules() -> list[tuple[str, str]]:
    """Return (module name, reason) for the modules of `corsfast.bench.suites` that failed to import."""
    _load_suite_modules()
    return list(_SKIPPED_MODULES)
