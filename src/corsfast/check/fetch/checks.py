"""The Fetch standard's CORS checks (https://fetch.spec.whatwg.org/): the CORS check on a
response, the CORS-preflight fetch's checks on a preflight response, and the response headers
a script can read. Pure functions over the conventions of `parsers`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Optional, Union

from .parsers import (
    _NORMALIZED_METHODS,
    DEFAULT_MAX_AGE,
    FAILURE,
    HeaderList,
    _canonical_origin,
    _Failure,
    combine,
    cors_unsafe_request_header_names,
    extract_header_list_values,
    is_cors_non_wildcard_request_header_name,
    is_cors_safelisted_method,
    is_ok_status,
    parse_max_age,
)

__all__ = (
    "Failure",
    "PreflightResult",
    "cors_check",
    "exposed_header_names",
    "is_cors_safelisted_response_header_name",
    "is_forbidden_response_header_name",
    "preflight_check",
    "readable_response_headers",
)


@dataclass(frozen=True)
class Failure:
    """One rule a browser applies that did not pass."""

    rule: str
    """Stable identifier, e.g. `allow-origin-mismatch` (listed in the README)."""
    message: str
    """One sentence naming the rule and what was seen."""
    lines: tuple[str, ...] = ()
    """The response header lines the rule looked at, as `name: value` (empty if absent)."""
    hint: Optional[str] = None
    """What to change on the server, when it can be told."""
    spec: str = ""
    """The Fetch standard's section (anchor) that defines the rule."""
    hint_refers: bool = False
    """The hint explains this failure but the change to make is named by another failure
    (a CORS middleware that refused a preflight: the method, header or origin failures say
    what to allow); a report lists such a hint after the actionable ones."""


def _lines(headers: HeaderList, *names: str) -> tuple[str, ...]:
    wanted = {name.lower() for name in names}
    return tuple(f"{name}: {value}" for name, value in headers if name.lower() in wanted)


def _origin_mismatch_hint(seen: str, origin: str) -> Optional[str]:
    """Explain an Access-Control-Allow-Origin value that is close to, but not, the origin."""
    if seen.lower() == origin.lower():
        return (
            f"the value differs from the origin only in letter case; browsers compare byte for "
            f"byte, so the server must send exactly {origin!r} (reflect the Origin header, "
            "or write the allowed origin in lower case)"
        )
    if seen.rstrip("/") == origin or seen.lower().rstrip("/") == origin.lower():
        return (
            f"the value has a trailing slash; an origin never has one: send {origin!r} "
            "(remove the slash from the server's allowed origins)"
        )
    canonical = _canonical_origin(seen)
    if canonical == origin:
        return f"the value is the same origin written differently; send exactly {origin!r}"
    if canonical is not None and origin != "null":
        seen_scheme, _, seen_rest = canonical.partition("://")
        scheme, _, rest = origin.partition("://")
        if seen_rest == rest and seen_scheme != scheme:
            return f"the value has scheme {seen_scheme}:// but the page's origin uses {scheme}://"
        if seen_rest.split(":")[0] == rest.split(":")[0] and seen_scheme == scheme:
            return "the value names the same host on a different port"
    if "," in seen or " " in seen.strip():
        return (
            "the header holds several values; it must hold exactly one origin (or *): "
            "is it set twice, by the app and by a middleware or a proxy?"
        )
    return None


