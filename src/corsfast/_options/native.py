"""The options of the native middlewares (ASGI and WSGI) and of Kui's `allow_cors`."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .base import (
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
)
from .lint import _lint


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
) -> CORSOptions:
    """Return the options of the native API: patterns, exact origins, `*.` wildcards and `*`."""
    _bool("strict", strict)
    exact: dict[str, None] = {}
    wildcards: list[tuple[bytes, bytes]] = []
    patterns: list[re.Pattern[str]] = []
    allow_all = False
    for rule in _sequence("allow_origins", allow_origins):
        if isinstance(rule, re.Pattern):
            patterns.append(_pattern("allow_origins", rule))
        elif not isinstance(rule, str):
            raise TypeError(f"allow_origins items must be str or re.Pattern, got {type(rule).__name__} ({rule!r})")
        elif rule == "*":
            allow_all = True
        elif "*" in rule:
            match = _WILDCARD_ORIGIN.fullmatch(rule)
            if match is None:
                raise ValueError(
                    f"allow_origins: {rule!r} is not a wildcard-subdomain origin; "
                    "the only wildcard form is scheme://*.domain[:port], such as 'https://*.example.com'"
                )
            wildcards.append((match["scheme"].encode("ascii"), match["suffix"].encode("ascii")))
        else:
            exact[rule] = None
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
    )
    _lint(options, exact, strict)
    return options


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
