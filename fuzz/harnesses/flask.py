"""The Flask drop-in: `corsfast.flask.CORS` and `cross_origin` and their engine (`FlaskPolicy`, `FlaskResources`,
`flask_after_request`, `FlaskView`, `flask_view_call`), on both engines.

Fuzzed flask-cors options (origins as literals, regex strings, compiled patterns or lists of
them; methods, allow/expose headers, supports_credentials, max_age as int, str or timedelta,
send_wildcard, vary_header, always_send, automatic_options, allow_private_network) and
resources (a pattern, a list, a dict of per-resource options) build a Flask app with
`CORS(app, ...)` and a `@cross_origin` view on each engine. Then one or two requests (method,
path, Origin, Access-Control-Request-Method, -Request-Headers, -Request-Private-Network,
values no header holds) in a real request context run the extension's after-request hook on a
response the app made (its own headers, its own Access-Control-Allow-Origin, Vary; Werkzeug's
`Headers` or a `MultiDict`) and the decorated view; and the policy API directly
(`cors_headers` with odd argument types, `allow_headers`, `is_allowed_origin`). Compared on
both engines: the response headers in order, the status, the outcome; checked: no CR, LF or
NUL emitted, Access-Control-Allow-Origin `*`, the exact Origin or (without an Origin,
`always_send`) a configured origin, a requested header echoed only when clean, caches bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Callable, Optional

import flask
from cases import wsgi_environ
from werkzeug.datastructures import Headers, MultiDict

import corsfast.flask
from fuzz.common import (
    CONTROL,
    FORBIDDEN,
    Built,
    Input,
    Mutator,
    StrSubclass,
    Violation,
    Writer,
    compare,
    options_key,
    outcome,
    quiet,
    short,
)

ORIGINS = (
    "*",
    "https://example.com",
    "http://example.com",
    "https://api.example.com",
    "null",
    "http://localhost:3000",
    "HTTPS://Example.COM",
    "https://caf\xe9.com",
    r"https://.*\.example\.com",
    r"http://localhost:\d+",
    r".*",
    r"https?://(www\.)?example\.(com|org)",
    r"^https://example\.com$",
)
PATTERNS = (
    re.compile(r"https://[a-z0-9-]+\.example\.com"),
    re.compile(r"https://example\.com", re.I),
    re.compile(r".*"),
    re.compile(r"(?s).*"),
)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "get", "*")
HEADERS = ("*", "Content-Type", "X-A", "x-b", "Authorization", r"X-.*", r"content-\w+", r"x-[a-z]+$")
EXPOSE = ("X-E", "X-Request-Id", "*", "x-e")
MAX_AGES = (None, 0, 600, 86401, "600", "", timedelta(seconds=30), timedelta(days=2), "fuzzed")
BOOLS = (
    "supports_credentials",
    "send_wildcard",
    "vary_header",
    "always_send",
    "automatic_options",
    "allow_private_network",
)
RESOURCES = (r"/*", r"/api/*", r"/api/.*", "/exact", "*", r"/v[0-9]+/.*", "", "/caf\xe9/*", r"/*/x")
SHAPES = ("absent", "one", "list", "list", "tuple", "fuzzed")

REQUEST_METHODS = ("GET", "OPTIONS", "OPTIONS", "POST", "PUT", "options", "fuzzed")
PATHS = ("/", "/api/x", "/api/", "/exact", "/v2/a", "/caf\xc3\xa9/x", "/x", "/Exact", "")
ENVIRON_KEYS = (
    "HTTP_ORIGIN",
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
)
POOLED = {
    "HTTP_ORIGIN": (
        "https://example.com",
        "https://a.example.com",
        "null",
        "http://localhost:3000",
        "https://EXAMPLE.com",
        "https://evil.com",
        "",
    ),
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD": ("PUT", "GET", "DELETE", "", "put", "P"),
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": ("x-a", "Content-Type, X-B", "", "x-a,,  x-b ", "X-Anything"),
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK": ("true", "false", "TRUE", ""),
}
VALUE_KINDS = ("str", "str", "absent", "absent", "pooled", "pooled", "none", "bytes")
APP_NAMES = (
    "Access-Control-Allow-Origin",
    "Vary",
    "Content-Type",
    "X-App",
    "access-control-allow-origin",
    "Access-Control-Allow-Credentials",
)
APP_VALUES = ("", "*", "https://app.example", "Origin", "Accept", "text/plain")
CONTAINERS = ("headers", "headers", "headers", "multidict", "odd_items", "emptier", "tuple_list", "none")
ODD_CONTAINERS = frozenset(("odd_items", "emptier", "tuple_list", "none"))
ACAO_NAME = "access-control-allow-origin"
ODD_ITEMS: tuple[Callable[[], Any], ...] = (
    lambda: (ACAO_NAME.encode(), b"x"),
    lambda: (ACAO_NAME.upper(), "v"),
    lambda: (StrSubclass(ACAO_NAME), "y"),
    lambda: (StrSubclass(ACAO_NAME), ""),
    lambda: ["Access-Control-Allow-Origin", "list-item"],
    lambda: ("Access-Control-Allow-Origin", 0),
    lambda: ("X", "y", "z"),
    lambda: (7, "x"),
    lambda: (ACAO_NAME, StrSubclass("")),
)
"""Items Werkzeug's `Headers.add` never makes, written into `Headers._list` by odd code."""
ANSWERS = ("after_request", "after_request", "view")
STATUSES = (200, 204, 404, 500)


