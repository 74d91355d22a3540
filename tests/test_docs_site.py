"""The built documentation site reads well: no sideways scrolling, nothing from the network, a repository link.

- Headless Chromium opens every page of the built site at 1280 px (a laptop) and finds no
  code block or table wider than its box, and no page wider than a 390 px phone screen
  (markers `browser` and `docs`); without a browser, code lines are checked against the
  widths that fit (80 characters on the site, 88 in the README on GitHub).
- The built HTML loads no script, stylesheet or font from another host: the site reads well
  offline (marker `docs`).
- The repository link in the header comes from `CORSFAST_REPO_URL`; without it there is none.
- The diagram on "How it works" is an SVG drawn from the Graphviz source kept beside it, and
  is current with that source.
"""

from __future__ import annotations

import html.parser
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_docs import BLOCKS, FENCE, _is_ci, build_site, docs_browser, needs_mkdocs, served_site, site

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
if not (ROOT / "mkdocs.yml").is_file():  # pragma: no cover - an installed wheel's tests run without the docs
    pytest.skip("no mkdocs.yml and docs/ beside the tests", allow_module_level=True)

__all__ = ["served_site", "site"]  # the fixtures, shared with tests/test_docs.py


def built_pages(site: Path) -> list[str]:
    """Return the site's pages as URL paths ("/", "/install/", ...), the 404 page left out."""
    paths = (page.parent.relative_to(site).as_posix() for page in site.rglob("index.html"))
    return sorted("/" if path == "." else f"/{path}/" for path in paths)


# -- nothing from another host ---------------------------------------------------------------


class _Resources(html.parser.HTMLParser):
    """Collect the addresses a page loads: scripts, stylesheets, fonts, preloads, images."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag in ("script", "img", "iframe", "source", "embed") and values.get("src"):
            self.loaded.append(values["src"])
        elif tag == "link":
            rel = set(values.get("rel", "").lower().split())
            if rel & {"stylesheet", "preload", "modulepreload", "preconnect", "dns-prefetch", "icon"}:
                self.loaded.append(values.get("href", ""))


EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)


@pytest.mark.docs
def test_the_site_loads_nothing_from_another_host(site: Path) -> None:
    """No page's script, stylesheet, font or image comes from a CDN: the site reads well offline."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 15, pages
    external = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        parser = _Resources()
        parser.feed(text)
        external += [f"{page.relative_to(site)}: {url}" for url in parser.loaded if EXTERNAL.match(url)]
        # A stylesheet's @import or url() would fetch as well.
        external += [
            f"{page.relative_to(site)}: {url}"
            for url in re.findall(r"""(?:@import\s+|url\()\s*["']?((?:https?:)?//[^"')\s]+)""", text)
        ]
    for stylesheet in site.rglob("*.css"):
        text = stylesheet.read_text(encoding="utf-8")
        external += [
            f"{stylesheet.relative_to(site)}: {url}"
            for url in re.findall(r"""(?:@import\s+|url\()\s*["']?((?:https?:)?//[^"')\s]+)""", text)
        ]
    assert not external, "\n".join(external)
    # Material's script fetches mermaid.js from a CDN for any `mermaid` block on a page.
    mermaid = [str(page.relative_to(site)) for page in pages if 'class="mermaid"' in page.read_text(encoding="utf-8")]
    assert not mermaid, f"a Mermaid diagram loads mermaid.js from a CDN: {mermaid}"
    # The How it works diagram is there, as an image from the site itself.
    how = (site / "how-it-works" / "index.html").read_text(encoding="utf-8")
    assert 'src="../how-it-works.svg"' in how
    assert (site / "how-it-works.svg").stat().st_size > 5_000


# -- the repository link ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def linked_site() -> Iterator[Path]:
    """The site built with CORSFAST_REPO_URL=https://example.invalid/corsfast."""
    needs_mkdocs()
    with tempfile.TemporaryDirectory(prefix="corsfast-site-linked-") as temporary:
        output = Path(temporary) / "site"
        build_site(output, CORSFAST_REPO_URL="https://example.invalid/corsfast")
        yield output


HEADER_SOURCE = re.compile(r'<div class="md-header__source">\s*<a href="(?P<url>[^"]*)"')


@pytest.mark.docs
def test_the_repository_link_is_the_one_the_build_was_given(linked_site: Path) -> None:
    for page in ("index.html", "install/index.html", "reference/api/index.html"):
        text = (linked_site / page).read_text(encoding="utf-8")
        match = HEADER_SOURCE.search(text)
        assert match and match["url"] == "https://example.invalid/corsfast", f"{page}: {match}"


@pytest.mark.docs
def test_without_a_repository_url_the_site_has_no_repository_link(site: Path) -> None:
    """The default build (no CORSFAST_REPO_URL) has no header link, so no link to nowhere."""
    assert "CORSFAST_REPO_URL" not in os.environ or pytest.skip("CORSFAST_REPO_URL is set here")
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "md-header__source" not in text, page
        assert 'href="None"' not in text and "md-source" not in text, page


# -- the diagram -----------------------------------------------------------------------------


def test_the_diagram_is_current_with_its_graphviz_source() -> None:
    """docs/how-it-works.svg was drawn from docs/how-it-works.dot as it is now (scripts/diagrams.py)."""
    spec = importlib.util.spec_from_file_location("corsfast_diagrams", ROOT / "scripts" / "diagrams.py")
    assert spec is not None and spec.loader is not None
    diagrams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diagrams)
    stale = diagrams.stale()
    assert not stale, f"redraw with `python scripts/diagrams.py`: {stale}"
    # Every box of the source is in the drawing, as text a reader (and a search) can find.
    svg = (DOCS / "how-it-works.svg").read_text(encoding="utf-8")
    for label in ("CORSMiddleware", "(Kui dialect)", "CORSPolicy(options)", "bounded origin cache"):
        assert label in svg
    # The page shows it, and the page says where it comes from.
    page = (DOCS / "how-it-works.md").read_text(encoding="utf-8")
    assert "](how-it-works.svg)" in page and "```mermaid" not in page


