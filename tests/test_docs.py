"""The documentation site cannot rot: every example on it runs, and it builds strictly.

Every code block of every page in docs/ is collected by its language (the conventions are on
the site's Contributing page):

- `python`: runs in a fresh namespace with nothing predefined, so each example runs as a
  reader would paste it, without a warning (pytest turns them into errors). A block that
  configures Django, or registers with Prometheus' or OpenTelemetry's process-wide registry,
  runs as a script in a fresh interpreter (that state is global to a process), beside the
  page's `python` blocks titled `title="NAME.py"` written as files.
- `pycon`: a doctest; a page's `pycon` blocks are one interpreter session, run in order;
  `...` in the expected output stands for any text.
- `diff`: a migration; both sides, the `-` one and the `+` one, run as Python.
- `console`: `$ corsfast ...` commands, run in a temporary directory that holds the page's
  `python` blocks titled `title="NAME.py"`; every shown line must be printed, in order
  (`...` stands for lines left out). `$ echo $?` and a number check the exit status.
- `bash`, `mermaid` and `promql` (a Prometheus query) blocks are shown, not run.

Then `scripts/docs.sh` builds the site with `mkdocs build --strict` (marker `docs`), and
headless Chromium opens two built pages (markers `browser` and `docs`).
"""

from __future__ import annotations

import contextlib
import doctest
import functools
import html
import http.server
import importlib.util
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
if not (ROOT / "mkdocs.yml").is_file():  # pragma: no cover - an installed wheel's tests run without the docs
    pytest.skip("no mkdocs.yml and docs/ beside the tests", allow_module_level=True)

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
RUN = {"python", "pycon", "diff", "console"}
SHOWN = {"bash", "mermaid", "promql"}


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    """The page's path in docs/."""
    line: int
    lang: str
    title: Optional[str]
    source: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def page_blocks(path: Path) -> list[Block]:
    """Return the fenced code blocks of a Markdown page, indented ones (in tabs, lists) dedented."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        title = TITLE.search(match["attrs"])
        blocks.append(
            Block(
                page=path.relative_to(DOCS).as_posix(),
                line=text.count("\n", 0, match.start()) + 1,
                lang=match["lang"],
                title=title["title"] if title else None,
                source=body,
            )
        )
    return blocks


PAGES = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)
BLOCKS = [block for page in PAGES for block in page_blocks(page)]
CHART = re.compile(r"!\[[^\]]*\]\((?P<path>(?:\.\./)*figures/(?P<name>[\w-]+\.png))\)")
CHART_PAGES = {
    page.relative_to(DOCS).as_posix(): [m["name"] for m in CHART.finditer(page.read_text(encoding="utf-8"))]
    for page in PAGES
    if CHART.search(page.read_text(encoding="utf-8"))
}
"""Each page that shows a chart, with the charts it shows (docs/figures/NAME.png)."""
CHARTS = sorted({name for names in CHART_PAGES.values() for name in names})


def of(lang: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in BLOCKS if b.lang == lang]


def namespace() -> dict[str, Any]:
    """Return a fresh module namespace: nothing predefined, as in a reader's new file or session."""
    return {"__name__": "docs_snippet"}


def test_the_site_has_examples() -> None:
    """Every page is collected, and each kind of example is there to run."""
    assert {"index.md", "frameworks/starlette.md", "tools/check.md"} <= {b.page for b in BLOCKS}
    counts = {lang: sum(b.lang == lang for b in BLOCKS) for lang in RUN}
    assert counts["python"] >= 12 and counts["pycon"] >= 8 and counts["diff"] >= 3 and counts["console"] >= 5, counts


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in BLOCKS])
def test_every_block_is_run_or_only_shown(block: Block) -> None:
    """A block in another language (`py`, no language) would silently escape the tests."""
    assert block.lang in RUN | SHOWN, f"{block.id}: write ```python, ```pycon, ```diff, ```console or ```bash"


GLOBAL_STATE = (
    "DJANGO_SETTINGS_MODULE",  # Django's settings
    "settings.configure(",
    "REGISTRY.register(",  # prometheus_client's default registry
    "set_meter_provider(",  # OpenTelemetry's global meter provider
    "metrics.get_meter(",
)
"""What a block that changes state global to a process holds."""


