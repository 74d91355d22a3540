"""Smoke tests of `corsfast bench`: tiny budgets, structure only (speed is never asserted here)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from corsfast import NO_EXTENSIONS, cli
from corsfast.bench import Contender, Selection, measure, summarise
from corsfast.bench.browser import SCENARIOS
from corsfast.bench.suites import asgi

TINY = ["--quick", "--rounds", "2", "--sample-ms", "0.2", "--no-progress"]
HAS_COMPILED = importlib.util.find_spec("corsfast._engine_c") is not None and not NO_EXTENSIONS


def test_python_m_corsfast_bench_quick_table_and_json(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    completed = subprocess.run(
        [sys.executable, "-m", "corsfast", "bench", *TINY, "--json", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    text = completed.stdout
    assert text.startswith("corsfast bench:")
    assert "machine:" in text and "python:" in text and "versions: corsfast " in text
    for scenario in SCENARIOS:
        assert f"({scenario.id}) {scenario.title}" in text
    assert "ns/req" in text and "overhead" in text and "x Starlette" in text
    assert "bare ASGI app (floor)" in text and "Starlette CORSMiddleware" in text

    report: dict[str, Any] = json.loads(output.read_text())
    assert {
        "machine",
        "versions",
        "settings",
        "overhead_method",
        "scenarios",
        "contenders",
        "results",
        "targets",
        "unsupported",
        "failures",
        "skipped",
    } <= set(report)
    assert report["failures"] == []
    assert report["settings"]["rounds"] == 2 and report["settings"]["quick"] is True
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    import starlette

    assert report["versions"]["corsfast"] and report["versions"]["starlette"] == starlette.__version__
    assert [s["id"] for s in report["scenarios"]] == list("abcdefg")
    contenders = {c["id"]: c for c in report["contenders"]}
    expected = {"bare", "corsfast-py", "corsfast.starlette-py", "starlette", "send-wrapper", "kui-bare", "kui"}
    if HAS_COMPILED:
        expected |= {"corsfast-c", "corsfast.starlette-c"}
    assert expected <= set(contenders)
    assert contenders["bare"]["floor"] is None and contenders["kui"]["floor"] == "kui-bare"
    by_key = {(r["scenario"], r["contender"]): r for r in report["results"]}
    for scenario in "abcdefg":
        for contender_id in expected:
            row = by_key[(scenario, contender_id)]
            assert row["rounds"] == 2 and row["calls_per_sample"] >= 20 and row["ns_per_request"] > 0
            if contenders[contender_id]["floor"] is None:
                assert row["overhead_ns"] is None and row["ratio_to_starlette"] is None
            else:
                assert isinstance(row["overhead_ns"], float) and isinstance(row["overhead_iqr_ns"], float)
        assert by_key[(scenario, "starlette")]["ratio_to_starlette"] == pytest.approx(1.0)
    for target in report["targets"]:
        assert {"target", "scenario", "value", "limit", "unit", "met", "missed_by"} <= set(target)
        assert (target["missed_by"] is None) is target["met"]
    if HAS_COMPILED:
        assert any(t["target"].startswith("corsfast-c overhead <= 0.10") for t in report["targets"])


def test_contender_filter_adds_floors_and_leaves_ratio_empty_without_starlette(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = cli.main(["bench", *TINY, "--scenarios", "bd", "--contenders", "corsfast-py,kui"])
    out = capsys.readouterr().out
    assert status == 0
    assert "(b) GET, allowed origin" in out and "(d) preflight, allowed, 3 headers" in out
    assert "(a) GET, no Origin" not in out
    assert "bare ASGI app (floor)" in out and "Kui app (floor for Kui)" in out and "corsfast pure twin" in out
    assert re.search(r"^\s+Starlette CORSMiddleware\s+[-\d]", out, re.MULTILINE) is None
    summary_row = re.search(r"^\s+corsfast pure twin .*$", out.split("overhead above the floor")[1], re.MULTILINE)
    assert summary_row is not None and "(" not in summary_row[0]  # no ratio without Starlette


def test_unknown_scenario_or_contender_is_refused() -> None:
    with pytest.raises(SystemExit, match="unknown scenarios"):
        cli.main(["bench", *TINY, "--scenarios", "bz"])
    with pytest.raises(SystemExit, match="unknown contenders"):
        cli.main(["bench", *TINY, "--contenders", "nginx"])


def test_plot_without_matplotlib_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    status = cli.main(["bench", *TINY, "--plot", str(tmp_path / "charts")])
    assert status == 2
    assert "corsfast[bench]" in capsys.readouterr().err
    assert not (tmp_path / "charts").exists()


def test_plot_writes_one_png_per_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--plot DIR` writes DIR/asgi.png, and DIR/asgi-kui.png for the Kui rows (above their own floor)."""
    pytest.importorskip("matplotlib")
    from corsfast.bench.plot import SMALLEST_FONT_PX, smallest_font_px

    charts = tmp_path / "charts"
    status = cli.main(
        [
            "bench",
            *TINY,
            "--suite",
            "asgi",
            "--scenarios",
            "ad",
            "--contenders",
            "corsfast-py,starlette,kui",
            "--plot",
            str(charts),
        ]
    )
    assert status == 0
    assert sorted(p.name for p in charts.iterdir()) == ["asgi-kui.png", "asgi.png"]
    for chart in charts.iterdir():
        png = chart.read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert smallest_font_px(png) == pytest.approx(SMALLEST_FONT_PX, abs=0.1)
    assert f"charts written: {charts / 'asgi.png'}, {charts / 'asgi-kui.png'}" in capsys.readouterr().out


