"""`corsfast.flask.core`: the names of flask-cors 6.0.5's `flask_cors.core`, for code that imports them.

The header-name constants, the defaults, and the configuration helpers with flask-cors'
semantics: merging (resource options > keyword arguments > `CORS_*` app config >
defaults), the regex-detection rule, resource ordering, and `serialize_options`, which
resolves raw options into a `FlaskOptions` (flask-cors' `_ComputedCorsOptions`) that the
engine compiles. `serialize_options` also refuses, with ValueError, the values that
Werkzeug would refuse on every response carrying them (a CR or LF in a header value), and
those holding any other control character but tab (a NUL, which Werkzeug sends), and
patterns that cannot run on a `str`.

The request-time helpers (`get_cors_origins`, `get_cors_headers`, `set_cors_headers`) give
flask-cors' answers through the engine, so they carry the same security differences as
`CORS` and `cross_origin` (origin patterns full-matched, control characters never
matched). `serialize_option`, `try_match` and `try_match_any` are flask-cors 5.x's (gone in
6.0), for code written against it. `LOG` is flask-cors' logger, `flask_cors.core`: corsfast
logs on it what flask-cors logs while options are resolved (unknown option names), never
per request.

A glob-style port origin, `scheme://host:*` (such as `http://localhost:*`), means any port
of that host: flask-cors reads it as a regular expression matched at the start only.
`serialize_options` resolves it into a pattern that full-matches exactly those origins.

`lint_options` is corsfast's: it warns (`corsfast.CORSConfigWarning`) about dangerous but
valid options, once, where `CORS()` or `@cross_origin` is written.
"""

from __future__ import annotations

import difflib
import logging
import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Optional, TypedDict, Union, cast

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.datastructures import Headers, MultiDict

from .. import _options
from .._engine import engine as _default_engine
from .._options import lint as _lint
from .._options.base import _PORT_WILDCARD_ORIGIN

if TYPE_CHECKING:
    from types import ModuleType

# Mirrors flask_cors.core's module namespace, so `from corsfast.flask.core import *` gives
# what `from flask_cors.core import *` gives (flask-cors' own tests rely on `re` among them).

LOG = logging.getLogger("flask_cors.core")
"""flask-cors' logger: corsfast logs on it what flask-cors logs while options are resolved."""

ResourcePattern = Union[str, "re.Pattern[str]"]
"""A resource, origin or header pattern: a literal string or a compiled regular expression."""
ResourceSpec = Union[
    str,
    "re.Pattern[str]",
    "list[ResourcePattern]",
    "dict[ResourcePattern, dict[str, Any]]",
]
OriginsInput = Union[ResourcePattern, "Iterable[ResourcePattern]"]
HeadersInput = Union[ResourcePattern, "Iterable[ResourcePattern]"]
MethodsInput = Union[str, "Iterable[str]"]
ExposeHeadersInput = Union[str, "Iterable[str]", None]
MaxAgeInput = Union[timedelta, int, str, None]


class CrossOriginOptionsInput(TypedDict, total=False):
    """The keyword options of `cross_origin` (all optional)."""

    origins: OriginsInput
    methods: MethodsInput
    expose_headers: ExposeHeadersInput
    allow_headers: HeadersInput
    supports_credentials: bool
    max_age: MaxAgeInput
    send_wildcard: bool
    vary_header: bool
    automatic_options: bool
    always_send: bool
    allow_private_network: bool


class CorsOptionsInput(CrossOriginOptionsInput, total=False):
    """The keyword options of `CORS` and `CORS.init_app`: the decorator's plus two of the extension's."""

    resources: ResourceSpec
    intercept_exceptions: bool


class ObserveOptionsInput(TypedDict, total=False):
    """corsfast's keyword options of `CORS`, `init_app` and `cross_origin`: how they are
    observed (see the Flask page's "Counters and logs"). flask-cors has none of them."""

    name: str
    log_interval: float
    top_refused_size: int


class CrossOriginKeywords(CrossOriginOptionsInput, ObserveOptionsInput, total=False):
    """Every keyword option of `cross_origin`."""


class CorsKeywords(CorsOptionsInput, ObserveOptionsInput, total=False):
    """Every keyword option of `CORS` and `CORS.init_app`."""


