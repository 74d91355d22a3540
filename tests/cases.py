"""The executable semantics of the native dialect (`corsfast.CORSMiddleware`).

Each row is one configuration and one request, with the complete answer expected from the
middleware: status, body, the exact response header list (order included), whether the app
ran, whether the configuration warns, and one line saying why. `tests/test_engine.py` runs
every row through the middleware and through the policy API on both engines.

The app behind the middleware answers every request with `APP_STATUS`, `APP_BODY` and the
row's `app_headers` (`APP_HEADERS` unless the row says otherwise).
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = (
    "CASES",
    "Case",
    "RecordingApp",
    "request_headers",
    "run_sync",
)

Header = tuple[bytes, bytes]

ORIGIN = b"origin"
ACRM = b"access-control-request-method"
ACRH = b"access-control-request-headers"
ACRPN = b"access-control-request-private-network"
ACAO = b"access-control-allow-origin"
ACAC = b"access-control-allow-credentials"
ACEH = b"access-control-expose-headers"
ACAM = b"access-control-allow-methods"
ACAH = b"access-control-allow-headers"
ACMA = b"access-control-max-age"
ACAPN = b"access-control-allow-private-network"
VARY = b"vary"
CONTENT_LENGTH = b"content-length"

APP_STATUS = 200
APP_BODY = b"Hello, world"
APP_HEADERS: tuple[Header, ...] = (
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(APP_BODY)).encode()),
)
DEFAULT_METHODS = b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
SAFELISTED = b"Accept, Accept-Language, Content-Language, Content-Type"

EXAMPLE = b"https://example.com"
VARY_ORIGIN: Header = (VARY, b"Origin")
CREDENTIALS: Header = (ACAC, b"true")


@dataclass(frozen=True)
class Case:
    """One configuration, one request and the complete expected answer."""

    id: str
    why: str
    options: Mapping[str, Any]
    """Keyword arguments of `corsfast.CORSMiddleware` (after `app`)."""
    method: str
    headers: tuple[Header, ...]
    """The request headers of the ASGI scope."""
    status: int
    body: bytes
    response_headers: tuple[Header, ...]
    app_called: bool
    app_headers: tuple[Header, ...] = APP_HEADERS
    warns: Optional[bool] = False
    """True when building the middleware emits a `CORSConfigWarning`, False when it must not,
    None when that is the pattern lint's business (tests/test_options.py), not this table's."""


def request_headers(
    origin: Optional[bytes] = None,
    acrm: Optional[bytes] = None,
    acrh: Optional[bytes] = None,
    acrpn: Optional[bytes] = None,
    extra: Sequence[Header] = (),
) -> tuple[Header, ...]:
    """Return a scope's header list with the given CORS request headers (None = absent)."""
    headers: list[Header] = [(b"host", b"api.test"), (b"accept", b"*/*")]
    for name, value in ((ORIGIN, origin), (ACRM, acrm), (ACRH, acrh), (ACRPN, acrpn)):
        if value is not None:
            headers.append((name, value))
    headers.extend(extra)
    return tuple(headers)


@dataclass
class RecordingApp:
    """An ASGI app that answers with fixed headers and records how it was called."""

    headers: Sequence[Any] = APP_HEADERS
    status: int = APP_STATUS
    body: bytes = APP_BODY
    calls: list[Any] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls.append(scope)
        await send({"type": "http.response.start", "status": self.status, "headers": list(self.headers)})
        await send({"type": "http.response.body", "body": self.body})


def run_sync(awaitable: Awaitable[Any]) -> Any:
    """Run an awaitable that never suspends (every ASGI callable in these tests) to completion.

    Driving the coroutine by hand keeps thousands of hypothesis examples cheap: no event loop.
    """
    iterator = awaitable.__await__()
    try:
        yielded = iterator.send(None)
    except StopIteration as stop:
        return stop.value
    iterator.close()
    raise AssertionError(f"the awaitable suspended on {yielded!r}; use an event loop")


def http_scope(method: str, headers: Any) -> dict[str, Any]:
    """Return the ASGI scope of an HTTP request to `/` with the given raw header list."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }


def asgi_messages(app: Any, method: str, headers: Any) -> list[Any]:
    """Return the ASGI messages `app` sends for one request sent straight to it (no event loop)."""
    messages: list[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    run_sync(app(http_scope(method, headers), receive, send))
    return messages


def asgi_request(app: Any, method: str, headers: Any) -> tuple[int, list[Any], bytes]:
    """Return `(status, headers, body)` of one request sent straight to `app` (no event loop)."""
    start, *rest = asgi_messages(app, method, headers)
    return start["status"], list(start.get("headers", [])), b"".join(m.get("body", b"") for m in rest)


def wsgi_environ(method: str, headers: Iterable[tuple[str, str]], path: str = "/") -> dict[str, Any]:
    """Return a WSGI environ for one request with the given (name, value) header strings."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _simple(
    id: str,
    why: str,
    options: Mapping[str, Any],
    origin: Optional[bytes],
    cors: Sequence[Header],
    *,
    method: str = "GET",
    acrm: Optional[bytes] = None,
    acrh: Optional[bytes] = None,
    acrpn: Optional[bytes] = None,
    extra: Sequence[Header] = (),
    app_headers: Sequence[Header] = APP_HEADERS,
    expected_headers: Optional[Sequence[Header]] = None,
    warns: Optional[bool] = False,
) -> Case:
    """A row whose request reaches the app; `cors` is appended to the app's headers."""
    return Case(
        id=id,
        why=why,
        options=options,
        method=method,
        headers=request_headers(origin, acrm, acrh, acrpn, extra),
        status=APP_STATUS,
        body=APP_BODY,
        response_headers=tuple(expected_headers if expected_headers is not None else (*app_headers, *cors)),
        app_called=True,
        app_headers=tuple(app_headers),
        warns=warns,
    )


