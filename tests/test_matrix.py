"""The peer version matrix's table (scripts/matrix_cells.py) and runner (scripts/matrix.py).

The table must name tests that exist, cells the runner can build, a representative set that
CI's Python runs, and newest cells that are the `test` dependency group's own pins; the runner
must select, plan and count as its options and reports say. Running the cells is
`bash scripts/matrix.sh`'s job (and CI's), not this file's.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"

if not (SCRIPTS / "matrix.py").is_file():  # pragma: no cover - an installed wheel's tests run without scripts/
    pytest.skip("no scripts/ beside the tests", allow_module_level=True)


def load(name: str) -> ModuleType:
    """Return the module scripts/NAME.py, imported under its own name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


cells = load("matrix_cells")
matrix = load("matrix")


def test_every_test_selection_names_an_existing_test() -> None:
    for peer in cells.PEERS.values():
        assert peer.tests, peer.name
        for target in peer.tests:
            path, _, function = target.partition("::")
            assert (ROOT / path).is_file(), target
            if function:
                text = (ROOT / path).read_text(encoding="utf-8")
                assert re.search(rf"^def {re.escape(function)}\(", text, re.MULTILINE), target


def test_cells_are_well_formed() -> None:
    from packaging.requirements import Requirement

    names = [cell.name for cell in cells.CELLS]
    assert len(names) == len(set(names))
    for cell in cells.CELLS:
        peer = cells.PEERS[cell.peer]
        assert cell.pythons, cell.name
        start = cells.PYTHONS.index(cell.pythons[0])
        assert cell.pythons == cells.PYTHONS[start : start + len(cell.pythons)], cell.name
        pinned = {Requirement(pin).name.lower(): Requirement(pin) for pin in cell.pins}
        main = pinned[peer.distributions[0]]
        assert str(main.specifier).startswith("=="), cell.name
        version, *others = cell.version.split("+")
        assert str(main.specifier)[2:].rstrip(".*") == version, cell.name
        for other in others:  # `+aiohttp-cors-0.7.0`: another distribution's pinned release
            name, _, release = other.rpartition("-")
            assert name in peer.distributions and str(pinned[name].specifier) == f"=={release}", cell.name


def test_pythons_are_the_ones_the_package_claims() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={cells.PYTHONS[0]}"' in pyproject
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    listed = re.search(r"python: \[(.*)\]", workflow)
    assert listed is not None
    claimed = [value.strip().strip('"') for value in listed.group(1).split(",")]
    assert [value for value in claimed if not value.endswith("t")] == list(cells.PYTHONS)


def test_the_representative_set_runs_on_ci_python_for_every_versioned_peer() -> None:
    chosen = [cell for cell in cells.CELLS if cell.ci]
    assert all("3.11" in cell.pythons for cell in chosen), "CI runs on Python 3.11"
    versioned = {cell.peer for cell in cells.CELLS if sum(other.peer == cell.peer for other in cells.CELLS) > 1}
    assert versioned == {"starlette", "django", "flask", "aiohttp"}
    assert {cell.peer for cell in chosen} == versioned


def test_the_test_group_pins_one_starlette_per_python_and_the_newest_cells() -> None:
    """The `test` group pins one Starlette for every claimed Python, and on CI's Python its peer
    pins are cells (the newest, which run in the default environment)."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    groups = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["dependency-groups"]
    requirements = [Requirement(item) for item in groups["test"] if isinstance(item, str)]
    for version in cells.PYTHONS:
        environment = {"python_version": version, "python_full_version": f"{version}.0"}
        applying = [r for r in requirements if r.marker is None or r.marker.evaluate(environment)]
        starlette = [r for r in applying if r.name == "starlette"]
        assert len(starlette) == 1 and str(starlette[0].specifier).startswith("=="), (version, starlette)
        if version == "3.11":
            pins = {f"{r.name}{r.specifier}" for r in applying}
            for peer in ("starlette", "kui", "flask-cors", "django-cors-headers"):
                (pin,) = (p for p in pins if Requirement(p).name == peer)
                assert any(pin in cell.pins for cell in cells.CELLS), pin


def options(*argv: str) -> list[str]:
    """Return the names of the cells the runner selects for the command line `argv`."""
    return [cell.name for cell in matrix.select(matrix.parser().parse_args(argv))]


def test_selection() -> None:
    every = [cell.name for cell in cells.CELLS]
    ci = [cell.name for cell in cells.CELLS if cell.ci]
    assert options() == ci
    assert options("--ci") == ci
    assert options("--all") == every
    assert options("--peer", "django") == ["django-4.2", "django-5.2", "django-6.1"]
    assert options("--cell", "flask-2.2", "--peer", "kui") == ["flask-2.2", "kui-1.15.0"]
    with pytest.raises(SystemExit, match="no cell 'flask-9'"):
        options("--cell", "flask-9")
    with pytest.raises(SystemExit, match="no peer 'bottle'"):
        options("--peer", "bottle")


def test_github_plan_is_every_cell_on_each_of_its_pythons(capsys: pytest.CaptureFixture[str]) -> None:
    assert matrix.main(["--github"]) == 0
    plan = json.loads(capsys.readouterr().out)
    expected = [{"cell": cell.name, "python": python} for cell in cells.CELLS for python in cell.pythons]
    assert plan == expected
    assert {"cell": "django-6.1", "python": "3.11"} not in plan
    workflow = (ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert "python scripts/matrix.py --github" in workflow
    assert "fromJSON(needs.matrix-plan.outputs.cells)" in workflow


def test_outcomes_counts_a_junit_report(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
        <testcase classname="a" name="passes"/>
        <testcase classname="a" name="fails"><failure message="x"/></testcase>
        <testcase classname="a" name="errs"><error message="x"/></testcase>
        <testcase classname="a" name="skips"><skipped type="pytest.skip" message="x"/></testcase>
        <testcase classname="a" name="xfails"><skipped type="pytest.xfail" message="x"/></testcase>
        <testcase classname="a" name="also-passes"><system-out>hi</system-out></testcase>
        </testsuite></testsuites>"""
    )
    assert matrix.outcomes(junit) == (2, 2, 2)


def test_failures_are_summarised_per_test_function() -> None:
    lines = [
        "FAILED tests/test_a.py::test_x[c-one] - AssertionError: 1",
        "FAILED tests/test_a.py::test_x[py-two]",
        "ERROR tests/test_b.py::test_y[c] - KeyError: 'v'",
        "FAILED tests/test_a.py::test_z",
        "Segmentation fault",
    ]
    assert matrix.summarise_failures(lines) == [
        "FAILED tests/test_a.py::test_x (2)",
        "ERROR tests/test_b.py::test_y",
        "FAILED tests/test_a.py::test_z",
        "Segmentation fault",
    ]
