"""The aiohttp-cors dialect (`corsfast.aiohttp`): the twin of `_engine_c_aiohttp.pxi`.

aiohttp-cors answers a response from the configuration of the route that served it (a chain
of mappings from origin to `ResourceOptions`, built per request); here the shim resolves each
route once into an `AiohttpRoute`, whose configurations are `AiohttpConfig`s: origin ->
`AiohttpEntry`, the headers of one `ResourceOptions`, ready. `aiohttp_prepare` is the
`on_response_prepare` hook's whole per-request work; `aiohttp_preflight` the preflight
handler's checks and headers. They answer as aiohttp-cors 0.8.1 but for its fixes:
`Vary: Origin`, a handler's own CORS headers kept, ineligible origins never reflected.

Every decision is counted in the routes' `DecisionCounts` (kind and reason number, the
browser's conclusion from the answer), each refused origin noted in their `RefusedOrigins`:
by `aiohttp_prepare` for the hook's responses and by `aiohttp_known_preflight` for the kept
preflight answers; the preflight handler counts the preflights it answers itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Optional

from .._observe.reasons import (
    ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PREFLIGHT,
    PRIVATE_NETWORK_NOT_ALLOWED,
    REASONS,
    SIMPLE,
)
from .._options import DEFAULT_MAX_ORIGIN_LENGTH
from .counts import DecisionCounts, RefusedOrigins

__all__ = (
    "AiohttpConfig",
    "AiohttpEntry",
    "AiohttpRoute",
    "AiohttpRoutes",
    "aiohttp_add_vary",
    "aiohttp_eligible",
    "aiohttp_entry",
    "aiohttp_keep_preflight",
    "aiohttp_keep_refusal",
    "aiohttp_known_preflight",
    "aiohttp_mapping_entry",
    "aiohttp_preflight",
    "aiohttp_prepare",
    "aiohttp_refusal_reason",
    "aiohttp_request_headers",
    "aiohttp_respond",
)

ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"
ACEH = "Access-Control-Expose-Headers"
ACMA = "Access-Control-Max-Age"
ACAM = "Access-Control-Allow-Methods"
ACAH = "Access-Control-Allow-Headers"
ORIGIN = "Origin"
VARY = "Vary"
TRUE = "true"
# aiohttp-cors' _SIMPLE_RESPONSE_HEADERS (aiohttp's `hdrs` names; an `istr` equals and hashes
# as its str): what `expose_headers="*"` leaves out.
SIMPLE_RESPONSE_HEADERS = frozenset(
    ["Cache-Control", "Content-Language", "Content-Type", "Expires", "Last-Modified", "Pragma"]
)
_TOUCHED = (ACAO, ACAC, ACEH)
_NAMES: dict[str, Any] = {}
"""The header names as multidict's `istr` (looked up without case-folding), once aiohttp is used."""


def _names() -> dict[str, Any]:
    if not _NAMES:
        from multidict import istr

        names = (
            ACAO,
            ACAC,
            ACEH,
            ACMA,
            ACAM,
            ACAH,
            ORIGIN,
            VARY,
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
            "Access-Control-Request-Private-Network",
        )
        _NAMES.update({name: istr(name) for name in names})
    return _NAMES


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def aiohttp_eligible(origin: str) -> bool:
    """Return True for an Origin value that may be reflected: at most the documented length,
    no control character."""
    return len(origin) <= DEFAULT_MAX_ORIGIN_LENGTH and _CONTROL.search(origin) is None


class AiohttpEntry:
    """The headers one `ResourceOptions` answers with."""

    __slots__ = ("allow_all_headers", "allow_headers", "credentials", "expose", "expose_all", "max_age", "options")

    def __init__(self, options: Any) -> None:
        self.options = options
        self.credentials = bool(options.allow_credentials)
        self.expose_all = options.expose_headers == "*"
        # aiohttp-cors joins the frozenset each time; joined once here, in the same order.
        self.expose = None if self.expose_all or not options.expose_headers else ",".join(options.expose_headers)
        self.allow_all_headers = options.allow_headers == "*"
        self.allow_headers = None if self.allow_all_headers else options.allow_headers
        self.max_age = None if options.max_age is None else str(options.max_age)


_ENTRIES: dict[tuple[Any, type], AiohttpEntry] = {}
"""(`ResourceOptions`, the type of its max_age) -> its entry (options are immutable and
hashable; a configuration has few)."""


def aiohttp_entry(options: Any) -> AiohttpEntry:
    """Return the entry of a `ResourceOptions` (made once per distinct options)."""
    # Keyed with max_age's type too: `True == 1`, but aiohttp-cors sends "True" for one.
    key = (options, type(options.max_age))
    entry = _ENTRIES.get(key)
    if entry is None:
        if len(_ENTRIES) >= 4096:  # only configurations build them; bound it all the same
            _ENTRIES.clear()
        entry = _ENTRIES[key] = AiohttpEntry(options)
    return entry