ACL_ORIGIN = "Access-Control-Allow-Origin"
ACL_METHODS = "Access-Control-Allow-Methods"
ACL_ALLOW_HEADERS = "Access-Control-Allow-Headers"
ACL_EXPOSE_HEADERS = "Access-Control-Expose-Headers"
ACL_CREDENTIALS = "Access-Control-Allow-Credentials"
ACL_MAX_AGE = "Access-Control-Max-Age"
ACL_RESPONSE_PRIVATE_NETWORK = "Access-Control-Allow-Private-Network"

ACL_REQUEST_METHOD = "Access-Control-Request-Method"
ACL_REQUEST_HEADERS = "Access-Control-Request-Headers"
ACL_REQUEST_HEADER_PRIVATE_NETWORK = "Access-Control-Request-Private-Network"

ALL_METHODS = ["GET", "HEAD", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
CONFIG_OPTIONS = [
    "CORS_ORIGINS",
    "CORS_METHODS",
    "CORS_ALLOW_HEADERS",
    "CORS_EXPOSE_HEADERS",
    "CORS_SUPPORTS_CREDENTIALS",
    "CORS_MAX_AGE",
    "CORS_SEND_WILDCARD",
    "CORS_AUTOMATIC_OPTIONS",
    "CORS_VARY_HEADER",
    "CORS_RESOURCES",
    "CORS_INTERCEPT_EXCEPTIONS",
    "CORS_ALWAYS_SEND",
    "CORS_ALLOW_PRIVATE_NETWORK",
]
FLASK_CORS_EVALUATED = "_FLASK_CORS_EVALUATED"
"""Set on a response by `@cross_origin`; a response that has it is never changed again."""

RegexObject = re.Pattern
string_types = (str,)
"""What flask-cors 3.x imported from `six` (`six.string_types` on Python 3), for code that imports it from here."""

_REGEX_HINT_CHARS = frozenset("*\\]?$^[]()")
_KNOWN_OPTIONS = frozenset(CorsOptionsInput.__required_keys__) | frozenset(CorsOptionsInput.__optional_keys__)

DEFAULT_OPTIONS: CorsOptionsInput = {
    "origins": "*",
    "methods": ALL_METHODS,
    "allow_headers": "*",
    "expose_headers": None,
    "supports_credentials": False,
    "max_age": None,
    "send_wildcard": False,
    "automatic_options": True,
    "vary_header": True,
    "resources": r"/*",
    "intercept_exceptions": True,
    "always_send": True,
    "allow_private_network": False,
}


@dataclass(frozen=True)
class FlaskOptions:
    """The resolved options of one resource or decorated view (flask-cors' `_ComputedCorsOptions`).

    `origins` and `allow_headers` hold literals (compared case-insensitively) and compiled
    patterns (origin patterns are full-matched by the engine, header patterns prefix-matched
    as flask-cors does); `methods` and `expose_headers` are joined strings or None.
    """

    origins: list[Any]
    allow_headers: list[Any]
    allow_all_origins: bool
    methods: Optional[str]
    expose_headers: Optional[str]
    max_age: Union[str, int, None]
    supports_credentials: bool
    send_wildcard: bool
    automatic_options: bool
    vary_header: bool
    intercept_exceptions: bool
    always_send: bool
    allow_private_network: bool
    port_wildcards: tuple[tuple[str, re.Pattern[str]], ...] = ()
    """The glob-style port origins among `origins` (`http://localhost:*`), each with the pattern
    that stands for it in `origins`; corsfast's, flask-cors has no such field."""


_ComputedCorsOptions = FlaskOptions
"""flask-cors' name for the resolved options."""


# -- flask-cors' helpers -------------------------------------------------------------------------


def probably_regex(maybe_regex: ResourcePattern) -> bool:
    """Return True for a compiled pattern, or a string holding any of `*\\]?$^[]()` (flask-cors' rule)."""
    if isinstance(maybe_regex, re.Pattern):
        return True
    return not _REGEX_HINT_CHARS.isdisjoint(maybe_regex)


def re_fix(reg: ResourcePattern) -> ResourcePattern:
    """Return `.*` for the lone `*` (not a valid regex), anything else unchanged."""
    return r".*" if reg == r"*" else reg


def get_regexp_pattern(regexp: ResourcePattern) -> str:
    """Return the source of a compiled pattern, or `str()` of anything else."""
    if isinstance(regexp, re.Pattern):
        return regexp.pattern
    return str(regexp)


def ensure_iterable(inst: Any) -> Iterable[Any]:
    """Return `[inst]` for a string or a non-iterable, else `inst`."""
    if isinstance(inst, str) or not isinstance(inst, Iterable):
        return [inst]
    return inst


def sanitize_regex_param(param: Any) -> list[ResourcePattern]:
    """Return `param` as a list, with a lone `*` turned into `.*`."""
    return [re_fix(x) for x in ensure_iterable(param)]


def flexible_str(obj: Any) -> Optional[str]:
    """Return a string as is, an iterable sorted and joined with ", ", None as None."""
    if obj is None:
        return None
    if not isinstance(obj, str) and isinstance(obj, Iterable):
        return ", ".join(str(item) for item in sorted(obj))
    return str(obj)


def serialize_option(options_dict: dict[str, Any], key: str, upper: bool = False) -> None:
    """Replace `options_dict[key]`, when present, by its `flexible_str` (upper-cased with
    `upper`): flask-cors 5.x's helper, gone in 6.0."""
    if key in options_dict:
        value = flexible_str(options_dict[key])
        options_dict[key] = value.upper() if upper else value  # type: ignore[union-attr]


def try_match_pattern(value: Any, pattern: ResourcePattern, caseSensitive: bool = True) -> bool:
    """Return flask-cors' match of `value` against a resolved pattern.

    A compiled pattern runs with `match` (a prefix), as flask-cors runs resource and header
    patterns; corsfast full-matches origin patterns instead (README, "Differences from
    flask-cors"). A literal compares `str()`s, case-folded unless `caseSensitive`.
    """
    if isinstance(pattern, re.Pattern):
        return bool(pattern.match(value))
    try:
        v = str(value)
        p = str(pattern)
    except Exception:
        return bool(value == pattern)
    return v == p if caseSensitive else v.casefold() == p.casefold()


def try_match_any_pattern(inst: str, patterns: Iterable[ResourcePattern], caseSensitive: bool = True) -> bool:
    """Return True when `try_match_pattern` matches any of `patterns`."""
    return any(try_match_pattern(inst, pattern, caseSensitive) for pattern in patterns)


def try_match(request_origin: Any, maybe_regex: Any) -> Any:
    """Return flask-cors 5.x's match of a value against a pattern (gone in flask-cors 6.0).

    A compiled pattern runs with `re.match` (a prefix); a string holding any of
    `*\\]?$^[]()` is compiled and run the same way, case-insensitively; anything else is
    compared with `.lower()` on both sides, or `==` when one has no `.lower()`. Returns the
    match object, None or a bool, as flask-cors 5.x does. corsfast's own origin matching
    full-matches patterns instead (README, "Differences from flask-cors").
    """
    if isinstance(maybe_regex, RegexObject):
        return re.match(maybe_regex, request_origin)
    if probably_regex(maybe_regex):
        return re.match(maybe_regex, request_origin, flags=re.IGNORECASE)
    try:
        return request_origin.lower() == maybe_regex.lower()
    except AttributeError:
        return request_origin == maybe_regex


def try_match_any(inst: Any, patterns: Iterable[Any]) -> bool:
    """Return True when flask-cors 5.x's `try_match` matches any of `patterns` (gone in 6.0)."""
    return any(try_match(inst, pattern) for pattern in patterns)


def _resolve_pattern(pattern: Any, *, ignore_case: bool) -> Any:
    """Return a regex-looking string compiled, anything else unchanged (flask-cors' rule).

    An invalid regular expression raises ValueError (flask-cors' message); a bytes pattern,
    which cannot run on a `str` path, origin or header name, raises TypeError.
    """
    if isinstance(pattern, str) and probably_regex(pattern):
        try:
            return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"Invalid regular expression in Flask-CORS configuration: {pattern!r}") from exc
    if isinstance(pattern, re.Pattern) and not isinstance(pattern.pattern, str):
        raise TypeError(f"{pattern!r} is a bytes pattern; paths, origins and header names are matched as str")
    return pattern


