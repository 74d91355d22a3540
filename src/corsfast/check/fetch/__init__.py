"""The Fetch standard's CORS rules as pure functions (https://fetch.spec.whatwg.org/).

`corsfast check` uses these to decide, exactly as a browser's `fetch()` would, whether a
request needs a preflight, whether the preflight response lets the request through,
whether the CORS check passes on the actual response, and which response headers a script
can read. Nothing here does I/O.

Conventions: header names are compared case-insensitively (lower-cased here), header
values are `str` holding one character per byte (latin-1, the Fetch standard's
"isomorphic decoding"), and a header list is a sequence of `(name, value)` pairs, repeated
names included, in wire order. Section names in docstrings are the standard's anchors.

The rules live in two modules: `parsers` (methods, request headers, response header
parsing, origins) and `checks` (the CORS check, the preflight checks, readable response
headers); every public name is re-exported here.
"""

from __future__ import annotations

from .checks import (
    Failure,
    PreflightResult,
    cors_check,
    exposed_header_names,
    is_cors_safelisted_response_header_name,
    is_forbidden_response_header_name,
    preflight_check,
    readable_response_headers,
)
from .parsers import (
    CHROMIUM_MAX_AGE_LIMIT,
    DEFAULT_MAX_AGE,
    FAILURE,
    HeaderList,
    OriginError,
    combine,
    cors_unsafe_request_header_names,
    extract_header_list_values,
    is_cors_non_wildcard_request_header_name,
    is_cors_safelisted_method,
    is_cors_safelisted_request_header,
    is_cors_unsafe_request_header_byte,
    is_forbidden_method,
    is_forbidden_request_header,
    is_method,
    is_ok_status,
    is_token,
    normalize_header_value,
    normalize_method,
    parse_max_age,
    parse_mime_type_essence,
    parse_single_range_header_value,
    preflight_request_headers,
    serialize_origin,
    unsafe_header_reasons,
)

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
