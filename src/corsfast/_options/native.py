"""The options of the native middlewares (ASGI and WSGI) and of Kui's `allow_cors`."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .base import (
    _PORT_WILDCARD_ORIGIN,
    _WILDCARD_ORIGIN,
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    CORSOptions,
    OriginRule,
    _bool,
    _common,
    _encoded_origins,
    _pattern,
    _sequence,
    _warn,
)
from .lint import _lint

_WILDCARD_FORMS = (
    "the wildcard forms are scheme://*.domain[:port] (one DNS label, such as 'https://*.example.com'), "
    "scheme://host:* (any port, such as 'http://localhost:*') and scheme://*.domain:*"
)


def native_options(
    allow_origins: Iterable[OriginRule],
    allow_methods: Iterable[str],
    allow_headers: Iterable[str],
    expose_headers: Iterable[str],
    allow_credentials: bool,
    max_age: int,
    allow_private_network: bool,
    cache_size: int,
    max_origin_length: int,
    strict: bool,
    allow_origin_func: object = None,
    allow_origin_func_ttl: object = 0.0,
    *,
    async_func_allowed: bool = True,
) -> CORSOptions:
    """Return the options of the native API: patterns, exact origins, `*.` and `:*` wildcards,
    `*`, and the dynamic origin check (`allow_origin_func`; an async one only where
    `async_func_allowed`, the ASGI middleware)."""
    _bool("strict", strict)
    exact: dict[str, None] = {}
    wildcards: list[tuple[bytes, bytes]] = []
    port_wildcards: list[tuple[bytes, bytes]] = []
    patterns: list[re.Pattern[str]] = []
    allow_all = False
    for rule in _sequence("allow_origins", allow_origins):
        if isinstance(rule, re.Pattern):
            patterns.append(_pattern("allow_origins", rule))
        elif not isinstance(rule, str):
            raise TypeError(f"allow_origins items must be str or re.Pattern, got {type(rule).__name__} ({rule!r})")
        elif rule == "*":
            allow_all = True
        elif ":*" in rule:
            match = _PORT_WILDCARD_ORIGIN.fullmatch(rule)
            if match is None:
                raise ValueError(
                    f"allow_origins: {rule!r} is not a port-wildcard origin: ':*' ends the origin and "
                    f"stands for the whole port, after a lower-case host or '*.domain'; {_WILDCARD_FORMS}"
                )
            if match["host"] is not None:
                port_wildcards.append(((match["scheme"] + match["host"]).encode("ascii"), b""))
            else:
                port_wildcards.append((match["scheme"].encode("ascii"), match["suffix"].encode("ascii")))
        elif "*" in rule:
            match = _WILDCARD_ORIGIN.fullmatch(rule)
            if match is None:
                raise ValueError(f"allow_origins: {rule!r} is not a wildcard-subdomain origin; {_WILDCARD_FORMS}")
            wildcards.append((match["scheme"].encode("ascii"), match["suffix"].encode("ascii")))
        else:
            exact[rule] = None
    func, func_async, ttl = _origin_func(allow_origin_func, allow_origin_func_ttl, async_func_allowed)
    if func is not None and allow_all:
        raise ValueError(
            "allow_origin_func is never asked when allow_origins holds '*' (every origin is allowed "
            "by a rule first); remove '*' or the function"
        )
    options = CORSOptions(
        dialect="native",
        allow_all_origins=allow_all,
        exact_origins=frozenset(_encoded_origins(exact)),
        wildcard_origins=tuple(dict.fromkeys(wildcards)),
        origin_patterns=tuple(patterns),
        **_common(
            allow_methods,
            allow_headers,
            expose_headers,
            allow_credentials,
            max_age,
            allow_private_network,
            cache_size,
            max_origin_length,
        ),
        port_wildcard_origins=tuple(dict.fromkeys(port_wildcards)),
        origin_func=func,
        origin_func_async=func_async,
        origin_func_ttl=ttl,
    )
    _lint(options, exact, strict)
    if not (allow_all or exact or wildcards or port_wildcards or patterns or func is not None):
        _warn(
            "no origin is allowed (allow_origins is empty and there is no allow_origin_func): every "
            "cross-origin request is refused; list the origins of your front end, such as "
            "allow_origins=['https://app.example.com'], or ['*'] for any origin",
            strict,
        )
    if ttl > 0 and func is None:
        _warn("allow_origin_func_ttl has no effect without allow_origin_func", strict)
    elif ttl > 0 and options.cache_size == 0:
        _warn(
            "allow_origin_func_ttl has no effect with cache_size=0: verdicts are kept in the origin cache, "
            "so allow_origin_func is asked on every request",
            strict,
        )
    return options


def _origin_func(func: object, ttl: object, async_allowed: bool) -> tuple[Any, bool, float]:
    """Return the checked `allow_origin_func`, whether it is a coroutine function, and its ttl."""
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(
            f"allow_origin_func_ttl must be a number of seconds (int or float), got {type(ttl).__name__} ({ttl!r})"
        )
    try:
        seconds = float(ttl)
    except OverflowError:
        seconds = float("inf")  # an int too large for a float: keep verdicts for ever, as inf does
    if not seconds >= 0:  # negative, or NaN
        raise ValueError(f"allow_origin_func_ttl must be >= 0 seconds, got {ttl!r}")
    if func is None:
        return None, False, seconds
    if not callable(func):
        raise TypeError(
            f"allow_origin_func must be callable (it is called with the Origin as str), "
            f"got {type(func).__name__} ({func!r})"
        )
    is_async = _is_async_callable(func)
    if is_async and not async_allowed:
        raise TypeError(
            f"allow_origin_func {func!r} is a coroutine function: the WSGI middleware cannot await it; "
            "pass a plain function (or use the ASGI corsfast.CORSMiddleware)"
        )
    return func, is_async, seconds


def _is_async_callable(func: object) -> bool:
    """Return True when calling `func` returns an awaitable: an `async def` function, a partial
    of one, or an object whose `__call__` is one."""
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004 - the method itself, not callable()
    return not inspect.isroutine(func) and inspect.iscoroutinefunction(call)


def kui_options(
    allow_origins: object,
    allow_methods: object,
    allow_headers: object,
    expose_headers: object,
    allow_credentials: object,
    max_age: object,
    cache_size: object = DEFAULT_CACHE_SIZE,
    max_origin_length: object = DEFAULT_MAX_ORIGIN_LENGTH,
) -> CORSOptions:
    """Return the options of Kui 1.15's `allow_cors`: compiled patterns only, read once."""
    patterns = []
    for pattern in _sequence("allow_origins", allow_origins):
        if not isinstance(pattern, re.Pattern):
            raise TypeError(
                f"allow_origins items must be compiled re.Pattern objects (Kui calls .fullmatch), "
                f"got {type(pattern).__name__} ({pattern!r})"
            )
        patterns.append(_pattern("allow_origins", pattern))
    options = CORSOptions(
        dialect="kui",
        allow_all_origins=False,
        exact_origins=frozenset(),
        wildcard_origins=(),
        origin_patterns=tuple(patterns),
        **_common(
            allow_methods,
            allow_headers,
            expose_headers,
            allow_credentials,
            max_age,
            False,
            cache_size,
            max_origin_length,
        ),
    )
    _lint(options, {}, strict=False)
    return options


