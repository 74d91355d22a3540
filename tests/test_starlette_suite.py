"""Starlette's own CORS tests, run against `corsfast.starlette.CORSMiddleware` on both engines.

At test time the sdist of the *installed* Starlette is fetched with
`pip download --no-deps --no-binary :all:` into the pytest cache (never into the repo),
`tests/middleware/test_cors.py` and the files it needs (`tests/conftest.py` with the
`test_client_factory` fixture, `tests/types.py`, the package `__init__`s and Starlette's
`pyproject.toml`, which carries its pytest configuration) are extracted to a temporary
directory, the one import of `CORSMiddleware` is pointed at corsfast's class, and pytest
runs the file in a subprocess with Starlette's own pytest settings (warnings are errors).
The Starlette *package* is not extracted: the tests run against the installed one.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import warnings
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import peer_suite
import pytest
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

import corsfast.starlette

STARLETTE_VERSION = version("starlette")

SUITE_FILES = (
    "pyproject.toml",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/types.py",
    "tests/middleware/__init__.py",
    "tests/middleware/test_cors.py",
)
OPTIONAL_SUITE_FILES = frozenset(("tests/types.py",))
"""Files some releases' sdists lack (0.37 has no tests/types.py)."""
ORIGINAL_IMPORT = "from starlette.middleware.cors import CORSMiddleware\n"
CORSFAST_IMPORT = "from corsfast.starlette import CORSMiddleware\n"

DEVIATION_SKIPS: dict[str, str] = {}
"""Starlette test names (without the backend id) that fail only because of one of the
documented differences from Starlette, with that difference as the reason. Empty: every
test of Starlette's file passes as is."""

PLUGIN = (
    '''
"""Loaded with -p into the Starlette test run: checks the engine and the patched import."""
import json
import os

import pytest
'''
    + peer_suite.ENGINE_CHECK
    + """


def pytest_collection_modifyitems(config, items):
    import corsfast.starlette

    skips = json.loads(os.environ.get("CORSFAST_DEVIATION_SKIPS", "{}"))
    for item in items:
        if item.module.CORSMiddleware is not corsfast.starlette.CORSMiddleware:
            raise pytest.UsageError(f"{item.nodeid} does not use corsfast's CORSMiddleware")
        reason = skips.get(item.originalname)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason="corsfast deviation: " + reason))
"""
)


@pytest.fixture(scope="session")
def starlette_sdist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the path of the installed Starlette version's sdist, downloaded once and cached."""
    return peer_suite.sdist(request, tmp_path_factory, "starlette")


@pytest.fixture(scope="session")
def starlette_suite(starlette_sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a directory holding Starlette's CORS tests, importing corsfast's class instead."""
    root = tmp_path_factory.mktemp("starlette-suite")
    prefix = f"starlette-{STARLETTE_VERSION}/"
    with tarfile.open(starlette_sdist) as archive:
        present = set(archive.getnames())
        for name in SUITE_FILES:
            if name in OPTIONAL_SUITE_FILES and prefix + name not in present:
                continue
            member = archive.getmember(prefix + name)
            assert member.isfile(), name
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    test_file = root / "tests" / "middleware" / "test_cors.py"
    source = test_file.read_text(encoding="utf-8")
    # Exactly one import line is rewritten; anything else would mean the file changed shape.
    assert source.count(ORIGINAL_IMPORT) == 1, "Starlette's test_cors.py no longer imports CORSMiddleware as expected"
    assert "starlette.middleware.cors" not in source.replace(ORIGINAL_IMPORT, "")
    test_file.write_text(source.replace(ORIGINAL_IMPORT, CORSFAST_IMPORT), encoding="utf-8")
    (root / "corsfast_suite_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return root


def _run_suite(
    root: Path, engine: str, extra_args: list[str]
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, str]]]:
    """Run Starlette's test_cors.py in a subprocess; return the process and one dict per test case."""
    result, cases = peer_suite.run(
        root,
        engine,
        ["tests/middleware/test_cors.py"],
        # Only the plugins Starlette's own suite runs with (anyio's), not this project's.
        ["-p", "anyio.pytest_plugin", "-p", "corsfast_suite_plugin", *extra_args],
        {"CORSFAST_DEVIATION_SKIPS": json.dumps(DEVIATION_SKIPS)},
    )
    return result, [{"name": case.name, "outcome": case.outcome} for case in cases]


# corsfast warns (CORSConfigWarning) for allow_credentials=True with allow_origins=["*"] or a
# regex matching any origin; Starlette does not, and Starlette's suite turns warnings into
# errors. The warning is filtered here so the suite checks behaviour; the warning itself is
# the (xfail, strict) test_no_warning_where_starlette_has_none below.
IGNORE_CONFIG_WARNING = ["-W", "ignore::corsfast.CORSConfigWarning"]


@pytest.mark.parametrize(
    "engine_name", [pytest.param("c", marks=pytest.mark.c_extension, id="c"), pytest.param("py", id="py")]
)
def test_starlette_cors_suite(starlette_suite: Path, engine_name: str) -> None:
    result, cases = _run_suite(starlette_suite, engine_name, IGNORE_CONFIG_WARNING)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    source = (starlette_suite / "tests" / "middleware" / "test_cors.py").read_text(encoding="utf-8")
    functions = set(re.findall(r"^(?:async )?def (test_\w+)", source, re.MULTILINE))
    ran = {case["name"].split("[")[0] for case in cases}
    # Every test function of Starlette's file ran (once per anyio backend).
    assert functions and ran == functions, (functions ^ ran, output)
    outcomes = {case["name"]: case["outcome"] for case in cases}
    skipped = {name for name, outcome in outcomes.items() if outcome == "skipped"}
    assert {name.split("[")[0] for name in skipped} <= set(DEVIATION_SKIPS), output
    assert all(outcome in ("passed", "skipped") for outcome in outcomes.values()), output
    summary = re.findall(r"^\d+ passed.*$", result.stdout, re.MULTILINE)
    print(f"Starlette {STARLETTE_VERSION} test_cors.py on the {engine_name} engine: {summary}")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"allow_origins": ["*"], "allow_credentials": True},
        {"allow_origin_regex": "https://.*", "allow_credentials": True},
    ],
    ids=["star-credentials", "regex-credentials"],
)
def test_dangerous_configuration_warns_where_starlette_is_silent(kwargs: dict[str, object], engine: ModuleType) -> None:
    """Any origin with credentials: Starlette is silent, corsfast warns (README, Differences).

    A decision, not a response difference: the warning changes no message, which is why the
    suite above runs Starlette's tests with CORSConfigWarning ignored.
    """

    async def app(scope: object, receive: object, send: object) -> None:  # pragma: no cover
        pass

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StarletteCORSMiddleware(app, **kwargs)  # type: ignore[arg-type]
    with pytest.warns(corsfast.CORSConfigWarning) as caught:
        corsfast.starlette.CORSMiddleware(app, **kwargs, _engine=engine)  # type: ignore[arg-type]
    assert caught[0].filename == __file__  # points at the caller's line
