"""Engine selection: `CORSFAST_NO_EXTENSIONS`, non-CPython interpreters and a missing extension."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Optional

import pytest

import corsfast
from corsfast import _engine

REPORT = """
import json, sys
{prelude}
import corsfast, corsfast._engine, corsfast.asgi
engine = corsfast._engine.engine
print(json.dumps({{
    "NO_EXTENSIONS": corsfast.NO_EXTENSIONS,
    "selector_NO_EXTENSIONS": corsfast._engine.NO_EXTENSIONS,
    "engine": engine.__name__,
    "call": corsfast.CORSMiddleware.__call__ is engine.asgi_call,
    "base": issubclass(corsfast.CORSMiddleware, engine.ASGIMiddlewareBase),
    "policy": type(corsfast.CORSMiddleware(None, allow_origins=["*"]).policy).__module__.split(".")[:2]
    == engine.__name__.split("."),
}}))
"""


def selection(env_value: Optional[str], prelude: str = "") -> dict[str, Any]:
    """Return what a fresh interpreter selects with `CORSFAST_NO_EXTENSIONS=env_value` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != "CORSFAST_NO_EXTENSIONS"}
    if env_value is not None:
        env["CORSFAST_NO_EXTENSIONS"] = env_value
    result = subprocess.run(
        [sys.executable, "-c", REPORT.format(prelude=prelude)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


PURE = {
    "NO_EXTENSIONS": True,
    "selector_NO_EXTENSIONS": True,
    "engine": "corsfast._engine_py",
    "call": True,
    "base": True,
    "policy": True,
}
COMPILED = {
    "NO_EXTENSIONS": False,
    "selector_NO_EXTENSIONS": False,
    "engine": "corsfast._engine_c",
    "call": True,
    "base": True,
    "policy": True,
}


@pytest.mark.parametrize("value", ["1", "yes", "true", "anything"])
def test_env_var_selects_pure_twin(value: str) -> None:
    assert selection(value) == PURE


@pytest.mark.c_extension
@pytest.mark.parametrize("value", ["0", "", None], ids=["zero", "empty", "unset"])
def test_env_var_off_selects_compiled(value: Optional[str]) -> None:
    assert selection(value) == COMPILED


def test_missing_extension_falls_back_to_pure_twin() -> None:
    # `sys.modules[name] = None` makes `import corsfast._engine_c` raise ImportError.
    assert selection(None, prelude="sys.modules['corsfast._engine_c'] = None") == PURE


def test_non_cpython_selects_pure_twin() -> None:
    prelude = "import types; sys.implementation = types.SimpleNamespace(**{**vars(sys.implementation), 'name': 'pypy'})"
    assert selection(None, prelude=prelude) == PURE


@pytest.mark.skipif(corsfast.NO_EXTENSIONS, reason="the compiled engine is disabled or not built")
def test_engine_c_loaded() -> None:
    """In the spirit of yarl's test_quoting_c_loaded: the compiled engine is the one in use."""
    import corsfast._engine_c as engine_c

    assert _engine.engine is engine_c
    assert _engine.NO_EXTENSIONS is False
    assert corsfast.CORSMiddleware.__call__ is engine_c.asgi_call
    assert type(corsfast.CORSMiddleware(None, allow_origins=["*"]).policy) is engine_c.CORSPolicy
    assert engine_c.__file__.endswith((".so", ".pyd"))


@pytest.mark.skipif(not corsfast.NO_EXTENSIONS, reason="the compiled engine is in use")
def test_engine_py_loaded() -> None:
    import corsfast._engine_py as engine_py

    assert _engine.engine is engine_py
    assert corsfast.CORSMiddleware.__call__ is engine_py.asgi_call


def test_no_extensions_matches_environment() -> None:
    disabled = os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0")
    if disabled:
        assert corsfast.NO_EXTENSIONS is True
    assert corsfast.NO_EXTENSIONS is _engine.NO_EXTENSIONS
