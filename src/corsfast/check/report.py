"""The check itself: what a browser's fetch() does for a request, every rule that failed, with
hints at the fix, rendered as text or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

from . import fetch
from ._terminal import paint, wrap
from .reasons import request_reason
from .request import CHROMIUM_SAFELISTED_CLIENT_HINTS, JSON_VERSION, SPEC_URL, USER_AGENT, CheckRequest
from .runner import Exchange, Transport

__all__ = ("Problem", "Report", "check")


@dataclass
class Problem:
    """A failed rule with the stage it failed in."""

    stage: str
    failure: fetch.Failure

    def to_json(self) -> dict[str, Any]:
        f = self.failure
        return {
            "stage": self.stage,
            "rule": f.rule,
            "message": f.message,
            "headers": list(f.lines),
            "hint": f.hint,
            "spec": SPEC_URL + f.spec if f.spec else None,
        }


@dataclass
class Report:
    """Everything `corsfast check` found; `to_text` and `to_json` render it."""

    target: str
    url: str
    request: CheckRequest
    preflight_reasons: list[str] = field(default_factory=list)
    preflight: Optional[Exchange] = None
    preflight_result: Optional[fetch.PreflightResult] = None
    actual: Optional[Exchange] = None
    problems: list[Problem] = field(default_factory=list)
    readable: Optional[list[str]] = None
    hidden: Optional[list[str]] = None
    probes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.problems

    @property
    def exit_status(self) -> int:
        return 0 if self.allowed else 1

    @property
    def reason(self) -> str:
        """Return the reason id a browser's verdict comes to, in the vocabulary of corsfast's
        counters and refusal logs (`corsfast.check.reasons`)."""
        return request_reason((problem.failure.rule for problem in self.problems), self.request.origin)

    def to_json(self) -> dict[str, Any]:
        result = self.preflight_result
        preflight: dict[str, Any] = {
            "needed": bool(self.preflight_reasons),
            "reasons": list(self.preflight_reasons),
            "exchange": self.preflight.to_json() if self.preflight else None,
            "passed": None if result is None else result.ok,
            "allow_methods": None if result is None else _listed(result.methods),
            "allow_headers": None if result is None else _listed(result.header_names),
            "max_age": None if result is None else result.max_age,
        }
        return {
            "corsfast_check": JSON_VERSION,
            "verdict": "allowed" if self.allowed else "blocked",
            "reason": self.reason,
            "exit_status": self.exit_status,
            "target": self.target,
            "url": self.url,
            "origin": self.request.origin,
            "method": self.request.method,
            "credentials": self.request.credentials,
            "request_headers": [[name, value] for name, value in self.request.headers],
            "preflight": preflight,
            "actual": None
            if self.actual is None
            else {**self.actual.to_json(), "passed": not any(p.stage == "actual" for p in self.problems)},
            "blocked_by": self.problems[0].to_json() if self.problems else None,
            "failures": [problem.to_json() for problem in self.problems],
            "readable_headers": self.readable,
            "hidden_headers": self.hidden,
            "probes": self.probes,
            "notes": list(self.notes),
        }

    def fixes(self) -> list[Problem]:
        """Return the failures that carry a hint, in the order their fixes are shown.

        The rule: a hint that names the change to make comes before a hint that only explains
        its failure and refers to the others (`Failure.hint_refers`, e.g. "the CORS middleware
        refused the preflight"); within each group, failures keep the Fetch standard's order.
        So the first `fix:` line of a BLOCKED report is an actionable one whenever any exists.
        """
        hinted = [problem for problem in self.problems if problem.failure.hint]
        return sorted(hinted, key=lambda problem: problem.failure.hint_refers)

    def to_text(self, width: Optional[int] = None, color: bool = False) -> str:
        """Return the report as text: lines wrapped at word boundaries to `width` columns
        (None: not wrapped), with ANSI colours when `color` is true."""
        r = self.request
        mode = "include" if r.credentials else "omit"
        out = [
            f"{'ALLOWED' if self.allowed else 'BLOCKED'}  {r.method} {self.url}  from {r.origin}  (credentials: {mode})"
        ]
        if self.problems:
            first = self.problems[0]
            out.append(f"  blocked by:  {first.stage}: {first.failure.message}  [{first.failure.rule}]")
            seen = first.failure.lines or ("(header absent)",)
            if first.failure.rule == "preflight-status":
                seen = ()
            for line in seen:
                out.append(f"  seen:        < {line}")
            fixes = self.fixes()
            shown = fixes[0] if fixes else None
            if shown is not None:
                out.append(f"  fix:         {shown.failure.hint}")
            if first.failure.hint and first is not shown:
                out.append(f"  why:         {first.failure.hint}")
            for problem in self.problems[1:]:
                out.append(f"  also:        {problem.stage}: {problem.failure.message}  [{problem.failure.rule}]")
                if problem.failure.hint and problem is not shown:
                    out.append(f"               fix: {problem.failure.hint}")
            out.append(f"  reason:      {self.reason}")
        elif self.readable is not None:
            out.append(f"  JavaScript can read:  {', '.join(self.readable) or '(no headers)'}")
            if self.hidden:
                out.append(f"  hidden from it:       {', '.join(self.hidden)}")
            out.append(f"  reason:               {self.reason}")
        out.append("")
        if self.preflight_reasons:
            out.append("Preflight: needed, because")
            out.extend(f"  - {reason}" for reason in self.preflight_reasons)
            if self.preflight is not None:
                out.extend(_exchange_lines(self.preflight))
            if self.preflight_result is not None and self.preflight_result.ok:
                out.append(f"  passed; a browser may cache this result for {self.preflight_result.max_age} s")
        else:
            out.append(f"Preflight: not needed ({r.method} with CORS-safelisted headers only)")
        if self.actual is not None:
            out.append("Actual request:")
            out.extend(_exchange_lines(self.actual))
        else:
            out.append("Actual request: not sent (a browser stops at a failed preflight)")
        if self.probes:
            out.append(
                "Near-miss origins tried: "
                + ", ".join(f"{p['origin']} {'ALLOWED' if p['allowed'] else 'refused'}" for p in self.probes)
            )
        for note in self.notes:
            out.append(f"note: {note}")
        if width is not None:
            out = [piece for line in out for piece in wrap(line, width)]
        if color:
            out = [paint(line) for line in out]
        return "\n".join(out)


def _listed(value: Any) -> Any:
    if value is fetch.FAILURE:
        return "invalid"
    return value


def _exchange_lines(exchange: Exchange) -> list[str]:
    lines = [f"  > {exchange.method} {exchange.path}"]
    lines += [f"  > {name}: {value}" for name, value in exchange.request_headers]
    lines.append(f"  < {exchange.status} {exchange.reason}".rstrip())
    lines += [f"  < {name}: {value}" for name, value in exchange.headers]
    text = exchange.text.strip()
    if text:
        shown = text if len(text) <= 200 else text[:200] + "..."
        lines.append(f"  < (body) {shown!r}" if "\n" in shown else f"  < (body) {shown}")
    return lines


def check(transport: Transport, request: CheckRequest, *, probe: bool = True, target: str = "") -> Report:
    """Do what a browser's fetch() does for `request` and report every rule that failed."""
    report = Report(target or getattr(transport, "name", "") or transport.url(""), transport.url(request.path), request)
    report.notes.extend(request.notes)
    reasons = []
    if not fetch.is_cors_safelisted_method(request.method):
        reasons.append(f"method {request.method} is not CORS-safelisted (GET, HEAD, POST)")
    for name, why in fetch.unsafe_header_reasons(request.headers).items():
        reasons.append(f"header {name} is not CORS-safelisted ({why})")
    report.preflight_reasons = reasons
    chromium_safelisted = sorted({name.lower() for name, _ in request.headers} & set(CHROMIUM_SAFELISTED_CLIENT_HINTS))
    if chromium_safelisted:
        report.notes.append(
            "Chromium treats " + ", ".join(chromium_safelisted) + " as safelisted client hints and does "
            "not preflight for them; the Fetch standard (and other browsers) do"
        )

    base = [("origin", request.origin), ("user-agent", USER_AGENT)]
    if reasons:
        preflight_headers = fetch.preflight_request_headers(request.method, request.headers) + base
        exchange = transport.request("OPTIONS", request.path, preflight_headers, None)
        report.preflight = exchange
        result = fetch.preflight_check(
            exchange.status,
            exchange.headers,
            request.origin,
            request.method,
            request.headers,
            request.credentials,
            exchange.reason,
            exchange.text,
        )
        report.preflight_result = result
        report.problems.extend(Problem("preflight", f) for f in result.failures)
        if result.ok and result.max_age > fetch.CHROMIUM_MAX_AGE_LIMIT:
            report.notes.append(
                f"Access-Control-Max-Age {result.max_age} exceeds Chromium's limit; it caches for "
                f"{fetch.CHROMIUM_MAX_AGE_LIMIT} s"
            )
    if not report.problems:
        headers = list(request.headers)
        if not any(name.lower() == "accept" for name, _ in headers):
            headers.append(("accept", "*/*"))
        headers += base
        if request.credentials and request.cookie is not None:
            headers.append(("cookie", request.cookie))
        if request.body is not None or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("content-length", str(len(request.body or b""))))
        exchange = transport.request(request.method, request.path, headers, request.body)
        report.actual = exchange
        failures = fetch.cors_check(exchange.headers, request.origin, request.credentials)
        report.problems.extend(Problem("actual", _explain_actual(f, exchange)) for f in failures)
        if not failures:
            report.readable, report.hidden = fetch.readable_response_headers(exchange.headers, request.credentials)
        location = fetch.combine(exchange.headers, "location")
        if 300 <= exchange.status <= 399 and location:
            report.notes.append(
                f"the response redirects to {location!r}; a browser applies the CORS check to this "
                "response and then follows the redirect, which this check does not"
            )
    origin_problems = [
        index
        for index, problem in enumerate(report.problems)
        if problem.failure.rule in ("allow-origin-missing", "allow-origin-mismatch")
    ]
    if origin_problems:
        _origin_hints(transport, report, origin_problems[0], probe)
    report.notes.extend(getattr(transport, "notes", ()))
    # The same failure on the preflight, the actual request and the probes is said once.
    report.notes = list(dict.fromkeys(report.notes))
    return report


