"""Subclasses of the Starlette drop-in, and its attributes changed at run time, on both engines.

`corsfast.starlette.CORSMiddleware` promises Starlette's subclassing and attributes: an
`is_allowed_origin` override is asked where Starlette asks it (the engine keeps everything
else compiled), and the documented attributes (`allow_origins`, `allow_methods`,
`allow_headers`, `allow_all_origins`, `allow_credentials`, `allow_origin_regex`,
`allow_private_network`, `preflight_explicit_allow_origin`, `simple_headers`,
`preflight_headers`) may be reassigned or changed in place between requests, after which the
engine compiles them again. A fuzzed Starlette configuration builds a subclass (its own
verdict from the input: the base's, yes, no, a raise, a truthy object, a suffix test, the
base's negated; or no override at all) on each engine; then one to four fuzzed ASGI exchanges
(fuzz/exchange.py) run, each after zero to two fuzzed edits applied alike to both instances.
Compared: every message, the calls into the override (the origins it was asked about, in
order), `is_allowed_origin` called directly, the outcome; checked: the exchange invariants.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any, Callable

from cases import CASES

import corsfast.starlette
from corsfast.asgi import _on_engine
from fuzz.common import (
    ORIGIN_STRS,
    PATTERNS,
    PY,
    C,
    Input,
    Writer,
    compare,
    options as read_options,
    outcome,
    quiet,
    short,
    write_options,
)
from fuzz.exchange import AppError, Run, check_exchange, request, run, script, write_request, write_script

VERDICTS = ("super", "yes", "no", "raise", "truthy", "suffix", "not_super", "length")
KINDS = ("verdict", "verdict", "verdict", "plain")
EDITS = (
    "append_origin",
    "remove_origin",
    "set_origin",
    "assign_origins",
    "allow_all_origins",
    "allow_credentials",
    "append_method",
    "append_header",
    "private_network",
    "explicit_origin",
    "regex",
    "regex_none",
    "regex_delete",
    "simple_set",
    "simple_pop",
    "preflight_set",
    "preflight_pop",
)
SIMPLE_NAMES = ("X-Simple", "Access-Control-Expose-Headers", "Access-Control-Allow-Credentials", "Content-Type")
PREFLIGHT_NAMES = (
    "Access-Control-Max-Age",
    "X-Preflight",
    "Vary",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
)
VALUES = ("1", "60", "X-Total, X-Page", "true", "a\r\nSet-Cookie: s=1", "\x01", "caf\xe9", "\u20ac")
METHOD_NAMES = ("DELETE", "PUT", "GET", "*", "patch")
HEADER_NAMES = ("x-forbidden", "X-Forbidden", "content-type", "*")

STATE: dict[str, Any] = {"mode": "super", "suffix": ".example.com", "calls": []}
"""What the override answers for this input, and the origins it was asked about (per engine run)."""


def subclass(base: type, kind: str) -> type:
    """Return a subclass of `base` (the drop-in on one engine) with an input-driven verdict, or none."""
    if kind == "plain":

        class Plain(base):  # type: ignore[misc, valid-type]
            pass

        return Plain

    class Verdict(base):  # type: ignore[misc, valid-type]
        def is_allowed_origin(self, origin: str) -> Any:
            STATE["calls"].append(origin)
            mode = STATE["mode"]
            if mode == "super":
                return super().is_allowed_origin(origin)
            if mode == "not_super":
                return not super().is_allowed_origin(origin=origin)
            if mode == "yes":
                return True
            if mode == "no":
                return False
            if mode == "raise":
                raise AppError(f"no verdict for {origin!r}")
            if mode == "truthy":
                return [origin] if len(origin) % 3 else ()
            if mode == "suffix":
                return origin.endswith(STATE["suffix"])
            return len(origin) % 2 == 0

    return Verdict


CLASSES: dict[tuple[ModuleType, str], type] = {}


def cls(engine: ModuleType, kind: str) -> type:
    found = CLASSES.get((engine, kind))
    if found is None:
        found = CLASSES[engine, kind] = subclass(_on_engine(corsfast.starlette.CORSMiddleware, engine), kind)
    return found


# -- edits -------------------------------------------------------------------------------------


def safe_name(text: str) -> str:
    return "X-Fuzzed" if text.lower() == "access-control-allow-origin" else text


def read_edit(inp: Input) -> tuple[Callable[[Any], None], Any]:
    """Return an edit of a middleware's attributes, and what a request may raise after it (or False).

    Header text the engine refuses fails the requests (ValueError, as it names the header); a
    deleted attribute fails them as it fails Starlette's own code (AttributeError)."""
    edit = inp.pick(EDITS)
    fuzzed = inp.below(4) == 0
    text = inp.text()
    if edit == "append_origin":
        origin = text if fuzzed else inp.pick(ORIGIN_STRS)
        return (lambda m: m.allow_origins.append(origin) if isinstance(m.allow_origins, list) else None), False
    if edit == "remove_origin":
        return (
            lambda m: m.allow_origins.pop(0) if isinstance(m.allow_origins, list) and m.allow_origins else None
        ), False
    if edit == "set_origin":
        origin = text if fuzzed else inp.pick(ORIGIN_STRS)

        def set_origin(m: Any) -> None:
            if isinstance(m.allow_origins, list) and m.allow_origins:
                m.allow_origins[0] = origin

        return set_origin, False
    if edit == "assign_origins":
        origins = [text if fuzzed else inp.pick(ORIGIN_STRS) for _ in range(inp.below(3))]
        return (lambda m: setattr(m, "allow_origins", list(origins))), False
    if edit in ("allow_all_origins", "allow_credentials", "private_network", "explicit_origin"):
        name = {"private_network": "allow_private_network", "explicit_origin": "preflight_explicit_allow_origin"}.get(
            edit, edit
        )
        return (lambda m: setattr(m, name, not getattr(m, name))), False
    if edit == "append_method":
        method = text if fuzzed else inp.pick(METHOD_NAMES)
        return (
            lambda m: m.allow_methods.append(method) if isinstance(m.allow_methods, list) else None
        ), fuzzed and ValueError
    if edit == "append_header":
        header = text if fuzzed else inp.pick(HEADER_NAMES)
        return (
            lambda m: m.allow_headers.append(header) if isinstance(m.allow_headers, list) else None
        ), fuzzed and ValueError
    if edit == "regex":
        pattern = re.compile(re.escape(text[:256])) if fuzzed else inp.pick(PATTERNS)
        return (lambda m: setattr(m, "allow_origin_regex", pattern)), False
    if edit == "regex_none":
        return (lambda m: setattr(m, "allow_origin_regex", None)), False
    if edit == "regex_delete":
        return (lambda m: delattr(m, "allow_origin_regex") if "allow_origin_regex" in vars(m) else None), AttributeError
    table = "simple_headers" if edit.startswith("simple") else "preflight_headers"
    names = SIMPLE_NAMES if table == "simple_headers" else PREFLIGHT_NAMES
    name = safe_name(text) if fuzzed else inp.pick(names)
    if edit.endswith("_pop"):
        return (lambda m: getattr(m, table).pop(name, None)), False
    value = inp.text() if inp.below(4) == 0 else inp.pick(VALUES)
    return (lambda m: getattr(m, table).__setitem__(name, value)), ValueError


