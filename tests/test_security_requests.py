"""Request-time hardening: hostile headers on both engines, native, Starlette and Kui dialects.

SECURITY.md section 5.2-5.4 rows R1-R9, P4-P7, H3: huge Access-Control-Request-Headers
(one linear pass, bounded allocation, measured with tracemalloc), over-long Origins
(refused before any rule runs), control characters (never reflected), non-UTF-8 bytes
(reflected byte for byte), duplicate Origin and ACRH lines (as Starlette). Where the
Starlette drop-in must answer as Starlette does, the installed Starlette answers the same
request in the same test.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import tracemalloc
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from cases import asgi_request
from starlette.middleware.cors import CORSMiddleware as StarletteCORSMiddleware

from corsfast import CORSConfigWarning
from corsfast._options import KUI_DEFAULT_METHODS, kui_options
from corsfast.asgi import CORSMiddleware as NativeCORSMiddleware
from corsfast.starlette import CORSMiddleware as FastStarletteCORSMiddleware

ENGINES = [
    pytest.param("corsfast._engine_c", marks=pytest.mark.c_extension, id="c"),
    pytest.param("corsfast._engine_py", id="py"),
]
CONTROL_BYTES = [*range(0x20), 0x7F]
ORIGIN = b"origin"
ACRM = b"access-control-request-method"
ACRH = b"access-control-request-headers"
ACAO = b"access-control-allow-origin"
ACAH = b"access-control-allow-headers"
MiB = 1024 * 1024


@pytest.fixture(params=ENGINES)
def engine_module(request: pytest.FixtureRequest) -> ModuleType:
    """Return each engine module (compiled, then pure) for the shims' `_engine=` keyword."""
    return importlib.import_module(request.param)


# -- an ASGI harness with no event loop: these apps never suspend ------------------------------


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"app"})


def request(middleware: Any, method: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, list[Any], bytes]:
    """Return `(status, headers, body)` of one HTTP request sent straight to `middleware`."""
    return asgi_request(middleware, method, headers)


def quiet(factory: Any, *args: Any, **kwargs: Any) -> Any:
    """Build a middleware whose configuration is deliberately dangerous, without the warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return factory(*args, **kwargs)


def pair(engine_module: ModuleType, **kwargs: Any) -> tuple[Any, Any]:
    """Return real Starlette and the corsfast drop-in on `engine_module`, configured alike."""
    theirs = StarletteCORSMiddleware(app, **kwargs)
    ours = quiet(FastStarletteCORSMiddleware, app, **kwargs, _engine=engine_module)
    return theirs, ours


def preflight(origin: bytes, names: bytes | None = None, method: bytes = b"GET") -> list[tuple[bytes, bytes]]:
    headers = [(ORIGIN, origin), (ACRM, method)]
    if names is not None:
        headers.append((ACRH, names))
    return headers


def values(headers: list[Any], name: bytes) -> list[bytes]:
    return [value for key, value in headers if key == name]


def traced_peak(call: Any) -> tuple[Any, int]:
    """Return `call()` and the peak bytes Python's allocator handed out while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak


# -- P5/P6: 2 MB Access-Control-Request-Headers -------------------------------------------------

