"""The dynamic-origins table: `allow_origin_func` against the same origin listed as a rule.

Each engine has a reference row whose `allow_origins` lists the tenant's origin as an exact
rule (a static-rule hit), and four rows that leave it to `allow_origin_func` (a set lookup,
the cheapest function there is, so the rows show the middleware's own cost): plain and
async, each asked on every request (no ttl) or with its verdicts cached for 60 s. A row's
ratio is its overhead over the reference row's, same engine, same scenario:

- (a) an origin a rule allows: the function is never asked; every row should be 1.0x (the
  feature costs nothing when a rule decides);
- (b) and (d) an origin only the function allows, (c) one both refuse: with a ttl the cached
  verdict should cost what a static-rule hit costs (1.0x); without one the function is
  called per request (an async one in a coroutine of its own).

Starlette's class with `is_allowed_origin` overridden (what Starlette users write today) is
shown beside them, without a ratio.
"""

from __future__ import annotations

from typing import Any, Callable

from ...asgi import _on_engine
from ..browser import ALLOW_HEADERS, ALLOW_METHODS, ALLOWED_ORIGIN, DISALLOWED_ORIGIN, EXACT_ORIGINS, SCENARIOS
from ..protocols import make_scope, record_asgi
from ..suite import Contender, Scenario, Suite, Target, register_suite
from .asgi import bare_app, check_messages, engine_module, quiet

__all__ = ("SCENARIOS_DYNAMIC", "SUITE", "TENANT_ORIGIN", "tenant_origin", "tenant_origin_async")

TENANT_ORIGIN = b"https://shop.tenant.example"
TENANTS = frozenset({TENANT_ORIGIN.decode()})
TTL = 60.0


def tenant_origin(origin: str) -> bool:
    """The plain `allow_origin_func` of the table: one set lookup."""
    return origin in TENANTS


async def tenant_origin_async(origin: str) -> bool:
    """The async `allow_origin_func` of the table: the same lookup (it never suspends)."""
    return origin in TENANTS


def _moved(scenario: Scenario, sid: str, title: str, origin: bytes, expect: str) -> Scenario:
    """Return `scenario`'s request sent from `origin` (its Origin and Referer rewritten)."""
    assert scenario.origin is not None
    headers = tuple((name, value.replace(scenario.origin, origin)) for name, value in scenario.headers)
    return Scenario(sid, title, scenario.method, headers, origin, "dynamic", expect)


_STANDARD = {scenario.id: scenario for scenario in SCENARIOS}
SCENARIOS_DYNAMIC = (
    _moved(_STANDARD["b"], "a", "GET, origin allowed by a rule", ALLOWED_ORIGIN, "allow"),
    _moved(_STANDARD["b"], "b", "GET, origin allowed by the function", TENANT_ORIGIN, "allow"),
    _moved(_STANDARD["c"], "c", "GET, origin refused by rules and function", DISALLOWED_ORIGIN, "deny"),
    _moved(_STANDARD["d"], "d", "preflight, origin allowed by the function", TENANT_ORIGIN, "preflight"),
)

FUNCTIONS: tuple[tuple[str, str, Callable[[str], Any], float], ...] = (
    ("sync", "plain allow_origin_func", tenant_origin, 0.0),
    ("async", "async allow_origin_func", tenant_origin_async, 0.0),
    ("sync-ttl", f"plain allow_origin_func, ttl {TTL:g} s", tenant_origin, TTL),
    ("async-ttl", f"async allow_origin_func, ttl {TTL:g} s", tenant_origin_async, TTL),
)
"""(row suffix, what the row configures, the function, allow_origin_func_ttl)."""


def _options(**extra: Any) -> dict[str, Any]:
    return {
        "allow_origins": list(EXACT_ORIGINS),
        "allow_methods": ALLOW_METHODS,
        "allow_headers": ALLOW_HEADERS,
        **extra,
    }


def _corsfast(engine: str, **extra: Any) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast import CORSMiddleware

        variant = _on_engine(CORSMiddleware, engine_module(engine))
        return quiet(lambda: variant(bare_app, **_options(**extra)))

    return build


def _starlette_verdict(scenario: Scenario) -> Any:
    from starlette.middleware.cors import CORSMiddleware

    class TenantCORS(CORSMiddleware):
        def is_allowed_origin(self, origin: str) -> bool:
            return tenant_origin(origin) or super().is_allowed_origin(origin)

    return TenantCORS(
        bare_app, allow_origins=list(EXACT_ORIGINS), allow_methods=ALLOW_METHODS, allow_headers=ALLOW_HEADERS
    )


def _scope(contender: Contender, scenario: Scenario) -> dict[str, Any]:
    return make_scope(scenario)


def _contenders() -> list[Contender]:
    rows = [Contender("bare", "bare ASGI app (floor)", lambda s: bare_app, None, family="floor")]
    for engine, family, name in (("c", "corsfast-c", "compiled"), ("py", "corsfast-py", "pure twin")):
        module = "corsfast._engine_c" if engine == "c" else ""
        reference = f"corsfast-{engine}"
        rows.append(
            Contender(
                reference,
                f"corsfast {name}, the origin listed as a rule",
                _corsfast(engine, allow_origins=[*EXACT_ORIGINS, TENANT_ORIGIN.decode()]),
                "bare",
                twin_of=None if engine == "c" else "corsfast-c",
                family=family,
                module=module,
                baseline=reference,
            )
        )
        for key, what, func, ttl in FUNCTIONS:
            rows.append(
                Contender(
                    f"{reference}+{key}",
                    f"corsfast {name}, {what}",
                    _corsfast(engine, allow_origin_func=func, allow_origin_func_ttl=ttl),
                    "bare",
                    twin_of=reference,  # answered exactly as the rule's row
                    family=family,
                    module=module,
                    baseline=reference,
                )
            )
    rows.append(
        Contender(
            "starlette+verdict",
            "Starlette, is_allowed_origin overridden (same lookup)",
            _starlette_verdict,
            "bare",
            family="starlette",
            module="starlette",
            baseline="",
        )
    )
    return rows


SUITE = register_suite(
    Suite(
        "dynamic-origins",
        "Dynamic origins: allow_origin_func against the same origin listed as a rule",
        "asgi",
        scenarios=SCENARIOS_DYNAMIC,
        make_request=_scope,
        record=record_asgi,
        check=check_messages,
        contenders=[_contenders],
        baseline_label="the rule",
        versions=("starlette",),
        floor_note="floor = the bare ASGI app.",
        ratio_note=(
            "x the rule = overhead / the overhead of the same engine with the origin listed as an exact "
            "rule, in the same scenario ((a): a rule decides, the function is never asked)."
        ),
        targets_title=(
            "targets (ratios within this run): with a ttl, a cached verdict costs at most 1.25 x the overhead "
            "of the same origin listed as an exact rule"
        ),
    )
)

SUITE.add_targets(
    *(
        Target(
            f"corsfast-c+{key}",
            "corsfast-c",
            1.25,
            label=f"corsfast-c, {what}: overhead <= 1.25 x the rule's (a cached verdict costs a rule's hit)",
        )
        for key, what, _, ttl in FUNCTIONS
        if ttl
    )
)
