"""Check a cross-origin request the way a browser's fetch() would, against an in-process app or a URL.

`corsfast check TARGET --origin ORIGIN [--method M] [--header NAME:VALUE ...]
[--credentials] [--path /p] [--json]`

TARGET is an ASGI or WSGI application as `module:attribute` (imported with the current
directory importable and called in-process; `--interface` says which kind when its
signature cannot tell) or an http:// or https:// URL. The command decides
whether a browser would send a preflight, sends it, applies the Fetch standard's preflight
checks, sends the actual request, applies the CORS check, and prints ALLOWED or BLOCKED
with the first rule that blocked the request, the header lines it saw, a hint at the fix
and the reason id that corsfast's counters and refusal logs give the same request.
Exit status: 0 allowed, 1 blocked, 2 usage error (bad method, bad origin, unimportable
target, unreachable URL).

The package: `fetch` (the Fetch standard's rules, pure functions), `request` (the user's
request validated as fetch() would), `runner` (HTTP, in-process ASGI and WSGI transports),
`report` (the check and its report), `reasons` (the reason id of each rule), `terminal`
(wrapping and colours) and `cli` (the command line).
"""

from __future__ import annotations

from .cli import add_arguments, run
from .report import Report, check
from .request import CheckRequest, UsageError, parse_request

__all__ = ("CheckRequest", "Report", "UsageError", "add_arguments", "check", "parse_request", "run")
