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

from corsfast import _bench

_CONTENDERS = {c.id: c for c in _bench._all_contenders()}


def _params() -> list[Any]:
    params = []
    for scenario in _bench.SCENARIOS:
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
    scenario = next(s for s in _bench.SCENARIOS if s.id == scenario_id)
    contender = _CONTENDERS[contender_id]
    if contender.module:
        pytest.importorskip(contender.module)
    if contender.module == "corsfast._engine_c" or contender.id.endswith("-c"):
        import os

        if os.environ.get("CORSFAST_NO_EXTENSIONS", "") not in ("", "0"):
            pytest.skip("CORSFAST_NO_EXTENSIONS is set")
    try:
        app = _bench.build_app(contender, scenario)
    except _bench.Unsupported as reason:
        pytest.skip(str(reason))
    scope = _bench.scope_for(contender, scenario)
    messages = _bench.call_once(app, scope)
    problem = _bench.check_messages(contender, scenario, messages)
    assert problem is None, problem
    if contender.twin_of in _CONTENDERS:
        twin = _CONTENDERS[contender.twin_of]
        try:
            twin_messages = _bench.call_once(_bench.build_app(twin, scenario), _bench.scope_for(twin, scenario))
        except ImportError:
            pass
        else:
            assert _bench._comparable(messages) == _bench._comparable(twin_messages)
    in_running_loop(lambda: benchmark(_bench.drive, app, scope))
