"""Dynamic origins on both engines: `allow_origin_func` with `allow_origin_func_ttl`, and port wildcards.

A fuzzed native configuration gets port-wildcard rules (`http://localhost:*`,
`https://*.example.com:*`, fuzzed hosts before `:*`) and an `allow_origin_func` (plain or
`async def`) whose verdicts come from the input: yes, no, a raise, a truthy object, an object
whose truth value raises, a suffix test, by length; with a ttl and a cache bound from small
pools, and a clock injected into each engine's policy. Then one to six ASGI exchanges
(fuzz/exchange.py), each after the clock moves and the verdicts change, with Origins built to
hit the port rules (ports around 0, 65535, leading zeros, signs, fuzzed) or fuzzed outright.
Compared on both engines: every message, the origins the function was asked about, the cache
statistics; checked: the exchange invariants, the cache bound, and the verdict of the port
rules alone against an oracle written apart from both engines.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Optional

from cases import port_rule_allows

import corsfast
from fuzz.common import (
    PY,
    Built,
    C,
    Input,
    Violation,
    Writer,
    compare,
    options as read_options,
    options_key,
    outcome,
    quiet,
    short,
    write_options,
)
from fuzz.exchange import Request, check_exchange, run, script, write_script

# An exception in the function is logged (and refuses the origin): quiet here, compared by answers.
logging.getLogger("corsfast").disabled = True

PORT_RULES = (
    "http://localhost:*",
    "https://*.example.com:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://example.com:*",
    "http://*.localhost:*",
)
HOSTS = (
    "localhost",
    "127.0.0.1",
    "[::1]",
    "example.com",
    "a.example.com",
    "b-2.example.com",
    "a.localhost",
    "-a.example.com",
    "A.example.com",
    "a.b.example.com",
    "tenant.example",
)
PORTS = (
    "",
    "0",
    "1",
    "80",
    "3000",
    "8443",
    "65535",
    "65536",
    "00",
    "01",
    "08080",
    "+1",
    "-1",
    " 1",
    "1 ",
    "1/",
    "99999",
    "\u0663",
    "80:80",
)
SCHEMES = ("http://", "https://")
VERDICTS = ("yes", "no", "raise", "truthy", "bad_truth", "suffix", "length", "yes")
TTLS = (0.0, 0.0, 5.0, 10.0, 60.0)
CACHE_SIZES = (4096, 0, 1, 2, 64)
ADVANCES = (0.0, 0.5, 4.9, 5.0, 9.99, 10.0, 61.0)
METHODS = ("GET", "GET", "OPTIONS", "POST")


class Boom(Exception):
    """Raised by the function: the origin is refused for that request, on both engines alike."""


class NoTruth:
    def __bool__(self) -> bool:
        raise Boom("no truth value")


STATE: dict[str, Any] = {"verdict": "yes", "suffix": ".example.com", "calls": []}


def decide(origin: str) -> Any:
    STATE["calls"].append(origin)
    verdict = STATE["verdict"]
    if verdict == "yes":
        return True
    if verdict == "no":
        return False
    if verdict == "raise":
        raise Boom(origin)
    if verdict == "truthy":
        return [origin] if len(origin) % 3 else ""
    if verdict == "bad_truth":
        return NoTruth()
    if verdict == "suffix":
        return origin.endswith(STATE["suffix"])
    return len(origin) % 2 == 0


def sync_func(origin: str) -> Any:
    return decide(origin)


async def async_func(origin: str) -> Any:  # never suspends: exchanges run without an event loop
    return decide(origin)


FUNCS = (sync_func, sync_func, async_func)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the port rules and their oracle (cases.port_rule_allows) ----------------------------------


def port_rules(inp: Input) -> list[str]:
    rules = []
    for _ in range(inp.below(3)):
        if inp.below(5) == 0:
            rules.append(inp.pick(SCHEMES) + inp.text()[:64] + ":*")
        else:
            rules.append(inp.pick(PORT_RULES))
    return rules


def origin_text(inp: Input) -> Optional[bytes]:
    kind = inp.below(6)
    if kind == 0:
        return None
    if kind == 1:
        return inp.blob()
    host = inp.pick(HOSTS) if inp.below(4) else inp.text()[:80]
    port = inp.pick(PORTS) if inp.below(4) else inp.text()[:8]
    text = inp.pick(SCHEMES) + host + (":" + port if port or inp.flag() else "")
    return text.encode("utf-8")


# -- one input -----------------------------------------------------------------------------------


def middlewares(kwargs: dict[str, Any]) -> Optional[tuple[Any, Any]]:
    return Built.get(
        options_key("dynamic", kwargs),
        lambda engine: quiet(corsfast.CORSMiddleware, None, **kwargs, _engine=engine),
    )


def check_rules(rules: list[str], origin: bytes) -> None:
    """The port rules alone: both engines' verdict, and the oracle's for a rule set that builds."""
    built = Built.get(
        options_key("ports", rules),
        lambda engine: quiet(corsfast.CORSMiddleware, None, allow_origins=list(rules), _engine=engine),
    )
    if built is None:
        return
    got = [outcome(each.policy.is_allowed_origin, origin) for each in built]
    compare(f"is_allowed_origin({origin!r}) under {rules!r}", got[0], got[1])
    text = origin.decode("latin-1")
    expected = any(port_rule_allows(rule, text) for rule in rules if rule.endswith(":*"))
    if got[0] != ("ok", expected) and all(rule in PORT_RULES for rule in rules):
        raise Violation(f"{origin!r} under {rules!r}: the engine says {got[0]!r}, the oracle {expected}")


def one_input(data: bytes) -> None:
    inp = Input(data)
    kwargs = read_options(inp, "native")
    rules = port_rules(inp)
    kwargs["allow_origins"] = [*kwargs["allow_origins"], *rules] if inp.flag() else list(rules)
    kwargs["allow_origin_func"] = inp.pick(FUNCS)
    kwargs["allow_origin_func_ttl"] = inp.pick(TTLS)
    kwargs["cache_size"] = inp.pick(CACHE_SIZES)
    STATE["suffix"] = inp.text()
    built = middlewares(kwargs)
    if built is None:
        return
    clocks = {C: Clock(), PY: Clock()}
    by_engine = dict(zip((C, PY), built))
    for engine, middleware in by_engine.items():
        middleware.cache_clear()
        middleware.policy._clock = clocks[engine]

    def make(engine: ModuleType, app: Any) -> Any:
        middleware = by_engine[engine]
        middleware.app = app
        return middleware

    for _ in range(inp.below(6) + 1):
        advance = inp.pick(ADVANCES)
        for clock in clocks.values():
            clock.now += advance
        STATE["verdict"] = inp.pick(VERDICTS)
        origin = origin_text(inp)
        method = inp.pick(METHODS)
        headers: list[tuple[bytes, bytes]] = [(b"host", b"api.example.com")]
        if origin is not None:
            headers.append((b"origin", origin))
        if method == "OPTIONS" and inp.flag():
            headers.append((b"access-control-request-method", inp.blob()))
        req = Request("http", method, "list", [(lambda item=item: item) for item in headers])
        actions = script(inp)
        runs, asked = [], []
        for engine in (C, PY):
            STATE["calls"] = []
            runs.append(run(make, engine, req, actions))
            asked.append(STATE["calls"])
        compiled, pure = runs
        compare(
            f"ASGI exchange ({STATE['verdict']}) for {short(headers)}",
            {**compiled.observed(), "asked": asked[0], "cache": tuple(built[0].cache_info())},
            {**pure.observed(), "asked": asked[1], "cache": tuple(built[1].cache_info())},
        )
        check_exchange(compiled, req)
        for each in built:
            info = tuple(each.cache_info())
            if info[3] > info[2]:
                raise Violation(f"the origin cache holds {info[3]} entries, bound {info[2]}")
        if origin is not None and rules:
            check_rules(rules, origin)


# -- seeds ---------------------------------------------------------------------------------------

SEED_ORIGINS = (
    ("http://", "localhost", "3000"),
    ("https://", "a.example.com", "8443"),
    ("http://", "localhost", "0"),
    ("https://", "tenant.example", ""),
    ("http://", "127.0.0.1", "65536"),
)


def seeds() -> Iterable[bytes]:
    for index, rule in enumerate(PORT_RULES):
        for verdict in ("yes", "no", "raise", "suffix"):
            w = Writer()
            write_options(w, "native", {"allow_origins": ["https://example.com"], "allow_methods": ["GET", "PUT"]})
            w.below(3, 1).below(5, 1).pick(PORT_RULES, rule).flag(index % 2 == 0)
            w.pick(FUNCS, sync_func).pick(TTLS, 10.0 if index % 2 else 0.0).pick(CACHE_SIZES, 4096)
            w.text(".example.com")
            w.below(6, 2)  # three requests
            for step, (scheme, host, port) in enumerate(SEED_ORIGINS[index % 3 : index % 3 + 3]):
                w.pick(ADVANCES, ADVANCES[step * 2]).pick(VERDICTS, verdict)
                w.below(6, 2).below(4, 1).pick(HOSTS, host).below(4, 1).pick(PORTS, port).pick(SCHEMES, scheme)
                if not port:
                    w.flag(False)
                method = "OPTIONS" if step == 1 else "GET"
                w.pick(METHODS, method)
                if method == "OPTIONS":
                    w.flag(True).blob(b"PUT")
                write_script(w, 200, (), b"ok")
            yield w.data()