def needs_own_process(block: Block) -> bool:
    """Return whether a block changes state global to a process (Django's settings, Prometheus'
    default registry, OpenTelemetry's meter provider), so it runs alone."""
    return any(marker in block.source for marker in GLOBAL_STATE)


def write_page_files(page: str, directory: Path) -> None:
    """Write the page's `python` blocks titled `title="NAME.py"` into `directory`, as files."""
    for file in BLOCKS:
        if file.page == page and file.lang == "python" and file.title:
            (directory / file.title).write_text(file.source, encoding="utf-8")


def run_script(script: Path, *arguments: str) -> str:
    """Run a Python file in a fresh interpreter (warnings are errors); return what it printed."""
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script), *arguments],
        cwd=script.parent,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{script.name} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("block", of("python"))
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    """A block runs in a fresh namespace; one that configures Django, in a fresh interpreter.

    The latter runs as a script in a directory holding the page's titled blocks as files
    (`settings.py`, `urls.py`, ...), as it would run in the reader's project.
    """
    if not needs_own_process(block):
        exec(compile(block.source, f"docs/{block.page}:{block.line}", "exec"), namespace())
        return
    write_page_files(block.page, tmp_path)
    script = tmp_path / (block.title or f"snippet_{block.line}.py")
    script.write_text(block.source, encoding="utf-8")
    run_script(script)


PYCON_PAGES = sorted({b.page for b in BLOCKS if b.lang == "pycon"})


@pytest.mark.parametrize("page", PYCON_PAGES)
def test_pycon_blocks_print_what_the_page_shows(page: str) -> None:
    """A page's `pycon` blocks are one interpreter session, run in order as doctests."""
    globs = namespace()
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS, verbose=False)
    for block in (b for b in BLOCKS if b.page == page and b.lang == "pycon"):
        test = doctest.DocTestParser().get_doctest(block.source, globs, block.id, f"docs/{page}", block.line)
        assert test.examples, f"{block.id}: no >>> example"
        runner.run(test, out=report.append, clear_globs=False)
        globs = test.globs  # a DocTest runs in a copy of the namespace it is given
    assert runner.failures == 0, "".join(report)


def diff_sides(source: str) -> tuple[str, str]:
    """Return the old (`-`) and new (`+`) files of a unified-diff block."""
    old, new = [], []
    for line in source.splitlines():
        if line.startswith("@@"):
            continue
        mark, rest = line[:1], line[1:]
        if mark in ("-", " ", ""):
            old.append(rest)
        if mark in ("+", " ", ""):
            new.append(rest)
        assert mark in ("-", "+", " ", ""), f"not a diff line: {line!r}"
    return "\n".join(old) + "\n", "\n".join(new) + "\n"


@pytest.mark.parametrize("block", of("diff"))
def test_both_sides_of_a_migration_diff_run(block: Block) -> None:
    old, new = diff_sides(block.source)
    assert old != new, f"{block.id}: the diff changes nothing"
    for side, source in (("-", old), ("+", new)):
        try:
            exec(compile(source, f"docs/{block.page}:{block.line} ({side} side)", "exec"), namespace())
        except Exception as error:  # pragma: no cover - the failure message
            raise AssertionError(f"{block.id}: the {side} side fails: {error!r}") from error


DJANGO_PROBE = """
import json
import os
import sys

import django

os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
django.setup()

from django.conf import settings
from django.core.checks import run_checks
from django.test import Client

checks = [[message.id, message.level, message.msg] for message in run_checks()]
preflight = {"Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-token"}
answers = []
for method, origin, extra in (
    ("get", "https://app.example.com", {}),
    ("get", "https://evil.example", {}),
    ("get", None, {}),
    ("options", "https://app.example.com", preflight),
    ("options", "https://evil.example", preflight),
):
    headers = dict(extra, **({"Origin": origin} if origin else {}))
    response = getattr(Client(), method)(sys.argv[1], headers=headers)
    answers.append([response.status_code, list(response.items()), response.content.decode()])
print(json.dumps({
    "middleware": settings.MIDDLEWARE[0],
    "corsheaders imported": "corsheaders" in sys.modules,
    "checks": checks,
    "answers": answers,
}))
"""


