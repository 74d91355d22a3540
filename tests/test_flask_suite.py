"""flask-cors' own test suite, run against `corsfast.flask` on both engines.

At test time the sdist of the *installed* flask-cors is fetched with
`pip download --no-deps --no-binary :all:` into the pytest cache (never into the repo), its
`tests/` directory and `pyproject.toml` (which carries its pytest configuration) are
extracted to a temporary directory, and in every test file the two imports
`from flask_cors import *` and `from flask_cors.core import *` are pointed at
`corsfast.flask` and `corsfast.flask.core`. pytest runs the suite in a subprocess in which
importing `flask_cors` at all fails, so every test exercises corsfast. The flask-cors
*package* is not extracted.

The expected differences are the tests that pin prefix-matched origin patterns; they run
as strict xfails, so each must still fail, for that reason, on corsfast.
"""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
from importlib.metadata import version
from pathlib import Path

import peer_suite
import pytest

FLASK_CORS_VERSION = version("flask-cors")

REWRITES = {
    "from flask_cors import *\n": "from corsfast.flask import *\n",
    "from flask_cors.core import *\n": "from corsfast.flask.core import *\n",
    "from flask_cors import CORS\n": "from corsfast.flask import CORS\n",
}

EXPECTED_DIFFERENCES: dict[str, str] = {
    "tests.decorator.test_origins.OriginsTestCase.test_regex_list": (
        "origins=[r'.*.example.com', ...] must allow 'http://a.example.com.com': flask-cors runs origin "
        "patterns with re.match (a prefix); corsfast full-matches them (README, Differences: flask-cors)"
    ),
    "tests.extension.test_app_extension.AppExtensionRegexp.test_regex_list": (
        "the same test for a CORS() resource: 'http://a.example.com.com' is allowed only by a prefix match "
        "of '.*.example.com'"
    ),
}
"""flask-cors tests (`module.Class.test`) that fail only because of a documented difference
from flask-cors, with that difference as the reason. Only tests that pin prefix-matched
origin patterns may be listed."""

UPSTREAM_SKIPS = {
    "tests.decorator.test_exception_interception.NoExceptionInterceptionTestCase.test_acl_uncaught_exception_500",
}
"""Tests flask-cors' suite skips itself on this Flask (its own `skipIf(flask >= 1.1)`)."""

PLUGIN = (
    '''
"""Loaded with -p into the flask-cors test run: checks the engine and the redirected imports."""
import json
import os
import sys

import pytest
'''
    + peer_suite.ENGINE_CHECK
    + """


def pytest_collection_modifyitems(config, items):
    import corsfast.flask

    differences = json.loads(os.environ["CORSFAST_EXPECTED_DIFFERENCES"])
    for item in items:
        module = item.module
        for name in ("CORS", "cross_origin"):
            if hasattr(module, name) and getattr(module, name) is not getattr(corsfast.flask, name):
                raise pytest.UsageError(f"{item.nodeid} does not use corsfast's {name}")
        key = f"{module.__name__}.{item.cls.__name__ if item.cls else ''}.{item.name}"
        reason = differences.get(key)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason="corsfast: " + reason))
"""
    + peer_suite.import_blocker("flask_cors", "flask-cors")
)


@pytest.fixture(scope="session")
def flask_cors_sdist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the path of the installed flask-cors version's sdist, downloaded once and cached."""
    return peer_suite.sdist(request, tmp_path_factory, "flask-cors")


@pytest.fixture(scope="session")
def flask_cors_suite(flask_cors_sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a directory holding flask-cors' tests, importing corsfast.flask instead."""
    root = tmp_path_factory.mktemp("flask-cors-suite")
    prefix = f"flask_cors-{FLASK_CORS_VERSION}/"
    rewritten = 0
    with tarfile.open(flask_cors_sdist) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            name = member.name[len(prefix) :]
            if name != "pyproject.toml" and not name.startswith("tests/"):
                continue
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".py"):
                source = data.decode("utf-8")
                for original, replacement in REWRITES.items():
                    rewritten += source.count(original)
                    source = source.replace(original, replacement)
                # Only the rewritten lines imported flask_cors: anything else would mean the suite changed shape.
                assert not re.search(r"^\s*(from|import)\s+flask_cors\b", source, re.MULTILINE), name
                data = source.encode("utf-8")
            target.write_bytes(data)
    assert rewritten >= 30, f"only {rewritten} imports rewritten: flask-cors' suite changed shape"
    (root / "corsfast_suite_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return root


def _run_suite(root: Path, engine: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run flask-cors' tests in a subprocess; return the process and each test's outcome by `module.Class.test`."""
    result, cases = peer_suite.run(
        root,
        engine,
        ["tests"],
        # corsfast warns (CORSConfigWarning) where the suite configures dangerous origins,
        # such as '.*.example.com'; a warning changes no answer, and flask-cors' suite
        # does not turn warnings into errors.
        ["-p", "corsfast_suite_plugin", "-W", "ignore::corsfast.CORSConfigWarning"],
        {"CORSFAST_EXPECTED_DIFFERENCES": json.dumps(EXPECTED_DIFFERENCES)},
    )
    return result, {f"{case.classname}.{case.name}": case.outcome for case in cases}


@pytest.mark.parametrize(
    "engine_name", [pytest.param("c", marks=pytest.mark.c_extension, id="c"), pytest.param("py", id="py")]
)
def test_flask_cors_suite(flask_cors_suite: Path, engine_name: str) -> None:
    result, outcomes = _run_suite(flask_cors_suite, engine_name)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Every test method of the suite ran (some classes inherit theirs, and run them again).
    defined = set()
    for path in (flask_cors_suite / "tests").rglob("test_*.py"):
        defined.update(re.findall(r"^    def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE))
    assert {name.rsplit(".", 1)[1] for name in outcomes} == defined, output
    assert len(outcomes) >= 95, (len(outcomes), output)
    xfailed = {name for name, outcome in outcomes.items() if outcome == "xfailed"}
    skipped = {name for name, outcome in outcomes.items() if outcome == "skipped"}
    assert xfailed == set(EXPECTED_DIFFERENCES), output
    assert skipped <= UPSTREAM_SKIPS, output
    failed = {name: outcome for name, outcome in outcomes.items() if outcome in ("failure", "error")}
    assert not failed, output
    passed = sum(outcome == "passed" for outcome in outcomes.values())
    print(
        f"flask-cors {FLASK_CORS_VERSION} suite on the {engine_name} engine: {passed} passed, "
        f"{len(xfailed)} expected differences, {len(skipped)} skipped by the suite itself"
    )
