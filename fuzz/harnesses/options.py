"""Policy construction from fuzzed options, through every public constructor, on both engines.

Arguments of any type and shape (str, bytes, lists, tuples, sets, generators, dicts, None,
ints of every size, floats, compiled patterns, bytes patterns, regex strings built from a
small grammar with huge repeat counts and nested repeats) go to the native, Starlette and
WSGI middlewares and to Kui's `allow_cors`/`cors_middleware`. Both engines must accept or
refuse alike, with the same exception and message and the same warnings; a refusal is a
TypeError, ValueError or re.error; an accepted configuration answers a few probes the same
on both engines, and every header value it can emit is clean.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Callable

import corsfast
import corsfast.kui.asgi
import corsfast.starlette
import corsfast.wsgi
from fuzz.common import (
    ENGINES,
    EXPOSE,
    HEADER_NAMES,
    METHODS,
    ORIGIN_STRS,
    PATTERNS,
    WILDCARDS,
    Input,
    StrSubclass,
    Violation,
    Writer,
    check_value,
    compare,
    short,
)

STRINGS = (*ORIGIN_STRS, *WILDCARDS, *METHODS, *HEADER_NAMES, *EXPOSE, "X-A\r\nSet-Cookie: a=1", "GET POST", "\x00")
INTS = (0, 1, -1, 600, 2047, 2048, 86401, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63))
REPEATS = (0, 1, 2, 5, 255, 65535, 2**31, 4294967294)
KINDS = 16
ADDRESS = re.compile(r"0x[0-9a-f]+")


def regex(inp: Input, depth: int = 0, budget: list[int] | None = None) -> tuple[str, bool]:
    """Return a pattern from a small grammar and whether it nests repeats (then it is never run here).

    At most three unbounded repeats in all: more `.*` in a row backtrack polynomially for
    long on any string, which is the pattern's own cost, not a finding.
    """
    budget = [3] if budget is None else budget
    parts = []
    nested = False

    def unbounded(text: str, fallback: str) -> str:
        if budget[0] <= 0:
            return fallback
        budget[0] -= 1
        return text

    for _ in range(inp.below(5) + 1):
        piece = inp.below(14)
        if piece == 0:
            parts.append(re.escape(inp.text()))
        elif piece == 1:
            parts.append(unbounded("[a-z0-9-]+", "[a-z0-9-]"))
        elif piece == 2:
            parts.append(r"\.")
        elif piece == 3:
            parts.append(r"(www\.)?")
        elif piece == 4:
            parts.append(unbounded(".*", "."))
        elif piece == 5:
            parts.append(unbounded(r"\d+", r"\d"))
        elif piece == 6:
            parts.append(unbounded("[^/]*", "[^/]"))
        elif piece == 7:
            count = inp.pick(REPEATS) if inp.flag() else inp.size()
            parts.append(f"x{{{count}}}" if inp.flag() else unbounded(f"x{{{count},}}", f"x{{{count}}}"))
        elif piece == 8 and depth < 3:
            inner, deeper = regex(inp, depth + 1, budget)
            parts.append(f"({inner})")
            nested |= deeper
        elif piece == 9 and depth < 3:
            inner, deeper = regex(inp, depth + 1, budget)
            parts.append(f"({inner})" + unbounded(inp.pick(("+", "*", "++", "*?")), "?"))
            nested = True
        elif piece == 10:
            parts.append("(a|b)" if inp.flag() else "(?:https|http)")
        elif piece == 11:
            parts.append(inp.pick(("^", "$", r"\A", r"\Z", "(?=h)", "(?!x)", r"(?<=/)")))
        elif piece == 12:
            parts.append(inp.pick(("(?i)", "(?s)", "(?a)", "(?x)")) if not parts else "")
        else:
            parts.append(inp.pick(("https://", "http://", "null", r"example\.com", "[A-Z]", unbounded("\\w+", "\\w"))))
    return "".join(parts), nested


class Unsafe:
    """Set when a generated pattern may backtrack for long: then no probe runs it."""

    nested = False


def value(inp: Input, unsafe: type[Unsafe], depth: int = 0) -> Any:
    kind = inp.below(KINDS)
    if kind == 0:
        return inp.pick(STRINGS)
    if kind == 1:
        return inp.text()
    if kind == 2:
        return inp.blob()
    if kind in (3, 4, 5, 6) and depth < 2:
        items = [value(inp, unsafe, depth + 1) for _ in range(inp.below(5))]
        if kind == 3:
            return items
        if kind == 4:
            return tuple(items)
        if kind == 5:
            return frozenset(i for i in items if isinstance(i, (str, int, bytes)))
        return (item for item in items)
    if kind == 7:
        return None
    if kind == 8:
        return inp.pick(INTS)
    if kind == 9:
        return inp.flag()
    if kind == 10:
        return 1.5
    if kind == 11:
        choice = inp.below(3)
        if choice == 0:
            return inp.pick(PATTERNS)
        pattern, nested = regex(inp)
        unsafe.nested |= nested
        try:
            return re.compile(pattern)
        except (re.error, OverflowError, RecursionError):
            return pattern  # a str that does not compile: refused at construction
    if kind == 12:
        return re.compile(re.escape(inp.blob()))
    if kind == 13 and depth < 2:
        return {inp.text(): value(inp, unsafe, depth + 1) for _ in range(inp.below(3))}
    if kind == 14:
        pattern, nested = regex(inp)
        unsafe.nested |= nested
        return pattern
    return StrSubclass(inp.pick(STRINGS))


def _kui_middleware(app: Any, **kwargs: Any) -> Any:
    return corsfast.kui.asgi.cors_middleware(
        {k: v for k, v in kwargs.items() if k != "_engine"}, _engine=kwargs.get("_engine")
    )


def _kui_allow_cors(app: Any, **kwargs: Any) -> Any:
    return corsfast.kui.asgi.allow_cors(**kwargs)


NATIVE_ARGUMENTS = (
    "allow_origins",
    "allow_methods",
    "allow_headers",
    "expose_headers",
    "allow_credentials",
    "max_age",
    "allow_private_network",
    "cache_size",
    "max_origin_length",
    "strict",
)
"""The options the native ASGI and WSGI middlewares share."""

CONSTRUCTORS: tuple[tuple[str, Callable[..., Any], tuple[str, ...]], ...] = (
    (
        "native",
        corsfast.CORSMiddleware,
        NATIVE_ARGUMENTS,
    ),
    (
        "starlette",
        corsfast.starlette.CORSMiddleware,
        (
            "allow_origins",
            "allow_methods",
            "allow_headers",
            "allow_credentials",
            "allow_origin_regex",
            "allow_private_network",
            "expose_headers",
            "max_age",
        ),
    ),
    (
        "wsgi",
        corsfast.wsgi.CORSMiddleware,
        NATIVE_ARGUMENTS,
    ),
    (
        "kui",
        _kui_allow_cors,
        ("allow_origins", "allow_methods", "allow_headers", "expose_headers", "allow_credentials", "max_age"),
    ),
    (
        "kui_config",
        _kui_middleware,
        (
            "allow_origins",
            "allow_methods",
            "allow_headers",
            "expose_headers",
            "allow_credentials",
            "max_age",
            "allow_private_network",
        ),
    ),
)
PROBES = (
    b"https://example.com",
    b"http://example.com",
    b"https://api.example.com",
    b"null",
    b"",
    b"https://caf\xe9.com",
    b"https://example.com.evil.com",
    b"x",
)


def construct(factory: Callable[..., Any], kwargs: dict[str, Any], engine: ModuleType) -> dict[str, Any]:
    """Return what building on `engine` shows: the outcome (type and message) and the warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            built = factory(None, **{k: v() for k, v in kwargs.items()}, _engine=engine)
        except Exception as exc:  # compared with the other engine's, type and message
            return {"raised": (type(exc), ADDRESS.sub("0x?", str(exc))), "warnings": _warnings(caught)}
    return {"built": built, "warnings": _warnings(caught)}


