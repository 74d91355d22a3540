"""End to end: the same ASGI app, bare / behind corsfast / behind Starlette's CORSMiddleware,
served by uvicorn (httptools + uvloop) and granian (--interface asgi), and the same aiohttp app,
bare / with aiohttp-cors 0.8.1 / with corsfast.aiohttp, served by aiohttp's own server
(`web.run_app` on uvloop, no access log); one worker each, loaded with wrk on 127.0.0.1.

    python benchmarks/http_load.py [--rounds 5] [--duration 3] [--connections 32] [--json FILE]

Every server x contender runs as its own subprocess for the whole run (and is always
terminated); each round runs wrk once per server x contender x scenario: the (server,
scenario) groups in a shuffled order, the contenders of a group back to back in a shuffled
order. Scenarios: (a) GET without Origin, (b) GET from an allowed origin, (d) the allowed
preflight with three requested headers; each request carries the browser headers of
`corsfast bench`. Reported: median requests/s over rounds, and its ratio to the bare app
on the same server. wrk and the server share the machine, so run it on an idle one.

This module is also the app the ASGI servers import (`http_load:bare`, `http_load:corsfast`,
`http_load:starlette`), and it serves the aiohttp apps itself (`--serve-aiohttp
http_load:CONTENDER --port N`: the apps of `corsfast bench --suite aiohttp`).
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from corsfast import CORSMiddleware as _CorsfastMiddleware
from corsfast.bench import Scenario, browser, machine_info, report

HERE = Path(__file__).resolve().parent
SCENARIOS = [s for s in browser.SCENARIOS if s.id in "abd"]
SERVERS = ("uvicorn", "granian", "aiohttp")
CONTENDERS_OF = {
    "uvicorn": ("bare", "corsfast", "starlette"),
    "granian": ("bare", "corsfast", "starlette"),
    "aiohttp": ("bare", "aiohttp-cors", "corsfast.aiohttp"),
}
"""The contenders each server runs, the floor ("bare") first."""
_BODY = b'{"hello": "world"}'


# --------------------------------------------------------------------------------------------
# The app the servers import
# --------------------------------------------------------------------------------------------


async def bare(scope: dict, receive: Any, send: Any) -> None:
    """A small JSON answer to every HTTP request; lifespan events are acknowledged."""
    if scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"18")],
            }
        )
        await send({"type": "http.response.body", "body": _BODY})
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


corsfast = _CorsfastMiddleware(
    bare,
    allow_origins=list(browser.EXACT_ORIGINS),
    allow_methods=browser.ALLOW_METHODS,
    allow_headers=browser.ALLOW_HEADERS,
)


def _starlette_app() -> Any:
    from starlette.middleware.cors import CORSMiddleware

    return CORSMiddleware(
        bare,
        allow_origins=list(browser.EXACT_ORIGINS),
        allow_methods=browser.ALLOW_METHODS,
        allow_headers=browser.ALLOW_HEADERS,
    )


starlette = _starlette_app()


def aiohttp_app(contender: str) -> Any:
    """Return the aiohttp app of `contender` ("bare", "aiohttp-cors" or "corsfast.aiohttp"):
    the apps of `corsfast bench --suite aiohttp`, for the three exact origins."""
    import importlib

    from corsfast.bench.suites.aiohttp import aiohttp_app as table_app, cors_defaults

    if contender == "bare":
        return table_app()
    aiohttp_cors = importlib.import_module(
        {"aiohttp-cors": "aiohttp_cors", "corsfast.aiohttp": "corsfast.aiohttp"}[contender]
    )
    app = table_app(options_route=False)
    cors = aiohttp_cors.setup(app, defaults=cors_defaults(aiohttp_cors, "base"))
    for route in list(app.router.routes()):
        cors.add(route)
    return app


def serve_aiohttp(contender: str, port: int) -> None:
    """Serve `contender`'s aiohttp app on 127.0.0.1:`port` with aiohttp's own server until
    SIGTERM (on uvloop when installed; no access log)."""
    import asyncio

    from aiohttp import web

    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # uvloop is in the bench group; aiohttp's server runs without it
        loop = asyncio.new_event_loop()
    web.run_app(aiohttp_app(contender), host="127.0.0.1", port=port, access_log=None, print=None, loop=loop)


# --------------------------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------------------------

_RUNNING: list[subprocess.Popen[bytes]] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(server: str, contender: str, port: int) -> list[str]:
    target = f"http_load:{contender}"
    if server == "aiohttp":
        return [sys.executable, str(HERE / "http_load.py"), "--serve-aiohttp", target, "--port", str(port)]
    if server == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--workers",
            "1",
            "--no-access-log",
            "--log-level",
            "warning",
            target,
        ]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "asgi",
        "--working-dir",
        str(HERE),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--loop",
        "uvloop",
        "--http",
        "1",
        "--no-ws",
        "--log-level",
        "warning",
        "--no-access-log",
        target,
    ]


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server we started, and its workers (its own process group), by id."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=5)
    if process in _RUNNING:
        _RUNNING.remove(process)


def _stop_all() -> None:
    for process in list(_RUNNING):
        _stop(process)


def _request(port: int, scenario: Scenario) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.putrequest(scenario.method, "/api/data", skip_host=True, skip_accept_encoding=True)
        for name, value in scenario.headers:
            connection.putheader(name.decode(), value.decode())
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def _start(server: str, contender: str, log_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    log = open(log_dir / f"{server}-{contender}.log", "wb")
    process = subprocess.Popen(
        _command(server, contender, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=HERE,
    )
    log.close()
    _RUNNING.append(process)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{server} ({contender}) exited with {process.returncode}: "
                f"{(log_dir / f'{server}-{contender}.log').read_text(errors='replace')[-2000:]}"
            )
        try:
            status, _ = _request(port, SCENARIOS[0])
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            return process, port
        raise RuntimeError(f"{server} ({contender}) answered {status} to a plain GET")
    raise RuntimeError(f"{server} ({contender}) did not start within 30 s")


def _check(port: int, contender: str, scenario: Scenario) -> None:
    """Check one answer before loading: the CORS headers each contender must send."""
    status, headers = _request(port, scenario)
    acao = headers.get("access-control-allow-origin")
    expected: Optional[str] = None
    if contender != "bare" and scenario.origin is not None:
        expected = scenario.origin.decode()
    if status != 200 or acao != expected:
        raise RuntimeError(
            f"{contender} on scenario ({scenario.id}): got {status} with ACAO {acao!r}, "
            f"expected 200 with ACAO {expected!r}"
        )


# --------------------------------------------------------------------------------------------
# wrk
# --------------------------------------------------------------------------------------------


def _lua(scenario: Scenario) -> str:
    """A wrk script sending `scenario`'s method and browser headers (wrk adds Host itself)."""
    lines = [f'wrk.method = "{scenario.method}"', "wrk.headers = {}"]
    for name, value in scenario.headers:
        if name in (b"host", b"connection"):
            continue
        lines.append(f"wrk.headers[ [[{name.decode()}]] ] = [[{value.decode()}]]")
    return "\n".join(lines) + "\n"


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _group_cpu_seconds(group: int) -> Optional[float]:
    """Return the user + system CPU time of every live process in process group `group` (Linux)."""
    total = 0
    found = False
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:
            total += int(fields[11]) + int(fields[12])
            found = True
    return total / _TICKS if found else None