# -- options ---------------------------------------------------------------------------------


def item(inp: Input, pool: tuple[Any, ...], patterns: bool) -> Any:
    kind = inp.below(8)
    if kind == 0:
        return inp.text()
    if kind == 1 and patterns:
        return inp.pick(PATTERNS)
    if kind == 2:
        return re.escape(inp.text()[:256]) + inp.pick(("", ".*", "$"))
    return inp.pick(pool)


def value(inp: Input, pool: tuple[Any, ...], patterns: bool = False) -> Any:
    """Return an option value of some shape, or `absent` (the option not given)."""
    shape = inp.pick(SHAPES)
    if shape == "absent":
        return absent
    if shape == "one":
        return item(inp, pool, patterns)
    if shape == "fuzzed":
        return inp.text()
    items = [item(inp, pool, patterns) for _ in range(inp.below(4))]
    return items if shape == "list" else tuple(items)


absent = object()


def read_options(inp: Input, depth: int = 0) -> dict[str, Any]:
    """Return flask-cors keyword options (absent ones left out)."""
    options: dict[str, Any] = {
        "origins": value(inp, ORIGINS, patterns=True),
        "methods": value(inp, METHODS),
        "allow_headers": value(inp, HEADERS),
        "expose_headers": None if inp.below(8) == 0 else value(inp, EXPOSE),
    }
    age = inp.pick(MAX_AGES) if inp.flag() else absent
    options["max_age"] = inp.text() if age == "fuzzed" else age
    for name in BOOLS:
        choice = inp.below(3)
        options[name] = absent if choice == 0 else choice == 1
    if depth == 0 and inp.below(3) == 0:
        options["resources"] = read_resources(inp)
    return {k: v for k, v in options.items() if v is not absent}


def read_resources(inp: Input) -> Any:
    kind = inp.below(4)
    if kind == 0:
        return inp.pick(RESOURCES)
    if kind == 1:
        return [inp.pick(RESOURCES) if inp.below(4) else inp.text() for _ in range(inp.below(3) + 1)]
    resources = {}
    for _ in range(inp.below(3) + 1):
        pattern: Any = inp.pick(RESOURCES) if inp.below(4) else inp.text()
        if kind == 3 and inp.flag():
            pattern = re.compile(re.escape(pattern))
        resources[pattern] = read_options(inp, depth=1)
    return resources


def write_options(w: Writer, options: dict[str, Any]) -> None:
    """Encode pooled options as `read_options` reads them (for seeds; top level, no resources)."""
    for name, pool in (("origins", ORIGINS), ("methods", METHODS), ("allow_headers", HEADERS)):
        given = options.get(name, absent)
        if given is absent:
            w.pick(SHAPES, "absent")
        elif isinstance(given, str):
            w.pick(SHAPES, "one").below(8, 3).pick(pool, given)
        else:
            w.pick(SHAPES, "list").below(4, len(given))
            for each in given:
                w.below(8, 3).pick(pool, each)
        if name == "allow_headers":
            w.below(8, 1)  # expose_headers: not None
    expose = options.get("expose_headers", absent)
    if expose is absent:
        w.pick(SHAPES, "absent")
    else:
        w.pick(SHAPES, "list").below(4, len(expose))
        for each in expose:
            w.below(8, 3).pick(EXPOSE, each)
    if "max_age" in options:
        w.flag(True).pick(MAX_AGES, options["max_age"])
    else:
        w.flag(False)
    for name in BOOLS:
        w.below(3, 0 if name not in options else (1 if options[name] else 2))
    w.below(3, 1)  # no resources


# -- the app on each engine ------------------------------------------------------------------


