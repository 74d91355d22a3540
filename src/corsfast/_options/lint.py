"""Valid configurations that are dangerous or cannot work as written: found once, at construction."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from typing import Any

from .base import (
    _HOST_ORIGIN,
    CORSOptions,
    _warn,
)

# -- lint: valid configurations that are dangerous or cannot work as written ----------------
#
# Every check below runs once, at construction, on the validated options. A finding is a
# `CORSConfigWarning` pointing at the user's constructor call; the native middleware's
# `strict=True` turns it into a ValueError. Starlette and Kui drop-ins only ever warn.

MAX_AGE_CAP = 86400
"""Browsers cap Access-Control-Max-Age (Firefox at 86400 s, Chromium at 7200 s); more is ignored."""

_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}
_STANDARD_METHODS = frozenset(("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"))
_SPLIT_ORIGIN = re.compile(r"(?P<scheme>[^:/?#]*)://(?P<authority>[^/?#]*)(?P<rest>.*)", re.DOTALL)
_AUTHORITY = re.compile(r"(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>.*))?", re.DOTALL)

_CANARY_HOST = "corsfast-canary.invalid"
_CANARY_ORIGINS = ("null", "https://" + _CANARY_HOST)
_ANY_ORIGIN_PROBES = ("null", "https://" + _CANARY_HOST, "http://" + _CANARY_HOST + ":8080", "x")
"""A pattern that fullmatches all of these is the "any origin" idiom (`.*`), judged like `*`."""


def _lint(options: CORSOptions, exact: Iterable[str], strict: bool) -> None:
    """Warn (or, with `strict`, raise ValueError) about every dangerous or dead setting."""
    for origin in exact:
        _lint_exact_origin(origin, options.dialect, strict)
    any_origin = options.allow_all_origins
    for pattern in options.origin_patterns:
        any_origin |= _lint_pattern(_pattern_option(options.dialect), pattern, strict)
    if options.allow_credentials and any_origin:
        _warn(
            "allow_credentials=True with an allow-any origin rule reflects every Origin with "
            "credentials: any web site can read responses with the user's cookies",
            strict,
        )
    for method in options.allow_methods:
        upper = method.upper()
        if method != upper and upper in _STANDARD_METHODS:
            _warn(
                f"allow_methods: {method!r} never matches what browsers send: methods are "
                f"case-sensitive and browsers send {upper!r}",
                strict,
            )
    if options.max_age > MAX_AGE_CAP:
        _warn(
            f"max_age={options.max_age!r} is more than browsers keep a preflight answer "
            f"(Firefox caps it at {MAX_AGE_CAP}, Chromium at 7200 seconds); the extra is ignored",
            strict,
        )
    if options.allow_credentials and "*" in options.expose_headers:
        _warn(
            "expose_headers: '*' is a wildcard only without credentials; with "
            "allow_credentials=True browsers read it as a header named '*'",
            strict,
        )


def _pattern_option(dialect: str) -> str:
    return "allow_origin_regex" if dialect == "starlette" else "allow_origins"


def _lint_exact_origin(origin: str, dialect: str, strict: bool) -> None:
    if origin == "null":
        _warn(
            "allow_origins: 'null' is sent by sandboxed iframes, file: pages and redirects; any site can produce it",
            strict,
        )
        return
    if "*" in origin and dialect == "starlette":
        _warn(
            f"allow_origins: {origin!r} is compared literally (only a lone '*' is a wildcard), "
            "so it never matches; use allow_origin_regex for subdomains",
            strict,
        )
        return
    problem = _origin_problem(origin)
    if problem is not None:
        _warn(f"allow_origins: {origin!r} can never equal a browser's Origin header: {problem}", strict)


def _origin_problem(origin: str) -> str | None:
    """Return why no browser sends `origin` as its Origin header, or None when one can."""
    generic = "an Origin is scheme://host[:port], in lower case, with no path and no trailing slash"
    if not origin:
        return "it is empty"
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in origin):
        return "it contains whitespace or control characters"
    split = _SPLIT_ORIGIN.fullmatch(origin)
    if split is None:
        return f"it has no scheme (write 'https://{origin}' or 'http://{origin}')"
    scheme, authority, rest = split["scheme"], split["authority"], split["rest"]
    if rest:
        fixed = f"{scheme}://{authority}".lower()
        what = "a trailing slash" if rest == "/" else f"a path, query or fragment ({rest!r})"
        return f"it has {what}; write {fixed!r}"
    if origin != origin.lower() and origin.isascii():
        return f"browsers send it in lower case: write {origin.lower()!r}"
    parts = _AUTHORITY.fullmatch(authority)
    host, port = (parts["host"], parts["port"]) if parts else (authority, None)
    if not host.isascii():
        hint = ""
        try:
            ascii_host = host.lower().encode("idna").decode("ascii")
        except UnicodeError:
            pass
        else:
            hint = f"; write {f'{scheme}://{ascii_host}' + (f':{port}' if port is not None else '')!r}"
        return f"browsers send international host names in punycode (xn--){hint}"
    if port is not None and _DEFAULT_PORTS.get(scheme) == port:
        return f"browsers leave out the default port :{port}; write {f'{scheme}://{host}'!r}"
    if port is not None and (not port.isdigit() or not port.isascii() or int(port) > 65535):
        return f"its port {port!r} is not a number from 0 to 65535"
    if _HOST_ORIGIN.fullmatch(origin) is None:
        return generic
    return None


def _lint_pattern(name: str, pattern: re.Pattern[str], strict: bool) -> bool:
    """Warn about one origin pattern; return True when it is the "any origin" idiom."""
    findings, any_origin = pattern_findings(name, pattern)
    for _, message in findings:
        _warn(message, strict)
    return any_origin


def pattern_findings(name: str, pattern: re.Pattern[str]) -> tuple[list[tuple[str, str]], bool]:
    """Return the lint findings for one origin pattern, as `(kind, message)` pairs, and
    whether it is the "any origin" idiom. Kinds: "unescaped-dot", "redos", "over-broad".

    The structural checks read the parsed pattern and never run it. The canary probes do
    run it, on a few short strings, and only when no nested repeat could make even those
    backtrack for long. (Django's system checks turn the findings into their own warnings.)
    """
    findings: list[tuple[str, str]] = []
    try:
        parsed = _sre_parse.parse(pattern.pattern, pattern.flags)
    except Exception:  # pragma: no cover - it compiled, so it parses; never fail a lint
        return findings, False
    dot = _unescaped_dot(parsed.data)
    if dot is not None:
        head, tail = dot
        findings.append(
            (
                "unescaped-dot",
                f"{name}: pattern {pattern.pattern!r} has an unescaped '.' in {head + '.' + tail!r}: it "
                f"matches any character (so {head + 'X' + tail!r} matches too); write '\\.' for a literal dot",
            )
        )
    if _nested_repeat(parsed.data):
        findings.append(
            (
                "redos",
                f"{name}: pattern {pattern.pattern!r} nests a repeat inside a repeat without a separator, "
                "so a crafted Origin can make it backtrack for seconds (ReDoS); use a possessive "
                "quantifier ('++') or an atomic group, or a wildcard origin such as 'https://*.example.com'",
            )
        )
        return findings, False  # not probed: `(.*)*` takes seconds even on a 30-character canary
    if all(pattern.fullmatch(probe) for probe in _ANY_ORIGIN_PROBES):
        # `.*` allows any origin, as `*` does: only dangerous with credentials (checked there).
        return findings, True
    for canary in _canaries(pattern, parsed):
        if pattern.fullmatch(canary):
            findings.append(
                (
                    "over-broad",
                    f"{name}: pattern {pattern.pattern!r} also matches {canary!r}: it allows origins "
                    "its author probably did not mean",
                )
            )
            break
    return findings, False


try:  # Python 3.11+ (the old names warn there, and are gone from 3.13 on)
    _sre_parse = importlib.import_module("re._parser")
    _sre_constants = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - Python < 3.11
    _sre_parse = importlib.import_module("sre_parse")
    _sre_constants = importlib.import_module("sre_constants")

_LITERAL = _sre_constants.LITERAL
_NOT_LITERAL = _sre_constants.NOT_LITERAL
_ANY = _sre_constants.ANY
_IN = _sre_constants.IN
_RANGE = _sre_constants.RANGE
_SUBPATTERN = _sre_constants.SUBPATTERN
_BRANCH = _sre_constants.BRANCH
_AT = _sre_constants.AT
_BACKTRACKING_REPEATS = (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT)
_POSSESSIVE_REPEAT = getattr(_sre_constants, "POSSESSIVE_REPEAT", None)
_ATOMIC_GROUP = getattr(_sre_constants, "ATOMIC_GROUP", None)
_REPEATS = tuple(op for op in (*_BACKTRACKING_REPEATS, _POSSESSIVE_REPEAT) if op is not None)
_GROUPS = (_SUBPATTERN, _ATOMIC_GROUP)
_ALNUM = frozenset(map(ord, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
_NO_REPEAT_LIMIT = 2  # a repeat that can run its body at least twice can split input two ways


def _literal_run(items: list[tuple[Any, Any]]) -> str:
    """Return the literal characters that `items` starts with (`^`/`\\A` skipped)."""
    chars: list[str] = []
    for op, av in items:
        if op is _AT and not chars:
            continue
        if op is not _LITERAL:
            break
        chars.append(chr(av))
    return "".join(chars)


def _canaries(pattern: re.Pattern[str], parsed: Any) -> list[str]:
    """Return origins that a tight pattern never matches: `null`, an unrelated host, and
    variants of what the pattern itself matches (`<shortest match>.<canary>`,
    `<canary>example.com` for a pattern ending in `example.com`) that catch a `.*` after
    or before a host. Each is an origin a browser can send (no `/`, `@` or `?`): a pattern
    that only over-matches strings no browser sends, such as Starlette's documented
    `https://.*\\.example\\.org`, is fine."""
    canaries = list(_CANARY_ORIGINS)
    items = list(parsed.data)
    prefix = _literal_run(items)
    if len(prefix) == len(items):
        return canaries  # a literal pattern: it matches exactly one string
    shortest = _shortest(items)
    if shortest and "://" in shortest and pattern.fullmatch(shortest):
        canaries.append(f"{shortest}.{_CANARY_HOST}")
    suffix = _literal_run(items[::-1])[::-1]
    if suffix:
        start = prefix if "://" in prefix else "https://"
        canaries.append(f"{start}corsfast-canary{suffix[1:] if suffix.startswith('.') else suffix}")
    return canaries


_SHORTEST_LIMIT = 512
"""Longest match `_shortest` builds: canaries are origins, and browsers send short ones."""


def _shortest(items: list[tuple[Any, Any]]) -> str | None:
    """Return a short string that `items` matches (fewest repeats, first branch), or None."""
    out = []
    for op, av in items:
        if op is _LITERAL:
            out.append(chr(av))
        elif op is _IN:
            member_op, member = av[0]
            if member_op is _LITERAL:
                out.append(chr(member))
            elif member_op is _RANGE:
                out.append(chr(member[0]))
            else:
                return None
        elif op is _ANY:
            out.append("x")
        elif op in _REPEATS:
            body = _shortest(list(av[2])) if av[0] else ""
            if body is None or len(body) * av[0] > _SHORTEST_LIMIT:
                return None  # `x{4294967294}` would build gigabytes: no canary from it
            out.append(body * av[0])
        elif op is _SUBPATTERN or op is _ATOMIC_GROUP or op is _BRANCH:
            (child, *_) = _children(op, av)
            body = _shortest(child)
            if body is None:
                return None
            out.append(body)
        elif op is _AT:
            continue
        else:  # look-arounds, back-references, conditionals: give up
            return None
    return "".join(out)


def _unescaped_dot(items: list[tuple[Any, Any]]) -> tuple[str, str] | None:
    """Return the literal text before and after the first `.` that sits where a literal dot
    belongs in a host (between letters or digits, or after a group, class or repeat and
    before a letter or digit)."""
    for index, (op, av) in enumerate(items):
        if op is _ANY and 0 < index < len(items) - 1:
            before_op, before = items[index - 1]
            after_op, after = items[index + 1]
            if (
                after_op is _LITERAL
                and after in _ALNUM
                and (
                    (before_op is _LITERAL and before in _ALNUM)
                    or before_op in _REPEATS
                    or before_op in _GROUPS
                    or before_op is _IN
                )
            ):
                head = _literal_run(items[index - 1 :: -1])[::-1]
                return head, _literal_run(items[index + 1 :])
        for child in _children(op, av):
            found = _unescaped_dot(child)
            if found is not None:
                return found
    return None


def _children(op: Any, av: Any) -> list[list[tuple[Any, Any]]]:
    """Return the sub-sequences of one parsed item (repeat bodies, groups, branches, asserts)."""
    if op in _REPEATS:
        return [list(av[2])]
    if op is _SUBPATTERN:
        return [list(av[3])]
    if op is _ATOMIC_GROUP:
        return [list(av)]
    if op is _BRANCH:
        return [list(branch) for branch in av[1]]
    if op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
        return [list(av[1])]
    if op is _sre_constants.GROUPREF_EXISTS:
        return [list(branch) for branch in av[1:] if branch is not None]
    return []


def _nested_repeat(items: list[tuple[Any, Any]]) -> bool:
    """Return True when a backtracking repeat's body holds another repeat that can eat the
    same characters, with no mandatory separator between iterations: `(a+)+`, `([a-z]+-?)+`,
    `(.*)*`. A separator that the inner repeats cannot eat, as in `([a-z0-9-]+\\.)+`,
    makes each split unique and the match linear, so it is not reported."""
    for op, av in items:
        if op in _BACKTRACKING_REPEATS and av[1] >= _NO_REPEAT_LIMIT:
            body = list(av[2])
            inner = _inner_repeats(body)
            if inner and not _has_separator(body, _union(inner)):
                return True
        for child in _children(op, av):
            if _nested_repeat(child):
                return True
    return False


def _inner_repeats(items: list[tuple[Any, Any]]) -> list[list[tuple[Any, Any]]]:
    """Return the bodies of every repeat (any depth) in `items` that can run more than once."""
    found = []
    for op, av in items:
        if op is _POSSESSIVE_REPEAT or op is _ATOMIC_GROUP:
            continue  # matched once, never re-split: no backtracking into it
        if op in _BACKTRACKING_REPEATS and av[1] >= _NO_REPEAT_LIMIT:
            found.append(list(av[2]))
        for child in _children(op, av):
            found.extend(_inner_repeats(child))
    return found


def _union(bodies: list[list[tuple[Any, Any]]]) -> frozenset[int] | None:
    """Return every character the bodies can consume, or None for "any character"."""
    chars: set[int] = set()
    for body in bodies:
        found = _chars(body)
        if found is None:
            return None
        chars |= found
    return frozenset(chars)


def _chars(items: list[tuple[Any, Any]]) -> set[int] | None:
    chars: set[int] = set()
    for op, av in items:
        if op is _LITERAL:
            chars |= _cased(av)
        elif op is _IN:
            found = _class_chars(av)
            if found is None:
                return None
            chars |= found
        elif op is _AT:
            continue
        elif (
            op in _REPEATS
            or op in _GROUPS
            or op is _BRANCH
            or op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT, _sre_constants.GROUPREF_EXISTS)
        ):
            for child in _children(op, av):
                found = _chars(child)
                if found is None:
                    return None
                chars |= found
        else:  # ANY, NOT_LITERAL, back-references and the rest: assume anything
            return None
    return chars


def _cased(code: int) -> set[int]:
    """Return `code` and its case variants (case-insensitive flags may be on: be generous)."""
    char = chr(code)
    return {code, *(ord(c) for c in (char.lower(), char.upper()) if len(c) == 1)}


def _class_chars(members: list[tuple[Any, Any]]) -> set[int] | None:
    chars: set[int] = set()
    for op, av in members:
        if op is _LITERAL:
            chars |= _cased(av)
        elif op is _RANGE and av[1] - av[0] < 512:
            for code in range(av[0], av[1] + 1):
                chars |= _cased(code)
        else:  # NEGATE, CATEGORY (\d, \w, ...), huge ranges: assume anything
            return None
    return chars


def _has_separator(body: list[tuple[Any, Any]], inner: frozenset[int] | None) -> bool:
    """Return True when `body` must match one character that no inner repeat can eat."""
    if inner is None:
        return False
    for op, av in body:
        if op is _LITERAL:
            if not _cased(av) & inner:
                return True
        elif op is _IN:
            found = _class_chars(av)
            if found is not None and not found & inner:
                return True
        elif op is _SUBPATTERN and _has_separator(list(av[3]), inner):
            return True
    return False
