"""Run a replaced package's own test suite, taken from its sdist, against a corsfast drop-in.

`sdist` fetches the sdist of the *installed* version with `pip download --no-deps
--no-binary :all:` into the pytest cache (never into the repo); the caller extracts the tests
it needs and points their imports at corsfast; `run` runs them with pytest in a subprocess
on one engine, with only the plugins named (not this project's), and reads each test's
outcome from a JUnit report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

ENGINE_CHECK = """
def pytest_configure(config):
    import os

    from corsfast import _engine

    expected = os.environ["CORSFAST_EXPECT_ENGINE"]
    actual = "py" if _engine.engine.__name__ == "corsfast._engine_py" else "c"
    if actual != expected:
        raise pytest.UsageError(f"expected the {expected} engine, got {_engine.engine.__name__}")
"""
"""A pytest plugin hook for the suite's run: it fails unless the engine asked for is the one in use."""


def import_blocker(module: str, peer: str) -> str:
    """Return pytest plugin source (needing `sys`) that fails any import of the real `module`
    (the package `peer` that the suite tests) and checks at the end that none happened, so
    that every test of the suite runs against corsfast."""
    return f'''

class _NoPeer:
    """Fail any import of the real {module}: every test must run against corsfast."""

    def find_spec(self, name, path=None, target=None):
        if name == "{module}" or name.startswith("{module}."):
            raise ImportError(f"{{name}} is blocked in the corsfast run of {peer}' suite")
        return None


sys.meta_path.insert(0, _NoPeer())


def pytest_sessionfinish(session, exitstatus):
    if "{module}" in sys.modules:  # pragma: no cover - the finder above makes this impossible
        raise RuntimeError("{module} was imported")
'''


@dataclass(frozen=True)
class Outcome:
    """One test case of the run: its JUnit class name and name, and passed, failure, error,
    skipped or xfailed."""

    classname: str
    name: str
    outcome: str


def sdist(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, project: str, release: str | None = None
) -> Path:
    """Return the path of the sdist of `project`'s `release` (default: the installed version),
    downloaded once and cached."""
    from importlib.metadata import version

    installed = release or version(project)
    cache = getattr(request.config, "cache", None)
    directory = cache.mkdir(f"{project}-sdist") if cache is not None else tmp_path_factory.mktemp(f"{project}-sdist")
    name = f"{project.replace('-', '_').lower()}-{installed}.tar.gz"

    def find(folder: Path) -> Path:
        # Older sdists spell the project as registered (Flask-Cors-3.0.10.tar.gz).
        for entry in sorted(folder.iterdir()):
            if entry.name.lower().replace("-", "_") == name.replace("-", "_"):
                return entry
        return folder / name

    path = find(directory)
    if path.is_file():
        return path
    # Parallel test workers share the cache: each downloads into a folder of its own and
    # renames the file into place, so no worker ever reads a half-written archive.
    with tempfile.TemporaryDirectory(dir=directory) as staging:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--disable-pip-version-check",
                "-d",
                staging,
                f"{project}=={installed}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"pip download failed:\n{result.stdout}\n{result.stderr}"
        downloaded = find(Path(staging))
        assert downloaded.is_file(), f"pip download did not produce {name}: {sorted(os.listdir(staging))}"
        path = directory / downloaded.name
        os.replace(downloaded, path)
    return path


def run(
    root: Path, engine: str, targets: list[str], args: list[str], env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[Outcome]]:
    """Run pytest on `targets` in `root` (its `pyproject.toml` configures it) on `engine`
    ("c" or "py"); return the process and the outcome of every test case."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "CORSFAST_"))}
    if engine == "py":
        environment["CORSFAST_NO_EXTENSIONS"] = "1"
    environment.update(
        env,
        CORSFAST_EXPECT_ENGINE=engine,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        PYTHONPATH=str(root),
        PYTHONDONTWRITEBYTECODE="1",
    )
    junit = root / f"junit-{engine}-{len(args)}.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *targets,
            "-q",
            "-rs",
            "-c",
            "pyproject.toml",
            "--rootdir",
            str(root),
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            *args,
        ],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes = []
    if junit.is_file():
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome = "passed"
            for child in case:
                if child.tag in ("failure", "error"):
                    outcome = child.tag
                    break
                if child.tag == "skipped":
                    outcome = "xfailed" if child.get("type") == "pytest.xfail" else "skipped"
                    break
            outcomes.append(Outcome(case.get("classname", ""), case.get("name", ""), outcome))
    return result, outcomes
