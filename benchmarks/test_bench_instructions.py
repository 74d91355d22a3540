"""`benchmarks/instructions.py` counts one cell under callgrind, twice, to the same figures,
and compares two reports.

    pytest benchmarks/test_bench_instructions.py

One scenario of the ASGI table (the compiled `corsfast.CORSMiddleware`, or its pure twin
with CORSFAST_NO_EXTENSIONS=1, and the bare app under it), a short warm-up and short
windows: about 10 s a run. Skipped without valgrind, its headers or gcc.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent / "instructions.py"
CALLGRIND_H = Path("/usr/include/valgrind/callgrind.h")


def _missing() -> str:
    """Return what counting needs and this machine lacks, or an empty string."""
    if shutil.which("valgrind") is None:
        return "valgrind is not installed (apt-get install valgrind)"
    if not CALLGRIND_H.is_file():
        return f"valgrind's headers are not installed ({CALLGRIND_H})"
    if shutil.which(os.environ.get("CC", "gcc")) is None:
        return "no C compiler"
    return ""


MISSING = _missing()


def _count(tmp_path: Path, name: str, contender: str) -> tuple[dict[str, Any], str]:
    report = tmp_path / f"{name}.json"
    argv = [sys.executable, str(SCRIPT), "--suite", "asgi", "--scenarios", "b", "--contender", contender]
    argv += ["--requests", "100", "--warmup", "150", "--json", str(report)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(report.read_text()), result.stdout


@pytest.mark.slow
@pytest.mark.skipif(bool(MISSING), reason=MISSING)
def test_one_cell_is_counted_twice_alike(tmp_path: Path) -> None:
    pure = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
    contender = "corsfast-py" if pure else "corsfast-c"
    first, text = _count(tmp_path, "first", contender)
    second, _ = _count(tmp_path, "second", contender)

    assert first["settings"]["requests"] == 100 and first["settings"]["warmup"] == 150
    assert first["python"] and first["valgrind"].startswith("valgrind") and first["versions"]["corsfast"]
    assert list(first["suites"]) == ["asgi"]
    section = first["suites"]["asgi"]
    assert section["scenarios"] == {"b": "GET, allowed origin"}
    assert section["failures"] == [] and section["unsupported"] == []
    cells = {cell["contender"]: cell for cell in section["cells"]}
    assert set(cells) == {"bare", contender}
    for cell in cells.values():
        assert cell["scenario"] == "b" and cell["instructions_per_request"] > 0
        assert len(cell["windows"]) == 2 and all(window > 0 for window in cell["windows"])
        assert cell["stable"], cell
    assert cells["bare"]["overhead"] is None
    overhead = cells[contender]["instructions_per_request"] - cells["bare"]["instructions_per_request"]
    assert cells[contender]["overhead"] == pytest.approx(overhead, abs=0.2)
    assert overhead > 0
    assert all(count > 0 for count in section["window_instructions"])

    again = {cell["contender"]: cell["instructions_per_request"] for cell in second["suites"]["asgi"]["cells"]}
    for contender_id, cell in cells.items():
        assert again[contender_id] == pytest.approx(cell["instructions_per_request"], rel=0.005)

    assert "(b)" in text and contender in text and f"{cells[contender]['overhead']:+,.0f}" in text


def _report(commit: str, per_request: dict[str, float]) -> dict[str, Any]:
    cells = [
        {
            "scenario": "b",
            "contender": contender,
            "instructions_per_request": value,
            "overhead": None if contender == "bare" else value - per_request["bare"],
        }
        for contender, value in per_request.items()
    ]
    return {"commit": commit, "engine_sha256": None, "suites": {"asgi": {"title": "ASGI", "cells": cells}}}


@pytest.mark.parametrize(("after", "status"), [(9_200.0, 0), (9_400.0, 1)])
def test_compare_flags_a_cell_over_the_limit(tmp_path: Path, after: float, status: int) -> None:
    before_file, after_file = tmp_path / "before.json", tmp_path / "after.json"
    before_file.write_text(json.dumps(_report("one", {"bare": 5_000.0, "corsfast-c": 9_000.0})))
    after_file.write_text(json.dumps(_report("two", {"bare": 5_000.0, "corsfast-c": after})))
    argv = [sys.executable, str(SCRIPT), "--compare", str(before_file), str(after_file), "--limit", "3"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == status, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "corsfast-c" in line)
    change = 100 * (after - 9_000.0) / 9_000.0
    assert "9,000 ->" in line and f"{after:,.0f}" in line and f"{change:+6.2f}%" in line
    assert ("over +3%" in line) == bool(status)
    assert "(b) bare" in result.stdout and "+0.00%" in result.stdout
