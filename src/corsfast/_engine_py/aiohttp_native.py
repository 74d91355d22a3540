"""corsfast's native API on aiohttp (`corsfast.aiohttp.cors_middleware`): the twin of
`_engine_c_aiohttp_native.pxi`.

`AiohttpCORSMiddleware` is an aiohttp new-style middleware answering CORS with one
`CORSPolicy` of the native options: the origin's entry (awaiting an async
`allow_origin_func` in the request's task), a preflight from an allowed origin answered
without the handler, and every other response given its entry's block, merged as the ASGI
middleware merges it when the app set one of the headers the engine sets. aiohttp is imported
when the first middleware is made, so that the engine imports without it.

Every request is counted once in the middleware's `DecisionCounts`, by kind (a preflight: an
OPTIONS request with an Origin and Access-Control-Request-Method) and reason: what a browser
concludes from the answer (`preflight_reason` for an allowed origin's preflight), each refused
origin noted in the `Observer`'s `RefusedOrigins`.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Optional

from .._cache_info import CacheInfo
from .._observe.reasons import (
    ALLOWED,
    FUNC_ERROR,
    FUNC_REFUSED,
    HEADER_NOT_ALLOWED,
    METHOD_NOT_ALLOWED,
    NO_ORIGIN,
    ORIGIN_INVALID,
    ORIGIN_NOT_ALLOWED,
    PREFLIGHT,
    PRIVATE_NETWORK_NOT_ALLOWED,
    SIMPLE,
)
from .counts import DecisionCounts
from .origins import _truth

if TYPE_CHECKING:
    from aiohttp import web

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ("AiohttpCORSMiddleware", "aiohttp_native_preflight_reason")

StrHeaders = tuple[tuple[str, str], ...]
PreflightKey = tuple[Any, str, Optional[str], Optional[str]]
PreflightAnswer = tuple[int, Any, int, Optional[str], Optional[str]]
"""A preflight answer's status and headers (a `CIMultiDict`, copied into each response), and
the reason number, detail name and detail it is counted under."""

_BLOCKS_PER_ENTRY_CACHE = 64
"""Room kept in the str-header cache beyond the origin cache's size (the refused and static entries)."""
_MAX_PREFLIGHTS = 1024
"""Preflight answers kept, per verdict and request headers (cleared when full: browsers repeat theirs)."""

# Header names as multidict's `istr` (looked up without case-folding them each time), and
# aiohttp's classes: set by `_load_aiohttp` when the first middleware is made.
ORIGIN: Any = "Origin"
ACRM: Any = "Access-Control-Request-Method"
ACRH: Any = "Access-Control-Request-Headers"
ACRPN: Any = "Access-Control-Request-Private-Network"
VARY: Any = "Vary"
ACAO: Any = "Access-Control-Allow-Origin"
ACAC: Any = "Access-Control-Allow-Credentials"
ACEH: Any = "Access-Control-Expose-Headers"
_TOUCHED: tuple[Any, ...] = (VARY, ACAO, ACAC, ACEH)
"""The response headers the engine sets: a response holding one of them takes the merging path."""
_Response: Any = None
_HTTPException: Any = BaseException
_CIMultiDict: Any = None
_istr: Any = str


def _load_aiohttp() -> None:
    """Import aiohttp's names once (aiohttp is in use: a middleware is being made)."""
    global ORIGIN, ACRM, ACRH, ACRPN, VARY, ACAO, ACAC, ACEH, _TOUCHED, _Response, _HTTPException, _CIMultiDict, _istr
    if _Response is not None:
        return
    from aiohttp import web
    from multidict import CIMultiDict, istr

    ORIGIN, ACRM, ACRH, ACRPN = istr(ORIGIN), istr(ACRM), istr(ACRH), istr(ACRPN)
    VARY, ACAO, ACAC, ACEH = istr(VARY), istr(ACAO), istr(ACAC), istr(ACEH)
    _TOUCHED = (VARY, ACAO, ACAC, ACEH)
    _HTTPException, _CIMultiDict, _istr = web.HTTPException, CIMultiDict, istr
    _Response = web.Response


def _name(raw: bytes) -> Any:
    """Return a header name the engine gives in lower case (ASGI's) as aiohttp apps write it:
    `Access-Control-Allow-Origin`, `Vary` (an `istr`)."""
    return _istr("-".join(part.capitalize() for part in raw.decode("latin-1").split("-")))


