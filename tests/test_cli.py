"""The `corsfast` command itself: `--version` and the subcommands it lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import corsfast
from corsfast import _engine
from corsfast.cli import main


def expected_version_line() -> str:
    engine = {"corsfast._engine_c": "compiled", "corsfast._engine_py": "pure-Python"}[_engine.engine.__name__]
    return f"corsfast {corsfast.__version__} ({engine} engine)\n"


def test_version_names_the_release_and_the_engine_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == expected_version_line()


@pytest.mark.parametrize("command", ["module", "script"])
def test_version_from_the_shell(command: str) -> None:
    """`python -m corsfast --version` and the installed `corsfast` script print the same line,
    for the engine this process uses (CORSFAST_NO_EXTENSIONS is inherited)."""
    if command == "module":
        argv = [sys.executable, "-m", "corsfast", "--version"]
    else:
        script = Path(sys.executable).with_name("corsfast")
        if not script.exists():
            pytest.skip("no corsfast script beside this interpreter")
        argv = [str(script), "--version"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=dict(os.environ), check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected_version_line()


def test_help_lists_version_and_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("--version", "bench", "check", "demo"):
        assert word in out


def test_the_cli_page_shows_what_version_prints() -> None:
    """docs/tools/cli.md shows both engines' `--version` lines for the current release."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "tools" / "cli.md").read_text(encoding="utf-8")
    for engine in ("compiled", "pure-Python"):
        assert f"\ncorsfast {corsfast.__version__} ({engine} engine)\n" in page