class AiohttpConfig:
    """A configuration aiohttp-cors would build per request (its `ChainMap`), resolved once:
    origin -> entry, and the entry for "*"."""

    __slots__ = ("empty", "entries", "star")

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self.entries = {origin: aiohttp_entry(options) for origin, options in mapping.items()}
        self.star = self.entries.get("*")
        self.empty = not self.entries

    def lookup(self, origin: str) -> Optional[AiohttpEntry]:
        """Return the entry for `origin` (its own, else "*"'s), None when it has none or may not
        be reflected."""
        if type(origin) is not str:
            raise TypeError(f"an Origin is exactly a str, not {type(origin).__name__}")
        if not aiohttp_eligible(origin):
            return None
        return self.entries.get(origin, self.star)


class AiohttpRoute:
    """What the hook needs to know of one route, resolved once by the shim."""

    __slots__ = ("configs", "default", "enabled", "preflight", "preflights", "refusals", "view", "view_config")

    def __init__(
        self,
        enabled: bool,
        preflight: bool,
        view: bool,
        configs: dict[str, AiohttpConfig],
        default: Optional[AiohttpConfig],
        view_config: Optional[Callable[[Any], Any]],
    ) -> None:
        if enabled and not view and default is None:
            raise ValueError("an enabled route that is not a view needs a default configuration")
        self.enabled = enabled  # its resource has CORS configured
        self.preflight = preflight  # one of the OPTIONS routes corsfast added
        self.view = view  # a `CorsViewMixin` view: its configuration is asked per request
        self.configs = configs  # request method -> configuration
        self.default = default  # for the methods `configs` lacks
        self.view_config = view_config  # request -> mapping, for views
        self.preflights: dict[tuple[Any, Any, Any], tuple[tuple[Any, str], ...]] = {}
        """(Origin, -Request-Method, -Request-Headers) -> an allowed preflight's headers."""
        self.refusals: dict[tuple[Any, Any, Any], tuple[str, int, Optional[str], Any]] = {}
        """The same keys -> a refused preflight's 403 text, reason number, detail name and detail."""


class AiohttpRoutes:
    """A `CorsConfig`'s routes, each resolved on its first request by `resolve(route)`. It
    counts the decisions of the hook and of the kept preflight answers in `counts`, and notes
    each refused origin in `refused`."""

    __slots__ = ("_counts", "_refused", "_resolve", "_states")

    def __init__(self, resolve: Callable[[Any], Optional[AiohttpRoute]]) -> None:
        self._resolve = resolve
        self._states: dict[Any, AiohttpRoute] = {}
        self._counts = DecisionCounts()
        self._refused: Optional[RefusedOrigins] = None
        _names()

    def observe(self, counts: DecisionCounts, refused: Optional[RefusedOrigins]) -> None:
        """Count the decisions in `counts` from now on, and note refused origins in `refused`
        (None: not noted)."""
        if not isinstance(counts, DecisionCounts):
            raise TypeError(f"counts must be a DecisionCounts, got {type(counts).__name__}")
        if refused is not None and not isinstance(refused, RefusedOrigins):
            raise TypeError(f"refused must be a RefusedOrigins or None, got {type(refused).__name__}")
        self._counts = counts
        self._refused = refused

    @property
    def counts(self) -> DecisionCounts:
        """Return the `DecisionCounts` the decisions are counted in."""
        return self._counts

    def __call__(self, request: Any, response: Any) -> _Done:
        """The `on_response_prepare` hook: `aiohttp_prepare(self, request, response)`."""
        return aiohttp_prepare(self, request, response)

    def clear(self) -> None:
        """Forget every resolved route (the configuration changed)."""
        self._states = {}

    def route(self, route: Any) -> Optional[AiohttpRoute]:
        """Return the resolved state of `route`; None for a route that is not the router's own
        (aiohttp's 404 and 405 answers), which is never kept."""
        state = self._states.get(route)
        if state is None:
            state = self._resolve(route)
            if state is not None and route.resource is not None:
                self._states[route] = state
        return state


def _route(request: Any) -> Any:
    # aiohttp's own attributes behind its public properties (`match_info.route`): a
    # property call each costs more than the rest of a lookup; the public names otherwise.
    match_info = getattr(request, "_match_info", None)
    if match_info is None:
        match_info = request.match_info
    route = getattr(match_info, "_route", None)
    return route if route is not None else match_info.route


def _method(request: Any) -> Any:
    method = getattr(request, "_method", None)
    return method if type(method) is str else request.method


