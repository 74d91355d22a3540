"""The distributions: what `python -m build` makes, and what an installed wheel holds.

Two kinds of test live here.

- Smoke tests of the installed package (always run): the compiled engine is there and
  selected, agrees with the pure twin, keeps the GIL off on free-threaded builds, and the
  version is defined once.
- Packaging tests (marked `packaging`): build the sdist and a wheel from it with build
  isolation, as a clean clone would, check them with `twine check` and
  `check-wheel-contents`, read their file lists, build the pure `py3-none-any` wheel with
  `CORSFAST_NO_EXTENSIONS=1`, and install the sdist into a fresh virtual environment, where
  it must compile. They take about a minute and need the `build` dependency group and
  access to the package index, so they run only when `CORSFAST_PACKAGING_TESTS=1`, or on CI
  (`CI=true`) unless `CORSFAST_PACKAGING_TESTS=0`.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

import corsfast

ROOT = Path(__file__).resolve().parents[1]
"""The project directory: a git checkout, or an extracted sdist under cibuildwheel."""

ENGINE_ENV = ("CORSFAST_NO_EXTENSIONS", "CORSFAST_CYTHON_TRACING", "CORSFAST_CYTHON_ANNOTATE", "CORSFAST_SANITIZE")
"""Build switches read by setup.py; cleared for every build here unless a test sets one."""

GENERATED = (".c", ".h", ".html", ".pyc", ".pyo")
"""Suffixes that never belong in a distribution: Cython's output, its annotation, bytecode."""

TIMEOUT = 900
"""Seconds allowed to each build or install step (an isolated build downloads its backend)."""


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _packaging_tests_enabled() -> bool:
    requested = os.environ.get("CORSFAST_PACKAGING_TESTS", "")
    if requested:
        return requested != "0"
    return os.environ.get("CI", "").lower() == "true"


PURE_RUN = _flag("CORSFAST_NO_EXTENSIONS") or sys.implementation.name != "cpython"
FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))

packaging = [
    pytest.mark.packaging,
    pytest.mark.slow,
    pytest.mark.skipif(
        not _packaging_tests_enabled(),
        reason="builds and installs distributions (about a minute, needs the package index): "
        "set CORSFAST_PACKAGING_TESTS=1 (on by default when CI=true)",
    ),
]


# -- smoke tests of the installed package ------------------------------------------------------


@pytest.mark.skipif(PURE_RUN, reason="a pure-Python run: CORSFAST_NO_EXTENSIONS is set or not CPython")
@pytest.mark.c_extension
def test_compiled_engine_is_installed_and_selected() -> None:
    """On CPython the installed package carries `_engine_c`, and `corsfast` picks it."""
    engine_c = importlib.import_module("corsfast._engine_c")  # ImportError here = a broken build
    selector = importlib.import_module("corsfast._engine")
    assert corsfast.NO_EXTENSIONS is False
    assert selector.engine is engine_c
    assert Path(engine_c.__file__ or "").suffix in (".so", ".pyd")
    assert corsfast.CORSMiddleware.__call__ is engine_c.asgi_call


@pytest.mark.skipif(not _flag("CORSFAST_NO_EXTENSIONS"), reason="only when CORSFAST_NO_EXTENSIONS is set")
def test_no_extensions_selects_the_pure_twin() -> None:
    """`CORSFAST_NO_EXTENSIONS=1` selects `_engine_py` at run time, whatever is installed."""
    selector = importlib.import_module("corsfast._engine")
    assert corsfast.NO_EXTENSIONS is True
    assert selector.engine is importlib.import_module("corsfast._engine_py")