def _explain_actual(failure: fetch.Failure, exchange: Exchange) -> fetch.Failure:
    """Add a hint to an actual-response failure from what the response looks like."""
    if failure.rule != "allow-origin-missing" or failure.hint:
        return failure
    names = {name.lower() for name, _ in exchange.headers}
    vary = (fetch.combine(exchange.headers, "vary") or "").lower()
    if exchange.status >= 500:
        hint = (
            f"the app answered {exchange.status} and that error response carries no CORS headers, so "
            "the browser reports a CORS error: fix the server error first (error responses produced "
            "outside the CORS middleware, e.g. by Starlette's ServerErrorMiddleware, never get CORS headers)"
        )
    elif any(name.startswith("access-control-") for name in names) or "origin" in vary:
        hint = "a CORS layer answered but did not allow this origin: add it to the server's allowed origins"
    else:
        hint = (
            "the response has no CORS headers at all: no CORS layer handled this request, or it "
            "refused the origin without a trace; add the origin to the allowed origins"
        )
    return replace(failure, hint=hint)


def _origin_variants(origin: str) -> list[tuple[str, str]]:
    if origin == "null":
        return []
    scheme, _, rest = origin.partition("://")
    host, colon, port = rest.partition(":")
    if host.startswith("["):
        host, colon, port = rest, "", ""
    variants = [(origin + "/", "with a trailing slash")]
    default = {"http": "80", "https": "443"}.get(scheme)
    if default and not colon:
        variants.append((f"{origin}:{default}", "with the default port written out"))
    other = {"http": "https", "https": "http"}.get(scheme)
    if other:
        variants.append((f"{other}://{rest}", f"over {other}://"))
    if host.count(".") >= 1 and not host.replace(".", "").isdigit():
        flipped = host[4:] if host.startswith("www.") else f"www.{host}"
        variants.append((f"{scheme}://{flipped}{colon}{port}", "with the www. prefix toggled"))
    return variants


