"""Run each drop-in's tests against several releases of the package it replaces, on both engines.

    python3 scripts/matrix.py [--ci | --all | --peer NAME | --cell NAME] [--jobs N] [-- PYTEST_ARGS]

The cells are the table in `scripts/matrix_cells.py`. For each selected cell this makes (once,
cached under `.matrix/`) a virtual environment with the corsfast wheel, built once per source
tree and Python, the `test` dependency group, and the cell's pins on top; a cell whose pins the
default environment (`.venv`) already satisfies runs there. Then it runs the cell's tests on the
compiled engine and, with `CORSFAST_NO_EXTENSIONS=1`, on the pure twin, `--jobs` runs at a time,
prints a table of the outcomes and exits 1 when any run failed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from matrix_cells import CELLS, PEERS, Cell

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / ".matrix"
DEFAULT_VENV = ROOT / ".venv"
ENGINES = ("c", "py")
PRINT_LOCK = threading.Lock()

INSPECT = """
import json, sys
from importlib.metadata import PackageNotFoundError, version
from pip._vendor.packaging.requirements import Requirement

def installed(name):
    try:
        return version(name)
    except PackageNotFoundError:
        return None

pins, names = json.loads(sys.argv[1])
unmet = []
for pin in pins:
    requirement = Requirement(pin)
    found = installed(requirement.name)
    if found is None or not requirement.specifier.contains(found, prereleases=True):
        unmet.append(f"{pin} (installed: {found})")
print(json.dumps({"unmet": unmet, "versions": {name: installed(name) for name in names}}))
"""
"""Run in a cell's Python: which pins its environment does not meet, and the peer's versions."""


def say(*lines: str) -> None:
    """Print lines at once (runs finish on several threads)."""
    with PRINT_LOCK:
        print(*lines, sep="\n", flush=True)


def pip_env() -> dict[str, str]:
    """Return the environment for pip and builds: no engine switch, so the wheel is compiled."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CORSFAST_")}


def run_logged(command: list[str], log: Path) -> None:
    """Run `command` in the repository, appending its output to `log`; raise with the log's tail on failure."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        result = subprocess.run(command, cwd=ROOT, env=pip_env(), stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-25:]
        raise RuntimeError(f"{' '.join(command[:4])} ... failed ({log}):\n" + "\n".join(tail))


def python_version(python: str) -> str:
    """Return the `major.minor` version of the interpreter `python`."""
    return subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()


def digest(paths: list[Path], extra: str = "") -> str:
    """Return a short hash of the files' names and contents (and `extra`)."""
    h = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def source_files() -> list[Path]:
    """Return the files a corsfast wheel is built from (generated C and compiled modules left out)."""
    files = [ROOT / name for name in ("setup.py", "pyproject.toml", "MANIFEST.in") if (ROOT / name).is_file()]
    for path in (ROOT / "src").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in (".c", ".so", ".pyd", ".html"):
            files.append(path)
    return files


