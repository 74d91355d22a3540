"""The aiohttp table of `corsfast bench`: registered, run on aiohttp's own request path, every
answer checked (the corsfast.aiohttp rows equal aiohttp-cors' rows header for header, but for
the documented `Vary: Origin`), and reported. Structure only: speed is never asserted here."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from corsfast import NO_EXTENSIONS, cli
from corsfast.bench import Selection, get_suite, measure
from corsfast.bench.browser import SCENARIOS
from corsfast.bench.summary import evaluate_targets

pytest.importorskip("aiohttp")
pytest.importorskip("aiohttp_cors")

from corsfast.bench.suites import aiohttp as table

TINY = ["--quick", "--rounds", "2", "--sample-ms", "0.2", "--no-progress"]
HAS_COMPILED = importlib.util.find_spec("corsfast._engine_c") is not None and not NO_EXTENSIONS
HAS_NATIVE = importlib.util.find_spec("corsfast.aiohttp.native") is not None
BY_ID = {scenario.id: scenario for scenario in SCENARIOS}


def _contender(contender_id: str) -> Any:
    return next(c for c in get_suite("aiohttp").contenders() if c.id == contender_id)


def _answer(contender_id: str, scenario_id: str) -> Any:
    suite = get_suite("aiohttp")
    contender = _contender(contender_id)
    scenario = BY_ID[scenario_id]
    app = contender.build(scenario)
    return asyncio.run(suite.record(app, suite.make_request(contender, scenario)))


def test_every_answer_is_checked_and_equals_aiohttp_cors() -> None:
    suite = get_suite("aiohttp")
    assert suite.unavailable() is None
    contenders, skipped = suite.available_contenders()
    ids = {c.id for c in contenders}
    expected = {"bare", "aiohttp-cors", "corsfast-aiohttp-py", "one-header-hook", "one-header-middleware"}
    if HAS_COMPILED:
        expected.add("corsfast-aiohttp-c")
    assert expected <= ids, skipped
    assert {c.twin_of for c in contenders if c.twin_of} == {"aiohttp-cors"}
    raw = measure([Selection(suite, list(SCENARIOS), contenders)], rounds=1, sample_ms=0.05)["aiohttp"]
    assert raw["failures"] == []
    unsupported = {(u["scenario"], u["contender"]) for u in raw["unsupported"]}
    # aiohttp-cors has no origin regex: (f) is left out for it and its drop-in, and only there.
    assert unsupported == {("f", i) for i in ids if i.startswith(("aiohttp-cors", "corsfast-aiohttp"))}
    timed = set(raw["entries"])
    assert timed == {(s.id, i) for s in SCENARIOS for i in ids} - unsupported


@pytest.mark.parametrize("scenario_id", ["a", "b", "c", "d", "e", "g"])
def test_drop_in_answers_as_aiohttp_cors_plus_vary_origin(scenario_id: str) -> None:
    peer = _answer("aiohttp-cors", scenario_id)
    drop_in = _answer("corsfast-aiohttp-py", scenario_id)
    assert peer.added == () and drop_in.added == (("Vary", "Origin"),)
    assert (drop_in.status, drop_in.headers, drop_in.body) == (peer.status, peer.headers, peer.body)
    if HAS_COMPILED:
        compiled = _answer("corsfast-aiohttp-c", scenario_id)
        assert compiled == drop_in and compiled.added == drop_in.added


def test_check_refuses_a_drop_in_answer_without_its_vary_and_a_floor_without_its_header() -> None:
    scenario = BY_ID["b"]
    drop_in = _answer("corsfast-aiohttp-py", "b")
    assert table.check_answer(_contender("corsfast-aiohttp-py"), scenario, drop_in) is None
    assert "Vary" in table.check_answer(_contender("corsfast-aiohttp-py"), scenario, replace(drop_in, added=()))
    floor = _answer("one-header-hook", "b")
    assert ("X-Floor", "1") in floor.headers
    bare = _answer("bare", "b")
    assert "X-Floor" in table.check_answer(_contender("one-header-hook"), scenario, bare)
    assert "ACAO" in table.check_answer(_contender("aiohttp-cors"), scenario, bare)


def test_requests_go_through_aiohttp_own_parser_and_handler() -> None:
    async def run() -> tuple[Any, Any]:
        connection = table.AiohttpConnection(table.aiohttp_app())
        good = table.parse_answer(bytes(await connection(table.raw_request(BY_ID["b"]))))
        bad = table.parse_answer(bytes(await connection(b"GET /api/data HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")))
        return good, bad

    good, bad = asyncio.run(run())
    assert (good.status, good.body) == (200, b'{"hello": "world"}')
    assert any(name == "Server" and "aiohttp" in value for name, value in good.headers)
    assert bad.status == 400  # aiohttp's HTTP parser refused it


def test_targets_are_the_issue_s_and_judged_only_in_their_scenarios() -> None:
    # The compiled engine's rows have targets; the pure twin's are shown beside them.
    suite = get_suite("aiohttp")
    declared = {(t.contender, t.reference, t.limit, t.scenarios) for t in suite.targets}
    assert declared == {
        ("corsfast-aiohttp-c", "aiohttp-cors", 0.25, "bdeg"),
        ("corsfast-aiohttp-c", "aiohttp-cors", 0.4, "ac"),
        ("corsfast-native-c", "one-header-middleware", 1.5, ""),
    }
    results = [
        {"scenario": s.id, "contender": c, "overhead_ns": v}
        for s in SCENARIOS
        for c, v in (("aiohttp-cors", 100.0), ("corsfast-aiohttp-c", 30.0))
    ]
    verdicts = {(v["scenario"], v["limit"], v["met"]) for v in evaluate_targets(suite, results, SCENARIOS)}
    assert verdicts == {(s, 0.25, False) for s in "bdefg" if s != "f"} | {(s, 0.4, True) for s in "ac"}


def test_native_rows_are_skipped_with_a_note_or_built_with_its_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    _, skipped = get_suite("aiohttp").available_contenders()
    native = [c for c in get_suite("aiohttp").contenders() if c.id.startswith("corsfast-native")]
    assert native and all(c.baseline == "one-header-middleware" for c in native)
    if not HAS_NATIVE:
        reasons = dict(skipped)
        assert all("corsfast.aiohttp.native" in reasons[c.id] for c in native)
    # Whatever the installed corsfast has: the rows call cors_middleware(**CORSMiddleware's options).
    import corsfast.aiohttp

    calls: list[dict[str, Any]] = []

    def cors_middleware(**options: Any) -> Any:
        calls.append(options)
        from aiohttp import web

        @web.middleware
        async def passthrough(request: Any, handler: Any) -> Any:
            return await handler(request)

        return passthrough

    monkeypatch.setattr(corsfast.aiohttp, "cors_middleware", cors_middleware, raising=False)
    connection = table._native(None)(BY_ID["f"])
    assert calls[0]["allow_origins"][-1] == re.compile(r"https://[a-z0-9-]+\.example\.io")
    assert set(calls[0]) == {"allow_origins", "allow_methods", "allow_headers"}
    assert asyncio.run(table.record_answer(connection, table.raw_request(BY_ID["a"]))).status == 200


def test_aiohttp_table_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench.json"
    status = cli.main(["bench", *TINY, "--suite", "aiohttp", "--scenarios", "bd", "--json", str(output)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert text.startswith("corsfast bench: aiohttp (aiohttp-cors) cost")
    assert f"aiohttp-cors {version('aiohttp-cors')}" in text and "corsfast.aiohttp pure twin" in text
    report: dict[str, Any] = json.loads(output.read_text())
    section = report["suites"]["aiohttp"]
    assert section["baseline"] == "aiohttp-cors"
    assert [s["id"] for s in section["scenarios"]] == ["b", "d"]
    assert section["failures"] == []


def test_a_connection_serves_a_later_event_loop_too() -> None:
    connection = table.AiohttpConnection(table.aiohttp_app())
    request = table.raw_request(BY_ID["a"])
    first = asyncio.run(table.record_answer(connection, request))
    second = asyncio.run(table.record_answer(connection, request))
    assert first == second and first.status == 200
