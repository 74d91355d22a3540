"""The Fetch standard's CORS rules as pure functions (https://fetch.spec.whatwg.org/).

`corsfast check` uses these to decide, exactly as a browser's `fetch()` would, whether a
request needs a preflight, whether the preflight response lets the request through,
whether the CORS check passes on the actual response, and which response headers a script
can read. Nothing here does I/O.

Conventions: header names are compared case-insensitively (lower-cased here), header
values are `str` holding one character per byte (latin-1, the Fetch standard's
"isomorphic decoding"), and a header list is a sequence of `(name, value)` pairs, repeated
names included, in wire order. Section names in docstrings are the standard's anchors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

__all__ = (
    "CHROMIUM_MAX_AGE_LIMIT",
    "DEFAULT_MAX_AGE",
    "FAILURE",
    "Failure",
    "HeaderList",
    "OriginError",
    "PreflightResult",
    "combine",
    "cors_check",
    "cors_unsafe_request_header_names",
    "exposed_header_names",
    "extract_header_list_values",
    "is_cors_non_wildcard_request_header_name",
    "is_cors_safelisted_method",
    "is_cors_safelisted_request_header",
    "is_cors_safelisted_response_header_name",
    "is_cors_unsafe_request_header_byte",
    "is_forbidden_method",
    "is_forbidden_request_header",
    "is_forbidden_response_header_name",
    "is_method",
    "is_ok_status",
    "is_token",
    "normalize_header_value",
    "normalize_method",
    "parse_max_age",
    "parse_mime_type_essence",
    "parse_single_range_header_value",
    "preflight_check",
    "preflight_request_headers",
    "readable_response_headers",
    "serialize_origin",
    "unsafe_header_reasons",
)

HeaderList = Sequence[tuple[str, str]]


class _Failure:
    """The Fetch standard's "failure" result of a parser (distinct from None, "null")."""

    _instance: Optional[_Failure] = None

    def __new__(cls) -> _Failure:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "FAILURE"

    def __bool__(self) -> bool:
        return False


FAILURE = _Failure()
"""Returned by the parsers when the standard says "return failure"."""

DEFAULT_MAX_AGE = 5
"""Seconds a preflight result is cached when Access-Control-Max-Age is absent or invalid."""

CHROMIUM_MAX_AGE_LIMIT = 7200
"""Chromium's "imposed limit" on Access-Control-Max-Age (two hours)."""

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HTTP_WHITESPACE = "\t\n\r "
_HTTP_TAB_OR_SPACE = "\t "

# ---------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------

_SAFELISTED_METHODS = frozenset({"GET", "HEAD", "POST"})
_FORBIDDEN_METHODS = frozenset({"CONNECT", "TRACE", "TRACK"})
_NORMALIZED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})


def is_token(value: str) -> bool:
    """Return whether `value` is an RFC 9110 token (section 5.6.2): one or more tchars."""
    return bool(value) and all(c in _TCHAR for c in value)


def is_method(method: str) -> bool:
    """Fetch "method": a byte sequence that matches the `method` token production."""
    return is_token(method)


def is_forbidden_method(method: str) -> bool:
    """Fetch "forbidden method": a byte-case-insensitive match for CONNECT, TRACE or TRACK."""
    return method.upper() in _FORBIDDEN_METHODS


def normalize_method(method: str) -> str:
    """Fetch "normalize a method": byte-upper-case DELETE, GET, HEAD, OPTIONS, POST and PUT
    (matched case-insensitively); leave every other method as written (`patch` stays)."""
    upper = method.upper()
    return upper if upper in _NORMALIZED_METHODS else method


def is_cors_safelisted_method(method: str) -> bool:
    """Fetch "CORS-safelisted method": `GET`, `HEAD` or `POST` (byte for byte, after normalizing)."""
    return method in _SAFELISTED_METHODS


# ---------------------------------------------------------------------------------------
# Request headers
# ---------------------------------------------------------------------------------------

