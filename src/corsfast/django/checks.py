"""System checks: django-cors-headers' errors (same IDs, same messages), and corsfast's warnings.

The app config registers both under the security tag. `check_settings` is
django-cors-headers 4.9's check: `manage.py check` reports what django-cors-headers reports,
`corsheaders.E001` to `corsheaders.E015`, so existing `SILENCED_SYSTEM_CHECKS` entries and
`--fail-level WARNING` runs keep working. Its one addition is `corsfast.W011`, for an allowed
origin that `urlsplit` cannot parse, where django-cors-headers' check raises instead.

`check_corsfast_settings` checks corsfast's own settings: `corsfast.E001` to `corsfast.E003`
for `CORSFAST_NAME`, `CORSFAST_LOG_INTERVAL` and `CORSFAST_TOP_REFUSED_SIZE`, `corsfast.E004`
to `corsfast.E006` for `CORSFAST_REPORT_ONLY` (not a dict, a key it does not take, a value
django-cors-headers' checks refuse or the report-only policy cannot run with).

`check_deploy_settings` is a deployment check (`manage.py check --deploy`, Django's place
for production concerns): corsfast's warnings `corsfast.W001` to `corsfast.W010` report
settings that are valid but dangerous, or that cannot work as written; the answers do not
change. Silence one with `SILENCED_SYSTEM_CHECKS = ["corsfast.W002"]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .._observe.observer import observer_options
from .._options.base import _TCHARS
from .._options.lint import _CANARY_HOST, _origin_problem, _sre_constants, _sre_parse, pattern_findings
from ._compile import REPORT_ONLY_SETTINGS
from .conf import conf

__all__ = ("check_corsfast_settings", "check_deploy_settings", "check_settings", "is_sequence", "re_type")

re_type = type(re.compile(""))

_SPECIAL_ORIGINS = (
    "null",  # sent from "security sensitive" contexts
    "file://",  # sent by Chrome on Android for files
)

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but tab, as _compile refuses them

_PATTERN_KINDS = {"unescaped-dot": "corsfast.W004", "redos": "corsfast.W005", "over-broad": "corsfast.W006"}


def is_sequence(thing: Any, type_or_types: type[Any] | tuple[type[Any], ...]) -> bool:
    """Return True when `thing` is a Sequence whose items are all `type_or_types`."""
    return isinstance(thing, Sequence) and all(isinstance(x, type_or_types) for x in thing)


def check_settings(**kwargs: Any) -> list[CheckMessage]:
    """Return django-cors-headers' errors for the CORS settings, in its order (and
    `corsfast.W011` for an origin that cannot be parsed, where its check raises)."""
    errors: list[CheckMessage] = []
    for name, check in _SETTING_CHECKS.items():
        alias = _ALIASES.get(name)
        errors += check(getattr(conf, name), name if alias is None else alias())
    if hasattr(settings, "CORS_MODEL"):
        errors.append(
            Error("The CORS_MODEL setting has been removed - see django-cors-headers' HISTORY.", id="corsheaders.E012")
        )
    if hasattr(settings, "CORS_REPLACE_HTTPS_REFERER"):
        # django-cors-headers 4.9 reports this one as E013 too.
        errors.append(
            Error(
                "The CORS_REPLACE_HTTPS_REFERER setting has been removed - see django-cors-headers' CHANGELOG.",
                id="corsheaders.E013",
            )
        )
    return errors


# django-cors-headers' check of each setting: (value, the name it is set under) -> messages.


def _allow_headers(value: Any, name: str) -> list[CheckMessage]:
    if not is_sequence(value, str):
        return [Error(f"{name} should be a sequence of strings.", id="corsheaders.E001")]
    return []


def _allow_methods(value: Any, name: str) -> list[CheckMessage]:
    if not is_sequence(value, str):
        return [Error(f"{name} should be a sequence of strings.", id="corsheaders.E002")]
    return []


def _bool(error_id: str) -> Callable[[Any, str], list[CheckMessage]]:
    def check(value: Any, name: str) -> list[CheckMessage]:
        if not isinstance(value, bool):
            return [Error(f"{name} should be a bool.", id=error_id)]
        return []

    return check


def _max_age(value: Any, name: str) -> list[CheckMessage]:
    if not isinstance(value, int) or value < 0:
        return [Error(f"{name} should be an integer greater than or equal to zero.", id="corsheaders.E004")]
    return []


def _allowed_origins(value: Any, name: str) -> list[CheckMessage]:
    if not is_sequence(value, str):
        return [Error(f"{name} should be a sequence of strings.", id="corsheaders.E006")]
    errors: list[CheckMessage] = []
    for origin in value:
        if origin in _SPECIAL_ORIGINS:
            continue
        try:
            parsed = urlsplit(origin)
        except ValueError as exc:
            # django-cors-headers' check raises here, which stops `manage.py check`.
            errors.append(_unparsable_origin(origin, name, exc))
            continue
        if parsed.scheme == "" or parsed.netloc == "":
            errors.append(
                Error(
                    f"Origin {origin!r} in {name} is missing scheme or netloc",
                    id="corsheaders.E013",
                    hint="Add a scheme (e.g. https://) or netloc (e.g. example.com).",
                )
            )
        else:
            # Only with a scheme: without one the netloc ends up in the path.
            for part in ("path", "query", "fragment"):
                if getattr(parsed, part) != "":
                    errors.append(Error(f"Origin {origin!r} in {name} should not have {part}", id="corsheaders.E014"))
    return errors


def _origin_regexes(value: Any, name: str) -> list[CheckMessage]:
    if not is_sequence(value, (str, re_type)):
        return [Error(f"{name} should be a sequence of strings and/or compiled regexes.", id="corsheaders.E007")]
    return []


def _expose_headers(value: Any, name: str) -> list[CheckMessage]:
    if not is_sequence(value, str):
        return [Error(f"{name} should be a sequence.", id="corsheaders.E008")]
    return []


def _urls_regex(value: Any, name: str) -> list[CheckMessage]:
    if not isinstance(value, (str, re_type)):
        return [Error(f"{name} should be a string or regex.", id="corsheaders.E009")]
    return []


_SETTING_CHECKS: dict[str, Callable[[Any, str], list[CheckMessage]]] = {
    "CORS_ALLOW_HEADERS": _allow_headers,
    "CORS_ALLOW_METHODS": _allow_methods,
    "CORS_ALLOW_CREDENTIALS": _bool("corsheaders.E003"),
    "CORS_ALLOW_PRIVATE_NETWORK": _bool("corsheaders.E015"),
    "CORS_PREFLIGHT_MAX_AGE": _max_age,
    "CORS_ALLOW_ALL_ORIGINS": _bool("corsheaders.E005"),
    "CORS_ALLOWED_ORIGINS": _allowed_origins,
    "CORS_ALLOWED_ORIGIN_REGEXES": _origin_regexes,
    "CORS_EXPOSE_HEADERS": _expose_headers,
    "CORS_URLS_REGEX": _urls_regex,
}
"""django-cors-headers' checks of the settings, in its order."""


