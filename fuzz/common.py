"""What every harness shares: the input language, both engines, the differential check and the invariants.

A harness reads its fuzz input through `Input`, a small structured language that libFuzzer's
mutations move through meaningfully (lengths, choices from pools of interesting values,
repeated units that reach the length limits from a few bytes); `Writer` encodes the same
language, so seeds are written from the test cases exactly. Each harness then runs the
compiled engine and the pure twin on the same decoded input and calls `compare`, which
raises `Difference` on any mismatch in answers or in exception types, and `check_emitted`
and friends, which raise `Violation` when an answer breaks SECURITY.md's guarantees.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any, ClassVar, Optional, TypeVar

import corsfast._engine_c as C
import corsfast._engine_py as PY
from corsfast import CORSConfigWarning

T = TypeVar("T")

ENGINES: tuple[tuple[str, ModuleType], ...] = (("compiled", C), ("pure", PY))

MAX_BLOB = 1 << 18
"""Longest value one `Input.blob` makes (a repeat reaches it from a few bytes): 256 KiB."""


class Difference(AssertionError):
    """The compiled engine and the pure twin answered the same input differently."""


class Violation(AssertionError):
    """An answer broke one of SECURITY.md's request-time guarantees."""


# -- the input language -------------------------------------------------------------------

LONG, REPEAT, TOKEN, CONCAT = 0xF0, 0xF1, 0xF2, 0xF3
"""`blob` kinds above the short-literal lengths (0x00-0xEF)."""

TOKENS: tuple[bytes, ...] = (
    b"https://example.com",
    b"http://example.com",
    b"https://api.example.com",
    b"https://a.b.example.com",
    b"null",
    b"http://localhost:3000",
    b"https://xn--bcher-kva.de",
    b"https://caf\xe9.com",
    b"https://example.com.evil.com",
    b"origin",
    b"Origin",
    b"access-control-request-method",
    b"access-control-request-headers",
    b"access-control-request-private-network",
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
    b"vary",
    b"Vary",
    b"GET",
    b"POST",
    b"PUT",
    b"OPTIONS",
    b"get",
    b"x-a",
    b"X-B",
    b"content-type",
    b"authorization",
    b"true",
    b"false",
    b"*",
    b"",
    b" ",
    b"\t",
    b",",
    b", ",
    b"\r\n",
    b"\n",
    b"\r",
    b"\x00",
    b"\x7f",
    b"\x1b[31m",
    b"\x85",
    b"\xa0",
    b"\xff",
    b"\xc3\xa9",
    b":443",
    b"/",
    b".evil.com",
    b"Accept-Encoding",
    b"Origin, Accept",
)