_FORBIDDEN_REQUEST_HEADER_NAMES = frozenset(
    {
        "accept-charset",
        "accept-encoding",
        "access-control-request-headers",
        "access-control-request-method",
        "connection",
        "content-length",
        "cookie",
        "cookie2",
        "date",
        "dnt",
        "expect",
        "host",
        "keep-alive",
        "origin",
        "referer",
        "set-cookie",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "via",
    }
)
_METHOD_OVERRIDE_HEADER_NAMES = frozenset({"x-http-method", "x-http-method-override", "x-method-override"})
_UNSAFE_BYTES = frozenset('"():<>?@[\\]{}\x7f')
_LANGUAGE_BYTES = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz *,-.;=")
_SAFELISTED_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})


def normalize_header_value(value: str) -> str:
    """Fetch "normalize" a byte sequence: strip leading and trailing HTTP whitespace bytes."""
    return value.strip(_HTTP_WHITESPACE)


def is_forbidden_request_header(name: str, value: str) -> bool:
    """Fetch "forbidden request-header": a header `fetch()` silently refuses to let a script set.

    The fixed names (Cookie, Host, Origin, ...), any name starting with `proxy-` or `sec-`,
    and X-HTTP-Method / X-HTTP-Method-Override / X-Method-Override whose value names a
    forbidden method.
    """
    lower = name.lower()
    if lower in _FORBIDDEN_REQUEST_HEADER_NAMES or lower.startswith(("proxy-", "sec-")):
        return True
    if lower in _METHOD_OVERRIDE_HEADER_NAMES:
        return any(is_forbidden_method(item.strip(_HTTP_TAB_OR_SPACE)) for item in value.split(","))
    return False


def is_cors_unsafe_request_header_byte(byte: str) -> bool:
    """Fetch "CORS-unsafe request-header byte": a control byte other than HT, or one of
    ``"():<>?@[\\]{}`` and DEL."""
    return (byte < "\x20" and byte != "\t") or byte in _UNSAFE_BYTES


def parse_mime_type_essence(value: str) -> Optional[str]:
    """MIME Sniffing "parse a MIME type", returning only the essence (`type/subtype`,
    lower-cased), or None for failure. Parameters never make parsing fail."""
    text = value.strip(_HTTP_WHITESPACE)
    slash = text.find("/")
    if slash <= 0:
        return None
    mime_type = text[:slash]
    if not is_token(mime_type):
        return None
    rest = text[slash + 1 :]
    semicolon = rest.find(";")
    subtype = (rest if semicolon < 0 else rest[:semicolon]).rstrip(_HTTP_WHITESPACE)
    if not is_token(subtype):
        return None
    return f"{mime_type}/{subtype}".lower()


def parse_single_range_header_value(
    value: str, allow_whitespace: bool = False
) -> Union[tuple[Optional[int], Optional[int]], _Failure]:
    """Fetch "parse a single range header value": `bytes=start-end` with one side optional."""
    if not value.startswith("bytes"):
        return FAILURE
    position = 5

    def skip_whitespace() -> None:
        nonlocal position
        if allow_whitespace:
            while position < len(value) and value[position] in _HTTP_TAB_OR_SPACE:
                position += 1

    def digits() -> Optional[int]:
        nonlocal position
        start = position
        while position < len(value) and "0" <= value[position] <= "9":
            position += 1
        return int(value[start:position]) if position > start else None

    skip_whitespace()
    if position >= len(value) or value[position] != "=":
        return FAILURE
    position += 1
    skip_whitespace()
    start_value = digits()
    skip_whitespace()
    if position >= len(value) or value[position] != "-":
        return FAILURE
    position += 1
    skip_whitespace()
    end_value = digits()
    if position < len(value):
        return FAILURE
    if start_value is None and end_value is None:
        return FAILURE
    if start_value is not None and end_value is not None and start_value > end_value:
        return FAILURE
    return (start_value, end_value)


