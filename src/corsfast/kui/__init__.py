"""Kui drop-ins: `corsfast.kui.asgi.allow_cors` and `corsfast.kui.wsgi.allow_cors`.

Change `from kui.asgi import allow_cors` to `from corsfast.kui.asgi import allow_cors`
(or `kui.wsgi` to `corsfast.kui.wsgi`); the signature, the defaults and the ways of
attaching it (`HttpRoute(...) @ cors`, `Routes(..., http_middlewares=[cors])`,
`HttpView` classes, `Kui(http_middlewares=[cors])`) are Kui 1.15's. For
`Kui(cors_config={...})` import `Kui` from the same module, or pass
`cors_middleware(cors_config)` in `http_middlewares`.

The origin check, the header values and their order come from the engine's Kui
dialect; this package only reads Kui's request and writes into Kui's response.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, MutableMapping
from types import ModuleType
from typing import Any, Optional

from baize.datastructures import MutableHeaders

from .._engine import engine as _default_engine
from .._observe.observer import Observer, observer_options
from .._observe.stats import CORSStats
from .._options import kui_options

__all__ = ()

Block = Iterable[tuple[bytes, bytes]]

CONFIG_KEYS = frozenset(
    ("allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age")
)
"""The keys of Kui's `CORSConfig` TypedDict (`kui.cors.CORSConfig`)."""


def _policy(
    allow_origins: object,
    allow_methods: object,
    allow_headers: object,
    expose_headers: object,
    allow_credentials: object,
    max_age: object,
    engine: ModuleType | None,
) -> Any:
    """Return the engine policy for Kui's `allow_cors` arguments, validated now, not per request."""
    options = kui_options(allow_origins, allow_methods, allow_headers, expose_headers, allow_credentials, max_age)
    return (engine or _default_engine).CORSPolicy(options)


class _Counted:
    """What one `allow_cors` counts of the requests it answers: `stats()` and `reset_stats()`
    (set on the decorator it returns)."""

    __slots__ = ("__weakref__", "counts", "observer")

    def __init__(
        self, policy: Any, engine: ModuleType | None, name: object, log_interval: object, top_refused_size: object
    ) -> None:
        checked_name, interval, top = observer_options(name, log_interval, top_refused_size)
        self.counts = policy.counts
        self.observer = Observer(self, engine or _default_engine, "kui", checked_name, interval, top)
        policy.observe(self.counts, self.observer.refused)

    def stats(self) -> CORSStats:
        """Return the counts of this `allow_cors`'s CORS decisions since counting began."""
        return self.observer.stats([self.counts.counts()])

    def reset_stats(self) -> None:
        """Start counting again from zero: the counts, the refused origins kept, `since`."""
        self.counts.reset()
        self.observer.reset()


def _observed(decorator: Any, counted: _Counted) -> Any:
    """Return `decorator` with `counted`'s `stats()` and `reset_stats()` (and `policy`)."""
    decorator.stats = counted.stats
    decorator.reset_stats = counted.reset_stats
    return decorator


def _config(cors_config: Mapping[str, Any]) -> dict[str, Any]:
    """Return a `cors_config` dict checked against Kui's `CORSConfig` keys."""
    if not isinstance(cors_config, Mapping):
        raise TypeError(f"cors_config must be a mapping (Kui's CORSConfig), got {type(cors_config).__name__}")
    unknown = sorted(set(cors_config) - CONFIG_KEYS)
    if unknown:
        raise TypeError(f"cors_config has unknown keys {unknown}; Kui's CORSConfig keys are {sorted(CONFIG_KEYS)}")
    return dict(cors_config)


def _origin_bytes(origin: str) -> bytes | None:
    """Return the raw bytes of a latin-1 decoded Origin, or None when no request could carry it."""
    try:
        return origin.encode("latin-1")
    except UnicodeEncodeError:
        return None


PLAN_LIMIT = 256
"""Converter plans kept by `_plan`; a full memo is simply cleared."""

_plans: dict[tuple[object, type, int, object], tuple[bool, bool]] = {}


def _identity(x: Any) -> Any:
    return x


_IDENTITY_CODE = _identity.__code__


def _is_identity(function: object) -> bool:
    """Return True for a plain function whose whole body returns its one argument (Kui's `lambda x: x`)."""
    code = getattr(function, "__code__", None)
    return (
        code is not None
        and code.co_code == _IDENTITY_CODE.co_code
        and code.co_consts == _IDENTITY_CODE.co_consts
        and code.co_argcount == 1
        and code.co_posonlyargcount == 0
        and code.co_kwonlyargcount == 0
        and not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    )


