"""Option validation and normalisation, written once and shared by both engines.

Every public entry point (the native middleware, the Starlette and Kui drop-ins, the
WSGI middleware) turns its user-facing arguments into one frozen `CORSOptions` here.
All the checks run at construction, so a bad configuration fails at start-up with a
message that names the option and the value, never at the first request.

`base` holds `CORSOptions` and the checks of single values; `native` the native and Kui
options; `starlette` Starlette's (its constructor, attributes and their compiled tables);
`lint` the warnings about dangerous but valid settings. The private helpers re-exported
below (`as` imports) are shared with the drop-ins' own settings (Django, Flask).
"""

from __future__ import annotations

from .base import (
    ALL_METHODS,
    DEFAULT_CACHE_SIZE,
    DEFAULT_MAX_ORIGIN_LENGTH,
    KUI_DEFAULT_METHODS,
    NATIVE_DEFAULT_METHODS,
    SAFELISTED_HEADERS,
    WATCH_DICT as WATCH_DICT,
    WATCH_LIST as WATCH_LIST,
    WATCH_PREFLIGHT as WATCH_PREFLIGHT,
    WATCH_SET as WATCH_SET,
    WATCH_SIMPLE as WATCH_SIMPLE,
    CORSConfigWarning,
    CORSOptions,
    Dialect,
    OriginRule,
    StarletteTables,
    _bool as _bool,
    _non_negative_int as _non_negative_int,
    _pattern as _pattern,
    _sequence as _sequence,
    _size as _size,
    _tokens as _tokens,
    _warn as _warn,
)
from .lint import (
    _lint as _lint,
    _lint_exact_origin as _lint_exact_origin,
    _lint_pattern as _lint_pattern,
    _origin_problem as _origin_problem,
)
from .native import REPORT_ONLY_KEYS, kui_options, native_options, report_only_options
from .starlette import (
    STARLETTE_ATTRIBUTES as STARLETTE_ATTRIBUTES,
    starlette_attributes,
    starlette_options,
    starlette_state_options,
    starlette_tables,
)

__all__ = (
    "ALL_METHODS",
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_MAX_ORIGIN_LENGTH",
    "KUI_DEFAULT_METHODS",
    "NATIVE_DEFAULT_METHODS",
    "REPORT_ONLY_KEYS",
    "SAFELISTED_HEADERS",
    "CORSConfigWarning",
    "CORSOptions",
    "Dialect",
    "OriginRule",
    "StarletteTables",
    "kui_options",
    "native_options",
    "report_only_options",
    "starlette_attributes",
    "starlette_options",
    "starlette_state_options",
    "starlette_tables",
)
