"""The charts: one PNG per table, one row per contender, legible on a phone.

Each row shows a contender's overhead in every scenario of the table (one marker per
scenario) and the span from its smallest to its largest (a bar), on a log scale; the
contender's name is written above its row, so no legend is needed. A contender keeps its
colour and marker in every chart: the colour says what it is (corsfast compiled, its
pure-Python twin, the package a drop-in replaces, another package, a one-header wrapper),
from the Okabe-Ito palette, which colour-blind readers tell apart.

The figure is `WIDTH_IN` inches wide at `DPI` dots per inch and its smallest text is
`FONT_PT` points: `SMALLEST_FONT_PX` image pixels, written into each PNG as the text chunk
`SMALLEST_FONT_KEY`, so a page can check the size its readers see the text at.
"""

from __future__ import annotations

import importlib
import math
import os
import textwrap
from dataclasses import dataclass
from typing import Any, Optional

__all__ = (
    "DPI",
    "FONT_PT",
    "SMALLEST_FONT_KEY",
    "SMALLEST_FONT_PX",
    "WIDTH_IN",
    "charts",
    "plot",
    "plot_http_load",
)

WIDTH_IN = 5.5
DPI = 140
FONT_PT = 12.0
"""The smallest text of a chart (tick labels, names, notes); titles are larger."""
SMALLEST_FONT_PX = FONT_PT * DPI / 72
SMALLEST_FONT_KEY = "corsfast smallest font px"

# Okabe-Ito colours; a marker each, so a row reads without its colour too.
_BLUE, _SKY, _VERMILLION, _ORANGE = "#0072B2", "#56B4E9", "#D55E00", "#E69F00"
_PURPLE, _GREEN, _YELLOW, _BLACK = "#CC79A7", "#009E73", "#F0E442", "#000000"
_STYLES: dict[str, tuple[str, str]] = {
    "corsfast-c": (_BLUE, "o"),
    "corsfast-py": (_SKY, "s"),
    "replaced": (_VERMILLION, "^"),  # the package a drop-in replaces
    "wrapper": (_BLACK, "D"),  # the cheapest middleware: a wrapper adding one header
}
_REPLACED_FAMILIES = {"starlette", "django-cors-headers", "flask-cors", "kui"}
# Other packages, by contender id, so each keeps its style in every chart.
_OTHERS: dict[str, tuple[str, str]] = {"litestar": (_ORANGE, "v"), "asgi-cors": (_PURPLE, "P")}
_SPARE = ((_GREEN, "X"), (_YELLOW, "*"), (_ORANGE, "h"), (_PURPLE, "p"))

_LINE_IN = FONT_PT * 1.3 / 72  # one line of 12 pt text
_BAR_IN = 0.2
_ROW_GAP_IN = 0.14
_LABEL_CHARS = 52  # what fits on one line of the figure at FONT_PT


@dataclass(frozen=True)
class _Row:
    label: str
    style: tuple[str, str]
    values: list[float]


def style(contender: dict[str, Any]) -> tuple[str, str]:
    """Return the (colour, marker) of a contender of a `corsfast bench` report."""
    family = contender.get("family", "other")
    if family in ("corsfast-c", "corsfast-py"):
        return _STYLES[family]
    if family in _REPLACED_FAMILIES:
        return _STYLES["replaced"]
    if family == "floor":
        return _STYLES["wrapper"]
    cid = str(contender["id"])
    return _OTHERS.get(cid) or _SPARE[sum(map(ord, cid)) % len(_SPARE)]