class Input:
    """Read a fuzz input as a sequence of choices; an exhausted input reads as zeros."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def byte(self) -> int:
        if self._pos >= len(self._data):
            return 0
        value = self._data[self._pos]
        self._pos += 1
        return value

    def take(self, n: int) -> bytes:
        chunk = self._data[self._pos : self._pos + n]
        self._pos += len(chunk)
        return chunk

    def below(self, n: int) -> int:
        """Return a number in range(n) (n <= 65536)."""
        if n <= 1:
            return 0
        value = self.byte()
        if n > 256:
            value = value << 8 | self.byte()
        return value % n

    def flag(self) -> bool:
        return bool(self.byte() & 1)

    def pick(self, options: Sequence[T]) -> T:
        return options[self.below(len(options))]

    def size(self) -> int:
        """Return an unsigned LEB128 number of at most three bytes (below 2**21)."""
        value = 0
        for shift in (0, 7, 14):
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
        return value

    def blob(self, depth: int = 0) -> bytes:
        kind = self.byte()
        if kind < LONG:
            return self.take(kind)
        if kind == LONG:
            return self.take(self.size())
        if depth >= 3:
            return b""
        if kind == REPEAT:
            unit = self.blob(depth + 1)
            times = self.size()
            return unit * min(times, MAX_BLOB // max(1, len(unit)))
        if kind == CONCAT:
            return self.blob(depth + 1) + self.blob(depth + 1)
        return TOKENS[self.below(len(TOKENS))]

    def text(self) -> str:
        """Return a str as a server decodes header bytes (latin-1), or now and then one no header holds."""
        raw = self.blob()
        if raw[:1] == b"\xfe":
            return raw[1:].decode("utf-8", "replace") + "\u20ac"  # not latin-1
        return raw.decode("latin-1")


class Writer:
    """Encode values in the language `Input` reads (for seeds)."""

    def __init__(self) -> None:
        self._out = bytearray()

    def byte(self, value: int) -> Writer:
        self._out.append(value & 0xFF)
        return self

    def below(self, n: int, value: int) -> Writer:
        if n > 256:
            self._out += bytes((value >> 8 & 0xFF, value & 0xFF))
        elif n > 1:
            self._out.append(value)
        return self

    def flag(self, value: bool) -> Writer:
        return self.byte(int(value))

    def pick(self, options: Sequence[Any], value: Any) -> Writer:
        return self.below(len(options), _index(options, value))

    def size(self, value: int) -> Writer:
        assert 0 <= value < 1 << 21
        for _ in range(3):
            byte = value & 0x7F
            value >>= 7
            self._out.append(byte | (0x80 if value else 0))
            if not value:
                break
        return self

    def blob(self, value: bytes) -> Writer:
        if value in TOKENS:
            return self.byte(TOKEN).below(len(TOKENS), TOKENS.index(value))
        if len(value) < LONG:
            self._out.append(len(value))
        else:
            self._out.append(LONG)
            self.size(len(value))
        self._out += value
        return self

    def repeat(self, unit: bytes, times: int) -> Writer:
        return self.byte(REPEAT).blob(unit).size(times)

    def text(self, value: str) -> Writer:
        return self.blob(value.encode("latin-1"))

    def data(self) -> bytes:
        return bytes(self._out)


def _index(options: Sequence[Any], value: Any) -> int:
    for index, option in enumerate(options):
        if option is value or (type(option) is type(value) and option == value):
            return index
    raise ValueError(f"{value!r} is not one of the options")


# -- comparing the engines ----------------------------------------------------------------


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """Return `("ok", result)` or `("raised", exception type)` for one call."""
    try:
        return "ok", function(*args, **kwargs)
    except Exception as exc:  # the engines must fail alike: compared by type
        return "raised", type(exc)


def normal(value: Any) -> Any:
    """Return `value` in a form where equal means the same type and value all the way down.

    The engines' own classes (OriginEntry, CacheInfo) are compared by their fields.
    """
    kind = type(value)
    if kind in (bytes, str, int, bool, float, type(None)):
        return (kind.__name__, value)
    if kind in (tuple, list):
        return (kind.__name__, [normal(item) for item in value])
    if kind is dict:
        return ("dict", [(normal(k), normal(v)) for k, v in value.items()])
    if kind.__name__ == "OriginEntry":
        return ("OriginEntry", value.allowed, normal(value.ops), normal(value.block), normal(value.preflight_head))
    if kind.__name__ == "CacheInfo":
        return ("CacheInfo", tuple(value))
    if isinstance(value, type):
        return ("type", value.__module__, value.__qualname__)
    name = kind.__module__ + "." + kind.__qualname__
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (name, bytes(value))
    if isinstance(value, str):
        return (name, str(value))
    if isinstance(value, (tuple, list)):
        return (name, [normal(item) for item in value])
    if isinstance(value, Mapping):
        return (name, [(normal(k), normal(v)) for k, v in value.items()])
    return (name,)  # an object with no value to compare (a generator, a function): its type only


def short(value: Any, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit // 2] + " ... " + text[-limit // 2 :]


def compare(what: str, compiled: Any, pure: Any) -> None:
    """Raise Difference unless both engines' answers (outcomes) are the same."""
    if normal(compiled) != normal(pure):
        raise Difference(f"{what}:\n  compiled: {short(compiled)}\n  pure:     {short(pure)}")


