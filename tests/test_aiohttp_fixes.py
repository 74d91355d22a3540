"""The differences between corsfast.aiohttp and aiohttp-cors: each shown on the real
aiohttp-cors (the defect) and on corsfast (the fix), on both engines.

The list is docs/frameworks/aiohttp.md's "Differences from aiohttp-cors"; nothing else
differs (tests/test_aiohttp_compat.py, and aiohttp-cors' own suite in
tests/test_aiohttp_suite.py).
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable
from types import ModuleType
from typing import Any, Callable, Optional

import pytest

aiohttp = pytest.importorskip("aiohttp")
aiohttp_cors = pytest.importorskip("aiohttp_cors")
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

import corsfast.aiohttp  # noqa: E402
from corsfast import CORSConfigWarning  # noqa: E402

# aiohttp 3.9 and later warn when aiohttp-cors 0.7.0 (and corsfast.aiohttp answering as it)
# stores its configuration under a str key; tests/test_aiohttp_versions.py checks that both warn alike.
pytestmark = pytest.mark.filterwarnings("ignore:It is recommended to use web.AppKey instances for keys:UserWarning")

Answer = Optional[tuple[int, dict[str, list[str]]]]


def app_with(package: Any, engine: Optional[ModuleType], handler: Callable[..., Awaitable[Any]], **options: Any) -> Any:
    app = web.Application()
    kwargs = {} if package is aiohttp_cors else {"_engine": engine}
    defaults = {"*": package.ResourceOptions(**options)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CORSConfigWarning)
        cors = package.setup(app, defaults=defaults, **kwargs)
    cors.add(app.router.add_route("GET", "/", handler))
    return app


def ask(app: Any, method: str = "GET", **headers: str) -> Answer:
    """Return (status, headers by lower-case name) of one request sent as raw bytes (so any
    header value reaches the server as written), None when the server dropped the connection."""

    async def run() -> Answer:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            lines = [f"{method} / HTTP/1.1", "Host: test", "Connection: close"]
            lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            data = await asyncio.wait_for(reader.read(), 10)
            writer.close()
        finally:
            await server.close()
        if not data:
            return None
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        found: dict[str, list[str]] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            found.setdefault(name.lower(), []).append(value.lstrip(" "))
        return int(head[0].split()[1]), found

    return asyncio.run(run())


async def plain(request: web.Request) -> web.StreamResponse:
    return web.Response(text="ok")


def test_vary_origin(engine: ModuleType) -> None:
    def theirs() -> Any:
        return app_with(aiohttp_cors, None, plain)

    def ours() -> Any:
        return app_with(corsfast.aiohttp, engine, plain)

    for headers in ({"Origin": "https://a.test"}, {}):
        their_answer, our_answer = ask(theirs(), **headers), ask(ours(), **headers)
        assert their_answer is not None and our_answer is not None
        assert "vary" not in their_answer[1]  # a cache may serve one origin's answer to another
        assert our_answer[1]["vary"] == ["Origin"]
    # A preflight's answers too, refused ones included.
    for origin in ("https://a.test", None):
        headers = {"Access-Control-Request-Method": "GET"}
        if origin:
            headers["Origin"] = origin
        their_answer, our_answer = ask(theirs(), "OPTIONS", **headers), ask(ours(), "OPTIONS", **headers)
        assert their_answer is not None and our_answer is not None and their_answer[0] == our_answer[0]
        assert "vary" not in their_answer[1] and our_answer[1]["vary"] == ["Origin"]


def test_an_app_vary_is_kept_and_extended(engine: ModuleType) -> None:
    async def varies(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers["Vary"] = "Accept-Encoding"
        return response

    async def varies_on_origin(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers["Vary"] = "accept, ORIGIN"
        return response

    answer = ask(app_with(corsfast.aiohttp, engine, varies), Origin="https://a.test")
    assert answer is not None and answer[1]["vary"] == ["Accept-Encoding", "Origin"]
    answer = ask(app_with(corsfast.aiohttp, engine, varies_on_origin), Origin="https://a.test")
    assert answer is not None and answer[1]["vary"] == ["accept, ORIGIN"]


@pytest.mark.parametrize(
    "name", ["Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers"]
)
def test_a_handler_cors_header_is_kept(engine: ModuleType, name: str) -> None:
    async def sets_its_own(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers[name] = "handler"
        return response

    options = {"allow_credentials": True, "expose_headers": ["X-A"]}
    # aiohttp-cors fails an assert in its hook: the client gets no response at all.
    assert ask(app_with(aiohttp_cors, None, sets_its_own, **options), Origin="https://a.test") is None
    answer = ask(app_with(corsfast.aiohttp, engine, sets_its_own, **options), Origin="https://a.test")
    assert answer is not None and answer[0] == 200
    cors = {k: v for k, v in answer[1].items() if k.startswith("access-control-")}
    assert cors == {name.lower(): ["handler"]}  # its own header, and none of corsfast's
    assert answer[1]["vary"] == ["Origin"]


@pytest.mark.parametrize("origin", ["https://a\t.test", "https://" + "a" * 2100 + ".test"], ids=["tab", "long"])
def test_an_ineligible_origin_is_never_reflected(engine: ModuleType, origin: str) -> None:
    theirs = ask(app_with(aiohttp_cors, None, plain), Origin=origin)
    assert theirs is not None and theirs[1]["access-control-allow-origin"] == [origin]
    ours = ask(app_with(corsfast.aiohttp, engine, plain), Origin=origin)
    assert ours is not None and ours[0] == 200 and "access-control-allow-origin" not in ours[1]
    their_preflight = ask(
        app_with(aiohttp_cors, None, plain), "OPTIONS", Origin=origin, **{"Access-Control-Request-Method": "GET"}
    )
    assert their_preflight is not None and their_preflight[0] == 200
    our_preflight = ask(
        app_with(corsfast.aiohttp, engine, plain), "OPTIONS", Origin=origin, **{"Access-Control-Request-Method": "GET"}
    )
    assert our_preflight is not None and our_preflight[0] == 403
    assert "access-control-allow-origin" not in our_preflight[1]


def test_a_view_without_the_method_answers(engine: ModuleType) -> None:
    def app(package: Any, engine: Optional[ModuleType]) -> Any:
        class View(web.View, package.CorsViewMixin):
            async def get(self) -> web.StreamResponse:
                return web.Response(text="ok")

        application = web.Application()
        kwargs = {} if package is aiohttp_cors else {"_engine": engine}
        cors = package.setup(application, defaults={"https://a.test": package.ResourceOptions()}, **kwargs)
        cors.add(application.router.add_route("*", "/", View))
        return application

    # aiohttp-cors' hook raises KeyError on the 405 of a method the view lacks: no response.
    assert ask(app(aiohttp_cors, None), "PUT", Origin="https://a.test") is None
    answer = ask(app(corsfast.aiohttp, engine), "PUT", Origin="https://a.test")
    assert answer is not None and answer[0] == 405
    assert not [name for name in answer[1] if name.startswith("access-control-")]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("expose_headers", ["X-Ok", "X-Bad\r\nSet-Cookie: a=b"]),
        ("expose_headers", ["X Space"]),
        ("expose_headers", ["X-A,X-B"]),
        ("allow_methods", ["GET", "PO ST"]),
        ("allow_methods", ["GET\n"]),
    ],
)
def test_non_token_names_are_refused_at_setup(option: str, value: list[str]) -> None:
    aiohttp_cors.ResourceOptions(**{option: value})  # accepted: it breaks at request time
    with pytest.raises(ValueError, match="is not an HTTP token"):
        corsfast.aiohttp.ResourceOptions(**{option: value})


def test_star_with_credentials_warns_and_answers_the_same(engine: ModuleType) -> None:
    app = web.Application()
    with pytest.warns(CORSConfigWarning, match="reflects any Origin"):
        corsfast.aiohttp.setup(app, defaults={"*": {"allow_credentials": True}}, _engine=engine)
    with warnings.catch_warnings():
        # No CORSConfigWarning (aiohttp's own about aiohttp-cors 0.7.0's str key aside).
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "It is recommended to use web.AppKey instances for keys", UserWarning)
        corsfast.aiohttp.setup(web.Application(), defaults={"*": {}}, _engine=engine)
        corsfast.aiohttp.setup(
            web.Application(), defaults={"https://a.test": {"allow_credentials": True}}, _engine=engine
        )
    theirs = ask(app_with(aiohttp_cors, None, plain, allow_credentials=True), Origin="null")
    ours = ask(app_with(corsfast.aiohttp, engine, plain, allow_credentials=True), Origin="null")
    assert theirs is not None and ours is not None
    assert ours[1]["access-control-allow-origin"] == theirs[1]["access-control-allow-origin"] == ["null"]
    assert ours[1]["access-control-allow-credentials"] == theirs[1]["access-control-allow-credentials"] == ["true"]


def test_defaults_changed_in_place_are_followed(engine: ModuleType) -> None:
    # aiohttp-cors reads `cors.defaults` on every request; corsfast resolves a route once,
    # and again after the defaults change in place.
    async def answers(package: Any, engine: Optional[ModuleType]) -> list[Optional[str]]:
        application = web.Application()
        kwargs = {} if package is aiohttp_cors else {"_engine": engine}
        cors = package.setup(application, defaults={"https://a.test": package.ResourceOptions()}, **kwargs)
        cors.add(application.router.add_route("GET", "/", plain))
        client = TestClient(TestServer(application, host="127.0.0.1"))
        await client.start_server()
        seen = []
        try:
            for change in (None, "add", "delete"):
                if change == "add":
                    cors.defaults["https://b.test"] = package.ResourceOptions(allow_credentials=True)
                elif change == "delete":
                    del cors.defaults["https://b.test"]
                async with client.get("/", headers={"Origin": "https://b.test"}) as response:
                    seen.append(response.headers.get("Access-Control-Allow-Credentials"))
        finally:
            await client.close()
        return seen

    assert asyncio.run(answers(aiohttp_cors, None)) == [None, "true", None]
    assert asyncio.run(answers(corsfast.aiohttp, engine)) == [None, "true", None]


def test_another_router_adapter_answers_alike(engine: ModuleType) -> None:
    # With a router adapter of its own (here a subclass), `CorsConfig` drives the adapter's
    # methods per request, as aiohttp-cors does: the same answers as corsfast's own path.
    from corsfast.aiohttp.urldispatcher_router_adapter import ResourcesUrlDispatcherRouterAdapter

    class Adapter(ResourcesUrlDispatcherRouterAdapter):
        pass

    async def exposes(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers["X-A"] = "1"
        return response

    def app(custom: bool) -> Any:
        application = web.Application()
        defaults = {
            "https://a.test": corsfast.aiohttp.ResourceOptions(allow_credentials=True, expose_headers="*"),
            "*": corsfast.aiohttp.ResourceOptions(expose_headers=["X-A"]),
        }
        if custom:
            adapter = Adapter(application.router, defaults, _engine=engine)
            cors = corsfast.aiohttp.CorsConfig(application, defaults=defaults, router_adapter=adapter, _engine=engine)
        else:
            cors = corsfast.aiohttp.CorsConfig(application, defaults=defaults, _engine=engine)
        cors.add(application.router.add_route("GET", "/", exposes))
        return application

    for origin in ("https://a.test", "https://b.test", "https://a\t.test", None):
        headers = {} if origin is None else {"Origin": origin}
        ours, generic = ask(app(False), **headers), ask(app(True), **headers)
        assert ours is not None and generic is not None
        assert {k: v for k, v in generic[1].items() if k != "date"} == {k: v for k, v in ours[1].items() if k != "date"}
        assert ours[1]["vary"] == ["Origin"]
