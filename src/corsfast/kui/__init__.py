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

from collections.abc import Iterable, Mapping, MutableMapping
from types import ModuleType
from typing import Any

from .._engine import engine as _default_engine
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


def _names_origin(vary: str) -> bool:
    for token in vary.split(","):
        token = token.strip(" \t").lower()
        if token == "origin" or token == "*":
            return True
    return False


def _write(headers: MutableMapping[str, str], block: Block) -> None:
    """Write an engine block into Kui's (baize) `MutableHeaders`, as Kui's `update()` does.

    A name the response already has keeps its position and gets the new value; a new name
    goes last. Vary is merged: Origin joins an existing Vary unless it already names it.
    """
    for name, value in block:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        if key == "vary":
            existing = headers.get("vary")
            if existing:
                if _names_origin(existing):
                    continue
                text = f"{existing}, {text}"
        headers[key] = text
