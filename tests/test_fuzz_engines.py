"""Hypothesis on hostile bytes: the compiled engine and the pure twin agree exactly, and never fail oddly.

`tests/test_engine_parity.py` compares the engines on random *configurations* with mostly
well-formed requests. This file holds the configurations fixed and throws hostile input at
the request side: header lists with random names and values, duplicates, huge values,
control and latin-1 bytes, and items that are not `(bytes, bytes)` at all (non-bytes
values, lists, malformed items); origins that are near misses of the configured ones with
control bytes, padding around the length cap, case flips and bypass suffixes.

Every test either compares both engines (marked `c_extension`) or checks one engine against
an independent reference and the request-time guarantees (run on both engines):

- an Origin with a control byte or over `max_origin_length` is never allowed;
- an emitted Access-Control-Allow-Origin is `*` or exactly the request's Origin bytes;
- no emitted header value carries a control byte (a mirrored request-header list may carry a tab);
- the only exceptions are TypeError / ValueError for items that are not header pairs.
"""

from __future__ import annotations

import inspect
import io
import re
import warnings
from types import ModuleType
from typing import Any, Callable, Optional

import pytest
from cases import asgi_messages
from conftest import C_ENGINE, PY_ENGINE
from hypothesis import HealthCheck, given, settings, strategies as st

import corsfast.wsgi
from corsfast import CORSConfigWarning
from corsfast._options import DEFAULT_MAX_ORIGIN_LENGTH, KUI_DEFAULT_METHODS, kui_options, native_options
from corsfast.asgi import CORSMiddleware as NativeCORSMiddleware
from corsfast.starlette import CORSMiddleware as FastStarletteCORSMiddleware

STARLETTE_PRIVATE_NETWORK = "allow_private_network" in inspect.signature(FastStarletteCORSMiddleware).parameters
"""The installed Starlette (and so the drop-in) takes `allow_private_network` (0.51 and newer)."""

