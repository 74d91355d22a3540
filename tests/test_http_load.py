"""`benchmarks/http_load.py` runs end to end: real servers, real wrk, a report, no process left.

One short round (one server, one scenario, one-second wrk runs): the numbers are not judged
here (speed is shown by benchmarks, not by timed tests), only that every contender served
real requests, answered them, and that the script cleaned up after itself.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.load]

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "http_load.py"


def _servers_left() -> list[str]:
    """Return the command lines of servers that http_load started and that still run."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            command = (Path("/proc") / pid / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "http_load:" in command and ("uvicorn" in command or "granian" in command or "--serve-aiohttp" in command):
            found.append(command)
    return found


@pytest.mark.skipif(not SCRIPT.is_file(), reason="benchmarks/ is not beside the tests")
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("server", ["uvicorn", "granian", "aiohttp"])
def test_http_load_one_short_round(server: str, tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI"):
            pytest.fail("wrk is missing on CI: scripts/setup.sh installs it with apt-get")
        pytest.skip("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)")
    report = tmp_path / "http_load.json"
    argv = [sys.executable, str(SCRIPT), "--rounds", "1", "--duration", "1", "--warmup", "0"]
    argv += ["--servers", server, "--scenarios", "b", "--seed", "1", "--json", str(report)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {row["contender"]: row for row in json.loads(report.read_text())["rows"]}
    expected = (
        {"bare", "aiohttp-cors", "corsfast.aiohttp"} if server == "aiohttp" else {"bare", "corsfast", "starlette"}
    )
    assert set(rows) == expected
    for row in rows.values():
        assert row["server"] == server and row["scenario"] == "b"
        assert row["rps"] > 0 and row["cpu_us_per_request"] > 0
    assert rows["bare"]["ratio_to_bare"] == 1.0
    assert all(contender in result.stdout for contender in expected) and "x bare" in result.stdout
    assert _servers_left() == []
