"""Write the figures of README.md and docs/**/*.md from docs/bench.json and docs/http_load.json.

    python scripts/figures.py            # rewrite every figure in place
    python scripts/figures.py --check    # exit 1 if a figure differs from the JSON (or is not written)
    python scripts/figures.py --charts   # also draw docs/figures/*.png from the JSON (needs matplotlib)

The Markdown is read on GitHub and PyPI, where no hook runs, so its figures are written out:
each one sits between a directive of the site's figures hook (docs/hooks/figures.py, whose
docstring lists them) and `<!-- /figure -->`, as in `<!-- bench:range suite=asgi
rows=starlette unit=us -->6.7 to 10.5 µs<!-- /figure -->`. A new figure needs only its
directive: this script writes its value and the closing comment. The site's build and
tests/test_readme.py fail when a written figure differs from the JSON, so no number is
copied by hand or drifts from the JSON `corsfast bench --json` wrote.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _hook() -> Any:
    """Return the site's figures hook (docs/hooks/figures.py) as a module."""
    spec = importlib.util.spec_from_file_location("corsfast_docs_figures", DOCS / "hooks" / "figures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _hook()


def pages() -> list[Path]:
    """Return the Markdown files that hold figures: README.md and every page of docs/."""
    return [ROOT / "README.md", *sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.relative_to(DOCS).parts)]


def refreshed(path: Path) -> str:
    """Return the text of `path` with every figure written again from the JSON."""
    text = path.read_text(encoding="utf-8")
    if path.parent == ROOT:  # the README: links to the JSON go into docs/
        return str(hook.render(text, path.name, root="docs/"))
    return str(hook.render(text, path.relative_to(DOCS).as_posix()))


def draw_charts() -> list[str]:
    """Draw docs/figures/*.png: one chart per bench table, and the end-to-end chart."""
    from corsfast.bench.plot import plot, plot_http_load

    report = json.loads((DOCS / "bench.json").read_text(encoding="utf-8"))
    load = json.loads((DOCS / "http_load.json").read_text(encoding="utf-8"))
    return [*plot(report, str(DOCS / "figures")), plot_http_load(load, str(DOCS / "figures" / "http-load.png"))]


def main(argv: list[str]) -> int:
    stale = []
    for path in pages():
        text = path.read_text(encoding="utf-8")
        new = refreshed(path)
        if new == text:
            continue
        stale.append(path.relative_to(ROOT).as_posix())
        if "--check" not in argv:
            path.write_text(new, encoding="utf-8")
    if "--check" in argv:
        if stale:
            print(
                f"figures differ from docs/bench.json or docs/http_load.json in {', '.join(stale)}: "
                "run python scripts/figures.py"
            )
            return 1
        return 0
    if "--charts" in argv:
        print("\n".join(draw_charts()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