FUZZ = settings(
    max_examples=300,
    deadline=None,
    # `engine` is a module: nothing to reset between examples.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MAX_ORIGIN = DEFAULT_MAX_ORIGIN_LENGTH
CONTROL = frozenset([*range(0x20), 0x7F])
ORIGIN = b"origin"
ACRM = b"access-control-request-method"
ACRH = b"access-control-request-headers"
ACRPN = b"access-control-request-private-network"
ACAO = b"access-control-allow-origin"
ACAH = b"access-control-allow-headers"
CORS_NAMES = (ORIGIN, ACRM, ACRH, ACRPN)


class BytesSubclass(bytes):
    """A header name or value that is bytes, but not exactly: both engines ignore it."""


def quiet(factory: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Build a deliberately dangerous configuration without its CORSConfigWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return factory(*args, **kwargs)


def outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Return `("ok", result)` or `("raised", exception type)` for `function(*args)`."""
    try:
        return "ok", function(*args)
    except Exception as exc:  # both engines must fail alike
        return "raised", type(exc)


# -- hostile header lists for scan_request_headers ---------------------------------------------

HOSTILE_BYTES = [
    b"\x00",
    b"\r\n",
    b"\n",
    b"\r",
    b"\t",
    b"\x0b",
    b"\x7f",
    b"\x1b[31m",
    b"\xff",
    b"\xc3\xa9",
    b"\x85",
    b"\xa0",
    b" ",
    b",",
    b"%0d%0a",
    b"\\",
    b"@",
    b"#",
    b"/",
    b"?",
    b":",
    b"*",
    b".",
    b"-",
    b"null",
]
header_names = st.one_of(
    st.sampled_from(CORS_NAMES),
    st.sampled_from(
        [
            b"Origin",
            b"ORIGIN",
            b"origin ",
            b" origin",
            b"origin\x00",
            b"origins",
            b"origi",
            b"access-control-request-method\r\n",
            b"Access-Control-Request-Headers",
            b"host",
            b"",
        ]
    ),
    st.binary(max_size=40),
)
huge_values = st.tuples(st.integers(0, 70_000), st.sampled_from([b"a", b",", b" ", b"\x00", b"\xff"])).map(
    lambda size_fill: size_fill[1] * size_fill[0]
)
header_values = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(HOSTILE_BYTES),
    st.sampled_from([b"https://example.com", b"GET", b"x-a, x-b", b"true", b""]),
    huge_values,
)
not_bytes = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["origin", "access-control-request-method"]),
    st.binary(max_size=8).map(bytearray),
    st.binary(max_size=8).map(memoryview),
    st.sampled_from([b"origin", b"https://example.com"]).map(BytesSubclass),
    st.none(),
    st.integers(),
)
pairs = st.tuples(st.one_of(header_names, header_names, not_bytes), st.one_of(header_values, header_values, not_bytes))
items = st.one_of(
    pairs,
    pairs,
    pairs,
    pairs.map(list),  # a 2-list unpacks like a 2-tuple
    st.text(min_size=2, max_size=2),  # a 2-str unpacks into two str: ignored
    st.binary(min_size=2, max_size=2),  # a 2-bytes unpacks into two ints: ignored
    st.tuples(header_names, header_values, header_values),  # malformed: ValueError
    st.tuples(header_names),  # malformed: ValueError
    st.integers(),  # malformed: TypeError
    st.none(),  # malformed: TypeError
)
header_lists = st.lists(items, max_size=12)
CONTAINERS: dict[str, Callable[[list[Any]], Any]] = {"list": list, "tuple": tuple, "iterator": iter}


def reference_scan(headers: list[Any]) -> tuple[Optional[bytes], ...]:
    """Return the first value of each CORS request header, as documented: exact bytes names and values only."""
    found: dict[bytes, bytes] = {}
    for key, value in headers:
        if type(key) is bytes and type(value) is bytes and key in CORS_NAMES:
            found.setdefault(key, value)
    return tuple(found.get(name) for name in CORS_NAMES)


@FUZZ
@given(headers=header_lists, container=st.sampled_from(list(CONTAINERS)))
def test_fuzz_scan_request_headers_against_reference(engine: ModuleType, headers: list[Any], container: str) -> None:
    expected = outcome(reference_scan, headers)
    got = outcome(engine.scan_request_headers, CONTAINERS[container](headers))
    if expected[0] == "raised":
        assert got[0] == "raised" and expected[1] in (TypeError, ValueError)
        assert got[1] is expected[1]
    else:
        assert got[0] == "ok"
        assert got[1] == expected[1]
        # The very objects of the request, not copies.
        assert all(a is b for a, b in zip(got[1], expected[1]))


@pytest.mark.c_extension
@FUZZ
@given(headers=header_lists, container=st.sampled_from(list(CONTAINERS)))
def test_fuzz_scan_and_kui_origin_compiled_equals_pure(headers: list[Any], container: str) -> None:
    c, py = C_ENGINE.module, PY_ENGINE.module
    make = CONTAINERS[container]
    got_c = outcome(c.scan_request_headers, make(headers))
    assert got_c == outcome(py.scan_request_headers, make(headers))
    if got_c[0] == "raised":
        assert got_c[1] in (TypeError, ValueError)
    else:
        assert all(a is b for a, b in zip(got_c[1], outcome(py.scan_request_headers, make(headers))[1]))
    got_c = outcome(c.kui_origin, make(headers))
    assert got_c == outcome(py.kui_origin, make(headers))
    if got_c[0] == "raised":  # a malformed item, or a repeated Origin joined with a value that is not bytes
        assert got_c[1] in (TypeError, ValueError)


@pytest.mark.c_extension
@pytest.mark.parametrize(
    "headers",
    [
        [(b"origin", None), (b"Origin", b"https://evil.example")],
        [(b"origin", None), (b"origin", None)],
    ],
    ids=["none-then-origin", "none-twice"],
)
def test_kui_origin_with_none_values_compiled_equals_pure(headers: list[Any]) -> None:
    assert outcome(C_ENGINE.module.kui_origin, headers) == outcome(PY_ENGINE.module.kui_origin, headers)


# -- hostile origins -----------------------------------------------------------------------------

BASE_ORIGINS = [
    b"https://example.com",
    b"https://api.example.com",
    b"https://123.test",
    b"null",
    b"https://xn--bcher-kva.de",
    b"http://localhost:3000",
]


@st.composite
def hostile_origins(draw: st.DrawFn) -> bytes:
    """Return a configured origin with a few hostile edits: the inputs where matchers go wrong."""
    origin = draw(st.sampled_from(BASE_ORIGINS))
    for _ in range(draw(st.integers(0, 3))):
        edit = draw(st.integers(0, 5))
        at = draw(st.integers(0, len(origin)))
        if edit == 0:  # insert hostile or random bytes
            origin = (
                origin[:at]
                + draw(st.one_of(st.sampled_from(HOSTILE_BYTES), st.binary(min_size=1, max_size=3)))
                + origin[at:]
            )
        elif edit == 1:  # drop a byte
            origin = origin[:at] + origin[at + 1 :]
        elif edit == 2:  # flip the case of one letter
            if at < len(origin) and chr(origin[at]).isalpha():
                origin = origin[:at] + bytes([origin[at] ^ 0x20]) + origin[at + 1 :]
        elif edit == 3:  # a bypass suffix
            origin += draw(
                st.sampled_from(
                    [b".evil.com", b":1", b":443", b"/", b".", b"\n", b"#x", b"?x", b"%00", b", https://example.com"]
                )
            )
        elif edit == 4:  # a bypass prefix
            origin = draw(st.sampled_from([b"evil", b"x.", b"https://evil.com#", b" ", b"evil-", b"a."])) + origin
        else:  # pad a label to land around the length cap
            total = draw(st.integers(MAX_ORIGIN - 3, MAX_ORIGIN + 3))
            at = max(at, min(len(origin), 8))
            origin = origin[:at] + b"a" * max(0, total - len(origin)) + origin[at:]
    return origin


origins = st.one_of(
    hostile_origins(),
    hostile_origins(),
    st.binary(max_size=40),
    st.sampled_from([b"", b"*", b"null", b"\x00", b"https://", b"https://.example.com", b"https://-a.example.com"]),
    st.integers(MAX_ORIGIN - 2, MAX_ORIGIN + 2).map(lambda n: (b"https://" + b"1" * n)[: n - 5] + b".test"),
)

NATIVE_RULES = ["https://example.com", "https://*.example.com", re.compile(r"https://[0-9]+\.test"), re.compile("null")]
_LABEL = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")


def native_reference(origin: bytes) -> bool:
    """Return the verdict of NATIVE_RULES for `origin`, written independently of the engines."""
    if not origin or len(origin) > MAX_ORIGIN or CONTROL.intersection(origin):
        return False
    if origin in (b"https://example.com", b"null"):
        return True
    if origin.startswith(b"https://") and origin.endswith(b".example.com"):
        label = origin[8:-12]
        if 0 < len(label) <= 63 and _LABEL.issuperset(label) and label[:1] != b"-" and label[-1:] != b"-":
            return True
    return origin.startswith(b"https://") and origin.endswith(b".test") and origin[8:-5].isdigit()


def policies(engine: ModuleType) -> dict[str, Any]:
    """Return one policy per dialect and hostile-input-relevant configuration, on `engine`."""

    def native(rules: Any, credentials: bool = True, cache_size: int = 4) -> Any:
        options = quiet(
            native_options,
            rules,
            ["GET", "POST"],
            ["X-A"],
            ["X-E"],
            credentials,
            600,
            True,
            cache_size,
            MAX_ORIGIN,
            False,
        )
        return engine.CORSPolicy(options)

    return {
        "native": native(NATIVE_RULES),
        "native-uncached": native(NATIVE_RULES, cache_size=0),
        "native-star-credentials": native(["*"]),
        "native-star": native(["*"], credentials=False),
        "native-any-pattern": native([re.compile("(?s).*")]),
        "native-ignorecase": native([re.compile(r"https://EXAMPLE\.com", re.I)]),
        "starlette": quiet(
            FastStarletteCORSMiddleware,
            None,
            allow_origins=["https://example.com"],
            allow_origin_regex=r"https://.*\.example\.com",
            allow_credentials=True,
            allow_headers=["X-A"],
            _engine=engine,
        ).policy,
        "starlette-star": FastStarletteCORSMiddleware(
            None, allow_origins=["*"], allow_headers=["*"], _engine=engine
        ).policy,
        "kui": engine.CORSPolicy(
            quiet(kui_options, [re.compile("https://.*")], KUI_DEFAULT_METHODS, ["X-A"], (), True, 600)
        ),
    }


def header_values_ok(headers: Any, origin: bytes) -> None:
    """Assert the request-time guarantees on an emitted header list."""
    acao = [value for key, value in headers if key == ACAO]
    assert acao in ([], [b"*"], [origin]), (origin, acao)
    for key, value in headers:
        allowed_control = {0x09} if key == ACAH else set()
        assert not (CONTROL - allowed_control).intersection(value), (key, value)


def entry_tuple(entry: Any) -> tuple[Any, ...]:
    return (entry.allowed, entry.block, entry.ops, entry.preflight_head)


@FUZZ
@given(origin=origins)
def test_fuzz_hostile_origins_follow_the_reference_and_the_guarantees(engine: ModuleType, origin: bytes) -> None:
    answers = policies(engine)
    assert answers["native"].is_allowed_origin(origin) is native_reference(origin), origin
    assert answers["native-uncached"].is_allowed_origin(origin) is native_reference(origin), origin
    never = len(origin) > MAX_ORIGIN or bool(CONTROL.intersection(origin))
    for name, policy in answers.items():
        entry = policy.lookup(origin)
        if never:
            assert not entry.allowed, name
        if name in ("native-star-credentials", "native-any-pattern"):
            assert entry.allowed is (not never and origin != b""), name
        assert entry_tuple(policy.lookup(origin)) == entry_tuple(entry), name  # cached: the same answer
        header_values_ok(entry.block, origin)
        header_values_ok(policy.response_headers(origin, [(b"content-type", b"text/plain")]), origin)
        answer = policy.preflight_response(origin, b"GET", b"x-a", b"true")
        if answer is not None:
            header_values_ok(answer[1], origin)
            assert answer[0] in (200, 400)


@pytest.mark.c_extension
@FUZZ
@given(sequence=st.lists(origins, min_size=1, max_size=8))
def test_fuzz_hostile_origins_compiled_equals_pure(sequence: list[bytes]) -> None:
    c, py = policies(C_ENGINE.module), policies(PY_ENGINE.module)
    for name in c:
        for origin in sequence + sequence[::-1]:  # the second half answers from the cache
            assert entry_tuple(c[name].lookup(origin)) == entry_tuple(py[name].lookup(origin)), (name, origin)
            assert c[name].is_allowed_origin(origin) is py[name].is_allowed_origin(origin)
            assert c[name].response_headers(origin, []) == py[name].response_headers(origin, [])
            for method, names, pna in (
                (b"GET", None, None),
                (b"PUT", b"x-a, x-b", b"true"),
                (b"get\r\n", b"\x00", b""),
            ):
                arguments = (origin, method, names, pna)
                assert outcome(c[name].preflight_response, *arguments) == outcome(
                    py[name].preflight_response, *arguments
                ), (name, arguments)
        assert c[name].cache_info() == py[name].cache_info(), name


# -- preflights with hostile headers through both ASGI shims and the WSGI middleware -------------

acrm_values = st.one_of(
    st.sampled_from([b"GET", b"POST", b"PUT", b"get", b"", b"GET\r\n", b"G\x00ET", b"\xe9", b"GET POST"]),
    st.binary(max_size=12),
)
acrh_values = st.one_of(
    st.lists(
        st.sampled_from(
            [
                b"x-a",
                b"X-A",
                b"content-type",
                b"x-b",
                b"",
                b" ",
                b"\t",
                b"x-a\x00",
                b"x\r\nb",
                b"\xa0x-a",
                b"x-a\x85",
                b"\x1b",
            ]
        ),
        max_size=6,
    ).map(b",".join),
    st.binary(max_size=24),
    huge_values,
)


@st.composite
def preflight_headers(draw: st.DrawFn) -> list[tuple[bytes, bytes]]:
    headers = [(ORIGIN, draw(origins))]
    headers.append((ACRM, draw(acrm_values)))
    if draw(st.booleans()):
        headers.append((ACRH, draw(acrh_values)))
    if draw(st.booleans()):
        headers.append((ACRPN, draw(st.sampled_from([b"true", b"false", b"", b"TRUE", b"true\x00"]))))
    headers = draw(st.permutations(headers))
    for _ in range(draw(st.integers(0, 2))):  # later duplicates never count
        headers.append((draw(st.sampled_from(CORS_NAMES)), draw(header_values)))
    return [(b"host", b"api.test"), *headers]


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"app"})


def wsgi_answer(middleware: Any, method: str, headers: list[tuple[bytes, bytes]]) -> tuple[Any, ...]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": "/",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    for name, value in headers:  # a WSGI server keeps one value per name: the first, like the ASGI scan
        environ.setdefault("HTTP_" + name.decode("latin-1").upper().replace("-", "_"), value.decode("latin-1"))
    answers: list[Any] = []
    body = b"".join(middleware(environ, lambda status, headers, exc_info=None: answers.append((status, headers))))
    return (*answers, body)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app"]


def shims(engine: ModuleType) -> dict[str, Any]:
    return {
        "native": quiet(
            NativeCORSMiddleware,
            app,
            allow_origins=NATIVE_RULES,
            allow_headers=["X-A"],
            allow_credentials=True,
            allow_private_network=True,
            cache_size=4,
            _engine=engine,
        ),
        "native-star": quiet(
            NativeCORSMiddleware,
            app,
            allow_origins=[re.compile("(?s).*")],
            allow_methods=["*"],
            allow_headers=["*"],
            allow_credentials=True,
            _engine=engine,
        ),
        "starlette": quiet(
            FastStarletteCORSMiddleware,
            app,
            allow_origins=["https://example.com"],
            allow_origin_regex=r"https://.*\.example\.com",
            allow_credentials=True,
            allow_headers=["X-A"],
            allow_methods=["GET", "POST"],
            _engine=engine,
        ),
        "starlette-star": FastStarletteCORSMiddleware(
            app,
            allow_origins=["*"],
            allow_headers=["*"],
            allow_methods=["*"],
            # Starlette before 0.51 has no such option (the drop-in then refuses it too).
            **({"allow_private_network": True} if STARLETTE_PRIVATE_NETWORK else {}),
            _engine=engine,
        ),
        "wsgi": quiet(
            corsfast.wsgi.CORSMiddleware,
            wsgi_app,
            allow_origins=NATIVE_RULES,
            allow_headers=["X-A"],
            allow_credentials=True,
            cache_size=4,
            _engine=engine,
        ),
    }


@pytest.mark.c_extension
@FUZZ
@given(headers=preflight_headers(), method=st.sampled_from(["OPTIONS", "OPTIONS", "OPTIONS", "GET", "options"]))
def test_fuzz_preflights_through_the_shims_compiled_equals_pure(
    headers: list[tuple[bytes, bytes]], method: str
) -> None:
    c, py = shims(C_ENGINE.module), shims(PY_ENGINE.module)
    origin = next(value for key, value in headers if key == ORIGIN)
    for name in c:
        if name == "wsgi":
            answer = wsgi_answer(c[name], method, headers)
            assert answer == wsgi_answer(py[name], method, headers), (name, headers)
            continue
        messages = asgi_messages(c[name], method, headers)
        assert messages == asgi_messages(py[name], method, headers), (name, headers)
        start, *_ = messages
        header_values_ok(start["headers"], origin)
        if len(origin) > MAX_ORIGIN or CONTROL.intersection(origin):
            assert [value for key, value in start["headers"] if key == ACAO] in ([], [b"*"]), name


# -- non-bytes arguments to the policy API --------------------------------------------------------


@pytest.mark.c_extension
@pytest.mark.parametrize(
    "origin",
    [
        pytest.param("https://example.com", id="str"),
        pytest.param(bytearray(b"https://example.com"), id="bytearray"),
        pytest.param(None, id="None"),
        pytest.param("x" * (MAX_ORIGIN + 1), id="long-str"),
        pytest.param(bytearray(MAX_ORIGIN + 1), id="long-bytearray"),
        pytest.param(memoryview(bytes(MAX_ORIGIN + 1)), id="long-memoryview"),
        pytest.param(
            BytesSubclass(b"https://example.com"),
            id="bytes-subclass",
        ),
    ],
)
def test_non_bytes_origin_raises_type_error_on_both_engines(origin: Any) -> None:
    for implementation in (C_ENGINE, PY_ENGINE):
        policy = policies(implementation.module)["native"]
        for call in (policy.lookup, policy.is_allowed_origin):
            with pytest.raises(TypeError):
                call(origin)


@pytest.mark.c_extension
@pytest.mark.parametrize(
    ("dialect", "names"),
    [
        pytest.param("native-star", "x-a", id="native-str"),
        pytest.param("starlette-star", "x-a", id="starlette-str"),
        pytest.param(
            "native-star",
            bytearray(b"x-a"),
            id="native-bytearray",
        ),
        pytest.param(
            "starlette-star",
            bytearray(b"x-a"),
            id="starlette-bytearray",
        ),
    ],
)
def test_non_bytes_request_headers_raise_type_error_on_both_engines(dialect: str, names: Any) -> None:
    for implementation in (C_ENGINE, PY_ENGINE):
        middleware = NativeCORSMiddleware if dialect == "native-star" else FastStarletteCORSMiddleware
        policy = middleware(
            None, allow_origins=["https://example.com"], allow_headers=["*"], _engine=implementation.module
        ).policy
        with pytest.raises(TypeError):
            policy.preflight_response(b"https://example.com", b"GET", names, None)
