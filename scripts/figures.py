"""Refresh the README's figures from docs/bench.json and docs/http_load.json.

    python scripts/readme_figures.py          # rewrite README.md in place
    python scripts/readme_figures.py --check  # exit 1 if a figure differs from the JSON

The README is read on GitHub and PyPI, where no hook runs, so its figures are written out;
each one sits between a directive of the site's figures hook (docs/hooks/figures.py) and
`<!-- /figure -->`, as in `<!-- bench:range suite=asgi rows=starlette unit=us -->6.7 to 10.5
µs<!-- /figure -->`. This script renders each directive as the site does and puts the result
in between; tests/test_readme.py fails when they differ, so no README number is copied by
hand or drifts from the JSON `corsfast bench --json` wrote.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs" / "hooks"))

import figures  # noqa: E402  (the site's hook, beside the docs)

FIGURE = re.compile(
    r"(?P<open><!--\s*(?P<kind>bench|http-load):(?P<name>[a-z-]+)(?P<args>[^>]*?)\s*-->)"
    r"(?P<value>.*?)(?P<close><!-- /figure -->)",
    re.DOTALL,
)


def refreshed(text: str) -> str:
    """Return `text` with the value of every README figure rendered again from the JSON."""

    def replace(match: re.Match[str]) -> str:
        source, renderer, allowed = figures.RENDERERS[(match["kind"], match["name"])]
        arguments = figures._arguments(match["args"], allowed)
        arguments["_root"] = "docs/"
        value = renderer(figures.load(source), arguments)
        if "\n" in value:  # a table: on lines of its own, so Markdown renders it
            value = "\n\n" + value.strip("\n") + "\n\n"
        return match["open"] + value + match["close"]

    return FIGURE.sub(replace, text)


def main(argv: list[str]) -> int:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = refreshed(text)
    if "--check" in argv:
        if new != text:
            print("README.md figures differ from docs/bench.json: run python scripts/readme_figures.py")
            return 1
        return 0
    readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