def _headers(message: Any) -> Any:
    # A request's CIMultiDictProxy or a response's CIMultiDict (`headers`).
    headers = getattr(message, "_headers", None)
    return headers if headers is not None else message.headers


def _counted(routes: AiohttpRoutes, kind: int, reason: int, origin: Any, detail_name: Any, detail: Any) -> None:
    """Count one decision; note a refusal's origin (and log it, rate-limited)."""
    routes._counts.count(kind, reason)
    if reason > NO_ORIGIN and routes._refused is not None:
        routes._refused.note(reason, origin, detail_name, detail)


def aiohttp_add_vary(headers: Any) -> None:
    """Add `Vary: Origin` to `headers` unless a Vary header already names Origin or \"*\"."""
    names = _names()
    if names[VARY] not in headers:
        headers[names[VARY]] = ORIGIN  # absent: the same as `add`
        return
    for value in headers.getall(VARY, ()):
        for token in value.split(","):
            token = token.strip().lower()
            if token == "origin" or token == "*":
                return
    headers.add(names[VARY], ORIGIN)


class _Done:
    """An awaitable that is already done: the hook's result, so aiohttp's `await` costs no
    coroutine."""

    __slots__ = ()

    def __await__(self) -> Any:
        return iter(())


DONE = _Done()


def aiohttp_prepare(routes: AiohttpRoutes, request: Any, response: Any) -> _Done:
    """Give `response` its CORS headers; return an awaitable that is already done.

    aiohttp-cors' `_on_response_prepare`, for the routes of its own router adapter: nothing for
    a route without CORS or a preflight (its handler answered); else the configuration of the
    request's method (a view's own, asked per request), the entry of the request's Origin, and
    Access-Control-Expose-Headers, -Allow-Origin and -Allow-Credentials, in that order. Fixes:
    `Vary: Origin` on every such response whose configuration names an origin; a response
    that already has one of those three headers keeps its own and gets none (aiohttp-cors
    fails an assert, and the client gets no response); an ineligible Origin gets none.
    """
    state = routes.route(_route(request))
    if state is None or not state.enabled:
        return DONE
    if state.view:
        if _method(request) == "OPTIONS":
            return DONE
        config: Any = state.view_config(request)  # type: ignore[misc]
        empty = not config
    else:
        if state.preflight:
            return DONE
        config = state.configs.get(_method(request), state.default)
        empty = config.empty
    origin = _headers(request).get(_NAMES[ORIGIN])
    if origin is not None and type(origin) is not str:
        origin = str(origin)  # a str subclass's own methods never run on it
    if empty:
        # No origin has options: aiohttp-cors leaves the response alone, and refuses them all.
        _counted(routes, SIMPLE, aiohttp_refusal_reason(_headers(response), origin), origin, None, None)
        return DONE
    entry = None
    if origin is not None:
        entry = aiohttp_mapping_entry(config, origin) if state.view else config.lookup(origin)
    reason = aiohttp_respond(_headers(response), entry, origin)
    _counted(routes, SIMPLE, reason, origin, None, None)
    return DONE


def aiohttp_mapping_entry(mapping: Any, origin: str) -> Optional[AiohttpEntry]:
    """Return the entry for `origin` in a configuration aiohttp-cors builds per request (a
    mapping such as its `ChainMap`): its own options, else "*"'s; None when it has none or may
    not be reflected."""
    options = mapping.get(origin, mapping.get("*"))
    return None if options is None or not aiohttp_eligible(origin) else aiohttp_entry(options)


def aiohttp_refusal_reason(headers: Any, origin: Optional[str]) -> int:
    """Return the reason number a browser concludes for a response of `headers` to a request
    with `origin` (None: no Origin) to which corsfast gave no CORS headers: `allowed` when the
    app's own Access-Control-Allow-Origin admits the origin, else `origin_invalid` for an
    Origin never reflected, else `origin_not_allowed`."""
    if origin is None:
        return NO_ORIGIN
    origin = str(origin)
    names = _names()
    if names[ACAO] in headers:
        allowed = headers.getall(names[ACAO])
        if len(allowed) == 1 and (allowed[0] == origin or allowed[0] == "*"):
            return ALLOWED
    return ORIGIN_NOT_ALLOWED if aiohttp_eligible(origin) else ORIGIN_INVALID


def aiohttp_respond(headers: Any, entry: Optional[AiohttpEntry], origin: Optional[str]) -> int:
    """Give a response's `headers` the CORS headers of `entry` for `origin` (none when either is
    None, or the app set one of them itself), then `Vary: Origin`; return the reason number of
    the decision (`allowed`, or `aiohttp_refusal_reason`'s when it gave none)."""
    names = _names()
    if origin is not None and type(origin) is not str:
        origin = str(origin)
    if entry is not None and origin is not None and not any(names[name] in headers for name in _TOUCHED):
        if entry.expose_all:
            headers[names[ACEH]] = ",".join(frozenset(headers.keys()) - SIMPLE_RESPONSE_HEADERS)
        elif entry.expose is not None:
            headers[names[ACEH]] = entry.expose
        headers[names[ACAO]] = origin
        if entry.credentials:
            headers[names[ACAC]] = TRUE
        aiohttp_add_vary(headers)
        return ALLOWED
    aiohttp_add_vary(headers)
    return aiohttp_refusal_reason(headers, origin)