def parse_resources(resources: Any) -> list[tuple[Any, dict[str, Any]]]:
    """Return `(pattern, options)` pairs: literal paths first, then by `/` count and length.

    A dict is sorted so; a string, a compiled pattern or an iterable keeps its order. Regex
    strings are compiled (paths are case-sensitive); anything else raises ValueError.
    """
    if isinstance(resources, dict):
        pairs = [(re_fix(k), v) for k, v in resources.items()]

        def sort_key(pair: tuple[Any, Any]) -> tuple[int, int, int, int]:
            pattern, _ = pair
            if isinstance(pattern, re.Pattern):
                return (1, 0, -pattern.pattern.count("/"), -len(pattern.pattern))
            if probably_regex(pattern):
                return (1, 1, -pattern.count("/"), -len(pattern))
            return (0, 0, -pattern.count("/"), -len(pattern))

        pairs.sort(key=sort_key)
    elif isinstance(resources, str):
        pairs = [(re_fix(resources), {})]
    elif isinstance(resources, Iterable):
        pairs = [(re_fix(r), {}) for r in resources]
    elif isinstance(resources, re.Pattern):  # pragma: no cover - a Pattern is not Iterable; kept as flask-cors has it
        pairs = [(re_fix(resources), {})]
    else:
        raise ValueError("Unexpected value for resources argument.")
    return [(_resolve_pattern(pattern, ignore_case=False), opts) for pattern, opts in pairs]