def build_wheel(python: str, version: str) -> Path:
    """Return the compiled corsfast wheel for this source tree and Python, built on the first call."""
    directory = MATRIX / "wheel" / f"py{version}-{digest(source_files(), version)}"
    wheels = sorted(directory.glob("corsfast-*.whl"))
    if wheels:
        return wheels[0]
    MATRIX.mkdir(exist_ok=True)
    partial = directory.with_name(directory.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    say(f"== building the corsfast wheel for Python {version} (once for this source tree) ==")
    started = time.monotonic()
    run_logged([python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(partial), "."], MATRIX / "wheel.log")
    built = sorted(partial.glob("corsfast-*.whl"))
    if len(built) != 1 or built[0].name.endswith("-none-any.whl"):
        raise RuntimeError(f"expected one compiled corsfast wheel, got {[w.name for w in built]}")
    shutil.rmtree(directory, ignore_errors=True)
    partial.rename(directory)
    say(f"   {built[0].name} in {time.monotonic() - started:.0f} s")
    return directory / built[0].name


def inspect(python: Path, cell: Cell) -> dict[str, object]:
    """Return the unmet pins of `cell` in `python`'s environment and its peer's installed versions."""
    names = PEERS[cell.peer].distributions
    result = subprocess.run(
        [str(python), "-c", INSPECT, json.dumps([list(cell.pins), list(names)])],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@dataclass
class Setup:
    """A cell's environment, once made."""

    cell: Cell
    python: Optional[Path] = None
    versions: dict[str, Optional[str]] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""


def default_venv_fits(cell: Cell, version: str) -> bool:
    """Return whether the default environment runs `cell`: same Python, every pin met."""
    python = DEFAULT_VENV / "bin" / "python"
    if not python.is_file() or python_version(str(python)) != version:
        return False
    return not inspect(python, cell)["unmet"]


def set_up(cell: Cell, base_python: str, version: str, wheel: Optional[Path]) -> Setup:
    """Make (or reuse) `cell`'s environment and return it; a failure is in `.error`."""
    started = time.monotonic()
    setup = Setup(cell)
    try:
        if wheel is None:
            python = DEFAULT_VENV / "bin" / "python"
            where = ".venv (the default environment already is this cell)"
        else:
            venv = MATRIX / "venvs" / f"{cell.name}-py{version}"
            python = venv / "bin" / "python"
            where = str(venv.relative_to(ROOT))
            make_cell_venv(cell, base_python, venv, wheel)
        facts = inspect(python, cell)
        if facts["unmet"]:
            raise RuntimeError(f"pins not met in {where}: {facts['unmet']}")
        setup.python, setup.versions = python, facts["versions"]  # type: ignore[assignment]
        shown = ", ".join(f"{name} {found}" for name, found in setup.versions.items())
        setup.seconds = time.monotonic() - started
        say(f"== {cell.name} (Python {version}): {shown}; {where} (ready in {setup.seconds:.0f} s) ==")
    except (RuntimeError, subprocess.CalledProcessError, OSError) as error:
        setup.error = str(error)
        say(f"== {cell.name} (Python {version}): SET-UP FAILED ==", setup.error)
    setup.seconds = time.monotonic() - started
    return setup


def make_cell_venv(cell: Cell, base_python: str, venv: Path, wheel: Path) -> None:
    """Create or update `venv`: corsfast's wheel, the `test` group, then the cell's pins on top."""
    peer = PEERS[cell.peer]
    stamp_path = venv / "corsfast-matrix.json"
    dependencies = {
        "pins": list(cell.pins),
        "drop": list(peer.drop),
        "pyproject": digest([ROOT / "pyproject.toml"]),
    }
    stamp = {"wheel": f"{wheel.parent.name}/{wheel.name}", **dependencies}
    try:
        old = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        old = {}
    if old == stamp:
        return
    log = MATRIX / "logs" / f"{venv.name}-setup.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    if not (venv / "bin" / "python").is_file():
        run_logged([base_python, "-m", "venv", str(venv)], log)
        run_logged([*pip, "install", "-q", "pip>=25.1"], log)
    if {k: old.get(k) for k in dependencies} == dependencies:
        run_logged([*pip, "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], log)
    else:
        stamp_path.unlink(missing_ok=True)
        run_logged([*pip, "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], log)
        run_logged([*pip, "install", "-q", "--group", "test"], log)
        run_logged([*pip, "install", "-q", *cell.pins], log)
        if peer.drop:
            run_logged([*pip, "uninstall", "-q", "-y", *peer.drop], log)
    run_logged([*pip, "check"], log)
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")


@dataclass
class Run:
    """One cell's tests on one engine."""

    cell: Cell
    engine: str
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    returncode: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether pytest exited 0."""
        return self.returncode == 0


def outcomes(junit: Path) -> tuple[int, int, int]:
    """Return the passed, failed (failures and errors) and skipped (xfails too) counts of a JUnit report."""
    passed = failed = skipped = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            failed += 1
        elif "skipped" in tags:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def run_tests(setup: Setup, engine: str, version: str, pytest_args: list[str]) -> Run:
    """Run the cell's tests on `engine` ("c" or "py") and return the outcome."""
    cell, run = setup.cell, Run(setup.cell, engine)
    name = f"{cell.name}-py{version}-{engine}"
    logs = MATRIX / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    junit, log = logs / f"{name}.xml", logs / f"{name}.log"
    junit.unlink(missing_ok=True)
    environment = pip_env()
    if engine == "py":
        environment["CORSFAST_NO_EXTENSIONS"] = "1"
    command = [
        str(setup.python),
        "-m",
        "pytest",
        *PEERS[cell.peer].tests,
        "-q",
        # The peers' test suites download the installed release's sdist into the cache once.
        "-o",
        f"cache_dir={MATRIX / 'pytest-cache' / cell.name}",
        f"--junitxml={junit}",
        *pytest_args,
    ]
    started = time.monotonic()
    with log.open("w") as out:
        run.returncode = subprocess.run(
            command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    run.seconds = time.monotonic() - started
    if junit.is_file():
        run.passed, run.failed, run.skipped = outcomes(junit)
    lines = log.read_text(errors="replace").splitlines()
    run.failures = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    if not run.ok and not run.failures:
        run.failures = lines[-15:]
    verdict = "ok" if run.ok else f"FAILED (exit {run.returncode}, log {log.relative_to(ROOT)})"
    say(
        f"   {cell.name} [{engine}]: {run.passed} passed, {run.failed} failed, {run.skipped} skipped "
        f"in {run.seconds:.0f} s: {verdict}"
    )
    return run


def summarise_failures(lines: list[str]) -> list[str]:
    """Return pytest's FAILED/ERROR lines as one line per test function, with how many of its
    parametrizations failed (other lines, such as a crash's output, are kept as they are)."""
    counts: dict[str, int] = {}
    for line in lines:
        kind, _, rest = line.partition(" ")
        if kind in ("FAILED", "ERROR") and "::" in rest:
            key = f"{kind} {rest.split(' - ')[0].split('[')[0]}"
        else:
            key = line
        counts[key] = counts.get(key, 0) + 1
    return [f"{key} ({count})" if count > 1 else key for key, count in counts.items()]


def select(args: argparse.Namespace) -> list[Cell]:
    """Return the cells the options name, in table order (`--ci` when none is named)."""
    known = {cell.name for cell in CELLS}
    for name in args.cell:
        if name not in known:
            raise SystemExit(f"matrix: no cell {name!r}; the cells: {', '.join(sorted(known))}")
    for name in args.peer:
        if name not in PEERS:
            raise SystemExit(f"matrix: no peer {name!r}; the peers: {', '.join(PEERS)}")
    if args.all:
        return list(CELLS)
    if args.cell or args.peer:
        return [cell for cell in CELLS if cell.name in args.cell or cell.peer in args.peer]
    return [cell for cell in CELLS if cell.ci]


def github_plan() -> list[dict[str, str]]:
    """Return every cell on every one of its Pythons, as the GitHub matrix job's `include` list."""
    return [{"cell": cell.name, "python": python} for cell in CELLS for python in cell.pythons]


def report(setups: list[Setup], runs: list[Run], unrunnable: list[str], total: float) -> int:
    """Print the table and the failing tests; return the exit status."""
    rows = [("cell", "engine", "passed", "failed", "skipped", "seconds")]
    for setup in setups:
        if setup.error:
            rows.append((setup.cell.name, "set-up", "-", "FAILED", "-", f"{setup.seconds:.0f}"))
    for run in runs:
        rows.append(
            (run.cell.name, run.engine, str(run.passed), str(run.failed), str(run.skipped), f"{run.seconds:.0f}")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["", f"== peer version matrix: {len(setups)} cells in {total:.0f} s =="]
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(
                value.ljust(width) if i < 2 else value.rjust(width) for i, (value, width) in enumerate(zip(row, widths))
            )
        )
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.extend(f"not run: {note}" for note in unrunnable)
    for run in runs:
        if not run.ok:
            lines.append(
                f"-- {run.cell.name} [{run.engine}] (exit {run.returncode}), failing tests (parametrizations):"
            )
            lines.extend(f"   {line}" for line in summarise_failures(run.failures))
    failed = sum(run.failed for run in runs) + sum(1 for s in setups if s.error)
    failed += sum(1 for run in runs if not run.ok and not run.failed)
    lines.append(
        f"matrix: {sum(r.passed for r in runs)} passed, {failed} failed, {sum(r.skipped for r in runs)} skipped"
    )
    say(*lines)
    return 1 if failed else 0


def parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--ci", action="store_true", help="the representative set .ci/run runs (the default)")
    choice.add_argument("--all", action="store_true", help="every cell")
    parser.add_argument("--peer", action="append", default=[], help="every cell of this peer (repeatable)")
    parser.add_argument("--cell", action="append", default=[], help="this cell, e.g. starlette-0.48.0 (repeatable)")
    parser.add_argument("--python", default=sys.executable, help="the Python to make the environments with")
    parser.add_argument("--jobs", type=int, default=2, help="test runs at a time (default 2)")
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both", help="c, py or both (default)")
    parser.add_argument("--list", action="store_true", help="print the selected cells and exit")
    parser.add_argument("--github", action="store_true", help="print the GitHub matrix (every cell x Python) as JSON")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments, e.g. -- -x")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    """Parse the options, set up and run the selected cells; return the exit status."""
    args = parser().parse_args(argv)
    if args.github:
        print(json.dumps(github_plan()))
        return 0
    cells = select(args)
    version = python_version(args.python)
    if args.list:
        for cell in cells:
            mark = "ci" if cell.ci else "  "
            print(f"{mark} {cell.name:18} Python {','.join(cell.pythons):30} {' '.join(cell.pins)}")
        return 0
    unrunnable = [
        f"{c.name} (Python {', '.join(c.pythons)}; this is {version})" for c in cells if version not in c.pythons
    ]
    if args.cell and unrunnable:
        raise SystemExit(f"matrix: cannot run on Python {version}: {'; '.join(unrunnable)}")
    cells = [cell for cell in cells if version in cell.pythons]
    started = time.monotonic()
    in_default = {cell.name for cell in cells if default_venv_fits(cell, version)}
    wheel = None
    if any(cell.name not in in_default for cell in cells):
        wheel = build_wheel(args.python, version)
    engines = ENGINES if args.engine == "both" else (args.engine,)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        setups = list(
            pool.map(lambda c: set_up(c, args.python, version, None if c.name in in_default else wheel), cells)
        )
        ready = [(setup, engine) for setup in setups if not setup.error for engine in engines]
        runs = list(pool.map(lambda item: run_tests(item[0], item[1], version, args.pytest_args), ready))
    return report(setups, runs, unrunnable, time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main())