MAX_PREFLIGHTS = 1024
"""Allowed preflight answers, and refused ones, kept per route (then forgotten at once:
browsers repeat theirs)."""


def _preflight_key(request: Any) -> tuple[Any, Any, Any]:
    names = _NAMES
    headers = _headers(request)
    return (
        headers.get(names[ORIGIN]),
        headers.get(names["Access-Control-Request-Method"]),
        headers.get(names["Access-Control-Request-Headers"]),
    )


def aiohttp_known_preflight(routes: AiohttpRoutes, request: Any) -> Any:
    """Return what a preflight like `request` got on its route: the headers of an allowed one,
    the 403 text (a str) of a refused one; None when neither is kept (the preflight handler
    then answers, counts and keeps it). A kept answer is counted here, with its reason: an
    allowed one asking for private network access is refused by browsers (aiohttp-cors never
    grants it)."""
    state = routes.route(_route(request))
    if state is None:
        return None
    key = _preflight_key(request)
    answer = state.preflights.get(key)
    if answer is not None:
        private_network = _headers(request).get(_NAMES["Access-Control-Request-Private-Network"])
        reason = PRIVATE_NETWORK_NOT_ALLOWED if private_network == TRUE else ALLOWED
        _counted(routes, PREFLIGHT, reason, key[0], None, None)
        return answer
    refusal = state.refusals.get(key)
    if refusal is None:
        return None
    # `_counted`'s work, inline: a kept refusal's reason is never `allowed` or `no_origin`.
    routes._counts.count(PREFLIGHT, refusal[1])
    if routes._refused is not None:
        routes._refused.note(refusal[1], key[0], refusal[2], refusal[3])
    return refusal[0]


def aiohttp_keep_preflight(routes: AiohttpRoutes, request: Any, pairs: Any) -> None:
    """Keep an allowed preflight's headers for the preflights like `request` on its route."""
    state = routes.route(_route(request))
    if state is not None:
        if len(state.preflights) >= MAX_PREFLIGHTS:
            state.preflights.clear()
        state.preflights[_preflight_key(request)] = tuple(pairs)


def aiohttp_keep_refusal(
    routes: AiohttpRoutes,
    request: Any,
    text: str,
    reason: int,
    detail_name: Optional[str] = None,
    detail: Any = None,
) -> None:
    """Keep a refused preflight's 403 text, with the reason number (and the method or header
    refused) it is counted under, for the preflights like `request` on its route, unless its
    Origin is one corsfast never reflects (kept apart from the allowed answers, so that a
    flood of refused origins never pushes those out)."""
    if type(text) is not str:
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not 0 <= reason < len(REASONS):
        raise ValueError(f"no such reason: {reason}")
    state = routes.route(_route(request))
    key = _preflight_key(request)
    if state is not None and type(key[0]) is str and aiohttp_eligible(key[0]):
        if len(state.refusals) >= MAX_PREFLIGHTS:
            state.refusals.clear()
        state.refusals[key] = (text, reason, detail_name, detail)


def aiohttp_request_headers(value: Optional[str]) -> frozenset[str]:
    """Return an Access-Control-Request-Headers value's names, upper-cased, as aiohttp-cors'
    frozenset (built from the same items in the same order: the same iteration order)."""
    if value is None:
        return frozenset()
    return frozenset(filter(None, (h.strip(" \t").upper() for h in value.split(","))))


def aiohttp_preflight(entry: AiohttpEntry, origin: str, request_method: str, request_headers: frozenset[str]) -> Any:
    """Return the preflight's headers as (name, value) pairs, or the request header names the
    entry does not allow (a frozenset, aiohttp-cors' order) when it refuses them."""
    if not entry.allow_all_headers:
        disallowed = request_headers - entry.allow_headers  # type: ignore[operator]
        if disallowed:
            return disallowed
    names = _names()
    pairs = [(names[ACAO], origin)]
    if entry.credentials:
        pairs.append((names[ACAC], TRUE))
    if entry.max_age is not None:
        pairs.append((names[ACMA], entry.max_age))
    pairs.append((names[ACAM], request_method))
    if request_headers:
        pairs.append((names[ACAH], ",".join(request_headers)))
    pairs.append((names[VARY], ORIGIN))
    return pairs