TWO_MB = 2 * MiB
HUGE_ACRH = {
    "commas": b"," * TWO_MB,
    "a-comma": b"a," * (TWO_MB // 2),  # ends with an empty element: refused
    "a-list": b"a," * (TWO_MB // 2) + b"a",  # a million allowed names: accepted
}


@pytest.mark.parametrize("allow_headers", [["a"], ["*"]], ids=["explicit", "star"])
@pytest.mark.parametrize("shape", list(HUGE_ACRH))
def test_p5_huge_acrh_same_answer_as_starlette_with_bounded_memory(
    engine_module: ModuleType, shape: str, allow_headers: list[str]
) -> None:
    acrh = HUGE_ACRH[shape]
    theirs, ours = pair(engine_module, allow_origins=["https://a.com"], allow_headers=allow_headers)
    headers = preflight(b"https://a.com", acrh)
    expected = request(theirs, "OPTIONS", headers)
    answer, peak = traced_peak(lambda: request(ours, "OPTIONS", headers))
    assert answer == expected
    if allow_headers == ["*"]:
        # Mirrored as Starlette does: the very request bytes, never a copy in the answer.
        assert any(value is acrh for value in values(answer[1], ACAH))
    # One linear pass: no list of names. The pure engine may make one copy of the value
    # (bytes.translate) when it checks a mirrored value for control bytes; nothing more.
    limit = 64 * 1024 if engine_module.__name__.endswith("_c") or allow_headers != ["*"] else len(acrh) + 256 * 1024
    assert peak < limit, f"peak {peak} bytes for a {len(acrh)}-byte ACRH"


@pytest.mark.parametrize("allow_headers", [["a"], ["*"]], ids=["explicit", "star"])
@pytest.mark.parametrize("shape", list(HUGE_ACRH))
def test_p5_huge_acrh_native_dialect_bounded(engine_module: ModuleType, shape: str, allow_headers: list[str]) -> None:
    acrh = HUGE_ACRH[shape]
    middleware = NativeCORSMiddleware(
        app, allow_origins=["https://a.com"], allow_headers=allow_headers, _engine=engine_module
    )
    (status, headers, body), peak = traced_peak(
        lambda: request(middleware, "OPTIONS", preflight(b"https://a.com", acrh))
    )
    assert (status, body) == (200, b"")
    assert values(headers, ACAO) == [b"https://a.com"]
    if allow_headers == ["*"]:
        assert values(headers, ACAH) == []  # over the mirror cap (8 KiB): not mirrored
    else:
        assert values(headers, ACAH) == [b"a, Accept, Accept-Language, Content-Language, Content-Type"]
    assert peak < 64 * 1024


def test_p5_acrh_engine_level_on_kui_dialect(engine_module: ModuleType) -> None:
    policy = engine_module.CORSPolicy(
        kui_options([re.compile("https://a\\.com")], KUI_DEFAULT_METHODS, ["a"], (), False, 600)
    )
    acrh = HUGE_ACRH["a-list"]
    answer, peak = traced_peak(lambda: policy.preflight_response(b"https://a.com", b"GET", acrh, None))
    assert answer is not None and answer[0] == 200 and acrh not in [v for _, v in answer[1]]
    assert peak < 64 * 1024


@pytest.mark.parametrize(
    "acrh",
    [b" content-type , ACCEPT ", b"", b"x-a,,x-a", b"x-a\t,\tx-a", b"X-A", b"x-a\x85", b"\xa0x-a", b"x-\xc4"],
)
def test_p4_acrh_whitespace_case_and_odd_bytes_as_starlette(engine_module: ModuleType, acrh: bytes) -> None:
    theirs, ours = pair(engine_module, allow_origins=["https://a.com"], allow_headers=["X-A"])
    headers = preflight(b"https://a.com", acrh)
    assert request(ours, "OPTIONS", headers) == request(theirs, "OPTIONS", headers)


@pytest.mark.parametrize("byte", CONTROL_BYTES, ids=[f"{b:#04x}" for b in CONTROL_BYTES])
def test_p6_star_headers_never_mirror_control_bytes(engine_module: ModuleType, byte: int) -> None:
    acrh = b"x-a," + bytes([byte]) + b"x-b"
    ours = FastStarletteCORSMiddleware(app, allow_origins=["https://a.com"], allow_headers=["*"], _engine=engine_module)
    status, headers, body = request(ours, "OPTIONS", preflight(b"https://a.com", acrh))
    if byte == 0x09:  # a tab is header whitespace, legal in a value: mirrored as Starlette does
        theirs = StarletteCORSMiddleware(app, allow_origins=["https://a.com"], allow_headers=["*"])
        assert (status, headers, body) == request(theirs, "OPTIONS", preflight(b"https://a.com", acrh))
    else:
        assert (status, body) == (400, b"Disallowed CORS headers")
        assert values(headers, ACAH) == []
    native = NativeCORSMiddleware(
        app, allow_origins=["https://a.com"], allow_headers=["*"], allow_methods=["*"], _engine=engine_module
    )
    status, headers, _ = request(native, "OPTIONS", preflight(b"https://a.com", acrh, method=b"GE" + bytes([byte])))
    assert status == 200
    assert values(headers, b"access-control-allow-methods") == []  # never a non-token method
    assert values(headers, ACAH) == ([acrh] if byte == 0x09 else [])  # a tab is optional whitespace


# -- R9: an over-long Origin is refused before any rule runs -----------------------------------


class SpyPattern:
    """Stand in for a compiled pattern and record every string the engine runs it on.

    The engines only ever call `pattern.fullmatch(text)` on `CORSOptions.origin_patterns`;
    `re.Pattern` cannot be subclassed and C calls cannot be traced, so the options are
    rebuilt (dataclasses.replace, white-box) with this stand-in in the pattern's place.
    """

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls: list[int] = []

    def fullmatch(self, text: str) -> Any:
        self.calls.append(len(text))
        return self.pattern.fullmatch(text)


def spied(engine_module: ModuleType, options: Any) -> tuple[Any, SpyPattern]:
    spy = SpyPattern(options.origin_patterns[0])
    policy = engine_module.CORSPolicy(dataclasses.replace(options, origin_patterns=(spy,)))
    return policy, spy


def _starlette_options(**kwargs: Any) -> Any:
    return quiet(FastStarletteCORSMiddleware, app, **kwargs).policy.options


def _native_options(**kwargs: Any) -> Any:
    return quiet(NativeCORSMiddleware, app, **kwargs).policy.options


CATASTROPHIC = re.compile("https://(a+)+\\.com|.*")  # exponential on 'https://aaaa...!'
OPTIONS_WITH_A_PATTERN = {
    "starlette": lambda: _starlette_options(allow_origin_regex=CATASTROPHIC, allow_credentials=True),
    "native": lambda: _native_options(allow_origins=[CATASTROPHIC], allow_credentials=True),
    "kui": lambda: quiet(kui_options, [CATASTROPHIC], KUI_DEFAULT_METHODS, (), (), True, 600),
}


@pytest.mark.parametrize("dialect", list(OPTIONS_WITH_A_PATTERN))
def test_r9_overlong_origin_never_reaches_the_pattern_or_the_cache(engine_module: ModuleType, dialect: str) -> None:
    options = OPTIONS_WITH_A_PATTERN[dialect]()
    policy, spy = spied(engine_module, options)
    limit = options.max_origin_length
    # 'b's: the catastrophic branch fails at once, `.*` matches (the pattern runs once, fast).
    at_limit = b"https://" + b"b" * (limit - len("https://"))
    assert len(at_limit) == limit
    assert policy.is_allowed_origin(at_limit)  # the `.*` branch: allowed
    assert spy.calls == [limit]
    assert policy.cache_info().currsize == 1
    # What a refused origin gets: `.*` refuses only origins with control characters.
    refused = policy.response_headers(b"https://refused\n.example", [])
    policy.cache_clear()
    spy.calls.clear()
    for origin in (at_limit + b"!", b"https://" + b"a" * 100_000 + b"!", b"h" * (8 * MiB)):
        entry = policy.lookup(origin)
        assert not entry.allowed
        assert policy.response_headers(origin, []) == refused
    if dialect != "kui":
        answer = policy.preflight_response(at_limit + b"!", b"GET", None, None)
        assert answer is None or answer[0] == 400
    assert spy.calls == []  # the exponential pattern never saw the over-long input
    info = policy.cache_info()
    assert info.currsize == 0 and info.hits == 0 and info.misses >= 3


def test_r9_overlong_origin_refused_even_with_star_and_exact(engine_module: ModuleType) -> None:
    huge = b"https://" + b"a" * 3000 + b".com"
    control = b"https://a\x00.com"  # the other origin the Starlette dialect refuses under `*`
    for kwargs in ({"allow_origins": ["*"], "allow_credentials": True}, {"allow_origins": [huge.decode()]}):
        ours = quiet(FastStarletteCORSMiddleware, app, **kwargs, _engine=engine_module)
        credentials = {"allow_credentials": kwargs.get("allow_credentials", False)}
        refusing = StarletteCORSMiddleware(app, allow_origins=["https://other.example"], **credentials)
        for method, headers in (("GET", [(ORIGIN, huge)]), ("OPTIONS", preflight(huge))):
            status, answer, body = request(ours, method, headers)
            assert huge not in values(answer, ACAO)  # never reflected
            if method == "OPTIONS" or kwargs["allow_origins"] != ["*"]:
                # Answered as Starlette answers a refused origin (the documented deviation).
                assert (status, answer, body) == request(refusing, method, headers)
            else:
                # Under `*`, a refused origin gets the static simple headers Starlette sends
                # before it would reflect: `*` (never with a reflected origin), as for an
                # origin holding control characters.
                assert (status, answer, body) == request(ours, method, [(ORIGIN, control)])
                assert values(answer, ACAO) == [b"*"]


def test_r9_eight_mib_origin_through_every_shim(engine_module: ModuleType) -> None:
    huge = b"https://" + b"a" * (8 * MiB) + b".com"
    native = NativeCORSMiddleware(app, allow_origins=[re.compile("https://a+\\.com")], _engine=engine_module)
    assert request(native, "GET", [(ORIGIN, huge)]) == (
        200,
        [(b"content-type", b"text/plain"), (b"vary", b"Origin")],
        b"app",
    )
    assert native.cache_info().currsize == 0


# -- R6/R7: control characters and non-UTF-8 bytes ---------------------------------------------


def reflecting_middlewares(engine_module: ModuleType) -> Iterator[tuple[str, Any]]:
    """Yield configurations that would reflect any Origin, in the native and Starlette dialects."""
    yield (
        "starlette-star-credentials",
        quiet(FastStarletteCORSMiddleware, app, allow_origins=["*"], allow_credentials=True, _engine=engine_module),
    )
    yield "starlette-regex", quiet(FastStarletteCORSMiddleware, app, allow_origin_regex="(?s).*", _engine=engine_module)
    yield "starlette-star", FastStarletteCORSMiddleware(app, allow_origins=["*"], _engine=engine_module)
    yield "native-star-credentials", quiet(NativeCORSMiddleware, app, allow_credentials=True, _engine=engine_module)
    yield "native-regex", quiet(NativeCORSMiddleware, app, allow_origins=[re.compile("(?s).*")], _engine=engine_module)


@pytest.mark.parametrize("byte", CONTROL_BYTES, ids=[f"{b:#04x}" for b in CONTROL_BYTES])
def test_r7_control_characters_are_never_reflected(engine_module: ModuleType, byte: int) -> None:
    control = bytes([byte])
    origins = [b"https://a" + control + b".com", control + b"https://a.com", b"https://a.com" + control, control]
    for name, middleware in reflecting_middlewares(engine_module):
        for origin in origins:
            for method, headers in (("GET", [(ORIGIN, origin)]), ("OPTIONS", preflight(origin, b"x-a"))):
                _, answer, _ = request(middleware, method, headers)
                for key, value in answer:
                    assert control not in value, (name, origin, key, value)
                assert values(answer, ACAO) in ([], [b"*"]), (name, origin)
    kui_policy = engine_module.CORSPolicy(
        quiet(kui_options, [re.compile("(?s).*")], KUI_DEFAULT_METHODS, (), (), True, 600)
    )
    for origin in origins:
        assert not kui_policy.is_allowed_origin(origin)
        assert kui_policy.preflight_response(origin, b"GET", None, None) is None
        assert all(control not in value for _, value in kui_policy.response_headers(origin, []))


@pytest.mark.parametrize("byte", CONTROL_BYTES, ids=[f"{b:#04x}" for b in CONTROL_BYTES])
def test_r7_exact_origin_with_a_control_character_never_matches(engine_module: ModuleType, byte: int) -> None:
    origin = "https://a" + chr(byte) + ".com"
    with pytest.warns(CORSConfigWarning, match="control"):
        ours = FastStarletteCORSMiddleware(app, allow_origins=[origin], _engine=engine_module)
    _, answer, _ = request(ours, "GET", [(ORIGIN, origin.encode("latin-1"))])
    assert values(answer, ACAO) == []


NON_UTF8 = [
    b"https://\xff.com",
    b"https://\xc3\xa9.com",
    b"https://\x80\x85\xa0.com",
    b"\xa0https://a.com\x85",
    b"https://a\xc3.com",
]


@pytest.mark.parametrize("origin", NON_UTF8)
def test_r6_non_utf8_origin_reflected_byte_exact_as_starlette(engine_module: ModuleType, origin: bytes) -> None:
    configurations: list[dict[str, Any]] = [
        {"allow_origins": ["*"], "allow_credentials": True},
        {"allow_origin_regex": "(?s).*", "allow_headers": ["X-A"]},
        {"allow_origins": [origin.decode("latin-1")], "expose_headers": ["X-B"]},
    ]
    for kwargs in configurations:
        theirs, ours = pair(engine_module, **kwargs)
        # With a Cookie header: before Starlette 1.0 it, not allow_credentials, makes `*` reflect.
        simple = [(ORIGIN, origin), (b"cookie", b"a=b")]
        for method, headers in (("GET", simple), ("OPTIONS", preflight(origin, b"x-a"))):
            answer = request(ours, method, headers)
            assert answer == request(theirs, method, headers), (kwargs, method)
            assert values(answer[1], ACAO) == [origin]
    native = quiet(NativeCORSMiddleware, app, allow_origins=[re.compile("(?s).*")], _engine=engine_module)
    for method, headers in (("GET", [(ORIGIN, origin)]), ("OPTIONS", preflight(origin))):
        assert values(request(native, method, headers)[1], ACAO) == [origin]
    kui_policy = engine_module.CORSPolicy(kui_options([re.compile("(?s).*")], KUI_DEFAULT_METHODS, (), (), False, 600))
    assert (ACAO, origin) in kui_policy.response_headers(origin, [])


# -- R1-R5, R8: matching runs on the exact bytes --------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "origins"),
    [
        (
            {"allow_origin_regex": "https://example\\.com"},
            [
                b"https://example.com.evil.com",
                b"https://example.com:8080",
                b"https://example.com\n",
                b"https://example.com",
            ],
        ),
        (
            {"allow_origin_regex": "https://([a-z0-9-]+\\.)?example\\.com"},
            [b"https://notexample.com", b"https://evil-example.com", b"https://a.example.com"],
        ),
        (
            {"allow_origins": ["https://a.com"]},
            [b"HTTPS://A.COM", b"https://a.com/", b"https://a.com:443", b"http://a.com", b"https://a.com", b""],
        ),
        ({"allow_origins": ["https://a.com"]}, [b"null"]),
        ({"allow_origins": ["*"]}, [b"null", b""]),
        ({"allow_origins": ["*"], "allow_credentials": True}, [b"null", b""]),
        ({"allow_origins": ["https://xn--bcher-kva.de"]}, [b"https://xn--bcher-kva.de", "https://bücher.de".encode()]),
    ],
)
def test_r1_to_r8_origin_matching_as_starlette(
    engine_module: ModuleType, kwargs: dict[str, Any], origins: list[bytes]
) -> None:
    theirs, ours = pair(engine_module, **kwargs)
    for origin in origins:
        for method, headers in (("GET", [(ORIGIN, origin)]), ("OPTIONS", preflight(origin))):
            assert request(ours, method, headers) == request(theirs, method, headers), (origin, method)


@pytest.mark.parametrize(
    "origins",
    [
        [b"https://a.com", b"https://evil.com"],
        [b"https://evil.com", b"https://a.com"],
        [b"", b"https://a.com"],
        [b"https://a.com", b"https://a.com"],
        [b"https://a.com"] + [b"https://evil%d.com" % i for i in range(20_000)],
    ],
    ids=["allowed-first", "refused-first", "empty-first", "same-twice", "20000-lines"],
)
def test_r8_duplicate_origin_headers_first_wins_as_starlette(engine_module: ModuleType, origins: list[bytes]) -> None:
    theirs, ours = pair(engine_module, allow_origins=["https://a.com"], allow_credentials=True, allow_headers=["X-A"])
    lines = [(ORIGIN, origin) for origin in origins]
    for method, headers in (("GET", lines), ("OPTIONS", [*lines, (ACRM, b"GET")])):
        assert request(ours, method, headers) == request(theirs, method, headers)
    native = NativeCORSMiddleware(app, allow_origins=["https://a.com"], _engine=engine_module)
    _, answer, _ = request(native, "GET", lines)
    # The verdict and the reflected value come from the same (first) header.
    assert values(answer, ACAO) == ([origins[0]] if origins[0] == b"https://a.com" else [])


@pytest.mark.parametrize(
    "lines",
    [[b"x-a", b"x-evil"], [b"x-evil", b"x-a"], [b"x-a", b"x-a"], [b"", b"x-a"]],
    ids=["allowed-first", "refused-first", "same", "empty-first"],
)
@pytest.mark.parametrize("allow_headers", [["X-A"], ["*"]], ids=["explicit", "star"])
def test_p7_two_acrh_lines_first_wins_as_starlette(
    engine_module: ModuleType, lines: list[bytes], allow_headers: list[str]
) -> None:
    theirs, ours = pair(engine_module, allow_origins=["https://a.com"], allow_headers=allow_headers)
    headers = [*preflight(b"https://a.com"), *[(ACRH, line) for line in lines]]
    assert request(ours, "OPTIONS", headers) == request(theirs, "OPTIONS", headers)


def test_two_acrm_lines_and_header_name_case_as_starlette(engine_module: ModuleType) -> None:
    theirs, ours = pair(engine_module, allow_origins=["https://a.com"], allow_methods=["GET"])
    for headers in (
        [(ORIGIN, b"https://a.com"), (ACRM, b"GET"), (ACRM, b"PUT")],
        [(ORIGIN, b"https://a.com"), (ACRM, b"PUT"), (ACRM, b"GET")],
    ):
        assert request(ours, "OPTIONS", headers) == request(theirs, "OPTIONS", headers)


def test_h3_app_set_acao_yields_exactly_one_line_as_starlette(engine_module: ModuleType) -> None:
    async def own_cors_app(scope: Any, receive: Any, send: Any) -> None:
        headers = [(ACAO, b"https://app.example"), (b"vary", b"Accept-Encoding"), (b"vary", b"Cookie")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    for kwargs in (
        {"allow_origins": ["https://a.com"]},
        {"allow_origins": ["*"]},
        {"allow_origins": ["*"], "allow_credentials": True},
    ):
        theirs = StarletteCORSMiddleware(own_cors_app, **kwargs)
        ours = quiet(FastStarletteCORSMiddleware, own_cors_app, **kwargs, _engine=engine_module)
        for origin in (b"https://a.com", b"https://b.com"):
            answer = request(ours, "GET", [(ORIGIN, origin)])
            assert answer == request(theirs, "GET", [(ORIGIN, origin)])
            assert len(values(answer[1], ACAO)) == 1
