"""Origin matching and the origin cache: lookups, repeats, floods, eviction and the length limit.

A policy of any dialect from fuzzed rules (exact, wildcard and pattern origins, `*`, small
caches) answers a sequence of operations on both engines: lookups of fuzzed Origin bytes
(near misses, control bytes, values around `max_origin_length`), repeated lookups (cache
hits), floods of unique origins, `cache_clear` and `cache_info`. Every entry and every
statistic must be the same on both; each verdict must be the reference's; the cache never
holds more than `cache_size` entries; an allowed entry reflects `*` or the exact Origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cases import CASES, LONG_BAD, LONG_OK

from fuzz.common import (
    ACAO,
    DIALECTS,
    BytesSubclass,
    Input,
    Violation,
    Writer,
    check_value,
    compare,
    fuzzed_policies,
    outcome,
    reference_allowed,
    short,
    write_options,
)

OPS = ("lookup", "lookup", "lookup", "again", "allowed", "flood", "clear", "odd")
ODD = ("str", "bytearray", "subclass", "none", "memoryview")


def odd_origin(kind: str, origin: bytes) -> Any:
    return {
        "str": lambda: origin.decode("latin-1"),
        "bytearray": lambda: bytearray(origin),
        "subclass": lambda: BytesSubclass(origin),
        "none": lambda: None,
        "memoryview": lambda: memoryview(origin),
    }[kind]()


def check_entry(entry: Any, policy: Any, origin: bytes) -> None:
    options = policy.options
    if entry.allowed is not reference_allowed(options, origin):
        raise Violation(f"{options.dialect}: verdict {entry.allowed} for {short(origin)}; the rules say otherwise")
    for name, value in (*entry.block, *entry.preflight_head):
        check_value(name, value, "origin entry")
        if name == ACAO and value != b"*" and value != origin:
            raise Violation(f"ACAO {short(value)} for Origin {short(origin)}")
    info = policy.cache_info()
    if (info.maxsize and info.currsize > info.maxsize) or (not info.maxsize and info.currsize):
        raise Violation(f"cache holds {info.currsize} entries over its bound {info.maxsize}")


def one_input(data: bytes) -> None:
    inp = Input(data)
    built = fuzzed_policies(inp)
    if built is None:
        return
    c, py = built
    last = b""
    for _ in range(inp.below(24) + 1):
        op = inp.pick(OPS)
        if op in ("lookup", "allowed"):
            last = inp.blob()
        if op in ("lookup", "again"):
            got = outcome(c.lookup, last)
            compare(f"lookup({short(last)})", got, outcome(py.lookup, last))
            if got[0] == "raised":
                raise Violation(f"lookup({short(last)}) raised {got[1].__name__}")
            check_entry(got[1], c, last)
        elif op == "allowed":
            compare(
                f"is_allowed_origin({short(last)})",
                outcome(c.is_allowed_origin, last),
                outcome(py.is_allowed_origin, last),
            )
        elif op == "flood":
            stem = inp.blob()
            count = inp.below(100)
            for i in range(count):
                origin = b"%s%d" % (stem, i)
                compare("flood lookup", c.lookup(origin).allowed, py.lookup(origin).allowed)
            if count:
                compare("flood check", c.lookup(stem + b"0"), py.lookup(stem + b"0"))
                check_entry(c.lookup(stem + b"0"), c, stem + b"0")
                py.lookup(stem + b"0")
        elif op == "clear":
            c.cache_clear()
            py.cache_clear()
        else:
            kind = inp.pick(ODD)
            for call in ("lookup", "is_allowed_origin"):
                compare(
                    f"{call}({kind})",
                    outcome(getattr(c, call), odd_origin(kind, last)),
                    outcome(getattr(py, call), odd_origin(kind, last)),
                )
        compare(f"cache_info after {op}", c.cache_info(), py.cache_info())


def _write_ops(w: Writer, origins: list[bytes]) -> None:
    w.below(24, len(origins) * 2 - 1)
    for origin in origins:
        w.pick(OPS, "lookup").blob(origin)
        w.below(len(OPS), OPS.index("again"))


def seeds() -> Iterable[bytes]:
    for case in CASES:
        origins = [value for name, value in case.headers if name == b"origin"]
        if not origins:
            continue
        w = Writer().pick(DIALECTS, "native")
        try:
            write_options(w, "native", dict(case.options))
        except (ValueError, UnicodeEncodeError):
            continue
        _write_ops(w, origins[:1])
        yield w.data()
    for dialect in DIALECTS:
        w = Writer().pick(DIALECTS, dialect)
        kwargs: dict[str, Any] = {"allow_origins": ["*"] if dialect != "kui" else []}
        write_options(w, dialect, kwargs)
        w.below(24, 3)
        w.pick(OPS, "lookup").repeat(b"a", len(LONG_OK))
        w.pick(OPS, "lookup").blob(LONG_OK[:2000])
        w.pick(OPS, "flood").blob(b"https://").below(100, 40)
        w.pick(OPS, "lookup").blob(LONG_BAD[:30])
        yield w.data()