def _all_alias() -> str:
    return "CORS_ALLOW_ALL_ORIGINS" if hasattr(settings, "CORS_ALLOW_ALL_ORIGINS") else "CORS_ORIGIN_ALLOW_ALL"


def _unparsable_origin(origin: str, alias: str, exc: ValueError) -> CheckMessage:
    return Warning(
        f"Origin {origin!r} in {alias} cannot be parsed ({exc}): every request with an "
        "Origin that the other settings do not allow fails with ValueError.",
        id="corsfast.W011",
    )


_ALIASES: dict[str, Callable[[], str]] = {}


def _origins_alias() -> str:
    return "CORS_ALLOWED_ORIGINS" if hasattr(settings, "CORS_ALLOWED_ORIGINS") else "CORS_ORIGIN_WHITELIST"


def _regexes_alias() -> str:
    return (
        "CORS_ALLOWED_ORIGIN_REGEXES"
        if hasattr(settings, "CORS_ALLOWED_ORIGIN_REGEXES")
        else "CORS_ORIGIN_REGEX_WHITELIST"
    )


_ALIASES.update(
    CORS_ALLOW_ALL_ORIGINS=_all_alias,
    CORS_ALLOWED_ORIGINS=_origins_alias,
    CORS_ALLOWED_ORIGIN_REGEXES=_regexes_alias,
)


