"""`benchmarks/instructions.py` counts one cell under callgrind, twice, to the same figures.

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

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed"),
    pytest.mark.skipif(not CALLGRIND_H.is_file(), reason="valgrind's headers are not installed"),
    pytest.mark.skipif(shutil.which(os.environ.get("CC", "gcc")) is None, reason="no C compiler"),
]


def _count(tmp_path: Path, name: str, contender: str) -> tuple[dict[str, Any], str]:
    report = tmp_path / f"{name}.json"
    argv = [sys.executable, str(SCRIPT), "--suite", "asgi", "--scenarios", "b", "--contender", contender]
    argv += ["--requests", "100", "--warmup", "150", "--json", str(report)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(report.read_text()), result.stdout


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