def _preflight(
    id: str,
    why: str,
    options: Mapping[str, Any],
    origin: bytes,
    acrm: bytes,
    answer: Sequence[Header],
    *,
    acrh: Optional[bytes] = None,
    acrpn: Optional[bytes] = None,
    warns: Optional[bool] = False,
) -> Case:
    """A preflight row answered by the middleware itself: empty 200, app not called."""
    return Case(
        id=id,
        why=why,
        options=options,
        method="OPTIONS",
        headers=request_headers(origin, acrm, acrh, acrpn),
        status=200,
        body=b"",
        response_headers=(*answer, (CONTENT_LENGTH, b"0")),
        app_called=False,
        warns=warns,
    )


EXACT = {"allow_origins": ["https://example.com"]}
REGEX = {"allow_origins": [re.compile(r"https://example\.com")]}
REGEX_I = {"allow_origins": [re.compile(r"https://example\.com", re.I)]}
WILDCARD = {"allow_origins": ["https://*.example.com"]}
STAR: dict[str, Any] = {"allow_origins": ["*"]}
STAR_CREDENTIALS = {"allow_origins": ["*"], "allow_credentials": True}
DOT_STAR = {"allow_origins": [re.compile(".*")]}
LONG_OK = b"https://" + b"a" * (2048 - len("https://.com")) + b".com"
LONG_BAD = b"https://" + b"a" * (2049 - len("https://.com")) + b".com"
assert len(LONG_OK) == 2048 and len(LONG_BAD) == 2049

ALLOWED_EXAMPLE = ((ACAO, EXAMPLE), VARY_ORIGIN)