def test_no_page_has_a_mermaid_block() -> None:
    """The site renders no Mermaid (mermaid.js would come from a CDN): a diagram is a .dot and its SVG."""
    mermaid = [block.id for block in BLOCKS if block.lang == "mermaid"]
    assert not mermaid, f"draw these with Graphviz (docs/*.dot, scripts/diagrams.py): {mermaid}"


@pytest.mark.docs
def test_the_diagram_redraws_the_same_from_its_source(tmp_path: Path) -> None:
    """Drawing the source again with Graphviz (the docs job installs it) gives the committed SVG's boxes."""
    if shutil.which("dot") is None:
        message = "Graphviz's dot is not installed (apt-get install graphviz; scripts/setup.sh does)"
        if _is_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    spec = importlib.util.spec_from_file_location("corsfast_diagrams", ROOT / "scripts" / "diagrams.py")
    assert spec is not None and spec.loader is not None
    diagrams = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(diagrams)
    drawn = diagrams.draw(DOCS / "how-it-works.dot")
    committed = (DOCS / "how-it-works.svg").read_text(encoding="utf-8")
    text = re.compile(r"<text[^>]*>([^<]*)</text>")
    assert text.findall(drawn) == text.findall(committed)


# -- no sideways scrolling -------------------------------------------------------------------

SITE_CODE_WIDTH = 80
"""Characters of code that fit a code block at 1280 px (the browser test below measures it)."""
README_CODE_WIDTH = 88
"""Characters of code that fit a code block on GitHub's page (about 830 px of content)."""


def test_code_lines_fit_the_page() -> None:
    """Written code (not a program's printed output, which wraps) fits without sideways scrolling.

    The quick check behind the browser test: docs' `python`, `diff`, `bash` and `promql`
    lines are at most 80 characters; the README's code lines and commands at most 88 (GitHub
    shows it narrower and does not wrap). A command's output is what the program prints.
    """
    long = [
        f"docs/{block.page}:{block.line + number}: {len(line)} characters"
        for block in BLOCKS
        if block.lang in ("python", "diff", "bash", "promql")
        for number, line in enumerate(block.source.splitlines(), start=1)
        if len(line) > SITE_CODE_WIDTH
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for match in FENCE.finditer(readme):
        first = readme.count("\n", 0, match.start()) + 1
        lines = match["body"].splitlines()
        if match["lang"] == "console":  # the commands, and the lines that continue them
            lines = [
                line if line.startswith("$ ") or previous.endswith("\\") else ""
                for previous, line in zip(["", *lines], lines)
            ]
        long += [
            f"README.md:{first + number}: {len(line)} characters"
            for number, line in enumerate(lines, start=1)
            if len(line) > README_CODE_WIDTH
        ]
    assert not long, "break these lines (a trailing comment goes above the line):\n" + "\n".join(long)


OVERFLOWS = """
const wide = (el) => el.scrollWidth > el.clientWidth + 1;
const offenders = [];
const note = (kind, el, text) => offenders.push(
  kind + ' (' + el.scrollWidth + ' px in ' + el.clientWidth + '): ' + text.trim().replace(/\\s+/g, ' ').slice(0, 70));
document.querySelectorAll('article pre, article pre > code').forEach(el => {
  if (wide(el)) note('code', el, el.textContent);
});
document.querySelectorAll('article table, article .md-typeset__scrollwrap, article .md-typeset__table').forEach(el => {
  if (wide(el)) note('table', el, el.innerText);
});
const root = document.scrollingElement;
return {ready: document.readyState, offenders: Array.from(new Set(offenders)),
        page: root.scrollWidth > root.clientWidth ? root.scrollWidth + ' px in ' + root.clientWidth : null};
"""


@pytest.mark.browser
@pytest.mark.docs
def test_no_page_scrolls_sideways_on_a_laptop_or_a_phone(site: Path, served_site: str, tmp_path: Path) -> None:
    """At 1280x900 no code block or table of any page scrolls; at 390 px no page is wider than the screen."""
    pages = built_pages(site)
    assert "/" in pages and "/frameworks/starlette/" in pages and len(pages) >= 15, pages
    problems: list[str] = []
    with docs_browser() as browser:
        driver = browser.driver
        for width, height in ((1280, 900), (390, 844)):
            driver.set_window_size(width, height)
            # The window's outer size includes no frame in headless mode; check the viewport.
            viewport = driver.execute_script("return window.innerWidth;")
            assert abs(viewport - width) <= 20, (width, viewport)
            for page in pages:
                browser.navigate(served_site + page)
                state = driver.execute_script(OVERFLOWS)
                assert state["ready"] == "complete", (page, state)
                if width == 1280:
                    problems += [f"{page} at {width} px: {offender}" for offender in state["offenders"]]
                if state["page"]:
                    problems.append(f"{page} at {width} px: the page is wider than the screen ({state['page']})")
            if width == 1280:
                browser.navigate(served_site + "/frameworks/starlette/")
                (tmp_path / f"starlette-{width}.png").write_bytes(driver.get_screenshot_as_png())
    assert not problems, f"{len(problems)} blocks scroll sideways:\n" + "\n".join(problems)
