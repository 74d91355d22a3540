"""MkDocs hook: every figure on the site is the one `docs/bench.json` and `docs/http_load.json` hold.

A figure is written in the page, between a directive (an HTML comment naming what it shows)
and `<!-- /figure -->`, so the Markdown reads the same on GitHub, where no hook runs, as on
the site; `python scripts/figures.py` writes every figure of README.md and docs/ from the
JSON that `corsfast bench --json` and `benchmarks/http_load.py --json` wrote, and this hook
fails the build when a page's figure differs from what the JSON gives (or is not written):

    <!-- bench:range suite=asgi rows=starlette unit=us -->6.4 to 10.0 µs<!-- /figure -->

The directives:

    <!-- bench:table suite=asgi rows=corsfast-c,corsfast-py,starlette baseline=starlette -->
        a Markdown table: overhead in ns per request above each row's floor and, in
        parentheses, the fraction of the baseline row's overhead in the same scenario;
        `scenarios=abd` picks columns, `bold=ID,...` the highlighted rows (default: the
        compiled corsfast rows); a caption with the method follows the table.
    <!-- bench:range suite=asgi rows=corsfast-c baseline=starlette -->   "0.052 to 0.094"
        (`baseline=row`: each row's own baseline, as a suite with per-row baselines records it)
    <!-- bench:range suite=asgi rows=starlette unit=us -->               "4.6 to 7.2 µs"
        the smallest and largest value over the rows and scenarios (inline);
        `of=iqr`: of the overheads' spread over rounds (interquartile range) instead.
    <!-- bench:setup -->           the machine, Python, peers' versions and rounds (inline)
    <!-- bench:scenarios suite=asgi -->   the table's scenarios (request, configuration)
    <!-- bench:targets suite=asgi -->     the table's speed targets and whether the run met them
    <!-- http-load:table -->       the end-to-end table (uvicorn, granian; `server=aiohttp`: aiohttp's)
    <!-- http-load:range server=uvicorn contender=corsfast -->   "0.965 to 1.081" (x bare req/s)
        `of=spread`: how much the row's req/s vary over rounds, "11 to 18 %" of its median
    <!-- http-load:setup -->       the end-to-end run's servers, connections and rounds (inline)

A directive that names an unknown suite, row, scenario or option fails the build: a page
never shows a figure the JSON does not hold. `bench.json` files written before the bench had
several suites hold the ASGI table at the top level; both layouts are read.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any, Callable, Optional

from mkdocs.exceptions import PluginError

DOCS = Path(__file__).resolve().parent.parent
DIRECTIVE = re.compile(r"<!--\s*(?P<kind>bench|http-load):(?P<name>[a-z-]+)(?P<args>[^>]*?)\s*-->")
CLOSE = "<!-- /figure -->"
# A directive, then its written value and the closing comment when it has them (a value never
# holds another directive, so a directive without its value does not swallow the next figure).
FIGURE = re.compile(
    r"(?P<before>\n*)(?P<open>" + DIRECTIVE.pattern + r")"
    r"(?:(?P<value>(?:(?!<!--\s*(?:bench|http-load):).)*?)" + re.escape(CLOSE) + r"(?P<after>\n*))?",
    re.DOTALL,
)

_cache: dict[Path, tuple[float, Any]] = {}


def load(name: str) -> Any:
    """Return the parsed JSON file `docs/NAME` (re-read when it changes, for `mkdocs serve`)."""
    path = DOCS / name
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, json.loads(path.read_text(encoding="utf-8")))
        _cache[path] = cached
    return cached[1]


def _arguments(text: str, allowed: set[str]) -> dict[str, str]:
    """Return the `key=value` arguments of a directive, refusing keys it does not take."""
    result: dict[str, str] = {}
    for item in shlex.split(text):
        key, equals, value = item.partition("=")
        if not equals or key not in allowed:
            raise ValueError(f"unknown argument {item!r} (takes {', '.join(sorted(allowed)) or 'none'})")
        result[key] = value
    return result


def _ids(value: Optional[str]) -> list[str]:
    return [item for item in (value or "").split(",") if item]


# -- corsfast bench ------------------------------------------------------------------------


def section(report: dict[str, Any], suite: str) -> dict[str, Any]:
    """Return one suite's table of a `corsfast bench --json` report."""
    suites = report.get("suites")
    if suites is None:  # the first layout: one (ASGI) table at the top level
        if suite != "asgi":
            raise ValueError(f"suite {suite!r} is not in bench.json (it holds only the 'asgi' table)")
        return report
    if suite not in suites:
        raise ValueError(f"suite {suite!r} is not in bench.json (it has {', '.join(suites)})")
    return suites[suite]  # type: ignore[no-any-return]


