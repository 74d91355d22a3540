"""The README's examples run as written: its Python snippets, and its `corsfast check` sessions.

A snippet that stops working, or a session whose output drifts from what the command prints,
fails here rather than in a user's hands.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
if not README.is_file():  # pragma: no cover - an installed wheel's tests run without the README
    pytest.skip("no README.md beside the tests", allow_module_level=True)
TEXT = README.read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)
CONSOLE_BLOCKS = re.findall(r"^```console\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)
CHECK_APP = next(block for block in PYTHON_BLOCKS if "async def data(request)" in block)


def test_the_readme_has_examples() -> None:
    assert len(PYTHON_BLOCKS) >= 6
    assert len(CONSOLE_BLOCKS) >= 1


@pytest.mark.parametrize("source", PYTHON_BLOCKS, ids=[f"python-{i}" for i in range(len(PYTHON_BLOCKS))])
def test_python_snippet_runs(source: str) -> None:
    """Each snippet runs in a fresh namespace with nothing predefined, without a warning, and builds `app`."""
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(source, str(README), "exec"), namespace)
    assert callable(namespace["app"])


@pytest.mark.parametrize("session", CONSOLE_BLOCKS, ids=[f"console-{i}" for i in range(len(CONSOLE_BLOCKS))])
def test_check_session_prints_what_the_readme_shows(session: str, tmp_path: Path) -> None:
    """The command prints every shown line, in order ('...' stands for lines left out).

    A command that ends with a backslash goes on on the next line, as in a shell.
    """
    command, *shown = session.rstrip("\n").split("\n")
    while command.endswith("\\"):
        command = command[:-1].rstrip() + " " + shown.pop(0).strip()
    assert command.startswith("$ corsfast check ")
    (tmp_path / "myapp.py").write_text(CHECK_APP, encoding="utf-8")
    argv = [sys.executable, "-m", "corsfast", *shlex.split(command[len("$ corsfast ") :])]
    result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    printed = result.stdout.split("\n")
    assert result.returncode == (0 if shown[0].startswith("ALLOWED") else 1), result.stdout + result.stderr
    position = 0
    for line in shown:
        if line.strip() == "...":
            continue
        assert line in printed[position:], f"{line!r} not printed (in order) by {command!r}:\n{result.stdout}"
        position = printed.index(line, position) + 1


def test_figures_are_the_benchmark_json() -> None:
    """Every figure in the README and the docs pages is what docs/bench.json and http_load.json give.

    GitHub shows the Markdown as written, so each figure is written out (scripts/figures.py)
    between its directive and `<!-- /figure -->`, and none is left without its value.
    """
    pytest.importorskip("mkdocs")  # the site's figures hook raises mkdocs' PluginError
    sys.path.insert(0, str(README.parent / "scripts"))
    try:
        import figures
    finally:
        sys.path.remove(str(README.parent / "scripts"))
    pages = figures.pages()
    assert README in pages and len(pages) >= 10
    written = {page: figures.hook.FIGURE.findall(page.read_text(encoding="utf-8")) for page in pages}
    assert len(written[README]) >= 10 and sum(map(len, written.values())) >= 40
    for page in pages:
        text = page.read_text(encoding="utf-8")
        bare = [m["open"] for m in figures.hook.FIGURE.finditer(text) if m["value"] is None]
        assert not bare, f"{page}: directives without their value: {bare}"
        assert figures.refreshed(page) == text, f"{page}: run python scripts/figures.py"
