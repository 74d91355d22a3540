"""corsfast's native API on aiohttp (`corsfast.aiohttp.cors_middleware`): the twin of
`_engine_c_aiohttp_native.pxi`.

`AiohttpCORSMiddleware` is an aiohttp new-style middleware answering CORS with one
`CORSPolicy` of the native options: the origin's entry (awaiting an async
`allow_origin_func` in the request's task), a preflight from an allowed origin answered
without the handler, and every other response given its entry's block, merged as the ASGI
middleware merges it when the app set one of the headers the engine sets. aiohttp is imported
when the first middleware is made, so that the engine imports without it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Optional

from .._cache_info import CacheInfo

if TYPE_CHECKING:
    from aiohttp import web

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ("AiohttpCORSMiddleware",)

StrHeaders = tuple[tuple[str, str], ...]
PreflightKey = tuple[Any, str, Optional[str], Optional[str]]
PreflightAnswer = tuple[int, Any]
"""A preflight answer's status and headers (a `CIMultiDict`, copied into each response)."""

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


class AiohttpCORSMiddleware:
    """An aiohttp middleware answering CORS with one compiled `CORSPolicy` (made by
    `cors_middleware`): `await middleware(request, handler)` returns the response."""

    __middleware_version__ = 1  # aiohttp's mark of a new-style middleware
    __slots__ = ("_blocks", "_blocks_limit", "_func", "_lookup", "_no_origin_block", "_policy", "_preflights")

    def __init__(self, policy: Any) -> None:
        _load_aiohttp()
        self._policy = policy
        self._lookup = policy.pending_lookup
        self._func = policy.options.origin_func
        self._no_origin_block: StrHeaders = tuple(
            (_name(name), _text(value)) for name, value in policy.response_headers(None, [])
        )
        self._blocks: dict[Any, Optional[StrHeaders]] = {}
        """OriginEntry -> its block as str pairs; None for one aiohttp cannot write (refused)."""
        self._blocks_limit = policy.options.cache_size + _BLOCKS_PER_ENTRY_CACHE
        self._preflights: dict[PreflightKey, Optional[PreflightAnswer]] = {}
        """(entry, request method, -headers, -private-network) -> the preflight answer's status and
        headers (None: passed on); the engine's answer depends on nothing else."""

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

    async def _decide(self, raw: bytes) -> Any:
        """Return the entry for an Origin the rules refused, once the async `allow_origin_func`
        has decided (awaited here, in the request's task)."""
        try:
            result = await self._func(raw.decode("latin-1"))
        except Exception as error:
            return self.policy.func_verdict(raw, None, error)
        return self.policy.func_verdict(raw, result)

    def _preflight(self, entry: Any, request_method: str, request: web.Request) -> Optional[web.Response]:
        """Return the answer to a preflight with `entry`'s verdict, or None to pass it on."""
        headers = request.headers
        key = (entry, request_method, headers.get(ACRH), headers.get(ACRPN))
        try:
            answer = self._preflights[key]
        except KeyError:
            if len(self._preflights) >= _MAX_PREFLIGHTS:
                self._preflights.clear()
            answer = self._preflights[key] = self._preflight_answer(*key)
        if answer is None:
            return None
        return _Response(status=answer[0], headers=answer[1])  # type: ignore[no-any-return] # a copy of the kept headers

    def _preflight_answer(
        self, entry: Any, request_method: str, names: Optional[str], private_network: Optional[str]
    ) -> Optional[PreflightAnswer]:
        """Return the status and headers of the engine's answer to a preflight, None when it
        passes the preflight on."""
        answer = self.policy.entry_preflight(
            entry,
            _wire(request_method),
            None if names is None else _wire(names),
            None if private_network is None else _wire(private_network),
        )
        if answer is None:
            return None
        status, pairs, _ = answer  # the body is empty; aiohttp writes its Content-Length: 0
        response_headers = _CIMultiDict()
        for name, value in pairs:
            if name != b"content-length":
                response_headers.add(_name(name), _text(value))
        return status, response_headers

    async def __call__(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Return the response to `request`: a preflight's answer, or `handler`'s response
        with its CORS headers."""
        origin = request.headers.get(ORIGIN)
        entry = None
        block = self._no_origin_block
        if origin is not None:
            raw = _wire(origin)
            entry = self._lookup(raw)
            if entry is None:
                entry = await self._decide(raw)
            try:
                found = self._blocks[entry]
            except KeyError:
                found = self._block(entry)
            if found is None:
                entry = None  # a reflection aiohttp cannot write: refused
            else:
                block = found
                if request.method == "OPTIONS":
                    request_method = request.headers.get(ACRM)
                    if request_method is not None:
                        answer = self._preflight(entry, request_method, request)
                        if answer is not None:
                            return answer
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