def test_the_django_migration_keeps_every_answer(tmp_path: Path) -> None:
    """Both sides of the Django page's diff, as a settings file, give the same answers.

    Each side runs in its own interpreter with the page's `urls.py`: django-cors-headers on
    the `-` side, corsfast alone on the `+` side (corsheaders never imported), with the same
    system-check messages (no error) and the same status, header list and body for every
    request.
    """
    page = "frameworks/django.md"
    (diff,) = [b for b in BLOCKS if b.page == page and b.lang == "diff"]
    path = "/" + re.search(r'path\("([^"]+)"', next(b.source for b in BLOCKS if b.title == "urls.py")).group(1)
    sides = {}
    for side, source in zip("-+", diff_sides(diff.source)):
        directory = tmp_path / ("old" if side == "-" else "new")
        directory.mkdir()
        write_page_files(page, directory)
        boilerplate = 'SECRET_KEY = "docs"\nROOT_URLCONF = "urls"\nALLOWED_HOSTS = ["*"]\nUSE_TZ = True\n'
        (directory / "settings.py").write_text(source + boilerplate, encoding="utf-8")
        (directory / "probe.py").write_text(DJANGO_PROBE, encoding="utf-8")
        sides[side] = json.loads(run_script(directory / "probe.py", path))
    old, new = sides["-"], sides["+"]
    assert old["middleware"] == "corsheaders.middleware.CorsMiddleware" and old["corsheaders imported"]
    assert new["middleware"] == "corsfast.django.middleware.CorsMiddleware" and not new["corsheaders imported"]
    assert old["checks"] == new["checks"]  # manage.py check reports the same
    assert not [check for check in new["checks"] if check[1] >= 40], new["checks"]  # 40: checks.ERROR
    allowed = dict(new["answers"][0][1])
    assert allowed["access-control-allow-origin"] == "https://app.example.com", new["answers"][0]
    assert "x-token" in dict(new["answers"][3][1])["access-control-allow-headers"], new["answers"][3]
    assert old["answers"] == new["answers"]


def _compiled_engine() -> bool:
    return importlib.util.find_spec("corsfast._engine_c") is not None


def _console_params() -> list[Any]:
    params = []
    for block in BLOCKS:
        if block.lang != "console":
            continue
        # A session that times the compiled engine (`--contenders corsfast-c,...`) runs where it is built.
        marks = [pytest.mark.c_extension] if re.search(r"--contenders \S*-c\b", block.source) else []
        params.append(pytest.param(block, id=block.id, marks=marks))
    return params


@dataclass
class Command:
    argv: list[str]
    shown: list[str]
    status: Optional[int] = None


