"""The chart: per suite, a grouped bar chart of overhead per scenario and contender (log scale)."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ("plot",)

# Colours (indices into matplotlib's tab20) for contenders a suite leaves unnamed.
_FAMILY_COLOURS = {"corsfast-c": 0, "corsfast-py": 1, "floor": 5}
_OTHER_COLOURS = (8, 10, 14, 12, 16, 18, 2, 4, 6, 9)


def plot(report: dict[str, Any], path: str) -> None:
    """Draw a grouped bar chart of overhead per scenario and contender (log scale) into `path`,
    one panel per suite, stacked."""
    importlib.import_module("matplotlib").use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    sections = [s for s in report["suites"].values() if _shown(s)]
    if not sections:
        raise ValueError("nothing to plot")
    width = max(max(9.0, 1.6 * len(s["scenarios"]) + 2) for s in sections)
    fig, axes = plt.subplots(len(sections), 1, figsize=(width, 7.0 * len(sections)), dpi=110, squeeze=False)
    for ax, section in zip(axes[:, 0], sections):
        _draw(plt, ax, report, section, alone=len(sections) == 1)
    notes = [s["plot_note"] for s in sections if s.get("plot_note")]
    fig.text(0.01, 0.01, " ".join([*notes, "Overheads <= 1 ns drawn at 1 ns (cross-hatched)."]), fontsize=7)
    if len(sections) == 1:
        fig.tight_layout()
    else:  # keep the last legend clear of the note under the panels
        fig.tight_layout(rect=(0.0, 0.3 / (7.0 * len(sections)), 1.0, 1.0))
    fig.savefig(path)
    plt.close(fig)


def _shown(section: dict[str, Any]) -> list[str]:
    """Return the ids of the contenders with at least one overhead in `section`."""
    by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
    scenario_ids = [s["id"] for s in section["scenarios"]]
    return [
        c["id"]
        for c in section["contenders"]
        if any(by_key.get((s, c["id"]), {}).get("overhead_ns") is not None for s in scenario_ids)
    ]


def _colours(section: dict[str, Any], shown: list[str], palette: Any) -> dict[str, Any]:
    """Return a colour per contender: the suite's own choice, else by family, else in turn."""
    from .suite import get_suite

    try:
        named: dict[str, int] = get_suite(section["id"]).colours
    except KeyError:
        named = {}
    families = {c["id"]: c.get("family", "other") for c in section["contenders"]}
    others = iter(_OTHER_COLOURS * (1 + len(shown) // len(_OTHER_COLOURS)))
    colours = {}
    for contender_id in shown:
        if contender_id in named:
            index = named[contender_id]
        elif not named and families.get(contender_id) in _FAMILY_COLOURS:
            index = _FAMILY_COLOURS[families[contender_id]]
        elif not named:
            index = next(others)
        else:
            index = 15  # a row added to a suite that names its colours
        colours[contender_id] = palette(index)
    return colours


def _draw(plt: Any, ax: Any, report: dict[str, Any], section: dict[str, Any], alone: bool) -> None:
    labels = {c["id"]: c["label"] for c in section["contenders"]}
    hatched = {c["id"] for c in section["contenders"] if c.get("family") == "floor" and c.get("floor")}
    by_key = {(r["scenario"], r["contender"]): r for r in section["results"]}
    scenario_ids = [s["id"] for s in section["scenarios"]]
    ticks = [f"({s['id']}) {s['title']}" for s in section["scenarios"]]
    shown = _shown(section)
    group_width = 0.86
    bar_width = group_width / len(shown)
    colours = _colours(section, shown, plt.get_cmap("tab20"))
    smallest = min(
        max(by_key[(s, c)]["overhead_ns"], 1.0)
        for s in scenario_ids
        for c in shown
        if (s, c) in by_key and by_key[(s, c)]["overhead_ns"] is not None
    )
    highlight = section.get("highlight")
    for index, contender_id in enumerate(shown):
        xs, heights, clipped = [], [], []
        for position, sid in enumerate(scenario_ids):
            row = by_key.get((sid, contender_id))
            if row is None or row["overhead_ns"] is None:
                continue
            xs.append(position - group_width / 2 + (index + 0.5) * bar_width)
            heights.append(max(row["overhead_ns"], 1.0))
            clipped.append(row["overhead_ns"] < 1.0)
        bars = ax.bar(
            xs,
            heights,
            bar_width * 0.92,
            label=labels[contender_id],
            color=colours[contender_id],
            edgecolor="black",
            linewidth=0.3,
            hatch="//" if contender_id in hatched else None,
        )
        for bar, was_clipped in zip(bars, clipped):
            if was_clipped:
                bar.set_hatch("xx")
        if contender_id == highlight:
            for bar, sid in zip(bars, [s for s in scenario_ids if by_key.get((s, contender_id))]):
                ratio = by_key[(sid, contender_id)]["ratio_to_baseline"]
                if ratio is not None:
                    ax.annotate(
                        f"{ratio:.2f}x",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        xytext=(0, 2),
                        textcoords="offset points",
                        ha="center",
                        va="bottom",
                        fontsize=6,
                        rotation=90,
                    )
    ax.set_yscale("log")
    ax.set_ylim(bottom=smallest / 2)
    ax.set_xticks(range(len(scenario_ids)))
    ax.set_xticklabels(ticks, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel(section["plot_ylabel"])
    run = section.get("run") or report  # a suite measured in a run of its own carries that run's details
    machine = run["machine"]
    highlighted = (
        f"; label on {labels[highlight]} = its overhead / {section['baseline_label']}'s" if highlight in labels else ""
    )
    ax.set_title(
        f"{'CORS middleware overhead' if alone else section['title']} per request: medians of "
        f"{run['settings']['rounds']} interleaved rounds, one process\n{machine['cpu']}, {machine['cores']} "
        f"cores, {machine['python']}, corsfast {run['versions'].get('corsfast')}{highlighted}",
        fontsize=9,
    )
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.set_axisbelow(True)
    # As many columns as the longest label leaves room for: a subclass table's labels are long.
    longest = max((len(label) for label in ax.get_legend_handles_labels()[1]), default=0)
    ncol = 4 if longest <= 45 else 3 if longest <= 60 else 2
    ax.legend(fontsize=7, ncol=ncol, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