def cors_check(headers: HeaderList, origin: str, credentials: bool) -> list[Failure]:
    """Fetch "CORS check": return [] on success, else the failure (one item).

    Access-Control-Allow-Origin (all lines combined with ", ") must be `*` (only without
    credentials) or exactly the serialized origin; with credentials mode "include",
    Access-Control-Allow-Credentials (combined) must be exactly `true`.
    """
    spec = "cors-check"
    allow_origin = combine(headers, "access-control-allow-origin")
    lines = _lines(headers, "access-control-allow-origin")
    if allow_origin is None:
        return [
            Failure(
                "allow-origin-missing",
                "the response has no Access-Control-Allow-Origin header",
                (),
                None,
                spec,
            )
        ]
    if len(lines) > 1:
        return [
            Failure(
                "allow-origin-multiple",
                f"Access-Control-Allow-Origin appears {len(lines)} times, which combines to "
                f"{allow_origin!r}; it must be one value",
                lines,
                "send the header once: is it set both by the app and by a CORS middleware or a proxy?",
                spec,
            )
        ]
    if allow_origin == "*":
        if not credentials:
            return []
        return [
            Failure(
                "allow-origin-wildcard-credentials",
                "Access-Control-Allow-Origin is * but the request includes credentials, "
                "and * never matches a credentialed request",
                lines,
                "with credentials the server must reflect the exact origin instead of *; "
                "list the origin in the allowed origins",
                spec,
            )
        ]
    if allow_origin != origin:
        return [
            Failure(
                "allow-origin-mismatch",
                f"Access-Control-Allow-Origin is {allow_origin!r}, not the request's origin {origin!r}",
                lines,
                _origin_mismatch_hint(allow_origin, origin),
                spec,
            )
        ]
    if not credentials:
        return []
    allow_credentials = combine(headers, "access-control-allow-credentials")
    credential_lines = _lines(headers, "access-control-allow-credentials")
    if allow_credentials is None:
        return [
            Failure(
                "allow-credentials-missing",
                "the request includes credentials but the response has no Access-Control-Allow-Credentials header",
                (),
                "enable credentials on the server (allow_credentials=True), or send the request without credentials",
                spec,
            )
        ]
    if allow_credentials != "true":
        return [
            Failure(
                "allow-credentials-invalid",
                f"Access-Control-Allow-Credentials is {allow_credentials!r}; "
                "with credentials it must be exactly 'true'",
                credential_lines,
                "send exactly `Access-Control-Allow-Credentials: true` (lower case, once)",
                spec,
            )
        ]
    return []


@dataclass
class PreflightResult:
    """What a browser concludes from a preflight response (Fetch "CORS-preflight fetch" step 7)."""

    failures: list[Failure] = field(default_factory=list)
    """Every rule that failed, in the order the standard applies them (empty: passed)."""
    methods: Union[list[str], _Failure, None] = None
    """Access-Control-Allow-Methods as extracted (None: absent, FAILURE: unparsable)."""
    header_names: Union[list[str], _Failure, None] = None
    """Access-Control-Allow-Headers as extracted."""
    max_age: int = DEFAULT_MAX_AGE
    """Seconds the result may be cached per the standard (5 when absent or invalid)."""

    @property
    def ok(self) -> bool:
        return not self.failures


def preflight_check(
    status: int,
    headers: HeaderList,
    origin: str,
    method: str,
    request_headers: HeaderList,
    credentials: bool,
    reason: str = "",
    body: str = "",
) -> PreflightResult:
    """Fetch "CORS-preflight fetch", step 7: decide whether the preflight response lets the
    actual request through.

    The response needs an ok status and must pass the CORS check; then the method must be
    CORS-safelisted or listed in Access-Control-Allow-Methods (`*` counts only without
    credentials), an Authorization request header must be listed by name in
    Access-Control-Allow-Headers (`*` never covers it), and every other CORS-unsafe
    request-header name must be listed (`*` counts only without credentials). Names compare
    case-insensitively, methods byte for byte. All failures are returned, the standard's
    first one first (status, CORS check, parsing, method, Authorization, headers).
    """
    result = PreflightResult()
    failures = result.failures
    if not is_ok_status(status):
        failures.append(_status_failure(status, headers, reason, body))
    failures.extend(cors_check(headers, origin, credentials))

    methods = extract_header_list_values(headers, "access-control-allow-methods")
    header_names = extract_header_list_values(headers, "access-control-allow-headers")
    result.methods = methods
    result.header_names = header_names
    spec = "cors-preflight-fetch"
    if methods is FAILURE:
        failures.append(
            Failure(
                "allow-methods-invalid",
                "Access-Control-Allow-Methods is not a comma-separated list of methods",
                _lines(headers, "access-control-allow-methods"),
                "separate the methods with commas, e.g. `GET, POST, PUT`",
                spec,
            )
        )
    if header_names is FAILURE:
        failures.append(
            Failure(
                "allow-headers-invalid",
                "Access-Control-Allow-Headers is not a comma-separated list of header names",
                _lines(headers, "access-control-allow-headers"),
                "separate the header names with commas, e.g. `Content-Type, X-Token`",
                spec,
            )
        )
    if methods is not FAILURE and header_names is not FAILURE:
        assert not isinstance(methods, _Failure) and not isinstance(header_names, _Failure)
        failures.extend(_method_failures(headers, method, methods, credentials))
        failures.extend(_header_failures(headers, request_headers, header_names, credentials))

    max_age = parse_max_age(headers)
    result.max_age = DEFAULT_MAX_AGE if max_age is None or isinstance(max_age, _Failure) else max_age
    return result