def test_plot_refuses_a_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--plot chart.png` (one file, as before there was a chart per table) says what it takes instead."""
    status = cli.main(["bench", *TINY, "--plot", str(tmp_path / "chart.png")])
    assert status == 2
    assert "--plot takes a directory" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_wrong_answer_is_reported_and_not_timed() -> None:
    """A middleware that answers a disallowed origin with ACAO fails its check and is left out."""

    class AlwaysAllow:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            origin = dict(scope["headers"]).get(b"origin", b"*")

            async def wrapped(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message["headers"].append((b"access-control-allow-origin", origin))
                await send(message)

            await self.app(scope, receive, wrapped)

    bare = next(c for c in asgi.SUITE.contenders() if c.id == "bare")
    broken = Contender("broken", "always allows", lambda s: AlwaysAllow(asgi.bare_app), "bare")
    scenarios = [s for s in SCENARIOS if s.id in "bc"]
    raw = measure([Selection(asgi.SUITE, scenarios, [bare, broken])], rounds=1, sample_ms=0.1)["asgi"]
    assert [(f["scenario"], f["contender"]) for f in raw["failures"]] == [("c", "broken")]
    assert "expected no ACAO" in raw["failures"][0]["reason"]
    assert set(raw["entries"]) == {("b", "bare"), ("b", "broken"), ("c", "bare")}
    results = summarise(asgi.SUITE, scenarios, [bare, broken], raw)
    assert {(r["scenario"], r["contender"]) for r in results} == set(raw["entries"])


def test_every_checked_answer_matches_its_peer() -> None:
    """The twins' ASGI messages equal their peers' (corsfast.starlette == Starlette, pure == compiled)."""
    contenders, _ = asgi.SUITE.available_contenders()
    raw = measure([Selection(asgi.SUITE, list(SCENARIOS), contenders)], rounds=1, sample_ms=0.05)["asgi"]
    assert raw["failures"] == []
    checked = {key[1] for key in raw["entries"]}
    assert {"corsfast-py", "corsfast.starlette-py", "starlette"} <= checked


def test_starlette_subclass_table_answers_as_starlette_with_the_same_body() -> None:
    """Each subclass body on corsfast.starlette answers as on Starlette's class (twin check), on both engines."""
    from corsfast.bench.suites import starlette_subclass

    suite = starlette_subclass.SUITE
    contenders, _ = suite.available_contenders()
    raw = measure([Selection(suite, list(SCENARIOS), contenders)], rounds=1, sample_ms=0.05)[suite.id]
    assert raw["failures"] == []
    checked = {key[1] for key in raw["entries"]}
    for key, *_ in starlette_subclass.BODIES:
        expected = {f"starlette+{key}", f"corsfast-py+{key}"} | ({f"corsfast-c+{key}"} if HAS_COMPILED else set())
        assert expected <= checked, key