def get_app_kwarg_dict(appInstance: Flask | Blueprint | None = None) -> dict[str, Any]:
    """Return the app's `CORS_*` config as option names (a blueprint has none); None values are skipped."""
    app = appInstance or current_app
    app_config = getattr(app, "config", {})
    return {k.lower().replace("cors_", ""): value for k in CONFIG_OPTIONS if (value := app_config.get(k)) is not None}


def merge_options(appInstance: Flask | Blueprint | None, *dicts: Mapping[str, Any]) -> dict[str, Any]:
    """Return the defaults updated by the app's config, then by each of `dicts` (the last wins)."""
    options: dict[str, Any] = dict(DEFAULT_OPTIONS)
    options.update(get_app_kwarg_dict(appInstance))
    for d in dicts:
        options.update(d)
    return options


# Control characters but tab (which a field value may hold): CR and LF, which Werkzeug refuses
# on every response, and NUL and the rest, which it sends and servers or clients choke on.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


def _newline_free(name: str, value: Optional[str]) -> None:
    """Raise ValueError for a header value holding a control character other than tab (CR, LF, NUL, ...)."""
    if value is not None and _CONTROL.search(value):
        raise ValueError(
            f"{name}: {value!r} holds a control character (CR, LF, NUL, ...); it would be written into "
            "every response that carries it (Werkzeug refuses CR and LF there)"
        )


def _header_text(value: Any) -> Optional[str]:
    """Return a header value as Werkzeug stores it, or None when flask-cors leaves it out (falsy)."""
    if not value:
        return None
    return value if isinstance(value, str) else str(value)


def serialize_options(opts: Mapping[str, Any]) -> FlaskOptions:
    """Return raw options (defaults already merged) resolved into `FlaskOptions`.

    flask-cors' rules: origins and header names become literals and compiled patterns
    (case-insensitive), methods are joined upper-case, a `timedelta` max_age becomes its
    seconds; `*` origins with both `supports_credentials` and `send_wildcard` raise
    ValueError, as do invalid regular expressions.
    """
    for key in opts:
        if key not in _KNOWN_OPTIONS:
            LOG.warning("Unknown option passed to Flask-CORS: %s", key)
    sanitized_origins = sanitize_regex_param(opts.get("origins"))
    allow_all_origins = r".*" in sanitized_origins
    supports_credentials = bool(opts.get("supports_credentials"))
    send_wildcard = bool(opts.get("send_wildcard"))
    if allow_all_origins and supports_credentials and send_wildcard:
        raise ValueError(
            "Cannot use supports_credentials in conjunction with"
            "an origin string of '*'. See: "
            "http://www.w3.org/TR/cors/#resource-requests"
        )
    origins = []
    port_wildcards: list[tuple[str, re.Pattern[str]]] = []
    for rule in sanitized_origins:
        port_wildcard = port_wildcard_pattern(rule)
        if port_wildcard is not None and isinstance(rule, str):
            port_wildcards.append((rule, port_wildcard))
            origins.append(port_wildcard)
        else:
            origins.append(_resolve_pattern(rule, ignore_case=True))
    allow_headers = [_resolve_pattern(p, ignore_case=True) for p in sanitize_regex_param(opts.get("allow_headers"))]
    methods = flexible_str(opts.get("methods"))
    if methods is not None:
        methods = methods.upper()
    max_age = opts.get("max_age")
    if isinstance(max_age, timedelta):
        max_age = str(int(max_age.total_seconds()))
    options = FlaskOptions(
        origins=origins,
        allow_headers=allow_headers,
        allow_all_origins=allow_all_origins,
        methods=methods,
        expose_headers=flexible_str(opts.get("expose_headers")),
        max_age=max_age,
        supports_credentials=supports_credentials,
        send_wildcard=send_wildcard,
        automatic_options=bool(opts.get("automatic_options")),
        vary_header=bool(opts.get("vary_header")),
        intercept_exceptions=bool(opts.get("intercept_exceptions")),
        always_send=bool(opts.get("always_send")),
        allow_private_network=bool(opts.get("allow_private_network")),
        port_wildcards=tuple(port_wildcards),
    )
    _check_header_values(options)
    return options