def both(what: str, call: Callable[[ModuleType], Any]) -> tuple[str, Any]:
    """Return the compiled engine's outcome of `call(engine)` after checking the pure twin's is the same."""
    compiled = outcome(call, C)
    compare(what, compiled, outcome(call, PY))
    return compiled


def quiet(factory: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Build a deliberately odd configuration without its CORSConfigWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        return factory(*args, **kwargs)


# -- invariants (SECURITY.md) -------------------------------------------------------------

FORBIDDEN = frozenset(b"\r\n\x00")
CONTROL = frozenset([*range(0x20), 0x7F])
ACAO = b"access-control-allow-origin"
ACAH = b"access-control-allow-headers"


def check_value(name: Any, value: Any, where: str) -> None:
    """Raise Violation when an engine-made header value holds CR, LF, NUL or another control byte."""
    if type(value) is not bytes:
        raise Violation(f"{where}: {name!r} has a {type(value).__name__} value {short(value)}")
    allowed_tab = name == ACAH  # a mirrored header list may keep a tab (OWS)
    bad = (CONTROL - {0x09}) if allowed_tab else CONTROL
    if bad.intersection(value):
        raise Violation(f"{where}: {name!r} value {short(value)} holds a control byte")


def check_emitted(headers: Iterable[Any], origin: Optional[bytes], where: str, app_headers: Sequence[Any] = ()) -> None:
    """Raise Violation unless `headers` (an answer's list) keep SECURITY.md's promises.

    Every header the engine added or changed is clean; Access-Control-Allow-Origin is `*` or
    exactly the request's Origin (unless the app set it itself); no header the app set is lost
    except the CORS ones the engine replaces.
    """
    app = list(app_headers)
    app_clean = all(type(k) is bytes and type(v) is bytes and not FORBIDDEN.intersection(v) for k, v in _pairs(app))
    app_acao = any(k == ACAO for k, _ in _pairs(app))
    acao = []
    headers = list(headers)
    for item in headers:
        if type(item) is not tuple or any(item is a for a in app) or item in app:
            continue  # the engine makes only tuples: anything else is the app's own item
        name, value = item
        if app_clean:
            if type(value) is bytes and FORBIDDEN.intersection(value):
                raise Violation(f"{where}: {name!r} value {short(value)} holds CR, LF or NUL")
            if name != b"vary":  # a merged Vary keeps the app's own bytes
                check_value(name, value, where)
        if name == ACAO:
            acao.append(value)
    if not app_acao:
        all_acao = [v for k, v in _pairs(headers) if k == ACAO]
        if len(all_acao) > 1 or (all_acao and all_acao[0] != b"*" and all_acao[0] != origin):
            raise Violation(f"{where}: Access-Control-Allow-Origin {short(all_acao)} for Origin {short(origin)}")
    elif len(acao) > 1:
        raise Violation(f"{where}: two Access-Control-Allow-Origin values added: {short(acao)}")


def _pairs(items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    for item in items:
        try:
            key, value = item
        except (TypeError, ValueError):
            continue
        yield key, value


def has_control(value: bytes) -> bool:
    return bool(CONTROL.intersection(value))


# -- configurations -----------------------------------------------------------------------

ORIGIN_STRS = (
    "https://example.com",
    "http://example.com",
    "https://api.example.com",
    "null",
    "http://localhost:3000",
    "https://xn--bcher-kva.de",
    "https://caf\xe9.com",
    "https://EXAMPLE.com",
    "https://example.com/",
    "https://\u4f8b.jp",
    "",
    "*",
)
WILDCARDS = ("https://*.example.com", "http://*.example.com:8080", "https://*.com", "https://*.a-b.example.org")
PATTERNS = (
    re.compile(r"https://example\.com"),
    re.compile(r"https://[a-z0-9-]+\.example\.com"),
    re.compile(r"https://EXAMPLE\.com", re.I),
    re.compile(r"(?i)https://api\.example\.com"),
    re.compile(r".*"),
    re.compile(r"(?s).*"),
    re.compile(r"https://.*"),
    re.compile(r"null"),
    re.compile(r"https?://(www\.)?example\.(com|org)(:\d+)?"),
    re.compile("https://caf\xe9\\.com"),
    re.compile(r"https://example\.com$"),
    re.compile(r"\w+://[^/]*"),
)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "QUERY", "X-CUSTOM", "get", "*")
HEADER_NAMES = ("X-A", "x-b", "Content-Type", "authorization", "X-Request-Id", "accept", "*")
EXPOSE = ("X-E", "X-Request-Id", "x-e", "*")
MAX_AGES = (0, 1, 600, 86400, 86401, 10**9)
CACHE_SIZES = (0, 1, 2, 3, 4096)
MAX_ORIGIN_LENGTHS = (2048, 2049, 4096)
DIALECTS = ("native", "starlette", "kui")


PATTERN_TEXT = 2048
"""Longest fuzzed text in a pattern: compiling and linting a 256 KiB pattern under
instrumentation takes longer than the hang timeout, and says nothing about requests."""


def origin_rule(inp: Input, dialect: str) -> Any:
    """Return one allow_origins item for `dialect`: pooled or fuzzed exact origins, wildcards, patterns."""
    kind = inp.below(6)
    if dialect == "kui" or kind == 3:
        if dialect == "kui" and kind < 3:
            return inp.pick(PATTERNS)
        if kind == 4:  # a literal pattern made of fuzzed text (never backtracks)
            return re.compile(("(?i)" if inp.flag() else "") + re.escape(inp.text()[:PATTERN_TEXT]))
        if kind == 5:  # one label between fuzzed literals
            head, tail = inp.text()[:PATTERN_TEXT], inp.text()[:PATTERN_TEXT]
            return re.compile(re.escape(head) + "[a-z0-9-]+" + re.escape(tail))
        return inp.pick(PATTERNS)
    if kind == 0:
        return inp.pick(ORIGIN_STRS)
    if kind == 1:
        return inp.text()
    if kind == 2 and dialect == "native":
        return inp.pick(WILDCARDS) if inp.flag() else "https://*." + inp.text()
    if kind == 4 and dialect == "native":
        return re.compile(("(?i)" if inp.flag() else "") + re.escape(inp.text()[:PATTERN_TEXT]))
    return inp.pick(ORIGIN_STRS)


def token_list(inp: Input, pool: Sequence[str], limit: int = 4) -> list[str]:
    items = []
    for _ in range(inp.below(limit + 1)):
        items.append(inp.text() if inp.below(8) == 0 else inp.pick(pool))
    return items


def options(inp: Input, dialect: str) -> dict[str, Any]:
    """Return the keyword arguments of `dialect`'s constructor (corsfast.CORSMiddleware's, Starlette's or Kui's)."""
    rules = [origin_rule(inp, dialect) for _ in range(inp.below(5))]
    kwargs: dict[str, Any] = {
        "allow_methods": token_list(inp, METHODS),
        "allow_headers": token_list(inp, HEADER_NAMES),
        "expose_headers": token_list(inp, EXPOSE, 2),
        "allow_credentials": inp.flag(),
        "max_age": inp.pick(MAX_AGES),
    }
    if dialect == "native":
        kwargs["allow_origins"] = rules
        kwargs["allow_private_network"] = inp.flag()
        kwargs["cache_size"] = inp.pick(CACHE_SIZES)
        kwargs["max_origin_length"] = inp.pick(MAX_ORIGIN_LENGTHS)
    elif dialect == "starlette":
        kwargs["allow_origins"] = [r for r in rules if isinstance(r, str)]
        regex = inp.below(4)
        if regex == 1:
            kwargs["allow_origin_regex"] = inp.pick(PATTERNS).pattern
        elif regex == 2:
            kwargs["allow_origin_regex"] = inp.pick(PATTERNS)
        elif regex == 3:
            kwargs["allow_origin_regex"] = re.escape(inp.text()[:PATTERN_TEXT])
        kwargs["allow_private_network"] = inp.flag()
    else:
        kwargs["allow_origins"] = [r for r in rules if isinstance(r, re.Pattern)]
    return kwargs


def write_options(w: Writer, dialect: str, kwargs: dict[str, Any]) -> None:
    """Encode `kwargs` (pooled values only, and text) as `options` reads them (for seeds)."""
    rules = list(kwargs.get("allow_origins", ("*",) if dialect == "native" else ()))
    regex = kwargs.get("allow_origin_regex")
    w.below(5, len(rules))
    for rule in rules:
        if isinstance(rule, re.Pattern):
            if rule in PATTERNS:
                w.below(6, 3).pick(PATTERNS, rule) if dialect != "kui" else w.below(6, 0).pick(PATTERNS, rule)
            else:
                w.below(6, 4).flag(bool(rule.flags & re.I)).text(rule.pattern.removeprefix("(?i)").replace("\\", ""))
        elif rule in ORIGIN_STRS:
            w.below(6, 0).pick(ORIGIN_STRS, rule)
        elif "*" in rule and dialect == "native":
            if rule in WILDCARDS:
                w.below(6, 2).flag(True).pick(WILDCARDS, rule)
            else:
                w.below(6, 2).flag(False).text(rule.removeprefix("https://*."))
        else:
            w.below(6, 1).text(rule)
    for name, pool, limit in (
        ("allow_methods", METHODS, 4),
        ("allow_headers", HEADER_NAMES, 4),
        ("expose_headers", EXPOSE, 2),
    ):
        items = list(kwargs.get(name, ()))[:limit]
        w.below(limit + 1, len(items))
        for item in items:
            if item in pool:
                w.below(8, 1).pick(pool, item)
            else:
                w.below(8, 0).text(item)
    w.flag(kwargs.get("allow_credentials", False))
    age = kwargs.get("max_age", 600)
    w.pick(MAX_AGES, age if age in MAX_AGES else 600)
    if dialect == "native":
        w.flag(kwargs.get("allow_private_network", False))
        w.pick(CACHE_SIZES, kwargs.get("cache_size", 4096))
        w.pick(MAX_ORIGIN_LENGTHS, kwargs.get("max_origin_length", 2048))
    elif dialect == "starlette":
        if regex is None:
            w.below(4, 0)
        elif isinstance(regex, re.Pattern):
            w.below(4, 2).pick(PATTERNS, regex)
        else:
            w.below(4, 1).pick([p.pattern for p in PATTERNS], regex)
        w.flag(kwargs.get("allow_private_network", False))


def policy(engine: ModuleType, dialect: str, kwargs: dict[str, Any]) -> Any:
    """Return the engine policy for a dialect's constructor arguments (warnings silenced)."""
    from corsfast._options import kui_options, native_options, starlette_options

    def build() -> Any:
        if dialect == "native":
            return native_options(
                kwargs["allow_origins"],
                kwargs["allow_methods"],
                kwargs["allow_headers"],
                kwargs["expose_headers"],
                kwargs["allow_credentials"],
                kwargs["max_age"],
                kwargs["allow_private_network"],
                kwargs["cache_size"],
                kwargs["max_origin_length"],
                False,
            )
        if dialect == "starlette":
            return starlette_options(
                kwargs["allow_origins"],
                kwargs["allow_methods"],
                kwargs["allow_headers"],
                kwargs["allow_credentials"],
                kwargs.get("allow_origin_regex"),
                kwargs["allow_private_network"],
                kwargs["expose_headers"],
                kwargs["max_age"],
            )
        return kui_options(
            kwargs["allow_origins"],
            kwargs["allow_methods"],
            kwargs["allow_headers"],
            kwargs["expose_headers"],
            kwargs["allow_credentials"],
            kwargs["max_age"],
        )

    return engine.CORSPolicy(quiet(build))


class Built:
    """Objects built from options, kept across inputs (construction is the `options` harness's
    subject; rebuilding per input would spend most of the time there). Whoever takes one from
    here resets its caches, so every input starts from the same state and reproduces alone."""

    LIMIT = 512
    _store: ClassVar[dict[str, tuple[tuple[str, Any], tuple[str, Any]]]] = {}

    @classmethod
    def forget(cls, key: str) -> None:
        cls._store.pop(key, None)

    @classmethod
    def get(
        cls, key: str, build: Callable[[ModuleType], Any], refusals: tuple[type[BaseException], ...] = ()
    ) -> Optional[tuple[Any, Any]]:
        """Return (compiled, pure) objects from `build(engine)`, or None when both refuse alike
        (TypeError, ValueError, re.error, or one of `refusals`)."""
        found = cls._store.get(key)
        if found is None:
            found = (outcome(build, C), outcome(build, PY))
            if len(cls._store) >= cls.LIMIT:
                cls._store.clear()
            cls._store[key] = found
        compiled, pure = found
        compare("construction", compiled[0] == "ok" or compiled[1], pure[0] == "ok" or pure[1])
        if compiled[0] == "raised":
            if compiled[1] not in (TypeError, ValueError, re.error, *refusals):
                raise Violation(f"construction raised {compiled[1].__name__} for {key}")
            return None
        return compiled[1], pure[1]


def options_key(*parts: Any) -> str:
    """Return a key that tells options apart (patterns by pattern and flags)."""
    return repr(parts)


def policies(dialect: str, kwargs: dict[str, Any]) -> Optional[tuple[Any, Any]]:
    """Return (compiled, pure) policies for the same options, caches empty, or None when the options are refused.

    Refusals come from the shared option checks, so both engines refuse alike; that is
    checked all the same.
    """
    built = Built.get(options_key("policy", dialect, kwargs), lambda engine: policy(engine, dialect, kwargs))
    if built is not None:
        for each in built:
            each.cache_clear()
    return built


def fuzzed_policies(inp: Input) -> Optional[tuple[Any, Any]]:
    """Return `policies` for a dialect and options read from `inp` (None when refused)."""
    dialect = inp.pick(DIALECTS)
    return policies(dialect, options(inp, dialect))


# -- a reference verdict, written apart from both engines ----------------------------------

LABEL = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-")


def reference_allowed(options: Any, origin: bytes) -> bool:
    """Return whether `options` allow the raw Origin bytes, from the documented rules alone."""
    if len(origin) > options.max_origin_length or has_control(origin):
        return False
    if not origin and options.dialect != "starlette":
        return False
    if options.allow_all_origins or origin in options.exact_origins:
        return True
    for prefix, suffix in options.wildcard_origins:
        if origin.startswith(prefix) and origin.endswith(suffix) and len(origin) >= len(prefix) + len(suffix):
            label = origin[len(prefix) : len(origin) - len(suffix)]
            if 0 < len(label) <= 63 and LABEL.issuperset(label) and label[:1] != b"-" and label[-1:] != b"-":
                return True
    text = origin.decode("latin-1")
    return any(pattern.fullmatch(text) for pattern in options.origin_patterns)


# -- header lists ---------------------------------------------------------------------------


class BytesSubclass(bytes):
    """Bytes, but not exactly: both engines must treat it alike (the scan ignores it)."""


class StrSubclass(str):
    """A str, but not exactly."""


REQUEST_NAMES = (
    b"origin",
    b"access-control-request-method",
    b"access-control-request-headers",
    b"access-control-request-private-network",
    b"host",
    b"accept",
    b"Origin",
    b"ORIGIN",
)
RESPONSE_NAMES = (
    b"vary",
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
    b"content-type",
    b"content-length",
    b"Vary",
    b"access-control-allow-methods",
    b"x-app",
)

ITEM_KINDS = 19
"""How `header_item` reads an item: 0-7 a (bytes, bytes) tuple, the rest odd shapes and types."""


def header_item(inp: Input, names: Sequence[bytes]) -> Callable[[], Any]:
    """Return a maker of one header-list item (called once per engine: fresh objects each time)."""
    kind = inp.below(ITEM_KINDS)
    name = inp.pick(names) if inp.below(4) else inp.blob()
    value = inp.blob()
    if kind < 8:
        return lambda: (name, value)
    if kind == 8:
        return lambda: [name, value]
    if kind == 9:
        return lambda: (BytesSubclass(name), value)
    if kind == 10:
        return lambda: (name, BytesSubclass(value))
    if kind == 11:
        text = name.decode("latin-1")
        return (lambda: (text, value)) if len(value) % 2 else (lambda: (text, value.decode("latin-1")))
    if kind == 12:
        return (lambda: (name, bytearray(value))) if len(value) % 2 else (lambda: (name, memoryview(value)))
    if kind == 13:
        return lambda: (name, None)
    if kind == 14:
        return lambda: (name, value, value)
    if kind == 15:
        return lambda: (name,)
    if kind == 16:
        # An item that makes new objects as it is unpacked: nothing else holds them.
        return lambda: (bytes(bytearray(part)) for part in (name, value))
    if kind == 18:
        return lambda: Mutator(name, value)
    shapes: tuple[Any, ...] = (None, 7, value[:2].ljust(2, b"x"), "ab", {name: 1, name + b"_": 2})
    shape = shapes[len(value) % len(shapes)]
    return lambda: shape


class Mutator:
    """An item that empties the list holding it as soon as it is read: the engines must
    neither read past the list's new end nor answer from a list that changed under them."""

    def __init__(self, name: bytes, value: bytes) -> None:
        self.pair = (name, value)
        self.holder: Optional[list[Any]] = None

    def _empty_holder(self) -> None:
        if self.holder is not None:
            self.holder.clear()
            self.holder = None

    def __iter__(self) -> Iterator[bytes]:
        self._empty_holder()
        return iter(self.pair)

    def __getitem__(self, index: int) -> bytes:
        self._empty_holder()
        return self.pair[index]

    def __len__(self) -> int:
        return 2


CONTAINERS = ("list", "tuple", "iterator", "generator")


def container(kind: str, makers: Sequence[Callable[[], Any]]) -> Any:
    """Return a fresh header container of `kind` with fresh items."""
    items = [make() for make in makers]
    for item in items:
        if type(item) is Mutator:
            item.holder = items
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    if kind == "iterator":
        return iter(items)
    return (item for item in items)


def header_list(inp: Input, names: Sequence[bytes], limit: int = 12) -> list[Callable[[], Any]]:
    return [header_item(inp, names) for _ in range(inp.below(limit + 1))]


def write_header_list(w: Writer, limit: int, headers: Sequence[tuple[bytes, bytes]], names: Sequence[bytes]) -> None:
    """Encode plain (bytes, bytes) tuples as `header_list` reads them."""
    headers = list(headers)[:limit]
    w.below(limit + 1, len(headers))
    for name, value in headers:
        w.below(ITEM_KINDS, 0)
        if name in names:
            w.below(4, 1).pick(names, name)
        else:
            w.below(4, 0).blob(name)
        w.blob(value)


def plain(items: Iterable[Any]) -> Optional[list[tuple[bytes, bytes]]]:
    """Return the items as exact (bytes, bytes) pairs, or None when any item is not one."""
    out = []
    for item in items:
        if type(item) is not tuple or len(item) != 2 or type(item[0]) is not bytes or type(item[1]) is not bytes:
            return None
        out.append(item)
    return out
