"""Full ASGI round trips: every contender of `corsfast bench` on every scenario, grouped per scenario.

    pytest benchmarks/test_bench_asgi.py [-k "b-"]          # one scenario: -k "(b)" does not work, use ids

One benchmarked call is one `app(scope, receive, send)` driven to completion by hand
(inside a running event loop, without scheduling), so the times are comparable within a
group: subtract the `bare` (or `kui-bare`) row to get a middleware's overhead.
Each contender's answer is checked before it is timed, as `corsfast bench` does.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from corsfast.bench import Unsupported, browser, protocols
from corsfast.bench.suites import asgi

_CONTENDERS = {c.id: c for c in asgi.SUITE.contenders()}


def _params() -> list[Any]:
    params = []
    for scenario in browser.SCENARIOS:
        for contender_id in _CONTENDERS:
            params.append(
                pytest.param(
                    scenario.id,
                    contender_id,
                    id=f"{scenario.id}-{contender_id}",
                    marks=pytest.mark.benchmark(group=f"asgi ({scenario.id}) {scenario.title}"),
                )
            )
    return params


@pytest.mark.parametrize(("scenario_id", "contender_id"), _params())
def test_asgi_round_trip(
    benchmark: Any, in_running_loop: Callable[[Callable[[], Any]], Any], scenario_id: str, contender_id: str
) -> None:
    scenario = next(s for s in browser.SCENARIOS if s.id == scenario_id)
    contender = _CONTENDERS[contender_id]
    if contender.module:
        pytest.importorskip(contender.module)
    if contender.module == "corsfast._engine_c" or contender.id.endswith("-c"):
        import os

        if os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0"):
            pytest.skip("CORSFAST_NO_EXTENSIONS is set")
    try:
        app = asgi.build_app(contender, scenario)
    except Unsupported as reason:
        pytest.skip(str(reason))
    scope = asgi.scope_for(contender, scenario)
    messages = protocols.call_once(app, scope)
    problem = asgi.check_messages(contender, scenario, messages)
    assert problem is None, problem
    if contender.twin_of in _CONTENDERS:
        twin = _CONTENDERS[contender.twin_of]
        try:
            twin_messages = protocols.call_once(asgi.build_app(twin, scenario), asgi.scope_for(twin, scenario))
        except ImportError:
            pass
        else:
            assert protocols.comparable(messages) == protocols.comparable(twin_messages)
    in_running_loop(lambda: benchmark(protocols.drive, app, scope))
