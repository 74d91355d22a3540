"""The merge of app-set headers: Vary, the app's own CORS headers, odd header containers.

`response_headers(origin, app_headers)` on both engines, for a fuzzed policy, a fuzzed (or
absent) Origin and an app header list that sets Vary (one line, several, naming Origin or
`*` or not), its own Access-Control-Allow-Origin/-Credentials/-Expose-Headers, in any
container and with odd items (str, bytearray, bytes subclasses, wrong arities). The results
and exception types must be the same; the app's own headers are kept or replaced, never
lost; the engine adds no CR, LF or NUL; ACAO is `*` or the Origin unless the app set it.
"""

from __future__ import annotations

from collections.abc import Iterable

from cases import CASES

from fuzz.common import (
    CONTAINERS,
    DIALECTS,
    RESPONSE_NAMES,
    Input,
    Writer,
    check_emitted,
    compare,
    container,
    fuzzed_policies,
    header_list,
    outcome,
    plain,
    write_header_list,
    write_options,
)


def one_input(data: bytes) -> None:
    inp = Input(data)
    built = fuzzed_policies(inp)
    if built is None:
        return
    c, py = built
    for _ in range(inp.below(3) + 1):
        origin = inp.blob() if inp.below(4) else None
        kind = inp.pick(CONTAINERS)
        makers = header_list(inp, RESPONSE_NAMES, 10)
        got = outcome(c.response_headers, origin, container(kind, makers))
        compare("response_headers", got, outcome(py.response_headers, origin, container(kind, makers)))
        app = container("list", makers)
        pairs = plain(app)  # before anything reads the items (an odd one may empty the list)
        if got[0] == "ok":
            check_emitted(got[1], origin, "response_headers", app)
            if pairs is not None:
                entry = c.lookup(origin) if origin is not None else None
                touched = {name for name, _ in entry.ops} if entry is not None else {b"vary"}
                _check_kept(pairs, got[1], touched | set(TOUCHED))


TOUCHED = (
    b"access-control-allow-origin",
    b"access-control-allow-credentials",
    b"access-control-expose-headers",
    b"vary",
)


def _check_kept(app: list[tuple[bytes, bytes]], result: list[tuple[bytes, bytes]], touched: set[bytes]) -> None:
    """Every app header the engine does not set (the entry's operations) is still there, in order."""
    from fuzz.common import Violation

    kept = [item for item in app if item[0] not in touched]
    others = [item for item in result if type(item) is not tuple or item[0] not in touched]
    if others[: len(kept)] != kept:
        raise Violation(f"app headers lost or reordered: {kept!r} -> {others!r}")


def seeds() -> Iterable[bytes]:
    seen = set()
    for case in CASES:
        key = (tuple(case.app_headers), tuple(sorted(case.options)))
        if key in seen:
            continue
        seen.add(key)
        w = Writer().pick(DIALECTS, "native")
        try:
            write_options(w, "native", dict(case.options))
        except (ValueError, UnicodeEncodeError):
            continue
        origin = next((v for k, v in case.headers if k == b"origin"), None)
        w.below(3, 0)
        w.below(4, 1 if origin is not None else 0)
        if origin is not None:
            w.blob(origin)
        w.pick(CONTAINERS, "list")
        write_header_list(w, 10, case.app_headers, RESPONSE_NAMES)
        yield w.data()