# -- corsfast's own settings ----------------------------------------------------------------

_LEGACY_NAMES = {
    "CORS_ORIGIN_ALLOW_ALL": "CORS_ALLOW_ALL_ORIGINS",
    "CORS_ORIGIN_WHITELIST": "CORS_ALLOWED_ORIGINS",
    "CORS_ORIGIN_REGEX_WHITELIST": "CORS_ALLOWED_ORIGIN_REGEXES",
}


def check_corsfast_settings(**kwargs: Any) -> list[CheckMessage]:
    """Return the errors in corsfast's own settings: `corsfast.E001` to `corsfast.E003` for
    `CORSFAST_NAME`, `CORSFAST_LOG_INTERVAL` and `CORSFAST_TOP_REFUSED_SIZE`, `corsfast.E004`
    to `corsfast.E006` for `CORSFAST_REPORT_ONLY` (the middleware refuses to start with any)."""
    errors: list[CheckMessage] = []
    for error_id, name, (options) in (
        ("corsfast.E001", "CORSFAST_NAME", (conf.CORSFAST_NAME, 60, 32)),
        ("corsfast.E002", "CORSFAST_LOG_INTERVAL", (None, conf.CORSFAST_LOG_INTERVAL, 32)),
        ("corsfast.E003", "CORSFAST_TOP_REFUSED_SIZE", (None, 60, conf.CORSFAST_TOP_REFUSED_SIZE)),
    ):
        try:
            observer_options(*options)
        except (TypeError, ValueError) as exc:
            errors.append(Error(f"{name}: {exc}.", id=error_id))
    errors += _report_only_errors(conf.CORSFAST_REPORT_ONLY)
    return errors


def _report_only_errors(replaced: Any) -> list[CheckMessage]:
    if replaced is None:
        return []
    if not isinstance(replaced, dict):
        return [
            Error(
                f"CORSFAST_REPORT_ONLY should be a dict of CORS settings, got {type(replaced).__name__}.",
                hint='CORSFAST_REPORT_ONLY = {"CORS_ALLOWED_ORIGINS": [...]}',
                id="corsfast.E004",
            )
        ]
    errors: list[CheckMessage] = []
    for name, value in replaced.items():
        if name not in REPORT_ONLY_SETTINGS:
            hint = (
                f"Write its current name, {_LEGACY_NAMES[name]}."
                if name in _LEGACY_NAMES
                else f"It takes {', '.join(REPORT_ONLY_SETTINGS)}: the settings that decide whether a browser "
                "allows a request."
            )
            errors.append(
                Error(f"CORSFAST_REPORT_ONLY: {name!r} is not a setting it takes.", hint=hint, id="corsfast.E005")
            )
            continue
        for found in _SETTING_CHECKS[name](value, name) + _report_only_extra(name, value):
            errors.append(Error(f"CORSFAST_REPORT_ONLY: {found.msg}", hint=found.hint, id="corsfast.E006"))
    return errors


def _report_only_extra(name: str, value: Any) -> list[CheckMessage]:
    """Return what the enforced settings only warn of, but a report-only policy cannot run with."""
    found: list[CheckMessage] = []
    if name == "CORS_ALLOWED_ORIGIN_REGEXES" and is_sequence(value, (str, re_type)):
        for regex in value:
            try:
                pattern = re.compile(regex) if isinstance(regex, str) else regex
            except re.error as exc:
                found.append(Warning(f"{name}: pattern {regex!r} does not compile ({exc})", id="corsfast.E006"))
                continue
            if not isinstance(pattern.pattern, str):
                found.append(Warning(f"{name}: pattern {pattern.pattern!r} is a bytes pattern", id="corsfast.E006"))
    for item_name in ("CORS_ALLOW_HEADERS", "CORS_ALLOW_METHODS"):
        if name == item_name and is_sequence(value, str):
            for item in value:
                if _CONTROL.search(item):
                    found.append(Warning(f"{name} item {item!r} holds a control character", id="corsfast.E006"))
    return found


