"""The reason `corsfast check` gives for a request: the id that corsfast's counters
(`stats()`) and refusal logs give the same request, for what a browser concludes from the
answers.

A browser sees only the answers, so the reason comes from the rules that failed: each rule
gives one reason (`RULE_REASONS`), and when several failed the reason that comes first in
`PRECEDENCE` wins (the origin first, then the method, then the headers), as the counters
order them. A server's own counters can be more precise about the origin: an
`allow_origin_func` that refused or raised (`func_refused`, `func_error`) answers as any
refused origin does, so the check says `origin_not_allowed`; it says `origin_invalid` only
for an origin corsfast refuses with its default options before any rule
(`origin_is_invalid`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Optional

from .._options import DEFAULT_MAX_ORIGIN_LENGTH

__all__ = ("PRECEDENCE", "RULE_REASONS", "STATUS_ONLY_REASON", "origin_is_invalid", "request_reason")

RULE_REASONS: Mapping[str, Optional[str]] = MappingProxyType(
    {
        # The CORS check (on the preflight or the actual response): the answer does not admit
        # the origin in this credentials mode.
        "allow-origin-missing": "origin_not_allowed",
        "allow-origin-multiple": "origin_not_allowed",
        "allow-origin-mismatch": "origin_not_allowed",
        "allow-origin-wildcard-credentials": "origin_not_allowed",
        "allow-credentials-missing": "origin_not_allowed",
        "allow-credentials-invalid": "origin_not_allowed",
        # The preflight's method rules (an unreadable Access-Control-Allow-Methods allows none).
        "allow-methods-invalid": "method_not_allowed",
        "method-not-allowed": "method_not_allowed",
        "method-wildcard-credentials": "method_not_allowed",
        # The preflight's header rules (an unreadable Access-Control-Allow-Headers allows none).
        "allow-headers-invalid": "header_not_allowed",
        "header-not-allowed": "header_not_allowed",
        "header-authorization-wildcard": "header_not_allowed",
        "header-wildcard-credentials": "header_not_allowed",
        # A non-2xx preflight says that the preflight failed, not why: the other failed rules
        # say it (a CORS middleware's 400 leaves out the origin, method or header it refused).
        "preflight-status": None,
    }
)
"""Each rule `corsfast check` applies (`Failure.rule`) -> the reason a failure of it gives
(None, as for a rule not listed: the rule names no cause of its own)."""

PRECEDENCE: tuple[str, ...] = (
    "origin_invalid",
    "origin_not_allowed",
    "method_not_allowed",
    "header_not_allowed",
    "private_network_not_allowed",
)
"""The reasons a refusal can have, the one a browser's refusal is counted under first."""

STATUS_ONLY_REASON = "origin_not_allowed"
"""The reason of a preflight that failed on its status alone (origin, method and headers
admitted): the browser refuses the origin's request as a whole."""


def origin_is_invalid(origin: str) -> bool:
    """Return whether corsfast refuses `origin` before any rule sees it: longer than the default
    limit (`max_origin_length`, 2048 bytes) or holding a control character."""
    return len(origin.encode("utf-8")) > DEFAULT_MAX_ORIGIN_LENGTH or any(
        character < " " or character == "\x7f" for character in origin
    )


def request_reason(rules: Iterable[str], origin: str) -> str:
    """Return the reason id for a checked request whose failed rules are `rules` (empty:
    allowed), sent with Origin `origin`.

    The failed rules' reasons, the first in `PRECEDENCE` winning, with `origin_not_allowed`
    read as `origin_invalid` when corsfast refuses the origin itself (`origin_is_invalid`);
    `STATUS_ONLY_REASON` when no failed rule names a cause.
    """
    reasons = [RULE_REASONS.get(rule) for rule in rules]
    if not reasons:
        return "allowed"
    named = [reason for reason in reasons if reason is not None]
    if not named:
        return STATUS_ONLY_REASON
    reason = min(named, key=PRECEDENCE.index)
    if reason == "origin_not_allowed" and origin_is_invalid(origin):
        return "origin_invalid"
    return reason