def charts(section: dict[str, Any]) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Return a suite's charts: (file stem, floor's label, contenders), one per floor.

    A table is the contenders measured above the same floor: the ASGI suite's Kui rows,
    above a Kui app, make a chart of their own (`asgi-kui`).
    """
    by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
    labels = {c["id"]: c["label"] for c in section["contenders"]}
    groups: dict[str, list[dict[str, Any]]] = {}
    for contender in section["contenders"]:
        floor = contender.get("floor")
        measured = any(
            by_key.get((s["id"], contender["id"]), {}).get("overhead_ns") is not None for s in section["scenarios"]
        )
        if floor and measured:
            groups.setdefault(floor, []).append(contender)
    result = []
    for index, (floor, contenders) in enumerate(groups.items()):
        stem = section["id"] if index == 0 else f"{section['id']}-{floor.removesuffix('-bare')}"
        floor_label = labels.get(floor, floor).split(" (floor")[0]
        result.append((stem, floor_label, contenders))
    return result


def plot(report: dict[str, Any], directory: str) -> list[str]:
    """Draw one chart per table of a `corsfast bench` report into `directory`; return the paths.

    A chart is named after its suite (`asgi.png`), or after its suite and floor when a
    suite measures some rows above another floor (`asgi-kui.png`: the Kui rows).
    """
    suites = report.get("suites") or {"asgi": {**report, "id": "asgi", "title": "ASGI middleware cost"}}
    os.makedirs(directory, exist_ok=True)
    written = []
    for section in suites.values():
        by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
        scenario_ids = [s["id"] for s in section["scenarios"]]
        for stem, floor_label, contenders in charts(section):
            rows = [
                _Row(
                    c["label"],
                    style(c),
                    [
                        by_key[(s, c["id"])]["overhead_ns"]
                        for s in scenario_ids
                        if by_key.get((s, c["id"]), {}).get("overhead_ns") is not None
                    ],
                )
                for c in contenders
            ]
            title = section["title"] if stem == section["id"] else f"{section['title']}: {floor_label}"
            letters = "".join(scenario_ids)
            path = os.path.join(directory, f"{stem}.png")
            _draw(
                title,
                [
                    f"Overhead above the {floor_label}, ns per request, log scale. "
                    f"A marker per scenario ({letters[0]} to {letters[-1]}); the bar spans them.",
                ],
                rows,
                path,
                log=True,
            )
            written.append(path)
    if not written:
        raise ValueError("nothing to plot")
    return written


def plot_http_load(report: dict[str, Any], path: str) -> str:
    """Draw the end-to-end chart of a `benchmarks/http_load.py` report: req/s as a fraction of bare."""
    names = {
        "corsfast": ("behind corsfast", "corsfast-c"),
        "starlette": ("behind Starlette's CORSMiddleware", "starlette"),
        "corsfast.aiohttp": ("with corsfast.aiohttp", "corsfast-c"),
        "aiohttp-cors": ("with aiohttp-cors", "aiohttp-cors"),
    }
    rows = []
    servers = list(dict.fromkeys(r["server"] for r in report["rows"]))
    for server in servers:
        for contender, (phrase, family) in names.items():
            values = [
                r["ratio_to_bare"] for r in report["rows"] if r["server"] == server and r["contender"] == contender
            ]
            if values:
                rows.append(_Row(f"{server}, {phrase}", style({"id": contender, "family": family}), values))
    if not rows:
        raise ValueError("nothing to plot")
    _draw(
        "End to end: requests per second",
        [
            "As a fraction of the same server's bare app (1.0, dashed). A marker per scenario; the bar spans them.",
        ],
        rows,
        path,
        log=False,
    )
    return path


def _draw(title: str, notes: list[str], rows: list[_Row], path: str, log: bool) -> None:
    importlib.import_module("matplotlib").use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    ticker: Any = importlib.import_module("matplotlib.ticker")

    values = [v for row in rows for v in row.values]
    wrapped = [textwrap.wrap(row.label, _LABEL_CHARS) or [""] for row in rows]
    title_lines = textwrap.wrap(title, 44)
    note_lines = [line for note in notes for line in textwrap.wrap(note, 58)]
    top_in = 0.15 + len(title_lines) * 1.3 * 14 / 72 + len(note_lines) * _LINE_IN + 0.15
    axes_in = sum(len(lines) * _LINE_IN + _BAR_IN + _ROW_GAP_IN for lines in wrapped) + _ROW_GAP_IN
    clamped = log and min(values) <= 0
    bottom_in = 0.85 if clamped else 0.55
    height_in = top_in + axes_in + bottom_in
    fig = plt.figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    left, right = 0.06, 0.08
    ax = fig.add_axes((left, bottom_in / height_in, 1 - left - right, axes_in / height_in))
    fig.text(0.03, 1 - 0.15 / height_in, "\n".join(title_lines), fontsize=FONT_PT + 2, weight="bold", va="top")
    fig.text(
        0.03,
        1 - (0.2 + len(title_lines) * 1.3 * 14 / 72) / height_in,
        "\n".join(note_lines),
        fontsize=FONT_PT,
        va="top",
        linespacing=1.2,
    )

    if log:
        positive = [v for v in values if v > 0] or [1.0]
        low = 10 ** math.floor(math.log10(min(positive) * 0.8))
        high = 10 ** math.ceil(math.log10(max(positive) * 1.25))
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    else:
        low, high = 0.0, max(1.1, max(values) * 1.05)
        ax.axvline(1.0, color=_BLACK, linestyle="--", linewidth=1.2)
    ax.set_xlim(low, high)
    y = _ROW_GAP_IN
    for row, lines in zip(rows, wrapped):
        ax.text(0.01, y, "\n".join(lines), transform=ax.get_yaxis_transform(), fontsize=FONT_PT, va="top")
        centre = y + len(lines) * _LINE_IN + _BAR_IN / 2
        colour, marker = row.style
        shown = [max(v, low) for v in row.values]
        ax.barh(centre, max(shown) - min(shown), left=min(shown), height=_BAR_IN * 0.55, color=colour, alpha=0.35)
        below = [v <= 0 for v in row.values]
        ax.scatter(
            shown,
            [centre] * len(shown),
            s=(FONT_PT * 0.75) ** 2,
            marker=marker,
            facecolors=["white" if b else colour for b in below],
            edgecolors=_BLACK if colour != _BLACK else "#666666",
            linewidths=0.8,
            zorder=3,
        )
        y += len(lines) * _LINE_IN + _BAR_IN + _ROW_GAP_IN
    ax.set_ylim(y, 0)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=FONT_PT)
    ax.grid(axis="x", which="major", alpha=0.4)
    ax.set_axisbelow(True)
    if clamped:
        ax.set_xlabel("hollow marker at the left edge: zero or below (noise)", fontsize=FONT_PT)
    fig.savefig(path, dpi=DPI, metadata={SMALLEST_FONT_KEY: f"{SMALLEST_FONT_PX:.1f}"})
    plt.close(fig)


def smallest_font_px(png: bytes) -> Optional[float]:
    """Return the smallest font size, in image pixels, a chart's PNG records (None: not one of ours)."""
    position = 8
    while position + 8 <= len(png):
        length = int.from_bytes(png[position : position + 4], "big")
        kind, chunk = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        if kind == b"tEXt":
            key, _, value = chunk.partition(b"\0")
            if key.decode("latin-1") == SMALLEST_FONT_KEY:
                return float(value)
        position += 12 + length
    return None