def _warnings(caught: list[warnings.WarningMessage]) -> list[tuple[str, str]]:
    return [(w.category.__name__, ADDRESS.sub("0x?", str(w.message))) for w in caught]


def probes(policy: Any, safe: bool) -> dict[str, Any]:
    origins = list(PROBES)
    options = policy.options
    origins += sorted(options.exact_origins)[:3]
    origins += [prefix + b"a" + suffix for prefix, suffix in options.wildcard_origins[:3]]
    answers: dict[str, Any] = {"empty": policy.response_headers(None, [])}
    if not safe:
        return answers
    for origin in origins:
        entry = policy.lookup(origin)
        answers[repr(origin)] = entry
        for name, val in (*entry.block, *entry.preflight_head):
            check_value(name, val, "constructed entry")
            if type(name) is not bytes or name != name.lower():
                raise Violation(f"header name {name!r}")
        answer = policy.preflight_response(origin, b"GET", b"x-a", b"true")
        answers["preflight " + repr(origin)] = answer
        if answer is not None:
            for name, val in answer[1]:
                check_value(name, val, "constructed preflight")
    for name, val in answers["empty"]:
        check_value(name, val, "constructed block")
    return answers


def one_input(data: bytes) -> None:
    inp = Input(data)
    label, factory, names = inp.pick(CONSTRUCTORS)
    unsafe = type("UnsafeFlag", (Unsafe,), {})
    kwargs: dict[str, Callable[[], Any]] = {}
    for name in names:
        if inp.below(3) == 0:
            continue  # the default
        snapshot = Input(inp.take(inp.size() % 512))
        # Each engine gets fresh objects (generators are consumed); decoded the same way twice.
        raw = snapshot._data
        kwargs[name] = lambda raw=raw: value(Input(raw), unsafe)
    results = [construct(factory, kwargs, engine) for _, engine in ENGINES]
    compiled, pure = results
    compare(f"{label} construction warnings {short(compiled['warnings'])}", compiled["warnings"], pure["warnings"])
    for category, message in compiled["warnings"]:
        if category != "CORSConfigWarning":
            raise Violation(f"{label}: a {category} at construction: {message}")
    if "raised" in compiled or "raised" in pure:
        compare(f"{label} construction", compiled.get("raised"), pure.get("raised"))
        kind, message = compiled["raised"]
        if not issubclass(kind, (TypeError, ValueError, re.error)):
            raise Violation(f"{label}: construction raised {kind.__name__}: {message}")
        return
    policies = [getattr(result["built"], "policy", None) for result in results]
    if policies[0] is None:
        return
    safe = not unsafe.nested
    compare(f"{label} probes", probes(policies[0], safe), probes(policies[1], safe))


