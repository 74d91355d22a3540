"""The WSGI middleware end to end: `corsfast.wsgi.CORSMiddleware` around an app, on both engines.

A fuzzed native configuration, a fuzzed environ (method, the CORS request headers as latin-1
str, str that no header holds, values that are not str) and a fuzzed app (its status and str
header list in any case, values outside latin-1, `exc_info`, a failure): the start_response
calls, the body and the outcome must be the same on both engines; the headers the middleware
adds are clean and ACAO is `*` or the Origin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from cases import CASES, wsgi_environ

import corsfast.wsgi
from fuzz.common import (
    RESPONSE_NAMES,
    Input,
    Violation,
    Writer,
    check_emitted,
    compare,
    options as read_options,
    outcome,
    short,
    write_options,
)
from fuzz.exchange import middlewares

DIALECT = "native"
ENVIRON_KEYS = (
    "HTTP_ORIGIN",
    "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
    "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
)
KEY_OF = {
    b"origin": "HTTP_ORIGIN",
    b"access-control-request-method": "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
    b"access-control-request-headers": "HTTP_ACCESS_CONTROL_REQUEST_HEADERS",
    b"access-control-request-private-network": "HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK",
}
METHODS = ("GET", "OPTIONS", "OPTIONS", "POST", "options", "fuzzed")
VALUES = ("str", "str", "str", "str", "absent", "bytes", "none", "int")
NAMES = (*(name.decode("latin-1") for name in RESPONSE_NAMES), "Vary", "Access-Control-Allow-Origin", "X-App")
APP = ("ok", "ok", "ok", "exc_info", "raise")


class AppError(Exception):
    pass


def environ(inp: Input) -> dict[str, Any]:
    method = inp.pick(METHODS)
    env = wsgi_environ(inp.text() if method == "fuzzed" else method, [])
    for key in ENVIRON_KEYS:
        kind = inp.pick(VALUES)
        text = inp.text()
        if kind == "str":
            env[key] = text
        elif kind == "bytes":
            env[key] = text.encode("utf-8")
        elif kind == "none":
            env[key] = None
        elif kind == "int":
            env[key] = len(text)
    return env


def app_script(inp: Input) -> tuple[str, str, list[tuple[str, str]]]:
    behaviour = inp.pick(APP)
    status = inp.pick(("200 OK", "404 Not Found", "204 No Content"))
    headers = []
    for _ in range(inp.below(6)):
        headers.append((inp.pick(NAMES) if inp.below(4) else inp.text(), inp.text()))
    return behaviour, status, headers


def run(make: Any, engine: Any, env: dict[str, Any], script: tuple[str, str, list[tuple[str, str]]]) -> Any:
    behaviour, status, headers = script
    calls: list[Any] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append("app")
        if behaviour == "raise":
            raise AppError("the app failed")
        if behaviour == "exc_info":
            start_response(status, list(headers), (AppError, AppError("x"), None))
        else:
            start_response(status, list(headers))
        return [b"body"]

    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started.append((status, list(headers), exc_info is not None))
        return lambda data: None

    middleware = make(engine, app)
    result = outcome(lambda: b"".join(middleware(dict(env), start_response)))
    return {"outcome": result, "started": started, "calls": calls}


def one_input(data: bytes) -> None:
    from fuzz.common import PY, C

    inp = Input(data)
    make = middlewares(corsfast.wsgi.CORSMiddleware, read_options(inp, DIALECT))
    if make is None:
        return
    env = environ(inp)
    script = app_script(inp)
    compiled = run(make, C, env, script)
    compare(f"WSGI exchange for {short({k: env.get(k) for k in ENVIRON_KEYS})}", compiled, run(make, PY, env, script))
    if not compiled["started"]:
        return
    _, headers, _ = compiled["started"][0]
    origin = env.get("HTTP_ORIGIN")
    raw: Optional[bytes] = None
    if type(origin) is str:
        try:
            raw = origin.encode("latin-1")
        except UnicodeEncodeError:
            raw = None
    try:
        encoded = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        app_headers = (
            [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in script[2]] if compiled["calls"] else []
        )
    except UnicodeEncodeError as exc:
        raise Violation(f"the middleware passed on a header no server can send: {short(headers)}") from exc
    check_emitted(encoded, raw, "WSGI response", app_headers)


def seeds() -> Iterable[bytes]:
    for case in CASES:
        w = Writer()
        try:
            write_options(w, DIALECT, dict(case.options))
        except (ValueError, UnicodeEncodeError):
            continue
        w.pick(METHODS, case.method if case.method in METHODS else "fuzzed")
        if case.method not in METHODS:
            w.text(case.method)
        values = {KEY_OF[k]: v for k, v in reversed(case.headers) if k in KEY_OF}
        for key in ENVIRON_KEYS:
            if key in values:
                w.pick(VALUES, "str").blob(values[key])
            else:
                w.pick(VALUES, "absent").blob(b"")
        w.pick(APP, "ok").below(3, 0).below(6, len(case.app_headers[:5]))
        for name, value in case.app_headers[:5]:
            w.below(4, 0).blob(name).blob(value)
        yield w.data()
