"""The request-header scans (`scan_request_headers`, `scan_plain_request_headers`, `kui_origin`) on any header list.

Header lists of every container (list, tuple, iterator, generator) holding well-formed
`(bytes, bytes)` pairs and odd items (lists, bytes and str subclasses, bytearray, None values,
wrong arities, items that make new objects as they are unpacked). Both engines must give the
same answer or raise the same exception type, and the answer must be the reference's: the
first value of each CORS request header, the very object from the list when the item holds it.
The Starlette drop-in's plain scan answers None (Starlette's own code reads the list) for
anything but a list of 2-tuples or 2-lists of exactly bytes, and runs no item's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from cases import CASES

from fuzz.common import (
    CONTAINERS,
    PY,
    REQUEST_NAMES,
    C,
    Difference,
    Input,
    Violation,
    Writer,
    both,
    container,
    header_list,
    outcome,
    short,
    write_header_list,
)

CORS_NAMES = REQUEST_NAMES[:4]


def reference_scan(items: list[Any]) -> tuple[Optional[bytes], ...]:
    found: dict[bytes, Any] = {}
    for key, value in items:
        if type(key) is bytes and type(value) is bytes and key in CORS_NAMES:
            found.setdefault(key, value)
    return tuple(found.get(name) for name in CORS_NAMES)


def reference_plain_scan(headers: Any) -> Optional[tuple[Optional[bytes], ...]]:
    if type(headers) is not list:
        return None
    for item in headers:
        if type(item) not in (tuple, list) or len(item) != 2:
            return None
        if type(item[0]) is not bytes or type(item[1]) is not bytes:
            return None
    return reference_scan(headers)


def reference_kui_origin(headers: Any) -> Any:
    if reference_plain_scan(headers) is None:
        return False  # Kui's own code reads it
    values = [value for key, value in headers if key.lower() == b"origin"]
    if not values:
        return None
    return values[0] if len(values) == 1 else b", ".join(values)


def one_input(data: bytes) -> None:
    inp = Input(data)
    kind = inp.pick(CONTAINERS)
    makers = header_list(inp, REQUEST_NAMES, 16)
    for what, function, reference in (
        ("scan_request_headers", "scan_request_headers", reference_scan),
        ("scan_plain_request_headers", "scan_plain_request_headers", reference_plain_scan),
        ("kui_origin", "kui_origin", reference_kui_origin),
    ):
        got = both(
            f"{what} over a {kind}",
            lambda engine, function=function: getattr(engine, function)(container(kind, makers)),
        )
        items = container(kind, makers)
        if function in ("scan_plain_request_headers", "kui_origin"):
            expected = outcome(reference, items)  # the list as it is: nothing else is read
        else:
            expected = outcome(reference, items if type(items) is list else list(items))  # what the engines read
        if got[0] != expected[0] or (got[0] == "raised" and got[1] is not expected[1]):
            raise Violation(f"{what}: {short(got)}, the reference {short(expected)}")
        if got[0] == "raised":
            if got[1] not in (TypeError, ValueError):
                raise Violation(f"{what} raised {got[1].__name__}")
            continue
        if got[1] != expected[1]:
            raise Difference(f"{what}: {short(got[1])}, the reference {short(expected[1])}")
    # The answer is the very object in the list (no copy), when the list holds it.
    items = container("list", makers)
    if all(type(item) in (tuple, list) for item in items):
        held = {id(v) for item in items for v in item}
        for engine_name, engine in (("compiled", C), ("pure", PY)):
            found = outcome(engine.scan_request_headers, items)
            if found[0] == "ok" and any(v is not None and id(v) not in held for v in found[1]):
                raise Violation(f"{engine_name} scan returned a copy: {short(found[1])}")


def seeds() -> Iterable[bytes]:
    for case in CASES:
        for kind in CONTAINERS[:2]:
            w = Writer().pick(CONTAINERS, kind)
            write_header_list(w, 16, case.headers, REQUEST_NAMES)
            yield w.data()
