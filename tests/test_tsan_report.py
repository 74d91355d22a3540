"""scripts/tsan_report.py: the count of ThreadSanitizer reports in corsfast's engine.

`bash scripts/tsan.sh` fails when a report has a frame in the compiled engine; these tests
hold the parser to TSan's report format (as clang's and gcc's runtimes print it) on made-up
reports: one race in the engine, one in CPython alone, one whose only engine frame is where
a thread was created (not the engine's race).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "tsan_report.py"

if not SCRIPT.is_file():  # pragma: no cover - an installed wheel's tests run without scripts/
    pytest.skip("no scripts/ beside the tests", allow_module_level=True)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tsan_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tsan_report"] = module
    spec.loader.exec_module(module)
    return module


tsan_report = _load()

SO = "(_engine_c.cpython-314t-x86_64-linux-gnu.so+0x5f1a2) (BuildId: 0123abcd)"
ENGINE_RACE = f"""==================
WARNING: ThreadSanitizer: data race (pid=4242)
  Write of size 8 at 0x7b4400012345 by thread T2:
    #0 __pyx_f_8corsfast_9_engine_c_lookup src/corsfast/_engine_c.c:20511:31 {SO}
    #1 __pyx_f_8corsfast_9_engine_c_decide src/corsfast/_engine_c.c:20900:15 {SO}
    #2 _PyEval_EvalFrameDefault Python/generated_cases.c.h:1620:35 (python3.14t+0x4a1b2c)

  Previous write of size 8 at 0x7b4400012345 by thread T1:
    #0 __pyx_f_8corsfast_9_engine_c_lookup src/corsfast/_engine_c.c:20511:31 {SO}

  Thread T2 (tid=4250, running) created by main thread at:
    #0 pthread_create <null> (python3.14t+0xe1d2f)

SUMMARY: ThreadSanitizer: data race src/corsfast/_engine_c.c:20511:31 in __pyx_f_8corsfast_9_engine_c_lookup
==================
"""
CPYTHON_RACE = """==================
WARNING: ThreadSanitizer: data race (pid=4242)
  Read of size 8 at 0x7b0c00001000 by thread T3:
    #0 rangeiter_next Objects/rangeobject.c:894:9 (python3.14t+0x2c1d2e)

  Previous write of size 8 at 0x7b0c00001000 by thread T4:
    #0 rangeiter_next Objects/rangeobject.c:895:20 (python3.14t+0x2c1d40)

  Thread T3 (tid=4251, running) created by thread T1 at:
    #0 pthread_create <null> (python3.14t+0xe1d2f)
    #1 __pyx_pw_8corsfast_9_engine_c_start src/corsfast/_engine_c.c:99:1 {SO}

SUMMARY: ThreadSanitizer: data race Objects/rangeobject.c:894:9 in rangeiter_next
==================
""".replace("{SO}", SO)
LOCK_ORDER = """==================
WARNING: ThreadSanitizer: lock-order-inversion (potential deadlock) (pid=4242)
  Cycle in lock order graph: M0 (0x7b0c00002000) => M1 (0x7b0c00003000) => M0

  Mutex M1 acquired here while holding mutex M0 in thread T1:
    #0 pthread_mutex_lock <null> (python3.14t+0x5a1b2)

SUMMARY: ThreadSanitizer: lock-order-inversion (potential deadlock) (python3.14t+0x5a1b2) in pthread_mutex_lock
==================
ThreadSanitizer: reported 3 warnings
"""


def test_reports_are_split_and_sorted_by_whether_the_engine_races() -> None:
    ours, others = tsan_report.summarize([ENGINE_RACE + CPYTHON_RACE, LOCK_ORDER])
    assert [tsan_report.kind(report) for report in ours] == ["data race"]
    assert [tsan_report.kind(report) for report in others] == ["data race", "lock-order-inversion (potential deadlock)"]
    assert ours[0].rstrip().endswith("in __pyx_f_8corsfast_9_engine_c_lookup")


def test_the_engine_frames_of_each_stack_are_listed() -> None:
    lines = tsan_report.engine_stacks(ENGINE_RACE)
    assert lines[0] == "  Write of size 8 at 0x7b4400012345 by thread T2:"
    assert lines[1].startswith("    __pyx_f_8corsfast_9_engine_c_lookup src/corsfast/_engine_c.c:20511")
    assert "Previous write of size 8 at 0x7b4400012345 by thread T1:" in lines[3]
    assert not any("created by" in line or "_PyEval" in line for line in lines)


@pytest.mark.parametrize(
    ("texts", "report_only", "status"),
    [
        ([ENGINE_RACE], "", 1),
        ([ENGINE_RACE], "1", 0),
        ([CPYTHON_RACE, LOCK_ORDER], "", 0),
        ([], "", 0),
    ],
)
def test_the_exit_status_fails_on_engine_races_unless_reporting_only(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    texts: list[str],
    report_only: str,
    status: int,
) -> None:
    paths = []
    for number, text in enumerate(texts):
        path = tmp_path / f"report.{number}"
        path.write_text(text)
        paths.append(str(path))
    monkeypatch.setenv("CORSFAST_TSAN_REPORT_ONLY", report_only)
    assert tsan_report.main(paths) == status
    ours = status == 1 or report_only == "1"
    others = sum(text.count("WARNING: ThreadSanitizer") for text in texts) - ours
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"tsan: {int(ours)} corsfast reports, {others} other reports ({int(ours) + others} in all)"
    )