def _safelisted_request_header_reason(name: str, value: str) -> Optional[str]:
    """Return None if (name, value) is a CORS-safelisted request-header, else why it is not."""
    if len(value) > 128:
        return f"its value is {len(value)} bytes long (the limit is 128)"
    lower = name.lower()
    if lower == "accept":
        if any(is_cors_unsafe_request_header_byte(c) for c in value):
            return 'its value contains a CORS-unsafe byte (one of "():<>?@[\\]{} or a control byte)'
    elif lower in ("accept-language", "content-language"):
        if any(c not in _LANGUAGE_BYTES for c in value):
            return "its value has a byte other than letters, digits, space and *,-.;="
    elif lower == "content-type":
        if any(is_cors_unsafe_request_header_byte(c) for c in value):
            return 'its value contains a CORS-unsafe byte (one of "():<>?@[\\]{} or a control byte)'
        essence = parse_mime_type_essence(value)
        if essence is None:
            return f"its value {value!r} is not a MIME type"
        if essence not in _SAFELISTED_CONTENT_TYPES:
            return (
                f"its MIME type {essence} is not application/x-www-form-urlencoded, multipart/form-data or text/plain"
            )
    elif lower == "range":
        parsed = parse_single_range_header_value(value, False)
        if parsed is FAILURE:
            return f"its value {value!r} is not a single byte range such as bytes=0-99"
        assert isinstance(parsed, tuple)
        if parsed[0] is None:
            return "it is a suffix range (bytes=-N), which is not safelisted"
    else:
        return "it is not one of Accept, Accept-Language, Content-Language, Content-Type, Range"
    return None


def is_cors_safelisted_request_header(name: str, value: str) -> bool:
    """Fetch "CORS-safelisted request-header": Accept, Accept-Language, Content-Language,
    Content-Type (form, multipart or text/plain only) and Range (a single `bytes=N-[M]`),
    each with a value of at most 128 bytes and no unsafe bytes."""
    return _safelisted_request_header_reason(name, value) is None


def unsafe_header_reasons(headers: HeaderList) -> dict[str, str]:
    """Return {lower-cased name: why} for the CORS-unsafe request-header names of `headers`.

    Same decision as `cors_unsafe_request_header_names`, with one reason per name (the
    first entry of a name that is unsafe decides its reason).
    """
    reasons: dict[str, str] = {}
    potentially_unsafe: list[str] = []
    safelist_value_size = 0
    for name, value in headers:
        reason = _safelisted_request_header_reason(name, value)
        if reason is not None:
            reasons.setdefault(name.lower(), reason)
        else:
            potentially_unsafe.append(name.lower())
            safelist_value_size += len(value)
    if safelist_value_size > 1024:
        for lower in potentially_unsafe:
            reasons.setdefault(
                lower,
                f"the safelisted headers' values add up to {safelist_value_size} bytes (the limit is 1024)",
            )
    return {name: reasons[name] for name in sorted(reasons)}


def cors_unsafe_request_header_names(headers: HeaderList) -> list[str]:
    """Fetch "CORS-unsafe request-header names": the sorted, lower-cased, de-duplicated names
    of the headers that are not CORS-safelisted, plus every safelisted one once the safelisted
    values add up to more than 1024 bytes. Forbidden headers must already be left out (a
    browser sets them itself after this decision)."""
    return list(unsafe_header_reasons(headers))


def is_cors_non_wildcard_request_header_name(name: str) -> bool:
    """Fetch "CORS non-wildcard request-header name": `Authorization` (never covered by `*`)."""
    return name.lower() == "authorization"


def preflight_request_headers(method: str, headers: HeaderList) -> list[tuple[str, str]]:
    """Fetch "CORS-preflight fetch", steps 1-4: the CORS headers of the preflight request.

    `Accept: */*`, `Access-Control-Request-Method` (the normalized method) and, when some
    request headers are CORS-unsafe, `Access-Control-Request-Headers` with their names
    lower-cased, sorted and joined by "," with no space (not the "combine" separator).
    """
    result = [("accept", "*/*"), ("access-control-request-method", method)]
    names = cors_unsafe_request_header_names(headers)
    if names:
        result.append(("access-control-request-headers", ",".join(names)))
    return result