_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
"""A decimal port 1-65535 without sign or leading zero: what `:*` stands for in a native origin."""


def port_wildcard_pattern(origin: Any) -> Optional[re.Pattern[str]]:
    """Return the pattern of a glob-style port origin, or None for any other origin rule.

    `scheme://host:*` exactly, the host a plain name or an IPv4 or IPv6 literal (compared
    case-insensitively, as flask-cors compares origins): the pattern full-matches that
    scheme and host with any port 1-65535, corsfast's port wildcard (`:*` in the native
    `allow_origins`).
    """
    if not isinstance(origin, str) or not origin.isascii():
        return None
    match = _PORT_WILDCARD_ORIGIN.fullmatch(origin.lower())
    if match is None or match["host"] is None:
        return None  # not a glob port, or the `*.domain:*` form, which flask-cors never meant
    return re.compile(re.escape(origin[: -len(":*")]) + ":" + _PORT, re.IGNORECASE | re.ASCII)


def _check_header_values(options: FlaskOptions) -> None:
    _newline_free("expose_headers", _header_text(options.expose_headers))
    _newline_free("methods", _header_text(options.methods))
    _newline_free("max_age", _header_text(options.max_age))
    for origin in options.origins:
        if isinstance(origin, str):  # sent as Access-Control-Allow-Origin to requests without an Origin
            _newline_free("origins", origin)


def get_cors_options(appInstance: Flask | Blueprint | None, *dicts: Mapping[str, Any]) -> FlaskOptions:
    """Return the resolved options for an app (see `merge_options`)."""
    return serialize_options(merge_options(appInstance, *dicts))


def get_allow_headers(
    options: FlaskOptions, acl_request_headers: Optional[str], *, _engine: Optional[ModuleType] = None
) -> Optional[str]:
    """Return Access-Control-Allow-Headers for a requested list: the allowed names, sorted; None if empty."""
    if not acl_request_headers:
        return None
    return cast(
        "Optional[str]", (_engine or _default_engine).FlaskPolicy(options, 0).allow_headers(acl_request_headers)
    )


def get_cors_origins(
    options: FlaskOptions, request_origin: Optional[str], *, _engine: Optional[ModuleType] = None
) -> Optional[list[str]]:
    """Return the Access-Control-Allow-Origin values for a request's Origin, or None (flask-cors' rule).

    With an Origin: `["*"]` for `*` with `send_wildcard`, `[request_origin]` when it is
    allowed, else None. Without one (None or empty) and with `always_send`: `["*"]` for `*`
    (None with credentials), else the literal origins, sorted. The Origin is matched as
    `CORS` matches it: patterns full-matched, never an Origin holding a control character.
    """
    if request_origin:
        if options.allow_all_origins and options.send_wildcard:
            return ["*"]
        if (_engine or _default_engine).FlaskPolicy(options, 0).is_allowed_origin(request_origin):
            return [request_origin]
        return None
    if options.always_send:
        if options.allow_all_origins:
            return None if options.supports_credentials else ["*"]
        return sorted(origin for origin in options.origins if isinstance(origin, str))
    return None