class View:
    """The decorated view: answers what the input says (set per input, before each request)."""

    answer: Any = "ok"

    def __call__(self) -> Any:
        return View.answer


def build(engine: Any, options: dict[str, Any]) -> tuple[flask.Flask, Callable[..., Any]]:
    """Return a Flask app with `CORS(app, **options)` and a `@cross_origin(**options)` view, on `engine`."""
    app = flask.Flask("fuzz")
    quiet(corsfast.flask.CORS, app, **options, _engine=engine)
    decorator_options = {k: v for k, v in options.items() if k != "resources"}
    view = quiet(corsfast.flask.cross_origin, **decorator_options, _engine=engine)(View())
    return app, view


def policy(engine: Any, options: dict[str, Any], cache_size: int) -> Any:
    """Return the engine's FlaskPolicy for the options as the decorator resolves them (no app config)."""
    resolved = corsfast.flask.core.get_cors_options(corsfast.flask._NO_CONFIG, options)
    return engine.FlaskPolicy(resolved, cache_size)


# -- requests ----------------------------------------------------------------------------------


def environ_value(inp: Input, key: str) -> Any:
    kind = inp.pick(VALUE_KINDS)
    if kind == "absent":
        return absent
    if kind == "pooled":
        return inp.pick(POOLED[key])
    text = inp.text()
    if kind == "none":
        return None
    if kind == "bytes":
        return text.encode("utf-8")
    return text


def app_response(inp: Input) -> Callable[[], Any]:
    status = inp.pick(STATUSES)
    headers = []
    for _ in range(inp.below(4)):
        name = inp.pick(APP_NAMES) if inp.below(4) else inp.text()
        headers.append((name, inp.pick(APP_VALUES) if inp.flag() else inp.text()))
    kind = inp.pick(CONTAINERS)
    odd = inp.pick(ODD_ITEMS) if kind == "odd_items" else None
    where = inp.below(8)
    emptier = (inp.pick(APP_NAMES), inp.pick(APP_VALUES)) if kind == "emptier" else None

    def make() -> Any:
        response = flask.Response("ok", status=status)
        for name, val in headers:
            try:
                response.headers.add(name, val)
            except (ValueError, TypeError):
                pass  # refused by Werkzeug before the hook sees it
        if kind == "multidict":
            response.headers = MultiDict(list(response.headers.items()))
        elif kind == "odd_items" and odd is not None:
            response.headers._list.insert(where, odd())
        elif emptier is not None:
            # An item that empties the list holding it when it is read.
            item = Mutator(emptier[0], emptier[1])
            item.holder = response.headers._list
            response.headers._list.insert(where, item)
        elif kind == "tuple_list":
            response.headers._list = tuple(response.headers._list)
        elif kind == "none":
            response.headers = None
        return response

    make.odd = kind in ODD_CONTAINERS  # type: ignore[attr-defined]
    return make


def run(app: flask.Flask, view: Callable[..., Any], environ: dict[str, Any], answer: str, make: Any) -> dict[str, Any]:
    with app.request_context(dict(environ)):
        if answer == "view":
            response = make()
            headers = items(response.headers) or []
            plain = [h for h in headers if type(h[0]) is str and type(h[1]) is str and h[0] != "<odd>"]
            View.answer = (response.get_data(), response.status_code, plain)
            result = outcome(view)
            app_headers: Any = plain
        else:
            response = make()
            app_headers = items(response.headers)
            hook = app.after_request_funcs[None][-1]
            result = outcome(hook, response)
    observed: dict[str, Any] = {"outcome": result[0]}
    if result[0] == "raised":
        observed["raised"] = result[1]
        return observed
    answered = result[1]
    observed["status"] = answered.status_code
    observed["headers"] = items(answered.headers)
    observed["container"] = type(answered.headers).__name__
    observed["app"] = app_headers
    return observed


def items(headers: Any) -> Optional[list[Any]]:
    """Return the header items, reading none of the odd ones (an emptier empties its list when read)."""
    if headers is None:
        return None
    if isinstance(headers, MultiDict):
        return list(headers.items(multi=True))
    if isinstance(headers, Headers):
        return [
            (item[0], item[1]) if type(item) is tuple and len(item) == 2 else ("<odd>", type(item).__name__)
            for item in headers._list
        ]
    return list(headers.items())