async def _endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _messages(app: Any, method: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    """Return the ASGI messages `app` sends for one HTTP request."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("testserver", 443),
        "client": ("127.0.0.1", 50000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


REQUESTS = [
    ("GET", [(b"origin", b"https://app.example.com")]),
    ("GET", [(b"origin", b"https://evil.example")]),
    ("GET", []),
    (
        "OPTIONS",
        [
            (b"origin", b"https://app.example.com"),
            (b"access-control-request-method", b"PUT"),
            (b"access-control-request-headers", b"authorization"),
        ],
    ),
    ("OPTIONS", [(b"origin", b"https://evil.example"), (b"access-control-request-method", b"PUT")]),
]


@pytest.mark.c_extension
@pytest.mark.parametrize(
    ("method", "headers"), REQUESTS, ids=["allowed", "refused", "no-origin", "preflight", "refused-preflight"]
)
def test_installed_engines_agree(method: str, headers: list[tuple[bytes, bytes]]) -> None:
    """The compiled engine of this installation answers like the pure twin (full ASGI path)."""
    engine_c = importlib.import_module("corsfast._engine_c")
    engine_py = importlib.import_module("corsfast._engine_py")
    options = {
        "allow_origins": ["https://*.example.com"],
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["Authorization"],
        "expose_headers": ["X-Request-Id"],
        "allow_credentials": True,
    }
    compiled = _messages(corsfast.CORSMiddleware(_endpoint, **options, _engine=engine_c), method, headers)
    pure = _messages(corsfast.CORSMiddleware(_endpoint, **options, _engine=engine_py), method, headers)
    assert compiled == pure
    assert compiled[0]["type"] == "http.response.start"


@pytest.mark.skipif(not FREE_THREADED, reason="only on free-threaded (3.13t+) builds")
@pytest.mark.skipif(PURE_RUN, reason="a pure-Python run")
@pytest.mark.c_extension
def test_free_threaded_import_keeps_the_gil_disabled() -> None:
    """The extension declares free-threading support: importing it must not turn the GIL on."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    code = "import sys, corsfast, corsfast._engine_c; assert not sys._is_gil_enabled(), 'GIL re-enabled'"
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path.home(),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_version_is_defined_once() -> None:
    """`corsfast.__version__` (src/corsfast/__version__.py) is the installed distribution's version."""
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", corsfast.__version__)
    assert importlib.metadata.version("corsfast") == corsfast.__version__
    pyproject = ROOT / "pyproject.toml"
    if sys.version_info < (3, 11) or not pyproject.is_file():
        return
    import tomllib

    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    assert "version" not in config["project"], "the version is dynamic: only src/corsfast/__version__.py has it"
    assert "version" in config["project"]["dynamic"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "corsfast.__version__.__version__"}


@pytest.mark.skipif(not (ROOT / "CHANGELOG.md").is_file(), reason="no CHANGELOG.md beside the tests")
def test_changelog_has_the_current_version() -> None:
    """CHANGELOG.md (Keep a Changelog) has a section for the version being built."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(corsfast.__version__)}\]", text, re.MULTILINE), corsfast.__version__


# -- packaging tests: build, check and install the distributions ----------------------------------


def _env(**overrides: str) -> dict[str, str]:
    """Return the environment for a build: no engine switches, no coverage, no stray paths."""
    env = {k: v for k, v in os.environ.items() if k not in ENGINE_ENV and k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(overrides)
    return env


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command to completion; fail the test with its output if it fails."""
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _require(module: str) -> None:
    """Fail (not skip) when a tool of the `build` group is missing: these tests were asked for."""
    try:
        importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} is missing: install the `build` dependency group (pip install --group build)")


def _source_files() -> list[Path]:
    """Return the files a fresh clone would have (plus new, not ignored ones), relative to ROOT."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
        names = [Path(name) for name in listing.decode().split("\0") if name]
        return [name for name in names if (ROOT / name).is_file()]
    skipped_dirs = {
        ".git",
        ".venv",
        "build",
        "dist",
        "__pycache__",
        ".pytest_cache",
        ".hypothesis",
        ".mypy_cache",
        ".ruff_cache",
        ".benchmarks",
    }
    files = []
    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT)
        if (
            path.is_file()
            and not skipped_dirs & set(relative.parts)
            and relative.suffix not in (*GENERATED, ".so", ".pyd")
        ):
            files.append(relative)
    return files


@dataclass(frozen=True)
class Distributions:
    """What `python -m build` made from a clean copy of the project."""

    source: Path
    """The clean copy the sdist was built from."""
    sdist: Path
    wheel: Path
    """Built from the sdist (build's default), so a file missing from the sdist breaks it."""


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Distributions]:
    """Build the sdist, then the compiled wheel from it, in isolated build environments."""
    _require("build")
    base = tmp_path_factory.mktemp("dists")
    source = base / "corsfast"
    for relative in _source_files():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, source / relative)
    out = base / "dist"
    _run(sys.executable, "-m", "build", "--outdir", out, source, cwd=base)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    yield Distributions(source=source, sdist=sdist, wheel=wheel)


