"""aiohttp-cors' own test suite, run against `corsfast.aiohttp` on both engines.

At test time the sdist of the *installed* aiohttp-cors is fetched with
`pip download --no-deps --no-binary :all:` into the pytest cache (never into the repo), its
`tests/` directory is extracted to a temporary directory, and in every test file the imports
of `aiohttp_cors` (and the `mock.patch` targets naming its modules) are pointed at
`corsfast.aiohttp`. pytest runs the suite in a subprocess, with pytest-aiohttp's fixtures and
`asyncio_mode=auto` as aiohttp-cors runs it, in which importing `aiohttp_cors` at all fails,
so every test exercises corsfast. Its browser tests skip without a WebDriver, as they do
upstream. No test is listed as an expected difference: the fixes corsfast makes (see
`docs/frameworks/aiohttp.md`) change no answer this suite checks.

aiohttp-cors 0.7.0's suite (2018) is run too when 0.7.0 is installed (the peer version matrix
has such cells): two of its lines no longer run on the Pythons corsfast supports and are
written as they would be today (`MODERNISE`), changing nothing they test.
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from importlib.metadata import version
from pathlib import Path

import peer_suite
import pytest

AIOHTTP_CORS_VERSION = version("aiohttp-cors")

REWRITES = {
    "from aiohttp_cors": "from corsfast.aiohttp",
    "import aiohttp_cors\n": "import corsfast.aiohttp as aiohttp_cors\n",
    '"aiohttp_cors.': '"corsfast.aiohttp.',
    "'aiohttp_cors.": "'corsfast.aiohttp.",  # 0.7.0's mock.patch targets
}

MODERNISE = {
    # asyncio.coroutine is gone from Python 3.11 on: the view method as a coroutine function.
    "    @asyncio.coroutine\n    def get(self):\n": "    async def get(self):\n",
    # pkg_resources (setuptools) is deprecated and absent from Python 3.12's virtual
    # environments; its parse_version is packaging's.
    "from pkg_resources import parse_version\n": "from packaging.version import parse as parse_version\n",
}
"""Lines of aiohttp-cors 0.7.0's suite that no longer run on current Python, as written today
(0.8.1's suite has none of them)."""

FAILING_ON_AIOHTTP_CORS = {
    "0.7.0": {
        # Expects an error message of aiohttp 2 ("/options_path already has ..."); aiohttp 3
        # starts it with the resource's repr. 0.8.1's suite matches "already has OPTIONS handler".
        "tests.unit.test_cors_config.test_add_options_route",
        # Calls issubclass() on a resource instance: a TypeError on every aiohttp. 0.8.1's
        # suite uses isinstance().
        "tests.unit.test_cors_config.test_static_resource",
    },
}
"""The tests of aiohttp-cors' suite that fail on the real aiohttp-cors release itself (its
test bugs): they must fail on corsfast.aiohttp too, as every other test must have the outcome
it has on aiohttp-cors."""

BROWSER_TESTS = "tests.integration.test_real_browser"
"""The module whose tests drive a real browser through Selenium WebDriver: they skip upstream
too without a driver on the PATH (chromedriver, geckodriver)."""

CONFIG = """
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""
"""aiohttp-cors' own pytest settings (its setup.cfg adds coverage options; those need pytest-cov)."""

PLUGIN = (
    '''
"""Loaded with -p into the aiohttp-cors test run: checks the engine and the redirected imports."""
import sys

import pytest
'''
    + peer_suite.ENGINE_CHECK
    + peer_suite.import_blocker("aiohttp_cors", "aiohttp-cors")
)


@pytest.fixture(scope="session")
def aiohttp_cors_sdist(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the path of the installed aiohttp-cors version's sdist, downloaded once and cached."""
    return peer_suite.sdist(request, tmp_path_factory, "aiohttp-cors")


def extract(sdist: Path, root: Path, *, to_corsfast: bool) -> Path:
    """Return `root`, holding aiohttp-cors' tests from `sdist` (modernised), importing
    corsfast.aiohttp instead of aiohttp_cors when `to_corsfast`."""
    rewritten = modernised = 0
    with tarfile.open(sdist) as archive:
        # The sdist's folder: aiohttp-cors-0.7.0/ in 0.7.0, aiohttp_cors-0.8.1/ in 0.8.1.
        prefix = archive.getnames()[0].split("/")[0] + "/"
        assert prefix.replace("-", "_") == f"aiohttp_cors_{AIOHTTP_CORS_VERSION}/", prefix
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(prefix + "tests/"):
                continue
            name = member.name[len(prefix) :]
            data = archive.extractfile(member).read()  # type: ignore[union-attr]
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if name.endswith(".py"):
                source = data.decode("utf-8")
                for original, replacement in MODERNISE.items():
                    modernised += source.count(original)
                    source = source.replace(original, replacement)
                if to_corsfast:
                    source = re.sub(
                        r"^(\s*)import aiohttp_cors$",
                        r"\1import corsfast.aiohttp as aiohttp_cors",
                        source,
                        flags=re.M,
                    )
                    for original, replacement in REWRITES.items():
                        rewritten += source.count(original)
                        source = source.replace(original, replacement)
                    # Only the rewritten lines named aiohttp_cors: anything else would mean the suite changed shape.
                    assert not re.search(r"^\s*(from|import)\s+aiohttp_cors\b", source, re.MULTILINE), name
                data = source.encode("utf-8")
            target.write_bytes(data)
    if to_corsfast:
        assert rewritten >= 10, f"only {rewritten} imports rewritten: aiohttp-cors' suite changed shape"
    # Each line is 0.7.0's, once; a suite that has it elsewhere changed shape.
    assert modernised == (len(MODERNISE) if AIOHTTP_CORS_VERSION == "0.7.0" else 0), modernised
    (root / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def aiohttp_cors_suite(aiohttp_cors_sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a directory holding aiohttp-cors' tests, importing corsfast.aiohttp instead."""
    root = extract(aiohttp_cors_sdist, tmp_path_factory.mktemp("aiohttp-cors-suite"), to_corsfast=True)
    (root / "corsfast_suite_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def aiohttp_cors_outcomes(aiohttp_cors_sdist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Return the outcome of each test of the same (modernised) suite run on the real aiohttp-cors."""
    root = extract(aiohttp_cors_sdist, tmp_path_factory.mktemp("aiohttp-cors-reference"), to_corsfast=False)
    result, cases = peer_suite.run(
        root, "py", ["tests"], ["-p", "pytest_asyncio.plugin", "-p", "pytest_aiohttp.plugin"], {}
    )
    outcomes = {f"{case.classname}.{case.name}": case.outcome for case in cases}
    assert len(outcomes) >= 90, result.stdout + result.stderr
    return outcomes


@pytest.mark.parametrize(
    "engine_name", [pytest.param("c", marks=pytest.mark.c_extension, id="c"), pytest.param("py", id="py")]
)
def test_aiohttp_cors_suite(aiohttp_cors_suite: Path, aiohttp_cors_outcomes: dict[str, str], engine_name: str) -> None:
    result: subprocess.CompletedProcess[str]
    result, cases = peer_suite.run(
        aiohttp_cors_suite,
        engine_name,
        ["tests"],
        [
            "-p",
            "pytest_asyncio.plugin",
            "-p",
            "pytest_aiohttp.plugin",
            "-p",
            "corsfast_suite_plugin",
            # corsfast warns (CORSConfigWarning) where the suite allows "*" with credentials;
            # a warning changes no answer.
            "-W",
            "ignore::corsfast.CORSConfigWarning",
        ],
        {},
    )
    output = result.stdout + result.stderr
    outcomes = {f"{case.classname}.{case.name}": case.outcome for case in cases}
    # Each test has the outcome it has on the real aiohttp-cors: the same suite, the same aiohttp.
    assert outcomes == aiohttp_cors_outcomes, output
    theirs_failed = {name for name, outcome in aiohttp_cors_outcomes.items() if outcome in ("failure", "error")}
    assert theirs_failed == FAILING_ON_AIOHTTP_CORS.get(AIOHTTP_CORS_VERSION, set()), output
    assert result.returncode == (1 if theirs_failed else 0), output
    # Every test function of the suite ran (parametrized ones once per parameter).
    defined = set()
    for path in (aiohttp_cors_suite / "tests").rglob("test_*.py"):
        defined.update(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE))
    assert {name.rsplit(".", 1)[1].split("[")[0] for name in outcomes} == defined, output
    skipped = {name for name, outcome in outcomes.items() if outcome == "skipped"}
    assert all(name.startswith(BROWSER_TESTS + ".") for name in skipped), output
    passed = sum(outcome == "passed" for outcome in outcomes.values())
    assert passed >= 90, output
    print(
        f"aiohttp-cors {AIOHTTP_CORS_VERSION} suite on the {engine_name} engine: {passed} passed, "
        f"{len(theirs_failed)} failed as on aiohttp-cors, {len(skipped)} browser tests skipped without a WebDriver"
    )