def _overheads(table: dict[str, Any]) -> dict[tuple[str, str], Optional[float]]:
    return {(r["scenario"], r["contender"]): r["overhead_ns"] for r in table["results"]}


def _iqrs(table: dict[str, Any]) -> dict[tuple[str, str], Optional[float]]:
    return {(r["scenario"], r["contender"]): r["overhead_iqr_ns"] for r in table["results"]}


def _scenarios(table: dict[str, Any], letters: Optional[str]) -> list[dict[str, Any]]:
    known = {s["id"]: s for s in table["scenarios"]}
    if letters is None:
        return list(table["scenarios"])
    unknown = [letter for letter in letters if letter not in known]
    if unknown:
        raise ValueError(f"unknown scenarios {unknown} (the table has {''.join(known)})")
    return [known[letter] for letter in letters]


def _contenders(table: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    known = {c["id"]: c for c in table["contenders"]}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown rows {unknown} (the table has {', '.join(known)})")
    return [known[i] for i in ids]


def ratio(table: dict[str, Any], scenario: str, contender: str, baseline: str) -> Optional[float]:
    """Return a row's overhead as a fraction of the baseline's in the same scenario (as the bench does).

    `baseline="row"` takes each row's own baseline, as the bench recorded it (`ratio_to_baseline`).
    """
    if baseline == "row":
        for result in table["results"]:
            if result["scenario"] == scenario and result["contender"] == contender:
                if "ratio_to_baseline" not in result:
                    raise ValueError("baseline=row needs a bench.json with per-row baselines (suites)")
                return result["ratio_to_baseline"]  # type: ignore[no-any-return]
        return None
    overhead = _overheads(table)
    value, reference = overhead.get((scenario, contender)), overhead.get((scenario, baseline))
    if value is None or not reference:
        return None
    return value / reference


def fmt_ns(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def _unsupported(table: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(u["scenario"], u["contender"]): u["reason"] for u in table.get("unsupported", [])}


def bench_table(report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return the Markdown table of a `bench:table` directive, with its caption."""
    table = section(report, arguments.get("suite", "asgi"))
    rows = _contenders(table, _ids(arguments.get("rows")) or [c["id"] for c in table["contenders"] if c["floor"]])
    scenarios = _scenarios(table, arguments.get("scenarios"))
    baseline = arguments.get("baseline")
    if baseline not in (None, "row"):
        _contenders(table, [baseline])
    # Escaped: a label such as "Starlette, __init__ with ..." would otherwise turn bold.
    labels = {c["id"]: _escape(c["label"]) for c in table["contenders"]}
    bold = (
        set(_ids(arguments["bold"])) if "bold" in arguments else {c["id"] for c in rows if c["family"] == "corsfast-c"}
    )
    overhead = _overheads(table)
    unsupported = _unsupported(table)
    lines = [
        "| contender | " + " | ".join(f"({s['id']}) {s['title']}" for s in scenarios) + " |",
        "|---|" + "---|" * len(scenarios),
    ]
    notes = []
    for contender in rows:
        cid = contender["id"]
        if contender["floor"] is None:
            raise ValueError(f"row {cid!r} is a floor: it has no overhead to show")
        cells = []
        for scenario in scenarios:
            key = (scenario["id"], cid)
            value = overhead.get(key)
            if key in unsupported:
                cells.append("not supported")
                notes.append(f"({scenario['id']}) {labels[cid]}: {unsupported[key]}.")
                continue
            if value is None:
                raise ValueError(f"bench.json has no overhead for {cid!r} in scenario {scenario['id']!r}")
            cell = fmt_ns(value)
            if value < 0:
                iqr = _iqrs(table).get(key) or 0.0
                why = (
                    "zero within the noise"
                    if -value <= iqr
                    else "below the floor: the middleware answers this request itself, for less than the "
                    "app without CORS takes to answer it"
                )
                notes.append(
                    f"({scenario['id']}) {labels[cid]}: {cell} ns is {why} (the spread of this overhead "
                    f"over rounds, its interquartile range, is {fmt_ns(iqr)} ns)."
                )
            share = ratio(table, scenario["id"], cid, baseline) if baseline else None
            if share is not None:
                cell += f" ({fmt_ratio(share)})"
            cells.append(cell)
        label = labels[cid]
        if cid in bold:
            label, cells = f"**{label}**", [f"**{cell}**" if cell != "not supported" else cell for cell in cells]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    floors = sorted({re.sub(r"\s*\(floor[^)]*\)$", "", labels[c["floor"]]) for c in rows})
    caption = (
        f"Overhead above the floor (the {'; the '.join(floors)}), in ns per request"
        + (
            f" (in parentheses: the fraction of {_baseline_label(table, labels, baseline)}'s overhead"
            if baseline
            else ""
        )
        + (" in the same scenario)" if baseline else "")
        # A suite measured in a run of its own (spliced into bench.json) carries that run's details.
        + f"; medians of {(table.get('run') or report)['settings']['rounds']} interleaved rounds in one process, "
        f"from [`bench.json`]({arguments['_root']}bench.json)."
    )
    return "\n".join(lines) + "\n\n" + caption + ("\n\n" + " ".join(notes) if notes else "") + "\n"


def _escape(text: str) -> str:
    """Return `text` with what Markdown reads as emphasis (`__`, `*`) escaped; a lone `_` stays."""
    return text.replace("__", "\\_\\_").replace("*", "\\*")


def _baseline_label(table: dict[str, Any], labels: dict[str, str], baseline: str) -> str:
    if baseline == "row":
        return str(table.get("baseline_label") or "each row's baseline")
    return labels[baseline]


def bench_range(report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return "LOW to HIGH" over the rows and scenarios of a `bench:range` directive."""
    table = section(report, arguments.get("suite", "asgi"))
    rows = _contenders(table, _ids(arguments.get("rows")))
    if not rows:
        raise ValueError("bench:range needs rows=ID,...")
    scenarios = _scenarios(table, arguments.get("scenarios"))
    baseline, unit, of = arguments.get("baseline"), arguments.get("unit", "ns"), arguments.get("of", "overhead")
    if baseline not in (None, "row"):
        _contenders(table, [baseline])
    if of not in ("overhead", "iqr") or (of == "iqr" and baseline):
        raise ValueError(f"of must be overhead or iqr (without a baseline), not {of!r}")
    unsupported = _unsupported(table)
    overhead = _overheads(table) if of == "overhead" else _iqrs(table)
    values = []
    for contender in rows:
        for scenario in scenarios:
            key = (scenario["id"], contender["id"])
            if key in unsupported:
                continue
            value = ratio(table, *key, baseline) if baseline else overhead.get(key)
            if value is None:
                raise ValueError(f"bench.json has no figure for {key[1]!r} in scenario {key[0]!r}")
            values.append(value)
    low, high = min(values), max(values)
    if baseline:
        return _span(fmt_ratio(low), fmt_ratio(high))
    if unit == "us":
        return _span(f"{low / 1000:.1f}", f"{high / 1000:.1f}") + " µs"
    if unit == "ns":
        return _span(fmt_ns(low), fmt_ns(high)) + " ns"
    raise ValueError(f"unit must be ns or us, not {unit!r}")


def _span(low: str, high: str) -> str:
    """Return "LOW to HIGH", or the one value when both read the same."""
    return low if low == high else f"{low} to {high}"


def bench_setup(report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return the machine, interpreter, versions and rounds of the run, as one phrase."""
    machine, versions = report["machine"], report["versions"]
    peers = ", ".join(
        f"{name} {version}"
        for name, version in versions.items()
        if version and name not in ("corsfast", "corsfast engine", "matplotlib")
    )
    return (
        f"a {machine['cores']}-core {machine['cpu']} machine, {machine['python']}, corsfast "
        f"{versions['corsfast']}, {peers}; {report['settings']['rounds']} rounds of "
        f"{report['settings']['sample_ms']:g} ms samples"
    )


def bench_scenarios(report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return the list of a table's scenarios: letter, title, method, configuration, header count."""
    table = section(report, arguments.get("suite", "asgi"))
    lines = ["| scenario | request | policy | request headers |", "|---|---|---|---|"]
    for scenario in table["scenarios"]:
        lines.append(
            f"| ({scenario['id']}) {scenario['title']} | {scenario['method']} | `{scenario['config']}` "
            f"| {scenario['request_headers']} |"
        )
    return "\n".join(lines) + "\n"


def bench_targets(report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return a table's speed targets, one row each, with the run's value per scenario (missed ones marked)."""
    table = section(report, arguments.get("suite", "asgi"))
    if not table["targets"]:
        raise ValueError("the table has no targets")
    scenarios = [s["id"] for s in table["scenarios"]]
    verdicts: dict[str, dict[str, dict[str, Any]]] = {}
    for target in table["targets"]:
        verdicts.setdefault(target["target"], {})[target["scenario"]] = target
    lines = ["| target | " + " | ".join(f"({i})" for i in scenarios) + " |", "|---|" + "---|" * len(scenarios)]
    for name, by_scenario in verdicts.items():
        cells = []
        for scenario in scenarios:
            target = by_scenario.get(scenario)
            if target is None:
                cells.append("")
                continue
            if target["unit"] == "ns":
                cell = f"{fmt_ns(target['value'])} ns vs {fmt_ns(target['limit'])}"
            else:
                cell = fmt_ratio(target["value"])
            cells.append(cell if target["met"] else f"**{cell} (missed)**")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    missed = []
    for name, by_scenario in verdicts.items():
        misses = [t for t in by_scenario.values() if not t["met"]]
        if misses:
            show = fmt_ratio if misses[0]["unit"] != "ns" else (lambda v: fmt_ns(v) + " ns")
            by = sorted(t["missed_by"] for t in misses)
            where = ", ".join(f"({t['scenario']})" for t in misses)
            missed.append(f"{name}: missed in {where}, by {_span(show(by[0]), show(by[-1]))}")
    summary = "Missed in this run: " + "; ".join(missed) + "." if missed else "This run met every target."
    return "\n".join(lines) + "\n\n" + summary + "\n"


# -- benchmarks/http_load.py --------------------------------------------------------------


def _load_rows(load_report: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["server"], r["scenario"], r["contender"]): r for r in load_report["rows"]}


_LOAD_PAIRS = {
    "starlette": ("corsfast", "Starlette"),
    "aiohttp-cors": ("corsfast.aiohttp", "aiohttp-cors"),
}
"""The row ids compared on a server, keyed by the peer's row: (corsfast's row, the peer's label)."""


def http_load_table(load_report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return the end-to-end table: req/s bare, behind corsfast, behind its peer, and CPU per
    request; the servers whose peer is Starlette (uvicorn, granian), or `server=NAME`'s."""
    rows = _load_rows(load_report)
    titles = {s["id"]: s["title"] for s in section(load("bench.json"), "asgi")["scenarios"]}
    wanted = arguments.get("server")
    peers = {server: contender for server, _, contender in rows if contender in _LOAD_PAIRS}
    servers = [server for server, peer in peers.items() if (server == wanted if wanted else peer == "starlette")]
    if not servers:
        raise ValueError(f"http_load.json has no rows for server={wanted!r}")
    peer = peers[servers[0]]
    ours_id, peer_label = _LOAD_PAIRS[peer]
    lines = [
        f"| server | scenario | bare req/s | {ours_id} req/s (x bare, min..max) | {peer_label} req/s (x bare) "
        f"| CPU µs/request bare / {ours_id} / {peer_label} |",
        "|---|---|---|---|---|---|",
    ]
    for server in servers:
        scenarios = list(dict.fromkeys(s for srv, s, _ in rows if srv == server))
        for scenario in scenarios:
            bare, ours, theirs = (rows[(server, scenario, c)] for c in ("bare", ours_id, peer))
            cpu = " / ".join(f"{r['cpu_us_per_request']:.1f}" for r in (bare, ours, theirs))
            lines.append(
                f"| {server} | ({scenario}) {titles.get(scenario, '')} | {bare['rps']:,.0f} "
                f"| {ours['rps']:,.0f} ({ours['ratio_to_bare']:.3f}, {ours['ratio_min']:.2f}..{ours['ratio_max']:.2f}) "
                f"| {theirs['rps']:,.0f} ({theirs['ratio_to_bare']:.3f}) | {cpu} |"
            )
    settings = load_report["settings"]
    caption = (
        f"Medians of {settings['rounds']} shuffled rounds of {settings['duration_s']} s wrk runs "
        f"({settings['connections']} connections, {settings['workers']} server worker), from "
        f"[`http_load.json`]({arguments['_root']}http_load.json)."
    )
    return "\n".join(lines) + "\n\n" + caption + "\n"


def http_load_range(load_report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return "LOW to HIGH" of a contender's req/s as a fraction of the bare app's.

    `of=spread`: of (its largest - its smallest req/s over rounds) / its median, in percent.
    """
    server, contender, of = arguments.get("server"), arguments.get("contender", "corsfast"), arguments.get("of")
    if of not in (None, "spread"):
        raise ValueError(f"of must be spread, not {of!r}")
    rows = [
        r
        for (srv, _, cid), r in _load_rows(load_report).items()
        if (server is None or srv == server) and cid == contender
    ]
    if not rows:
        raise ValueError(f"http_load.json has no rows for server={server!r} contender={contender!r}")
    if of == "spread":
        spreads = [100 * (r["rps_max"] - r["rps_min"]) / r["rps"] for r in rows]
        return _span(f"{min(spreads):.0f}", f"{max(spreads):.0f}") + " %"
    values = [r["ratio_to_bare"] for r in rows]
    return f"{min(values):.3f} to {max(values):.3f}"


def http_load_setup(load_report: dict[str, Any], arguments: dict[str, str]) -> str:
    """Return the servers' versions and the machine of the end-to-end run, as one phrase."""
    machine, versions = load_report["machine"], load_report["versions"]
    shown = ", ".join(f"{name} {version}" for name, version in versions.items() if version and name != "corsfast")
    return f"a {machine['cores']}-core {machine['cpu']} machine, {machine['python']}, {shown}"


Renderer = Callable[[dict[str, Any], dict[str, str]], str]
RENDERERS: dict[tuple[str, str], tuple[str, Renderer, set[str]]] = {
    ("bench", "table"): (
        "bench.json",
        bench_table,
        {"suite", "rows", "scenarios", "baseline", "bold"},
    ),
    ("bench", "range"): ("bench.json", bench_range, {"suite", "rows", "scenarios", "baseline", "unit", "of"}),
    ("bench", "setup"): ("bench.json", bench_setup, set()),
    ("bench", "scenarios"): ("bench.json", bench_scenarios, {"suite"}),
    ("bench", "targets"): ("bench.json", bench_targets, {"suite"}),
    ("http-load", "table"): ("http_load.json", http_load_table, {"server"}),
    ("http-load", "range"): ("http_load.json", http_load_range, {"server", "contender", "of"}),
    ("http-load", "setup"): ("http_load.json", http_load_setup, set()),
}


def figure(kind: str, name: str, args: str, root: str) -> str:
    """Return the value of one figure directive, rendered from the JSON; `root` prefixes links to it."""
    key = (kind, name)
    if key not in RENDERERS:
        raise ValueError("unknown directive")
    source, renderer, allowed = RENDERERS[key]
    arguments = _arguments(args, allowed)
    arguments["_root"] = root
    return renderer(load(source), arguments)


def render(markdown: str, where: str = "index.md", root: Optional[str] = None) -> str:
    """Return `markdown` with every figure written from the JSON; raise `PluginError` on a bad directive.

    `where` is the page's path in docs/: links to the JSON files are made relative to it
    (`root`, when given, is the prefix instead: "docs/" for the README). A table is written on
    lines of its own, with blank lines around, so Markdown renders it on GitHub and on the site.
    """
    prefix = "../" * where.count("/") if root is None else root

    def replace(match: re.Match[str]) -> str:
        try:
            value = figure(match["kind"], match["name"], match["args"], prefix)
        except (ValueError, KeyError) as error:
            raise PluginError(f"{where}: {match['open']}: {error}") from error
        before, after = match["before"], match["after"] or ""
        line = markdown[markdown.rfind("\n", 0, match.start("open")) + 1 : match.start("open")]
        if "\n" not in value.strip("\n") and (before or not line.strip()):
            # Markdown reads a comment that begins a line as a block of HTML: the sentence would break.
            raise PluginError(f"{where}: {match['open']}: an inline figure must not begin a line")
        if "\n" in value.strip("\n"):  # a block: the directive and the close on lines of their own
            value = "\n\n" + value.strip("\n") + "\n\n"
            before = "\n\n" if before else before
            after = "\n\n" if after and match.end() < len(markdown) else after
        return before + match["open"] + value + CLOSE + after

    return FIGURE.sub(replace, markdown)


def stale(markdown: str, where: str = "index.md", root: Optional[str] = None) -> Optional[str]:
    """Return the first figure of `markdown` that differs from the JSON (or is not written), or None."""
    for written, fresh in zip(FIGURE.finditer(markdown), FIGURE.finditer(render(markdown, where, root))):
        if written[0] != fresh[0]:
            return f"{written['open']} reads {written['value']!r}, the JSON gives {fresh['value']!r}"
    return None


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs event: fail the build when a figure of the page differs from the JSON."""
    problem = stale(markdown, page.file.src_uri)
    if problem is not None:
        raise PluginError(f"{page.file.src_uri}: {problem}; run: python scripts/figures.py")
    return markdown


def on_serve(server: Any, config: Any, builder: Any) -> Any:
    """MkDocs event: `mkdocs serve` rebuilds when the figures' JSON changes."""
    for name in ("bench.json", "http_load.json"):
        server.watch(str(DOCS / name))
    return server


__all__ = (
    "CLOSE",
    "DIRECTIVE",
    "FIGURE",
    "figure",
    "fmt_ns",
    "fmt_ratio",
    "load",
    "on_page_markdown",
    "on_serve",
    "ratio",
    "render",
    "section",
    "stale",
)