# ---------------------------------------------------------------------------------------
# Response header parsing
# ---------------------------------------------------------------------------------------


def _values(headers: HeaderList, name: str) -> list[str]:
    lower = name.lower()
    return [value for header_name, value in headers if header_name.lower() == lower]


def combine(headers: HeaderList, name: str) -> Optional[str]:
    """Fetch "get" a header: the values of every `name` header joined by ", ", or None."""
    values = _values(headers, name)
    if not values:
        return None
    return ", ".join(normalize_header_value(value) for value in values)


def _parse_list(value: str) -> Optional[list[str]]:
    """Parse an RFC 9110 `#token` list (empty elements allowed, OWS around commas)."""
    items = []
    for element in value.split(","):
        element = element.strip(_HTTP_TAB_OR_SPACE)
        if not element:
            continue
        if not is_token(element):
            return None
        items.append(element)
    return items


def extract_header_list_values(
    headers: HeaderList, name: str, *, single: bool = False
) -> Union[list[str], _Failure, None]:
    """Fetch "extract header list values" for a `#token` header (Access-Control-Allow-Methods,
    -Allow-Headers, -Expose-Headers): None when absent, FAILURE when a value is not a
    comma-separated list of tokens (or when `single` and the header is repeated), else
    every listed value in order, across all the header lines (as "combine" would join them)."""
    values = _values(headers, name)
    if not values:
        return None
    if single and len(values) > 1:
        return FAILURE
    result: list[str] = []
    for value in values:
        parsed = _parse_list(normalize_header_value(value))
        if parsed is None:
            return FAILURE
        result.extend(parsed)
    return result


def parse_max_age(headers: HeaderList) -> Union[int, _Failure, None]:
    """Fetch "extract header list values" for Access-Control-Max-Age (`delta-seconds`, one
    header only): None when absent, FAILURE when repeated or not digits, else the seconds."""
    values = _values(headers, "access-control-max-age")
    if not values:
        return None
    if len(values) > 1:
        return FAILURE
    value = normalize_header_value(values[0])
    if not value or not value.isascii() or not value.isdigit():
        return FAILURE
    return int(value)


def is_ok_status(status: int) -> bool:
    """Fetch "ok status": 200 to 299 inclusive."""
    return 200 <= status <= 299


# ---------------------------------------------------------------------------------------
# Origins
# ---------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


class OriginError(ValueError):
    """`--origin` is not a serialized origin; `suggestion` is what a browser would send, if known."""

    def __init__(self, message: str, suggestion: Optional[str] = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


def _canonical_origin(text: str) -> Optional[str]:
    """Return the serialized origin a browser would derive from `text` (a URL), or None."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        return None
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def serialize_origin(text: str) -> str:
    """Return `text` if it is a serialized origin as a browser sends it in `Origin`, else raise
    OriginError (with the serialization a browser would use when one can be derived).

    A serialized origin is `null` or `scheme://host[:port]`: lower-case scheme and host,
    no default port, no user info, path, query, fragment or trailing slash.
    """
    if text == "null":
        return text
    canonical = _canonical_origin(text)
    if text != canonical:
        if canonical is None:
            raise OriginError(f"{text!r} is not an origin (scheme://host[:port], or null)")
        raise OriginError(
            f"{text!r} is not a serialized origin: a browser sends {canonical!r} "
            "(lower-case scheme and host, no default port, no path or trailing slash)",
            canonical,
        )
    scheme = canonical.split("://", 1)[0]
    if not scheme[0].isalpha() or not all(c.isalnum() or c in "+-." for c in scheme):
        raise OriginError(f"{text!r} is not an origin: bad scheme {scheme!r}")
    return canonical


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


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
            f"the CORS middleware refused the preflight ({text[:120]!r}): see the other failures "
            "below for which of origin, method and headers to allow"
        )
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
