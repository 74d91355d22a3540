"""Preflight checks: the method, the header list and private network, in every dialect.

A fuzzed policy answers `preflight_response(origin, method, headers, private_network)` and
`is_preflight(...)` on both engines, with fuzzed Access-Control-Request-Method values,
header lists (long ones too, through repeats), private-network values and now and then
arguments of the wrong type. The answers and exception types must be the same; an answer is
a 200 or a 400 whose headers are clean and whose ACAO is `*` or the Origin; in the Starlette
dialect the status and body follow Starlette's own checks, recomputed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cases import CASES

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

VALUE_KINDS = ("bytes", "bytes", "bytes", "bytes", "none", "str", "subclass", "bytearray")
PRIVATE = (None, b"true", b"false", b"", b"TRUE", b"true\x00")
METHODS = ("OPTIONS", "GET", "options", None, b"OPTIONS", "OPTIONS\x00")


def argument(inp: Input) -> Any:
    kind = inp.pick(VALUE_KINDS)
    value = inp.blob()
    if kind == "bytes":
        return value
    if kind == "none":
        return None
    if kind == "str":
        return value.decode("latin-1")
    if kind == "subclass":
        return BytesSubclass(value)
    return bytearray(value)


def fresh(value: Any) -> Any:
    return bytearray(value) if type(value) is bytearray else value


def starlette_failures(policy: Any, origin: bytes, method: bytes, names: Any, private: Any) -> list[bytes]:
    """Return the failures Starlette's `preflight_response` reports, from its own rules."""
    options = policy.options
    failures = []
    if not reference_allowed(options, origin):
        failures.append(b"origin")
    if method.decode("latin-1") not in options.allow_methods:
        failures.append(b"method")
    if names is not None:
        if options.allow_all_headers:
            if any((c < 0x20 and c != 0x09) or c == 0x7F for c in names):
                failures.append(b"headers")  # corsfast never mirrors control bytes (a documented deviation)
        else:
            allowed = {
                h.lower()
                for h in (*options.allow_headers, "Accept", "Accept-Language", "Content-Language", "Content-Type")
            }
            if any(h.strip().lower() not in allowed for h in names.decode("latin-1").split(",")):
                failures.append(b"headers")
    if private is not None and not options.allow_private_network:
        failures.append(b"private-network")
    return failures


def check_answer(policy: Any, answer: Any, origin: bytes, method: Any, names: Any, private: Any) -> None:
    if answer is None:
        if policy.options.dialect == "starlette":
            raise Violation("the Starlette dialect answers every preflight")
        if reference_allowed(policy.options, origin):
            raise Violation(f"an allowed origin's preflight passed on: {short(origin)}")
        return
    status, headers, body = answer
    if status not in (200, 400):
        raise Violation(f"preflight status {status}")
    acao = [value for name, value in headers if name == ACAO]
    if len(acao) > 1 or (acao and acao[0] not in (b"*", origin)):
        raise Violation(f"preflight ACAO {short(acao)} for Origin {short(origin)}")
    for name, value in headers:
        check_value(name, value, "preflight")
    length = [value for name, value in headers if name == b"content-length"]
    if length and length != [str(len(body)).encode()]:
        raise Violation(f"content-length {length} for a body of {len(body)} bytes")
    if policy.options.dialect == "starlette" and type(method) is bytes and type(names) in (bytes, type(None)):
        failures = starlette_failures(policy, origin, method, names, private)
        expected = (400, b"Disallowed CORS " + b", ".join(failures)) if failures else (200, b"OK")
        if (status, body) != expected:
            raise Violation(f"Starlette preflight {(status, body)}, Starlette's rules give {expected}")
    elif policy.options.dialect == "native" and status != 200:
        raise Violation(f"a native preflight answered {status}")


def one_input(data: bytes) -> None:
    inp = Input(data)
    built = fuzzed_policies(inp)
    if built is None:
        return
    c, py = built
    for _ in range(inp.below(4) + 1):
        origin = inp.blob()
        odd_origin = inp.below(16) == 0
        if odd_origin:
            origin = argument(inp)
        method = argument(inp) if inp.below(8) == 0 else inp.blob()
        names = argument(inp) if inp.flag() else None
        private = inp.pick(PRIVATE) if inp.flag() else argument(inp)
        arguments = (origin, method, names, private)
        got = outcome(c.preflight_response, *map(fresh, arguments))
        compare(f"preflight_response{short(arguments)}", got, outcome(py.preflight_response, *map(fresh, arguments)))
        if got[0] == "ok":
            check_answer(c, got[1], origin, method, names, private)
        elif not odd_origin and type(method) is bytes and type(names) in (bytes, type(None)):
            raise Violation(f"preflight_response raised {got[1].__name__} on bytes arguments")
        request_method = inp.pick(METHODS)
        for acrm in (method, None):
            compare(
                f"is_preflight({request_method!r}, ...)",
                outcome(c.is_preflight, request_method, fresh(origin), fresh(acrm)),
                outcome(py.is_preflight, request_method, fresh(origin), fresh(acrm)),
            )


def seeds() -> Iterable[bytes]:
    starlette = {"allow_origins": ["https://example.com"], "allow_headers": ["X-A"], "allow_methods": ["GET", "PUT"]}
    configs = [("native", dict(case.options)) for case in CASES if case.method == "OPTIONS"]
    configs += [("starlette", starlette), ("starlette", {**starlette, "allow_headers": ["*"], "allow_origins": ["*"]})]
    for dialect, kwargs in configs:
        w = Writer().pick(DIALECTS, dialect)
        try:
            write_options(w, dialect, kwargs)
        except (ValueError, UnicodeEncodeError):
            continue
        w.below(4, 1)
        for names in (b"x-a, content-type", None):
            w.blob(b"https://example.com").below(16, 1).below(8, 1).blob(b"GET")
            w.flag(names is not None)
            if names is not None:
                w.pick(VALUE_KINDS, "bytes").blob(names)
            w.flag(True).pick(PRIVATE, None)
            w.pick(METHODS, "OPTIONS")
        yield w.data()
