"""`ResourceOptions`: one origin's CORS options, as aiohttp-cors 0.8.1 normalises them.

The same named tuple, fields, defaults, normalisation and `ValueError`s as
`aiohttp_cors.resource_options`, plus one check aiohttp-cors lacks: an `expose_headers` name
or an `allow_methods` method that is not an HTTP token (a CR or LF, a space, a comma) is
refused here, where aiohttp-cors accepted it and broke the response at request time.
"""

from __future__ import annotations

import collections
import collections.abc
import numbers
from typing import Any

from .._options.base import _TCHARS

__all__ = ("ResourceOptions",)


def _is_proper_sequence(seq: object) -> bool:
    """Return True for a sequence that is not a str."""
    return isinstance(seq, collections.abc.Sequence) and not isinstance(seq, str)


def _check_tokens(name: str, items: Any) -> None:
    # Only a str can be a header name or a method; other items keep aiohttp-cors' own
    # behaviour (a TypeError or a value that never matches).
    for item in items:
        if isinstance(item, str) and (not item or not item.isascii() or not _TCHARS.issuperset(item.encode("ascii"))):
            raise ValueError(f"{name!r} item {item!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~)")


class ResourceOptions(
    collections.namedtuple("Base", ("allow_credentials", "expose_headers", "allow_headers", "max_age", "allow_methods"))
):
    """Resource CORS options."""

    __slots__ = ()

    def __init__(
        self,
        *,
        allow_credentials: bool = False,
        expose_headers: Any = (),
        allow_headers: Any = (),
        max_age: Any = None,
        allow_methods: Any = None,
    ) -> None:
        """Construct resource CORS options (normalised by `__new__`)."""
        super().__init__()

    def __new__(
        cls,
        *,
        allow_credentials: bool = False,
        expose_headers: Any = (),
        allow_headers: Any = (),
        max_age: Any = None,
        allow_methods: Any = None,
    ) -> ResourceOptions:
        """Return the options normalised: header and method sets as frozensets, or "*"."""
        if not isinstance(allow_credentials, bool):
            raise ValueError(f"'allow_credentials' must be boolean, got '{allow_credentials!r}'")

        if expose_headers == "*":
            exposed: Any = expose_headers
        elif not _is_proper_sequence(expose_headers):
            raise ValueError(f"'expose_headers' must be either '*', or sequence of strings, got '{expose_headers!r}'")
        else:
            _check_tokens("expose_headers", expose_headers)
            exposed = frozenset(expose_headers) if expose_headers else frozenset()

        if allow_headers == "*":
            allowed_headers: Any = allow_headers
        elif not _is_proper_sequence(allow_headers):
            raise ValueError(f"'allow_headers' must be either '*', or sequence of strings, got '{allow_headers!r}'")
        else:
            allowed_headers = frozenset(h.upper() for h in allow_headers)

        if max_age is not None and (not isinstance(max_age, numbers.Integral) or max_age < 0):
            raise ValueError(f"'max_age' must be non-negative integer, got '{max_age!r}'")

        if allow_methods is None or allow_methods == "*":
            methods: Any = allow_methods
        elif not _is_proper_sequence(allow_methods):
            raise ValueError(f"'allow_methods' must be either '*', or sequence of strings, got '{allow_methods!r}'")
        else:
            _check_tokens("allow_methods", allow_methods)
            methods = frozenset(m.upper() for m in allow_methods)

        return super().__new__(
            cls,
            allow_credentials=allow_credentials,
            expose_headers=exposed,
            allow_headers=allowed_headers,
            max_age=max_age,
            allow_methods=methods,
        )

    def is_method_allowed(self, method: str) -> bool:
        """Return True when `method` is among `allow_methods` ("*": any; None: none)."""
        if self.allow_methods is None:
            return False
        if self.allow_methods == "*":
            return True
        return method.upper() in self.allow_methods