def _status_failure(status: int, headers: HeaderList, reason: str, body: str) -> Failure:
    text = body.strip()
    shown = f" with body {text[:120]!r}" if text else ""
    message = (
        f"the preflight response has status {status}{' ' + reason if reason else ''}{shown}, not an ok status (200-299)"
    )
    if status == 405:
        hint = (
            "405 usually means no CORS layer answered the preflight and the app's router refused "
            "OPTIONS: add a CORS middleware (outermost), or check that it allows this origin"
        )
    elif status == 404:
        hint = (
            "no route answered OPTIONS for this path and no CORS middleware intercepted it "
            "(route-level CORS such as Kui's allow_cors only covers the routes it decorates)"
        )
    elif status in (401, 403):
        hint = (
            "preflights never carry credentials: let OPTIONS through authentication, or put the "
            "CORS middleware in front of the authentication layer"
        )
    elif 300 <= status <= 399:
        location = combine(headers, "location")
        hint = "a preflight must not be redirected" + (
            f" (the server redirects to {location!r}; request that URL directly, e.g. with or "
            "without the trailing slash)"
            if location
            else ""
        )
    elif status == 400 and text.startswith("Disallowed CORS"):
        hint = (
            f"the CORS middleware refused the preflight ({text[:120]!r}): the other failures say "
            "which of origin, method and headers to allow"
        )
        return Failure("preflight-status", message, (f"status: {status}",), hint, "cors-preflight-fetch", True)
    elif status >= 500:
        hint = "the server failed while answering the preflight; look at its error log"
    else:
        hint = "answer the preflight with a 2xx status (200 or 204)"
    return Failure("preflight-status", message, (f"status: {status}",), hint, "cors-preflight-fetch")


def _method_failures(
    headers: HeaderList, method: str, methods: Optional[list[str]], credentials: bool
) -> list[Failure]:
    listed = methods or []
    if method in listed or is_cors_safelisted_method(method):
        return []
    if not credentials and "*" in listed:
        return []
    lines = _lines(headers, "access-control-allow-methods")
    spec = "cors-preflight-fetch"
    if credentials and "*" in listed:
        return [
            Failure(
                "method-wildcard-credentials",
                f"{method} is covered only by * in Access-Control-Allow-Methods, which does not "
                "count for a request with credentials",
                lines,
                f"list {method} explicitly in the allowed methods",
                spec,
            )
        ]
    if methods is None:
        message = f"the preflight response has no Access-Control-Allow-Methods, so {method} is not allowed"
    else:
        message = f"{method} is not in Access-Control-Allow-Methods"
    near = [m for m in listed if m.upper() == method.upper()]
    if near:
        hint = (
            f"methods are compared case-sensitively: the server lists {near[0]!r} but the request "
            f"method is {method!r}"
            + (
                f" (fetch() upper-cases only DELETE, GET, HEAD, OPTIONS, POST and PUT; write {method!r} on both sides)"
                if method.upper() not in _NORMALIZED_METHODS
                else ""
            )
        )
    else:
        hint = f"add {method!r} to the server's allowed methods (allow_methods)"
    return [Failure("method-not-allowed", message, lines, hint, spec)]


