"""Summarize ThreadSanitizer's reports: how many involve corsfast's compiled engine.

    python scripts/tsan_report.py LOG...

Reads the files TSan wrote (TSAN_OPTIONS=log_path=...), splits them into reports and counts
those whose stacks hold a frame of the engine (`_engine_c`) apart from the others (CPython's
own, or a library's). Prints each corsfast report's kind and the engine's frames of each of
its stacks, then the counts; the last line is

    tsan: C corsfast reports, O other reports (R in all)

and the exit status is 1 when C is not zero, unless CORSFAST_TSAN_REPORT_ONLY is set.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

ENGINE_FRAME = "_engine_c"
_REPORT_START = re.compile(r"^WARNING: ThreadSanitizer: (.+?)(?: \(pid=\d+\))?$", re.MULTILINE)
_FRAME = re.compile(r"^\s+#\d+ (\S+) (\S+)")


def split_reports(text: str) -> list[str]:
    """Return the reports in one TSan log, each from its WARNING line to its SUMMARY line."""
    starts = [match.start() for match in _REPORT_START.finditer(text)]
    reports = []
    for start, end in zip(starts, [*starts[1:], len(text)]):
        block = text[start:end]
        summary = block.find("\nSUMMARY: ThreadSanitizer:")
        if summary >= 0:
            block = block[: block.find("\n", summary + 1) + 1 or len(block)]
        reports.append(block)
    return reports


def kind(report: str) -> str:
    """Return a report's kind, such as "data race"."""
    match = _REPORT_START.match(report)
    return match.group(1) if match else "unknown"


def stacks(report: str) -> list[tuple[str, list[str]]]:
    """Return each stack of `report` as its heading and its frames (function and location),
    but for the stacks that only say where a thread was created."""
    result: list[tuple[str, list[str]]] = []
    for line in report.splitlines():
        text = line.strip()
        frame = _FRAME.match(line)
        if frame:
            if result:
                result[-1][1].append(f"{frame.group(1)} {frame.group(2)}")
        elif text.endswith(":") and not text.startswith("WARNING:"):
            result.append((text, []))
    return [(heading, frames) for heading, frames in result if " created by " not in heading]


def is_corsfast(report: str) -> bool:
    """Return True when a frame of one of the report's stacks is in the compiled engine."""
    return any(ENGINE_FRAME in frame for _heading, frames in stacks(report) for frame in frames)


def engine_stacks(report: str) -> list[str]:
    """Return, per stack of `report`, its heading and its frames in the engine."""
    lines = []
    for heading, frames in stacks(report):
        lines.append(f"  {heading}")
        lines.extend(f"    {frame}" for frame in frames if ENGINE_FRAME in frame)
    return lines


def summarize(texts: list[str]) -> tuple[list[str], list[str]]:
    """Return the corsfast reports and the other reports in `texts`."""
    ours: list[str] = []
    others: list[str] = []
    for text in texts:
        for report in split_reports(text):
            (ours if is_corsfast(report) else others).append(report)
    return ours, others


def main(paths: list[str]) -> int:
    texts = [Path(path).read_text(errors="replace") for path in paths]
    ours, others = summarize(texts)
    for number, report in enumerate(ours, 1):
        summary = next((line for line in report.splitlines() if line.startswith("SUMMARY:")), "")
        print(f"tsan: corsfast report {number}: {kind(report)}; {summary}")
        print("\n".join(engine_stacks(report)))
    for name, count in Counter(kind(report) for report in others).most_common():
        print(f"tsan: other reports: {count} {name}")
    print(f"tsan: {len(ours)} corsfast reports, {len(others)} other reports ({len(ours) + len(others)} in all)")
    if ours and os.environ.get("CORSFAST_TSAN_REPORT_ONLY", "") in ("", "0"):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
