"""What a browser sends, and what a right CORS answer is: the requests every table reuses.

The headers are Chromium 13x's, lower-case as servers hand them over: a `fetch()` GET with
about a dozen headers, and the preflight of a PUT with three non-safelisted headers. The
seven standard scenarios combine them with three CORS configurations ("base": three exact
origins; "regex": the same plus an origin regex; "any-credentials": allow-all with
credentials); a table picks the ones its contenders can express.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional, Union

from .suite import Scenario

__all__ = (
    "ALLOWED_ORIGIN",
    "ALLOW_HEADERS",
    "ALLOW_METHODS",
    "DISALLOWED_ORIGIN",
    "EXACT_ORIGINS",
    "ORIGIN_REGEX",
    "REGEX_ORIGIN",
    "REQUESTED_HEADERS",
    "SCENARIOS",
    "answer_problem",
)

ALLOWED_ORIGIN = b"https://app.example.com"
DISALLOWED_ORIGIN = b"https://evil.example.net"
REGEX_ORIGIN = b"https://tenant-42.example.io"
EXACT_ORIGINS = ("https://app.example.com", "https://admin.example.com", "https://www.example.org")
ORIGIN_REGEX = r"https://[a-z0-9-]+\.example\.io"
ALLOW_METHODS = ("GET", "POST", "PUT", "DELETE")
ALLOW_HEADERS = ("Authorization", "Content-Type", "X-Requested-With")
REQUESTED_HEADERS = b"authorization,content-type,x-requested-with"

_USER_AGENT = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36"
_SEC_CH_UA = b'"Chromium";v="134", "Not:A-Brand";v="24", "Google Chrome";v="134"'


def _get_headers(origin: Optional[bytes], cookie: bool = False) -> list[tuple[bytes, bytes]]:
    """Return the headers of a `fetch()` GET: same-origin (no Origin) or cross-origin."""
    headers = [
        (b"host", b"api.example.com"),
        (b"connection", b"keep-alive"),
        (b"sec-ch-ua-platform", b'"Linux"'),
        (b"user-agent", _USER_AGENT),
        (b"sec-ch-ua", _SEC_CH_UA),
        (b"sec-ch-ua-mobile", b"?0"),
        (b"accept", b"application/json, text/plain, */*"),
    ]
    if origin is not None:
        headers.append((b"origin", origin))
    headers += [
        (b"sec-fetch-site", b"cross-site" if origin is not None else b"same-origin"),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-dest", b"empty"),
        (b"referer", (origin or b"https://api.example.com") + b"/dashboard"),
        (b"accept-encoding", b"gzip, deflate, br, zstd"),
        (b"accept-language", b"en-GB,en;q=0.9,fr;q=0.8"),
    ]
    if cookie:
        headers.append((b"cookie", b"session=6f1c2a9e3b; theme=dark"))
    return headers


def _preflight_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """Return the headers of Chromium's preflight for a PUT with three non-safelisted headers."""
    return [
        (b"host", b"api.example.com"),
        (b"connection", b"keep-alive"),
        (b"accept", b"*/*"),
        (b"access-control-request-method", b"PUT"),
        (b"access-control-request-headers", REQUESTED_HEADERS),
        (b"origin", origin),
        (b"user-agent", _USER_AGENT),
        (b"sec-fetch-mode", b"cors"),
        (b"sec-fetch-site", b"cross-site"),
        (b"sec-fetch-dest", b"empty"),
        (b"referer", origin + b"/dashboard"),
        (b"accept-encoding", b"gzip, deflate, br, zstd"),
        (b"accept-language", b"en-GB,en;q=0.9,fr;q=0.8"),
    ]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("a", "GET, no Origin", "GET", tuple(_get_headers(None)), None, "base", "pass"),
    Scenario("b", "GET, allowed origin", "GET", tuple(_get_headers(ALLOWED_ORIGIN)), ALLOWED_ORIGIN, "base", "allow"),
    Scenario(
        "c", "GET, disallowed origin", "GET", tuple(_get_headers(DISALLOWED_ORIGIN)), DISALLOWED_ORIGIN, "base", "deny"
    ),
    Scenario(
        "d",
        "preflight, allowed, 3 headers",
        "OPTIONS",
        tuple(_preflight_headers(ALLOWED_ORIGIN)),
        ALLOWED_ORIGIN,
        "base",
        "preflight",
    ),
    Scenario(
        "e",
        "preflight, disallowed origin",
        "OPTIONS",
        tuple(_preflight_headers(DISALLOWED_ORIGIN)),
        DISALLOWED_ORIGIN,
        "base",
        "deny",
    ),
    Scenario(
        "f", "GET, origin matched by regex", "GET", tuple(_get_headers(REGEX_ORIGIN)), REGEX_ORIGIN, "regex", "allow"
    ),
    Scenario(
        "g",
        "GET, allow-all + credentials",
        "GET",
        tuple(_get_headers(ALLOWED_ORIGIN, cookie=True)),
        ALLOWED_ORIGIN,
        "any-credentials",
        "allow",
    ),
)


def answer_problem(
    scenario: Scenario,
    status: int,
    headers: Iterable[tuple[Union[bytes, str], Union[bytes, str]]],
    *,
    floor: bool = False,
) -> Optional[str]:
    """Return why (status, headers) is a wrong answer to `scenario`, or None when it is right.

    A floor (an app without CORS) must answer 200 without Access-Control-Allow-Origin;
    otherwise the scenario's `expect` decides: "pass" (the app's 200, no ACAO), "allow"
    (200, ACAO == the origin, and ACAC: true with credentials), "preflight" (2xx, ACAO,
    Access-Control-Allow-Methods), "deny" (no ACAO; the app's 200 on a simple request).
    Header names compare case-insensitively; str values are taken as latin-1.
    """
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        key = (name.encode("latin-1") if isinstance(name, str) else bytes(name)).lower()
        found.setdefault(key, value.encode("latin-1") if isinstance(value, str) else bytes(value))
    acao = found.get(b"access-control-allow-origin")
    if floor:
        if status != 200 or acao is not None:
            return f"a floor app answered {status} with ACAO {acao!r}"
        return None
    if scenario.expect == "pass":
        if status != 200 or acao is not None:
            return f"no Origin: expected the app's 200 without ACAO, got {status} with ACAO {acao!r}"
    elif scenario.expect == "allow":
        if status != 200 or acao != scenario.origin:
            return f"allowed origin: expected 200 with ACAO {scenario.origin!r}, got {status} with ACAO {acao!r}"
        if scenario.config == "any-credentials" and found.get(b"access-control-allow-credentials") != b"true":
            return "credentials allowed: expected Access-Control-Allow-Credentials: true"
    elif scenario.expect == "preflight":
        if status not in (200, 204) or acao != scenario.origin:
            return f"allowed preflight: expected 2xx with ACAO {scenario.origin!r}, got {status} with ACAO {acao!r}"
        if found.get(b"access-control-allow-methods") is None:
            return "allowed preflight: no Access-Control-Allow-Methods"
    elif scenario.expect == "deny":
        if acao is not None:
            return f"disallowed origin: expected no ACAO, got {acao!r}"
        if scenario.simple and status != 200:
            return f"disallowed origin on a GET: expected the app's 200, got {status}"
    return None