def _header_failures(
    headers: HeaderList,
    request_headers: HeaderList,
    header_names: Optional[list[str]],
    credentials: bool,
) -> list[Failure]:
    listed = {name.lower() for name in header_names or []}
    wildcard = "*" in listed
    lines = _lines(headers, "access-control-allow-headers")
    spec = "cors-preflight-fetch"
    failures = []
    names = cors_unsafe_request_header_names(request_headers)
    authorization = any(is_cors_non_wildcard_request_header_name(name) for name, _ in request_headers)
    if authorization and "authorization" not in listed:
        if wildcard and not credentials:
            failures.append(
                Failure(
                    "header-authorization-wildcard",
                    "Authorization is covered only by * in Access-Control-Allow-Headers, and * "
                    "never covers Authorization",
                    lines,
                    "list Authorization explicitly in the allowed headers (note: Chromium still "
                    "lets this through with a deprecation warning; the Fetch standard blocks it)",
                    spec,
                )
            )
        else:
            failures.append(_header_not_allowed("authorization", header_names, lines, credentials))
    for name in names:
        if name in listed or name == "authorization":
            continue
        if wildcard and not credentials:
            continue
        failures.append(_header_not_allowed(name, header_names, lines, credentials))
    return failures


def _header_not_allowed(
    name: str, header_names: Optional[list[str]], lines: tuple[str, ...], credentials: bool
) -> Failure:
    spec = "cors-preflight-fetch"
    if credentials and header_names and "*" in header_names:
        return Failure(
            "header-wildcard-credentials",
            f"request header {name} is covered only by * in Access-Control-Allow-Headers, which "
            "does not count for a request with credentials",
            lines,
            f"list {name} explicitly in the allowed headers",
            spec,
        )
    if header_names is None:
        message = (
            f"request header {name} needs to be allowed, but the preflight response has no Access-Control-Allow-Headers"
        )
    else:
        message = f"request header {name} is not in Access-Control-Allow-Headers"
    return Failure(
        "header-not-allowed",
        message,
        lines,
        f"add {name!r} to the server's allowed headers (allow_headers)",
        spec,
    )


# ---------------------------------------------------------------------------------------
# Response headers a script can read
# ---------------------------------------------------------------------------------------

_SAFELISTED_RESPONSE_HEADER_NAMES = frozenset(
    {"cache-control", "content-language", "content-length", "content-type", "expires", "last-modified", "pragma"}
)


def is_forbidden_response_header_name(name: str) -> bool:
    """Fetch "forbidden response-header name": `Set-Cookie` and `Set-Cookie2`."""
    return name.lower() in ("set-cookie", "set-cookie2")


def exposed_header_names(headers: HeaderList, credentials: bool) -> list[str]:
    """Fetch "HTTP fetch" step 4.2 (CORS-exposed header-name list), lower-cased.

    Access-Control-Expose-Headers as extracted (an unparsable value exposes nothing); `*`
    exposes every header name of the response, unless the request has credentials, where
    `*` is just a (useless) header name.
    """
    names = extract_header_list_values(headers, "access-control-expose-headers")
    if names is None or isinstance(names, _Failure):
        return []
    if not credentials and "*" in names:
        return list(dict.fromkeys(name.lower() for name, _ in headers))
    return list(dict.fromkeys(name.lower() for name in names))


def is_cors_safelisted_response_header_name(name: str, exposed: Iterable[str]) -> bool:
    """Fetch "CORS-safelisted response-header name": Cache-Control, Content-Language,
    Content-Length, Content-Type, Expires, Last-Modified, Pragma, and any exposed name that
    is not a forbidden response-header name."""
    lower = name.lower()
    if lower in _SAFELISTED_RESPONSE_HEADER_NAMES:
        return True
    return not is_forbidden_response_header_name(lower) and lower in {e.lower() for e in exposed}


def readable_response_headers(headers: HeaderList, credentials: bool) -> tuple[list[str], list[str]]:
    """Fetch "CORS filtered response": return (names a script can read, names it cannot), both
    sorted and lower-cased, as `Response.headers` would list them."""
    exposed = exposed_header_names(headers, credentials)
    readable: set[str] = set()
    hidden: set[str] = set()
    for name, _ in headers:
        lower = name.lower()
        (readable if is_cors_safelisted_response_header_name(lower, exposed) else hidden).add(lower)
    return sorted(readable), sorted(hidden)