def _plan(converter: Any, kind: type, response_class: type) -> tuple[bool, bool]:
    """Return (Kui's converter returns a `kind` unchanged, it returns any `response_class` unchanged).

    Kui registers the identity for its side's `HttpResponse` (`response_class`). A type that
    dispatches to that registration needs no `singledispatch` call. The plan depends only on
    which types are registered and on the `response_class` registration, so it is memoised
    on those: a later `register` of a new type, or of `response_class` itself, is seen.
    """
    registry = converter.registry
    registered = registry.get(response_class)
    key = (converter, kind, len(registry), registered)
    plan = _plans.get(key)
    if plan is None:
        plain = _is_identity(registered)
        plan = (plain and converter.dispatch(kind) is registered, plain)
        if len(_plans) >= PLAN_LIMIT:
            _plans.clear()
        _plans[key] = plan
    return plan


def _convert(app: Any, result: Any, response_class: type) -> Any:
    """Return an endpoint's result converted as Kui's `convert_response` does, for the request's app.

    Kui's helper finds the app through its context-variable proxy on every call; the shim
    reads the app from the request's scope (same converter, same result).
    """
    converter = app.response_converter
    if isinstance(result, tuple):
        return converter(*result)
    return result if _plan(converter, type(result), response_class)[0] else converter(result)


def _convert_early(app: Any, result: Any, response_class: type) -> Any:
    """Return an endpoint's result in the form Kui will send it, for a request Kui's CORS passes on.

    Kui converts such a result after the middleware returns; converting it here instead lets
    `Vary` land in the response Kui sends, and is invisible when Kui's converter returns every
    `response_class` unchanged (its default). With any other `response_class` converter the
    result is left to Kui, which then converts it exactly once, as without corsfast.
    """
    converter = app.response_converter
    if isinstance(result, tuple):
        return converter(*result) if _plan(converter, tuple, response_class)[1] else result
    unchanged, plain = _plan(converter, type(result), response_class)
    return result if unchanged or not plain else converter(result)


def _names_origin(vary: str) -> bool:
    for token in vary.split(","):
        token = token.strip(" \t").lower()
        if token == "origin" or token == "*":
            return True
    return False


Decoded = tuple[tuple[tuple[str, str], ...], Optional[str]]
"""An engine block as Kui header strings: the (name, value) pairs to set, then the Vary value."""

MEMO_LIMIT = 4096
"""Decoded blocks kept per `allow_cors`; the engine caches one entry per origin, so a full
memo is simply cleared (the engine's own cache is bounded by its `cache_size`)."""


def _decode(block: Block) -> Decoded:
    """Return an engine block as str pairs (latin-1, as baize encodes them) and the Vary value.

    The engine's Kui dialect puts Vary last, after Access-Control-Allow-Origin.
    """
    items = []
    vary = None
    for name, value in block:
        if name == b"vary":
            vary = value.decode("latin-1")
        else:
            items.append((name.decode("latin-1"), value.decode("latin-1")))
    return tuple(items), vary


class _Blocks:
    """Decoded blocks memoised per engine entry, so a repeat origin costs no decoding."""

    __slots__ = ("_memo",)

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, Decoded]] = {}

    def __call__(self, entry: Any) -> Decoded:
        hit = self._memo.get(id(entry))
        if hit is not None and hit[0] is entry:
            return hit[1]
        decoded = _decode(entry.block)
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[id(entry)] = (entry, decoded)  # the entry is kept alive, so its id stays its own
        return decoded


def _fast_dict(headers: MutableMapping[str, str]) -> Optional[dict[str, str]]:
    """Return the dict inside a baize `MutableHeaders` (lower-case names), or None for any other mapping."""
    if type(headers) is MutableHeaders:
        store = getattr(headers, "_dict", None)
        if type(store) is dict:
            return store
    return None


def _write(headers: MutableMapping[str, str], decoded: Decoded) -> None:
    """Write a decoded engine block into Kui's (baize) headers, as Kui's `update()` does.

    A name the response already has keeps its position and gets the new value; a new name
    goes last. Vary is merged: Origin joins an existing Vary unless it already names it.
    Names are lower-case and values come from validated options or an Origin the engine
    accepted (never CR, LF or NUL), so baize's per-item checks are skipped when possible.
    """
    items, vary = decoded
    store: MutableMapping[str, str]
    fast = _fast_dict(headers)
    if fast is None:
        store = headers
        for name, value in items:
            store[name] = value
    else:
        store = fast
        fast.update(items)
    if vary is not None:
        existing = store.get("vary")
        if existing:
            if _names_origin(existing):
                return
            vary = f"{existing}, {vary}"
        store["vary"] = vary