def check_answer(observed: dict[str, Any], environ: dict[str, Any], answer: str, configured: Configured) -> None:
    """Every header the engine added: no CR, LF or NUL from the request; the options' own values verbatim;
    ACAO `*`, the Origin or (no Origin) a configured one; ACAH clean; none added over the app's ACAO."""
    if observed["outcome"] == "raised":
        return
    headers = list(observed["headers"] or [])
    app = list(observed["app"] or [])
    added = headers[len(app) :] if headers[: len(app)] == app else [h for h in headers if h not in app]
    origin = environ.get("HTTP_ORIGIN")
    # What the hook's `headers.get("Access-Control-Allow-Origin")` finds (a MultiDict's keys are case-sensitive).
    exact = observed["container"] == "MultiDict"
    app_acao = None
    for k, v in app:
        if (k, v) == ("<odd>", "Mutator"):
            break  # reading it empties the list: neither Werkzeug's get nor the hook sees what followed
        if k == ACL_ORIGIN if exact else str(k).lower() == "access-control-allow-origin":
            app_acao = v
            break
    acao = []
    for name, val in added:
        text = val if isinstance(val, str) else str(val)
        lower = str(name).lower()
        if lower in configured.values:
            # The options' own text (flask-cors sends it as given; corsfast refuses CR and LF at start-up).
            if text not in configured.values[lower]:
                raise Violation(f"{name}: {short(val)} is none of the configured {short(configured.values[lower])}")
            continue
        if lower == "access-control-allow-origin" and not origin and text in configured.origins:
            acao.append(text)  # always_send without an Origin: a configured origin, verbatim
            continue
        if FORBIDDEN.intersection(map(ord, text)) or "\r" in text or "\n" in text:
            raise Violation(f"{name!r}: {short(val)} holds CR, LF or NUL")
        if lower == "access-control-allow-origin":
            acao.append(text)
        if lower == "access-control-allow-headers" and CONTROL.intersection(map(ord, text)):
            raise Violation(f"Access-Control-Allow-Headers {short(val)} echoes a control character")
    if len(acao) > 1 or (acao and app_acao and answer == "after_request"):
        # (The decorator adds its headers whatever the view set, as flask-cors' does.)
        raise Violation(f"Access-Control-Allow-Origin added twice: {short(acao)} (app: {short(app)})")
    if acao and acao[0] != "*":
        if origin:
            if acao[0] != origin:
                raise Violation(f"Access-Control-Allow-Origin {short(acao[0])} for Origin {short(origin)}")
            if CONTROL.intersection(map(ord, acao[0])):
                raise Violation(f"Access-Control-Allow-Origin {short(acao[0])} reflects a control character")
        elif acao[0] not in configured.origins:
            raise Violation(f"Access-Control-Allow-Origin {short(acao[0])} without an Origin, not configured")


# -- the policy API directly --------------------------------------------------------------------

ACL_ORIGIN = "Access-Control-Allow-Origin"
ODD_ARGS = ("str", "str", "str", "none", "bytes", "int")
POLICY_CACHE_SIZES = (4096, 0, 1, 2)


def odd(inp: Input, text: Optional[str]) -> Any:
    kind = inp.pick(ODD_ARGS)
    if kind == "none" or text is None:
        return None
    if kind == "bytes":
        return text.encode("utf-8") if isinstance(text, str) else text
    if kind == "int":
        return len(text)
    return text


