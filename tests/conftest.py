"""Shared fixtures: every engine test runs on the compiled engine ("c") and the pure twin ("py")."""

from __future__ import annotations

import argparse
import importlib
import os
from dataclasses import dataclass
from types import ModuleType

import pytest
from hypothesis import settings

# Property tests assert answers, never speed: no per-example deadline, which a loaded machine
# (the suite runs on every core, see scripts/test.sh) would turn into random failures.
settings.register_profile("corsfast", deadline=None)
settings.load_profile("corsfast")


@dataclass(frozen=True)
class EngineImplementation:
    """One importable engine: the compiled module or the pure-Python twin."""

    is_pure_python: bool
    """True for `corsfast._engine_py`, False for `corsfast._engine_c`."""

    def __str__(self) -> str:
        return "py" if self.is_pure_python else "c"

    @property
    def module(self) -> ModuleType:
        """Return the engine module, imported directly so an unbuilt extension fails loudly."""
        return importlib.import_module("corsfast._engine_py" if self.is_pure_python else "corsfast._engine_c")


C_ENGINE = EngineImplementation(is_pure_python=False)
PY_ENGINE = EngineImplementation(is_pure_python=True)
ENGINE_PARAMS = [pytest.param(C_ENGINE, marks=pytest.mark.c_extension, id="c"), pytest.param(PY_ENGINE, id="py")]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--c-extensions",
        action=argparse.BooleanOptionalAction,
        # A pure run (CORSFAST_NO_EXTENSIONS=1) leaves the compiled-only tests out by default.
        default=os.environ.get("CORSFAST_NO_EXTENSIONS", "") in ("", "0"),
        help="run the tests of the compiled engine too; --no-c-extensions for a pure-only run",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--c-extensions"):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("c_extension") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(params=ENGINE_PARAMS)
def engine_impl(request: pytest.FixtureRequest) -> EngineImplementation:
    """Return each engine implementation in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def engine(engine_impl: EngineImplementation) -> ModuleType:
    """Return each engine module in turn: `corsfast._engine_c`, then `corsfast._engine_py`."""
    return engine_impl.module
