"""The aiohttp drop-in's engine: `AiohttpConfig`, `AiohttpRoute`, `AiohttpRoutes` (the
`on_response_prepare` hook), `aiohttp_prepare`, `aiohttp_preflight`, on both engines.

Fuzzed aiohttp-cors configurations (origin keys, "*" among them, and odd strings, mapped to
`corsfast.aiohttp.ResourceOptions` with fuzzed credentials, exposed and allowed headers, max
age and methods) become the engine's `AiohttpConfig`s and the `AiohttpRoute`s a resolver hands
out (plain, preflight, view, disabled and unresolved routes; with and without a resource).
Then one to three requests (method; Origin, Access-Control-Request-Method and -Headers with
any characters, control characters and Origins around the 2048 length limit among them, in a
real `CIMultiDictProxy`) run through the hook on a response whose `CIMultiDict` holds the
app's own headers (its own Access-Control-* headers, Vary in any form), and through the
preflight path (`AiohttpConfig.lookup`, `aiohttp_eligible`, `aiohttp_entry`,
`aiohttp_preflight`). Compared on both engines: the response headers in order, the entries,
the preflight answers, the resolver's calls, exceptions by type. Checked against a reference
written from aiohttp-cors 0.8.1's rules and the drop-in's documented fixes: the app's headers
untouched; Access-Control-Allow-Origin only the exact request Origin, and never an Origin
over 2048 characters or with a control character; no control character in an emitted value
but those the request itself sent in the values a preflight echoes.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Mapping
from typing import Any, Optional

from multidict import CIMultiDict, CIMultiDictProxy

from corsfast.aiohttp import ResourceOptions
from corsfast.aiohttp.preflight_handler import _PreflightHandler
from fuzz.common import PY, C, Input, Violation, Writer, compare, outcome, short

FUZZED = "<fuzzed>"
ORIGIN_KEYS = (
    "*",
    "https://example.com",
    "http://example.com",
    "https://api.example.com",
    "null",
    "",
    "HTTPS://EXAMPLE.COM",
    "https://caf\xe9.com",
    FUZZED,
)
EXPOSE = ("X-E", "X-Request-Id", "x-e", "Content-Type", "Cache-Control", "X-App", "Vary", FUZZED)
ALLOW = ("X-A", "x-b", "Content-Type", "authorization", "X-Token", "*", FUZZED)
METHODS = ("GET", "POST", "PUT", "DELETE", "get", "OPTIONS", "PATCH", FUZZED)
SETS = ("empty", "star", "list", "list", "list")
MAX_AGES: tuple[Any, ...] = (None, None, 0, 1, 600, 86400, 10**12, FUZZED)
"""No bool: `max_age=True` is an Integral aiohttp-cors takes, equal to 1 (see the report)."""

KINDS = ("plain", "plain", "plain", "preflight", "view", "disabled", "unresolved")
REQUEST_METHODS = ("GET", "GET", "POST", "PUT", "OPTIONS", "DELETE", "get", FUZZED)
REQUEST_NAMES = ("Origin", "Origin", "origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
REQUEST_VALUES = ("text", "text", "text", "long", "control")
LONG = (2047, 2048, 2049, 4096)
CONTROLS = ("\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x01", "\x1f")
RESPONSE_NAMES = (
    "Vary",
    "vary",
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "access-control-expose-headers",
    "Access-Control-Max-Age",
    "Content-Type",
    "Cache-Control",
    "X-App",
    FUZZED,
)
RESPONSE_VALUES = ("Origin", "origin", "*", "Accept, Origin", "Accept", "", " Origin ,x", "x, *", FUZZED, "bytes")

ACAO, ACAC, ACEH = "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"
TOUCHED = (ACAO, ACAC, ACEH)
SIMPLE_RESPONSE_HEADERS = frozenset(
    ["Cache-Control", "Content-Language", "Content-Type", "Expires", "Last-Modified", "Pragma"]
)
ENGINES = (("compiled", C), ("pure", PY))


# -- decoding the input ---------------------------------------------------------------------


def name_or_text(inp: Input, pool: tuple[str, ...]) -> str:
    name = inp.pick(pool)
    return inp.text() if name == FUZZED else name


def name_set(inp: Input, pool: tuple[str, ...]) -> Any:
    kind = inp.pick(SETS)
    if kind == "empty":
        return ()
    if kind == "star":
        return "*"
    return [name_or_text(inp, pool) for _ in range(inp.below(4))]


def resource_options(inp: Input) -> Optional[ResourceOptions]:
    """Return fuzzed `ResourceOptions`, or None when the constructor refuses them (its checks
    are the shim's, the same for both engines)."""
    credentials = inp.flag()
    expose = name_set(inp, EXPOSE)
    allow = name_set(inp, ALLOW)
    max_age = inp.pick(MAX_AGES)
    if max_age == FUZZED:
        max_age = inp.size()
    methods: Any = inp.pick((None, "*", "list", "list"))
    if methods == "list":
        methods = [name_or_text(inp, METHODS) for _ in range(inp.below(4))]
    try:
        return ResourceOptions(
            allow_credentials=credentials,
            expose_headers=expose,
            allow_headers=allow,
            max_age=max_age,
            allow_methods=methods,
        )
    except ValueError:
        return None


def mapping(inp: Input) -> dict[str, ResourceOptions]:
    """Return an aiohttp-cors configuration: origin -> options."""
    result: dict[str, ResourceOptions] = {}
    for _ in range(inp.below(4)):
        key = name_or_text(inp, ORIGIN_KEYS)
        options = resource_options(inp)
        if options is not None:
            result[key] = options
    return result


class FakeRoute:
    """A route as the hook sees it: hashable, with a `.resource` (None: not the router's own)."""

    def __init__(self, resource: Any) -> None:
        self.resource = resource


class FakeMatchInfo:
    def __init__(self, route: FakeRoute) -> None:
        self.route = route


class FakeRequest:
    """The three attributes of `web.Request` the hook and the preflight handler read."""

    def __init__(self, route: FakeRoute, method: str, headers: list[tuple[str, str]]) -> None:
        self.match_info = FakeMatchInfo(route)
        self.method = method
        self.headers = CIMultiDictProxy(CIMultiDict(headers))


class FakeResponse:
    def __init__(self, headers: list[tuple[str, Any]]) -> None:
        self.headers = CIMultiDict(headers)


def route_spec(inp: Input, n_maps: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"kind": inp.pick(KINDS), "resource": inp.below(4) != 0}
    if spec["kind"] in ("plain", "preflight"):
        spec["configs"] = [(name_or_text(inp, METHODS), inp.below(n_maps)) for _ in range(inp.below(3))]
        spec["default"] = inp.below(n_maps)
    elif spec["kind"] == "view":
        spec["view"] = inp.below(n_maps + 1)  # n_maps: an empty configuration
    return spec


def request_value(inp: Input) -> str:
    kind = inp.pick(REQUEST_VALUES)
    if kind == "long":
        return "https://" + "a" * (inp.pick(LONG) - len("https://"))
    if kind == "control":
        return inp.text() + inp.pick(CONTROLS) + inp.text()
    return inp.text()


def response_value(inp: Input) -> Any:
    value = inp.pick(RESPONSE_VALUES)
    if value == FUZZED:
        return inp.text()
    if value == "bytes":  # not a str: the hook's Vary reading must fail alike
        return inp.text().encode("utf-8")
    return value


def request_spec(inp: Input, n_routes: int, n_maps: int) -> dict[str, Any]:
    return {
        "route": inp.below(n_routes),
        "method": name_or_text(inp, REQUEST_METHODS),
        "headers": [(inp.pick(REQUEST_NAMES), request_value(inp)) for _ in range(inp.below(6))],
        "response": [(name_or_text(inp, RESPONSE_NAMES), response_value(inp)) for _ in range(inp.below(6))],
        "hook": inp.flag(),  # through `AiohttpRoutes.__call__` or `aiohttp_prepare`
        "clear": inp.below(4) == 0,  # `AiohttpRoutes.clear()` before it
        "config": inp.below(n_maps),  # the configuration its preflight looks up
    }


# -- the reference, written from aiohttp-cors 0.8.1 and the documented fixes ---------------


def eligible(origin: str) -> bool:
    return len(origin) <= 2048 and not any(ord(c) < 0x20 or c == "\x7f" for c in origin)


def options_for(config: Mapping[str, Any], origin: str) -> Any:
    return config.get(origin, config.get("*"))


def vary_names_origin(headers: CIMultiDict[Any]) -> bool:
    return any(
        token.strip().lower() in ("origin", "*") for value in headers.getall("Vary", ()) for token in value.split(",")
    )


def expected_added(
    spec: dict[str, Any], maps: list[dict[str, Any]], request: FakeRequest, before: CIMultiDict[Any]
) -> list[tuple[str, Any]]:
    """Return the headers the hook must add to a response with the headers `before`."""
    kind = spec["kind"]
    if kind in ("disabled", "unresolved", "preflight"):
        return []
    if kind == "view":
        if request.method == "OPTIONS":
            return []
        config: Mapping[str, Any] = maps[spec["view"]] if spec["view"] < len(maps) else {}
    else:
        config = maps[dict(spec["configs"]).get(request.method, spec["default"])]
    if not config:
        return []
    added: list[tuple[str, Any]] = []
    origin = request.headers.get("Origin")
    if origin is not None:
        options = options_for(config, origin)
        if options is not None and eligible(origin) and not any(name in before for name in TOUCHED):
            if options.expose_headers == "*":
                added.append((ACEH, ",".join(frozenset(before.keys()) - SIMPLE_RESPONSE_HEADERS)))
            elif options.expose_headers:
                added.append((ACEH, ",".join(options.expose_headers)))
            added.append((ACAO, origin))
            if options.allow_credentials:
                added.append((ACAC, "true"))
    if not vary_names_origin(before):
        added.append(("Vary", "Origin"))
    return added


def expected_preflight(options: Any, origin: str, method: str, names: frozenset[str]) -> Any:
    if options.allow_headers != "*":
        refused = names - options.allow_headers
        if refused:
            return ("refused", sorted(refused))
    pairs = [(ACAO, origin)]
    if options.allow_credentials:
        pairs.append((ACAC, "true"))
    if options.max_age is not None:
        pairs.append(("Access-Control-Max-Age", str(options.max_age)))
    pairs.append(("Access-Control-Allow-Methods", method))
    if names:
        pairs.append(("Access-Control-Allow-Headers", ",".join(names)))
    pairs.append(("Vary", "Origin"))
    return pairs


def has_control(value: str) -> bool:
    return any(ord(c) < 0x20 or c == "\x7f" for c in value)


# -- running both engines -------------------------------------------------------------------


def entry_fields(entry: Any) -> Any:
    if entry is None:
        return None
    allow = entry.allow_headers
    return (
        entry.credentials,
        entry.expose_all,
        entry.expose,
        entry.allow_all_headers,
        allow if allow is None or isinstance(allow, str) else sorted(allow),
        entry.max_age,
        entry.options,
    )


def build_routes(
    engine: Any, maps: list[dict[str, Any]], specs: list[dict[str, Any]], routes: list[FakeRoute]
) -> tuple[Any, list[int]]:
    """Return `engine.AiohttpRoutes` over a resolver of `specs` and the list of its calls."""
    configs = [engine.AiohttpConfig(m) for m in maps]
    calls: list[int] = []

    def view_config(index: int) -> Any:
        chosen = maps[index] if index < len(maps) else {}
        return lambda request: collections.ChainMap(chosen)

    states: dict[FakeRoute, Any] = {}
    for route, spec in zip(routes, specs):
        kind = spec["kind"]
        if kind == "unresolved":
            states[route] = None
        elif kind == "disabled":
            states[route] = engine.AiohttpRoute(False, False, False, {}, None, None)
        elif kind == "view":
            states[route] = engine.AiohttpRoute(True, False, True, {}, None, view_config(spec["view"]))
        else:
            by_method = {method: configs[i] for method, i in spec["configs"]}
            states[route] = engine.AiohttpRoute(
                True, kind == "preflight", False, by_method, configs[spec["default"]], None
            )

    def resolve(route: FakeRoute) -> Any:
        calls.append(routes.index(route))
        return states[route]

    return engine.AiohttpRoutes(resolve), calls


def done(result: Any) -> bool:
    """Return True for an awaitable that is already done (the hook's answer)."""
    iterator = result.__await__()
    return list(iterator) == []


def hook(engine: Any, routes: Any, request: FakeRequest, spec: dict[str, Any]) -> tuple[Any, list[tuple[str, Any]]]:
    response = FakeResponse(spec["response"])
    if spec["clear"]:
        routes.clear()
    call = routes if spec["hook"] else (lambda rq, rs: engine.aiohttp_prepare(routes, rq, rs))
    kind, value = outcome(call, request, response)
    result = (kind, done(value)) if kind == "ok" else (kind, value)
    return result, list(response.headers.items())


def preflight(engine: Any, config_map: dict[str, Any], request: FakeRequest) -> Any:
    """The preflight handler's engine calls for `request` (None when it refuses before them)."""
    origin = request.headers.get("Origin")
    method = request.headers.get("Access-Control-Request-Method")
    if origin is None or method is None:
        return None
    config = engine.AiohttpConfig(config_map)
    entry = config.lookup(origin)
    options = options_for(config_map, origin)
    view_entry = None if options is None or not engine.aiohttp_eligible(origin) else engine.aiohttp_entry(options)
    if entry is None:
        return ("no entry", entry_fields(view_entry))
    answer = engine.aiohttp_preflight(entry, origin, method, _PreflightHandler._parse_request_headers(request))  # type: ignore[arg-type]
    if isinstance(answer, frozenset):
        answer = ("refused", sorted(answer))
    return (entry_fields(entry), entry_fields(view_entry), answer)


def check_preflight(answer: Any, config_map: dict[str, Any], request: FakeRequest) -> None:
    if answer is None:
        return
    origin = request.headers["Origin"]
    method = request.headers["Access-Control-Request-Method"]
    options = options_for(config_map, origin)
    if options is None or not eligible(origin):
        if answer[0] != "no entry" or answer[1] is not None:
            raise Violation(
                f"preflight: an entry for Origin {short(origin)} (options {short(options)}): {short(answer)}"
            )
        return
    if answer[0] == "no entry" or answer[0][-1] != options:
        raise Violation(f"preflight: Origin {short(origin)} got {short(answer)}, its options are {short(options)}")
    names = _PreflightHandler._parse_request_headers(request)  # type: ignore[arg-type]
    want = expected_preflight(options, origin, method, names)
    if answer[2] != want:
        raise Violation(f"preflight for {short(origin)}:\n  answer:    {short(answer[2])}\n  reference: {short(want)}")
    if want[0] != "refused":
        for name, value in want:
            # Only Allow-Methods and Allow-Headers echo the request (aiohttp's parser refuses
            # control characters but HTAB in header values); what the engine makes is clean.
            if name not in ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers") and has_control(value):
                raise Violation(f"preflight: {name} {short(value)} holds a control character")


def check_hook(
    spec: dict[str, Any],
    maps: list[dict[str, Any]],
    request: FakeRequest,
    before: list[tuple[str, Any]],
    result: Any,
    after: list[tuple[str, Any]],
) -> None:
    if result[0] != "ok":
        if not any(not isinstance(v, str) for _, v in before):
            raise Violation(f"the hook raised {short(result)} on str headers {short(before)}")
        return
    if after[: len(before)] != before:
        raise Violation(f"the hook changed the app's headers: {short(before)} -> {short(after)}")
    added = after[len(before) :]
    want = expected_added(spec, maps, request, CIMultiDict(before))
    key = [(n, sorted(v.split(",")) if n == ACEH else v) for n, v in added]
    if key != [(n, sorted(v.split(",")) if n == ACEH else v) for n, v in want]:
        raise Violation(f"hook for {short(request.headers)}:\n  added:     {short(added)}\n  reference: {short(want)}")
    origin = request.headers.get("Origin")
    app_names_clean = not any(has_control(n) for n, _ in before)
    for name, value in added:
        if name == ACAO and (value != origin or not eligible(value)):
            raise Violation(f"Access-Control-Allow-Origin {short(value)} for Origin {short(origin)}")
        if has_control(value) and (name != ACEH or app_names_clean):
            raise Violation(f"the hook added {name} {short(value)} with a control character")


def one_input(data: bytes) -> None:
    inp = Input(data)
    maps = [mapping(inp) for _ in range(1 + inp.below(3))]
    compare(
        "AiohttpConfig construction",
        [outcome(C.AiohttpConfig, m)[0] for m in maps],
        [outcome(PY.AiohttpConfig, m)[0] for m in maps],
    )
    specs = [route_spec(inp, len(maps)) for _ in range(1 + inp.below(3))]
    routes = [FakeRoute(object() if spec["resource"] else None) for spec in specs]
    requests = [request_spec(inp, len(routes), len(maps)) for _ in range(1 + inp.below(3))]
    made = {name: build_routes(engine, maps, specs, routes) for name, engine in ENGINES}
    for number, rspec in enumerate(requests):
        request = FakeRequest(routes[rspec["route"]], rspec["method"], rspec["headers"])
        answers = {name: hook(engine, made[name][0], request, rspec) for name, engine in ENGINES}
        what = f"request {number} {short(rspec)}"
        compare(f"hook, {what}", answers["compiled"], answers["pure"])
        compare(f"resolver calls, {what}", made["compiled"][1], made["pure"][1])
        result, after = answers["compiled"]
        check_hook(
            specs[rspec["route"]], maps, request, list(FakeResponse(rspec["response"]).headers.items()), result, after
        )
        config_map = maps[rspec["config"]]
        flights = {name: outcome(preflight, engine, config_map, request) for name, engine in ENGINES}
        compare(f"preflight, {what}", flights["compiled"], flights["pure"])
        if flights["compiled"][0] != "ok":
            raise Violation(f"preflight raised {short(flights['compiled'])}, {what}")
        check_preflight(flights["compiled"][1], config_map, request)


# -- seeds ----------------------------------------------------------------------------------


def write_options(w: Writer, credentials: bool, expose: Any, allow: Any, max_age: Any, methods: Any) -> None:
    w.flag(credentials)
    for value, pool in ((expose, EXPOSE), (allow, ALLOW)):
        if value == "*":
            w.pick(SETS, "star")
        elif not value:
            w.pick(SETS, "empty")
        else:
            w.pick(SETS, "list").below(4, len(value))
            for name in value:
                w.pick(pool, name)
    w.pick(MAX_AGES, max_age)
    if methods is None or methods == "*":
        w.pick((None, "*", "list", "list"), methods)
    else:
        w.pick((None, "*", "list", "list"), "list").below(4, len(methods))
        for method in methods:
            w.pick(METHODS, method)


def write_text(w: Writer, pool: tuple[str, ...], value: str) -> None:
    if value in pool:
        w.pick(pool, value)
    else:
        w.pick(pool, FUZZED).text(value)


def seed(
    maps: list[list[tuple[str, tuple[Any, ...]]]],
    routes: list[tuple[str, Any]],
    requests: list[tuple[int, str, list[tuple[str, str]], list[tuple[str, str]]]],
) -> bytes:
    w = Writer().below(3, len(maps) - 1)
    for entries in maps:
        w.below(4, len(entries))
        for key, options in entries:
            write_text(w, ORIGIN_KEYS, key)
            write_options(w, *options)
    w.below(3, len(routes) - 1)
    for kind, arg in routes:
        w.pick(KINDS, kind).below(4, 1)
        if kind in ("plain", "preflight"):
            w.below(3, len(arg[0]))
            for method, index in arg[0]:
                write_text(w, METHODS, method)
                w.below(len(maps), index)
            w.below(len(maps), arg[1])
        elif kind == "view":
            w.below(len(maps) + 1, arg)
    w.below(3, len(requests) - 1)
    for route, method, headers, response in requests:
        w.below(len(routes), route)
        write_text(w, REQUEST_METHODS, method)
        w.below(6, len(headers))
        for name, value in headers:
            w.pick(REQUEST_NAMES, name).pick(REQUEST_VALUES, "text").text(value)
        w.below(6, len(response))
        for name, value in response:
            write_text(w, RESPONSE_NAMES, name)
            write_text(w, RESPONSE_VALUES, value)
        w.flag(True).below(4, 1).below(len(maps), 0)
    return w.data()


SITE = "https://example.com"
EXACT = [(SITE, (False, ["X-Request-Id"], ["X-Token"], 600, ["GET", "PUT"]))]
CREDENTIALS = [(SITE, (True, "*", "*", None, "*"))]
STAR = [("*", (False, (), (), None, None))]


def seeds() -> Iterable[bytes]:
    plain = ("plain", ([], 0))
    get = [("Origin", SITE)]
    preflight = [
        ("Origin", SITE),
        ("Access-Control-Request-Method", "PUT"),
        ("Access-Control-Request-Headers", "x-token"),
    ]
    app = [("Content-Type", "text/plain"), ("X-App", "Origin")]
    for config in (EXACT, CREDENTIALS, STAR):
        yield seed([config], [plain], [(0, "GET", get, app)])
        yield seed([config], [plain], [(0, "OPTIONS", preflight, [])])
    # the app's own CORS headers and Vary; another origin; no Origin
    yield seed([EXACT], [plain], [(0, "GET", get, [(ACAO, "*"), ("Vary", "Accept, Origin")])])
    yield seed([EXACT], [plain], [(0, "GET", [("Origin", "https://evil.com")], [("Vary", "*")])])
    yield seed([EXACT], [plain], [(0, "GET", [], app)])
    # per-method configurations, a preflight route, a view, a disabled route, a 404
    yield seed(
        [EXACT, STAR],
        [("plain", ([("POST", 1)], 0)), ("preflight", ([], 0)), ("view", 1)],
        [(0, "POST", get, app), (1, "OPTIONS", preflight, []), (2, "GET", get, app)],
    )
    yield seed([CREDENTIALS], [("disabled", None), ("unresolved", None)], [(0, "GET", get, []), (1, "GET", get, [])])
    # an Origin with a control character, a long one
    yield seed([STAR], [plain], [(0, "GET", [("Origin", SITE + "\r\nX: y")], [])])
    yield seed([STAR], [plain], [(0, "GET", [("Origin", SITE + "/" + "a" * 2030)], [])])