def check_policy(inp: Input, options: dict[str, Any], environ: dict[str, Any]) -> None:
    cache_size = inp.pick(POLICY_CACHE_SIZES)
    built = Built.get(options_key("flask-policy", options, cache_size), lambda e: policy(e, options, cache_size))
    if built is None:
        return
    for each in built:
        each.cache_clear()
    origin = environ.get("HTTP_ORIGIN")
    args = (
        inp.pick(REQUEST_METHODS),
        odd(inp, origin if type(origin) is str else None),
        odd(inp, environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD")),
        odd(inp, environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")),
        odd(inp, environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK")),
    )
    for _ in range(2):  # the second time from the caches
        compare(
            f"cors_headers{short(args)}", outcome(built[0].cors_headers, *args), outcome(built[1].cors_headers, *args)
        )
        requested = args[3]
        compare(
            f"allow_headers({short(requested)})",
            outcome(built[0].allow_headers, requested),
            outcome(built[1].allow_headers, requested),
        )
        compare(
            f"is_allowed_origin({short(args[1])})",
            outcome(built[0].is_allowed_origin, args[1]),
            outcome(built[1].is_allowed_origin, args[1]),
        )
    for each in built:
        info = tuple(each.cache_info())
        if info[3] > info[2]:
            raise Violation(f"the origin cache holds {info[3]} entries, bound {info[2]}")
    compare("cache_info", tuple(built[0].cache_info()), tuple(built[1].cache_info()))


# -- one input --------------------------------------------------------------------------------


class Configured:
    """The header values the options alone decide, per resolved option set (resources' and the view's)."""

    def __init__(self, options: dict[str, Any]) -> None:
        core = corsfast.flask.core
        app = corsfast.flask._NO_CONFIG
        given = {k: v for k, v in options.items() if k != "resources"}
        resolved = []
        try:
            merged = core.merge_options(app, options)
            for _, each in core.parse_resources(merged.get("resources", r"/*")):
                resolved.append(core.get_cors_options(app, options, each))
        except (TypeError, ValueError):
            pass
        try:
            resolved.append(core.get_cors_options(app, given))
        except (TypeError, ValueError):
            pass
        self.origins = {o for each in resolved for o in each.origins if isinstance(o, str)}
        self.values = {
            "access-control-expose-headers": {str(each.expose_headers) for each in resolved},
            "access-control-allow-methods": {str(each.methods) for each in resolved},
            "access-control-max-age": {str(each.max_age) for each in resolved},
        }


def one_input(data: bytes) -> None:
    inp = Input(data)
    options = read_options(inp)
    built = Built.get(options_key("flask", options), lambda engine: build(engine, options))
    if built is None:
        return
    configured = Configured(options)
    for _ in range(inp.below(2) + 1):
        method = inp.pick(REQUEST_METHODS)
        if method == "fuzzed":
            method = inp.blob().decode("latin-1")
        # A WSGI server's PATH_INFO: the path's bytes as latin-1 (Flask decodes it as UTF-8).
        path = inp.pick(PATHS) if inp.below(3) else inp.blob().decode("latin-1")
        environ = wsgi_environ(method, [], path)
        for key in ENVIRON_KEYS:
            got = environ_value(inp, key)
            if got is not absent:
                environ[key] = got
        answer = inp.pick(ANSWERS)
        make = app_response(inp)
        answers = [run(app, view, environ, answer, make) for app, view in built]
        compare(f"Flask {answer} {method!r} {path!r} {short({k: environ.get(k) for k in ENVIRON_KEYS})}", *answers)
        expected = (TypeError, ValueError, AttributeError) if make.odd else (TypeError, ValueError)
        if answers[0]["outcome"] == "raised" and answers[0]["raised"] not in expected:
            raise Violation(f"the Flask hook raised {answers[0]['raised'].__name__}")
        check_answer(answers[0], environ, answer, configured)
        if inp.below(4) == 0:
            check_policy(inp, {k: v for k, v in options.items() if k != "resources"}, environ)


# -- seeds ------------------------------------------------------------------------------------

SEED_OPTIONS = (
    {},
    {"origins": ["https://example.com"], "supports_credentials": True},
    {"origins": r"https://.*\.example\.com", "allow_headers": ["Content-Type", "X-A"], "max_age": 600},
    {"origins": "*", "send_wildcard": True, "expose_headers": ["X-E"], "methods": ["GET", "POST"]},
    {
        "origins": ["http://localhost:3000", "null"],
        "always_send": False,
        "vary_header": False,
        "allow_private_network": True,
    },
    {"automatic_options": False, "max_age": timedelta(seconds=30)},
)
SEED_REQUESTS = (
    ("GET", "/", {"HTTP_ORIGIN": "https://example.com"}),
    (
        "OPTIONS",
        "/api/x",
        {
            "HTTP_ORIGIN": "https://a.example.com",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT",
            "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "Content-Type, X-B",
        },
    ),
    (
        "OPTIONS",
        "/",
        {
            "HTTP_ORIGIN": "null",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
            "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK": "true",
        },
    ),
    ("GET", "/x", {}),
)


def seeds() -> Iterable[bytes]:
    for options in SEED_OPTIONS:
        for method, path, environ in SEED_REQUESTS:
            for answer in ("after_request", "view"):
                w = Writer()
                write_options(w, options)
                w.below(2, 0).pick(REQUEST_METHODS, method).below(3, 1).pick(PATHS, path)
                for key in ENVIRON_KEYS:
                    if key in environ:
                        w.pick(VALUE_KINDS, "pooled").pick(POOLED[key], environ[key])
                    else:
                        w.pick(VALUE_KINDS, "absent")
                w.pick(ANSWERS, answer)
                w.pick(STATUSES, 200).below(4, 1).below(4, 1).pick(APP_NAMES, "Vary").flag(True)
                w.pick(APP_VALUES, "Accept").pick(CONTAINERS, "headers")
                w.below(4, 0).pick(POLICY_CACHE_SIZES, 4096).pick(REQUEST_METHODS, method)
                for _ in range(4):
                    w.pick(ODD_ARGS, "str")
                yield w.data()