def seeds() -> Iterable[bytes]:
    samples: list[tuple[str, dict[str, Any]]] = [
        ("native", {"allow_origins": ["https://example.com"], "allow_methods": ["GET"], "max_age": 600}),
        ("starlette", {"allow_origins": ["*"], "allow_credentials": True}),
        ("kui", {"allow_methods": ["GET", "POST"], "allow_headers": ["X-A"]}),
        ("wsgi", {"allow_origins": ["https://*.example.com"], "cache_size": 0}),
    ]
    for label, kwargs in samples:
        w = Writer().below(len(CONSTRUCTORS), [c[0] for c in CONSTRUCTORS].index(label))
        names = next(c[2] for c in CONSTRUCTORS if c[0] == label)
        for name in names:
            if name not in kwargs:
                w.below(3, 0)
                continue
            inner = Writer()
            item = kwargs[name]
            if isinstance(item, list):
                inner.below(KINDS, 3).below(5, len(item))
                for element in item:
                    inner.below(KINDS, 0).pick(STRINGS, element)
            elif isinstance(item, bool):
                inner.below(KINDS, 9).flag(item)
            else:
                inner.below(KINDS, 8).pick(INTS, item)
            encoded = inner.data()
            w.below(3, 1).size(len(encoded))
            for byte in encoded:
                w.byte(byte)
        yield w.data()