def _wire(text: str) -> bytes:
    """Return the bytes aiohttp read a request header `text` from (or writes for it)."""
    return text.encode("utf-8", "surrogateescape")


def _text(raw: bytes) -> str:
    """Return the str aiohttp writes as `raw` (a header the engine made), keeping any byte
    that is not UTF-8 as a surrogate (which `_writable` then refuses)."""
    return raw.decode("utf-8", "surrogateescape")


def _writable(text: str) -> bool:
    """Return True when aiohttp can write `text` (no surrogate standing for a non-UTF-8 byte)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_SAFELISTED_METHODS = (b"GET", b"HEAD", b"POST")


def _listed(pairs: list[tuple[bytes, bytes]], name: bytes, lower: bool) -> set[bytes]:
    """Return the items of every `name` header in an engine answer's `pairs`, stripped
    (lower-cased when `lower`)."""
    items = set()
    for header, value in pairs:
        if header == name:
            for item in value.split(b","):
                item = item.strip(b" \t")
                if item:
                    items.add(item.lower() if lower else item)
    return items


def aiohttp_native_preflight_reason(
    pairs: list[tuple[bytes, bytes]], request_method: bytes, names: Optional[bytes], private_network: Optional[bytes]
) -> tuple[int, Optional[str], Optional[str]]:
    """Return (reason number, detail name, detail): what a browser concludes from the engine's
    answer `pairs` ((name, value) bytes, names lower-cased) to a preflight from an allowed
    origin asking for `request_method`, the Access-Control-Request-Headers value `names` and
    the -Private-Network value `private_network` (bytes, or None when absent).

    The Fetch standard's CORS-preflight fetch: the method must be safelisted (GET, HEAD,
    POST) or listed in Access-Control-Allow-Methods, each requested header name listed in
    Access-Control-Allow-Headers (case-insensitively; `*` counts only without credentials,
    and never for Authorization), and private network access granted when asked for.
    """
    if type(pairs) is not list or type(request_method) is not bytes:
        raise TypeError("pairs must be a list and request_method bytes")
    credentials = (b"access-control-allow-credentials", b"true") in pairs
    if request_method not in _SAFELISTED_METHODS:
        granted = _listed(pairs, b"access-control-allow-methods", False)
        if request_method not in granted and (credentials or b"*" not in granted):
            return METHOD_NOT_ALLOWED, "method", _text(request_method)
    if names is not None:
        granted = _listed(pairs, b"access-control-allow-headers", True)
        for name in names.split(b","):
            name = name.strip(b" \t")
            if not name or name.lower() in granted:
                continue
            if b"*" in granted and not credentials and name.lower() != b"authorization":
                continue
            return HEADER_NOT_ALLOWED, "header", _text(name)
    if private_network == b"true" and (b"access-control-allow-private-network", b"true") not in pairs:
        return PRIVATE_NETWORK_NOT_ALLOWED, None, None
    return ALLOWED, None, None


class AiohttpCORSMiddleware:
    """An aiohttp middleware answering CORS with one compiled `CORSPolicy` (made by
    `cors_middleware`): `await middleware(request, handler)` returns the response. It counts
    every request by kind and reason (`stats()`), and notes each refused origin."""

    __middleware_version__ = 1  # aiohttp's mark of a new-style middleware
    __slots__ = (
        "__weakref__",
        "_blocks",
        "_blocks_limit",
        "_counts",
        "_func",
        "_no_origin_block",
        "_observer",
        "_policy",
        "_preflights",
        "_refused",
    )

    def __init__(
        self, policy: Any, *, name: Optional[str] = None, log_interval: float = 60.0, top_refused_size: int = 32
    ) -> None:
        from .._observe.observer import Observer, observer_options

        observed = observer_options(name, log_interval, top_refused_size)
        _load_aiohttp()
        self._policy = policy
        self._func = policy.options.origin_func
        self._no_origin_block: StrHeaders = tuple(
            (_name(name), _text(value)) for name, value in policy.response_headers(None, [])
        )
        self._blocks: dict[Any, Optional[StrHeaders]] = {}
        """OriginEntry -> its block as str pairs; None for one aiohttp cannot write (refused)."""
        self._blocks_limit = policy.options.cache_size + _BLOCKS_PER_ENTRY_CACHE
        self._preflights: dict[PreflightKey, Optional[PreflightAnswer]] = {}
        """(entry, request method, -headers, -private-network) -> the preflight answer (None:
        passed on); the engine's answer depends on nothing else."""
        self._counts = DecisionCounts()
        self._observer = Observer(self, sys.modules[__package__], "aiohttp-native", *observed)
        self._refused = self._observer.refused

    def stats(self) -> Any:
        """Return the counts of this middleware's CORS decisions since it was made (or since
        `reset_stats()`): every request, by kind (preflight or not) and reason, and the most
        refused origins (a `corsfast.CORSStats`)."""
        return self._observer.stats((self._counts.counts(),))

    def reset_stats(self) -> None:
        """Set every count to zero and forget the refused origins."""
        self._counts.reset()
        self._observer.reset()

    @property
    def policy(self) -> Any:
        """Return the compiled `CORSPolicy` that answers (read-only, as on the compiled engine)."""
        return self._policy

    def cache_info(self) -> CacheInfo:
        """Return the origin cache's statistics: hits, misses, maximum and current size."""
        return self.policy.cache_info()  # type: ignore[no-any-return]

    def cache_clear(self) -> None:
        """Empty the origin cache and reset its statistics."""
        self.policy.cache_clear()
        self._blocks.clear()
        self._preflights.clear()

    def _block(self, entry: Any) -> Optional[StrHeaders]:
        """Return `entry`'s block as str pairs (made once per entry), None when aiohttp cannot
        write one of its values."""
        if len(self._blocks) >= self._blocks_limit:
            self._blocks.clear()  # entries the origin cache dropped would stay alive here
        pairs = tuple((_name(name), _text(value)) for name, value in entry.block)
        block = pairs if all(_writable(value) for _, value in pairs) else None
        self._blocks[entry] = block
        return block

    async def _decide(self, raw: bytes) -> tuple[Any, int]:
        """Return the entry for an Origin the rules refused once `allow_origin_func` has
        decided (an async one awaited here, in the request's task), and the reason number of
        a refusal (`func_refused`, or `func_error` when it raised)."""
        try:
            result = self._func(raw.decode("latin-1"))
            if self._policy._func_async:
                result = await result
        except Exception as error:
            return self._verdict(raw, None, error)
        return self._verdict(raw, result, None)

    def _verdict(self, raw: bytes, result: object, error: Optional[BaseException]) -> tuple[Any, int]:
        """Return `func_verdict`'s entry for `allow_origin_func`'s `result` (or its `error`),
        and the reason number of a refusal: the truth of the result is taken here to tell
        `func_refused` from `func_error`."""
        allowed = False
        if error is None:
            try:
                allowed = _truth(result)
            except Exception as failure:
                error = failure
        if error is not None:
            return self.policy.func_verdict(raw, None, error), FUNC_ERROR
        return self.policy.func_verdict(raw, allowed), FUNC_REFUSED

    def _origin_reason(self, raw: bytes, entry: Any, asked: int) -> int:
        """Return why the Origin `raw` got the refused `entry`: `asked` when allow_origin_func
        was just asked (func_refused or func_error), else the engine's reason."""
        policy = self._policy
        if asked:
            return asked  # only an Origin no rule refused as invalid is asked
        if len(raw) > policy._max_origin_length or not policy._eligible(raw):
            return ORIGIN_INVALID
        if policy._func is not None and entry is not policy._denied:
            return FUNC_REFUSED  # a refusal of allow_origin_func, cached for its ttl
        return ORIGIN_NOT_ALLOWED

    def _counted(self, kind: int, reason: int, origin: str, detail_name: Optional[str], detail: Optional[str]) -> None:
        """Count one decision; note a refusal's origin (and log it, rate-limited)."""
        self._counts.count(kind, reason)
        if reason > NO_ORIGIN:
            self._refused.note(reason, origin, detail_name, detail)

    def _preflight(self, entry: Any, request_method: str, request: web.Request) -> Optional[PreflightAnswer]:
        """Return the kept answer to a preflight with `entry`'s verdict, or None to pass it on."""
        headers = request.headers
        key = (entry, request_method, headers.get(ACRH), headers.get(ACRPN))
        try:
            answer = self._preflights[key]
        except KeyError:
            if len(self._preflights) >= _MAX_PREFLIGHTS:
                self._preflights.clear()
            answer = self._preflights[key] = self._preflight_answer(*key)
        return answer

    def _preflight_answer(
        self, entry: Any, request_method: str, names: Optional[str], private_network: Optional[str]
    ) -> Optional[PreflightAnswer]:
        """Return the status, headers and reason (number, detail name, detail) of the engine's
        answer to a preflight, None when it passes the preflight on."""
        method = _wire(request_method)
        raw_names = None if names is None else _wire(names)
        raw_private_network = None if private_network is None else _wire(private_network)
        answer = self.policy.entry_preflight(entry, method, raw_names, raw_private_network)
        if answer is None:
            return None
        status, pairs, _ = answer  # the body is empty; aiohttp writes its Content-Length: 0
        response_headers = _CIMultiDict()
        for name, value in pairs:
            if name != b"content-length":
                response_headers.add(_name(name), _text(value))
        return (
            status,
            response_headers,
            *aiohttp_native_preflight_reason(pairs, method, raw_names, raw_private_network),
        )

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Return the response to `request`: a preflight's answer, or `handler`'s response
        with its CORS headers."""
        origin = request.headers.get(ORIGIN)
        entry = None
        block = self._no_origin_block
        if origin is None:
            self._counts.count(SIMPLE, NO_ORIGIN)
        else:
            policy = self._policy
            raw = _wire(origin)
            entry = policy._lookup(raw)
            asked = 0
            if entry.undecided:
                entry, asked = await self._decide(raw)
            request_method = request.headers.get(ACRM) if request.method == "OPTIONS" else None
            kind = SIMPLE if request_method is None else PREFLIGHT
            try:
                found = self._blocks[entry]
            except KeyError:
                found = self._block(entry)
            if found is None:
                entry = None  # a reflection aiohttp cannot write (an Origin that is not UTF-8): refused
                self._counted(kind, ORIGIN_INVALID, origin, None, None)
            else:
                block = found
                # The native engine passes on every preflight it refuses (`_native_preflight`).
                if request_method is not None and (entry.allowed or not policy._native):
                    answer = self._preflight(entry, request_method, request)
                    if answer is not None:
                        if entry.allowed:
                            self._counted(PREFLIGHT, answer[2], origin, answer[3], answer[4])
                        else:
                            self._counted(PREFLIGHT, self._origin_reason(raw, entry, asked), origin, None, None)
                        return _Response(status=answer[0], headers=answer[1])  # type: ignore[no-any-return] # a copy of the kept headers
                if entry.allowed:
                    self._counts.count(kind, ALLOWED)
                else:
                    reason = self._origin_reason(raw, entry, asked)
                    self._counts.count(kind, reason)
                    self._refused.note(reason, origin)
        try:
            response = await handler(request)
        except _HTTPException as error:
            self._apply(error.headers, entry, block)
            raise
        # A response the handler prepared itself has sent its headers. Before aiohttp 3.10,
        # `prepared` is False again once it was finished (`write_eof`): `_eof_sent` says so.
        if not (response.prepared or getattr(response, "_eof_sent", False)):
            headers = response.headers
            # `_apply`'s usual case inline: the app set none of the headers the engine sets.
            if VARY in headers or ACAO in headers or ACAC in headers or ACEH in headers:
                self._apply(headers, entry, block)
            else:
                headers.extend(block)
        return response

    def _apply(self, headers: Any, entry: Any, block: StrHeaders) -> None:
        """Give a response's `headers` (a CIMultiDict) the CORS headers of `entry` (None: no or
        a refused Origin), as the engine applies them to an ASGI response's headers."""
        for name in _TOUCHED:
            if name in headers:
                break
        else:
            headers.extend(block)
            return
        # The app set one of them: the engine merges, on the headers as bytes, lower-cased,
        # each kept name in the app's own spelling.
        spelling: dict[str, str] = {}
        encoded = []
        for name, value in headers.items():
            lowered = name.lower()
            spelling.setdefault(lowered, name)
            encoded.append((lowered.encode("utf-8", "surrogatepass"), value.encode("utf-8", "surrogatepass")))
        if entry is None:
            merged = self.policy.response_headers(None, encoded)
        else:
            merged = self.policy.entry_headers(entry, encoded)
        headers.clear()
        for raw_name, raw_value in merged:
            name = raw_name.decode("utf-8", "surrogatepass")
            headers.add(spelling.get(name, name), raw_value.decode("utf-8", "surrogatepass"))
