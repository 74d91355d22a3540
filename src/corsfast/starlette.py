"""`corsfast.starlette.CORSMiddleware`: Starlette 1.10's `CORSMiddleware`, byte for byte, compiled.

Change `from starlette.middleware.cors import CORSMiddleware` to
`from corsfast.starlette import CORSMiddleware`; the constructor and the ASGI messages are
the same (see the README's "Differences from Starlette" for the few refusals).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from types import ModuleType
from typing import Any, Optional, Union

from ._engine import engine as _default_engine
from ._options import starlette_options
from .asgi import ASGIShim

__all__ = ("CORSMiddleware",)


class CORSMiddleware(ASGIShim, _default_engine.ASGIMiddlewareBase):
    """Answer CORS exactly as Starlette 1.10's `CORSMiddleware`, with the corsfast engine."""

    __call__ = _default_engine.asgi_call

    def __init__(
        self,
        app: Any,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: Optional[Union[str, re.Pattern[str]]] = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
        *,
        _engine: ModuleType | None = None,
    ) -> None:
        options = starlette_options(
            allow_origins,
            allow_methods,
            allow_headers,
            # Starlette reads these flags by truthiness: so does the drop-in.
            bool(allow_credentials),
            allow_origin_regex,
            bool(allow_private_network),
            expose_headers,
            max_age,
        )
        self._bind(app, options)
