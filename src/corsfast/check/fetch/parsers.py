"""The Fetch standard's definitions (https://fetch.spec.whatwg.org/): methods, request headers,
response header parsing and origins, as pure functions.

Conventions: header names are compared case-insensitively (lower-cased here), header
values are `str` holding one character per byte (latin-1, the Fetch standard's
"isomorphic decoding"), and a header list is a sequence of `(name, value)` pairs, repeated
names included, in wire order. Section names in docstrings are the standard's anchors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

__all__ = (
    "CHROMIUM_MAX_AGE_LIMIT",
    "DEFAULT_MAX_AGE",
    "FAILURE",
    "HeaderList",
    "OriginError",
    "combine",
    "cors_unsafe_request_header_names",
    "extract_header_list_values",
    "is_cors_non_wildcard_request_header_name",
    "is_cors_safelisted_method",
    "is_cors_safelisted_request_header",
    "is_cors_unsafe_request_header_byte",
    "is_forbidden_method",
    "is_forbidden_request_header",
    "is_method",
    "is_ok_status",
    "is_token",
    "normalize_header_value",
    "normalize_method",
    "parse_max_age",
    "parse_mime_type_essence",
    "parse_single_range_header_value",
    "preflight_request_headers",
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