def _wrk(port: int, script: Path, duration: int, connections: int, group: int) -> dict[str, Any]:
    cpu_before = _group_cpu_seconds(group)
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{duration}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/api/data",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=duration + 30, check=False)
    cpu_after = _group_cpu_seconds(group)
    output = completed.stdout
    match = re.search(r"Requests/sec:\s*([\d.]+)", output)
    if completed.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {output}{completed.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    if bad is not None:
        raise RuntimeError(f"{bad.group(1)} non-2xx answers under load:\n{output}")
    requests = re.search(r"(\d+) requests in", output)
    cpu_us = None
    if cpu_before is not None and cpu_after is not None and requests is not None and int(requests.group(1)):
        cpu_us = (cpu_after - cpu_before) * 1e6 / int(requests.group(1))
    return {
        "rps": float(match.group(1)),
        "cpu_us_per_request": cpu_us,
        "socket_errors": errors.group(0) if errors else None,
    }


def _format(results: dict[str, Any]) -> str:
    lines = [
        "http_load: requests/s, median of rounds; x bare = median over rounds of (contender / bare, run back to back)",
        f"machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; load average at start "
        f"{results['machine'].get('load_average')}, at end {results.get('load_average_end')}",
        f"python {results['machine']['python']}; " + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v),
        f"wrk -t1 -c{results['settings']['connections']} -d{results['settings']['duration_s']}s, "
        f"{results['settings']['rounds']} shuffled rounds, one worker per server; wrk and the server share "
        f"{results['machine']['cores']} cores",
        "",
        "server CPU/request: the server's user+system CPU time over requests served (robust to a busy machine); "
        "capacity = bare CPU/request / contender CPU/request (what req/s would be on a CPU-bound server)",
        "",
        f"  {'server':<8} {'scenario':<34} {'contender':<16} {'req/s':>9} {'min..max':>17} {'x bare':>7} "
        f"{'(min..max)':>13} {'CPU us/req':>10} {'+us':>6} {'capacity':>8}",
    ]
    for row in results["rows"]:
        scenario = next(s for s in SCENARIOS if s.id == row["scenario"])
        ratio = "-" if row["contender"] == "bare" else f"{row['ratio_to_bare']:.3f}"
        spread = "" if row["contender"] == "bare" else f"{row['ratio_min']:.2f}..{row['ratio_max']:.2f}"
        cpu_us = "-" if row["cpu_us_per_request"] is None else f"{row['cpu_us_per_request']:.1f}"
        no_extra = row["contender"] == "bare" or row["cpu_overhead_us"] is None
        extra = "-" if no_extra else f"{row['cpu_overhead_us']:+.2f}"
        capacity = (
            "-"
            if row["contender"] == "bare" or row["cpu_capacity_ratio"] is None
            else f"{row['cpu_capacity_ratio']:.3f}"
        )
        lines.append(
            f"  {row['server']:<8} ({scenario.id}) {scenario.title:<30} {row['contender']:<16} "
            f"{row['rps']:>9,.0f} {row['rps_min']:>8,.0f}..{row['rps_max']:<8,.0f} {ratio:>7} {spread:>13} "
            f"{cpu_us:>10} {extra:>6} {capacity:>8}"
        )
    targets = [r for r in results["rows"] if r["contender"] == "corsfast"]
    if targets:
        lines.append("")
        lines.append("target: corsfast keeps at least 0.97 of the bare ASGI app's requests/s in (a), (b), (d)")
        for row in targets:
            for name, value in (("req/s", row["ratio_to_bare"]), ("CPU capacity", row["cpu_capacity_ratio"])):
                if value is None:
                    continue
                verdict = "met" if value >= 0.97 else f"missed by {0.97 - value:.3f}"
                lines.append(f"  {row['server']:<8} ({row['scenario']}) {name:<12} {value:.3f}  {verdict}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3, help="whole seconds per wrk run (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="whole seconds of wrk per server before the rounds")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--scenarios", default="abd")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--serve-aiohttp", metavar="http_load:CONTENDER", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.serve_aiohttp:
        serve_aiohttp(arguments.serve_aiohttp.partition(":")[2], arguments.port)
        return 0
    if shutil.which("wrk") is None:
        print("http_load: wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)", file=sys.stderr)
        return 2
    servers = [s for s in arguments.servers.split(",") if s]
    for server in servers:
        if server not in SERVERS:
            parser.error(f"unknown server {server!r}")
        try:
            __import__(server)
        except ImportError:
            print(f"http_load: {server} is not installed", file=sys.stderr)
            return 2
    scenarios = [s for s in SCENARIOS if s.id in arguments.scenarios]
    rng = random.Random(arguments.seed)
    samples: dict[tuple[str, str, str], list[float]] = {}
    cpu: dict[tuple[str, str, str], list[float]] = {}
    notes: list[str] = []
    machine = machine_info()
    atexit.register(_stop_all)
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="corsfast-http-load-") as temporary:
        log_dir = Path(temporary)
        scripts = {}
        for scenario in scenarios:
            scripts[scenario.id] = log_dir / f"{scenario.id}.lua"
            scripts[scenario.id].write_text(_lua(scenario))
        try:
            ports: dict[tuple[str, str], int] = {}
            groups_of: dict[tuple[str, str], int] = {}
            for server in servers:
                for contender in CONTENDERS_OF[server]:
                    process, ports[(server, contender)] = _start(server, contender, log_dir)
                    groups_of[(server, contender)] = process.pid  # its own session and process group
                    for scenario in scenarios:
                        _check(ports[(server, contender)], contender, scenario)
            if arguments.warmup > 0:
                for (server, contender), port in ports.items():
                    print(f"warming up {server} / {contender}", file=sys.stderr)
                    _wrk(
                        port,
                        scripts[scenarios[0].id],
                        arguments.warmup,
                        arguments.connections,
                        groups_of[(server, contender)],
                    )
            # A round runs every (server, scenario) group in a shuffled order, and the three
            # contenders of a group back to back in a shuffled order: a ratio compares runs
            # seconds apart, so the machine's drift cancels out of it.
            groups = [(server, scenario.id) for server in servers for scenario in scenarios]
            total = arguments.rounds * sum(len(CONTENDERS_OF[server]) for server, _ in groups)
            done = 0
            for round_number in range(arguments.rounds):
                rng.shuffle(groups)
                for server, scenario_id in groups:
                    order = list(CONTENDERS_OF[server])
                    rng.shuffle(order)
                    for contender in order:
                        done += 1
                        print(
                            f"[{done}/{total}] round {round_number + 1}: {server} / {contender} / ({scenario_id})",
                            file=sys.stderr,
                        )
                        result = _wrk(
                            ports[(server, contender)],
                            scripts[scenario_id],
                            arguments.duration,
                            arguments.connections,
                            groups_of[(server, contender)],
                        )
                        samples.setdefault((server, contender, scenario_id), []).append(result["rps"])
                        if result["cpu_us_per_request"] is not None:
                            cpu.setdefault((server, contender, scenario_id), []).append(result["cpu_us_per_request"])
                        if result["socket_errors"]:
                            notes.append(f"{server}/{contender}/({scenario_id}): {result['socket_errors']}")
        finally:
            _stop_all()
            signal.signal(signal.SIGTERM, previous)
    rows = []
    for server in servers:
        for scenario in scenarios:
            bare_values = samples[(server, "bare", scenario.id)]
            for contender in CONTENDERS_OF[server]:
                values = samples[(server, contender, scenario.id)]
                ratios = [value / floor for value, floor in zip(values, bare_values)]
                row = {
                    "server": server,
                    "scenario": scenario.id,
                    "contender": contender,
                    "rps": statistics.median(values),
                    "rps_min": min(values),
                    "rps_max": max(values),
                    "samples": values,
                    "ratio_to_bare": statistics.median(ratios),
                    "ratio_min": min(ratios),
                    "ratio_max": max(ratios),
                    "cpu_us_per_request": None,
                    "cpu_overhead_us": None,
                    "cpu_capacity_ratio": None,
                }
                cpu_values = cpu.get((server, contender, scenario.id))
                cpu_bare = cpu.get((server, "bare", scenario.id))
                if cpu_values and cpu_bare and len(cpu_values) == len(cpu_bare):
                    row["cpu_us_per_request"] = statistics.median(cpu_values)
                    # Paired per round, like the throughput ratio.
                    row["cpu_overhead_us"] = statistics.median(a - b for a, b in zip(cpu_values, cpu_bare))
                    row["cpu_capacity_ratio"] = statistics.median(b / a for a, b in zip(cpu_values, cpu_bare))
                rows.append(row)
    versions = report.versions()
    for name in ("uvicorn", "granian", "uvloop", "httptools", "aiohttp", "aiohttp-cors"):
        versions[name] = report._version(name)
    results = {
        "machine": machine,
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "versions": {
            k: v
            for k, v in versions.items()
            if k in ("corsfast", "starlette", "uvicorn", "granian", "uvloop", "httptools", "aiohttp", "aiohttp-cors")
        },
        "settings": {
            "rounds": arguments.rounds,
            "duration_s": arguments.duration,
            "connections": arguments.connections,
            "threads": 1,
            "workers": 1,
        },
        "ratio_method": "median over rounds of (contender req/s / bare req/s), measured back to back in each round",
        "cpu_method": "server process group's user+system CPU time during a wrk run / requests served; "
        "capacity ratio = median over rounds of (bare CPU/request / contender CPU/request)",
        "rows": rows,
        "notes": notes,
    }
    print(_format(results))
    for note in notes:
        print("note:", note)
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
