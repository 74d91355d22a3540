"""`mypy --strict` (the [tool.mypy] config in pyproject.toml) over `src/` and `public_api.py`.

msgspec keeps its typing checks in tests/typing the same way. One mypy run serves both
tests; its errors are split by file: the public API test only fails on errors reported in
`public_api.py` (a user's code), the source test on errors anywhere in `src/`.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the `typing` dependency group")

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_API = Path("tests", "typing", "public_api.py")
ERROR = re.compile(r"^(?P<path>[^:\n]+):(?P<line>\d+): error: (?P<message>.*)$", re.MULTILINE)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (ROOT / "src" / "corsfast").is_dir(), reason="needs the source tree (src/)"),
]


@pytest.fixture(scope="module")
def mypy_errors() -> list[tuple[Path, str]]:
    """Run mypy once with the project's config; return (path, "line: message") per error."""
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", "--no-error-summary", "--no-pretty"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [(Path(m["path"]), f"{m['line']}: {m['message']}") for m in ERROR.finditer(result.stdout)]
    # Exit status 1 means "type errors found"; anything else (a crash, a bad config) is not a verdict.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert result.returncode == 0 or errors, result.stdout + result.stderr
    return errors


def _report(errors: list[tuple[Path, str]]) -> str:
    return "\n".join(f"{path}:{message}" for path, message in errors)


def test_public_api_type_checks(mypy_errors: list[tuple[Path, str]]) -> None:
    """Every public entry point, used as documented, passes `mypy --strict` in user code."""
    errors = [(path, message) for path, message in mypy_errors if path == PUBLIC_API]
    assert not errors, _report(errors)


def test_public_api_file_is_checked() -> None:
    """The mypy config really covers `tests/typing` and `src` (a typo would silently check nothing)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        tomllib = pytest.importorskip("tomli")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert set(config["files"]) >= {"src", "tests/typing"}


def test_source_type_checks_strict(mypy_errors: list[tuple[Path, str]]) -> None:
    """`mypy --strict src/` is clean."""
    errors = [(path, message) for path, message in mypy_errors if path.parts[:1] == ("src",)]
    assert not errors, _report(errors)
