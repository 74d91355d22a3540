"""Shared fixtures of the pytest-benchmark suites (`pytest benchmarks/`; not part of the test run).

Every benchmark runs each contender in the same session and groups them per operation, so
pytest-benchmark prints them side by side. Compare runs with `--benchmark-save` /
`--benchmark-compare`; for one table of ratios use `corsfast bench` instead.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

ENGINE_IDS = ("c", "py")


def _engine_module(engine_id: str) -> ModuleType:
    """Import `corsfast._engine_c` or `corsfast._engine_py`; skip the compiled one when it is not built."""
    if engine_id == "c":
        if os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0"):
            pytest.skip("CORSFAST_NO_EXTENSIONS is set")
        try:
            return importlib.import_module("corsfast._engine_c")
        except ImportError as error:  # pragma: no cover - pure installs
            pytest.skip(f"compiled engine not built: {error}")
    return importlib.import_module("corsfast._engine_py")


@pytest.fixture(params=ENGINE_IDS)
def engine(request: pytest.FixtureRequest) -> ModuleType:
    """Each engine module in turn (ids c/py)."""
    return _engine_module(request.param)


@pytest.fixture(name="engine_module")
def engine_module_fixture() -> Callable[[str], ModuleType]:
    """The engine importer, for tests parametrized over engine ids ("c"/"py") with other contenders."""
    return _engine_module


@pytest.fixture
def in_running_loop() -> Iterator[Callable[[Callable[[], Any]], Any]]:
    """Return a runner that calls a function from inside a task of a fresh event loop.

    ASGI apps are driven by hand in the benchmarks (no scheduling per call), but code under
    them may still ask for the running loop.
    """
    loop = asyncio.new_event_loop()

    def run(function: Callable[[], Any]) -> Any:
        async def inside() -> Any:
            return function()

        return loop.run_until_complete(inside())

    try:
        yield run
    finally:
        loop.close()
