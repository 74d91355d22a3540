"""The reasons corsfast gives for every CORS decision: one vocabulary for the counters, the
refusal logs and `corsfast check`."""

from __future__ import annotations

from typing import NamedTuple

__all__ = (
    "ALLOWED",
    "FUNC_ERROR",
    "FUNC_REFUSED",
    "HEADER_NOT_ALLOWED",
    "KINDS",
    "METHOD_NOT_ALLOWED",
    "NO_ORIGIN",
    "ORIGIN_INVALID",
    "ORIGIN_NOT_ALLOWED",
    "PREFLIGHT",
    "PRIVATE_NETWORK_NOT_ALLOWED",
    "REASONS",
    "REASON_IDS",
    "SIMPLE",
    "Reason",
)


class Reason(NamedTuple):
    """One reason: its id (as counters, logs and `corsfast check` print it) and what it means."""

    id: str
    meaning: str


REASONS: tuple[Reason, ...] = (
    Reason("allowed", "the request's origin (and, for a preflight, its method and headers) is allowed"),
    Reason("no_origin", "the request has no Origin header: not a CORS request, answered as usual"),
    Reason("origin_not_allowed", "no rule allows the origin"),
    Reason("origin_invalid", "the Origin holds a control character, is longer than the limit, or is malformed"),
    Reason("method_not_allowed", "a preflight asks for a method that is not allowed"),
    Reason("header_not_allowed", "a preflight asks for a header that is not allowed"),
    Reason("private_network_not_allowed", "a preflight asks for private network access, which is not allowed"),
    Reason("func_refused", "`allow_origin_func` refused the origin"),
    Reason("func_error", "`allow_origin_func` raised: the origin is refused for that request"),
)
"""Every reason, in the order the counters keep them (an index is a reason's number)."""

REASON_IDS: tuple[str, ...] = tuple(reason.id for reason in REASONS)
"""The reasons' ids, in order."""

# The reasons' numbers, as the engines count them (their index in REASONS).
ALLOWED = 0
NO_ORIGIN = 1
ORIGIN_NOT_ALLOWED = 2
ORIGIN_INVALID = 3
METHOD_NOT_ALLOWED = 4
HEADER_NOT_ALLOWED = 5
PRIVATE_NETWORK_NOT_ALLOWED = 6
FUNC_REFUSED = 7
FUNC_ERROR = 8

KINDS: tuple[str, ...] = ("simple", "preflight")
"""The kinds of request counted apart: any request but a preflight, and a preflight."""
SIMPLE = 0
PREFLIGHT = 1