# -- corsfast's warnings: valid settings that are dangerous or cannot work ------------------


def check_deploy_settings(**kwargs: Any) -> list[CheckMessage]:
    """Return corsfast's warnings (`corsfast.W001` to `corsfast.W010`) for CORS settings that
    are valid but dangerous, or that cannot work as written."""
    found: list[CheckMessage] = []
    any_origin_pattern = _check_regexes(found)
    credentials = conf.CORS_ALLOW_CREDENTIALS is True
    allow_all = conf.CORS_ALLOW_ALL_ORIGINS is True
    if credentials and (allow_all or any_origin_pattern):
        what = "CORS_ALLOW_ALL_ORIGINS" if allow_all else f"a pattern in {_regexes_alias()} that matches any origin"
        found.append(
            Warning(
                f"{what} with CORS_ALLOW_CREDENTIALS = True reflects every Origin with credentials: "
                "any web site can read responses with the user's cookies.",
                hint="List the origins that may read credentialed responses in CORS_ALLOWED_ORIGINS.",
                id="corsfast.W001",
            )
        )
    _check_origins(found)
    _check_lists(found)
    _check_urls_regex(found)
    return found


def _check_origins(found: list[CheckMessage]) -> None:
    origins = conf.CORS_ALLOWED_ORIGINS
    if not is_sequence(origins, str) or isinstance(origins, str):
        return
    alias = _origins_alias()
    for origin in origins:
        if origin == "null":
            found.append(
                Warning(
                    f"'null' in {alias} allows the Origin that sandboxed iframes, file: pages and "
                    "redirects send, which any web site can produce; and since origins are compared by "
                    "scheme and host, it also allows any Origin without either, such as 'foo'.",
                    id="corsfast.W002",
                )
            )
            continue
        if origin in _SPECIAL_ORIGINS:
            continue
        try:
            parsed = urlsplit(origin)
        except ValueError:
            continue  # corsfast.W011, reported by check_settings
        if not parsed.scheme or not parsed.netloc or parsed.path or parsed.query or parsed.fragment:
            continue  # corsheaders.E013 / E014
        # Compared by scheme (which urlsplit lower-cases) and netloc (compared as written).
        problem = _origin_problem(f"{parsed.scheme}://{parsed.netloc}")
        if problem is not None:
            found.append(
                Warning(
                    f"Origin {origin!r} in {alias} can never equal a browser's Origin header: {problem}.",
                    id="corsfast.W003",
                )
            )


def _check_regexes(found: list[CheckMessage]) -> bool:
    """Append the pattern warnings; return True when a pattern matches any origin."""
    regexes = conf.CORS_ALLOWED_ORIGIN_REGEXES
    if not is_sequence(regexes, (str, re_type)):
        return False
    alias = _regexes_alias()
    if isinstance(regexes, str):
        found.append(_bare_string(alias, "pattern"))
        return False
    any_origin = False
    for regex in regexes:
        if isinstance(regex, str):
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                found.append(
                    Warning(
                        f"{alias}: pattern {regex!r} does not compile ({exc}): every request with an "
                        "Origin that the other settings do not allow fails with re.error.",
                        id="corsfast.W010",
                    )
                )
                continue
        elif isinstance(regex.pattern, str):
            pattern = regex
        else:
            found.append(
                Warning(
                    f"{alias}: pattern {regex.pattern!r} is a bytes pattern: every request with an "
                    "Origin that the other settings do not allow fails with TypeError.",
                    id="corsfast.W010",
                )
            )
            continue
        findings, matches_any = pattern_findings(alias, pattern)
        any_origin |= matches_any
        for kind, message in findings:
            found.append(Warning(message + ".", id=_PATTERN_KINDS[kind]))
        start_only = _start_only_match(pattern)
        if start_only is not None:
            found.append(
                Warning(
                    f"{alias}: pattern {pattern.pattern!r} does not end with '$': django-cors-headers "
                    f"matched only its start, so it also allowed {start_only!r}; corsfast matches the "
                    "whole Origin, so origins that only start with a match are no longer allowed.",
                    hint="End the pattern with '$' (or with '.*' where a prefix was meant).",
                    id="corsfast.W007",
                )
            )
    return any_origin