def parse_session(source: str) -> list[Command]:
    """Return the `$ corsfast ...` commands of a console block, each with its shown lines and status."""
    commands: list[Command] = []
    lines = source.rstrip("\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"expected a command, got {line!r}"
        command = line[2:]
        index += 1
        shown = []
        while index < len(lines) and not lines[index].startswith("$ "):
            shown.append(lines[index])
            index += 1
        if command == "echo $?":
            assert commands and len(shown) == 1 and shown[0].isdigit(), "`$ echo $?` needs a command and a number"
            commands[-1].status = int(shown[0])
            continue
        assert command.startswith("corsfast "), f"a console block runs `corsfast` commands only, not {command!r}"
        commands.append(Command(shlex.split(command), shown))
    return commands


@pytest.mark.parametrize("block", _console_params())
def test_console_session_prints_what_the_page_shows(block: Block, tmp_path: Path) -> None:
    """Each command prints every shown line, in order, and exits as the page says."""
    for file in BLOCKS:
        if file.page == block.page and file.lang == "python" and file.title:
            (tmp_path / file.title).write_text(file.source, encoding="utf-8")
    commands = parse_session(block.source)
    assert commands
    for command in commands:
        argv = [sys.executable, "-m", "corsfast", *command.argv[1:]]
        result = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        printed = (result.stdout + result.stderr).split("\n")
        expected = command.status
        if expected is None:
            first = command.shown[0] if command.shown else ""
            expected = 1 if command.argv[1] == "check" and first.startswith("BLOCKED") else 0
        assert result.returncode == expected, f"{block.id}: {command.argv}\n{result.stdout}{result.stderr}"
        position = 0
        for line in command.shown:
            if line.strip() == "...":
                continue
            assert line in printed[position:], f"{block.id}: {line!r} not printed (in order):\n{result.stdout}"
            position = printed.index(line, position) + 1


def test_figures_are_directives_not_copied_numbers() -> None:
    """A page's figure tables are written by scripts/figures.py after their directive, never typed by hand."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        outside = re.sub(r"<!--\s*(?:bench|http-load):.*?<!-- /figure -->", "", text, flags=re.DOTALL)
        hand_made = re.findall(r"^\|[^\n]*\b\d{1,3},\d{3} \(\d\.\d{3}\)", outside, re.MULTILINE)
        assert not hand_made, f"{page}: benchmark figures typed by hand: {hand_made[:2]}"


def test_every_framework_page_has_its_sections() -> None:
    """A framework page has a quick start and a migration; a drop-in's has its diff, differences and figures."""
    pages = sorted((DOCS / "frameworks").glob("*.md"))
    assert len(pages) >= 4
    for page in pages:
        text = page.read_text(encoding="utf-8")
        headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
        assert "Quick start" in headings and "Migrating" in headings, (page, headings)
        assert any(b.page == f"frameworks/{page.name}" and b.lang == "python" for b in BLOCKS), page
        if any(h.startswith("Differences from") for h in headings):
            assert any(b.page == f"frameworks/{page.name}" and b.lang == "diff" for b in BLOCKS), page
            assert "Figures" in headings and "<!-- bench:table" in text, page


# -- the build -----------------------------------------------------------------------------


def _is_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


@contextlib.contextmanager
def docs_browser() -> Iterator[Any]:
    """Yield a headless Chromium with a fresh profile for the site's browser tests, and check
    on the way out that quitting it left no process; skip (fail on CI) without Chromium."""
    from browser._cors_browser import CHROMEDRIVER, CHROMIUM, INSTALL_HINT, start_browser

    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing or importlib.util.find_spec("selenium") is None:
        message = f"the site's browser test needs Chromium ({missing or 'selenium missing'}); {INSTALL_HINT}"
        if _is_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="corsfast-docs-chromium-")
    browser = start_browser(profile, uuid.uuid4().hex)
    try:
        yield browser
    finally:
        left = browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
    assert not left, f"Chromium processes still running after quit (killed): {left}"


def needs_mkdocs() -> None:
    """Skip (fail on CI) when the docs dependency group is not installed."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        message = "the docs build needs the docs dependency group (pip install --group docs)"
        if _is_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def build_site(output: Path, **environment: str) -> str:
    """Build the site strictly into `output` with `environment` added (and no
    CORSFAST_REPO_URL unless given); return the build's log."""
    env = {k: v for k, v in os.environ.items() if k != "CORSFAST_REPO_URL"}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "docs.sh"), str(output)],
        env={**env, "PYTHON": sys.executable, **environment},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    assert "WARNING" not in log and "ERROR" not in log, log
    return log


@pytest.fixture(scope="module")
def site() -> Iterator[Path]:
    """Build the site once with `scripts/docs.sh` (mkdocs build --strict) into a temporary directory."""
    needs_mkdocs()
    with tempfile.TemporaryDirectory(prefix="corsfast-site-") as temporary:
        output = Path(temporary) / "site"
        build_site(output)
        yield output