CASES: tuple[Case, ...] = (
    # -- exact origins -----------------------------------------------------------------
    _simple("exact-allowed", "an exact origin is reflected with Vary: Origin", EXACT, EXAMPLE, ALLOWED_EXAMPLE),
    _simple(
        "exact-other",
        "another origin gets no CORS headers, only Vary: Origin",
        EXACT,
        b"https://other.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "exact-case",
        "exact origins compare byte for byte; browsers send lower case",
        EXACT,
        b"https://EXAMPLE.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "exact-trailing-slash",
        "an origin has no path, so a trailing slash is another origin",
        EXACT,
        b"https://example.com/",
        [VARY_ORIGIN],
    ),
    _simple(
        "exact-default-port",
        "browsers omit the default port; with it, it is another string",
        EXACT,
        b"https://example.com:443",
        [VARY_ORIGIN],
    ),
    _simple("exact-scheme", "http and https are different origins", EXACT, b"http://example.com", [VARY_ORIGIN]),
    _simple(
        "exact-suffix",
        "a longer host that starts with the allowed one is not allowed",
        EXACT,
        b"https://example.com.evil.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "exact-prefix",
        "an allowed origin as a suffix of the host is not allowed",
        EXACT,
        b"https://notexample.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "exact-second-of-two",
        "every listed exact origin is allowed",
        {"allow_origins": ["https://a.com", "https://example.com"]},
        EXAMPLE,
        ALLOWED_EXAMPLE,
    ),
    _simple(
        "exact-null-listed",
        "'null' listed explicitly is reflected (with a warning at construction)",
        {"allow_origins": ["null"]},
        b"null",
        [(ACAO, b"null"), VARY_ORIGIN],
        warns=True,
    ),
    _simple("exact-null-unlisted", "'null' is refused unless listed", EXACT, b"null", [VARY_ORIGIN]),
    _simple(
        "first-origin-wins-refused",
        "with two Origin headers the first decides (it is refused here)",
        EXACT,
        b"https://evil.com",
        [VARY_ORIGIN],
        extra=[(ORIGIN, EXAMPLE)],
    ),
    _simple(
        "first-origin-wins-allowed",
        "with two Origin headers the first decides and is reflected",
        EXACT,
        EXAMPLE,
        ALLOWED_EXAMPLE,
        extra=[(ORIGIN, b"https://evil.com")],
    ),
    # -- compiled patterns -------------------------------------------------------------
    _simple("regex-fullmatch", "a pattern that matches the whole origin allows it", REGEX, EXAMPLE, ALLOWED_EXAMPLE),
    _simple(
        "regex-suffix",
        "patterns must match the whole origin, not a prefix",
        REGEX,
        b"https://example.com.evil.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "regex-port",
        "patterns must match the whole origin: a port is extra text",
        REGEX,
        b"https://example.com:8080",
        [VARY_ORIGIN],
    ),
    _simple("regex-prefix", "patterns must match from the start", REGEX, b"https://www.example.com.", [VARY_ORIGIN]),
    _simple(
        "regex-dollar-newline",
        "fullmatch, not `$`: a trailing newline is never accepted",
        {"allow_origins": [re.compile(r"https://example\.com$")]},
        b"https://example.com\n",
        [VARY_ORIGIN],
    ),
    _simple(
        "regex-alternation",
        "full match applies to the whole alternation, not its last branch",
        {"allow_origins": [re.compile(r"https://a\.com|https://example\.com")]},
        b"https://a.com.evil.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "regex-no-ignorecase", "without re.I a pattern is case-sensitive", REGEX, b"https://EXAMPLE.COM", [VARY_ORIGIN]
    ),
    _simple(
        "regex-ignorecase",
        "the pattern's flags are honoured; the origin is reflected as sent",
        REGEX_I,
        b"https://EXAMPLE.COM",
        [(ACAO, b"https://EXAMPLE.COM"), VARY_ORIGIN],
    ),
    _simple(
        "regex-inline-flag",
        "inline flags are honoured too",
        {"allow_origins": [re.compile(r"(?i)https://example\.com")]},
        b"https://Example.Com",
        [(ACAO, b"https://Example.Com"), VARY_ORIGIN],
    ),
    _simple(
        "regex-seed-per-route",
        "the seed's `https://.*\\.example\\.com` is a regex: `.*` spans dots",
        {"allow_origins": [re.compile(r"https://.*\.example\.com")]},
        b"https://a.b.example.com",
        [(ACAO, b"https://a.b.example.com"), VARY_ORIGIN],
        warns=None,
    ),
    _simple(
        "regex-latin1",
        "non-ASCII origin bytes are matched as latin-1 and reflected byte for byte",
        DOT_STAR,
        b"https://caf\xe9.com",
        [(ACAO, b"https://caf\xe9.com"), VARY_ORIGIN],
    ),
    _simple(
        "regex-mixed-rules",
        "patterns, exact origins and wildcards combine with OR",
        {"allow_origins": ["https://a.com", "https://*.b.com", re.compile(r"https://c+\.com")]},
        b"https://ccc.com",
        [(ACAO, b"https://ccc.com"), VARY_ORIGIN],
    ),
    # -- wildcard-subdomain strings ----------------------------------------------------
    _simple(
        "wildcard-one-label",
        "`*` stands for exactly one DNS label",
        WILDCARD,
        b"https://api.example.com",
        [(ACAO, b"https://api.example.com"), VARY_ORIGIN],
    ),
    _simple(
        "wildcard-punycode",
        "an IDNA label is an ordinary label",
        WILDCARD,
        b"https://xn--bcher-kva.example.com",
        [(ACAO, b"https://xn--bcher-kva.example.com"), VARY_ORIGIN],
    ),
    _simple(
        "wildcard-max-label",
        "a DNS label may have 63 characters",
        WILDCARD,
        b"https://" + b"a" * 63 + b".example.com",
        [(ACAO, b"https://" + b"a" * 63 + b".example.com"), VARY_ORIGIN],
    ),
    _simple(
        "wildcard-long-label",
        "a DNS label may not have 64 characters",
        WILDCARD,
        b"https://" + b"a" * 64 + b".example.com",
        [VARY_ORIGIN],
    ),
    _simple("wildcard-apex", "the bare domain is not a subdomain", WILDCARD, b"https://example.com", [VARY_ORIGIN]),
    _simple("wildcard-empty-label", "an empty label is not a label", WILDCARD, b"https://.example.com", [VARY_ORIGIN]),
    _simple("wildcard-two-labels", "`*` never spans a dot", WILDCARD, b"https://a.b.example.com", [VARY_ORIGIN]),
    _simple(
        "wildcard-dash-joined",
        "the wildcard is anchored at the dot: evil-example.com is another site",
        WILDCARD,
        b"https://evil-example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-suffix-attack",
        "the wildcard is anchored at the end",
        WILDCARD,
        b"https://x.example.com.evil.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-scheme", "the wildcard is anchored at the scheme", WILDCARD, b"http://x.example.com", [VARY_ORIGIN]
    ),
    _simple(
        "wildcard-port", "a port is not part of the wildcard", WILDCARD, b"https://x.example.com:8443", [VARY_ORIGIN]
    ),
    _simple("wildcard-trailing-slash", "an origin has no path", WILDCARD, b"https://x.example.com/", [VARY_ORIGIN]),
    _simple(
        "wildcard-uppercase",
        "browsers serialise hosts in lower case; upper case is not a label here",
        WILDCARD,
        b"https://X.example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-underscore",
        "only letters, digits and hyphens form a label",
        WILDCARD,
        b"https://a_b.example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-leading-hyphen",
        "a label does not start with a hyphen",
        WILDCARD,
        b"https://-a.example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-trailing-hyphen",
        "a label does not end with a hyphen",
        WILDCARD,
        b"https://a-.example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-userinfo", "`@` is not a label character", WILDCARD, b"https://evil.com@x.example.com", [VARY_ORIGIN]
    ),
    _simple(
        "wildcard-fragment",
        "`#` and `/` are not label characters",
        WILDCARD,
        b"https://evil.com#.example.com",
        [VARY_ORIGIN],
    ),
    _simple(
        "wildcard-with-port",
        "a wildcard with a port requires that port",
        {"allow_origins": ["https://*.example.com:8443"]},
        b"https://a.example.com:8443",
        [(ACAO, b"https://a.example.com:8443"), VARY_ORIGIN],
    ),
    _simple(
        "wildcard-with-port-missing",
        "a wildcard with a port refuses the origin without it",
        {"allow_origins": ["https://*.example.com:8443"]},
        b"https://a.example.com",
        [VARY_ORIGIN],
    ),
    # -- "*" ------------------------------------------------------------------------------
    _simple(
        "star-default",
        "the default allows any origin with `*`, and `*` needs no Vary",
        STAR,
        b"https://any.test",
        [(ACAO, b"*")],
    ),
    _simple("star-null", "`*` also answers the opaque origin 'null'", STAR, b"null", [(ACAO, b"*")]),
    _simple(
        "star-expose",
        "expose_headers are sent with `*`",
        {"allow_origins": ["*"], "expose_headers": ["X-Request-Id", "X-Trace"]},
        b"https://any.test",
        [(ACAO, b"*"), (ACEH, b"X-Request-Id, X-Trace")],
    ),
    _simple(
        "star-credentials",
        "`*` is invalid with credentials: the origin is reflected, with Vary",
        STAR_CREDENTIALS,
        b"https://any.test",
        [(ACAO, b"https://any.test"), CREDENTIALS, VARY_ORIGIN],
        warns=True,
    ),
    _simple(
        "star-credentials-expose",
        "actual-response header order: ACAO, ACAC, ACEH, Vary",
        {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-Request-Id"]},
        b"https://any.test",
        [(ACAO, b"https://any.test"), CREDENTIALS, (ACEH, b"X-Request-Id"), VARY_ORIGIN],
        warns=True,
    ),
    _simple(
        "star-no-origin",
        "without Origin the answer still differs from a cross-origin one: Vary only",
        STAR,
        None,
        [VARY_ORIGIN],
    ),
    _simple(
        "expose-dedupe",
        "duplicate expose headers are sent once",
        {"allow_origins": ["https://example.com"], "expose_headers": ["X-A", "X-B", "X-A"]},
        EXAMPLE,
        [(ACAO, EXAMPLE), (ACEH, b"X-A, X-B"), VARY_ORIGIN],
    ),
    _simple(
        "refused-no-credentials-leak",
        "a refused origin gets no ACAC or ACEH either",
        {"allow_origins": ["https://example.com"], "allow_credentials": True, "expose_headers": ["X-A"]},
        b"https://evil.com",
        [VARY_ORIGIN],
    ),
    # -- no / bad Origin -------------------------------------------------------------------
    _simple("no-origin", "a same-origin or non-browser request gets only Vary: Origin", EXACT, None, [VARY_ORIGIN]),
    _simple("empty-origin", "browsers never send an empty Origin: refused even by `*`", STAR, b"", [VARY_ORIGIN]),
    _simple(
        "empty-origin-credentials",
        "an empty Origin is never reflected",
        STAR_CREDENTIALS,
        b"",
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple(
        "control-crlf",
        "CR/LF in an Origin would split the response: never reflected",
        STAR_CREDENTIALS,
        b"https://a.com\r\nset-cookie: x=1",
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple("control-nul", "NUL is never reflected", STAR_CREDENTIALS, b"https://a.com\x00", [VARY_ORIGIN], warns=True),
    _simple(
        "control-tab",
        "a tab is a control character too",
        STAR_CREDENTIALS,
        b"https://a\t.com",
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple("control-del", "DEL is never reflected", STAR_CREDENTIALS, b"https://a.com\x7f", [VARY_ORIGIN], warns=True),
    _simple(
        "control-pattern",
        "a pattern that accepts control characters still cannot reflect them",
        {"allow_origins": [re.compile(r"https://a\.com\s*")]},
        b"https://a.com\n",
        [VARY_ORIGIN],
    ),
    _simple(
        "control-star", "a control character refuses the origin even under `*`", STAR, b"https://a.com\r", [VARY_ORIGIN]
    ),
    _simple(
        "long-origin-limit",
        "an Origin of max_origin_length (2048) bytes is still matched",
        STAR_CREDENTIALS,
        LONG_OK,
        [(ACAO, LONG_OK), CREDENTIALS, VARY_ORIGIN],
        warns=True,
    ),
    _simple(
        "long-origin-refused",
        "an Origin longer than 2048 bytes is refused before any rule runs",
        STAR_CREDENTIALS,
        LONG_BAD,
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple("long-origin-refused-star", "an over-long Origin is refused even under `*`", STAR, LONG_BAD, [VARY_ORIGIN]),
    _simple(
        "long-origin-custom-limit",
        "max_origin_length raises the limit",
        {"allow_origins": ["*"], "allow_credentials": True, "max_origin_length": 4096},
        LONG_BAD,
        [(ACAO, LONG_BAD), CREDENTIALS, VARY_ORIGIN],
        warns=True,
    ),
    # -- preflight ------------------------------------------------------------------------
    _preflight(
        "preflight-defaults",
        "defaults but `*`: the default methods (no TRACE or CONNECT), safelisted headers, 600 s, no Vary",
        STAR,
        b"https://any.test",
        b"PUT",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACAH, SAFELISTED), (ACMA, b"600")],
    ),
    _simple(
        "defaults-allow-no-origin",
        "with no option at all no origin is allowed, and construction warns",
        {},
        EXAMPLE,
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple(
        "defaults-refuse-preflight",
        "with no option at all a preflight reaches the app (it is refused), and construction warns",
        {},
        EXAMPLE,
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"GET",
        warns=True,
    ),
    _preflight(
        "preflight-exact",
        "ACAO, ACAC, ACAM, ACAH (configured + safelisted), ACMA, Vary; no ACEH",
        {
            "allow_origins": ["https://example.com"],
            "allow_methods": ["GET", "PUT"],
            "allow_headers": ["X-Token"],
            "expose_headers": ["X-Id"],
            "allow_credentials": True,
            "max_age": 100,
        },
        EXAMPLE,
        b"PUT",
        [
            (ACAO, EXAMPLE),
            CREDENTIALS,
            (ACAM, b"GET, PUT"),
            (ACAH, b"X-Token, " + SAFELISTED),
            (ACMA, b"100"),
            VARY_ORIGIN,
        ],
        acrh=b"x-token",
    ),
    _preflight(
        "preflight-safelisted-dedupe",
        "a configured safelisted header is not listed twice (any case)",
        {
            "allow_origins": ["https://example.com"],
            "allow_headers": ["content-type", "X-A", "X-A"],
            "allow_methods": ["GET", "GET"],
        },
        EXAMPLE,
        b"GET",
        [
            (ACAO, EXAMPLE),
            (ACAM, b"GET"),
            (ACAH, b"content-type, X-A, Accept, Accept-Language, Content-Language"),
            (ACMA, b"600"),
            VARY_ORIGIN,
        ],
    ),
    _preflight(
        "preflight-unlisted-method",
        "the preflight advertises the policy; the browser enforces it",
        {"allow_origins": ["https://example.com"], "allow_methods": ["GET"]},
        EXAMPLE,
        b"DELETE",
        [(ACAO, EXAMPLE), (ACAM, b"GET"), (ACAH, SAFELISTED), (ACMA, b"600"), VARY_ORIGIN],
        acrh=b"x-not-allowed",
    ),
    _preflight(
        "preflight-star-credentials",
        "`*` with credentials reflects the origin on preflights too",
        STAR_CREDENTIALS,
        b"https://any.test",
        b"GET",
        [
            (ACAO, b"https://any.test"),
            CREDENTIALS,
            (ACAM, DEFAULT_METHODS),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            VARY_ORIGIN,
        ],
        warns=True,
    ),
    _preflight(
        "preflight-regex",
        "a pattern-allowed origin is answered",
        REGEX,
        EXAMPLE,
        b"POST",
        [(ACAO, EXAMPLE), (ACAM, DEFAULT_METHODS), (ACAH, SAFELISTED), (ACMA, b"600"), VARY_ORIGIN],
    ),
    _preflight(
        "preflight-wildcard",
        "a wildcard-allowed origin is answered",
        WILDCARD,
        b"https://a.example.com",
        b"POST",
        [(ACAO, b"https://a.example.com"), (ACAM, DEFAULT_METHODS), (ACAH, SAFELISTED), (ACMA, b"600"), VARY_ORIGIN],
    ),
    _preflight(
        "preflight-max-age-zero",
        "max_age=0 is sent as 0 (no caching)",
        {"allow_origins": ["https://example.com"], "max_age": 0},
        EXAMPLE,
        b"GET",
        [(ACAO, EXAMPLE), (ACAM, DEFAULT_METHODS), (ACAH, SAFELISTED), (ACMA, b"0"), VARY_ORIGIN],
    ),
    _preflight(
        "methods-empty",
        "no methods configured: no empty header, so only CORS-safelisted methods pass",
        {"allow_origins": ["https://example.com"], "allow_methods": []},
        EXAMPLE,
        b"GET",
        [(ACAO, EXAMPLE), (ACAH, SAFELISTED), (ACMA, b"600"), VARY_ORIGIN],
    ),
    _preflight(
        "methods-star-and-list",
        "a `*` among listed methods still mirrors",
        {"allow_origins": ["https://example.com"], "allow_methods": ["GET", "*"]},
        EXAMPLE,
        b"PURGE",
        [
            (ACAO, EXAMPLE),
            (ACAM, b"PURGE"),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Method"),
        ],
    ),
    _simple(
        "no-origins-configured",
        "allow_origins=[] allows nothing, and construction warns",
        {"allow_origins": []},
        EXAMPLE,
        [VARY_ORIGIN],
        warns=True,
    ),
    _simple("head-request", "HEAD gets the same CORS headers as GET", EXACT, EXAMPLE, ALLOWED_EXAMPLE, method="HEAD"),
    _simple(
        "preflight-refused",
        "a preflight from a refused origin is the app's business",
        EXACT,
        b"https://evil.com",
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"GET",
    ),
    _simple(
        "preflight-refused-empty-origin",
        "an empty Origin is refused on preflights too",
        STAR,
        b"",
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"GET",
    ),
    _simple(
        "preflight-refused-control",
        "a preflight with a control character in Origin reaches the app",
        STAR_CREDENTIALS,
        b"https://a.com\n",
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"GET",
        warns=True,
    ),
    _simple(
        "options-without-acrm",
        "OPTIONS without Access-Control-Request-Method is not a preflight",
        EXACT,
        EXAMPLE,
        ALLOWED_EXAMPLE,
        method="OPTIONS",
    ),
    _simple(
        "options-without-origin",
        "OPTIONS with ACRM but no Origin is not a CORS preflight",
        EXACT,
        None,
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"GET",
    ),
    _simple(
        "options-lower-case-method",
        "methods are case-sensitive: `options` is not OPTIONS",
        EXACT,
        EXAMPLE,
        ALLOWED_EXAMPLE,
        method="options",
        acrm=b"GET",
    ),
    _simple("get-with-acrm", "only OPTIONS can be a preflight", EXACT, EXAMPLE, ALLOWED_EXAMPLE, acrm=b"GET"),
    # -- allow_methods / allow_headers "*" mirroring --------------------------------------
    _preflight(
        "methods-star-mirror",
        "allow_methods=['*'] mirrors the requested method, Vary names ACRM",
        {"allow_origins": ["https://example.com"], "allow_methods": ["*"]},
        EXAMPLE,
        b"PATCH",
        [
            (ACAO, EXAMPLE),
            (ACAM, b"PATCH"),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Method"),
        ],
    ),
    _preflight(
        "methods-star-custom-method",
        "any token method is mirrored as sent",
        {"allow_origins": ["*"], "allow_methods": ["*"]},
        b"https://any.test",
        b"M-SEARCH",
        [
            (ACAO, b"*"),
            (ACAM, b"M-SEARCH"),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (VARY, b"Access-Control-Request-Method"),
        ],
    ),
    _preflight(
        "methods-star-not-token",
        "a requested method that is not a token is not mirrored",
        {"allow_origins": ["*"], "allow_methods": ["*"]},
        b"https://any.test",
        b"GET POST",
        [(ACAO, b"*"), (ACAH, SAFELISTED), (ACMA, b"600"), (VARY, b"Access-Control-Request-Method")],
    ),
    _preflight(
        "methods-star-empty",
        "an empty requested method is not mirrored",
        {"allow_origins": ["*"], "allow_methods": ["*"]},
        b"https://any.test",
        b"",
        [(ACAO, b"*"), (ACAH, SAFELISTED), (ACMA, b"600"), (VARY, b"Access-Control-Request-Method")],
    ),
    _preflight(
        "methods-star-crlf",
        "CR/LF in a requested method is never mirrored",
        {"allow_origins": ["*"], "allow_methods": ["*"]},
        b"https://any.test",
        b"GET\r\nx: y",
        [(ACAO, b"*"), (ACAH, SAFELISTED), (ACMA, b"600"), (VARY, b"Access-Control-Request-Method")],
    ),
    _preflight(
        "headers-star-mirror",
        "allow_headers=['*'] mirrors the requested headers verbatim",
        {"allow_origins": ["https://example.com"], "allow_headers": ["*"]},
        EXAMPLE,
        b"GET",
        [
            (ACAO, EXAMPLE),
            (ACAM, DEFAULT_METHODS),
            (ACAH, b"x-a,x-b"),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Headers"),
        ],
        acrh=b"x-a,x-b",
    ),
    _preflight(
        "headers-star-spacing",
        "optional whitespace around list elements is still a valid list",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [
            (ACAO, b"*"),
            (ACAM, DEFAULT_METHODS),
            (ACAH, b" X-A ,\tx-b"),
            (ACMA, b"600"),
            (VARY, b"Access-Control-Request-Headers"),
        ],
        acrh=b" X-A ,\tx-b",
    ),
    _preflight(
        "headers-star-absent",
        "nothing requested, nothing mirrored (Vary still names ACRH)",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
    ),
    _preflight(
        "headers-star-empty-element",
        "an empty list element is not a valid token list",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x-a,,x-b",
    ),
    _preflight(
        "headers-star-trailing-comma",
        "a trailing comma leaves an empty element",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x-a,",
    ),
    _preflight(
        "headers-star-empty",
        "an empty value is not mirrored",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"",
    ),
    _preflight(
        "headers-star-space-in-name",
        "a name with an inner space is not a token",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x a",
    ),
    _preflight(
        "headers-star-crlf",
        "CR/LF in the requested headers is never mirrored",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x-a\r\nset-cookie: a=b",
    ),
    _preflight(
        "headers-star-latin1",
        "non-ASCII bytes are not token characters",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x-caf\xe9",
    ),
    _preflight(
        "headers-star-over-long",
        "a requested list longer than 8192 bytes is not mirrored",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [(ACAO, b"*"), (ACAM, DEFAULT_METHODS), (ACMA, b"600"), (VARY, b"Access-Control-Request-Headers")],
        acrh=b"x-a," * 2048 + b"x-b",
    ),
    _preflight(
        "headers-star-at-limit",
        "a requested list of exactly 8192 bytes is mirrored",
        {"allow_origins": ["*"], "allow_headers": ["*"]},
        b"https://any.test",
        b"GET",
        [
            (ACAO, b"*"),
            (ACAM, DEFAULT_METHODS),
            (ACAH, b"x-a," * 2047 + b"x-bc"),
            (ACMA, b"600"),
            (VARY, b"Access-Control-Request-Headers"),
        ],
        acrh=b"x-a," * 2047 + b"x-bc",
    ),
    _preflight(
        "both-star-credentials",
        "methods and headers mirrored with a reflected origin: full Vary",
        {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "allow_credentials": True},
        b"https://any.test",
        b"PUT",
        [
            (ACAO, b"https://any.test"),
            CREDENTIALS,
            (ACAM, b"PUT"),
            (ACAH, b"x-a"),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
        ],
        acrh=b"x-a",
        warns=True,
    ),
    # -- private network ------------------------------------------------------------------
    _preflight(
        "private-network-allowed",
        "ACAPN: true answers a private-network preflight, after ACMA",
        {"allow_origins": ["https://example.com"], "allow_private_network": True},
        EXAMPLE,
        b"GET",
        [
            (ACAO, EXAMPLE),
            (ACAM, DEFAULT_METHODS),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (ACAPN, b"true"),
            (VARY, b"Origin, Access-Control-Request-Private-Network"),
        ],
        acrpn=b"true",
    ),
    _preflight(
        "private-network-not-requested",
        "no ACAPN unless requested; Vary still names the header",
        {"allow_origins": ["https://example.com"], "allow_private_network": True},
        EXAMPLE,
        b"GET",
        [
            (ACAO, EXAMPLE),
            (ACAM, DEFAULT_METHODS),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Private-Network"),
        ],
    ),
    _preflight(
        "private-network-star",
        "with `*` only the private-network request header is varied on",
        {"allow_origins": ["*"], "allow_private_network": True},
        b"https://any.test",
        b"GET",
        [
            (ACAO, b"*"),
            (ACAM, DEFAULT_METHODS),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (ACAPN, b"true"),
            (VARY, b"Access-Control-Request-Private-Network"),
        ],
        acrpn=b"true",
    ),
    _preflight(
        "private-network-not-true",
        "only the value browsers send, `true`, is a private-network request",
        {"allow_origins": ["https://example.com"], "allow_private_network": True},
        EXAMPLE,
        b"GET",
        [
            (ACAO, EXAMPLE),
            (ACAM, DEFAULT_METHODS),
            (ACAH, SAFELISTED),
            (ACMA, b"600"),
            (VARY, b"Origin, Access-Control-Request-Private-Network"),
        ],
        acrpn=b"false",
    ),
    _preflight(
        "private-network-disabled",
        "off by default: no ACAPN, so the browser refuses the request",
        EXACT,
        EXAMPLE,
        b"GET",
        [(ACAO, EXAMPLE), (ACAM, DEFAULT_METHODS), (ACAH, SAFELISTED), (ACMA, b"600"), VARY_ORIGIN],
        acrpn=b"true",
    ),
    # -- Vary merging -------------------------------------------------------------------------
    _simple(
        "vary-merge",
        "Origin joins the app's Vary line in place",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(b"content-type", b"text/plain"), (VARY, b"Accept-Encoding")],
        expected_headers=[(b"content-type", b"text/plain"), (VARY, b"Accept-Encoding, Origin"), (ACAO, EXAMPLE)],
    ),
    _simple(
        "vary-merge-no-origin",
        "no Origin: Origin still joins the app's Vary",
        EXACT,
        None,
        (),
        app_headers=[(VARY, b"Accept-Encoding"), (b"content-type", b"text/plain")],
        expected_headers=[(VARY, b"Accept-Encoding, Origin"), (b"content-type", b"text/plain")],
    ),
    _simple(
        "vary-merge-refused",
        "a refused origin: Origin joins the app's Vary",
        EXACT,
        b"https://evil.com",
        (),
        app_headers=[(VARY, b"Cookie")],
        expected_headers=[(VARY, b"Cookie, Origin")],
    ),
    _simple(
        "vary-already-origin",
        "an app Vary that names Origin is left alone (no duplicate)",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(VARY, b"Accept-Encoding, Origin")],
        expected_headers=[(VARY, b"Accept-Encoding, Origin"), (ACAO, EXAMPLE)],
    ),
    _simple(
        "vary-already-origin-case",
        "Vary names are case-insensitive",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(VARY, b"accept,ORIGIN")],
        expected_headers=[(VARY, b"accept,ORIGIN"), (ACAO, EXAMPLE)],
    ),
    _simple(
        "vary-star",
        "Vary: * already varies on everything",
        EXACT,
        None,
        (),
        app_headers=[(VARY, b"*")],
        expected_headers=[(VARY, b"*")],
    ),
    _simple(
        "vary-near-miss-name",
        "Origin-Agent is not Origin",
        EXACT,
        None,
        (),
        app_headers=[(VARY, b"Origin-Agent")],
        expected_headers=[(VARY, b"Origin-Agent, Origin")],
    ),
    _simple(
        "vary-two-lines",
        "two app Vary lines merge into the first, with Origin once",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(VARY, b"Accept"), (b"content-type", b"text/plain"), (VARY, b"Cookie")],
        expected_headers=[(VARY, b"Accept, Cookie, Origin"), (b"content-type", b"text/plain"), (ACAO, EXAMPLE)],
    ),
    _simple(
        "vary-two-lines-origin-in-second",
        "Origin named on any app Vary line counts",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(VARY, b"Accept"), (VARY, b"Origin")],
        expected_headers=[(VARY, b"Accept"), (VARY, b"Origin"), (ACAO, EXAMPLE)],
    ),
    _simple(
        "vary-star-policy",
        "answering `*` adds no Vary, even to an app's Vary",
        STAR,
        b"https://any.test",
        (),
        app_headers=[(VARY, b"Accept-Encoding")],
        expected_headers=[(VARY, b"Accept-Encoding"), (ACAO, b"*")],
    ),
    # -- app-set CORS headers -------------------------------------------------------------
    _simple(
        "app-acao-replaced",
        "the policy's answer replaces the app's own ACAO and ACAC in place",
        {"allow_origins": ["https://example.com"], "allow_credentials": True},
        EXAMPLE,
        (),
        app_headers=[(ACAO, b"https://evil.com"), (b"content-type", b"text/plain"), (ACAC, b"false")],
        expected_headers=[(ACAO, EXAMPLE), (b"content-type", b"text/plain"), CREDENTIALS, VARY_ORIGIN],
    ),
    _simple(
        "app-acao-twice",
        "two app ACAO lines leave one ACAO (a browser fails on two)",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(ACAO, b"*"), (ACAO, b"https://evil.com")],
        expected_headers=[(ACAO, EXAMPLE), VARY_ORIGIN],
    ),
    _simple(
        "app-aceh-replaced",
        "the policy's expose list replaces the app's",
        {"allow_origins": ["https://example.com"], "expose_headers": ["X-New"]},
        EXAMPLE,
        (),
        app_headers=[(ACEH, b"X-Old")],
        expected_headers=[(ACEH, b"X-New"), (ACAO, EXAMPLE), VARY_ORIGIN],
    ),
    _simple(
        "app-acao-star-policy",
        "answering `*` replaces an app's reflected origin",
        STAR,
        b"https://any.test",
        (),
        app_headers=[(ACAO, b"https://other.test")],
        expected_headers=[(ACAO, b"*")],
    ),
    _simple(
        "app-acao-refused-origin",
        "a refused origin: the middleware only adds Vary",
        EXACT,
        b"https://evil.com",
        (),
        app_headers=[(ACAO, b"https://app.test")],
        expected_headers=[(ACAO, b"https://app.test"), VARY_ORIGIN],
    ),
    _simple(
        "app-acac-kept-without-credentials",
        "headers the policy does not send are the app's",
        EXACT,
        EXAMPLE,
        (),
        app_headers=[(ACAC, b"true")],
        expected_headers=[(ACAC, b"true"), (ACAO, EXAMPLE), VARY_ORIGIN],
    ),
    # -- the seed document's examples --------------------------------------------------------
    _preflight(
        "seed-cors-config-preflight",
        "the seed's cors_config example answers a preflight",
        {
            "allow_origins": [re.compile(r"https://example\.com")],
            "allow_methods": ["GET", "POST", "PUT", "DELETE"],
            "allow_headers": ["Authorization", "Content-Type"],
            "expose_headers": ["X-Request-Id"],
            "allow_credentials": False,
            "max_age": 600,
        },
        EXAMPLE,
        b"PUT",
        [
            (ACAO, EXAMPLE),
            (ACAM, b"GET, POST, PUT, DELETE"),
            (ACAH, b"Authorization, Content-Type, Accept, Accept-Language, Content-Language"),
            (ACMA, b"600"),
            VARY_ORIGIN,
        ],
        acrh=b"authorization",
    ),
    _simple(
        "seed-cors-config-simple",
        "the seed's cors_config example on an actual request",
        {
            "allow_origins": [re.compile(r"https://example\.com")],
            "allow_methods": ["GET", "POST", "PUT", "DELETE"],
            "allow_headers": ["Authorization", "Content-Type"],
            "expose_headers": ["X-Request-Id"],
            "allow_credentials": False,
            "max_age": 600,
        },
        EXAMPLE,
        [(ACAO, EXAMPLE), (ACEH, b"X-Request-Id"), VARY_ORIGIN],
        method="POST",
    ),
    _preflight(
        "seed-per-route",
        "the seed's per-route example: any *.example.com host, 3600 s",
        {
            "allow_origins": [re.compile(r"https://.*\.example\.com")],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["Authorization"],
            "max_age": 3600,
        },
        b"https://app.example.com",
        b"POST",
        [
            (ACAO, b"https://app.example.com"),
            (ACAM, b"GET, POST"),
            (ACAH, b"Authorization, " + SAFELISTED),
            (ACMA, b"3600"),
            VARY_ORIGIN,
        ],
        warns=None,
    ),
    _simple(
        "seed-per-route-apex",
        "the seed's per-route pattern needs a subdomain",
        {
            "allow_origins": [re.compile(r"https://.*\.example\.com")],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["Authorization"],
            "max_age": 3600,
        },
        EXAMPLE,
        [VARY_ORIGIN],
        method="OPTIONS",
        acrm=b"POST",
        warns=None,
    ),
    _simple(
        "seed-allow-all-regex",
        "the seed's allow-all pattern `.*` reflects; no warning without credentials",
        DOT_STAR,
        b"https://any.test",
        [(ACAO, b"https://any.test"), VARY_ORIGIN],
    ),
    _simple(
        "seed-allow-all-regex-null",
        "`.*` also reflects the opaque origin 'null'",
        DOT_STAR,
        b"null",
        [(ACAO, b"null"), VARY_ORIGIN],
    ),
)

