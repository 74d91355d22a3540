"""The `corsfast bench` suite API: a synchronous example table, defined here and not in the
package, is registered, checked, measured, reported, charted and written to JSON beside the
ASGI table; `--suite` and SUITE:ID selections; per-row baselines; a table whose framework is
missing is skipped with a note. Structure only: speed is never asserted here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from corsfast import NO_EXTENSIONS, cli
from corsfast.bench import Contender, Scenario, Selection, Suite, Target, measure, register_suite, registered_suites
from corsfast.bench.browser import SCENARIOS, answer_problem
from corsfast.bench.protocols import WSGIAnswer, wsgi_call, wsgi_environ
from corsfast.bench.suite import Unsupported, unregister_suite
from corsfast.bench.suites.asgi import engine_module, native_kwargs

TINY = ["--quick", "--rounds", "2", "--sample-ms", "0.2", "--no-progress"]
HAS_COMPILED = importlib.util.find_spec("corsfast._engine_c") is not None and not NO_EXTENSIONS
BODY = b'{"hello": "world"}'


def bare_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The example table's floor: a WSGI app answering a small JSON body."""
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def corsfast_wsgi(engine: str) -> Callable[[Scenario], Callable[[dict[str, Any]], WSGIAnswer]]:
    def build(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
        from corsfast.wsgi import CORSMiddleware

        if scenario.config == "any-credentials":
            raise Unsupported("the example leaves credentials out")
        app = CORSMiddleware(bare_wsgi, **native_kwargs(scenario.config), _engine=engine_module(engine))
        return wsgi_call(app)

    return build


def always_allow(scenario: Scenario) -> Callable[[dict[str, Any]], WSGIAnswer]:
    """A wrong middleware: it allows every origin, the refused one included."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            origin = environ.get("HTTP_ORIGIN")
            extra = [("Access-Control-Allow-Origin", origin)] if origin else []
            return start_response(status, headers + extra)

        return bare_wsgi(environ, start)

    return wsgi_call(app)


def check_answer(contender: Contender, scenario: Scenario, answer: WSGIAnswer) -> str | None:
    status, headers, body = answer
    if body != BODY and scenario.simple:
        return f"unexpected body {body!r}"
    return answer_problem(scenario, status, headers, floor=contender.family == "floor")


def example_suite(suite_id: str = "wsgi-example", **overrides: Any) -> Suite:
    """The whole example table: a floor, corsfast's WSGI middleware on both engines, targets."""
    options: dict[str, Any] = {
        "scenarios": [s for s in SCENARIOS if s.id in "abcdfg"],
        "make_request": lambda contender, scenario: wsgi_environ(scenario),
        "check": check_answer,
        "contenders": [
            Contender("bare", "bare WSGI app (floor)", lambda s: wsgi_call(bare_wsgi), None, family="floor"),
            Contender("corsfast-wsgi-py", "corsfast.wsgi pure twin", corsfast_wsgi("py"), "bare", family="corsfast-py"),
            Contender(
                "corsfast-wsgi-c",
                "corsfast.wsgi compiled",
                corsfast_wsgi("c"),
                "bare",
                twin_of="corsfast-wsgi-py",
                family="corsfast-c",
                module="corsfast._engine_c",
            ),
        ],
        "baseline": "corsfast-wsgi-py",
        "baseline_label": "pure twin",
        "targets": [Target("corsfast-wsgi-c", "corsfast-wsgi-py", 0.5)],
        "floor_note": "floor = the same WSGI app without CORS.",
    }
    options.update(overrides)
    return Suite(suite_id, "WSGI example cost", "sync", **options)


@pytest.fixture
def registered() -> Iterator[Callable[[Suite], Suite]]:
    """Register suites for one test (after the package's own), and remove them afterwards."""
    registered_suites()  # the package's tables first, as `corsfast bench` loads them
    added: list[str] = []

    def register(suite: Suite) -> Suite:
        added.append(suite.id)
        return register_suite(suite)

    yield register
    for suite_id in added:
        unregister_suite(suite_id)


def test_a_sync_suite_is_measured_reported_charted_and_written(
    registered: Callable[[Suite], Suite], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registered(example_suite())
    output, charts = tmp_path / "bench.json", tmp_path / "charts"
    plot = ["--plot", str(charts)] if importlib.util.find_spec("matplotlib") else []
    argv = ["bench", *TINY, "--scenarios", "abcdg", "--contenders", "asgi:corsfast-py,wsgi-example:corsfast-wsgi-py"]
    if HAS_COMPILED:
        argv[-1] += ",corsfast-wsgi-c"
    status = cli.main([*argv, "--json", str(output), *plot])
    text = capsys.readouterr().out
    assert status == 0, text
    assert text.startswith("corsfast bench: CORS middleware cost in 2 tables (asgi, wsgi-example), every contender")
    assert "== ASGI middleware cost (asgi) ==" in text and "== WSGI example cost (wsgi-example) ==" in text
    example = text.split("== WSGI example cost (wsgi-example) ==")[1]
    assert "one sample = one loop calling app(request) N times; floor = the same WSGI app without CORS." in example
    assert "(a) GET, no Origin" in example and "(f)" not in example  # f is not selected
    assert "bare WSGI app (floor)" in example and "corsfast.wsgi pure twin" in example and "x pure twin" in example
    assert "(g) corsfast-wsgi-py: the example leaves credentials out" in example  # under "not supported"
    if plot:  # a chart per table, the suite's own among them
        assert sorted(p.name for p in charts.iterdir()) == ["asgi.png", "wsgi-example.png"]
        assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in charts.iterdir())

    report: dict[str, Any] = json.loads(output.read_text())
    assert list(report["suites"]) == ["asgi", "wsgi-example"]
    section = report["suites"]["wsgi-example"]
    assert section["kind"] == "sync" and section["baseline"] == "corsfast-wsgi-py"
    assert [s["id"] for s in section["scenarios"]] == list("abcdg")
    assert section["failures"] == [] and {u["scenario"] for u in section["unsupported"]} == {"g"}
    by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
    for scenario in "abcd":
        assert by_key[(scenario, "bare")]["overhead_ns"] is None and by_key[(scenario, "bare")]["baseline"] is None
        row = by_key[(scenario, "corsfast-wsgi-py")]
        assert row["rounds"] == 2 and isinstance(row["overhead_ns"], float)
        assert row["baseline"] == "corsfast-wsgi-py" and "ratio_to_starlette" not in row
        if row["overhead_ns"]:
            assert row["ratio_to_baseline"] == pytest.approx(1.0)
        if HAS_COMPILED:
            assert by_key[(scenario, "corsfast-wsgi-c")]["baseline"] == "corsfast-wsgi-py"
    if HAS_COMPILED:
        assert {t["target"] for t in section["targets"]} == {"corsfast-wsgi-c overhead <= 0.5 x corsfast-wsgi-py's"}
    # The ASGI table keeps the first format's top-level keys, and its rows their ratio key.
    assert report["results"] == report["suites"]["asgi"]["results"]
    assert report["contenders"] == report["suites"]["asgi"]["contenders"]
    assert all("ratio_to_starlette" in row for row in report["results"])
    assert {c["id"] for c in report["contenders"]} == {"bare", "corsfast-py"}


def test_suite_option_runs_one_table(registered: Callable[[Suite], Suite], tmp_path: Path, capsys: Any) -> None:
    registered(example_suite())
    output = tmp_path / "bench.json"
    status = cli.main(["bench", *TINY, "--suite", "wsgi-example", "--scenarios", "b", "--json", str(output)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert text.startswith("corsfast bench: WSGI example cost, every contender measured side by side in one process")
    assert "one sample = one loop calling app(request) N times (~0.2 ms)" in text
    assert "(b) GET, allowed origin" in text and "Starlette" not in text.split("method:")[1]
    report = json.loads(output.read_text())
    assert list(report["suites"]) == ["wsgi-example"]
    assert report["results"] == [] and report["scenarios"] == []  # no ASGI table in this run
    with pytest.raises(SystemExit, match="unknown suites"):
        cli.main(["bench", *TINY, "--suite", "nope"])
    with pytest.raises(SystemExit, match="unknown scenarios"):
        cli.main(["bench", *TINY, "--suite", "wsgi-example", "--scenarios", "wsgi-example:e"])
    with pytest.raises(SystemExit, match="unknown contenders"):
        cli.main(["bench", *TINY, "--contenders", "asgi:corsfast-wsgi-py"])


def test_a_suite_without_its_framework_is_skipped_with_a_note(
    registered: Callable[[Suite], Suite], capsys: pytest.CaptureFixture[str]
) -> None:
    registered(example_suite("missing-example", requires=("corsfast_test_no_such_framework",)))

    def refuse() -> None:
        raise Unsupported("settings cannot be configured here")

    registered(example_suite("refusing-example", setup=refuse))
    status = cli.main(["bench", *TINY, "--scenarios", "a", "--contenders", "corsfast-py"])
    text = capsys.readouterr().out
    assert status == 0, text
    assert "skipped suites: missing-example (corsfast_test_no_such_framework not importable" in text
    assert "refusing-example (settings cannot be configured here)" in text
    with pytest.raises(SystemExit, match="no suite to run: missing-example"):
        cli.main(["bench", *TINY, "--suite", "missing-example"])


def test_wrong_and_twin_differing_answers_are_reported_not_timed(registered: Callable[[Suite], Suite]) -> None:
    suite = example_suite()
    suite.add_contenders(
        Contender("always-allow", "allows every origin", always_allow, "bare", twin_of="corsfast-wsgi-py"),
    )
    registered(suite)
    contenders = [c for c in suite.contenders() if c.id in ("bare", "corsfast-wsgi-py", "always-allow")]
    scenarios = [s for s in suite.scenarios if s.id in "bc"]
    raw = measure([Selection(suite, scenarios, contenders)], rounds=1, sample_ms=0.05)["wsgi-example"]
    reasons = {(f["scenario"], f["contender"]): f["reason"] for f in raw["failures"]}
    assert set(reasons) == {("b", "always-allow"), ("c", "always-allow")}
    assert reasons[("b", "always-allow")].startswith("messages differ from corsfast-wsgi-py's")
    assert "expected no ACAO" in reasons[("c", "always-allow")]
    assert set(raw["entries"]) == {(s, c) for s in "bc" for c in ("bare", "corsfast-wsgi-py")}
    assert all(len(entry.samples) == 1 and entry.n >= 20 for entry in raw["entries"].values())


def test_rows_added_later_take_their_place_and_their_own_baseline(registered: Callable[[Suite], Suite]) -> None:
    suite = example_suite(targets=[])
    suite.add_contenders(
        Contender("late-a", "late a", corsfast_wsgi("py"), "bare", baseline="late-b"),
        Contender("late-b", "late b", corsfast_wsgi("py"), "bare", baseline=""),
        after="bare",
    )
    suite.add_contenders(lambda: [Contender("late-c", "late c", corsfast_wsgi("py"), "bare")], after="bare")
    ids = [c.id for c in suite.contenders()]
    assert ids[:4] == ["bare", "late-a", "late-b", "late-c"] and ids[4] == "corsfast-wsgi-py"
    by_id = {c.id: c for c in suite.contenders()}
    assert suite.effective_baseline(by_id["late-a"]) == "late-b"
    assert suite.effective_baseline(by_id["late-b"]) is None
    assert suite.effective_baseline(by_id["late-c"]) == "corsfast-wsgi-py"
    assert suite.effective_baseline(by_id["bare"]) is None
    with pytest.raises(ValueError, match="defined twice"):
        suite.add_contenders(Contender("late-a", "again", corsfast_wsgi("py"), "bare"))
        suite.contenders()
    with pytest.raises(ValueError, match="one lower-case letter"):
        suite.add_scenarios(Scenario("ab", "two letters", "GET", (), None, "base", "pass"))
    with pytest.raises(ValueError, match="already defined"):
        suite.add_scenarios(SCENARIOS[0])
    with pytest.raises(ValueError, match="already registered"):
        registered(suite)
        register_suite(example_suite())


def test_a_cell_runs_in_its_suite_context(registered: Callable[[Suite], Suite]) -> None:
    """Django-like global configuration: each cell's build, checks and samples see its own."""
    active: list[tuple[str, str]] = []
    entered: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def cell(contender: Contender, scenario: Scenario) -> Iterator[None]:
        entered.append((contender.id, scenario.id))
        active.append((contender.id, scenario.id))
        try:
            yield
        finally:
            active.pop()

    def guarded(build: Callable[[Scenario], Any], contender_id: str) -> Callable[[Scenario], Any]:
        def build_in_cell(scenario: Scenario) -> Any:
            assert active == [(contender_id, scenario.id)]
            app = build(scenario)

            def call(environ: dict[str, Any]) -> Any:
                assert active == [(contender_id, scenario.id)], active  # raises out of the run if not
                return app(environ)

            return call

        return build_in_cell

    contenders = [
        Contender("bare", "floor", guarded(lambda s: wsgi_call(bare_wsgi), "bare"), None, family="floor"),
        Contender("corsfast-wsgi-py", "py", guarded(corsfast_wsgi("py"), "corsfast-wsgi-py"), "bare"),
    ]
    suite = registered(example_suite(contenders=contenders, context=cell, targets=[]))
    raw = measure([Selection(suite, suite.scenarios[:2], contenders)], rounds=2, sample_ms=0.05)["wsgi-example"]
    assert raw["failures"] == [] and len(raw["entries"]) == 4
    # Each cell: once for its checks, twice to calibrate, once per round.
    assert sorted(entered) == sorted([(c.id, s.id) for c in contenders for s in suite.scenarios[:2]] * 5)
    assert active == []