@pytest.mark.docs
def test_site_builds_strictly_with_every_page_and_figure(site: Path) -> None:
    built = {p.relative_to(site).as_posix() for p in site.rglob("index.html")}
    for page in PAGES:
        name = page.relative_to(DOCS).with_suffix("").as_posix()
        expected = "index.html" if name == "index" else f"{name}/index.html"
        assert expected in built, f"{page} was not built"
    for chart in CHARTS:
        assert (site / "figures" / chart).stat().st_size > 10_000, chart
    # A figure on the Starlette page is the one in bench.json, formatted as the bench formats it.
    report = json.loads((DOCS / "bench.json").read_text(encoding="utf-8"))
    table = report["suites"]["asgi"] if "suites" in report else report
    row = next(r for r in table["results"] if r["contender"] == "corsfast.starlette-c" and r["scenario"] == "b")
    starlette = (site / "frameworks" / "starlette" / "index.html").read_text(encoding="utf-8")
    assert f"{row['overhead_ns']:,.0f}" in starlette
    # The API reference is generated from the docstrings, without the private `_engine=`.
    api = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "Return the origin cache" in api and "corsfast.starlette.CORSMiddleware" in api
    # (The text may name the module `corsfast._engine_c`; no signature shows an `_engine` parameter.)
    text = html.unescape(re.sub(r"<[^>]+>", "", api))
    assert not re.search(r"\b_engine\s*[:=]", text)
    # Defaults show values, not the names of the constants that hold them.
    assert "cache_size: int = 4096" in text and "DEFAULT_CACHE_SIZE" not in text