# -- one input ---------------------------------------------------------------------------------


def one_input(data: bytes) -> None:
    inp = Input(data)
    kind = inp.pick(KINDS)
    STATE["mode"] = inp.pick(VERDICTS)
    STATE["suffix"] = inp.text()
    kwargs = read_options(inp, "starlette")
    # Each instance keeps the lists it is given (Starlette's attributes): one copy per engine.
    built = [
        outcome(lambda engine=engine: quiet(cls(engine, kind), None, **copy.deepcopy(kwargs))) for engine in (C, PY)
    ]
    compare(
        f"construction with {short(kwargs)}", built[0][0] == "ok" or built[0][1], built[1][0] == "ok" or built[1][1]
    )
    if built[0][0] == "raised":
        return
    middlewares = {C: built[0][1], PY: built[1][1]}

    def make(engine: ModuleType, app: Any) -> Any:
        middleware = middlewares[engine]
        middleware.app = app
        return middleware

    tolerated: tuple[type, ...] = ()
    for _ in range(inp.below(4) + 1):
        for _ in range(inp.below(3)):
            edit, raises = read_edit(inp)
            if raises:
                tolerated += (raises,)
            compare("edit", outcome(edit, middlewares[C]), outcome(edit, middlewares[PY]))
        req = request(inp)
        actions = script(inp)
        runs: list[Run] = []
        calls = []
        for engine in (C, PY):
            STATE["calls"] = []
            runs.append(run(make, engine, req, actions))
            calls.append(STATE["calls"])
        compiled, pure = runs
        what = f"ASGI exchange ({kind}, {STATE['mode']}) for {short(req.scope())}"
        compare(what, {**compiled.observed(), "asked": calls[0]}, {**pure.observed(), "asked": calls[1]})
        if not (compiled.outcome[0] == "raised" and issubclass(compiled.outcome[1], tolerated)):
            check_exchange(compiled, req, req.starlette_origin())
        origin = req.origin()
        if origin is not None:
            text = origin.decode("latin-1")
            asked = []
            for engine in (C, PY):
                STATE["calls"] = []
                asked.append((outcome(middlewares[engine].is_allowed_origin, text), STATE["calls"]))
            compare(f"is_allowed_origin({text!r})", asked[0], asked[1])
    compare(
        "cache_info",
        outcome(lambda: tuple(middlewares[C].cache_info())),
        outcome(lambda: tuple(middlewares[PY].cache_info())),
    )


