"""The `corsfast check` command line: options, and the run that prints the report."""

from __future__ import annotations

import argparse
import json
import sys
from urllib.parse import urlsplit

from .report import check
from .request import UsageError, parse_request
from .runner import open_transport

__all__ = ("add_arguments", "run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = "Check a cross-origin request the way a browser's fetch() would (Fetch standard)."
    parser.epilog = "Exit status: 0 allowed, 1 blocked, 2 usage error."
    parser.add_argument("target", metavar="TARGET", help="ASGI app as module:attribute, or an http(s):// URL")
    parser.add_argument(
        "--origin", required=True, help="the page's origin, serialized as a browser sends it (https://app.example.com)"
    )
    parser.add_argument("--method", default="GET", help="request method (default GET)")
    parser.add_argument(
        "--header",
        "-H",
        dest="headers",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header the script sets (repeatable); Cookie is sent only with --credentials",
    )
    parser.add_argument(
        "--credentials",
        action="store_true",
        help="credentials mode 'include' (fetch(..., {credentials: 'include'}), XHR withCredentials)",
    )
    parser.add_argument("--path", help="request path and query (default: the URL's, or /)")
    parser.add_argument("--data", help="body of the actual request (does not change the CORS decision)")
    parser.add_argument("--json", action="store_true", help="print a JSON report (keys documented in the README)")
    parser.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="do not send extra preflights with near-miss origins when the origin is refused",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--insecure", action="store_true", help="do not verify https certificates")


def run(arguments: argparse.Namespace) -> int:
    """Run `corsfast check` and return its exit status (0 allowed, 1 blocked, 2 usage error)."""
    try:
        target = arguments.target
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            default_path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        else:
            default_path = "/"
        request = parse_request(
            arguments.origin,
            arguments.method,
            arguments.headers,
            arguments.credentials,
            arguments.path or default_path,
            arguments.data,
        )
        transport = open_transport(target, timeout=arguments.timeout, insecure=arguments.insecure)
        try:
            report = check(transport, request, probe=arguments.probe, target=target)
        finally:
            transport.close()
    except UsageError as error:
        print(f"corsfast check: error: {error}", file=sys.stderr)
        return 2
    if arguments.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_text())
    return report.exit_status