def _figures_hook() -> Any:
    """Return docs/hooks/figures.py as a module (it needs MkDocs: the docs group)."""
    if importlib.util.find_spec("mkdocs") is None:
        if _is_ci():
            pytest.fail("the figures hook needs the docs dependency group", pytrace=False)
        pytest.skip("the figures hook needs the docs dependency group (pip install --group docs)")
    spec = importlib.util.spec_from_file_location("corsfast_docs_figures", DOCS / "hooks" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.docs
def test_figures_read_both_bench_json_layouts_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ASGI table at the top level (the first layout) and under `suites` render the same pages."""
    figures = _figures_hook()
    report = json.loads((DOCS / "bench.json").read_text(encoding="utf-8"))
    legacy = {k: v for k, v in report.items() if k not in ("suites", "skipped_suites")}
    table = report["suites"]["asgi"] if "suites" in report else legacy
    layered = {**legacy, "suites": {"asgi": table}}
    # Only the ASGI table exists in both layouts; pages that show other tables need `suites`.
    pages = [page for page in PAGES if not re.search(r"suite=(?!asgi\b)", page.read_text(encoding="utf-8"))]
    real_load = figures.load
    rendered = []
    for layout in (legacy, layered):
        monkeypatch.setattr(
            figures, "load", lambda name, layout=layout: layout if name == "bench.json" else real_load(name)
        )
        rendered.append(
            [figures.render(page.read_text(encoding="utf-8"), page.relative_to(DOCS).as_posix()) for page in pages]
        )
    assert rendered[0] == rendered[1]
    assert rendered[1] == [page.read_text(encoding="utf-8") for page in pages]  # the figures as written


@pytest.mark.docs
@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("<!-- bench:range suite=asgi rows=starlette unit=us -->1 to 2 µs<!-- /figure -->", "reads '1 to 2 µs'"),
        ("<!-- bench:range suite=asgi rows=starlette unit=us -->", "reads None"),
    ],
)
def test_a_written_figure_the_json_does_not_give_fails_the_build(written: str, problem: str) -> None:
    """A figure edited by hand, or a directive left without its value, stops `mkdocs build`."""
    figures = _figures_hook()
    from mkdocs.exceptions import PluginError

    page = type("Page", (), {"file": type("File", (), {"src_uri": "index.md"})()})()
    good = figures.render("Text <!-- bench:range suite=asgi rows=starlette unit=us --> more text.\n")
    assert figures.on_page_markdown(good, page, None, None) == good
    with pytest.raises(PluginError, match=re.escape(problem)):
        figures.on_page_markdown(f"Text {written} more text.\n", page, None, None)


@pytest.mark.docs
@pytest.mark.parametrize(
    "directive",
    [
        "<!-- bench:table suite=no-such-table -->",
        "<!-- bench:table rows=corsfast-c,nobody -->",
        "<!-- bench:range rows=corsfast-c scenarios=az -->",
        "<!-- bench:range rows=corsfast-c baseline=nobody -->",
        "<!-- bench:chart -->",
        "<!-- bench:table colour=red -->",
        "<!-- http-load:range server=nginx -->",
        "<!-- bench:range rows=corsfast-c of=p99 -->",
        "<!-- http-load:range of=p99 -->",
    ],
)
def test_a_figure_the_json_does_not_hold_fails_the_build(directive: str) -> None:
    figures = _figures_hook()
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError):
        figures.render(f"Text {directive} more text.\n")


# -- the built site, as a reader sees it -----------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served_site(site: Path) -> Iterator[str]:
    """Serve the built site on 127.0.0.1 (a free port) for the length of the module."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Return the width, height and pixel rows (RGB or RGBA bytes) of an 8-bit truecolour PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    position, data, header = 8, b"", b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, chunk = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            data += chunk
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    size = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(data), width * size, [], bytearray(width * size)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def assert_not_blank(png: bytes) -> None:
    """The screenshot has many colours, and no single colour covers almost all of it."""
    width, height, rows = png_pixels(png)
    size = len(rows[0]) // width
    counts: dict[bytes, int] = {}
    for row in rows[::4]:
        for x in range(0, len(row), size * 4):
            pixel = row[x : x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    assert len(counts) > 50, f"only {len(counts)} colours in a {width}x{height} screenshot"
    assert max(counts.values()) / total < 0.9, "one colour covers more than 90% of the screenshot"


PAGE_STATE = """
const image = document.querySelector('img[src$="figures/asgi.png"]');
const header = document.querySelector('header.md-header');
return {
  ready: document.readyState,
  header: header !== null,
  headerColour: header ? getComputedStyle(header).backgroundColor : null,
  navLinks: Array.from(document.querySelectorAll('nav.md-nav--primary a.md-nav__link'))
    .filter(a => a.offsetParent !== null).map(a => a.textContent.trim()),
  activeLink: (document.querySelector('nav.md-nav--primary .md-nav__link--active') || {}).textContent,
  image: image ? {complete: image.complete, naturalWidth: image.naturalWidth, shownWidth: image.clientWidth} : null,
  tables: document.querySelectorAll('article table').length,
  highlighted: document.querySelectorAll('article .highlight').length,
  title: document.title,
};
"""


@pytest.mark.browser
@pytest.mark.docs
def test_a_reader_sees_the_theme_the_chart_and_the_navigation(served_site: str, tmp_path: Path) -> None:
    """Headless Chromium opens the home page and the FastAPI/Starlette page of the built site."""
    with docs_browser() as browser:
        driver = browser.driver
        driver.set_window_size(1400, 1000)  # wide enough for Material's navigation sidebar

        browser.navigate(served_site + "/")
        home = driver.execute_script(PAGE_STATE)
        assert home["ready"] == "complete" and home["header"], home
        red, green, blue = map(int, re.findall(r"\d+", home["headerColour"])[:3])
        assert blue > red + 60 and blue > green + 60, home  # Material's indigo header: the theme's CSS loaded
        assert {"Installation", "FastAPI and Starlette", "Kui", "Security"} <= set(home["navLinks"]), home
        assert home["image"] and home["image"]["complete"] and home["image"]["naturalWidth"] > 0, home
        assert home["image"]["shownWidth"] > 300, home
        assert home["tables"] >= 1 and home["highlighted"] >= 1, home
        (tmp_path / "home.png").write_bytes(driver.get_screenshot_as_png())
        assert_not_blank((tmp_path / "home.png").read_bytes())
        driver.execute_script("document.querySelector('img[src$=\"figures/asgi.png\"]').scrollIntoView();")
        (tmp_path / "home-chart.png").write_bytes(driver.get_screenshot_as_png())
        assert_not_blank((tmp_path / "home-chart.png").read_bytes())

        browser.navigate(served_site + "/frameworks/starlette/")
        page = driver.execute_script(PAGE_STATE)
        assert page["title"].startswith("FastAPI and Starlette"), page
        assert (page["activeLink"] or "").strip() == "FastAPI and Starlette", page
        assert page["tables"] >= 2 and page["highlighted"] >= 5, page
        figures = driver.execute_script(
            "return Array.from(document.querySelectorAll('article table')).map(t => t.innerText).join('\\n');"
        )
        assert "corsfast.starlette compiled" in figures and "Starlette CORSMiddleware" in figures
        (tmp_path / "starlette.png").write_bytes(driver.get_screenshot_as_png())
        assert_not_blank((tmp_path / "starlette.png").read_bytes())


# -- the charts, legible on a laptop and on a phone ----------------------------------------

LEGIBLE_PX = 9.0
"""The smallest text height, in CSS pixels, a reader is asked to read on a chart."""
WIDTHS = {"laptop": (1280, 900), "phone": (390, 844)}

CHART_STATE = """
const root = document.documentElement;
return {
  ready: document.readyState,
  viewport: root.clientWidth,
  scrollWidth: root.scrollWidth,
  charts: Array.from(document.querySelectorAll('article img[src*="figures/"]')).map(img => {
    const box = img.getBoundingClientRect();
    return {src: img.getAttribute('src'), complete: img.complete, naturalWidth: img.naturalWidth,
            shown: box.width, left: box.left, right: box.right};
  }),
};
"""


def test_every_chart_is_shown_beside_its_table_and_drawn() -> None:
    """Each chart in docs/figures/ is on a page, and each page's chart names one that is drawn."""
    drawn = {p.name for p in (DOCS / "figures").glob("*.png")}
    assert {"asgi.png", "django.png", "flask.png", "wsgi.png", "http-load.png"} <= set(CHARTS), CHARTS
    assert set(CHARTS) <= drawn, set(CHARTS) - drawn
    assert "index.md" in CHART_PAGES


@pytest.mark.browser
@pytest.mark.docs
def test_charts_are_legible_on_a_laptop_and_on_a_phone(served_site: str, tmp_path: Path) -> None:
    """Headless Chromium at 1280 and 390 CSS pixels wide opens every page that shows a chart.

    The page has no horizontal overflow; each chart is loaded and fits the viewport, and at the
    width it is shown its smallest text (the size each PNG records, from the plot settings) is at
    least LEGIBLE_PX CSS pixels tall. The screenshots are saved in tmp_path.
    """
    from corsfast.bench.plot import smallest_font_px

    font_px = {}
    for name in CHARTS:
        recorded = smallest_font_px((DOCS / "figures" / name).read_bytes())
        assert recorded is not None, (
            f"docs/figures/{name} records no font size: draw it with scripts/figures.py --charts"
        )
        font_px[name] = recorded
    problems = []
    with docs_browser() as browser:
        driver = browser.driver
        for device, (width, height) in WIDTHS.items():
            driver.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": device == "phone"},
            )
            for page, names in CHART_PAGES.items():
                url = served_site + "/" + ("" if page == "index.md" else page.removesuffix(".md") + "/")
                browser.navigate(url)
                driver.execute_script(
                    "return Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));"
                )
                state = driver.execute_script(CHART_STATE)
                where = f"{page} at {width} px"
                assert state["ready"] == "complete", where
                shown = sorted(Path(chart["src"]).name for chart in state["charts"])
                assert shown == sorted(names), f"{where}: charts {shown}, the page has {names}"
                if state["scrollWidth"] > state["viewport"]:
                    problems.append(
                        f"{where}: the page scrolls sideways ({state['scrollWidth']} > {state['viewport']})"
                    )
                for chart in state["charts"]:
                    name = Path(chart["src"]).name
                    if not (chart["complete"] and chart["naturalWidth"] > 0):
                        problems.append(f"{where}: {name} did not load")
                        continue
                    if chart["left"] < 0 or chart["right"] > state["viewport"]:
                        problems.append(f"{where}: {name} overflows the viewport ({chart['left']}..{chart['right']})")
                    text_px = font_px[name] * chart["shown"] / chart["naturalWidth"]
                    if text_px < LEGIBLE_PX:
                        problems.append(f"{where}: {name}'s smallest text is {text_px:.1f} px tall (< {LEGIBLE_PX})")
                screenshot = tmp_path / f"{device}-{page.replace('/', '-').removesuffix('.md')}.png"
                driver.execute_script("document.querySelector('article img[src*=\"figures/\"]').scrollIntoView();")
                screenshot.write_bytes(driver.get_screenshot_as_png())
                assert_not_blank(screenshot.read_bytes())
    assert not problems, "\n".join(problems)