def get_cors_headers(
    options: FlaskOptions, request_headers: Any, request_method: str, *, _engine: Optional[ModuleType] = None
) -> MultiDict[str, Any]:
    """Return the CORS headers for a request, in flask-cors' order, as its `MultiDict`.

    `request_headers` is the request's headers (Werkzeug's `Headers`, or any mapping with
    `.get`), `request_method` its method. The values are what flask-cors sets: strings, and
    `max_age` as given (an int stays an int); empty values are left out. The answer is the
    engine's, with `CORS`' security differences.
    """
    policy = (_engine or _default_engine).FlaskPolicy(options, 0)
    found = policy.cors_headers(
        request_method,
        request_headers.get("Origin"),
        request_headers.get(ACL_REQUEST_METHOD),
        request_headers.get(ACL_REQUEST_HEADERS),
        request_headers.get(ACL_REQUEST_HEADER_PRIVATE_NETWORK),
    )
    headers: MultiDict[str, Any] = MultiDict()
    for name, value in found:
        headers.add(name, options.max_age if name == ACL_MAX_AGE else value)
    return headers


def set_cors_headers(resp: Response, options: FlaskOptions, *, _engine: Optional[ModuleType] = None) -> Response:
    """Return `resp` with the CORS headers of the current request added (flask-cors' `set_cors_headers`).

    A response `@cross_origin` already answered (it has `_FLASK_CORS_EVALUATED`) is returned
    unchanged; headers that are neither Werkzeug's `Headers` nor a `MultiDict` are replaced by
    a `MultiDict` of them first, as flask-cors does.
    """
    if hasattr(resp, FLASK_CORS_EVALUATED):
        return resp
    if not isinstance(resp.headers, (Headers, MultiDict)):
        resp.headers = MultiDict(resp.headers)
    for name, value in get_cors_headers(options, request.headers, request.method, _engine=_engine).items():
        resp.headers.add(name, value)
    return resp


# -- corsfast's lint ------------------------------------------------------------------------------