REPORT_ONLY_KEYS = (
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "cache_size",
    "max_origin_length",
    "allow_origin_func",
    "allow_origin_func_ttl",
)
"""The options a native middleware's `report_only` may give (the others are the enforced ones)."""


def report_only_options(report_only: object, enforced: dict[str, Any]) -> CORSOptions:
    """Return the options of a native middleware's report-only policy: `enforced` (the
    middleware's own options, by name) with those `report_only` (a mapping) gives instead.
    Its `allow_origin_func`, if any, must be a plain function: nothing awaits it."""
    if not isinstance(report_only, Mapping):
        raise TypeError(f"report_only must be a dict of the middleware's options, got {type(report_only).__name__}")
    unknown = sorted(str(key) for key in report_only if key not in REPORT_ONLY_KEYS)
    if unknown:
        raise ValueError(f"report_only: unknown option(s) {', '.join(unknown)}; it takes {', '.join(REPORT_ONLY_KEYS)}")
    merged = {**{key: enforced[key] for key in REPORT_ONLY_KEYS}, **report_only}
    if merged["allow_origin_func"] is not None and inspect.iscoroutinefunction(merged["allow_origin_func"]):
        raise TypeError(
            "report_only: allow_origin_func must be a plain function, as a report-only verdict is never awaited"
            + (
                ""
                if "allow_origin_func" in report_only
                else "; give report_only an allow_origin_func of its own (or None)"
            )
        )
    return native_options(
        merged["allow_origins"],
        merged["allow_methods"],
        merged["allow_headers"],
        merged["expose_headers"],
        merged["allow_credentials"],
        merged["max_age"],
        merged["allow_private_network"],
        merged["cache_size"],
        merged["max_origin_length"],
        False,
        merged["allow_origin_func"],
        merged["allow_origin_func_ttl"],
        async_func_allowed=False,
    )