def _origin_hints(transport: Transport, report: Report, index: int, probe: bool) -> None:
    """Explain a refused origin: configured near-misses, and optionally near-miss probes."""
    request = report.request
    first = report.problems[index]
    hints: list[str] = []
    for configured in transport.configured_origins():
        if configured == request.origin or "*" in configured:
            continue
        if configured.lower().rstrip("/") == request.origin.lower():
            why = []
            if configured.rstrip("/") != configured:
                why.append("a trailing slash")
            if configured.lower() != configured:
                why.append("upper-case letters")
            hints.append(
                f"the server allows {configured!r}, which differs from {request.origin!r} only by "
                f"{' and '.join(why) or 'letter case'}: browsers send origins lower-case without a "
                f"slash, so list {request.origin!r}"
            )
    if probe and not hints:
        stage_exchange = report.preflight if first.stage == "preflight" else report.actual
        for variant, how in _origin_variants(request.origin)[:4]:
            allowed, status = _probe(transport, report, variant, stage_exchange)
            report.probes.append({"origin": variant, "allowed": allowed, "status": status})
            if allowed:
                hints.append(
                    f"the server allows {variant!r} ({how}) but not {request.origin!r}: "
                    + (
                        "an origin never ends with a slash, remove it from the allowed origins"
                        if how == "with a trailing slash"
                        else f"add {request.origin!r} to the allowed origins if the page really is served from there"
                    )
                )
    if hints:
        failure = first.failure
        hint = "; ".join(hints) if not failure.hint else failure.hint + "; " + "; ".join(hints)
        report.problems[index] = Problem(first.stage, replace(failure, hint=hint, hint_refers=False))


def _probe(transport: Transport, report: Report, variant: str, like: Optional[Exchange]) -> tuple[bool, int]:
    """Send the failing request again with Origin `variant` (a safe request only) and say
    whether the server reflected that origin in Access-Control-Allow-Origin."""
    request = report.request
    if like is not None and (like.method == "OPTIONS" or like.method in ("GET", "HEAD")):
        headers = [(name, variant if name.lower() == "origin" else value) for name, value in like.request_headers]
        headers = [(name, value) for name, value in headers if name.lower() != "host"]
        exchange = transport.request(like.method, like.path, headers, None)
    else:
        headers = fetch.preflight_request_headers(request.method, request.headers)
        headers += [("origin", variant), ("user-agent", USER_AGENT)]
        exchange = transport.request("OPTIONS", request.path, headers, None)
    return fetch.combine(exchange.headers, "access-control-allow-origin") == variant, exchange.status
