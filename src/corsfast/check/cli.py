"""The `corsfast check` command line: options, and the run that prints the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from urllib.parse import urlsplit

from ._terminal import COLORS, terminal_width, use_color, wrap
from .report import check
from .request import UsageError, parse_request
from .runner import INTERFACES, open_transport

__all__ = ("add_arguments", "run")


EPILOG = """\
TARGET is either
  module:attribute  an app in this directory, imported and called in-process (no server):
                    an ASGI app (Starlette, FastAPI, Kui, corsfast's middlewares, Django's
                    asgi.application) or a WSGI app (Flask's app, Django's wsgi.application,
                    any PEP 3333 callable), told apart by --interface auto
  http(s)://...     a running server, sent the same requests over the network

examples:
  corsfast check myapp:app --origin https://app.example.com --path /api/data
  corsfast check flaskapp:app --origin https://app.example.com --method PUT \\
      -H "Content-Type: application/json" --path /api/data
  corsfast check https://api.example.com/api/data --origin https://app.example.com --json

output: ALLOWED or BLOCKED, the first rule that blocked the request, a fix (the first fix:
line is always one that names the change to make when any does), every other failed rule,
the reason (the id corsfast's counters and refusal logs give the same request: allowed,
origin_not_allowed, origin_invalid, method_not_allowed or header_not_allowed), then both
exchanges header by header. Lines are wrapped to the terminal's width and coloured on a
terminal only (NO_COLOR=1 or --color never turns colour off).

--json prints one object with the keys corsfast_check (format version), verdict
("allowed"/"blocked"), reason (the reason id), exit_status, target, url, origin, method,
credentials, request_headers, preflight (needed, reasons, exchange, passed,
allow_methods, allow_headers, max_age), actual (request, response, passed), blocked_by,
failures (each: stage, rule, message, headers, hint, spec), readable_headers,
hidden_headers, probes and notes; the corsfast documentation's page
"corsfast check: why is my CORS failing?" (docs/tools/check.md) describes them.

Exit status: 0 allowed, 1 blocked, 2 usage error. (A usage error: a bad option, an origin
a browser could not send, a target that cannot be imported or is not an app, an
unreachable URL.)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Check a cross-origin request the way a browser's fetch() would (Fetch standard):\n"
        "decide whether a preflight is needed, send it and the actual request, and say\n"
        "whether the browser would let the page read the response; if not, why, and what\n"
        "to change on the server."
    )
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "target", metavar="TARGET", help="an ASGI or WSGI app as module:attribute, or an http(s):// URL (see below)"
    )
    parser.add_argument(
        "--origin",
        required=True,
        help="the origin of the page that makes the request, as a browser sends it: scheme://host[:port], "
        "lower-case, no path or trailing slash (https://app.example.com)",
    )
    parser.add_argument("--method", default="GET", help="request method (default GET)")
    parser.add_argument(
        "--header",
        "-H",
        dest="headers",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header the page's script sets (repeatable); headers a browser forbids scripts to set are "
        "dropped, as fetch() does; Cookie is sent only with --credentials",
    )
    parser.add_argument(
        "--credentials",
        action="store_true",
        help="credentials mode 'include' (fetch(..., {credentials: 'include'}), XHR withCredentials); default 'omit'",
    )
    parser.add_argument("--path", help="request path and query, starting with / (default: the URL's, or /)")
    parser.add_argument("--data", help="body of the actual request (does not change the CORS decision)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text (keys below)")
    parser.add_argument(
        "--no-probe",
        dest="probe",
        action="store_false",
        help="when the origin is refused, do not send extra preflights with near-miss origins "
        "(trailing slash, default port, other scheme, www.)",
    )
    parser.add_argument(
        "--interface",
        choices=INTERFACES,
        default="auto",
        help="what kind of app a module:attribute TARGET is: asgi (async (scope, receive, send)), wsgi "
        "((environ, start_response)), or auto (default: read from the app's signature)",
    )
    parser.add_argument(
        "--color",
        choices=COLORS,
        default="auto",
        help="colour the text report: auto (default: on a terminal, unless NO_COLOR is set), always or never",
    )
    parser.add_argument(
        "--width",
        type=int,
        metavar="COLUMNS",
        help="wrap the text report at COLUMNS, at spaces only (default: the terminal's width on a "
        "terminal; not wrapped when the output is a pipe or a file; 0 never wraps)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)")
    parser.add_argument("--insecure", action="store_true", help="for an https:// URL: do not verify its certificate")


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
        transport = open_transport(
            target, timeout=arguments.timeout, insecure=arguments.insecure, interface=arguments.interface
        )
        try:
            report = check(transport, request, probe=arguments.probe, target=target)
        finally:
            transport.close()
    except UsageError as error:
        message = f"corsfast check: error: {error}"
        width = terminal_width(sys.stderr)
        print(message if width is None else "\n".join(wrap(message, width)), file=sys.stderr)
        return 2
    if arguments.json:
        text = json.dumps(report.to_json(), indent=2)
    else:
        width = terminal_width(sys.stdout) if arguments.width is None else arguments.width
        if width is not None and width <= 0:
            width = None
        text = report.to_text(width, use_color(arguments.color, sys.stdout))
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `corsfast check ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return report.exit_status