@pytest.fixture(scope="module")
def pure_wheel(dists: Distributions, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the pure-Python wheel from the sdist, with CORSFAST_NO_EXTENSIONS=1."""
    base = tmp_path_factory.mktemp("pure")
    with tarfile.open(dists.sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # 3.12+, and security backports of 3.9-3.11
            archive.extractall(base, filter="data")
        else:  # pragma: no cover
            archive.extractall(base)
    (source,) = (path for path in base.iterdir() if path.is_dir())
    out = base / "dist"
    _run(
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--outdir",
        out,
        source,
        cwd=base,
        env=_env(CORSFAST_NO_EXTENSIONS="1"),
    )
    (wheel,) = out.glob("*.whl")
    return wheel


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as archive:
        # Drop the "corsfast-X.Y.Z/" prefix.
        return {
            str(PurePosixPath(*PurePosixPath(member.name).parts[1:]))
            for member in archive.getmembers()
            if member.isfile()
        }


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def _wheel_tags(wheel: Path) -> tuple[str, str, str]:
    """Return (python tag, abi tag, platform tag) from a wheel's file name."""
    python_tag, abi_tag, platform_tag = wheel.name[: -len(".whl")].split("-")[-3:]
    return python_tag, abi_tag, platform_tag


def _generated(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.endswith(GENERATED) or "__pycache__" in name)


class TestDistributions:
    """The sdist and the wheels pass the index's checks and hold exactly what they should."""

    pytestmark = packaging

    def test_twine_check(self, dists: Distributions, pure_wheel: Path) -> None:
        """PyPI would accept the metadata and render the README (`twine check --strict`)."""
        _require("twine")
        output = _run(
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            dists.sdist,
            dists.wheel,
            pure_wheel,
            cwd=dists.source.parent,
        )
        assert output.count("PASSED") == 3, output

    def test_check_wheel_contents(self, dists: Distributions, pure_wheel: Path) -> None:
        """check-wheel-contents finds nothing (default checks, no ignores) in either wheel."""
        _require("check_wheel_contents")
        output = _run(
            sys.executable,
            "-m",
            "check_wheel_contents",
            "--toplevel",
            "corsfast",
            dists.wheel,
            pure_wheel,
            cwd=dists.source.parent,
        )
        assert output.count(": OK") == 2, output

    def test_sdist_contents(self, dists: Distributions) -> None:
        """The sdist has the Cython source, the tests and the README; no generated C or HTML."""
        names = _sdist_names(dists.sdist)
        for required in (
            "pyproject.toml",
            "setup.py",
            "README.md",
            "CHANGELOG.md",
            "MANIFEST.in",
            "LICENSE",
            "PKG-INFO",
            "src/corsfast/_engine_c.pyx",
            "src/corsfast/_engine_py/__init__.py",
            "src/corsfast/_engine_c_policy.pxi",
            "src/corsfast/py.typed",
            "tests/conftest.py",
            "tests/test_packaging.py",
        ):
            assert required in names, required
        sources = {str(PurePosixPath(path)) for path in _source_files()}
        missing = sorted(
            name
            for name in sources
            if name.startswith(("src/corsfast/", "tests/", "benchmarks/"))
            and not name.endswith(GENERATED)
            and name not in names
        )
        assert not missing, f"in the source tree but not in the sdist: {missing}"
        assert not _generated(names), _generated(names)
        assert not [name for name in names if name.endswith((".so", ".pyd"))]
        assert dists.sdist.name == f"corsfast-{corsfast.__version__}.tar.gz"

    def test_compiled_wheel_contents(self, dists: Distributions) -> None:
        """The wheel has the compiled engine, every module of src/corsfast and py.typed; no C or HTML."""
        names = _wheel_names(dists.wheel)
        python_tag, abi_tag, platform_tag = _wheel_tags(dists.wheel)
        assert python_tag.startswith("cp") and abi_tag.startswith("cp") and platform_tag != "any", dists.wheel.name
        assert [name for name in names if re.fullmatch(r"corsfast/_engine_c\..+\.(so|pyd)", name)], sorted(names)
        assert "corsfast/py.typed" in names
        modules = {
            str(PurePosixPath(*path.parts[1:]))
            for path in _source_files()
            if path.parts[:2] == ("src", "corsfast") and path.suffix == ".py"
        }
        assert modules <= names, sorted(modules - names)
        assert not _generated(names), _generated(names)
        assert not [name for name in names if name.startswith(("tests/", "benchmarks/"))]
        assert dists.wheel.name.startswith(f"corsfast-{corsfast.__version__}-")

    def test_pure_wheel(self, pure_wheel: Path) -> None:
        """CORSFAST_NO_EXTENSIONS=1 builds a `py3-none-any` wheel without any extension module."""
        assert _wheel_tags(pure_wheel) == ("py3", "none", "any"), pure_wheel.name
        names = _wheel_names(pure_wheel)
        assert not [name for name in names if name.endswith((".so", ".pyd"))], sorted(names)
        assert {"corsfast/__init__.py", "corsfast/_engine_py/__init__.py", "corsfast/py.typed"} <= names
        assert not _generated(names), _generated(names)

    def test_sdist_installs_and_compiles_in_a_fresh_venv(
        self, dists: Distributions, tmp_path_factory: pytest.TempPathFactory
    ) -> None:
        """`pip install corsfast-X.tar.gz` in an empty venv compiles the engine, which is then used."""
        base = tmp_path_factory.mktemp("venv")
        venv.create(base / "venv", with_pip=True, clear=True)
        python = base / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        _run(python, "-m", "pip", "install", "--disable-pip-version-check", dists.sdist, cwd=base)
        code = (
            "import corsfast._engine_c; import corsfast; assert not corsfast.NO_EXTENSIONS; "
            "print(corsfast.__version__, corsfast._engine_c.__file__)"
        )
        output = _run(python, "-c", code, cwd=base)  # cwd outside the project: the installed copy is imported
        version, extension = output.split()
        assert version == corsfast.__version__
        assert Path(extension).is_relative_to(base / "venv")