def _start_only_match(pattern: re.Pattern[str]) -> str | None:
    """Return an Origin that `pattern.match` allows and `pattern.fullmatch` refuses, if any."""
    try:
        example = _example(list(_sre_parse.parse(pattern.pattern, pattern.flags).data))
    except Exception:  # pragma: no cover - it compiled, so it parses; never fail a check
        return None
    if example is None or pattern.fullmatch(example) is None:
        return None
    probe = f"{example}.{_CANARY_HOST}"
    if pattern.match(probe) is not None and pattern.fullmatch(probe) is None:
        return probe
    return None


_CATEGORY_EXAMPLES = {
    _sre_constants.CATEGORY_WORD: "a",
    _sre_constants.CATEGORY_DIGIT: "0",
    _sre_constants.CATEGORY_NOT_SPACE: "a",
}


def _example(items: list[tuple[Any, Any]]) -> str | None:
    """Return a short string the parsed `items` match (fewest repeats, first branch), or None."""
    out = []
    for op, av in items:
        if op is _sre_constants.LITERAL:
            out.append(chr(av))
        elif op is _sre_constants.ANY:
            out.append("a")
        elif op is _sre_constants.IN:
            member_op, member = av[0]
            if member_op is _sre_constants.LITERAL:
                out.append(chr(member))
            elif member_op is _sre_constants.RANGE:
                out.append(chr(member[0]))
            elif member_op is _sre_constants.CATEGORY and member in _CATEGORY_EXAMPLES:
                out.append(_CATEGORY_EXAMPLES[member])
            else:
                return None
        elif op in (_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT):
            body = _example(list(av[2])) if av[0] else ""
            if body is None:
                return None
            out.append(body * av[0])
        elif op is _sre_constants.SUBPATTERN:
            body = _example(list(av[3]))
            if body is None:
                return None
            out.append(body)
        elif op is _sre_constants.BRANCH:
            body = _example(list(av[1][0]))
            if body is None:
                return None
            out.append(body)
        elif op is not _sre_constants.AT:
            return None  # look-arounds, back-references, ...: no example
    return "".join(out)


def _check_lists(found: list[CheckMessage]) -> None:
    for name, value in (
        ("CORS_ALLOW_HEADERS", conf.CORS_ALLOW_HEADERS),
        ("CORS_ALLOW_METHODS", conf.CORS_ALLOW_METHODS),
        ("CORS_EXPOSE_HEADERS", conf.CORS_EXPOSE_HEADERS),
    ):
        if not is_sequence(value, str):
            continue
        if isinstance(value, str):
            found.append(_bare_string(name, "item"))
            continue
        for item in value:
            if not item or not item.isascii() or not _TCHARS.issuperset(item.encode("ascii")):
                consequence = "browsers refuse the whole header"
                if "\n" in item or "\r" in item:
                    consequence = "Django refuses to send it (BadHeaderError)"
                found.append(
                    Warning(
                        f"{name} item {item!r} is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~): "
                        f"{consequence}.",
                        id="corsfast.W009",
                    )
                )


def _bare_string(name: str, what: str) -> CheckMessage:
    return Warning(
        f"{name} is a str, so each of its characters is a separate {what}.",
        hint=f"Write a list: {name} = [...]",
        id="corsfast.W008",
    )


def _check_urls_regex(found: list[CheckMessage]) -> None:
    regex = conf.CORS_URLS_REGEX
    if isinstance(regex, str):
        try:
            re.compile(regex)
        except re.error as exc:
            found.append(
                Warning(
                    f"CORS_URLS_REGEX {regex!r} does not compile ({exc}): every request fails with re.error.",
                    id="corsfast.W010",
                )
            )