def _max_age_seconds(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    return None


def lint_options(
    options: FlaskOptions, given: Optional[Collection[str]] = None, warned: Optional[set[str]] = None
) -> None:
    """Warn (`CORSConfigWarning`) about dangerous but valid options; the answers stay flask-cors'.

    `given` limits the checks to options whose final value is known (the decorator's keyword
    options, before the app config is known); `warned` collects the messages already given,
    so one `CORS()` call with many resources warns once per finding.
    """
    seen = set() if warned is None else warned

    def warn(message: str) -> None:
        if message not in seen:
            seen.add(message)
            _options._warn(message, strict=False)

    def known(*names: str) -> bool:
        return given is None or all(name in given for name in names)

    any_origin = options.allow_all_origins
    if known("origins"):
        port_wildcards = {pattern for _, pattern in options.port_wildcards}
        for rule, _ in options.port_wildcards:
            warn(port_wildcard_message(rule))
        for origin in options.origins:
            if isinstance(origin, re.Pattern):
                if origin.pattern != ".*" and origin not in port_wildcards:
                    any_origin |= _lint_origin_pattern(origin, warn)
            elif isinstance(origin, str):
                if origin == "null":
                    warn(
                        "origins: 'null' is sent by sandboxed iframes, file: pages and redirects; "
                        "any site can produce it"
                    )
                    continue
                # flask-cors compares origins case-insensitively: only the other problems matter.
                problem = _options._origin_problem(origin.lower() if origin.isascii() else origin)
                if problem is not None:
                    warn(f"origins: {origin!r} can never equal a browser's Origin header: {problem}")
            else:
                warn(
                    f"origins: {origin!r} is a {type(origin).__name__}, compared as the string {str(origin)!r}; "
                    "origins are strings or compiled patterns"
                )
    if options.supports_credentials and any_origin and known("origins", "supports_credentials"):
        warn(
            "supports_credentials=True with an allow-any origin rule reflects every Origin with "
            "credentials: any web site can read responses with the user's cookies"
        )
    if known("max_age"):
        seconds = _max_age_seconds(options.max_age)
        if seconds is not None and seconds > _lint.MAX_AGE_CAP:
            warn(
                f"max_age={options.max_age!r} is more than browsers keep a preflight answer "
                f"(Firefox caps it at {_lint.MAX_AGE_CAP}, Chromium at 7200 seconds); the extra is ignored"
            )
    expose = options.expose_headers
    if options.supports_credentials and expose and known("expose_headers", "supports_credentials"):
        if "*" in (name.strip() for name in expose.split(",")):
            warn(
                "expose_headers: '*' is a wildcard only without credentials; with "
                "supports_credentials=True browsers read it as a header named '*'"
            )


def port_wildcard_message(rule: str) -> str:
    """Return the warning for a glob-style port origin: what flask-cors made of it, and what corsfast does."""
    head = rule[: -len(":*")]
    scheme, host = head.split("://", 1)
    ours = (
        f"origins: {rule!r} is read as a port wildcard: {head} with an explicit port (1-65535), and "
        f"nothing else (add {head!r} for the origin without a port)."
    )
    if not host.startswith("["):
        return (
            f"{ours} flask-cors reads it as a regular expression matched at the start of the Origin, "
            f"which also allows other hosts, such as {head + '.evil.example'!r}"
        )
    # An IPv6 literal: in flask-cors' regular expression its brackets are a set of characters.
    example = next((f"{scheme}://{c}.evil.example" for c in host if c.isalnum()), None)
    also = f", such as {example!r}," if example is not None else ""
    return (
        f"{ours} flask-cors reads it as a regular expression in which {host!r} is a set of characters: "
        f"it allows origins whose host starts with one of them{also} and never {head + ':3000'!r}"
    )


def _lint_origin_pattern(pattern: re.Pattern[str], warn: Any) -> bool:
    """Run the shared origin-pattern lint, routing its warnings through `warn`; return "any origin"."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", _options.CORSConfigWarning)
        any_origin = _options._lint_pattern("origins", pattern, strict=False)
    for item in caught:
        if issubclass(item.category, _options.CORSConfigWarning):
            warn(str(item.message))
        else:  # pragma: no cover - the lint emits nothing else
            warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)
    return any_origin


def lint_option_names(names: Iterable[str], warned: Optional[set[str]] = None) -> None:
    """Warn about option names flask-cors does not know (it only logs them, and ignores them)."""
    seen = set() if warned is None else warned
    for name in names:
        if name in _KNOWN_OPTIONS:
            continue
        close = difflib.get_close_matches(str(name), sorted(_KNOWN_OPTIONS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"unknown option {name!r} is ignored (flask-cors ignores it too){hint}"
        if message not in seen:
            seen.add(message)
            _options._warn(message, strict=False)


def lint_resources(resources: Iterable[tuple[Any, Any]], warned: Optional[set[str]] = None) -> None:
    """Warn about resource patterns that can backtrack for seconds on a crafted path (ReDoS)."""
    seen = set() if warned is None else warned
    for pattern, _ in resources:
        if not isinstance(pattern, re.Pattern):
            continue
        try:
            parsed = _lint._sre_parse.parse(pattern.pattern, pattern.flags)
        except Exception:  # pragma: no cover - it compiled, so it parses
            continue
        if _lint._nested_repeat(parsed.data):
            message = (
                f"resources: pattern {pattern.pattern!r} nests a repeat inside a repeat without a separator, "
                "so a crafted path can make it backtrack for seconds (ReDoS)"
            )
            if message not in seen:
                seen.add(message)
                _options._warn(message, strict=False)


def check_given_options(options: Mapping[str, Any]) -> None:
    """Raise now for keyword options that are invalid whatever the app config holds.

    Used by `@cross_origin`, whose final options are only known per app: regular expressions
    that do not compile, bytes patterns, and header values with control characters.
    """
    for name in ("origins", "allow_headers"):
        if name in options:
            for pattern in sanitize_regex_param(options[name]):
                resolved = _resolve_pattern(pattern, ignore_case=True)
                if name == "origins" and isinstance(resolved, str):
                    _newline_free("origins", resolved)
    if "expose_headers" in options:
        _newline_free("expose_headers", _header_text(flexible_str(options["expose_headers"])))
    if "methods" in options:
        methods = flexible_str(options["methods"])
        _newline_free("methods", _header_text(methods.upper() if methods is not None else None))
    if "max_age" in options:
        max_age = options["max_age"]
        if isinstance(max_age, timedelta):
            max_age = str(int(max_age.total_seconds()))
        _newline_free("max_age", _header_text(max_age))
