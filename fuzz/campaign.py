"""Run harnesses one after the other and sum them up: `python -m fuzz.campaign --seconds S --work DIR [NAME...]`.

`bash scripts/fuzz.sh` starts this with the sanitizer runtime preloaded. Each harness runs in
its own process for S seconds from a fresh corpus seeded by `fuzz.seeds`; its log stays in
DIR/logs/NAME.log and any crash input in DIR/crashes/NAME/. The last line printed is
`fuzz: H harnesses, E executions, F features, C crashes, D differences` (F sums the final `ft:`
of each harness), and the exit status is 1 when C or D is not zero.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from fuzz.registry import HARNESSES

STATS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)", re.M)
EXECUTED = re.compile(r"^stat::number_of_executed_units: (\d+)", re.M)
ARTIFACT = re.compile(r"Test unit written to (\S+)")


@dataclass
class Result:
    name: str
    executions: int = 0
    seed_cov: int = 0
    seed_ft: int = 0
    cov: int = 0
    ft: int = 0
    outcome: str = "ok"  # ok, crash, difference
    artifact: Optional[str] = None
    slow: list[str] = field(default_factory=list)

    @property
    def grew(self) -> bool:
        return self.ft > self.seed_ft


def parse(name: str, log: str, returncode: int) -> Result:
    result = Result(name)
    for match in STATS.finditer(log):
        _, event, cov, ft = match.groups()
        if event == "INITED":
            result.seed_cov, result.seed_ft = int(cov), int(ft)
        result.cov, result.ft = int(cov), int(ft)
    executed = EXECUTED.search(log)
    result.executions = int(executed.group(1)) if executed else 0
    # libFuzzer also keeps an input that merely ran long (over 10 s, below the hang timeout)
    # as `slow-unit-*`; that is reported, not counted as a crash (a paused process makes them).
    artifacts = ARTIFACT.findall(log)
    result.slow = [path for path in artifacts if Path(path).name.startswith("slow-unit-")]
    crashes = [path for path in artifacts if path not in result.slow]
    result.artifact = crashes[0] if crashes else None
    if returncode != 0 or crashes:
        result.outcome = "difference" if "fuzz.common.Difference" in log or "Difference:" in log else "crash"
    return result


def run(name: str, seconds: int, work: Path, seeds: Path, timeout: int) -> Result:
    corpus = work / "corpus" / name
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    crashes = work / "crashes" / name
    crashes.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "fuzz.run",
        name,
        f"-max_total_time={seconds}",
        f"-timeout={timeout}",
        "-rss_limit_mb=4096",
        "-max_len=8192",
        "-print_final_stats=1",
        f"-artifact_prefix={crashes}/",
        str(corpus),
        str(seeds / name),
    ]
    with open(logs / f"{name}.log", "w") as handle:
        process = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, check=False)
    log = (logs / f"{name}.log").read_text(errors="replace")
    return parse(name, log, process.returncode)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--work", type=Path, default=Path(".fuzz"))
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take before it counts as a hang")
    parser.add_argument("names", nargs="*", help="harnesses to run (default: all)")
    args = parser.parse_args()
    names = args.names or list(HARNESSES)
    unknown = [name for name in names if name not in HARNESSES]
    if unknown:
        parser.error(f"unknown harness {unknown}; known: {', '.join(HARNESSES)}")
    seeds = args.work / "seeds"
    subprocess.run([sys.executable, "-m", "fuzz.seeds", str(seeds), *names], check=True)
    results = []
    for name in names:
        result = run(name, args.seconds, args.work, seeds, args.timeout)
        results.append(result)
        growth = f"+{result.ft - result.seed_ft} ft beyond the seeds" if result.grew else "NO GROWTH beyond the seeds"
        print(
            f"fuzz: {name}: {result.executions} executions, cov {result.seed_cov} -> {result.cov}, "
            f"ft {result.seed_ft} -> {result.ft} ({growth}), {result.outcome}",
            flush=True,
        )
        for path in result.slow:
            print(f"fuzz: {name}: an input ran over 10 s (not a crash), kept as {path}")
        if result.outcome != "ok":
            log = (args.work / "logs" / f"{name}.log").read_text(errors="replace").splitlines()
            print("\n".join("    " + line for line in log[-60:]))
            if result.artifact:
                print(f"fuzz: reproduce with: bash scripts/fuzz.sh repro {result.artifact}")
    crashes = sum(r.outcome == "crash" for r in results)
    differences = sum(r.outcome == "difference" for r in results)
    print(
        f"fuzz: {len(results)} harnesses, {sum(r.executions for r in results)} executions, "
        f"{sum(r.ft for r in results)} features, {crashes} crashes, {differences} differences"
    )
    return 1 if crashes or differences else 0


if __name__ == "__main__":
    sys.exit(main())