# -- seeds --------------------------------------------------------------------------------------

CONFIGS = (
    {
        "allow_origins": ["https://example.com"],
        "allow_methods": ["GET", "PUT"],
        "allow_headers": ["X-A"],
        "allow_credentials": True,
    },
    {"allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"]},
    {"allow_origin_regex": PATTERNS[1], "allow_private_network": True, "expose_headers": ["X-E"]},
)


def write_edit(w: Writer, edit: str) -> None:
    """Encode one edit with pooled values as `read_edit` reads it."""
    w.pick(EDITS, edit).below(4, 1).text("")
    if edit in ("append_origin", "set_origin"):
        w.pick(ORIGIN_STRS, "https://api.example.com")
    elif edit == "assign_origins":
        w.below(3, 1).pick(ORIGIN_STRS, "null")
    elif edit == "append_method":
        w.pick(METHOD_NAMES, "DELETE")
    elif edit == "append_header":
        w.pick(HEADER_NAMES, "x-forbidden")
    elif edit == "regex":
        w.pick(PATTERNS, PATTERNS[1])
    elif edit.startswith(("simple", "preflight")):
        names = SIMPLE_NAMES if edit.startswith("simple") else PREFLIGHT_NAMES
        w.pick(names, names[1])
        if edit.endswith("_set"):
            w.below(4, 1).pick(VALUES, "60")


def seeds() -> Iterable[bytes]:
    for index, config in enumerate(CONFIGS):
        for verdict in VERDICTS:
            for case in CASES[index::20]:
                w = Writer()
                w.pick(KINDS, "verdict").pick(VERDICTS, verdict).text(".example.com")
                write_options(w, "starlette", dict(config))
                w.below(4, 1)  # two requests
                w.below(3, 1)
                write_edit(w, EDITS[(index * 5 + len(verdict)) % len(EDITS)])
                write_request(w, case.method, case.headers)
                write_script(w, 200, case.app_headers, b"Hello, world")
                w.below(3, 0)
                write_request(w, case.method, case.headers)
                write_script(w, 200, case.app_headers, b"")
                yield w.data()
