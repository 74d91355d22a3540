"""The Starlette subclass table: the same subclass body on Starlette's class and on corsfast's.

Public code subclasses Starlette's `CORSMiddleware` more often than it re-implements it
(ANCHORS.md section 6). Each row pair here defines one subclass body, as such code writes
it, on Starlette's class and on `corsfast.starlette.CORSMiddleware` (both engines), and
divides corsfast's overhead by Starlette's with the *same* body: the cost of an override's
own code is paid on both sides, and the ratio shows what the rest costs.

- a rename and an `__init__` with preset arguments keep the compiled path (target: 0.10x);
- an `is_allowed_origin` override, called on every request where Starlette calls it,
  keeps everything else compiled (target: 0.25x);
- `preflight_response`, `simple_response` and `send` overrides run Starlette's protocol
  and pay for the `Headers`/`Response` objects it hands them (target: 0.6x).
"""

from __future__ import annotations

from typing import Any, Callable

from ...asgi import _on_engine
from ..browser import SCENARIOS
from ..protocols import make_scope, record_asgi
from ..suite import Contender, Scenario, Suite, Target, register_suite
from .asgi import bare_app, check_messages, engine_module, quiet, starlette_kwargs

__all__ = ("SUITE",)

Body = Callable[[type], type]


def _rename(base: type) -> type:
    class TenantCORS(base):  # type: ignore[misc]
        pass

    return TenantCORS


def _preset(base: type) -> type:
    class PresetCORS(base):  # type: ignore[misc]
        def __init__(self, app: Any, **kwargs: Any) -> None:
            kwargs.setdefault("expose_headers", ["X-Request-Id"])
            kwargs.setdefault("max_age", 3600)
            super().__init__(app, **kwargs)

    return PresetCORS


def _verdict(base: type) -> type:
    class TenantCORS(base):  # type: ignore[misc]
        def is_allowed_origin(self, origin: str) -> bool:
            return origin.endswith(".tenant.example") or super().is_allowed_origin(origin)

    return TenantCORS


def _preflight_response(base: type) -> type:
    class NoContentPreflight(base):  # type: ignore[misc]
        def preflight_response(self, request_headers: Any) -> Any:
            response = super().preflight_response(request_headers)
            if response.status_code == 200:
                del response.headers["content-type"]
                response.headers["content-length"] = "0"
                response.status_code = 204
                response.body = b""
            return response

    return NoContentPreflight


def _simple_response(base: type) -> type:
    class GatedCORS(base):  # type: ignore[misc]
        async def simple_response(self, scope: Any, receive: Any, send: Any, request_headers: Any) -> None:
            if scope["path"].startswith("/internal/"):
                await self.app(scope, receive, send)
                return
            await super().simple_response(scope, receive, send, request_headers)

    return GatedCORS


def _send(base: type) -> type:
    class StampedCORS(base):  # type: ignore[misc]
        async def send(self, message: Any, send: Any, request_headers: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-cors-layer", b"1"))
            await super().send(message, send, request_headers)

    return StampedCORS


BODIES: tuple[tuple[str, str, Body, float], ...] = (
    ("rename", "rename (nothing overridden)", _rename, 0.10),
    ("preset", "__init__ with preset arguments", _preset, 0.10),
    ("verdict", "is_allowed_origin (tenant suffix or super)", _verdict, 0.25),
    ("preflight", "preflight_response (204 on success)", _preflight_response, 0.6),
    ("simple", "simple_response (path gate, then super)", _simple_response, 0.6),
    ("send", "send (stamps a header, then super)", _send, 0.6),
)
"""(id, what the body overrides, the body, the target ratio to Starlette with the same body)."""


def _starlette_subclass(body: Body) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from starlette.middleware.cors import CORSMiddleware

        return body(CORSMiddleware)(bare_app, **starlette_kwargs(scenario.config))

    return build


def _corsfast_subclass(body: Body, engine: str) -> Callable[[Scenario], Any]:
    def build(scenario: Scenario) -> Any:
        from corsfast.starlette import CORSMiddleware

        # Defined on the engine's class, as user code defines it on the imported one.
        cls = body(_on_engine(CORSMiddleware, engine_module(engine)))
        return quiet(lambda: cls(bare_app, **starlette_kwargs(scenario.config)))

    return build


def _scope(contender: Contender, scenario: Scenario) -> dict[str, Any]:
    return make_scope(scenario)


def _contenders() -> list[Contender]:
    rows = [Contender("bare", "bare ASGI app (floor)", lambda s: bare_app, None, family="floor")]
    for key, what, body, _ in BODIES:
        reference = f"starlette+{key}"
        rows.append(
            Contender(
                reference,
                f"Starlette, {what}",
                _starlette_subclass(body),
                "bare",
                family="starlette",
                module="starlette",
                baseline=reference,
            )
        )
        for engine, family, name in (("c", "corsfast-c", "compiled"), ("py", "corsfast-py", "pure twin")):
            rows.append(
                Contender(
                    f"corsfast-{engine}+{key}",
                    f"corsfast.starlette {name}, {what}",
                    _corsfast_subclass(body, engine),
                    "bare",
                    twin_of=reference,
                    family=family,
                    module="corsfast._engine_c" if engine == "c" else "",
                    baseline=reference,
                )
            )
    return rows


SUITE = register_suite(
    Suite(
        "starlette-subclass",
        "Starlette subclasses: the same subclass body on Starlette's class and on corsfast.starlette's",
        "asgi",
        scenarios=SCENARIOS,
        make_request=_scope,
        record=record_asgi,
        check=check_messages,
        contenders=[_contenders],
        baseline_label="Starlette with the same body",
        requires=("starlette",),
        versions=("starlette",),
        floor_note="floor = the bare ASGI app.",
        ratio_note=(
            "x Starlette with the same body = overhead / the overhead of Starlette's class with the "
            "same subclass body, in the same scenario (the body's own code is paid on both sides)."
        ),
        targets_title=(
            "targets (ratios within this run): a subclass of corsfast.starlette's class costs at most 0.10 "
            "(nothing overridden) to 0.6 (a protocol method overridden) of Starlette's with the same body"
        ),
    )
)

SUITE.add_targets(
    *(
        Target(
            f"corsfast-c+{key}",
            f"starlette+{key}",
            limit,
            label=f"corsfast.starlette-c, {what}: overhead <= {limit:g} x Starlette's with the same body",
        )
        for key, what, _, limit in BODIES
    )
)