_ids = [case.id for case in CASES]
assert len(_ids) == len(set(_ids)), "case ids must be unique"


def port_rule_allows(rule: str, origin: str) -> bool:
    """Return whether the port-wildcard rule `rule` (`scheme://host:*`, `scheme://*.domain:*`)
    allows `origin`: its meaning written independently of both engines, for their tests and fuzzing."""
    head = rule[: -len(":*")]
    if "://*." in head:
        scheme, domain = head.split("*", 1)
        host = re.escape(scheme) + r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?" + re.escape(domain)
    else:
        host = re.escape(head)
    match = re.fullmatch(host + r":([1-9][0-9]{0,4})", origin)
    return match is not None and int(match[1]) <= 65535


DJANGO_URL_REGEXES = (
    r"^.*$",
    r"^/api/.*$",
    r"^/api/.*?$",
    r"^/api/",
    r"\A/api/",
    r"^/api/.*",
    r"^/api/.*\Z",
    r"^/api/$",
    r"^/api/\Z",
    r"/api",
    r"^$",
    r"^.*",
    r"^/a\.b/.*$",
    r"^/(api|v2)/.*$",
    r"^/api/.+$",
    r"(?i)^/api/",
    r"(?s)^.*$",
    r"(?m)^.*$",
    r"^/caf\u00e9/.*$",
)
"""`CORS_URLS_REGEX` values: the forms the Django drop-in checks without running the pattern
(a prefix, a line, a whole path) and near misses that it must run as `re.match` does."""


def serve_asgi(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yield its base URL, and stop it."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off", interface="asgi3")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        assert not thread.is_alive()
