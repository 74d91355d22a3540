"""The Flask table of `corsfast bench`: registered, every answer checked (the corsfast rows equal
flask-cors' rows, header for header), and reported. Structure only: speed is never asserted here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from corsfast import NO_EXTENSIONS, cli
from corsfast.bench import Selection, get_suite, measure
from corsfast.bench.browser import SCENARIOS

TINY = ["--quick", "--rounds", "2", "--sample-ms", "0.2", "--no-progress"]
HAS_COMPILED = importlib.util.find_spec("corsfast._engine_c") is not None and not NO_EXTENSIONS


def test_every_answer_is_checked_and_equals_flask_cors() -> None:
    suite = get_suite("flask")
    assert suite.unavailable() is None
    contenders, skipped = suite.available_contenders()
    ids = {c.id for c in contenders}
    expected = {"bare", "flask-cors", "corsfast-flask-py", "flask-cors-decorator", "corsfast-flask-decorator-py"}
    if HAS_COMPILED:
        expected |= {"corsfast-flask-c", "corsfast-flask-decorator-c"}
    assert expected == ids, skipped
    twins = {c.id: c.twin_of for c in contenders if c.twin_of}
    assert set(twins.values()) == {"flask-cors", "flask-cors-decorator"}
    raw = measure([Selection(suite, list(SCENARIOS), contenders)], rounds=1, sample_ms=0.05)["flask"]
    assert raw["failures"] == []
    assert {key[1] for key in raw["entries"]} == ids
    assert {key[0] for key in raw["entries"]} == {s.id for s in SCENARIOS}


def test_flask_table_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "bench.json"
    status = cli.main(["bench", *TINY, "--suite", "flask", "--scenarios", "bd", "--json", str(output)])
    text = capsys.readouterr().out
    assert status == 0, text
    assert text.startswith("corsfast bench: Flask (flask-cors) cost")
    assert "flask-cors CORS(app)" in text and "corsfast.flask @cross_origin pure twin" in text
    report: dict[str, Any] = json.loads(output.read_text())
    section = report["suites"]["flask"]
    assert section["kind"] == "sync" and section["baseline"] == "flask-cors"
    assert [s["id"] for s in section["scenarios"]] == ["b", "d"]
    assert section["failures"] == []
    # The targets (0.25 x flask-cors' overhead) are judged per scenario when flask-cors'
    # overhead is positive in the run, which a two-round run does not promise.
    declared = {(t.contender, t.reference, t.limit) for t in get_suite("flask").targets}
    assert declared == {
        ("corsfast-flask-c", "flask-cors", 0.25),
        ("corsfast-flask-py", "flask-cors", 0.25),
        ("corsfast-flask-decorator-c", "flask-cors-decorator", 0.25),
        ("corsfast-flask-decorator-py", "flask-cors-decorator", 0.25),
    }
